"""Reading OpenPose JSON as other tools write it: the one reader, with one set of limits, that the
CLI (``kyara image --pose-json``) and the studio's upload share.

Accepted (facts from the writers' code and docs, read for facts only):

- an object ``{"people": [...], "canvas_width": W, "canvas_height": H}`` (CMU OpenPose,
  ControlNet's annotators, the sd-webui openpose editor);
- a top-level list of such objects, one per frame: ComfyUI's ``POSE_KEYPOINT`` as
  comfyui_controlnet_aux's "Save Pose Keypoints" node dumps it; ``frame`` picks one (default 0);
- keypoint arrays flat ``[x, y, c, ...]`` or as triplets ``[[x, y, c], ...]`` (the layout the
  ComfyUI node's docstring shows);
- bodies of 18 points (COCO-18) or 25 (BODY_25, CMU OpenPose's default model). BODY_25 is
  COCO-18 with MidHip inserted at 8 and six foot points appended at 19-24; those seven have no
  COCO-18 slot and are dropped (:data:`BODY25_TO_COCO18`);
- hands of 21 points, faces of 70 (68 accepted, pupils missing);
- pixels or normalized coordinates, decided once per file (:func:`is_normalized`);
- UTF-8 with or without a byte-order mark, UTF-16 with one;
- no canvas size (CMU OpenPose's own output): the ``width``/``height`` arguments; else normalized
  points go on the ``fallback_size`` canvas, and pixel points on a canvas framing their extent
  with a 10% margin; a note says which.

Limits (:data:`MAX_FILE_BYTES`, :data:`MAX_DEPTH`, :data:`MAX_PEOPLE`, :data:`MAX_CANVAS_SIDE`,
:data:`MAX_COORD`): the nesting depth is measured on the text before parsing, so a hostile file
cannot exhaust Python's recursion. Every violation raises a one-line ``ValueError`` that names the
file by the caller's ``label`` (a web upload is named by its file name, never by its temporary
path) and says what was expected.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kyara.pose.openpose import NUM_BODY, NUM_FACE, NUM_FACE_IBUG, NUM_HAND, Keypoints2D

MAX_FILE_BYTES = 32 * 2**20  # a ComfyUI list of 1000 frames with hands and face is ~5 MB
MAX_DEPTH = 16  # the deepest valid file (list > frame > people > person > part > triplet) is 6
MAX_PEOPLE = 100  # per frame
MAX_CANVAS_SIDE = 8192  # pixels, for a file's canvas and for a canvas framed from the points
MAX_COORD = 1e6  # |x|, |y|, c of any point
DEFAULT_FALLBACK_SIZE = (512, 512)  # canvas of normalized points in a file without one
NORMALIZED_MAX = 1.05  # every present |x|, |y| at most this: normalized (editors overshoot [0, 1])
EXTENT_MARGIN = 0.10  # margin around the points' extent, fraction of its larger side

BODY25_TO_COCO18: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
NUM_BODY25 = 25

_FIELDS = (("body", "pose_keypoints_2d", (NUM_BODY, NUM_BODY25)),
           ("hand_left", "hand_left_keypoints_2d", (NUM_HAND,)),
           ("hand_right", "hand_right_keypoints_2d", (NUM_HAND,)),
           ("face", "face_keypoints_2d", (NUM_FACE, NUM_FACE_IBUG)))
_POINTS_HELP = {NUM_BODY: "COCO-18", NUM_BODY25: "BODY_25", NUM_FACE_IBUG: "iBUG-68"}
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # one JSON string literal


@dataclass
class OpenPoseRead:
    """One frame of an OpenPose JSON file, in pixels on a ``width`` x ``height`` canvas."""

    people: list[Keypoints2D]
    width: int  # canvas, pixels
    height: int
    frame: int = 0  # the frame read
    frames: int = 1  # frames in the file (1 for a plain object)
    notes: list[str] = field(default_factory=list)  # one line each: how the file was interpreted
    label: str = "pose json"  # how messages name the file


# ---------------------------------------------------------------- text -> JSON value


def _decode(raw: bytes, label: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    else:
        codec = "utf-8-sig"  # strips a UTF-8 byte-order mark when there is one
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as e:
        raise ValueError(f"{label} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text``, without recursion (strings skipped)."""
    bare = _JSON_STRING.sub('""', text).encode("utf-8", "replace")
    b = np.frombuffer(bare, dtype=np.uint8)
    idx = np.flatnonzero((b == ord("[")) | (b == ord("{")) | (b == ord("]")) | (b == ord("}")))
    if idx.size == 0:
        return 0
    step = np.where((b[idx] == ord("[")) | (b[idx] == ord("{")), 1, -1)
    return int(np.cumsum(step).max(initial=0))


