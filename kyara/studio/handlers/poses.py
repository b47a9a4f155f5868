"""Pose tab: pose state and sliders, OpenPose/depth/toon previews, OpenPose JSON and image uploads."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from kyara.studio.handlers.common import as_upload, load_body, on_gl_thread, preset_pose
from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

PREVIEW_SIZE = (384, 384)  # pose previews, pixels
UPLOAD_PREVIEW_MAX = 1024  # pixels: an uploaded OpenPose canvas larger than this is previewed scaled down

# (key, bone, angle, label): the main joint angles the Pose tab shows as sliders
SLIDERS: tuple[tuple[str, str, str, str], ...] = (
    ("head_turn", "head", "turn", "head turn"),
    ("head_bend", "head", "bend", "head nod"),
    ("spine_bend", "spine", "bend", "spine bend"),
    ("spine_turn", "spine", "turn", "spine twist"),
    ("l_shoulder", "leftUpperArm", "raise", "left shoulder raise"),
    ("r_shoulder", "rightUpperArm", "raise", "right shoulder raise"),
    ("l_arm_forward", "leftUpperArm", "forward", "left arm forward"),
    ("r_arm_forward", "rightUpperArm", "forward", "right arm forward"),
    ("l_elbow", "leftLowerArm", "flex", "left elbow"),
    ("r_elbow", "rightLowerArm", "flex", "right elbow"),
    ("l_hip", "leftUpperLeg", "flex", "left hip"),
    ("r_hip", "rightUpperLeg", "flex", "right hip"),
    ("l_knee", "leftLowerLeg", "flex", "left knee"),
    ("r_knee", "rightLowerLeg", "flex", "right knee"),
)


def slider_range(bone: str, angle: str) -> tuple[float, float]:
    """The authoring limits of one slider, degrees."""
    from kyara.pose.limits import LIMITS

    lim = LIMITS[bone]
    i = lim.names.index(angle)
    return float(lim.low[i]), float(lim.high[i])



def pose_state(name: str, character: str | None) -> dict:
    """The pose state of preset ``name`` on the session's body."""
    from kyara.pose.limits import pose_to_angles

    pose = preset_pose(name, load_body(character))
    return {"name": name, "angles": pose_to_angles(pose), "translation": [float(v) for v in pose.translation]}


def slider_values(state: dict) -> list[float]:
    """The :data:`SLIDERS` values (degrees, rounded to 0.1) of a pose state."""
    return [round(float(state["angles"].get(bone, {}).get(angle, 0.0)), 1) for _, bone, angle, _ in SLIDERS]


UNDO_MAX = 50  # earlier pose states kept for Undo, per session
CANVAS_RANGE = (256, 1024)  # the Pose tab's canvas width and height, pixels


def fold_state(state: dict, values: Sequence[float] | None) -> dict:
    """The pose state with the sliders' ``values`` written into its angles (a new dict): the exact
    pose the previews, the Image tab's conditions and the exports use."""
    if values is None:
        return {**state, "angles": {b: dict(a) for b, a in state["angles"].items()}}
    if len(values) != len(SLIDERS):
        raise ValueError(f"{len(values)} slider values, expected {len(SLIDERS)}")
    angles = {b: dict(a) for b, a in state["angles"].items()}
    for (key, bone, angle, _), v in zip(SLIDERS, values):
        if v is None or not np.isfinite(float(v)):
            raise ValueError(f"slider {key} = {v!r} is not a number of degrees")
        angles.setdefault(bone, {})[angle] = float(v)
    return {**state, "angles": angles}


def _mirror_sign(bone: str, angle: str) -> float:
    """How one angle of a centre bone changes when the pose is reflected left <-> right: a rotation
    about the x axis (left-right) keeps its angle, one about y or z reverses it. Side bones swap
    with their mirror bone and keep every angle (their axes are mirrored already, see
    :mod:`kyara.pose.limits`)."""
    from kyara.pose.limits import LIMITS

    ax = LIMITS[bone].axes[LIMITS[bone].names.index(angle)].axis
    if abs(abs(ax[0]) - 1.0) < 1e-9:
        return 1.0
    if abs(ax[0]) < 1e-9:
        return -1.0
    raise ValueError(f"bone {bone} angle {angle} has an oblique axis, expected a centre bone's x, y or z axis")


