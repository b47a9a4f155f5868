"""Joint limits in an anatomical parametrisation, clamping, and an angle-based pose authoring helper.

Each bone has three named rotation axes (a "joint frame") and a range in degrees per axis. A
bone's local rotation is the intrinsic composition ``R = R_a0(t0) @ R_a1(t1) @ R_a2(t2)``: first
the large, primary motion (``flex``, ``forward``, ``turn``), then the secondary one (always the
middle axis, whose range stays inside +-90 deg so decomposition is unique), then the twist about
the bone itself. The axes below are written for the LEFT side (and centre bones) in the rest
T-pose frame; the right side uses the mirrored axes ``(x, y, z) -> (x, -y, -z)``, so the same
angle name means the same motion on both sides (``mirror_pose`` keeps the angles).

Rest T-pose: left arm along +X, palms down (-Y), thumbs forward (+Z), legs straight down.

Angle names (degrees), positive direction:

* centre bones ``hips spine chest upperChest neck head``: ``turn`` (face toward the character's
  left, +Y), ``bend`` (forward, +X), ``side`` (lean toward the character's left, -Z).
  ``hips`` is the root and is free (full range).
* ``leftEye``/``rightEye``: ``turn``, ``bend`` (look down); ``jaw``: ``open``, ``turn``, ``side``.
* ``Shoulder`` (clavicle) and ``UpperArm``: ``raise`` (arm lifts up in the frontal plane, +Z;
  -90 = hanging down, -130 = down and across the body), then ``forward`` (the arm leaves the
  frontal plane toward the front by this angle, -Y; 90 = pointing straight ahead, negative =
  behind), ``twist`` (about the arm, +X).
* ``LowerArm`` (elbow): ``flex`` (forearm comes forward, -Y; 0..150, never backwards),
  ``side`` (tiny), ``twist`` (tiny).
* ``Hand`` (wrist): ``twist`` (pronation/supination, +X), ``flex`` (toward the palm, -Z),
  ``radial`` (toward the thumb, -Y).
* fingers ``Index Middle Ring Little`` x ``Proximal Intermediate Distal``: ``curl`` (toward the
  palm, -Z), ``spread`` (toward the thumb, -Y), ``twist``.
* thumb ``Metacarpal Proximal Distal``: ``curl`` (across and under the palm), ``spread``, ``twist``
  in the thumb's own frame (its rest direction is the twist axis).
* ``UpperLeg`` (hip joint): ``flex`` (thigh forward, -X), ``abduct`` (leg outward, +Z),
  ``twist`` (toes turn outward, +Y).
* ``LowerLeg`` (knee): ``flex`` (shin goes backward, +X; 0..150), ``side``, ``twist`` (tiny).
* ``Foot`` (ankle): ``point`` (toes down, +X), ``invert`` (sole turns inward, -Z), ``twist``.
* ``Toes``: ``curl`` (toes down, +X), ``spread``, ``twist``.

Limits are for authored poses (presets, UI sliders). Imported motion capture is never clamped
implicitly: call :func:`clamp_pose` explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from kyara.body.skeleton import BONE_INDEX, BONES, FINGER_NAMES, NUM_BONES, bone_side
from kyara.pose.pose import Pose
from kyara.pose.rotations import euler_to_quat, matrix_to_euler, matrix_to_quat, quat_normalize, quat_to_matrix

_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
_NX, _NY, _NZ = (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)


@dataclass(frozen=True)
class AxisLimit:
    name: str  # semantic angle name, e.g. "flex"
    axis: tuple[float, float, float]  # unit rotation axis for the left/centre bone, parent frame
    low: float  # degrees
    high: float  # degrees


@dataclass(frozen=True)
class JointLimit:
    """Three axes applied in order ``R = R_a0 @ R_a1 @ R_a2`` with a [low, high] range each."""

    bone: str
    axes: tuple[AxisLimit, AxisLimit, AxisLimit]

    @property
    def names(self) -> tuple[str, str, str]:
        return tuple(a.name for a in self.axes)  # type: ignore[return-value]

    @property
    def low(self) -> np.ndarray:  # [3] degrees
        return np.array([a.low for a in self.axes])

    @property
    def high(self) -> np.ndarray:  # [3] degrees
        return np.array([a.high for a in self.axes])

    def basis(self) -> np.ndarray:
        """``[3, 3]`` columns = the three unit axes on this bone's side (right side mirrored)."""
        b = np.array([a.axis for a in self.axes], dtype=np.float64).T
        b /= np.linalg.norm(b, axis=0, keepdims=True)
        if bone_side(self.bone) == "right":
            b = np.diag([1.0, -1.0, -1.0]) @ b
        return b


