"""Keypoint occlusion, each test with a slow ray-casting reference beside it (numpy only).

Two rules, both hiding points outside the image or behind the camera:

* :func:`segment_visibility` (the one OpenPose conditions use): a keypoint is hidden only when a
  *different* body part lies between it and the camera, as ControlNet skeletons and DreamWaltz-G
  draw them. Every triangle carries a segment id (torso, upper arm L, ..., -1 for hair, garments,
  accessories: those never hide anything) and every keypoint a set of own segments (the elbow's are
  the upper arm and the forearm) that never hide it. The test is exact per keypoint: the keypoint's
  pixel is located in the projected triangles (sorted into vertical strips, so each keypoint meets
  only the few triangles around it) and the depth of every hit is compared with the keypoint's.
  :func:`segment_visibility_reference` casts one 3D ray per keypoint instead.
* :func:`keypoint_visibility`: the rendered depth buffer of the whole mesh. Joints lie INSIDE the
  body, so a keypoint counts as visible when the surface the camera sees at its pixel is not
  nearer than the keypoint by more than a tolerance (the local limb radius):
  ``depth(keypoint) <= surface_depth(pixel) + tolerance``; points that project onto background
  (surface depth +inf) are visible. Any surface hides, the keypoint's own limb or a garment too.
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


# -- the segment rule -------------------------------------------------------------------------
def _check_segment_inputs(points3d, cameras, vertices, faces, face_segments, own, tolerance):
    cams = list(cameras)
    n = len(cams)
    if n == 0:
        raise ValueError("cameras must be a non-empty list of kyara.render.camera.Camera")
    p = _as_batch(points3d, n)
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim == 2:
        v = np.broadcast_to(v, (n,) + v.shape)
    if v.ndim != 3 or v.shape[0] != n or v.shape[-1] != 3:
        raise ValueError(f"vertices have shape {np.shape(vertices)}, expected [V, 3] or [{n}, V, 3]")
    f = np.asarray(faces)
    if f.ndim != 2 or f.shape[1] != 3 or not np.issubdtype(f.dtype, np.integer):
        raise ValueError(f"faces have shape {f.shape} ({f.dtype}), expected [F, 3] integers")
    if f.size and (f.min() < 0 or f.max() >= v.shape[1]):
        raise ValueError(f"faces index vertices {int(f.min())}..{int(f.max())}, expected 0..{v.shape[1] - 1}")
    seg = np.asarray(face_segments)
    if seg.shape != (len(f),) or not np.issubdtype(seg.dtype, np.integer):
        raise ValueError(f"face_segments have shape {seg.shape} ({seg.dtype}), expected [{len(f)}] integers")
    k = p.shape[1]
    own_m = np.asarray(own, dtype=bool)
    if own_m.ndim != 2 or own_m.shape[0] != k:
        raise ValueError(f"own has shape {own_m.shape}, expected [{k}, S] booleans (K keypoints x S segments)")
    if seg.size and seg.max() >= own_m.shape[1]:
        raise ValueError(f"face_segments hold segment {int(seg.max())}, but own has {own_m.shape[1]} segments")
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), (k,))
    if not np.all(np.isfinite(tol)) or np.any(tol < 0):
        raise ValueError(f"tolerance {np.asarray(tolerance).tolist()} must be finite and >= 0 metres")
    return cams, p, v, f.astype(np.int64), seg.astype(np.int64), own_m, tol


def _in_image(px: np.ndarray, depth: np.ndarray, cam: Camera) -> np.ndarray:
    """[K] bool: finite pixel inside the image (after rounding, as the drawing does) and in front of the near plane."""
    with np.errstate(invalid="ignore"):
        ij = np.rint(px)
        return np.all(np.isfinite(px), axis=-1) & (ij[..., 0] >= 0) & (ij[..., 0] <= cam.width - 1) \
            & (ij[..., 1] >= 0) & (ij[..., 1] <= cam.height - 1) & (depth >= cam.near)


def _near_keypoints(kp_px: np.ndarray, lo: np.ndarray, hi: np.ndarray, cam: Camera, cell: float = 4.0) -> np.ndarray:
    """[F] bool: triangles (pixel bounding boxes ``lo``, ``hi`` [F, 2]) that may hold a keypoint
    (pixels ``kp_px`` [K, 2], inside the image): a grid of ``cell``-pixel cells marks the keypoints'
    cells; a box over at most 2 x 2 cells is kept when one of its corner cells is marked, a larger
    box always."""
    gw, gh = int(np.ceil(cam.width / cell)) + 1, int(np.ceil(cam.height / cell)) + 1
    grid = np.zeros((gh, gw), dtype=bool)
    kc = np.floor(kp_px / cell).astype(np.int64)
    grid[np.clip(kc[:, 1], 0, gh - 1), np.clip(kc[:, 0], 0, gw - 1)] = True
    with np.errstate(invalid="ignore"):
        c0 = np.floor(lo / cell)
        c1 = np.floor(hi / cell)
    big = (c1[:, 0] - c0[:, 0] > 1) | (c1[:, 1] - c0[:, 1] > 1)
    x0, x1 = (np.minimum(np.maximum(c[:, 0], 0), gw - 1).astype(np.int64) for c in (c0, c1))
    y0, y1 = (np.minimum(np.maximum(c[:, 1], 0), gh - 1).astype(np.int64) for c in (c0, c1))
    return big | grid[y0, x0] | grid[y0, x1] | grid[y1, x0] | grid[y1, x1]


def _strip_pairs(u: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keypoint ids, triangle ids) of every triangle whose x-range ``[x0, x1]`` holds the keypoint's ``u``.

    Triangles are sorted by ``x0``; a keypoint meets the triangles with ``u - width <= x0 <= u``,
    ``width`` the 98th percentile of triangle widths; the few wider triangles meet every keypoint.
    """
    wid = x1 - x0
    cut = float(np.quantile(wid, 0.98)) if len(wid) else 0.0
    small = np.flatnonzero(wid <= cut)
    wide = np.flatnonzero(wid > cut)
    order = small[np.argsort(x0[small], kind="stable")]
    sx0 = x0[order]
    starts = np.searchsorted(sx0, u - cut, side="left")
    ends = np.searchsorted(sx0, u, side="right")
    counts = np.maximum(ends - starts, 0)
    kk = np.repeat(np.arange(len(u)), counts)
    first = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    tri = order[np.arange(int(counts.sum())) + first]
    if len(wide):
        kk = np.concatenate([kk, np.repeat(np.arange(len(u)), len(wide))])
        tri = np.concatenate([tri, np.tile(wide, len(u))])
    keep = x1[tri] >= u[kk]
    return kk[keep], tri[keep]


