"""Signed-distance primitives and smooth blends, vectorized over points ``[N, 3]``.

Negative inside. The round cone and the rounded box are exact distances; the ellipsoid and the
lofted torso are bounded approximations whose zero level set is exact (enough for marching
cubes and for the soft skin-weight assignment, which only compares nearby values).
"""

from __future__ import annotations

import numpy as np


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (union with a fillet of radius ~``k``)."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    return np.minimum(a, b) - h * h * k * 0.25


def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth maximum (intersection / subtraction with a fillet)."""
    return -smin(-a, -b, k)


def round_cone(p: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
    """Exact distance to the convex hull of sphere(a, ra) and sphere(b, rb). ``p [N,3]``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ba = b - a
    l2 = float(ba @ ba)
    rr = ra - rb
    a2 = l2 - rr * rr
    il2 = 1.0 / l2
    pa = p - a
    y = pa @ ba
    z = y - l2
    xv = pa * l2 - y[:, None] * ba
    x2 = np.einsum("ij,ij->i", xv, xv)
    y2 = y * y * l2
    z2 = z * z * l2
    k = np.sign(rr) * rr * rr * x2
    out = (np.sqrt(np.maximum(x2 * a2 * il2, 0.0)) + y * rr) * il2 - ra
    c1 = np.sign(z) * a2 * z2 > k
    c2 = np.sign(y) * a2 * y2 < k
    out = np.where(c2, np.sqrt(x2 + y2) * il2 - ra, out)
    out = np.where(c1, np.sqrt(x2 + z2) * il2 - rb, out)
    return out


def ellipsoid(p: np.ndarray, center: np.ndarray, radii: np.ndarray, rotation: np.ndarray | None = None) -> np.ndarray:
    """Approximate distance to an ellipsoid (exact on the surface). ``rotation`` maps local -> world."""
    q = p - np.asarray(center, dtype=np.float64)
    if rotation is not None:
        q = q @ np.asarray(rotation)
    r = np.asarray(radii, dtype=np.float64)
    k0 = np.linalg.norm(q / r, axis=1)
    k1 = np.linalg.norm(q / (r * r), axis=1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)


def rounded_box(p: np.ndarray, center: np.ndarray, half: np.ndarray, radius: float) -> np.ndarray:
    """Exact distance to an axis-aligned box with rounded edges (``half`` = outer half extents)."""
    q = np.abs(p - np.asarray(center)) - (np.asarray(half) - radius)
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
    inside = np.minimum(np.max(q, axis=1), 0.0)
    return outside + inside - radius


def scaled(fn, p: np.ndarray, center: np.ndarray, scale: np.ndarray, *args) -> np.ndarray:
    """Evaluate ``fn`` in a space stretched by ``scale`` about ``center`` (conservative distance)."""
    s = np.asarray(scale, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64)
    q = c + (p - c) / s
    return fn(q, *args) * float(np.min(s))


def loft(p: np.ndarray, ys: np.ndarray, half_w: np.ndarray, half_d: np.ndarray, z_c: np.ndarray,
         bottom: float, top: float, k_caps: float) -> np.ndarray:
    """A body of elliptical cross-sections: control rows at heights ``ys`` (increasing), with
    half width/depth and centre z per row, interpolated smoothly (PCHIP), capped with smoothed planes."""
    from scipy.interpolate import PchipInterpolator

    y = np.clip(p[:, 1], ys[0], ys[-1])
    a = PchipInterpolator(ys, half_w)(y)
    b = PchipInterpolator(ys, half_d)(y)
    c = PchipInterpolator(ys, z_c)(y)
    r = np.sqrt((p[:, 0] / a) ** 2 + ((p[:, 2] - c) / b) ** 2)
    d = (r - 1.0) * np.minimum(a, b)
    d = smax(d, bottom - p[:, 1], k_caps)
    d = smax(d, p[:, 1] - top, k_caps)
    return d
