"""One call from (body, pose name, view) to 2D OpenPose keypoints, hidden ones dropped."""

from __future__ import annotations

import numpy as np


def pose_camera(vertices: np.ndarray, view, size: tuple[int, int]):
    """The framing camera for a posed mesh ``[V, 3]``: perspective, 40 degrees fovy."""
    from kyara.render.camera import view_camera

    return view_camera(view, vertices.min(axis=0), vertices.max(axis=0), size=size)


def posed_keypoints_2d(params, pose_name: str, view, size: tuple[int, int], occlusion: bool = True):
    """Keypoints2D of ``params`` posed with ``pose_name`` seen from ``view``."""
    from kyara.body.model import build_body
    from kyara.pose.keypoints import body_keypoints, project_keypoints, visible_keypoints
    from kyara.pose.presets import get_pose

    pose = get_pose(pose_name, params)
    body = build_body(params)
    verts, _ = body.pose(pose)
    kp = body_keypoints(body, pose.rotations, pose.translation)
    cam = pose_camera(verts, view, size)
    visible = visible_keypoints(body, kp, [cam], verts)[0] if occlusion else None
    return project_keypoints(kp, cam, visible)
