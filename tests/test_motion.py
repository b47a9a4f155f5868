"""Motion import (BVH, SMPL npz), name mapping and retargeting onto the VRM skeleton."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from kyara.body.layout import body_layout
from kyara.body.params import PRESETS
from kyara.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS
from kyara.motion import BUILTIN_MOTIONS, MocapMotion, RetargetConfig, load_builtin, load_motion, retarget
from kyara.motion.builtin import builtin_text
from kyara.motion.bvh import (
    UNIT_SCALES, _parse_motion_block, format_bvh, mocap_fk, parse_bvh, parse_motion_block_reference, read_bvh, write_bvh,
)
from kyara.motion.mapping import guess_mapping, mapping_indices, normalize_name, resolve_mapping
from kyara.motion.retarget import (
    lowest_foot_height, motion_as_mocap, resample_arrays, resample_arrays_reference, resample_motion,
    source_contacts, vrm_skeleton,
)
from kyara.motion.smpl import read_smpl_npz, smpl_skeleton
from kyara.pose.lbs import forward_kinematics
from kyara.pose.pose import Motion
from kyara.pose.rotations import axis_angle_to_quat, quat_mul, quat_to_matrix

CORPUS = Path(__file__).parent / "data" / "motion_corpus"


@lru_cache(maxsize=None)
def builtin(name: str):
    return load_builtin(name)


def fk_target(motion: Motion, layout):
    return forward_kinematics(motion.matrices(), motion.translation, layout.joints, PARENTS)


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def angle_deg(a, b):
    return np.degrees(np.arccos(np.clip(np.sum(unit(a) * unit(b), axis=-1), -1.0, 1.0)))


# ---------------------------------------------------------------------------------------------
# BVH import / export


@pytest.mark.parametrize("name", BUILTIN_MOTIONS)
def test_bvh_roundtrip_keeps_world_positions(tmp_path, name):
    skel, motion = builtin(name)
    sub = MocapMotion(motion.rotations[::9], motion.root_translation[::9], motion.fps)
    path = write_bvh(tmp_path / f"{name}.bvh", skel, sub)
    skel2, sub2 = read_bvh(path)
    assert skel2.names == skel.names and skel2.scale == pytest.approx(skel.scale)
    assert sub2.num_frames == sub.num_frames and sub2.fps == pytest.approx(sub.fps)
    _, p1 = mocap_fk(skel, sub)
    _, p2 = mocap_fk(skel2, sub2)
    assert np.abs(p1 - p2).max() < 1e-3
    # the motion really moves: the check above would not be vacuous
    assert np.ptp(p1[:, 0], axis=0).max() > 0.1


def test_bvh_writer_orders_channels_by_hierarchy(tmp_path):
    """The VRM skeleton's bone list is not depth-first and uses Z X Y channels."""
    layout = body_layout(PRESETS["teen-girl"])
    skel = vrm_skeleton(layout)
    rng = np.random.default_rng(0)
    motion = MocapMotion(axis_angle_to_quat(rng.normal(0, 0.4, (6, NUM_BONES, 3))), rng.normal(0, 0.2, (6, 3)), 30.0)
    skel2, motion2 = read_bvh(write_bvh(tmp_path / "vrm.bvh", skel, motion), motion_scale=1.0)
    _, p1 = mocap_fk(skel, motion)
    _, p2 = mocap_fk(skel2, motion2)
    order = [skel2.names.index(n) for n in skel.names]
    assert np.abs(p1 - p2[:, order]).max() < 1e-4


def test_bvh_channel_orders_and_joint_positions():
    """Any rotation order per joint; position channels on a non-root joint replace its offset."""
    text = """HIERARCHY
ROOT Hips
{
  OFFSET 0 1 0
  CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation
  JOINT Spine {
    OFFSET 0 1 0
    CHANNELS 6 Xposition Yposition Zposition Yrotation Zrotation Xrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.04
0 1 0 90 0 0 0 2 0 0 0 0
"""
    skel, motion = parse_bvh(text, motion_scale=1.0)
    assert motion.fps == 25.0
    rot, pos = mocap_fk(skel, motion)
    # the root turned 90 deg about X: its +Y offset (now 2 from the position channels) points to +Z
    assert np.allclose(pos[0, 1], [0, 1, 2], atol=1e-9)
    assert np.allclose(quat_to_matrix(motion.rotations[0, 0]) @ [0, 1, 0], [0, 0, 1], atol=1e-9)


