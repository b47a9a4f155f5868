"""Joints a user gives (``--joints``) and the ``skeleton.json`` the drawing pipeline writes.

Read (:func:`read_joints`), by suffix:

* ``.yaml`` / ``.yml``: AnimatedDrawings' ``char_cfg.yaml`` (16 joints in the drawing's pixels),
  read with the project's safe YAML reader (:func:`kyara.fileio.load_yaml`) and mapped onto COCO-18
  by :data:`kyara.detect.drawings.COCO18_FROM_DRAWING` (its ``neck`` is the head's centre, read as
  the nose; ``torso`` is the top of the spine, read as the neck). Its ``hip`` (the pelvis' centre)
  is kept as the pelvis;
* ``.json``: OpenPose JSON as ControlNet tools and kyara write it, through the project's reader
  (:func:`kyara.pose.openpose_io.read_openpose`: pixels or normalized, BODY_25, ComfyUI lists);
  the first person is used. A canvas of another size than the drawing is scaled onto it when the
  aspect ratios agree (within 1 %), refused otherwise. ``skeleton.json`` files kyara wrote are
  OpenPose JSON too, so they round-trip.

``skeleton.json`` (:func:`skeleton_json`): OpenPose JSON on the drawing's canvas (one person,
COCO-18 pixels, confidence = how sure the step that placed the joint was) plus a
``kyara_drawing`` block: where the joints came from, the named joints, the pelvis, and why the
pipeline chose that source.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kyara.pose.openpose import OPENPOSE_BODY_NAMES

CORE = ("neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
        "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")
"""The joints a rig needs (plus a head point: nose, or the eyes/ears)."""
CORE_INDEX = tuple(OPENPOSE_BODY_NAMES.index(n) for n in CORE)
HEAD_INDEX = tuple(OPENPOSE_BODY_NAMES.index(n) for n in ("nose", "right_eye", "left_eye", "right_ear", "left_ear"))
ASPECT_TOLERANCE = 0.01


def missing_core(keypoints: np.ndarray) -> list[str]:
    """Names of the rig's joints (:data:`CORE`, and a head point) absent from ``keypoints [18, 3]``."""
    kp = np.asarray(keypoints)
    out = [OPENPOSE_BODY_NAMES[i] for i in CORE_INDEX if kp[i, 2] <= 0]
    if not (kp[list(HEAD_INDEX), 2] > 0).any():
        out.insert(0, "nose")
    return out


def read_char_cfg(path: str | os.PathLike, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """AnimatedDrawings ``char_cfg.yaml`` -> (COCO-18 ``[18, 3]`` pixels, pelvis ``[2]`` or None)."""
    from kyara.detect.drawings import COCO18_FROM_DRAWING
    from kyara.fileio import brief, load_yaml

    p = Path(path)
    where = f"joints file '{p}'"
    cfg = load_yaml(p, "joints file")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("skeleton"), list):
        raise ValueError(f"{where} has no 'skeleton' list, expected AnimatedDrawings' char_cfg.yaml")
    w, h = size
    cw, ch = cfg.get("width"), cfg.get("height")
    scale = np.ones(2)
    if isinstance(cw, (int, float)) and isinstance(ch, (int, float)) and not isinstance(cw, bool) \
            and not isinstance(ch, bool) and cw > 0 and ch > 0 and (cw, ch) != (w, h):
        scale = _canvas_scale((float(cw), float(ch)), size, where)
    joints: dict[str, np.ndarray] = {}
    for j in cfg["skeleton"][:64]:
        if not isinstance(j, dict):
            raise ValueError(f"{where} has a skeleton entry {brief(j)}, expected {{name, loc, parent}}")
        loc = j.get("loc")
        if not (isinstance(loc, list) and len(loc) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                                 and np.isfinite(v) for v in loc)):
            raise ValueError(f"{where} joint {brief(j.get('name'))} has loc {brief(loc)}, expected [x, y] pixels")
        joints[str(j.get("name"))] = np.asarray(loc, dtype=np.float64) * scale
    kp = np.zeros((18, 3))
    missing = []
    for slot, src in enumerate(COCO18_FROM_DRAWING):
        if src is None:
            continue
        if src not in joints:
            missing.append(src)
            continue
        kp[slot] = (*joints[src], 1.0)
    if missing:
        raise ValueError(f"{where} lacks joint(s) {', '.join(missing)}, expected AnimatedDrawings' 16 joints")
    _check_inside(kp, size, where)
    pelvis = joints.get("hip", joints.get("root"))
    return kp, None if pelvis is None else np.asarray(pelvis, dtype=np.float64)


