"""A refined avatar: score distillation of a character's textures with the user's model, and its files.

:func:`refine_avatar` is the whole ``kyara refine`` command:

1. the character's UV atlas (:func:`kyara.paint.uv.character_atlas`), posed in ``stand``;
2. the pool (:func:`refine_pool`): DreamWaltz-G cameras (:func:`kyara.refine.optimize.refine_cameras`)
   around the rest pose and, for the posed stage, ``posed_cameras`` cameras around each of
   ``poses`` (kyara's preset poses); their view buffers (:func:`kyara.paint.buffers.render_buffers`)
   and, with ``shading="toon"``, surface frames (:func:`kyara.refine.shading.render_frames`), all
   from kyara's own renderer;
3. the guidance (:func:`kyara.refine.guidance.load_guidance`: the model through kyara.paint's
   loaders, OpenPose of the character's skeleton IN EACH VIEW'S POSE per camera, view prompts, CFG,
   the VAE encoder); a folder's checkpoint made with another schedule is refused before it loads;
4. the starting textures: every material island filled with its part's colour (grey outside
   charts), and a flat normal texture ``(0.5, 0.5, 1)`` when ``shading="toon"``;
5. :func:`kyara.refine.recipe.refine_run` in ``DIR/run`` (progress bar with loss and iterations/s,
   checkpoints every ``checkpoint_steps`` and on Ctrl-C, resume from the folder's checkpoint,
   ``log.jsonl``; a progress frame every ``frame_every`` iterations into ``DIR/run/progress/``);
6. the files: ``texture.png``, ``normal.png`` (the refined tangent-space normal texture),
   ``avatar.vrm`` (kyara.paint.avatar's painted export: the character split along its UV seams,
   base and MToon shade textures, and the normal texture as every painted material's
   ``normalTexture``, :func:`kyara.refine.outputs.with_normal_texture`), ``turntable.gif``
   (:func:`kyara.paint.avatar.render_painted`), ``normal_turntable.gif``
   (:func:`kyara.refine.outputs.normal_views`), ``progress.gif`` (the avatar across iterations:
   front, side, back and side views shaded as the loop renders them) and ``loss.json`` (the loss,
   SDS gradient RMS, cel loss and iterations/s of every iteration from the harness' log, and the
   run's iterations per second), each written atomically;
7. with ``gaussians`` (``kyara refine --gaussians N``, #23): after the texture loop, a layer of N
   surface-bound Gaussians is optimised over the same pool with the refined textures fixed
   (:func:`kyara.refine.gaussian_stage.run_gaussian_stage`), written as ``gaussians.ply`` (bound to the
   rest-pose merged mesh: ``kyara render/animate --gaussians`` draw it), drawn over the turntable,
   and baked into the VRM's base texture as the fallback for viewers that do not read the PLY
   (``texture.png`` stays the refined texture). The stage is not checkpointed: a resumed run does it again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kyara.refine.optimize import RefineConfig

if TYPE_CHECKING:  # pragma: no cover
    from kyara.generate.config import ImageConfig

RUN_DIR = "run"  # the harness' folder inside the output folder
PROGRESS_DIR = "progress"  # the progress frames inside RUN_DIR
# the posed stage's preset poses (kyara.pose.presets): locomotion, arms up and across, legs bent
POSED_POSES = ("walk", "run", "jump", "wave", "sit", "kick", "dab", "peace-sign")


@dataclass(frozen=True)
class RefineAvatarConfig:
    """One ``kyara refine`` run. ``image``: model, LoRAs, ControlNets (OpenPose), prompt, negative
    prompt, guidance, seed; ``image.width`` is the render side (pixels, a multiple of 8)."""

    image: ImageConfig
    refine: RefineConfig = field(default_factory=RefineConfig)
    texture_size: int = 256  # texels per side of texture.png
    pool: int = 16  # cameras in the pool
    pose: str = "stand"
    checkpoint_steps: int = 50
    poses: tuple[str, ...] = POSED_POSES  # the posed stage's poses (used when refine.posed_fraction > 0)
    posed_cameras: int = 2  # pool cameras per posed pose
    frame_every: int = 0  # iterations between progress frames; 0: ceil(iters / 24) (about 25 frames)
    gaussians: object | None = None  # kyara.refine.gaussian_stage.StageOptions: the Gaussian stage (None: off)

    def __post_init__(self) -> None:
        from kyara.pose.presets import POSE_NAMES

        for name in ("pool", "posed_cameras", "checkpoint_steps", "texture_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} {v!r} must be an integer >= 1")
        if isinstance(self.frame_every, bool) or not isinstance(self.frame_every, int) or self.frame_every < 0:
            raise ValueError(f"frame_every {self.frame_every!r} must be an integer >= 0")
        bad = [p for p in (self.pose, *self.poses) if p not in POSE_NAMES]
        if bad:
            raise ValueError(f"unknown pose '{bad[0]}', expected one of {', '.join(POSE_NAMES)}")
        if self.refine.posed_fraction > 0 and not self.poses:
            raise ValueError("posed_fraction > 0 needs at least one pose in poses")

    @property
    def posed_views(self) -> int:
        """How many pool views show the posed stage's poses (0 without a posed stage)."""
        return len(self.poses) * self.posed_cameras if self.refine.posed_fraction > 0 else 0

    @property
    def normal(self) -> bool:
        """Whether a normal texture is refined (``shading="toon"``)."""
        return self.refine.shading == "toon"

    def schedule(self) -> dict:
        """The schedule :func:`kyara.refine.recipe.refine_run` records in the checkpoint for this run
        (:func:`kyara.refine.recipe.schedule`), known before anything is loaded or rendered."""
        return run_schedule(self.refine, self.texture_size, int(self.image.width), self.pool, len(self.poses),
                            self.posed_cameras)

    def frames_every(self) -> int:
        """Iterations between progress frames (``frame_every``, or ``ceil(iters / 24)``)."""
        return self.frame_every or -(-self.refine.iters // 24)


@dataclass
class RefineOutput:
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    loss: dict = field(default_factory=dict)  # what loss.json holds
    seconds: dict = field(default_factory=dict)  # wall seconds per stage: atlas, pool, guidance, loop, files


def run_schedule(refine: RefineConfig, texture_size: int, side: int, pool: int = 16, poses: int = len(POSED_POSES),
                 posed_cameras: int = 2) -> dict:
    """The schedule a run of these options records in its checkpoint (:func:`kyara.refine.recipe.schedule`
    of an RGB ``texture_size`` texture, a normal texture with ``shading="toon"``, ``pool`` rest views and
    ``poses x posed_cameras`` posed views when ``posed_fraction > 0``, all ``side`` px): computable from
    the options alone, before any model loads."""
    from kyara.refine.recipe import schedule

    posed = poses * posed_cameras if refine.posed_fraction > 0 else 0
    return schedule(refine, 3, texture_size, (pool + posed, side, side),
                    texture_size if refine.shading == "toon" else None, posed)


def initial_texture(atlas, mesh: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(texture [3, S, S] float32 in [0, 1], island [S, S] int32)``: every island of the atlas filled
    with the median base colour of its part (:func:`kyara.paint.finish.island_map`), 0.5 outside."""
    from kyara.paint.finish import island_map

    island = island_map(atlas, mesh["part_id"], size)
    tex = np.full((size, size, 3), 0.5, np.float32)
    base = np.asarray(mesh["base"], np.float64)
    for k in np.unique(island[island >= 0]):
        tex[island == k] = np.median(base[mesh["part_id"] == k], axis=0)
    return np.ascontiguousarray(tex.transpose(2, 0, 1)), island


def loss_curves(folder: str | os.PathLike) -> dict:
    """``{"step": [...], "loss": [...], "sds_rms": [...], "cel": [...], "it_s": [...]}`` from the
    harness' ``log.jsonl`` in ``folder`` (training rows only; ``it_s`` is 0 on a session's first row)."""
    rows = [json.loads(line) for line in (Path(folder) / "log.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if not r.get("val") and "loss" in r]
    return {k: [r.get(k) for r in rows] for k in ("step", "loss", "sds_rms", "cel", "it_s")}


@dataclass(frozen=True, eq=False)
class RefinePool:
    """The views one run draws from: the rest pose's, then the posed stage's (``posed`` last views)."""

    buffers: object  # kyara.paint.buffers.ViewBuffers, all views
    frames: object | None  # kyara.refine.shading.Frames of the same views (shading="toon"), or None
    groups: list  # [(pose name, Pose, OrbitViews, vertices [V, 3])], rest pose first, in pool order
    posed: int  # the last `posed` views are the posed stage's


def refine_pool(character, atlas, mesh: dict, config: RefineAvatarConfig) -> RefinePool:
    """Render the pool of ``config`` (module docstring, step 2) for ``character`` and its atlas/merged
    ``mesh`` (:func:`kyara.paint.uv.character_atlas`). Pose ``k`` of ``config.poses`` gets its own
    cameras (:func:`kyara.refine.optimize.refine_cameras` around that pose's vertices, seeded by
    ``(seed, k + 1)``); every view is rendered from that view's posed vertices. Deterministic."""
    from kyara.avatar import avatar_pose
    from kyara.paint.buffers import ViewBuffers, render_buffers
    from kyara.refine.optimize import refine_cameras
    from kyara.refine.shading import Frames, render_frames

    side = int(config.image.width)
    seed = config.refine.seed
    names = [config.pose] + (list(config.poses) if config.posed_views else [])
    part = np.minimum(mesh["part_id"], 254).astype(np.int64)
    groups, bufs, frs = [], [], []
    for k, name in enumerate(names):
        pose = avatar_pose(name, character.body)
        verts = character.pose(pose, mesh)[0]
        s = seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1)[0] % 2**31)
        views = refine_cameras(verts, config.pool if k == 0 else config.posed_cameras, (side, side), seed=s)
        groups.append((name, pose, views, verts))
        bufs.append(render_buffers(atlas, verts, views.cameras, part))
        if config.normal:
            frs.append(render_frames(atlas, verts, views.cameras))
    buffers = bufs[0] if len(bufs) == 1 else ViewBuffers(
        *(np.concatenate([getattr(b, f) for b in bufs]) for f in ("uv", "visible", "cosine", "part")),
        tuple(c for b in bufs for c in b.cameras))
    frames = None
    if frs:
        frames = frs[0] if len(frs) == 1 else Frames(
            *(np.concatenate([getattr(f, a) for f in frs]) for a in ("normal", "tangent", "bitangent", "visible")))
    return RefinePool(buffers, frames, groups, config.posed_views)


