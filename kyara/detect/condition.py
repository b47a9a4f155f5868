"""``kyara image --pose-image REF``: an OpenPose drawing is used as is, any other picture is detected.

:func:`openpose_drawing_test` decides whether an image already is an OpenPose condition drawing,
by three measurable conditions that ControlNet's drawings meet and photos, renders and drawings
do not:

1. black background: at least :data:`MIN_BLACK_SHARE` of the pixels are black (every channel at
   most :data:`BLACK_LEVEL`);
2. palette: at least :data:`MIN_PALETTE_SHARE` of the other pixels lie within
   :data:`PALETTE_TOLERANCE` (RGB distance) of a colour ControlNet draws with: the 18 joint colours,
   the 17 limb colours (x 0.6), the 20 hand-bone colours, blue hand points, white face points;
3. a body: at least :data:`MIN_BODY_COLOURS` different joint or limb colours each cover at least
   :data:`MIN_COLOUR_PIXELS` pixels (or 0.02% of the image, whichever is more), so white-on-black
   line art or edge maps are not taken for a skeleton.

:func:`pose_image_condition` returns the condition image: an OpenPose drawing fitted into the
generation size keeping its aspect ratio (Lanczos, centred on black: bones keep their lengths), anything else through :func:`kyara.detect.detect`
(``auto`` backend) and drawn from the detected keypoints (body, hands, face) on the generation
canvas, fitted keeping the image's aspect ratio (centred, letterboxed).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

BLACK_LEVEL = 40  # a pixel whose channels are all at most this is background
MIN_BLACK_SHARE = 0.70
PALETTE_TOLERANCE = 48.0  # RGB distance to a palette colour (JPEG and resizing shift colours a little)
MIN_PALETTE_SHARE = 0.50
MIN_BODY_COLOURS = 3
MIN_COLOUR_PIXELS = 8


@functools.lru_cache(maxsize=1)
def _palette() -> tuple[np.ndarray, np.ndarray]:
    """``(colours [K, 3] float32, is_body [K] bool)``: every colour of ControlNet's OpenPose drawing."""
    from kyara.render.openpose_draw import (
        BODY_COLORS,
        FACE_POINT_COLOR,
        HAND_EDGE_COLORS,
        HAND_POINT_COLOR,
        LIMB_COLORS,
    )

    body = [*BODY_COLORS, *LIMB_COLORS]
    other = [*(tuple(round(c) for c in e) for e in HAND_EDGE_COLORS), HAND_POINT_COLOR, FACE_POINT_COLOR]
    colours = np.array(body + other, dtype=np.float32)
    return colours, np.array([True] * len(body) + [False] * len(other))