def _ax(name: str, axis, low: float, high: float) -> AxisLimit:
    return AxisLimit(name, tuple(float(v) for v in axis), float(low), float(high))


def _thumb_axes() -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """Left thumb frame: twist = rest thumb direction, curl moves the tip down and across the palm."""
    d = np.array([0.5, -0.12, 0.86])  # same direction body_layout uses for the left thumb
    d /= np.linalg.norm(d)
    m = np.array([-1.0, -1.0, 0.0])
    m -= d * (m @ d)
    m /= np.linalg.norm(m)
    curl = np.cross(d, m)  # rotating d about curl moves it toward m
    spread = np.cross(d, curl)
    return tuple(curl), tuple(spread), tuple(d)


# (names/axes, ranges) per bone kind; ranges are (low, high) degrees for the three axes in order
_CENTRE = (("turn", _Y), ("bend", _X), ("side", _NZ))
_ARM = (("raise", _Z), ("forward", _NY), ("twist", _X))
_FINGER = (("curl", _NZ), ("spread", _NY), ("twist", _X))
_THUMB = tuple(zip(("curl", "spread", "twist"), _thumb_axes()))

_SPEC: dict[str, tuple[tuple[tuple[str, tuple], ...], tuple[tuple[float, float], ...]]] = {
    "hips": (_CENTRE, ((-180, 180), (-90, 90), (-180, 180))),
    "spine": (_CENTRE, ((-30, 30), (-25, 45), (-25, 25))),
    "chest": (_CENTRE, ((-25, 25), (-20, 35), (-20, 20))),
    "upperChest": (_CENTRE, ((-20, 20), (-15, 25), (-15, 15))),
    "neck": (_CENTRE, ((-45, 45), (-35, 40), (-25, 25))),
    "head": (_CENTRE, ((-50, 50), (-40, 40), (-30, 30))),
    "Eye": ((("turn", _Y), ("bend", _X), ("side", _NZ)), ((-30, 30), (-25, 25), (0, 0))),
    "jaw": ((("open", _X), ("turn", _Y), ("side", _NZ)), ((0, 30), (-5, 5), (-3, 3))),
    "Shoulder": (_ARM, ((-10, 30), (-15, 30), (-10, 10))),
    "UpperArm": (_ARM, ((-140, 150), (-60, 90), (-135, 135))),
    "LowerArm": ((("flex", _NY), ("side", _Z), ("twist", _X)), ((0, 150), (-5, 5), (-10, 10))),
    "Hand": ((("twist", _X), ("flex", _NZ), ("radial", _NY)), ((-90, 90), (-70, 80), (-30, 20))),
    "Proximal": (_FINGER, ((-15, 90), (-20, 20), (-5, 5))),
    "Intermediate": (_FINGER, ((0, 110), (-3, 3), (-3, 3))),
    "Distal": (_FINGER, ((0, 80), (-3, 3), (-3, 3))),
    "ThumbMetacarpal": (_THUMB, ((-20, 60), (-30, 30), (-30, 30))),
    "ThumbProximal": (_THUMB, ((-10, 70), (-10, 10), (-10, 10))),
    "ThumbDistal": (_THUMB, ((-10, 80), (-3, 3), (-3, 3))),
    "UpperLeg": ((("flex", _NX), ("abduct", _Z), ("twist", _Y)), ((-45, 135), (-35, 85), (-45, 45))),
    "LowerLeg": ((("flex", _X), ("side", _Z), ("twist", _Y)), ((0, 150), (-3, 3), (-10, 10))),
    "Foot": ((("point", _X), ("invert", _NZ), ("twist", _Y)), ((-30, 60), (-25, 30), (-20, 20))),
    "Toes": ((("curl", _X), ("spread", _Z), ("twist", _Y)), ((-60, 40), (-5, 5), (-3, 3))),
}