def refine_avatar(character, config: RefineAvatarConfig, out_dir: str | os.PathLike, *, name: str = "kyara avatar",
                  turntable_frames: int = 36, turntable_size: int = 256,
                  progress: bool | None = None) -> RefineOutput:
    """Refine ``character``'s textures (module docstring) and write its files into ``out_dir``;
    resumes from ``out_dir/run``'s checkpoint when there is one (refused, before the model loads,
    when it was made with another schedule). Deterministic for a seed on CPU."""
    from kyara.character.model import SKIN_MATERIAL
    from kyara.export import ExportOptions
    from kyara.export.vrm import vrm_bytes
    from kyara.fileio import check_output_dir, write_bytes_atomic, write_text_atomic
    from kyara.paint.avatar import _png, painted_character, render_painted, shade_texture
    from kyara.paint.uv import character_atlas
    from kyara.refine.guidance import load_guidance
    from kyara.refine.outputs import normal_views, with_normal_texture
    from kyara.refine.recipe import check_resume, refine_run
    from kyara.render.camera import turntable_cameras
    from kyara.render.video import write_video

    out = check_output_dir(out_dir)
    check_resume(out / RUN_DIR, config.schedule())
    secs: dict = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        secs[name] = round(secs.get(name, 0.0) + now - clock[0], 3)
        clock[0] = now

    atlas, mesh = character_atlas(character, config.texture_size)
    lap("atlas")
    pool = refine_pool(character, atlas, mesh, config)
    lap("pool")
    (_, pose, views, verts), posed = pool.groups[0], [(p, v, x) for _, p, v, x in pool.groups[1:]]
    guidance = load_guidance(character, config.image, pose, views, mesh, verts, posed=posed)
    init, island = initial_texture(atlas, mesh, config.texture_size)
    t = config.texture_size
    flat = np.broadcast_to(np.array([0.5, 0.5, 1.0], np.float32).reshape(3, 1, 1), (3, t, t)).copy() \
        if config.normal else None
    on_frame, frames_dir = _progress_frames(atlas, verts, config, mesh, out / RUN_DIR)
    lap("guidance")
    tex, nrm, run = refine_run(init, pool.buffers, guidance.predictor, out / RUN_DIR, config.refine,
                               guidance.encoder, checkpoint_steps=config.checkpoint_steps, log_every=1,
                               progress=progress, normal=flat, frames=pool.frames, posed=pool.posed,
                               on_frame=on_frame, frame_every=config.frames_every(),
                               device=_loop_device(guidance.pipe))
    on_frame(config.refine.iters, tex, nrm)  # the last frame: the refined textures
    lap("loop")
    layer = None
    if config.gaussians is not None:
        layer = _gaussian_stage(config, tex, nrm, pool, mesh, guidance, progress)
        lap("gaussians")
    base = _u8(tex)
    skin_parts = {k for k, p in enumerate(character.parts) if p.material.name == SKIN_MATERIAL}
    split, skin = painted_character(character, atlas, base, shade_texture(base, island, skin_parts))
    sverts = split.pose(pose, split.merged(opaque_only=True))[0]
    turn = turntable_cameras(sverts, turntable_frames, turntable_size)
    frames = render_painted(character, split, skin, pose, turn, background=(0.965, 0.957, 0.94), outline_width=1)
    if layer is not None:
        frames = _with_layer(frames, layer, verts, mesh["faces"], turn)
    lap("turntable")
    res = RefineOutput(out, seconds=secs)
    res.files.append(_png(out / "texture.png", base))
    if layer is not None:
        from kyara.gaussians.io import bake_texture, write_layer

        res.files.append(write_layer(out / "gaussians.ply", layer, mesh["vertices"], mesh["faces"]))
        baked = bake_texture(layer, base / 255.0, atlas.uv, atlas.faces, mesh["vertices"], mesh["faces"])
        baked = np.clip(np.rint(baked * 255.0), 0, 255).astype(np.uint8)
        split, skin = painted_character(character, atlas, baked, shade_texture(baked, island, skin_parts))
    opts = ExportOptions(name=name[:60], paint=skin)
    vrm, _warnings = vrm_bytes(split, opts.name, opts.authors, opts.license, opts.version, opts.paint)
    if nrm is not None:
        res.files.append(_png(out / "normal.png", _u8(nrm)))
        vrm = with_normal_texture(vrm, (out / "normal.png").read_bytes())
    res.files.append(write_bytes_atomic(out / "avatar.vrm", vrm))
    write_video(out / "turntable.gif", frames[..., :3], fps=12)
    res.files.append(out / "turntable.gif")
    if nrm is not None:
        write_video(out / "normal_turntable.gif", normal_views(atlas, verts, turn, nrm, (0.965, 0.957, 0.94)), fps=12)
        res.files.append(out / "normal_turntable.gif")
    strip = [np.asarray(_read_png(p)) for p in sorted(frames_dir.glob("*.png"))
             if int(p.stem) <= config.refine.iters]
    write_video(out / "progress.gif", np.stack(strip), fps=4)
    res.files.append(out / "progress.gif")
    res.loss = loss_curves(out / RUN_DIR)
    res.loss["iterations_per_s"] = round(run.step / run.train_seconds, 4) if run.train_seconds > 0 else None
    res.loss["s_per_iteration"] = round(run.train_seconds / run.step, 4) if run.step else None
    res.loss["posed_from_iteration"] = _posed_start(config)
    res.loss["progress_frames"] = [int(p.stem) for p in sorted(frames_dir.glob("*.png"))
                                   if int(p.stem) <= config.refine.iters]
    res.loss["prompts"] = guidance.prompts
    if layer is not None:
        res.loss["gaussians"] = len(layer)
    res.files.append(write_text_atomic(out / "loss.json", json.dumps(res.loss, indent=1) + "\n"))
    lap("files")
    return res


