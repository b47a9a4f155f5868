"""Retarget mocap motion (BVH, SMPL) onto the 55-bone VRM skeleton of any anime body.

Steps of :func:`retarget` (source = mocap skeleton, target = ``body_layout(params).joints``):

1. **Map** source joints to VRM bones by name (:mod:`kyara.motion.mapping`).
2. **Align the source rest pose to a T-pose** (:mod:`kyara.motion.alignment`). A mocap zero
   pose is not a T-pose (CMU: legs splayed ~20 deg). When the zero pose stands, for every mapped
   limb bone (:data:`ALIGNED_BONES`) ``C_v`` is the world rotation taking the source's zero-pose
   bone direction onto the target's T-pose direction, composed down the chain
   (``C_v = swing(C_parent d_src -> d_tgt) C_parent``); other bones inherit their parent's; the
   root turns about the vertical so the skeletons' left-right directions agree (facing is kept).
   When it does not stand (FBX-derived rigs whose bones all point along +X at zero), each bone's
   rest direction is read from the animation in the bone's own frame, so the result does not
   depend on how the rig's joints are oriented at zero.
3. **Transfer world rotations through the rest poses** (VRM animation convention: normalize by
   the source rest, denormalize by the target rest, whose rest orientations are identity):
   ``W_v = G_src(v) C_v^T``; unmapped target bones follow their parent; local
   ``L_v = W_parent^T W_v``. Rotations of unmapped source joints (CMU LHipJoint, LowerBack,
   Neck1) are inside ``G_src`` of the next mapped joint: they fold in.
4. **Root translation** scaled by the leg-length ratio (hip -> ankle chains).
5. **Feet on the ground**: frames where a source foot joint is within ``contact_height`` of its
   lowest height are contact frames; there the hips are shifted vertically so the lowest target
   foot point (heel, ball, toe tip) sits at its rest height (0). Between contacts the shift is
   interpolated, then smoothed, so jumps keep their flight.
6. **Resample** (slerp) to ``fps`` and **trim** (source frames, before resampling).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from kyara.body.layout import Layout, body_layout
from kyara.body.params import BodyParams, get_preset
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES, PARENTS
from kyara.motion.alignment import _TIP_KEY, REST_MODES, ALIGNED_BONES, rest_alignment, tpose_alignment  # noqa: F401
from kyara.motion.bvh import MocapMotion, MocapSkeleton, mocap_fk
from kyara.motion.mapping import REQUIRED_BONES, mapping_indices, resolve_mapping
from kyara.pose.lbs import forward_kinematics
from kyara.pose.pose import Motion
from kyara.pose.rotations import matrix_to_quat, quat_conj, quat_slerp, quat_to_matrix

LEG_BONES = tuple(f"{s}{b}" for s in ("left", "right") for b in ("UpperLeg", "LowerLeg", "Foot"))


@dataclass(frozen=True)
class RetargetConfig:
    ground: bool = True  # keep feet on the floor (contact-based vertical correction of the hips)
    contact_height: float = 0.03  # m (source, after scaling): foot joint this close to its lowest = contact
    smooth_s: float = 0.03  # s, Gaussian sigma applied to the vertical correction
    contact_tolerance: float = 0.005  # m, most the smoothing may move a contact frame off the floor
    align_tpose: bool = True  # correct the source rest pose to a T-pose before transferring
    rest: str = "auto"  # source rest orientation: "zero" pose, "animation", or auto (zero when it stands)


def _target_layout(target: BodyParams | Layout | str) -> Layout:
    if isinstance(target, Layout):
        return target
    if isinstance(target, str):
        return body_layout(get_preset(target))
    if isinstance(target, BodyParams):
        return body_layout(target)
    raise ValueError(f"retarget target is a {type(target).__name__}, expected BodyParams, Layout or a preset name")


def leg_length(rest_joints: np.ndarray, index: list[int]) -> float:
    """Mean hip -> knee -> ankle chain length (metres) over the mapped legs."""
    out = []
    for s in ("left", "right"):
        i = [index[BONE_INDEX[f"{s}{b}"]] for b in ("UpperLeg", "LowerLeg", "Foot")]
        if min(i) >= 0:
            out.append(np.linalg.norm(rest_joints[i[1]] - rest_joints[i[0]]) + np.linalg.norm(rest_joints[i[2]] - rest_joints[i[1]]))
    if not out:
        raise ValueError("source skeleton has no mapped leg (upper leg, lower leg, foot), expected at least one")
    length = float(np.mean(out))
    if not (np.isfinite(length) and length > 1e-6):
        raise ValueError(f"source legs are {length:g} m long (hip -> knee -> ankle), expected a leg longer than zero")
    return length


def foot_points(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Sole points of the target feet: bone index ``[6]`` and rest position ``[6, 3]`` (y = 0).

    Per side: heel and ball (carried by the foot bone), toe tip (carried by the toes bone).
    """
    bones, pts = [], []
    L = layout.dims["foot_len"]
    for s in ("left", "right"):
        a, t = layout.joint(f"{s}Foot"), layout.joint(f"{s}Toes")
        tip = layout.tips[f"{s}Toes"]
        bones += [BONE_INDEX[f"{s}Foot"], BONE_INDEX[f"{s}Foot"], BONE_INDEX[f"{s}Toes"]]
        pts += [[a[0], 0.0, tip[2] - L], [t[0], 0.0, t[2]], [tip[0], 0.0, tip[2]]]
    return np.array(bones), np.array(pts)


