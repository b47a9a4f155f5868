"""Fold lines: the creases an anime artist inks where cloth bends (elbows, the obi, hanging sleeves,
skirt pleats and drapes), as thin dark ridges lying on the cloth.

A recipe asks for a fold with a *guide*: a polyline near the outside of one garment part (rest
T-pose, metres). :func:`fold_ridges` projects the guide onto that part's mesh and sweeps a tapered
ridge of triangular cross-section along it, its base ``sink`` under the cloth surface and its apex
``lift`` above it. The apex (two faces bent by about 100 degrees) is a crease sharper than the
renderer's crease threshold and the base edges are contours, so the lineart map and the toon ink
draw a line along every fold the camera sees; the ridge's own colour (ink mixed with a little of the
cloth's colour) carries the same line to VRM/MToon viewers, which draw no creases. Each ridge is a
closed shell skinned with the weights of the cloth under it, so it bends with the cloth.

The ridges of one garment become one part named ``"<garment>-folds"`` (:func:`fold_part`). A
fold's stretch that a later layer covers (an obi over the kimono, a coat over a hoodie) is left out:
the renderer's lines are pulled a little towards the camera and would show through the cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INK = (0.16, 0.11, 0.13)  # the previews' outline colour (kyara.render.toon.ToonStyle)


@dataclass(frozen=True)
class Fold:
    """One fold line: ``guide [K, 3]`` (metres, rest pose) near the outside of part ``base``;
    ``width``: the ridge's widest cross-section (metres), tapered to points at both ends."""

    base: str
    guide: np.ndarray
    width: float = 0.003


@dataclass(frozen=True)
class FoldStyle:
    """Cross-section and sampling of the fold ridges (metres)."""

    lift: float = 0.0009  # apex above the cloth surface
    sink: float = 0.0006  # base below it
    spacing: float = 0.004  # between cross-sections along a fold
    max_snap: float = 0.03  # guide points further than this from the cloth are dropped
    taper: float = 0.6  # width profile sin(pi t) ** taper


def fold_colour(cloth_rgb, amount: float = 0.75) -> tuple[float, float, float]:
    """The fold's colour: the ink colour with a little of the cloth's in it (coloured lineart)."""
    c = np.asarray(cloth_rgb, dtype=np.float64)
    out = amount * np.asarray(INK) + (1.0 - amount) * c
    return tuple(float(x) for x in np.clip(out, 0.0, 1.0))  # type: ignore[return-value]


