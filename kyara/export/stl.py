"""A printable figure: every part posed, thin shells thickened, open sheets given a wall, all
boolean-unioned into one solid.

Frame of the result: millimetres, Z up, the figure stands on ``z = 0`` (on its round base when
there is one) and faces -Y (the character's +Z turns into -Y, a slicer's front). The figure's
total height along Z (hat and base included) is :attr:`PrintOptions.height_mm`.

Pipeline (:func:`printable_solid`):

1. pose the character (LBS of every part) and map metres/Y-up to millimetres/Z-up;
2. split every part into its closed shells; measure each shell's wall thickness at every vertex
   (ray along the inward normal to the opposite wall) and push vertices whose wall is thinner than
   ``min_wall_mm`` outward by half the missing thickness (smoothed over the shell), so both walls
   move apart; these shells are reported in :attr:`PrintResult.thickened`;
3. what is not a closed shell (an imported avatar's open sheets: hair cards, skirts, eyes, and
   closed surfaces cut open along UV seams) is welded; shells that close are treated as in 2, the
   rest are grown into slabs at least the minimum wall thick (at least
   :data:`MIN_SHEET_WALL_MM`) by :func:`kyara.export.solidify.solidify_sheets`;
4. union all shells, the slabs and the optional base disc with manifold3d (exact booleans on
   manifold input), then make it one piece (:func:`attach_floating`: struts, or far specks dropped
   with a note) and refit it onto ``[0, height_mm]``;
5. for an imported avatar, :func:`shape_deviation` measures the sampled two-sided distance
   between the print and the avatar's surfaces and says it in a note.

:func:`surface_deviation` measures the two-sided distance between the result and the posed
character outside thickened regions (the Hausdorff check of the tests and benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kyara.body.mesh_ops import connected_shells  # noqa: F401  (re-exported: shells of a part)

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # (x, y, z) -> (x, -z, y)
MAX_HEIGHT_MM = 2000.0
MIN_SHEET_WALL_MM = 0.8  # open sheets get at least this wall even with --min-wall-mm 0


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
    face_source: np.ndarray | None = None  # [M] triangle of that shell it lies on (-2 in face_shell: the sheet slabs)
    warnings: list[str] = field(default_factory=list)
    welded: int = 0  # closed shells found only after welding seam copies (glTF avatars)
    sheet_id: int = -1  # Manifold run id of the sheet slabs (-1: none)
    sheet_originals: tuple[np.ndarray, np.ndarray] | None = None  # the open sheets (mm) grown into slabs
    sheet_wall_mm: float = 0.0  # slab thickness guaranteed around the sheets
    sheet_offset_mm: float = 0.0  # no slab point is further than this from its sheet
    dropped: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)  # (box lo, box hi, volume) mm
    deviation_mm: tuple[float, float] | None = None  # (solid -> character, character -> solid), sampled


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


def _add_shell(v: np.ndarray, f: np.ndarray, name: str, opt: PrintOptions, res: PrintResult, solids: list,
               shell_ids: list) -> bool:
    """Add one closed shell (thickened where its walls are thin) to ``solids``; False (nothing
    added) when it is not a closed, consistently wound 2-manifold Manifold accepts."""
    from kyara.body.mesh_ops import is_closed_manifold, signed_volume

    if not is_closed_manifold(f):
        return False
    vol = signed_volume(v, f)
    if abs(vol) <= 1e-9 * max(float(np.ptp(v, axis=0).max()), 1e-9) ** 3:
        return False  # flat (a double-sided sheet): a sheet, not a solid
    if vol < 0:
        f = f[:, ::-1]  # inside-out shells are turned the right way
    original = v
    push = np.zeros(len(v))
    if opt.min_wall_mm > 0:
        v2, push = thicken_shell(v, f, opt.min_wall_mm)
        if push.max(initial=0) > 0:
            if opt.thicken:
                res.thickened[name] = float(push.max())
                v = v2
            else:
                res.warnings.append(f"{name} has walls thinner than {opt.min_wall_mm} mm")
                push = np.zeros(len(v))
    m = _to_manifold(v, f)
    if m is None:
        return False
    shell_ids.append(int(np.asarray(m.to_mesh().run_original_id)[0]))  # Manifold run id of this shell
    res.originals.append((original, f))
    res.shells.append((v, f))
    res.pushes.append(push)
    solids.append(m)
    return True


def _add_sheets(v: np.ndarray, f: np.ndarray, part_of_face: np.ndarray, character, opt: PrintOptions,
                res: PrintResult, solids: list, shell_ids: list) -> None:
    """Faces that are no closed shell: welded (seam copies merged), closed shells found again,
    and the rest grown into slabs of the minimum wall (:func:`kyara.export.solidify.solidify_sheets`)."""
    from kyara.body.mesh_ops import weld
    from kyara.export.solidify import SheetOptions, solidify_sheets

    names = [p.name for p in character.parts]
    size = float(np.ptp(v, axis=0).max())  # mm
    wv, wf, src = weld(v, f, 1e-6 * max(size, 1.0))
    wpart = part_of_face[src]
    sheet_faces, sheet_parts = [], set()
    for k, fids in enumerate(connected_shells(wf, len(wv))):
        cv, cf = _compact(wv, wf[fids])
        part = names[int(np.bincount(wpart[fids]).argmax())]
        if _add_shell(cv, cf, f"{part}#welded{k}", opt, res, solids, shell_ids):
            res.welded += 1
            continue
        sheet_faces.append(fids)
        sheet_parts.add(part)
    if not sheet_faces:
        return
    sv, sf = _compact(wv, wf[np.concatenate(sheet_faces)])
    wall = max(opt.min_wall_mm, MIN_SHEET_WALL_MM)
    sheet = solidify_sheets(sv, sf, SheetOptions(wall=wall, max_faces=int(np.clip(4 * len(sf), 20_000, 300_000))))
    res.warnings.extend(sheet.notes)
    m = _to_manifold(sheet.vertices, sheet.faces) if len(sheet.faces) else None
    if m is None:
        res.warnings.append(f"{len(sf)} open sheet triangles could not be made solid and were left out")
        return
    res.sheet_id = int(np.asarray(m.to_mesh().run_original_id)[0])
    res.sheet_originals = (sv, sf)
    res.sheet_wall_mm = sheet.wall
    res.sheet_offset_mm = sheet.max_offset
    solids.append(m)
    res.warnings.append(f"{len(sheet_faces)} open sheets ({', '.join(sorted(sheet_parts))}) given a "
                        f"{sheet.wall:.2g} mm wall")


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
    # 2. closed shells, thickened where thin; the rest are loose sheets
    solids, shell_ids = [], []
    loose_v, loose_f, loose_part = [], [], []
    for i, part in enumerate(character.parts):
        sel = np.flatnonzero(mesh["part_id"] == i)
        pv, pf = mm[sel], part.faces.astype(np.int64)
        for k, fids in enumerate(connected_shells(pf, len(pv))):
            v, f = _compact(pv, pf[fids])
            if not _add_shell(v, f, f"{part.name}#{k}", opt, res, solids, shell_ids):
                loose_v.append(v)
                loose_f.append(f + sum(len(x) for x in loose_v[:-1]))
                loose_part.append(np.full(len(f), i))
    if loose_f:
        _add_sheets(np.concatenate(loose_v), np.concatenate(loose_f), np.concatenate(loose_part), character, opt, res,
                    solids, shell_ids)
    if not solids:
        raise ValueError("character has no surface to print")
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
        res.dropped = [(fit(a), fit(b), vol * k ** 3) for a, b, vol in res.dropped]
        if res.sheet_originals is not None:
            res.sheet_originals = (fit(res.sheet_originals[0]), res.sheet_originals[1])
            res.sheet_wall_mm *= k
            res.sheet_offset_mm *= k
        res.base_top_mm = (res.base_top_mm - lo_z) * k if opt.base else 0.0
        res.scale *= k
    out = solid.to_mesh()
    res.faces = np.asarray(out.tri_verts, dtype=np.int64)
    # provenance of each triangle: which input shell and which of its triangles it lies on
    runs = np.diff(np.asarray(out.run_index, np.int64)) // 3
    tri_oid = np.repeat(np.asarray(out.run_original_id, np.int64), runs)
    lookup = {int(o): k for k, o in enumerate(shell_ids)}
    if res.sheet_id >= 0:
        lookup[res.sheet_id] = -2
    res.face_shell = np.array([lookup.get(int(o), -1) for o in tri_oid], np.int64) if len(tri_oid) == len(res.faces) \
        else np.full(len(res.faces), -1)
    res.face_source = np.asarray(out.face_id, np.int64)
    res.vertices = separate_coincident_vertices(np.asarray(out.vert_properties[:, :3], dtype=np.float64), res.faces)
    res.volume_mm3 = float(solid.volume())
    if res.sheet_originals is not None or res.welded:  # an imported avatar: say how close the print stays
        a, b = shape_deviation(res)
        res.deviation_mm = (a, b)
        allowed = res.sheet_wall_mm if res.sheet_originals is not None else opt.min_wall_mm
        allowed += 0.01 * opt.height_mm
        res.warnings.append(f"shape kept: the print's surface is within {a:.2f} mm of the avatar's and the avatar's "
                            f"within {b:.2f} mm of the print (sampled Hausdorff distance; wall + 1% of the height "
                            f"is {allowed:.2f} mm)")
    return res


def _originals(result: PrintResult) -> tuple[np.ndarray, np.ndarray]:
    """Every input surface of the solid (closed shells before thickening, open sheets), mm."""
    from kyara.character.meshing import combine

    parts = list(result.originals) + ([result.sheet_originals] if result.sheet_originals is not None else [])
    return combine(parts)


def shape_deviation(result: PrintResult, samples: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Sampled two-sided distance (mm) between the solid and the character's surfaces:

    * solid -> character: points on the solid's surface, the base and struts left out, to the
      nearest input surface (closed shells and open sheets alike), exact for each point
      (:func:`kyara.export.solidify.surface_distance`);
    * character -> solid: points on the input surfaces, pieces that were dropped left out, to the
      solid: 0 inside it, else the distance to its surface
      (:func:`kyara.export.solidify.outside_distance_max`).
    """
    import trimesh

    from kyara.export.solidify import outside_distance_max, surface_distance

    ov, of = _originals(result)
    spacing = max(result.sheet_wall_mm, 1.0)  # lattice for the distance bounds: about the wall
    keep = result.face_shell != -1 if result.face_shell is not None else np.ones(len(result.faces), bool)
    a = 0.0
    if np.any(keep):
        solid_part = trimesh.Trimesh(result.vertices, result.faces[keep], process=False)
        pts, _ = trimesh.sample.sample_surface(solid_part, samples, seed=seed)
        a = float(surface_distance(pts, ov, of, spacing, max_only=True))
    q, _ = trimesh.sample.sample_surface(trimesh.Trimesh(ov, of, process=False), samples, seed=seed + 1)
    for lo, hi, _ in result.dropped:
        q = q[~np.all((q >= lo - 1e-6) & (q <= hi + 1e-6), axis=1)]
    return a, outside_distance_max(q, result.vertices, result.faces, spacing)


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


