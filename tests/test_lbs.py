"""Forward kinematics, linear-blend skinning and rotation helpers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from kyara.body.layout import body_layout
from kyara.body.params import PRESETS
from kyara.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS
from kyara.pose.lbs import (
    dense_to_sparse_weights,
    forward_kinematics,
    linear_blend_skinning,
    linear_blend_skinning_reference,
    skinning_transforms,
    sparse_to_dense_weights,
)
from kyara.pose.rotations import (
    axis_angle_to_quat,
    euler_to_quat,
    matrix_to_euler,
    matrix_to_quat,
    quat_apply,
    quat_mul,
    quat_slerp,
    quat_to_axis_angle,
    quat_to_matrix,
    rotation_between,
)

REST = body_layout(PRESETS["teen-girl"]).joints  # [55, 3] metres
BI = BONE_INDEX


def _random_rotmats(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 0.6) -> np.ndarray:
    return axis_angle_to_matrix_np(rng.normal(0.0, scale, shape + (3,)))


def axis_angle_to_matrix_np(v: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(v.reshape(-1, 3)).as_matrix().reshape(v.shape[:-1] + (3, 3))


def _rest_rotmats(frames: tuple[int, ...] = ()) -> np.ndarray:
    return np.broadcast_to(np.eye(3), frames + (NUM_BONES, 3, 3)).copy()


def _stand_in_mesh(rng: np.random.Generator, n: int = 400, k: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points scattered around the skeleton with ``k`` random influences each (rows sum to 1)."""
    anchor = rng.integers(0, NUM_BONES, n)
    verts = REST[anchor] + rng.normal(0.0, 0.03, (n, 3))
    idx = np.stack([rng.choice(NUM_BONES, k, replace=False) for _ in range(n)])
    w = rng.random((n, k)) + 0.05
    w /= w.sum(1, keepdims=True)
    return verts, idx, w


# ---------------------------------------------------------------- forward kinematics


def test_fk_rest_pose_returns_rest_joints():
    rot, pos = forward_kinematics(_rest_rotmats(), np.zeros(3), REST, PARENTS)
    np.testing.assert_allclose(pos, REST, atol=1e-12)
    np.testing.assert_allclose(rot, _rest_rotmats(), atol=1e-12)


def test_fk_left_elbow_90_about_minus_y_puts_hand_forward():
    rots = _rest_rotmats()
    rots[BI["leftLowerArm"]] = Rotation.from_rotvec([0.0, -np.pi / 2, 0.0]).as_matrix()
    _, pos = forward_kinematics(rots, np.zeros(3), REST, PARENTS)
    elbow, hand = REST[BI["leftLowerArm"]], REST[BI["leftHand"]]
    dx, dy, dz = hand - elbow
    # hand-computed: about -Y by 90 deg maps +X -> +Z and +Z -> -X
    np.testing.assert_allclose(pos[BI["leftHand"]], elbow + [-dz, dy, dx], atol=1e-12)
    forearm = np.linalg.norm(hand - elbow)
    assert pos[BI["leftHand"]][2] - elbow[2] == pytest.approx(forearm, abs=0.02)
    # the upper body did not move; the fingers went along with the hand
    np.testing.assert_allclose(pos[BI["leftLowerArm"]], elbow, atol=1e-12)
    tip = pos[BI["leftMiddleDistal"]]
    assert tip[2] > pos[BI["leftHand"]][2] + 0.05


def test_fk_root_translation_and_rotation():
    rots = _rest_rotmats()
    rots[BI["hips"]] = Rotation.from_rotvec([0.0, np.pi, 0.0]).as_matrix()  # turn around
    t = np.array([0.1, -0.2, 0.3])
    _, pos = forward_kinematics(rots, t, REST, PARENTS)
    hips = REST[BI["hips"]]
    expected = (REST - hips) * np.array([-1.0, 1.0, -1.0]) + hips + t
    np.testing.assert_allclose(pos, expected, atol=1e-12)