def _parse_text(text: str, label: str) -> Any:
    if not text.strip():
        raise ValueError(f"{label} is empty, expected OpenPose JSON")
    depth = json_depth(text)
    if depth > MAX_DEPTH:
        raise ValueError(f"{label} is nested {depth} levels deep, expected at most {MAX_DEPTH} (OpenPose JSON needs 6)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{label} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:  # belt and braces: the depth check above should have caught it
        raise ValueError(f"{label} is nested too deep, expected at most {MAX_DEPTH} levels") from None
    except ValueError as e:  # e.g. an integer literal of thousands of digits
        raise ValueError(f"{label} is not valid JSON ({str(e).split(':')[0][:80]})") from None


def load_json_value(source: str | os.PathLike, label: str | None = None) -> tuple[Any, str]:
    """Read and parse a JSON file within the limits -> ``(value, label)``."""
    p = Path(source)
    label = label or f"pose file '{p}'"
    if not p.is_file():
        raise FileNotFoundError(f"{label} does not exist, expected an OpenPose JSON file")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{label} is {size / 2**20:.1f} MB, expected at most {MAX_FILE_BYTES / 2**20:g} MB")
    if size == 0:
        raise ValueError(f"{label} is empty, expected OpenPose JSON")
    return _parse_text(_decode(p.read_bytes(), label), label), label


# ---------------------------------------------------------------- JSON value -> arrays


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where} is {_show(v)}, expected a number")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"{where} is {_show(v)}, expected a finite number")
    if abs(f) > MAX_COORD:
        raise ValueError(f"{where} is {_show(v)}, expected a value within +-{MAX_COORD:g}")
    return f


def _show(v: Any) -> str:
    if isinstance(v, (list, dict)):
        return "a list" if isinstance(v, list) else "an object"
    return repr(v)[:40]


def _points(value: Any, where: str, counts: tuple[int, ...]) -> np.ndarray | None:
    """``[k, 3]`` float64 from a flat ``[x, y, c, ...]`` or ``[[x, y, c], ...]`` list, k in ``counts``;
    ``None`` for an absent part (missing, ``null`` or ``[]``)."""
    if value is None or (isinstance(value, list) and len(value) == 0):
        return None
    want = " or ".join(f"{3 * k} ({k} points{', ' + _POINTS_HELP[k] if k in _POINTS_HELP else ''})" for k in counts)
    if not isinstance(value, list):
        raise ValueError(f"{where} is {_show(value)}, expected a list of numbers")
    if isinstance(value[0], list):  # triplets
        if len(value) not in counts:
            raise ValueError(f"{where} has {len(value)} [x, y, c] points, expected {' or '.join(map(str, counts))}")
        flat = []
        for j, t in enumerate(value):
            if not isinstance(t, list):
                raise ValueError(f"{where}[{j}] is {_show(t)}, expected [x, y, c]")
            if len(t) != 3:
                raise ValueError(f"{where}[{j}] has {len(t)} numbers, expected [x, y, c]")
            flat += [_number(v, f"{where}[{j}][{i}]") for i, v in enumerate(t)]
    else:
        if len(value) not in tuple(3 * k for k in counts):
            raise ValueError(f"{where} has {len(value)} numbers, expected {want}")
        flat = [_number(v, f"{where}[{j}]") for j, v in enumerate(value)]
    arr = np.asarray(flat, dtype=np.float64).reshape(-1, 3)
    if (arr[:, 2] < 0).any():
        j = int(np.argmax(arr[:, 2] < 0))
        raise ValueError(f"{where} point {j} has confidence {arr[j, 2]:g}, expected >= 0")
    return arr


def _canvas_value(v: Any, name: str, label: str) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{label} {name} is {_show(v)}, expected a whole number of pixels")
    if not 1 <= v <= MAX_CANVAS_SIDE:
        raise ValueError(f"{label} {name} is {v}, expected 1..{MAX_CANVAS_SIDE} pixels")
    return v


