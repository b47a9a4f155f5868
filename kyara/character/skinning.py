"""Skin weights for parts that sit on the body: copied from the nearest body surface point.

Garments and hair caps are offsets of the body surface, so the body's own weights at the closest
surface point (barycentric blend of its triangle's vertices) make them follow any pose the way
the skin under them does. Rigid parts (hats, glasses) take one bone.
"""

from __future__ import annotations

import numpy as np

from kyara.body.model import Body


def closest_body_points(body: Body, points: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(triangle ids [N], barycentric [N, 3])`` of the closest point on the body surface.

    ``mask`` [V] restricts the candidate body vertices (e.g. to the legs for a skirt's hem).
    """
    return closest_points_on_mesh(body.vertices, body.faces, points, mask)


def signed_distance_to_mesh(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray) -> np.ndarray:
    """[N] signed distance of ``points`` to a closed mesh (negative inside).

    The magnitude is the distance to the closest surface point; the sign comes from an inside test
    of the closed mesh (ray parity, trimesh with embree), not from one triangle's plane, which
    is wrong beside edges and fingertips.
    """
    import trimesh

    pts = np.asarray(points, dtype=np.float64)
    tri, bary = closest_points_on_mesh(vertices, faces, pts)
    v = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)[tri]]  # [N, 3, 3]
    q = np.einsum("nc,nci->ni", bary, v)
    dist = np.linalg.norm(pts - q, axis=1)
    inside = trimesh.Trimesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces), process=False).contains(pts)
    return np.where(inside, -dist, dist)


def closest_points_on_mesh(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray,
                           mask: np.ndarray | None = None, k: int = 4,
                           beneath: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(triangle ids [N], barycentric [N, 3])`` of the closest surface point of a mesh.

    Searches the triangles around the ``k`` nearest vertices (k-d tree): exact for points near the
    surface, which is what skin-weight transfer and penetration measurements need. ``beneath``
    (vertex normals [V, 3]) keeps only surface points the point lies beneath (behind the normal
    interpolated there): the way out of a solid whose parts overlap; a point beneath none of the
    candidates gets triangle -1.

    Every (point, candidate triangle) pair is measured in one batch (in chunks of points); of a
    point's candidates, in the order nearest vertex first, then its triangles in face order, the
    first at the least distance wins (as :func:`closest_points_on_mesh_reference` has it).
    """
    from scipy.spatial import cKDTree

    verts = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    cand_v = np.arange(len(verts)) if mask is None else np.flatnonzero(mask)
    tree = cKDTree(verts[cand_v])
    _, nn = tree.query(points, k=min(k, len(cand_v)))
    nn = cand_v[nn.reshape(n, -1)]  # [N, k] vertex ids
    # incident triangles of each body vertex (CSR)
    order = np.argsort(faces.ravel(), kind="stable")
    starts = np.searchsorted(faces.ravel()[order], np.arange(len(verts) + 1))
    tri_of = order // 3
    best_t = np.full(n, 0 if beneath is None else -1, dtype=np.int64)
    best_b = np.zeros((n, 3))
    counts = (starts[1:] - starts[:-1])[nn].sum(axis=1)  # [N] candidate triangles per point
    chunk_pairs = 1 << 20
    lo = 0
    while lo < n:
        hi = lo + 1 + int(np.searchsorted(np.cumsum(counts[lo:]), chunk_pairs))
        hi = min(max(hi, lo + 1), n)
        vs = nn[lo:hi].ravel()  # point-major, nearest vertex first
        cnt = starts[vs + 1] - starts[vs]
        first = np.repeat(starts[vs], cnt)
        j = np.arange(len(first)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        t = tri_of[first + j]  # [P] candidate triangles, in the reference's order per point
        who = np.repeat(np.repeat(np.arange(lo, hi), nn.shape[1]), cnt)  # [P] their points
        # a triangle round two of the nearest vertices is measured once; pairs sorted by (point,
        # triangle), each with its first place in the reference's order (``place``)
        _, place = np.unique(who * len(faces) + t, return_index=True)
        t, who = t[place], who[place]
        if len(t) == 0:
            lo = hi
            continue
        tri = verts[faces[t]]
        bary, d = _closest_on_triangles(points[who], tri)
        ok = ~np.isnan(d)
        if beneath is not None:
            off = points[who] - np.einsum("nc,nci->ni", bary, tri)
            ok &= np.einsum("ni,ni->n", off, np.einsum("nc,nci->ni", bary, beneath[faces[t]])) < 0.0
        d = np.where(ok, d, np.inf)
        # per point: the least distance, and of those the first in the reference's order
        seg = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
        seg_id = np.repeat(np.arange(len(seg)), np.diff(np.r_[seg, len(who)]))
        least = np.minimum.reduceat(d, seg)
        tied = np.where(d == least[seg_id], place, np.iinfo(np.int64).max)
        win = tied == np.minimum.reduceat(tied, seg)[seg_id]
        win &= np.isfinite(d)
        best_t[who[win]] = t[win]
        best_b[who[win]] = bary[win]
        lo = hi
    return best_t, best_b


def closest_points_on_mesh_reference(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray,
                                     mask: np.ndarray | None = None, k: int = 4,
                                     beneath: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reference for :func:`closest_points_on_mesh`: the candidate triangles walked one vertex
    slot at a time over all points (the tests check both give the same bits)."""
    from scipy.spatial import cKDTree

    verts = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    points = np.asarray(points, dtype=np.float64)
    cand_v = np.arange(len(verts)) if mask is None else np.flatnonzero(mask)
    tree = cKDTree(verts[cand_v])
    _, nn = tree.query(points, k=min(k, len(cand_v)))
    nn = cand_v[nn.reshape(len(points), -1)]  # [N, k] vertex ids
    # incident triangles of each body vertex (CSR)
    order = np.argsort(faces.ravel(), kind="stable")
    starts = np.searchsorted(faces.ravel()[order], np.arange(len(verts) + 1))
    tri_of = order // 3
    best_t = np.full(len(points), 0 if beneath is None else -1, dtype=np.int64)
    best_b = np.zeros((len(points), 3))
    best_d = np.full(len(points), np.inf)
    for c in range(nn.shape[1]):
        v = nn[:, c]
        counts = starts[v + 1] - starts[v]
        for j in range(int(counts.max())):
            has = counts > j
            t = np.where(has, tri_of[np.minimum(starts[v] + j, len(tri_of) - 1)], 0)
            bary, d = _closest_on_triangles(points, verts[faces[t]])
            if beneath is not None:
                off = points - np.einsum("nc,nci->ni", bary, verts[faces[t]])
                has = has & (np.einsum("ni,ni->n", off, np.einsum("nc,nci->ni", bary, beneath[faces[t]])) < 0.0)
            better = has & (d < best_d)
            best_d = np.where(better, d, best_d)
            best_t = np.where(better, t, best_t)
            best_b = np.where(better[:, None], bary, best_b)
    return best_t, best_b


def _closest_on_triangles(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest point of each point to its triangle: (barycentric [N, 3], distance [N])."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    ab, ac, ap = b - a, c - a, p - a
    d00 = np.einsum("ij,ij->i", ab, ab)
    d01 = np.einsum("ij,ij->i", ab, ac)
    d11 = np.einsum("ij,ij->i", ac, ac)
    d20 = np.einsum("ij,ij->i", ap, ab)
    d21 = np.einsum("ij,ij->i", ap, ac)
    den = np.maximum(d00 * d11 - d01 * d01, 1e-30)
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    # clamp into the triangle (project onto the barycentric simplex, good enough for weights)
    v = np.clip(v, 0.0, 1.0)
    w = np.clip(w, 0.0, 1.0)
    s = v + w
    over = s > 1.0
    safe = np.where(over, s, 1.0)
    v = np.where(over, v / safe, v)
    w = np.where(over, w / safe, w)
    u = 1.0 - v - w
    q = u[:, None] * a + v[:, None] * b + w[:, None] * c
    return np.stack([u, v, w], axis=1), np.linalg.norm(p - q, axis=1)


def transfer_weights(body: Body, points: np.ndarray, mask: np.ndarray | None = None, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Skin weights ``([N, k] int64, [N, k] float32)`` for ``points`` [N, 3] from the body surface."""
    tri, bary = closest_body_points(body, np.asarray(points, dtype=np.float64), mask)
    dense = body.weights_dense()
    w = np.einsum("nc,ncj->nj", bary, dense[body.faces[tri]])  # [N, J]
    idx = np.argsort(-w, axis=1)[:, :k]
    ww = np.take_along_axis(w, idx, axis=1)
    ww = (ww / np.maximum(ww.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)
    ww /= ww.sum(axis=1, keepdims=True, dtype=np.float32)
    return idx.astype(np.int64), ww


def rigid_weights(n: int, bone: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``n`` vertices on one bone."""
    idx = np.zeros((n, 4), dtype=np.int64)
    idx[:, 0] = bone
    w = np.zeros((n, 4), dtype=np.float32)
    w[:, 0] = 1.0
    return idx, w
