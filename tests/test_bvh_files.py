"""BVH files from other tools: Z-up exports, rigs whose zero pose does not stand, other joint
names, other units, and hostile files.

Every variant is generated here from a real CMU clip (``kyara/data/motions``), by rewriting its
text or, for the re-based rig, with SciPy's rotations; a small parser and FK written here (not
kyara's) check the generated files and give the independent reference: where the performer's
head, hips and feet are, and which way they face, in every frame.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from kyara.body.layout import body_layout
from kyara.body.params import PRESETS
from kyara.body.skeleton import BONE_INDEX, PARENTS
from kyara.cli.main import run
from kyara.motion import load_motion, retarget
from kyara.motion.builtin import builtin_text
from kyara.motion.retarget import RetargetConfig, lowest_foot_height
from kyara.pose.lbs import forward_kinematics

PRESET = "teen-girl"
STEP = 4  # generated clips keep every 4th CMU frame (120 -> 30 fps)


# ---------------------------------------------------------------------------------------------
# an independent mini BVH reader / writer / FK (SciPy rotations), for the real CMU text


class Mini:
    """A parsed BVH: names, parents, offsets [J, 3], channels, end sites, values [F, C], frame time."""

    def __init__(self, names, parents, offsets, channels, ends, values, frame_time):
        self.names, self.parents, self.channels, self.ends = names, parents, channels, ends
        self.offsets = np.asarray(offsets, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.frame_time = frame_time

    def cols(self):
        """Column slice per joint (file order = joint order here)."""
        out, c = [], 0
        for ch in self.channels:
            out.append(slice(c, c + len(ch)))
            c += len(ch)
        return out


def mini_parse(text: str) -> Mini:
    tokens = text.split()
    names, parents, offsets, channels, ends = [], [], [], [], {}
    stack, i, end_of = [], 1, None
    assert tokens[0] == "HIERARCHY"
    while tokens[i] != "MOTION":
        t = tokens[i]
        if t in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            i += 2
        elif t == "End":
            end_of = stack[-1]
            i += 2
        elif t == "{":
            stack.append(len(names) - 1 if end_of is None else -1)
            i += 1
        elif t == "}":
            if stack.pop() == -1:
                end_of = None
            i += 1
        elif t == "OFFSET":
            v = [float(x) for x in tokens[i + 1:i + 4]]
            if end_of is not None:
                ends[end_of] = v
            else:
                offsets[-1] = v
            i += 4
        elif t == "CHANNELS":
            n = int(tokens[i + 1])
            channels[-1] = tuple(tokens[i + 2:i + 2 + n])
            i += 2 + n
        else:
            raise AssertionError(f"mini parser: unexpected {t}")
    frames = int(tokens[i + 2])  # MOTION Frames: N Frame Time: t
    frame_time = float(tokens[i + 5])
    C = sum(len(c) for c in channels)
    values = np.array(tokens[i + 6:i + 6 + frames * C], dtype=float).reshape(frames, C)
    return Mini(names, parents, offsets, channels, ends, values, frame_time)


def mini_local(m: Mini) -> tuple[np.ndarray, np.ndarray]:
    """Local rotation matrices [F, J, 3, 3] and the root position [F, 3] (file units)."""
    F, J = len(m.values), len(m.names)
    R = np.tile(np.eye(3), (F, J, 1, 1))
    root = np.tile(m.offsets[0], (F, 1))
    for j, (ch, sl) in enumerate(zip(m.channels, m.cols())):
        vals = m.values[:, sl]
        rot = [(c[0].upper(), k) for k, c in enumerate(ch) if c.lower().endswith("rotation")]
        for c, k in ((c, k) for k, c in enumerate(ch) if c.lower().endswith("position")):
            root[:, "XYZ".index(c[0].upper())] = vals[:, k]
        if rot:
            order = "".join(a for a, _ in rot)
            R[:, j] = Rotation.from_euler(order, vals[:, [k for _, k in rot]], degrees=True).as_matrix()
    return R, root


def mini_fk(m: Mini) -> np.ndarray:
    """World joint positions [F, J, 3] in file units."""
    R, root = mini_local(m)
    F, J = R.shape[:2]
    G = np.empty_like(R)
    P = np.empty((F, J, 3))
    for j, p in enumerate(m.parents):
        if p < 0:
            G[:, j], P[:, j] = R[:, j], root
        else:
            G[:, j] = G[:, p] @ R[:, j]
            P[:, j] = P[:, p] + np.einsum("fik,k->fi", G[:, p], m.offsets[j])
    return P


def mini_write(m: Mini) -> str:
    kids = {j: [k for k, p in enumerate(m.parents) if p == j] for j in range(len(m.names))}
    out = ["HIERARCHY"]

    def emit(j, depth):
        tab = "  " * depth
        out.append(f"{tab}{'ROOT' if depth == 0 else 'JOINT'} {m.names[j]}")
        out.append(f"{tab}{{")
        out.append(f"{tab}  OFFSET " + " ".join(f"{x:.6f}" for x in m.offsets[j]))
        out.append(f"{tab}  CHANNELS {len(m.channels[j])} " + " ".join(m.channels[j]))
        for k in kids[j]:
            emit(k, depth + 1)
        if j in m.ends:
            out.extend([f"{tab}  End Site", f"{tab}  {{", f"{tab}    OFFSET " + " ".join(f"{x:.6f}" for x in m.ends[j]),
                        f"{tab}  }}"])
        out.append(f"{tab}}}")

    emit(0, 0)
    out += ["MOTION", f"Frames: {len(m.values)}", f"Frame Time: {m.frame_time:.8f}"]
    out += [" ".join(f"{v:.6f}" for v in row) for row in m.values]
    return "\n".join(out) + "\n"


@lru_cache(maxsize=None)
def cmu_text(name: str = "walk") -> str:
    """A real CMU clip without its reference frame 1, every STEP-th frame (text as the file has it)."""
    head, motion = builtin_text(name).split("MOTION", 1)
    lines = [l for l in motion.strip().split("\n")]
    frames = [l for l in lines[2:] if l.strip()][1::STEP]
    ft = float(lines[1].split(":")[1]) * STEP
    return head + f"MOTION\nFrames: {len(frames)}\nFrame Time: {ft:.8f}\n" + "\n".join(frames) + "\n"


# ---------------------------------------------------------------------------------------------
# generators: text rewrites of the CMU clip


def z_up_text(text: str) -> str:
    """The clip turned Z up by relabelling: world (x, y, z) -> (x, -z, y). Offsets rotate; channel
    axes are relabelled (conjugating by the turn maps a Y rotation to a Z rotation and a Z rotation
    to a -Y one) and the columns that change sign are negated."""
    head, motion = text.split("MOTION", 1)
    out, negate, col = [], [], 0
    for line in head.split("\n"):
        s = line.strip()
        if s.startswith("OFFSET"):
            x, y, z = (float(v) for v in s.split()[1:4])
            line = line[:line.index("OFFSET")] + f"OFFSET {x:.6f} {-z:.6f} {y:.6f}"
        elif s.startswith("CHANNELS"):
            parts = s.split()
            new = []
            for c in parts[2:]:
                axis, kind = c[0].upper(), c[1:]
                new.append({"X": "X", "Y": "Z", "Z": "Y"}[axis] + kind)
                if axis == "Z":
                    negate.append(col)
                col += 1
            line = line[:line.index("CHANNELS")] + " ".join(parts[:2] + new)
        out.append(line)
    lines = motion.strip().split("\n")
    rows = np.array([l.split() for l in lines[2:] if l.strip()], dtype=float)
    rows[:, negate] *= -1.0
    # channel order inside each joint is kept, so the product of rotations is the conjugated one
    return "\n".join(out) + "MOTION\n" + "\n".join(lines[:2]) + "\n" + "\n".join(
        " ".join(f"{v:.6f}" for v in r) for r in rows) + "\n"


def scaled_text(text: str, factor: float) -> str:
    """Lengths (offsets, position channels) multiplied by ``factor``: another unit."""
    m = mini_parse(text)
    m.offsets = m.offsets * factor
    m.ends = {j: [v * factor for v in e] for j, e in m.ends.items()}
    for ch, sl in zip(m.channels, m.cols()):
        for k, c in enumerate(ch):
            if c.lower().endswith("position"):
                m.values[:, sl.start + k] *= factor
    return mini_write(m)


def renamed_text(text: str, names: dict[str, str]) -> str:
    def sub(mt):
        return f"{mt.group(1)} {names.get(mt.group(2), mt.group(2))}"

    head, motion = text.split("MOTION", 1)
    return re.sub(r"(ROOT|JOINT)\s+(\S+)", sub, head) + "MOTION" + motion


def rebased_text(text: str, twist_deg: float = 37.0) -> str:
    """A rig whose zero pose lies along +X (FBX-style joint orients kept in the channels).

    Per joint a constant world frame ``B_j`` (the shortest turn from +X onto the joint's first
    non-zero child offset, then a twist about +X); offsets become ``B_parent^T o``, end sites
    ``B_j^T e``, local rotations ``B_parent^T L B_j`` (root ``L B_root``). The FK is unchanged.
    """
    m = mini_parse(text)
    R, _ = mini_local(m)
    J = len(m.names)
    B = np.tile(np.eye(3), (J, 1, 1))
    for j in range(J):
        kids = [k for k, p in enumerate(m.parents) if p == j and np.linalg.norm(m.offsets[k]) > 1e-6]
        d = m.offsets[kids[0]] if kids else np.asarray(m.ends.get(j, [0.0, 0.0, 0.0]))
        if np.linalg.norm(d) < 1e-6:  # e.g. CMU's Hips: all children at 0, an arbitrary frame
            B[j] = Rotation.from_euler("ZX", [90.0, 30.0], degrees=True).as_matrix()
            continue
        turn, _ = Rotation.align_vectors([d], [[1.0, 0.0, 0.0]])  # +X -> d
        B[j] = turn.as_matrix() @ Rotation.from_euler("X", twist_deg * (j % 5 - 2), degrees=True).as_matrix()
    new_off = m.offsets.copy()
    for j, p in enumerate(m.parents):
        if p >= 0:
            new_off[j] = B[p].T @ m.offsets[j]
    m.ends = {j: list(B[j].T @ np.asarray(e)) for j, e in m.ends.items()}
    values = m.values.copy()
    for j, (ch, sl) in enumerate(zip(m.channels, m.cols())):
        p = m.parents[j]
        L = (R[:, j] @ B[j]) if p < 0 else (B[p].T @ R[:, j] @ B[j])
        rot = [(c[0].upper(), k) for k, c in enumerate(ch) if c.lower().endswith("rotation")]
        assert len(rot) == 3, "every CMU joint has three rotation channels"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gimbal-lock notes; the matrices stay exact
            ang = Rotation.from_matrix(L).as_euler("".join(a for a, _ in rot), degrees=True)
        values[:, [sl.start + k for _, k in rot]] = ang
    m.offsets, m.values = new_off, values
    return mini_write(m)


# renamings of the 31 CMU joints; joints a rig family does not have get names no table knows
CMU_JOINTS = ("Hips LHipJoint LeftUpLeg LeftLeg LeftFoot LeftToeBase RHipJoint RightUpLeg RightLeg RightFoot "
              "RightToeBase LowerBack Spine Spine1 Neck Neck1 Head LeftShoulder LeftArm LeftForeArm LeftHand "
              "LeftFingerBase LeftHandIndex1 LThumb RightShoulder RightArm RightForeArm RightHand RightFingerBase "
              "RightHandIndex1 RThumb").split()


def _sides(template: dict[str, str]) -> dict[str, str]:
    out = {}
    for k, v in template.items():
        if "{" not in k:
            out[k] = v
            continue
        for Side, S, s in (("Left", "L", "l"), ("Right", "R", "r")):
            out[k.format(Side=Side, S=S, s=s)] = v.format(Side=Side, S=S, s=s)
    return out


RIGS: dict[str, tuple[str, dict[str, str]]] = {
    # family: (table expected to be picked, CMU name -> the family's name)
    "cmu_variant": ("cmu_variant", _sides({  # AnimatedDrawings' cmu1 clips
        "LowerBack": "lowerback", "Spine": "Chest", "Spine1": "Chest2", "Neck": "lowerneck", "Neck1": "Neck",
        "{Side}UpLeg": "{Side}Hip", "{Side}Leg": "{Side}Knee", "{Side}Foot": "{Side}Ankle", "{Side}ToeBase": "{Side}Toe",
        "{Side}Shoulder": "{Side}Collar", "{Side}Arm": "{Side}Shoulder", "{Side}ForeArm": "{Side}Elbow",
        "{Side}Hand": "{Side}Wrist", "{Side}FingerBase": "{s}hand", "{Side}HandIndex1": "{S}Fingers"})),
    "mocapbank": ("collar", _sides({
        "{S}HipJoint": "{S}HipRoot_x", "LowerBack": "Waist_x", "Spine1": "Chest", "Neck1": "Neck_x",
        "{Side}UpLeg": "{Side}Hip", "{Side}Leg": "{Side}Knee", "{Side}Foot": "{Side}Ankle", "{Side}ToeBase": "{Side}Toe",
        "{Side}Shoulder": "{Side}Collar", "{Side}Arm": "{Side}Shoulder", "{Side}ForeArm": "{Side}Elbow",
        "{Side}Hand": "{Side}Wrist", "{Side}FingerBase": "{Side}Palm_x", "{Side}HandIndex1": "{Side}Index_x",
        "{S}Thumb": "{Side}Thumb_x"})),
    "mixamo": ("mixamo", {**{n: f"mixamorig:{n}" for n in CMU_JOINTS}, **_sides({
        "{S}HipJoint": "{S}HipRoot_x", "LowerBack": "Waist_x", "Neck1": "Neck_x", "{Side}FingerBase": "{Side}Palm_x",
        "{S}Thumb": "mixamorig:{Side}HandThumb1"})}),
    "mixamo_no_prefix": ("mixamo", _sides({
        "{S}HipJoint": "{S}HipRoot_x", "LowerBack": "Waist_x", "Neck1": "Neck_x", "{Side}FingerBase": "{Side}Palm_x",
        "{S}Thumb": "{Side}HandThumb1"})),
    "rigify": ("rigify", _sides({
        "Hips": "DEF-spine", "{S}HipJoint": "MCH-hip.{S}", "LowerBack": "MCH-waist", "Spine": "DEF-spine.001",
        "Spine1": "DEF-spine.002", "Neck": "DEF-spine.004", "Neck1": "DEF-spine.005", "Head": "DEF-spine.006",
        "{Side}UpLeg": "DEF-thigh.{S}", "{Side}Leg": "DEF-shin.{S}", "{Side}Foot": "DEF-foot.{S}",
        "{Side}ToeBase": "DEF-toe.{S}", "{Side}Shoulder": "DEF-shoulder.{S}", "{Side}Arm": "DEF-upper_arm.{S}",
        "{Side}ForeArm": "DEF-forearm.{S}", "{Side}Hand": "DEF-hand.{S}", "{Side}FingerBase": "DEF-palm.02.{S}",
        "{Side}HandIndex1": "DEF-f_index.01.{S}", "{S}Thumb": "DEF-thumb.01.{S}"})),
    "blender_metarig": ("rigify", _sides({
        "Hips": "spine", "{S}HipJoint": "hip_x.{S}", "LowerBack": "waist_x", "Spine": "spine.001",
        "Spine1": "spine.002", "Neck": "spine.004", "Neck1": "spine.005", "Head": "spine.006",
        "{Side}UpLeg": "thigh.{S}", "{Side}Leg": "shin.{S}", "{Side}Foot": "foot.{S}", "{Side}ToeBase": "toe.{S}",
        "{Side}Shoulder": "shoulder.{S}", "{Side}Arm": "upper_arm.{S}", "{Side}ForeArm": "forearm.{S}",
        "{Side}Hand": "hand.{S}", "{Side}FingerBase": "palm.02.{S}", "{Side}HandIndex1": "f_index.01.{S}",
        "{S}Thumb": "thumb.01.{S}"})),
}
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
BODY_BONES = [i for i, b in enumerate(BONE_INDEX) if not any(f in b for f in FINGERS)]


def layout():
    return body_layout(PRESETS[PRESET])


def target_fk(motion):
    return forward_kinematics(motion.matrices(), motion.translation, layout().joints, PARENTS)


def retarget_text(tmp_path, text, name="clip.bvh", up=None, mapping=None, **kw):
    path = tmp_path / name
    path.write_text(text)
    skel, mocap = load_motion(path, up=up, mapping=mapping)
    return skel, retarget(mocap, skel, layout(), mapping=mapping, **kw)


@lru_cache(maxsize=None)
def source_reference(name: str = "walk"):
    """From the original Y-up clip, with the mini reader and SciPy FK (no kyara code): per frame the
    facing direction [F, 3] (horizontal, unit) and the hips position [F, 3] in file units."""
    m = mini_parse(cmu_text(name))
    P = mini_fk(m)
    left = P[:, m.names.index("LeftUpLeg")] - P[:, m.names.index("RightUpLeg")]
    fwd = np.cross(left, [0.0, 1.0, 0.0])
    fwd[:, 1] = 0.0
    return fwd / np.linalg.norm(fwd, axis=1, keepdims=True), P[:, m.names.index("Hips")]


MIN_HEAD = {"walk": 0.8, "jump": 0.4, "dance": 0.4}  # lowest head-above-hips, x rest (crouches, bows)


def assert_plausible(out, name: str = "walk"):
    """The retargeted clip stands (head above hips in every frame), keeps its feet on the floor,
    faces where the performer faces and travels the same way (independent reference above)."""
    lay = layout()
    rot, pos = target_fk(out)
    hips, head = pos[:, BONE_INDEX["hips"]], pos[:, BONE_INDEX["head"]]
    rest = lay.joint("head")[1] - lay.joint("hips")[1]
    assert np.all(head[:, 1] - hips[:, 1] > MIN_HEAD[name] * rest), "head below the hips: upside down or lying"
    low = lowest_foot_height(rot, pos, lay)
    assert np.median(np.abs(low)) < 0.01 and low.min() > -0.03, "feet off the floor"
    rest_hips = lay.joint("hips")[1]
    assert 0.75 * rest_hips < np.median(hips[:, 1]) < 1.1 * rest_hips, "hips at an implausible height"
    fwd_src, hips_src = source_reference(name)
    left = pos[:, BONE_INDEX["leftUpperLeg"]] - pos[:, BONE_INDEX["rightUpperLeg"]]
    fwd = np.cross(left, [0.0, 1.0, 0.0])
    fwd[:, 1] = 0.0
    fwd /= np.linalg.norm(fwd, axis=1, keepdims=True)
    off = np.degrees(np.arccos(np.clip(np.sum(fwd * fwd_src, axis=1), -1, 1)))
    assert np.percentile(off, 95) < 20, f"facing differs from the performer's by {np.percentile(off, 95):.0f} deg"
    travel, travel_src = hips[-1] - hips[0], hips_src[-1] - hips_src[0]
    if np.linalg.norm(travel_src[[0, 2]]) > 1e-6:
        cos = travel[[0, 2]] @ travel_src[[0, 2]] / (np.linalg.norm(travel[[0, 2]]) * np.linalg.norm(travel_src[[0, 2]]))
        assert cos > np.cos(np.radians(10)), "travels another way than the performer"


@lru_cache(maxsize=None)
def baseline(name: str = "walk", rest: str = "auto"):
    skel, mocap = load_motion_text(cmu_text(name))
    return retarget(mocap, skel, layout(), config=RetargetConfig(rest=rest))


def load_motion_text(text):
    from kyara.motion.bvh import parse_bvh

    return parse_bvh(text, "<test>")


def rot_close(a, b, tol=1e-5, bones=None):
    sel = slice(None) if bones is None else bones
    dots = np.abs(np.sum(a.rotations[:, sel] * b.rotations[:, sel], axis=-1))
    return dots.min() > 1 - tol and np.abs(a.translation - b.translation).max() < 1e-4


# ---------------------------------------------------------------------------------------------
# Z up


@pytest.mark.parametrize("name", ["walk", "dance"])
def test_z_up_file_is_detected_and_stands(tmp_path, name):
    text = z_up_text(cmu_text(name))
    # the generated file really is Z up: its performer's head is above the feet along +Z
    m = mini_parse(text)
    P = mini_fk(m)
    assert np.all(P[:, m.names.index("Head"), 2] > P[:, m.names.index("LeftFoot"), 2])
    skel, out = retarget_text(tmp_path, text)
    assert skel.up == "+z"
    assert_plausible(out, name)
    assert rot_close(out, baseline(name))  # the same as the Y-up original
    # --up y (wrong here) reads it lying on its back: the check above is not vacuous
    skel, wrong = retarget_text(tmp_path, text, up="y")
    assert skel.up == "+y"
    with pytest.raises(AssertionError, match="head below the hips"):
        assert_plausible(wrong, name)


# ---------------------------------------------------------------------------------------------
# a rig whose zero pose lies along +X


@pytest.mark.parametrize("name", ["walk", "jump"])
def test_rig_with_x_zero_pose_stands(tmp_path, name):
    text = rebased_text(cmu_text(name))
    m, m0 = mini_parse(text), mini_parse(cmu_text(name))
    np.testing.assert_allclose(mini_fk(m), mini_fk(m0), atol=1e-4)  # the same performance ...
    rest = np.zeros((len(m.names), 3))
    for j, p in enumerate(m.parents):
        rest[j] = m.offsets[j] + (rest[p] if p >= 0 else 0)
    d = rest[m.names.index("Head")] - rest[m.names.index("Spine")]
    assert abs(d[1]) < 0.5 * np.linalg.norm(d)  # ... from a zero pose that does not stand
    skel, out = retarget_text(tmp_path, text)
    assert_plausible(out, name)
    # the rest read from the animation does not depend on the joints' zero orientations: the
    # same as the original rig read the same way. Against the original's zero-pose reading, legs
    # and lower spine agree within 2 cm; neck, head and arms within 8 cm (that reading keeps CMU's
    # spine curve and shoulder slope as anatomy, the animation reading puts them at the target's)
    assert rot_close(out, baseline(name, "animation"), tol=1e-6)
    _, pos = target_fk(out)
    _, pos0 = target_fk(baseline(name))
    dist = np.linalg.norm(pos - pos0, axis=-1)
    core = [BONE_INDEX[b] for b in ("hips", "spine", "chest")] + [
        BONE_INDEX[f"{s}{b}"] for s in ("left", "right") for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")]
    assert dist[:, core].max() < 0.02 and dist[:, BODY_BONES].max() < 0.08
    # reading the rest from this zero pose (the old behaviour) bends the torso: not vacuous
    skel, bent = retarget_text(tmp_path, text, config=RetargetConfig(rest="zero"))
    with pytest.raises(AssertionError):
        assert_plausible(bent, name)


# ---------------------------------------------------------------------------------------------
# other names, other units


@pytest.mark.parametrize("family", sorted(RIGS))
def test_renamed_rigs_use_their_table(tmp_path, family):
    from kyara.motion.mapping import guess_mapping

    table, names = RIGS[family]
    text = renamed_text(cmu_text("walk"), names)
    skel, out = retarget_text(tmp_path, text)
    assert guess_mapping(skel.names)[0] == table
    assert_plausible(out)
    # the family's names place the same CMU joints on the same bones: the same animation
    same = BODY_BONES if family == "mocapbank" else None  # MocapBank has no finger joints to name
    assert rot_close(out, baseline(), bones=same)


def test_rokoko_style_rig(tmp_path):
    """Rokoko: Mixamo's names without prefix, metacarpal joints, and a zero pose along +X."""
    names = _sides({"{S}HipJoint": "{S}HipRoot_x", "LowerBack": "Waist_x", "Neck1": "Neck_x",
                    "{Side}FingerBase": "{Side}InHandIndex", "{Side}HandIndex1": "{Side}HandIndex1",
                    "{S}Thumb": "{Side}HandThumb1"})
    text = renamed_text(rebased_text(cmu_text("walk"), twist_deg=-61.0), names)
    skel, out = retarget_text(tmp_path, text)
    from kyara.motion.mapping import guess_mapping

    assert guess_mapping(skel.names)[0] == "mixamo"
    assert_plausible(out)
    assert rot_close(out, baseline("walk", "animation"), tol=1e-6)


