"""Reading the user's image and writing what was detected.

Input (:func:`read_image`, :func:`as_rgb`): any image the shared reader :func:`kyara.fileio.load_image`
takes (decompression bombs, corrupt and truncated files refused with one line), turned into
``[H, W, 3] uint8`` RGB the way a viewer shows it:

- EXIF orientation applied (a phone photo's keypoints match what the user sees);
- alpha (RGBA, LA, palette with transparency) composited on white;
- 16-bit and 32-bit grey scaled to 8 bits (not clipped), float images read as 0..1 or 0..255;
- CMYK, YCbCr, 1-bit, palette converted to RGB;
- an animated GIF/WebP/PNG: its first frame, with a note saying so;
- sides under :data:`MIN_SIDE` pixels refused (nothing to detect in a thumbnail).

Output (:func:`write_detection`), each file written atomically:

- ``openpose.json``: OpenPose JSON in pixels, canvas = the image size (the project's writer);
- ``openpose.png``: the ControlNet drawing of the same keypoints (the project's drawer);
- ``mask.png``: 8-bit grey, the mask probability x 255;
- ``udp.npz``: key ``i``, float32 ``[H, W, 4]`` (CoNR's format), only when the backend gives a UDP
  (a ``udp.npz`` an earlier run left in the folder is removed otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kyara.detect.types import Detection

MIN_SIDE = 16  # pixels: the smallest image side detection accepts
OUTPUT_NAMES = ("openpose.json", "openpose.png", "mask.png", "udp.npz")


def as_rgb(image: np.ndarray, what: str = "image") -> np.ndarray:
    """A numpy image -> ``[H, W, 3] uint8`` RGB.

    Accepts ``[H, W]`` grey, ``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA (composited on white), as
    uint8, uint16 (scaled by 1/257), or float in [0, 1]. Raises ``ValueError`` naming the problem.
    """
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"{what} has shape {a.shape}, expected [H, W], [H, W, 3] (RGB) or [H, W, 4] (RGBA)")
    h, w = a.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"{what} is {w}x{h} pixels, expected at least {MIN_SIDE} pixels on each side")
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError(f"{what} has non-finite values, expected numbers in [0, 1]")
        if a.min() < 0.0 or a.max() > 1.0:
            raise ValueError(f"{what} has values {float(a.min()):g}..{float(a.max()):g}, expected floats in [0, 1]")
        f = a.astype(np.float32)
    else:
        raise ValueError(f"{what} has dtype {a.dtype}, expected uint8, uint16 or float in [0, 1]")
    if f.shape[2] == 4:  # composite on white
        alpha = f[..., 3:4]
        f = f[..., :3] * alpha + (1.0 - alpha)
    elif f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    return np.ascontiguousarray(np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8))


def _pil_to_array(im, shown: str) -> np.ndarray:
    """A decoded PIL image (one frame) -> a numpy array :func:`as_rgb` takes."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if a.max(initial=0) <= 65535 else float(a.max())
        return np.clip(a / top, 0.0, 1.0).astype(np.float32)
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        top = 1.0 if a.max(initial=0) <= 1.0 else 255.0
        return np.clip(a / top, 0.0, 1.0).astype(np.float32)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    return np.asarray(im.convert("RGBA" if has_alpha else "RGB"))


def _frame_count(p: Path) -> int:
    """Frames in an animated GIF/PNG/WebP (1 for a still image); read from the headers after
    :func:`kyara.fileio.load_image` has accepted the file."""
    from PIL import Image

    from kyara.fileio import IMAGE_FORMATS

    try:
        with Image.open(p, formats=IMAGE_FORMATS) as im:
            return int(getattr(im, "n_frames", 1) or 1)
    except Exception:  # noqa: BLE001 - a broken later frame: the first one was read, that is what is used
        return 1


def read_image(path: str | os.PathLike, what: str = "image", label: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Read an image file -> ``([H, W, 3] uint8 RGB, notes)`` (see the module doc for the rules).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (one line naming the file)
    for bombs, corrupt data, unsupported formats and images under :data:`MIN_SIDE` pixels.
    """
    from PIL import ImageOps

    from kyara.fileio import load_image

    p = Path(path)
    shown = f"{what} '{label if label is not None else p}'"
    im = load_image(p, what, label=label)  # first frame of an animation
    notes: list[str] = []
    frames = _frame_count(p)
    if frames > 1:
        notes.append(f"{shown} is animated ({frames} frames): using its first frame")
    try:
        im = ImageOps.exif_transpose(im) or im
    except Exception:  # noqa: BLE001 - a broken EXIF block is no reason to refuse the pixels
        notes.append(f"{shown} has an unreadable EXIF orientation: used as stored")
    return as_rgb(_pil_to_array(im, shown), shown), notes


# ------------------------------------------------------------------------------------------- output
def detection_people(det: Detection, threshold: float = 0.3):
    """The detection as one OpenPose person (:class:`kyara.pose.openpose.Keypoints2D`) on the image canvas."""
    return det.to_keypoints2d(threshold)


def write_detection(det: Detection, folder: str | os.PathLike, *, openpose_style: str = "classic",
                    threshold: float = 0.3) -> list[Path]:
    """Write ``openpose.json``, ``openpose.png``, ``mask.png`` and (kyara backend) ``udp.npz`` into
    ``folder`` (created when missing; its parent must exist) -> the paths written.

    Joints under ``threshold`` confidence are written as missing ``(0, 0, 0)``. ``openpose_style``:
    ``classic`` (ControlNet 1.1 line widths) or ``xinsir`` (thick lines above 500 px, SDXL).
    """
    from PIL import Image

    from kyara.fileio import atomic_path, check_output_dir
    from kyara.pose.openpose import write_openpose_json
    from kyara.render.openpose_draw import draw_openpose

    if openpose_style not in ("classic", "xinsir"):
        raise ValueError(f"openpose style '{openpose_style}' is unknown, expected classic or xinsir")
    out = check_output_dir(folder)
    out.mkdir(exist_ok=True)
    person = detection_people(det, threshold)
    written = [write_openpose_json(out / "openpose.json", [person], det.width, det.height)]
    drawing = draw_openpose([person], det.width, det.height, thick=(openpose_style == "xinsir"))
    with atomic_path(out / "openpose.png") as tmp:
        Image.fromarray(drawing).save(tmp, format="PNG")
    written.append(out / "openpose.png")
    mask8 = np.clip(np.rint(det.mask * 255.0), 0, 255).astype(np.uint8)
    with atomic_path(out / "mask.png") as tmp:
        Image.fromarray(mask8, "L").save(tmp, format="PNG")
    written.append(out / "mask.png")
    if det.udp is not None:
        with atomic_path(out / "udp.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, i=np.asarray(det.udp, dtype=np.float32))
        written.append(out / "udp.npz")
    elif (out / "udp.npz").is_file():  # left by an earlier run with the kyara backend: it would not match
        (out / "udp.npz").unlink()
    return written
