"""One UV atlas for a whole character: charts cut and packed by xatlas, split vertices mapped back.

Conventions
-----------
* UVs follow glTF: ``u`` grows to the right, ``v`` grows DOWN the image, ``(0, 0)`` is the top-left
  corner of the texture's first texel. A texture is an array ``[S, S, C]`` (row ``j``, column ``i``);
  the centre of texel ``(i, j)`` is at ``((i + 0.5) / S, (j + 0.5) / S)``.
* Cutting charts splits vertices along the seams: atlas vertex ``k`` is a copy of input vertex
  ``vertex_map[k]``, so anything per vertex (posed positions, skin weights, morph targets, colours)
  is carried over with :meth:`UVAtlas.carry`. Faces keep their order and orientation:
  ``vertex_map[atlas.faces] == faces``.
* Charts are packed for a square texture of ``size`` texels with ``padding`` empty texels between
  them, so bilinear sampling at a chart's border reads only that chart's texels and its gutter.

xatlas is slow on large charts (its chart growing and parametrisation, not the packing), so charts
are capped in area (:class:`AtlasOptions`): the characters of ``kyara create`` take 2.5-4 s (55k to
124k faces) on 2 CPUs, up to 5x that when the CPUs are busy; :func:`cached_atlas` keeps each mesh's
atlas on disk, keyed by a hash of the mesh, so a character is cut once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_SIZE = 16
MAX_SIZE = 8192


@dataclass(frozen=True)
class AtlasOptions:
    """How charts are cut and packed (xatlas ChartOptions / PackOptions)."""

    padding: int = 2  # empty texels around every chart (bilinear sampling never mixes two charts)
    # a chart covers at most the area of this many average faces: xatlas' time grows faster than
    # linearly with chart size (a 10k-face body on busy CPUs: 16 s uncapped, 2-3 s at 50-200 faces a chart)
    max_chart_faces: int = 500
    rotate_charts: bool = True  # let the packer turn charts for a tighter fit

    def __post_init__(self) -> None:
        if not isinstance(self.padding, (int, np.integer)) or not 0 <= self.padding <= 64:
            raise ValueError(f"padding {self.padding!r} is out of range, expected an integer 0..64 texels")
        if not isinstance(self.max_chart_faces, (int, np.integer)) or self.max_chart_faces < 1:
            raise ValueError(f"max_chart_faces {self.max_chart_faces!r} must be an integer >= 1")


@dataclass(frozen=True, eq=False)
class UVAtlas:
    """The UV layout of one mesh: split vertices with texture coordinates, and their origin."""

    faces: np.ndarray  # [F, 3] int32 atlas vertex indices, same faces in the same order as the input
    uv: np.ndarray  # [V', 2] float32 in [0, 1], glTF convention (v down, see the module docstring)
    vertex_map: np.ndarray  # [V'] int64: the input vertex each atlas vertex is a copy of
    face_chart: np.ndarray  # [F] int32: the chart (island) each face lies in
    size: int  # texels per side of the texture the charts were packed for
    num_input_vertices: int  # V of the input mesh

    @property
    def num_vertices(self) -> int:
        return int(len(self.uv))

    @property
    def num_charts(self) -> int:
        return int(self.face_chart.max()) + 1 if len(self.face_chart) else 0

    @property
    def input_faces(self) -> np.ndarray:
        """``[F, 3]`` the input mesh's faces (indices into the input vertices)."""
        return self.vertex_map[self.faces]

    def carry(self, values: np.ndarray, axis: int = 0) -> np.ndarray:
        """Per-input-vertex ``values`` (``V`` along ``axis``) -> per-atlas-vertex (``V'`` along ``axis``).

        E.g. posed vertices ``[V, 3] -> [V', 3]`` (``axis=0``), ``[N, V, 3] -> [N, V', 3]``
        (``axis=1``), skin weights ``[V, 4]``, part ids ``[V]``.
        """
        a = np.asarray(values)
        if a.ndim == 0 or a.shape[axis] != self.num_input_vertices:
            raise ValueError(f"values have shape {a.shape}, expected {self.num_input_vertices} vertices "
                             f"along axis {axis}")
        return np.take(a, self.vertex_map, axis=axis)


def _check_mesh(vertices, faces) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"vertices have shape {v.shape}, expected a finite [V, 3] array, V > 0")
    f = np.asarray(faces)
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0 or not np.issubdtype(f.dtype, np.integer):
        raise ValueError(f"faces have shape {f.shape} dtype {f.dtype}, expected [F, 3] integers, F > 0")
    if f.min() < 0 or f.max() >= len(v):
        raise ValueError(f"faces index vertices {f.min()}..{f.max()}, expected 0..{len(v) - 1}")
    return v, f.astype(np.int64)