def lowest_foot_height(
    global_rot: np.ndarray,  # [F, 55, 3, 3] (or [F, 6, 3, 3] of the foot_points bones with bones_only)
    global_pos: np.ndarray,  # [F, 55, 3] (or [F, 6, 3])
    layout: Layout,
    bones_only: bool = False,
) -> np.ndarray:
    """``[F]`` height (metres) of the lowest target foot sole point; 0 = standing in the rest pose."""
    bones, pts = foot_points(layout)
    local = pts - layout.joints[bones]  # [6, 3]
    sel = slice(None) if bones_only else bones
    world = global_pos[:, sel] + np.einsum("fkij,kj->fki", global_rot[:, sel], local)
    return world[..., 1].min(axis=1)


def source_contacts(src_pos: np.ndarray, src_index: list[int], height: float, fps: float, window_s: float = 1.0) -> np.ndarray:
    """``[F]`` bool: some source foot or toe joint is within ``height`` of its standing level.

    The floor is local (a running minimum of the lowest foot joint over ``window_s``), so slow
    drift of the capture floor does not end contact; a joint's standing level is its lowest
    height above that floor (percentile 1).
    """
    joints = [src_index[BONE_INDEX[n]] for n in ("leftFoot", "rightFoot", "leftToes", "rightToes")]
    joints = [j for j in joints if j >= 0]
    y = src_pos[:, joints, 1]  # [F, K]
    size = max(1, int(round(window_s * fps)) | 1)
    floor = _running_min(y.min(axis=1), size)
    floor = _gaussian_smooth(floor, max(size / 8.0, 0.5))
    above = y - floor[:, None]
    base = np.percentile(above, 1.0, axis=0)
    return np.any(above - base < height, axis=1)


def _running_min(x: np.ndarray, size: int) -> np.ndarray:
    """Centred running minimum over ``size`` (odd) samples, edges padded with the end values."""
    h = size // 2
    padded = np.concatenate([np.full(h, x[0]), x, np.full(h, x[-1])])
    return np.lib.stride_tricks.sliding_window_view(padded, size).min(axis=1)


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter with edges padded by the end values (numpy only, no scipy import cost)."""
    h = max(1, int(4.0 * sigma + 0.5))
    k = np.exp(-0.5 * (np.arange(-h, h + 1) / sigma) ** 2)
    padded = np.concatenate([np.full(h, x[0]), x, np.full(h, x[-1])])
    return np.convolve(padded, k / k.sum(), mode="valid")


def ground_correction(
    lowest: np.ndarray,  # [F] lowest target foot point, metres (0 = standing)
    contact: np.ndarray,  # [F] bool
    fps: float,
    smooth_s: float,
    tolerance: float = 0.005,
) -> np.ndarray:
    """``[F]`` vertical shift (metres) of the hips that keeps the feet on the floor.

    ``-lowest`` on contact frames, linearly interpolated across flights (so a jump keeps its
    height), Gaussian-smoothed with sigma ``smooth_s``; on contact frames the smoothed shift stays
    within ``tolerance`` of the exact one.
    """
    F = lowest.shape[0]
    idx = np.flatnonzero(contact)
    if idx.size == 0:
        return np.full(F, -float(lowest.min()))
    exact = np.interp(np.arange(F), idx, -lowest[idx])
    sigma = smooth_s * fps
    if sigma < 0.3 or F < 2:
        return exact
    smooth = _gaussian_smooth(exact, sigma)
    dev = np.where(contact, np.clip(smooth - exact, -tolerance, tolerance), smooth - exact)
    return exact + dev


# --------------------------------------------------------------------------------------------
# resampling


def resample_arrays(
    rotations: np.ndarray,  # [F, J, 4]
    translation: np.ndarray,  # [F, ...] linearly interpolated
    fps_in: float,
    fps_out: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Slerp rotations and lerp ``translation`` onto ``fps_out``; keeps the clip's duration.

    Output frames: ``floor((F - 1) * fps_out / fps_in) + 1`` at times ``k / fps_out``.
    """
    if not (np.isfinite(fps_out) and fps_out > 0):
        raise ValueError(f"fps {fps_out} is not valid, expected frames per second > 0")
    F = rotations.shape[0]
    n = int(np.floor((F - 1) * fps_out / fps_in + 1e-6)) + 1
    u = np.arange(n) * (fps_in / fps_out)
    i0 = np.minimum(np.floor(u + 1e-9).astype(np.int64), max(F - 2, 0))
    w = np.clip(u - i0, 0.0, 1.0)
    i1 = np.minimum(i0 + 1, F - 1)
    rot = quat_slerp(rotations[i0], rotations[i1], w[:, None])
    wt = w.reshape((-1,) + (1,) * (translation.ndim - 1))
    trans = (1 - wt) * translation[i0] + wt * translation[i1]
    return rot, trans


