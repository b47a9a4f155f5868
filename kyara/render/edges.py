"""Mesh edge topology and per-view feature edges (silhouettes, creases, open boundaries), numpy only.

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


def feature_edges(
    vertices: np.ndarray,  # [V, 3] shared mesh or [N, V, 3] one mesh per view, metres
    faces: np.ndarray,  # [F, 3]
    topo: EdgeTopology,
    cam_points: np.ndarray,  # [N, 4] from camera_points
    crease_deg: float,
    normals: np.ndarray | None = None,  # [..., F, 3] face normals of `vertices` if already computed
) -> tuple[np.ndarray, np.ndarray]:
    """Edges to draw per view: returns ``(view [M], edge [M])`` sorted by view.

    Selected: silhouettes (one face front-facing, the other back-facing), creases (dihedral
    angle above ``crease_deg``) with a front-facing face, and open-boundary edges.
    """
    v = np.asarray(vertices, dtype=np.float32)
    fn = face_normals(v, faces) if normals is None else normals  # [F, 3] or [N, F, 3]
    v0 = v[..., faces[:, 0], :]
    fn_v0 = np.einsum("...k,...k->...", fn, v0)  # [F] or [N, F]
    h = np.asarray(cam_points, dtype=np.float32)
    if v.ndim == 2:
        side = h[:, :3] @ fn.T - h[:, 3:4] * fn_v0[None, :]  # [N, F]
    else:
        side = np.einsum("nk,nfk->nf", h[:, :3], fn) - h[:, 3:4] * fn_v0
    front = side > 0.0  # [N, F]
    f0, f1 = topo.faces[:, 0], topo.faces[:, 1]
    open_edge = f1 < 0
    f1s = np.where(open_edge, f0, f1)
    fr0, fr1 = front[:, f0], front[:, f1s]  # [N, E]
    unit = fn / np.maximum(np.sqrt(np.einsum("...k,...k->...", fn, fn)), 1e-30)[..., None]
    cos_dihedral = np.einsum("...k,...k->...", unit[..., f0, :], unit[..., f1s, :])  # [E] or [N, E]
    crease = cos_dihedral < np.cos(np.radians(crease_deg))
    sel = (fr0 != fr1) | (crease & (fr0 | fr1)) | open_edge
    view, edge = np.nonzero(sel)
    return view, edge


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
