"""Score distillation: the gradient a frozen diffusion model gives a differentiable render.

Notation (Stable Diffusion's DDPM schedule, :class:`kyara.paint.sync.DDIMSchedule`):
``a_t = alphas_cumprod[t]``, ``x_t = sqrt(a_t) z + sqrt(1 - a_t) eps`` with ``z = E(x)`` the
latents of a render ``x`` (``E`` the encoder: the VAE, or the identity in the tests), ``eps ~ N(0, I)``.

* **SDS** (DreamFusion): ``grad_z = w(t) (eps_hat(x_t, t) - eps)``, applied through the encoder by the
  detach trick: ``loss = sum(stopgrad(grad_z) * z)`` so that ``d loss / d x = J_E(x)^T grad_z`` and the
  U-Net is never differentiated. The loss VALUE is not meaningful (its gradient is).
* **ISM** (interval score matching, LucidDreamer): the target noise is not the random ``eps`` but the
  model's own prediction at an earlier timestep ``s = t - delta_t`` on a DDIM-inverted trajectory:
  ``x_s`` = DDIM inversion of ``z`` from 0 to ``s`` in ``inversion_steps`` steps, ``eps_s =
  eps_hat(x_s, s)``, ``x_t = sqrt(a_t) x0(x_s, eps_s) + sqrt(1 - a_t) eps_s`` (one inversion step
  from ``s`` to ``t``), ``grad_z = w(t) (eps_hat(x_t, t) - eps_s)``. The inversion uses the
  ``inversion`` predictor (LucidDreamer: the unconditional one), the last term the guided one.
* **Weighting** ``w(t)``: ``"sds"`` ``1 - a_t`` (DreamFusion), ``"uniform"`` 1.
* **Timesteps** (:class:`TimestepSchedule`, fractions of the 1000 train steps): uniform in
  ``[t_min, t_max]`` every iteration (:data:`DREAMWALTZ_G`: 0.02..0.98), or annealed: the upper
  bound falls from ``t_max`` to ``t_end`` over the iterations (``"linear"``, or ``"sqrt"``: faster
  at first), so late iterations refine detail at low noise.
* **CFG**: the predictor is any ``eps(x_t [B, C, h, w], t [B] long, view [B] long) -> [B, C, h, w]``;
  :func:`guided` turns a ``pair(x_t, t, view) -> (eps_cond, eps_uncond)`` (one U-Net call on a
  doubled batch) into ``eps_uncond + scale (eps_cond - eps_uncond)``. DreamWaltz-G: scale 50.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

NoisePredictor = Callable[["torch.Tensor", "torch.Tensor", "torch.Tensor"], "torch.Tensor"]
ANNEALS = ("none", "linear", "sqrt")
WEIGHTINGS = ("sds", "uniform")
METHODS = ("sds", "ism")


@dataclass(frozen=True)
class TimestepSchedule:
    """Which train timesteps score distillation draws (fractions of ``num_train_timesteps``)."""

    t_min: float = 0.02
    t_max: float = 0.98
    anneal: str = "none"  # "none": uniform in [t_min, t_max]; "linear"/"sqrt": upper bound t_max -> t_end
    t_end: float = 0.5  # upper bound at the last iteration when annealed
    num_train_timesteps: int = 1000

    def __post_init__(self) -> None:
        if self.anneal not in ANNEALS:
            raise ValueError(f"anneal {self.anneal!r} is unknown, expected one of {', '.join(ANNEALS)}")
        if not 0.0 <= self.t_min <= self.t_max <= 1.0 or not self.t_min <= self.t_end <= self.t_max:
            raise ValueError(f"timestep fractions t_min={self.t_min}, t_end={self.t_end}, t_max={self.t_max} "
                             "must satisfy 0 <= t_min <= t_end <= t_max <= 1")
        if not isinstance(self.num_train_timesteps, int) or self.num_train_timesteps < 2:
            raise ValueError(f"num_train_timesteps {self.num_train_timesteps!r} must be an integer >= 2")

    def bounds(self, progress: float) -> tuple[int, int]:
        """``(low, high)`` inclusive integer timesteps at ``progress`` in [0, 1] (iteration / iterations)."""
        p = min(max(float(progress), 0.0), 1.0)
        hi = self.t_max
        if self.anneal == "linear":
            hi = self.t_max - (self.t_max - self.t_end) * p
        elif self.anneal == "sqrt":
            hi = self.t_max - (self.t_max - self.t_end) * math.sqrt(p)
        top = self.num_train_timesteps - 1
        lo_i = int(round(self.t_min * top))
        return lo_i, max(lo_i, int(round(hi * top)))


DREAMWALTZ_G = TimestepSchedule(0.02, 0.98, "none")  # DreamWaltz-G: uniform t in [0.02, 0.98] throughout


def sample_timesteps(schedule: TimestepSchedule, n: int, progress: float, generator=None) -> torch.Tensor:
    """``[n]`` int64 timesteps drawn uniformly in :meth:`TimestepSchedule.bounds` at ``progress``."""
    import torch

    lo, hi = schedule.bounds(progress)
    return torch.randint(lo, hi + 1, (int(n),), generator=generator, dtype=torch.int64)


def alphas_cumprod(dtype=None) -> torch.Tensor:
    """``[1000]`` Stable Diffusion's cumulative alphas (:class:`kyara.paint.sync.DDIMSchedule`)."""
    import torch

    from kyara.paint.sync import DDIMSchedule

    return torch.as_tensor(DDIMSchedule().alphas_cumprod(), dtype=dtype or torch.float32)


