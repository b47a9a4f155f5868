"""A printable figure: every part posed, thin shells thickened, all boolean-unioned into one solid.

Frame of the result: millimetres, Z up, the figure stands on ``z = 0`` (on its round base when
there is one) and faces -Y (the character's +Z turns into -Y, a slicer's front). The figure's
total height along Z (hat and base included) is :attr:`PrintOptions.height_mm`.

Pipeline (:func:`printable_solid`):

1. pose the character (LBS of every part) and map metres/Y-up to millimetres/Z-up;
2. split every part into its closed shells; measure each shell's wall thickness at every vertex
   (ray along the inward normal to the opposite wall) and push vertices whose wall is thinner than
   ``min_wall_mm`` outward by half the missing thickness (smoothed over the shell), so both walls
   move apart; these shells are reported in :attr:`PrintResult.thickened`;
3. union all shells and the optional base disc with manifold3d (exact booleans on manifold input).

:func:`surface_deviation` measures the two-sided distance between the result and the posed
character (the Hausdorff check of the tests and benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # (x, y, z) -> (x, -z, y)
MAX_HEIGHT_MM = 2000.0


@dataclass(frozen=True)
class PrintOptions:
    height_mm: float = 150.0  # total figure height along Z, base and hat included
    base: bool = True  # a round disc under the feet
    base_thickness_mm: float = 3.0
    min_wall_mm: float = 1.2  # thinner shells are thickened to this wall (0: only report)
    thicken: bool = True

    def __post_init__(self) -> None:
        if not (np.isfinite(self.height_mm) and 0 < self.height_mm <= MAX_HEIGHT_MM):
            raise ValueError(f"height {self.height_mm} mm is out of range, expected 0 < height <= {MAX_HEIGHT_MM:g} mm")
        if not (0 < self.base_thickness_mm < 0.5 * self.height_mm):
            raise ValueError(f"base thickness {self.base_thickness_mm} mm is out of range, expected 0 < t < half the height")
        if not (0 <= self.min_wall_mm <= 20):
            raise ValueError(f"minimum wall {self.min_wall_mm} mm is out of range, expected 0..20 mm")


@dataclass
class PrintResult:
    vertices: np.ndarray  # [N, 3] float64 millimetres, Z up
    faces: np.ndarray  # [M, 3] int64, outward winding
    volume_mm3: float
    scale: float  # millimetres per metre of the character
    shells: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # posed input shells (mm) as unioned
    originals: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # the same shells before thickening
    thickened: dict[str, float] = field(default_factory=dict)  # "part#shell" -> largest push, mm
    pushes: list[np.ndarray] = field(default_factory=list)  # per shell, [V] outward push of each vertex, mm
    base_top_mm: float = 0.0  # z of the base's top face (0 without a base)
    struts: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)  # (from, to, radius) mm
    components: int = 1  # separate solids left in the result (1 = one printable piece)
    slivers: int = 0  # zero-volume pieces dropped from the union
    face_shell: np.ndarray | None = None  # [M] index into shells of each result triangle's source (-1: base, strut)
    face_source: np.ndarray | None = None  # [M] triangle of that shell it lies on
    warnings: list[str] = field(default_factory=list)


def connected_shells(faces: np.ndarray, num_vertices: int) -> list[np.ndarray]:
    """Face ids of each connected component (vertex-connected), largest first."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return []
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, num_vertices))
    _, label = connected_components(graph, directed=False)
    face_label = label[f[:, 0]]
    groups = [np.flatnonzero(face_label == k) for k in np.unique(face_label)]
    return sorted(groups, key=len, reverse=True)


