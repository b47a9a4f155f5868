"""Mesh geometry for the renderer, numpy/scipy only: edge topology, per-view front faces and feature
edges (silhouettes, creases, open boundaries), face and smooth vertex normals.

A silhouette (contour) edge joins a face turned towards the camera and one turned away; every
depth discontinuity of a closed mesh's image lies on one. Creases are edges whose two faces bend
by more than a threshold, whatever the view. The renderer draws the selected edges as lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EdgeTopology:
    """Unique undirected edges of a triangle mesh and the (up to) two faces beside each."""

    vertices: np.ndarray  # [E, 2] int32 vertex indices
    faces: np.ndarray  # [E, 2] int32 adjacent faces; column 1 is -1 on open boundaries


def edge_topology(faces: np.ndarray, num_vertices: int) -> EdgeTopology:
    """Edges of ``faces [F, 3]``. Non-manifold edges keep their first two faces."""
    f = np.asarray(faces, dtype=np.int64)
    e = f[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2)  # [3F, 2]
    face_of = np.repeat(np.arange(f.shape[0]), 3)
    lo, hi = np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])
    key = lo * num_vertices + hi
    order = np.argsort(key, kind="stable")
    k = key[order]
    first = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])  # index in `order` of each edge's first face
    nxt = first + 1
    has_second = (nxt < k.size) & (k[np.minimum(nxt, k.size - 1)] == k[first])
    f0 = face_of[order[first]]
    f1 = np.where(has_second, face_of[order[np.minimum(nxt, k.size - 1)]], -1)
    verts = np.stack([lo[order[first]], hi[order[first]]], axis=1)
    return EdgeTopology(verts.astype(np.int32), np.stack([f0, f1], axis=1).astype(np.int32))


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unnormalised face normals ``[..., F, 3]`` (length = twice the area), CCW = outward."""
    v = np.asarray(vertices)
    a, b, c = v[..., faces[:, 0], :], v[..., faces[:, 1], :], v[..., faces[:, 2], :]
    e1, e2 = b - a, c - a  # [..., F, 3]
    out = np.empty_like(e1)
    out[..., 0] = e1[..., 1] * e2[..., 2] - e1[..., 2] * e2[..., 1]
    out[..., 1] = e1[..., 2] * e2[..., 0] - e1[..., 0] * e2[..., 2]
    out[..., 2] = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
    return out


def camera_points(views: np.ndarray, ortho: np.ndarray) -> np.ndarray:
    """Homogeneous camera points ``[N, 4]``: (centre, 1) for perspective, (direction to camera, 0)
    for orthographic views; ``views [N, 4, 4]`` world->camera."""
    rot, t = views[:, :3, :3], views[:, :3, 3]
    centre = -np.einsum("nji,nj->ni", rot, t)
    back = rot[:, 2, :]  # camera +z axis in world = direction towards the camera
    return np.where(ortho[:, None], np.c_[back, np.zeros(len(views))], np.c_[centre, np.ones(len(views))])


def front_facing(
    vertices: np.ndarray,  # [V, 3] shared mesh or [N, V, 3] one mesh per view, metres
    faces: np.ndarray,  # [F, 3]
    cam_points: np.ndarray,  # [N, 4] from camera_points
    normals: np.ndarray | None = None,  # [..., F, 3] face normals of `vertices` if already computed
) -> np.ndarray:
    """``[N, F]`` bool: face turned towards camera ``n`` (the camera lies on its outer side)."""
    v = np.asarray(vertices, dtype=np.float32)
    fn = face_normals(v, faces) if normals is None else normals  # [F, 3] or [N, F, 3]
    fn_v0 = np.einsum("...k,...k->...", fn, v[..., faces[:, 0], :])  # [F] or [N, F]
    h = np.asarray(cam_points, dtype=np.float32)
    if v.ndim == 2:
        side = h[:, :3] @ fn.T - h[:, 3:4] * fn_v0[None, :]  # [N, F]
    else:
        side = np.einsum("nk,nfk->nf", h[:, :3], fn) - h[:, 3:4] * fn_v0
    return side > 0.0


