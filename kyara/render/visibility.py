"""Keypoint occlusion against rendered depth, and a slow ray-casting reference (numpy only).

Joints lie INSIDE the body, so a keypoint counts as visible when the surface the camera sees at
its pixel is not nearer than the keypoint by more than a tolerance (the local limb radius):
``depth(keypoint) <= surface_depth(pixel) + tolerance``. Points outside the image are hidden;
points that project onto background (surface depth +inf) are visible.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from kyara.render.camera import Camera


def _as_batch(points3d: np.ndarray, n: int) -> np.ndarray:
    p = np.asarray(points3d, dtype=np.float64)
    if p.ndim == 2 and p.shape[-1] == 3:
        p = np.broadcast_to(p, (n,) + p.shape)
    if p.ndim != 3 or p.shape[0] != n or p.shape[-1] != 3:
        raise ValueError(f"points3d have shape {np.shape(points3d)}, expected [K, 3] or [{n}, K, 3]")
    return p


def project_keypoints(points3d: np.ndarray, cameras: Sequence[Camera]) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``[N, K, 2]`` and depths ``[N, K]`` of keypoints (``[K, 3]`` or ``[N, K, 3]``) per camera."""
    cams = list(cameras)
    p = _as_batch(points3d, len(cams))
    views = np.stack([c.view for c in cams])  # [N, 4, 4]
    cam = np.einsum("nij,nkj->nki", views[:, :3, :3], p) + views[:, None, :3, 3]  # [N, K, 3]
    depth = -cam[..., 2]
    f = np.array([c.focal_px for c in cams])[:, None]
    ortho = np.array([c.is_ortho for c in cams])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(ortho, f, f / depth)
    cx = np.array([(c.width - 1) / 2.0 for c in cams])[:, None]
    cy = np.array([(c.height - 1) / 2.0 for c in cams])[:, None]
    px = np.stack([cam[..., 0] * scale + cx, -cam[..., 1] * scale + cy], axis=-1)
    return px, depth


def keypoint_visibility(points3d: np.ndarray, cameras: Sequence[Camera], metric_depth: np.ndarray,
                        tolerance: np.ndarray | float) -> np.ndarray:
    """Visible flags ``[N, K]`` bool of keypoints ``[K, 3]`` / ``[N, K, 3]`` metres.

    ``metric_depth`` is ``[N, H, W]`` or ``[N, H, W, 1]`` metres (+inf background), e.g. the
    ``metric_depth`` map of :class:`kyara.render.maps.MeshRenderer`; ``tolerance`` is ``[K]`` or a
    scalar, metres.
    """
    cams = list(cameras)
    n = len(cams)
    d = np.asarray(metric_depth)
    if d.ndim == 4 and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim != 3 or d.shape[0] != n:
        raise ValueError(f"metric_depth has shape {np.shape(metric_depth)}, expected [{n}, H, W] or [{n}, H, W, 1]")
    h, w = d.shape[1:]
    if any((c.width, c.height) != (w, h) for c in cams):
        raise ValueError(f"metric_depth is {w}x{h} but a camera has another size")
    px, depth = project_keypoints(points3d, cams)
    k = px.shape[1]
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), (k,))
    if not np.all(np.isfinite(tol)) or np.any(tol < 0):
        raise ValueError(f"tolerance {np.asarray(tolerance).tolist()} must be finite and >= 0 metres")
    near = np.array([c.near for c in cams])[:, None]
    with np.errstate(invalid="ignore"):
        ij = np.rint(px)
        inside = np.all(np.isfinite(px), axis=-1) & (ij[..., 0] >= 0) & (ij[..., 0] <= w - 1) \
            & (ij[..., 1] >= 0) & (ij[..., 1] <= h - 1) & (depth >= near)
    col = np.where(inside, ij[..., 0], 0).astype(np.intp)
    row = np.where(inside, ij[..., 1], 0).astype(np.intp)
    surface = d[np.arange(n)[:, None], row, col]  # [N, K]
    return inside & (depth <= surface + tol[None, :])


