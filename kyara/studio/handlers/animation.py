"""Animate tab: a built-in or uploaded motion played by the session's character -> MP4 or GIF + conditions."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kyara.studio.handlers.common import as_upload, load_body, on_gl_thread
from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

ANIMATION_FORMATS = ("mp4", "gif")  # what kyara.motion.animate writes (by the output's suffix)
ANIMATION_SIZE = 512  # pixels, square: the Animate tab's default


@dataclass
class AnimateOutput:
    video: Path  # animation.mp4 or animation.gif
    conditions: Path | None  # zip of per-frame OpenPose PNG/JSON and depth PNG
    frames: int


def animate_clip(ws: Workspace, motion: str, character: str | None, view: str = "front", fps: float = 15.0,
                 size: int = ANIMATION_SIZE, conditions: bool = True, upload: str | None = None,
                 max_mb: float = DEFAULT_MAX_UPLOAD_MB, *, video_format: str = "mp4") -> AnimateOutput:
    """A built-in motion (or an uploaded ``.bvh``/``.npz``, checked by
    :func:`~kyara.studio.session.check_upload`; errors name the user's file) played by the
    session's character (or the bare body) -> ``size`` x ``size`` pixels MP4 or GIF (``video_format``,
    written by :func:`kyara.motion.animate.animate` as ``kyara animate -o x.gif`` writes it), plus a zip
    of per-frame conditions."""
    from kyara.motion import load_motion, retarget
    from kyara.motion.animate import AnimateConfig, animate, parse_animation_view
    from kyara.motion.builtin import BUILTIN_MOTIONS

    up = check_upload(upload, "motion", max_mb) if upload else None
    if up is None and motion not in BUILTIN_MOTIONS:
        raise ValueError(f"unknown motion '{motion}', expected one of {', '.join(BUILTIN_MOTIONS)} or an upload")
    if not (fps is not None and np.isfinite(float(fps)) and 1.0 <= float(fps) <= 60.0):
        raise ValueError(f"fps {fps!r} is out of range, expected 1..60")
    if not (size is not None and float(size).is_integer() and 64 <= int(size) <= 1024):
        raise ValueError(f"size {size!r} is out of range, expected 64..1024 pixels")
    if video_format not in ANIMATION_FORMATS:
        raise ValueError(f"format {video_format!r} is unknown, expected one of {', '.join(ANIMATION_FORMATS)}")
    v = parse_animation_view(view)
    name, paths = (up.name, [up]) if up else (motion, [])
    with as_upload(name, *paths):  # the file is read, and its joints named, before the body is built
        skeleton, mocap = load_motion(str(up) if up else motion)
        from kyara.motion.mapping import REQUIRED_BONES, resolve_mapping

        resolve_mapping(skeleton.names, None, required=REQUIRED_BONES)
    body = load_body(character)
    target = body.layout if character is not None else body.params
    with as_upload(name, *paths):
        clip = retarget(mocap, skeleton, target, fps=float(fps))
    d = ws.job_dir("animate")
    cond_dir = d / "conditions" if conditions else None
    video = d / f"animation.{video_format}"
    res = on_gl_thread(animate, body, clip, video, (int(size), int(size)), v, None, cond_dir,
                       AnimateConfig(progress=False))
    zpath = None
    if cond_dir is not None:
        zpath = d / "conditions.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(cond_dir.iterdir()):
                z.write(f, f.name)
    return AnimateOutput(video, zpath, res.video.frames)

