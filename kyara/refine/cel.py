"""The cel-shading loss: flat tone bands inside regions, sharp contours between them.

AniDream states only the intent (renders that look cel-shaded); kyara defines the loss as follows.
Inputs: a render ``x [N, C, H, W]`` (C = 3 RGB in [0, 1], or C = 1 a luminance), ``visible [N, H, W]``
bool and ``part [N, H, W]`` integer part (material) ids, from :class:`kyara.paint.buffers.ViewBuffers`.
``Y = 0.2126 R + 0.7152 G + 0.0722 B`` is the render's luminance (Rec. 709; C = 1: ``x`` itself).

**(a) Banding** pulls every visible pixel's luminance toward the nearest of K tone levels
``l_1..l_K`` with a soft minimum of the squared distances::

    E_band = mean_{visible p} sum_k softmax_k(-d_pk / tau) d_pk,    d_pk = (Y_p - l_k)^2

(``tau -> 0``: ``min_k d_pk``; its gradient moves each pixel toward its nearest level, so a smooth
ramp breaks into K flat bands). The levels are either fixed (``CelConfig.fixed_levels``) or
estimated per region: for each part id, a 1-D k-means (``kmeans_iters`` Lloyd steps from the
region's luminance quantiles) over that part's visible pixels in ALL views, detached from the graph,
so a part keeps the same bands from every camera.

**(b) Contours.** For the horizontal and vertical neighbour pairs ``(p, q)`` of each view, with
``g_pq = sqrt(|x_p - x_q|^2 + eps^2) - eps`` (Charbonnier colour difference, all channels):

* inside pairs (both visible, same part): ``E_inside = mean rho(g_pq)``, ``rho(g) = delta log(1 + g /
  delta)``: total variation (``rho ~ g``) for small steps, saturating for large ones. Plain total
  variation charges a smooth ramp and a staircase over the same range alike (only the range counts);
  the saturating ``rho`` makes K crisp band steps cheaper than a smooth gradient or a blurred step,
  so it penalises gradients inside regions AND prefers the few sharp steps of cel bands;
* boundary pairs (one visible and one not: the silhouette; or two parts: a material boundary):
  ``E_edge = mean relu(margin - g_pq)`` (rewards a step of at least ``margin`` across the boundary
  within ONE pixel; a blurred edge spreads its step over several pairs and pays for it).

``E_cel = band_weight E_band + inside_weight E_inside + edge_weight E_edge``; a term with no pixels
or pairs counts 0. :func:`contour_reference` is a loop over pixels beside :func:`contour_terms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

LUMA = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class CelConfig:
    """Weights and knobs of :func:`cel_loss` (see the module docstring)."""

    levels: int = 3  # K tone levels per region (estimated), ignored when fixed_levels is given
    fixed_levels: tuple[float, ...] | None = None  # luminance levels for every region; None = per-part k-means
    temperature: float = 1e-3  # tau of the soft minimum (luminance squared units)
    kmeans_iters: int = 8
    band_weight: float = 1.0
    inside_weight: float = 1.0
    edge_weight: float = 1.0
    margin: float = 0.2  # colour step a boundary pair needs to cost nothing
    delta: float = 0.05  # where rho(g) = delta log(1 + g / delta) of the inside term starts to saturate
    eps: float = 1e-3  # Charbonnier epsilon

    def __post_init__(self) -> None:
        if not isinstance(self.levels, int) or not 1 <= self.levels <= 32:
            raise ValueError(f"levels {self.levels!r} is out of range, expected an integer 1..32")
        if self.fixed_levels is not None and (len(self.fixed_levels) == 0
                                              or not all(np.isfinite(v) for v in self.fixed_levels)):
            raise ValueError(f"fixed_levels {self.fixed_levels!r} must be a non-empty tuple of finite luminances")
        for name in ("temperature", "eps", "delta"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} {getattr(self, name)!r} must be > 0")
        for name in ("band_weight", "inside_weight", "edge_weight", "margin"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} {v!r} must be a finite number >= 0")


@dataclass(frozen=True)
class CelTerms:
    """The cel-shading loss and its terms (scalars, differentiable)."""

    total: torch.Tensor
    band: torch.Tensor
    inside: torch.Tensor
    edge: torch.Tensor


def luminance(image: torch.Tensor) -> torch.Tensor:
    """``[N, H, W]`` Rec. 709 luminance of ``[N, 3, H, W]`` (``[N, 1, H, W]``: the channel itself)."""
    if image.ndim != 4 or image.shape[1] not in (1, 3):
        raise ValueError(f"image has shape {tuple(image.shape)}, expected [N, 1 or 3, H, W]")
    if image.shape[1] == 1:
        return image[:, 0]
    return LUMA[0] * image[:, 0] + LUMA[1] * image[:, 1] + LUMA[2] * image[:, 2]


def estimate_levels(luma: torch.Tensor, part: torch.Tensor, visible: torch.Tensor, k: int,
                    iters: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-part tone levels by 1-D k-means (detached): ``(ids [P] int64, levels [P, k])`` for the
    part ids that have visible pixels; initial levels are the part's luminance quantiles
    ``(j + 0.5) / k``."""
    import torch

    y = luma.detach()
    ids = torch.unique(part[visible])
    out = torch.zeros((len(ids), k), dtype=y.dtype, device=y.device)
    q = (torch.arange(k, dtype=y.dtype, device=y.device) + 0.5) / k
    for r, pid in enumerate(ids):
        v = y[visible & (part == pid)]
        lv = torch.quantile(v, q)
        for _ in range(iters):
            nearest = (v[:, None] - lv[None, :]).abs().argmin(dim=1)
            sums = torch.zeros_like(lv).index_add_(0, nearest, v)
            cnt = torch.zeros_like(lv).index_add_(0, nearest, torch.ones_like(v))
            lv = torch.where(cnt > 0, sums / cnt.clamp(min=1), lv)
        out[r] = lv
    return ids, out


