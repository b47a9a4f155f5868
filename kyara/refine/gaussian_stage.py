"""The Gaussian stage of ``kyara refine --gaussians N`` (#23): shape the mesh lacks, by score distillation.

After (or without) the texture refinement, a layer of N surface-bound Gaussians
(:mod:`kyara.gaussians.layer`) is optimised over the same camera pool: each pool view's mesh render
(the refined texture through :func:`kyara.refine.optimize.render_pool`) and its metric depth
(:func:`pool_depth`, kyara's renderer) are fixed; the Gaussians are splatted over them with the
soft depth test, so those in front of the surface add shape (strands, frills, ribbons, wings) and
those behind vanish. The loop is :func:`kyara.gaussians.layer.optimize_layer`, drawing its views,
timesteps and noise as the texture loop does (:func:`kyara.refine.optimize.iteration_draws`).

For the CLI (the lead wires these into ``kyara refine``): :func:`add_cli_options` adds
``--gaussians N``, ``--gaussian-iters``, ``--gaussian-densify/--no-gaussian-densify``,
``--gaussian-prune-opacity`` and ``--gaussian-seed`` to an argparse parser; with typer, declare the
same names as parameters (see :data:`CLI_OPTIONS`) and pass them to :func:`from_args` as a namespace.
:func:`from_args` returns :class:`StageOptions` (the :class:`~kyara.gaussians.layer.GaussianConfig` and the
stage's iterations; None for ``--gaussians 0``).
The layer is written with :func:`kyara.gaussians.io.write_layer` as ``gaussians.ply`` beside the VRM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.gaussians.layer import GaussianConfig, GaussianLayer, LayerResult
    from kyara.paint.buffers import ViewBuffers
    from kyara.refine.optimize import RefineConfig
    from kyara.refine.sds import NoisePredictor
    from kyara.render.camera import Camera

MAX_GAUSSIANS = 1_000_000

# (flag, attribute, type, default, help): the options of add_cli_options / from_args
CLI_OPTIONS = (
    ("--gaussians", "gaussians", int, 0, "surface-bound Gaussians to add and optimise (0: none)"),
    ("--gaussian-iters", "gaussian_iters", int, None, "iterations of the Gaussian stage (default: --iters)"),
    ("--gaussian-densify", "gaussian_densify", bool, True, "clone/split Gaussians with large gradients"),
    ("--gaussian-prune-opacity", "gaussian_prune_opacity", float, 0.01, "prune Gaussians fainter than this "
                                                                         "(0: never prune)"),
    ("--gaussian-seed", "gaussian_seed", int, 0, "seed of the Gaussians' places on the surface"),
)


def add_cli_options(parser) -> None:
    """Add the Gaussian stage's options (:data:`CLI_OPTIONS`) to an ``argparse`` parser."""
    import argparse

    for flag, dest, kind, default, text in CLI_OPTIONS:
        if kind is bool:
            parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, default=default, help=text)
        else:
            parser.add_argument(flag, dest=dest, type=kind, default=default, help=text)


@dataclass(frozen=True)
class StageOptions:
    """What the Gaussian options ask for: the layer's config and the stage's iterations."""

    config: GaussianConfig
    iters: int | None  # None: as many as the texture stage (--iters)


def from_args(args) -> StageOptions | None:
    """The :class:`StageOptions` of parsed options (any object with the attributes of
    :data:`CLI_OPTIONS`; missing ones take their defaults), or None for ``--gaussians 0``.
    Raises ``ValueError`` naming the bad option."""
    from kyara.gaussians.layer import GaussianConfig

    val = {dest: getattr(args, dest, default) for _, dest, _, default, _ in CLI_OPTIONS}
    n = val["gaussians"]
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_GAUSSIANS:
        raise ValueError(f"--gaussians {n!r} is out of range, expected 0..{MAX_GAUSSIANS}")
    if n == 0:
        return None
    it = val["gaussian_iters"]
    if it is not None and (not isinstance(it, int) or it < 1):
        raise ValueError(f"--gaussian-iters {it!r} must be an integer >= 1")
    p = val["gaussian_prune_opacity"]
    if not (isinstance(p, (int, float)) and np.isfinite(p) and 0.0 <= p < 1.0):
        raise ValueError(f"--gaussian-prune-opacity {p!r} is out of range, expected 0 <= p < 1")
    cfg = GaussianConfig(count=n, seed=int(val["gaussian_seed"]), densify=bool(val["gaussian_densify"]),
                         prune=p > 0, prune_opacity=float(p) if p > 0 else 0.01, max_count=max(4 * n, n + 1000))
    return StageOptions(cfg, it)