def _gaussian_stage(config: RefineAvatarConfig, tex, nrm, pool: RefinePool, mesh: dict, guidance, progress):
    """The Gaussian stage (module docstring, step 7): the layer, optimised over the whole pool (each view
    on its own pose's vertices) against the same guidance, the refined textures fixed."""
    from kyara.refine.gaussian_stage import run_gaussian_stage

    opts = config.gaussians
    per_view = np.concatenate([np.broadcast_to(v, (len(views.cameras), *v.shape))
                               for _, _, views, v in pool.groups])  # [M, V, 3]
    # every pool view, rest and posed, drawn alike (the layer follows each view's pose)
    rc = replace(config.refine, iters=opts.iters or config.refine.iters, posed_fraction=0.0)
    bar = _stage_bar(rc.iters, progress)
    try:
        res = run_gaussian_stage(tex, pool.buffers, per_view, mesh["faces"], guidance.predictor, guidance.encoder,
                                 refine=rc, config=opts.config, colors=np.asarray(mesh["base"])[:, :3],
                                 on_step=lambda i, lay: bar.update(1), frames=pool.frames, normal=nrm,
                                 device=_loop_device(guidance.pipe))
    finally:
        bar.close()
    return res.layer.to("cpu")


def _stage_bar(total: int, progress):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="gaussians", unit="it", disable=progress is False, leave=False)


