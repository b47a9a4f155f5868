"""One drawing -> a rigged kyara :class:`~kyara.character.model.Character`: :func:`lift`.

The steps, each in its own module: mask (:mod:`~kyara.drawing.segment`), joints
(:mod:`~kyara.drawing.skeleton`), inflation (:mod:`~kyara.drawing.inflate`; arms drawn across the
torso as parts of their own, :mod:`~kyara.drawing.layers`), colours and line style
(:mod:`~kyara.drawing.texture`), bones, weights and T-pose (:mod:`~kyara.drawing.rig`).

The result is a character like an imported avatar (:func:`kyara.avatar.import_avatar`): one
``body`` part (the closed lifted mesh, per-vertex colours from the drawing, skinned to the 55 VRM
bones, rest = T-pose, metres, +Z forward, feet on Y = 0), a :class:`~kyara.avatar.body.AvatarBody`
as its body, and a :class:`DrawingInfo` as its ``spec`` holding what the steps found (mask, joints,
line style, the drawn pose). So it renders (:func:`kyara.avatar.character_body`), animates
(:func:`kyara.motion.animate.animate`) and exports (:func:`kyara.export.export_character`) like any
other character.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from kyara.drawing.inflate import InflateConfig
from kyara.drawing.skeleton import SkeletonConfig


@dataclass(frozen=True)
class LiftConfig:
    """Knobs of :func:`lift` (defaults: a 1.5 m character, 128 grid cells along its long side)."""

    height: float = 1.5  # metres: the lifted character's height in the drawn pose
    skeleton: SkeletonConfig = field(default_factory=SkeletonConfig)
    inflate: InflateConfig = field(default_factory=InflateConfig)
    name: str = "drawing"  # the character's name (VRM meta)

    def __post_init__(self) -> None:
        if isinstance(self.height, bool) or not isinstance(self.height, (int, float)) or not 0.1 <= self.height <= 10:
            raise ValueError(f"height {self.height!r} is out of range, expected 0.1..10 metres")


@dataclass
class DrawingInfo:
    """What :func:`lift` found; the ``spec`` of a lifted character."""

    name: str
    size: tuple[int, int]  # the drawing's (width, height), pixels
    mask: np.ndarray  # [H, W] bool
    mask_source: str  # "given" | "alpha" | "paper"
    keypoints: np.ndarray  # [18, 3] COCO-18 joints used, drawing pixels
    pelvis: np.ndarray  # [2] pixels
    joints_source: str  # kyara.drawing.skeleton.SOURCES
    joints_reason: str
    line: object  # kyara.drawing.texture.LineStyle
    metres_per_pixel: float
    drawn_rotations: np.ndarray  # [55, 3, 3] local rotations of the drawn pose relative to the T-pose
    drawn_translation: np.ndarray  # [3] root offset of the drawn pose
    seconds: dict[str, float] = field(default_factory=dict)  # per step
    notes: list[str] = field(default_factory=list)
    meta: object = None  # no VRM meta of its own (kyara export writes its defaults)
    textures: tuple[np.ndarray, np.ndarray] | None = None  # (front, back) images the colours came from
    inflated: object = None  # kyara.drawing.inflate.Inflated (drawn pose)

    def drawn_pose(self):
        """The drawn pose as a :class:`~kyara.pose.pose.Pose` of the lifted character."""
        from kyara.pose.pose import Pose
        from kyara.pose.rotations import matrix_to_quat

        return Pose(matrix_to_quat(self.drawn_rotations), self.drawn_translation)


def _crown(mask: np.ndarray, skel) -> float:
    """The y (pixels) of the head's top: the highest figure pixel above the head's centre column."""
    nose = skel.joint("nose")
    neck = skel.joint("neck")
    r = max(4.0, 0.6 * float(np.linalg.norm(nose - neck)))
    x0, x1 = int(max(0, nose[0] - r)), int(min(mask.shape[1], nose[0] + r + 1))
    cols = mask[:, x0:x1]
    ys = np.nonzero(cols.any(axis=1))[0]
    top = float(ys.min()) if len(ys) else float(nose[1] - r)
    return min(top, float(nose[1]) - 1.0)


def _head_pixels(mask: np.ndarray, skel) -> np.ndarray:
    """``[H, W]`` bool: the figure's pixels nearest to the head (for the back's texture)."""
    import cv2

    from kyara.drawing.inflate import PARTS, part_labels

    h, w = mask.shape
    step = max(1, int(max(h, w) // 128))  # the head is large: a coarse grid finds it
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    small = mask[::step, ::step]
    lab = part_labels(pts, skel).reshape(small.shape)
    head = (lab == PARTS.index("head")) & small
    return cv2.resize(head.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool) & mask


def lift(image, mask=None, joints=None, config: LiftConfig | None = None):
    """Lift one drawing of a humanoid character to a rigged 3D :class:`~kyara.character.model.Character`.

    ``image``: a file path or a numpy image (``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA, uint8 or float in
    [0, 1]); at least 64 pixels a side. ``mask``: optional, a path or ``[H, W]`` array (True / >= 128 =
    character); default: the image's alpha when it has transparent pixels, else automatic
    segmentation of the paper. ``joints``: optional, a ``char_cfg.yaml`` / OpenPose JSON path or a
    COCO-18 array ``[18, 3]`` (x, y pixels, confidence); default: detector, medial axis or template
    (:mod:`kyara.drawing.skeleton`). ``config``: :class:`LiftConfig`.

    Returns the character: rest pose = VRM T-pose, metres, +Z forward, feet on Y = 0; its ``spec`` is
    a :class:`DrawingInfo` (mask, joints, line style, the drawn pose, time per step).

    Raises ``ValueError`` (one line naming the problem) for a bad image, mask or joints file, blank
    paper, two figures, no clear background, a figure cut by the image's edge, a figure too thin to
    lift and a figure that is not a humanoid; ``FileNotFoundError`` for a missing file.
    """
    from kyara.avatar.body import avatar_body
    from kyara.character.model import Character, Material, Part
    from kyara.drawing import inflate as inflate_mod
    from kyara.drawing import layers, rig, segment, skeleton, texture

    cfg = config or LiftConfig()
    if not isinstance(cfg, LiftConfig):
        raise ValueError(f"config is a {type(cfg).__name__}, expected kyara.drawing.LiftConfig")
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        seconds[name] = round(now - t, 4)
        t = now

    rgb, alpha = segment.as_drawing(image)
    m = segment.character_mask(rgb, alpha, mask)
    if alpha is not None and m.source != "paper":  # what the detector and the colours see: the figure on white
        a = (alpha.astype(np.float32) / 255.0)[..., None]
        rgb = np.clip(rgb * a + 255.0 * (1.0 - a), 0, 255).astype(np.uint8)
    lap("mask")
    skel = skeleton.estimate_skeleton(rgb, m.mask, joints, cfg.skeleton)
    lap("skeleton")
    ink = texture.ink_pixels(rgb, m.mask)
    line = texture.measure_strokes(rgb, m.mask, ink)
    front_layers = layers.front_layers(m.mask, rgb, skel, line.width_px) if cfg.inflate.part_layers else []
    inflated = inflate_mod.inflate(m.mask, skel, cfg.inflate, cfg.height, front_layers)
    lap("inflate")
    front, back = texture.textures(rgb, m.mask, line, _head_pixels(m.mask, skel), ink)
    behind = None if inflated.covered is None else texture.behind_layers(front, back, m.mask, inflated.covered, line)
    colours = texture.vertex_colours(inflated, front, back, behind)
    lap("texture")
    P, rig_notes = rig.drawn_joints(skel, inflated, _crown(m.mask, skel))
    ji, jw = rig.skin_weights(inflated, P)
    verts, rest, head_tip, drawn_rot = rig.bake_tpose(inflated.vertices, ji, jw, P)
    lap("rig")
    mpp = inflated.metres_per_pixel
    base = tuple(float(c) for c in np.median(colours, axis=0))
    material = Material("drawing", base, shade_color=None, outline_width=round(0.5 * line.width_px * mpp, 6))
    part = Part("body", "body", verts.astype(np.float32), inflated.faces.astype(np.int32), ji, jw, material,
                colors=colours)
    # the drawn pose: hips where they were drawn (the T-pose's feet were put on the floor)
    from kyara.body.skeleton import BONE_INDEX

    drawn_t = P["hips"] - rest[BONE_INDEX["hips"]]
    info = DrawingInfo(cfg.name, (rgb.shape[1], rgb.shape[0]), m.mask, m.source, skel.keypoints, skel.pelvis,
                       skel.source, skel.reason, line, mpp, drawn_rot, drawn_t, seconds,
                       m.notes + skel.notes + inflated.notes + rig_notes, None, (front, back), inflated)
    body = avatar_body([part], [], rest, head_tip, info)
    character = Character(spec=info, body=body, parts=[part], extra_bones=[])
    lap("assemble")
    return character
