"""A pure-torch 3D Gaussian splatting rasteriser (forward and backward by autograd, CPU and CUDA).

One camera per call, :func:`rasterize_gaussians` is the public entry point. Conventions are
:mod:`kyara.render.camera`'s: world metres, ``viewmat`` the OpenCV world -> camera matrix
(``Camera.extrinsics``: x right, y down, looking down +z), ``K`` the pixel matrix
(``Camera.intrinsics``), pixel ``(i, j)`` centred at ``(i, j)``, depth = camera z in metres.
:func:`camera_tensors` turns a perspective :class:`~kyara.render.camera.Camera` into both.

Steps (3DGS / EWA splatting):

1. **Projection** (:func:`project_gaussians`): ``Sigma = R S S^T R^T`` from the unit quaternion
   ``(w, x, y, z)`` and the scales (metres, standard deviations); ``Sigma_2d = J W Sigma W^T J^T +
   eps2d I`` (``W`` the view rotation, ``J`` the perspective Jacobian at the centre, its x/z and y/z
   clamped to 1.3 x the half field of view, ``eps2d`` = 0.3 px^2 the low-pass filter), the conic
   ``Sigma_2d^-1`` and the cut-off radius where ``opacity * exp(-r^2 / (2 lambda_max)) = 1/255``;
   Gaussians with depth < ``near`` are dropped.
2. **Compositing**: per pixel, front to back by centre depth, ``alpha_i = min(0.99, o_i exp(-d^T
   conic d / 2) v_i)``, zero below 1/255; ``T_i = prod_{j<i} (1 - alpha_j)``; colour ``sum T_i alpha_i
   c_i`` (premultiplied), alpha ``1 - prod (1 - alpha_i)``, expected depth ``sum T_i alpha_i z_i /
   alpha``. ``v_i`` is 1, or with a mesh ``surface_depth`` the soft depth test ``sigmoid((z_surface -
   z_i) / depth_softness)``: Gaussians in front of the surface draw and hide it, those behind vanish
   (:func:`composite_over` then lays the result over the mesh render).

The fast path sorts (tile, depth) pairs once and evaluates 16 x 16 pixel tiles in chunks of at most
``max_chunk_elems`` (pixel, Gaussian) pairs, so 10k Gaussians at 128^2 fit in a few hundred MB on CPU;
:func:`rasterize_reference` is the plain per-pixel loop it must equal. With ``backend="gsplat"`` (or
``"auto"`` on CUDA when ``gsplat`` imports and no surface depth is given) gsplat 1.5's CUDA kernels
draw the same image (they cut at 3 sigma and stop at T < 1e-4, so they differ slightly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.render.camera import Camera

ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
BACKENDS = ("auto", "torch", "gsplat")


@dataclass(frozen=True, eq=False)
class Projected:
    """:func:`project_gaussians`' output for N Gaussians."""

    means2d: torch.Tensor  # [N, 2] pixels
    conics: torch.Tensor  # [N, 3] (a, b, c) of the inverse 2D covariance [[a, b], [b, c]], 1/px^2
    depths: torch.Tensor  # [N] metres along the view axis
    radii: torch.Tensor  # [N] float pixels (detached), 0 = culled


@dataclass(frozen=True, eq=False)
class RasterOutput:
    """One view of the Gaussians."""

    color: torch.Tensor  # [H, W, C] premultiplied by alpha
    alpha: torch.Tensor  # [H, W] accumulated opacity
    depth: torch.Tensor  # [H, W] expected depth (metres) of the Gaussians, 0 where alpha is 0


