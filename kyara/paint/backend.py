"""The noise predictor of :func:`kyara.paint.sync.sync_paint` from the diffusers backend, and the
whole texture-painting run of one character: :func:`paint_texture`.

What one run does (every step a function here or in the foundation modules):

1. the character's UV atlas (:func:`kyara.paint.uv.character_atlas`, cached per mesh) and the painting cameras
   (:func:`kyara.paint.cameras.paint_cameras`: around + higher views, view-dependent prompts);
2. per view, the ControlNet conditions rendered by kyara for exactly that camera
   (:func:`view_conditions`: OpenPose of the skeleton with occlusion, depth, normal, lineart);
3. the model loaded through :mod:`kyara.generate.pipeline`'s loaders (the same cache, checks,
   single files, LoRA stacks and textual inversion as ``kyara image``); every view's prompt encoded
   once (:func:`kyara.generate.prompts.encode_prompts`);
4. :func:`diffusion_predictor`: ``eps(x [N, 4, h, w], t, step)`` with classifier-free guidance
   (``[uncond; cond]`` in one batch) and the ControlNets' residuals, active from ``start`` to ``end``
   of the steps as diffusers counts them; v-prediction models are turned into noise predictions; in
   the first ``reference_fraction`` (1/4) of the steps every view's self-attention also reads the
   front view's keys and values (:func:`reference_attention`), against a face painted on the back
   (or, ``front_back="canvas"``, the front and back views are predicted as one side-by-side image:
   :func:`canvas_predictor`);
5. latent buffers at ``view_size / 8`` with **nearest** texel sampling (renders of unit noise stay
   unit noise, docs/paint.md), baked through the full-size buffers' footprint
   (:class:`kyara.paint.bake.FootprintViews`: views meet on the texels they share) into a latent
   texture about as dense as the latent views (:func:`auto_latent_size`), and the synchronized
   sampler with the model's own beta schedule;
6. the VAE decodes every view's final latent; bilinear maps of the full-size buffers and the final
   RGB bake at ``final_power`` (6).

The anime finish (palette, fill) and export happen in :mod:`kyara.paint.finish` and
:mod:`kyara.paint.avatar`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from kyara.generate.config import ImageConfig

CONDITION_KINDS = ("openpose", "depth", "normal", "lineart")
FRONT_BACK = ("reference", "canvas", "off")  # how the front view's face keeps off the back (PaintConfig.front_back)
LATENT_FACTOR = 8


@dataclass(frozen=True)
class PaintConfig:
    """One painting run. Model, LoRAs, embeddings, ControlNets, negative prompt, ``steps``,
    ``guidance``, ``seed``, ``clip_skip``, device and dtype come from ``image``
    (:class:`~kyara.generate.config.ImageConfig`, checked by its own ``check``); ``image.width`` is the
    view size (pixels, a multiple of 8)."""

    image: ImageConfig
    views: int = 10  # painting cameras: views - high around, high higher ones (2 from 6 views up)
    face_views: int | None = None  # face close-ups on top of ``views`` (None: 20 % of ``views`` from 8 views up)
    texture_size: int = 1024  # texels per side of texture.png
    latent_texture_size: int | None = None  # texels per side of the latent texture (None: auto_latent_size)
    pose: str = "stand"
    sync_fraction: float = 0.8
    final_power: float = 6.0
    palette: int = 8  # colours per material island (anime finish); 0 = no snapping
    reference_fraction: float = 0.25  # first share of the steps in which every view also attends to the front view
    front_back: str = "reference"  # against a face on the back, in those steps: "reference" attention, "canvas", "off"
    atlas_cache: bool = True  # keep the character's atlas on disk (kyara.paint.uv.cached_atlas): xatlas runs once
    atlas_cache_dir: str | None = None  # where (None: kyara.paint.uv.atlas_cache_dir())

    def check(self) -> "PaintConfig":
        from kyara.paint.uv import MAX_SIZE, MIN_SIZE

        for name, v, lo, hi in (("--views", self.views, 1, 64), ("--face-views", self.face_count, 0, 16),
                                ("--texture-size", self.texture_size, MIN_SIZE, MAX_SIZE),
                                ("--palette", self.palette, 0, 64)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise ValueError(f"{name} {v!r} is out of range, expected an integer {lo}..{hi}")
        lt = self.latent_texture_size
        if lt is not None and (isinstance(lt, bool) or not isinstance(lt, (int, np.integer))
                               or not MIN_SIZE <= lt <= self.texture_size):
            raise ValueError(f"latent texture size {lt!r} is out of range, expected an integer "
                             f"{MIN_SIZE}..{self.texture_size} (the texture size)")
        w, h = self.image.width, self.image.height
        if w != h:
            raise ValueError(f"view size {w}x{h} is not square, expected one side")
        if isinstance(w, bool) or not isinstance(w, int) or not 64 <= w <= 2048 or w % 8:
            raise ValueError(f"--view-size {w!r} is not valid, expected a multiple of 8 in 64..2048 pixels")
        self.image.check()
        if self.image.init_image or self.image.hires_scale > 1 or self.image.upscale > 1 or self.image.count != 1 \
                or self.image.batch != 1:
            raise ValueError("painting takes no --init-image, hires pass, upscale, --batch or --count")
        kinds = [c.kind for c in self.image.controlnets]
        bad = [k for k in kinds if k not in CONDITION_KINDS]
        if bad:
            raise ValueError(f"ControlNet kind '{bad[0]}' cannot paint, expected one of {', '.join(CONDITION_KINDS)}")
        if self.front_back not in FRONT_BACK:
            raise ValueError(f"--front-back '{self.front_back}' is unknown, expected one of {', '.join(FRONT_BACK)}")
        for name, v in (("sync fraction", self.sync_fraction), ("reference fraction", self.reference_fraction)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name} {v} is out of range, expected 0..1")
        return self

    @property
    def view_size(self) -> int:
        return int(self.image.width)

    @property
    def face_count(self) -> int:
        """Face close-ups: ``face_views``, or by default ``round(0.2 * views)`` from 8 views up
        (DreamWaltz-G aims 20 % of its views at the face; 2 for the 10 default views)."""
        if self.face_views is None:
            return int(round(0.2 * self.views)) if isinstance(self.views, (int, np.integer)) and self.views >= 8 else 0
        return self.face_views

    def camera_config(self):
        return camera_config(self.views, self.face_count)


def auto_latent_size(visible_pixels: int, chart_fraction: float, texture_size: int) -> int:
    """Side of the latent texture with about 1.5 chart texels per visible latent pixel of all views
    together (``chart_fraction``: the share of the texture inside charts), so that views meet on the
    texels they share. Measured on the toy mesh with a hallucinating stand-in (tests/test_paint_footprint.py):
    at 0.9-1.6 texels per pixel synchronization recovers every view exactly, at 3.5 it weakens (20 dB),
    at 0.4 pixels crowd on texels (20 dB), and at the views' full density the views hardly meet. A
    multiple of 8 within 16..``texture_size``."""
    from kyara.paint.uv import MIN_SIZE

    side = np.sqrt(1.5 * max(visible_pixels, 1) / max(chart_fraction, 1e-3))
    return int(min(texture_size, max(MIN_SIZE, 8 * round(side / 8))))


def face_center(character, mesh: dict, vertices: np.ndarray) -> np.ndarray | None:
    """``[3]`` metres: where the face close-ups aim, the middle between the eyes and the mouth of the
    posed merged ``mesh`` (``vertices``: its posed positions; ``mesh["part_id"]`` indexes
    ``character.parts``); None for a character without eye whites and a mouth (an imported avatar:
    :func:`~kyara.paint.cameras.paint_cameras` then aims at the top of the mesh's box)."""
    names = [p.name for p in character.parts]
    if "eye_whites" not in names or "mouth" not in names:
        return None
    pid = np.asarray(mesh["part_id"])
    v = np.asarray(vertices, np.float64)
    eyes, mouth = v[pid == names.index("eye_whites")], v[pid == names.index("mouth")]
    if not len(eyes) or not len(mouth):
        return None
    return 0.5 * (eyes.mean(axis=0) + mouth.mean(axis=0))


def camera_config(views: int, face_views: int = 0):
    """The :class:`~kyara.paint.cameras.PaintCameraConfig` of ``views`` painting views: two of them
    higher ones (front and back) from 6 views up, the rest around; ``face_views`` close-ups on top."""
    from kyara.paint.cameras import PaintCameraConfig

    high = 2 if views >= 6 else 0
    return PaintCameraConfig(around=views - high, high=high, face=face_views)


@dataclass(eq=False)
class PaintedTexture:
    """What :func:`paint_texture` made (before the anime finish)."""

    atlas: object  # kyara.paint.uv.UVAtlas of ``mesh``
    mesh: dict  # character.merged(opaque_only=True)
    texture: np.ndarray  # [S, S, 3] float32 sRGB in [0, 1], 0 on unseen texels
    weight: np.ndarray  # [S, S] float32 final bake weight (0 = unseen)
    views: np.ndarray  # [N, H, W, 3] uint8 every generated view (decoded)
    prompts: list[str]
    conditions: dict  # kind -> [N, H, W, 3] uint8
    consistency: float  # latent consistency of the sampler (RMS on shared texels)
    rgb_consistency: float  # the decoded views' disagreement on shared texels (sRGB 0..1)
    coverage: float  # share of the chart texels some (full-size) view sees
    chart_texels: np.ndarray  # [S, S] bool
    seconds: dict = field(default_factory=dict)
    latent_size: int = 0  # texels per side of the latent texture


# -- conditions ---------------------------------------------------------------------------------
def view_conditions(character, pose, cameras: Sequence, kinds: Sequence[str], mesh: dict | None = None,
                    vertices: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """ControlNet conditions ``{kind: [N, H, W, 3] uint8}`` of ``character`` posed by ``pose`` seen
    from each of ``cameras`` (all one size): OpenPose from the skeleton with keypoints hidden by other
    body parts dropped (:func:`kyara.pose.keypoints.visible_keypoints`), depth (near = bright), normal
    and lineart of the dressed mesh, as :func:`kyara.generate.conditions.condition_images` draws
    them for one view."""
    from kyara.avatar import character_body
    from kyara.render.maps import render_maps

    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in CONDITION_KINDS]
    if bad:
        raise ValueError(f"condition kind '{bad[0]}' is unknown, expected one of {', '.join(CONDITION_KINDS)}")
    cams = list(cameras)
    w, h = cams[0].width, cams[0].height
    m = mesh if mesh is not None else character.merged(opaque_only=True)
    verts = vertices if vertices is not None else character.pose(pose, m)[0]
    gl = tuple(k for k in kinds if k != "openpose")
    maps = render_maps(np.asarray(verts, np.float32), m["faces"], cams, maps=gl) if gl else {}
    out: dict[str, np.ndarray] = {}
    for k in gl:
        a = np.asarray(maps[k])
        out[k] = np.ascontiguousarray(np.repeat(a[..., :1], 3, -1) if k != "normal" else a[..., :3]).astype(np.uint8)
    if "openpose" in kinds:
        from kyara.pose.keypoints import body_keypoints, project_keypoints, visible_keypoints
        from kyara.render.openpose_draw import draw_openpose

        skel = character_body(character)
        kp = body_keypoints(skel, pose.rotations, pose.translation)
        visible = visible_keypoints(skel, kp, cams, skel.pose(pose)[0])
        out["openpose"] = np.stack([draw_openpose([project_keypoints(kp, c, visible[i])], w, h, thick=False)
                                    for i, c in enumerate(cams)]).astype(np.uint8)
    return {k: out[k] for k in kinds}


# -- the noise predictor ------------------------------------------------------------------------
def _ddim_schedule(scheduler_config: dict):
    from kyara.paint.sync import DDIMSchedule

    kind = scheduler_config.get("beta_schedule", "scaled_linear")
    if kind != "scaled_linear":
        raise ValueError(f"the model's beta schedule '{kind}' is not supported, expected scaled_linear (SD1.5/SDXL)")
    return DDIMSchedule(int(scheduler_config.get("num_train_timesteps", 1000)),
                        float(scheduler_config.get("beta_start", 0.00085)),
                        float(scheduler_config.get("beta_end", 0.012)),
                        int(scheduler_config.get("steps_offset", 1)))


class _Reference:
    """What the reference-attention processors read at a U-Net call: ``rows`` (``[B]`` long, the
    batch row of each row's reference view) or None (off)."""

    rows = None


class ReferenceAttnProcessor:
    """Self-attention whose keys and values also come from a reference view: each batch row attends
    to its own tokens and to its reference row's (``state.rows``), the front view's during the first
    steps, so a detail the front view decides (the face) reaches the other views' attention instead of
    being invented again on the back. Off (``state.rows is None``) it is ``inner`` unchanged."""

    def __init__(self, inner, state: _Reference) -> None:
        self.inner = inner
        self.state = state

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None,
                 *args, **kwargs):
        import torch

        rows = self.state.rows
        if rows is not None and encoder_hidden_states is None and hidden_states.ndim == 3:
            encoder_hidden_states = torch.cat([hidden_states, hidden_states[rows]], dim=1)  # [B, 2L, C]
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb, *args, **kwargs)


