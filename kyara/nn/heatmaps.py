"""Keypoint heatmaps: Gaussian targets and sub-pixel decoding (pure functions of tensors/arrays).

Pixel convention: a pixel's centre is at integer coordinates ``(x, y)`` = (column, row), the
same convention as the project's OpenPose keypoints (x right, y down, in pixels).
"""

from __future__ import annotations

import numpy as np
import torch


def gaussian_heatmaps(points: torch.Tensor, present: torch.Tensor, height: int, width: int,
                      sigma: float) -> torch.Tensor:
    """Targets [B, K, H, W] in [0, 1]: ``exp(-d^2 / (2 sigma^2))`` around each present point.

    ``points`` [B, K, 2] (x, y) pixels, ``present`` [B, K] bool; absent points give zero maps."""
    ys = torch.arange(height, dtype=points.dtype, device=points.device).view(1, 1, height, 1)
    xs = torch.arange(width, dtype=points.dtype, device=points.device).view(1, 1, 1, width)
    dx = xs - points[..., 0, None, None]
    dy = ys - points[..., 1, None, None]
    g = torch.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))
    return g * present[..., None, None].to(g.dtype)


def decode_heatmaps(maps: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Peaks of [B, K, H, W] heatmaps → [B, K, 3] ``(x, y, peak value)``.

    The integer argmax is refined per axis by the vertex of the parabola through the logarithms of
    the peak and its two neighbours (exact for a sampled Gaussian), clipped to half a pixel; at the
    border, or where the peak is not positive, the integer position is kept."""
    b, k, h, w = maps.shape
    flat = maps.reshape(b, k, h * w)
    peak, idx = flat.max(dim=-1)
    py, px = idx // w, idx % w

    def at(dy: int, dx: int) -> torch.Tensor:
        yy, xx = (py + dy).clamp(0, h - 1), (px + dx).clamp(0, w - 1)
        return flat.gather(-1, (yy * w + xx)[..., None])[..., 0]

    def vertex(lo: torch.Tensor, mid: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        l, c, r = (torch.log(v.clamp_min(eps)) for v in (lo, mid, hi))
        den = l - 2 * c + r
        off = torch.where(den < -1e-12, 0.5 * (l - r) / den.clamp(max=-1e-12), torch.zeros_like(den))
        return off.clamp(-0.5, 0.5)

    ox = vertex(at(0, -1), peak, at(0, 1))
    oy = vertex(at(-1, 0), peak, at(1, 0))
    ok = peak > eps
    ox = torch.where(ok & (px > 0) & (px < w - 1), ox, torch.zeros_like(ox))
    oy = torch.where(ok & (py > 0) & (py < h - 1), oy, torch.zeros_like(oy))
    return torch.stack([px.to(maps.dtype) + ox, py.to(maps.dtype) + oy, peak], dim=-1)


def decode_heatmaps_reference(maps: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Slow loop version of :func:`decode_heatmaps` on numpy arrays (for tests)."""
    import math

    b, k, h, w = maps.shape
    out = np.zeros((b, k, 3))
    for i in range(b):
        for j in range(k):
            m = maps[i, j].astype(np.float64)
            py, px = np.unravel_index(int(np.argmax(m)), m.shape)
            c = m[py, px]
            out[i, j] = px, py, c
            for axis, (n, p) in enumerate(((px, w), (py, h))):
                if c <= eps or not 0 < n < p - 1:
                    continue
                lo = m[py, px - 1] if axis == 0 else m[py - 1, px]
                hi = m[py, px + 1] if axis == 0 else m[py + 1, px]
                l, cc, r = (math.log(max(v, eps)) for v in (lo, c, hi))
                den = l - 2 * cc + r
                if den < -1e-12:
                    out[i, j, axis] += min(0.5, max(-0.5, 0.5 * (l - r) / den))
    return out
