"""Torch building blocks: conv units, residual blocks and a U-Net trunk with named heads."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
import torch.nn.functional as F


class ConvUnit(nn.Sequential):
    """3x3 (or ``k`` x ``k``) convolution, batch norm, SiLU."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.SiLU(inplace=True))


class ResBlock(nn.Module):
    """Two conv units with an identity (or 1x1) shortcut."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.a = ConvUnit(cin, cout)
        self.b = nn.Sequential(nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.b(self.a(x)) + self.skip(x))


class UNet(nn.Module):
    """A U-Net trunk: ``widths[0]`` channels at full resolution, each next level half the size.

    ``heads`` maps a head name to its channel count; :meth:`forward` returns ``{name: [B, C, H, W]}``
    at the input's resolution. Input sides must be multiples of :attr:`stride` (see :func:`pad_to`).

    With ``context``, the deepest level's mean over the image goes through a small MLP and is added
    back to every position there, so each pixel of the decoder knows the whole picture (which way
    the character faces, say, for a wrist far from the face); ``global_heads`` (name -> channels)
    are linear heads on that vector, returned ``[B, C]`` beside the maps.
    """

    def __init__(self, in_channels: int, widths: Sequence[int], heads: dict[str, int], blocks: int = 1,
                 context: bool = False, global_heads: dict[str, int] | None = None) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths {widths} must list at least two positive channel counts")
        self.widths, self.head_channels = widths, dict(heads)
        self.stem = ConvUnit(in_channels, widths[0])
        self.down = nn.ModuleList()
        for a, b in zip(widths[:-1], widths[1:]):
            layers: list[nn.Module] = [ConvUnit(a, b, stride=2)]
            layers += [ResBlock(b, b) for _ in range(blocks)]
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()
        for a, b in zip(widths[:0:-1], widths[-2::-1]):  # from the deepest level back to full size
            self.up.append(nn.ModuleDict({"reduce": nn.Conv2d(a, b, 1, bias=False),
                                          "fuse": ResBlock(2 * b, b)}))
        self.heads = nn.ModuleDict({name: nn.Conv2d(widths[0], c, 1) for name, c in heads.items()})
        if global_heads and not context:
            raise ValueError("global heads read the context vector: expected context=True")
        w = widths[-1]
        self.context = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w)) if context else None
        self.global_heads = nn.ModuleDict({name: nn.Linear(w, c) for name, c in (global_heads or {}).items()})

    @property
    def stride(self) -> int:
        return 2 ** (len(self.widths) - 1)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Full-resolution features ``[B, widths[0], H, W]`` and the context vector ``[B, widths[-1]]``
        (None without ``context``)."""
        skips = [self.stem(x)]
        for d in self.down:
            skips.append(d(skips[-1]))
        y = skips.pop()
        g = None
        if self.context is not None:
            g = self.context(y.mean(dim=(2, 3)))
            y = y + g[:, :, None, None]
        for u in self.up:
            s = skips.pop()
            y = F.interpolate(u["reduce"](y), size=s.shape[-2:], mode="bilinear", align_corners=False)
            y = u["fuse"](torch.cat([y, s], dim=1))
        return y, g

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f, g = self.features(x)
        out = {name: head(f) for name, head in self.heads.items()}
        out.update({name: head(g) for name, head in self.global_heads.items()})
        return out


def pad_to(x: torch.Tensor, multiple: int, value: float = 0.0) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad ``x`` [B, C, H, W] right/bottom to multiples of ``multiple``; returns it and the original (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), value=value)
    return x, (h, w)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
