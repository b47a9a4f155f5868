"""Per-vertex colours baked into one small colour atlas, so that MToon viewers show them.

MToon viewers (three-vrm, UniVRM apps) ignore glTF vertex colours (``COLOR_0``); they read the
base colour and shade textures. A part whose colour varies across faces (iris gradient, hair
shine, eyelash line) gets ``TEXCOORD_0`` into a shared atlas instead, built so that the colour a
viewer interpolates inside every face is the one the preview interpolates (linearly, between the
vertex colours) — without splitting a single vertex, so closed meshes stay closed and morphs,
skins and vertex counts are untouched:

* the part's faces fall into connected components; a component of one colour maps every vertex
  to the middle of a 2x2 block of that colour (any bilinear sample there is exact);
* a component whose colours vary becomes a *strip*: its distinct ``(base, shade)`` values are
  ordered along their principal axis and laid along a row of texels at distances proportional
  to the path length between them, with linear ramps in between. Each value sits on a texel
  centre, so a bilinear sample at a vertex returns its colour exactly (up to 8 bits), and a face
  whose colours lie along the path (a gradient, the usual case) is interpolated exactly inside.
  :func:`strip_error` measures what is left (a face whose three colours do not lie on the path).

The sampler is ``LINEAR`` without mipmaps and ``CLAMP_TO_EDGE``: samples never reach a
neighbouring chart. Textures are written as PNG by :func:`png_bytes` (zlib, no imaging library).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

ATLAS_WIDTH = 256  # texels (wider, a power of two, when a strip needs it)
MAX_STRIP = 4094  # texel positions in one strip (plus a 1-texel margin on both ends)
STRIP_ROWS = 3  # the value row plus one copy above and below
LEVELS_PER_UNIT = 255.0  # strip resolution: about one texel per 8-bit step of path length


@dataclass
class Chart:
    """One placed piece of the atlas: ``values [h, w, 6]`` (base sRGB, shade sRGB) and the texel
    coordinates ``[K, 2]`` (x, y, in texels from the chart's top-left corner) of its K values."""

    values: np.ndarray
    coords: np.ndarray
    origin: tuple[int, int] = (0, 0)  # (x, y) texel offset in the atlas, set by the packer


@dataclass
class ColourAtlas:
    """The avatar's colour textures and, per part, its UVs (``None``: untextured part)."""

    base: np.ndarray  # [H, W, 3] uint8 sRGB (baseColorTexture / _MainTex)
    shade: np.ndarray  # [H, W, 3] uint8 sRGB (MToon shadeMultiplyTexture / _ShadeTexture)
    uvs: list[np.ndarray | None] = field(default_factory=list)  # per part [V, 2] float32, glTF UVs

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
    pos = np.round(path / max(path[-1], 1e-12) * (n - 1)).astype(np.int64)
    for i in range(1, k):  # every value on a texel of its own, in order
        pos[i] = max(pos[i], pos[i - 1] + 1)
    if pos[-1] >= MAX_STRIP:
        raise ValueError(f"a colour ramp has {k} distinct colours, more than the {MAX_STRIP} a strip holds")
    n = int(pos[-1]) + 1
    row = np.stack([np.interp(np.arange(n), pos, xs[:, c]) for c in range(6)], axis=1)  # [n, 6]
    row = np.concatenate([row[:1], row, row[-1:]])  # clamp margin on both ends
    coords = np.zeros((k, 2))
    coords[order, 0] = pos + 1.5
    coords[:, 1] = STRIP_ROWS / 2.0
    return Chart(np.broadcast_to(row, (STRIP_ROWS, n + 2, 6)).copy(), coords)


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
    placed: list[tuple[int, np.ndarray, np.ndarray, np.ndarray] | None] = []  # (part, vertices, chart ids, value ids)
    for p, item in enumerate(parts):
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
            key = uniq.tobytes()
            if key not in by_key:
                by_key[key] = len(charts)
                charts.append(flat_chart(uniq[0]) if len(uniq) == 1 else strip_chart(uniq))
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
    return ColourAtlas(base_img, shade_img, uvs)


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


def strip_error(atlas: ColourAtlas, part: int, base: np.ndarray, faces: np.ndarray) -> tuple[float, float]:
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