def _select_frame(data: Any, frame: Any, label: str) -> tuple[dict, int, str]:
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
        raise ValueError(f"frame is {_show(frame)}, expected a whole number >= 0")
    frame = int(frame)
    if isinstance(data, list):
        n = len(data)
        if n == 0:
            raise ValueError(f"{label} is an empty list, expected OpenPose frames (ComfyUI POSE_KEYPOINT)")
        if not 0 <= frame < n:
            raise ValueError(f"frame {frame} is out of range: {label} has {n} frame{'s' * (n != 1)} (0..{n - 1})")
        item, where = data[frame], f"{label} frame {frame}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is {_show(item)}, expected a JSON object with 'people'")
        return item, n, where
    if not isinstance(data, dict):
        raise ValueError(f"{label} holds {_show(data)}, expected a JSON object with 'people' or a list of them")
    if frame != 0:
        raise ValueError(f"frame {frame} is out of range: {label} has 1 frame (0..0)")
    return data, 1, label


def is_normalized(xy: np.ndarray, canvas: tuple[int, int] | None) -> bool:
    """Whether the present points ``xy`` ``[N, 2]`` of a file are normalized rather than pixels:
    all within ``|v| <= 1.05`` (editors write hand points a little outside [0, 1]) and the canvas,
    when known, larger than 2 px a side (on a 2 px canvas pixels look normalized too)."""
    if xy.size == 0:
        return False
    if canvas is not None and min(canvas) <= 2:
        return False
    return bool(np.abs(xy).max() <= NORMALIZED_MAX)


