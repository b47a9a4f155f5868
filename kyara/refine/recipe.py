"""The refinement loop as a :mod:`kyara.train` recipe: progress, checkpoints, Ctrl-C and resume for free.

:func:`refine_run` trains the texture (a module with one parameter, ``albedo [C, T, T]``) in
:func:`kyara.train.harness.train`: a progress bar with the loss, ``checkpoint.safetensors`` every
``checkpoint_steps`` iterations and on Ctrl-C, ``log.jsonl`` (loss, SDS gradient RMS, cel loss per
logged iteration), ``model.safetensors`` + ``model_card.md`` at the end. A run killed with
``kill -9`` resumes from its last checkpoint (losing at most one interval) and ends with the same
texture as an uninterrupted run: iteration ``i``'s views, timesteps and noise are a pure function of
``(seed, i)`` (:func:`kyara.refine.optimize.iteration_draws`). A folder whose checkpoint was made
with another schedule (:func:`schedule`: iterations, seed, method, timesteps, weights, shading,
posed stage, texture and pool size) is refused in one line; :func:`check_resume` reads a folder's
checkpoint header and refuses it BEFORE anything is loaded (``kyara refine --resume`` calls it
before the model loads; the harness' own check stays as the last guard).

Every logged row carries ``it_s``, the iterations per second of this session (0 on its first
iteration); ``on_frame(step, texture, normal)`` is called before iteration ``step`` whenever
``step % frame_every == 0`` (the state after ``step`` iterations: the frames of the GIF across
iterations; after a resume the frames from the checkpoint on are made again, identically).

``device``: where the texture, the pool and the loop's tensors live (None: the CPU). The draws of
:func:`kyara.refine.optimize.iteration_draws` are made on the CPU and moved, so a run's views,
timesteps and noise do not depend on the device; checkpoints hold CPU tensors, so a run can resume
on another device (the schedule does not name the device).

Differences from :func:`kyara.refine.optimize.refine_texture` (the harness' policy): AdamW with
weight decay 0 and betas (0.9, 0.999), the learning rate decays (cosine) to 2 % of ``lr``, gradients
are clipped to norm 5, and the texture's range is kept by a straight-through clamp in the render
(the forward pass reads ``clamp(albedo)``, the gradient passes unchanged) instead of a clamp after
each step: ``model.safetensors`` holds the raw ``albedo``, :func:`refine_run` returns it clamped.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
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


def schedule(refine: RefineConfig, channels: int, size: int, pool: tuple[int, int, int], normal_size: int | None,
             posed: int = 0) -> dict:
    """The run's schedule as the checkpoint records it (everything but the learning rate): ``refine``
    without ``lr``/``betas``, the texture's ``channels`` and ``size``, the pool's ``(M, H, W)``, the
    normal texture's size (None: none) and the pool's ``posed`` views. JSON types (tuples as lists)."""
    cfg = asdict(refine)
    cfg.pop("lr")
    cfg.pop("betas")
    cfg.update(channels=int(channels), size=int(size), pool=[int(x) for x in pool],
               normal_size=None if normal_size is None else int(normal_size))
    if posed:
        cfg["posed_views"] = int(posed)
    return json.loads(json.dumps(cfg))


def recorded_schedule(folder: str | os.PathLike) -> dict | None:
    """The schedule recorded in ``folder``'s ``checkpoint.safetensors`` (its header only, no tensor is
    read), or None when the folder has no checkpoint."""
    from safetensors import safe_open

    path = Path(folder) / "checkpoint.safetensors"
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        return json.loads(meta.get("info", "{}")).get("arch")
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"'{path}' is not a readable refinement checkpoint ({type(exc).__name__})") from None


def check_resume(folder: str | os.PathLike, expected: dict) -> None:
    """Raise one ``ValueError`` line when ``folder``'s checkpoint was made with another schedule than
    ``expected`` (:func:`schedule`), naming the first options that differ."""
    got = recorded_schedule(folder)
    if got is None or got == expected:
        return
    keys = sorted(set(got) | set(expected))
    diff = [f"{k} {got.get(k)!r} -> {expected.get(k)!r}" for k in keys if got.get(k) != expected.get(k)]
    raise ValueError(f"the checkpoint in '{folder}' was made with another schedule ({'; '.join(diff[:3])}), "
                     "expected the same options as that run or another -o folder")


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
    posed: int = 0  # the pool's last `posed` views show other poses (drawn in the posed stage)
    on_frame: Callable | None = None  # (step, texture [C, T, T], normal or None) every frame_every steps
    frame_every: int = 0  # 0: no frames
    device: str | None = None  # where the parameters and the pool live (None: CPU)
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
        from kyara.refine.optimize import check_posed

        check_posed(self.buffers.shape[0], self.posed, self.refine)
        self.model = None
        self._pool = None
        self._clock: list[float] = []  # start of this session's first iteration, iterations since

    def config(self) -> dict:
        """The run's schedule (:func:`schedule`): a checkpoint made with another is refused."""
        return schedule(self.refine, self.init.shape[0], self.init.shape[1], self.buffers.shape,
                        None if self.normal is None else self.normal.shape[1], self.posed)

    def build(self, config: dict):
        import torch

        m = torch.nn.Module()
        m.register_parameter("albedo", torch.nn.Parameter(torch.as_tensor(self.init.copy())))
        if self.normal is not None:
            m.register_parameter("normal", torch.nn.Parameter(torch.as_tensor(self.normal.copy())))
        if self.device is not None:
            m = m.to(self.device)
        self.model = m
        return m

    def _tensors(self):
        if self._pool is None:
            from kyara.refine.optimize import make_pool, pool_to
            from kyara.refine.sds import alphas_cumprod

            pool, acp = make_pool(self.buffers, self.frames), alphas_cumprod()
            if self.device is not None:
                pool, acp = pool_to(pool, self.device), acp.to(self.device)
            self._pool = (pool, acp)
        return self._pool

    def batch(self, step: int) -> dict:
        from kyara.refine.optimize import iteration_draws

        views, t, gen = iteration_draws(self.refine.seed, step, self.buffers.shape[0], self.refine, self.posed)
        return {"views": views, "t": t, "generator": gen, "step": int(step)}

    def texture(self, model) -> torch.Tensor:
        """The texture the renders read: ``albedo`` clamped to ``refine.clamp`` (straight-through)."""
        return _clamp(model.albedo, self.refine.clamp)

    def normal_texture(self, model) -> torch.Tensor | None:
        """The normal texture the renders read (clamped to [0, 1], straight-through), or None."""
        return _clamp(model.normal, (0.0, 1.0)) if self.normal is not None else None

    def loss(self, model, batch: dict):
        import torch

        from kyara.refine.optimize import refine_step

        now = time.perf_counter()
        if not self._clock:
            self._clock[:] = [now, 0.0]
        rate = self._clock[1] / (now - self._clock[0]) if self._clock[1] else 0.0
        self._clock[1] += 1
        step = batch.get("step", -1)
        if self.on_frame is not None and self.frame_every and step % self.frame_every == 0:
            with torch.no_grad():
                nt = self.normal_texture(model)
                self.on_frame(step, self.texture(model).detach().cpu(), None if nt is None else nt.detach().cpu())
        pool, acp = self._tensors()
        gen = batch["generator"]
        dev = acp.device
        loss, rms, cel = refine_step(self.texture(model), self.normal_texture(model), pool, batch["views"].to(dev),
                                     batch["t"].to(dev), lambda shape: torch.randn(shape, generator=gen).to(dev),
                                     self.predictor, self.encoder or (lambda x: x), acp, self.refine)
        return loss, {"sds_rms": rms, "cel": cel, "it_s": rate}

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
               normal: np.ndarray | None = None, frames: Frames | None = None, posed: int = 0,
               on_frame: Callable | None = None, frame_every: int = 0, device: str | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None, TrainResult]:
    """Refine ``init [C, T, T]`` over the pool ``buffers`` in ``folder`` with :mod:`kyara.train`'s
    harness (resuming from the folder's checkpoint when there is one): ``(texture [C, T, T] clamped,
    normal [3, T', T'] clamped or None, the harness' TrainResult)``. ``checkpoint_steps``: iterations
    between checkpoints. ``normal`` and ``frames`` as in :func:`kyara.refine.optimize.refine_texture`
    (the refined normal texture is the ``normal`` tensor of ``model.safetensors``); ``posed`` as there;
    ``on_frame``/``frame_every`` and ``device`` see the module docstring. The textures come back on
    the CPU."""
    from kyara.train.harness import TrainConfig, train

    cfg = config or RefineConfig()
    if not isinstance(checkpoint_steps, int) or checkpoint_steps < 1:
        raise ValueError(f"checkpoint_steps {checkpoint_steps!r} must be an integer >= 1")
    if isinstance(frame_every, bool) or not isinstance(frame_every, int) or frame_every < 0:
        raise ValueError(f"frame_every {frame_every!r} must be an integer >= 0")
    recipe = RefineRecipe(init, buffers, predictor, cfg, encoder, validate_fn, normal, frames, posed, on_frame,
                          frame_every, device)
    tcfg = TrainConfig(steps=cfg.iters, lr=cfg.lr, weight_decay=0.0, warmup=0, seed=cfg.seed,
                       checkpoint_s=1e9, checkpoint_steps=checkpoint_steps, validate_every=0,
                       log_every=max(1, int(log_every)))
    result = train(recipe, tcfg, folder, progress=progress)
    nrm = recipe.normal_texture(recipe.model)
    return (recipe.texture(recipe.model).detach().cpu().clone(), None if nrm is None else nrm.detach().cpu().clone(),
            result)
