"""Texture <-> views as fixed sparse linear maps, and the weighted bake.

* **Project** (texture -> views): ``views = P @ texture`` with ``P [N*H*W, S*S]`` a
  ``scipy.sparse`` matrix fixed by the :class:`~kyara.paint.buffers.ViewBuffers`: each visible pixel
  samples the texture at its UV, bilinearly between the four nearest texel centres (clamped at the
  texture's border; ``sampling="nearest"`` takes the one nearest texel). Rows of background pixels
  are empty.
* **Bake** (views -> texture): the weighted transpose, normalised per texel,
  ``texture[t] = sum_q P[q, t] w[q] x[q] / sum_q P[q, t] w[q]`` with pixel weights
  ``w = visible * cosine ** p`` (SyncMVD's cos^p: ``p = 0`` is the plain average of everything that
  sees a texel, large ``p`` trusts the views that face the surface). Texels that no pixel reaches
  (or only pixels of weight 0) get weight 0 and value 0: "unseen".

With ``sampling="nearest"`` bake∘project is exactly the identity on seen texels; bilinear sampling
blends neighbouring texels, so there it is the identity on textures that are constant over every
pixel's 2x2 footprint and a slight blur otherwise. :func:`project_reference` and
:func:`bake_reference` are explicit loops over pixels, kept beside the sparse path for the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyara.paint.buffers import ViewBuffers

SAMPLINGS = ("bilinear", "nearest")


def _check_power(p: float) -> float:
    p = float(p)
    if not (np.isfinite(p) and 0.0 <= p <= 64.0):
        raise ValueError(f"cosine power {p} is out of range, expected 0..64")
    return p


def texel_taps(uv: np.ndarray, size: int, sampling: str = "bilinear") -> tuple[np.ndarray, np.ndarray]:
    """The texels a UV position reads and their weights: ``(index [M, K] int64 into the flattened
    [S*S] texture, weight [M, K] float64 summing to 1)`` with K = 4 (bilinear) or 1 (nearest)."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling {sampling!r} is unknown, expected one of {', '.join(SAMPLINGS)}")
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    x = uv[:, 0] * size - 0.5  # texel-centre units: texel i's centre is at x = i
    y = uv[:, 1] * size - 0.5
    if sampling == "nearest":
        i = np.clip(np.rint(x), 0, size - 1).astype(np.int64)
        j = np.clip(np.rint(y), 0, size - 1).astype(np.int64)
        return (j * size + i)[:, None], np.ones((len(uv), 1))
    i0, j0 = np.floor(x), np.floor(y)
    fx, fy = x - i0, y - j0
    i0, j0 = i0.astype(np.int64), j0.astype(np.int64)
    cols, rows, ws = [], [], []
    for dj, wy in ((0, 1.0 - fy), (1, fy)):
        for di, wx in ((0, 1.0 - fx), (1, fx)):
            cols.append(np.clip(i0 + di, 0, size - 1))
            rows.append(np.clip(j0 + dj, 0, size - 1))
            ws.append(wx * wy)
    return np.stack(rows, 1) * size + np.stack(cols, 1), np.stack(ws, 1)


@dataclass(frozen=True, eq=False)
class Bake:
    """A baked texture and how much each texel was seen."""

    texture: np.ndarray  # [S, S, C] float32, 0 where weight == 0
    weight: np.ndarray  # [S, S] float32 sum of pixel weights x sampling weights (0 = unseen)


