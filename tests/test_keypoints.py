"""OpenPose keypoints of the posed body: order, handedness, mirror symmetry, projection, JSON."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.body.model import build_body
from kyara.body.skeleton import BONE_INDEX, NUM_BONES
from kyara.pose.keypoints import body_keypoints, project_keypoints
from kyara.pose.openpose import read_openpose_json, write_openpose_json
from kyara.pose.presets import get_pose
from kyara.pose.views import pose_camera

MIRROR_BODY = [0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16]
# iBUG-68 left/right pairs (+ pupils 68/69)
_JAW = [(i, 16 - i) for i in range(8)]
_BROWS = [(17 + i, 26 - i) for i in range(5)]
_NOSE = [(31, 35), (32, 34)]
_EYES = [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
_MOUTH = [(48, 54), (49, 53), (50, 52), (59, 55), (58, 56), (60, 64), (61, 63), (67, 65)]
FACE_PAIRS = _JAW + _BROWS + _NOSE + _EYES + _MOUTH + [(68, 69)]


@pytest.fixture(scope="module")
def body():
    return build_body("teen-girl")


def _rest():
    return np.tile(np.eye(3), (NUM_BONES, 1, 1))


def test_t_pose_keypoints_are_mirror_images(body):
    kp = body_keypoints(body, _rest())
    flip = np.array([-1.0, 1.0, 1.0])
    assert np.abs(kp.body[MIRROR_BODY] * flip - kp.body).max() < 0.01 * body.params.height
    assert np.abs(kp.hand_left * flip - kp.hand_right).max() < 1e-6
    a, b = np.array(FACE_PAIRS).T
    assert np.abs(kp.face[a] * flip - kp.face[b]).max() < 0.01 * body.params.height
    # joints sit where the skeleton says
    assert np.allclose(kp.body[5], body.rest_joints[BONE_INDEX["leftUpperArm"]])
    assert np.allclose(kp.hand_left[0], body.rest_joints[BONE_INDEX["leftHand"]])
    # surface points are on the head's front: nose ahead of the eyes, eyes ahead of the ears
    assert kp.body[0, 2] > kp.body[14, 2] > kp.body[16, 2]


def test_handedness_seen_from_the_front(body):
    """Character faces +Z, its left hand at +X; from the front camera point 2 (right shoulder) is left of point 5."""
    kp = body_keypoints(body, _rest())
    assert kp.body[5, 0] > 0 > kp.body[2, 0]
    verts, _ = body.pose_vertices(_rest())
    cam = pose_camera(verts, "front", (512, 512))
    kp2 = project_keypoints(kp, cam)
    assert kp2.body[2, 0] < kp2.body[5, 0]
    assert kp2.hand_right[0, 0] < kp2.hand_left[0, 0]
    assert kp2.body[0, 1] < kp2.body[1, 1] < kp2.body[8, 1] < kp2.body[10, 1]  # image y grows down
    back = project_keypoints(kp, pose_camera(verts, "back", (512, 512)))
    assert back.body[2, 0] > back.body[5, 0]


def test_posed_keypoints_follow_the_pose_and_batch(body):
    jog = get_pose("jog")
    wave = get_pose("wave")
    rots = np.stack([jog.rotations, wave.rotations])
    trans = np.stack([jog.translation, wave.translation])
    batched = body_keypoints(body, rots, trans)
    single = body_keypoints(body, wave.rotations, wave.translation)
    assert np.allclose(batched.all()[1], single.all())
    # waving raises a hand above the head
    assert max(single.body[4, 1], single.body[7, 1]) > single.body[0, 1]
    # face landmarks move rigidly with the head: distances between them are preserved
    rest = body_keypoints(body, _rest())
    d0 = np.linalg.norm(rest.face[None] - rest.face[:, None], axis=-1)
    d1 = np.linalg.norm(single.face[None] - single.face[:, None], axis=-1)
    assert np.abs(d0 - d1).max() < 1e-3


def test_projection_drops_out_of_image_points(body):
    kp = body_keypoints(body, _rest())
    verts, _ = body.pose_vertices(_rest())
    cam = pose_camera(verts, "front", (512, 512))
    # zoom onto the head: the feet fall outside and must be missing, not clamped to the border
    from kyara.render.camera import view_camera

    head = body.rest_joints[BONE_INDEX["head"]]
    close = view_camera("front", head - 0.15, head + 0.15, size=(256, 256))
    kp2 = project_keypoints(kp, close)
    assert np.all(kp2.body[[10, 13], 2] == 0) and np.all(kp2.body[[10, 13], :2] == 0)
    assert kp2.body[0, 2] == 1.0
    full = project_keypoints(kp, cam)
    assert np.all(full.body[:, 2] == 1.0)


def test_openpose_json_round_trip_of_a_posed_body(tmp_path, body):
    pose = get_pose("kung-fu")
    kp = body_keypoints(body, pose.rotations, pose.translation)
    verts, _ = body.pose(pose)
    kp2 = project_keypoints(kp, pose_camera(verts, 30.0, (768, 512)))
    path = tmp_path / "pose.json"
    write_openpose_json(path, [kp2], 768, 512)
    people, w, h = read_openpose_json(path)
    assert (w, h) == (768, 512) and len(people) == 1
    assert people[0].allclose(kp2, atol=1e-9)