def test_fk_batched_equals_per_frame():
    rng = np.random.default_rng(0)
    rots = _random_rotmats(rng, (5, 3, NUM_BONES))
    trans = rng.normal(0.0, 0.1, (5, 3, 3))
    g_rot, g_pos = forward_kinematics(rots, trans, REST, PARENTS)
    assert g_rot.shape == (5, 3, NUM_BONES, 3, 3) and g_pos.shape == (5, 3, NUM_BONES, 3)
    for a in range(5):
        for b in range(3):
            r1, p1 = forward_kinematics(rots[a, b], trans[a, b], REST, PARENTS)
            np.testing.assert_allclose(g_rot[a, b], r1, atol=1e-12)
            np.testing.assert_allclose(g_pos[a, b], p1, atol=1e-12)


def test_fk_rejects_bad_shape():
    with pytest.raises(ValueError, match="expected"):
        forward_kinematics(np.zeros((10, 3, 3)), np.zeros(3), REST, PARENTS)


# ---------------------------------------------------------------- skinning


def test_skinning_transforms_map_rest_joints_to_posed_joints():
    rng = np.random.default_rng(1)
    g_rot, g_pos = forward_kinematics(_random_rotmats(rng, (NUM_BONES,)), rng.normal(0, 0.1, 3), REST, PARENTS)
    a = skinning_transforms(g_rot, g_pos, REST)  # [J, 3, 4]
    mapped = np.einsum("jik,jk->ji", a[..., :3], REST) + a[..., 3]
    np.testing.assert_allclose(mapped, g_pos, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbs_matches_reference(dtype):
    rng = np.random.default_rng(2)
    verts, idx, w = _stand_in_mesh(rng)
    dense = sparse_to_dense_weights(idx, w, NUM_BONES)
    rots = _random_rotmats(rng, (3, NUM_BONES))
    g_rot, g_pos = forward_kinematics(rots, rng.normal(0, 0.1, (3, 3)), REST, PARENTS)
    a = skinning_transforms(g_rot, g_pos, REST)  # [3, J, 3, 4]
    fast = linear_blend_skinning(verts.astype(dtype), dense.astype(dtype), a, chunk=2)
    assert fast.shape == (3, len(verts), 3) and fast.dtype == dtype
    tol = 1e-10 if dtype == np.float64 else 2e-5
    for f in range(3):
        ref = linear_blend_skinning_reference(verts, idx, w, a[f])
        np.testing.assert_allclose(fast[f], ref, atol=tol)
    # the reference is not trivially the rest pose
    assert np.abs(fast[0] - verts).max() > 0.05


def test_lbs_rest_pose_reproduces_rest_vertices():
    rng = np.random.default_rng(3)
    verts, idx, w = _stand_in_mesh(rng)
    dense = sparse_to_dense_weights(idx, w, NUM_BONES)
    g_rot, g_pos = forward_kinematics(_rest_rotmats(), np.zeros(3), REST, PARENTS)
    a = skinning_transforms(g_rot, g_pos, REST)
    np.testing.assert_allclose(linear_blend_skinning(verts, dense, a), verts, atol=1e-12)
    out32 = linear_blend_skinning(verts.astype(np.float32), dense.astype(np.float32), a)
    np.testing.assert_allclose(out32, verts, atol=5e-6)


def test_lbs_root_translation_moves_everything():
    rng = np.random.default_rng(4)
    verts, idx, w = _stand_in_mesh(rng)
    dense = sparse_to_dense_weights(idx, w, NUM_BONES)
    t = np.array([0.3, 0.1, -0.2])
    a = skinning_transforms(*forward_kinematics(_rest_rotmats(), t, REST, PARENTS), REST)
    np.testing.assert_allclose(linear_blend_skinning(verts, dense, a), verts + t, atol=1e-12)


def test_lbs_rejects_bad_transforms():
    with pytest.raises(ValueError, match="expected"):
        linear_blend_skinning(np.zeros((4, 3)), np.ones((4, NUM_BONES)) / NUM_BONES, np.zeros((2, 3, 4)))


def test_dense_sparse_weights_round_trip():
    rng = np.random.default_rng(5)
    _, idx, w = _stand_in_mesh(rng, n=50)
    dense = sparse_to_dense_weights(idx, w, NUM_BONES)
    np.testing.assert_allclose(dense.sum(1), 1.0)
    idx2, w2 = dense_to_sparse_weights(dense, 4)
    np.testing.assert_allclose(sparse_to_dense_weights(idx2, w2, NUM_BONES), dense, atol=1e-12)


# ---------------------------------------------------------------- rotations vs scipy


def test_quaternion_matrix_conversions_match_scipy():
    rng = np.random.default_rng(6)
    r = Rotation.random(200, random_state=7)
    q = r.as_quat()  # scipy is (x, y, z, w) too
    np.testing.assert_allclose(quat_to_matrix(q), r.as_matrix(), atol=1e-12)
    q2 = matrix_to_quat(r.as_matrix())
    assert np.all(q2[:, 3] >= 0)
    np.testing.assert_allclose(np.abs(np.sum(q2 * q, -1)), 1.0, atol=1e-12)
    v = rng.normal(size=(200, 3))
    np.testing.assert_allclose(quat_apply(q, v), r.apply(v), atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(axis_angle_to_quat(r.as_rotvec())), r.as_matrix(), atol=1e-12)
    np.testing.assert_allclose(
        Rotation.from_rotvec(quat_to_axis_angle(q)).as_matrix(), r.as_matrix(), atol=1e-12
    )


def test_quat_mul_is_composition():
    a, b = Rotation.random(50, random_state=8), Rotation.random(50, random_state=9)
    np.testing.assert_allclose(quat_to_matrix(quat_mul(a.as_quat(), b.as_quat())), (a * b).as_matrix(), atol=1e-12)


@pytest.mark.parametrize("order", ["XYZ", "ZXY", "YXZ", "ZYX", "xyz", "zxy"])
def test_euler_matches_scipy(order):
    rng = np.random.default_rng(10)
    ang = rng.uniform(-1.4, 1.4, (100, 3))  # middle angle inside +-90 deg: unique decomposition
    expected = Rotation.from_euler(order, ang).as_matrix()
    np.testing.assert_allclose(quat_to_matrix(euler_to_quat(ang, order)), expected, atol=1e-12)
    np.testing.assert_allclose(matrix_to_euler(expected, order), ang, atol=1e-9)


def test_euler_rejects_bad_order():
    with pytest.raises(ValueError, match="euler order"):
        euler_to_quat(np.zeros(3), "XQZ")


def test_slerp_matches_scipy_and_endpoints():
    r = Rotation.random(2, random_state=11)
    q0, q1 = r.as_quat()
    ts = np.linspace(0, 1, 7)
    expected = Slerp([0, 1], r)(ts).as_matrix()
    got = quat_slerp(np.broadcast_to(q0, (7, 4)), np.broadcast_to(q1, (7, 4)), ts)
    np.testing.assert_allclose(quat_to_matrix(got), expected, atol=1e-10)
    np.testing.assert_allclose(quat_to_matrix(quat_slerp(q0, q1, 0.0)), r[0].as_matrix(), atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(quat_slerp(q0, q1, 1.0)), r[1].as_matrix(), atol=1e-12)


def test_rotation_between_maps_a_onto_b():
    rng = np.random.default_rng(12)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    got = quat_apply(rotation_between(a, b), a / np.linalg.norm(a, axis=1, keepdims=True))
    np.testing.assert_allclose(got, b / np.linalg.norm(b, axis=1, keepdims=True), atol=1e-10)
    opp = quat_apply(rotation_between(np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0])), np.array([0.0, 1.0, 0.0]))
    np.testing.assert_allclose(opp, [0.0, -1.0, 0.0], atol=1e-10)
