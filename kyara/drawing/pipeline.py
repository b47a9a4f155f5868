"""Step 6 and the files of ``kyara drawing``: one drawing -> a folder with the rigged, moving character.

:func:`run` lifts the drawing (:func:`kyara.drawing.lift`), retargets a built-in or BVH/NPZ motion
onto it (:func:`kyara.motion.retarget` onto the lifted skeleton) and writes into ``out_dir``:

==================  ==========================================================================
``avatar.vrm``      VRM 1.0 avatar (T-pose, MToon, humanoid bones): :func:`kyara.export.export_character`
``avatar.glb``      rigged glTF with the motion as its animation
``motion.mp4``      the motion, cel-shaded in the drawing's colours with toon outlines in the
``motion.gif``      drawing's stroke width (scaled to the video) and ink colour
``frames/``         ``frame_00000.png`` ... (the video's frames) and, as ``kyara animate
                    --conditions`` writes them, ``frame_00000_openpose.png/.json`` and
                    ``frame_00000_depth.png`` per frame
``mask.png``        the character's mask (8-bit, 255 = character), drawing pixels
``skeleton.json``   the joints used (OpenPose JSON on the drawing's canvas + how they were found)
``contact_sheet.png``  the steps: drawing, mask, joints, parts and depth, the lifted character from
                    the front and the side, its T-pose, three frames of the motion
``drawing.json``    what the steps found: sources, line style, notes, seconds per step
==================  ==========================================================================

Everything that can be checked is checked before anything is written (the folder, the motion, the
image, the mask, the joints, the lift itself); a bad input raises one ``ValueError`` /
``FileNotFoundError`` and leaves no file behind. Every file is written atomically.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kyara.drawing.character import LiftConfig

OUTPUTS = ("avatar.vrm", "avatar.glb", "motion.mp4", "motion.gif", "mask.png", "skeleton.json", "contact_sheet.png",
           "drawing.json")
SHEET_TILE = 256  # pixels: height of a contact sheet tile


@dataclass(frozen=True)
class DrawingJob:
    """What :func:`run` makes (the CLI's options)."""

    motion: str = "walk"  # a built-in (walk, jog, jump, punch, dance) or a .bvh / .npz file
    size: tuple[int, int] = (512, 512)  # video (width, height), pixels
    fps: float = 30.0  # video frames per second (the motion is resampled)
    view: str | float = "front"  # video camera: front, side, back, right, orbit or azimuth degrees
    up: str | None = None  # BVH up axis (None: detected)
    mapping: object = None  # YAML path or dict {source joint: vrmBone} for BVH rigs the name tables miss
    frames: bool = True  # write frames/ (PNG frames and per-frame conditions)
    lift: LiftConfig = field(default_factory=LiftConfig)


@dataclass
class DrawingResult:
    character: object  # kyara.character.model.Character (spec: DrawingInfo)
    motion: object  # kyara.pose.pose.Motion retargeted onto it
    paths: dict[str, Path]
    seconds: dict[str, float]
    notes: list[str]


# -- checks ---------------------------------------------------------------------------------------
def check_motion(motion: str) -> None:
    """A built-in name or an existing ``.bvh`` / ``.npz`` file (``ValueError`` otherwise)."""
    from kyara.motion.builtin import BUILTIN_MOTIONS

    if motion in BUILTIN_MOTIONS:
        return
    p = Path(str(motion))
    if p.suffix.lower() not in (".bvh", ".npz"):
        raise ValueError(f"--motion '{motion}' is not a built-in ({', '.join(BUILTIN_MOTIONS)}) nor a .bvh/.npz file")
    if not p.is_file():
        raise ValueError(f"--motion file '{motion}' does not exist")


def check_job(out_dir: str | os.PathLike, job: DrawingJob) -> Path:
    """Everything about the job that needs no drawing: folder, motion, video size and rate, view."""
    from kyara.fileio import check_output_dir
    from kyara.motion.animate import parse_animation_view
    from kyara.render.video import check_video_args

    out = check_output_dir(out_dir)
    check_motion(job.motion)
    w, h = job.size
    if not (isinstance(w, int) and isinstance(h, int) and 16 <= w <= 4096 and 16 <= h <= 4096):
        raise ValueError(f"size {job.size!r} is out of range, expected 16..4096 pixels a side")
    parent = out if out.is_dir() else out.parent
    check_video_args(parent / "motion.mp4", job.fps)
    check_video_args(parent / "motion.gif", min(float(job.fps), 50.0))
    parse_animation_view(job.view)
    if job.mapping is not None and not isinstance(job.mapping, dict):
        from kyara.motion.mapping import load_mapping_yaml

        load_mapping_yaml(job.mapping)
    return out


# -- the look of the renders ----------------------------------------------------------------------
def drawing_toon(character, camera=None, lo=None, hi=None):
    """The cel shading of the lifted character's renders: its own colours nearly flat (the drawing
    has its shading already), no rim, outlines in the drawing's ink colour and stroke width scaled
    from drawing pixels to the render's pixels at the character's middle depth."""
    from kyara.render.toon import ToonStyle

    info = character.spec
    width = 2.0
    if camera is not None and lo is not None:
        centre = 0.5 * (np.asarray(lo) + np.asarray(hi))
        depth = -float((camera.view @ np.append(centre, 1.0))[2])
        px_per_m = 1.0 / float(camera.pixel_footprint(max(depth, 1e-3)))
        width = info.line.width_px * info.metres_per_pixel * px_per_m
    return ToonStyle(shading_shift=0.35, rim_color=(0.0, 0.0, 0.0), outline_width=float(np.clip(width, 1.0, 16.0)),
                     outline_color=tuple(float(np.clip(c, 0.0, 1.0)) for c in info.line.ink),
                     background=(1.0, 1.0, 1.0))


def render_still(character, pose, views, size: int) -> list[np.ndarray]:
    """RGB uint8 cel-shaded renders of the character in ``pose`` from ``views`` (names/azimuths)."""
    from kyara.avatar import character_body
    from kyara.render.pipeline import RenderConfig, frame_views, render_views
    from kyara.render.toon import MapStyle

    body = character_body(character)
    verts = body.pose(pose)[0]
    vs = frame_views(verts, views, (size, size))
    lo, hi = np.asarray(verts).min(axis=0), np.asarray(verts).max(axis=0)
    style = MapStyle(toon=drawing_toon(character, vs[0].camera, lo, hi))
    r = render_views(body, pose, vs, RenderConfig(maps=("toon",), style=style), vertices=verts, check_cameras=False)
    return [np.ascontiguousarray(t[..., :3]) for t in r.maps["toon"]]


# -- the contact sheet ----------------------------------------------------------------------------
def _tile(img: np.ndarray, label: str, h: int = SHEET_TILE) -> np.ndarray:
    import cv2

    a = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
    s = h / a.shape[0]
    a = cv2.resize(a, (max(1, round(a.shape[1] * s)), h), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    a = np.ascontiguousarray(a)
    cv2.putText(a, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.putText(a, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
    return a


def skeleton_overlay(rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """The drawing with its COCO-18 joints drawn over it (ControlNet's OpenPose colours)."""
    from kyara.pose.openpose import Keypoints2D
    from kyara.render.openpose_draw import draw_openpose

    h, w = rgb.shape[:2]
    kp = np.where(np.asarray(keypoints)[:, 2:3] > 0, keypoints, 0.0)
    pose = draw_openpose([Keypoints2D(body=kp, width=w, height=h)], w, h, thick=max(h, w) > 500)
    on = pose.max(axis=2, keepdims=True) > 0
    return np.where(on, pose, (0.55 * rgb + 0.45 * 255).astype(np.uint8))


def depth_picture(info) -> np.ndarray:
    """Parts (hue) and inflated height (brightness) on the drawing's grid."""
    import cv2

    inf = info.inflated
    rows, cols = inf.grid_shape
    height = np.zeros(rows * cols)
    front = inf.side == 0
    np.maximum.at(height, inf.grid_index[front], inf.vertices[front, 2])  # an arm across the torso in front
    height = height.reshape(rows, cols) / max(float(height.max()), 1e-9)
    hue = (inf.grid_part.astype(np.float32) * 17.0) % 180.0
    hsv = np.stack([hue, np.full_like(hue, 140.0), 60.0 + 195.0 * height], axis=-1).astype(np.uint8)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    rgb[~inf.grid_mask] = 255
    return cv2.resize(rgb, (cols * 4, rows * 4), interpolation=cv2.INTER_NEAREST)


def contact_sheet(rgb: np.ndarray, character, frames: list[np.ndarray]) -> np.ndarray:
    """The steps side by side (module doc), RGB uint8."""
    from kyara.pose.pose import Pose

    info = character.spec
    m = info.mask
    masked = np.where(m[..., None], rgb, (0.25 * rgb + 0.75 * 255).astype(np.uint8))
    drawn = info.drawn_pose()
    front, side = render_still(character, drawn, ["front", "side"], SHEET_TILE)
    (tpose,) = render_still(character, Pose(), ["front"], SHEET_TILE)
    row1 = [_tile(rgb, "drawing"), _tile(masked, f"mask ({info.mask_source})"),
            _tile(skeleton_overlay(rgb, info.keypoints), f"joints ({info.joints_source})"),
            _tile(depth_picture(info), "parts + height")]
    row2 = [_tile(front, "lifted, front"), _tile(side, "side"), _tile(tpose, "T-pose (rig)")]
    row2 += [_tile(f, f"motion {k}") for k, f in enumerate(frames[:3])]
    w1, w2 = sum(t.shape[1] for t in row1), sum(t.shape[1] for t in row2)
    width = max(w1, w2)
    pad = lambda row, w: np.concatenate(row + [np.full((SHEET_TILE, width - w, 3), 255, np.uint8)], axis=1)  # noqa: E731
    return np.concatenate([pad(row1, w1), pad(row2, w2)], axis=0)


def _png_bytes(img: np.ndarray) -> bytes:
    import cv2

    a = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", a, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


# -- the job --------------------------------------------------------------------------------------
def retarget_onto(character, motion: str, fps: float, up=None, mapping=None):
    """The motion (name or file) retargeted onto the lifted character's own skeleton."""
    from kyara.motion import load_motion, retarget

    skeleton, mocap = load_motion(motion, None, up, mapping)
    return retarget(mocap, skeleton, character.body.layout, mapping=mapping, fps=fps)


def run(image, out_dir: str | os.PathLike, mask=None, joints=None, job: DrawingJob | None = None) -> DrawingResult:
    """Lift ``image`` and write the files of the module doc into ``out_dir`` (created when missing;
    its parent must exist). ``mask``/``joints`` as in :func:`kyara.drawing.lift`."""
    from kyara.avatar import character_body
    from kyara.drawing.character import lift
    from kyara.drawing.joints_io import skeleton_json
    from kyara.drawing.segment import as_drawing
    from kyara.export import ExportOptions, export_character
    from kyara.fileio import write_bytes_atomic, write_text_atomic
    from kyara.motion.animate import AnimateConfig, animate, animate_cameras_for, render_animation

    jb = job or DrawingJob()
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        seconds[name] = round(now - t, 3)
        t = now

    out = check_job(out_dir, jb)
    from kyara.motion import load_motion

    load_motion(jb.motion, None, jb.up, jb.mapping)  # a malformed motion file fails before the lift
    rgb, alpha = as_drawing(image)
    lap("checks")
    character = lift(np.dstack([rgb, alpha]) if alpha is not None else rgb, mask=mask, joints=joints, config=jb.lift)
    info = character.spec
    lap("lift")
    motion = retarget_onto(character, jb.motion, jb.fps, jb.up, jb.mapping)
    lap("retarget")
    # -- nothing was written before this line --
    out.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    w, h = info.size
    paths["mask.png"] = write_bytes_atomic(out / "mask.png", _png_bytes((info.mask * 255).astype(np.uint8)))
    doc = skeleton_json(info.keypoints, (w, h), info.joints_source, info.pelvis, info.joints_reason)
    paths["skeleton.json"] = write_text_atomic(out / "skeleton.json", json.dumps(doc, indent=1) + "\n")
    opts = ExportOptions(name=jb.lift.name, authors=("kyara",))
    paths["avatar.vrm"] = export_character(character, "vrm", out / "avatar.vrm", opts).path
    paths["avatar.glb"] = export_character(character, "glb", out / "avatar.glb",
                                           ExportOptions(name=jb.lift.name, motion=motion)).path
    lap("export")
    body = character_body(character)
    cams, lo, hi = animate_cameras_for(body, motion, jb.size, jb.view)
    config = AnimateConfig(toon=drawing_toon(character, cams[0], lo, hi))
    frames_dir = out / "frames" if jb.frames else None
    if frames_dir is not None:
        frames_dir.mkdir(exist_ok=True)
    res = animate(body, motion, out / "motion.mp4", jb.size, jb.view, None, frames_dir, config)
    paths["motion.mp4"] = out / "motion.mp4"
    frames = [np.ascontiguousarray(f[..., :3]) for ch in render_animation(body, motion, jb.size, jb.view, config,
                                                                              cameras=res.cameras)
              for f in ch.maps["toon"]]
    from kyara.render.video import write_video

    gif_fps = min(float(jb.fps), 25.0)
    step = max(1, int(round(jb.fps / gif_fps)))
    write_video(out / "motion.gif", np.stack(frames[::step]), jb.fps / step)
    paths["motion.gif"] = out / "motion.gif"
    if frames_dir is not None:
        for k, f in enumerate(frames):
            write_bytes_atomic(frames_dir / f"frame_{k:05d}.png", _png_bytes(f))
        paths["frames"] = frames_dir
    lap("motion")
    picks = [frames[int(i)] for i in np.linspace(0, len(frames) - 1, 4)[1:]]
    paths["contact_sheet.png"] = write_bytes_atomic(out / "contact_sheet.png",
                                                    _png_bytes(contact_sheet(np.asarray(rgb), character, picks)))
    lap("sheet")
    report = {"drawing": {"width": w, "height": h}, "mask_source": info.mask_source,
              "joints_source": info.joints_source, "joints_reason": info.joints_reason,
              "line": info.line.to_dict(), "metres_per_pixel": round(info.metres_per_pixel, 6),
              "height_m": jb.lift.height, "motion": {"name": str(jb.motion), "frames": motion.num_frames, "fps": motion.fps},
              "vertices": int(len(character.parts[0].vertices)), "triangles": int(len(character.parts[0].faces)),
              "seconds": {"lift_steps": info.seconds, **seconds}, "notes": info.notes}
    paths["drawing.json"] = write_text_atomic(out / "drawing.json", json.dumps(report, indent=1) + "\n")
    return DrawingResult(character, motion, paths, seconds, list(info.notes))
