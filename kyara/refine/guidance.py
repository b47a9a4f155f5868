"""The diffusion guidance of score distillation: a noise predictor and an encoder from the user's model.

:func:`load_guidance` loads the model, ControlNets and LoRAs through :func:`kyara.paint.backend.load_painter`
(the loaders, cache, checks, single files and LoRA stacks of ``kyara image`` and ``kyara paint``),
draws every pool camera's ControlNet conditions with :func:`kyara.paint.backend.view_conditions`
(OpenPose from the character's own skeleton, keypoints hidden by the body removed: DreamWaltz-G's
skeleton guidance) and encodes every camera's view-dependent prompt
(:func:`kyara.paint.cameras.paint_prompt`: "front/side/back/overhead view of ...", ", face close-up")
with the negative prompt once. It returns a :class:`Guidance`:

* ``predictor(x_t [B, 4, h, w], t [B] int64, view [B] int64) -> eps [B, 4, h, w]`` for
  :func:`kyara.refine.optimize.refine_texture` / :func:`kyara.refine.recipe.refine_run`: row ``b``
  is predicted with pool camera ``view[b]``'s prompt and conditions at its own timestep, with
  classifier-free guidance ``image.guidance`` (``[uncond; cond]``; v-prediction models turned into
  noise predictions). :func:`batched_guidance` (the fast path, used) runs all B rows in ONE
  ControlNet + U-Net call with per-row timesteps; :func:`diffusion_guidance` (its reference) runs
  each row through :func:`kyara.paint.backend.diffusion_predictor` alone. The U-Net is never
  differentiated (score distillation's detach trick, :mod:`kyara.refine.sds`).
* ``encoder(images [B, 3, H, W] in [0, 1]) -> latents [B, 4, H/8, W/8]``: the VAE's posterior mean of
  ``2 x - 1`` times its scaling factor, differentiable in the images (the VAE's own weights are
  frozen).

Deterministic for a seed on CPU: the predictor draws no randomness of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.generate.config import ImageConfig
    from kyara.render.camera import OrbitViews


@dataclass(eq=False)
class Guidance:
    """What :func:`load_guidance` made: the predictor and encoder of score distillation."""

    predictor: Callable  # (x_t [B, 4, h, w], t [B] int64, view [B] int64) -> eps [B, 4, h, w]
    encoder: Callable  # images [B, 3, H, W] in [0, 1] -> latents [B, 4, H/8, W/8]
    prompts: list[str]  # per pool camera
    conditions: dict  # ControlNet kind -> [M, H, W, 3] uint8 per pool camera
    pipe: object  # the loaded diffusers pipeline
    reference: Callable | None = None  # the per-row reference of `predictor` (diffusion_guidance), same signature


def view_prompts(prompt: str, views: OrbitViews) -> list[str]:
    """Each pool camera's view-dependent prompt (:func:`kyara.paint.cameras.paint_prompt`)."""
    from kyara.paint.cameras import paint_prompt

    return [paint_prompt(prompt, float(a), float(e), bool(c))
            for a, e, c in zip(views.azimuth_deg, views.elevation_deg, views.closeup)]