def _check_size(size) -> int:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"texture size {size!r} is out of range, expected an integer {MIN_SIZE}..{MAX_SIZE} texels")
    return int(size)


def build_atlas(vertices: np.ndarray, faces: np.ndarray, size: int = 1024,
                options: AtlasOptions | None = None) -> UVAtlas:
    """Cut ``faces [F, 3]`` over ``vertices [V, 3]`` (metres, any pose: rest is best) into charts and
    pack them into one square texture of ``size`` texels (xatlas).

    Needs the ``xatlas`` package (the ``diffusion`` extra); without it a one-line
    :class:`~kyara.errors.KyaraError` names the command that installs it.
    """
    from kyara.errors import require_extra

    v, f = _check_mesh(vertices, faces)
    size = _check_size(size)
    opts = options or AtlasOptions()
    require_extra(("xatlas",), "texture painting's UV atlas", "diffusion", "xatlas")
    import xatlas

    tri = v[f]  # [F, 3, 3]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    total = float(area.sum())
    if not total > 0.0:
        raise ValueError("the mesh has no area: every face is degenerate")
    chart = xatlas.ChartOptions()
    if len(f) > opts.max_chart_faces:
        chart.max_chart_area = total * opts.max_chart_faces / len(f)
    pack = xatlas.PackOptions()
    pack.padding = int(opts.padding)
    pack.bilinear = True
    pack.rotate_charts = bool(opts.rotate_charts)
    pack.resolution = 0  # one atlas whose side follows texels_per_unit ...
    pack.texels_per_unit = size * np.sqrt(0.7 / total)  # ... chosen to fill ~70 % of size x size
    atlas = xatlas.Atlas()
    atlas.add_mesh(v.astype(np.float32), f.astype(np.uint32))
    atlas.generate(chart_options=chart, pack_options=pack)
    if atlas.atlas_count != 1:
        raise RuntimeError(f"xatlas packed {atlas.atlas_count} atlases, expected one")
    vmap, idx, uv = atlas[0]
    vmap = vmap.astype(np.int64)
    idx = idx.astype(np.int64)
    if idx.shape != f.shape or not np.array_equal(vmap[idx], f):
        raise RuntimeError("xatlas changed the faces (order or corners); cannot map the atlas back to the mesh")
    # the binding divides by the atlas' own width and height: back to texels, then one scale for both
    # axes so charts keep their proportions in the square texture (the packer's side may differ from size)
    px = uv.astype(np.float64) * np.array([atlas.width, atlas.height], np.float64)
    uv_sq = (px / float(max(atlas.width, atlas.height))).astype(np.float32)
    face_chart = np.full(len(f), -1, np.int32)
    for c in range(atlas.get_mesh_chart_count(0)):
        face_chart[np.asarray(atlas.get_mesh_chart(0, c).faces, np.int64)] = c
    if np.any(face_chart < 0):  # xatlas leaves degenerate faces out of every chart: give each its own
        lone = np.flatnonzero(face_chart < 0)
        face_chart[lone] = face_chart.max() + 1 + np.arange(len(lone), dtype=np.int32)
    return UVAtlas(idx.astype(np.int32), np.clip(uv_sq, 0.0, 1.0), vmap, face_chart, size, len(v))


# -- the atlas cache ----------------------------------------------------------------------------
CACHE_VERSION = "1"  # bump when the atlas a mesh gets changes (options, packing, this file's format)
CACHE_KEEP = 64  # atlases kept in a cache folder; the least recently written go first (0.1-2 MB each)


def atlas_cache_dir() -> Path:
    """The default atlas cache: ``<kyara cache>/atlas`` (``$KYARA_CACHE_DIR``, ``$XDG_CACHE_HOME/kyara``
    or ``~/.cache/kyara``, as the tiny models' cache)."""
    from kyara.generate.tiny import cache_root

    return cache_root() / "atlas"


def atlas_key(vertices: np.ndarray, faces: np.ndarray, size: int, options: AtlasOptions | None = None) -> str:
    """The cache key of an atlas: SHA-256 (hex) of the mesh's bytes (vertices as float32, faces as
    int64, with their shapes), ``size``, the options, the xatlas version and :data:`CACHE_VERSION`.
    Any change to the mesh (a vertex moved by one float32 ulp, one face) gives another key."""
    import hashlib
    import importlib.metadata

    v, f = _check_mesh(vertices, faces)
    opts = options or AtlasOptions()
    try:
        xv = importlib.metadata.version("xatlas")
    except importlib.metadata.PackageNotFoundError:
        xv = "none"
    h = hashlib.sha256()
    head = f"kyara-atlas {CACHE_VERSION} xatlas {xv} size {_check_size(size)} {opts!r} v {v.shape} f {f.shape}"
    h.update(head.encode())
    h.update(np.ascontiguousarray(v, np.float32).tobytes())
    h.update(np.ascontiguousarray(f, np.int64).tobytes())
    return h.hexdigest()