def _spec_key(bone: str) -> str:
    if bone in _SPEC:
        return bone
    stem = bone.removeprefix("left").removeprefix("right")
    if stem.startswith("Thumb"):
        return stem
    for finger in FINGER_NAMES:
        if stem.startswith(finger):
            return stem[len(finger):]
    return stem


def _build_limits() -> dict[str, JointLimit]:
    out = {}
    for bone in BONES:
        axes, ranges = _SPEC[_spec_key(bone)]
        out[bone] = JointLimit(bone, tuple(_ax(n, a, lo, hi) for (n, a), (lo, hi) in zip(axes, ranges)))
    return out


LIMITS: dict[str, JointLimit] = _build_limits()
"""Per-bone joint limits for all 55 bones (``hips`` has the full range: the root is free)."""


def _frame(bone: str) -> tuple[np.ndarray, float]:
    """Rotation ``B`` [3, 3] (det +1) whose columns are +-the bone's axes, and that sign."""
    b = LIMITS[bone].basis()
    s = float(np.sign(np.linalg.det(b)))
    return b * s, s


def angles_to_rotation(bone: str, angles_deg: np.ndarray) -> np.ndarray:
    """Semantic angles ``[..., 3]`` degrees (in ``LIMITS[bone].names`` order) -> quaternions ``[..., 4]``."""
    b, s = _frame(bone)
    q = euler_to_quat(np.deg2rad(np.asarray(angles_deg, dtype=np.float64)) * s, "XYZ")
    return matrix_to_quat(b @ quat_to_matrix(q) @ b.T)


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + 180.0) % 360.0 - 180.0


