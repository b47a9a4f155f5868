"""Warping feature maps by sampling grids, and order-invariant fusion over a set of maps.

Grids follow ``torch.nn.functional.grid_sample`` with ``align_corners=False``: a sampling position
is ``(x, y)`` in [-1, 1], where -1 and 1 are the outer edges of the image and pixel ``i`` of ``W``
has its centre at ``(2 i + 1) / W - 1``. The same normalised position means the same place at
every resolution, so a grid made at one level of a pyramid can be pooled to the next.

* :func:`pixel_to_grid`, :func:`identity_grid` — pixel centres to normalised positions;
* :func:`warp` — bilinear sampling of ``[B, C, H, W]`` at a grid (zeros outside); a plain loop
  :func:`warp_reference` beside it for tests;
* :func:`pool_grid` — a weighted average of a grid over ``f x f`` cells (identity where no weight);
* :func:`set_mean`, :func:`set_softmax_fuse` — fusion over the set axis ``N`` of ``[B, N, C, H, W]``
  that does not depend on the order of the set (and works for any ``N >= 1``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def pixel_to_grid(pos: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Pixel coordinates ``[..., 2]`` (x, y; pixel centres at integers) -> normalised ``[..., 2]``."""
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=pos.dtype, device=pos.device)
    return (pos + 0.5) * scale - 1.0


def identity_grid(batch: int, height: int, width: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """``[B, H, W, 2]``: every pixel samples its own centre."""
    ys, xs = torch.meshgrid(torch.arange(height, dtype=dtype, device=device),
                            torch.arange(width, dtype=dtype, device=device), indexing="ij")
    g = pixel_to_grid(torch.stack([xs, ys], dim=-1), width, height)
    return g.unsqueeze(0).expand(batch, height, width, 2)


def warp(feat: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``feat`` [B, C, Hs, Ws] at ``grid`` [B, H, W, 2] -> [B, C, H, W];
    zero outside the source image."""
    assert feat.ndim == 4 and grid.ndim == 4 and grid.shape[-1] == 2, (feat.shape, grid.shape)
    assert feat.shape[0] == grid.shape[0], f"batch {feat.shape[0]} != grid batch {grid.shape[0]}"
    return F.grid_sample(feat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def warp_reference(feat: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Slow reference of :func:`warp` for one image: ``feat`` [C, Hs, Ws], ``grid`` [H, W, 2] -> [C, H, W]."""
    c, hs, ws = feat.shape
    h, w = grid.shape[:2]
    out = np.zeros((c, h, w), dtype=np.float64)
    for i in range(h):
        for j in range(w):
            x = ((grid[i, j, 0] + 1.0) * ws - 1.0) / 2.0
            y = ((grid[i, j, 1] + 1.0) * hs - 1.0) / 2.0
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            for yy, wy in ((y0, 1.0 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1.0 - (x - x0)), (x0 + 1, x - x0)):
                    if 0 <= yy < hs and 0 <= xx < ws:
                        out[:, i, j] += wy * wx * feat[:, yy, xx]
    return out


def pool_grid(grid: torch.Tensor, weight: torch.Tensor, factor: int) -> torch.Tensor:
    """Average ``grid`` [B, H, W, 2] over ``factor x factor`` cells, weighted by ``weight`` [B, H, W];
    cells without weight sample their own centre. -> [B, H / f, W / f, 2]."""
    if factor == 1:
        return grid
    b, h, w, _ = grid.shape
    wt = weight.unsqueeze(1)
    num = F.avg_pool2d(grid.permute(0, 3, 1, 2) * wt, factor)
    den = F.avg_pool2d(wt, factor)
    ident = identity_grid(b, h // factor, w // factor, grid.dtype, grid.device).permute(0, 3, 1, 2)
    out = torch.where(den > 0, num / den.clamp_min(1e-12), ident)
    return out.permute(0, 2, 3, 1)


def pool_weighted(x: torch.Tensor, weight: torch.Tensor, factor: int, empty: float = 0.0) -> torch.Tensor:
    """Weighted average of ``x`` [B, C, H, W] over ``factor x factor`` cells (``weight`` [B, 1, H, W]);
    cells without weight get ``empty``."""
    if factor == 1:
        return x
    num = F.avg_pool2d(x * weight, factor)
    den = F.avg_pool2d(weight, factor)
    return torch.where(den > 0, num / den.clamp_min(1e-12), torch.full_like(num, empty))


def set_mean(x: torch.Tensor) -> torch.Tensor:
    """``[B, N, C, H, W]`` -> ``[B, C, H, W]``: the mean over the set."""
    return x.mean(dim=1)


def set_softmax_fuse(values: torch.Tensor, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fuse ``values`` [B, N, C, H, W] with per-pixel weights ``softmax_N(logits)`` (``logits``
    [B, N, H, W]) -> (fused [B, C, H, W], weights [B, N, H, W])."""
    assert values.shape[:2] == logits.shape[:2] and values.shape[-2:] == logits.shape[-2:], (values.shape, logits.shape)
    w = torch.softmax(logits, dim=1)
    return (values * w.unsqueeze(2)).sum(dim=1), w
