"""Image tab: widget values -> ImageConfig, the generation job (progress, cancel), the progress bar."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Iterator

from kyara.studio.handlers.common import escape_html, one_line
from kyara.studio.handlers.poses import openpose_json_of

CONTROL_CHOICES = ("none", "openpose", "depth")
_generate_lock = threading.Lock()  # diffusers pipelines are cached per process and not re-entrant


def parse_loras(text: str | None) -> tuple:
    """One ``FILE.safetensors[:WEIGHT]`` per line (or comma-separated) -> LoraSpec tuple."""
    from kyara.cli.cmd_image import parse_lora

    items = [t.strip() for line in (text or "").splitlines() for t in line.split(",")]
    return tuple(parse_lora(t) for t in items if t)


def image_config(prompt: str, negative: str, model: str, control: str, control_model: str, strength: float,
                 loras: str, steps: float, guidance: float, scheduler: str, seed: float, batch: float,
                 width: float, height: float, pose_files: dict | None = None):
    """Widget values -> a checked :class:`~kyara.generate.config.ImageConfig` (no weights loaded)."""
    from kyara.generate.config import ControlSpec, ImageConfig

    if control not in CONTROL_CHOICES:
        raise ValueError(f"ControlNet '{control}' is unknown, expected one of {', '.join(CONTROL_CHOICES)}")
    if not (model or "").strip():
        raise ValueError("model is empty, expected a Hugging Face id, a local path or tiny")
    ints = {}
    for name, v in (("steps", steps), ("seed", seed), ("batch", batch), ("width", width), ("height", height)):
        if v is None or not float(v).is_integer():
            raise ValueError(f"{name} {v!r} is not valid, expected an integer")
        ints[name] = int(v)
    cns: tuple = ()
    control_images: tuple = ()
    pose_json = None
    if control != "none":
        files = pose_files or {}
        if control not in files:
            raise ValueError(f"no {control} condition yet, expected a pose from the Pose tab")
        cns = (ControlSpec(control, (control_model or "default").strip(), float(strength)),)
        pose_json = openpose_json_of(files) if control == "openpose" else None
        if pose_json is None:  # an uploaded JSON is redrawn at the image size, its aspect ratio kept
            control_images = ((control, str(files[control])),)
    cfg = ImageConfig(prompt=prompt or "", negative_prompt=negative or "", model=model.strip(), controlnets=cns,
                      control_images=control_images, pose_json=pose_json, loras=parse_loras(loras),
                      guidance=float(guidance), scheduler=scheduler, **ints)
    return cfg.check()


class GenerationJob:
    """:func:`kyara.generate.pipeline.generate` in a worker thread; :meth:`events` yields
    ``("progress", step, total)`` from the pipeline's step callback, then ``("done", paths)`` or
    ``("error", line)`` / ``("cancelled", line)``. :meth:`cancel` stops it between two steps."""

    def __init__(self, cfg, out_dir: Path) -> None:
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self._cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "GenerationJob":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def _run(self) -> None:
        from kyara.generate.pipeline import GenerationCancelled, generate

        try:
            with _generate_lock:
                result = generate(self.cfg, progress=lambda s, n, _p: self._events.put(("progress", s, n)),
                                  cancel=self._cancel.is_set)
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
            if ev[0] != "progress":
                return


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