def test_fast_frame_parser_matches_reference():
    text = builtin_text("dance")
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("Frame Time")) + 1
    block = "\n".join(lines[start:])
    fast = _parse_motion_block(block, start + 1, 435, 96, "dance")
    slow = parse_motion_block_reference(block.split("\n"), start + 1, 435, 96, "dance")
    assert fast.shape == (435, 96)
    np.testing.assert_array_equal(fast, slow)


def test_unit_detection_and_override():
    skel, _ = builtin("walk")
    assert skel.scale == pytest.approx(UNIT_SCALES["cmu"])  # CMU's 1/0.45 inch
    leg = np.linalg.norm(skel.offsets[skel.index("LeftLeg")]) + np.linalg.norm(skel.offsets[skel.index("LeftFoot")])
    assert 0.75 < leg < 0.95
    # the same skeleton written in centimetres is detected as centimetres
    skel_cm = type(skel)(skel.names, skel.parents, skel.offsets, skel.channels, skel.end_sites, scale=0.01)
    _, motion = builtin("walk")
    again, _ = parse_bvh(format_bvh(skel_cm, motion.slice(0, 3)))
    assert again.scale == 0.01
    np.testing.assert_allclose(again.offsets, skel.offsets, atol=1e-6)
    forced, _ = parse_bvh(builtin_text("walk"), motion_scale=0.1)
    assert forced.scale == 0.1


def test_builtins_drop_the_reference_frame():
    for name in BUILTIN_MOTIONS:
        text = builtin_text(name)
        frames = int(next(l for l in text.splitlines() if l.startswith("Frames:")).split(":")[1])
        skel, motion = builtin(name)
        assert motion.num_frames == frames - 1 and motion.fps == 120.0
        # frame 1 of the file (integer reference angles) is gone: the first kept frame is real motion
        _, full = parse_bvh(text)
        np.testing.assert_allclose(motion.rotations[0], full.rotations[1])
    with pytest.raises(ValueError, match="motion 'moonwalk' is not a built-in"):
        load_motion("moonwalk")


# ---------------------------------------------------------------------------------------------
# malformed input


CORPUS_ERRORS = {
    "truncated.bvh": "line 20: truncated file, 2 of 4",
    "wrong_count.bvh": "line 20: frame 2 has 8 values, expected 9",
    "nan.bvh": "line 21: frame 3 has a non-finite value 'nan'",
    "inf.bvh": "line 20: frame 2 has a non-finite value 'inf'",
    "zero_frames.bvh": "line 17: motion has 0 frames",
    "bad_header.bvh": "line 8: OFFSET has 2 values, expected 3",
    "bad_channel.bvh": "line 5: unknown channel 'Wrotation'",
    "no_motion.bvh": "truncated file, no MOTION section",
    "unclosed.bvh": "line 6: MOTION before the hierarchy is closed",
    "unknown_joints.bvh": "unknown joint names",
    "amass_no_trans.npz": "no key 'trans'",
    "amass_no_rate.npz": "no key 'mocap_frame_rate'",
    "aist_no_scaling.npz": "no key 'smpl_scaling'",
    "amass_bad_width.npz": r"poses have shape \(3, 70\)",
}


@pytest.mark.parametrize("name", sorted(CORPUS_ERRORS))
def test_malformed_files_give_one_line_errors(name):
    assert sorted(CORPUS_ERRORS) == sorted(p.name for p in CORPUS.iterdir())
    with pytest.raises(ValueError, match=CORPUS_ERRORS[name]) as info:
        skel, motion = load_motion(CORPUS / name)
        retarget(motion, skel, "chibi")
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# mapping


