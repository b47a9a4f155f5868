"""Pose, mask and UDP from one image: :func:`detect`, one entry point over two backends.

Backends:

- ``kyara``: the project's own network (:mod:`kyara.detect.network`), trained on kyara's renders
  and drawings; gives keypoints, mask and a UDP map. Needs torch and the shipped weights.
- ``mediapipe``: MediaPipe Holistic (:mod:`kyara.detect.mediapipe_backend`), built for photos of
  people; gives body, hands and face keypoints and a person mask. An optional extra.
- ``auto`` (the default) chooses by :data:`AUTO_RULE` below and says why in ``Detection.reason``.

The auto rule measures how *flat* the image's tones are. Drawings, cel-shaded renders and anime
art are made of a few flat tones (paper, ink, fills); photographs spread over many. The statistic
(:func:`flatness`) is the share of pixels that fall in the 8 most common of 64 brightness levels of
the image shrunk to 128 pixels on its long side (box filter). On kyara renders it is 0.83-0.99
(JPEG-compressed too), on the two AnimatedDrawings scans 0.75 and 0.89, on photographs of people
and things (scikit-image's astronaut, coffee, chelsea, rocket, camera) 0.25-0.55. The image counts
as photographic when it is under :data:`PHOTO_FLATNESS` = 0.65.

``auto`` then picks, in order:

1. a photographic image, with mediapipe installed: ``mediapipe``; if MediaPipe finds no person
   there (an anime character pasted on a photo, say), ``kyara`` instead;
2. otherwise ``kyara`` (a drawn or rendered image, or mediapipe not installed).

The rule is deterministic: the same pixels and the same installed packages give the same choice.

Nothing heavy is imported with this package: torch and mediapipe load on the first detection.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from kyara.detect.types import BACKENDS, Detection

__all__ = ["detect", "flatness", "Detection", "BACKENDS", "PHOTO_FLATNESS", "AUTO_RULE", "WORK_SIDE"]

PHOTO_FLATNESS = 0.65  # flatness under this: photographic
FLATNESS_SIDE = 128  # pixels: the long side the statistic is measured at
FLATNESS_LEVELS = 64  # brightness levels
FLATNESS_TOP = 8  # most common levels counted
WORK_SIDE = 1024  # pixels: larger images are shrunk to this long side for the backend, results mapped back
AUTO_RULE = (f"mediapipe when it is installed and the image is photographic (flatness < {PHOTO_FLATNESS}: "
             f"under that share of pixels in the {FLATNESS_TOP} most common of {FLATNESS_LEVELS} brightness "
             f"levels at {FLATNESS_SIDE} px) and it finds a person; otherwise kyara")

_KYARA_LOCK = threading.Lock()
_KYARA: dict[str, object] = {}


def flatness(rgb: np.ndarray) -> float:
    """The auto rule's statistic for ``rgb`` ``[H, W, 3] uint8``: the share (0-1) of pixels in the
    :data:`FLATNESS_TOP` most common of :data:`FLATNESS_LEVELS` brightness levels (Rec. 601 luma) of
    the image box-filtered to :data:`FLATNESS_SIDE` pixels on its long side. High: flat tones
    (drawings, renders); low: photographs."""
    import cv2

    rgb = np.asarray(rgb)
    h, w = rgb.shape[:2]
    s = min(1.0, FLATNESS_SIDE / max(h, w))
    small = rgb if s == 1.0 else cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                                            interpolation=cv2.INTER_AREA)
    luma = small[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    levels = np.clip((luma * (FLATNESS_LEVELS / 256.0)).astype(np.int64), 0, FLATNESS_LEVELS - 1)
    counts = np.sort(np.bincount(levels.ravel(), minlength=FLATNESS_LEVELS))[::-1]
    return float(counts[:FLATNESS_TOP].sum() / levels.size)


def _kyara_detector():
    """The shipped kyara detector, loaded once per process (torch needed)."""
    with _KYARA_LOCK:
        if "default" not in _KYARA:
            from kyara.errors import require_extra

            require_extra(("torch",), "the kyara detector", "diffusion", "torch")
            from kyara.detect.network import load_detector

            _KYARA["default"] = load_detector()
        return _KYARA["default"]


def _run_kyara(rgb: np.ndarray) -> Detection:
    return _kyara_detector().predict(rgb)


def _run_mediapipe(rgb: np.ndarray) -> Detection:
    from kyara.detect.mediapipe_backend import detect_mediapipe

    return detect_mediapipe(rgb)


def _mediapipe_available() -> bool:
    from kyara.detect.mediapipe_backend import available

    return available()


def _load(image, what: str = "image") -> np.ndarray:
    from kyara.detect.io import as_rgb, read_image

    if isinstance(image, (str, os.PathLike)):
        return read_image(Path(image), what)[0]
    if isinstance(image, np.ndarray):
        return as_rgb(image, what)
    raise ValueError(f"{what} is a {type(image).__name__}, expected a file path or a numpy RGB/RGBA array")


def _shrunk(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """``rgb`` shrunk (area filter) to :data:`WORK_SIDE` on its long side when larger -> (image, scale)."""
    import cv2

    h, w = rgb.shape[:2]
    if max(h, w) <= WORK_SIDE:
        return rgb, 1.0
    s = WORK_SIDE / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA), s


def _scaled_back(det: Detection, width: int, height: int) -> Detection:
    """A detection made on a shrunk copy, in the pixels of the ``width`` x ``height`` original:
    coordinates scaled, mask resized bilinearly, UDP by nearest neighbour (a lookup, never a blend)."""
    import cv2

    if (det.width, det.height) == (width, height):
        return det
    sx, sy = width / det.width, height / det.height

    def scale(a):
        if a is None:
            return None
        a = np.array(a, dtype=np.float32)
        on = a[..., 2] > 0
        a[..., 0] = np.where(on, np.clip((a[..., 0] + 0.5) * sx - 0.5, 0, width - 1), 0)
        a[..., 1] = np.where(on, np.clip((a[..., 1] + 0.5) * sy - 0.5, 0, height - 1), 0)
        return a

    mask = cv2.resize(det.mask, (width, height), interpolation=cv2.INTER_LINEAR)
    udp = None if det.udp is None else cv2.resize(np.asarray(det.udp, np.float32), (width, height),
                                                  interpolation=cv2.INTER_NEAREST)
    return Detection(keypoints=scale(det.keypoints), mask=mask, width=width, height=height, backend=det.backend,
                     udp=udp, hands=scale(det.hands), face=scale(det.face), reason=det.reason)


def _choose(rgb: np.ndarray) -> tuple[str, str]:
    """``auto``'s first choice and why: ("mediapipe" | "kyara", reason)."""
    f = flatness(rgb)
    if f < PHOTO_FLATNESS:
        if _mediapipe_available():
            return "mediapipe", f"auto: mediapipe, the image looks photographic (flatness {f:.2f} < {PHOTO_FLATNESS})"
        return "kyara", (f"auto: kyara, the image looks photographic (flatness {f:.2f} < {PHOTO_FLATNESS}) "
                         "but mediapipe is not installed")
    return "kyara", f"auto: kyara, the image looks drawn or rendered (flatness {f:.2f} >= {PHOTO_FLATNESS})"


