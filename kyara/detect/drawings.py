"""Annotated real drawings (AnimatedDrawings' format) as COCO-18, and the box-template baseline.

:func:`load_drawing` reads a folder holding ``texture.png``, ``mask.png`` and ``char_cfg.yaml``
(16 joints in image pixels, (0, 0) top-left, each with a parent) and maps the joints onto COCO-18
by :data:`COCO18_FROM_DRAWING`:

===========================  ====================================================================
COCO-18 joint                drawing joint
===========================  ====================================================================
nose                         ``neck`` -- AnimatedDrawings draws it at the head's centre, which is
                             where a front-facing nose is to within a fraction of the head (the
                             one approximate entry)
neck                         ``torso`` (the top of the spine, between the shoulders: within a
                             pixel of the shoulders' midpoint on both drawings)
shoulders, elbows            ``*_shoulder``, ``*_elbow``
wrists                       ``*_hand``
hips, knees                  ``*_hip``, ``*_knee``
ankles                       ``*_foot``
eyes, ears                   no source: marked not annotated
===========================  ====================================================================

``root`` and ``hip`` (the pelvis centre) have no COCO-18 joint and are dropped. "left" and "right"
are the character's own, as in OpenPose.

:func:`template_baseline` is the reference a detector must beat: the mean COCO-18 joint position
inside the character's bounding box (:data:`BOX_TEMPLATE`), placed on a given box or mask. The
template is computed by :func:`compute_box_template` from kyara's seven body presets in the
``a-pose`` seen from the front (AnimatedDrawings asks people to draw characters with the arms apart
from the body, which the A-pose matches); the box is the posed mesh's projected extent. The stored
numbers are that function's output (a test recomputes them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DRAWING_JOINTS: tuple[str, ...] = (
    "root", "hip", "torso", "neck", "right_shoulder", "right_elbow", "right_hand", "left_shoulder", "left_elbow",
    "left_hand", "right_hip", "right_knee", "right_foot", "left_hip", "left_knee", "left_foot",
)
# COCO-18 slot -> the drawing joint it is read from (None: no source)
COCO18_FROM_DRAWING: tuple[str | None, ...] = (
    "neck",  # nose <- the head's centre
    "torso",  # neck <- top of the spine
    "right_shoulder", "right_elbow", "right_hand",
    "left_shoulder", "left_elbow", "left_hand",
    "right_hip", "right_knee", "right_foot",
    "left_hip", "left_knee", "left_foot",
    None, None, None, None,  # eyes, ears
)

# Mean COCO-18 positions in the box, (u, v) with (0, 0) its top-left and (1, 1) its bottom-right:
# the output of compute_box_template() (7 presets, a-pose, front view, 512 px).
BOX_TEMPLATE = np.array([
    [0.5003, 0.1211], [0.5000, 0.2454],  # nose, neck
    [0.3660, 0.2454], [0.2258, 0.3575], [0.0835, 0.4686],  # right shoulder, elbow, wrist
    [0.6339, 0.2454], [0.7741, 0.3575], [0.9165, 0.4686],  # left shoulder, elbow, wrist
    [0.4302, 0.4785], [0.4299, 0.7028], [0.4304, 0.9245],  # right hip, knee, ankle
    [0.5697, 0.4785], [0.5700, 0.7028], [0.5695, 0.9245],  # left hip, knee, ankle
    [0.4514, 0.0887], [0.5457, 0.0878], [0.3981, 0.1075], [0.6017, 0.1076],  # eyes, ears
], dtype=np.float64)
BOX_TEMPLATE_POSE = "a-pose"


@dataclass
class AnnotatedDrawing:
    """One annotated drawing: ``rgb`` [H, W, 3] uint8, ``mask`` [H, W] bool, ``keypoints`` [18, 3]
    float64 COCO-18 (x, y pixels, 1 = annotated, 0 = no source), ``joints`` the 16 source joints."""

    name: str
    rgb: np.ndarray
    mask: np.ndarray
    keypoints: np.ndarray
    joints: dict[str, tuple[float, float]]

    @property
    def annotated(self) -> np.ndarray:
        """bool [18]: the COCO-18 joints that have a source joint."""
        return self.keypoints[:, 2] > 0

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The mask's bounding box ``(x0, y0, x1, y1)``, pixels (inclusive)."""
        return mask_box(self.mask)


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """The bounding box ``(x0, y0, x1, y1)`` of a mask's true pixels; ``ValueError`` when empty."""
    m = np.asarray(mask) > (0.5 if np.issubdtype(np.asarray(mask).dtype, np.floating) else 0)
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        raise ValueError("mask is empty, expected at least one character pixel")
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def load_drawing(folder: str | os.PathLike) -> AnnotatedDrawing:
    """Read an AnimatedDrawings character folder (``texture.png``, ``mask.png``, ``char_cfg.yaml``).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` when the annotation does not
    hold the 16 joints inside the image.
    """
    from kyara.detect.io import read_image
    from kyara.fileio import load_image, load_yaml

    d = Path(folder)
    rgb, _ = read_image(d / "texture.png", "drawing")
    mask_im = load_image(d / "mask.png", "drawing mask")
    mask = np.asarray(mask_im.convert("L")) > 127
    h, w = rgb.shape[:2]
    if mask.shape != (h, w):
        raise ValueError(f"drawing mask '{d / 'mask.png'}' is {mask.shape[1]}x{mask.shape[0]}, expected {w}x{h}")
    cfg = load_yaml(d / "char_cfg.yaml", "drawing annotation")
    where = f"drawing annotation '{d / 'char_cfg.yaml'}'"
    if not isinstance(cfg, dict) or not isinstance(cfg.get("skeleton"), list):
        raise ValueError(f"{where} has no 'skeleton' list, expected AnimatedDrawings' char_cfg.yaml")
    joints: dict[str, tuple[float, float]] = {}
    for j in cfg["skeleton"]:
        loc = j.get("loc") if isinstance(j, dict) else None
        if not (isinstance(loc, list) and len(loc) == 2 and all(isinstance(v, (int, float)) for v in loc)):
            raise ValueError(f"{where} has a joint without a 'loc' of two numbers")
        x, y = float(loc[0]), float(loc[1])
        if not (0 <= x <= w - 1 and 0 <= y <= h - 1):
            raise ValueError(f"{where} joint '{j.get('name')}' at ({x:g}, {y:g}) is outside the {w}x{h} image")
        joints[str(j.get("name"))] = (x, y)
    missing = [n for n in DRAWING_JOINTS if n not in joints]
    if missing:
        raise ValueError(f"{where} lacks joint(s) {', '.join(missing)}, expected the 16 of AnimatedDrawings")
    kp = np.zeros((18, 3), dtype=np.float64)
    for slot, src in enumerate(COCO18_FROM_DRAWING):
        if src is not None:
            kp[slot] = (*joints[src], 1.0)
    return AnnotatedDrawing(d.name, rgb, mask, kp, joints)


