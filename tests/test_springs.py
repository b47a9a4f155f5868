"""VRM spring bones: hanging under gravity, lag and settle, stillness, colliders, lengths, batched vs loop."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.body.layout import body_layout
from kyara.body.params import get_preset
from kyara.body.skeleton import BONE_INDEX, NUM_BONES
from kyara.motion.springs import (CapsuleCollider, SphereCollider, SpringChain, SpringSettings,
                                  motion_bone_transforms, simulate_springs, simulate_springs_reference)
from kyara.pose.pose import Motion
from kyara.pose.rotations import axis_angle_to_quat, quat_identity

HEAD = BONE_INDEX["head"]


@pytest.fixture(scope="module")
def rest_joints():
    return body_layout(get_preset("teen-girl")).joints


def _ponytail(rest_joints, k=5, seg=0.05, direction=(0.0, 0.0, -1.0), **settings):
    """A chain of ``k`` joints leaving the back of the head horizontally."""
    start = rest_joints[HEAD] + np.array([0.0, 0.08, -0.08])
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    joints = start + seg * np.arange(k)[:, None] * d
    return SpringChain(joints, "head", SpringSettings(**settings))


def _still(n_frames: int) -> np.ndarray:
    """Driver transforms [F, 55, 3, 4] of the rest pose held still."""
    A = np.zeros((n_frames, NUM_BONES, 3, 4))
    A[..., :3] = np.eye(3)
    return A


def _segments(pos):
    return np.linalg.norm(np.diff(pos, axis=-2), axis=-1)


@pytest.fixture(scope="module")
def walk_transforms(rest_joints):
    from kyara.motion import load_motion, retarget

    skel, mocap = load_motion("walk")
    m = retarget(mocap, skel, get_preset("teen-girl"), fps=30)
    return motion_bone_transforms(rest_joints, m)


def test_chain_hangs_down_under_gravity(rest_joints):
    chain = _ponytail(rest_joints, stiffness=0.0, gravity_power=1.0, drag_force=0.4)
    res = simulate_springs([chain], _still(240), dt=1 / 30)[0]
    d = np.diff(res.positions[-1], axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    assert np.all(d[:, 1] < -0.99)  # every segment points straight down
    assert res.positions[-1, -1, 1] < res.positions[-1, 0, 1] - 0.19
    # a stiff chain under the same gravity droops less than a limp one
    stiff = simulate_springs([_ponytail(rest_joints, stiffness=2.0, gravity_power=1.0)], _still(240))[0]
    assert res.positions[-1, -1, 1] < stiff.positions[-1, -1, 1] < chain.joints_rest[-1, 1]


def test_no_stiffness_no_gravity_full_drag_keeps_it_still(rest_joints):
    chain = _ponytail(rest_joints, stiffness=0.0, gravity_power=0.0, drag_force=1.0)
    res = simulate_springs([chain], _still(60))[0]
    assert np.allclose(res.positions, chain.joints_rest[None], atol=1e-12)
    assert np.allclose(res.rotations, np.eye(3), atol=1e-12)


def test_tail_lags_when_the_head_moves_then_settles(rest_joints):
    """The head slides +X for 0.5 s then stops: the tail trails behind, then returns to rest shape."""
    n, move = 150, 15
    A = _still(n)
    x = np.concatenate([np.linspace(0.0, 0.3, move), np.full(n - move, 0.3)])
    A[:, :, 0, 3] = x[:, None]  # every bone translated along +X
    chain = _ponytail(rest_joints, stiffness=1.0, gravity_power=0.0, drag_force=0.4)
    res = simulate_springs([chain], A)[0]
    rigid = chain.joints_rest[None] + np.stack([x, 0 * x, 0 * x], axis=1)[:, None]  # carried like the head
    lag = rigid[:, -1, 0] - res.positions[:, -1, 0]
    assert lag[move - 1] > 0.02  # while moving the tip trails behind the head
    assert np.all(lag[1:move] > 0)
    assert np.abs(res.positions[-1] - rigid[-1]).max() < 1e-3  # settled back to the rest shape


def test_walk_makes_the_tail_swing_and_lengths_hold(rest_joints, walk_transforms):
    A = walk_transforms
    chain = _ponytail(rest_joints, k=6, stiffness=0.5, gravity_power=0.3, drag_force=0.3)
    res = simulate_springs([chain], A, dt=1 / 30)[0]
    seg = np.linalg.norm(np.diff(chain.joints_rest, axis=0), axis=1)
    assert np.abs(_segments(res.positions) - seg).max() < 1e-6
    head_pt = np.einsum("fij,j->fi", A[:, HEAD, :, :3], chain.joints_rest[0]) + A[:, HEAD, :, 3]
    assert np.allclose(res.positions[:, 0], head_pt)  # joint 0 rides on the head
    # the tip is not rigidly attached: its offset from the head changes over the walk
    rel = np.einsum("fji,fj->fi", A[:, HEAD, :, :3], res.positions[:, -1] - head_pt)
    assert np.ptp(rel, axis=0).max() > 0.02
    # rotations are proper and turn each joint's rest axis onto its tail
    R = res.rotations[:, :-1]
    assert np.allclose(R @ np.swapaxes(R, -1, -2), np.eye(3), atol=1e-9)
    axis = np.diff(chain.joints_rest, axis=0) / seg[:, None]
    tails = np.einsum("fkij,kj->fki", R, axis) * seg[:, None] + res.positions[:, :-1]
    assert np.allclose(tails, res.positions[:, 1:], atol=1e-9)


def test_sphere_collider_pushes_the_chain_out(rest_joints):
    chain = _ponytail(rest_joints, stiffness=0.0, gravity_power=1.0, drag_force=0.4, hit_radius=0.01)
    tip = chain.joints_rest[-1]
    centre = tip + np.array([0.0, -0.03, 0.0])  # the tip starts 3 cm above the centre: inside
    col = SphereCollider(None, tuple(centre), 0.05)
    res = simulate_springs([chain], _still(40), [col])[0]
    d = np.linalg.norm(res.positions[:, 1:] - centre, axis=-1)  # every frame, every tail
    assert np.all(d >= 0.05 + 0.01 - 1e-9)
    assert np.linalg.norm(chain.joints_rest[1:] - centre, axis=-1).min() < 0.06  # it did start inside
    free = simulate_springs([chain], _still(40))[0]
    assert np.linalg.norm(free.positions[:, 1:] - centre, axis=-1).min() < 0.06  # without it: inside
    seg = np.linalg.norm(np.diff(chain.joints_rest, axis=0), axis=1)
    assert np.abs(_segments(res.positions) - seg).max() < 1e-6


def test_capsule_collider_on_a_bone_keeps_the_chain_out(rest_joints, walk_transforms):
    A = walk_transforms[:40]
    chain = _ponytail(rest_joints, k=6, direction=(0.0, -1.0, -0.3), stiffness=0.2, gravity_power=1.0)
    a = rest_joints[BONE_INDEX["upperChest"]] + np.array([0.0, 0.0, -0.12])
    b = rest_joints[BONE_INDEX["hips"]] + np.array([0.0, 0.0, -0.12])
    col = CapsuleCollider("upperChest", tuple(a), tuple(b), 0.08)
    res = simulate_springs([chain], A, [col])[0]
    ca = np.einsum("fij,j->fi", A[:, BONE_INDEX["upperChest"], :, :3], a) + A[:, BONE_INDEX["upperChest"], :, 3]
    cb = np.einsum("fij,j->fi", A[:, BONE_INDEX["upperChest"], :, :3], b) + A[:, BONE_INDEX["upperChest"], :, 3]
    p = res.positions[:, 1:]
    ab = (cb - ca)[:, None]
    t = np.clip(np.sum((p - ca[:, None]) * ab, -1) / np.sum(ab * ab, -1), 0, 1)
    dist = np.linalg.norm(p - (ca[:, None] + t[..., None] * ab), axis=-1)
    assert dist.min() >= 0.08 + 0.02 - 1e-6


def test_batched_equals_reference_loop(rest_joints, walk_transforms):
    rng = np.random.default_rng(3)
    A = walk_transforms[:25]
    chains = [
        _ponytail(rest_joints, k=5, stiffness=0.8, gravity_power=0.5, drag_force=0.3),
        SpringChain(rest_joints[HEAD] + np.array([[0.1, 0.05, 0.0], [0.2, 0.0, 0.0], [0.25, -0.1, 0.05]]),
                    "head", tuple(SpringSettings(float(s), float(g), (0.2, -1.0, 0.1), float(d), 0.02)
                                  for s, g, d in rng.uniform(0.1, 1.0, (2, 3))), center="hips"),
        SpringChain(rest_joints[BONE_INDEX["hips"]] + np.array([[0.0, 0.0, -0.12], [0.0, -0.15, -0.15]]),
                    "hips", SpringSettings(0.5, 1.0), colliders=(1,)),
    ]
    cols = [SphereCollider("head", tuple(rest_joints[HEAD] + [0.0, 0.05, -0.2]), 0.08),
            CapsuleCollider("leftUpperLeg", tuple(rest_joints[BONE_INDEX["leftUpperLeg"]]),
                            tuple(rest_joints[BONE_INDEX["leftLowerLeg"]]), 0.07)]
    for substeps in (1, 3):
        fast = simulate_springs(chains, A, cols, dt=1 / 30, substeps=substeps)
        slow = simulate_springs_reference(chains, A, cols, dt=1 / 30, substeps=substeps)
        for f, s, c in zip(fast, slow, chains):
            assert f.positions.shape == (25, c.num_joints, 3) and f.rotations.shape == (25, c.num_joints, 3, 3)
            np.testing.assert_allclose(f.positions, s.positions, atol=1e-9)
            np.testing.assert_allclose(f.rotations, s.rotations, atol=1e-9)


def test_center_space_removes_inertia_of_the_center(rest_joints):
    """With the chain's center on the moving bone, a pure translation of everything leaves no lag."""
    n = 30
    A = _still(n)
    A[:, :, 0, 3] = np.linspace(0.0, 0.5, n)[:, None]
    chain = _ponytail(rest_joints, stiffness=0.5, gravity_power=0.0, drag_force=0.2)
    world = simulate_springs([chain], A)[0]
    centred = simulate_springs([SpringChain(chain.joints_rest, "head", chain.settings, center="head")], A)[0]
    rigid = chain.joints_rest[None] + A[:, HEAD, :, 3][:, None]
    assert np.abs(centred.positions - rigid).max() < 1e-9
    assert np.abs(world.positions - rigid).max() > 1e-3