def segment_visibility(points3d: np.ndarray, cameras: Sequence[Camera], vertices: np.ndarray, faces: np.ndarray,
                       face_segments: np.ndarray, own: np.ndarray, tolerance: np.ndarray | float) -> np.ndarray:
    """Visible flags ``[N, K]`` bool: a keypoint is hidden only by a body part that is not its own.

    ``points3d`` ``[K, 3]`` / ``[N, K, 3]`` metres (NaN = missing: hidden); ``vertices`` ``[V, 3]`` /
    ``[N, V, 3]`` metres, the posed mesh seen by each of the N ``cameras``; ``faces`` ``[F, 3]``;
    ``face_segments`` ``[F]`` int, the body segment of each triangle or -1 (hides nothing: hair,
    garments, accessories); ``own`` ``[K, S]`` bool, the segments that never hide keypoint k;
    ``tolerance`` ``[K]`` or scalar metres: a triangle of another segment hides keypoint k when the
    ray to it meets the triangle nearer than ``depth_k - tolerance_k``. Points outside the image
    (after rounding to a pixel) or nearer than the camera's near plane are hidden. Triangles with a
    corner nearer than the near plane are left out (cameras look at the body from outside).
    """
    cams, p, v, f, seg, own_m, tol = _check_segment_inputs(points3d, cameras, vertices, faces, face_segments,
                                                         own, tolerance)
    n, k = p.shape[:2]
    occ = seg >= 0
    f, seg = f[occ], seg[occ]
    out = np.zeros((n, k), dtype=bool)
    for i, cam in enumerate(cams):
        (px, depth), (vpx, vdepth) = cam.project(p[i]), cam.project(v[i])  # pixels [.., 2], depth [..]
        inside = _in_image(px, depth, cam)
        out[i] = inside
        live = np.flatnonzero(inside)
        if not len(live):
            continue
        zf = vdepth[f]  # [F, 3]
        ok = np.minimum(np.minimum(zf[:, 0], zf[:, 1]), zf[:, 2]) >= cam.near
        fi, fs = f[ok], seg[ok]
        xs, ys = vpx[:, 0][fi], vpx[:, 1][fi]  # [F', 3] pixels
        lo = np.stack([np.minimum(np.minimum(xs[:, 0], xs[:, 1]), xs[:, 2]),
                       np.minimum(np.minimum(ys[:, 0], ys[:, 1]), ys[:, 2])], axis=1)  # [F', 2] boxes
        hi = np.stack([np.maximum(np.maximum(xs[:, 0], xs[:, 1]), xs[:, 2]),
                       np.maximum(np.maximum(ys[:, 0], ys[:, 1]), ys[:, 2])], axis=1)
        near_kp = _near_keypoints(px[live], lo, hi, cam)
        fi, fs, lo, hi = fi[near_kp], fs[near_kp], lo[near_kp], hi[near_kp]
        a, b, c = vpx[fi[:, 0]], vpx[fi[:, 1]], vpx[fi[:, 2]]  # [F'', 2]
        kk, tt = _strip_pairs(px[live, 0], lo[:, 0], hi[:, 0])
        q = px[live][kk]  # [P, 2] keypoint pixel of each pair
        keep = (lo[tt, 1] <= q[:, 1]) & (q[:, 1] <= hi[tt, 1]) & ~own_m[live[kk], fs[tt]]
        kk, tt, q = kk[keep], tt[keep], q[keep]
        pa, pb, pc = a[tt] - q, b[tt] - q, c[tt] - q
        cross = lambda s, t: s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]  # noqa: E731
        wa, wb, wc = cross(pb, pc), cross(pc, pa), cross(pa, pb)  # twice the signed sub-areas
        area = wa + wb + wc
        eps = 1e-9 * np.abs(area)
        hit = (np.abs(area) > 1e-12) & (wa * np.sign(area) >= -eps) & (wb * np.sign(area) >= -eps) \
            & (wc * np.sign(area) >= -eps)
        kk, tt = kk[hit], tt[hit]
        lam = np.stack([wa[hit], wb[hit], wc[hit]], axis=1) / area[hit][:, None]  # screen barycentrics [P, 3]
        za = vdepth[fi[tt]]  # [P, 3]
        # perspective: depth is harmonic in screen space; orthographic: linear
        z = np.einsum("pc,pc->p", lam, za) if cam.is_ortho else 1.0 / np.einsum("pc,pc->p", lam, 1.0 / za)
        kp = live[kk]
        hidden = z < depth[kp] - tol[kp]
        out[i, kp[hidden]] = False
    return out


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


