"""How each source bone's rest orientation maps onto the target's T-pose: the constant world
rotations ``C_v`` of retargeting (``W_v = G_src(v) C_v^T``, see :mod:`kyara.motion.retarget`).

``C_v`` is the world rotation of source bone ``v`` when the source stands in the target's
T-pose. Two ways to find it:

* **Zero pose** (:func:`tpose_alignment`), for rigs whose zero pose is a standing human (CMU,
  Mixamo, SMPL, VRM; :func:`zero_pose_is_upright`). Limbs are swung from their zero-pose
  direction onto the T-pose one, down each chain; the torso, neck, head, shoulders and feet keep
  the zero pose's shape (spine curve, head joint placement are anatomy, not pose); the root only
  turns about the vertical.
* **Animation** (:func:`animated_alignment`), for rigs whose zero pose is not a standing human:
  FBX-derived BVH (Rokoko and similar) keep each joint's orient in the channels, so at zero every
  bone points along +X and the rig stands up only through the first frame's rotations. A
  bone's rest direction is then read where it is rigid: the mean over frames of its child's
  position *in the bone's own frame*, ``G_v^T (p_c - p_v)``, which no joint orient can change.
  Every mapped bone is swung onto its T-pose direction. The twist about that direction, which a
  bone's own child cannot show, comes from the hinge below it for upper arms and thighs (the
  elbow's and knee's bending plane, seen in the animation, is put where the target's elbow bends
  forward and its knee backward) and otherwise is chosen so the target bone's mean twist
  relative to its parent is zero; the root gets a full frame from its up (spine) and left (hips)
  directions. This result
  does not depend on how the rig's joints are oriented at zero: a rig re-based by any per-joint
  rotation (offsets and channels changed so the FK stays the same) retargets identically.
"""

from __future__ import annotations

import numpy as np

from kyara.body.layout import Layout
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES, PARENTS, finger_bones
from kyara.motion.bvh import MocapMotion, MocapSkeleton, mocap_fk
from kyara.pose.rotations import axis_angle_to_matrix, matrix_to_quat, quat_to_matrix, rotation_between

REST_MODES = ("auto", "zero", "animation")
# upper limb bone -> (middle joint, end joint, the way the hinge bends the limb in the target T-pose):
# elbows bend the forearm forward (+Z, the target faces +Z), knees bend the shin backward
_HINGES: dict[str, tuple[str, str, tuple[float, float, float]]] = {
    **{f"{s}UpperArm": (f"{s}LowerArm", f"{s}Hand", (0.0, 0.0, 1.0)) for s in ("left", "right")},
    **{f"{s}UpperLeg": (f"{s}LowerLeg", f"{s}Foot", (0.0, 0.0, -1.0)) for s in ("left", "right")},
}
_UPRIGHT_TOL_DEG = 45.0  # torso bones within this of +Y, legs of -Y: the zero pose stands
_SAMPLE_FRAMES = 256  # frames (evenly spaced) read by the animation alignment


def _chain_children() -> dict[str, tuple[str, ...]]:
    """VRM bone -> the child bones (down one chain) whose direction defines the bone's direction."""
    out: dict[str, tuple[str, ...]] = {
        "hips": ("spine", "chest", "upperChest", "neck", "head"),
        "spine": ("chest", "upperChest", "neck", "head"),
        "chest": ("upperChest", "neck", "head"),
        "upperChest": ("neck", "head"),
        "neck": ("head",),
    }
    for s in ("left", "right"):
        out[f"{s}UpperLeg"] = (f"{s}LowerLeg", f"{s}Foot")
        out[f"{s}LowerLeg"] = (f"{s}Foot", f"{s}Toes")
        out[f"{s}Foot"] = (f"{s}Toes",)
        out[f"{s}Shoulder"] = (f"{s}UpperArm", f"{s}LowerArm")
        out[f"{s}UpperArm"] = (f"{s}LowerArm", f"{s}Hand")
        out[f"{s}LowerArm"] = (f"{s}Hand",)
        out[f"{s}Hand"] = finger_bones(s, "Middle")
        for f in ("Thumb", "Index", "Middle", "Ring", "Little"):
            b = finger_bones(s, f)
            out[b[0]] = b[1:]
            out[b[1]] = b[2:]
    return out


