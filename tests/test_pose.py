"""Poses: joint limits, authoring by angles, the 17 presets, mirror and interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.body.layout import body_layout
from kyara.body.params import PRESETS
from kyara.body.skeleton import BONE_INDEX, BONES, MIRROR, NUM_BONES, PARENTS
from kyara.pose.lbs import forward_kinematics
from kyara.pose.limits import (
    LIMITS,
    angles_to_rotation,
    clamp_pose,
    clamp_rotations,
    limit_violations,
    pose_from_angles,
    pose_to_angles,
    rotation_to_angles,
    within_limits,
)
from kyara.pose.pose import Motion, Pose, interpolate_poses, mirror_pose
from kyara.pose.presets import POSE_NAMES, get_pose
from kyara.pose.rotations import axis_angle_to_quat, quat_to_matrix

LAYOUT = body_layout(PRESETS["teen-girl"])
REST = LAYOUT.joints
BI = BONE_INDEX


def fk(pose: Pose, rest: np.ndarray = REST) -> np.ndarray:
    """World joint positions ``[55, 3]``."""
    return forward_kinematics(pose.matrices(), pose.translation, rest, PARENTS)[1]


def _same_rotations(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> bool:
    return bool(np.allclose(quat_to_matrix(a), quat_to_matrix(b), atol=atol))


def _random_pose(rng: np.random.Generator) -> Pose:
    v = rng.normal(0.0, 0.5, (NUM_BONES, 3))
    return Pose(axis_angle_to_quat(v), rng.normal(0.0, 0.1, 3))


# ---------------------------------------------------------------- conventions (checked by FK)


@pytest.mark.parametrize("side", ["left", "right"])
def test_elbow_flex_moves_forearm_forward(side):
    j = fk(pose_from_angles({f"{side}LowerArm": {"flex": 90}}))
    d = j[BI[f"{side}Hand"]] - j[BI[f"{side}LowerArm"]]
    assert d[2] > 0.2 and abs(d[0]) < 0.02


@pytest.mark.parametrize("side", ["left", "right"])
def test_leg_flexion_directions(side):
    j = fk(pose_from_angles({f"{side}LowerLeg": {"flex": 90}}))
    assert (j[BI[f"{side}Foot"]] - j[BI[f"{side}LowerLeg"]])[2] < -0.3  # shin goes backward
    j = fk(pose_from_angles({f"{side}UpperLeg": {"flex": 90}}))
    assert (j[BI[f"{side}LowerLeg"]] - j[BI[f"{side}UpperLeg"]])[2] > 0.3  # thigh goes forward
    j = fk(pose_from_angles({f"{side}UpperLeg": {"abduct": 30}}))
    out = (j[BI[f"{side}LowerLeg"]] - j[BI[f"{side}UpperLeg"]])[0] * (1 if side == "left" else -1)
    assert out > 0.15  # leg goes outward on both sides


def test_a_pose_arms_45_degrees_below_horizontal():
    j = fk(get_pose("a-pose"))
    for side, sx in (("left", 1.0), ("right", -1.0)):
        d = j[BI[f"{side}Hand"]] - j[BI[f"{side}UpperArm"]]
        assert np.degrees(np.arctan2(-d[1], sx * d[0])) == pytest.approx(45.0, abs=1.0)


# ---------------------------------------------------------------- limits and clamping


def test_angles_round_trip_within_limits():
    rng = np.random.default_rng(0)
    for bone, lim in LIMITS.items():
        a = rng.uniform(lim.low, lim.high, (20, 3))
        np.testing.assert_allclose(rotation_to_angles(bone, angles_to_rotation(bone, a)), a, atol=1e-6)


def test_middle_axis_ranges_keep_decomposition_unique():
    for lim in LIMITS.values():
        assert -90 <= lim.axes[1].low <= lim.axes[1].high <= 90


def test_elbow_bent_backwards_is_clamped_to_straight():
    p = pose_from_angles({"leftLowerArm": {"flex": -40}, "rightLowerArm": {"flex": -40}}, clamp=False)
    assert set(limit_violations(p)) == {"leftLowerArm", "rightLowerArm"}
    c = clamp_pose(p)
    assert within_limits(c)
    assert pose_to_angles(c)["leftLowerArm"]["flex"] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(fk(c), REST, atol=1e-9)  # straight arm = rest


def test_knee_hyperextension_and_overflexion_are_clamped():
    p = pose_from_angles({"leftLowerLeg": {"flex": -25}, "rightLowerLeg": {"flex": 170}}, clamp=False)
    c = pose_to_angles(clamp_pose(p))
    assert c["leftLowerLeg"]["flex"] == pytest.approx(0.0, abs=1e-6)
    assert c["rightLowerLeg"]["flex"] == pytest.approx(LIMITS["rightLowerLeg"].high[0], abs=1e-6)


def test_clamp_keeps_in_range_angles_and_only_touches_bad_axes():
    p = pose_from_angles({"leftUpperLeg": {"flex": 40, "abduct": 10, "twist": 80}}, clamp=False)
    c = pose_to_angles(clamp_pose(p))["leftUpperLeg"]
    assert c["flex"] == pytest.approx(40.0, abs=1e-6) and c["abduct"] == pytest.approx(10.0, abs=1e-6)
    assert c["twist"] == pytest.approx(45.0, abs=1e-6)


def test_clamp_random_poses_lands_within_limits_and_is_idempotent():
    rng = np.random.default_rng(1)
    for _ in range(5):
        c = clamp_pose(_random_pose(rng))
        assert within_limits(c, tol_deg=1e-4), limit_violations(c)
        assert _same_rotations(clamp_pose(c).rotations, c.rotations, atol=1e-7)


def test_clamp_rotations_batched_equals_per_frame():
    rng = np.random.default_rng(2)
    poses = [_random_pose(rng) for _ in range(4)]
    batched = clamp_rotations(np.stack([p.rotations for p in poses]))
    for p, b in zip(poses, batched):
        assert _same_rotations(clamp_pose(p).rotations, b)


def test_pose_from_angles_clips_and_validates():
    p = pose_from_angles({"leftLowerArm": {"flex": 200}})
    assert pose_to_angles(p)["leftLowerArm"]["flex"] == pytest.approx(150.0, abs=1e-6)
    with pytest.raises(ValueError, match="unknown bone"):
        pose_from_angles({"leftElbow": {"flex": 10}})
    with pytest.raises(ValueError, match="flex, side, twist"):
        pose_from_angles({"leftLowerArm": {"bend": 10}})
    with pytest.raises(ValueError, match="root_translation"):
        pose_from_angles({}, root_translation=(0.0, 1.0))
    np.testing.assert_allclose(pose_from_angles({}, root_translation=(0.0, -0.1, 0.2)).translation, [0, -0.1, 0.2])


def test_imported_motion_is_not_clamped_implicitly():
    bad = pose_from_angles({"leftLowerArm": {"flex": -40}}, clamp=False)
    m = Motion.from_poses([bad, bad])
    assert _same_rotations(m.frame(0).rotations, bad.rotations)
    assert not within_limits(m.frame(1))


# ---------------------------------------------------------------- presets


def test_exactly_the_17_presets():
    assert POSE_NAMES == (
        "a-pose", "t-pose", "stand", "walk", "jog", "run", "jump", "leap", "sit", "kneel", "wave",
        "dab", "kung-fu", "punch", "kick", "arms-crossed", "peace-sign",
    )


@pytest.mark.parametrize("name", POSE_NAMES)
def test_preset_within_limits_and_clamp_leaves_it_unchanged(name):
    p = get_pose(name)
    assert within_limits(p), limit_violations(p)
    assert _same_rotations(clamp_pose(p).rotations, p.rotations, atol=1e-8)
    j = fk(p)
    assert j[:, 1].min() > -1e-6  # nothing below the floor


def test_get_pose_unknown_name_lists_names():
    with pytest.raises(ValueError, match="a-pose, t-pose, stand"):
        get_pose("moonwalk")
    with pytest.raises(ValueError, match="body preset"):
        get_pose("sit", "giant")


FEET = [BI[f"{s}{b}"] for s in ("left", "right") for b in ("Foot", "Toes")]


@pytest.mark.parametrize("name", ["a-pose", "t-pose", "stand", "walk", "jog", "wave", "dab", "punch", "kick",
                                  "arms-crossed", "peace-sign", "sit", "kung-fu"])
def test_grounded_presets_have_a_foot_on_the_floor(name):
    for body in ("teen-girl", "chibi", "heroic"):
        rest = body_layout(PRESETS[body]).joints
        j = fk(get_pose(name, body), rest)
        assert np.min(j[FEET, 1] - rest[FEET, 1]) == pytest.approx(0.0, abs=1e-9)


def test_jump_and_leap_are_in_the_air():
    for name in ("jump", "leap"):
        j = fk(get_pose(name))
        assert np.min(j[FEET, 1] - REST[FEET, 1]) > 0.15
    j = fk(get_pose("jump"))
    assert get_pose("jump").translation[1] > 0.0
    for s in ("left", "right"):
        assert j[BI[f"{s}Foot"], 1] > j[BI[f"{s}LowerLeg"], 1] - 0.3  # knees tucked


def test_sit_thighs_horizontal_at_chair_height_for_any_leg_length():
    for body in ("chibi", "teen-girl", "heroic"):
        rest = body_layout(PRESETS[body]).joints
        j = fk(get_pose("sit", body), rest)
        for s in ("left", "right"):
            hip, knee = j[BI[f"{s}UpperLeg"]], j[BI[f"{s}LowerLeg"]]
            assert abs(hip[1] - knee[1]) < 0.03 * np.linalg.norm(hip - knee) + 0.01
            assert knee[1] == pytest.approx(rest[BI[f"{s}LowerLeg"], 1], abs=0.02)
    assert get_pose("sit", "heroic").translation[1] < get_pose("sit", "chibi").translation[1]


def test_kneel_right_knee_touches_floor_left_foot_planted():
    j = fk(get_pose("kneel"))
    assert j[BI["rightLowerLeg"], 1] == pytest.approx(LAYOUT.dims["r_knee"], abs=1e-6)
    assert j[BI["leftFoot"], 1] == pytest.approx(REST[BI["leftFoot"], 1], abs=0.01)


def test_jog_elbows_bent_and_arms_opposite_legs():
    a = pose_to_angles(get_pose("jog"))
    for s in ("left", "right"):
        assert 80 <= a[f"{s}LowerArm"]["flex"] <= 100
    j = fk(get_pose("jog"))
    hips_z = j[BI["hips"], 2]
    assert j[BI["leftFoot"], 2] > hips_z and j[BI["rightFoot"], 2] < hips_z  # left leg forward
    assert j[BI["leftLowerArm"], 2] < j[BI["rightLowerArm"], 2]  # right arm forward


def test_peace_sign_v_fingers_near_face():
    j = fk(get_pose("peace-sign"))

    def straightness(finger: str) -> float:
        a, b, c = (j[BI[f"right{finger}{s}"]] for s in ("Proximal", "Intermediate", "Distal"))
        return float(np.dot(b - a, c - b) / np.linalg.norm(b - a) / np.linalg.norm(c - b))

    assert straightness("Index") > 0.99 and straightness("Middle") > 0.99
    assert straightness("Ring") < 0.3 and straightness("Little") < 0.3
    assert np.linalg.norm(j[BI["rightHand"]] - j[BI["head"]]) < 0.25
    assert j[BI["rightIndexDistal"], 1] > j[BI["rightHand"], 1]  # fingers up


# ---------------------------------------------------------------- mirror and interpolation


def test_mirror_is_an_involution_and_reflects_fk():
    rng = np.random.default_rng(3)
    p = _random_pose(rng)
    assert _same_rotations(mirror_pose(mirror_pose(p)).rotations, p.rotations, atol=1e-12)
    j, jm = fk(p), fk(mirror_pose(p))
    np.testing.assert_allclose(jm[MIRROR], j * np.array([-1.0, 1.0, 1.0]), atol=1e-9)


def test_mirror_keeps_presets_within_limits():
    wave = get_pose("wave")
    m = mirror_pose(wave)
    assert within_limits(m)
    a, am = pose_to_angles(wave), pose_to_angles(m)
    for k, v in a["rightUpperArm"].items():
        assert am["leftUpperArm"][k] == pytest.approx(v, abs=1e-6)


def test_interpolate_endpoints_and_midpoint():
    a = pose_from_angles({"leftLowerArm": {"flex": 0}}, root_translation=(0, 0, 0))
    b = pose_from_angles({"leftLowerArm": {"flex": 90}}, root_translation=(0, -0.2, 0.4))
    assert _same_rotations(interpolate_poses(a, b, 0.0).rotations, a.rotations)
    assert _same_rotations(interpolate_poses(a, b, 1.0).rotations, b.rotations)
    mid = interpolate_poses(a, b, 0.5)
    assert pose_to_angles(mid)["leftLowerArm"]["flex"] == pytest.approx(45.0, abs=1e-6)
    np.testing.assert_allclose(mid.translation, [0, -0.1, 0.2])
    with pytest.raises(ValueError, match="not finite"):
        interpolate_poses(a, b, float("nan"))


def test_motion_from_keyframes_and_mirrored():
    keys = [get_pose("stand"), get_pose("walk"), get_pose("jog")]
    m = Motion.from_keyframes(keys, 5)
    assert m.num_frames == 5
    assert _same_rotations(m.rotations[0], keys[0].rotations) and _same_rotations(m.rotations[-1], keys[-1].rotations)
    assert _same_rotations(m.rotations[2], keys[1].rotations)
    loop = Motion.from_keyframes(keys, 6, loop=True)
    assert _same_rotations(loop.rotations[2], keys[1].rotations)
    assert not _same_rotations(loop.rotations[-1], keys[0].rotations)
    mm = m.mirrored()
    assert _same_rotations(mm.frame(3).rotations, mirror_pose(m.frame(3)).rotations)
    with pytest.raises(ValueError, match="num_frames"):
        Motion.from_keyframes(keys, 0)


def test_all_bones_have_limits():
    assert set(LIMITS) == set(BONES)
