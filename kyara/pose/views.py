"""One call from (body, pose name, view) to 2D OpenPose keypoints, with occlusion when GL is there."""

from __future__ import annotations

import numpy as np


def pose_camera(vertices: np.ndarray, view, size: tuple[int, int]):
    """The framing camera for a posed mesh ``[V, 3]``: perspective, 40 degrees fovy."""
    from kyara.render.camera import view_camera

    return view_camera(view, vertices.min(axis=0), vertices.max(axis=0), size=size)


def posed_keypoints_2d(params, pose_name: str, view, size: tuple[int, int], occlusion: bool = True):
    """Keypoints2D of ``params`` posed with ``pose_name`` seen from ``view``."""
    from kyara.body.model import build_body
    from kyara.pose.keypoints import body_keypoints, keypoint_tolerances, project_keypoints
    from kyara.pose.presets import get_pose

    pose = get_pose(pose_name, params)
    body = build_body(params)
    verts, _ = body.pose(pose)
    kp = body_keypoints(body, pose.rotations, pose.translation)
    cam = pose_camera(verts, view, size)
    visible = None
    if occlusion:
        from kyara.render.visibility import keypoint_visibility

        depth = _metric_depth(verts, body.faces, cam)
        visible = keypoint_visibility(kp.all()[None], [cam], depth[None], keypoint_tolerances(body))[0]
    return project_keypoints(kp, cam, visible)


def _metric_depth(verts: np.ndarray, faces: np.ndarray, cam) -> np.ndarray:
    from kyara.render.maps import render_maps

    out = render_maps(verts, faces, [cam], maps=("metric_depth",))
    return out["metric_depth"][0]