_CHAIN = _chain_children()
# Bones whose T-pose direction is a *pose* convention (legs straight down, arms and fingers
# straight out), so a different source zero pose is corrected. Torso, neck, head, shoulders and
# feet keep the source's zero-pose shape: their directions differ between skeletons by anatomy
# (spine curve, where SMPL puts the head joint, ankle height), not by pose.
ALIGNED_BONES = frozenset(
    [f"{s}{b}" for s in ("left", "right") for b in ("UpperLeg", "LowerLeg", "UpperArm", "LowerArm", "Hand")]
    + [b for s in ("left", "right") for f in ("Thumb", "Index", "Middle", "Ring", "Little") for b in finger_bones(s, f)]
)
_TIP_KEY = {"head": "head", **{f"{s}Toes": f"{s}Toes" for s in ("left", "right")},
            **{finger_bones(s, f)[2]: f"{s}{f}" for s in ("left", "right")
               for f in ("Thumb", "Index", "Middle", "Ring", "Little")}}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _frame(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Orthonormal basis [3, 3] with columns (left, up, forward), up kept exactly."""
    u = _unit(up)
    l = _unit(left - np.dot(left, u) * u)
    return np.stack([l, u, np.cross(l, u)], axis=1)


def tpose_alignment(
    src_rest: np.ndarray,  # [Js, 3] source zero-pose joints, metres
    src_end: dict[int, np.ndarray],  # source end-site offsets, metres
    src_index: list[int],  # [55] source joint per VRM bone, -1 = unmapped
    layout: Layout,
) -> np.ndarray:
    """``[55, 3, 3]`` world rotations taking source zero-pose bone directions to T-pose ones."""
    tgt = layout.joints
    scale = np.linalg.norm(np.ptp(src_rest, axis=0)) + 1e-9

    def mapped(b: str) -> bool:
        return src_index[BONE_INDEX[b]] >= 0

    C = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    # root: turn about the vertical so the skeletons' left directions agree (both are Y up; the
    # torso's lean is anatomy and is kept)
    side = next((s for s in ("UpperLeg", "UpperArm", "Shoulder") if mapped(f"left{s}") and mapped(f"right{s}")), None)
    h = BONE_INDEX["hips"]
    if side is not None:
        up = np.array([0.0, 1.0, 0.0])
        Bs = _frame(src_rest[src_index[BONE_INDEX[f"left{side}"]]] - src_rest[src_index[BONE_INDEX[f"right{side}"]]], up)
        Bt = _frame(tgt[BONE_INDEX[f"left{side}"]] - tgt[BONE_INDEX[f"right{side}"]], up)
        C[h] = Bt @ Bs.T
    for v, name in enumerate(BONES):
        if v == h:
            continue
        p = PARENTS[v]
        C[v] = C[p]  # unmapped, not aligned, or no direction: inherit the parent's correction
        if not mapped(name) or name not in ALIGNED_BONES:
            continue
        b = src_index[v]
        d_s = d_t = None
        for c in _CHAIN.get(name, ()):
            if mapped(c):
                d = src_rest[src_index[BONE_INDEX[c]]] - src_rest[b]
                if np.linalg.norm(d) > 1e-4 * scale:
                    d_s, d_t = d, tgt[BONE_INDEX[c]] - tgt[v]
                    break
        if d_s is None and name in _TIP_KEY and b in src_end and np.linalg.norm(src_end[b]) > 1e-4 * scale:
            d_s, d_t = src_end[b], layout.tips[_TIP_KEY[name]] - tgt[v]
        if d_s is not None:
            C[v] = quat_to_matrix(rotation_between(C[p] @ d_s, d_t)) @ C[p]
    return C


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return 180.0
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))))


def zero_pose_is_upright(src_rest: np.ndarray, index: list[int]) -> bool:
    """True when the source zero pose (``[Js, 3]``, Y up) stands: every mapped torso bone (hips
    up to the head) points within 45 deg of +Y and every mapped leg (hip -> knee -> ankle) within
    45 deg of -Y. Arms are not checked: T-, A- and I-poses are all fine."""
    up, down = np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0])
    size = float(np.linalg.norm(np.ptp(src_rest, axis=0))) + 1e-12

    def points(chain: list[int], direction: np.ndarray) -> bool:
        """Each step between mapped joints of ``chain`` (coincident ones skipped) points along ``direction``."""
        pts = [src_rest[j] for j in chain if j >= 0]
        for a, b in zip(pts, pts[1:]):
            if np.linalg.norm(b - a) > 1e-3 * size and _angle_deg(b - a, direction) > _UPRIGHT_TOL_DEG:
                return False
        return True

    torso = [index[BONE_INDEX[b]] for b in ("hips", "spine", "chest", "upperChest", "neck", "head")]
    legs = [[index[BONE_INDEX[f"{s}{b}"]] for b in ("UpperLeg", "LowerLeg", "Foot")] for s in ("left", "right")]
    return points(torso, up) and all(points(leg, down) for leg in legs)


def _mean_rotation(R: np.ndarray) -> np.ndarray:
    """Chordal mean ``[3, 3]`` of rotations ``[F, 3, 3]`` (SVD projection of their sum)."""
    U, _, Vt = np.linalg.svd(R.sum(axis=0))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt)) or 1.0])
    return U @ D @ Vt


def _mean_twist(M: np.ndarray, axis: np.ndarray) -> float:
    """Circular mean of the twist angles (radians) of rotations ``M [F, 3, 3]`` about ``axis``."""
    q = matrix_to_quat(M)
    theta = 2.0 * np.arctan2(q[:, :3] @ axis, q[:, 3])
    return float(np.arctan2(np.sin(theta).mean(), np.cos(theta).mean()))


def animated_alignment(skeleton: MocapSkeleton, motion: MocapMotion, index: list[int], layout: Layout) -> np.ndarray:
    """``[55, 3, 3]`` rest alignment read from the animation (see the module docstring), for rigs
    whose zero pose does not stand. Independent of the joints' zero-pose orientations."""
    tgt = layout.joints
    F = motion.num_frames
    pick = np.unique(np.linspace(0, F - 1, min(F, _SAMPLE_FRAMES)).round().astype(np.int64))
    sub = MocapMotion(motion.rotations[pick], motion.root_translation[pick], motion.fps,
                      None if motion.joint_offsets is None else motion.joint_offsets[pick])
    g_rot, g_pos = mocap_fk(skeleton, sub)  # [F', J, 3, 3], [F', J, 3]
    size = float(np.linalg.norm(np.ptp(g_pos.reshape(-1, 3), axis=0))) + 1e-9

    def local(j: int, k: int) -> np.ndarray:
        """Mean over frames of the vector j -> k in j's own frame, ``[3]`` (zero if degenerate)."""
        v = np.einsum("fji,fj->fi", g_rot[:, j], g_pos[:, k] - g_pos[:, j])
        n = np.linalg.norm(v, axis=1, keepdims=True)
        ok = n[:, 0] > 1e-4 * size
        return (v[ok] / n[ok]).mean(axis=0) if np.any(ok) else np.zeros(3)

    def src(b: str) -> int:
        return index[BONE_INDEX[b]]

    def hinge(j: int, mid: int, end: int) -> np.ndarray | None:
        """The bending axis of the limb j -> mid -> end in j's own frame (mean over bent frames)."""
        a, u = g_pos[:, mid] - g_pos[:, j], g_pos[:, end] - g_pos[:, mid]
        n = np.cross(a, u)
        nn = np.linalg.norm(n, axis=1)
        bent = nn > np.sin(np.radians(20.0)) * np.linalg.norm(a, axis=1) * np.linalg.norm(u, axis=1) + 1e-12
        if bent.sum() < 3:
            return None
        h = np.einsum("fji,fj->fi", g_rot[bent, j], n[bent] / nn[bent, None]).mean(axis=0)
        return h if np.linalg.norm(h) > 0.5 else None  # a consistent bending side, not noise

    C = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    h = BONE_INDEX["hips"]
    hs = src("hips")
    # 1. root: a full frame from the up (first mapped torso joint) and left (legs) directions
    top = next((b for b in ("spine", "chest", "upperChest", "neck", "head") if src(b) >= 0), None)
    side = next((s for s in ("UpperLeg", "UpperArm", "Shoulder") if src(f"left{s}") >= 0 and src(f"right{s}") >= 0), None)
    if top is not None and side is not None:
        l_s = np.einsum("fji,fj->i", g_rot[:, hs], g_pos[:, src(f"left{side}")] - g_pos[:, src(f"right{side}")])
        u_s = local(hs, src(top))
        l_t = tgt[BONE_INDEX[f"left{side}"]] - tgt[BONE_INDEX[f"right{side}"]]
        u_t = tgt[BONE_INDEX[top]] - tgt[h]
        if np.linalg.norm(u_s) > 1e-3 and np.linalg.norm(np.cross(l_s, u_s)) > 1e-6 * np.linalg.norm(l_s):
            C[h] = _frame(l_t, u_t) @ _frame(l_s, u_s).T
    # 2. every other mapped bone: swing onto the T-pose direction, twist from the animation
    for v, name in enumerate(BONES):
        if v == h:
            continue
        C[v] = C[PARENTS[v]]
        b = index[v]
        if b < 0:
            continue
        a = PARENTS[v]
        while index[a] < 0:  # the nearest mapped ancestor carries the target parent's rotation
            a = PARENTS[a]
        X = C[a] @ np.swapaxes(g_rot[:, index[a]], -1, -2) @ g_rot[:, b]  # target local = X C_v^T
        u = d_t = None
        for c in _CHAIN.get(name, ()):
            if index[BONE_INDEX[c]] >= 0:
                d = local(b, index[BONE_INDEX[c]])
                if np.linalg.norm(d) > 1e-3:
                    u, d_t = d, tgt[BONE_INDEX[c]] - tgt[v]
                    break
        if u is None and name in _TIP_KEY and b in skeleton.end_sites and np.linalg.norm(skeleton.end_sites[b]) > 1e-4 * size:
            u, d_t = skeleton.end_sites[b], layout.tips[_TIP_KEY[name]] - tgt[v]
        if u is None:
            C[v] = _mean_rotation(X)  # no direction to read: the mean target local rotation is the rest
            continue
        R0 = quat_to_matrix(rotation_between(u, d_t))
        axis = _unit(d_t)
        h_s = None
        if name in _HINGES and min(src(_HINGES[name][0]), src(_HINGES[name][1])) >= 0:
            h_s = hinge(b, src(_HINGES[name][0]), src(_HINGES[name][1]))
        if h_s is not None:  # turn about the bone so the source's bending axis lands on the target's
            p, h_t = R0 @ h_s, np.cross(d_t, np.array(_HINGES[name][2]))
            p, h_t = p - (p @ axis) * axis, h_t - (h_t @ axis) * axis
            twist = float(np.arctan2(axis @ np.cross(p, h_t), p @ h_t))
        else:
            twist = _mean_twist(X @ R0.T, axis)
        C[v] = axis_angle_to_matrix(axis * twist) @ R0
    return C


def rest_alignment(skeleton: MocapSkeleton, motion: MocapMotion, index: list[int], layout: Layout,
                   mode: str = "auto") -> tuple[np.ndarray, str]:
    """``(C [55, 3, 3], mode used)``: ``"zero"`` (:func:`tpose_alignment`), ``"animation"``
    (:func:`animated_alignment`) or ``"auto"`` (zero when :func:`zero_pose_is_upright`)."""
    if mode not in REST_MODES:
        raise ValueError(f"rest mode '{mode}' is not valid, expected one of {', '.join(REST_MODES)}")
    rest = skeleton.rest_joints
    if mode == "auto":
        mode = "zero" if zero_pose_is_upright(rest, index) else "animation"
    if mode == "zero":
        return tpose_alignment(rest, skeleton.end_sites, index, layout), mode
    return animated_alignment(skeleton, motion, index, layout), mode