def openpose_drawing_test(rgb: np.ndarray) -> tuple[bool, str]:
    """Whether ``rgb`` ``[H, W, 3] uint8`` is an OpenPose drawing (module doc) -> ``(answer, why)``."""
    a = np.asarray(rgb)[..., :3]
    n = a.shape[0] * a.shape[1]
    black = a.max(axis=2) <= BLACK_LEVEL
    share = float(black.mean())
    if share < MIN_BLACK_SHARE:
        return False, f"{share:.0%} of its pixels are black, an OpenPose drawing has at least {MIN_BLACK_SHARE:.0%}"
    lit = a[~black].astype(np.float32)  # [M, 3]
    if len(lit) == 0:
        return False, "it is all black"
    colours, is_body = _palette()
    scale = 1.0  # pixels each examined pixel stands for
    if len(lit) > 100_000:  # an even subsample keeps the test fast on big images
        total = len(lit)
        lit = lit[:: total // 100_000 + 1]
        scale = total / len(lit)
    d2 = ((lit[:, None, :] - colours[None, :, :]) ** 2).sum(axis=2)  # [M, K]
    nearest = d2.argmin(axis=1)
    close = d2[np.arange(len(lit)), nearest] <= PALETTE_TOLERANCE ** 2
    pal_share = float(close.mean())
    if pal_share < MIN_PALETTE_SHARE:
        return False, (f"{pal_share:.0%} of its non-black pixels have ControlNet's skeleton colours, "
                       f"an OpenPose drawing has at least {MIN_PALETTE_SHARE:.0%}")
    counts = np.bincount(nearest[close], minlength=len(colours)) * scale
    need = max(MIN_COLOUR_PIXELS, 2e-4 * n)
    body_colours = int(((counts >= need) & is_body).sum())
    if body_colours < MIN_BODY_COLOURS:
        return False, (f"only {body_colours} of ControlNet's joint and limb colours appear, an OpenPose drawing "
                       f"of a body has at least {MIN_BODY_COLOURS}")
    return True, (f"{share:.0%} black, {pal_share:.0%} of the rest in ControlNet's skeleton colours, "
                  f"{body_colours} joint/limb colours")


def is_openpose_drawing(rgb: np.ndarray) -> bool:
    """Whether ``rgb`` ``[H, W, 3] uint8`` already is an OpenPose drawing (:func:`openpose_drawing_test`)."""
    return openpose_drawing_test(rgb)[0]


def detected_pose_drawing(det, size: tuple[int, int], openpose_style: str = "classic") -> np.ndarray:
    """Draw a :class:`~kyara.detect.types.Detection` on a ``size`` = (w, h) canvas -> ``[H, W, 3] uint8``:
    the image's canvas fitted into ``size`` keeping its aspect ratio (centred)."""
    from kyara.render.openpose_draw import draw_openpose

    w, h = int(size[0]), int(size[1])
    person = det.to_keypoints2d().letterboxed(w, h)
    return draw_openpose([person], w, h, thick=(openpose_style == "xinsir"))


def letterbox(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``[H, W, 3] uint8`` fitted into ``size`` = (w, h) keeping its aspect ratio: scaled by the smaller
    ratio (Lanczos), centred, black around it (OpenPose's background)."""
    from PIL import Image

    w, h = int(size[0]), int(size[1])
    ih, iw = rgb.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(1, min(w, round(iw * s))), max(1, min(h, round(ih * s)))
    out = np.zeros((h, w, 3), np.uint8)
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., :3])).resize(
        (nw, nh), Image.LANCZOS))
    return out


def pose_image_condition(path: str | os.PathLike, size: tuple[int, int], openpose_style: str = "classic",
                         what: str = "--pose-image") -> tuple[np.ndarray, list[str]]:
    """The OpenPose condition ``[H, W, 3] uint8`` for ``size`` = (w, h) from the image at ``path``,
    and notes saying how it was made (module doc). The result is cached per file, size and style, so
    the check before weights load and the generation detect once.

    Raises ``ValueError`` (one line naming ``what``) when the image is unreadable or no person is
    found in it, and the backend's errors (missing extra, missing weights).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} '{p}' does not exist, expected an image file")
    st = p.stat()
    image, notes = _cached(str(p.resolve()), st.st_mtime_ns, st.st_size, (int(size[0]), int(size[1])),
                           openpose_style, what, str(p))
    return image.copy(), list(notes)


@functools.lru_cache(maxsize=8)
def _cached(resolved: str, mtime_ns: int, nbytes: int, size: tuple[int, int], openpose_style: str, what: str,
            shown: str) -> tuple[np.ndarray, tuple[str, ...]]:
    from kyara.detect import detect
    from kyara.detect.io import read_image

    label = f"{what} '{shown}'"
    rgb, notes = read_image(resolved, what, label=shown)
    w, h = size
    drawing, why = openpose_drawing_test(rgb)
    if drawing:
        return letterbox(rgb, size), (*notes,)
    det = detect(rgb, "auto")
    body = int((det.keypoints[:, 2] >= 0.3).sum())
    person = det.to_keypoints2d()
    if not any((a[:, 2] > 0).any() for a in person.parts().values()):
        raise ValueError(f"{label} is not an OpenPose drawing ({why}) and the {det.backend} detector found no "
                         "person in it, expected a picture of a character or an OpenPose drawing")
    notes = [*notes, f"{label} is not an OpenPose drawing ({why}): its pose was detected ({det.reason or det.backend}; "
                     f"{body} of 18 body joints) and drawn on the {w}x{h} canvas keeping its aspect ratio"]
    return detected_pose_drawing(det, size, openpose_style), tuple(notes)
