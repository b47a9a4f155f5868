"""``Pose`` (one frame) and ``Motion`` (many frames): local joint rotations + root translation.

Rotations are quaternions ``(x, y, z, w)`` relative to the rest (T-pose) orientation of each
bone, in the parent's frame (VRM normalized-bone convention). Root translation is the offset of
``hips`` from its rest position, metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kyara.body.skeleton import BONE_INDEX, MIRROR, NUM_BONES
from kyara.pose.rotations import quat_identity, quat_normalize, quat_slerp, quat_to_matrix


@dataclass
class Pose:
    rotations: np.ndarray = field(default_factory=lambda: quat_identity((NUM_BONES,)))  # [J, 4]
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))  # [3] metres

    def __post_init__(self) -> None:
        self.rotations = quat_normalize(np.asarray(self.rotations, dtype=np.float64))
        self.translation = np.asarray(self.translation, dtype=np.float64)
        if self.rotations.shape != (NUM_BONES, 4):
            raise ValueError(f"pose rotations have shape {self.rotations.shape}, expected ({NUM_BONES}, 4)")
        if self.translation.shape != (3,):
            raise ValueError(f"pose translation has shape {self.translation.shape}, expected (3,)")

    @classmethod
    def rest(cls) -> "Pose":
        return cls()

    def matrices(self) -> np.ndarray:
        """``[J, 3, 3]`` local rotation matrices."""
        return quat_to_matrix(self.rotations)

    def rotation(self, bone: str) -> np.ndarray:
        return self.rotations[BONE_INDEX[bone]]

    def copy(self) -> "Pose":
        return Pose(self.rotations.copy(), self.translation.copy())


@dataclass
class Motion:
    rotations: np.ndarray  # [F, J, 4]
    translation: np.ndarray  # [F, 3]
    fps: float = 30.0

    def __post_init__(self) -> None:
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        self.translation = np.asarray(self.translation, dtype=np.float64)
        if self.rotations.ndim != 3 or self.rotations.shape[1:] != (NUM_BONES, 4):
            raise ValueError(f"motion rotations have shape {self.rotations.shape}, expected (F, {NUM_BONES}, 4)")
        if self.translation.shape != (self.rotations.shape[0], 3):
            raise ValueError(f"motion translation has shape {self.translation.shape}, expected ({self.rotations.shape[0]}, 3)")
        if self.rotations.shape[0] == 0:
            raise ValueError("motion has zero frames, expected at least one")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"motion fps {self.fps} is not valid, expected a positive number")

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def frame(self, i: int) -> Pose:
        return Pose(self.rotations[i], self.translation[i])

    @classmethod
    def from_poses(cls, poses: list[Pose], fps: float = 30.0) -> "Motion":
        return cls(np.stack([p.rotations for p in poses]), np.stack([p.translation for p in poses]), fps)

    def matrices(self) -> np.ndarray:
        """``[F, J, 3, 3]``."""
        return quat_to_matrix(self.rotations)

    def mirrored(self) -> "Motion":
        """Every frame reflected across the YZ plane (see :func:`mirror_pose`)."""
        return Motion(mirror_rotations(self.rotations), self.translation * np.array([-1.0, 1.0, 1.0]), self.fps)

    @classmethod
    def from_keyframes(cls, keys: list[Pose], num_frames: int, fps: float = 30.0, loop: bool = False) -> "Motion":
        """``num_frames`` frames through ``keys`` at even spacing: slerp per bone, lerp translation.

        With ``loop`` the last segment goes from the last key back to the first (a cycle).
        """
        if len(keys) < 1:
            raise ValueError("from_keyframes got no key poses, expected at least one Pose")
        if int(num_frames) < 1:
            raise ValueError(f"num_frames={num_frames} is not valid, expected a positive integer")
        rot = np.stack([k.rotations for k in keys])  # [K, J, 4]
        tra = np.stack([k.translation for k in keys])  # [K, 3]
        if loop:
            rot = np.concatenate([rot, rot[:1]])
            tra = np.concatenate([tra, tra[:1]])
        segs = len(rot) - 1
        if segs == 0:
            return cls(np.repeat(rot, num_frames, 0), np.repeat(tra, num_frames, 0), fps)
        n = int(num_frames)
        # key-time of each frame; a loop does not repeat frame 0 at its end
        u = np.arange(n) * (segs / n) if loop else np.linspace(0.0, segs, n) if n > 1 else np.zeros(1)
        i = np.minimum(np.floor(u).astype(np.int64), segs - 1)  # [F] segment index
        t = u - i  # [F] in [0, 1]
        r = quat_slerp(rot[i], rot[i + 1], np.repeat(t[:, None], NUM_BONES, 1))
        return cls(r, tra[i] + (tra[i + 1] - tra[i]) * t[:, None], fps)


_REFLECT_Q = np.array([1.0, -1.0, -1.0, 1.0])


def mirror_rotations(rotations: np.ndarray) -> np.ndarray:
    """Local rotations ``[..., J, 4]`` reflected across the YZ plane: left/right bones swapped and
    each quaternion ``(x, y, z, w) -> (x, -y, -z, w)``."""
    rotations = np.asarray(rotations, dtype=np.float64)
    if rotations.shape[-2:] != (NUM_BONES, 4):
        raise ValueError(f"rotations have shape {rotations.shape}, expected [..., {NUM_BONES}, 4]")
    return rotations[..., MIRROR, :] * _REFLECT_Q


def mirror_pose(pose: Pose) -> Pose:
    """The pose reflected across the character's YZ plane (left <-> right); root x -> -x."""
    return Pose(mirror_rotations(pose.rotations), pose.translation * np.array([-1.0, 1.0, 1.0]))


def interpolate_poses(a: Pose, b: Pose, t: float) -> Pose:
    """``a`` at ``t = 0``, ``b`` at ``t = 1``: slerp per bone (short arc), lerp root translation."""
    t = float(t)
    if not np.isfinite(t):
        raise ValueError(f"interpolation parameter t={t} is not finite, expected a number in [0, 1]")
    return Pose(quat_slerp(a.rotations, b.rotations, t), a.translation + (b.translation - a.translation) * t)