def test_name_tables_and_user_override(tmp_path):
    assert normalize_name("mixamorig:LeftUpLeg") == normalize_name("LeftUpLeg") == "leftupleg"
    table, m = guess_mapping(["mixamorig:Hips", "mixamorig:Spine", "mixamorig:Spine1", "mixamorig:Spine2",
                              "mixamorig:LeftUpLeg", "mixamorig:LeftHandThumb1", "mixamorig:LeftHandPinky2"])
    assert table == "mixamo"
    assert m["mixamorig:Spine2"] == "upperChest" and m["mixamorig:LeftHandPinky2"] == "leftLittleIntermediate"
    skel, _ = builtin("walk")
    table, m = guess_mapping(skel.names)
    assert table == "cmu" and m["LeftUpLeg"] == "leftUpperLeg" and m["Spine1"] == "chest"
    assert not {"LHipJoint", "LowerBack", "Neck1"} & set(m)  # folded, no humanoid bone
    assert guess_mapping(smpl_skeleton("smplx").names)[0] == "smpl"
    ad = ["root", "hip", "torso", "neck", "left_shoulder", "left_elbow", "left_hand", "left_hip", "left_knee", "left_foot"]
    table, m = guess_mapping(ad)
    assert table == "animated_drawings" and m["left_hand"] == "leftHand" and m["left_foot"] == "leftFoot"
    # a user YAML moves the chest onto Spine and drops the index finger
    yml = tmp_path / "map.yaml"
    yml.write_text("Spine: chest\nLeftHandIndex1: null\n")
    m = resolve_mapping(skel.names, yml)
    assert m["Spine"] == "chest" and "Spine1" not in m and "LeftHandIndex1" not in m
    yml.write_text("Spine: notABone\n")
    with pytest.raises(ValueError, match="'notABone' is not a VRM humanoid bone"):
        resolve_mapping(skel.names, yml)
    with pytest.raises(ValueError, match="joint 'Tail'"):
        resolve_mapping(skel.names, {"Tail": "hips"})


def test_unmapped_joint_rotation_folds_into_next_bone():
    """A bend of CMU's LowerBack (no humanoid bone) shows up in the target spine."""
    skel, motion = builtin("walk")
    m = motion.slice(0, 1)
    bent = MocapMotion(m.rotations.copy(), m.root_translation, m.fps)
    q = axis_angle_to_quat(np.array([np.radians(30), 0, 0]))
    lb = skel.index("LowerBack")
    bent.rotations[0, lb] = quat_mul(bent.rotations[0, lb], q)
    cfg = RetargetConfig(ground=False)
    a = retarget(m, skel, "teen-girl", config=cfg)
    b = retarget(bent, skel, "teen-girl", config=cfg)
    ra, _ = fk_target(a, body_layout(PRESETS["teen-girl"]))
    rb, _ = fk_target(b, body_layout(PRESETS["teen-girl"]))
    s = BONE_INDEX["spine"]
    rel = ra[0, s].T @ rb[0, s]  # the extra rotation of the spine, in its own frame
    assert np.degrees(np.arccos((np.trace(rel) - 1) / 2)) == pytest.approx(30, abs=0.01)
    assert np.allclose(ra[0, BONE_INDEX["hips"]], rb[0, BONE_INDEX["hips"]])


# ---------------------------------------------------------------------------------------------
# retargeting


def test_retarget_onto_own_skeleton_is_identity():
    layout = body_layout(PRESETS["adult-woman"])
    rng = np.random.default_rng(1)
    motion = Motion(axis_angle_to_quat(rng.normal(0, 0.4, (20, NUM_BONES, 3))), rng.normal(0, 0.1, (20, 3)), 30.0)
    out = retarget(motion_as_mocap(motion), vrm_skeleton(layout), layout, config=RetargetConfig(ground=False))
    dots = np.abs(np.sum(out.rotations * motion.rotations, axis=-1))
    assert dots.min() > 1 - 1e-9
    np.testing.assert_allclose(out.translation, motion.translation, atol=1e-9)


@pytest.mark.parametrize("preset", ["chibi", "teen-girl", "heroic"])
def test_cmu_reference_frame_becomes_tpose(preset):
    text = builtin_text("walk")
    skel, full = parse_bvh(text)
    layout = body_layout(PRESETS[preset])
    ref = retarget(full.slice(0, 1), skel, layout)
    _, pos = fk_target(ref, layout)
    p = pos[0]
    j = BONE_INDEX
    for s, sx in (("left", 1.0), ("right", -1.0)):
        assert angle_deg(p[j[f"{s}Foot"]] - p[j[f"{s}UpperLeg"]], [0, -1, 0]) < 10
        assert angle_deg(p[j[f"{s}LowerLeg"]] - p[j[f"{s}UpperLeg"]], [0, -1, 0]) < 10
        assert angle_deg(p[j[f"{s}Hand"]] - p[j[f"{s}UpperArm"]], [sx, 0, 0]) < 10
        assert angle_deg(p[j[f"{s}Hand"]] - p[j[f"{s}LowerArm"]], [sx, 0, 0]) < 10
    # without the T-pose alignment the CMU zero pose keeps its ~20 deg leg splay
    raw = retarget(full.slice(0, 1), skel, layout, config=RetargetConfig(align_tpose=False))
    _, praw = fk_target(raw, layout)
    assert angle_deg(praw[0, j["leftFoot"]] - praw[0, j["leftUpperLeg"]], [0, -1, 0]) > 15