def vae_encoder(pipe) -> Callable:
    """``images [B, 3, H, W]`` in [0, 1] -> ``latents [B, 4, H/8, W/8]`` float32: ``pipe.vae``'s
    posterior mean of ``2 images - 1`` times ``scaling_factor``, differentiable in ``images``."""
    vae = pipe.vae
    vae.requires_grad_(False)  # gradients flow to the render, never into the VAE
    scale = float(vae.config.scaling_factor)

    def encode(images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images have shape {tuple(images.shape)}, expected [B, 3, H, W]")
        x = (images * 2.0 - 1.0).to(vae.device, vae.dtype)
        return vae.encode(x).latent_dist.mean.float().to(images.device) * scale

    return encode


def diffusion_guidance(pipe, controlnets: Sequence, image: ImageConfig, xl: bool, embeds: list[dict],
                       conditions: Sequence[np.ndarray]) -> Callable:
    """The score-distillation predictor over a pool of M cameras: ``embeds[m]`` camera m's
    :func:`~kyara.generate.prompts.encode_prompts`, ``conditions[c]`` ``[M, H, W, 3] uint8`` for
    ControlNet ``controlnets[c]``. Each row goes through :func:`kyara.paint.backend.diffusion_predictor`
    with its camera's prompt and conditions (the ControlNets' start/end windows apply to a one-step
    schedule: a ControlNet acts unless its window excludes step 0 of 1)."""
    import torch

    from kyara.paint.backend import diffusion_predictor

    m = len(embeds)
    for c in conditions:
        if len(c) != m:
            raise ValueError(f"{len(c)} condition images for {m} pool cameras, expected one per camera")
    size = int(image.width)

    def predictor(x_t: torch.Tensor, t: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        if x_t.ndim != 4 or len(t) != len(x_t) or len(view) != len(x_t):
            raise ValueError(f"x_t {tuple(x_t.shape)}, t {tuple(t.shape)}, view {tuple(view.shape)}: expected "
                             "[B, C, h, w], [B], [B]")
        x = x_t.detach().float().cpu().numpy()
        out = np.empty_like(x)
        for b in range(len(x)):
            v = int(view[b])
            if not 0 <= v < m:
                raise ValueError(f"view {v} is not a pool camera, expected 0..{m - 1}")
            eps = diffusion_predictor(pipe, controlnets, image.controlnets, [embeds[v]],
                                      [c[v:v + 1] for c in conditions], image.guidance, 1, xl, size)
            out[b] = eps(x[b:b + 1], int(t[b]), 0)[0]
        return torch.from_numpy(out).to(x_t.device, x_t.dtype)

    return predictor


def pool_conditions(character, kinds: Sequence[str], groups: Sequence[tuple], mesh: dict | None = None
                    ) -> dict[str, np.ndarray]:
    """ControlNet conditions ``{kind: [M, H, W, 3] uint8}`` of a pool made of ``groups`` of
    ``(pose, cameras, vertices)`` (the character posed by ``pose``, its mesh ``mesh`` posed at
    ``vertices``, seen from ``cameras``), in the groups' order: each group through
    :func:`kyara.paint.backend.view_conditions` with its own pose, so the OpenPose skeleton of a posed
    view is the posed skeleton's."""
    from kyara.paint.backend import view_conditions

    kinds = list(kinds)
    if not kinds:
        return {}
    parts = [view_conditions(character, pose, list(cams), kinds, mesh, verts) for pose, cams, verts in groups]
    return {k: np.concatenate([p[k] for p in parts]) for k in kinds}


def batched_guidance(pipe, controlnets: Sequence, image: ImageConfig, xl: bool, embeds: list[dict],
                     conditions: Sequence[np.ndarray]) -> Callable:
    """The fast path of :func:`diffusion_guidance` (same arguments, same predictions): the B rows of a
    call share one ControlNet and one U-Net call on ``[uncond rows; cond rows]`` with each row's own
    timestep, prompt embeddings and conditions (rows whose prompt embeddings differ in shape go in
    separate calls). ControlNet windows as there (a one-step schedule)."""
    import torch

    from kyara.paint.backend import _ddim_schedule, controlled_eps, sdxl_added

    m = len(embeds)
    for c in conditions:
        if len(c) != m:
            raise ValueError(f"{len(c)} condition images for {m} pool cameras, expected one per camera")
    unet = pipe.unet
    device, dtype = unet.device, unet.dtype
    alphas = torch.as_tensor(_ddim_schedule(dict(pipe.scheduler.config)).alphas_cumprod(), dtype=torch.float64)
    vpred = pipe.scheduler.config.get("prediction_type", "epsilon") == "v_prediction"
    conds = [torch.from_numpy(np.ascontiguousarray(c.transpose(0, 3, 1, 2))).to(device, dtype) / 255.0
             for c in conditions]  # [M, 3, H, W] in [0, 1]
    active = [(cn, spec, c) for cn, spec, c in zip(controlnets, image.controlnets, conds)
              if not (0.0 < spec.start or 1.0 > spec.end)]  # step 0 of a one-step schedule
    guidance = float(image.guidance)
    cfg = guidance > 1.0
    size = int(image.width)

    def stacked(rows, key):
        return torch.cat([embeds[v][key] for v in rows], dim=0).to(device, dtype)

    def predictor(x_t: torch.Tensor, t: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        if x_t.ndim != 4 or len(t) != len(x_t) or len(view) != len(x_t):
            raise ValueError(f"x_t {tuple(x_t.shape)}, t {tuple(t.shape)}, view {tuple(view.shape)}: expected "
                             "[B, C, h, w], [B], [B]")
        views = [int(v) for v in view]
        bad = [v for v in views if not 0 <= v < m]
        if bad:
            raise ValueError(f"view {bad[0]} is not a pool camera, expected 0..{m - 1}")
        out = torch.empty(x_t.shape, dtype=torch.float32)
        groups: dict = {}
        for b, v in enumerate(views):
            groups.setdefault(tuple(embeds[v]["prompt_embeds"].shape), []).append(b)
        with torch.no_grad():
            for rows in groups.values():
                vs = [views[b] for b in rows]
                lat = x_t.detach()[rows].float().to(device, dtype)
                tt = t[rows].to(device=device, dtype=torch.long)
                pos, neg = stacked(vs, "prompt_embeds"), stacked(vs, "negative_prompt_embeds")
                inp, hid = (torch.cat([lat, lat]), torch.cat([neg, pos])) if cfg else (lat, pos)
                tt = torch.cat([tt, tt]) if cfg else tt
                added = sdxl_added(stacked, vs, cfg, (size, size), len(inp), device, dtype) if xl else None
                pred = controlled_eps(unet, inp, tt, hid, added, [(cn, c[vs], spec.strength) for cn, spec, c in active],
                                      guidance if cfg else None)
                if vpred:  # eps = sqrt(a) v + sqrt(1 - a) x_t
                    a = alphas[t[rows].long()].to(pred.device).reshape(-1, 1, 1, 1)
                    pred = (a.sqrt() * pred.double() + (1.0 - a).sqrt() * lat.double()).float()
                out[rows] = pred.cpu()
        return out.to(x_t.device, x_t.dtype)

    return predictor


def load_guidance(character, image: ImageConfig, pose, views: OrbitViews, mesh: dict | None = None,
                  vertices: np.ndarray | None = None, posed: Sequence[tuple] = ()) -> Guidance:
    """Load ``image``'s model (:func:`kyara.paint.backend.load_painter`) and make the :class:`Guidance`
    of ``character`` posed by ``pose`` over the pool cameras ``views`` (all ``image.width`` pixels
    square): conditions of ``image.controlnets`` (:func:`pool_conditions`), ``image.prompt`` per view
    (:func:`view_prompts`) with ``image.negative_prompt``. ``posed``: more groups of ``(pose, views,
    vertices)`` whose cameras follow in the pool (the posed stage's views), each with its own pose's
    conditions."""
    from kyara.generate.prompts import encode_prompts
    from kyara.paint.backend import load_painter

    groups = [(pose, views, vertices)] + [tuple(g) for g in posed]
    cams = [c for _, v, _ in groups for c in v.cameras]
    if any(c.width != image.width or c.height != image.height for c in cams):
        raise ValueError(f"pool cameras are not {image.width}x{image.height}, expected the image size")
    pipe, cns, xl = load_painter(image)
    kinds = [c.kind for c in image.controlnets]
    conds = pool_conditions(character, kinds, [(p, v.cameras, x) for p, v, x in groups], mesh)
    prompts = [p for _, v, _ in groups for p in view_prompts(image.prompt, v)]
    cache: dict = {}
    embeds = []
    for p in prompts:
        if p not in cache:
            cache[p] = encode_prompts(pipe, p, image.negative_prompt, image.clip_skip, xl=xl)
        embeds.append(cache[p])
    cond_list = [conds[k] for k in kinds]
    return Guidance(batched_guidance(pipe, cns, image, xl, embeds, cond_list), vae_encoder(pipe), prompts, conds,
                    pipe, diffusion_guidance(pipe, cns, image, xl, embeds, cond_list))