def mirror_state(state: dict) -> dict:
    """The pose reflected left <-> right (a new state): left and right bones swap their angles,
    centre bones' turn and side angles change sign, the root's x offset too. Mirroring twice gives
    the state back exactly. The name gets (or loses) a ``mirrored`` mark."""
    from kyara.body.skeleton import mirror_name

    angles: dict[str, dict[str, float]] = {}
    for bone, vals in state["angles"].items():
        other = mirror_name(bone)
        if other == bone:
            angles[bone] = {a: (_mirror_sign(bone, a) * float(v)) + 0.0 for a, v in vals.items()}
        else:
            angles[other] = {a: float(v) for a, v in vals.items()}
    x, y, z = (float(v) for v in state["translation"])
    name = str(state.get("name", "pose"))
    name = name.removesuffix(" (mirrored)") if name.endswith(" (mirrored)") else f"{name} (mirrored)"
    return {**state, "name": name, "angles": angles, "translation": [-x + 0.0, y, z]}


def remember_pose(st: dict, pose: dict, azimuth: float = 0.0, elevation: float = 0.0) -> dict:
    """The session dict with ``pose`` (a folded pose state) and its camera as the current pose; the
    one before goes on the undo stack (at most :data:`UNDO_MAX`) when it differs."""
    camera = [float(azimuth), float(elevation)]
    undo = list(st.get("undo") or [])
    old = st.get("pose")
    if old is not None and (old.get("angles") != pose.get("angles") or old.get("translation") != pose.get("translation")
                            or list(st.get("camera") or [0.0, 0.0]) != camera):
        undo = (undo + [{"pose": old, "camera": list(st.get("camera") or [0.0, 0.0])}])[-UNDO_MAX:]
    return dict(st, pose=pose, camera=camera, undo=undo)


def undo_pose(st: dict) -> dict:
    """The session dict with the pose (and camera) before the current one restored, taken off the
    undo stack. ``ValueError`` when there is nothing to undo."""
    undo = list(st.get("undo") or [])
    if not undo:
        raise ValueError("nothing to undo, expected an earlier pose (a preset, a slider move, mirror or an upload)")
    last = undo.pop()
    return dict(st, pose=last["pose"], camera=list(last["camera"]), undo=undo)


def check_canvas(width, height) -> tuple[int, int]:
    """The Pose tab's canvas size, pixels: integers in :data:`CANVAS_RANGE` (``ValueError`` naming the value)."""
    lo, hi = CANVAS_RANGE
    out = []
    for name, v in (("width", width), ("height", height)):
        if v is None or not np.isfinite(float(v)) or not float(v).is_integer() or not lo <= float(v) <= hi:
            raise ValueError(f"canvas {name} {v!r} is out of range, expected {lo}..{hi} pixels")
        out.append(int(v))
    return out[0], out[1]


def pose_from_state(state: dict, values: Sequence[float] | None = None):
    """A :class:`~kyara.pose.pose.Pose` from the state, the sliders' ``values`` overriding it."""
    from kyara.pose.limits import pose_from_angles

    angles = {b: dict(a) for b, a in state["angles"].items()}
    if values is not None:
        if len(values) != len(SLIDERS):
            raise ValueError(f"{len(values)} slider values, expected {len(SLIDERS)}")
        for (key, bone, angle, _), v in zip(SLIDERS, values):
            if v is None or not np.isfinite(float(v)):
                raise ValueError(f"slider {key} = {v!r} is not a number of degrees")
            angles.setdefault(bone, {})[angle] = float(v)
    return pose_from_angles(angles, root_translation=tuple(state["translation"]))


@dataclass
class PosePreview:
    openpose: np.ndarray  # [H, W, 3] uint8
    depth: np.ndarray  # [H, W, 3] uint8, near = bright
    toon: np.ndarray  # [H, W, 3] uint8
    files: dict[str, Path] = field(default_factory=dict)  # openpose (png), depth (png), json
    notes: list[str] = field(default_factory=list)  # how an uploaded file was read (one line each)
    people: list = field(default_factory=list)  # an uploaded file's people (Keypoints2D on the drawn canvas)


def _flatten(rgba: np.ndarray, bg=(246, 244, 240)) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * a + np.array(bg, np.float32) * (1.0 - a)).round().astype(np.uint8)


