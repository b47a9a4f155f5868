"""Synchronized multi-view sampling (SyncMVD-style) over one UV texture, for any noise predictor.

The sampler is generic: ``eps(x [N, C, H, W] float32, t, step) -> [N, C, H, W]`` predicts the noise
of N views at train timestep ``t`` (a diffusion U-Net with its prompts and conditions, or a stand-in
in the tests), and a DDIM schedule written here (:class:`DDIMSchedule`, Stable Diffusion's
"scaled linear" betas) steps deterministically. Each synchronized step:

1. predicts every view's clean sample ``x0 = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)``;
2. bakes the views' ``x0`` into one UV texture with weights ``visible * cos ** p``
   (:mod:`kyara.paint.bake`), ``p`` rising from ``power_start`` to ``power_end`` over the synchronized
   steps (SyncMVD: 0 -> 6);
3. takes the DDIM step from that synchronized ``x0``, either in texture space (``space="texture"``,
   SyncMVD: the noisy latent IS a texture, every view is its render) or per view
   (``space="view"``: each view keeps its own noise, the texture's render replaces its ``x0``);
4. renders the texture back to every view (background pixels keep their own, unsynchronized state).

The first ``sync_fraction`` of the steps (0.8) are synchronized, the rest refine every view alone;
a final bake at ``final_power`` gives the texture. ``sync=False`` is the naive path: every view
denoised alone, baked once at the end. The result reports the consistency figure (multi-view
disagreement on shared texels, :func:`kyara.paint.bake.consistency`) and the coverage.

Texture-space noise rendered with bilinear sampling is not unit-variance per pixel (a blend of four
texels); latents that a U-Net will read should use ``sampling="nearest"`` maps, whose renders of
unit noise stay unit noise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kyara.paint.bake import TextureViews, consistency, coverage

NoisePredictor = Callable[[np.ndarray, int, int], np.ndarray]  # (x [N, C, H, W], t, step) -> eps [N, C, H, W]
SPACES = ("texture", "view")


@dataclass(frozen=True)
class DDIMSchedule:
    """Stable Diffusion's noise schedule and DDIM's "leading" timestep spacing."""

    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    steps_offset: int = 1  # SD 1.x/2.x/XL configs shift the timesteps by one

    def alphas_cumprod(self) -> np.ndarray:
        """``[T]`` float64: ``prod_{s <= t} (1 - beta_s)``, betas spaced linearly in sqrt ("scaled_linear")."""
        betas = np.linspace(np.sqrt(self.beta_start), np.sqrt(self.beta_end), self.num_train_timesteps) ** 2
        return np.cumprod(1.0 - betas)

    def timesteps(self, steps: int) -> np.ndarray:
        """``[steps]`` int64 train timesteps, descending: ``k * (T // steps) + steps_offset``."""
        if not isinstance(steps, (int, np.integer)) or not 1 <= steps <= self.num_train_timesteps:
            raise ValueError(f"steps {steps!r} is out of range, expected an integer 1..{self.num_train_timesteps}")
        ratio = self.num_train_timesteps // steps
        ts = np.arange(steps, dtype=np.int64)[::-1] * ratio + self.steps_offset
        return ts.clip(0, self.num_train_timesteps - 1)


def predict_x0(x_t: np.ndarray, eps: np.ndarray, alpha: float) -> np.ndarray:
    """Clean sample predicted from ``x_t`` and its noise at cumulative alpha ``alpha``."""
    return (x_t - np.sqrt(1.0 - alpha) * eps) / np.sqrt(alpha)


def ddim_step(x_t: np.ndarray, x0: np.ndarray, alpha: float, alpha_prev: float) -> np.ndarray:
    """Deterministic DDIM step (eta = 0) from ``x_t`` towards the clean sample ``x0``: keeps the noise
    direction ``(x_t - sqrt(a) x0) / sqrt(1 - a)`` and moves to cumulative alpha ``alpha_prev``
    (``alpha_prev = 1`` lands on ``x0``)."""
    direction = (x_t - np.sqrt(alpha) * x0) / np.sqrt(1.0 - alpha)
    return np.sqrt(alpha_prev) * x0 + np.sqrt(1.0 - alpha_prev) * direction


@dataclass(frozen=True)
class SyncConfig:
    """Knobs of :func:`sync_paint` (defaults: SyncMVD's)."""

    steps: int = 30
    sync: bool = True  # False: the naive path (every view alone, one bake at the end)
    sync_fraction: float = 0.8  # share of the steps, from the first, that are synchronized
    power_start: float = 0.0  # cos^p exponent of the first synchronized step ...
    power_end: float = 6.0  # ... rising linearly to this at the last one
    final_power: float = 6.0  # exponent of the final bake
    space: str = "texture"  # where a synchronized step happens: "texture" or "view" (module docstring)
    seed: int = 0  # initial noise

    def __post_init__(self) -> None:
        if not isinstance(self.steps, (int, np.integer)) or not 1 <= self.steps <= 1000:
            raise ValueError(f"steps {self.steps!r} is out of range, expected an integer 1..1000")
        if not 0.0 <= float(self.sync_fraction) <= 1.0:
            raise ValueError(f"sync_fraction {self.sync_fraction} is out of range, expected 0..1")
        for name in ("power_start", "power_end", "final_power"):
            p = float(getattr(self, name))
            if not (np.isfinite(p) and 0.0 <= p <= 64.0):
                raise ValueError(f"{name} {p} is out of range, expected 0..64")
        if self.space not in SPACES:
            raise ValueError(f"space {self.space!r} is unknown, expected one of {', '.join(SPACES)}")

    @property
    def synced_steps(self) -> int:
        return int(round(self.sync_fraction * self.steps)) if self.sync else 0

    def power(self, step: int) -> float:
        """The cos^p exponent of synchronized step ``step`` (0-based)."""
        n = self.synced_steps
        return float(self.power_start + (self.power_end - self.power_start) * step / max(n - 1, 1))


@dataclass(frozen=True, eq=False)
class PaintResult:
    """What :func:`sync_paint` made."""

    texture: np.ndarray  # [S, S, C] float32: the final bake (0 on unseen texels)
    weight: np.ndarray  # [S, S] float32 bake weight per texel (0 = unseen)
    views: np.ndarray  # [N, C, H, W] float32: every view's final sample
    consistency: float  # RMS disagreement between the views' bakes on shared texels (lower = more consistent)
    shared_texels: int  # texels seen by two or more views
    coverage: float  # share of the chart texels (all texels without a chart mask) that some view sees
    seconds: float  # wall time of the sampling, the predictor's calls included


def synchronized_step(maps: TextureViews, texture: np.ndarray | None, views: np.ndarray, eps: np.ndarray,
                      alpha: float, alpha_prev: float, power: float,
                      space: str = "texture") -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """One synchronized step, pure: ``(texture', views', x0_texture)``.

    ``views [N*H*W, C]`` is the current noisy sample of every pixel, ``eps [N*H*W, C]`` its
    predicted noise; textures are compact, ``[K, C]`` values of ``maps.texels`` (in texture space the
    visible pixels of ``views`` are the render of ``texture``). ``x0_texture`` is the bake of the
    views' ``x0`` with weights ``cos ** power`` (texels whose pixels all weigh 0 at that power, i.e.
    are seen only edge-on, take the plain average instead). Texture space: per texel
    ``texture' = ddim_step(texture, x0_texture)``, the visible pixels become its render and the
    background pixels step alone. View space (``texture`` unused): every visible pixel steps from the
    render of ``x0_texture`` instead of its own ``x0``.
    """
    pix = maps.pixels
    x0 = predict_x0(views, eps, alpha)  # [M, C]
    x0_tex, den = maps.bake_texels(x0[pix], maps.weights(power))
    if power > 0 and not np.all(den > 0):
        flat, _ = maps.bake_texels(x0[pix], maps.weights(0.0))
        x0_tex = np.where(den[:, None] > 0, x0_tex, flat)
    if space == "texture":
        if texture is None:
            raise ValueError("a texture-space step needs the noisy texture")
        new_tex = ddim_step(texture, x0_tex, alpha, alpha_prev)
        new_views = ddim_step(views, x0, alpha, alpha_prev)
        new_views[pix] = maps.project_texels(new_tex)
        return new_tex, new_views, x0_tex
    synced = x0.copy()
    synced[pix] = maps.project_texels(x0_tex)
    return texture, ddim_step(views, synced, alpha, alpha_prev), x0_tex


def sync_paint(maps: TextureViews, eps: NoisePredictor, channels: int = 4, config: SyncConfig | None = None,
               chart_texels: np.ndarray | None = None, schedule: DDIMSchedule | None = None,
               progress: Callable[[int, int], None] | None = None) -> PaintResult:
    """Paint the texture of ``maps`` (``[S, S]``, N views of ``[H, W]``) with ``channels`` channels
    by synchronized sampling with the noise predictor ``eps`` (see the module docstring).

    ``chart_texels [S, S]`` bool (texels inside the atlas' charts) is the coverage's denominator;
    ``progress(step, steps)`` is called after every step. Deterministic for ``config.seed`` and a
    deterministic ``eps``.
    """
    cfg = config or SyncConfig()
    sched = schedule or DDIMSchedule()
    if not isinstance(channels, (int, np.integer)) or not 1 <= channels <= 64:
        raise ValueError(f"channels {channels!r} is out of range, expected an integer 1..64")
    if not callable(eps):
        raise ValueError("eps must be a callable (x [N, C, H, W], t, step) -> eps [N, C, H, W]")
    t0 = time.perf_counter()
    acp = sched.alphas_cumprod()
    ts = sched.timesteps(cfg.steps)
    n, h, w = maps.shape
    c = int(channels)
    rng = np.random.default_rng(cfg.seed)
    views = rng.standard_normal((maps.num_pixels, c))  # [M, C] every pixel's noisy sample
    texture = rng.standard_normal((len(maps.texels), c))  # [K, C] the noisy texture (texture space)
    if cfg.space == "texture" and cfg.synced_steps > 0:
        views[maps.pixels] = maps.project_texels(texture)
    for k, t in enumerate(ts):
        a = float(acp[t])
        a_prev = float(acp[ts[k + 1]]) if k + 1 < len(ts) else 1.0
        e = _predict(eps, views, int(t), k, (n, c, h, w))
        if k < cfg.synced_steps:
            texture, views, _ = synchronized_step(maps, texture, views, e, a, a_prev, cfg.power(k), cfg.space)
        else:
            views = ddim_step(views, predict_x0(views, e, a), a, a_prev)
        if progress is not None:
            progress(k + 1, len(ts))
    final = views.reshape(n, h, w, c)
    baked = maps.bake(final, cfg.final_power)
    rms, shared = consistency(maps, final, cfg.final_power)
    cov = coverage(maps, chart_texels) if chart_texels is not None \
        else float(maps.seen(0.0).sum() / maps.size ** 2)
    return PaintResult(baked.texture, baked.weight, np.ascontiguousarray(final.transpose(0, 3, 1, 2), np.float32),
                       rms, shared, cov, time.perf_counter() - t0)


def _predict(eps: NoisePredictor, views: np.ndarray, t: int, step: int, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Call the predictor on ``[N, C, H, W]`` float32 views; back to ``[N*H*W, C]`` float64."""
    n, c, h, w = shape
    x = np.ascontiguousarray(views.reshape(n, h, w, c).transpose(0, 3, 1, 2), np.float32)
    out = np.asarray(eps(x, t, step), dtype=np.float64)
    if out.shape != (n, c, h, w) or not np.all(np.isfinite(out)):
        raise ValueError(f"the noise predictor returned shape {out.shape} at step {step} (t={t}), expected a "
                         f"finite {(n, c, h, w)} array")
    return out.transpose(0, 2, 3, 1).reshape(-1, c)