def resample_arrays_reference(rotations, translation, fps_in, fps_out):
    """Slow, obvious reference of :func:`resample_arrays`: a loop over output frames and joints."""
    F = rotations.shape[0]
    duration = (F - 1) / fps_in
    n = int(np.floor(duration * fps_out + 1e-6)) + 1
    rots, trans = [], []
    for k in range(n):
        u = k / fps_out * fps_in
        i = min(int(np.floor(u + 1e-9)), max(F - 2, 0))
        w = min(max(u - i, 0.0), 1.0)
        j = min(i + 1, F - 1)
        rots.append([quat_slerp(rotations[i, b], rotations[j, b], w) for b in range(rotations.shape[1])])
        trans.append((1 - w) * translation[i] + w * translation[j])
    return np.array(rots), np.array(trans)


def resample_motion(motion: Motion, fps: float) -> Motion:
    """A target :class:`Motion` at another frame rate (slerp), same duration."""
    rot, trans = resample_arrays(motion.rotations, motion.translation, motion.fps, fps)
    return Motion(rot, trans, fps)


def _resample_mocap(motion: MocapMotion, fps: float) -> MocapMotion:
    rot, trans = resample_arrays(motion.rotations, motion.root_translation, motion.fps, fps)
    offs = None
    if motion.joint_offsets is not None:
        _, offs = resample_arrays(motion.rotations, motion.joint_offsets, motion.fps, fps)
    return MocapMotion(rot, trans, fps, offs)


# --------------------------------------------------------------------------------------------
# the entry point


def retarget(
    source_motion: MocapMotion,
    source_skeleton: MocapSkeleton,
    target: BodyParams | Layout | str,
    mapping: dict[str, str | None] | str | os.PathLike | None = None,
    fps: float | None = None,
    trim: tuple[int | None, int | None] | None = None,
    config: RetargetConfig | None = None,
) -> Motion:
    """Retarget ``source_motion`` onto the VRM skeleton of ``target`` (params, layout or preset).

    ``mapping`` overrides the guessed name table (dict or YAML path, ``{joint: vrmBone|null}``);
    ``trim = (start, stop)`` keeps source frames ``start:stop`` (before resampling); ``fps``
    resamples (default: the source rate). Returns a :class:`Motion` ``[F, 55, 4]`` + ``[F, 3]``
    metres, hips translation relative to the target rest pose.
    """
    cfg = config or RetargetConfig()
    layout = _target_layout(target)
    J = source_skeleton.num_joints
    if source_motion.rotations.shape[1:] != (J, 4):
        raise ValueError(f"motion rotations have shape {source_motion.rotations.shape}, expected (F, {J}, 4) for the skeleton")
    names = source_skeleton.names
    index = mapping_indices(names, resolve_mapping(names, mapping, required=REQUIRED_BONES))
    if cfg.rest not in REST_MODES:
        raise ValueError(f"rest mode '{cfg.rest}' is not valid, expected one of {', '.join(REST_MODES)}")
    motion = source_motion
    if trim is not None:
        start, stop = trim
        if len(range(motion.num_frames)[start:stop]) == 0:
            raise ValueError(f"trim {tuple(trim)} keeps no frame of the {motion.num_frames}-frame motion, expected start < stop")
        motion = motion.slice(start, stop)
    if fps is not None and float(fps) != motion.fps:
        motion = _resample_mocap(motion, float(fps))

    with np.errstate(all="ignore"):  # degenerate input ends in the ValueError below, not in warnings
        # 2. source rest -> T-pose per bone (read from the whole clip, so a trim does not change it)
        if cfg.align_tpose:
            C, _ = rest_alignment(source_skeleton, source_motion, index, layout, cfg.rest)
        else:
            C = np.tile(np.eye(3), (NUM_BONES, 1, 1))
        out = _retarget_arrays(source_skeleton, motion, index, layout, cfg, C)
    if not all(np.all(np.isfinite(a)) for a in (out.rotations, out.translation)):
        raise ValueError("retargeting produced non-finite values: the source skeleton is degenerate "
                         "(coincident joints or zero-length legs)")
    return out