def test_amass_zup_npz_retargets_upright(tmp_path):
    F = 40
    rng = np.random.default_rng(2)
    poses = np.zeros((F, 156))
    poses[:, 0] = np.pi / 2  # AMASS root orientation: model Y-up -> world Z-up
    poses[:, 3:66] = rng.normal(0, 0.08, (F, 63))
    trans = np.zeros((F, 3))
    trans[:, 1] = np.linspace(0, 1.0, F)  # walks along world +Y (horizontal in Z-up)
    trans[:, 2] = 0.95
    path = tmp_path / "amass.npz"
    np.savez(path, poses=poses, trans=trans, mocap_framerate=np.array(60.0), gender=np.array("neutral"))
    skel, motion = read_smpl_npz(path)
    assert skel.num_joints == 52 and motion.fps == 60.0
    layout = body_layout(PRESETS["teen-girl"])
    out = retarget(motion, skel, layout)
    rot, pos = fk_target(out, layout)
    head, hips = pos[:, BONE_INDEX["head"]], pos[:, BONE_INDEX["hips"]]
    assert np.all(head[:, 1] - hips[:, 1] > 0.8 * (layout.joint("head")[1] - layout.joint("hips")[1]))
    assert abs(lowest_foot_height(rot, pos, layout)).max() < 0.02
    assert (hips[-1] - hips[0])[2] < -0.5 and abs((hips[-1] - hips[0])[1]) < 0.05  # Z-up +Y became -Z


def test_aist_style_npz(tmp_path):
    F = 10
    path = tmp_path / "aist.npz"
    trans = np.tile([0.0, 90.0, 50.0], (F, 1))
    np.savez(path, smpl_poses=np.zeros((F, 72)), smpl_trans=trans, smpl_scaling=np.array([100.0]))
    skel, motion = read_smpl_npz(path)
    assert skel.num_joints == 24 and motion.fps == 60.0
    np.testing.assert_allclose(motion.root_translation[0], [0.0, 0.9, 0.5])  # Y up, metres
    np.testing.assert_allclose(motion.rotations[:, :, 3], 1.0)


def test_jump_leaves_the_floor():
    skel, motion = builtin("jump")
    layout = body_layout(PRESETS["teen-girl"])
    rot, pos = fk_target(retarget(motion, skel, layout, fps=30), layout)
    low = lowest_foot_height(rot, pos, layout)
    assert low.max() > 0.05
    assert np.percentile(np.abs(low), 50) < 0.01  # and it lands again


def _walk_on(preset: str, config=None):
    skel, motion = builtin("walk")
    layout = body_layout(PRESETS[preset])
    out = retarget(motion, skel, layout, config=config)
    rot, pos = fk_target(out, layout)
    _, src_pos = mocap_fk(skel, motion)
    contact = source_contacts(src_pos, mapping_indices(skel.names, resolve_mapping(skel.names)), 0.03, motion.fps)
    return layout, lowest_foot_height(rot, pos, layout), contact, pos


def test_walk_keeps_feet_on_floor_and_scales_stride():
    strides, legs = {}, {}
    for preset in ("chibi", "heroic"):
        layout, low, contact, pos = _walk_on(preset)
        # contact: frames where the source's lowest foot joint is near its floor level
        assert contact.mean() > 0.5
        assert np.abs(low[contact]).max() < 0.01, preset
        sep = pos[:, BONE_INDEX["leftFoot"], :] - pos[:, BONE_INDEX["rightFoot"], :]
        strides[preset] = np.linalg.norm(sep[:, [0, 2]], axis=1).max()
        j = layout.joints
        legs[preset] = np.linalg.norm(j[BONE_INDEX["leftLowerLeg"]] - j[BONE_INDEX["leftUpperLeg"]]) + np.linalg.norm(
            j[BONE_INDEX["leftFoot"]] - j[BONE_INDEX["leftLowerLeg"]])
    ratio = (strides["chibi"] / strides["heroic"]) / (legs["chibi"] / legs["heroic"])
    assert 0.8 < ratio < 1.2
    # the correction is what keeps the feet down: without it the heroic body floats or sinks
    _, raw, contact, _ = _walk_on("heroic", RetargetConfig(ground=False))
    assert np.abs(raw[contact] - np.median(raw[contact])).max() > 0.01