def template_baseline(mask_or_box, template: np.ndarray | None = None) -> np.ndarray:
    """The box-template baseline: :data:`BOX_TEMPLATE` placed on a character's box -> ``[18, 3]``
    float64 (x, y pixels, confidence 1).

    ``mask_or_box``: a mask ``[H, W]`` (its bounding box is used) or a box ``(x0, y0, x1, y1)`` in
    pixels. ``template``: ``[18, 2]`` box fractions (default :data:`BOX_TEMPLATE`).
    """
    a = np.asarray(mask_or_box)
    if a.ndim == 2:
        x0, y0, x1, y1 = mask_box(a)
    elif a.shape == (4,):
        x0, y0, x1, y1 = (float(v) for v in a)
        if not (np.isfinite([x0, y0, x1, y1]).all() and x1 >= x0 and y1 >= y0):
            raise ValueError(f"box {tuple(a.tolist())} is not valid, expected (x0, y0, x1, y1) with x1 >= x0, y1 >= y0")
    else:
        raise ValueError(f"mask_or_box has shape {a.shape}, expected a mask [H, W] or a box (x0, y0, x1, y1)")
    t = BOX_TEMPLATE if template is None else np.asarray(template, dtype=np.float64)
    if t.shape != (18, 2):
        raise ValueError(f"template has shape {t.shape}, expected (18, 2)")
    out = np.ones((18, 3), dtype=np.float64)
    out[:, 0] = x0 + t[:, 0] * (x1 - x0)
    out[:, 1] = y0 + t[:, 1] * (y1 - y0)
    return out


def compute_box_template(presets: tuple[str, ...] | None = None, pose: str = BOX_TEMPLATE_POSE,
                         view: str = "front", size: int = 512) -> np.ndarray:
    """Mean COCO-18 joint positions in the character's box, over kyara body ``presets`` (default:
    all) in ``pose`` seen from ``view`` -> ``[18, 2]`` box fractions. The box is the posed mesh's
    projected extent; every joint is used whether or not the camera sees it. Seconds per preset."""
    from kyara.body.model import build_body
    from kyara.body.params import PRESET_NAMES
    from kyara.pose.keypoints import body_keypoints
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera

    rows = []
    for name in presets or PRESET_NAMES:
        body = build_body(name)
        p = get_pose(pose, name)
        verts, _ = body.pose(p)
        verts = np.asarray(verts, dtype=np.float64)
        cam = pose_camera(verts.astype(np.float32), view, (size, size))
        kp = body_keypoints(body, p.rotations, p.translation)
        joints_px, _ = cam.project(np.asarray(kp.all(), dtype=np.float64)[:18])
        verts_px, _ = cam.project(verts)
        lo, hi = verts_px.min(axis=0), verts_px.max(axis=0)
        rows.append((joints_px - lo) / (hi - lo))
    return np.mean(rows, axis=0)