def _load_cached(path: Path, size: int, nv: int, nf: int) -> UVAtlas | None:
    """The atlas stored at ``path``, or None when it is missing, unreadable or not of this mesh."""
    try:
        with np.load(path, allow_pickle=False) as z:
            a = UVAtlas(z["faces"].astype(np.int32), z["uv"].astype(np.float32), z["vertex_map"].astype(np.int64),
                        z["face_chart"].astype(np.int32), int(z["size"]), int(z["num_input_vertices"]))
    except (OSError, ValueError, KeyError, EOFError):
        return None
    ok = (a.size == size and a.num_input_vertices == nv and a.faces.shape == (nf, 3) and a.uv.ndim == 2
          and a.uv.shape[1] == 2 and a.vertex_map.shape == (len(a.uv),) and a.face_chart.shape == (nf,)
          and (nf == 0 or (a.faces.min() >= 0 and a.faces.max() < len(a.uv)))
          and (len(a.vertex_map) == 0 or (a.vertex_map.min() >= 0 and a.vertex_map.max() < nv)))
    return a if ok else None


def cached_atlas(vertices: np.ndarray, faces: np.ndarray, size: int = 1024, options: AtlasOptions | None = None,
                 cache_dir: str | os.PathLike | None = None) -> UVAtlas:
    """:func:`build_atlas`, kept per mesh in ``cache_dir`` (default :func:`atlas_cache_dir`) as
    ``atlas-<key>.npz`` (:func:`atlas_key`): xatlas runs once per character, mesh and size; a later
    call with the same mesh reads the same atlas back (about 10 ms). A missing, corrupt or foreign
    file is rebuilt; a cache that cannot be written is skipped (the atlas is still returned). At most
:data:`CACHE_KEEP` atlases stay in the folder."""
    from kyara.fileio import atomic_path

    v, f = _check_mesh(vertices, faces)
    size = _check_size(size)
    folder = Path(cache_dir) if cache_dir is not None else atlas_cache_dir()
    path = folder / f"atlas-{atlas_key(v, f, size, options)}.npz"
    hit = _load_cached(path, size, len(v), len(f)) if path.is_file() else None
    if hit is not None:
        return hit
    atlas = build_atlas(v, f, size, options)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, faces=atlas.faces, uv=atlas.uv, vertex_map=atlas.vertex_map,
                         face_chart=atlas.face_chart, size=atlas.size, num_input_vertices=atlas.num_input_vertices)
        old = sorted(folder.glob("atlas-*.npz"), key=lambda q: q.stat().st_mtime)[:-CACHE_KEEP]
        for q in old:
            q.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass  # a read-only or full cache: the atlas is still right, only not kept
    return atlas


def character_atlas(character, size: int = 1024, options: AtlasOptions | None = None,
                    opaque_only: bool = True, cache: bool = False,
                    cache_dir: str | os.PathLike | None = None) -> tuple[UVAtlas, dict[str, np.ndarray]]:
    """The atlas of a built :class:`~kyara.character.model.Character`'s merged mesh (rest pose) and
    that mesh (``character.merged(opaque_only)``: pose it with ``character.pose(pose, mesh)`` and
    carry the result with :meth:`UVAtlas.carry`). ``opaque_only`` leaves out see-through parts
    (lenses), which the renderer's previews leave out too. ``cache`` keeps the atlas per mesh
    (:func:`cached_atlas`, in ``cache_dir`` or :func:`atlas_cache_dir`)."""
    mesh = character.merged(opaque_only=opaque_only)
    if cache:
        return cached_atlas(mesh["vertices"], mesh["faces"], size, options, cache_dir), mesh
    return build_atlas(mesh["vertices"], mesh["faces"], size, options), mesh