@pytest.mark.parametrize("unit,scale", [("cm", 0.01), ("inch", 0.0254), ("m", 1.0)])
def test_units_are_detected(tmp_path, unit, scale):
    from kyara.motion.units import UNIT_SCALES

    text = scaled_text(cmu_text("walk"), UNIT_SCALES["cmu"] / scale)
    skel, out = retarget_text(tmp_path, text)
    assert skel.scale == scale
    leg = np.linalg.norm(skel.offsets[skel.index("LeftLeg")]) + np.linalg.norm(skel.offsets[skel.index("LeftFoot")])
    assert 0.75 < leg < 0.95  # metres, whatever the file's unit
    assert rot_close(out, baseline(), tol=1e-6)
    assert_plausible(out)


@pytest.mark.parametrize("names,table,checks", [
    # AnimatedDrawings' cmu1 clips (jumping_jacks.bvh)
    (["Hips", "LHipJoint", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RHipJoint", "RightHip", "RightKnee",
      "RightAnkle", "RightToe", "lowerback", "Chest", "Chest2", "lowerneck", "Neck", "Head", "LeftCollar",
      "LeftShoulder", "LeftElbow", "LeftWrist", "lhand", "LFingers", "LThumb", "RightCollar", "RightShoulder",
      "RightElbow", "RightWrist", "rhand", "RFingers", "RThumb"], "cmu_variant",
     {"LeftShoulder": "leftUpperArm", "LeftCollar": "leftShoulder", "Chest2": "chest", "LeftAnkle": "leftFoot"}),
    # MocapBank
    (["Hips", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RightHip", "RightKnee", "RightAnkle", "RightToe",
      "Chest", "Chest2", "LeftCollar", "LeftShoulder", "LeftElbow", "LeftWrist", "RightCollar", "RightShoulder",
      "RightElbow", "RightWrist", "Neck", "Head"], "collar",
     {"Chest": "chest", "LeftShoulder": "leftUpperArm", "LeftHip": "leftUpperLeg", "Neck": "neck"}),
    # Biovision
    (["Hips", "Chest", "Neck", "Head", "LeftCollar", "LeftUpArm", "LeftLowArm", "LeftHand", "RightCollar", "RightUpArm",
      "RightLowArm", "RightHand", "LeftUpLeg", "LeftLowLeg", "LeftFoot", "RightUpLeg", "RightLowLeg", "RightFoot"],
     "collar", {"LeftLowLeg": "leftLowerLeg", "LeftUpArm": "leftUpperArm"}),
    # Rokoko (AnimatedDrawings' jesse_dance.bvh)
    (["Hips", "Spine", "Spine1", "Spine2", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LeftInHandIndex",
      "LeftHandIndex1", "LeftHandIndex2", "LeftHandIndex3", "LeftHandThumb1", "Neck", "Head", "RightShoulder",
      "RightArm", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RightUpLeg", "RightLeg", "RightFoot",
      "RightToeBase"], "mixamo", {"Spine2": "upperChest", "LeftHandIndex2": "leftIndexIntermediate"}),
    # AnimatedDrawings' own captures (fair1/dab.bvh)
    (["Hips", "Spine", "Spine1", "Spine2", "Spine3", "Neck", "Head", "RightShoulder", "RightArm", "RightForeArm",
      "RightHand", "RightHandEnd", "RightHandThumb1", "LeftShoulder", "LeftArm", "RightUpLeg", "RightLeg",
      "RightFoot", "RightToeBase", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase"], "mixamo",
     {"Spine3": None, "RightHand": "rightHand"}),
    # DAZ / Poser
    (["hip", "abdomen", "chest", "neck", "head", "lCollar", "lShldr", "lForeArm", "lHand", "rCollar", "rShldr",
      "lThigh", "lShin", "lFoot", "rThigh", "rShin", "rFoot"], "daz", {"lShldr": "leftUpperArm", "lShin": "leftLowerLeg"}),
])
def test_name_tables_of_other_tools(names, table, checks):
    from kyara.motion.mapping import guess_mapping

    got, mapping = guess_mapping(names)
    assert got == table
    for joint, bone in checks.items():
        assert mapping.get(joint) == bone, (joint, mapping.get(joint))


# ---------------------------------------------------------------------------------------------
# a rig no table knows: --mapping through the CLI


UNKNOWN = _sides({
    "Hips": "pelvis_jnt", "{S}HipJoint": "{S}_hipbase_jnt", "{Side}UpLeg": "{S}_thigh_jnt", "{Side}Leg": "{S}_knee_jnt",
    "{Side}Foot": "{S}_ankle_jnt", "{Side}ToeBase": "{S}_toe_jnt", "LowerBack": "waist_jnt", "Spine": "spine_a_jnt",
    "Spine1": "spine_b_jnt", "Neck": "neck_a_jnt", "Neck1": "neck_b_jnt", "Head": "head_jnt",
    "{Side}Shoulder": "{S}_clavicle_jnt", "{Side}Arm": "{S}_upperarm_jnt", "{Side}ForeArm": "{S}_forearm_jnt",
    "{Side}Hand": "{S}_hand_jnt", "{Side}FingerBase": "{S}_palm_jnt", "{Side}HandIndex1": "{S}_index_jnt",
    "{S}Thumb": "{S}_thumb_jnt"})
# what CMU's table says, in the unknown rig's names (a user's mapping file)
UNKNOWN_MAPPING = {
    "pelvis_jnt": "hips", "spine_a_jnt": "spine", "spine_b_jnt": "chest", "neck_a_jnt": "neck", "head_jnt": "head",
    **{f"{S}_{j}_jnt": f"{side}{b}" for S, side in (("L", "left"), ("R", "right")) for j, b in (
        ("thigh", "UpperLeg"), ("knee", "LowerLeg"), ("ankle", "Foot"), ("toe", "Toes"), ("clavicle", "Shoulder"),
        ("upperarm", "UpperArm"), ("forearm", "LowerArm"), ("hand", "Hand"), ("index", "IndexProximal"),
        ("thumb", "ThumbMetacarpal"))},
}


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def _err_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _upright_in_conditions(folder: Path) -> np.ndarray:
    """Per frame: how far the neck is above the hips in the OpenPose JSON the animation wrote, as
    a fraction of the neck-hip distance (1 = straight up in the picture)."""
    import json

    out = []
    for f in sorted(folder.glob("*_openpose.json")):
        k = np.array(json.loads(f.read_text())["people"][0]["pose_keypoints_2d"]).reshape(-1, 3)
        neck, hip = k[1, :2], 0.5 * (k[8, :2] + k[11, :2])
        out.append((hip[1] - neck[1]) / max(np.linalg.norm(hip - neck), 1e-9))  # image y points down
    return np.array(out)


def test_unknown_rig_error_template_and_mapping_api(tmp_path, capsys):
    import yaml

    path = tmp_path / "rig.bvh"
    path.write_text(renamed_text(cmu_text("walk"), UNKNOWN))
    before = _files(tmp_path)
    # without a mapping: one line naming what is missing, the joints left unplaced, a mapping to start from
    assert run(["animate", "--motion", str(path), "--size", "64", "-o", str(tmp_path / "a.gif")]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: unknown joint names"), lines
    assert "pelvis_jnt" in lines[0] and "L_thigh_jnt: leftUpperLeg" in lines[0] and "--mapping-template" in lines[0]
    assert _files(tmp_path) == before
    # the template: every joint, the required bones guessed from the words in the names
    assert run(["inspect", str(path), "--mapping-template"]) == 0
    template = yaml.safe_load(capsys.readouterr().out)
    assert list(template) == [UNKNOWN.get(n, n) for n in CMU_JOINTS]
    for joint in ("pelvis_jnt", "L_thigh_jnt", "L_knee_jnt", "L_ankle_jnt", "R_thigh_jnt", "R_knee_jnt", "R_ankle_jnt",
                  "head_jnt", "L_forearm_jnt"):
        assert template[joint] == UNKNOWN_MAPPING[joint], joint
    # the Python API with the user's mapping: the same animation as the CMU original
    skel, out = retarget_text(tmp_path, renamed_text(cmu_text("walk"), UNKNOWN), mapping=UNKNOWN_MAPPING)
    assert rot_close(out, baseline())
    # inspect reports the mapping, the units and the up axis
    (tmp_path / "map.yaml").write_text(yaml.safe_dump(UNKNOWN_MAPPING))
    assert run(["inspect", str(path), "--mapping", str(tmp_path / "map.yaml")]) == 0
    report = capsys.readouterr().out
    assert "up axis: +y (detected from the animation)" in report and "retargeting: ready" in report
    assert "units: cmu" in report and "bone names matched by: your mapping" in report


@pytest.mark.slow  # ~10 s on its own (GL context, body); ~1.5 s after other rendering tests
def test_mapping_and_up_through_animate(tmp_path, capsys):
    import yaml

    path, zpath, mp = tmp_path / "rig.bvh", tmp_path / "zup.bvh", tmp_path / "map.yaml"
    path.write_text(renamed_text(cmu_text("walk"), UNKNOWN))
    zpath.write_text(z_up_text(renamed_text(cmu_text("walk"), UNKNOWN)))
    mp.write_text(yaml.safe_dump(UNKNOWN_MAPPING))
    for src, extra, name in ((zpath, [], "z"), (zpath, ["--up", "y"], "wrong")):
        out, cond = tmp_path / f"{name}.gif", tmp_path / f"cond_{name}"
        assert run(["animate", "--motion", str(src), "--mapping", str(mp), "--size", "64", "--fps", "4",
                    "-o", str(out), "--conditions", str(cond), *extra]) == 0, _err_lines(capsys)
        assert out.is_file()
    up_z, up_wrong = (_upright_in_conditions(tmp_path / f"cond_{n}") for n in ("z", "wrong"))
    assert len(up_z) >= 10 and up_z.min() > 0.9  # upright in every frame of the picture
    assert np.median(up_wrong) < 0.5  # Z up read as Y up: the figure lies (the check is not vacuous)
    # a bad mapping file is one error line before anything is rendered
    (tmp_path / "bad.yaml").write_text("pelvis_jnt: tail\n")
    before = _files(tmp_path)
    assert run(["animate", "--motion", str(path), "--mapping", str(tmp_path / "bad.yaml"), "-o", str(tmp_path / "b.gif")]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and "'tail' is not a VRM humanoid bone" in lines[0]
    assert run(["animate", "--motion", str(path), "--up", "w", "-o", str(tmp_path / "b.gif")]) == 2
    assert "--up 'w'" in _err_lines(capsys)[0]
    assert _files(tmp_path) == before


def test_mapping_and_up_through_export(tmp_path, capsys):
    import yaml

    from kyara.avatar import load_character
    from kyara.export.vrm import vrma_bytes

    avatar = Path(__file__).parent / "data" / "avatar_corpus" / "minimal.vrm"
    path, mp = tmp_path / "zup.bvh", tmp_path / "map.yaml"
    path.write_text(z_up_text(renamed_text(cmu_text("walk"), UNKNOWN)))
    mp.write_text(yaml.safe_dump(UNKNOWN_MAPPING))
    out = tmp_path / "a.vrma"
    own = "--i-own-this-avatar"  # the test corpus avatar's licence forbids modification
    assert run(["export", str(avatar), own, "--format", "vrma", "--motion", str(path), "--mapping", str(mp),
                "-o", str(out)]) == 0, _err_lines(capsys)
    # the same bytes as the Python API: Z up detected, the mapping used
    character = load_character(avatar)
    skel, mocap = load_motion(path, mapping=UNKNOWN_MAPPING)
    assert skel.up == "+z"
    motion = retarget(mocap, skel, character.body.params, mapping=UNKNOWN_MAPPING)
    assert out.read_bytes() == vrma_bytes(motion, character.body.rest_joints)
    # --up y reads another (lying) animation; without --mapping the rig is refused
    assert run(["export", str(avatar), own, "--format", "vrma", "--motion", str(path), "--mapping", str(mp), "--up", "y",
                "-o", str(tmp_path / "b.vrma")]) == 0
    assert (tmp_path / "b.vrma").read_bytes() != out.read_bytes()
    capsys.readouterr()
    assert run(["export", str(avatar), own, "--format", "vrma", "--motion", str(path), "-o", str(tmp_path / "c.vrma")]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: unknown joint names") and not (tmp_path / "c.vrma").exists()
    assert run(["export", str(avatar), own, "--format", "vrm", "--mapping", str(mp), "-o", str(tmp_path / "d.vrm")]) == 2
    assert "--mapping apply to --motion" in _err_lines(capsys)[0]


# ---------------------------------------------------------------------------------------------
# hostile files: one error line, exit 2, no output, no warnings


def _small(frames: int = 6) -> str:
    """A valid CMU file of a few frames (every corruption below starts from it)."""
    head, motion = cmu_text("walk").split("MOTION", 1)
    lines = motion.strip().split("\n")
    return head + f"MOTION\nFrames: {frames}\n{lines[1]}\n" + "\n".join(lines[2:2 + frames]) + "\n"


def _frame_line(text: str, k: int) -> int:
    return text.split("\n").index(next(l for l in text.split("\n") if l.startswith("Frame Time"))) + 1 + k


def _set_value(text: str, frame: int, col: int, value: str) -> str:
    lines = text.split("\n")
    i = _frame_line(text, frame)
    vals = lines[i].split()
    vals[col] = value
    lines[i] = " ".join(vals)
    return "\n".join(lines)


def _nested(depth: int) -> str:
    opens = "".join(f"JOINT j{k}\n{{\nOFFSET 0 1 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n" for k in range(depth))
    return ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
            + opens + "}\n" * (depth + 1) + "MOTION\nFrames: 1\nFrame Time: 0.1\n" + " ".join(["0"] * (6 + 3 * depth)) + "\n")


HOSTILE_BVH: list[tuple[str, object, str]] = [
    # (name, function returning the file's bytes, text the one error line must contain)
    ("empty", lambda: b"", "empty file"),
    ("binary_garbage", lambda: bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a text file"),
    ("nul_bytes", lambda: b"\x00" * 64 + b"\n" + b"\x00" * 64, "expected 'HIERARCHY'"),
    ("truncated_hierarchy", lambda: _small()[:900].rsplit("\n", 1)[0].encode(), "truncated file, no MOTION section"),
    ("truncated_mid_word", lambda: _small()[:900].encode(), "unknown channel"),
    ("frames_999999999", lambda: _small().replace("Frames: 6", "Frames: 999999999").encode(),
     "truncated file, 6 of 999999999 frame lines"),
    ("frames_zero", lambda: _small().replace("Frames: 6", "Frames: 0").encode(), "motion has 0 frames"),
    ("frames_negative", lambda: _small().replace("Frames: 6", "Frames: -5").encode(), "motion has -5 frames"),
    ("frames_not_a_number", lambda: _small().replace("Frames: 6", "Frames: lots").encode(), "is not a whole number"),
    ("extra_frame_lines", lambda: _small().replace("Frames: 6", "Frames: 4").encode(), "more frame lines than"),
    ("nan_value", lambda: _set_value(_small(), 2, 7, "nan").encode(), "non-finite value 'nan'"),
    ("inf_value", lambda: _set_value(_small(), 1, 3, "1e999").encode(), "non-finite value '1e999'"),
    ("huge_value", lambda: _set_value(_small(), 3, 1, "1e300").encode(), "value 1e300 is out of range"),
    ("huge_offset", lambda: _small().replace("OFFSET 2.59720 -7.13576 0.00000", "OFFSET 2.5 -1e300 0").encode(),
     "OFFSET value out of range"),
    ("word_value", lambda: _set_value(_small(), 0, 10, "abc").encode(), "value 'abc' is not a number"),
    ("short_frame_line", lambda: _set_value(_small(), 2, 5, "").encode(), "has 95 values, expected 96"),
    ("channel_count_mismatch", lambda: _small().replace("CHANNELS 3 Zrotation Yrotation Xrotation", "CHANNELS 4 Zrotation Yrotation Xrotation", 1).encode(),
     "CHANNELS says 4 but lists 3"),
    ("channels_999999999", lambda: _small().replace("CHANNELS 3 Zrotation Yrotation Xrotation", "CHANNELS 999999999 Zrotation", 1).encode(),
     "CHANNELS says 999999999"),
    ("unknown_channel", lambda: _small().replace("Zrotation Yrotation Xrotation", "Wrotation Yrotation Xrotation", 1).encode(),
     "unknown channel 'Wrotation'"),
    ("negative_frame_time", lambda: re.sub(r"Frame Time: \S+", "Frame Time: -0.0333", _small()).encode(),
     "Frame Time -0.0333 is not valid"),
    ("tiny_frame_time", lambda: re.sub(r"Frame Time: \S+", "Frame Time: 1e-300", _small()).encode(),
     "Frame Time 1e-300 is not valid"),
    ("no_channels", lambda: re.sub(r"CHANNELS \d+[^\n]*", "CHANNELS 0", _small().split("MOTION")[0]).encode()
     + b"MOTION\nFrames: 999999999\nFrame Time: 0.03\n", "declares no CHANNELS"),
    ("unclosed_braces", lambda: _small().replace("}\nMOTION", "MOTION").encode(), "MOTION before the hierarchy is closed"),
    ("duplicate_joint", lambda: _small().replace("JOINT RightUpLeg", "JOINT LeftUpLeg").encode(), "used twice"),
    ("deep_nesting", lambda: _nested(3000).encode(), "more than 2048 joints"),
    ("deep_unknown_chain", lambda: _nested(400).encode(), "unknown joint names"),
    ("zero_length_legs", lambda: re.sub(r"OFFSET [^\n]*", "OFFSET 0 0 0", _small()).encode(),
     "legs are 0 m long"),
]


def test_hostile_corpus_is_big_enough():
    assert len(HOSTILE_BVH) >= 15 and len({n for n, _, _ in HOSTILE_BVH}) == len(HOSTILE_BVH)


@pytest.mark.parametrize("name,make,needle", HOSTILE_BVH, ids=[n for n, _, _ in HOSTILE_BVH])
def test_hostile_bvh_is_one_error_line(tmp_path, capsys, name, make, needle):
    path = tmp_path / f"{name}.bvh"
    path.write_bytes(make())
    before = _files(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = run(["animate", "--motion", str(path), "--size", "64", "-o", str(tmp_path / "out.mp4")])
    lines = _err_lines(capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert needle in lines[0], lines[0]
    assert _files(tmp_path) == before  # no video, no temporary file
    noisy = [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert not noisy, [str(w.message) for w in noisy]  # NumPy's overflow / empty-input warnings included


HOSTILE_BY_NAME = {n: (make, needle) for n, make, needle in HOSTILE_BVH}


@pytest.mark.parametrize("name", ["frames_999999999", "huge_value", "nan_value", "deep_nesting", "zero_length_legs"])
def test_hostile_bvh_through_export_and_inspect(tmp_path, capsys, name):
    make, needle = HOSTILE_BY_NAME[name]
    path = tmp_path / f"{name}.bvh"
    path.write_bytes(make())
    avatar = str(Path(__file__).parent / "data" / "avatar_corpus" / "minimal.vrm")
    commands = [["export", avatar, "--i-own-this-avatar", "--format", "vrma", "--motion", str(path),
                 "-o", str(tmp_path / "a.vrma")]]
    if name != "zero_length_legs":  # inspect reads the file; it does not retarget
        commands.append(["inspect", str(path)])
    before = _files(tmp_path)
    for argv in commands:
        assert run(argv) == 2
        lines = _err_lines(capsys)
        assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], (argv[0], lines)
    assert _files(tmp_path) == before


def test_hostile_bvh_on_the_real_console(tmp_path):
    """Outside pytest's warning capture: the process prints one line, no NumPy warnings."""
    import subprocess
    import sys

    for name in ("huge_value", "frames_999999999"):
        path = tmp_path / f"{name}.bvh"
        path.write_bytes(HOSTILE_BY_NAME[name][0]())
        proc = subprocess.run([sys.executable, "-m", "kyara.cli.main", "animate", "--motion", str(path),
                               "-o", str(tmp_path / "a.mp4")], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames_999999999.bvh", "huge_value.bvh"]
