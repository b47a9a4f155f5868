"""Closed meshes the hair (and accessories) are made of besides strand tubes: rings, ellipsoids,
slabs over a grid, helices along a curve. Pure functions of arrays; every mesh is closed with outward
winding."""

from __future__ import annotations

import numpy as np


def loop_tube(loop: np.ndarray, radius: float, sides: int = 8, flatten: float = 1.0,
              up: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A closed ring (torus-like) tube around the closed polyline ``loop [M, 3]``: ``(verts, faces)``."""
    from kyara.body.mesh_ops import signed_volume

    P = np.asarray(loop, float)
    M = len(P)
    t = np.roll(P, -1, 0) - np.roll(P, 1, 0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    centre = P.mean(0)
    ref = (P - centre) if up is None else np.broadcast_to(np.asarray(up, float), P.shape)
    n = ref - np.einsum("ij,ij->i", ref, t)[:, None] * t
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    b = np.cross(t, n)
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    v = P[:, None] + radius * (np.cos(a)[None, :, None] * n[:, None] * flatten + np.sin(a)[None, :, None] * b[:, None])
    i, j = np.meshgrid(np.arange(M), np.arange(sides), indexing="ij")
    p00 = i * sides + j
    p01 = i * sides + (j + 1) % sides
    p10 = ((i + 1) % M) * sides + j
    p11 = ((i + 1) % M) * sides + (j + 1) % sides
    f = np.concatenate([np.stack([p00, p01, p11], -1).reshape(-1, 3), np.stack([p00, p11, p10], -1).reshape(-1, 3)])
    v = v.reshape(-1, 3)
    if signed_volume(v, f) < 0:
        f = f[:, ::-1]
    return v, f


def ellipsoid_mesh(centre: np.ndarray, axes: np.ndarray, radii, nu: int = 10, nv: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """A closed UV ellipsoid: ``axes [3, 3]`` rows are the unit local x, y (poles), z directions."""
    from kyara.body.mesh_ops import signed_volume

    r = np.asarray(radii, float)
    th = np.linspace(0, np.pi, nv + 1)[1:-1]
    ph = np.linspace(0, 2 * np.pi, nu, endpoint=False)
    T, PH = np.meshgrid(th, ph, indexing="ij")
    loc = np.stack([np.sin(T) * np.cos(PH) * r[0], np.cos(T) * r[1], np.sin(T) * np.sin(PH) * r[2]], -1).reshape(-1, 3)
    loc = np.concatenate([loc, [[0, r[1], 0], [0, -r[1], 0]]])
    v = np.asarray(centre, float) + loc @ np.asarray(axes, float)
    faces = []
    for i in range(nv - 2):
        for j in range(nu):
            a, b = i * nu + j, i * nu + (j + 1) % nu
            faces += [(a, b, b + nu), (a, b + nu, a + nu)]
    top, bot, last = len(v) - 2, len(v) - 1, (nv - 2) * nu
    for j in range(nu):
        faces += [(top, (j + 1) % nu, j), (bot, last + j, last + (j + 1) % nu)]
    f = np.array(faces, np.int64)
    if signed_volume(v, f) < 0:
        f = f[:, ::-1]
    return v, f


def slab_mesh(outer: np.ndarray, inner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A closed slab between two ``[n, m, 3]`` grids of points (the outer and inner sheet), walled
    along all four borders: ``(vertices [2nm, 3], faces)``."""
    from kyara.body.mesh_ops import signed_volume

    n, m = outer.shape[:2]
    if n < 2 or m < 2 or inner.shape != outer.shape:
        raise ValueError(f"slab grids must both be [n>=2, m>=2, 3], got {outer.shape} and {inner.shape}")
    V = np.concatenate([outer.reshape(-1, 3), inner.reshape(-1, 3)])
    o = lambda i, j: i * m + j  # noqa: E731
    q = n * m
    F = []
    for i in range(n - 1):
        for j in range(m - 1):
            a, b, c, d = o(i, j), o(i + 1, j), o(i + 1, j + 1), o(i, j + 1)
            F += [(a, b, c), (a, c, d), (q + a, q + c, q + b), (q + a, q + d, q + c)]
    ring = [o(i, 0) for i in range(n)] + [o(n - 1, j) for j in range(1, m)] + \
        [o(i, m - 1) for i in range(n - 2, -1, -1)] + [o(0, j) for j in range(m - 2, 0, -1)]
    for a, b in zip(ring, ring[1:] + ring[:1]):
        F += [(a, q + a, q + b), (a, q + b, b)]
    F = np.array(F, np.int64)
    if signed_volume(V, F) < 0:
        F = F[:, ::-1]
    return V, F


def bezier(ctrl: np.ndarray, m: int) -> np.ndarray:
    """``m`` points ``[m, 3]`` of the Bezier curve with control points ``ctrl [c, 3]``."""
    from math import comb

    n = len(ctrl) - 1
    t = np.linspace(0, 1, m)[:, None]
    return sum(comb(n, i) * t ** i * (1 - t) ** (n - i) * ctrl[i] for i in range(n + 1))


def frame_along(d: np.ndarray) -> np.ndarray:
    """Rows: a unit x, the unit ``d`` (as local y) and a unit z perpendicular to both."""
    d = d / np.linalg.norm(d)
    x = np.cross(d, [0.0, 0.0, 1.0])
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, d, np.cross(x, d)])


def curve_frames(c: np.ndarray, ref=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation-minimising frames along the polyline ``c [K, 3]``: ``(tangent, normal, binormal)``,
    each ``[K, 3]``; the first normal is ``ref`` made perpendicular to the first tangent."""
    t = np.gradient(c, axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    r = np.asarray(ref, float)
    if abs(float(r @ t[0])) > 0.95:
        r = np.array([1.0, 0.0, 0.0])
    n = np.zeros_like(c)
    n[0] = r - (r @ t[0]) * t[0]
    n[0] /= np.linalg.norm(n[0])
    for i in range(1, len(c)):
        v = n[i - 1] - (n[i - 1] @ t[i]) * t[i]
        nv = np.linalg.norm(v)
        n[i] = v / nv if nv > 1e-12 else n[i - 1]
    return t, n, np.cross(t, n)
