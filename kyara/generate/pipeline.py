"""Text + pose -> anime image: one entry point, :func:`generate`.

Flow: check the config (milliseconds, no weights) -> resolve models (local cache first, one-line
error offline) -> check base/ControlNet/LoRA families from configs and headers -> the size (the
family's native one when ``size_from_model``: SD1.5/SD2 512, SDXL 1024) -> make condition
images -> load (cached per process) -> txt2img or img2img, with one or several ControlNets ->
optional hires pass (Lanczos or Real-ESRGAN upscale + img2img) -> optional Real-ESRGAN upscale
(``upscale``, :mod:`kyara.upscale`) -> PIL images and per-image configs.

Prompts are encoded by :mod:`kyara.generate.prompts` (weights, >77 tokens, clip skip) and passed
as embeddings, so every diffusers pipeline sees the same text conditioning.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from kyara.generate.config import ControlSpec, GenerationResult, ImageConfig

ProgressFn = Callable[[int, int, "np.ndarray | None"], None]  # (step, total, preview [h, w, 3] uint8 or None)
CancelFn = Callable[[], bool]

# latent -> RGB linear approximations for cheap per-step previews (rows: latent channels)
_PREVIEW_SD15 = ((0.3512, 0.2297, 0.3227), (0.3250, 0.4974, 0.2350), (-0.2829, 0.1762, 0.2721), (-0.2120, -0.2616, -0.7177))
_PREVIEW_SDXL = ((0.3651, 0.4232, 0.4341), (-0.2533, -0.0042, 0.1068), (0.1076, 0.1111, -0.0362), (-0.3165, -0.2492, -0.2188))
DEFAULT_CONTROLNETS = {  # kind -> (SD1.5 id, SDXL id); tiny models use the tiny ControlNets
    "openpose": ("lllyasviel/control_v11p_sd15_openpose", "xinsir/controlnet-openpose-sdxl-1.0"),
    "depth": ("lllyasviel/control_v11f1p_sd15_depth", "diffusers/controlnet-depth-sdxl-1.0"),
    "normal": ("lllyasviel/control_v11p_sd15_normalbae", None),
    "lineart": ("lllyasviel/control_v11p_sd15s2_lineart_anime", None),
    "canny": ("lllyasviel/control_v11p_sd15_canny", "diffusers/controlnet-canny-sdxl-1.0"),
}


def require_diffusion() -> None:
    """One line naming ``make extras`` when the diffusion extra is not installed."""
    from kyara.errors import require_extra

    require_extra(("torch", "diffusers", "transformers"), "image generation", "diffusion",
                  "torch, diffusers, transformers")


class GenerationCancelled(Exception):
    """Raised out of :func:`generate` when ``cancel()`` returned True between two steps."""


# -- loading (cached per process) --------------------------------------------------------------
_BASE_CACHE: dict = {}
_CN_CACHE: dict = {}


def _device_dtype(cfg: ImageConfig):
    import torch

    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: this torch sees no CUDA GPU, expected --device cpu or auto")
    if device.startswith("mps") and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"--device {device}: no Apple GPU here, expected --device cpu or auto")
    if cfg.dtype == "auto":
        dtype = torch.float16 if device.startswith("cuda") else torch.float32
    else:
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[cfg.dtype]
    return device, dtype


def _folder(src):
    from kyara.generate.tiny import tiny_model_dir

    return str(tiny_model_dir(src.path)) if src.kind == "tiny" else src.path


def _is_xl_index(index: dict | None) -> bool:
    return bool(index) and "XL" in str(index.get("_class_name", ""))


def base_configs(cfg: ImageConfig):
    """(ModelSource, model_index dict or None, unet config dict or None) without loading weights."""
    from kyara.generate.models import ModelSource, load_config, resolve_model

    src = resolve_model(cfg.model, allow_pickle=cfg.allow_pickle)
    cfg_src = src
    if src.kind == "single_file":
        if not cfg.config:
            raise ValueError(f"single-file model '{cfg.model}' needs --config FOLDER, a local diffusers folder of the "
                             "same family (e.g. a downloaded SD1.5 or SDXL repo) giving its configs")
        cfg_src = resolve_model(cfg.config)
        if cfg_src.kind not in ("folder", "tiny", "hub"):
            raise ValueError(f"--config '{cfg.config}' is not a diffusers folder")
    index = load_config(cfg_src, "model_index.json")
    unet = load_config(cfg_src, "config.json", "unet")
    return src, (cfg_src if cfg_src is not src else ModelSource(src.name, src.kind, src.path, src.local_only)), index, unet


def with_model_size(cfg: ImageConfig, xl: bool, unet_cfg: dict | None) -> ImageConfig:
    """``cfg`` at the base model's native size (:func:`kyara.generate.models.native_size`) when
    ``size_from_model`` is set, checked again (hires and upscale limits depend on the size); the
    result records the size used and ``size_from_model=False``. Unchanged otherwise."""
    if not cfg.size_from_model:
        return cfg
    from kyara.generate.models import native_size

    w, h = native_size(xl, unet_cfg)
    return cfg.replace(width=w, height=h, size_from_model=False).check()


def model_size(cfg: ImageConfig) -> ImageConfig:
    """:func:`with_model_size` from the base model's configs (no weights, no torch); ``cfg`` is
    returned unchanged when they cannot be read yet (a hub model not downloaded: :func:`generate`
    then resolves the size after loading)."""
    if not cfg.size_from_model:
        return cfg
    _, _, index, unet_cfg = base_configs(cfg)
    if index is None:
        return cfg
    return with_model_size(cfg, _is_xl_index(index), unet_cfg)


def _load_base(cfg: ImageConfig, src, cfg_src, index, device, dtype):
    import diffusers

    key = (src.path, cfg_src.path, cfg.vae, tuple(lo.path for lo in cfg.loras), tuple(cfg.embeddings),
           str(dtype), device, cfg.offload, cfg.fast)
    if key in _BASE_CACHE:
        return _BASE_CACHE[key]
    _BASE_CACHE.clear()  # one base model in memory at a time
    xl = _is_xl_index(index)
    cls = diffusers.StableDiffusionXLPipeline if xl else diffusers.StableDiffusionPipeline
    if src.kind == "single_file":
        pipe = cls.from_single_file(src.path, config=_folder(cfg_src), local_files_only=cfg_src.local_only,
                                    torch_dtype=dtype)
    else:
        pipe = cls.from_pretrained(_folder(src), torch_dtype=dtype, local_files_only=src.local_only)
    if cfg.vae:
        pipe.vae = _load_vae(cfg, cfg_src, dtype)
    unet_cfg = dict(pipe.unet.config)
    from kyara.generate.models import check_lora_base, check_safetensors

    names, tokens = [], []
    for i, lo in enumerate(cfg.loras):
        check_safetensors(lo.path, "LoRA")
        check_lora_base(lo.path, cfg.model, unet_cfg)
        name = f"lora{i}"
        pipe.load_lora_weights(lo.path, adapter_name=name)
        names.append(name)
    from kyara.generate.prompts import load_embedding

    for e in cfg.embeddings:
        tokens.append(load_embedding(pipe, e, xl=xl))
    if not cfg.offload:
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    if cfg.fast and device.startswith("cuda"):
        apply_speed_options(pipe)
    entry = {"pipe": pipe, "xl": xl, "scheduler_config": dict(pipe.scheduler.config), "adapters": names}
    _BASE_CACHE[key] = entry
    return entry


def _load_vae(cfg: ImageConfig, cfg_src, dtype):
    from diffusers import AutoencoderKL

    from kyara.generate.models import resolve_model

    vsrc = resolve_model(cfg.vae, what="VAE", config_file="config.json", allow_pickle=cfg.allow_pickle)
    if vsrc.kind == "single_file":
        return AutoencoderKL.from_single_file(vsrc.path, config=_folder(cfg_src), subfolder="vae",
                                              local_files_only=True, torch_dtype=dtype)
    return AutoencoderKL.from_pretrained(_folder(vsrc), torch_dtype=dtype, local_files_only=vsrc.local_only)


def apply_speed_options(pipe, compile_models: bool = True) -> None:
    """GPU speed options: channels-last, fused QKV projections, ``torch.compile`` of the UNet and
    ControlNet (max-autotune without CUDA graphs, so varying batch sizes stay safe)."""
    import torch

    pipe.unet.to(memory_format=torch.channels_last)
    try:
        pipe.fuse_qkv_projections()
    except (AttributeError, ValueError, NotImplementedError):
        pass
    if compile_models:
        pipe.unet = torch.compile(pipe.unet, mode="max-autotune-no-cudagraphs", fullgraph=False)


def _resolve_controlnet(spec: ControlSpec, xl: bool, tiny: bool, allow_pickle: bool) -> tuple[str, str, bool]:
    """-> (name for messages, folder / hub id / file, local_files_only). ``default`` picks a
    known-good ControlNet for the base family (the tiny ones for tiny models)."""
    from kyara.generate.models import resolve_model
    from kyara.generate.tiny import tiny_controlnet_dir

    name = spec.model
    if name in ("", "default") and tiny:
        name = "tiny-sdxl" if xl else "tiny"
    if name in ("tiny", "tiny-sdxl"):
        return name, str(tiny_controlnet_dir("sdxl" if name == "tiny-sdxl" else "sd15", spec.kind)), True
    if name in ("", "default"):
        name = DEFAULT_CONTROLNETS[spec.kind][1 if xl else 0]
        if name is None:
            raise ValueError(f"no default {spec.kind} ControlNet is known for SDXL, expected --controlnet {spec.kind}=ID")
    src = resolve_model(name, what="ControlNet", config_file="config.json", allow_pickle=allow_pickle)
    return name, src.path, src.local_only


def controlnet_sources(cfg: ImageConfig, xl: bool, tiny: bool, unet_cfg: dict | None) -> list[tuple[str, str, bool]]:
    """Resolve every ControlNet and compare its family with the base model's (configs only)."""
    import json
    from pathlib import Path

    from kyara.generate.models import ModelSource, check_controlnet_base, load_config

    out = []
    for spec in cfg.controlnets:
        name, path, local_only = _resolve_controlnet(spec, xl, tiny, cfg.allow_pickle)
        p = Path(path)
        if p.is_dir():
            cn_cfg = json.loads((p / "config.json").read_text())
        elif p.is_file():
            cn_cfg = None
        else:
            cn_cfg = load_config(ModelSource(name, "hub", path, local_only))
        if unet_cfg is not None and cn_cfg is not None:
            check_controlnet_base(name, cn_cfg, cfg.model, unet_cfg)
        out.append((name, path, local_only))
    return out