def test_bad_chains_and_settings_raise_one_line(rest_joints):
    bad = [
        (lambda: SpringSettings(drag_force=1.5), "drag_force 1.5"),
        (lambda: SpringSettings(stiffness=-1), "stiffness -1"),
        (lambda: SpringSettings(gravity_dir=(0, 0, 0)), "gravity_dir"),
        (lambda: SpringChain(np.zeros((1, 3)), "head"), "K >= 2"),
        (lambda: SpringChain(np.zeros((3, 3)), "head"), "segment 0 has length"),
        (lambda: SpringChain(np.eye(3), "tail"), "chain parent 'tail'"),
        (lambda: SpringChain(np.eye(3), "head", (SpringSettings(),)), "expected one SpringSettings or 2"),
        (lambda: simulate_springs([_ponytail(rest_joints)], _still(3), dt=0), "dt 0"),
        (lambda: simulate_springs([_ponytail(rest_joints)], np.zeros((3, 55, 3, 3))), "[F, J, 3, 4]"),
        (lambda: simulate_springs([SpringChain(np.eye(3), "head", colliders=(2,))], _still(2)), "names collider 2"),
    ]
    for make, needle in bad:
        with pytest.raises(ValueError) as e:
            make()
        assert needle in str(e.value) and "\n" not in str(e.value)


def test_motion_bone_transforms_move_points_with_bones(rest_joints):
    rot = quat_identity((2, NUM_BONES))
    rot[1, HEAD] = axis_angle_to_quat(np.array([0.0, np.pi / 2, 0.0]))
    A = motion_bone_transforms(rest_joints, Motion(rot, np.zeros((2, 3)), 30.0))
    p = rest_joints[HEAD] + np.array([0.0, 0.0, -0.1])  # 10 cm behind the head joint
    moved = A[1, HEAD, :, :3] @ p + A[1, HEAD, :, 3]
    assert np.allclose(A[0, :, :, :3], np.eye(3)) and np.allclose(moved, rest_joints[HEAD] + [-0.1, 0.0, 0.0])