class TextureViews:
    """The fixed linear maps between one ``[S, S, C]`` texture and N ``[H, W]`` views.

    Views are channels-last ``[N, H, W, C]`` here (the sampler transposes its ``[N, C, H, W]``
    latents); any number of channels, float arrays. Internally the maps are compact: ``matrix`` is
    ``[P, K]`` between the ``P`` visible pixels (``pixels``: flat indices into ``N*H*W``) and the
    ``K`` texels some of them read (``texels``: flat indices into ``S*S``), so a step costs
    ``O(P + K)``, not ``O(S^2)``; :meth:`project_texels` / :meth:`bake_texels` work in that space.
    """

    def __init__(self, buffers: ViewBuffers, size: int, sampling: str = "bilinear") -> None:
        from scipy import sparse

        from kyara.paint.uv import MAX_SIZE

        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
            raise ValueError(f"texture size {size!r} is out of range, expected an integer 1..{MAX_SIZE} texels")
        self.size = int(size)
        self.sampling = sampling
        self.shape = buffers.shape  # (N, H, W)
        self.visible = buffers.visible.reshape(-1)  # [N*H*W] bool
        self.pixels = np.flatnonzero(self.visible)  # [P]
        self.cosine = buffers.cosine.reshape(-1)[self.pixels].astype(np.float64)  # [P]
        idx, w = texel_taps(buffers.uv.reshape(-1, 2)[self.pixels], self.size, sampling)  # [P, k]
        self.texels, col = np.unique(idx.reshape(-1), return_inverse=True)  # [K], [P * k]
        k = idx.shape[1]
        self.matrix = sparse.csr_matrix((w.reshape(-1), (np.repeat(np.arange(len(self.pixels)), k), col)),
                                        shape=(len(self.pixels), len(self.texels)))  # [P, K]; duplicates summed
        self.matrix_t = self.matrix.T.tocsr()  # [K, P]

    @property
    def num_pixels(self) -> int:
        """``N * H * W``."""
        return int(np.prod(self.shape))

    # -- the compact space: visible pixels x texels that are read -------------------------------------
    def weights(self, power: float) -> np.ndarray:
        """Weights ``[P]`` float64 of the visible pixels: ``cosine ** power`` (1 at ``power = 0``)."""
        p = _check_power(power)
        return np.ones(len(self.pixels)) if p == 0.0 else self.cosine ** p

    def project_texels(self, texels: np.ndarray) -> np.ndarray:
        """Values ``[K, C]`` of :attr:`texels` -> values ``[P, C]`` of the visible pixels."""
        return np.asarray(self.matrix @ texels)

    def bake_texels(self, pixels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Visible pixels' values ``[P, C]`` with weights ``[P]`` -> ``(values [K, C], weight [K])``;
        texels of weight 0 get value 0."""
        den = self.matrix_t @ weights  # [K]
        num = np.asarray(self.matrix_t @ (pixels * weights[:, None]))  # [K, C]
        return np.divide(num, den[:, None], out=np.zeros_like(num), where=den[:, None] > 0), den

    def to_texture(self, texels: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Values ``[K, C]`` of :attr:`texels` -> a texture ``[S, S, C]`` float32 (``fill`` elsewhere)."""
        tex = np.full((self.size * self.size, texels.shape[-1]), fill, np.float32)
        tex[self.texels] = texels
        return tex.reshape(self.size, self.size, -1)

    # -- whole textures and views -------------------------------------------------------------------
    def project(self, texture: np.ndarray) -> np.ndarray:
        """Texture ``[S, S, C]`` -> views ``[N, H, W, C]`` float64 (0 on background pixels)."""
        t = self._texture(texture)
        c = t.shape[-1]
        out = np.zeros((self.num_pixels, c))
        out[self.pixels] = self.project_texels(t.reshape(-1, c)[self.texels])
        return out.reshape(self.shape + (c,))

    def bake(self, views: np.ndarray, power: float, pixel_weights: np.ndarray | None = None) -> Bake:
        """Views ``[N, H, W, C]`` -> :class:`Bake` with weights ``visible * cosine ** power`` (times
        ``pixel_weights [N, H, W]`` when given, e.g. 0 for views left out)."""
        x = self._views(views)
        w = self.weights(power)
        if pixel_weights is not None:
            pw = np.asarray(pixel_weights, dtype=np.float64)
            if pw.shape != self.shape or not np.all(np.isfinite(pw)) or pw.min() < 0:
                raise ValueError(f"pixel_weights have shape {pw.shape}, expected finite non-negative {self.shape}")
            w = w * pw.reshape(-1)[self.pixels]
        vals, den = self.bake_texels(x.reshape(self.num_pixels, -1)[self.pixels], w)
        weight = np.zeros(self.size * self.size, np.float32)
        weight[self.texels] = den
        return Bake(self.to_texture(vals), weight.reshape(self.size, self.size))

    def seen(self, power: float = 0.0) -> np.ndarray:
        """``[S, S]`` bool: texels with a positive bake weight at ``power``."""
        out = np.zeros(self.size * self.size, bool)
        out[self.texels] = self.matrix_t @ self.weights(power) > 0
        return out.reshape(self.size, self.size)

    def _texture(self, texture) -> np.ndarray:
        t = np.asarray(texture, dtype=np.float64)
        if t.ndim != 3 or t.shape[:2] != (self.size, self.size) or not np.all(np.isfinite(t)):
            raise ValueError(f"texture has shape {t.shape}, expected a finite [{self.size}, {self.size}, C] array")
        return t

    def _views(self, views) -> np.ndarray:
        x = np.asarray(views, dtype=np.float64)
        if x.ndim != 4 or x.shape[:3] != self.shape or not np.all(np.isfinite(x)):
            raise ValueError(f"views have shape {x.shape}, expected a finite {self.shape + ('C',)} array")
        return x


class FootprintViews(TextureViews):
    """Maps for latents: project with ``nearest`` sampling at latent size (a render of unit noise stays
    unit noise), bake every latent pixel into all the texels its footprint covers.

    A latent pixel of a 512 px view stands for an 8x8 block of pixels; projected alone at latent size
    it reads one texel, and two views rarely read the same one (a 64 px latent view reads ~1 % of the
    texels it faces in a 1024 texture), so a bake at latent size would hardly couple the views. Here
    the bake matrix is built from the ``full`` size buffers (same cameras, ``factor`` times the
    latent size): full-size pixel ``q`` sends its latent pixel's value to the nearest texel of its own
    UV (and the texel it reads itself), so views meet wherever they see the same surface.
    ``matrix`` (project) ``[P, K]`` and
    ``matrix_t`` (bake) ``[K, P]`` are then not transposes of each other; bake∘project is the
    identity only up to that footprint. Weights are the latent pixels' ``cosine ** p``.
    """

    def __init__(self, latent: ViewBuffers, full: ViewBuffers, size: int, factor: int = 8) -> None:
        from scipy import sparse

        super().__init__(latent, size, "nearest")
        n, h, w = latent.shape
        if full.shape != (n, h * factor, w * factor):
            raise ValueError(f"full-size buffers have shape {full.shape}, expected {(n, h * factor, w * factor)}")
        fk, fy, fx = np.nonzero(full.visible)  # full-size visible pixels
        parent = (fk * h + fy // factor) * w + fx // factor  # their latent pixel, flat into N*H*W
        row = np.full(self.num_pixels, -1, np.int64)
        row[self.pixels] = np.arange(len(self.pixels))
        col = row[parent]
        keep = col >= 0  # the latent pixel shows the mesh too
        tex, _ = texel_taps(full.uv[fk[keep], fy[keep], fx[keep]], self.size, "nearest")
        texels = np.union1d(self.texels, tex[:, 0])
        old = np.searchsorted(texels, self.texels)  # project's columns in the union
        self.matrix = sparse.csr_matrix((self.matrix.data, old[self.matrix.indices], self.matrix.indptr),
                                        shape=(len(self.pixels), len(texels)))
        self.texels = texels
        self.matrix_t = sparse.csr_matrix((np.ones(int(keep.sum())),
                                           (np.searchsorted(texels, tex[:, 0]), col[keep])),
                                          shape=(len(texels), len(self.pixels)))  # duplicates summed
        self.matrix_t = (self.matrix_t + self.matrix.T).tocsr()  # every texel a pixel reads gets its value back


def footprint_views(latent: ViewBuffers, full: ViewBuffers, size: int, factor: int = 8) -> FootprintViews:
    """See :class:`FootprintViews`."""
    return FootprintViews(latent, full, size, factor)


def texture_views(buffers: ViewBuffers, size: int, sampling: str = "bilinear") -> TextureViews:
    """The sparse maps between a ``size`` texture and the views of ``buffers`` (see the module docstring)."""
    return TextureViews(buffers, size, sampling)


def consistency(maps: TextureViews, views: np.ndarray, power: float = 6.0) -> tuple[float, int]:
    """Multi-view disagreement on shared texels: ``(rms, shared)``.

    Every view is baked alone (weights ``visible * cosine ** power``); on the ``shared`` texels that
    two or more views see, ``rms`` is the root mean square over texels and channels of the views'
    weighted spread around their joint bake, in the units of ``views``. 0 for views that are
    renders of one texture (up to bilinear blur); NaN when no texel is shared.
    """
    x = maps._views(views).reshape(maps.num_pixels, -1)[maps.pixels]  # [P, C]
    n = maps.shape[0]
    w = maps.weights(power)
    bounds = np.searchsorted(maps.pixels, np.arange(n + 1) * (maps.num_pixels // n))  # rows of each view
    nums, dens = [], []
    for i in range(n):
        sl = slice(bounds[i], bounds[i + 1])
        pt = maps.matrix_t[:, sl]  # [K, P_i]
        dens.append(pt @ w[sl])
        nums.append(np.asarray(pt @ (x[sl] * w[sl, None])))
    den = np.stack(dens)  # [N, K]
    num = np.stack(nums)  # [N, K, C]
    shared = (den > 0).sum(axis=0) >= 2
    if not shared.any():
        return float("nan"), 0
    d, nm = den[:, shared], num[:, shared]
    per_view = np.divide(nm, d[..., None], out=np.zeros_like(nm), where=d[..., None] > 0)
    mean = nm.sum(axis=0) / d.sum(axis=0)[:, None]  # [T, C]
    spread = (d[..., None] * (per_view - mean) ** 2).sum(axis=0) / d.sum(axis=0)[:, None]  # [T, C]
    return float(np.sqrt(spread.mean())), int(shared.sum())


def coverage(maps: TextureViews, chart_texels: np.ndarray) -> float:
    """Share of the chart texels (``[S, S]`` bool, e.g. ``texel_faces(atlas)[0] >= 0``) that some
    view sees (bake weight > 0 at power 0)."""
    m = np.asarray(chart_texels, bool)
    if m.shape != (maps.size, maps.size):
        raise ValueError(f"chart_texels have shape {m.shape}, expected ({maps.size}, {maps.size})")
    return float((maps.seen(0.0) & m).sum() / max(int(m.sum()), 1))


# -- slow references (explicit loops over pixels) --------------------------------------------------
def _taps_reference(u: float, v: float, size: int, sampling: str) -> list[tuple[int, int, float]]:
    x, y = u * size - 0.5, v * size - 0.5
    if sampling == "nearest":
        return [(min(max(int(np.rint(y)), 0), size - 1), min(max(int(np.rint(x)), 0), size - 1), 1.0)]
    i0, j0 = int(np.floor(x)), int(np.floor(y))
    fx, fy = x - i0, y - j0
    taps = []
    for j, wy in ((j0, 1.0 - fy), (j0 + 1, fy)):
        for i, wx in ((i0, 1.0 - fx), (i0 + 1, fx)):
            taps.append((min(max(j, 0), size - 1), min(max(i, 0), size - 1), wx * wy))
    return taps


def project_reference(buffers: ViewBuffers, texture: np.ndarray, sampling: str = "bilinear") -> np.ndarray:
    """Slow reference of :meth:`TextureViews.project`: a loop over pixels and their taps."""
    tex = np.asarray(texture, dtype=np.float64)
    size = tex.shape[0]
    n, h, w = buffers.shape
    out = np.zeros((n, h, w, tex.shape[-1]))
    for k in range(n):
        for y in range(h):
            for x in range(w):
                if buffers.visible[k, y, x]:
                    u, v = buffers.uv[k, y, x]
                    for j, i, wt in _taps_reference(float(u), float(v), size, sampling):
                        out[k, y, x] += wt * tex[j, i]
    return out


def footprint_bake_reference(latent: ViewBuffers, full: ViewBuffers, views: np.ndarray, size: int, power: float,
                             factor: int = 8) -> Bake:
    """Slow reference of :meth:`FootprintViews.bake`: every visible latent pixel adds its value to the
    texel it reads (nearest), and once more for each visible full-size pixel of its block, to that
    pixel's nearest texel; weights ``cosine ** power`` of the latent pixel."""
    x = np.asarray(views, dtype=np.float64)
    num = np.zeros((size, size, x.shape[-1]))
    den = np.zeros((size, size))
    n, h, w = latent.shape
    for k in range(n):
        for y in range(h):
            for xx in range(w):
                if not latent.visible[k, y, xx]:
                    continue
                c = float(latent.cosine[k, y, xx])
                pw = 1.0 if power == 0 else c ** power
                taps = [_taps_reference(*map(float, latent.uv[k, y, xx]), size, "nearest")[0]]
                for fy in range(y * factor, (y + 1) * factor):
                    for fx in range(xx * factor, (xx + 1) * factor):
                        if full.visible[k, fy, fx]:
                            taps.append(_taps_reference(*map(float, full.uv[k, fy, fx]), size, "nearest")[0])
                for j, i, _ in taps:
                    num[j, i] += pw * x[k, y, xx]
                    den[j, i] += pw
    tex = np.where(den[..., None] > 0, num / np.where(den > 0, den, 1.0)[..., None], 0.0)
    return Bake(tex.astype(np.float32), den.astype(np.float32))


def bake_reference(buffers: ViewBuffers, views: np.ndarray, size: int, power: float,
                   sampling: str = "bilinear") -> Bake:
    """Slow reference of :meth:`TextureViews.bake`: per-texel sums accumulated pixel by pixel."""
    x = np.asarray(views, dtype=np.float64)
    num = np.zeros((size, size, x.shape[-1]))
    den = np.zeros((size, size))
    n, h, w = buffers.shape
    for k in range(n):
        for y in range(h):
            for xx in range(w):
                if not buffers.visible[k, y, xx]:
                    continue
                c = float(buffers.cosine[k, y, xx])
                pw = 1.0 if power == 0 else c ** power
                u, v = buffers.uv[k, y, xx]
                for j, i, wt in _taps_reference(float(u), float(v), size, sampling):
                    num[j, i] += wt * pw * x[k, y, xx]
                    den[j, i] += wt * pw
    tex = np.where(den[..., None] > 0, num / np.where(den > 0, den, 1.0)[..., None], 0.0)
    return Bake(tex.astype(np.float32), den.astype(np.float32))
