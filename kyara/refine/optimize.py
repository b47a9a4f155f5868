"""The refinement loop: Adam on a texture, score distillation and the cel-shading loss over sampled cameras.

Cameras follow DreamWaltz-G's distribution (:func:`kyara.render.camera.sample_orbit_cameras` with its
defaults: polar angle 60-120 degrees = elevation -30..30, any azimuth, radius 1-2 body heights, field
of view 40-70 degrees, 20 % face close-ups at 0.25-0.5 body heights). :func:`refine_cameras` draws a
POOL of such cameras; their buffers (:func:`kyara.paint.buffers.render_buffers`) are rendered once,
and every iteration draws ``views_per_iter`` of them.

**Posed stage.** The pool may end with ``posed`` views of the character in other (preset) poses,
rendered by the same renderer from their own cameras (:func:`kyara.refine.avatar.refine_pool`).
The first :func:`posed_start` iterations draw from the rest-pose views only; the last
``round(posed_fraction * iters)`` draw from the posed views only (the avatar must hold up animated).

One iteration (:func:`refine_step` is the pure part):

1. draw view indices, timesteps (:class:`~kyara.refine.sds.TimestepSchedule` at progress
   ``i / iters``) and noise from a ``torch.Generator`` seeded by ``(seed, i)`` alone
   (:func:`iteration_draws`), so iteration ``i`` draws the same whether or not the run was resumed
   (:mod:`kyara.refine.recipe` runs the loop in :mod:`kyara.train`'s harness);
2. render the views of the texture (:func:`kyara.refine.texture.lookup`, optionally shaded by
   :func:`~kyara.refine.texture.headlight_toon`);
3. ``loss = sds_weight * SDS(encoder(render)) + cel_weight * E_cel(render)``
   (:mod:`kyara.refine.sds`, :mod:`kyara.refine.cel`);
4. an Adam step on the texture, then the texture is clamped to ``clamp`` (albedo stays in [0, 1]).

Deterministic for a seed on CPU (same texture bit for bit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from kyara.refine.cel import CelConfig
from kyara.refine.sds import DREAMWALTZ_G, METHODS, NoisePredictor, TimestepSchedule
from kyara.render.toon import ToonStyle

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.paint.buffers import ViewBuffers
    from kyara.refine.shading import Frames
    from kyara.render.camera import OrbitViews

Encoder = Callable[["torch.Tensor"], "torch.Tensor"]  # images [B, C, H, W] -> latents [B, C', h, w]
SHADINGS = ("none", "headlight", "toon")


def refine_cameras(vertices: np.ndarray, n: int, size: tuple[int, int], seed: int = 0,
                   face_center=None) -> OrbitViews:
    """A pool of ``n`` DreamWaltz-G cameras around a mesh posed at ``vertices [V, 3]`` (metres), for
    ``size`` (width, height) pixel views (:func:`kyara.render.camera.sample_orbit_cameras` defaults)."""
    from kyara.render.camera import sample_orbit_cameras

    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"vertices have shape {v.shape}, expected a finite [V, 3] array")
    return sample_orbit_cameras(n, seed, v.min(axis=0), v.max(axis=0), size, face_center=face_center)


@dataclass(frozen=True)
class RefineConfig:
    """Knobs of :func:`refine_texture`."""

    iters: int = 300
    views_per_iter: int = 4
    lr: float = 0.01  # Adam learning rate, texture units per step
    betas: tuple[float, float] = (0.9, 0.99)
    seed: int = 0
    method: str = "sds"  # "sds" or "ism" (interval score matching)
    schedule: TimestepSchedule = DREAMWALTZ_G
    weighting: str = "sds"  # w(t): "sds" (1 - a_t) or "uniform"
    ism_delta_t: int = 50
    ism_steps: int = 2
    sds_weight: float = 1.0
    cel_weight: float = 0.0  # 0: no cel-shading term
    cel: CelConfig = field(default_factory=CelConfig)
    # how renders are shaded before the encoder and the cel loss: "none" (albedo), "headlight"
    # (headlight_toon from the buffers' cosine) or "toon" (toon_shade with `toon`, normal-mapped when a
    # normal texture is refined; needs the pool's surface frames)
    shading: str = "none"
    toon: ToonStyle = field(default_factory=lambda: ToonStyle(rim_color=(0.0, 0.0, 0.0), shading_toony=0.3))
    shade_factor: float = 0.6  # toon shading: shade colour = albedo * this
    background: float = 0.5  # value of the pixels off the mesh
    clamp: tuple[float, float] | None = (0.0, 1.0)  # texture range after every step; None = free
    posed_fraction: float = 0.0  # last fraction of the iterations drawn from the pool's posed views

    def __post_init__(self) -> None:
        for name in ("iters", "views_per_iter", "ism_delta_t", "ism_steps"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} {v!r} must be an integer >= 1")
        if self.shading not in SHADINGS:
            raise ValueError(f"shading {self.shading!r} is unknown, expected one of {', '.join(SHADINGS)}")
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} is unknown, expected one of {', '.join(METHODS)}")
        for name in ("lr", "sds_weight", "cel_weight"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} {v!r} must be a finite number >= 0")
        if not 0.0 <= self.posed_fraction <= 1.0:
            raise ValueError(f"posed_fraction {self.posed_fraction!r} must be a number in [0, 1]")


@dataclass(frozen=True)
class RefineResult:
    """A refined texture and how the run went."""

    texture: torch.Tensor  # [C, T, T] float32, detached
    normal: torch.Tensor | None  # [3, T', T'] the refined normal texture (None when none was refined)
    sds_grad_norm: np.ndarray  # [iters] RMS of the score-distillation gradient per iteration
    cel: np.ndarray  # [iters] E_cel per iteration (0 when cel_weight is 0)
    seconds: float


def posed_start(config: RefineConfig, posed: int = 0) -> int:
    """The first iteration of the posed stage: ``iters - round(posed_fraction * iters)`` (half up);
    ``iters`` (no posed stage) when the pool has no posed views."""
    if posed <= 0:
        return config.iters
    return config.iters - int(np.floor(config.posed_fraction * config.iters + 0.5))


def check_posed(pool: int, posed: int, config: RefineConfig) -> None:
    """Raise ``ValueError`` unless ``posed`` trailing views of a ``pool``-view pool fit ``config``."""
    if isinstance(posed, bool) or not isinstance(posed, int) or not 0 <= posed < pool:
        raise ValueError(f"posed views {posed!r} must be an integer in 0..{pool - 1} (the pool has {pool} views "
                         "and needs one in the rest pose)")
    if config.posed_fraction > 0 and posed == 0:
        raise ValueError(f"posed_fraction {config.posed_fraction} needs posed views at the end of the pool, "
                         "it has none")


def iteration_draws(seed: int, i: int, pool: int, config: RefineConfig, posed: int = 0):
    """Iteration ``i``'s randomness, a pure function of ``(seed, i)``: ``(views [B] int64 pool indices,
    t [B] int64 timesteps, generator)`` with ``B = config.views_per_iter``; the generator then draws
    the SDS noise. The pool's last ``posed`` views are drawn from (only) in the posed stage
    (:func:`posed_start`), the others before it."""
    import torch

    from kyara.refine.sds import sample_timesteps

    state = int(np.random.SeedSequence([int(seed), int(i)]).generate_state(2, np.uint64)[0] >> 1)
    gen = torch.Generator().manual_seed(state)
    rest = int(pool) - int(posed)
    lo, hi = (rest, int(pool)) if i >= posed_start(config, posed) else (0, rest)
    views = torch.randint(lo, hi, (config.views_per_iter,), generator=gen)
    t = sample_timesteps(config.schedule, config.views_per_iter, i / max(config.iters - 1, 1), gen)
    return views, t, gen


@dataclass(frozen=True, eq=False)
class Pool:
    """The camera pool as tensors (M views of H x W)."""

    uv: torch.Tensor  # [M, H, W, 2] glTF UV
    visible: torch.Tensor  # [M, H, W] bool
    cosine: torch.Tensor  # [M, H, W]
    part: torch.Tensor  # [M, H, W] int64
    frames: tuple | None = None  # (normal, tangent, bitangent) each [M, 3, H, W] world, or None
    rotation: torch.Tensor | None = None  # [M, 3, 3] world -> camera (Camera.view) rotations, with frames


def pool_to(pool: Pool, device) -> Pool:
    """``pool`` with every tensor on ``device`` (the loop runs where the model runs)."""
    fr = None if pool.frames is None else tuple(f.to(device) for f in pool.frames)
    return Pool(pool.uv.to(device), pool.visible.to(device), pool.cosine.to(device), pool.part.to(device), fr,
                None if pool.rotation is None else pool.rotation.to(device))


def make_pool(buffers: ViewBuffers, frames: Frames | None = None) -> Pool:
    """:class:`Pool` of :class:`~kyara.paint.buffers.ViewBuffers` and, for ``shading="toon"``, the same
    cameras' :class:`~kyara.refine.shading.Frames` (:func:`kyara.refine.shading.render_frames`)."""
    import torch

    from kyara.refine.texture import buffers_to_torch

    uv, vis = buffers_to_torch(buffers)
    fr = rot = None
    if frames is not None:
        if not np.array_equal(frames.visible, buffers.visible):
            raise ValueError("frames and buffers differ in which pixels show the mesh: render both from one "
                             "mesh and the same cameras")
        fr = tuple(torch.as_tensor(np.asarray(a)).permute(0, 3, 1, 2).contiguous()
                   for a in (frames.normal, frames.tangent, frames.bitangent))
        rot = torch.as_tensor(np.stack([np.asarray(c.view, np.float64)[:3, :3] for c in buffers.cameras]),
                              dtype=torch.float32)
    return Pool(uv, vis, torch.as_tensor(np.asarray(buffers.cosine), dtype=torch.float32),
                torch.as_tensor(np.asarray(buffers.part), dtype=torch.int64), fr, rot)