def _retarget_arrays(source_skeleton: MocapSkeleton, motion: MocapMotion, index: list[int], layout: Layout,
                     cfg: RetargetConfig, C: np.ndarray) -> Motion:
    # 1. source world positions of the hips and feet
    g_pos, pos_index = _source_positions(source_skeleton, motion, index)  # [F, K, 3], [55]
    src_rest = source_skeleton.rest_joints
    tgt_rest = layout.joints
    # 3. world rotations relative to the T-pose, then locals on the target tree
    world_q, local_q = transfer_rotations(motion.rotations, source_skeleton.parents, C, index)
    # 4. root translation scaled by the leg-length ratio
    k = leg_length(tgt_rest, list(range(NUM_BONES))) / leg_length(src_rest, index)
    hs = index[BONE_INDEX["hips"]]
    trans = k * (g_pos[:, pos_index[BONE_INDEX["hips"]]] - src_rest[hs])  # [F, 3] offset of the hips from the target rest
    # 5. feet on the ground
    if cfg.ground:
        lowest = _lowest_from_world(world_q, trans, layout)
        contact = source_contacts(g_pos, pos_index, cfg.contact_height, motion.fps)
        trans[:, 1] += ground_correction(lowest, contact, motion.fps, cfg.smooth_s, cfg.contact_tolerance)
    return Motion(local_q, trans, motion.fps)


def _source_positions(skeleton: MocapSkeleton, motion: MocapMotion, index: list[int]) -> tuple[np.ndarray, list[int]]:
    """World positions ``[F, K, 3]`` of the source joints the retargeting reads (hips, feet, toes
    and their ancestors) and, per VRM bone, the column of its joint (-1 if not computed).

    Forward kinematics on that sub-tree only (a third of CMU's joints), with the same
    :func:`kyara.pose.lbs.forward_kinematics` as :func:`mocap_fk`.
    """
    wanted = [index[BONE_INDEX[b]] for b in ("hips", "leftFoot", "rightFoot", "leftToes", "rightToes")]
    keep: set[int] = set()
    for j in wanted:
        while j >= 0 and j not in keep:
            keep.add(j)
            j = int(skeleton.parents[j])
    cols = sorted(keep)  # parents first, like the skeleton
    if motion.joint_offsets is not None:
        _, pos = mocap_fk(skeleton, motion)
        return pos[:, cols], [cols.index(j) if j in keep else -1 for j in index]
    col = {j: i for i, j in enumerate(cols)}
    parents = np.array([col.get(int(skeleton.parents[j]), -1) for j in cols])
    rot = quat_to_matrix(motion.rotations[:, cols])
    _, pos = forward_kinematics(rot, motion.root_translation, skeleton.rest_joints[cols], parents)
    return pos, [col.get(j, -1) if j >= 0 else -1 for j in index]