def _outside(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Circular distance (deg) of ``t`` outside ``[lo, hi]`` and the nearest in-range value."""
    inside = (t >= lo) & (t <= hi)
    d_lo = (lo - t) % 360.0  # going up from t to lo
    d_hi = (t - hi) % 360.0  # going down from t to hi
    near = np.where(d_lo < d_hi, lo, hi)
    dist = np.where(inside, 0.0, np.minimum(d_lo, d_hi))
    return dist, np.where(inside, t, near)


def rotation_to_angles(bone: str, q: np.ndarray) -> np.ndarray:
    """Quaternions ``[..., 4]`` -> semantic angles ``[..., 3]`` degrees.

    Of the two equivalent decompositions ``(a, b, c)`` and ``(a+180, 180-b, c+180)`` the one
    closest to the bone's ranges is returned, so angles authored within the limits read back.
    """
    lim = LIMITS[bone]
    b, s = _frame(bone)
    m = b.T @ quat_to_matrix(quat_normalize(q)) @ b
    e1 = np.rad2deg(matrix_to_euler(m, "XYZ")) * s  # [..., 3]
    e2 = _wrap(e1 + np.array([180.0, 0.0, 180.0]))
    e2[..., 1] = _wrap(180.0 - e1[..., 1])
    v1 = _outside(e1, lim.low, lim.high)[0].sum(-1)
    v2 = _outside(e2, lim.low, lim.high)[0].sum(-1)
    return np.where((v2 < v1 - 1e-9)[..., None], e2, e1)


def clamp_rotations(rotations: np.ndarray) -> np.ndarray:
    """Clamp local rotations ``[..., 55, 4]`` (x, y, z, w) to :data:`LIMITS`; batched over frames.

    Rotations already within the limits come back unchanged (up to float rounding).
    """
    rotations = quat_normalize(np.asarray(rotations, dtype=np.float64))
    if rotations.shape[-2:] != (NUM_BONES, 4):
        raise ValueError(f"rotations have shape {rotations.shape}, expected [..., {NUM_BONES}, 4]")
    out = rotations.copy()
    for j, bone in enumerate(BONES):
        lim = LIMITS[bone]
        q = rotations[..., j, :]
        ang = rotation_to_angles(bone, q)  # [..., 3]
        dist, clamped = _outside(ang, lim.low, lim.high)
        bad = np.any(dist > 1e-7, axis=-1)
        if not np.any(bad):
            continue
        # gimbal lock (middle angle at +-90): only a + sign(b) * c is defined; keep that sum
        lock = np.abs(np.abs(ang[..., 1]) - 90.0) < 1e-4
        if np.any(lock & bad):
            sgn = np.sign(ang[..., 1]) * _frame(bone)[1]
            total = ang[..., 0] + sgn * ang[..., 2]
            a = np.clip(total, lim.low[0], lim.high[0])
            c = np.clip((total - a) * sgn, lim.low[2], lim.high[2])
            locked = np.stack([a, clamped[..., 1], c], axis=-1)
            clamped = np.where(lock[..., None], locked, clamped)
        out[..., j, :] = np.where(bad[..., None], angles_to_rotation(bone, clamped), q)
    return out


def clamp_pose(pose: Pose) -> Pose:
    """A copy of ``pose`` with every bone clamped to its joint limits (translation unchanged)."""
    return Pose(clamp_rotations(pose.rotations), pose.translation.copy())


def limit_violations(pose: Pose, tol_deg: float = 1e-3) -> dict[str, float]:
    """``{bone: degrees outside its limits}`` for bones beyond ``tol_deg``; empty when within limits."""
    out = {}
    for j, bone in enumerate(BONES):
        lim = LIMITS[bone]
        dist = _outside(rotation_to_angles(bone, pose.rotations[j]), lim.low, lim.high)[0].sum()
        if dist > tol_deg:
            out[bone] = float(dist)
    return out


def within_limits(pose: Pose, tol_deg: float = 1e-3) -> bool:
    return not limit_violations(pose, tol_deg)


def pose_to_angles(pose: Pose) -> dict[str, dict[str, float]]:
    """Every bone's semantic angles in degrees, e.g. for UI sliders (inverse of :func:`pose_from_angles`)."""
    return {
        bone: dict(zip(LIMITS[bone].names, map(float, rotation_to_angles(bone, pose.rotations[j]))))
        for j, bone in enumerate(BONES)
    }


def pose_from_angles(
    angles: Mapping[str, Mapping[str, float]],
    root_translation: tuple[float, float, float] | np.ndarray = (0.0, 0.0, 0.0),
    clamp: bool = True,
) -> Pose:
    """Author a pose from semantic angles in degrees, e.g.::

        pose_from_angles({"leftLowerArm": {"flex": 90}, "leftUpperArm": {"raise": -60, "forward": 20}},
                         root_translation=(0, -0.1, 0))

    Bones not named stay at rest; missing angle names are 0. With ``clamp`` (default) every angle
    is clipped to its range, so the result always passes :func:`clamp_pose` unchanged.
    ``root_translation`` is the hips offset from its rest position, metres.
    """
    rot = np.zeros((NUM_BONES, 4))
    rot[:, 3] = 1.0
    for bone, values in angles.items():
        if bone not in LIMITS:
            raise ValueError(f"unknown bone '{bone}', expected a VRM humanoid bone name such as leftUpperArm")
        lim = LIMITS[bone]
        vec = np.zeros(3)
        for name, deg in values.items():
            if name not in lim.names:
                raise ValueError(f"unknown angle '{name}' for bone {bone}, expected one of {', '.join(lim.names)}")
            if not np.isfinite(deg):
                raise ValueError(f"angle {bone}.{name}={deg} is not finite, expected degrees")
            vec[lim.names.index(name)] = float(deg)
        if clamp:
            vec = np.clip(vec, lim.low, lim.high)
        rot[BONE_INDEX[bone]] = angles_to_rotation(bone, vec)
    t = np.asarray(root_translation, dtype=np.float64)
    if t.shape != (3,) or not np.all(np.isfinite(t)):
        raise ValueError(f"root_translation {root_translation!r} is not valid, expected 3 finite numbers (metres)")
    return Pose(rot, t)