def reference_attention(unet):
    """Wrap every self-attention processor of ``unet`` (``attn1``) in :class:`ReferenceAttnProcessor`;
    returns ``(state, restore)``: set ``state.rows`` per call, ``restore()`` puts the old ones back
    (the U-Net is shared by the process' model cache)."""
    old = dict(unet.attn_processors)
    state = _Reference()
    unet.set_attn_processor({k: ReferenceAttnProcessor(v, state) if ".attn1." in k else v for k, v in old.items()})
    return state, lambda: unet.set_attn_processor(dict(old))  # (diffusers empties the dict it is given)


def sdxl_added(stacked: Callable, rows, cfg: bool, size: tuple[int, int], n: int, device, dtype) -> dict:
    """SDXL's added conditions for a batch of ``n`` rows: the pooled text embeddings of ``rows`` (the
    negative ones first with classifier-free guidance; ``stacked(rows, key)`` gathers them) and the
    size ids ``(h, w, 0, 0, h, w)`` of a ``size = (h, w)`` picture, uncropped."""
    import torch

    pool = stacked(rows, "pooled_prompt_embeds")
    pool = torch.cat([stacked(rows, "negative_pooled_prompt_embeds"), pool]) if cfg else pool
    h, w = size
    ids = torch.tensor([[h, w, 0, 0, h, w]], device=device, dtype=dtype)
    return {"text_embeds": pool, "time_ids": ids.repeat(n, 1)}