def _frame_extent(xy: np.ndarray, label: str) -> tuple[tuple[int, int], np.ndarray, str]:
    """A canvas framing pixel points ``xy`` with a margin -> ``((w, h), shift [2], note)``."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    margin = max(EXTENT_MARGIN * float((hi - lo).max()), 8.0)
    size = np.ceil(hi - lo + 2 * margin).astype(int)
    if size.max() > MAX_CANVAS_SIDE:
        raise ValueError(f"{label} has no canvas size and its points span {int(size[0])}x{int(size[1])} px, "
                         f"expected at most {MAX_CANVAS_SIDE} px a side")
    w, h = int(size[0]), int(size[1])
    note = (f"{label} has no canvas_width/canvas_height: the canvas {w}x{h} frames the points "
            f"(x {lo[0]:g}..{hi[0]:g}, y {lo[1]:g}..{hi[1]:g}) with a {EXTENT_MARGIN:.0%} margin")
    return (w, h), margin - lo, note


def read_openpose(
    source: str | os.PathLike | dict | list, *, frame: int = 0, width: int | None = None,
    height: int | None = None, fallback_size: tuple[int, int] | None = None, label: str | None = None,
) -> OpenPoseRead:
    """Read OpenPose JSON (a path, or an already parsed dict/list) -> :class:`OpenPoseRead`.

    ``frame`` picks one frame of a ComfyUI list file. ``width``/``height`` give the canvas of a
    file without one (they must agree with a file that has one). ``fallback_size`` (default
    512x512) is the canvas of normalized points in a file without one. ``label`` names the file in
    messages (default ``pose file '<path>'``). Missing points and absent parts come back as
    ``(0, 0, 0)``. May return no people; :func:`load_pose` refuses that.
    """
    if isinstance(source, (dict, list)):
        data, label = source, label or "pose json"
    elif isinstance(source, (str, os.PathLike)):
        data, label = load_json_value(source, label)
    else:
        raise ValueError(f"pose source is a {type(source).__name__}, expected a path, a dict or a list")
    obj, frames, where = _select_frame(data, frame, label)
    notes = [f"{label} holds {frames} frames (ComfyUI pose list): using frame {int(frame)}"] if frames > 1 else []

    if "people" not in obj:
        raise ValueError(f"{where} has no 'people' field, expected OpenPose JSON")
    people_json = obj["people"]
    if not isinstance(people_json, list):
        raise ValueError(f"{where} field 'people' is {_show(people_json)}, expected a list")
    if len(people_json) > MAX_PEOPLE:
        raise ValueError(f"{where} has {len(people_json)} people, expected at most {MAX_PEOPLE}")

    file_w, file_h = obj.get("canvas_width"), obj.get("canvas_height")
    if (file_w is None) != (file_h is None):
        raise ValueError(f"{where} has only one of canvas_width/canvas_height, expected both or neither")
    canvas: tuple[int, int] | None = None
    if file_w is not None:
        canvas = (_canvas_value(file_w, "canvas_width", where), _canvas_value(file_h, "canvas_height", where))
        if (width is not None or height is not None) and (width, height) != canvas:
            raise ValueError(f"width/height {width}x{height} disagree with {where} canvas {canvas[0]}x{canvas[1]}")
    elif width is not None or height is not None:
        canvas = (_canvas_value(width, "width", "given"), _canvas_value(height, "height", "given"))

    parsed: list[dict[str, np.ndarray]] = []
    body25 = False
    for i, person in enumerate(people_json):
        if not isinstance(person, dict):
            raise ValueError(f"{where} people[{i}] is {_show(person)}, expected an object")
        if not person.get("pose_keypoints_2d"):
            raise ValueError(f"{where} people[{i}] has no pose_keypoints_2d, expected 54 numbers (18 points)")
        arrs = {}
        for name, key, counts in _FIELDS:
            arr = _points(person.get(key), f"{where} people[{i}].{key}", counts)
            if arr is None:
                arr = np.zeros((counts[0], 3))
            elif name == "body" and len(arr) == NUM_BODY25:
                arr, body25 = arr[list(BODY25_TO_COCO18)], True
            elif name == "face" and len(arr) == NUM_FACE_IBUG:  # pupils missing
                arr = np.concatenate([arr, np.zeros((NUM_FACE - NUM_FACE_IBUG, 3))])
            arrs[name] = np.where(arr[:, 2:3] > 0, arr, 0.0)
        parsed.append(arrs)
    if body25:
        notes.append(f"{where} has BODY_25 bodies: read as COCO-18 (MidHip and the feet dropped)")

    xy = np.concatenate([a[a[:, 2] > 0, :2] for arrs in parsed for a in arrs.values()] or [np.zeros((0, 2))])
    normalized = is_normalized(xy, canvas)
    shift = np.zeros(2)
    if canvas is None:
        if normalized or xy.size == 0:
            canvas = _fallback(fallback_size)
            what = "its normalized points go on" if normalized else "using"
            notes.append(f"{where} has no canvas_width/canvas_height: {what} the {canvas[0]}x{canvas[1]} canvas")
        else:
            canvas, shift, note = _frame_extent(xy, where)
            notes.append(note)
    scale = np.array([canvas[0], canvas[1]], dtype=np.float64) if normalized else np.ones(2)
    people = []
    for arrs in parsed:
        fixed = {}
        for name, a in arrs.items():
            out = a.copy()
            out[:, :2] = a[:, :2] * scale + shift
            fixed[name] = np.where(a[:, 2:3] > 0, out, 0.0)
        people.append(Keypoints2D(**fixed, width=canvas[0], height=canvas[1]))
    return OpenPoseRead(people, canvas[0], canvas[1], int(frame), frames, notes, label)


def _fallback(size: tuple[int, int] | None) -> tuple[int, int]:
    w, h = DEFAULT_FALLBACK_SIZE if size is None else size
    return _canvas_value(int(w), "width", "fallback"), _canvas_value(int(h), "height", "fallback")


# ---------------------------------------------------------------- a pose to draw


def load_pose(
    source: str | os.PathLike | dict | list, size: tuple[int, int] | None = None, *, frame: int = 0,
    label: str | None = None,
) -> OpenPoseRead:
    """An OpenPose JSON pose ready to draw: :func:`read_openpose` with at least one person with a
    point, fitted into ``size`` = (w, h) pixels keeping its aspect ratio (centred, letterboxed)
    when given; a note says when the aspects differ. The CLI and the studio both read through here.
    """
    got = read_openpose(source, frame=frame, fallback_size=size, label=label)
    where = f"{got.label} frame {got.frame}" if got.frames > 1 else got.label
    if not got.people:
        raise ValueError(f"{where} has no people, expected at least one person")
    if not any((a[:, 2] > 0).any() for p in got.people for a in p.parts().values()):
        raise ValueError(f"{where} has people without any point (all confidences 0), expected at least one point")
    if size is None:
        return got
    w, h = int(size[0]), int(size[1])
    if (got.width, got.height) != (w, h):
        from kyara.pose.openpose import letterbox

        s, ox, oy = letterbox((got.width, got.height), (w, h))
        if round(ox) > 0 or round(oy) > 0:
            bars = f"{round(ox)} px bars left and right" if round(ox) > 0 else f"{round(oy)} px bars top and bottom"
            got.notes.append(f"{where}: the pose canvas {got.width}x{got.height} is fitted into {w}x{h} keeping "
                             f"its aspect ratio, centred ({bars})")
        got.people = [p.letterboxed(w, h) for p in got.people]
        got.width, got.height = w, h
    return got
