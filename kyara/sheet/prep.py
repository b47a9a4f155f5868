"""CoNR's pre- and post-processing: crop the character's box to a square, zero-pad, resize; paste back.

Every image of a sheet (references and target) is brought to the model's square side ``S`` the
way CoNR's inference does it: the bounding box of the character (alpha for images, occupancy for
UDP maps) is grown to a square around its centre, what falls outside the image is zero (black,
transparent), and the square is resized to ``S`` — area filter for images when shrinking
(bilinear when enlarging), nearest neighbour for UDP maps (a lookup, never a blend). The result
at ``S`` is pasted back into the target's own canvas with :func:`paste_back`.

Colours inside this package are float32 premultiplied RGBA in [0, 1]; files hold straight alpha
(:func:`premultiply` / :func:`straight_uint8` convert).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SquareBox:
    """A square window ``[x0, x0 + side) x [y0, y0 + side)`` in pixels of an image of ``width`` x
    ``height``; it may reach outside the image (that part is zero-padded)."""

    x0: int
    y0: int
    side: int
    width: int
    height: int


def square_box(mask: np.ndarray, what: str = "image") -> SquareBox:
    """The square around the bounding box of ``mask`` ``[H, W]`` (bool or > 0.5), centred on it."""
    m = np.asarray(mask)
    on = m > 0.5 if m.dtype != bool else m
    ys, xs = np.nonzero(on)
    if len(xs) == 0:
        raise ValueError(f"{what} has no foreground (empty alpha or occupancy), expected a character in it")
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    w, h = x1 - x0 + 1, y1 - y0 + 1
    side = max(w, h)
    return SquareBox(x0 - (side - w) // 2, y0 - (side - h) // 2, side, on.shape[1], on.shape[0])


def _window(image: np.ndarray, box: SquareBox) -> np.ndarray:
    """The box's pixels of ``image [H, W, C]``, zero outside the image -> ``[side, side, C]``."""
    out = np.zeros((box.side, box.side, image.shape[2]), dtype=image.dtype)
    sx0, sy0 = max(0, box.x0), max(0, box.y0)
    sx1, sy1 = min(box.width, box.x0 + box.side), min(box.height, box.y0 + box.side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - box.y0:sy1 - box.y0, sx0 - box.x0:sx1 - box.x0] = image[sy0:sy1, sx0:sx1]
    return out


def _resize(image: np.ndarray, side: int, nearest: bool) -> np.ndarray:
    import cv2

    n = image.shape[0]
    if n == side:
        return image
    flag = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if n > side else cv2.INTER_LINEAR)
    out = cv2.resize(image, (side, side), interpolation=flag)
    return out.reshape(side, side, image.shape[2])


def crop_image(rgba: np.ndarray, box: SquareBox, side: int) -> np.ndarray:
    """Premultiplied float RGBA ``[H, W, 4]`` -> ``[side, side, 4]`` (area filter / bilinear)."""
    return _resize(_window(np.asarray(rgba, dtype=np.float32), box), side, nearest=False)


def crop_udp(udp: np.ndarray, box: SquareBox, side: int) -> np.ndarray:
    """UDP ``[H, W, 4]`` -> ``[side, side, 4]`` (nearest neighbour)."""
    return _resize(_window(np.asarray(udp, dtype=np.float32), box), side, nearest=True)


def paste_back(rgba: np.ndarray, box: SquareBox) -> np.ndarray:
    """Premultiplied ``[S, S, 4]`` at the model's side -> ``[height, width, 4]`` of the box's image
    (resized to the box's side, the part inside the image kept, transparent elsewhere)."""
    a = _resize(np.asarray(rgba, dtype=np.float32), box.side, nearest=False)
    out = np.zeros((box.height, box.width, 4), dtype=np.float32)
    sx0, sy0 = max(0, box.x0), max(0, box.y0)
    sx1, sy1 = min(box.width, box.x0 + box.side), min(box.height, box.y0 + box.side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0:sy1, sx0:sx1] = a[sy0 - box.y0:sy1 - box.y0, sx0 - box.x0:sx1 - box.x0]
    return np.clip(out, 0.0, 1.0)


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """Straight RGBA uint8 ``[..., 4]`` -> premultiplied float32 in [0, 1]."""
    a = np.asarray(rgba, dtype=np.float32) / 255.0
    return np.concatenate([a[..., :3] * a[..., 3:], a[..., 3:]], axis=-1)


def straight_uint8(rgba: np.ndarray) -> np.ndarray:
    """Premultiplied float ``[..., 4]`` in [0, 1] -> straight RGBA uint8 (what image files hold)."""
    p = np.clip(np.asarray(rgba, dtype=np.float64), 0.0, 1.0)
    alpha = p[..., 3:]
    rgb = np.where(alpha > 0, p[..., :3] / np.maximum(alpha, 1e-12), 0.0)
    out = np.concatenate([np.clip(rgb, 0.0, 1.0), alpha], axis=-1)
    return np.rint(out * 255.0).astype(np.uint8)