def controlled_eps(unet, inp, tt, hid, added, controls, guidance: float | None = None):
    """One U-Net call with ControlNet residuals: ``inp [B', C, h, w]`` latents at timesteps ``tt [B']``
    with text states ``hid`` and SDXL's ``added`` conditions (or None); ``controls`` a list of
    ``(controlnet, image [B, 3, H, W], strength)``. With ``guidance`` the batch is ``[uncond; cond]``
    (``B' = 2B``, each image doubled to match) and the classifier-free combination ``u + g (c - u)`` is
    returned ``[B, C, h, w]``; without, the prediction ``[B', C, h, w]``. Float32. Shared by the
    painting's sampler and the refinement's guidance."""
    import torch

    down, mid = None, None
    for cn, img, strength in controls:
        img = torch.cat([img, img]) if guidance is not None else img
        d, m = cn(inp, tt, encoder_hidden_states=hid, controlnet_cond=img, conditioning_scale=float(strength),
                  added_cond_kwargs=added, return_dict=False)
        down = list(d) if down is None else [a + b for a, b in zip(down, d)]
        mid = m if mid is None else mid + m
    pred = unet(inp, tt, encoder_hidden_states=hid, added_cond_kwargs=added,
                down_block_additional_residuals=down, mid_block_additional_residual=mid, return_dict=False)[0].float()
    if guidance is None:
        return pred
    u, c = pred.chunk(2)
    return u + guidance * (c - u)


