"""Source joint name -> VRM 1.0 humanoid bone tables, and how a mapping is chosen.

A mapping is a ``dict[str, str]`` from source joint name to VRM bone name (see
:mod:`kyara.body.skeleton`). Source joints absent from the mapping have no humanoid bone (CMU's
``LHipJoint``, ``LowerBack``, ``Neck1``, ...): retargeting transfers *world* rotations of mapped
joints, so the rotation of an unmapped joint is folded into the next mapped joint below it.

Names are compared after :func:`normalize_name` (namespace prefixes such as ``mixamorig:`` or
``Armature|`` dropped, ``Bip01``/``DEF-`` prefixes dropped, lower case, separators removed), so
``mixamorig:LeftUpLeg``, ``LeftUpLeg`` and ``left_up_leg`` are the same name.

Tables: CMU (cgspeed BVH conversion), Mixamo, SMPL / SMPL-H / SMPL-X, AnimatedDrawings-style
character joints, VRM names themselves, and common variants (Unreal, VRoid, 3ds Max Biped,
Blender). The table that recognizes the most source names wins. A user YAML file
``{source_joint: vrmBone or null}`` overrides entries of the chosen table.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kyara.body.skeleton import BONE_INDEX, BONES

_SIDES = (("Left", "left", "L", "l"), ("Right", "right", "R", "r"))
_FINGERS_VRM = ("Thumb", "Index", "Middle", "Ring", "Little")
_SEGS_VRM = {"Thumb": ("Metacarpal", "Proximal", "Distal")}
_SEGS_DEFAULT = ("Proximal", "Intermediate", "Distal")


def _segs(finger: str) -> tuple[str, str, str]:
    return _SEGS_VRM.get(finger, _SEGS_DEFAULT)  # type: ignore[return-value]


def _sided(template: dict[str, str | None]) -> dict[str, str | None]:
    """Expand ``{Side}``/``{side}``/``{S}``/``{s}`` placeholders in keys and ``{side}`` in values."""
    out: dict[str, str | None] = {}
    for key, bone in template.items():
        if "{" not in key:
            out[key] = bone
            continue
        for Side, side, S, s in _SIDES:
            k = key.format(Side=Side, side=side, S=S, s=s)
            out[k] = None if bone is None else bone.format(side=side)
    return out


def _finger_entries(pattern: str, names: dict[str, str], first: int = 1) -> dict[str, str | None]:
    """Finger joints numbered ``first..first+2``: ``pattern.format(Side=..., Finger=..., n=...)``."""
    out: dict[str, str | None] = {}
    for vrm_finger, src_finger in names.items():
        for i, seg in enumerate(_segs(vrm_finger)):
            key = pattern.replace("{Finger}", src_finger).replace("{n}", str(first + i))
            out[key] = "{side}" + vrm_finger + seg
    return _sided(out)


CMU: dict[str, str | None] = _sided({
    "Hips": "hips", "LowerBack": None, "Spine": "spine", "Spine1": "chest",
    "Neck": "neck", "Neck1": None, "Head": "head",
    "{S}HipJoint": None, "{Side}UpLeg": "{side}UpperLeg", "{Side}Leg": "{side}LowerLeg",
    "{Side}Foot": "{side}Foot", "{Side}ToeBase": "{side}Toes",
    "{Side}Shoulder": "{side}Shoulder", "{Side}Arm": "{side}UpperArm",
    "{Side}ForeArm": "{side}LowerArm", "{Side}Hand": "{side}Hand",
    "{Side}FingerBase": None, "{Side}HandIndex1": "{side}IndexProximal",
    "{S}Thumb": "{side}ThumbMetacarpal",
})
"""CMU mocap (cgspeed / una-dinosauria BVH conversion), 31 joints."""

MIXAMO: dict[str, str | None] = {
    **_sided({
        "mixamorig:Hips": "hips", "mixamorig:Spine": "spine", "mixamorig:Spine1": "chest",
        "mixamorig:Spine2": "upperChest", "mixamorig:Neck": "neck", "mixamorig:Head": "head",
        "mixamorig:HeadTop_End": None,
        "mixamorig:{Side}UpLeg": "{side}UpperLeg", "mixamorig:{Side}Leg": "{side}LowerLeg",
        "mixamorig:{Side}Foot": "{side}Foot", "mixamorig:{Side}ToeBase": "{side}Toes",
        "mixamorig:{Side}Toe_End": None,
        "mixamorig:{Side}Shoulder": "{side}Shoulder", "mixamorig:{Side}Arm": "{side}UpperArm",
        "mixamorig:{Side}ForeArm": "{side}LowerArm", "mixamorig:{Side}Hand": "{side}Hand",
    }),
    **_finger_entries("mixamorig:{Side}Hand{Finger}{n}",
                      {"Thumb": "Thumb", "Index": "Index", "Middle": "Middle", "Ring": "Ring", "Little": "Pinky"}),
}
"""Mixamo rigs (``mixamorig:`` prefix optional)."""

SMPL_TO_VRM: dict[str, str | None] = {
    **_sided({
        "pelvis": "hips", "spine1": "spine", "spine2": "chest", "spine3": "upperChest",
        "neck": "neck", "head": "head", "jaw": "jaw",
        "{side}_eye_smplhf": "{side}Eye", "{side}_eye": "{side}Eye",
        "{side}_hip": "{side}UpperLeg", "{side}_knee": "{side}LowerLeg", "{side}_ankle": "{side}Foot",
        "{side}_foot": "{side}Toes", "{side}_collar": "{side}Shoulder",
        "{side}_shoulder": "{side}UpperArm", "{side}_elbow": "{side}LowerArm",
        "{side}_wrist": "{side}Hand", "{side}_hand": None,
    }),
    **_finger_entries("{side}_{Finger}{n}",
                      {"Thumb": "thumb", "Index": "index", "Middle": "middle", "Ring": "ring", "Little": "pinky"}),
}
"""SMPL (24 joints), SMPL-H (52) and SMPL-X (55) joint names as in the public model code."""

ANIMATED_DRAWINGS: dict[str, str | None] = _sided({
    "root": None, "hip": "hips", "torso": "upperChest", "neck": "neck",
    "{side}_shoulder": "{side}UpperArm", "{side}_elbow": "{side}LowerArm", "{side}_hand": "{side}Hand",
    "{side}_hip": "{side}UpperLeg", "{side}_knee": "{side}LowerLeg", "{side}_foot": "{side}Foot",
})
"""AnimatedDrawings-style character joints (a joint is named after where it sits)."""

VRM: dict[str, str | None] = {b: b for b in BONES}
"""VRM 1.0 humanoid bone names (kyara's own skeleton, VRM-exported BVH)."""

COMMON: dict[str, str | None] = {
    # Unreal Engine mannequin
    **_sided({
        "pelvis": "hips", "spine_01": "spine", "spine_02": "chest", "spine_03": "upperChest",
        "neck_01": "neck", "head": "head",
        "clavicle_{s}": "{side}Shoulder", "upperarm_{s}": "{side}UpperArm", "lowerarm_{s}": "{side}LowerArm",
        "hand_{s}": "{side}Hand", "thigh_{s}": "{side}UpperLeg", "calf_{s}": "{side}LowerLeg",
        "foot_{s}": "{side}Foot", "ball_{s}": "{side}Toes",
    }),
    **_finger_entries("{Finger}_0{n}_{s}",
                      {"Thumb": "thumb", "Index": "index", "Middle": "middle", "Ring": "ring", "Little": "pinky"}),
    # VRoid Studio
    **_sided({
        "J_Bip_C_Hips": "hips", "J_Bip_C_Spine": "spine", "J_Bip_C_Chest": "chest",
        "J_Bip_C_UpperChest": "upperChest", "J_Bip_C_Neck": "neck", "J_Bip_C_Head": "head",
        "J_Bip_{S}_Shoulder": "{side}Shoulder", "J_Bip_{S}_UpperArm": "{side}UpperArm",
        "J_Bip_{S}_LowerArm": "{side}LowerArm", "J_Bip_{S}_Hand": "{side}Hand",
        "J_Bip_{S}_UpperLeg": "{side}UpperLeg", "J_Bip_{S}_LowerLeg": "{side}LowerLeg",
        "J_Bip_{S}_Foot": "{side}Foot", "J_Bip_{S}_ToeBase": "{side}Toes",
    }),
    # 3ds Max Biped ("Bip01 " is dropped by normalize_name)
    **_sided({
        "Bip01 Pelvis": "hips", "Bip01 Spine": "spine", "Bip01 Spine1": "chest", "Bip01 Spine2": "upperChest",
        "Bip01 Neck": "neck", "Bip01 Head": "head",
        "Bip01 {S} Clavicle": "{side}Shoulder", "Bip01 {S} UpperArm": "{side}UpperArm",
        "Bip01 {S} Forearm": "{side}LowerArm", "Bip01 {S} Hand": "{side}Hand",
        "Bip01 {S} Thigh": "{side}UpperLeg", "Bip01 {S} Calf": "{side}LowerLeg",
        "Bip01 {S} Foot": "{side}Foot", "Bip01 {S} Toe0": "{side}Toes",
    }),
    # Blender / Rigify deform bones and plain English variants
    **_sided({
        "hips": "hips", "hip": "hips", "spine": "spine", "chest": "chest", "upper_chest": "upperChest",
        "neck": "neck", "head": "head",
        "shoulder.{S}": "{side}Shoulder", "upper_arm.{S}": "{side}UpperArm", "forearm.{S}": "{side}LowerArm",
        "hand.{S}": "{side}Hand", "thigh.{S}": "{side}UpperLeg", "shin.{S}": "{side}LowerLeg",
        "foot.{S}": "{side}Foot", "toe.{S}": "{side}Toes",
        "{Side}Thigh": "{side}UpperLeg", "{Side}Shin": "{side}LowerLeg", "{Side}Knee": "{side}LowerLeg",
        "{Side}Ankle": "{side}Foot", "{Side}Toe": "{side}Toes", "{Side}Toes": "{side}Toes",
        "{Side}Clavicle": "{side}Shoulder", "{Side}UpperArm": "{side}UpperArm",
        "{Side}Elbow": "{side}LowerArm", "{Side}LowerArm": "{side}LowerArm", "{Side}Wrist": "{side}Hand",
        "{Side}UpperLeg": "{side}UpperLeg", "{Side}LowerLeg": "{side}LowerLeg",
    }),
}
"""Common variants: Unreal mannequin, VRoid, 3ds Max Biped, Blender/Rigify, plain English."""

TABLES: dict[str, dict[str, str | None]] = {
    "cmu": CMU, "mixamo": MIXAMO, "smpl": SMPL_TO_VRM, "animated_drawings": ANIMATED_DRAWINGS,
    "vrm": VRM, "common": COMMON,
}
"""All built-in tables, in the order used to break ties."""

_NAMESPACE = re.compile(r"^.*[:|]")
_PREFIXES = ("mixamorig", "bip001", "bip01", "def-", "def_", "def.", "org-")
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def normalize_name(name: str) -> str:
    """Comparable form of a joint name: ``"mixamorig:Left_UpLeg"`` -> ``"leftupleg"``."""
    n = _NAMESPACE.sub("", str(name).strip()).lower()
    for p in _PREFIXES:
        if n.startswith(p):
            n = n[len(p):]
            break
    n = n.lstrip(" _-.0123456789") if n[:1] in " _-." else n
    return _NON_ALNUM.sub("", n)


_NORMALIZED: dict[str, dict[str, str | None]] = {
    key: {normalize_name(k): v for k, v in table.items()} for key, table in TABLES.items()
}


def guess_mapping(names: list[str] | tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Pick the table that recognizes the most ``names``; return ``(table name, mapping)``.

    The mapping has one source joint per VRM bone (the first joint in ``names`` order wins, so
    with parents-first order the joint nearest the root). Returns ``("", {})`` when no table
    knows any name.
    """
    best, best_score = "", 0
    normalized = [normalize_name(n) for n in names]
    for key, table in _NORMALIZED.items():
        recognized = [n for n in normalized if n in table]
        # a table must at least find the hips; mapped bones count more than recognized extras
        mapped = {table[n] for n in recognized if table[n] is not None}
        if "hips" not in mapped:
            continue
        score = 2 * len(mapped) + len(recognized)
        if score > best_score:
            best, best_score = key, score
    if not best:
        return "", {}
    table = _NORMALIZED[best]
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, n in zip(names, normalized):
        bone = table.get(n)
        if bone is not None and bone not in used:
            mapping[name] = bone
            used.add(bone)
    return best, mapping


def _vrm_bone(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: value {value!r} is not a VRM bone name, expected e.g. 'leftUpperLeg' or null")
    for b in BONES:
        if b.lower() == value.strip().lower():
            return b
    raise ValueError(f"{where}: '{value}' is not a VRM humanoid bone, expected one of hips, spine, leftUpperLeg, ... (55 names)")


def load_mapping_yaml(path: str | os.PathLike) -> dict[str, str | None]:
    """Read a user mapping ``{source_joint: vrmBone or null}`` from YAML (null = no humanoid bone)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"mapping file '{p}' does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"mapping '{p}'{line}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise ValueError(f"mapping '{p}' is a {type(data).__name__}, expected a YAML mapping source_joint: vrmBone")
    return {str(k): _vrm_bone(v, f"mapping '{p}' key '{k}'") for k, v in data.items()}


def resolve_mapping(
    names: list[str] | tuple[str, ...],
    user: dict[str, str | None] | str | os.PathLike | None = None,
    required: tuple[str, ...] = ("hips",),
) -> dict[str, str]:
    """Final ``{source joint: VRM bone}`` for a skeleton with joint ``names``.

    ``user`` (a dict or a YAML path) overrides the guessed table: a value names the VRM bone, a
    null removes the joint from the mapping. Raises ``ValueError`` naming the problem when a
    user key is not a joint, a VRM bone is used twice, or a ``required`` bone is unmapped.
    """
    _, mapping = guess_mapping(names)
    if user is not None:
        entries = user if isinstance(user, dict) else load_mapping_yaml(user)
        by_norm = {normalize_name(n): n for n in names}
        for key, value in entries.items():
            joint = key if key in names else by_norm.get(normalize_name(key))
            if joint is None:
                shown = ", ".join(list(names)[:8]) + (", ..." if len(names) > 8 else "")
                raise ValueError(f"mapping names joint '{key}', which the source skeleton does not have (joints: {shown})")
            bone = _vrm_bone(value, f"mapping key '{key}'")
            # the user's choice replaces any joint the table put on the same bone
            mapping = {j: b for j, b in mapping.items() if j != joint and b != bone}
            if bone is not None:
                mapping[joint] = bone
    seen: dict[str, str] = {}
    for joint, bone in mapping.items():
        if bone in seen:
            raise ValueError(f"VRM bone '{bone}' is mapped from two joints, '{seen[bone]}' and '{joint}', expected one")
        seen[bone] = joint
    missing = [b for b in required if b not in seen]
    if missing:
        shown = ", ".join(list(names)[:8]) + (", ..." if len(names) > 8 else "")
        raise ValueError(
            f"unknown joint names: no source joint maps to VRM bone(s) {', '.join(missing)} (joints: {shown}); "
            "pass a mapping YAML {source_joint: vrmBone}"
        )
    return mapping


def mapping_indices(names: list[str] | tuple[str, ...], mapping: dict[str, str]) -> list[int]:
    """``[55]`` source joint index per VRM bone, -1 where unmapped."""
    index = {n: i for i, n in enumerate(names)}
    out = [-1] * len(BONES)
    for joint, bone in mapping.items():
        out[BONE_INDEX[bone]] = index[joint]
    return out