def _load_controlnets(cfg: ImageConfig, sources, device, dtype):
    from pathlib import Path

    from diffusers import ControlNetModel

    models = []
    for name, path, local_only in sources:
        key = (path, str(dtype), device)
        if key not in _CN_CACHE:
            if len(_CN_CACHE) >= 4:
                _CN_CACHE.clear()
            if Path(path).is_file():
                cn = ControlNetModel.from_single_file(path, torch_dtype=dtype, local_files_only=True)
            else:
                cn = ControlNetModel.from_pretrained(path, torch_dtype=dtype, local_files_only=local_only)
            if not cfg.offload:
                cn.to(device)
            _CN_CACHE[key] = cn
        models.append(_CN_CACHE[key])
    return models


# -- condition images --------------------------------------------------------------------------
def make_control_images(cfg: ImageConfig) -> dict[str, np.ndarray]:
    """``{kind: [H, W, 3] uint8}`` for every ControlNet of ``cfg``, at the generation size."""
    from kyara.generate import conditions as C

    size = (cfg.width, cfg.height)
    style = "classic"
    given = {k: f for k, f in cfg.control_images}
    out: dict[str, np.ndarray] = {}
    to_render = []
    for spec in cfg.controlnets:
        k = spec.kind
        if k in given:
            out[k] = C.read_image_rgb(given[k], size, f"--control-image {k}")
        elif k == "openpose" and cfg.pose_image:  # an OpenPose drawing as is, any other picture detected
            from kyara.detect.condition import pose_image_condition

            out[k] = pose_image_condition(cfg.pose_image, size, style)[0]
        elif k == "openpose" and cfg.pose_json:
            out[k] = C.openpose_from_json(cfg.pose_json, size, style, frame=cfg.pose_frame)
        elif cfg.character or cfg.body or cfg.pose:
            to_render.append(k)
        else:
            raise ValueError(f"the {k} ControlNet has no condition image, expected --body/--pose/--character"
                             + (", --pose-json or --pose-image" if k == "openpose" else f" or --control-image {k}=FILE"))
    if to_render:
        from kyara.cli.common import parse_view

        character = C.load_character(cfg.character) if cfg.character else None
        out.update(C.condition_images(to_render, body=cfg.body or "teen-girl", pose=cfg.pose or "stand",
                                      view=parse_view(cfg.view), size=size, character=character,
                                      openpose_style=style))
    return {spec.kind: out[spec.kind] for spec in cfg.controlnets}


