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


# -- which keypoints a view shows: segments and own segments ------------------------------------
def test_every_bone_has_a_segment_and_every_segment_a_bone():
    from kyara.body.skeleton import BONES
    from kyara.pose.keypoints import BONE_SEGMENT, SEGMENT_INDEX, SEGMENT_NAMES, bone_segment

    assert sorted(set(BONE_SEGMENT.tolist())) == list(range(len(SEGMENT_NAMES)))
    assert bone_segment("neck") == bone_segment("jaw") == SEGMENT_INDEX["head"]
    assert bone_segment("leftShoulder") == bone_segment("hips") == SEGMENT_INDEX["torso"]
    assert bone_segment("rightIndexDistal") == SEGMENT_INDEX["rightHand"]
    assert bone_segment("leftToes") == SEGMENT_INDEX["leftFoot"]
    for b in BONES:  # a side's bones never land on the other side
        name = SEGMENT_NAMES[bone_segment(b)]
        for side, other in (("left", "right"), ("right", "left")):
            assert not (b.startswith(side) and name.startswith(other)), (b, name)
    with pytest.raises(ValueError, match="humanoid bone"):
        bone_segment("tail")


def test_own_segments_of_joints_ears_hands_and_face():
    from kyara.pose.keypoints import SEGMENT_NAMES, keypoint_own_segments

    own = keypoint_own_segments()
    names = lambda k: {SEGMENT_NAMES[s] for s in np.flatnonzero(own[k])}  # noqa: E731
    assert names(3) == {"rightUpperArm", "rightLowerArm"}  # elbow
    assert names(7) == {"leftLowerArm", "leftHand"}  # wrist
    assert names(5) == {"torso", "leftUpperArm"}  # shoulder
    assert names(11) == {"torso", "leftUpperLeg"} and names(13) == {"leftLowerLeg", "leftFoot"}  # hip, ankle
    assert names(1) == {"torso", "head", "leftUpperArm", "rightUpperArm"}  # neck
    assert names(0) == names(14) == {"head"} and names(16) == names(17) == set()  # nose, eye, ears
    assert names(18) == {"leftLowerArm", "leftHand"} and names(25) == {"leftHand"}  # left wrist, a finger
    assert names(39) == {"rightLowerArm", "rightHand"} and all(names(k) == {"head"} for k in range(60, 130))


def test_body_segments_lie_where_their_bones_are(body):
    from kyara.pose.keypoints import SEGMENT_INDEX, face_segments, vertex_segments

    seg = vertex_segments(body)
    assert seg.shape == (body.num_vertices,) and seg.min() >= 0  # the bare body is all body
    c = {name: body.vertices[seg == i].mean(axis=0) for name, i in SEGMENT_INDEX.items()}
    assert c["leftHand"][0] > c["leftLowerArm"][0] > c["leftUpperArm"][0] > c["torso"][0] > c["rightUpperArm"][0]
    assert c["head"][1] > c["torso"][1] > c["leftUpperLeg"][1] > c["leftLowerLeg"][1] > c["leftFoot"][1]
    fs = face_segments(np.array([[0, 1, 2], [0, 1, 1], [2, 0, 1]]), np.array([5, 7, 9]))
    assert fs.tolist() == [5, 7, 9]  # no two corners agree: the first corner's; else the majority


def test_visible_keypoints_checks_the_mesh_size(body):
    from kyara.pose.keypoints import visible_keypoints

    kp = body_keypoints(body, _rest())
    verts = body.vertices
    cam = pose_camera(verts, "front", (64, 64))
    with pytest.raises(ValueError, match="expected the body's"):
        visible_keypoints(body, kp, [cam], verts[:-1])
    assert visible_keypoints(body, kp, [cam], verts)[0, :18].all()  # rest T-pose, front: all 18
