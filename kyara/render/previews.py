"""Colour previews of label/UDP maps and the CoNR ``.npz`` writer (numpy + Pillow only)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from kyara.fileio import atomic_path, check_output_path, write_bytes_atomic

BACKGROUND_LABEL = 255

# One colour per part label (head, torso, arms, hands, legs, feet, then spares); background black.
PART_PALETTE = np.array(
    [
        [255, 190, 160],  # 0 head
        [80, 140, 255],  # 1 torso
        [90, 210, 120],  # 2 arms
        [250, 220, 60],  # 3 hands
        [200, 90, 220],  # 4 legs
        [255, 110, 70],  # 5 feet
        [60, 220, 220],
        [160, 160, 160],
        [140, 90, 40],
        [255, 120, 200],
    ],
    dtype=np.uint8,
)


def parts_preview(parts: np.ndarray) -> np.ndarray:
    """Colour a label map ``[..., H, W]`` or ``[..., H, W, 1]`` uint8 (255 = background) as RGB uint8."""
    labels = np.asarray(parts)
    if labels.ndim >= 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.dtype != np.uint8:
        raise ValueError(f"parts map has dtype {labels.dtype}, expected uint8 labels")
    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:BACKGROUND_LABEL] = PART_PALETTE[np.arange(BACKGROUND_LABEL) % len(PART_PALETTE)]
    return lut[labels]


def udp_preview(udp: np.ndarray) -> np.ndarray:
    """RGB uint8 picture of a UDP map ``[..., H, W, 4]`` (xyz as colour, background black)."""
    u = np.asarray(udp)
    if u.shape[-1:] != (4,):
        raise ValueError(f"udp map has shape {u.shape}, expected [..., H, W, 4]")
    rgb = np.clip(u[..., :3], 0.0, 1.0) * (u[..., 3:4] > 0.5)
    return np.rint(rgb * 255.0).astype(np.uint8)


def save_udp(path: str | os.PathLike, udp: np.ndarray) -> Path:
    """Write one UDP map ``[H, W, 4]`` float32 to ``path`` (``.npz``, key ``i`` as CoNR reads it), atomically."""
    u = np.asarray(udp)
    if u.ndim != 3 or u.shape[-1] != 4:
        raise ValueError(f"udp map has shape {u.shape}, expected [H, W, 4]")
    if not np.issubdtype(u.dtype, np.floating) or not np.all(np.isfinite(u)):
        raise ValueError(f"udp map has dtype {u.dtype} or non-finite values, expected finite floats")
    p = check_output_path(path, (".npz",))
    with atomic_path(p) as tmp:
        np.savez_compressed(tmp, i=u.astype(np.float32))
    return p


def save_udp_preview(path: str | os.PathLike, udp: np.ndarray) -> Path:
    """Write :func:`udp_preview` of a ``[H, W, 4]`` map as a PNG, atomically."""
    from PIL import Image

    rgb = udp_preview(udp)
    if rgb.ndim != 3:
        raise ValueError(f"udp map has shape {np.shape(udp)}, expected [H, W, 4]")
    p = check_output_path(path, (".png",))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return write_bytes_atomic(p, buf.getvalue())