def diffusion_predictor(pipe, controlnets: Sequence, specs: Sequence, embeds: list[dict], conditions: list,
                        guidance: float, steps: int, xl: bool, view_size: int | tuple[int, int],
                        cancel: Callable[[], bool] | None = None, reference: int | None = None,
                        reference_steps: int = 0, reference_state: _Reference | None = None) -> Callable:
    """``eps(x [N, 4, h, w] float32, t, step) -> [N, 4, h, w]`` for :func:`~kyara.paint.sync.sync_paint`.

    ``embeds[i]``: view i's :func:`~kyara.generate.prompts.encode_prompts` output; ``conditions[c]``:
    ``[N, H, W, 3] uint8`` images of ControlNet ``controlnets[c]`` (``specs[c]``: strength, start,
    end). Views whose embeddings have the same shape share one U-Net call; classifier-free guidance
    with ``guidance`` (1 = none). With ``reference_state`` (:func:`reference_attention`), every view
    of a call that holds view ``reference`` also attends to it in the first ``reference_steps`` steps.
    Calls ``cancel()`` before every step.
    """
    import torch

    unet = pipe.unet
    device, dtype = unet.device, unet.dtype
    alphas = torch.tensor(_ddim_schedule(dict(pipe.scheduler.config)).alphas_cumprod())
    vpred = pipe.scheduler.config.get("prediction_type", "epsilon") == "v_prediction"
    n = len(embeds)
    groups: dict = {}
    for i, e in enumerate(embeds):
        groups.setdefault(tuple(e["prompt_embeds"].shape), []).append(i)
    conds = [torch.from_numpy(np.ascontiguousarray(c.transpose(0, 3, 1, 2))).to(device, dtype) / 255.0
             for c in conditions]  # [N, 3, H, W] in [0, 1], as diffusers' control image processor gives
    cfg = guidance > 1.0
    vh, vw = (view_size, view_size) if isinstance(view_size, (int, np.integer)) else view_size  # SDXL's size ids

    def stacked(idx, key):
        return torch.cat([embeds[i][key] for i in idx], dim=0).to(device, dtype)

    def eps(x: np.ndarray, t: int, step: int) -> np.ndarray:
        if cancel is not None and cancel():
            from kyara.generate.pipeline import GenerationCancelled

            raise GenerationCancelled("painting cancelled")
        out = np.zeros_like(x, dtype=np.float32)
        with torch.no_grad():
            for idx in groups.values():
                lat = torch.from_numpy(x[idx]).to(device, dtype)
                pos = stacked(idx, "prompt_embeds")
                neg = stacked(idx, "negative_prompt_embeds")
                inp = torch.cat([lat, lat]) if cfg else lat
                if reference_state is not None:
                    use = reference is not None and step < reference_steps and reference in idx
                    ref = torch.tensor([idx.index(reference)] * len(idx)) if use else None
                    reference_state.rows = (torch.cat([ref, ref + len(idx)]) if cfg else ref) if use else None
                hid = torch.cat([neg, pos]) if cfg else pos
                tt = torch.full((len(inp),), int(t), device=device, dtype=torch.long)
                added = sdxl_added(stacked, idx, cfg, (vh, vw), len(inp), device, dtype) if xl else None
                controls = [(cn, conds[c][idx], spec.strength) for c, (cn, spec) in enumerate(zip(controlnets, specs))
                            if spec.start <= step / steps and (step + 1) / steps <= spec.end]  # start/end as diffusers
                pred = controlled_eps(unet, inp, tt, hid, added, controls, guidance if cfg else None)
                if reference_state is not None:
                    reference_state.rows = None  # the ControlNets and other callers see plain attention
                if vpred:  # v = sqrt(a) eps - sqrt(1 - a) x0  ->  eps = sqrt(a) v + sqrt(1 - a) x_t
                    a = float(alphas[int(t)])
                    pred = np.sqrt(a) * pred + np.sqrt(1.0 - a) * lat.float()
                out[idx] = pred.cpu().numpy()
        return out

    eps.views = n  # for messages
    return eps