def _drop(pieces: list, why: str, res: PrintResult) -> None:
    for m in pieces:
        box = np.asarray(m.bounding_box(), np.float64)
        res.dropped.append((box[:3], box[3:], float(m.volume())))
    if pieces:
        vol = sum(float(m.volume()) for m in pieces)
        res.warnings.append(f"dropped {len(pieces)} piece{'s' if len(pieces) > 1 else ''} {why} "
                            f"({vol:.3g} mm3 in all)")


def attach_floating(solid, opt: PrintOptions, res: PrintResult):
    """Make the figure one piece. Pieces that float free of the largest one (a strand tip,
    glasses, a prop) are joined with struts of ``max(min_wall, 0.8)`` mm diameter (a ball where
    pieces merely touch): greedily, the piece nearest to the growing main piece is joined next
    when its gap is under 6 % of the figure height or it holds at least 1 % of the volume. Small
    pieces further away, and specks smaller than half a cube of the strut's diameter, are dropped
    with a note (:attr:`PrintResult.dropped`)."""
    import manifold3d
    from scipy.spatial import cKDTree

    parts = sorted(solid.decompose(), key=lambda m: -m.volume())
    keep = [m for m in parts if m.volume() > 1e-3]  # drop zero-volume slivers left by coplanar faces
    res.slivers = len(parts) - len(keep)
    radius = 0.5 * max(opt.min_wall_mm, 0.8)
    specks = [m for m in keep[1:] if m.volume() < 0.5 * (2 * radius) ** 3]
    _drop(specks, f"smaller than {0.5 * (2 * radius) ** 3:.2g} mm3 each", res)
    parts = [keep[0]] + [m for m in keep[1:] if m.volume() >= 0.5 * (2 * radius) ** 3] if keep else []
    if res.slivers or specks:
        solid = manifold3d.Manifold.compose(parts)
    res.components = len(parts)
    if len(parts) <= 1:
        return solid
    meshes = [np.asarray(m.to_mesh().vert_properties[:, :3], np.float64) for m in parts]
    v = np.concatenate(meshes)
    offs = np.cumsum([0] + [len(m) for m in meshes])
    pieces = [np.arange(offs[i], offs[i + 1]) for i in range(len(meshes))]  # vertex ids, largest first
    max_gap = 0.06 * opt.height_mm
    main = [0]
    rest = list(range(1, len(pieces)))
    struts = []
    big = 0.01 * sum(float(m.volume()) for m in parts)
    while rest:
        tree = cKDTree(v[np.concatenate([pieces[m] for m in main])])
        best = None
        for i in rest:
            d, idx = tree.query(v[pieces[i]])
            k = int(np.argmin(d))
            if (d[k] <= max_gap or parts[i].volume() >= big) and (best is None or d[k] < best[0]):
                best = (float(d[k]), i, v[pieces[i][k]], tree.data[idx[k]])
        if best is None:
            break
        gap, i, a, b = best
        b = np.asarray(b, np.float64)
        if gap < radius:  # touching (or nearly): a ball over the contact point joins both
            struts.append(manifold3d.Manifold.sphere(radius, 16).translate((0.5 * (a + b)).tolist()))
        else:
            struts.append(_strut(a, b, radius))
        res.struts.append((a, b, radius))
        main.append(i)
        rest.remove(i)
    _drop([parts[i] for i in rest], f"floating more than {max_gap:.1f} mm from the figure, each under 1% of its volume",
          res)
    out = manifold3d.Manifold.batch_boolean([parts[i] for i in main] + struts, manifold3d.OpType.Add)
    pieces = sorted(out.decompose(), key=lambda m: -m.volume())
    keep = [m for m in pieces if m.volume() > 1e-3]
    res.slivers += len(pieces) - len(keep)
    _drop(keep[1:], "a strut failed to join", res)
    res.components = 1
    return manifold3d.Manifold.compose(keep[:1]) if len(keep) != len(pieces) or len(keep) > 1 else out


def stl_bytes(vertices: np.ndarray, faces: np.ndarray, header: str = "kyara printable figure, mm, Z up") -> bytes:
    """Binary STL of a triangle mesh (facet normals from the winding)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tri = v[f]  # [M, 3, 3]
    if not np.all(np.isfinite(tri)) or np.abs(tri).max(initial=0.0) > np.finfo(np.float32).max:
        raise ValueError("the solid has coordinates that are not finite, refusing to write an invalid STL")
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

