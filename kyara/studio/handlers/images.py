"""Image tab: widget values -> ImageConfig (tags included), the generation job (progress, cancel), the
progress bar, the pose reference upload (the Pose tab's detection, reused), the detected skeleton saved
beside the images, and the gallery's Upscale button."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Iterator

from kyara.studio.handlers.common import escape_html, one_line, resolve_seed
from kyara.studio.handlers.poses import openpose_json_of

CONTROL_CHOICES = ("none", "openpose", "depth")
# PoseAnimeFlow's slider ranges (the defaults) and the wider ones turbo/LCM models and strong ControlNets need
SLIDER_RANGES = {"steps": ((20, 50), (1, 150)), "guidance": ((7.5, 12.0), (0.0, 30.0)), "strength": ((0.0, 1.0), (0.0, 2.0))}
NO_STYLE = "none"
_generate_lock = threading.Lock()  # diffusers pipelines are cached per process and not re-entrant


def parse_loras(text: str | None) -> tuple:
    """One ``FILE.safetensors[:WEIGHT]`` per line (or comma-separated) -> LoraSpec tuple."""
    from kyara.cli.cmd_image import parse_lora

    items = [t.strip() for line in (text or "").splitlines() for t in line.split(",")]
    return tuple(parse_lora(t) for t in items if t)


def image_config(prompt: str, negative: str, model: str, control: str, control_model: str, strength: float,
                 loras: str, steps: float, guidance: float, scheduler: str, seed: float, batch: float,
                 width: float, height: float, pose_files: dict | None = None, tags: str = "off",
                 style: str | None = None, size_auto: bool = False):
    """Widget values -> a checked :class:`~kyara.generate.config.ImageConfig` (no weights loaded).

    ``tags`` (auto/on/off) and ``style`` write the prompt as Danbooru tags as ``kyara image --tags``
    does (:func:`image_tags`); the negative prompt becomes the tag family's when the box holds the
    default negative prompt or nothing. ``size_auto``: the model's native size (SD1.5/SD2 512, SDXL
    1024) instead of ``width``/``height``, as ``kyara image`` without ``--size``. ``seed`` -1 draws a
    random seed; the config (and so each PNG's parameters) holds the one drawn."""
    from kyara.generate.config import DEFAULT_NEGATIVE, ControlSpec, ImageConfig

    if control not in CONTROL_CHOICES:
        raise ValueError(f"ControlNet '{control}' is unknown, expected one of {', '.join(CONTROL_CHOICES)}")
    if not (model or "").strip():
        raise ValueError("model is empty, expected a Hugging Face id, a local path or tiny")
    if Path(model.strip()).is_dir() and (Path(model.strip()) / "model_index.json").is_file():
        from kyara.studio.handlers.models import check_pipeline_folder

        check_pipeline_folder(model.strip())  # a half-downloaded folder: one line, not diffusers' class list
    ints = {"seed": resolve_seed(seed)}
    for name, v in (("steps", steps), ("batch", batch), ("width", width), ("height", height)):
        if v is None or not float(v).is_integer():
            raise ValueError(f"{name} {v!r} is not valid, expected an integer")
        ints[name] = int(v)
    cns: tuple = ()
    control_images: tuple = ()
    pose_json = None
    if control != "none":
        files = pose_files or {}
        if control not in files:
            raise ValueError(f"the current pose has no {control} condition (an uploaded pose that could not be fitted "
                             "to the body has only its OpenPose drawing), expected a pose from the Pose tab")
        cns = (ControlSpec(control, (control_model or "default").strip(), float(strength)),)
        pose_json = openpose_json_of(files) if control == "openpose" else None
        if pose_json is None:  # an uploaded JSON is redrawn at the image size, its aspect ratio kept
            control_images = ((control, str(files[control])),)
    res = image_tags(prompt or "", model, tags, style) if (prompt or "").strip() else None
    if res is not None:
        prompt = res.prompt
        if (negative or "").strip() in ("", DEFAULT_NEGATIVE):
            negative = res.negative_prompt
    cfg = ImageConfig(prompt=prompt or "", negative_prompt=negative or "", model=model.strip(), controlnets=cns,
                      control_images=control_images, pose_json=pose_json, loras=parse_loras(loras),
                      guidance=float(guidance), scheduler=scheduler, size_from_model=bool(size_auto), **ints)
    return cfg.check()


def character_description(character: str | None) -> str:
    """The session character's description as anime tags for the Image prompt
    (:func:`kyara.character.describe.spec_prompt` of its ``character.json``); one-line ``ValueError``
    without a character or for an imported avatar file, which carries no description."""
    from kyara.character.describe import spec_prompt
    from kyara.character.spec import load_spec

    if not character:
        raise ValueError("no character yet, expected one made in the Create tab")
    p = Path(character)
    if p.suffix.lower() != ".json":
        raise ValueError(f"the imported avatar '{p.name}' has no description, expected a character made in the "
                         "Create tab (or write the prompt yourself)")
    try:
        return spec_prompt(load_spec(p))
    except (OSError, ValueError) as exc:
        raise ValueError(f"the character's description could not be read ({type(exc).__name__})") from None


def image_tags(prompt: str, model: str | None, mode: str = "auto", style: str | None = None):
    """:func:`kyara.tags.image_prompt` with the tab's values (style ``none`` = no style)."""
    from kyara.tags import image_prompt

    style = None if style in (None, "", NO_STYLE) else style
    return image_prompt(prompt, mode, (model or "").strip() or None, "auto", style)


def tags_preview(prompt: str, model: str | None, mode: str = "auto", style: str | None = None) -> str:
    """What the model will be sent, shown before generating (markdown; one line on a bad value)."""
    if not (prompt or "").strip():
        return "*no prompt yet*"
    try:
        res = image_tags(prompt, model, mode, style)
    except ValueError as exc:
        return escape_html(one_line(exc))
    if res is None:
        why = "tags off" if mode == "off" else "already written as tags"
        return f"**prompt sent as written** ({why})"
    head = "**tags**" if res.converted else "**prompt as written, with the style's tags**"
    text = f"{head} ({escape_html(res.family)}{', ' + escape_html(res.style) if res.style else ''}): " \
           f"`{escape_html(res.prompt)}`  \n**negative**: `{escape_html(res.negative_prompt)}`"
    return text + "".join(f"  \nnote: {escape_html(n)}" for n in res.notes)


def reference_for_image(ws, path, backend: str = "auto", character: str | None = None, max_mb: float | None = None):
    """The Image tab's pose reference: :func:`~kyara.studio.handlers.reference.pose_reference_upload`
    (the Pose tab's upload: checks, detection, skeleton, fitted sliders), with the skeleton drawn over
    the picture saved too. Returns the :class:`ReferencePose` and the files for the generation
    (``overlay`` added)."""
    from PIL import Image

    from kyara.studio.handlers.reference import pose_reference_upload

    kw = {} if max_mb is None else {"max_mb": max_mb}
    ref = pose_reference_upload(ws, path, backend, character, **kw)
    files = {k: str(v) for k, v in ref.preview.files.items()}
    overlay = Path(files["openpose"]).with_name("skeleton.png")
    Image.fromarray(ref.overlay).save(overlay)
    files["overlay"] = str(overlay)
    return ref, files


_BESIDE = {"openpose": (("overlay", "pose_skeleton.png"), ("openpose", "pose_openpose.png"), ("json", "pose.json")),
           "depth": (("depth", "pose_depth.png"), ("json", "pose.json"))}


def save_pose_beside(out_dir: Path, pose_files: dict | None, control: str = "openpose") -> list[Path]:
    """Copy the pose the images were made from into the images' folder: for ``openpose`` the detected
    skeleton over the reference, the OpenPose condition and its JSON; for ``depth`` the depth condition
    and the pose's JSON. Returns the files written."""
    import shutil

    out = []
    for key, name in _BESIDE.get(control, ()):
        src = (pose_files or {}).get(key)
        if src and Path(src).is_file():
            out.append(Path(shutil.copyfile(src, Path(out_dir) / name)))
    return out


def upscale_gallery_image(ws, path, scale: int = 2, model: str = "anime") -> Path:
    """The gallery's Upscale button: ``path`` (an image of this session) upscaled beside itself as
    ``<name>_x<scale>.png``, its PNG parameters kept. Refuses paths outside the session's folder."""
    from kyara.upscale import upscale_file

    if not path:
        raise ValueError("no image to upscale yet, expected one from the gallery")
    p = Path(str(path))
    if ws is not None and not ws.contains(p):
        raise ValueError(f"image '{p.name}' is not one of this session's images")
    scale = int(scale)
    return upscale_file(p, p.with_name(f"{p.stem}_x{scale}.png"), scale, model)


class GenerationJob:
    """:func:`kyara.generate.pipeline.generate` in a worker thread; :meth:`events` yields
    ``("progress", step, total)`` from the pipeline's step callback, with ``previews`` also
    ``("preview", step, total, rgb)`` after it (the latent preview, ``[h/8, w/8, 3] uint8``), then
    ``("done", paths)`` or ``("error", line)`` / ``("cancelled", line)``. :meth:`cancel` stops it
    between two steps. The saved PNGs record the config as given (``previews`` is not part of an image)."""

    def __init__(self, cfg, out_dir: Path, previews: bool = False) -> None:
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.previews = bool(previews)
        self._cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "GenerationJob":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, step: int, total: int, preview) -> None:
        self._events.put(("progress", step, total))
        if preview is not None:
            self._events.put(("preview", step, total, preview))

    def _run(self) -> None:
        from kyara.generate.pipeline import GenerationCancelled, generate

        cfg = self.cfg.replace(previews=True) if self.previews else self.cfg
        try:
            with _generate_lock:
                result = generate(cfg, progress=self._progress, cancel=self._cancel.is_set)
            result.configs = [c.replace(previews=self.cfg.previews) for c in result.configs]
            paths = save_images(result, self.out_dir)
            self._events.put(("done", paths))
        except GenerationCancelled:
            self._events.put(("cancelled", "cancelled"))
        except Exception as exc:  # noqa: BLE001 - reported in the page as one line, never raised
            self._events.put(("error", one_line(exc)))

    def events(self, poll_s: float = 0.1) -> Iterator[tuple]:
        while True:
            try:
                ev = self._events.get(timeout=poll_s)
            except queue.Empty:
                if not self._thread.is_alive() and self._events.empty():
                    yield ("error", "error: internal error: the generation thread ended without a result")
                    return
                continue
            yield ev
            if ev[0] not in ("progress", "preview"):
                return