def _with_layer(frames: np.ndarray, layer, vertices: np.ndarray, faces: np.ndarray, cameras) -> np.ndarray:
    """The turntable ``frames [K, H, W, C]`` uint8 with the Gaussian layer drawn over each by depth."""
    from kyara.gaussians.draw import draw_layer
    from kyara.refine.gaussian_stage import pool_depth

    depth = pool_depth(vertices, faces, cameras)
    return np.stack([draw_layer(f, layer, vertices, faces, c, d) for f, c, d in zip(frames, cameras, depth)])


def _loop_device(pipe) -> str | None:
    """The refinement loop runs where the U-Net runs when that is a GPU (None: the CPU)."""
    dev = getattr(getattr(pipe, "unet", None), "device", None)
    return str(dev) if dev is not None and getattr(dev, "type", "cpu") != "cpu" else None


def _u8(t) -> np.ndarray:
    """``[C, T, T]`` float tensor in [0, 1] -> ``[T, T, C]`` uint8."""
    return np.clip(np.round(t.numpy().transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _posed_start(config: RefineAvatarConfig) -> int | None:
    from kyara.refine.optimize import posed_start

    return posed_start(config.refine, config.posed_views) if config.posed_views else None


def _progress_frames(atlas, vertices: np.ndarray, config: RefineAvatarConfig, mesh: dict, run_dir: Path):
    """``(on_frame(step, texture, normal), folder)``: the progress frames' writer; a frame is the front,
    side, back and side views (``min(size, 128)`` px, the rest pose) shaded as the loop renders them."""
    from kyara.paint.avatar import _png
    from kyara.paint.buffers import render_buffers
    from kyara.refine.optimize import make_pool
    from kyara.refine.outputs import progress_frame
    from kyara.refine.shading import render_frames
    from kyara.render.camera import turntable_cameras

    side = min(int(config.image.width), 128)
    cams = turntable_cameras(vertices, 4, side)
    buf = render_buffers(atlas, vertices, cams, np.minimum(mesh["part_id"], 254).astype(np.int64))
    pool = make_pool(buf, render_frames(atlas, vertices, cams) if config.normal else None)
    folder = Path(run_dir) / PROGRESS_DIR
    folder.mkdir(parents=True, exist_ok=True)

    def on_frame(step: int, texture, normal) -> None:
        _png(folder / f"{int(step):06d}.png", progress_frame(texture, normal, pool, config.refine))

    return on_frame, folder
