"""Built-in joint-name tables: source joint name -> VRM 1.0 humanoid bone (``None``: no bone).

One table per naming family; :func:`kyara.motion.mapping.guess_mapping` picks the one that
places the most bones. Keys are compared after :func:`kyara.motion.mapping.normalize_name`
(case, separators and ``mixamorig:``/``DEF-``/``Bip01`` prefixes dropped). ``{Side}``,
``{side}``, ``{S}``, ``{s}`` expand to ``Left``/``left``/``L``/``l`` and the right-hand forms.

The same word means different bones in different families, which is why they are separate
tables: ``LeftShoulder`` is the clavicle in CMU and Mixamo but the upper arm in MocapBank and
MotionBuilder rigs (which call the clavicle ``LeftCollar``); ``Chest`` is CMU-variant's first
spine joint but MocapBank's chest.
"""

from __future__ import annotations

from kyara.body.skeleton import BONES

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


def _finger_entries(pattern: str, names: dict[str, str], first: int = 1, width: int = 1) -> dict[str, str | None]:
    """Finger joints numbered ``first..first+2``: ``pattern`` with ``{Finger}`` and ``{n}``
    (zero-padded to ``width``) replaced, then sides expanded."""
    out: dict[str, str | None] = {}
    for vrm_finger, src_finger in names.items():
        for i, seg in enumerate(_segs(vrm_finger)):
            key = pattern.replace("{Finger}", src_finger).replace("{n}", str(first + i).zfill(width))
            out[key] = "{side}" + vrm_finger + seg
    return _sided(out)


_ENGLISH_FINGERS = {"Thumb": "Thumb", "Index": "Index", "Middle": "Middle", "Ring": "Ring", "Little": "Pinky"}

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

CMU_VARIANT: dict[str, str | None] = _sided({
    "Hips": "hips", "lowerback": None, "Chest": "spine", "Chest2": "chest",
    "lowerneck": "neck", "Neck": None, "Head": "head",
    "{S}HipJoint": None, "{Side}Hip": "{side}UpperLeg", "{Side}Knee": "{side}LowerLeg",
    "{Side}Ankle": "{side}Foot", "{Side}Toe": "{side}Toes",
    "{Side}Collar": "{side}Shoulder", "{Side}Shoulder": "{side}UpperArm",
    "{Side}Elbow": "{side}LowerArm", "{Side}Wrist": "{side}Hand",
    "{s}hand": None, "{S}Fingers": "{side}IndexProximal", "{S}Thumb": "{side}ThumbMetacarpal",
})
"""The other CMU conversion (AnimatedDrawings' ``cmu1`` clips): ``LeftHip/LeftKnee/LeftAnkle``,
``lowerback``, ``Chest``/``Chest2``, ``lowerneck``, ``LeftCollar``; the same joints as :data:`CMU`."""

COLLAR: dict[str, str | None] = _sided({
    "Hips": "hips", "Hip": "hips", "Pelvis": "hips",
    "Spine": "spine", "Abdomen": "spine", "Chest": "chest", "Chest2": "upperChest", "Chest3": None, "Chest4": None,
    "Neck": "neck", "Neck1": None, "Head": "head",
    "{Side}Collar": "{side}Shoulder", "{Side}Shoulder": "{side}UpperArm", "{Side}UpArm": "{side}UpperArm",
    "{Side}Elbow": "{side}LowerArm", "{Side}LowArm": "{side}LowerArm", "{Side}ForeArm": "{side}LowerArm",
    "{Side}Wrist": "{side}Hand", "{Side}Hand": "{side}Hand",
    "{Side}Hip": "{side}UpperLeg", "{Side}UpLeg": "{side}UpperLeg", "{Side}Thigh": "{side}UpperLeg",
    "{Side}Knee": "{side}LowerLeg", "{Side}LowLeg": "{side}LowerLeg",
    "{Side}Ankle": "{side}Foot", "{Side}Foot": "{side}Foot",
    "{Side}Toe": "{side}Toes", "{Side}Toes": "{side}Toes", "{Side}ToeBase": "{side}Toes",
})
"""Rigs with a collar joint: MocapBank (``Chest``, ``LeftCollar``, ``LeftShoulder`` = upper arm,
``LeftHip`` = upper leg), MotionBuilder/Vicon exports, and Biovision's original names
(``LeftUpArm``, ``LeftLowArm``, ``LeftUpLeg``, ``LeftLowLeg``)."""