def pool_depth(vertices: np.ndarray, faces: np.ndarray, cameras: Sequence[Camera]) -> np.ndarray:
    """``[M, H, W]`` float32 metric depth (metres along each view axis, inf off the mesh) of the mesh
    ``(vertices [V, 3] or [M, V, 3] one pose per camera, faces [F, 3])`` from ``cameras`` (one size), by
    kyara's renderer
    (:class:`kyara.render.maps.MeshRenderer`, ``metric_depth``; needs the ``render`` extra)."""
    from kyara.render.maps import MeshRenderer

    cams = list(cameras)
    v = np.asarray(vertices, np.float32)
    r = MeshRenderer(np.asarray(faces, np.int32), v.shape[-2], cams[0].width, cams[0].height)
    try:
        return r.render(v, cams, ("metric_depth",))["metric_depth"][..., 0].astype(np.float32)
    finally:
        r.release()


def pool_base(texture, buffers: ViewBuffers, refine: RefineConfig | None = None, frames=None,
              normal=None) -> torch.Tensor:
    """``[M, H, W, C]`` the mesh renders of every pool view of ``texture [C, T, T]``
    (:func:`kyara.refine.optimize.render_pool` with ``refine.shading``, background included);
    ``shading="toon"`` needs the pool's surface ``frames`` (and takes the refined ``normal [3, T', T']``)."""
    import torch

    from kyara.refine.optimize import RefineConfig, make_pool, render_pool

    def t(a):
        return None if a is None else torch.as_tensor(np.asarray(a) if not torch.is_tensor(a) else a.detach(),
                                                       dtype=torch.float32)

    rc = refine or RefineConfig()
    pool = make_pool(buffers, frames)
    with torch.no_grad():
        img = render_pool(t(texture), t(normal), pool, torch.arange(pool.visible.shape[0]), rc)
    return img.permute(0, 2, 3, 1).contiguous()


def run_gaussian_stage(texture, buffers: ViewBuffers, vertices: np.ndarray, faces: np.ndarray,
                       predictor: NoisePredictor, encoder: Callable | None = None,
                       refine: RefineConfig | None = None, config: GaussianConfig | None = None,
                       layer: GaussianLayer | None = None, colors: np.ndarray | None = None,
                       on_step: Callable[[int, GaussianLayer], None] | None = None, frames=None,
                       normal=None, device=None) -> LayerResult:
    """Add (or go on with) a Gaussian layer on the mesh ``(vertices [V, 3] posed as the pool, or
    [M, V, 3] one pose per pool view, faces [F, 3])`` and optimise it over the pool ``buffers``
    (:class:`~kyara.paint.buffers.ViewBuffers`, perspective cameras) with ``texture [C, T, T]`` fixed,
    against ``predictor`` through ``encoder`` (the texture loop's interfaces). ``layer`` None:
    :func:`~kyara.gaussians.layer.seed_layer` with ``config`` and per-vertex ``colors [V, 3]`` on the
    first pose; ``frames``/``normal`` as :func:`pool_base` (toon shading); ``device`` where the loop runs
    (None: the CPU). Returns the
    :class:`~kyara.gaussians.layer.LayerResult`; write its layer with
    :func:`kyara.gaussians.io.write_layer` (``gaussians.ply``, on the rest-pose mesh)."""
    from kyara.gaussians.layer import GaussianConfig, optimize_layer, seed_layer

    cfg = config or GaussianConfig()
    v = np.asarray(vertices, np.float32)
    lay = layer if layer is not None else seed_layer(v.reshape(-1, *v.shape[-2:])[0], faces, cfg, colors)
    base = pool_base(texture, buffers, refine, frames, normal)
    depth = pool_depth(v, faces, buffers.cameras)
    return optimize_layer(lay, v, faces, buffers.cameras, base, depth, predictor, encoder, refine, cfg, on_step,
                          device)