def pose_preview(ws: Workspace | None, state: dict, values: Sequence[float] | None, azimuth: float = 0.0,
                 elevation: float = 0.0, character: str | None = None,
                 size: tuple[int, int] = PREVIEW_SIZE) -> PosePreview:
    """Render OpenPose, depth and toon of the slider pose from the camera (azimuth/elevation in
    degrees); with ``ws`` also write ``pose.json``/``openpose.png``/``depth.png`` for download and
    for the Image tab."""
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    for name, v, lim in (("azimuth", azimuth, 360.0), ("elevation", elevation, 89.0)):
        if v is None or not np.isfinite(float(v)) or abs(float(v)) > lim:
            raise ValueError(f"camera {name} {v!r} is out of range, expected -{lim:g}..{lim:g} degrees")
    body = load_body(character)
    pose = pose_from_state(state, values)
    verts, joints = body.pose(pose)
    frame = np.concatenate([verts, joints])
    views = frame_views(frame, [float(azimuth) % 360.0], size, elevation_deg=float(elevation))
    rv = on_gl_thread(render_views, body, pose, views, RenderConfig(maps=("openpose", "depth", "toon")),
                      vertices=verts, check_cameras=False)
    op = rv.maps["openpose"][0]
    depth = np.repeat(rv.maps["depth"][0][..., :1], 3, axis=2)
    toon = _flatten(rv.maps["toon"][0])
    out = PosePreview(op, depth, toon, people=[rv.keypoints[0]])
    if ws is not None:
        from PIL import Image

        from kyara.pose.openpose import write_openpose_json

        d = ws.job_dir("pose")
        Image.fromarray(op).save(d / "openpose.png")
        Image.fromarray(depth).save(d / "depth.png")
        Image.fromarray(toon).save(d / "toon.png")
        out.files = {"openpose": d / "openpose.png", "depth": d / "depth.png", "toon": d / "toon.png",
                     "json": write_openpose_json(d / "pose.json", [rv.keypoints[0]], size[0], size[1])}
    return out


def openpose_upload(ws: Workspace, path: str | os.PathLike, name: str | None = None) -> PosePreview:
    """An uploaded OpenPose JSON drawn on its canvas (scaled down to fit :data:`UPLOAD_PREVIEW_MAX`);
    the Image tab then uses it as the openpose condition, fitted to the image size keeping its aspect
    ratio (:func:`image_config`). Read by the CLI's reader with the same limits and formats (pixels or
    normalized, ComfyUI lists: frame 0, BODY_25, triplets, no canvas size); ``name`` (default: the
    file's name) names the upload in messages, never its temporary path. Depth and toon are blank."""
    from PIL import Image

    from kyara.pose.openpose_io import load_pose
    from kyara.pose.openpose import write_openpose_json
    from kyara.render.openpose_draw import draw_openpose

    pose = load_pose(path, None, frame=0, label=f"upload '{name or Path(path).name}'")
    w, h = pose.width, pose.height
    people = pose.people
    if max(w, h) > UPLOAD_PREVIEW_MAX:
        s = UPLOAD_PREVIEW_MAX / max(w, h)
        w, h = max(1, round(w * s)), max(1, round(h * s))
        people = [p.letterboxed(w, h) for p in people]
    img = draw_openpose(people, w, h)
    d = ws.job_dir("pose")
    Image.fromarray(img).save(d / "openpose.png")
    js = write_openpose_json(d / "pose.json", people, w, h)
    blank = np.zeros_like(img)
    return PosePreview(img, blank, blank, {"openpose": d / "openpose.png", "json": js, "openpose_json": js},
                       notes=pose.notes, people=list(people))


def pose_json_upload(ws: Workspace, path: str | os.PathLike | None,
                     max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> PosePreview:
    """The Pose tab's JSON upload: :func:`~kyara.studio.session.check_upload` (a UTF-8/UTF-16 byte
    order mark is fine), then :func:`openpose_upload`; errors name the user's file."""
    p = check_upload(path, "openpose", max_mb)
    with as_upload(p.name, p):
        return openpose_upload(ws, p)


def pose_image_upload(path: str | os.PathLike | None, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> Path:
    """The Pose tab's image upload (an OpenPose skeleton used as is): every pixel decoded now,
    decompression bombs and corrupt files refused (:func:`~kyara.studio.session.check_upload`)."""
    return check_upload(path, "image", max_mb)


def openpose_json_of(files: dict) -> str | None:
    """The uploaded OpenPose JSON the current openpose image was drawn from, if it still is."""
    js, img = files.get("openpose_json"), files.get("openpose")
    if js and img and Path(img) == Path(js).with_name("openpose.png"):
        return str(js)
    return None