def resample(polyline: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` metres along ``polyline [K, 3]`` (end points kept, at least 4)."""
    p = np.asarray(polyline, dtype=np.float64)
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(4, int(np.ceil(s[-1] / spacing)) + 1)
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, p[:, k]) for k in range(3)], axis=1)


def ridge_mesh(centre: np.ndarray, normal: np.ndarray, width: np.ndarray, lift: float,
               sink: float) -> tuple[np.ndarray, np.ndarray]:
    """A closed ridge along ``centre [M, 3]`` (M >= 3) on a surface with unit ``normal [M, 3]``:
    triangular cross-sections (base ``width [M]`` wide, ``sink`` below the surface; apex ``lift``
    above it) at the inner points, a point at each end. Returns ``(vertices [3M-4, 3],
    faces [6M-12, 3])``, outward winding."""
    c = np.asarray(centre, dtype=np.float64)
    n = np.asarray(normal, dtype=np.float64)
    m = len(c)
    if m < 3:
        raise ValueError(f"a ridge needs at least 3 points, got {m}")
    t = np.gradient(c, axis=0)
    b = np.cross(n, t)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    w = 0.5 * np.asarray(width, dtype=np.float64)[:, None]
    inner = slice(1, m - 1)
    ring = np.stack([c[inner] + b[inner] * w[inner] - n[inner] * sink,
                     c[inner] - b[inner] * w[inner] - n[inner] * sink,
                     c[inner] + n[inner] * lift], axis=1)  # [M-2, 3 corners, 3]
    tips = np.stack([c[0] + n[0] * 0.5 * (lift - sink), c[-1] + n[-1] * 0.5 * (lift - sink)])
    v = np.concatenate([ring.reshape(-1, 3), tips])
    k = m - 2
    first, last = 3 * k, 3 * k + 1
    faces = []
    for i in range(k - 1):
        for j in range(3):
            a, a2 = 3 * i + j, 3 * i + (j + 1) % 3
            faces += [(a, a2, a2 + 3), (a, a2 + 3, a + 3)]
    for j in range(3):
        faces.append((first, (j + 1) % 3, j))
        o = 3 * (k - 1)
        faces.append((last, o + j, o + (j + 1) % 3))
    f = np.asarray(faces, dtype=np.int64)
    from kyara.body.mesh_ops import signed_volume

    if signed_volume(v, f) < 0:
        f = f[:, ::-1]
    return v, f


def snap_to_mesh(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Closest points of ``points [N, 3]`` on a mesh: ``(point [N, 3], unit normal [N, 3] (smooth
    vertex normals interpolated), distance [N], triangle [N], barycentric [N, 3])``."""
    from kyara.character.skinning import closest_points_on_mesh
    from kyara.render.edges import vertex_normals

    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    p = np.asarray(points, dtype=np.float64)
    tri, bary = closest_points_on_mesh(v, f, p, k=48)  # decimated cloth: big flat triangles
    corners = f[tri]
    q = np.einsum("nc,nci->ni", bary, v[corners])
    vn = vertex_normals(v, f).astype(np.float64)
    n = np.einsum("nc,nci->ni", bary, vn[corners])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return q, n, np.linalg.norm(p - q, axis=1), tri, bary


def _runs(keep: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of True in ``keep``."""
    edges = np.diff(np.concatenate([[0], keep.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def fold_ridges(vertices: np.ndarray, faces: np.ndarray, folds: list[Fold], style: FoldStyle = FoldStyle(),
                covered=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ridges of ``folds`` on one part's mesh (``vertices [V, 3]``, ``faces [F, 3]``, closed).

    ``covered(points [N, 3], normals [N, 3]) -> [N] bool`` marks surface points hidden under a later
    layer; those, guide points further than ``style.max_snap`` from the mesh and hops between
    neighbouring closest points (over 3 samples apart: another surface) split a fold into the runs
    that remain (runs shorter than 4 samples are dropped). Returns ``(vertices [R, 3],
    faces [G, 3], triangle [R], barycentric [R, 3])``: each ridge vertex's anchor on the part's mesh
    (for its skin weights)."""
    vs, fs, tris, barys = [], [], [], []
    off = 0
    for fold in folds:
        guide = np.asarray(fold.guide, dtype=np.float64)
        if guide.ndim != 2 or guide.shape[1] != 3 or len(guide) < 2:
            raise ValueError(f"fold guide on '{fold.base}' has shape {guide.shape}, expected [K >= 2, 3]")
        pts = resample(guide, style.spacing)
        q, n, dist, tri, bary = snap_to_mesh(vertices, faces, pts)
        keep = dist <= style.max_snap
        if covered is not None and keep.any():
            keep &= ~covered(q, n)
        # a guide whose closest points hop to another surface (the far side of a fold, a sleeve
        # beside the body) is split there: a ridge never bridges a gap
        hop = np.linalg.norm(np.diff(q, axis=0), axis=1) > 3.0 * style.spacing
        for a0, b0 in _runs(keep):
            cuts = [a0] + [i + 1 for i in np.flatnonzero(hop[a0:b0 - 1]) + a0] + [b0]
            for a, b in zip(cuts[:-1], cuts[1:]):
                if b - a < 4:
                    continue
                s = np.linspace(0.0, 1.0, b - a)
                width = fold.width * np.maximum(np.sin(np.pi * s), 0.0) ** style.taper
                rv, rf = ridge_mesh(q[a:b], n[a:b], width, style.lift, style.sink)
                # ring vertices belong to samples a+1 .. b-2 (three each), then the two tips
                sample = np.concatenate([np.repeat(np.arange(a + 1, b - 1), 3), [a, b - 1]])
                vs.append(rv)
                fs.append(rf + off)
                tris.append(tri[sample])
                barys.append(bary[sample])
                off += len(rv)
    if not vs:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int64), np.zeros((0, 3))
    return np.concatenate(vs), np.concatenate(fs), np.concatenate(tris), np.concatenate(barys)


def anchored_weights(part, tri: np.ndarray, bary: np.ndarray, num_bones: int) -> np.ndarray:
    """Dense weights ``[R, num_bones]`` of points anchored on ``part``'s triangles: the barycentric
    blend of the corner vertices' weights."""
    from kyara.character.garment_weights import dense_of

    corners = np.asarray(part.faces, dtype=np.int64)[tri]  # [R, 3]
    out = np.zeros((len(tri), num_bones))
    for c in range(3):
        vid = corners[:, c]
        out += bary[:, c:c + 1] * dense_of(part.joint_indices[vid], part.joint_weights[vid].astype(np.float64),
                                             num_bones)
    return out