def render_pool(texture: torch.Tensor, normal: torch.Tensor | None, pool: Pool, views: torch.Tensor,
                config: RefineConfig) -> torch.Tensor:
    """The shaded renders ``[B, C, H, W]`` of pool views ``views [B]`` (``config.shading``); ``normal``
    ``[3, T', T']`` is the tangent-space normal texture of ``"toon"`` shading (None: the surface normals)."""
    import torch

    from kyara.refine.shading import perturb_normals, toon_shade
    from kyara.refine.texture import headlight_toon, lookup

    vis = pool.visible[views]
    img = lookup(texture, pool.uv[views], vis, config.background)  # [B, C, H, W]
    if config.shading == "headlight":
        return headlight_toon(img, pool.cosine[views])
    if config.shading == "toon":
        if pool.frames is None:
            raise ValueError('shading="toon" needs the pool\'s surface frames (make_pool(buffers, frames))')
        nrm, tan, bit = (f[views] for f in pool.frames)
        if normal is not None:
            nrm = perturb_normals(nrm, tan, bit, lookup(normal, pool.uv[views], vis, 0.5))
        cam = torch.einsum("nij,njhw->nihw", pool.rotation[views], nrm)
        lit = toon_shade(cam, img, img * config.shade_factor, config.toon)
        bg = torch.full_like(img, config.background)
        return torch.where(vis.unsqueeze(1), lit, bg)
    return img


