"""The refinement loop as a :mod:`kyara.train` recipe: progress, checkpoints, Ctrl-C and resume for free.

:func:`refine_run` trains the texture (a module with one parameter, ``albedo [C, T, T]``) in
:func:`kyara.train.harness.train`: a progress bar with the loss, ``checkpoint.safetensors`` every
``checkpoint_steps`` iterations and on Ctrl-C, ``log.jsonl`` (loss, SDS gradient RMS, cel loss per
logged iteration), ``model.safetensors`` + ``model_card.md`` at the end. A run killed with
``kill -9`` resumes from its last checkpoint (losing at most one interval) and ends with the same
texture as an uninterrupted run: iteration ``i``'s views, timesteps and noise are a pure function of
``(seed, i)`` (:func:`kyara.refine.optimize.iteration_draws`). A folder whose checkpoint was made
with another schedule (:meth:`RefineRecipe.config`: iterations, seed, method, timesteps, weights,
texture and pool size) is refused with the harness' one-line ``ValueError``.

Differences from :func:`kyara.refine.optimize.refine_texture` (the harness' policy): AdamW with
weight decay 0 and betas (0.9, 0.999), the learning rate decays (cosine) to 2 % of ``lr``, gradients
are clipped to norm 5, and the texture's range is kept by a straight-through clamp in the render
(the forward pass reads ``clamp(albedo)``, the gradient passes unchanged) instead of a clamp after
each step: ``model.safetensors`` holds the raw ``albedo``, :func:`refine_run` returns it clamped.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from kyara.refine.optimize import Encoder, RefineConfig
from kyara.refine.sds import NoisePredictor

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.paint.buffers import ViewBuffers
    from kyara.refine.shading import Frames
    from kyara.train.harness import TrainResult

KIND = "refine-texture"


@dataclass(eq=False)
class RefineRecipe:
    """A :class:`kyara.train.harness.Recipe` that refines one texture over a pool of view buffers."""

    init: np.ndarray  # [C, T, T] float32 starting texture (channels first, glTF rows)
    buffers: ViewBuffers  # the camera pool (M views)
    predictor: NoisePredictor  # eps(x_t, t, view) with view = pool index
    refine: RefineConfig
    encoder: Encoder | None = None  # renders -> latents; None = identity
    validate_fn: Callable | None = None  # texture [C, T, T] -> {name: float} at validation
    normal: np.ndarray | None = None  # [3, T', T'] starting normal texture (refined too; shading="toon")
    frames: Frames | None = None  # the pool's surface frames (shading="toon")
    kind: str = KIND

    def __post_init__(self) -> None:
        a = np.asarray(self.init, dtype=np.float32)
        if a.ndim != 3 or a.shape[1] != a.shape[2] or not np.all(np.isfinite(a)):
            raise ValueError(f"init texture has shape {a.shape}, expected a finite [C, T, T] array")
        self.init = a
        if self.normal is not None:
            nm = np.asarray(self.normal, dtype=np.float32)
            if nm.ndim != 3 or nm.shape[0] != 3 or nm.shape[1] != nm.shape[2] or self.refine.shading != "toon":
                raise ValueError(f"normal texture has shape {nm.shape} with shading {self.refine.shading!r}, "
                                 "expected [3, T, T] and shading='toon'")
            self.normal = nm
        self.model = None
        self._pool = None

    def config(self) -> dict:
        """The run's schedule (everything but the learning rate): a checkpoint made with another is refused."""
        cfg = asdict(self.refine)
        cfg.pop("lr")
        cfg.pop("betas")
        cfg.update(channels=int(self.init.shape[0]), size=int(self.init.shape[1]), pool=list(self.buffers.shape),
                   normal_size=None if self.normal is None else int(self.normal.shape[1]))
        return json.loads(json.dumps(cfg))  # tuples -> lists, as the checkpoint stores them

    def build(self, config: dict):
        import torch

        m = torch.nn.Module()
        m.register_parameter("albedo", torch.nn.Parameter(torch.as_tensor(self.init.copy())))
        if self.normal is not None:
            m.register_parameter("normal", torch.nn.Parameter(torch.as_tensor(self.normal.copy())))
        self.model = m
        return m

    def _tensors(self):
        if self._pool is None:
            from kyara.refine.optimize import make_pool
            from kyara.refine.sds import alphas_cumprod

            self._pool = (make_pool(self.buffers, self.frames), alphas_cumprod())
        return self._pool

    def batch(self, step: int) -> dict:
        from kyara.refine.optimize import iteration_draws

        views, t, gen = iteration_draws(self.refine.seed, step, self.buffers.shape[0], self.refine)
        return {"views": views, "t": t, "generator": gen}

    def texture(self, model) -> torch.Tensor:
        """The texture the renders read: ``albedo`` clamped to ``refine.clamp`` (straight-through)."""
        return _clamp(model.albedo, self.refine.clamp)

    def normal_texture(self, model) -> torch.Tensor | None:
        """The normal texture the renders read (clamped to [0, 1], straight-through), or None."""
        return _clamp(model.normal, (0.0, 1.0)) if self.normal is not None else None

    def loss(self, model, batch: dict):
        import torch

        from kyara.refine.optimize import refine_step

        pool, acp = self._tensors()
        gen = batch["generator"]
        loss, rms, cel = refine_step(self.texture(model), self.normal_texture(model), pool, batch["views"],
                                     batch["t"], lambda shape: torch.randn(shape, generator=gen),
                                     self.predictor, self.encoder or (lambda x: x), acp, self.refine)
        return loss, {"sds_rms": rms, "cel": cel}

    def validate(self, model) -> dict:
        tex = self.texture(model).detach()
        if self.validate_fn is not None:
            return {k: float(v) for k, v in self.validate_fn(tex).items()}
        return {"texture_mean": float(tex.mean())}

    def card(self) -> dict:
        n, h, w = self.buffers.shape
        return {"pool_views": n, "view_size": f"{w}x{h}", "texture": f"{self.init.shape[0]}x{self.init.shape[1]}^2",
                "method": self.refine.method, "cel_weight": self.refine.cel_weight}