def feature_edges(
    vertices: np.ndarray,  # [V, 3] shared mesh or [N, V, 3] one mesh per view, metres
    faces: np.ndarray,  # [F, 3]
    topo: EdgeTopology,
    cam_points: np.ndarray,  # [N, 4] from camera_points
    crease_deg: float,
    normals: np.ndarray | None = None,  # [..., F, 3] face normals of `vertices` if already computed
    front: np.ndarray | None = None,  # [N, F] bool from front_facing if already computed
) -> tuple[np.ndarray, np.ndarray]:
    """Edges to draw per view: returns ``(view [M], edge [M])`` sorted by view.

    Selected: silhouettes (one face front-facing, the other back-facing), creases (dihedral
    angle above ``crease_deg``) with a front-facing face, and open-boundary edges.
    """
    v = np.asarray(vertices, dtype=np.float32)
    fn = face_normals(v, faces) if normals is None else normals  # [F, 3] or [N, F, 3]
    if front is None:
        front = front_facing(v, faces, cam_points, fn)  # [N, F]
    f0, f1 = topo.faces[:, 0], topo.faces[:, 1]
    open_edge = f1 < 0
    f1s = np.where(open_edge, f0, f1)
    unit = fn / np.maximum(np.sqrt(np.einsum("...k,...k->...", fn, fn)), 1e-30)[..., None]
    cos_dihedral = np.einsum("...k,...k->...", unit[..., f0, :], unit[..., f1s, :])  # [E] or [N, E]
    crease = cos_dihedral < np.cos(np.radians(crease_deg))
    # Work edge-major ([E, N]): gathering whole rows of the transposed flags is much faster than
    # gathering columns of [N, F].
    front_t = np.ascontiguousarray(front.T)  # [F, N]
    fr0, fr1 = front_t[f0], front_t[f1s]  # [E, N]
    crease_t = crease[:, None] if crease.ndim == 1 else crease.T
    sel = (fr0 != fr1) | (crease_t & (fr0 | fr1)) | open_edge[:, None]  # [E, N]
    flat = np.flatnonzero(np.ascontiguousarray(sel.T))  # view-major order
    view, edge = np.divmod(flat, sel.shape[0])
    return view, edge


def contour_flags(view: np.ndarray, edge: np.ndarray, topo: EdgeTopology, front: np.ndarray) -> np.ndarray:
    """``[M]`` bool for the ``(view, edge)`` pairs of :func:`feature_edges`: True for silhouettes and
    open boundaries, False for edges chosen only as creases (``front [N, F]`` from :func:`front_facing`)."""
    f0, f1 = topo.faces[edge, 0], topo.faces[edge, 1]
    open_edge = f1 < 0
    return open_edge | (front[view, f0] != front[view, np.where(open_edge, f0, f1)])


def feature_edges_reference(vertices, faces, cam_point, crease_deg: float) -> set[tuple[int, int]]:
    """Slow reference for ONE view: a loop over faces and their edges; returns vertex-index pairs."""
    v = np.asarray(vertices, dtype=np.float64)
    h = np.asarray(cam_point, dtype=np.float64)
    adj: dict[tuple[int, int], list[int]] = {}
    for fi, tri in enumerate(np.asarray(faces)):
        for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
            adj.setdefault((min(a, b), max(a, b)), []).append(fi)
    normals, front = {}, {}
    for fi, (a, b, c) in enumerate(np.asarray(faces)):
        n = np.cross(v[b] - v[a], v[c] - v[a])
        normals[fi] = n / max(np.linalg.norm(n), 1e-30)
        front[fi] = float(n @ h[:3] - h[3] * (n @ v[a])) > 0.0
    out = set()
    for e, fs in adj.items():
        if len(fs) < 2:
            out.add(e)
            continue
        a, b = fs[0], fs[1]
        if front[a] != front[b]:
            out.add(e)
        elif (front[a] or front[b]) and normals[a] @ normals[b] < np.cos(np.radians(crease_deg)):
            out.add(e)
    return out


# -- vertex normals (used by the renderer) ----------------------------------------------------------------------------------
def _incidence(faces: np.ndarray, num_vertices: int):
    """Sparse ``[V, F]`` vertex-face incidence matrix."""
    from scipy import sparse

    f = faces.shape[0]
    rows = faces.reshape(-1)
    cols = np.repeat(np.arange(f), 3)
    return sparse.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(num_vertices, f))


def _normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 1e-20)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, incidence=None,
                   face_normal: np.ndarray | None = None) -> np.ndarray:
    """Smooth, area-weighted unit vertex normals ``[..., V, 3]`` float32 of ``vertices [..., V, 3]``.

    Outward for counter-clockwise faces. ``incidence`` (from a previous call's cache) saves rebuilding
    the sparse vertex-face matrix.
    """
    v = np.asarray(vertices, dtype=np.float32)
    batch, nv = v.shape[:-2], v.shape[-2]
    fn = face_normals(v, faces) if face_normal is None else face_normal  # [..., F, 3], length = 2 * area
    m = incidence if incidence is not None else _incidence(faces, nv)
    flat = np.moveaxis(fn.reshape((-1,) + fn.shape[-2:]), 0, 1).reshape(fn.shape[-2], -1)  # [F, B*3]
    acc = np.asarray(m @ flat).reshape(nv, -1, 3)  # [V, B, 3]
    return _normalize(np.moveaxis(acc, 1, 0).reshape(batch + (nv, 3))).astype(np.float32)


def vertex_normals_reference(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Slow reference of :func:`vertex_normals` for one mesh ``[V, 3]``: a loop over faces."""
    v = np.asarray(vertices, dtype=np.float64)
    acc = np.zeros_like(v)
    for a, b, c in faces:
        n = np.cross(v[b] - v[a], v[c] - v[a])
        acc[a] += n
        acc[b] += n
        acc[c] += n
    return _normalize(acc).astype(np.float32)