# -- slow references --------------------------------------------------------------------------
def ray_mesh_first_hit(origin: np.ndarray, direction: np.ndarray, vertices: np.ndarray,
                       faces: np.ndarray) -> tuple[float, int, np.ndarray]:
    """Möller–Trumbore: nearest hit of ONE ray with a mesh (two-sided triangles).

    Returns ``(t, face, barycentric [3])`` with ``origin + t * direction`` on the face;
    ``(inf, -1, nan)`` when the ray misses. Vectorised over triangles, meant for tests.
    """
    o = np.asarray(origin, dtype=np.float64)
    dvec = np.asarray(direction, dtype=np.float64)
    v = np.asarray(vertices, dtype=np.float64)
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    e1, e2 = b - a, c - a
    pvec = np.cross(dvec, e2)
    det = np.einsum("fk,fk->f", e1, pvec)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tvec = o - a
    u = np.einsum("fk,fk->f", tvec, pvec) * inv
    qvec = np.cross(tvec, e1)
    vv = (qvec @ dvec) * inv
    t = np.einsum("fk,fk->f", e2, qvec) * inv
    eps = 1e-9
    hit = ok & (u >= -eps) & (vv >= -eps) & (u + vv <= 1 + eps) & (t > 1e-9)
    if not np.any(hit):
        return float("inf"), -1, np.full(3, np.nan)
    t = np.where(hit, t, np.inf)
    f = int(np.argmin(t))
    return float(t[f]), f, np.array([1.0 - u[f] - vv[f], u[f], vv[f]])


def camera_ray(camera: Camera, pixel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World ray ``(origin [3], unit direction [3])`` through pixel coordinates ``(u, v)``."""
    u, v = float(pixel[0]), float(pixel[1])
    f = camera.focal_px
    x = (u - (camera.width - 1) / 2.0) / f
    y = -(v - (camera.height - 1) / 2.0) / f
    rot_t = camera.view[:3, :3].T
    if camera.is_ortho:
        origin = rot_t @ (np.array([x, y, 0.0]) - camera.view[:3, 3])
        return origin, rot_t @ np.array([0.0, 0.0, -1.0])
    d = rot_t @ np.array([x, y, -1.0])
    return camera.position, d / np.linalg.norm(d)


def keypoint_visibility_reference(points3d: np.ndarray, cameras: Sequence[Camera], vertices: np.ndarray,
                                  faces: np.ndarray, tolerance: np.ndarray | float) -> np.ndarray:
    """Ray-casting reference of :func:`keypoint_visibility` (loop over views and keypoints).

    ``vertices`` is ``[V, 3]`` (one mesh) or ``[N, V, 3]``. The first surface hit on the ray
    through the keypoint's pixel centre gives the surface depth.
    """
    cams = list(cameras)
    n = len(cams)
    p = _as_batch(points3d, n)
    verts = np.asarray(vertices, dtype=np.float64)
    k = p.shape[1]
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), (k,))
    out = np.zeros((n, k), dtype=bool)
    for i, cam in enumerate(cams):
        vi = verts if verts.ndim == 2 else verts[i]
        px, depth = cam.project(p[i])
        for j in range(k):
            ij = np.rint(px[j])
            if not (np.all(np.isfinite(ij)) and 0 <= ij[0] <= cam.width - 1 and 0 <= ij[1] <= cam.height - 1
                    and depth[j] >= cam.near):
                continue
            origin, direction = camera_ray(cam, ij)
            t, face, _ = ray_mesh_first_hit(origin, direction, vi, faces)
            if face < 0:
                out[i, j] = True
                continue
            hit = origin + t * direction
            surface = -(cam.view[2, :3] @ hit + cam.view[2, 3])
            out[i, j] = depth[j] <= surface + tol[j]
    return out
