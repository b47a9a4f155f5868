"""CoNR-lite: the learned sheet renderer (torch).

Inputs (CoNR's interface plus the lookup of :mod:`kyara.sheet.lookup`), at the working side ``S``:

* references ``[B, N, ...]``, ``1 <= N <= 16``: premultiplied RGBA and UDP (the encoder's input),
  and the straight colour on the lookup foreground (what the final warp samples);
* the target's UDP + occupancy ``[B, 4, S, S]``;
* per reference the nearest-UDP match of every target pixel as a sampling grid ``[B, N, S, S, 2]``
  and its UDP distance ``[B, N, S, S]``; the inpainting index ``fill`` ``[B, S * S]``.

The network:

1. a reference encoder (shared weights, each reference alone) and a target encoder (UDP +
   occupancy), both pyramids of ``len(widths)`` levels, full resolution first;
2. from the coarsest level to the finest, each reference's features are warped to the target by
   its grid — initialised from B2's correspondences (pooled to the level) and refined by a learned
   residual flow per reference and level (accumulated, upsampled to the next level) — and a learned
   residual on the fusion logits ``-power * log(d + eps)``;
3. fusion across references is a softmax over the set of references per pixel (the order of the
   references cannot matter; any ``N`` works), with the mean over the set as context for each
   reference's head (CoNR's collaborative inference, order-invariant);
4. a decoder over (fused features, target features) adds a residual to the base image: the
   references' colours warped by the finest grid, fused, inpainted by ``fill``, on the occupancy.

Every head that adds something learned (flows, fusion logits, RGBA residual) starts at zero, so at
initialisation the output *is* B2 (:func:`kyara.sheet.baselines.b2`), up to float rounding.
``ablate=True`` zeroes the RGBA residual and the learned fusion (the warping stays): the table's
"zeroed" row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from kyara.nn.blocks import ConvUnit, ResBlock
from kyara.nn.warp import (identity_grid, pixel_to_grid, pool_grid, pool_weighted, set_mean, set_softmax_fuse,
                           warp)
from kyara.sheet.lookup import EPS, FAR, MAX_REFS, POWER

KIND = "kyara-sheet"


@dataclass
class SheetNetConfig:
    """The architecture (stored with the weights)."""

    size: int = 64  # working side S in pixels (a multiple of 2 ** (levels - 1))
    widths: list = field(default_factory=lambda: [16, 32, 48])  # channels per level, full resolution first
    power: float = POWER  # inverse-distance weighting exponent of the initial fusion
    eps: float = EPS
    flow_scale: float = 0.1  # the flow heads' outputs x this, in normalised image units
    max_refs: int = MAX_REFS

    def __post_init__(self) -> None:
        self.widths = [int(w) for w in self.widths]
        if len(self.widths) < 1 or min(self.widths) < 1:
            raise ValueError(f"widths {self.widths} must list at least one positive channel count")
        if self.size % (2 ** (len(self.widths) - 1)):
            raise ValueError(f"size {self.size} is not a multiple of {2 ** (len(self.widths) - 1)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SheetNetConfig":
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(d) - known)
        if extra:
            raise ValueError(f"sheet model config has unknown keys {extra}")
        return cls(**d)


class Pyramid(nn.Module):
    """Features at ``len(widths)`` levels, each half the previous side."""

    def __init__(self, cin: int, widths: list) -> None:
        super().__init__()
        self.stem = nn.Sequential(ConvUnit(cin, widths[0]), ResBlock(widths[0], widths[0]))
        self.down = nn.ModuleList(nn.Sequential(ConvUnit(a, b, stride=2), ResBlock(b, b))
                                  for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = [self.stem(x)]
        for d in self.down:
            out.append(d(out[-1]))
        return out


def _zero(conv: nn.Conv2d) -> nn.Conv2d:
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class RefFeatures:
    """A sheet encoded once (:meth:`SheetNet.encode`): per level features ``[B, N, C, h, w]`` and
    UDP ``[B, N, 4, h, w]``, and the colours ``[B, N, 3, S, S]``. Reused for every target frame."""

    def __init__(self, feats: list, udps: list, colour: torch.Tensor) -> None:
        self.feats, self.udps, self.colour = feats, udps, colour

    @property
    def batch(self) -> int:
        return self.colour.shape[0]

    @property
    def count(self) -> int:
        return self.colour.shape[1]

    def expand(self, batch: int) -> "RefFeatures":
        """The same sheet for ``batch`` targets (no copy)."""
        if self.batch == batch:
            return self
        assert self.batch == 1, f"cannot expand a batch of {self.batch} sheets to {batch}"
        ex = lambda t: t.expand(batch, *t.shape[1:])  # noqa: E731
        return RefFeatures([ex(f) for f in self.feats], [ex(u) for u in self.udps], ex(self.colour))


class SheetNet(nn.Module):
    """CoNR-lite (see the module doc). :meth:`encode` the sheet once, then :meth:`render` targets."""

    def __init__(self, config: SheetNetConfig | dict | None = None) -> None:
        super().__init__()
        cfg = config if isinstance(config, SheetNetConfig) else SheetNetConfig.from_dict(config or {})
        self.config = cfg
        w = cfg.widths
        self.ref_encoder = Pyramid(8, w)  # premultiplied RGBA + UDP
        self.target_encoder = Pyramid(4, w)  # UDP + occupancy
        self.heads = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for lvl, c in enumerate(w):
            up = w[lvl + 1] if lvl + 1 < len(w) else 0
            self.heads.append(nn.Sequential(ConvUnit(3 * c + 4 + up, c), _zero(nn.Conv2d(c, 3, 3, padding=1))))
            self.decoders.append(ResBlock(2 * c + up, c))
        self.residual = _zero(nn.Conv2d(w[0], 4, 3, padding=1))

    @property
    def levels(self) -> int:
        return len(self.config.widths)

    # ------------------------------------------------------------------ the sheet, once

    def encode(self, rgba: torch.Tensor, udp: torch.Tensor, colour: torch.Tensor) -> RefFeatures:
        """``rgba`` [B, N, 4, S, S] premultiplied, ``udp`` [B, N, 4, S, S], ``colour`` [B, N, 3, S, S]."""
        b, n, _, s, _ = rgba.shape
        assert udp.shape == (b, n, 4, s, s) and colour.shape == (b, n, 3, s, s), (rgba.shape, udp.shape, colour.shape)
        assert 1 <= n <= self.config.max_refs, f"{n} references, expected 1..{self.config.max_refs}"
        flat = lambda t: t.reshape(b * n, *t.shape[2:])  # noqa: E731
        feats = self.ref_encoder(torch.cat([flat(rgba), flat(udp)], dim=1))
        occ = flat(udp)[:, 3:4]
        udps = []
        for lvl in range(self.levels):
            f = 2 ** lvl
            u = pool_weighted(flat(udp)[:, :3], occ, f)
            udps.append(torch.cat([u, F.avg_pool2d(occ, f) if f > 1 else occ], dim=1))
        unflat = lambda t: t.reshape(b, n, *t.shape[1:])  # noqa: E731
        return RefFeatures([unflat(x) for x in feats], [unflat(u) for u in udps], colour)

    # ------------------------------------------------------------------ one batch of targets

    def render(self, refs: RefFeatures, udp: torch.Tensor, grid: torch.Tensor, dist: torch.Tensor,
               fill: torch.Tensor, ablate: bool = False) -> dict[str, torch.Tensor]:
        """Targets ``udp`` [B, 4, S, S], initial grids ``grid`` [B, N, S, S, 2] (normalised), UDP
        distances ``dist`` [B, N, S, S], ``fill`` [B, S * S] (long) -> ``{"rgba": [B, 4, S, S]
        premultiplied, "base": [B, 4, S, S], "weights": [B, N, S, S], "flow": [B, N, S, S, 2]}``."""
        cfg = self.config
        b, _, s, _ = udp.shape
        refs = refs.expand(b)
        n = refs.count
        assert grid.shape == (b, n, s, s, 2) and dist.shape == (b, n, s, s) and fill.shape == (b, s * s), \
            (grid.shape, dist.shape, fill.shape)
        occ = udp[:, 3:4]
        targets = self.target_encoder(udp)
        flat_grid = grid.reshape(b * n, s, s, 2)
        logd = -cfg.power * torch.log(dist + cfg.eps).reshape(b * n, 1, s, s)
        occ_n = occ.repeat_interleave(n, dim=0)
        flow = logit = dec = None
        for lvl in reversed(range(self.levels)):
            f = 2 ** lvl
            g0 = pool_grid(flat_grid, occ_n[:, 0], f)
            ld = pool_weighted(logd, occ_n, f, empty=-cfg.power * float(np.log(FAR + cfg.eps)))
            t = targets[lvl]
            tu = pool_weighted(udp[:, :3], occ, f)
            h = t.shape[-1]
            if flow is None:
                flow = torch.zeros(b * n, 2, h, h, dtype=udp.dtype, device=udp.device)
                logit = torch.zeros(b * n, 1, h, h, dtype=udp.dtype, device=udp.device)
                up = []
            else:
                flow = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=False)
                logit = F.interpolate(logit, scale_factor=2, mode="bilinear", align_corners=False)
                dec = F.interpolate(dec, scale_factor=2, mode="bilinear", align_corners=False)
                up = [dec.repeat_interleave(n, dim=0)]
            feat = refs.feats[lvl].reshape(b * n, *refs.feats[lvl].shape[2:])
            rudp = refs.udps[lvl].reshape(b * n, 4, h, h)
            g = g0 + flow.permute(0, 2, 3, 1)
            wf = warp(feat, g)
            err = warp(rudp, g)[:, :3] - tu.repeat_interleave(n, dim=0)
            ctx = set_mean(wf.reshape(b, n, *wf.shape[1:])).repeat_interleave(n, dim=0)
            delta = self.heads[lvl](torch.cat([wf, t.repeat_interleave(n, dim=0), ctx, err, ld / 10.0, *up], dim=1))
            flow = flow + cfg.flow_scale * delta[:, :2]
            logit = logit + delta[:, 2:3]
            g = g0 + flow.permute(0, 2, 3, 1)
            wf = warp(feat, g)
            lg = ld + (0.0 if ablate else logit)
            fused, _ = set_softmax_fuse(wf.reshape(b, n, *wf.shape[1:]), lg.reshape(b, n, h, h))
            dec = self.decoders[lvl](torch.cat([fused, t, *([dec] if up else [])], dim=1))
        # the base image: each reference's colour at its refined grid, fused, inpainted, on the occupancy
        colour = warp(refs.colour.reshape(b * n, 3, s, s), g).reshape(b, n, 3, s, s)
        rgb, weights = set_softmax_fuse(colour, lg.reshape(b, n, s, s))
        rgb = torch.gather(rgb.reshape(b, 3, s * s), 2, fill.unsqueeze(1).expand(b, 3, s * s)).reshape(b, 3, s, s)
        base = torch.cat([rgb * occ, occ], dim=1)
        out = base if ablate else base + self.residual(dec)
        return {"rgba": out, "base": base, "weights": weights, "flow": flow.permute(0, 2, 3, 1).reshape(b, n, s, s, 2)}

    def forward(self, batch: dict, ablate: bool = False) -> dict[str, torch.Tensor]:
        """A batch of :func:`pack`: encode its sheets and render its targets."""
        refs = self.encode(batch["ref_rgba"], batch["ref_udp"], batch["ref_colour"])
        return self.render(refs, batch["udp"], batch["grid"], batch["dist"], batch["fill"], ablate=ablate)


def build(config: dict | None = None) -> SheetNet:
    return SheetNet(SheetNetConfig.from_dict(dict(config or {})))


# ---------------------------------------------------------------------- numpy -> tensors

def pack_refs(views) -> dict[str, torch.Tensor]:
    """Views (in canonical order, one sheet) -> ``ref_rgba`` [1, N, 4, S, S], ``ref_udp``, ``ref_colour``."""
    t = lambda a: torch.from_numpy(np.ascontiguousarray(np.stack(a))).permute(0, 3, 1, 2).unsqueeze(0)  # noqa: E731
    return {"ref_rgba": t([v.rgba for v in views]), "ref_udp": t([v.udp for v in views]),
            "ref_colour": t([v.colour for v in views])}


def pack_target(corr, target_udp: np.ndarray) -> dict[str, torch.Tensor]:
    """One target's lookup (:class:`~kyara.sheet.lookup.Correspondence`) -> ``udp`` [1, 4, S, S],
    ``grid`` [1, N, S, S, 2], ``dist`` [1, N, S, S], ``fill`` [1, S * S]."""
    s = target_udp.shape[0]
    assert target_udp.shape == (s, s, 4), f"target UDP {target_udp.shape}, expected a square [S, S, 4]"
    grid = pixel_to_grid(torch.from_numpy(corr.pos), s, s)
    return {"udp": torch.from_numpy(np.ascontiguousarray(target_udp, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0),
            "grid": grid.unsqueeze(0), "dist": torch.from_numpy(corr.dist).unsqueeze(0),
            "fill": torch.from_numpy(corr.fill.reshape(1, -1))}


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Concatenate packed samples (same number of references) along the batch axis."""
    return {k: torch.cat([it[k] for it in items], dim=0) for k in items[0]}


__all__ = ["KIND", "SheetNetConfig", "SheetNet", "RefFeatures", "build", "pack_refs", "pack_target", "collate",
           "identity_grid"]
