"""What one ``kyara image`` run asks for: :class:`ImageConfig` (no torch import here).

The defaults follow PoseAnimeFlow's UI ranges (steps 20-50, guidance 7.5-12, ControlNet strength
0-1) but :meth:`ImageConfig.check` accepts any valid value. Sizes are pixels, multiples of 8.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_NEGATIVE = ("nsfw, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, "
                    "cropped, worst quality, low quality, jpeg artifacts, signature, watermark, username, blurry")
CONTROL_KINDS = ("openpose", "depth", "normal", "lineart", "canny")
DTYPES = ("auto", "fp32", "fp16", "bf16")
MAX_SIDE = 4096
MAX_BATCH = 64


@dataclass(frozen=True)
class ControlSpec:
    """One ControlNet: condition ``kind``, model id/path, strength 0-1, active from ``start`` to ``end``
    (fractions of the denoising steps)."""

    kind: str
    model: str
    strength: float = 1.0
    start: float = 0.0
    end: float = 1.0


@dataclass(frozen=True)
class LoraSpec:
    path: str
    weight: float = 1.0


@dataclass
class ImageConfig:
    prompt: str
    negative_prompt: str = DEFAULT_NEGATIVE
    model: str = "tiny"  # Hugging Face id, diffusers folder, .safetensors file, tiny, tiny-sdxl
    config: str | None = None  # local diffusers folder giving the configs of a single-file checkpoint
    vae: str | None = None  # separate VAE: folder, id or .safetensors
    controlnets: tuple[ControlSpec, ...] = ()
    loras: tuple[LoraSpec, ...] = ()
    embeddings: tuple[str, ...] = ()  # textual-inversion .safetensors; trigger word = file stem
    # where condition images come from (see kyara.generate.conditions)
    body: str | None = None  # body preset, rendered with pose/view
    pose: str | None = None
    view: str = "front"
    character: str | None = None  # character.json
    pose_json: str | None = None
    pose_frame: int = 0  # frame of a ComfyUI pose list file given as pose_json
    pose_image: str | None = None  # an OpenPose drawing (used as is) or any picture (its pose detected)
    control_images: tuple[tuple[str, str], ...] = ()  # (kind, image file) used as is
    # modes
    init_image: str | None = None  # img2img source
    denoise: float = 0.75  # img2img strength
    hires_scale: float = 1.0  # > 1: upscale then img2img at hires_denoise
    hires_denoise: float = 0.5
    hires_upscaler: str = "lanczos"  # how the hires pass enlarges: lanczos, or Real-ESRGAN anime/anime-6b/general
    upscale: int = 1  # 2 or 4: Real-ESRGAN on every finished image (kyara.upscale); 1 = off
    upscale_model: str = "anime"  # anime, anime-6b or general
    steps: int = 30
    guidance: float = 7.5
    scheduler: str = "euler-a"
    clip_skip: int = 1  # AUTOMATIC1111 numbering: 2 = penultimate layer (common for anime models)
    seed: int = 0
    batch: int = 1  # images per pipeline call (seeds seed, seed+1, ...)
    count: int = 1  # pipeline calls
    width: int = 512
    height: int = 512
    size_from_model: bool = False  # True: width/height become the base model's native size (SD1.5/SD2 512,
    # SD2 768-v 768, SDXL 1024) once its configs are read; the PNG records the size used (and False)
    # runtime (not part of what an image looks like)
    dtype: str = "auto"  # fp16 on CUDA, fp32 on CPU
    device: str = "auto"
    offload: bool = False
    vae_tiling: bool | None = None  # None: on above 1024x1024
    fast: bool = False  # channels-last, fused QKV, torch.compile (CUDA only)
    allow_pickle: bool = False
    previews: bool = False

    def check(self) -> "ImageConfig":
        """Raise a one-line ``ValueError`` naming the first bad value; returns self."""
        from kyara.generate.prompts import check_content
        from kyara.generate.schedulers import check_scheduler

        if not isinstance(self.prompt, str):
            raise ValueError(f"prompt is a {type(self.prompt).__name__}, expected text")
        check_content(self.prompt, self.body)
        check_scheduler(self.scheduler)
        for name, v, lo, hi in (("steps", self.steps, 1, 1000), ("seed", self.seed, 0, 2**63 - 1),
                                ("batch", self.batch, 1, MAX_BATCH), ("count", self.count, 1, 10000),
                                ("clip skip", self.clip_skip, 1, 12)):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{name} {v!r} is out of range, expected an integer {lo}..{hi}")
        for name, v in (("width", self.width), ("height", self.height)):
            if isinstance(v, bool) or not isinstance(v, int) or not 8 <= v <= MAX_SIDE or v % 8:
                raise ValueError(f"{name} {v!r} is not valid, expected a multiple of 8 in 8..{MAX_SIDE} pixels")
        if not isinstance(self.size_from_model, bool):
            raise ValueError(f"size_from_model {self.size_from_model!r} is not valid, expected true or false")
        _finite("guidance", self.guidance, 0.0, 100.0)
        _finite("denoise", self.denoise, 0.0, 1.0)
        _finite("hires denoise", self.hires_denoise, 0.0, 1.0)
        _finite("hires scale", self.hires_scale, 1.0, 4.0)
        if self.hires_scale > 1.0 and max(self.width, self.height) * self.hires_scale > MAX_SIDE:
            raise ValueError(f"hires scale {self.hires_scale} makes the image larger than {MAX_SIDE} pixels")
        from kyara.upscale.esrgan import MODELS, UPSCALERS, check_upscale

        if self.hires_upscaler not in UPSCALERS:
            raise ValueError(f"--hires-upscaler '{self.hires_upscaler}' is unknown, expected one of {', '.join(UPSCALERS)}")
        if isinstance(self.upscale, bool) or self.upscale not in (1, 2, 4):
            raise ValueError(f"--upscale {self.upscale!r} is not valid, expected 2 or 4 (or 1: off)")
        if self.upscale_model not in MODELS:
            raise ValueError(f"--upscale-model '{self.upscale_model}' is unknown, expected one of {', '.join(MODELS)}")
        if self.upscale > 1:
            check_upscale(self.upscale, self.upscale_model, hires_dims(self))
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype '{self.dtype}' is unknown, expected one of {', '.join(DTYPES)}")
        kinds = [c.kind for c in self.controlnets]
        for c in self.controlnets:
            if c.kind not in CONTROL_KINDS:
                raise ValueError(f"ControlNet kind '{c.kind}' is unknown, expected one of {', '.join(CONTROL_KINDS)}")
            _finite(f"{c.kind} strength", c.strength, 0.0, 10.0)
            _finite(f"{c.kind} start", c.start, 0.0, 1.0)
            _finite(f"{c.kind} end", c.end, 0.0, 1.0)
            if c.start >= c.end:
                raise ValueError(f"{c.kind} ControlNet start {c.start} >= end {c.end}, expected start < end")
        if isinstance(self.pose_frame, bool) or not isinstance(self.pose_frame, int) or self.pose_frame < 0:
            raise ValueError(f"--frame {self.pose_frame!r} is not valid, expected a whole number >= 0")
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"ControlNet kinds {kinds} repeat, expected each kind once")
        for lo in self.loras:
            _finite(f"LoRA '{lo.path}' weight", lo.weight, -10.0, 10.0)
        sources = [n for n, v in (("--pose-json", self.pose_json), ("--pose-image", self.pose_image),
                                  ("--character", self.character)) if v]
        if len(sources) > 1:
            raise ValueError(f"{' and '.join(sources)} were both given, expected one pose source")
        for name, f in (("--pose-json", self.pose_json), ("--pose-image", self.pose_image),
                        ("--init-image", self.init_image), ("--character", self.character),
                        *((f"--control-image {k}", f) for k, f in self.control_images),
                        *(("--lora", lo.path) for lo in self.loras), *(("--embedding", e) for e in self.embeddings)):
            if f and not Path(f).is_file():
                raise FileNotFoundError(f"{name} '{f}' does not exist, expected a file")
        from kyara.fileio import check_image

        for name, f in (("--pose-image", self.pose_image), ("--init-image", self.init_image),
                        *((f"--control-image {k}", f) for k, f in self.control_images)):
            if f:  # decoded here, before any weights load: bombs, corrupt and truncated files end now
                check_image(f, name)
        return self

    # -- serialisation (PNG metadata) ----------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["controlnets"] = [dataclasses.asdict(c) for c in self.controlnets]
        d["loras"] = [dataclasses.asdict(lo) for lo in self.loras]
        d["embeddings"] = list(self.embeddings)
        d["control_images"] = [list(p) for p in self.control_images]
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "ImageConfig":
        if not isinstance(data, dict):
            raise ValueError(f"image parameters are a {type(data).__name__}, expected a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"image parameters have unknown field(s) {', '.join(unknown)}")
        d = dict(data)
        try:
            d["controlnets"] = tuple(ControlSpec(**c) for c in d.get("controlnets", ()))
            d["loras"] = tuple(LoraSpec(**lo) for lo in d.get("loras", ()))
        except TypeError as exc:
            raise ValueError(f"image parameters have a malformed ControlNet or LoRA entry ({exc})") from None
        d["embeddings"] = tuple(d.get("embeddings", ()))
        d["control_images"] = tuple(tuple(p) for p in d.get("control_images", ()))
        if "prompt" not in d:
            raise ValueError("image parameters have no 'prompt', expected one")
        return cls(**d)

    def replace(self, **changes) -> "ImageConfig":
        return dataclasses.replace(self, **changes)


def hires_dims(cfg: ImageConfig) -> tuple[int, int]:
    """Size of the generated image before ``upscale``: the hires size when the hires pass runs
    (``hires_scale`` times the base size, rounded down to multiples of 8), else the base size."""
    if cfg.hires_scale > 1.0:
        return int(cfg.width * cfg.hires_scale) // 8 * 8, int(cfg.height * cfg.hires_scale) // 8 * 8
    return cfg.width, cfg.height


def _finite(name: str, v, lo: float, hi: float) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{name} {v!r} is out of range, expected a number {lo}..{hi}")


@dataclass
class GenerationResult:
    """``images``: PIL images; ``configs[i]`` reproduces ``images[i]`` (its own seed, batch 1)."""

    images: list
    configs: list[ImageConfig]
    control_images: dict = field(default_factory=dict)  # kind -> [H, W, 3] uint8
    nsfw: list = field(default_factory=list)  # per image: True / False / None (no safety checker)
    timings: dict = field(default_factory=dict)  # seconds: load, conditions, denoise, total