def _inputs(cfg: ImageConfig):
    """(img2img init image as PIL or None, the ControlNets' condition images) at the generation size."""
    init = None
    if cfg.init_image:
        from PIL import Image

        from kyara.generate.conditions import read_image_rgb

        init = Image.fromarray(read_image_rgb(cfg.init_image, (cfg.width, cfg.height), "--init-image"))
    return init, make_control_images(cfg)


# -- running -----------------------------------------------------------------------------------
def _preview(latents, xl: bool) -> np.ndarray:
    import torch

    m = torch.tensor(_PREVIEW_SDXL if xl else _PREVIEW_SD15, dtype=torch.float32)
    lat = latents[0].float().cpu()
    if lat.shape[0] != 4:
        return np.zeros((lat.shape[1], lat.shape[2], 3), np.uint8)
    rgb = torch.einsum("chw,cr->hwr", lat, m)
    return ((rgb.clamp(-1, 1) + 1) * 127.5).to(torch.uint8).numpy()


def _callback(progress: ProgressFn | None, cancel: CancelFn | None, previews: bool, xl: bool, offset: int, total: int):
    def cb(pipe, step, timestep, kwargs):
        if cancel is not None and cancel():
            raise GenerationCancelled("generation cancelled")
        if progress is not None:
            prev = _preview(kwargs["latents"], xl) if previews and "latents" in kwargs else None
            progress(offset + step + 1, total, prev)
        return {}
    return cb


