"""The three lookup baselines every learned renderer is measured against.

All take the references (:class:`~kyara.sheet.lookup.RefView`, any order) and a target UDP map
``[H, W, 4]`` and return premultiplied float32 RGBA ``[H, W, 4]``, alpha = the target's occupancy:

* **B0** :func:`b0` — the mean colour of every reference's foreground, on the target's mask.
* **B1** :func:`b1` — copy from the single best reference (the one that sees the most target
  pixels; ties: the smaller mean UDP distance) by nearest UDP; pixels it does not see are inpainted
  from the nearest pixel it does see.
* **B2** :func:`b2` — nearest-UDP lookup across all references: each reference's nearest
  foreground match (a k-d tree over its foreground UDP), blended by inverse UDP distance
  (:meth:`~kyara.sheet.lookup.Correspondence.weights`); target pixels no reference sees are
  inpainted from the nearest seen target pixel. A target pixel whose UDP appears exactly in a
  reference gets that reference pixel's colour, bit for bit.

The references are put in a canonical order first, so their order never changes an output.
"""

from __future__ import annotations

import numpy as np

from kyara.sheet.lookup import Correspondence, canonical, correspond, gather_colours

BASELINES = ("b0", "b1", "b2")


def _rgba(rgb: np.ndarray, occ: np.ndarray) -> np.ndarray:
    """Straight colour ``[H, W, 3]`` on occupancy ``[H, W]`` -> premultiplied float32 RGBA."""
    occ = occ.astype(np.float32)
    return np.concatenate([rgb.astype(np.float32) * occ[..., None], occ[..., None]], axis=-1)


def b0(views, target_udp: np.ndarray) -> np.ndarray:
    """Mean reference colour on the target mask."""
    from kyara.sheet.lookup import check_udp

    views = canonical(views)
    u = check_udp(target_udp, "target UDP")
    total = np.zeros(3, dtype=np.float64)
    count = 0
    for v in views:
        total += v.colour[v.fg].astype(np.float64).sum(axis=0)
        count += int(v.fg.sum())
    mean = (total / max(count, 1)).astype(np.float32)
    occ = u[..., 3] > 0.5
    return _rgba(np.broadcast_to(mean, (*occ.shape, 3)), occ)


def b1(views, target_udp: np.ndarray, corr: Correspondence | None = None) -> np.ndarray:
    """Nearest-UDP copy from the single best reference."""
    from scipy.ndimage import distance_transform_edt

    views = canonical(views)
    corr = corr if corr is not None else correspond(views, target_udp)
    occ = corr.occ > 0.5
    sees = (corr.dist <= corr.tau) & occ[None]  # [n, H, W]
    counts = sees.reshape(len(views), -1).sum(axis=1)
    mean_d = np.array([float(corr.dist[r][occ].mean()) if occ.any() else 0.0 for r in range(len(views))])
    best = min(range(len(views)), key=lambda r: (-int(counts[r]), mean_d[r], r))
    rgb = gather_colours(views, corr)[best]
    seen = sees[best]
    if seen.any() and not seen[occ].all():
        _, (iy, ix) = distance_transform_edt(~seen, return_indices=True)
        rgb = np.where((occ & ~seen)[..., None], rgb[iy, ix], rgb)
    return _rgba(rgb, occ)


def blend(colours: np.ndarray, corr: Correspondence) -> np.ndarray:
    """B2's colour ``[H, W, 3]`` float32 from each reference's match colour ``[n, H, W, 3]``:
    inverse-distance blend, then unseen pixels take the colour of the pixel ``corr.fill`` names."""
    w = corr.weights()
    rgb = np.einsum("nhw,nhwc->hwc", w, colours.astype(np.float64))
    h, wd = corr.occ.shape
    rgb = rgb.reshape(h * wd, 3)[corr.fill.reshape(-1)].reshape(h, wd, 3)
    return rgb.astype(np.float32)


def b2(views, target_udp: np.ndarray, corr: Correspondence | None = None) -> np.ndarray:
    """Nearest-UDP lookup across all references, inverse-distance blend, unseen pixels inpainted."""
    views = canonical(views)
    corr = corr if corr is not None else correspond(views, target_udp)
    return _rgba(blend(gather_colours(views, corr), corr), corr.occ > 0.5)


def run_baseline(method: str, views, target_udp: np.ndarray, corr: Correspondence | None = None) -> np.ndarray:
    """``method`` in :data:`BASELINES` -> premultiplied float32 RGBA ``[H, W, 4]``."""
    if method == "b0":
        return b0(views, target_udp)
    if method == "b1":
        return b1(views, target_udp, corr)
    if method == "b2":
        return b2(views, target_udp, corr)
    raise ValueError(f"baseline '{method}' is unknown, expected one of {', '.join(BASELINES)}")