def weight(a: torch.Tensor, weighting: str = "sds") -> torch.Tensor:
    """``w(t)`` from the cumulative alphas ``a`` of the drawn timesteps (see the module docstring)."""
    import torch

    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting {weighting!r} is unknown, expected one of {', '.join(WEIGHTINGS)}")
    return 1.0 - a if weighting == "sds" else torch.ones_like(a)


def guided(pair: Callable, scale: float) -> NoisePredictor:
    """Classifier-free guidance: ``pair(x_t, t, view) -> (eps_cond, eps_uncond)`` ->
    ``eps_uncond + scale * (eps_cond - eps_uncond)`` (``scale`` 1 = the conditional prediction)."""
    s = float(scale)
    if not np.isfinite(s) or s < 0:
        raise ValueError(f"guidance scale {scale!r} must be a finite number >= 0")

    def eps(x_t, t, view):
        cond, uncond = pair(x_t, t, view)
        return uncond + s * (cond - uncond)

    return eps


@dataclass(frozen=True)
class SDSOutput:
    """One score-distillation evaluation."""

    loss: torch.Tensor  # scalar: sum(stopgrad(grad) * latents); backward gives latents the gradient `grad`
    grad: torch.Tensor  # [B, C, h, w] w(t) (eps_hat - eps_target), detached
    t: torch.Tensor  # [B] int64 timesteps used


def _check_latents(latents, t, noise) -> None:
    if latents.ndim != 4:
        raise ValueError(f"latents have shape {tuple(latents.shape)}, expected [B, C, h, w]")
    if tuple(t.shape) != (latents.shape[0],):
        raise ValueError(f"t has shape {tuple(t.shape)}, expected [{latents.shape[0]}]")
    if tuple(noise.shape) != tuple(latents.shape):
        raise ValueError(f"noise has shape {tuple(noise.shape)}, expected {tuple(latents.shape)}")


def sds_loss(latents: torch.Tensor, predictor: NoisePredictor, t: torch.Tensor, noise: torch.Tensor,
             views: torch.Tensor, acp: torch.Tensor, weighting: str = "sds") -> SDSOutput:
    """SDS on ``latents [B, C, h, w]`` (the encoder's output, differentiable) at timesteps ``t [B]`` with
    ``noise [B, C, h, w]``; ``views [B]`` int64 tells the predictor which camera each latent is from;
    ``acp [T]`` cumulative alphas (:func:`alphas_cumprod`)."""
    import torch

    _check_latents(latents, t, noise)
    a = acp.to(latents.dtype)[t].reshape(-1, 1, 1, 1)
    with torch.no_grad():
        z = latents.detach()
        x_t = a.sqrt() * z + (1.0 - a).sqrt() * noise
        eps_hat = predictor(x_t, t, views)
        grad = torch.nan_to_num(weight(a, weighting) * (eps_hat - noise))
    return SDSOutput((grad * latents).sum(), grad, t)


def ism_loss(latents: torch.Tensor, predictor: NoisePredictor, t: torch.Tensor, views: torch.Tensor,
             acp: torch.Tensor, delta_t: int = 50, inversion_steps: int = 2, weighting: str = "sds",
             inversion: NoisePredictor | None = None) -> SDSOutput:
    """Interval score matching (see the module docstring): ``s = max(t - delta_t, 0)``, DDIM
    inversion of the latents to ``s`` in ``inversion_steps`` steps with ``inversion`` (default
    ``predictor``), one inversion step to ``t``, ``grad = w(t) (eps_hat(x_t, t) - eps_hat_inv(x_s, s))``.
    Deterministic: no random noise."""
    import torch

    _check_latents(latents, t, latents)
    if not isinstance(delta_t, int) or delta_t < 1 or not isinstance(inversion_steps, int) or inversion_steps < 1:
        raise ValueError(f"delta_t {delta_t!r} and inversion_steps {inversion_steps!r} must be integers >= 1")
    inv = inversion or predictor
    acp = acp.to(latents.dtype)
    s = (t - delta_t).clamp(min=0)
    with torch.no_grad():
        x = latents.detach()
        cur = torch.zeros_like(t)
        for k in range(1, inversion_steps + 1):  # 0 -> s in equal integer steps (DDIM inversion, eta 0)
            nxt = (s * k) // inversion_steps
            x = _ddim_move(x, inv(x, cur, views), acp[cur], acp[nxt])
            cur = nxt
        eps_s = inv(x, s, views)
        x_t = _ddim_move(x, eps_s, acp[s], acp[t])
        eps_hat = predictor(x_t, t, views)
        grad = torch.nan_to_num(weight(acp[t].reshape(-1, 1, 1, 1), weighting) * (eps_hat - eps_s))
    return SDSOutput((grad * latents).sum(), grad, t)


def _ddim_move(x, eps, a_from, a_to):
    """Deterministic DDIM move of ``x`` (at cumulative alpha ``a_from``) with noise ``eps`` to ``a_to``."""
    a0, a1 = a_from.reshape(-1, 1, 1, 1), a_to.reshape(-1, 1, 1, 1)
    x0 = (x - (1.0 - a0).sqrt() * eps) / a0.sqrt()
    return a1.sqrt() * x0 + (1.0 - a1).sqrt() * eps