def camera_tensors(camera: Camera, device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(viewmat [4, 4], K [3, 3])`` of a perspective :class:`~kyara.render.camera.Camera`."""
    import numpy as np
    import torch

    if camera.is_ortho:
        raise ValueError("camera is orthographic, expected a perspective camera for Gaussian splatting")
    dt = dtype or torch.float32
    return (torch.as_tensor(np.asarray(camera.extrinsics), dtype=dt, device=device),
            torch.as_tensor(np.asarray(camera.intrinsics), dtype=dt, device=device))


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """``[N, 4]`` quaternions ``(w, x, y, z)`` (any norm) -> ``[N, 3, 3]`` rotation matrices."""
    import torch

    q = quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], dim=-1).reshape(q.shape[:-1] + (3, 3))


def _check(means, quats, scales, opacities, colors, viewmat, K, width, height):
    n = means.shape[0]
    for name, t, shape in (("means", means, (n, 3)), ("quats", quats, (n, 4)), ("scales", scales, (n, 3)),
                           ("opacities", opacities, (n,)), ("viewmat", viewmat, (4, 4)), ("K", K, (3, 3))):
        if tuple(t.shape) != shape:
            raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
    if colors.ndim != 2 or colors.shape[0] != n:
        raise ValueError(f"colors have shape {tuple(colors.shape)}, expected [{n}, C]")
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 8192:
            raise ValueError(f"{name} {v!r} must be an integer 1..8192 pixels")


def project_gaussians(
    means: torch.Tensor,  # [N, 3] world metres
    quats: torch.Tensor,  # [N, 4] (w, x, y, z), normalised here
    scales: torch.Tensor,  # [N, 3] metres (standard deviations along the local axes)
    opacities: torch.Tensor,  # [N] in [0, 1]
    viewmat: torch.Tensor,  # [4, 4] world -> OpenCV camera
    K: torch.Tensor,  # [3, 3] pixel matrix
    width: int,
    height: int,
    near: float = 0.01,
    eps2d: float = 0.3,
) -> Projected:
    """EWA projection of N 3D Gaussians (step 1 of the module docstring)."""
    import torch

    rot = quat_to_rotmat(quats)  # [N, 3, 3]
    m = rot * scales[:, None, :]  # [N, 3, 3] R S
    cov = m @ m.transpose(1, 2)  # [N, 3, 3] world covariance
    w_rot, t = viewmat[:3, :3], viewmat[:3, 3]
    p = means @ w_rot.T + t  # [N, 3] camera space
    z = p[:, 2]
    zc = z.clamp_min(near)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    lim_x = 1.3 * (0.5 * width / fx)
    lim_y = 1.3 * (0.5 * height / fy)
    tx = zc * torch.minimum(torch.maximum(p[:, 0] / zc, -lim_x), lim_x)
    ty = zc * torch.minimum(torch.maximum(p[:, 1] / zc, -lim_y), lim_y)
    zero = torch.zeros_like(zc)
    jac = torch.stack([fx / zc, zero, -fx * tx / zc ** 2, zero, fy / zc, -fy * ty / zc ** 2], -1).reshape(-1, 2, 3)
    jw = jac @ w_rot  # [N, 2, 3]
    cov2 = jw @ cov @ jw.transpose(1, 2)  # [N, 2, 2]
    a = cov2[:, 0, 0] + eps2d
    b = cov2[:, 0, 1]
    c = cov2[:, 1, 1] + eps2d
    det = (a * c - b * b).clamp_min(1e-12)
    conics = torch.stack([c / det, -b / det, a / det], -1)  # [N, 3]
    means2d = torch.stack([fx * p[:, 0] / zc + cx, fy * p[:, 1] / zc + cy], -1)  # [N, 2]
    with torch.no_grad():
        mid = 0.5 * (a + c)
        lam = mid + (mid * mid - det).clamp_min(0.0).sqrt()  # largest eigenvalue, px^2
        o = opacities.clamp(0.0, 1.0)
        keep = (z > near) & (o > ALPHA_MIN)
        r = torch.where(keep, (2.0 * lam * torch.log((o / ALPHA_MIN).clamp_min(1.0))).sqrt(), zero)
    return Projected(means2d, conics, z, r.detach())


def _blend(local, origin, m2d, conic, opac, color, depth, zsurf, softness):
    """Front-to-back compositing of G tiles: pixels ``origin [G, 2] + local [P, 2]``, per tile K sorted
    Gaussians (``m2d [G, K, 2]``, ``conic [G, K, 3]``, ``opac/depth [G, K]``, ``color [G, K, C]``),
    ``zsurf [G, P]`` or None -> ``(rgb [G, P, C], alpha [G, P], depth sum [G, P])``.

    ``log(o) - d^T conic d / 2`` is a quadratic polynomial in the tile-local pixel ``(x, y)``, so it is
    one batched product ``[1, x, y, x^2, y^2, xy] @ coefficients [G, 6, K]`` (tile-local coordinates
    keep float32 rounding small) instead of a dozen elementwise passes over ``[G, P, K]``."""
    import torch

    mx = m2d[..., 0] - origin[:, None, 0]  # [G, K] tile-local centres
    my = m2d[..., 1] - origin[:, None, 1]
    a, b, c = conic.unbind(-1)
    const = torch.log(opac.clamp_min(1e-30)) - 0.5 * (a * mx * mx + c * my * my) - b * mx * my
    coef = torch.stack([const, a * mx + b * my, c * my + b * mx, -0.5 * a, -0.5 * c, -b], 1)  # [G, 6, K]
    x, y = local[:, 0], local[:, 1]
    feat = torch.stack([torch.ones_like(x), x, y, x * x, y * y, x * y], -1)  # [P, 6]
    alpha = torch.exp(torch.matmul(feat, coef).clamp(max=0.0))  # [G, P, K] o exp(-d^T conic d / 2)
    if zsurf is not None:
        alpha = alpha * torch.sigmoid((zsurf[:, :, None] - depth[:, None, :]) / softness)
    alpha = torch.where(alpha >= ALPHA_MIN, alpha.clamp(max=ALPHA_MAX), torch.zeros_like(alpha))
    log1m = torch.log1p(-alpha)
    cum = torch.cumsum(log1m, dim=-1)
    weight = torch.exp(cum - log1m) * alpha  # [G, P, K] T_i alpha_i
    rgb = torch.matmul(weight, color)  # [G, P, C]
    acc = 1.0 - torch.exp(cum[..., -1])
    dep = torch.matmul(weight, depth[..., None])[..., 0]
    return rgb, acc, dep


def rasterize_gaussians(
    means: torch.Tensor,  # [N, 3] world metres
    quats: torch.Tensor,  # [N, 4] (w, x, y, z)
    scales: torch.Tensor,  # [N, 3] metres
    opacities: torch.Tensor,  # [N] in [0, 1]
    colors: torch.Tensor,  # [N, C]
    viewmat: torch.Tensor,  # [4, 4] world -> OpenCV camera (Camera.extrinsics)
    K: torch.Tensor,  # [3, 3] (Camera.intrinsics)
    width: int,
    height: int,
    surface_depth: torch.Tensor | None = None,  # [H, W] metres of the mesh, inf off the mesh
    depth_softness: float = 0.005,  # metres: width of the soft depth test against surface_depth
    near: float = 0.01,
    eps2d: float = 0.3,
    tile: int = 16,
    max_chunk_elems: int = 1 << 22,
    checkpoint: bool = False,
    backend: str = "auto",
) -> RasterOutput:
    """Splat N Gaussians into one ``width x height`` view (see the module docstring).

    Differentiable in means, quats, scales, opacities and colors (and surface_depth). ``checkpoint``
    recomputes each chunk in the backward pass instead of keeping it (less memory, ~1.5x time).
    ``backend``: ``"torch"`` (this module), ``"gsplat"`` (CUDA, needs gsplat) or ``"auto"`` (gsplat
    on CUDA when importable and no surface_depth is given, else torch).
    """
    import torch

    _check(means, quats, scales, opacities, colors, viewmat, K, width, height)
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is unknown, expected one of {', '.join(BACKENDS)}")
    if surface_depth is not None and tuple(surface_depth.shape) != (height, width):
        raise ValueError(f"surface_depth has shape {tuple(surface_depth.shape)}, expected ({height}, {width})")
    if not (depth_softness > 0 and math.isfinite(depth_softness)):
        raise ValueError(f"depth_softness {depth_softness!r} must be a finite number > 0 metres")
    if backend == "gsplat" or (backend == "auto" and means.is_cuda and surface_depth is None and gsplat_available()):
        if surface_depth is not None:
            raise ValueError("the gsplat backend has no surface depth test, expected backend='torch' "
                             "with surface_depth")
        return rasterize_gsplat(means, quats, scales, opacities, colors, viewmat, K, width, height, near, eps2d)
    proj = project_gaussians(means, quats, scales, opacities, viewmat, K, width, height, near, eps2d)
    n, dev, dt = means.shape[0], means.device, means.dtype
    ntx, nty = -(-width // tile), -(-height // tile)
    n_tiles = ntx * nty
    # 1. (tile, depth) pairs of every Gaussian's cut-off box, sorted by tile then depth
    with torch.no_grad():
        m2, r = proj.means2d.detach(), proj.radii
        ok = r > 0
        px0 = torch.ceil(m2[:, 0] - r).clamp(0, width - 1)
        px1 = torch.floor(m2[:, 0] + r).clamp(-1, width - 1)
        py0 = torch.ceil(m2[:, 1] - r).clamp(0, height - 1)
        py1 = torch.floor(m2[:, 1] + r).clamp(-1, height - 1)
        ok = ok & (px0 <= px1) & (py0 <= py1) & torch.isfinite(m2).all(-1)
        tx0, tx1 = (px0 // tile).long(), (px1 // tile).long()
        ty0, ty1 = (py0 // tile).long(), (py1 // tile).long()
        wt = (tx1 - tx0 + 1).clamp_min(0)
        count = torch.where(ok, wt * (ty1 - ty0 + 1).clamp_min(0), torch.zeros_like(wt))
        gid = torch.repeat_interleave(torch.arange(n, device=dev), count)
        first = torch.cumsum(count, 0) - count
        k = torch.arange(len(gid), device=dev) - first[gid]
        tid = (ty0[gid] + k // wt[gid]) * ntx + tx0[gid] + k % wt[gid]
        rank = torch.empty(n, dtype=torch.long, device=dev)
        rank[torch.argsort(proj.depths.detach(), stable=True)] = torch.arange(n, device=dev)
        order = torch.argsort(tid * (n + 1) + rank[gid])
        gid, tid = gid[order], tid[order]
        per_tile = torch.bincount(tid, minlength=n_tiles)
        start = torch.cumsum(per_tile, 0) - per_tile
    # 2. padded per-tile lists (index n = a transparent dummy), chunk by chunk
    pad = lambda x, v: torch.cat([x, torch.full_like(x[:1], v)], 0)  # noqa: E731
    m2d_x, conic_x = pad(proj.means2d, 0.0), pad(proj.conics, 0.0)
    opac_x, depth_x = pad(opacities.to(dt), 0.0), pad(proj.depths, 1.0)
    color_x = pad(colors, 0.0)
    ly, lx = torch.meshgrid(torch.arange(tile, device=dev), torch.arange(tile, device=dev), indexing="ij")
    local = torch.stack([lx.reshape(-1), ly.reshape(-1)], -1).to(dt)  # [P, 2] pixel offsets in a tile
    zs_full = None
    if surface_depth is not None:
        zs_full = torch.full((nty * tile, ntx * tile), float("inf"), dtype=dt, device=dev)
        zs_full[:height, :width] = surface_depth.to(dt)
        zs_full = zs_full.reshape(nty, tile, ntx, tile).permute(0, 2, 1, 3).reshape(n_tiles, tile * tile)
    # tiles with Gaussians, fewest first, so each chunk pads its lists to a similar length
    with torch.no_grad():
        busy = torch.nonzero(per_tile > 0).flatten()
        busy = busy[torch.argsort(per_tile[busy], stable=True)]
        busy_counts = per_tile[busy].tolist()
    outs = []
    a = 0
    while a < len(busy_counts):
        b = a + 1  # counts ascend: the chunk's longest list is its last tile's
        while b < len(busy_counts) and (b - a + 1) * tile * tile * busy_counts[b] <= max_chunk_elems:
            b += 1
        kmax = busy_counts[b - 1]
        with torch.no_grad():
            tiles = busy[a:b]
            cnt = per_tile[tiles]
            rows = torch.repeat_interleave(torch.arange(b - a, device=dev), cnt)
            cols = torch.arange(int(cnt.sum()), device=dev) - torch.repeat_interleave(torch.cumsum(cnt, 0) - cnt, cnt)
            idx = torch.full((b - a, kmax), n, dtype=torch.long, device=dev)
            idx[rows, cols] = gid[start[tiles][rows] + cols]
            origin = torch.stack([(tiles % ntx) * tile, (tiles // ntx) * tile], -1).to(dt)  # [G, 2]
        zs = zs_full[tiles] if zs_full is not None else None
        args = (local, origin, m2d_x[idx], conic_x[idx], opac_x[idx], color_x[idx], depth_x[idx], zs, depth_softness)
        if checkpoint and torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint as ckpt

            outs.append(ckpt(_blend, *args, use_reentrant=False))
        else:
            outs.append(_blend(*args))
        a = b
    # 3. tiles back into the image (tiles without Gaussians stay 0)
    c = colors.shape[1]
    p = tile * tile
    rgb = torch.zeros(n_tiles, p, c, dtype=dt, device=dev)
    acc = torch.zeros(n_tiles, p, dtype=dt, device=dev)
    dep = torch.zeros(n_tiles, p, dtype=dt, device=dev)
    if outs:
        rgb = rgb.index_copy(0, busy, torch.cat([o[0] for o in outs], 0))
        acc = acc.index_copy(0, busy, torch.cat([o[1] for o in outs], 0))
        dep = dep.index_copy(0, busy, torch.cat([o[2] for o in outs], 0))
    rgb = rgb.reshape(nty, ntx, tile, tile, c).permute(0, 2, 1, 3, 4).reshape(nty * tile, ntx * tile, c)
    acc = acc.reshape(nty, ntx, tile, tile).permute(0, 2, 1, 3).reshape(nty * tile, ntx * tile)
    dep = dep.reshape(nty, ntx, tile, tile).permute(0, 2, 1, 3).reshape(nty * tile, ntx * tile)
    rgb, acc, dep = rgb[:height, :width], acc[:height, :width], dep[:height, :width]
    return RasterOutput(rgb, acc, torch.where(acc > 0, dep / acc.clamp_min(1e-10), torch.zeros_like(dep)))


def rasterize_reference(means, quats, scales, opacities, colors, viewmat, K, width: int, height: int,
                        surface_depth=None, depth_softness: float = 0.005, near: float = 0.01,
                        eps2d: float = 0.3) -> RasterOutput:
    """The slow, obvious rasteriser: for every pixel, every Gaussian in depth order (plain loops;
    tiny scenes only). Same arguments and output as :func:`rasterize_gaussians`."""
    import torch

    _check(means, quats, scales, opacities, colors, viewmat, K, width, height)
    proj = project_gaussians(means, quats, scales, opacities, viewmat, K, width, height, near, eps2d)
    order = torch.argsort(proj.depths.detach(), stable=True).tolist()
    order = [i for i in order if float(proj.depths[i]) > near]
    rgb_rows, acc_rows, dep_rows = [], [], []
    for j in range(height):
        rgb_row, acc_row, dep_row = [], [], []
        for i in range(width):
            t = torch.ones((), dtype=means.dtype)
            rgb = torch.zeros(colors.shape[1], dtype=means.dtype)
            dep = torch.zeros((), dtype=means.dtype)
            for g in order:
                dx, dy = i - proj.means2d[g, 0], j - proj.means2d[g, 1]
                a, b, c = proj.conics[g]
                power = -0.5 * (a * dx * dx + c * dy * dy) - b * dx * dy
                alpha = opacities[g] * torch.exp(torch.clamp(power, max=0.0))
                if surface_depth is not None:
                    alpha = alpha * torch.sigmoid((surface_depth[j, i] - proj.depths[g]) / depth_softness)
                alpha = torch.clamp(alpha, max=ALPHA_MAX)
                if float(alpha) < ALPHA_MIN:
                    continue
                rgb = rgb + t * alpha * colors[g]
                dep = dep + t * alpha * proj.depths[g]
                t = t * (1.0 - alpha)
            rgb_row.append(rgb)
            acc_row.append(1.0 - t)
            dep_row.append(dep)
        rgb_rows.append(torch.stack(rgb_row))
        acc_rows.append(torch.stack(acc_row))
        dep_rows.append(torch.stack(dep_row))
    rgb, acc, dep = torch.stack(rgb_rows), torch.stack(acc_rows), torch.stack(dep_rows)
    return RasterOutput(rgb, acc, torch.where(acc > 0, dep / acc.clamp_min(1e-10), torch.zeros_like(dep)))


def composite_over(out: RasterOutput, base: torch.Tensor) -> torch.Tensor:
    """The Gaussians over a mesh render ``base [H, W, C]`` (background included): ``color + (1 -
    alpha) base``. Rasterise with the mesh's ``surface_depth`` so Gaussians behind the surface vanish."""
    if tuple(base.shape) != tuple(out.color.shape):
        raise ValueError(f"base has shape {tuple(base.shape)}, expected {tuple(out.color.shape)}")
    return out.color + (1.0 - out.alpha)[..., None] * base


def gsplat_available() -> bool:
    """True when ``gsplat`` imports (it compiles its CUDA kernels on first use)."""
    try:
        import gsplat  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return True


def rasterize_gsplat(means, quats, scales, opacities, colors, viewmat, K, width: int, height: int,
                     near: float = 0.01, eps2d: float = 0.3) -> RasterOutput:
    """The same view through gsplat 1.5's CUDA rasteriser (``rasterization``, classic mode,
    ``RGB+ED``). gsplat puts pixel centres at +0.5, so ``K``'s principal point moves by half a pixel."""
    import torch

    from kyara.errors import require_extra

    require_extra(("gsplat",), "the gsplat Gaussian rasteriser", "gaussians", "gsplat")
    from gsplat import rasterization

    k = K.clone()
    k[0, 2] += 0.5
    k[1, 2] += 0.5
    img, alpha, _ = rasterization(means, quats, scales, opacities, colors, viewmat[None], k[None], width, height,
                                  near_plane=near, eps2d=eps2d, render_mode="RGB+ED", packed=False,
                                  rasterize_mode="classic")
    acc = alpha[0, ..., 0]
    return RasterOutput(img[0, ..., :-1], acc, torch.where(acc > 0, img[0, ..., -1], torch.zeros_like(acc)))
