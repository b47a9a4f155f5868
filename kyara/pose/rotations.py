"""Rotation helpers on arrays. Quaternions are ``[..., 4]`` in ``(x, y, z, w)`` order (glTF/VRM).

All functions are pure, batched over leading dimensions, float64 unless the input is float32.
"""

from __future__ import annotations

import numpy as np


def quat_identity(shape: tuple[int, ...] = ()) -> np.ndarray:
    q = np.zeros(shape + (4,), dtype=np.float64)
    q[..., 3] = 1.0
    return q


def quat_normalize(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n < 1e-12):
        raise ValueError("quaternion of zero length, expected a rotation (x, y, z, w) with non-zero norm")
    return q / n


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def quat_conj(q: np.ndarray) -> np.ndarray:
    q = np.array(q, dtype=np.float64, copy=True)
    q[..., :3] *= -1.0
    return q


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """``[..., 4]`` unit quaternions -> ``[..., 3, 3]`` rotation matrices."""
    q = np.asarray(q, dtype=np.float64)
    x, y, z, w = np.moveaxis(q, -1, 0)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    m = np.stack(
        [
            1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
            2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
            2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy),
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` rotation matrices -> ``[..., 4]`` unit quaternions with ``w >= 0``."""
    m = np.asarray(m, dtype=np.float64)
    shape = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cand = np.stack(
        [
            1 + tr,
            1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
            1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2],
            1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2],
        ],
        axis=-1,
    )
    k = np.argmax(cand, axis=-1)
    q = np.empty((m.shape[0], 4))
    # case w largest
    s = np.sqrt(np.maximum(cand[:, 0], 1e-300)) * 2
    qw = np.stack([(m[:, 2, 1] - m[:, 1, 2]) / s, (m[:, 0, 2] - m[:, 2, 0]) / s, (m[:, 1, 0] - m[:, 0, 1]) / s, 0.25 * s], -1)
    s = np.sqrt(np.maximum(cand[:, 1], 1e-300)) * 2
    qx = np.stack([0.25 * s, (m[:, 0, 1] + m[:, 1, 0]) / s, (m[:, 0, 2] + m[:, 2, 0]) / s, (m[:, 2, 1] - m[:, 1, 2]) / s], -1)
    s = np.sqrt(np.maximum(cand[:, 2], 1e-300)) * 2
    qy = np.stack([(m[:, 0, 1] + m[:, 1, 0]) / s, 0.25 * s, (m[:, 1, 2] + m[:, 2, 1]) / s, (m[:, 0, 2] - m[:, 2, 0]) / s], -1)
    s = np.sqrt(np.maximum(cand[:, 3], 1e-300)) * 2
    qz = np.stack([(m[:, 0, 2] + m[:, 2, 0]) / s, (m[:, 1, 2] + m[:, 2, 1]) / s, 0.25 * s, (m[:, 1, 0] - m[:, 0, 1]) / s], -1)
    q = np.choose(k[:, None], [qw, qx, qy, qz])
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(q[:, 3:4] < 0, -q, q)
    return q.reshape(shape + (4,))


def axis_angle_to_quat(v: np.ndarray) -> np.ndarray:
    """Rotation vectors ``[..., 3]`` (axis * angle in radians) -> quaternions ``[..., 4]``."""
    v = np.asarray(v, dtype=np.float64)
    angle = np.linalg.norm(v, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(half)/angle with a Taylor fallback near zero
    k = np.where(angle > 1e-8, np.sin(half) / np.maximum(angle, 1e-300), 0.5 - angle**2 / 48.0)
    return np.concatenate([v * k, np.cos(half)], axis=-1)


def quat_to_axis_angle(q: np.ndarray) -> np.ndarray:
    q = quat_normalize(q)
    q = np.where(q[..., 3:4] < 0, -q, q)
    s = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., 3:4])
    k = np.where(s > 1e-8, angle / np.maximum(s, 1e-300), 2.0)
    return q[..., :3] * k


def axis_angle_to_matrix(v: np.ndarray) -> np.ndarray:
    return quat_to_matrix(axis_angle_to_quat(v))


_AXES = {"x": 0, "y": 1, "z": 2}


def euler_to_quat(angles: np.ndarray, order: str = "XYZ") -> np.ndarray:
    """Euler angles in radians ``[..., 3]`` -> quaternions.

    ``order`` upper case = intrinsic rotations (BVH convention: channels ``Zrotation Xrotation
    Yrotation`` mean ``R = Rz @ Rx @ Ry``), lower case = extrinsic. The angle ``angles[..., i]``
    belongs to axis ``order[i]``.
    """
    angles = np.asarray(angles, dtype=np.float64)
    if len(order) != 3 or order.lower().strip("xyz") != "":
        raise ValueError(f"euler order '{order}' is not valid, expected three of x/y/z (e.g. 'XYZ' or 'zxy')")
    intrinsic = order.isupper()
    q = quat_identity(angles.shape[:-1])
    for i, ax in enumerate(order.lower()):
        v = np.zeros(angles.shape[:-1] + (3,))
        v[..., _AXES[ax]] = angles[..., i]
        qi = axis_angle_to_quat(v)
        q = quat_mul(q, qi) if intrinsic else quat_mul(qi, q)
    return q


def matrix_to_euler(m: np.ndarray, order: str = "XYZ") -> np.ndarray:
    """Inverse of :func:`euler_to_quat` for intrinsic orders (upper case), via matrices."""
    if not order.isupper():
        return matrix_to_euler(m, order[::-1].upper())[..., ::-1]
    m = np.asarray(m, dtype=np.float64)
    i, j, k = (_AXES[a] for a in order.lower())
    # parity of the permutation (i, j, k)
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    if len({i, j, k}) != 3:
        raise ValueError(f"euler order '{order}' must use three different axes")
    # R = R_i(a) R_j(b) R_k(c); element [i, k] = sign * sin(b)
    sb = np.clip(sign * m[..., i, k], -1.0, 1.0)
    b = np.arcsin(sb)
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    # gimbal lock: put everything in a
    lock = np.abs(sb) > 1 - 1e-9
    if np.any(lock):
        a_l = np.arctan2(sign * m[..., k, j], m[..., j, j])
        a = np.where(lock, a_l, a)
        c = np.where(lock, 0.0, c)
    return np.stack([a, b, c], axis=-1)


def quat_slerp(q0: np.ndarray, q1: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical linear interpolation along the short arc; ``t`` broadcasts over leading dims."""
    q0 = quat_normalize(q0)
    q1 = quat_normalize(q1)
    t = np.asarray(t, dtype=np.float64)[..., None] if np.ndim(t) else float(t)
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-6
    w0 = np.where(small, 1 - t, np.sin((1 - t) * theta) / np.where(small, 1, sin_t))
    w1 = np.where(small, t, np.sin(t * theta) / np.where(small, 1, sin_t))
    return quat_normalize(w0 * q0 + w1 * q1)


def quat_apply(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``[..., 3]`` by quaternions ``[..., 4]``."""
    return np.einsum("...ij,...j->...i", quat_to_matrix(q), np.asarray(v, dtype=np.float64))


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc quaternion rotating direction ``a`` onto direction ``b`` (``[..., 3]``)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    c = np.cross(a, b)
    d = np.sum(a * b, axis=-1, keepdims=True)
    q = np.concatenate([c, 1.0 + d], axis=-1)
    # opposite vectors: any perpendicular axis, 180 degrees
    opp = (1.0 + d[..., 0]) < 1e-9
    if np.any(opp):
        perp = np.cross(a, np.array([1.0, 0.0, 0.0]))
        alt = np.cross(a, np.array([0.0, 1.0, 0.0]))
        perp = np.where(np.linalg.norm(perp, axis=-1, keepdims=True) < 1e-6, alt, perp)
        q = np.where(opp[..., None], np.concatenate([perp, np.zeros_like(d)], axis=-1), q)
    return quat_normalize(q)