def detect(image: str | os.PathLike | np.ndarray, backend: str = "auto") -> Detection:
    """Find one character in ``image`` -> :class:`Detection` in the image's pixels.

    ``image``: a file path (read by :func:`kyara.detect.io.read_image`: bombs and corrupt files
    refused, EXIF orientation applied, alpha on white, first frame of an animation) or a numpy
    array ``[H, W]``, ``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA (composited on white), uint8 or float
    in [0, 1]; at least 16 pixels a side. Images larger than :data:`WORK_SIDE` pixels are detected
    on a shrunk copy and the result mapped back.

    ``backend``: ``"auto"`` (see the module doc; the choice and its reason are in
    ``Detection.reason``), ``"mediapipe"`` or ``"kyara"``.

    Returns keypoints ``[18, 3]`` (x, y pixels, confidence; absent = 0, 0, 0), mask ``[H, W]`` in
    [0, 1], UDP ``[H, W, 4]`` (kyara backend), hands ``[2, 21, 3]`` and face ``[70, 3]`` (mediapipe).

    Raises ``ValueError`` for a bad image or backend name and when the chosen backend is not
    installed (one line naming the install command), ``FileNotFoundError`` for a missing file or
    missing kyara weights (the message names ``kyara train detector``).
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is unknown, expected one of {', '.join(BACKENDS)}")
    rgb = _load(image)
    h, w = rgb.shape[:2]
    work, _ = _shrunk(rgb)
    if backend == "mediapipe":
        from kyara.detect.mediapipe_backend import missing_error

        if not _mediapipe_available():
            raise missing_error()
        det = _run_mediapipe(work)
    elif backend == "kyara":
        det = _run_kyara(work)
    else:
        choice, reason = _choose(rgb)
        det = None
        if choice == "mediapipe":
            det = _run_mediapipe(work)
            if not (det.keypoints[:, 2] > 0).any():
                reason = reason.replace("auto: mediapipe,", "auto: kyara,") + ", but mediapipe found no person there"
                det = None
        if det is None:
            det = _run_kyara(work)
        det.reason = reason
    return _scaled_back(det, w, h)
