"""The anime finish of a painted texture: flat colours per material island, no holes.

:func:`anime_finish` takes the final RGB bake (:func:`kyara.paint.backend.paint_texture`) and

1. finds the **material islands**: every texel inside a chart belongs to the part (material) of the
   face under it (:func:`island_map`; charts never mix parts, so a part's charts form its island);
2. snaps each island's seen colours to a palette of at most ``palette`` colours (:func:`kmeans`:
   weighted k-means on the island's distinct 8-bit colours, deterministic farthest-point start), the
   cel look of flat fills;
3. **lighting-free albedo (approximation)**: the generated views carry whatever light the model
   painted, and kyara's own cel shading is not in them (the conditions have no shading), so there is
   nothing exact to divide out. What is done instead: a palette colour that is a darker copy of a
   brighter colour of the same island (chromaticity within ``shade_chroma``, value ratio in
   ``shade_ratio``) is taken for a painted cel shadow and replaced by the lit colour, so the
   renderer's (and MToon's) own shading is not applied twice;
4. fills every unseen texel of an island from the nearest seen texel of the same island (exact
   Euclidean distance transform in texel space); an island no view saw takes its part's material
   colour (never black holes);
5. pads the gutters around the charts with the nearest chart texel's colour, so bilinear sampling
   and mipmaps never bleed the background into a chart's border.

The toon outlines are the renderer's and MToon's (they come on top at render time, not in the
texture). :func:`fill_reference` is a brute-force loop kept beside the distance transform for tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FinishConfig:
    """Knobs of :func:`anime_finish`."""

    palette: int = 8  # colours per island at most; 0 = keep the painted colours (fill only)
    albedo: bool = True  # merge painted cel shadows into their lit colour (module docstring, step 3)
    shade_chroma: float = 0.04  # max difference of chromaticity r/(r+g+b), g/(r+g+b) for "the same colour"
    shade_ratio: tuple[float, float] = (0.5, 0.9)  # value(dark) / value(lit) of a painted shadow
    iterations: int = 12  # k-means iterations

    def __post_init__(self) -> None:
        if isinstance(self.palette, bool) or not isinstance(self.palette, (int, np.integer)) \
                or not 0 <= self.palette <= 64:
            raise ValueError(f"palette {self.palette!r} is out of range, expected an integer 0..64 colours")
        lo, hi = self.shade_ratio
        if not 0.0 < lo <= hi < 1.0:
            raise ValueError(f"shade_ratio {self.shade_ratio} is not a range within (0, 1)")


@dataclass(frozen=True, eq=False)
class Finished:
    texture: np.ndarray  # [S, S, 3] uint8 sRGB
    island: np.ndarray  # [S, S] int32 part id of each texel, -1 outside the charts
    palettes: dict  # part id -> [k, 3] uint8 colours used by that island
    filled: int  # island texels that no view saw and were filled


def island_map(atlas, part_id: np.ndarray, size: int | None = None) -> np.ndarray:
    """``[S, S]`` int32: the part (``part_id [V]`` per INPUT vertex) of the face under each texel,
    -1 outside the charts."""
    from kyara.paint.uv import texel_faces

    face, _ = texel_faces(atlas, size)
    pid = np.asarray(part_id)
    if pid.shape != (atlas.num_input_vertices,):
        raise ValueError(f"part_id has shape {pid.shape}, expected [{atlas.num_input_vertices}]")
    out = np.full(face.shape, -1, np.int32)
    m = face >= 0
    out[m] = pid[atlas.input_faces[face[m], 0]]
    return out


def kmeans(colours: np.ndarray, weights: np.ndarray, k: int, iterations: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means of ``colours [M, 3]`` (float) with ``weights [M]``: ``(centres [k', 3],
    label [M])``, ``k' = min(k, M)``. Deterministic: the first centre is the heaviest colour, each
    next one the colour farthest from the centres so far."""
    x = np.asarray(colours, np.float64)
    w = np.asarray(weights, np.float64)
    k = int(min(k, len(x)))
    if k <= 0:
        return np.zeros((0, 3)), np.zeros(len(x), np.int64)
    centres = [x[int(np.argmax(w))]]
    d = np.sum((x - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        if d.max() <= 0:
            break
        centres.append(x[int(np.argmax(d))])
        d = np.minimum(d, np.sum((x - centres[-1]) ** 2, axis=1))
    c = np.stack(centres)
    label = np.zeros(len(x), np.int64)
    for _ in range(iterations):
        label = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        sums = np.zeros_like(c)
        np.add.at(sums, label, x * w[:, None])
        tot = np.bincount(label, weights=w, minlength=len(c))
        keep = tot > 0
        new = c.copy()
        new[keep] = sums[keep] / tot[keep, None]
        if np.allclose(new, c):
            break
        c = new
    label = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    return c, label


def _merge_shadows(palette: np.ndarray, counts: np.ndarray, cfg: FinishConfig) -> np.ndarray:
    """Index ``[k]`` of the colour each palette colour becomes: a darker copy of a brighter colour
    (same chromaticity, value ratio in ``cfg.shade_ratio``) maps to that colour (the most used one
    when several qualify)."""
    p = palette.astype(np.float64) + 1.0
    s = p.sum(axis=1)
    chroma = p[:, :2] / s[:, None]
    value = p.max(axis=1)
    to = np.arange(len(p))
    for a in np.argsort(value):  # darkest first
        best = -1
        for b in range(len(p)):
            ratio = value[a] / value[b]
            if b != a and cfg.shade_ratio[0] <= ratio <= cfg.shade_ratio[1] \
                    and np.abs(chroma[a] - chroma[b]).max() <= cfg.shade_chroma \
                    and (best < 0 or counts[b] > counts[best]):
                best = b
        if best >= 0:
            to[a] = best
    for _ in range(len(p)):  # follow chains dark -> mid -> lit
        to = to[to]
    return to


def _nearest_fill(values: np.ndarray, known: np.ndarray, target: np.ndarray) -> None:
    """In place: every ``target`` texel of ``values [h, w, 3]`` takes the value of the nearest ``known``
    texel (exact Euclidean distance transform)."""
    from scipy import ndimage

    if not known.any() or not target.any():
        return
    _, (ii, jj) = ndimage.distance_transform_edt(~known, return_indices=True)
    values[target] = values[ii[target], jj[target]]


def fill_reference(values: np.ndarray, known: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Slow reference of the fill: for every target texel a loop over all known texels, the nearest
    (ties: the first in row-major order) gives the value. Returns a copy."""
    out = values.copy()
    kj, ki = np.nonzero(known)
    for j, i in zip(*np.nonzero(target)):
        d = (kj - j) ** 2 + (ki - i) ** 2
        best = np.flatnonzero(d == d.min())
        out[j, i] = values[kj[best[0]], ki[best[0]]]
    return out


def anime_finish(texture: np.ndarray, weight: np.ndarray, island: np.ndarray, fallback: dict,
                 config: FinishConfig | None = None) -> Finished:
    """Finish ``texture [S, S, 3]`` (floats in [0, 1], sRGB) baked with ``weight [S, S]`` (0 = unseen)
    over the material islands ``island [S, S]`` (:func:`island_map`); ``fallback[part]`` is the sRGB
    colour (floats, [0, 1]) of an island no view saw. See the module docstring."""
    cfg = config or FinishConfig()
    tex = np.asarray(texture, np.float64)
    wt = np.asarray(weight, np.float64)
    isl = np.asarray(island)
    s = tex.shape[0]
    if tex.ndim != 3 or tex.shape != (s, s, 3) or wt.shape != (s, s) or isl.shape != (s, s):
        raise ValueError(f"texture {tex.shape}, weight {wt.shape} and island {isl.shape} do not match, "
                         "expected [S, S, 3], [S, S], [S, S]")
    out = np.clip(np.round(tex * 255.0), 0, 255).astype(np.uint8)
    seen = (wt > 0) & (isl >= 0)
    palettes: dict = {}
    filled = 0
    for part in np.unique(isl[isl >= 0]):
        mine = isl == part
        rows, cols = np.nonzero(mine)
        box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        sub, m, sn = out[box], mine[box], seen[box] & mine[box]
        if not sn.any():
            rgb = np.asarray(fallback.get(int(part), (0.5, 0.5, 0.5)), np.float64)
            sub[m] = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
            palettes[int(part)] = sub[m][:1]
            filled += int(m.sum())
            continue
        if cfg.palette > 0:
            cols_, inv, counts = np.unique(sub[sn].reshape(-1, 3), axis=0, return_inverse=True, return_counts=True)
            centres, label = kmeans(cols_, counts, cfg.palette, cfg.iterations)
            pal = np.clip(np.round(centres), 0, 255).astype(np.uint8)
            use = np.bincount(label, weights=counts, minlength=len(pal))
            if cfg.albedo and len(pal) > 1:
                to = _merge_shadows(pal, use, cfg)
                label = to[label]
            sub[sn] = pal[label[inv.reshape(-1)]]
            palettes[int(part)] = np.unique(pal[np.unique(label)], axis=0)
        else:
            palettes[int(part)] = np.unique(sub[sn], axis=0)
        hole = m & ~sn
        filled += int(hole.sum())
        _nearest_fill(sub, sn, hole)
    inside = isl >= 0
    _nearest_fill(out, inside, ~inside)  # gutters take the nearest chart texel
    return Finished(out, isl.astype(np.int32), palettes, filled)
