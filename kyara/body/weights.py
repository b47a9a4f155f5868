"""Skin weights and part labels from the primitives that built the surface.

Each primitive is owned by a bone. A vertex's weight for primitive ``i`` is a soft-min of the
primitive distances, ``exp(-(d_i - d_min) / tau_i)``: where two primitives blend (elbow, knee,
shoulder) both are near zero and share the vertex, elsewhere one owns it outright. The torso
primitive is split among hips/spine/chest/upperChest by height (piecewise-linear between segment
centres). Finally the four largest influences are kept and renormalized.
"""

from __future__ import annotations

import numpy as np

from kyara.body.layout import Layout
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES, PARENTS

PARENTS_LIST = [int(p) for p in PARENTS]
from kyara.body.surface import Primitive

PART_NAMES: tuple[str, ...] = ("head", "torso", "arms", "hands", "legs", "feet")


def bone_part(bone: str) -> int:
    """Part label index of a bone."""
    if bone in ("head", "neck", "jaw") or bone.endswith("Eye"):
        return 0
    if bone in ("hips", "spine", "chest", "upperChest") or bone.endswith("Shoulder"):
        return 1
    if bone.endswith("UpperArm") or bone.endswith("LowerArm"):
        return 2
    if bone.endswith("Hand") or any(f in bone for f in ("Thumb", "Index", "Middle", "Ring", "Little")):
        return 3
    if bone.endswith("UpperLeg") or bone.endswith("LowerLeg"):
        return 4
    return 5  # feet, toes


BONE_PART = np.array([bone_part(b) for b in BONES], dtype=np.uint8)


def torso_split(y: np.ndarray, layout: Layout, top: float) -> np.ndarray:
    """``[V, 4]`` weights of hips/spine/chest/upperChest for torso points at heights ``y``."""
    j = layout.joint
    ys = [j("hips")[1], 0.5 * (j("spine")[1] + j("chest")[1]), 0.5 * (j("chest")[1] + j("upperChest")[1]),
          0.5 * (j("upperChest")[1] + top)]
    out = np.zeros((len(y), 4))
    for i in range(4):
        onehot = np.zeros(4)
        onehot[i] = 1.0
        out[:, i] = np.interp(y, ys, onehot)
    return out


# hinge joints whose two limb primitives share a ball: split them by the plane through the joint
HINGES = (("upperarm", "forearm", "LowerArm", "r_elbow"), ("thigh", "shin", "LowerLeg", "r_knee"))
HINGE_WIDTH = 0.25  # x joint radius: half-width of the blend across the joint plane


def skin_weights(vertices: np.ndarray, prims: list[Primitive], layout: Layout, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``(joint_indices [V,k] int64, joint_weights [V,k] float32)``, rows sum to 1."""
    solid = [q for q in prims if not q.carve]
    d = np.stack([q.fn(vertices) for q in solid], axis=1)  # [V, P]
    tau = np.array([q.tau for q in solid])
    s = np.exp(-(d - d.min(axis=1, keepdims=True)) / tau)
    # elbows and knees: the soft-min can't tell the two limbs apart on the shared joint ball, so the
    # pair's combined weight is split by a narrow sigmoid across the plane through the joint
    names = {q.name: i for i, q in enumerate(solid)}
    for upper, lower, bone, radius in HINGES:
        for side in ("left", "right"):
            iu, il = names[f"{upper}_{side}"], names[f"{lower}_{side}"]
            joint = layout.joint(f"{side}{bone}")
            child = layout.joint(BONES[[i for i, p in enumerate(PARENTS_LIST) if p == BONE_INDEX[f"{side}{bone}"]][0]])
            parent = layout.joint(BONES[PARENTS_LIST[BONE_INDEX[f"{side}{bone}"]]])
            n = (joint - parent) / np.linalg.norm(joint - parent) + (child - joint) / np.linalg.norm(child - joint)
            n /= np.linalg.norm(n)
            sd = (vertices - joint) @ n
            t = 0.5 * (1.0 + np.tanh(sd / (HINGE_WIDTH * layout.dims[radius])))
            both = s[:, iu] + s[:, il]
            s[:, iu] = both * (1.0 - t)
            s[:, il] = both * t
    dense = np.zeros((len(vertices), NUM_BONES))
    torso_top = layout.dims["neck_y"] + 0.02 * layout.dims["torso_len"]
    split_bones = [BONE_INDEX[b] for b in ("hips", "spine", "chest", "upperChest")]
    for i, q in enumerate(solid):
        if q.bone == "torso":
            dense[:, split_bones] += s[:, i : i + 1] * torso_split(vertices[:, 1], layout, torso_top)
        else:
            dense[:, BONE_INDEX[q.bone]] += s[:, i]
    idx = np.argsort(-dense, axis=1)[:, :k]
    w = np.take_along_axis(dense, idx, axis=1)
    w[w < 1e-3 * w[:, :1]] = 0.0
    w32 = (w / w.sum(axis=1, keepdims=True)).astype(np.float32)
    # renormalize after the float32 cast so rows sum to 1 in float32 too
    w32 /= w32.sum(axis=1, keepdims=True, dtype=np.float32)
    return idx.astype(np.int64), w32
