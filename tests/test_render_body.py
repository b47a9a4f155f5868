"""Condition maps of the real body: UDP is the A-pose position of the surface seen, the same body
part keeps its UDP colour across poses, depth and normals follow the conventions."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.body.model import build_body
from kyara.pose.presets import get_pose
from kyara.pose.views import pose_camera
from kyara.render.maps import VertexAttrs, render_maps
from kyara.render.visibility import camera_ray, ray_mesh_first_hit

SIZE = (160, 160)


@pytest.fixture(scope="module")
def body():
    return build_body("teen-girl")


def _render(body, pose_name, view, maps):
    pose = get_pose(pose_name, body.params)
    verts, _ = body.pose(pose)
    cam = pose_camera(verts, view, SIZE)
    attrs = VertexAttrs(parts=body.parts, udp=body.udp)
    out = render_maps(verts, body.faces, [cam], maps=maps, vertex_attrs=attrs)
    return verts, cam, {k: v[0] for k, v in out.items()}


def test_udp_pixels_equal_the_a_pose_position_of_the_surface_seen(body):
    verts, cam, m = _render(body, "jog", "front", ("udp", "mask"))
    udp = m["udp"]
    assert udp.dtype == np.float32 and udp.shape == SIZE[::-1] + (4,)
    occ = udp[..., 3] > 0.5
    assert np.array_equal(occ, m["mask"][..., 0] > 127)
    rng = np.random.default_rng(0)
    ys, xs = np.nonzero(occ)
    # interior pixels (not on the silhouette, where a pixel mixes two surfaces)
    interior = [(y, x) for y, x in zip(ys, xs) if occ[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3].all()]
    picks = [interior[i] for i in rng.choice(len(interior), 25, replace=False)]
    errors = []
    for y, x in picks:
        origin, direction = camera_ray(cam, np.array([x, y], dtype=float))
        t, face, bary = ray_mesh_first_hit(origin, direction, verts, body.faces)
        assert face >= 0
        ref = bary @ body.udp[body.faces[face]]
        errors.append(np.abs(udp[y, x, :3] - ref).max())
    # a pixel centre vs the rasterizer's sample point differ by < 1 px of surface
    assert np.median(errors) < 0.01 and max(errors) < 0.05


def test_same_body_part_keeps_its_udp_colour_in_two_poses(body):
    probes = [body.anchors["nose"], body.anchors["leftEye"], body.anchors["rightEye"]]
    seen = []
    for pose_name in ("t-pose", "jog"):
        verts, cam, m = _render(body, pose_name, "front", ("udp",))
        px, _ = cam.project(verts[probes])
        vals = [m["udp"][int(round(v)), int(round(u)), :3] for u, v in px]
        seen.append(np.array(vals))
        assert np.abs(np.array(vals) - body.udp[probes]).max() < 0.03
    assert np.abs(seen[0] - seen[1]).max() < 0.03


def test_depth_is_brighter_nearer_and_normals_face_the_camera(body):
    verts, cam, m = _render(body, "t-pose", "front", ("depth", "metric_depth", "normal", "mask"))
    fg = m["mask"][..., 0] > 127
    metric = m["metric_depth"][..., 0]
    depth = m["depth"][..., 0].astype(float)
    assert np.all(depth[~fg] == 0) and np.all(depth[fg] > 0)
    # nearer (smaller metric depth) is brighter: rank correlation strongly negative
    a, b = metric[fg], depth[fg]
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    assert np.corrcoef(ra, rb)[0, 1] < -0.9
    # normalbae convention: z (towards the camera) is blue. Smooth normals at the silhouette may
    # turn slightly away from the view axis (perspective), so: nearly all pixels, and the median
    n = m["normal"].astype(int)
    assert np.mean(n[fg][:, 2] >= 128) > 0.98 and np.median(n[fg][:, 2]) > 200
    assert tuple(n[0, 0]) == (128, 128, 255)


def test_parts_map_labels_match_the_body_regions(body):
    verts, cam, m = _render(body, "t-pose", "front", ("parts",))
    parts = m["parts"][..., 0]
    from kyara.body.skeleton import BONE_INDEX

    for bone, label in (("head", 0), ("leftLowerArm", 2), ("leftLowerLeg", 4)):
        px, _ = cam.project(body.rest_joints[BONE_INDEX[bone]])
        u, v = np.rint(px).astype(int)
        assert parts[v, u] == label, (bone, parts[v, u])
    assert parts[0, 0] == 255  # background