def _clamp(a, bounds):
    if bounds is None:
        return a
    return a + (a.clamp(*bounds) - a).detach()


def refine_run(init: np.ndarray, buffers: ViewBuffers, predictor: NoisePredictor, folder: str | os.PathLike,
               config: RefineConfig | None = None, encoder: Encoder | None = None, checkpoint_steps: int = 50,
               log_every: int = 10, progress: bool | None = None, validate_fn: Callable | None = None,
               normal: np.ndarray | None = None, frames: Frames | None = None) -> tuple[torch.Tensor, TrainResult]:
    """Refine ``init [C, T, T]`` over the pool ``buffers`` in ``folder`` with :mod:`kyara.train`'s
    harness (resuming from the folder's checkpoint when there is one): ``(texture [C, T, T] clamped,
    the harness' TrainResult)``. ``checkpoint_steps``: iterations between checkpoints. ``normal`` and
    ``frames`` as in :func:`kyara.refine.optimize.refine_texture` (the refined normal texture is the
    ``normal`` tensor of ``model.safetensors``)."""
    from kyara.train.harness import TrainConfig, train

    cfg = config or RefineConfig()
    if not isinstance(checkpoint_steps, int) or checkpoint_steps < 1:
        raise ValueError(f"checkpoint_steps {checkpoint_steps!r} must be an integer >= 1")
    recipe = RefineRecipe(init, buffers, predictor, cfg, encoder, validate_fn, normal, frames)
    tcfg = TrainConfig(steps=cfg.iters, lr=cfg.lr, weight_decay=0.0, warmup=0, seed=cfg.seed,
                       checkpoint_s=1e9, checkpoint_steps=checkpoint_steps, validate_every=0,
                       log_every=max(1, int(log_every)))
    result = train(recipe, tcfg, folder, progress=progress)
    return recipe.texture(recipe.model).detach().clone(), result
