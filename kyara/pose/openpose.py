"""OpenPose 2D keypoints: the COCO-18 / hand-21 / face-70 conventions and OpenPose JSON I/O.

A person is a ``Keypoints2D``: four arrays of ``(x_pixel, y_pixel, confidence)`` rows plus the
canvas size they live on. A missing point is ``(0, 0, 0)``; a point counts as present when its
confidence is > 0.

JSON format (what ControlNet tools and the sd-webui-openpose-editor exchange)::

    {"people": [{"pose_keypoints_2d": [x, y, c, ...],          # 18 points, 54 numbers
                 "hand_left_keypoints_2d": [...] | null,       # 21 points, 63 numbers
                 "hand_right_keypoints_2d": [...] | null,      # 21 points
                 "face_keypoints_2d": [...] | null}],          # 70 points (68 accepted)
     "canvas_width": W, "canvas_height": H}

Sources for the fields (read for facts):
- huchenlei/sd-webui-openpose-editor ``src/App.vue``: ``getCanvasAsOpenposeJson`` writes
  ``people``, ``animals``, ``canvas_width``, ``canvas_height`` in pixels; ``parseOpenposeJson``
  reads the four ``*_keypoints_2d`` arrays, treats a missing/null hand or face as absent and
  multiplies by the canvas size when every number is within [-1, 1] (normalized input).
  ``src/Openpose.ts``: ``IOpenposePersonJson`` has ``pose_keypoints_2d: number[]`` and the hand and
  face arrays as ``number[] | null``; the body must have 18 points.
- sd-webui-controlnet / controlnet_aux ``encode_poses_as_dict``: writes *normalized* coordinates,
  ``[0, 0, 0]`` for a missing point and ``None`` for an absent hand/face.
- CMU OpenPose ``doc/output.md``: the ``x1,y1,c1,...`` layout and the 70-point face (68 + pupils).

We write pixels (like the editor) and ``null`` for a hand/face without any present point (like
ControlNet). Reading (pixels or normalized, ComfyUI frame lists, BODY_25, triplets, limits) lives in
:mod:`kyara.pose.openpose_io`; :func:`read_openpose_json` here is its short form.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kyara.fileio import check_output_path, write_text_atomic

# ---------------------------------------------------------------- conventions

OPENPOSE_BODY_NAMES: tuple[str, ...] = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # COCO-18 order as OpenPose / ControlNet use it

OPENPOSE_HAND_NAMES: tuple[str, ...] = ("wrist",) + tuple(
    f"{finger}_{k}" for finger in ("thumb", "index", "middle", "ring", "little") for k in range(1, 5)
)  # 21 points: wrist, then 4 joints per finger from the palm outwards

OPENPOSE_FACE_NAMES: tuple[str, ...] = (
    tuple(f"jaw_{i}" for i in range(17))  # 0-16, the subject's right ear -> chin -> left ear
    + tuple(f"right_eyebrow_{i}" for i in range(5))  # 17-21
    + tuple(f"left_eyebrow_{i}" for i in range(5))  # 22-26
    + tuple(f"nose_bridge_{i}" for i in range(4))  # 27-30
    + tuple(f"nose_lower_{i}" for i in range(5))  # 31-35
    + tuple(f"right_eye_{i}" for i in range(6))  # 36-41
    + tuple(f"left_eye_{i}" for i in range(6))  # 42-47
    + tuple(f"mouth_outer_{i}" for i in range(12))  # 48-59
    + tuple(f"mouth_inner_{i}" for i in range(8))  # 60-67
    + ("right_pupil", "left_pupil")  # 68-69 (OpenPose's extra two)
)  # iBUG-68 + 2 pupils

NUM_BODY = len(OPENPOSE_BODY_NAMES)  # 18
NUM_HAND = len(OPENPOSE_HAND_NAMES)  # 21
NUM_FACE = len(OPENPOSE_FACE_NAMES)  # 70
NUM_FACE_IBUG = 68  # face arrays of 68 points (DWPose, some editors) are accepted, pupils missing

# 17 limbs as 0-based index pairs, in the order (and so the colour order) ControlNet draws them.
OPENPOSE_BODY_LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10),
    (1, 11), (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
# 20 hand bones: wrist to each finger's first joint, then along the finger.
OPENPOSE_HAND_EDGES: tuple[tuple[int, int], ...] = tuple(
    pair for f in range(5) for pair in ((0 if k == 0 else 1 + 4 * f + k - 1, 1 + 4 * f + k) for k in range(4))
)

_PARTS = (("body", NUM_BODY), ("hand_left", NUM_HAND), ("hand_right", NUM_HAND), ("face", NUM_FACE))
_JSON_FIELDS = {
    "body": "pose_keypoints_2d",
    "hand_left": "hand_left_keypoints_2d",
    "hand_right": "hand_right_keypoints_2d",
    "face": "face_keypoints_2d",
}


def _zeros(n: int) -> np.ndarray:
    return np.zeros((n, 3), dtype=np.float64)


def _check_canvas(width: Any, height: Any, what: str = "canvas") -> tuple[int, int]:
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{what} {name} is {v!r}, expected a positive integer (pixels)")
    return int(width), int(height)


def letterbox(src: tuple[int, int], dst: tuple[int, int]) -> tuple[float, float, float]:
    """``(scale, offset_x, offset_y)`` fitting a ``src`` = (w, h) canvas into ``dst`` = (w, h),
    aspect kept and centred: a point maps to ``(scale * x + offset_x, scale * y + offset_y)``, pixels."""
    (sw, sh), (dw, dh) = _check_canvas(*src, "source canvas"), _check_canvas(*dst, "target canvas")
    s = min(dw / sw, dh / sh)
    return s, (dw - s * sw) / 2.0, (dh - s * sh) / 2.0


@dataclass
class Keypoints2D:
    """One person's OpenPose keypoints in pixels on a ``width`` x ``height`` canvas.

    Rows are ``(x_pixel, y_pixel, confidence)``; x grows right, y grows down; ``(0, 0, 0)`` is a
    missing point. Arrays are float64 so pixel values survive a JSON round trip exactly.
    """

    body: np.ndarray = field(default_factory=lambda: _zeros(NUM_BODY))  # [18, 3]
    hand_left: np.ndarray = field(default_factory=lambda: _zeros(NUM_HAND))  # [21, 3]
    hand_right: np.ndarray = field(default_factory=lambda: _zeros(NUM_HAND))  # [21, 3]
    face: np.ndarray = field(default_factory=lambda: _zeros(NUM_FACE))  # [70, 3]
    width: int = 512  # canvas width, pixels
    height: int = 512  # canvas height, pixels

    def __post_init__(self) -> None:
        self.width, self.height = _check_canvas(self.width, self.height, "keypoints canvas")
        for name, n in _PARTS:
            arr = np.array(getattr(self, name), dtype=np.float64)  # copy: never alias the caller's array
            if arr.shape != (n, 3):
                raise ValueError(f"keypoints {name} has shape {arr.shape}, expected ({n}, 3)")
            if not np.isfinite(arr).all():
                raise ValueError(f"keypoints {name} has a non-finite value, expected finite numbers")
            if (arr[:, 2] < 0).any():
                raise ValueError(f"keypoints {name} has a negative confidence, expected >= 0")
            setattr(self, name, arr)

    @classmethod
    def empty(cls, width: int, height: int) -> "Keypoints2D":
        """A person with every point missing."""
        return cls(width=width, height=height)

    def parts(self) -> dict[str, np.ndarray]:
        """``{"body": [18,3], "hand_left": [21,3], "hand_right": [21,3], "face": [70,3]}``."""
        return {name: getattr(self, name) for name, _ in _PARTS}

    def resized(self, width: int, height: int) -> "Keypoints2D":
        """The same person on a ``width`` x ``height`` canvas (x, y scaled; missing points stay 0)."""
        width, height = _check_canvas(width, height)
        scale = np.array([width / self.width, height / self.height, 1.0])
        arrs = {name: np.where(a[:, 2:3] > 0, a * scale, 0.0) for name, a in self.parts().items()}
        return Keypoints2D(**arrs, width=width, height=height)

    def letterboxed(self, width: int, height: int) -> "Keypoints2D":
        """The same person fitted into a ``width`` x ``height`` canvas keeping its aspect ratio:
        scaled by one factor and centred (bars left/right or top/bottom, see :func:`letterbox`)."""
        width, height = _check_canvas(width, height)
        s, ox, oy = letterbox((self.width, self.height), (width, height))
        scale, offset = np.array([s, s, 1.0]), np.array([ox, oy, 0.0])
        arrs = {name: np.where(a[:, 2:3] > 0, a * scale + offset, 0.0) for name, a in self.parts().items()}
        return Keypoints2D(**arrs, width=width, height=height)

    def allclose(self, other: "Keypoints2D", atol: float = 0.0) -> bool:
        if (self.width, self.height) != (other.width, other.height):
            return False
        pairs = zip(self.parts().values(), other.parts().values())
        return all(np.allclose(a, b, rtol=0.0, atol=atol) for a, b in pairs)


# ---------------------------------------------------------------- writing


def _flat_part(arr: np.ndarray, allow_null: bool) -> list[float] | None:
    present = arr[:, 2] > 0
    if allow_null and not present.any():
        return None
    out = np.where(present[:, None], arr, 0.0)  # canonical missing point: 0, 0, 0
    return [float(v) for v in out.reshape(-1)]


def resolve_canvas(people: Sequence[Keypoints2D], width: int | None, height: int | None) -> tuple[int, int]:
    """Check ``people`` and return the canvas ``(width, height)``: the arguments, else the people's."""
    if not isinstance(people, (list, tuple)):
        raise ValueError(f"people is a {type(people).__name__}, expected a list of Keypoints2D")
    for i, p in enumerate(people):
        if not isinstance(p, Keypoints2D):
            raise ValueError(f"people[{i}] is a {type(p).__name__}, expected Keypoints2D")
    if width is None or height is None:
        if not people:
            raise ValueError("no people and no canvas size, expected width= and height=")
        width = people[0].width if width is None else width
        height = people[0].height if height is None else height
    width, height = _check_canvas(width, height)
    for i, p in enumerate(people):
        if (p.width, p.height) != (width, height):
            raise ValueError(
                f"people[{i}] is on a {p.width}x{p.height} canvas, expected {width}x{height} "
                "(use Keypoints2D.resized)"
            )
    return width, height