def preview_image(rgb, longest: int = 256):
    """A latent preview ``[h, w, 3] uint8`` enlarged by a whole factor (nearest neighbour, so the
    latent pixels stay sharp) to at most ``longest`` pixels on its long side, for the page."""
    import numpy as np

    a = np.asarray(rgb, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"preview has shape {a.shape}, expected [h, w, 3]")
    k = max(1, int(longest) // max(a.shape[0], a.shape[1]))
    return np.repeat(np.repeat(a, k, axis=0), k, axis=1)


HISTORY_COLUMNS = ("#", "prompt", "seed", "size", "model", "steps", "guidance", "file")


def model_name(model: str) -> str:
    """How the page names a model: a local folder or file by its name (never the server's folders),
    an id or ``tiny`` as it is."""
    return Path(model).name if Path(model).is_absolute() else model


def add_history(history: list | None, cfg, paths) -> list[dict]:
    """The session's image history with one row per image of a finished generation appended (a new
    list; ``history`` is left as it is): its prompt as sent, seed (the drawn one for -1; a batch counts
    up from it), size in pixels as written, model, steps, guidance and file."""
    from PIL import Image

    rows = list(history or [])
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            w, h = im.size
        rows.append({"#": len(rows) + 1, "prompt": cfg.prompt, "seed": int(cfg.seed) + i, "size": f"{w}x{h}",
                     "model": model_name(cfg.model), "steps": int(cfg.steps), "guidance": float(cfg.guidance), "file": str(p)})
    return rows


def history_table(history: list | None) -> list[list]:
    """The history as rows of :data:`HISTORY_COLUMNS`, newest first (the file by its name only)."""
    return [[r[k] if k != "file" else Path(r[k]).name for k in HISTORY_COLUMNS] for r in reversed(history or [])]


def history_gallery(history: list | None) -> list[tuple[str, str]]:
    """The history as (image, caption) pairs, newest first: ``#n seed S, WxH, model``."""
    return [(r["file"], f"#{r['#']} seed {r['seed']}, {r['size']}, {r['model']}") for r in reversed(history or [])]


def save_images(result, out_dir: Path) -> list[Path]:
    from kyara.generate.metadata import save_png

    out_dir.mkdir(parents=True, exist_ok=True)
    return [save_png(im, out_dir / f"image_{i:04d}.png", c) for i, (im, c) in enumerate(zip(result.images,
                                                                                             result.configs))]


def progress_html(step: int, total: int, text: str = "") -> str:
    """The page's progress bar: ``data-step``/``data-total`` for tests, width in percent."""
    pct = 100.0 * step / total if total else 0.0
    label = text or f"{step}/{total} steps"
    return (f'<div class="kyara-progress" data-step="{step}" data-total="{total}" data-pct="{pct:.0f}">'
            f'<div class="kyara-progress-fill" style="width:{pct:.1f}%"></div>'
            f'<span class="kyara-progress-label">{pct:.0f}% &middot; {escape_html(label)}</span></div>')

