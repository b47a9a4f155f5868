"""The layer of surface-bound Gaussians: seeding, rendering over a mesh, densification, pruning and
the score-distillation loop.

A :class:`GaussianLayer` holds N Gaussians bound to the triangles of one mesh
(:mod:`kyara.gaussians.binding`): fixed ``triangles``/``barycentrics`` and the optimised
``offsets`` (metres, triangle frame), ``log_scales`` (log metres), ``quats`` (local rotation
``(w, x, y, z)``), ``opacity_logits`` (opacity = sigmoid) and ``colors`` (RGB in [0, 1], the renders' own colour space).

:func:`seed_layer` puts ``config.count`` Gaussians on the surface (area-weighted, seeded), small,
faint and on the surface. :func:`optimize_layer` runs score distillation on composited renders:
for every iteration it draws pool views, timesteps and noise with
:func:`kyara.refine.optimize.iteration_draws` (the texture loop's randomness, same ``RefineConfig``
knobs), renders the layer over the fixed mesh render of each view with the mesh's depth
(:func:`render_layer`, :func:`~kyara.gaussians.rasterize.composite_over`), and steps Adam on the
layer with :func:`kyara.refine.sds.sds_loss` / :func:`~kyara.refine.sds.ism_loss`.

Densification and pruning (:class:`GaussianConfig`, off / on by default, 3DGS-style):

* every ``densify_every`` iterations from ``densify_from`` to ``densify_until``, Gaussians whose
  mean offset-gradient norm (metres^-1, averaged over the iterations that saw them) exceeds
  ``grad_threshold`` are **cloned** (a copy at the same place) when their largest scale is at most
  ``split_scale`` metres, else **split** (two copies at points drawn from the Gaussian, scales / 1.6);
  at most ``max_count`` Gaussians in all;
* at the same times Gaussians with opacity below ``prune_opacity`` are **pruned** (``prune``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.gaussians.rasterize import RasterOutput
    from kyara.refine.optimize import RefineConfig
    from kyara.refine.sds import NoisePredictor
    from kyara.render.camera import Camera


@dataclass(frozen=True)
class GaussianConfig:
    """Knobs of the Gaussian layer (seeding, learning rates, densification, pruning)."""

    count: int = 2000  # Gaussians seeded on the surface
    seed: int = 0
    init_scale: float | None = None  # metres; None: 0.5 sqrt(surface area / count)
    init_opacity: float = 0.1
    init_color: tuple[float, float, float] | None = None  # None: the colours given to seed_layer, else grey
    lr_offset: float = 0.003  # Adam, metres per step
    lr_scale: float = 0.02  # log metres per step
    lr_rotation: float = 0.01
    lr_opacity: float = 0.05  # logits per step
    lr_color: float = 0.02
    max_offset: float = 0.5  # metres: offsets are clamped to this length
    max_scale: float = 0.2  # metres: scales are clamped to this
    depth_softness: float = 0.005  # metres: the soft depth test against the mesh
    densify: bool = False
    densify_from: int = 20
    densify_until: int = 10_000
    densify_every: int = 20
    grad_threshold: float = 2e-4  # mean |d loss / d offset| that triggers clone/split
    split_scale: float = 0.02  # metres: larger Gaussians split, smaller ones clone
    max_count: int = 100_000
    prune: bool = True
    prune_opacity: float = 0.01

    def __post_init__(self) -> None:
        for name in ("count", "densify_every", "max_count"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} {v!r} must be an integer >= 1")
        for name in ("lr_offset", "lr_scale", "lr_rotation", "lr_opacity", "lr_color", "grad_threshold",
                     "prune_opacity"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} {v!r} must be a finite number >= 0")
        for name in ("max_offset", "max_scale", "depth_softness", "split_scale"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} {v!r} must be a finite number > 0")
        if not 0.0 < self.init_opacity < 1.0:
            raise ValueError(f"init_opacity {self.init_opacity!r} must be in (0, 1)")
        if self.init_scale is not None and not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise ValueError(f"init_scale {self.init_scale!r} must be a finite number > 0 metres")


@dataclass(eq=False)
class GaussianLayer:
    """N Gaussians bound to one mesh (see the module docstring); tensors on one device."""

    triangles: torch.Tensor  # [N] int64
    barycentrics: torch.Tensor  # [N, 3]
    offsets: torch.Tensor  # [N, 3] metres, triangle frame
    log_scales: torch.Tensor  # [N, 3] log metres
    quats: torch.Tensor  # [N, 4] (w, x, y, z) in the triangle frame
    opacity_logits: torch.Tensor  # [N]
    colors: torch.Tensor  # [N, 3] RGB in [0, 1] (the renders' colour space)
    signature: str  # kyara.gaussians.binding.mesh_signature of the mesh

    PARAMS = ("offsets", "log_scales", "quats", "opacity_logits", "colors")

    def __len__(self) -> int:
        return int(self.triangles.shape[0])

    def params(self) -> list[torch.Tensor]:
        return [getattr(self, n) for n in self.PARAMS]

    def to(self, device) -> "GaussianLayer":
        """The layer on ``device`` (detached copies)."""
        names = ("triangles", "barycentrics") + self.PARAMS
        return replace(self, **{n: getattr(self, n).detach().to(device).clone() for n in names})

    def detached(self) -> "GaussianLayer":
        return replace(self, **{n: getattr(self, n).detach().clone() for n in self.PARAMS})

    def select(self, keep: torch.Tensor) -> "GaussianLayer":
        """The Gaussians ``keep`` (a [N] bool mask or indices), detached."""
        names = ("triangles", "barycentrics") + self.PARAMS
        return replace(self, **{n: getattr(self, n).detach()[keep].clone() for n in names})

    def concat(self, other: "GaussianLayer") -> "GaussianLayer":
        import torch

        names = ("triangles", "barycentrics") + self.PARAMS
        return replace(self, **{n: torch.cat([getattr(self, n).detach(), getattr(other, n).detach()]) for n in names})


def seed_layer(vertices: np.ndarray, faces: np.ndarray, config: GaussianConfig | None = None,
               colors: np.ndarray | None = None, allowed: np.ndarray | None = None) -> GaussianLayer:
    """``config.count`` Gaussians on the mesh ``(vertices [V, 3] metres, faces [F, 3])``, area-weighted
    and seeded by ``config.seed``; isotropic, ``init_opacity``, offset 0. ``colors [V, 3]`` in [0, 1]
    (per vertex, interpolated) give their first colours; ``allowed [F]`` bool limits the triangles."""
    import torch

    from kyara.gaussians.binding import mesh_signature, sample_surface

    cfg = config or GaussianConfig()
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise ValueError(f"mesh has vertices {v.shape} and faces {f.shape}, expected [V, 3] and [F, 3]")
    if f.min() < 0 or f.max() >= len(v):
        raise ValueError(f"faces index vertices 0..{f.max()}, the mesh has {len(v)}")
    tris, bary = sample_surface(v, f, cfg.count, cfg.seed, allowed)
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1).sum()
    s = cfg.init_scale or 0.5 * float(np.sqrt(area / cfg.count))
    n = len(tris)
    if cfg.init_color is not None:
        col = np.tile(np.asarray(cfg.init_color, np.float64), (n, 1))
    elif colors is not None:
        c = np.asarray(colors, np.float64)
        if c.shape != (len(v), 3):
            raise ValueError(f"colors have shape {c.shape}, expected ({len(v)}, 3)")
        col = np.einsum("nk,nkc->nc", bary, c[f[tris]])
    else:
        col = np.full((n, 3), 0.5)
    logit = float(np.log(cfg.init_opacity / (1.0 - cfg.init_opacity)))
    t = lambda a, dt=torch.float32: torch.as_tensor(np.asarray(a), dtype=dt)  # noqa: E731
    return GaussianLayer(t(tris, torch.int64), t(bary), torch.zeros(n, 3), torch.full((n, 3), float(np.log(s))),
                         t(np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))), torch.full((n,), logit),
                         t(np.clip(col, 0.0, 1.0)), mesh_signature(f))


def layer_world(layer: GaussianLayer, vertices: torch.Tensor, faces: torch.Tensor):
    """``(means [N, 3], quats [N, 4], scales [N, 3], opacities [N], colors [N, 3])`` in the world of
    the posed mesh ``vertices [V, 3]`` (differentiable in the layer's parameters)."""
    import torch

    from kyara.gaussians.binding import bound_gaussians

    v = torch.as_tensor(vertices, dtype=layer.offsets.dtype, device=layer.offsets.device)
    f = torch.as_tensor(np.asarray(faces, np.int64) if not torch.is_tensor(faces) else faces, device=v.device)
    means, quats = bound_gaussians(v, f, layer.triangles, layer.barycentrics, layer.offsets, layer.quats)
    return (means, quats, layer.log_scales.exp(), torch.sigmoid(layer.opacity_logits),
            layer.colors.clamp(0.0, 1.0))


def render_layer(layer: GaussianLayer, vertices, faces, camera: Camera, surface_depth=None,
                 depth_softness: float = 0.005, **kwargs) -> RasterOutput:
    """The layer on the posed mesh ``vertices [V, 3]`` seen by a perspective ``camera``; with the
    mesh's ``surface_depth [H, W]`` (metres, inf off the mesh) Gaussians behind the surface vanish.
    ``kwargs`` go to :func:`~kyara.gaussians.rasterize.rasterize_gaussians`."""
    import torch

    from kyara.gaussians.rasterize import camera_tensors, rasterize_gaussians

    means, quats, scales, opac, cols = layer_world(layer, vertices, faces)
    vm, k = camera_tensors(camera, means.device, means.dtype)
    zs = None if surface_depth is None else torch.as_tensor(surface_depth, dtype=means.dtype, device=means.device)
    return rasterize_gaussians(means, quats, scales, opac, cols, vm, k, camera.width, camera.height,
                               surface_depth=zs, depth_softness=depth_softness, **kwargs)


def densify_and_prune(layer: GaussianLayer, grad_mean: torch.Tensor, config: GaussianConfig,
                      generator=None) -> GaussianLayer:
    """Clone / split the Gaussians whose mean offset gradient ``grad_mean [N]`` exceeds
    ``config.grad_threshold`` and prune the faint ones (see the module docstring). Detached."""
    import torch

    from kyara.gaussians.rasterize import quat_to_rotmat

    cfg = config
    base = layer.detached()
    opac = torch.sigmoid(base.opacity_logits)
    keep = opac >= cfg.prune_opacity if cfg.prune else torch.ones(len(base), dtype=torch.bool, device=opac.device)
    grow = (grad_mean > cfg.grad_threshold) & keep
    room = max(cfg.max_count - int(keep.sum()), 0)
    idx = torch.nonzero(grow).flatten()
    if len(idx) > room:  # the strongest gradients first
        idx = idx[torch.argsort(grad_mean[idx], descending=True)[:room]]  # each adds one Gaussian
    big = base.log_scales[idx].exp().max(-1).values > cfg.split_scale
    clone = base.select(idx[~big])
    split_src = idx[big]
    out = base.select(keep)
    if len(split_src):
        kept_split = keep.clone()
        kept_split[split_src] = False  # the split Gaussians are replaced by their two children
        out = base.select(kept_split)
        parts = []
        for _ in range(2):
            child = base.select(split_src)
            s = child.log_scales.exp()
            rot = quat_to_rotmat(child.quats)
            step = (rot @ (s * torch.randn(s.shape, generator=generator).to(s.device))[..., None])[..., 0]
            child.offsets = child.offsets + step
            child.log_scales = child.log_scales - float(np.log(1.6))
            parts.append(child)
        out = out.concat(parts[0]).concat(parts[1])
    if len(clone):
        out = out.concat(clone)
    return out


@dataclass(frozen=True)
class LayerResult:
    """An optimised layer and how the run went."""

    layer: GaussianLayer  # detached
    sds_grad_norm: np.ndarray  # [iters] RMS of the score-distillation gradient per iteration
    counts: np.ndarray  # [iters] Gaussians after each iteration
    seconds: float
    history: list = field(default_factory=list)  # (iteration, cloned + split, pruned) per densification


def optimize_layer(layer: GaussianLayer, vertices, faces, cameras: Sequence[Camera], base, surface_depth,
                   predictor: NoisePredictor, encoder: Callable | None = None, refine: RefineConfig | None = None,
                   config: GaussianConfig | None = None,
                   on_step: Callable[[int, GaussianLayer], None] | None = None, device=None) -> LayerResult:
    """Optimise ``layer`` on the posed mesh ``vertices [V, 3]`` (or ``[M, V, 3]``: one pose per pool
    view, e.g. the posed stage's views) / ``faces [F, 3]`` by score distillation
    over the pool ``cameras`` (M perspective views of one size): ``base [M, H, W, C]`` are the mesh
    renders (background included, fixed) and ``surface_depth [M, H, W]`` their depth (metres, inf off
    the mesh). Every iteration renders ``refine.views_per_iter`` pool views of the layer composited
    over ``base`` and applies ``refine.method`` against ``predictor(x_t, t, view)`` through
    ``encoder`` (renders ``[B, C, H, W]`` -> latents; None: identity). ``refine`` supplies iterations,
    seed, timesteps and weighting (:class:`kyara.refine.optimize.RefineConfig`; its texture knobs are
    unused); ``config`` the layer's learning rates, densification and pruning. ``device``: where the layer,
    the renders and the loop live (None: the CPU); the draws of views, timesteps and noise are made on
    the CPU as in the texture loop, so a seed gives the same draws anywhere. The layer comes back on the CPU."""
    import torch

    from kyara.gaussians.rasterize import composite_over
    from kyara.refine.optimize import RefineConfig, iteration_draws
    from kyara.refine.sds import alphas_cumprod, ism_loss, sds_loss

    rc = refine or RefineConfig()
    cfg = config or GaussianConfig()
    cams = list(cameras)
    m = len(cams)
    dev = torch.device(device or "cpu")
    base_t = torch.as_tensor(np.asarray(base) if not torch.is_tensor(base) else base, dtype=torch.float32).to(dev)
    depth_t = torch.as_tensor(np.asarray(surface_depth) if not torch.is_tensor(surface_depth) else surface_depth,
                              dtype=torch.float32).to(dev)
    if m == 0 or base_t.ndim != 4 or base_t.shape[0] != m or tuple(depth_t.shape) != tuple(base_t.shape[:3]):
        raise ValueError(f"base {tuple(base_t.shape)} and surface_depth {tuple(depth_t.shape)} do not match "
                         f"{m} cameras, expected [M, H, W, C] and [M, H, W]")
    h, w = base_t.shape[1:3]
    if any((c.width, c.height) != (w, h) for c in cams):
        raise ValueError(f"cameras differ from the renders' size {w}x{h}")
    verts = torch.as_tensor(np.asarray(vertices), dtype=torch.float32).to(dev)
    if verts.ndim == 2:
        verts = verts.expand(m, -1, -1)
    if verts.ndim != 3 or verts.shape[0] != m or verts.shape[2] != 3:
        raise ValueError(f"vertices have shape {tuple(verts.shape)}, expected [V, 3] or [{m}, V, 3]")
    f = torch.as_tensor(np.asarray(faces, np.int64)).to(dev)
    from kyara.gaussians.binding import check_mesh

    check_mesh(layer.signature, np.asarray(faces), verts.shape[1])
    enc = encoder or (lambda x: x)
    acp = alphas_cumprod().to(dev)
    cur = layer.to(dev)

    def make_opt(lay):
        for p in lay.params():
            p.requires_grad_(True)
        lrs = (cfg.lr_offset, cfg.lr_scale, cfg.lr_rotation, cfg.lr_opacity, cfg.lr_color)
        return torch.optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(lay.params(), lrs)], eps=1e-15)

    opt = make_opt(cur)
    gsum = torch.zeros(len(cur), device=dev)
    gcnt = torch.zeros(len(cur), device=dev)
    rms = np.zeros(rc.iters)
    counts = np.zeros(rc.iters, np.int64)
    history = []
    gen = torch.Generator().manual_seed(int(cfg.seed) + 7919)
    start = time.perf_counter()
    for i in range(rc.iters):
        views, t, g = iteration_draws(rc.seed, i, m, rc)
        views_d, t_d = views.to(dev), t.to(dev)
        opt.zero_grad(set_to_none=True)
        imgs = []
        for v in views.tolist():
            out = render_layer(cur, verts[v], f, cams[v], depth_t[v], cfg.depth_softness)
            imgs.append(composite_over(out, base_t[v]).permute(2, 0, 1))
        img = torch.stack(imgs)  # [B, C, H, W]
        z = enc(img)
        if rc.method == "sds":
            res = sds_loss(z, predictor, t_d, torch.randn(z.shape, generator=g).to(dev), views_d, acp, rc.weighting)
        else:
            res = ism_loss(z, predictor, t_d, views_d, acp, rc.ism_delta_t, rc.ism_steps, rc.weighting)
        (rc.sds_weight * res.loss).backward()
        rms[i] = float(res.grad.pow(2).mean().sqrt())
        with torch.no_grad():
            gn = cur.offsets.grad.norm(dim=-1) if cur.offsets.grad is not None else torch.zeros(len(cur), device=dev)
            gsum += gn
            gcnt += (gn > 0).float()
        opt.step()
        with torch.no_grad():
            norm = cur.offsets.norm(dim=-1, keepdim=True)
            cur.offsets.mul_(torch.clamp(cfg.max_offset / norm.clamp_min(1e-12), max=1.0))
            cur.log_scales.clamp_(max=float(np.log(cfg.max_scale)))
            cur.colors.clamp_(0.0, 1.0)
        due = (i + 1) % cfg.densify_every == 0 and cfg.densify_from <= i + 1 <= cfg.densify_until
        if due and (cfg.densify or cfg.prune):
            n0 = len(cur)
            grads = gsum / gcnt.clamp_min(1.0)
            if not cfg.densify:
                grads = torch.zeros_like(grads)
            new = densify_and_prune(cur, grads, cfg, gen)
            if len(new) == 0:  # never prune the layer away entirely
                new = cur.detached()
            pruned = int((torch.sigmoid(cur.opacity_logits.detach()) < cfg.prune_opacity).sum()) if cfg.prune else 0
            history.append((i + 1, len(new) - n0 + pruned, pruned))
            cur = new
            opt = make_opt(cur)
            gsum = torch.zeros(len(cur), device=dev)
            gcnt = torch.zeros(len(cur), device=dev)
        counts[i] = len(cur)
        if on_step is not None:
            on_step(i, cur)
    return LayerResult(cur.to("cpu"), rms, counts, time.perf_counter() - start, history)
