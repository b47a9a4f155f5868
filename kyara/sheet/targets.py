"""Target UDP maps: a named pose or a motion rendered on a body or character, a CoNR ``.npz``, or an
image through the detector. Every function returns float32 ``[H, W, 4]`` maps (A-pose xyz in
[0, 1] + occupancy, CoNR's format) rendered by the project's own renderer
(:func:`kyara.render.pipeline.render_views`, map ``udp``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np


def target_body(body: str = "teen-girl", character: str | os.PathLike | None = None):
    """The body the target is rendered on: ``character`` (a ``.vrm``/``.glb``/``.gltf`` avatar or a
    character ``.json``), else the parametric preset ``body``."""
    if character is not None:
        from kyara.avatar import character_body, load_character

        return character_body(load_character(character))
    from kyara.body.model import build_body
    from kyara.cli.common import body_params

    return build_body(body_params(body))


def _pose(name: str, body):
    from kyara.avatar import avatar_pose

    return avatar_pose(name, body)


def pose_udp(pose: str, body, size: tuple[int, int] = (256, 256), view: str | float = "front") -> np.ndarray:
    """Named ``pose`` on ``body`` (from :func:`target_body`) seen from ``view``, framed like ``kyara
    render`` -> UDP ``[H, W, 4]`` at ``size`` (width, height) pixels."""
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    p = _pose(pose, body)
    verts = body.pose(p)[0]
    views = frame_views(verts, [view], size)
    return render_views(body, p, views, RenderConfig(maps=("udp",)), vertices=verts, check_cameras=False).maps["udp"][0]


@dataclass
class MotionTarget:
    """A motion's UDP frames, rendered lazily chunk by chunk (:meth:`frames`)."""

    body: object
    clip: object  # kyara.pose.pose.Motion
    size: tuple[int, int]
    view: str | float
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.clip.num_frames)

    def frames(self, chunk: int = 16) -> Iterator[np.ndarray]:
        """UDP ``[H, W, 4]`` per frame; the camera frames the whole clip (as ``kyara animate`` does)."""
        from kyara.motion.animate import animate_cameras_for
        from kyara.render.pipeline import make_renderer

        cams, _, _ = animate_cameras_for(self.body, self.clip, self.size, self.view)
        rot = self.body.motion_rotations(self.clip) if hasattr(self.body, "motion_rotations") else self.clip.rotations
        renderer = make_renderer(self.body, self.size)
        try:
            for s in range(0, self.num_frames, chunk):
                e = min(self.num_frames, s + chunk)
                verts = self.body.pose_vertices(rot[s:e], self.clip.translation[s:e])[0]
                yield from renderer.render(verts, cams[s:e], ("udp",))["udp"]
        finally:
            renderer.release()


def motion_target(motion: str, body, size: tuple[int, int] = (256, 256), view: str | float = "front",
                  fps: float = 12.0) -> MotionTarget:
    """A built-in motion name or a ``.bvh`` / ``.npz`` file, retargeted onto ``body`` at ``fps``."""
    from kyara.motion import load_motion, retarget

    skeleton, mocap = load_motion(motion)
    clip = retarget(mocap, skeleton, body.layout if hasattr(body, "layout") else body.params, fps=fps)
    return MotionTarget(body, clip, size, view, fps)


def image_udp(path: str | os.PathLike) -> np.ndarray:
    """The detector's UDP of a picture of the pose (``kyara train detector`` makes its weights)."""
    from kyara.detect import detect

    det = detect(path, backend="kyara")
    if det.udp is None or not (det.udp[..., 3] > 0.5).any():
        raise ValueError(f"--pose-image '{path}': the detector found no character to take the pose from")
    return np.clip(np.asarray(det.udp, dtype=np.float32), 0.0, 1.0)
