"""Keep posed clothes out of the posed body: a projection step after skinning and spring bones.

Skinning copies the body's weights onto each garment, and the spring chains (skirts, coat tails,
sleeve pouches) swing around capsule colliders, but strong poses (arms crossed over the chest,
a knee raised into a skirt, a dab) still sink cloth into a limb that comes close. Like the
collision pass of a real-time cloth solver, :func:`push_out_of_body` moves every garment vertex
found inside the posed body back out along the body's surface normal at its closest point, to the
distance it had from the body at rest (its layer: a trim stays above the cloth it trims), at least
``clearance``. Vertices that are outside are not touched, so a pose without contacts is unchanged.

Pure functions of arrays; :meth:`kyara.character.model.Character.pose` applies it to the garment
parts of the merged mesh.
"""

from __future__ import annotations

import numpy as np

from kyara.character.skinning import closest_points_on_mesh

CLEARANCE = 0.002  # metres: the least distance a pushed vertex keeps from the skin
MAX_LAYER = 0.02  # metres: the most a pushed vertex keeps of its rest distance (loose robes)


def surface_side(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray,
                 points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(signed distance [N], closest point [N, 3], unit normal there [N, 3])`` of ``points``
    against a smooth closed mesh. The sign (negative inside) is that of the offset along the
    interpolated vertex normal at the closest point, which is exact for a smooth surface and
    needs no ray casting."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    p = np.asarray(points, dtype=np.float64)
    tri, bary = closest_points_on_mesh(v, f, p)
    corners = f[tri]  # [N, 3]
    q = np.einsum("nc,nci->ni", bary, v[corners])
    n = np.einsum("nc,nci->ni", bary, np.asarray(normals, dtype=np.float64)[corners])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    off = p - q
    dist = np.linalg.norm(off, axis=1)
    sign = np.where(np.einsum("ni,ni->n", off, n) < 0.0, -1.0, 1.0)
    return sign * dist, q, n


def push_out_of_body(body_vertices: np.ndarray, body_faces: np.ndarray, points: np.ndarray,
                     rest_body_vertices: np.ndarray | None = None, rest_points: np.ndarray | None = None,
                     clearance: float = CLEARANCE, iterations: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``(points [N, 3], moved [N] bool)``: ``points`` with those inside the posed body
    (``body_vertices``, ``body_faces``: closed, outward faces) moved out of it.

    Inside is decided by ray parity against the whole mesh (embree), which stays right where
    skinning makes limbs overlap (an arm sunk into the chest); the way out is the closest surface
    point the point lies beneath, so a point in the chest leaves through the chest, not through the
    buried arm beside it. A moved point lands at its rest distance from the rest body
    (``rest_body_vertices``, ``rest_points``: the same vertices before posing) clamped to
    ``[clearance, MAX_LAYER]``, so stacked layers keep their order; without the rest arrays it
    lands at ``clearance``. A point pushed into another part of the body is pushed again,
    ``iterations`` times at most; one still inside then (where limbs press together and no way
    out is near) stays at the least deep place it reached, its start included.
    """
    import trimesh

    from kyara.render.edges import vertex_normals

    body_v = np.asarray(body_vertices, dtype=np.float64)
    faces = np.asarray(body_faces, dtype=np.int64)
    pts = np.asarray(points, dtype=np.float64)
    if body_v.ndim != 2 or body_v.shape[1] != 3 or pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"body vertices {body_v.shape} and points {pts.shape} must be [N, 3] arrays")
    if not clearance > 0:
        raise ValueError(f"clearance {clearance!r} must be > 0 metres")
    out = pts.copy()
    moved = np.zeros(len(pts), dtype=bool)
    if len(pts) == 0:
        return out, moved
    solid = trimesh.Trimesh(body_v, faces, process=False)
    normals = vertex_normals(body_v, faces).astype(np.float64)
    rest_v = rest_n = None
    if rest_body_vertices is not None and rest_points is not None:
        rest_v = np.asarray(rest_body_vertices, dtype=np.float64)
        rest_n = vertex_normals(rest_v, faces)
    layer = np.full(len(pts), np.nan)  # rest distance of each moved point, computed once
    best, best_depth = pts.copy(), np.full(len(pts), np.inf)  # least deep place seen while inside
    todo = np.arange(len(pts))
    for step in range(iterations + 1):
        todo = todo[solid.contains(out[todo])]
        if len(todo) == 0:
            break
        depth = np.abs(surface_side(body_v, faces, normals, out[todo])[0])
        better = depth < best_depth[todo]
        best[todo[better]], best_depth[todo[better]] = out[todo[better]], depth[better]
        if step == iterations:  # still inside (limbs pressed together): keep the shallowest place
            out[todo] = best[todo]
            break
        tri, bary = closest_points_on_mesh(body_v, faces, out[todo], k=16, beneath=normals)
        for k in (96, 512):  # buried surfaces all around: look further for the way out
            lost = np.flatnonzero(tri < 0)
            if len(lost):
                tri[lost], bary[lost] = closest_points_on_mesh(body_v, faces, out[todo[lost]], k=k, beneath=normals)
        lost = tri < 0  # beneath no surface near: plain closest point
        if lost.any():
            tri[lost], bary[lost] = closest_points_on_mesh(body_v, faces, out[todo[lost]])
        corners = faces[tri]
        q = np.einsum("nc,nci->ni", bary, body_v[corners])
        n = np.einsum("nc,nci->ni", bary, normals[corners])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        new = np.isnan(layer[todo])
        if new.any():
            layer[todo[new]] = clearance
            if rest_v is not None:
                rest_sd, _, _ = surface_side(rest_v, faces, rest_n, np.asarray(rest_points, dtype=np.float64)[todo[new]])
                layer[todo[new]] = np.clip(rest_sd, clearance, MAX_LAYER)
        out[todo] = q + n * layer[todo][:, None]
        moved[todo] = True
    return out, moved
