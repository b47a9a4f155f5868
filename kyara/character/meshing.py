"""Turning shapes into closed meshes: implicit solids by marching cubes, tubes and extrusions.

Shared by hair, garments, accessories and face features so every part is built the same way and
checked the same way (closed, consistently wound, positive volume).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from kyara.body.mesh_ops import decimate_manifold, is_closed_manifold, signed_volume


def mesh_sdf(fn: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, voxel: float,
             target_faces: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mesh the solid ``fn(points [N,3]) < 0`` inside the box ``[lo, hi]`` (metres).

    Returns ``(vertices [V,3] float64, faces [F,3] int64)``, outward winding; empty arrays when the
    solid is empty. The box is padded so the surface never touches its border (closed output).
    ``target_faces`` decimates while keeping every shell a closed 2-manifold.
    """
    lo = np.asarray(lo, dtype=np.float64) - 3 * voxel
    hi = np.asarray(hi, dtype=np.float64) + 3 * voxel
    shape = tuple(int(np.ceil((hi[i] - lo[i]) / voxel)) + 1 for i in range(3))
    axes = [lo[i] + voxel * np.arange(shape[i]) for i in range(3)]
    gx, gy, gz = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
    field = np.asarray(fn(pts), dtype=np.float64).reshape(shape)
    v, f = mesh_grid(field, voxel, lo, zero=1e-9)
    if target_faces is not None and len(f) > target_faces:
        v, f = decimate_manifold(v, f, target_faces)
    return v, f


def mesh_grid(field: np.ndarray, voxel: float, origin: np.ndarray,
              zero: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of a sampled field ``[X, Y, Z]`` (negative inside; sample ``[0, 0, 0]`` at
    ``origin``, spacing ``voxel``) -> closed shells ``(vertices [V,3] float64, faces [F,3] int64)``.

    The border samples are forced outside so every shell closes; exact zeros become ``zero`` (no
    degenerate faces). Empty arrays when nothing is inside. ``field`` is not modified.
    """
    from skimage.measure import marching_cubes

    f = np.array(field, dtype=np.float32)
    f[[0, -1], :, :] = np.maximum(f[[0, -1], :, :], voxel)
    f[:, [0, -1], :] = np.maximum(f[:, [0, -1], :], voxel)
    f[:, :, [0, -1]] = np.maximum(f[:, :, [0, -1]], voxel)
    f[f == 0.0] = zero
    if f.min() >= 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    v, faces, _, _ = marching_cubes(f, 0.0, spacing=(voxel,) * 3, method="lewiner", allow_degenerate=False)
    return v.astype(np.float64) + origin, faces.astype(np.int64)


def tube(points: np.ndarray, radii: np.ndarray | float, sides: int = 10, flatten: float = 1.0,
         up: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A closed tube along a polyline ``points [K,3]`` with per-point ``radii`` (capped ends).

    ``flatten`` < 1 squashes the cross-section into a ribbon (hair strands); ``up`` orients the
    flat side. Returns ``(vertices, faces)`` with outward winding.
    """
    P = np.asarray(points, dtype=np.float64)
    K = len(P)
    if K < 2:
        raise ValueError(f"a tube needs at least 2 points, got {K}")
    R = np.broadcast_to(np.asarray(radii, dtype=np.float64), (K,))
    t = np.gradient(P, axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    ref = np.asarray(up, dtype=np.float64) if up is not None else np.array([0.0, 0.0, 1.0])
    if abs(float(t[0] @ ref)) > 0.95:
        ref = np.array([1.0, 0.0, 0.0])
    # parallel transport of a frame along the curve
    n = np.zeros((K, 3))
    n0 = ref - (ref @ t[0]) * t[0]
    n[0] = n0 / np.linalg.norm(n0)
    for i in range(1, K):
        v = n[i - 1] - (n[i - 1] @ t[i]) * t[i]
        nv = np.linalg.norm(v)
        n[i] = v / nv if nv > 1e-12 else n[i - 1]
    b = np.cross(t, n)
    ang = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = (np.cos(ang)[None, :, None] * n[:, None, :] * flatten + np.sin(ang)[None, :, None] * b[:, None, :])
    verts = P[:, None, :] + R[:, None, None] * ring  # [K, S, 3]
    verts = verts.reshape(-1, 3)
    faces = []
    for i in range(K - 1):
        for j in range(sides):
            a, bb = i * sides + j, i * sides + (j + 1) % sides
            c, d = a + sides, bb + sides
            faces += [(a, bb, d), (a, d, c)]
    start = len(verts)
    end = start + 1
    verts = np.vstack([verts, P[0] - t[0] * R[0] * 0.5, P[-1] + t[-1] * R[-1] * 0.5])
    for j in range(sides):
        faces.append((start, (j + 1) % sides, j))
        o = (K - 1) * sides
        faces.append((end, o + j, o + (j + 1) % sides))
    f = np.array(faces, dtype=np.int64)
    if signed_volume(verts, f) < 0:
        f = f[:, ::-1]
    return verts, f


def combine(meshes: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate separate closed shells into one vertex/face list."""
    vs, fs, off = [], [], 0
    for v, f in meshes:
        if len(f) == 0:
            continue
        vs.append(np.asarray(v, dtype=np.float64))
        fs.append(np.asarray(f, dtype=np.int64) + off)
        off += len(v)
    if not vs:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    return np.concatenate(vs), np.concatenate(fs)


def check_closed(name: str, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Raise ``RuntimeError`` unless every shell is closed, consistently wound and of positive volume."""
    if len(faces) == 0:
        raise RuntimeError(f"part '{name}' is empty")
    if not is_closed_manifold(faces):
        raise RuntimeError(f"part '{name}' is not a closed 2-manifold")
    if signed_volume(vertices, faces) <= 0:
        raise RuntimeError(f"part '{name}' has non-positive volume (inside-out)")