def refine_step(texture: torch.Tensor, normal: torch.Tensor | None, pool: Pool, views: torch.Tensor,
                t: torch.Tensor, noise_fn: Callable, predictor: NoisePredictor, encoder: Encoder,
                acp: torch.Tensor, config: RefineConfig) -> tuple[torch.Tensor, float, float]:
    """The loss of one iteration on the pool views ``views [B]`` at timesteps ``t [B]``:
    ``(loss, sds_rms, cel)``. ``noise_fn(shape)`` draws the SDS noise once the latents' shape is known."""
    from kyara.refine.cel import cel_loss
    from kyara.refine.sds import ism_loss, sds_loss

    vis = pool.visible[views]
    img = render_pool(texture, normal, pool, views, config)
    loss = img.sum() * 0.0
    rms = 0.0
    if config.sds_weight > 0:
        z = encoder(img)
        if config.method == "sds":
            out = sds_loss(z, predictor, t, noise_fn(z.shape), views, acp, config.weighting)
        else:
            out = ism_loss(z, predictor, t, views, acp, config.ism_delta_t, config.ism_steps, config.weighting)
        loss = loss + config.sds_weight * out.loss
        rms = float(out.grad.pow(2).mean().sqrt())
    cel = 0.0
    if config.cel_weight > 0:
        terms = cel_loss(img, vis, pool.part[views], config.cel)
        loss = loss + config.cel_weight * terms.total
        cel = float(terms.total.detach())
    return loss, rms, cel