def _pipeline_for(entry, controlnets, img2img: bool):
    import diffusers

    base, xl = entry["pipe"], entry["xl"]
    pre = "StableDiffusionXL" if xl else "StableDiffusion"
    if controlnets:
        cls = getattr(diffusers, pre + ("ControlNetImg2ImgPipeline" if img2img else "ControlNetPipeline"))
        cn = controlnets[0] if len(controlnets) == 1 else controlnets
        pipe = cls.from_pipe(base, controlnet=cn)
    elif img2img:
        pipe = getattr(diffusers, pre + "Img2ImgPipeline").from_pipe(base)
    else:
        return base
    pipe.set_progress_bar_config(disable=True)
    return pipe


def quiet_libraries() -> None:
    """Silence diffusers/transformers info and warning logs (``KYARA_DEBUG=1`` keeps them)."""
    import os

    if os.environ.get("KYARA_DEBUG"):
        return
    import diffusers
    import transformers

    import warnings

    warnings.filterwarnings("ignore", message=".*torch_dtype.*deprecated.*")
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _steps_total(cfg: ImageConfig, img2img: bool) -> int:
    first = max(1, int(cfg.steps * cfg.denoise)) if img2img else cfg.steps
    hires = max(1, int(cfg.steps * cfg.hires_denoise)) if cfg.hires_scale > 1.0 else 0
    return first + hires


