"""Nearest-UDP correspondences between a target UDP map and the references of a sheet.

A reference is a view of the character with its UDP (CoNR's format: per pixel the A-pose xyz of
the visible surface in [0, 1], plus occupancy). The same surface point has the same UDP in every
view, so a target pixel finds its colour by looking its UDP up among the references' foreground
pixels. :func:`correspond` does the lookup once per (sheet, target) and returns everything the
baselines (:mod:`kyara.sheet.baselines`) and the learned renderer (:mod:`kyara.sheet.model`) need:

* per reference ``r`` and target pixel ``p``: the pixel of ``r`` whose UDP is nearest to ``p``'s
  (a k-d tree, :class:`scipy.spatial.cKDTree`, over each reference's foreground UDP) and the UDP
  distance ``d_r(p)``;
* the blend weights ``w_r(p) = (d_r + eps)^-power / sum_r' (d_r' + eps)^-power`` (inverse-distance
  weighting over the references; the model starts from the same weights as logits
  ``-power * log(d_r + eps)``);
* ``seen``: target foreground pixels whose nearest match in any reference lies within ``tau``
  (the references' own pixel spacing in UDP, x :data:`SEEN_SPACINGS`, at least :data:`MIN_TAU`);
* ``fill``: for each pixel the pixel whose colour it takes: itself when seen, else the nearest seen
  target pixel (Euclidean distance transform) — the inpainting of unseen pixels.

Reference order: a sheet is put in a canonical order (by a digest of each view's bytes) before any
lookup, so the order the user gives them in never changes a result, bit for bit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

POWER = 2.0  # inverse-distance weighting exponent
EPS = 1e-6  # UDP distance added before weighting (an exact match gets ~all the weight)
MIN_TAU = 0.02  # smallest UDP distance still counted as "seen"
SEEN_SPACINGS = 2.5  # tau = this x the references' median nearest-neighbour spacing in UDP
FAR = 1.0  # distance given to background target pixels (no lookup there)
MAX_REFS = 16


@dataclass
class RefView:
    """One reference at the working side ``S``: ``rgba`` float32 [S, S, 4] premultiplied (the
    encoder's input, outlines included), ``colour`` float32 [S, S, 3] straight colour on the lookup
    foreground (0 elsewhere), ``udp`` float32 [S, S, 4]. ``fg``: bool [S, S] the lookup foreground
    (UDP occupancy where the image is not transparent)."""

    rgba: np.ndarray
    colour: np.ndarray
    udp: np.ndarray
    fg: np.ndarray
    digest: bytes = b""
    _tree: object = field(default=None, repr=False)
    _pix: np.ndarray | None = field(default=None, repr=False)
    _spacing: float | None = field(default=None, repr=False)

    @property
    def tree(self):
        """The k-d tree over this view's foreground UDP xyz (built on first use)."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            ys, xs = np.nonzero(self.fg)
            self._pix = np.stack([xs, ys], axis=1).astype(np.float32)  # [P, 2] x, y
            self._tree = cKDTree(self.udp[ys, xs, :3].astype(np.float64))
        return self._tree

    @property
    def pixels(self) -> np.ndarray:
        """``[P, 2]`` float32 (x, y) of the foreground pixels, in the tree's order."""
        self.tree
        return self._pix

    def spacing(self) -> float:
        """Median UDP distance from a foreground pixel to its nearest other one."""
        if self._spacing is None:
            t = self.tree
            self._spacing = float(np.median(t.query(t.data, k=2)[0][:, 1])) if t.n >= 2 else 0.0
        return self._spacing


UDP_TOLERANCE = 1e-4  # float rounding outside [0, 1] that is clipped rather than refused


def check_udp(udp: np.ndarray, what: str = "UDP", shape: tuple[int, int] | None = None) -> np.ndarray:
    """A CoNR UDP map: float [H, W, 4], finite, in [0, 1] (channel 3 = occupancy). Returns float32."""
    u = np.asarray(udp)
    if u.ndim != 3 or u.shape[2] != 4:
        raise ValueError(f"{what} has shape {u.shape}, expected [H, W, 4] (A-pose xyz + occupancy, CoNR's format)")
    if shape is not None and u.shape[:2] != tuple(shape):
        raise ValueError(f"{what} is {u.shape[1]}x{u.shape[0]} pixels, expected {shape[1]}x{shape[0]} like its image")
    if not np.issubdtype(u.dtype, np.floating):
        raise ValueError(f"{what} has dtype {u.dtype}, expected floats in [0, 1]")
    if not np.isfinite(u).all():
        raise ValueError(f"{what} has non-finite values, expected floats in [0, 1]")
    lo, hi = float(u.min()), float(u.max())
    if lo < -UDP_TOLERANCE or hi > 1.0 + UDP_TOLERANCE:
        raise ValueError(f"{what} has values {lo:.6g}..{hi:.6g}, expected floats in [0, 1]")
    u = u.astype(np.float32, copy=False)
    if lo < 0.0 or hi > 1.0:  # rounding of float32 writers (1.0000001): clipped, not refused
        u = np.clip(u, 0.0, 1.0)
    return u


def make_view(rgba: np.ndarray, udp: np.ndarray, what: str = "reference") -> RefView:
    """A :class:`RefView` from premultiplied float RGBA ``[S, S, 4]`` and its UDP ``[S, S, 4]``."""
    p = np.ascontiguousarray(rgba, dtype=np.float32)
    u = np.ascontiguousarray(check_udp(udp, f"{what} UDP", p.shape[:2]))
    alpha = p[..., 3]
    fg = (u[..., 3] > 0.5) & (alpha > 0)
    if not fg.any():
        raise ValueError(f"{what} has no foreground pixel with a UDP, expected the character's UDP on its pixels")
    colour = np.where(fg[..., None], p[..., :3] / np.maximum(alpha, 1e-12)[..., None], 0.0).astype(np.float32)
    digest = hashlib.sha256(p.tobytes() + u.tobytes()).digest()
    return RefView(p, np.clip(colour, 0.0, 1.0), u, fg, digest)


def canonical(views) -> list[RefView]:
    """The views in the order every method works in (by content digest): the user's order never matters."""
    views = list(views)
    if not 1 <= len(views) <= MAX_REFS:
        raise ValueError(f"a sheet has {len(views)} references, expected 1..{MAX_REFS}")
    return sorted(views, key=lambda v: v.digest)


@dataclass
class Correspondence:
    """Lookup of one target ``[H, W]`` in ``n`` references (in canonical order).

    ``pos`` float32 [n, H, W, 2]: (x, y) pixel of each reference's nearest match (the target pixel's
    own position on the background); ``dist`` float32 [n, H, W] UDP distance (:data:`FAR` on the
    background); ``occ`` float32 [H, W] target occupancy; ``seen`` bool [H, W]; ``fill`` int64 [H, W]
    flat index (y * W + x) of the pixel whose colour this pixel takes; ``tau``: the seen threshold.
    """

    pos: np.ndarray
    dist: np.ndarray
    occ: np.ndarray
    seen: np.ndarray
    fill: np.ndarray
    tau: float

    def weights(self, power: float = POWER, eps: float = EPS) -> np.ndarray:
        """float64 [n, H, W]: the inverse-distance weights over the references (sum 1 per pixel)."""
        logits = -power * np.log(self.dist.astype(np.float64) + eps)
        logits -= logits.max(axis=0, keepdims=True)
        w = np.exp(logits)
        return w / w.sum(axis=0, keepdims=True)


def seen_threshold(views) -> float:
    """``tau``: :data:`SEEN_SPACINGS` x the references' median UDP pixel spacing, at least :data:`MIN_TAU`."""
    spacing = float(np.median([v.spacing() for v in views]))
    return max(MIN_TAU, SEEN_SPACINGS * spacing)


def correspond(views, target_udp: np.ndarray, tau: float | None = None) -> Correspondence:
    """Look every foreground pixel of ``target_udp`` [H, W, 4] up in each of ``views`` (canonical order)."""
    from scipy.ndimage import distance_transform_edt

    views = canonical(views)
    u = check_udp(target_udp, "target UDP")
    h, w = u.shape[:2]
    occ = (u[..., 3] > 0.5)
    ys, xs = np.nonzero(occ)
    q = u[ys, xs, :3].astype(np.float64)
    n = len(views)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    pos = np.broadcast_to(np.stack([gx, gy], axis=-1), (n, h, w, 2)).copy()
    dist = np.full((n, h, w), FAR, dtype=np.float32)
    for r, v in enumerate(views):
        if len(q):
            d, idx = v.tree.query(q, k=1)
            pos[r, ys, xs] = v.pixels[idx]
            dist[r, ys, xs] = d
    tau = seen_threshold(views) if tau is None else float(tau)
    seen = occ & (dist.min(axis=0) <= tau)
    flat = np.arange(h * w, dtype=np.int64).reshape(h, w)
    if seen.any() and not seen.all():
        _, (iy, ix) = distance_transform_edt(~seen, return_indices=True)
        fill = np.where(seen | ~occ, flat, iy * w + ix)
    else:  # nothing seen: the blend itself is the best guess; everything seen: nothing to fill
        fill = flat
    return Correspondence(pos, dist, occ.astype(np.float32), seen, fill.astype(np.int64), tau)


def gather_colours(views, corr: Correspondence) -> np.ndarray:
    """float32 [n, H, W, 3]: each reference's colour at its match (exact pixel copies)."""
    views = canonical(views)
    out = np.empty((len(views), *corr.occ.shape, 3), dtype=np.float32)
    for r, v in enumerate(views):
        p = corr.pos[r].astype(np.int64)
        hr, wr = v.colour.shape[:2]
        out[r] = v.colour[np.clip(p[..., 1], 0, hr - 1), np.clip(p[..., 0], 0, wr - 1)]
    return out