def test_resampling_and_trim():
    rng = np.random.default_rng(3)
    q = axis_angle_to_quat(rng.normal(0, 0.5, (13, 4, 3)))
    t = rng.normal(0, 1, (13, 3))
    fast = resample_arrays(q, t, 120.0, 50.0)
    slow = resample_arrays_reference(q, t, 120.0, 50.0)
    assert fast[0].shape == (6, 4, 4)  # 12/120 s = 0.1 s -> frames at 0, 0.02, ..., 0.1
    np.testing.assert_allclose(np.abs(np.sum(fast[0] * slow[0], -1)), 1.0, atol=1e-12)
    np.testing.assert_allclose(fast[1], slow[1], atol=1e-12)
    skel, motion = builtin("walk")  # 343 frames at 120 fps
    out = retarget(motion, skel, "child", fps=30)
    assert out.fps == 30 and out.num_frames == 86  # floor(342 / 4) + 1
    assert retarget(motion, skel, "child", fps=30, trim=(0, 121)).num_frames == 31
    up = resample_motion(out, 60)
    assert up.num_frames == 171
    np.testing.assert_allclose(up.rotations[::2], out.rotations, atol=1e-12)
    with pytest.raises(ValueError, match="trim"):
        retarget(motion, skel, "child", trim=(400, None))


def test_quaternion_transfer_matches_matrix_reference():
    from kyara.motion.retarget import tpose_alignment, transfer_rotations, transfer_rotations_reference

    skel, motion = builtin("dance")
    m = motion.slice(0, 40)
    layout = body_layout(PRESETS["child"])
    index = mapping_indices(skel.names, resolve_mapping(skel.names))
    C = tpose_alignment(skel.rest_joints, skel.end_sites, index, layout)
    _, fast = transfer_rotations(m.rotations, skel.parents, C, index)
    g_rot, _ = mocap_fk(skel, m)
    slow = transfer_rotations_reference(g_rot, C, index)
    np.testing.assert_allclose(quat_to_matrix(fast), slow, atol=1e-9)
    # and the feet-only FK used by the ground correction agrees with the full FK
    out = retarget(m, skel, layout)
    rot, pos = fk_target(out, layout)
    from kyara.motion.retarget import _lowest_from_world

    world = transfer_rotations(m.rotations, skel.parents, C, index)[0]
    np.testing.assert_allclose(_lowest_from_world(world, out.translation, layout), lowest_foot_height(rot, pos, layout), atol=1e-9)


# ---------------------------------------------------------------------------------------------
# other tools' files: axes, rest orientation, templates, sizes (generated BVH files: test_bvh_files.py)


def test_declared_frames_never_size_an_allocation():
    lines = ["0 0 0", "1 1 1", "2 2 2"]
    with pytest.raises(ValueError, match="truncated file, 3 of 1000000000000 frame lines"):
        parse_motion_block_reference(lines, 10, 10**12, 3, "x.bvh")  # a preallocation would be 24 TB
    with pytest.raises(ValueError, match="truncated file, 3 of 1000000000000"):
        _parse_motion_block("\n".join(lines), 10, 10**12, 3, "x.bvh")


def test_deep_hierarchy_is_read_and_written_without_recursion(tmp_path):
    from kyara.motion.bvh import MocapSkeleton

    J = 1500  # deeper than Python's recursion limit
    skel = MocapSkeleton(tuple(f"j{k}" for k in range(J)), np.arange(J) - 1, np.tile([0.0, 0.01, 0.0], (J, 1)),
                         (("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"),)
                         + (("Zrotation", "Xrotation", "Yrotation"),) * (J - 1))
    motion = MocapMotion(axis_angle_to_quat(np.full((2, J, 3), 0.001)), np.zeros((2, 3)), 30.0)
    skel2, motion2 = read_bvh(write_bvh(tmp_path / "deep.bvh", skel, motion), motion_scale=1.0, up="+y")
    assert skel2.num_joints == J and list(skel2.parents) == list(skel.parents)
    np.testing.assert_allclose(mocap_fk(skel2, motion2)[1], mocap_fk(skel, motion)[1], atol=1e-3)  # 6-digit angles


