"""Building blocks of the garments: fields on a shared lattice, shell shapes, meshing and weights.

A garment is a solid between two level sets of the *occupied field* ``O`` (signed distance to
the body plus every garment built before it, negative inside), cut to a region, optionally
united with free shapes (flared skirts, bell sleeves, hoods) that are themselves kept outside
``O``. Layers therefore never intersect: each one is meshed around what is already there.

Fields live on one lattice (origin 0, spacing ``voxel``) so the body field is computed once per
32^3 chunk and shared by all garments; finer pieces (jersey digits) use their own spacing and
read earlier layers by trilinear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from kyara.body.mesh_ops import is_closed_manifold as closed_fast

FAR = 1.0  # field value meaning "nowhere near", metres
CHUNK = 32  # body-field cache block, voxels per side

FieldFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (points [N,3], occupied [N]) -> [N]


@dataclass
class Component:
    """One additive piece of a garment: ``fn(points, occupied) < 0`` inside, evaluated only in
    the box ``[lo, hi]`` (metres).

    ``base``: a trim on that layer; ``fn`` then gets a third argument, the base layer's field at
    the points, and the occupied field counts only the base and the layers built after it.
    ``body``: whether the body is part of the occupied field; ``inflate``: metres the body is
    grown by for this component (a trim keeps the full clearance from the skin).
    """

    lo: np.ndarray  # [3]
    hi: np.ndarray  # [3]
    fn: Callable[..., np.ndarray]
    base: "Layer | None" = None
    body: bool = True
    inflate: float = 0.0


@dataclass
class Layer:
    """A garment field already built: sampled by later layers as part of the occupied field."""

    origin: np.ndarray  # [3] metres, position of array index (0, 0, 0)
    voxel: float
    values: np.ndarray  # [X, Y, Z] float32


class BodyField:
    """The body's signed distance on the lattice ``i * voxel``, computed per chunk on demand."""

    def __init__(self, prims: list, voxel: float) -> None:
        from kyara.body.surface import primitive_boxes

        self.prims = prims
        self.voxel = float(voxel)
        self._boxes = primitive_boxes(prims)
        self._chunks: dict[tuple[int, int, int], np.ndarray] = {}

    def _chunk(self, key: tuple[int, int, int]) -> np.ndarray:
        got = self._chunks.get(key)
        if got is None:
            from kyara.body.surface import field_on_grid

            origin = np.array(key, dtype=np.float64) * CHUNK * self.voxel
            got = field_on_grid(self.prims, origin, self.voxel, (CHUNK,) * 3, self._boxes).astype(np.float32)
            np.minimum(got, FAR, out=got)
            self._chunks[key] = got
        return got

    def block(self, i0: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
        """Body field on lattice indices ``i0 .. i0 + shape`` -> ``[X, Y, Z] float32``."""
        out = np.empty(shape, dtype=np.float32)
        i0 = np.asarray(i0, dtype=np.int64)
        i1 = i0 + np.asarray(shape)
        c0 = np.floor_divide(i0, CHUNK)
        c1 = np.floor_divide(i1 - 1, CHUNK)
        for cx in range(c0[0], c1[0] + 1):
            for cy in range(c0[1], c1[1] + 1):
                for cz in range(c0[2], c1[2] + 1):
                    base = np.array([cx, cy, cz]) * CHUNK
                    lo = np.maximum(i0, base)
                    hi = np.minimum(i1, base + CHUNK)
                    src = self._chunk((cx, cy, cz))[lo[0] - base[0]:hi[0] - base[0], lo[1] - base[1]:hi[1] - base[1],
                                                    lo[2] - base[2]:hi[2] - base[2]]
                    out[lo[0] - i0[0]:hi[0] - i0[0], lo[1] - i0[1]:hi[1] - i0[1], lo[2] - i0[2]:hi[2] - i0[2]] = src
        return out


@dataclass
class FieldContext:
    """What every garment is built against: the body field and the layers built so far."""

    body_field: BodyField
    layers: list[Layer] = field(default_factory=list)
    other_lattices: dict[float, BodyField] = field(default_factory=dict)  # body field at other spacings

    @property
    def voxel(self) -> float:
        return self.body_field.voxel

    def body_at(self, voxel: float) -> BodyField:
        """The body field cached on the lattice of spacing ``voxel``."""
        if voxel == self.voxel:
            return self.body_field
        got = self.other_lattices.get(voxel)
        if got is None:
            got = self.other_lattices[voxel] = BodyField(self.body_field.prims, voxel)
        return got

    def occupied(self, i0: np.ndarray, shape: tuple[int, int, int], voxel: float,
                 comp: Component | None = None) -> np.ndarray:
        """Occupied field on the lattice block ``i0 + shape`` of spacing ``voxel``: min of the
        body and the layers built so far (as selected by ``comp``), ``[N]`` float64."""
        i0 = np.asarray(i0, dtype=np.int64)
        with_body = comp is None or comp.body
        if not with_body:
            occ = np.full(shape, FAR, dtype=np.float32)
        else:
            occ = self.body_at(voxel).block(i0, shape)
        if comp is not None and comp.inflate:
            occ = occ - np.float32(comp.inflate)
        layers = self.layers
        if comp is not None and comp.base is not None:
            start = next((k for k, L in enumerate(layers) if L is comp.base), len(layers))
            layers = [comp.base] + layers[start + 1:]
        for layer in layers:
            occ = np.minimum(occ, block_of_layer(layer, i0, shape, voxel))
        return occ.ravel().astype(np.float64)


def block_of_layer(layer: Layer, i0: np.ndarray, shape: tuple[int, int, int], voxel: float) -> np.ndarray:
    """A layer's field on the lattice block ``i0 + shape`` (spacing ``voxel``), ``FAR`` outside it.

    Same lattice: an exact slice copy. Another spacing: trilinear sampling (:func:`sample_layer`)."""
    out = np.full(shape, FAR, dtype=np.float32)
    if voxel == layer.voxel:
        l0 = np.rint(layer.origin / voxel).astype(np.int64)
        lo = np.maximum(i0, l0)
        hi = np.minimum(i0 + np.array(shape), l0 + np.array(layer.values.shape))
        if np.any(hi <= lo):
            return out
        out[lo[0] - i0[0]:hi[0] - i0[0], lo[1] - i0[1]:hi[1] - i0[1], lo[2] - i0[2]:hi[2] - i0[2]] = \
            layer.values[lo[0] - l0[0]:hi[0] - l0[0], lo[1] - l0[1]:hi[1] - l0[1], lo[2] - l0[2]:hi[2] - l0[2]]
        return out
    lay_lo = layer.origin
    lay_hi = layer.origin + (np.array(layer.values.shape) - 1) * layer.voxel
    b_lo = i0 * voxel
    b_hi = (i0 + np.array(shape) - 1) * voxel
    if np.any(b_hi < lay_lo) or np.any(b_lo > lay_hi):
        return out
    axes = [(i0[k] + np.arange(shape[k])) * voxel for k in range(3)]
    gx, gy, gz = np.meshgrid(*axes, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
    return sample_layer(layer, pts).reshape(shape).astype(np.float32)


def sample_layer(layer: Layer, points: np.ndarray) -> np.ndarray:
    """Trilinear sample of a layer's field at ``points [N, 3]`` (``FAR`` outside its box)."""
    from scipy.ndimage import map_coordinates

    idx = ((points - layer.origin) / layer.voxel).T
    out = np.full(len(points), FAR)
    inside = np.all((idx >= 0) & (idx <= (np.array(layer.values.shape)[:, None] - 1)), axis=0)
    if inside.any():
        out[inside] = map_coordinates(layer.values, idx[:, inside], order=1, mode="nearest")
    return out


def lattice_box(lo: np.ndarray, hi: np.ndarray, voxel: float, pad: int = 3) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Lattice indices covering ``[lo, hi]`` plus ``pad`` voxels: ``(i0 [3] int, shape)``."""
    i0 = np.floor(np.asarray(lo) / voxel).astype(np.int64) - pad
    i1 = np.ceil(np.asarray(hi) / voxel).astype(np.int64) + pad + 1
    return i0, tuple(int(v) for v in (i1 - i0))


def garment_field(ctx: FieldContext, components: list[Component], cuts: list[Callable[[np.ndarray], np.ndarray]] = (),
                  voxel: float | None = None) -> Layer:
    """Evaluate a garment (union of ``components`` minus ``cuts``) on its lattice box."""
    vox = ctx.voxel if voxel is None else float(voxel)
    lo = np.min([c.lo for c in components], axis=0)
    hi = np.max([c.hi for c in components], axis=0)
    i0, shape = lattice_box(lo, hi, vox)
    values = np.full(shape, FAR, dtype=np.float32)
    for comp in components:
        c0, cshape = lattice_box(comp.lo, comp.hi, vox, pad=1)
        c0 = np.maximum(c0, i0)
        c1 = np.minimum(c0 + np.array(cshape), i0 + np.array(shape))
        cshape = tuple(int(v) for v in (c1 - c0))
        if min(cshape) <= 0:
            continue
        axes = [(c0[k] + np.arange(cshape[k])) * vox for k in range(3)]
        gx, gy, gz = np.meshgrid(*axes, indexing="ij")
        pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)  # [N, 3] metres
        occ = ctx.occupied(c0, cshape, vox, comp)
        if comp.base is not None:
            base = block_of_layer(comp.base, c0, cshape, vox).ravel().astype(np.float64)
            val = comp.fn(pts, occ, base)
        else:
            val = comp.fn(pts, occ)
        val = val.reshape(cshape).astype(np.float32)
        s = tuple(slice(c0[k] - i0[k], c1[k] - i0[k]) for k in range(3))
        np.minimum(values[s], val, out=values[s])
    if cuts:
        near = np.flatnonzero(values.ravel() < 4 * vox)
        if len(near):
            ijk = np.stack(np.unravel_index(near, shape), axis=1)
            pts = (ijk + i0) * vox
            flat = values.ravel()
            cut = np.full(len(near), -FAR)
            for c in cuts:
                cut = np.maximum(cut, c(pts))
            flat[near] = np.maximum(flat[near], cut)
            values = flat.reshape(shape)
    return Layer(origin=i0 * vox, voxel=vox, values=values)


def mesh_layer(layer: Layer, target_faces: int | None = None, min_faces: int = 24,
               quick: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of a layer's field -> closed shells ``(vertices [V,3], faces [F,3])``.

    Shells smaller than ``min_faces`` triangles (specks) are dropped; ``target_faces`` decimates
    while keeping every shell closed (left as is if decimation cannot keep it closed); ``quick``:
    see :func:`decimate_closed`.
    """
    from kyara.character.meshing import mesh_grid

    vox = layer.voxel
    v, faces = mesh_grid(layer.values, vox, layer.origin)
    if len(faces) == 0:
        return v, faces
    v, faces = drop_small_shells(v, faces, min_faces)
    if target_faces is not None and len(faces) > target_faces:
        v, faces = decimate_closed(v, faces, target_faces, tolerance=0.35 * vox, quick=quick)
    return v, faces


def _manifold_simplify(v: np.ndarray, faces: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """manifold3d's edge collapse within ``tolerance`` metres: never breaks the 2-manifold."""
    import manifold3d

    solid = manifold3d.Manifold(manifold3d.Mesh(vert_properties=np.asarray(v, dtype=np.float32),
                                                tri_verts=np.asarray(faces, dtype=np.uint32)))
    if solid.status() != manifold3d.Error.NoError:
        return v, faces
    out = solid.simplify(float(tolerance)).to_mesh()
    return (np.asarray(out.vert_properties)[:, :3].astype(np.float64),
            np.asarray(out.tri_verts).astype(np.int64))


def decimate_closed(v: np.ndarray, faces: np.ndarray, target_faces: int,
                    tolerance: float = 0.0015, quick: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Quadric decimation that keeps every shell closed and consistently wound.

    pyfqmr in passes of at most 3x (fast, but blind to topology: a pass that pinches a thin rim
    into a non-manifold edge is rejected and retried more gently). When both tries of a pass
    fail, manifold3d's topology-safe collapse (surface moved by at most ``tolerance`` metres)
    takes over, then pyfqmr gets one more chance. Returns the last closed mesh reached, which
    can stay above ``target_faces`` where the shape needs the triangles.

    ``quick`` (dataset quality, about half the time): first one pass straight to ``target_faces``,
    a rim it pinched into a shared edge split (:func:`kyara.body.mesh_ops.split_pinched_edges`,
    which moves nothing) instead of rejected; the passes above only when that fails."""
    from kyara.body.mesh_ops import fqmr_pass, signed_volume, split_pinched_edges

    def ok(nv, nf, before):
        return 0 < len(nf) < before and closed_fast(nf) and signed_volume(nv, nf) > 0

    if quick and len(faces) > target_faces:
        nv, nf = fqmr_pass(v, faces, target_faces, 5)
        if not ok(nv, nf, len(faces)):
            nv, nf = split_pinched_edges(nv, nf) or (nv, nf)
        if ok(nv, nf, len(faces)):
            return nv, nf

    safe_used = False
    while len(faces) > target_faces:
        goal = max(int(target_faces), len(faces) // 3)
        for aggressiveness in (5, 3):
            nv, nf = fqmr_pass(v, faces, goal, aggressiveness)
            if ok(nv, nf, len(faces)):
                v, faces = nv, nf
                break
        else:
            if safe_used:
                break
            safe_used = True
            nv, nf = _manifold_simplify(v, faces, tolerance)
            if not ok(nv, nf, len(faces)):
                break
            v, faces = nv, nf
    return v, faces


def decimate_closed_reference(v: np.ndarray, faces: np.ndarray, target_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Test oracle: pymeshlab's topology-preserving quadric collapse (not a runtime dependency)."""
    import pymeshlab

    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(np.asarray(v, dtype=np.float64), np.asarray(faces, dtype=np.int32)))
    ms.meshing_decimation_quadric_edge_collapse(targetfacenum=int(target_faces), preservetopology=True,
                                                preservenormal=True)
    m = ms.current_mesh()
    return m.vertex_matrix().astype(np.float64), m.face_matrix().astype(np.int64)


def drop_small_shells(v: np.ndarray, faces: np.ndarray, min_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove connected shells with fewer than ``min_faces`` triangles and unused vertices."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(faces) == 0:
        return v, faces
    n = len(v)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    face_label = label[faces[:, 0]]
    counts = np.bincount(face_label)
    keep = counts[face_label] >= min_faces
    faces = faces[keep]
    used = np.unique(faces)
    remap = np.full(n, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[faces]


# ---------------------------------------------------------------------------------------------
# Shapes (all negative inside, metres)


def shell(occ: np.ndarray, gap: float, thick: float) -> np.ndarray:
    """The layer ``gap < occ < gap + thick`` over the occupied field."""
    return np.maximum(gap - occ, occ - gap - thick)


def slab(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``lo < values < hi`` as a field."""
    return np.maximum(lo - values, values - hi)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((np.asarray(x, dtype=np.float64) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class Profile:
    """A lofted ellipse around the vertical axis: half widths ``a(y)`` (x), ``b(y)`` (z) and
    centre ``zc(y)`` tabulated at increasing heights ``ys``."""

    ys: np.ndarray
    a: np.ndarray
    b: np.ndarray
    zc: np.ndarray

    def at(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.interp(y, self.ys, self.a), np.interp(y, self.ys, self.b), np.interp(y, self.ys, self.zc)


def envelope_profile(points: np.ndarray, y_lo: float, y_hi: float, margin: float, flare: float,
                     step: float = 0.01) -> Profile:
    """The smallest lofted ellipse (per height bin) containing ``points`` plus ``margin``, widened
    going down by at least ``flare`` metres per metre (a skirt never narrows toward the hem)."""
    ys = np.arange(y_lo, y_hi + step, step)
    a = np.zeros(len(ys))
    b = np.zeros(len(ys))
    zc = np.zeros(len(ys))
    for i, y in enumerate(ys):
        sel = points[np.abs(points[:, 1] - y) < 0.75 * step + 0.01]
        if len(sel) == 0:
            a[i], b[i], zc[i] = (a[i - 1], b[i - 1], zc[i - 1]) if i else (0.05, 0.05, 0.0)
            continue
        z0, z1 = sel[:, 2].min(), sel[:, 2].max()
        zc[i] = 0.5 * (z0 + z1)
        ax = max(np.abs(sel[:, 0]).max(), 1e-3)
        bz = max(0.5 * (z1 - z0), 1e-3)
        s = np.sqrt((sel[:, 0] / ax) ** 2 + ((sel[:, 2] - zc[i]) / bz) ** 2).max()
        a[i], b[i] = s * ax + margin, s * bz + margin
    # never narrower below than above + flare (scan from the top down)
    for i in range(len(ys) - 2, -1, -1):
        a[i] = max(a[i], a[i + 1] + flare * step)
        b[i] = max(b[i], b[i + 1] + flare * step)
    k = np.ones(5) / 5.0
    zc = np.convolve(np.pad(zc, 2, mode="edge"), k, mode="valid")
    return Profile(ys, a, b, zc)


def profile_distance(p: np.ndarray, prof: Profile, scale: np.ndarray | float = 1.0) -> np.ndarray:
    """Radial signed distance to the profile surface (scaled by ``scale`` per point)."""
    a, b, zc = prof.at(p[:, 1])
    a = a * scale
    b = b * scale
    dx, dz = p[:, 0], p[:, 2] - zc
    r = np.sqrt(dx * dx + dz * dz)
    q = np.sqrt((dx / a) ** 2 + (dz / b) ** 2)
    return r - r / np.maximum(q, 1e-9)


def pleat_scale(p: np.ndarray, prof: Profile, count: int, depth: float, y_top: float, y_hem: float) -> np.ndarray:
    """Radius multiplier of a pleated skirt: a triangle wave around, growing toward the hem."""
    _, _, zc = prof.at(p[:, 1])
    ang = np.arctan2(p[:, 0], p[:, 2] - zc)
    tri = np.abs(((ang * count / (2 * np.pi)) % 1.0) - 0.5) * 2.0  # 0..1
    grow = smoothstep(y_top, y_hem, p[:, 1])
    return 1.0 + depth * grow * (tri - 0.5)


def capsule_x(p: np.ndarray, y: float, z: float, x0: float, x1: float, r0: float, r1: float, drop: float = 0.0) -> np.ndarray:
    """Distance to a cone along x (a T-pose arm's sleeve) from ``x0`` to ``x1`` (|x|, both
    sides), radii ``r0 .. r1``, whose centre sinks by ``drop`` (fraction of the radius) toward x1."""
    ax = np.abs(p[:, 0])
    t = np.clip((ax - x0) / (x1 - x0), 0.0, 1.0)
    r = r0 + (r1 - r0) * t
    cy = y - drop * r * t
    d = np.sqrt((p[:, 1] - cy) ** 2 + (p[:, 2] - z) ** 2) - r
    return np.maximum(d, np.maximum(x0 - ax, ax - x1))


def rounded_box(p: np.ndarray, centre: np.ndarray, half: np.ndarray, radius: float) -> np.ndarray:
    q = np.abs(p - np.asarray(centre)) - (np.asarray(half) - radius)
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0) - radius


def segment_2d(u: np.ndarray, v: np.ndarray, a: tuple[float, float], b: tuple[float, float], r: float) -> np.ndarray:
    """2-D distance to a capsule from ``a`` to ``b`` with radius ``r``."""
    pa = np.stack([u - a[0], v - a[1]], axis=1)
    ba = np.array([b[0] - a[0], b[1] - a[1]])
    h = np.clip(pa @ ba / max(float(ba @ ba), 1e-12), 0.0, 1.0)
    return np.linalg.norm(pa - h[:, None] * ba, axis=1) - r


def segment_3d(p: np.ndarray, pts: np.ndarray, r: float, flatten: float = 1.0) -> np.ndarray:
    """Distance to a polyline ``pts [K, 3]`` thickened by ``r``; ``flatten`` < 1 thins it in z
    (a ribbon lying on the body)."""
    scale = np.array([1.0, 1.0, 1.0 / flatten])
    q = p * scale
    out = np.full(len(p), FAR)
    for a, b in zip(pts[:-1] * scale, pts[1:] * scale):
        ba = b - a
        h = np.clip((q - a) @ ba / max(float(ba @ ba), 1e-12), 0.0, 1.0)
        out = np.minimum(out, np.linalg.norm(q - a - h[:, None] * ba, axis=1))
    return out * flatten - r * flatten


# seven segments on a 1 x 2 cell: a top, b upper right, c lower right, d bottom, e lower left,
# f upper left, g middle
SEGMENTS = {"a": ((0, 2), (1, 2)), "b": ((1, 2), (1, 1)), "c": ((1, 1), (1, 0)), "d": ((0, 0), (1, 0)),
            "e": ((0, 0), (0, 1)), "f": ((0, 1), (0, 2)), "g": ((0, 1), (1, 1))}
DIGIT_SEGMENTS = ("abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abfgcd")


def number_2d(u: np.ndarray, v: np.ndarray, number: int, height: float, stroke: float) -> np.ndarray:
    """2-D field of ``number`` (0..99) drawn as seven-segment digits centred at (0, 0).

    ``u`` runs to the viewer's right, ``v`` up; ``height`` is the digit height, metres."""
    text = str(int(number))
    s = height / 2.0  # cell unit
    w = s  # digit width
    spacing = 0.55 * s
    total = len(text) * w + (len(text) - 1) * spacing
    out = np.full(len(u), FAR)
    for k, ch in enumerate(text):
        u0 = -0.5 * total + k * (w + spacing)
        for seg in DIGIT_SEGMENTS[int(ch)]:
            (ax, ay), (bx, by) = SEGMENTS[seg]
            d = segment_2d(u, v, (u0 + ax * w, (ay - 1) * s), (u0 + bx * w, (by - 1) * s), 0.5 * stroke)
            out = np.minimum(out, d)
    return out


def glyph_reference(number: int, cols: int = 9, rows: int = 15) -> np.ndarray:
    """Slow, obvious rasterization of the seven-segment glyphs (for tests): ``[rows, cols]`` bool."""
    text = str(int(number))
    img = np.zeros((rows, len(text) * (cols + 2)), dtype=bool)
    for k, ch in enumerate(text):
        on = DIGIT_SEGMENTS[int(ch)]
        c0 = k * (cols + 2)
        mid = rows // 2
        for seg in on:
            if seg == "a":
                img[0, c0:c0 + cols] = True
            elif seg == "d":
                img[rows - 1, c0:c0 + cols] = True
            elif seg == "g":
                img[mid, c0:c0 + cols] = True
            elif seg == "b":
                img[0:mid + 1, c0 + cols - 1] = True
            elif seg == "c":
                img[mid:rows, c0 + cols - 1] = True
            elif seg == "f":
                img[0:mid + 1, c0] = True
            elif seg == "e":
                img[mid:rows, c0] = True
    return img