def _compact(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used, inv = np.unique(f.ravel(), return_inverse=True)
    return v[used], inv.reshape(-1, 3)


def wall_thickness(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """[V] distance from each vertex along its inward normal to the opposite wall of the same
    closed shell (inf where the ray escapes)."""
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    eps = 1e-4 * max(float(np.ptp(vertices, axis=0).max()), 1e-9)
    origins = vertices - normals * eps
    locs, ray_ids, _ = mesh.ray.intersects_location(origins, -normals, multiple_hits=False)
    out = np.full(len(vertices), np.inf)
    if len(ray_ids):
        d = np.linalg.norm(locs - origins[ray_ids], axis=1) + eps
        np.minimum.at(out, ray_ids, d)
    return out


def thicken_shell(vertices: np.ndarray, faces: np.ndarray, min_wall: float, iterations: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Push vertices of walls thinner than ``min_wall`` outward by half the deficit (smoothed over the
    1-ring ``iterations`` times). Returns (new vertices, [V] push of each vertex)."""
    from kyara.export.gltf import vertex_normals

    n = vertex_normals(vertices, faces).astype(np.float64)
    t = wall_thickness(vertices, faces, n)
    push = np.where(np.isfinite(t), np.clip(0.5 * (min_wall - t), 0.0, None), 0.0)
    if not np.any(push > 0):
        return vertices, push
    # smooth the push over neighbours (max with the neighbourhood mean keeps thin spots covered)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    for _ in range(iterations):
        acc = np.zeros(len(vertices))
        cnt = np.zeros(len(vertices))
        np.add.at(acc, e[:, 0], push[e[:, 1]])
        np.add.at(cnt, e[:, 0], 1.0)
        push = np.maximum(push, acc / np.maximum(cnt, 1.0))
    return vertices + n * push[:, None], push


def _to_manifold(v: np.ndarray, f: np.ndarray):
    import manifold3d

    m = manifold3d.Manifold(manifold3d.Mesh(vert_properties=np.ascontiguousarray(v, dtype=np.float32),
                                            tri_verts=np.ascontiguousarray(f, dtype=np.uint32),
                                            face_id=np.arange(len(f), dtype=np.uint32)))
    return m if m.status() == manifold3d.Error.NoError and not m.is_empty() else None


def printable_solid(character, pose=None, options: PrintOptions | None = None) -> PrintResult:
    """The posed character as one watertight solid in millimetres (see the module doc)."""
    import manifold3d

    opt = options or PrintOptions()
    # 1. pose and go to millimetres, Z up
    mesh = character.merged()
    if pose is None:
        verts = mesh["vertices"].astype(np.float64)
    else:
        verts = character.pose(pose, mesh)[0].astype(np.float64)
    zup = verts @ Y_UP_TO_Z_UP.T
    lo, hi = zup.min(axis=0), zup.max(axis=0)
    height = float(hi[2] - lo[2])
    if height <= 0:
        raise ValueError("character has zero height, expected a figure")
    overlap = min(0.3, 0.1 * opt.base_thickness_mm)  # the feet sink this far into the base
    z0 = opt.base_thickness_mm - overlap if opt.base else 0.0
    scale = (opt.height_mm - z0) / height
    mm = (zup - np.array([0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]), lo[2]])) * scale + np.array([0.0, 0.0, z0])
    res = PrintResult(np.zeros((0, 3)), np.zeros((0, 3), np.int64), 0.0, scale)
    # 2. shells, thickened where thin
    solids, shell_ids = [], []
    for i, part in enumerate(character.parts):
        sel = np.flatnonzero(mesh["part_id"] == i)
        pv, pf = mm[sel], part.faces.astype(np.int64)
        for k, fids in enumerate(connected_shells(pf, len(pv))):
            v, f = _compact(pv, pf[fids])
            push = np.zeros(len(v))
            if opt.min_wall_mm > 0:
                v2, push = thicken_shell(v, f, opt.min_wall_mm)
                if push.max(initial=0) > 0:
                    if opt.thicken:
                        res.thickened[f"{part.name}#{k}"] = float(push.max())
                        v = v2
                    else:
                        res.warnings.append(f"{part.name}#{k} has walls thinner than {opt.min_wall_mm} mm")
                        push = np.zeros(len(v))
            m = _to_manifold(v, f)
            if m is None:
                res.warnings.append(f"{part.name}#{k} is not a closed 2-manifold and was left out")
                continue
            shell_ids.append(int(np.asarray(m.to_mesh().run_original_id)[0]))  # Manifold run id of this shell
            res.originals.append(_compact(pv, pf[fids]))
            res.shells.append((v, f))
            res.pushes.append(push)
            solids.append(m)
    if not solids:
        raise ValueError("character has no closed shell to print")
    # 3. base disc under the feet, then one union
    if opt.base:
        feet = mm[mm[:, 2] < z0 + 0.08 * (opt.height_mm - z0)]
        c = 0.5 * (feet[:, :2].min(axis=0) + feet[:, :2].max(axis=0))
        radius = max(float(np.linalg.norm(feet[:, :2] - c, axis=1).max()) + 0.04 * opt.height_mm, 0.18 * opt.height_mm)
        disc = manifold3d.Manifold.cylinder(opt.base_thickness_mm, radius, radius, 128).translate([float(c[0]), float(c[1]), 0.0])
        solids.append(disc)
        res.base_top_mm = float(opt.base_thickness_mm)
    solid = manifold3d.Manifold.batch_boolean(solids, manifold3d.OpType.Add)
    solid = attach_floating(solid, opt, res)
    # 4. thickening and struts may reach past the planned box: refit exactly onto [0, height_mm]
    lo_z, hi_z = solid.bounding_box()[2], solid.bounding_box()[5]
    k = opt.height_mm / (hi_z - lo_z)
    if abs(k - 1.0) > 1e-9 or abs(lo_z) > 1e-9:
        solid = solid.translate([0.0, 0.0, -lo_z]).scale([k, k, k])
        fit = lambda p: (np.asarray(p, np.float64) - np.array([0.0, 0.0, lo_z])) * k  # noqa: E731
        res.shells = [(fit(v), f) for v, f in res.shells]
        res.originals = [(fit(v), f) for v, f in res.originals]
        res.pushes = [p * k for p in res.pushes]
        res.struts = [(fit(a), fit(b), r * k) for a, b, r in res.struts]
        res.base_top_mm = (res.base_top_mm - lo_z) * k if opt.base else 0.0
        res.scale *= k
    out = solid.to_mesh()
    res.faces = np.asarray(out.tri_verts, dtype=np.int64)
    # provenance of each triangle: which input shell and which of its triangles it lies on
    runs = np.diff(np.asarray(out.run_index, np.int64)) // 3
    tri_oid = np.repeat(np.asarray(out.run_original_id, np.int64), runs)
    lookup = {int(o): k for k, o in enumerate(shell_ids)}
    res.face_shell = np.array([lookup.get(int(o), -1) for o in tri_oid], np.int64) if len(tri_oid) == len(res.faces) \
        else np.full(len(res.faces), -1)
    res.face_source = np.asarray(out.face_id, np.int64)
    res.vertices = separate_coincident_vertices(np.asarray(out.vert_properties[:, :3], dtype=np.float64), res.faces)
    res.volume_mm3 = float(solid.volume())
    return res


def separate_coincident_vertices(vertices: np.ndarray, faces: np.ndarray, eps: float = 2e-3) -> np.ndarray:
    """Move apart distinct vertices that share a float32 position (where two sheets of the solid
    touch at a point or an edge), each towards the centroid of its own triangles, so a reader that
    merges STL vertices by position still sees a 2-manifold. Vertices still together after that
    (their own triangles lie the same way) are spread along it: the k-th of a group by ``k * eps / 2``."""
    v = np.asarray(vertices, dtype=np.float64).copy()
    cen = np.zeros((len(v), 3))
    num = np.zeros(len(v))
    tri_c = v[faces].mean(axis=1)
    for k in range(3):
        np.add.at(cen, faces[:, k], tri_c)
        np.add.at(num, faces[:, k], 1.0)
    for it in range(4):
        _, inv, cnt = np.unique(v.astype(np.float32), axis=0, return_inverse=True, return_counts=True)
        inv = inv.ravel()
        shared = np.flatnonzero(cnt[inv] > 1)
        if len(shared) == 0:
            break
        order = shared[np.argsort(inv[shared], kind="stable")]
        group = inv[order]
        rank = np.arange(len(order)) - np.searchsorted(group, group)  # 0, 1, 2, ... within each group
        d = cen[order] / np.maximum(num[order], 1.0)[:, None] - v[order]
        d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        step = np.ones(len(order)) if it == 0 else 0.5 * rank
        v[order] += (eps * step)[:, None] * d
    return v


def _strut(p: np.ndarray, q: np.ndarray, radius: float):
    """A cylinder of ``radius`` from ``p`` to ``q`` (mm), extended by ``radius`` at both ends."""
    import manifold3d

    d = q - p
    length = float(np.linalg.norm(d))
    z = d / length
    x = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    start = p - z * radius
    m = np.column_stack([x, y, z, start])  # [3, 4] affine
    return manifold3d.Manifold.cylinder(length + 2 * radius, radius, radius, 12).transform(m.tolist())


def attach_floating(solid, opt: PrintOptions, res: PrintResult):
    """Join pieces that float free of the largest one (a strand tip, glasses) with struts of
    ``max(min_wall, 0.8)`` mm diameter (a ball where pieces merely touch): greedily, the piece nearest to the growing main piece is
    joined next while its gap is under 6 % of the figure height; pieces left apart are reported."""
    import manifold3d
    from scipy.spatial import cKDTree

    parts = sorted(solid.decompose(), key=lambda m: -m.volume())
    keep = [m for m in parts if m.volume() > 1e-3]  # drop zero-volume slivers left by coplanar faces
    res.slivers = len(parts) - len(keep)
    if res.slivers:
        solid = manifold3d.Manifold.compose(keep)
        parts = keep
    res.components = len(parts)
    if len(parts) <= 1:
        return solid
    meshes = [np.asarray(m.to_mesh().vert_properties[:, :3], np.float64) for m in parts]
    v = np.concatenate(meshes)
    offs = np.cumsum([0] + [len(m) for m in meshes])
    pieces = [np.arange(offs[i], offs[i + 1]) for i in range(len(meshes))]  # vertex ids, largest first
    radius = 0.5 * max(opt.min_wall_mm, 0.8)
    max_gap = 0.06 * opt.height_mm
    main = [0]
    rest = list(range(1, len(pieces)))
    struts = []
    while rest:
        tree = cKDTree(v[np.concatenate([pieces[m] for m in main])])
        best = None
        for i in rest:
            d, idx = tree.query(v[pieces[i]])
            k = int(np.argmin(d))
            if best is None or d[k] < best[0]:
                best = (float(d[k]), i, v[pieces[i][k]], tree.data[idx[k]])
        gap, i, a, b = best
        if gap > max_gap:
            break
        b = np.asarray(b, np.float64)
        if gap < radius:  # touching (or nearly): a ball over the contact point joins both
            struts.append(manifold3d.Manifold.sphere(radius, 16).translate((0.5 * (a + b)).tolist()))
        else:
            struts.append(_strut(a, b, radius))
        res.struts.append((a, b, radius))
        main.append(i)
        rest.remove(i)
    res.components = 1 + len(rest)
    if rest:
        res.warnings.append(f"the figure has {res.components} separate pieces; "
                            f"{len(rest)} float more than {max_gap:.1f} mm from the rest")
    if not struts:
        return solid
    out = manifold3d.Manifold.batch_boolean([solid] + struts, manifold3d.OpType.Add)
    pieces = out.decompose()
    keep = [m for m in pieces if m.volume() > 1e-3]
    if len(keep) < len(pieces):
        res.slivers += len(pieces) - len(keep)
        out = manifold3d.Manifold.compose(keep)
    return out


def stl_bytes(vertices: np.ndarray, faces: np.ndarray, header: str = "kyara printable figure, mm, Z up") -> bytes:
    """Binary STL of a triangle mesh (facet normals from the winding)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tri = v[f]  # [M, 3, 3]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    rec = np.zeros(len(f), dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")]))
    rec["n"] = n
    rec["v"] = tri
    head = header.encode("ascii", "replace")[:80].ljust(80, b" ")
    return head + np.uint32(len(f)).tobytes() + rec.tobytes()


def all_f_index(offsets: np.ndarray, shell: np.ndarray, tri: np.ndarray) -> np.ndarray:
    return offsets[shell] + tri


def surface_deviation(result: PrintResult, samples: int = 20000, seed: int = 0) -> tuple[float, float]:
    """Two-sided distance (mm) between the solid and the posed character, outside thickened regions.

    * solid -> character: points sampled on the solid's surface, distance to the nearest original
      surface; points are skipped where the solid's triangle comes from the base, a strut, or a
      shell triangle with a thickened (pushed) vertex (Manifold keeps each triangle's provenance);
    * character -> solid: points sampled on the original surfaces away from thickened vertices that
      lie outside the solid (points covered by other parts are legitimately absorbed by the
      union), distance to the solid surface.

    Returns (max solid->character, max character->solid).
    """
    import trimesh

    rng = np.random.default_rng(seed)
    offs = np.cumsum([0] + [len(s[0]) for s in result.originals])
    all_v = np.concatenate([s[0] for s in result.originals])
    all_f = np.concatenate([s[1] + o for s, o in zip(result.originals, offs)])
    offs_f = np.cumsum([0] + [len(s[1]) for s in result.originals])
    pushed_v = np.concatenate(result.pushes) > 0
    pushed_f = pushed_v[all_f].any(axis=1)
    original = trimesh.Trimesh(all_v, all_f, process=False)
    solid = trimesh.Trimesh(result.vertices, result.faces, process=False)
    # 1. solid -> character, on triangles that come from a shell triangle with no pushed vertex
    pts, face = trimesh.sample.sample_surface(solid, samples, seed=int(rng.integers(1 << 31)))
    src_shell = result.face_shell[face]
    src_tri = np.where(src_shell >= 0, result.face_source[face], 0)
    ok = src_shell >= 0
    ok[ok] = ~pushed_f[all_f_index(offs_f, src_shell[ok], src_tri[ok])]
    a = 0.0
    if np.any(ok):
        _, d, _ = trimesh.proximity.closest_point(original, pts[ok])
        a = float(d.max())
    # 2. character -> solid, outside points only
    kept = all_f[~pushed_f]
    b = 0.0
    if len(kept):
        sub = trimesh.Trimesh(all_v, kept, process=False)
        q, _ = trimesh.sample.sample_surface(sub, samples, seed=int(rng.integers(1 << 31)))
        cq, dq, tq = trimesh.proximity.closest_point(solid, q)
        # outside when both the ray test and the side of the closest triangle say so (either alone
        # misjudges some points that lie exactly on shared surfaces or near sharp edges)
        side = np.einsum("ij,ij->i", q - cq, solid.face_normals[tq])
        outside = ~solid.contains(q) & (side > 0)
        b = float(dq[outside].max()) if np.any(outside) else 0.0
    return a, b