def test_world_turn_rotates_positions_and_conjugates_rotations():
    from kyara.motion.axes import parse_up, rotate_mocap, up_rotation

    skel, motion = builtin("dance")
    m = motion.slice(0, 20)
    for up in ("+z", "-z", "+x", "-x", "-y"):
        R = up_rotation(up)
        assert np.allclose(R @ R.T, np.eye(3)) and np.isclose(np.linalg.det(R), 1.0)
        assert np.allclose(R @ np.eye(3)["xyz".index(up[1])] * (1 if up[0] == "+" else -1), [0, 1, 0])
        s2, m2 = rotate_mocap(skel, m, R)
        g1, p1 = mocap_fk(skel, m)
        g2, p2 = mocap_fk(s2, m2)
        np.testing.assert_allclose(p2, p1 @ R.T, atol=1e-9)
        np.testing.assert_allclose(g2, R @ g1 @ R.T, atol=1e-9)
    assert parse_up("auto") is None and parse_up("Z") == "+z" and parse_up("-x") == "-x"
    with pytest.raises(ValueError, match="--up 'sideways'"):
        parse_up("sideways")


def test_animation_rest_ignores_joint_orients():
    """Re-base every joint of a clip by a random constant rotation (offsets and rotations changed,
    FK unchanged): the zero pose no longer stands, and reading the rest from the animation gives
    the same retargeted animation as for the original rig."""
    from kyara.motion.alignment import zero_pose_is_upright
    from kyara.motion.bvh import MocapSkeleton

    skel, motion = builtin("jump")
    m = motion.slice(0, 240)
    rng = np.random.default_rng(4)
    B = quat_to_matrix(axis_angle_to_quat(rng.normal(0, 1.5, (skel.num_joints, 3))))
    par = skel.parents
    offs = np.array([skel.offsets[j] if p < 0 else B[p].T @ skel.offsets[j] for j, p in enumerate(par)])
    ends = {j: B[j].T @ e for j, e in skel.end_sites.items()}
    L = quat_to_matrix(m.rotations)
    L2 = np.stack([L[:, j] @ B[j] if p < 0 else B[p].T @ L[:, j] @ B[j] for j, p in enumerate(par)], axis=1)
    from kyara.pose.rotations import matrix_to_quat

    skel2 = MocapSkeleton(skel.names, par, offs, skel.channels, ends, skel.scale)
    m2 = MocapMotion(matrix_to_quat(L2), m.root_translation, m.fps)
    np.testing.assert_allclose(mocap_fk(skel2, m2)[1], mocap_fk(skel, m)[1], atol=1e-9)
    index = mapping_indices(skel.names, resolve_mapping(skel.names))
    assert zero_pose_is_upright(skel.rest_joints, index) and not zero_pose_is_upright(skel2.rest_joints, index)
    cfg = RetargetConfig(rest="animation")
    a = retarget(m, skel, "chibi", config=cfg)
    b = retarget(m2, skel2, "chibi")  # auto: the zero pose does not stand
    assert np.abs(np.sum(a.rotations * b.rotations, axis=-1)).min() > 1 - 1e-9
    np.testing.assert_allclose(a.translation, b.translation, atol=1e-9)
    with pytest.raises(ValueError, match="rest mode 'tpose'"):
        retarget(m, skel, "chibi", config=RetargetConfig(rest="tpose"))


def test_mapping_template_reads_back(tmp_path):
    from kyara.motion.mapping import load_mapping_yaml, mapping_template

    names = ["Root", "null", "1", "a b:c", "Pelvis", "L_Thigh", "L_Shin", "L_Ankle", "R_Thigh", "R_Shin", "R_Ankle"]
    parents = [-1, 0, 0, 0, 0, 4, 5, 6, 4, 8, 9]
    text = mapping_template(names, parents)
    (tmp_path / "m.yaml").write_text(text)
    back = load_mapping_yaml(tmp_path / "m.yaml")
    assert list(back) == names  # every joint, odd names quoted
    assert back["Pelvis"] == "hips" and back["L_Shin"] == "leftLowerLeg" and back["R_Ankle"] == "rightFoot"
    assert back["null"] is None and back["Root"] is None
    m = resolve_mapping(names, tmp_path / "m.yaml", required=("hips", "leftFoot"))
    assert m["L_Thigh"] == "leftUpperLeg"