def segment_visibility_reference(points3d: np.ndarray, cameras: Sequence[Camera], vertices: np.ndarray,
                                 faces: np.ndarray, face_segments: np.ndarray, own: np.ndarray,
                                 tolerance: np.ndarray | float) -> np.ndarray:
    """Ray-casting reference of :func:`segment_visibility` (loop over views and keypoints).

    For each keypoint, one ray from the camera through the keypoint (Möller–Trumbore) against the
    triangles that may hide it (segment >= 0 and not its own); the nearest hit in front of the near
    plane decides.
    """
    cams, p, v, f, seg, own_m, tol = _check_segment_inputs(points3d, cameras, vertices, faces, face_segments,
                                                         own, tolerance)
    n, k = p.shape[:2]
    out = np.zeros((n, k), dtype=bool)
    for i, cam in enumerate(cams):
        px, depth = cam.project(p[i])
        inside = _in_image(px, depth, cam)
        forward = -cam.view[2, :3]  # world direction the camera looks along
        for j in range(k):
            if not inside[j]:
                continue
            if cam.is_ortho:
                origin, direction = p[i, j] - forward * (depth[j] - cam.near), forward
            else:
                origin = cam.position
                direction = (p[i, j] - origin) / np.linalg.norm(p[i, j] - origin)
            others = f[(seg >= 0) & ~own_m[j, np.maximum(seg, 0)]]
            vis = True
            if len(others):
                t, face, _ = ray_mesh_first_hit(origin, direction, v[i], others)
                if face >= 0:
                    hit = origin + t * direction
                    vis = bool(-(cam.view[2, :3] @ hit + cam.view[2, 3]) >= depth[j] - tol[j])
            out[i, j] = vis
    return out