def refine_texture(texture: np.ndarray | torch.Tensor, buffers: ViewBuffers, predictor: NoisePredictor,
                   encoder: Encoder | None = None, config: RefineConfig | None = None,
                   on_step: Callable[[int, torch.Tensor], None] | None = None,
                   normal: np.ndarray | torch.Tensor | None = None, frames: Frames | None = None,
                   posed: int = 0) -> RefineResult:
    """Refine ``texture [C, T, T]`` (channels first, glTF rows) seen through the pool ``buffers``
    (:class:`~kyara.paint.buffers.ViewBuffers`, M views) against ``predictor(x_t, t, view) -> eps``,
    ``view`` the pool index of each latent; ``encoder`` maps renders to latents (None: identity).
    With ``shading="toon"``, ``frames`` are the pool's surface frames and ``normal [3, T', T']`` (in
    [0, 1], flat = (0.5, 0.5, 1)) a tangent-space normal texture refined alongside.
    ``posed``: how many of the pool's views (its last ones) show the character in other poses, drawn
    from in the last ``config.posed_fraction`` of the iterations (module docstring).
    ``on_step(i, texture)`` is called after each step (progress, checkpoints)."""
    import torch

    from kyara.refine.sds import alphas_cumprod

    cfg = config or RefineConfig()
    tex = _texture(texture, "texture")
    if cfg.cel_weight > 0 and tex.shape[0] not in (1, 3):
        raise ValueError(f"the cel-shading loss needs 1 or 3 channels, the texture has {tex.shape[0]}")
    nrm = None
    if normal is not None:
        nrm = _texture(normal, "normal texture")
        if nrm.shape[0] != 3 or cfg.shading != "toon" or tex.shape[0] != 3:
            raise ValueError(f"a normal texture needs 3 channels (has {nrm.shape[0]}), shading='toon' "
                             f"(is {cfg.shading!r}) and an RGB albedo (has {tex.shape[0]} channels)")
    pool = make_pool(buffers, frames)
    m = pool.visible.shape[0]
    check_posed(m, posed, cfg)
    enc = encoder or (lambda x: x)
    acp = alphas_cumprod()
    params = [tex] + ([nrm] if nrm is not None else [])
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas)
    rms = np.zeros(cfg.iters)
    cel = np.zeros(cfg.iters)
    start = time.perf_counter()
    for i in range(cfg.iters):
        views, t, gen = iteration_draws(cfg.seed, i, m, cfg, posed)
        opt.zero_grad(set_to_none=True)
        loss, rms[i], cel[i] = refine_step(tex, nrm, pool, views, t,
                                           lambda shape, g=gen: torch.randn(shape, generator=g),
                                           predictor, enc, acp, cfg)
        loss.backward()
        opt.step()
        with torch.no_grad():
            if cfg.clamp is not None:
                tex.clamp_(*cfg.clamp)
            if nrm is not None:
                nrm.clamp_(0.0, 1.0)
        if on_step is not None:
            on_step(i, tex.detach())
    return RefineResult(tex.detach(), None if nrm is None else nrm.detach(), rms, cel, time.perf_counter() - start)


def _texture(texture, name: str):
    import torch

    t = torch.as_tensor(np.asarray(texture) if not torch.is_tensor(texture) else texture.detach(),
                        dtype=torch.float32).clone()
    if t.ndim != 3 or t.shape[1] != t.shape[2] or not torch.isfinite(t).all():
        raise ValueError(f"{name} has shape {tuple(t.shape)}, expected a finite [C, T, T] array")
    return t
