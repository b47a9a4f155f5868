"""Per-vertex colours baked into one small colour atlas, so that MToon viewers show them.

MToon viewers (three-vrm, UniVRM apps) ignore glTF vertex colours (``COLOR_0``); they read the
base colour and shade textures. A part whose colour varies across faces (iris gradient, hair
shine, eyelash line) gets ``TEXCOORD_0`` into a shared atlas instead, built so that the colour a
viewer interpolates inside every face is the one the preview interpolates (linearly, between the
vertex colours) — without splitting a single vertex, so closed meshes stay closed and morphs,
skins and vertex counts are untouched:

* the part's faces fall into connected components; a component of one colour maps every vertex
  to the middle of a 2x2 block of that colour (any bilinear sample there is exact);
* a component whose colours lie on a plane (a 2-D gradient such as the iris: dark top, light
  crescent, darker rim) gets a rectangle whose texels hold that affine function: any bilinear
  sample equals the linear interpolation of the vertex colours, so every face is exact inside;
* other components whose colours vary become a *strip*: their distinct ``(base, shade)`` values are
  ordered along their principal axis and laid along a row of texels at distances proportional
  to the path length between them, with linear ramps in between. Each value sits on a texel
  centre, so a bilinear sample at a vertex returns its colour exactly (up to 8 bits), and a face
  whose colours lie along the path (a gradient, the usual case) is interpolated exactly inside.
  :func:`atlas_error` measures what is left (a face whose three colours do not lie on the path).
  A component with more distinct colours than a strip holds (a texture sampled per vertex) is
  reduced to fewer levels per channel first (:attr:`ColourAtlas.levels`).

The sampler is ``LINEAR`` without mipmaps and ``CLAMP_TO_EDGE``: samples never reach a
neighbouring chart. Textures are written as PNG by :func:`png_bytes` (zlib, no imaging library).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

ATLAS_WIDTH = 256  # texels (wider, a power of two, when a strip needs it)
MAX_STRIP = 2046  # texel positions in one strip (plus a 1-texel margin on both ends): atlas <= 2048 wide
STRIP_ROWS = 3  # the value row plus one copy above and below
LEVELS_PER_UNIT = 255.0  # strip resolution: about one texel per 8-bit step of path length
PLANE_STEP = 4.0  # plane charts: about one texel per 4 8-bit steps (exact anyway: the texels are affine)
MAX_PLANE = 254  # texels along one side of a plane chart
ON_SURFACE = 1.0 / 255.0  # largest offset of a value from a line / plane that still counts as on it


@dataclass
class Chart:
    """One placed piece of the atlas: ``values [h, w, 6]`` (base sRGB, shade sRGB) and the texel
    coordinates ``[K, 2]`` (x, y, in texels from the chart's top-left corner) of its K values."""

    values: np.ndarray
    coords: np.ndarray
    origin: tuple[int, int] = (0, 0)  # (x, y) texel offset in the atlas, set by the packer


@dataclass
class ColourAtlas:
    """The avatar's colour textures and, per part, its UVs (``None``: untextured part) and the
    coarser colour levels a part had to be reduced to (255 = none: every colour kept to 8 bits)."""

    base: np.ndarray  # [H, W, 3] uint8 sRGB (baseColorTexture / _MainTex)
    shade: np.ndarray  # [H, W, 3] uint8 sRGB (MToon shadeMultiplyTexture / _ShadeTexture)
    uvs: list[np.ndarray | None] = field(default_factory=list)  # per part [V, 2] float32, glTF UVs
    levels: list[int] = field(default_factory=list)  # per part, levels per channel kept (255 = all)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.base.shape[1]), int(self.base.shape[0])


def face_components(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """Label ``[V]`` of the connected component (through shared vertices) of every vertex."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    g = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(num_vertices, num_vertices))
    return connected_components(g, directed=False)[1]


def flat_chart(value: np.ndarray) -> Chart:
    """A 2x2 block of one value; its sample point is the block's centre."""
    return Chart(np.broadcast_to(np.asarray(value, np.float64), (2, 2, 6)).copy(), np.array([[1.0, 1.0]]))


def strip_chart(values: np.ndarray) -> Chart:
    """A strip through the distinct ``values [K, 6]`` (K >= 2), see the module docstring."""
    x = np.asarray(values, dtype=np.float64)
    centred = x - x.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    order = np.lexsort(tuple(x[:, c] for c in range(5, -1, -1)) + (centred @ axis,))
    xs = x[order]
    steps = np.linalg.norm(np.diff(xs, axis=0), axis=1)
    path = np.concatenate([[0.0], np.cumsum(steps)])
    k = len(xs)
    n = int(np.clip(np.ceil(path[-1] * LEVELS_PER_UNIT), k, MAX_STRIP))
    if k > MAX_STRIP:
        raise ValueError(f"a colour ramp has {k} distinct colours, more than the {MAX_STRIP} a strip holds")
    pos = np.round(path / max(path[-1], 1e-12) * (n - 1)).astype(np.int64)
    ranks = np.arange(k)
    pos = np.maximum.accumulate(pos - ranks) + ranks  # every value on a texel of its own, in order
    if pos[-1] >= MAX_STRIP:  # crowded: one texel per value
        pos = ranks
    n = int(pos[-1]) + 1
    row = np.stack([np.interp(np.arange(n), pos, xs[:, c]) for c in range(6)], axis=1)  # [n, 6]
    row = np.concatenate([row[:1], row, row[-1:]])  # clamp margin on both ends
    coords = np.zeros((k, 2))
    coords[order, 0] = pos + 1.5
    coords[:, 1] = STRIP_ROWS / 2.0
    return Chart(np.broadcast_to(row, (STRIP_ROWS, n + 2, 6)).copy(), coords)


def plane_chart(values: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> Chart:
    """A rectangle over the distinct ``values [K, 6]`` that lie on the plane ``mean + a axes[0] +
    b axes[1]``: every texel holds that affine function of its ``(a, b)``, so a bilinear sample
    anywhere inside equals the linear interpolation of the vertex values (exact inside every face)."""
    ab = (np.asarray(values, np.float64) - mean) @ axes.T  # [K, 2]
    lo, hi = ab.min(axis=0), ab.max(axis=0)
    n = np.clip(np.ceil((hi - lo) * LEVELS_PER_UNIT / PLANE_STEP).astype(np.int64) + 1, 2, MAX_PLANE)  # texels
    step = (hi - lo) / (n - 1)
    grid = [lo[i] + (np.arange(n[i] + 2) - 1) * step[i] for i in range(2)]  # texel centres, 1-texel margin
    a, b = np.meshgrid(grid[0], grid[1], indexing="xy")  # [h, w]
    texels = mean + a[..., None] * axes[0] + b[..., None] * axes[1]
    coords = 1.5 + (ab - lo) / step  # texel coordinates of each value
    return Chart(texels, coords)


def chart_for(values: np.ndarray) -> Chart:
    """The chart of a component's distinct ``values [K, 6]``: a 2x2 block for one value, a strip
    when they lie on a line (or a path, module docstring), a plane chart when they lie on a plane
    (a 2-D gradient); a strip again otherwise (exact at the vertices only)."""
    x = np.asarray(values, np.float64)
    if len(x) == 1:
        return flat_chart(x[0])
    mean = x.mean(axis=0)
    c = x - mean
    axes = np.linalg.svd(c, full_matrices=False)[2]
    off_line = np.abs(c - np.outer(c @ axes[0], axes[0])).max()
    if off_line <= ON_SURFACE or len(x) < 3:
        return strip_chart(x)
    off_plane = np.abs(c - (c @ axes[:2].T) @ axes[:2]).max()
    if off_plane <= ON_SURFACE:
        return plane_chart(x, mean, axes[:2])
    return strip_chart(x)


def pack(charts: list[Chart], width: int = ATLAS_WIDTH) -> tuple[int, int]:
    """Shelf-pack ``charts`` (sets each ``origin``); returns the atlas (width, height), both powers
    of two (``width`` doubled until the widest chart fits)."""
    order = sorted(range(len(charts)), key=lambda i: (-charts[i].values.shape[0], -charts[i].values.shape[1]))
    widest = max((c.values.shape[1] for c in charts), default=0)
    while width < widest:
        width *= 2
    x = y = shelf = 0
    for i in order:
        h, w = charts[i].values.shape[:2]
        if x + w > width:
            x, y, shelf = 0, y + shelf, 0
        charts[i].origin = (x, y)
        x += w
        shelf = max(shelf, h)
    height = 4
    while height < y + shelf:
        height *= 2
    return width, height


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def build_atlas(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]) -> ColourAtlas | None:
    """``parts``: per part ``(base [V, 3], shade [V, 3], faces [F, 3])`` sRGB in [0, 1], or ``None``
    for a part that needs no texture. Returns the atlas (``None`` if no part needs one)."""
    charts: list[Chart] = []
    by_key: dict[bytes, int] = {}
    levels: list[int] = []
    placed: list[tuple[int, np.ndarray, np.ndarray, np.ndarray] | None] = []  # (part, vertices, chart ids, value ids)
    for p, item in enumerate(parts):
        levels.append(255)
        if item is None:
            placed.append(None)
            continue
        base, shade, faces = item
        vals = np.concatenate([np.asarray(base, np.float64), np.asarray(shade, np.float64)], axis=1)
        vals = np.round(np.clip(vals, 0.0, 1.0) * 255.0) / 255.0  # the 8 bits a texel keeps
        comp = face_components(faces, len(vals))
        chart_of = np.zeros(len(vals), np.int64)
        value_of = np.zeros(len(vals), np.int64)
        for c in np.unique(comp):
            idx = np.flatnonzero(comp == c)
            uniq, inv = np.unique(vals[idx], axis=0, return_inverse=True)
            level = 255
            while len(uniq) > MAX_STRIP:  # noisy colours (a texture sampled per vertex): fewer levels
                level //= 2
                levels[-1] = min(levels[-1], level)
                uniq, inv = np.unique(np.round(vals[idx] * level) / level, axis=0, return_inverse=True)
            key = uniq.tobytes()
            if key not in by_key:
                by_key[key] = len(charts)
                charts.append(chart_for(uniq))
            chart_of[idx] = by_key[key]
            value_of[idx] = inv.reshape(-1)
        placed.append((p, np.arange(len(vals)), chart_of, value_of))
    if not charts:
        return None
    w, h = pack(charts)
    base_img = np.zeros((h, w, 3), np.uint8)
    shade_img = np.zeros((h, w, 3), np.uint8)
    for ch in charts:
        x0, y0 = ch.origin
        hh, ww = ch.values.shape[:2]
        base_img[y0:y0 + hh, x0:x0 + ww] = to_uint8(ch.values[..., :3])
        shade_img[y0:y0 + hh, x0:x0 + ww] = to_uint8(ch.values[..., 3:])
    uvs: list[np.ndarray | None] = []
    for item in placed:
        if item is None:
            uvs.append(None)
            continue
        _, verts, chart_of, value_of = item
        texel = np.zeros((len(verts), 2))
        for ci in np.unique(chart_of):
            sel = chart_of == ci
            texel[sel] = charts[ci].coords[value_of[sel]] + np.asarray(charts[ci].origin, np.float64)
        uvs.append((texel / np.array([w, h], np.float64)).astype(np.float32))
    return ColourAtlas(base_img, shade_img, uvs, levels)


def sample_bilinear(img: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """What a ``LINEAR``/``CLAMP_TO_EDGE`` sampler returns at glTF ``uv [N, 2]`` from ``img [H, W, C]``
    uint8, as floats in [0, 1] (filtered in the stored encoding)."""
    h, w = img.shape[:2]
    x = np.asarray(uv, np.float64)[:, 0] * w - 0.5
    y = np.asarray(uv, np.float64)[:, 1] * h - 0.5
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    im = img.astype(np.float64) / 255.0

    def at(yy, xx):
        return im[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def atlas_error(atlas: ColourAtlas, part: int, base: np.ndarray, faces: np.ndarray) -> tuple[float, float]:
    """(largest error at a vertex, largest error at a face centroid) of part ``part``'s base colour
    as the atlas gives it, against the vertex colours and their linear interpolation (sRGB units)."""
    uv = atlas.uvs[part]
    at_v = sample_bilinear(atlas.base, uv)
    f = np.asarray(faces, np.int64)
    at_c = sample_bilinear(atlas.base, uv[f].mean(axis=1))
    want_c = np.asarray(base, np.float64)[f].mean(axis=1)
    return float(np.abs(at_v - base).max(initial=0.0)), float(np.abs(at_c - want_c).max(initial=0.0))


def png_bytes(img: np.ndarray) -> bytes:
    """``img [H, W, 3|4] uint8`` as PNG bytes (8-bit RGB/RGBA, no filter, zlib level 9)."""
    a = np.ascontiguousarray(img, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"image has shape {a.shape}, expected [H, W, 3] or [H, W, 4]")
    h, w, c = a.shape
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2 if c == 3 else 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


@dataclass
class PaintedSkin:
    """A painted texture for a character whose parts were split along UV seams
    (:func:`kyara.paint.avatar.painted_character`): the exporters draw every part with ``uvs[k]``
    from ``base`` (``baseColorTexture``) and ``shade`` (MToon ``shadeMultiplyTexture``) instead of its
    colours; parts with ``uvs[k] is None`` (see-through lenses) keep their own colours."""

    base: np.ndarray  # [S, S, 3] uint8 sRGB
    shade: np.ndarray  # [S, S, 3] uint8 sRGB
    uvs: list  # per part [V_k, 2] float32 glTF UVs, or None
    normals: list  # per part [V_k, 3] float32 normals of the unsplit mesh (no seams in the shading), or None

    def check(self, character) -> "PaintedSkin":
        """Raise ``ValueError`` unless the skin fits ``character`` part by part."""
        if len(self.uvs) != len(character.parts) or len(self.normals) != len(character.parts):
            raise ValueError(f"painted skin has {len(self.uvs)} parts, the character {len(character.parts)}")
        for name, tex in (("base", self.base), ("shade", self.shade)):
            if tex.dtype != np.uint8 or tex.ndim != 3 or tex.shape[2] != 3:
                raise ValueError(f"painted {name} texture has shape {tex.shape} {tex.dtype}, expected [H, W, 3] uint8")
        for p, uv, n in zip(character.parts, self.uvs, self.normals):
            v = len(p.vertices)
            if uv is not None and (np.shape(uv) != (v, 2) or not np.all(np.isfinite(uv))):
                raise ValueError(f"part '{p.name}' has {v} vertices but painted UVs of shape {np.shape(uv)}")
            if n is not None and np.shape(n) != (v, 3):
                raise ValueError(f"part '{p.name}' has {v} vertices but painted normals of shape {np.shape(n)}")
        return self