def to_openpose_dict(people: Sequence[Keypoints2D], width: int | None = None, height: int | None = None) -> dict:
    """OpenPose JSON as a dict, pixel coordinates; canvas size from the arguments or the people."""
    width, height = resolve_canvas(people, width, height)
    return {
        "people": [
            {
                "pose_keypoints_2d": _flat_part(p.body, allow_null=False),
                "hand_left_keypoints_2d": _flat_part(p.hand_left, allow_null=True),
                "hand_right_keypoints_2d": _flat_part(p.hand_right, allow_null=True),
                "face_keypoints_2d": _flat_part(p.face, allow_null=True),
            }
            for p in people
        ],
        "canvas_width": width,
        "canvas_height": height,
    }


def write_openpose_json(
    path: str | os.PathLike, people: Sequence[Keypoints2D], width: int | None = None, height: int | None = None
) -> Path:
    """Write ``people`` as OpenPose JSON (pixels) to ``path`` atomically; returns the path."""
    p = check_output_path(path, (".json",))
    text = json.dumps(to_openpose_dict(people, width, height))
    return write_text_atomic(p, text + "\n")


# ---------------------------------------------------------------- reading


def read_openpose_json(
    source: str | os.PathLike | dict | list, *, width: int | None = None, height: int | None = None,
    frame: int = 0, label: str | None = None,
) -> tuple[list[Keypoints2D], int, int]:
    """Read OpenPose JSON -> ``(people, width, height)`` in pixels; see
    :func:`kyara.pose.openpose_io.read_openpose` for the formats and limits."""
    from kyara.pose.openpose_io import read_openpose

    got = read_openpose(source, frame=frame, width=width, height=height, label=label)
    return got.people, got.width, got.height
