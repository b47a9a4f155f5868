"""The up axis of a mocap clip: detection, and the world rotation that makes any clip Y up.

BVH has no up-axis field. Most files are Y up; Z up is a common export setting (Blender's and
3ds Max's world, AnimatedDrawings' captures). kyara works Y up (VRM, glTF), so a clip is turned
once, at load, by the rotation :func:`up_rotation` (``+z``: ``(x, y, z) -> (x, z, -y)``, the
usual Z-up -> Y-up conversion). Turning a whole clip is exact: offsets, end sites and the root
translation rotate, every local rotation is conjugated (``R L R^T``), so world positions rotate
and nothing else changes (:func:`rotate_mocap`).

Detection (:func:`detect_up`) looks at the *animation*, not at the zero pose (a Rokoko-style
rig's zero pose lies along +X; it stands up only through its rotations): the mean over frames of
the unit vector from the feet to the head (names from the mapping). A clear majority along +Z
means Z up; otherwise +Y. Without a clear answer (floor work, cartwheels) the zero pose decides
when it is a standing skeleton; the default is Y. Only +Y and +Z are ever detected: a
handstand clip must not be read as a "-Y up" file. ``--up`` overrides the detection with any
of the six signed axes.
"""

from __future__ import annotations

import numpy as np

from kyara.motion.bvh import MocapMotion, MocapSkeleton, mocap_fk
from kyara.pose.rotations import matrix_to_quat, quat_conj, quat_mul

UP_AXES: tuple[str, ...] = ("+y", "+z", "+x", "-x", "-y", "-z")
UP_CHOICES = "auto, y, z, x, -x, -y, -z"
_CLEAR = 0.5  # mean unit feet->head component needed to call an axis "up"
_DETECT_FRAMES = 240  # frames sampled (evenly) for detection


def parse_up(text: str | None) -> str | None:
    """``--up`` value -> ``"+y"``/``"+z"``/... or None for automatic detection."""
    if text is None:
        return None
    t = str(text).strip().lower()
    if t in ("", "auto"):
        return None
    t = t if t[:1] in "+-" else "+" + t
    if t not in UP_AXES:
        raise ValueError(f"--up '{text}' is not valid, expected one of {UP_CHOICES}")
    return t


def up_rotation(up: str) -> np.ndarray:
    """``[3, 3]`` rotation taking the file's ``up`` axis onto +Y (``+y``: identity)."""
    table = {
        "+y": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        "+z": [[1, 0, 0], [0, 0, 1], [0, -1, 0]],  # (x, y, z) -> (x, z, -y)
        "-z": [[1, 0, 0], [0, 0, -1], [0, 1, 0]],  # (x, y, z) -> (x, -z, y)
        "+x": [[0, -1, 0], [1, 0, 0], [0, 0, 1]],  # (x, y, z) -> (-y, x, z)
        "-x": [[0, 1, 0], [-1, 0, 0], [0, 0, 1]],  # (x, y, z) -> (y, -x, z)
        "-y": [[1, 0, 0], [0, -1, 0], [0, 0, -1]],  # (x, y, z) -> (x, -y, -z)
    }
    if up not in table:
        raise ValueError(f"up axis '{up}' is not valid, expected one of {', '.join(UP_AXES)}")
    return np.array(table[up], dtype=np.float64)


def rotate_mocap(skeleton: MocapSkeleton, motion: MocapMotion, R: np.ndarray) -> tuple[MocapSkeleton, MocapMotion]:
    """The clip turned by the world rotation ``R [3, 3]``: every FK position ``p`` becomes ``R p``
    and every world rotation ``G`` becomes ``R G R^T``."""
    qr = matrix_to_quat(R)
    rot = quat_mul(quat_mul(np.broadcast_to(qr, motion.rotations.shape), motion.rotations),
                   np.broadcast_to(quat_conj(qr), motion.rotations.shape))
    offs = None if motion.joint_offsets is None else motion.joint_offsets @ R.T
    skel = MocapSkeleton(skeleton.names, skeleton.parents.copy(), skeleton.offsets @ R.T, skeleton.channels,
                         {j: R @ v for j, v in skeleton.end_sites.items()}, skeleton.scale, skeleton.up)
    return skel, MocapMotion(rot, motion.root_translation @ R.T, motion.fps, offs)


def _up_vote(top: np.ndarray, feet: np.ndarray) -> np.ndarray:
    """Mean over frames of the unit vector feet -> top (``[F, 3]`` each); zeros where degenerate."""
    d = top - feet
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    ok = n[:, 0] > 1e-9
    if not np.any(ok):
        return np.zeros(3)
    return (d[ok] / n[ok]).mean(axis=0)


def _pick(vote: np.ndarray) -> str | None:
    if vote[2] >= _CLEAR and vote[2] > vote[1]:
        return "+z"
    if vote[1] >= _CLEAR and vote[1] >= vote[2]:
        return "+y"
    return None


def detect_up(skeleton: MocapSkeleton, motion: MocapMotion, index: list[int]) -> tuple[str, str]:
    """The clip's up axis and how it was found: ``("+z", "animation")``, ``("+y", "zero pose")``
    or ``("+y", "default")``. ``index`` is the source joint per VRM bone (-1: unmapped)."""
    from kyara.body.skeleton import BONE_INDEX

    def first(*bones: str) -> int:
        return next((index[BONE_INDEX[b]] for b in bones if index[BONE_INDEX[b]] >= 0), -1)

    top = first("head", "neck", "upperChest", "chest", "spine")
    feet = [j for j in (first("leftFoot", "leftLowerLeg"), first("rightFoot", "rightLowerLeg")) if j >= 0]
    if top < 0 or not feet:
        hips = first("hips")
        if hips < 0 or not feet:
            return "+y", "default"
        top = hips
    F = motion.num_frames
    pick = np.unique(np.linspace(0, F - 1, min(F, _DETECT_FRAMES)).round().astype(np.int64))
    sub = MocapMotion(motion.rotations[pick], motion.root_translation[pick], motion.fps,
                      None if motion.joint_offsets is None else motion.joint_offsets[pick])
    with np.errstate(all="ignore"):
        _, pos = mocap_fk(skeleton, sub)
        up = _pick(_up_vote(pos[:, top], pos[:, feet].mean(axis=1)))
        if up is not None:
            return up, "animation"
        rest = skeleton.rest_joints
        up = _pick(_up_vote(rest[None, top], rest[feet].mean(axis=0)[None]))
    if up is not None:
        return up, "zero pose"
    return "+y", "default"


def orient_up(skeleton: MocapSkeleton, motion: MocapMotion, up: str | None,
              mapping: dict[str, str]) -> tuple[MocapSkeleton, MocapMotion]:
    """The clip turned Y up: ``up`` is the file's up axis (None: :func:`detect_up` with
    ``mapping``, source joint -> VRM bone). The returned skeleton records the file's axis."""
    if up is None:
        from kyara.motion.mapping import mapping_indices

        up, _ = detect_up(skeleton, motion, mapping_indices(skeleton.names, mapping))
    elif up not in UP_AXES:
        raise ValueError(f"up axis '{up}' is not valid, expected one of {', '.join(UP_AXES)}")
    if up == "+y":
        skeleton.up = up
        return skeleton, motion
    skel, mot = rotate_mocap(skeleton, motion, up_rotation(up))
    skel.up = up
    return skel, mot