MIXAMO: dict[str, str | None] = {
    **_sided({
        "mixamorig:Hips": "hips", "mixamorig:Spine": "spine", "mixamorig:Spine1": "chest",
        "mixamorig:Spine2": "upperChest", "mixamorig:Spine3": None, "mixamorig:Spine4": None,
        "mixamorig:Neck": "neck", "mixamorig:Neck1": None, "mixamorig:Head": "head",
        "mixamorig:HeadTop_End": None, "mixamorig:HeadEnd": None,
        "mixamorig:{Side}UpLeg": "{side}UpperLeg", "mixamorig:{Side}Leg": "{side}LowerLeg",
        "mixamorig:{Side}Foot": "{side}Foot", "mixamorig:{Side}ToeBase": "{side}Toes",
        "mixamorig:{Side}Toe_End": None, "mixamorig:{Side}ToeBase_End": None,
        "mixamorig:{Side}Shoulder": "{side}Shoulder", "mixamorig:{Side}Arm": "{side}UpperArm",
        "mixamorig:{Side}ForeArm": "{side}LowerArm", "mixamorig:{Side}Hand": "{side}Hand",
        "mixamorig:{Side}HandEnd": None,
        # Rokoko's metacarpal joints (LeftInHandIndex, ...)
        **{f"{{Side}}InHand{f}": None for f in ("Thumb", "Index", "Middle", "Ring", "Pinky")},
    }),
    **_finger_entries("mixamorig:{Side}Hand{Finger}{n}", _ENGLISH_FINGERS),
}
"""Mixamo rigs (``mixamorig:`` prefix optional), and the rigs that share its names: Rokoko
(``Spine``..``Spine2``, ``LeftInHandIndex``), AnimatedDrawings' captures (``Spine3``,
``LeftHandEnd``)."""

RIGIFY: dict[str, str | None] = {
    **_sided({
        "spine": "hips", "spine.001": "spine", "spine.002": "chest", "spine.003": "upperChest",
        "spine.004": "neck", "spine.005": None, "spine.006": "head",
        "pelvis.{S}": None, "breast.{S}": None, "heel.02.{S}": None,
        "shoulder.{S}": "{side}Shoulder", "upper_arm.{S}": "{side}UpperArm", "upper_arm.{S}.001": None,
        "forearm.{S}": "{side}LowerArm", "forearm.{S}.001": None, "hand.{S}": "{side}Hand",
        "thigh.{S}": "{side}UpperLeg", "thigh.{S}.001": None, "shin.{S}": "{side}LowerLeg", "shin.{S}.001": None,
        "foot.{S}": "{side}Foot", "toe.{S}": "{side}Toes",
        **{f"palm.0{i}.{{S}}": None for i in range(1, 5)},
    }),
    **_finger_entries("thumb.{n}.{S}", {"Thumb": "thumb"}, width=2),
    **_finger_entries("f_{Finger}.{n}.{S}", {"Index": "index", "Middle": "middle", "Ring": "ring", "Little": "pinky"},
                      width=2),
}
"""Blender: Rigify deform bones (``DEF-`` dropped) and the Human meta-rig (``spine`` is the hips
bone, ``spine.001`` .. ``spine.006`` up to the head, ``thigh.L``, ``upper_arm.L.001`` twist bones)."""

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

DAZ: dict[str, str | None] = _sided({
    "hip": "hips", "abdomen": "spine", "abdomenLower": "spine", "abdomenUpper": None,
    "chest": "chest", "chestLower": "chest", "chestUpper": "upperChest",
    "neck": "neck", "neckLower": "neck", "neckUpper": None, "head": "head",
    "{s}Collar": "{side}Shoulder", "{s}Shldr": "{side}UpperArm", "{s}ShldrBend": "{side}UpperArm",
    "{s}ShldrTwist": None, "{s}ForeArm": "{side}LowerArm", "{s}ForearmBend": "{side}LowerArm",
    "{s}ForearmTwist": None, "{s}Hand": "{side}Hand",
    "{s}Buttock": None, "{s}Thigh": "{side}UpperLeg", "{s}ThighBend": "{side}UpperLeg", "{s}ThighTwist": None,
    "{s}Shin": "{side}LowerLeg", "{s}Foot": "{side}Foot", "{s}Toe": "{side}Toes",
    "{s}Shoulder": "{side}UpperArm", "{s}Elbow": "{side}LowerArm",
})
"""DAZ / Poser figures (``hip``, ``abdomen``, ``lCollar``, ``lShldr``, ``lThigh``, ...)."""

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
    # plain English, and Blender limb names under plain torso names (a whole Rigify / meta-rig
    # torso, spine .. spine.006, is the RIGIFY table)
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
"""Common variants: Unreal mannequin, VRoid, 3ds Max Biped, plain English (and Blender limbs)."""

TABLES: dict[str, dict[str, str | None]] = {
    "cmu": CMU, "mixamo": MIXAMO, "smpl": SMPL_TO_VRM, "animated_drawings": ANIMATED_DRAWINGS,
    "vrm": VRM, "common": COMMON, "collar": COLLAR, "cmu_variant": CMU_VARIANT, "rigify": RIGIFY, "daz": DAZ,
}
"""All built-in tables, in the order used to break ties."""