def band_term(luma: torch.Tensor, visible: torch.Tensor, levels: torch.Tensor, temperature: float) -> torch.Tensor:
    """``E_band`` for luminance ``[N, H, W]`` and per-pixel levels ``levels [M, K]`` of the ``M``
    visible pixels (row-major order of ``visible``) or shared levels ``[K]``."""
    y = luma[visible]  # [M]
    if y.numel() == 0:
        return luma.sum() * 0.0
    lv = levels if levels.ndim == 2 else levels.reshape(1, -1)
    d = (y[:, None] - lv) ** 2  # [M, K]
    w = (-d / temperature).softmax(dim=1)
    return (w * d).sum(dim=1).mean()


def _pairs(visible, part):
    """Masks of horizontal ``[N, H, W-1]`` and vertical ``[N, H-1, W]`` neighbour pairs: (inside, boundary)."""
    out = []
    for a_v, b_v, a_p, b_p in ((visible[:, :, :-1], visible[:, :, 1:], part[:, :, :-1], part[:, :, 1:]),
                               (visible[:, :-1, :], visible[:, 1:, :], part[:, :-1, :], part[:, 1:, :])):
        inside = a_v & b_v & (a_p == b_p)
        boundary = (a_v != b_v) | (a_v & b_v & (a_p != b_p))
        out.append((inside, boundary))
    return out


def contour_terms(image: torch.Tensor, visible: torch.Tensor, part: torch.Tensor, margin: float = 0.2,
                  eps: float = 1e-3, delta: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """``(E_inside, E_edge)`` of ``image [N, C, H, W]`` (see the module docstring)."""
    import torch

    dx = image[..., :, 1:] - image[..., :, :-1]  # [N, C, H, W-1]
    dy = image[..., 1:, :] - image[..., :-1, :]  # [N, C, H-1, W]
    (in_x, bd_x), (in_y, bd_y) = _pairs(visible, part)
    gx = ((dx ** 2).sum(dim=1) + eps * eps).sqrt() - eps
    gy = ((dy ** 2).sum(dim=1) + eps * eps).sqrt() - eps
    zero = image.sum() * 0.0
    n_in = in_x.sum() + in_y.sum()
    n_bd = bd_x.sum() + bd_y.sum()
    rho = (delta * torch.log1p(gx[in_x] / delta)).sum() + (delta * torch.log1p(gy[in_y] / delta)).sum()
    inside = rho / n_in if n_in > 0 else zero
    hinge = torch.relu(margin - gx[bd_x]).sum() + torch.relu(margin - gy[bd_y]).sum()
    edge = hinge / n_bd if n_bd > 0 else zero
    return inside, edge


def contour_reference(image: np.ndarray, visible: np.ndarray, part: np.ndarray, margin: float = 0.2,
                      eps: float = 1e-3, delta: float = 0.05) -> tuple[float, float]:
    """Slow reference of :func:`contour_terms` (numpy arrays, a loop over pixels and their right and
    lower neighbours)."""
    x = np.asarray(image, dtype=np.float64)
    n, _, h, w = x.shape
    s_in = s_bd = 0.0
    c_in = c_bd = 0
    for k in range(n):
        for i in range(h):
            for j in range(w):
                for di, dj in ((0, 1), (1, 0)):
                    i2, j2 = i + di, j + dj
                    if i2 >= h or j2 >= w:
                        continue
                    g = np.sqrt(((x[k, :, i, j] - x[k, :, i2, j2]) ** 2).sum() + eps * eps) - eps
                    va, vb = bool(visible[k, i, j]), bool(visible[k, i2, j2])
                    if va and vb and part[k, i, j] == part[k, i2, j2]:
                        s_in, c_in = s_in + delta * np.log1p(g / delta), c_in + 1
                    elif va != vb or (va and vb):
                        s_bd, c_bd = s_bd + max(margin - g, 0.0), c_bd + 1
    return (s_in / c_in if c_in else 0.0), (s_bd / c_bd if c_bd else 0.0)


def cel_loss(image: torch.Tensor, visible: torch.Tensor, part: torch.Tensor,
             config: CelConfig | None = None) -> CelTerms:
    """The cel-shading loss of a render ``image [N, C, H, W]`` (C = 1 or 3) with ``visible [N, H, W]``
    bool and ``part [N, H, W]`` integer ids (see the module docstring for the definition)."""
    import torch

    cfg = config or CelConfig()
    if image.ndim != 4 or tuple(visible.shape) != (image.shape[0],) + tuple(image.shape[2:]) \
            or tuple(part.shape) != tuple(visible.shape):
        raise ValueError(f"image {tuple(image.shape)}, visible {tuple(visible.shape)}, part {tuple(part.shape)}: "
                         "expected [N, C, H, W], [N, H, W], [N, H, W]")
    visible = visible.bool()
    part = part.long()
    luma = luminance(image)
    if cfg.fixed_levels is not None:
        levels = torch.as_tensor(cfg.fixed_levels, dtype=image.dtype, device=image.device)
    else:
        ids, per_part = estimate_levels(luma, part, visible, cfg.levels, cfg.kmeans_iters)
        levels = per_part[torch.searchsorted(ids, part[visible])]  # [M, K]
    band = band_term(luma, visible, levels, cfg.temperature)
    inside, edge = contour_terms(image, visible, part, cfg.margin, cfg.eps, cfg.delta)
    total = cfg.band_weight * band + cfg.inside_weight * inside + cfg.edge_weight * edge
    return CelTerms(total, band, inside, edge)