def transfer_rotations(
    src_local: np.ndarray,  # [F, Js, 4] source local quaternions (zero pose = identity)
    src_parents: np.ndarray,  # [Js]
    C: np.ndarray,  # [55, 3, 3] T-pose alignment (tpose_alignment)
    index: list[int],  # [55] source joint per VRM bone, -1 = unmapped
) -> tuple[np.ndarray, np.ndarray]:
    """World ``W_v = G_src C_v^T`` and local ``W_parent^-1 W_v`` target quaternions ``[F, 55, 4]``.

    Quaternion fast path (no matrix -> quaternion conversion per frame); see
    :func:`transfer_rotations_reference` for the same with matrices, one bone at a time.
    """
    F = src_local.shape[0]
    # components first and frames last ([4, J, F]): every product below runs on contiguous rows
    q = np.ascontiguousarray(np.transpose(src_local, (2, 1, 0)))
    g = np.empty_like(q)  # source world quaternions, parents first
    for j, p in enumerate(src_parents):
        g[:, j] = q[:, j] if p < 0 else _qmul(g[:, p], q[:, j])
    mapped = np.array([v for v in range(NUM_BONES) if index[v] >= 0])
    unmapped = [v for v in range(NUM_BONES) if index[v] < 0]
    W = np.empty((4, NUM_BONES, F))
    c_inv = quat_conj(matrix_to_quat(C[mapped])).T[:, :, None]  # [4, M, 1]
    W[:, mapped] = _qmul(g[:, np.asarray(index)[mapped]], c_inv)
    for v in unmapped:
        W[:, v] = W[:, PARENTS[v]]  # unmapped bones follow their parent
    local = np.empty_like(W)
    local[:, 0] = W[:, 0]
    w_parent = W[:, PARENTS[1:]]
    w_parent[:3] *= -1.0  # conjugate
    local[:, 1:] = _qmul(w_parent, W[:, 1:])
    local[:, unmapped] = np.array([0.0, 0.0, 0.0, 1.0])[:, None, None]
    return np.transpose(W, (2, 1, 0)), np.transpose(local, (2, 1, 0))


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of quaternions stored components-first, ``[4, ...]`` (same as ``quat_mul``)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.stack([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ])


def transfer_rotations_reference(g_rot: np.ndarray, C: np.ndarray, index: list[int]) -> np.ndarray:
    """Slow, obvious reference: ``[F, 55, 3, 3]`` local target rotations from source world
    rotations ``g_rot [F, Js, 3, 3]``, bone by bone with matrices."""
    F = g_rot.shape[0]
    W = np.empty((F, NUM_BONES, 3, 3))
    local = np.empty_like(W)
    for v in range(NUM_BONES):
        p = PARENTS[v]
        W[:, v] = g_rot[:, index[v]] @ C[v].T if index[v] >= 0 else W[:, p]
        local[:, v] = W[:, v] if p < 0 else np.swapaxes(W[:, p], -1, -2) @ W[:, v]
    return local


def _lowest_from_world(world_q: np.ndarray, trans: np.ndarray, layout: Layout) -> np.ndarray:
    """:func:`lowest_foot_height` from target world quaternions, computing only the leg chains."""
    rest = layout.joints
    needed = [BONE_INDEX[f"{s}{b}"] for s in ("left", "right") for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")]
    R = {v: quat_to_matrix(world_q[:, v]) for v in [0] + needed}
    P = {0: rest[0] + trans}
    for v in needed:  # parents first within each leg
        p = PARENTS[v]
        P[v] = P[p] + R[p] @ (rest[v] - rest[p])
    bones, _ = foot_points(layout)
    return lowest_foot_height(np.stack([R[b] for b in bones], 1), np.stack([P[b] for b in bones], 1), layout, bones_only=True)


# --------------------------------------------------------------------------------------------
# the VRM skeleton as a mocap skeleton (identity checks, BVH export of retargeted motion)


def vrm_skeleton(target: BodyParams | Layout | str) -> MocapSkeleton:
    """The target's 55-bone rest skeleton as a :class:`MocapSkeleton` (VRM bone names, metres)."""
    layout = _target_layout(target)
    j = layout.joints
    offsets = j - np.where(PARENTS[:, None] >= 0, j[np.maximum(PARENTS, 0)], 0.0)
    ends = {BONE_INDEX[b]: layout.tips[key] - j[BONE_INDEX[b]] for b, key in _TIP_KEY.items()}
    chans = tuple(
        ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation") if i == 0
        else ("Zrotation", "Xrotation", "Yrotation")
        for i in range(NUM_BONES)
    )
    return MocapSkeleton(BONES, PARENTS.copy(), offsets, chans, ends, scale=1.0)


def motion_as_mocap(motion: Motion) -> MocapMotion:
    """A target :class:`Motion` as mocap motion on :func:`vrm_skeleton` (same rotations)."""
    return MocapMotion(motion.rotations.copy(), motion.translation.copy(), motion.fps)
