"""The VRM 1.0 humanoid skeleton: bone names, parents, mirror table.

Conventions (stated once, used everywhere):
    * metres, Y up, the character faces +Z, its left hand is at +X;
    * rest pose = VRM T-pose, every bone's local rotation is identity in the rest pose
      (VRM "normalized" bones), so a pose is a set of local rotations relative to rest;
    * bones are listed parents-first, so a single forward pass computes forward kinematics.
"""

from __future__ import annotations

import numpy as np

_SIDES = ("left", "right")
_FINGERS = (
    ("Thumb", ("Metacarpal", "Proximal", "Distal")),
    ("Index", ("Proximal", "Intermediate", "Distal")),
    ("Middle", ("Proximal", "Intermediate", "Distal")),
    ("Ring", ("Proximal", "Intermediate", "Distal")),
    ("Little", ("Proximal", "Intermediate", "Distal")),
)


def _build() -> tuple[tuple[str, ...], dict[str, str | None]]:
    parents: dict[str, str | None] = {
        "hips": None,
        "spine": "hips",
        "chest": "spine",
        "upperChest": "chest",
        "neck": "upperChest",
        "head": "neck",
        "leftEye": "head",
        "rightEye": "head",
        "jaw": "head",
    }
    for s in _SIDES:
        parents[f"{s}UpperLeg"] = "hips"
        parents[f"{s}LowerLeg"] = f"{s}UpperLeg"
        parents[f"{s}Foot"] = f"{s}LowerLeg"
        parents[f"{s}Toes"] = f"{s}Foot"
    for s in _SIDES:
        parents[f"{s}Shoulder"] = "upperChest"
        parents[f"{s}UpperArm"] = f"{s}Shoulder"
        parents[f"{s}LowerArm"] = f"{s}UpperArm"
        parents[f"{s}Hand"] = f"{s}LowerArm"
    for s in _SIDES:
        for finger, segs in _FINGERS:
            prev = f"{s}Hand"
            for seg in segs:
                name = f"{s}{finger}{seg}"
                parents[name] = prev
                prev = name
    return tuple(parents), parents


BONES, PARENT_NAME = _build()
"""All 55 VRM 1.0 humanoid bones, parents first."""

NUM_BONES = len(BONES)
BONE_INDEX: dict[str, int] = {name: i for i, name in enumerate(BONES)}

PARENTS: np.ndarray = np.array(
    [-1 if PARENT_NAME[b] is None else BONE_INDEX[PARENT_NAME[b]] for b in BONES], dtype=np.int64
)
"""[J] parent index of each bone, -1 for the root (``hips``)."""

REQUIRED_BONES: tuple[str, ...] = (
    "hips", "spine", "head",
    "leftUpperLeg", "leftLowerLeg", "leftFoot",
    "rightUpperLeg", "rightLowerLeg", "rightFoot",
    "leftUpperArm", "leftLowerArm", "leftHand",
    "rightUpperArm", "rightLowerArm", "rightHand",
)
"""The 15 bones VRM 1.0 requires."""

FINGER_NAMES = tuple(f for f, _ in _FINGERS)


def finger_bones(side: str, finger: str) -> tuple[str, str, str]:
    """The three bones of one finger, root first, e.g. ``("leftIndexProximal", ...)``."""
    segs = dict(_FINGERS)[finger]
    return tuple(f"{side}{finger}{s}" for s in segs)  # type: ignore[return-value]


def mirror_name(name: str) -> str:
    """``leftHand`` -> ``rightHand`` and back; centre bones map to themselves."""
    if name.startswith("left"):
        return "right" + name[4:]
    if name.startswith("right"):
        return "left" + name[5:]
    return name


MIRROR: np.ndarray = np.array([BONE_INDEX[mirror_name(b)] for b in BONES], dtype=np.int64)
"""[J] index of the mirrored bone (left <-> right)."""


def children(index: int) -> list[int]:
    return [i for i, p in enumerate(PARENTS) if p == index]


def bone_side(name: str) -> str:
    """'left', 'right' or 'center'."""
    if name.startswith("left"):
        return "left"
    if name.startswith("right"):
        return "right"
    return "center"