def generate(config: ImageConfig, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> GenerationResult:
    """Generate ``config.batch * config.count`` images; see the module docstring for the flow.

    ``progress(step, total, preview)`` is called after every denoising step (``preview`` is a
    ``[h/8, w/8, 3] uint8`` latent preview when ``config.previews``); ``cancel()`` returning True
    stops between steps with :class:`GenerationCancelled`. With ``config.size_from_model`` the size
    is the model's native one (:func:`with_model_size`); ``result.configs`` record the size used.
    Raises ``ValueError`` /
    ``FileNotFoundError`` with one line for every bad input, before any weight is loaded.
    """
    require_diffusion()
    from PIL import Image

    t0 = time.perf_counter()
    cfg = config.check()
    if cfg.upscale > 1 or cfg.hires_upscaler != "lanczos":  # a missing upscaler ends here, before any weights
        from kyara.upscale import require_upscale

        require_upscale()
    src, cfg_src, index, unet_cfg = base_configs(cfg)  # a refused model ends here, before torch is imported
    import torch

    quiet_libraries()
    if index is None and src.kind != "hub":
        raise ValueError(f"model '{cfg.model}' has no model_index.json, expected a diffusers pipeline folder")
    xl = _is_xl_index(index) if index is not None else False
    if index is not None:  # the family is known: SD1.5/SD2 512, SDXL 1024 unless a size was given
        cfg = with_model_size(cfg, xl, unet_cfg)
    tiny = src.kind == "tiny" or (cfg_src.kind == "tiny")
    cn_sources = controlnet_sources(cfg, xl, tiny, unet_cfg)  # before rendering or loading anything
    if unet_cfg is not None:
        from kyara.generate.models import check_lora_base, check_safetensors

        for lo in cfg.loras:
            check_safetensors(lo.path, "LoRA")
            check_lora_base(lo.path, cfg.model, unet_cfg)
    t_cond = time.perf_counter()
    if not cfg.size_from_model:  # else the configs come with the weights (hub download): after loading
        init, control = _inputs(cfg)
    t_load = time.perf_counter()
    device, dtype = _device_dtype(cfg)
    entry = _load_base(cfg, src, cfg_src, index, device, dtype)
    xl = entry["xl"]
    if cfg.size_from_model:
        cfg = with_model_size(cfg, xl, dict(entry["pipe"].unet.config))
        init, control = _inputs(cfg)
    if unet_cfg is None:  # configs were not readable before loading (hub download): check now
        cn_sources = controlnet_sources(cfg, xl, tiny, dict(entry["pipe"].unet.config))
    cns = _load_controlnets(cfg, cn_sources, device, dtype)
    base = entry["pipe"]
    from kyara.generate.schedulers import make_scheduler

    base.scheduler = make_scheduler(cfg.scheduler, entry["scheduler_config"])
    if entry["adapters"]:
        base.set_adapters(entry["adapters"], adapter_weights=[lo.weight for lo in cfg.loras])
    pipe = _pipeline_for(entry, cns, img2img=init is not None)
    if cfg.offload:
        pipe.enable_model_cpu_offload(device=device if device != "cpu" else None)
    big = cfg.width * cfg.height * (cfg.hires_scale ** 2) > 1024 * 1024
    if cfg.vae_tiling or (cfg.vae_tiling is None and big):
        base.vae.enable_tiling()
    else:
        base.vae.disable_tiling()
    from kyara.generate.prompts import encode_prompts

    embeds = encode_prompts(base, cfg.prompt, cfg.negative_prompt, cfg.clip_skip, xl=xl)
    t_run = time.perf_counter()
    images, configs, nsfw = [], [], []
    total = _steps_total(cfg, init is not None) * cfg.count + (cfg.batch * cfg.count if cfg.upscale > 1 else 0)
    done = 0
    ctrl_pil = [Image.fromarray(control[s.kind]) for s in cfg.controlnets]
    for call in range(cfg.count):
        seeds = [cfg.seed + call * cfg.batch + i for i in range(cfg.batch)]
        gens = [torch.Generator("cpu").manual_seed(s) for s in seeds]
        kw = dict(embeds, num_inference_steps=cfg.steps, guidance_scale=cfg.guidance, generator=gens,
                  num_images_per_prompt=cfg.batch, output_type="pil",
                  callback_on_step_end=_callback(progress, cancel, cfg.previews, xl, done, total),
                  callback_on_step_end_tensor_inputs=["latents"])
        if cns:
            ctrl = ctrl_pil[0] if len(cns) == 1 else ctrl_pil
            kw.update(controlnet_conditioning_scale=_one_or_list([s.strength for s in cfg.controlnets]),
                      control_guidance_start=_one_or_list([s.start for s in cfg.controlnets]),
                      control_guidance_end=_one_or_list([s.end for s in cfg.controlnets]))
            kw["control_image" if init is not None else "image"] = ctrl
        if init is not None:
            kw.update(image=init, strength=cfg.denoise)
        else:
            kw.update(width=cfg.width, height=cfg.height)
        out = pipe(**kw)
        done += _steps_total(cfg, init is not None) - (max(1, int(cfg.steps * cfg.hires_denoise)) if cfg.hires_scale > 1 else 0)
        batch_images = list(out.images)
        flags = getattr(out, "nsfw_content_detected", None)
        if cfg.hires_scale > 1.0:
            batch_images = _hires(entry, cns, cfg, batch_images, ctrl_pil, embeds, seeds, progress, cancel, done, total)
            done += max(1, int(cfg.steps * cfg.hires_denoise))
        for i, im in enumerate(batch_images):
            images.append(im)
            nsfw.append(None if flags is None else bool(flags[i]))
            configs.append(cfg.replace(seed=seeds[i], batch=1, count=1))
    if cfg.upscale > 1:  # one progress step per image
        from kyara.upscale import upscale_image

        for i, im in enumerate(images):
            if cancel is not None and cancel():
                raise GenerationCancelled("generation cancelled")
            images[i] = upscale_image(im, cfg.upscale, cfg.upscale_model)
            done += 1
            if progress is not None:
                progress(done, total, None)
    t_end = time.perf_counter()
    return GenerationResult(images=images, configs=configs, control_images=control, nsfw=nsfw,
                            timings={"checks": t_cond - t0, "conditions": t_load - t_cond, "load": t_run - t_load,
                                     "denoise": t_end - t_run, "total": t_end - t0})


def _one_or_list(values: list):
    return values[0] if len(values) == 1 else values


def hires_size(cfg: ImageConfig) -> tuple[int, int]:
    """Hires pass size: ``hires_scale`` times the base size, rounded down to multiples of 8."""
    from kyara.generate.config import hires_dims

    return hires_dims(cfg)


def _hires(entry, cns, cfg: ImageConfig, images, ctrl_pil, embeds, seeds, progress, cancel, done, total):
    """Upscale (``hires_upscaler``: Lanczos or Real-ESRGAN) and run img2img at ``hires_denoise``,
    ControlNets fed resized images."""
    import torch
    from PIL import Image

    from kyara.upscale import upscale_to

    w, h = hires_size(cfg)
    pipe = _pipeline_for(entry, cns, img2img=True)
    up = [upscale_to(im, (w, h), cfg.hires_upscaler) for im in images]
    kw = dict(embeds, image=up, strength=cfg.hires_denoise, num_inference_steps=cfg.steps,
              guidance_scale=cfg.guidance, num_images_per_prompt=1, output_type="pil",
              generator=[torch.Generator("cpu").manual_seed(s + 1_000_003) for s in seeds],
              callback_on_step_end=_callback(progress, cancel, cfg.previews, entry["xl"], done, total),
              callback_on_step_end_tensor_inputs=["latents"])
    if len(up) > 1:  # embeddings are per prompt; repeat them for the batch of init images
        kw = {k: (v.repeat(len(up), *([1] * (v.ndim - 1))) if k.endswith("embeds") else v) for k, v in kw.items()}
    if cns:
        ctrl = [im.resize((w, h), Image.LANCZOS) for im in ctrl_pil]
        kw.update(control_image=ctrl[0] if len(cns) == 1 else ctrl,
                  controlnet_conditioning_scale=_one_or_list([s.strength for s in cfg.controlnets]),
                  control_guidance_start=_one_or_list([s.start for s in cfg.controlnets]),
                  control_guidance_end=_one_or_list([s.end for s in cfg.controlnets]))
    if entry["xl"]:
        kw.update(target_size=(h, w), original_size=(h, w))
    return list(pipe(**kw).images)