def canvas_predictor(eps: Callable, canvas_eps: Callable, front: int, back: int, canvas_steps: int) -> Callable:
    """Front and back painted together on one canvas: in the first ``canvas_steps`` steps the
    predictions of views ``front`` and ``back`` (``[4, h, w]`` latents) are the left and right halves of
    ``canvas_eps`` run on the two side by side (``[1, 4, h, 2w]``; one image with both views, so the
    model decides once where the face is); every other view, and all views after, as ``eps`` gives them."""
    def predict(x: np.ndarray, t: int, step: int) -> np.ndarray:
        out = eps(x, t, step)
        if step < canvas_steps:
            w = x.shape[-1]
            both = canvas_eps(np.concatenate([x[front], x[back]], axis=-1)[None], t, step)[0]  # [4, h, 2w]
            out[front], out[back] = both[..., :w], both[..., w:]
        return out

    predict.views = getattr(eps, "views", None)
    return predict


def canvas_prompt(prompt: str) -> str:
    """The prompt of the front-and-back canvas."""
    return f"front view and back view of {prompt}, two views side by side"


def _decode(pipe, latents: np.ndarray) -> np.ndarray:
    """``[N, 4, h, w]`` latents -> ``[N, 8h, 8w, 3] uint8`` sRGB, one view at a time."""
    import torch

    vae = pipe.vae
    scale = float(vae.config.scaling_factor)
    out = []
    with torch.no_grad():
        for z in latents:
            img = vae.decode(torch.from_numpy(z[None]).to(vae.device, vae.dtype) / scale, return_dict=False)[0]
            img = ((img.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)[0].permute(1, 2, 0)
            out.append(img.cpu().numpy())
    return np.stack(out)


def check_painter(image: ImageConfig) -> tuple:
    """Every check of the model, ControlNets and LoRAs of ``image`` that reads no weights (configs
    and headers only, :mod:`kyara.generate.pipeline`): ``(src, cfg_src, index, unet_cfg, cn_sources,
    tiny)``. The CLI calls it before writing anything."""
    from kyara.generate import pipeline as P
    from kyara.generate.models import check_lora_base, check_safetensors

    P.require_diffusion()
    cfg = image.check()
    src, cfg_src, index, unet_cfg = P.base_configs(cfg)
    if index is None and src.kind != "hub":
        raise ValueError(f"model '{cfg.model}' has no model_index.json, expected a diffusers pipeline folder")
    xl = P._is_xl_index(index) if index is not None else False
    tiny = src.kind == "tiny" or cfg_src.kind == "tiny"
    cn_sources = P.controlnet_sources(cfg, xl, tiny, unet_cfg)
    if unet_cfg is not None:
        for lo in cfg.loras:
            check_safetensors(lo.path, "LoRA")
            check_lora_base(lo.path, cfg.model, unet_cfg)
    return src, cfg_src, index, unet_cfg, cn_sources, tiny


def load_painter(image: ImageConfig):
    """Resolve, check (:func:`check_painter`) and load the model, ControlNets and LoRAs of ``image``
    through :mod:`kyara.generate.pipeline`'s loaders (cached per process): ``(pipe, controlnets, xl)``."""
    from kyara.generate import pipeline as P

    cfg = image.check()
    src, cfg_src, index, unet_cfg, cn_sources, tiny = check_painter(cfg)
    P.quiet_libraries()
    device, dtype = P._device_dtype(cfg)
    entry = P._load_base(cfg, src, cfg_src, index, device, dtype)
    if unet_cfg is None:
        cn_sources = P.controlnet_sources(cfg, entry["xl"], tiny, dict(entry["pipe"].unet.config))
    cns = P._load_controlnets(cfg, cn_sources, device, dtype)
    pipe = entry["pipe"]
    if entry["adapters"]:
        pipe.set_adapters(entry["adapters"], adapter_weights=[lo.weight for lo in cfg.loras])
    return pipe, cns, entry["xl"]


def paint_texture(character, config: PaintConfig, progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None, timings: dict | None = None) -> PaintedTexture:
    """Paint ``character`` (:class:`~kyara.character.model.Character`, built or imported) with the
    model of ``config`` (see the module docstring). ``progress(step, steps)`` after every denoising
    step; ``cancel()`` True stops between steps with
    :class:`~kyara.generate.pipeline.GenerationCancelled`. Deterministic for ``config.image.seed``
    on one device."""
    import torch

    from kyara.avatar import avatar_pose
    from kyara.generate.prompts import encode_prompts
    from kyara.paint.bake import consistency, coverage, footprint_views, texture_views
    from kyara.paint.buffers import render_buffers
    from kyara.paint.cameras import paint_cameras
    from kyara.paint.sync import SyncConfig, sync_paint
    from kyara.paint.uv import character_atlas, texel_faces

    cfg = config.check()
    img = cfg.image
    secs = timings if timings is not None else {}
    t0 = time.perf_counter()
    pipe, cns, xl = load_painter(img)  # refused models end here, before any geometry work
    secs["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    atlas, mesh = character_atlas(character, cfg.texture_size, cache=cfg.atlas_cache, cache_dir=cfg.atlas_cache_dir)
    pose = avatar_pose(cfg.pose, character.body)
    verts = character.pose(pose, mesh)[0]
    secs["atlas"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    size = cfg.view_size
    face = face_center(character, mesh, verts)
    views = paint_cameras(verts, (size, size), seed=img.seed, config=cfg.camera_config(), face_center=face)
    lat = size // LATENT_FACTOR
    # the same angles and framing at latent size: every latent pixel is one 8x8 block of a view
    lat_cams = list(paint_cameras(verts, (lat, lat), seed=img.seed, config=cfg.camera_config(),
                                  face_center=face).cameras)
    part_id = np.minimum(mesh["part_id"], 254).astype(np.int64)
    lat_buf = render_buffers(atlas, verts, lat_cams, part_id)
    buf = render_buffers(atlas, verts, views.cameras, part_id)  # full size: the latent bake's footprint, the RGB bake
    chart = texel_faces(atlas)[0] >= 0
    lat_size = cfg.latent_texture_size or auto_latent_size(int(lat_buf.visible.sum()), float(chart.mean()),
                                                           cfg.texture_size)
    maps = footprint_views(lat_buf, buf, lat_size, LATENT_FACTOR)
    lat_chart = texel_faces(atlas, lat_size)[0] >= 0
    kinds = [c.kind for c in img.controlnets]
    conds = view_conditions(character, pose, views.cameras, kinds, mesh, verts) if kinds else {}
    prompts = views.prompts(img.prompt)
    secs["conditions"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    embeds, cache = [], {}
    for p in prompts:
        if p not in cache:
            cache[p] = encode_prompts(pipe, p, img.negative_prompt, img.clip_skip, xl=xl)
        embeds.append(cache[p])
    ref_steps = int(round(cfg.reference_fraction * img.steps))
    front = int(np.argmin(np.minimum(views.azimuth_deg, 360.0 - views.azimuth_deg)
                          + 1000.0 * (np.asarray(views.kind) != "around")))  # the around view nearest azimuth 0
    back = int(np.argmin(np.abs(views.azimuth_deg - 180.0) + 1000.0 * (np.asarray(views.kind) != "around")))
    use_ref = cfg.front_back == "reference" and ref_steps > 0 and len(prompts) > 1
    state, restore = reference_attention(pipe.unet) if use_ref else (None, None)
    eps = diffusion_predictor(pipe, cns, img.controlnets, embeds, [conds[k] for k in kinds], img.guidance,
                              img.steps, xl, size, cancel, reference=front, reference_steps=ref_steps,
                              reference_state=state)
    if cfg.front_back == "canvas" and ref_steps > 0 and back != front:
        pair = [np.concatenate([conds[k][front], conds[k][back]], axis=1)[None] for k in kinds]  # [1, H, 2W, 3]
        both = encode_prompts(pipe, canvas_prompt(img.prompt), img.negative_prompt, img.clip_skip, xl=xl)
        eps = canvas_predictor(eps, diffusion_predictor(pipe, cns, img.controlnets, [both], pair, img.guidance,
                                                        img.steps, xl, (size, 2 * size)), front, back, ref_steps)
    torch.manual_seed(img.seed)
    sync_cfg = SyncConfig(steps=img.steps, sync_fraction=cfg.sync_fraction, final_power=cfg.final_power,
                          seed=int(img.seed % 2**32))
    try:
        res = sync_paint(maps, eps, 4, sync_cfg, chart_texels=lat_chart,
                         schedule=_ddim_schedule(dict(pipe.scheduler.config)), progress=progress)
    finally:
        if restore is not None:
            restore()
    secs["sample"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rgb = _decode(pipe, res.views)  # [N, H, W, 3] uint8
    secs["decode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rgb_maps = texture_views(buf, cfg.texture_size, sampling="bilinear")
    x = rgb.astype(np.float64) / 255.0
    baked = rgb_maps.bake(x, cfg.final_power)
    rms, _ = consistency(rgb_maps, x, cfg.final_power)
    cov = coverage(rgb_maps, chart)
    secs["bake"] = time.perf_counter() - t0
    return PaintedTexture(atlas, mesh, baked.texture, baked.weight, rgb, prompts, conds, res.consistency, rms,
                          cov, chart, secs, lat_size)
