"""Differentiable texture lookup in torch on kyara.paint's per-view buffers.

Conventions are kyara.paint's (:mod:`kyara.paint.uv`, :mod:`kyara.paint.bake`):

* a texture here is channels-first ``[C, T, T]`` (torch's layout; kyara.paint keeps ``[T, T, C]``):
  row ``j`` grows with glTF ``v`` (down the image), column ``i`` with ``u``; texel ``(i, j)``'s centre
  lies at ``((i + 0.5) / T, (j + 0.5) / T)``;
* a visible pixel with UV ``(u, v)`` reads the texture bilinearly between the four nearest texel
  centres, clamped at the texture's border; background pixels get ``background``.

That is exactly ``torch.nn.functional.grid_sample(texture, grid, align_corners=False,
padding_mode="border")`` with ``grid = 2 * uv - 1`` (grid ``x`` from ``u``, ``y`` from ``v``): with
``align_corners=False`` grid ``-1`` is the left edge of texel 0, so the sample lies at
``u * T - 0.5`` texel-centre units, the same position :func:`kyara.paint.bake.texel_taps` reads, and
``border`` padding clamps that position to ``[0, T - 1]``, which gives the same value as clamping the
taps. :func:`lookup` is the fast path; :func:`lookup_reference` gathers the four taps explicitly
(both differentiable, compared in the tests together with :meth:`kyara.paint.bake.TextureViews.project`).

:func:`headlight_toon` is a differentiable two-tone shade for renders from these buffers (the light
at the camera, so ``N.L`` is the buffers' ``cosine``); MToon's full shader with a camera-space light
needs per-pixel normals, which the buffers do not carry yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.paint.buffers import ViewBuffers


def buffers_to_torch(buffers: ViewBuffers, dtype=None, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(uv [N, H, W, 2], visible [N, H, W] bool)`` tensors of :class:`~kyara.paint.buffers.ViewBuffers`
    (``dtype`` default float32)."""
    import torch

    dtype = dtype or torch.float32
    return (torch.as_tensor(np.asarray(buffers.uv), dtype=dtype, device=device),
            torch.as_tensor(np.asarray(buffers.visible), dtype=torch.bool, device=device))


def _check(texture, uv, visible) -> None:
    if texture.ndim != 3 or texture.shape[1] != texture.shape[2] or texture.shape[1] < 1:
        raise ValueError(f"texture has shape {tuple(texture.shape)}, expected [C, T, T]")
    if uv.ndim != 4 or uv.shape[-1] != 2:
        raise ValueError(f"uv has shape {tuple(uv.shape)}, expected [N, H, W, 2]")
    if tuple(visible.shape) != tuple(uv.shape[:3]):
        raise ValueError(f"visible has shape {tuple(visible.shape)}, expected {tuple(uv.shape[:3])}")
    if not texture.is_floating_point() or uv.dtype != texture.dtype:
        raise ValueError(f"texture ({texture.dtype}) and uv ({uv.dtype}) must share one floating dtype")


def lookup(texture: torch.Tensor, uv: torch.Tensor, visible: torch.Tensor,
           background: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Render ``N`` views of ``texture [C, T, T]``: ``[N, C, H, W]``, bilinear, differentiable in
    ``texture`` (and ``uv``).

    ``uv [N, H, W, 2]`` glTF texture coordinates and ``visible [N, H, W]`` bool as in
    :class:`~kyara.paint.buffers.ViewBuffers` (see :func:`buffers_to_torch`); ``background`` (a
    number or ``[C]``) fills the pixels that do not show the mesh.
    """
    import torch
    import torch.nn.functional as F

    _check(texture, uv, visible)
    n = uv.shape[0]
    grid = uv * 2.0 - 1.0  # [N, H, W, 2]: (x from u, y from v), align_corners=False
    img = F.grid_sample(texture.unsqueeze(0).expand(n, -1, -1, -1), grid, mode="bilinear",
                        padding_mode="border", align_corners=False)  # [N, C, H, W]
    bg = torch.as_tensor(background, dtype=texture.dtype, device=texture.device).reshape(1, -1, 1, 1)
    return torch.where(visible.unsqueeze(1), img, bg.expand_as(img))


def lookup_reference(texture: torch.Tensor, uv: torch.Tensor, visible: torch.Tensor,
                     background: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Reference of :func:`lookup`: the four taps of :func:`kyara.paint.bake.texel_taps` gathered and
    weighted explicitly (differentiable in ``texture``)."""
    import torch

    _check(texture, uv, visible)
    c, t = texture.shape[0], texture.shape[1]
    n, h, w = visible.shape
    x = uv[..., 0] * t - 0.5  # texel-centre units
    y = uv[..., 1] * t - 0.5
    i0, j0 = torch.floor(x), torch.floor(y)
    fx, fy = x - i0, y - j0
    flat = texture.reshape(c, t * t)
    out = torch.zeros((c, n, h, w), dtype=texture.dtype, device=texture.device)
    for dj, wy in ((0, 1.0 - fy), (1, fy)):
        for di, wx in ((0, 1.0 - fx), (1, fx)):
            ii = (i0 + di).clamp(0, t - 1).long()
            jj = (j0 + dj).clamp(0, t - 1).long()
            out = out + flat[:, (jj * t + ii).reshape(-1)].reshape(c, n, h, w) * (wx * wy)
    out = out.permute(1, 0, 2, 3)
    bg = torch.as_tensor(background, dtype=texture.dtype, device=texture.device).reshape(1, -1, 1, 1)
    return torch.where(visible.unsqueeze(1), out, bg.expand_as(out))


def headlight_toon(albedo: torch.Tensor, cosine: torch.Tensor, threshold: float = 0.35,
                   softness: float = 0.05, shade: float = 0.6) -> torch.Tensor:
    """Two-tone shade of rendered albedo ``[N, C, H, W]`` lit from the camera: ``albedo * (shade +
    (1 - shade) * sigmoid((cosine - threshold) / softness))`` with ``cosine [N, H, W]`` the buffers'
    cos(normal, direction to the camera). Differentiable in ``albedo``."""
    import torch

    if not 0.0 < softness or not 0.0 <= shade <= 1.0:
        raise ValueError(f"softness {softness} must be > 0 and shade {shade} in [0, 1]")
    if albedo.ndim != 4 or tuple(cosine.shape) != (albedo.shape[0],) + tuple(albedo.shape[2:]):
        raise ValueError(f"albedo {tuple(albedo.shape)} / cosine {tuple(cosine.shape)}: expected "
                         "[N, C, H, W] and [N, H, W]")
    lit = torch.sigmoid((cosine.to(albedo.dtype) - threshold) / softness)
    return albedo * (shade + (1.0 - shade) * lit).unsqueeze(1)