# -- texels of the charts ------------------------------------------------------------------------
def texel_faces(atlas: UVAtlas, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The face under every texel centre of a ``size`` texture (default ``atlas.size``):
    ``(face [S, S] int32, -1 outside every chart; bary [S, S, 3] float32 barycentrics in that face)``.

    Rasterised on the CPU in UV space; a texel centre on an edge shared by two faces goes to the later
    face. Charts do not overlap, so each covered texel has one face.
    """
    s = _check_size(atlas.size if size is None else size)
    face = np.full(s * s, -1, np.int32)
    bary = np.zeros((s * s, 3), np.float32)
    tri = atlas.uv[atlas.faces].astype(np.float64) * s - 0.5  # [F, 3, 2] in texel-centre units
    lo = np.clip(np.ceil(tri.min(axis=1) - 1e-9), 0, s - 1).astype(np.int64)  # [F, 2] first (i, j)
    hi = np.clip(np.floor(tri.max(axis=1) + 1e-9), 0, s - 1).astype(np.int64)  # [F, 2] last (i, j)
    ext = np.maximum(hi - lo + 1, 0).max(axis=1)  # [F] bounding-box side in texels
    # faces in buckets of similar size, each bucket as one [F_b, k, k] array of candidate texels
    bucket = np.ceil(np.log2(np.maximum(ext, 1))).astype(np.int64)
    for b in np.unique(bucket):
        sel = np.flatnonzero((bucket == b) & (ext > 0))
        k = 1 << int(b)
        for chunk in np.array_split(sel, max(1, len(sel) * k * k // 2_000_000 + 1)):
            if len(chunk) == 0:
                continue
            off = np.arange(k)
            ci = lo[chunk, 0, None, None] + off[None, None, :]  # [f, 1, k] column
            cj = lo[chunk, 1, None, None] + off[None, :, None]  # [f, k, 1] row
            ci, cj = np.broadcast_arrays(ci, cj)
            inside_box = (ci <= hi[chunk, 0, None, None]) & (cj <= hi[chunk, 1, None, None])
            w = _barycentric(tri[chunk], ci.astype(np.float64), cj.astype(np.float64))  # [f, k, k, 3]
            hit = inside_box & np.all(w >= -1e-7, axis=-1)
            fi, a, c = np.nonzero(hit)
            flat = cj[fi, a, c] * s + ci[fi, a, c]
            face[flat] = chunk[fi]
            bary[flat] = w[fi, a, c]
    return face.reshape(s, s), bary.reshape(s, s, 3)


def _barycentric(tri: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Barycentrics ``[f, ..., 3]`` of points ``(x, y) [f, ...]`` in triangles ``tri [f, 3, 2]``
    (NaN-free: a degenerate triangle gives -1s, i.e. outside)."""
    t = tri.reshape(tri.shape[:2] + (1,) * (x.ndim - 1) + (2,))
    a, b, c = t[:, 0], t[:, 1], t[:, 2]  # [f, 1.., 2]
    v0, v1 = b - a, c - a
    d = v0[..., 0] * v1[..., 1] - v0[..., 1] * v1[..., 0]  # [f, 1..] twice the signed area
    px, py = x - a[..., 0], y - a[..., 1]
    ok = np.abs(d) > 1e-12
    dd = np.where(ok, d, 1.0)
    w1 = np.where(ok, (px * v1[..., 1] - py * v1[..., 0]) / dd, -1.0)
    w2 = np.where(ok, (v0[..., 0] * py - v0[..., 1] * px) / dd, -1.0)
    return np.stack([1.0 - w1 - w2, w1, w2], axis=-1)


def texel_faces_reference(atlas: UVAtlas, size: int | None = None) -> np.ndarray:
    """Slow reference of :func:`texel_faces`' coverage for small atlases: ``[S, S]`` bool, True where
    a texel centre lies in some face (a loop over faces and the texels of their bounding boxes)."""
    s = atlas.size if size is None else int(size)
    covered = np.zeros((s, s), bool)
    for fi in range(len(atlas.faces)):
        t = atlas.uv[atlas.faces[fi]].astype(np.float64) * s - 0.5
        for j in range(max(0, int(np.floor(t[:, 1].min()))), min(s, int(np.ceil(t[:, 1].max())) + 1)):
            for i in range(max(0, int(np.floor(t[:, 0].min()))), min(s, int(np.ceil(t[:, 0].max())) + 1)):
                (a, b, c) = t
                d = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
                if abs(d) <= 1e-12:
                    continue
                w1 = ((i - a[0]) * (c[1] - a[1]) - (j - a[1]) * (c[0] - a[0])) / d
                w2 = ((b[0] - a[0]) * (j - a[1]) - (b[1] - a[1]) * (i - a[0])) / d
                if min(w1, w2, 1.0 - w1 - w2) >= -1e-7:
                    covered[j, i] = True
    return covered


def texel_values(atlas: UVAtlas, values: np.ndarray, face: np.ndarray, bary: np.ndarray,
                 fill: float = 0.0) -> np.ndarray:
    """Interpolate per-atlas-vertex ``values [V', C]`` at the texels of :func:`texel_faces`:
    ``[S, S, C]`` float32, ``fill`` outside the charts. (Per-input-vertex values: carry them first.)"""
    vals = np.asarray(values, dtype=np.float32)
    if vals.ndim != 2 or len(vals) != atlas.num_vertices:
        raise ValueError(f"values have shape {vals.shape}, expected [{atlas.num_vertices}, C]")
    out = np.full(face.shape + (vals.shape[1],), fill, np.float32)
    m = face >= 0
    corners = vals[atlas.faces[face[m]]]  # [n, 3, C]
    out[m] = np.einsum("nk,nkc->nc", bary[m], corners)
    return out