def _canvas_scale(canvas: tuple[float, float], size: tuple[int, int], where: str) -> np.ndarray:
    cw, ch = canvas
    w, h = size
    if abs((cw / ch) / (w / h) - 1.0) > ASPECT_TOLERANCE:
        raise ValueError(f"{where} is on a {cw:g}x{ch:g} canvas, expected the drawing's {w}x{h} "
                         "(or the same aspect ratio)")
    return np.array([w / cw, h / ch])


def _check_inside(kp: np.ndarray, size: tuple[int, int], where: str) -> None:
    w, h = size
    on = kp[:, 2] > 0
    bad = on & ((kp[:, 0] < -0.5) | (kp[:, 0] > w - 0.5) | (kp[:, 1] < -0.5) | (kp[:, 1] > h - 0.5))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{where} joint {OPENPOSE_BODY_NAMES[i]} at ({kp[i, 0]:g}, {kp[i, 1]:g}) is outside the "
                         f"{w}x{h} drawing")


def read_openpose_joints(path: str | os.PathLike, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """OpenPose JSON (the first person) -> (COCO-18 ``[18, 3]`` in the drawing's pixels, pelvis or None)."""
    from kyara.pose.openpose_io import read_openpose

    p = Path(path)
    where = f"joints file '{p}'"
    w, h = size
    got = read_openpose(p, fallback_size=size, label=where)
    if not got.people:
        raise ValueError(f"{where} has no people, expected one person's pose_keypoints_2d")
    kp = np.array(got.people[0].body, dtype=np.float64)
    if (got.width, got.height) != (w, h):
        s = _canvas_scale((float(got.width), float(got.height)), size, where)
        kp[:, :2] = np.where(kp[:, 2:3] > 0, kp[:, :2] * s, 0.0)
    kp[:, 2] = np.where(kp[:, 2] > 0, np.minimum(kp[:, 2], 1.0), 0.0)
    _check_inside(kp, size, where)
    pelvis = None
    try:
        import json

        block = json.loads(p.read_text(encoding="utf-8-sig")).get("kyara_drawing")
        if isinstance(block, dict) and isinstance(block.get("pelvis"), list) and len(block["pelvis"]) == 2:
            pv = np.asarray(block["pelvis"], dtype=np.float64)
            if np.isfinite(pv).all():
                pelvis = pv * (np.array([w / got.width, h / got.height]))
    except (ValueError, AttributeError, TypeError, UnicodeDecodeError):
        pelvis = None  # the block is kyara's own extra: a file without a readable one is plain OpenPose
    return kp, pelvis


def read_joints(path: str | os.PathLike, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """``--joints FILE`` -> (COCO-18 ``[18, 3]`` in the drawing's pixels, pelvis ``[2]`` or None)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"joints file '{p}' does not exist, expected char_cfg.yaml or OpenPose JSON")
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        kp, pelvis = read_char_cfg(p, size)
    elif suffix == ".json":
        kp, pelvis = read_openpose_joints(p, size)
    else:
        raise ValueError(f"joints file '{p}' has suffix '{p.suffix}', expected .yaml (AnimatedDrawings "
                         "char_cfg.yaml) or .json (OpenPose)")
    return kp, pelvis


def skeleton_json(keypoints: np.ndarray, size: tuple[int, int], source: str, pelvis=None, reason: str = "") -> dict:
    """The ``skeleton.json`` document (module doc)."""
    w, h = size
    kp = np.asarray(keypoints, dtype=np.float64)
    flat = [round(float(v), 3) for v in kp.reshape(-1)]
    named = {n: [round(float(kp[i, 0]), 3), round(float(kp[i, 1]), 3), round(float(kp[i, 2]), 3)]
             for i, n in enumerate(OPENPOSE_BODY_NAMES)}
    block = {"source": source, "reason": reason, "joints": named,
             "pelvis": None if pelvis is None else [round(float(pelvis[0]), 3), round(float(pelvis[1]), 3)],
             "units": "pixels of the drawing, x right, y down"}
    return {"people": [{"pose_keypoints_2d": flat, "hand_left_keypoints_2d": None, "hand_right_keypoints_2d": None,
                        "face_keypoints_2d": None}],
            "canvas_width": int(w), "canvas_height": int(h), "kyara_drawing": block}
