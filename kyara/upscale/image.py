"""PIL images in and out of the upscaler: colour modes, alpha, exact target sizes, files.

:func:`upscale_image` keeps what a picture is: RGB goes through Real-ESRGAN; alpha (RGBA, LA,
transparent palettes) is enlarged with Lanczos and put back; greyscale comes back greyscale;
16-bit greyscale is scaled to 8 bits first. :func:`upscale_to` enlarges to an exact size (the hires
pass): the model's output at the smallest scale that reaches the size, then Lanczos to the size.
:func:`upscale_file` is ``kyara upscale``: a checked image file in, a PNG out (atomic), a kyara or
AUTOMATIC1111 PNG keeping its parameters.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kyara.upscale.esrgan import OVERLAP, SCALES, TILE, ProgressFn, check_upscale, upscale_array


def _rgb_alpha(image):
    """(``[H, W, 3] uint8`` RGB, ``[H, W] uint8`` alpha or None, whether it was greyscale)."""
    from PIL import Image

    im = image
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        a = np.asarray(im, np.float64)
        a = a / 257.0 if a.max() > 255 else a
        im = Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    grey = im.mode in ("L", "LA", "1")
    alpha = None
    if im.mode in ("RGBA", "LA", "PA") or "A" in im.getbands():
        alpha = np.asarray(im.getchannel("A"))
    rgb = np.asarray(im.convert("RGB"))
    return rgb, alpha, grey


def upscale_image(image, scale: int = 2, model: str = "anime", tile: int = TILE, overlap: int = OVERLAP,
                  gpu: int = -1, progress: ProgressFn | None = None):
    """A PIL image ``scale`` (2 or 4) times larger, same kind of image (RGB, RGBA, greyscale)."""
    from PIL import Image

    check_upscale(scale, model, image.size)
    rgb, alpha, grey = _rgb_alpha(image)
    big = Image.fromarray(upscale_array(rgb, scale, model, tile, overlap, gpu, progress))
    if grey:
        big = big.convert("L")
    if alpha is not None:
        a = Image.fromarray(alpha).resize(big.size, Image.Resampling.LANCZOS)
        big = Image.merge("LA", (big, a)) if grey else Image.merge("RGBA", (*big.split(), a))
    return big


def upscale_to(image, size: tuple[int, int], upscaler: str = "lanczos", gpu: int = -1):
    """``image`` (PIL) enlarged to ``size`` = (width, height): with Lanczos, or with a Real-ESRGAN
    model at the smallest of its scales that reaches the size, then Lanczos to the exact size."""
    from PIL import Image

    w, h = size
    if upscaler == "lanczos":
        return image.resize((w, h), Image.Resampling.LANCZOS)
    ratio = max(w / image.size[0], h / image.size[1])
    scale = next((s for s in SCALES if s >= ratio - 1e-9), SCALES[-1])
    big = upscale_image(image, scale, upscaler, gpu=gpu)
    return big if big.size == (w, h) else big.resize((w, h), Image.Resampling.LANCZOS)


def _pnginfo(src):
    """The text chunks of a PNG (kyara's and AUTOMATIC1111's parameters) for the upscaled file."""
    from PIL.PngImagePlugin import PngInfo

    text = getattr(src, "text", None) or {}
    if not text:
        return None
    info = PngInfo()
    for k, v in text.items():
        info.add_itxt(k, v)
    return info


def upscale_file(src: str | os.PathLike, dst: str | os.PathLike, scale: int = 2, model: str = "anime",
                 tile: int = TILE, gpu: int = -1, progress: ProgressFn | None = None) -> Path:
    """``kyara upscale``: read ``src`` (checked: bombs, corrupt files), upscale, write ``dst`` (.png)
    atomically. Every check runs before the model loads."""
    from kyara.fileio import atomic_path, check_output_path, load_image
    from kyara.upscale.esrgan import require_upscale

    check_upscale(scale, model)
    out = check_output_path(dst, (".png",))
    im = load_image(src, "image")
    check_upscale(scale, model, im.size)
    require_upscale()
    big = upscale_image(im, scale, model, tile, OVERLAP, gpu, progress)
    with atomic_path(out) as tmp:
        big.save(tmp, format="PNG", pnginfo=_pnginfo(im))
    return out
