"""A refined avatar: score distillation of a character's texture with the user's model, and its files.

:func:`refine_avatar` is the whole ``kyara refine`` command:

1. the character's UV atlas (:func:`kyara.paint.uv.character_atlas`), posed in ``stand``;
2. a pool of DreamWaltz-G cameras (:func:`kyara.refine.optimize.refine_cameras`) and their view
   buffers (:func:`kyara.paint.buffers.render_buffers`);
3. the guidance (:func:`kyara.refine.guidance.load_guidance`: the model through kyara.paint's
   loaders, OpenPose of the character's skeleton per camera, view prompts, CFG, the VAE encoder);
4. the starting texture: every material island filled with its part's colour (grey outside charts);
5. :func:`kyara.refine.recipe.refine_run` in ``DIR/run`` (progress bar, checkpoints every
   ``checkpoint_steps`` and on Ctrl-C, resume from the folder's checkpoint, ``log.jsonl``);
6. the files: ``texture.png``, ``avatar.vrm`` (kyara.paint.avatar's painted export: the character
   split along its UV seams, base and MToon shade textures), ``turntable.gif``
   (:func:`kyara.paint.avatar.render_painted`) and ``loss.json`` (the loss, SDS gradient RMS and cel
   loss of every iteration, from the harness' log), each written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kyara.refine.optimize import RefineConfig

if TYPE_CHECKING:  # pragma: no cover
    from kyara.generate.config import ImageConfig

RUN_DIR = "run"  # the harness' folder inside the output folder


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


@dataclass
class RefineOutput:
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    loss: dict = field(default_factory=dict)  # what loss.json holds


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
    """``{"step": [...], "loss": [...], "sds_rms": [...], "cel": [...]}`` from the harness'
    ``log.jsonl`` in ``folder`` (training rows only)."""
    rows = [json.loads(line) for line in (Path(folder) / "log.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if not r.get("val") and "loss" in r]
    return {k: [r.get(k) for r in rows] for k in ("step", "loss", "sds_rms", "cel")}


def refine_avatar(character, config: RefineAvatarConfig, out_dir: str | os.PathLike, *, name: str = "kyara avatar",
                  turntable_frames: int = 36, turntable_size: int = 256,
                  progress: bool | None = None) -> RefineOutput:
    """Refine ``character``'s texture (module docstring) and write its files into ``out_dir``;
    resumes from ``out_dir/run``'s checkpoint when there is one. Deterministic for a seed on CPU."""
    from kyara.avatar import avatar_pose
    from kyara.character.model import SKIN_MATERIAL
    from kyara.export import ExportOptions, export_character
    from kyara.fileio import check_output_dir, write_text_atomic
    from kyara.paint.avatar import _png, painted_character, render_painted, shade_texture
    from kyara.paint.buffers import render_buffers
    from kyara.paint.uv import character_atlas
    from kyara.refine.guidance import load_guidance
    from kyara.refine.optimize import refine_cameras
    from kyara.refine.recipe import refine_run
    from kyara.render.camera import turntable_cameras
    from kyara.render.video import write_video

    out = check_output_dir(out_dir)
    img = config.image
    size = int(img.width)
    atlas, mesh = character_atlas(character, config.texture_size)
    pose = avatar_pose(config.pose, character.body)
    verts = character.pose(pose, mesh)[0]
    views = refine_cameras(verts, config.pool, (size, size), seed=config.refine.seed)
    buffers = render_buffers(atlas, verts, views.cameras, np.minimum(mesh["part_id"], 254).astype(np.int64))
    guidance = load_guidance(character, img, pose, views, mesh, verts)
    init, island = initial_texture(atlas, mesh, config.texture_size)
    tex, _ = refine_run(init, buffers, guidance.predictor, out / RUN_DIR, config.refine, guidance.encoder,
                        checkpoint_steps=config.checkpoint_steps, log_every=1, progress=progress)
    base = np.clip(np.round(tex.numpy().transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
    skin_parts = {k for k, p in enumerate(character.parts) if p.material.name == SKIN_MATERIAL}
    split, skin = painted_character(character, atlas, base, shade_texture(base, island, skin_parts))
    sverts = split.pose(pose, split.merged(opaque_only=True))[0]
    turn = turntable_cameras(sverts, turntable_frames, turntable_size)
    frames = render_painted(character, split, skin, pose, turn, background=(0.965, 0.957, 0.94), outline_width=1)
    res = RefineOutput(out)
    res.files.append(_png(out / "texture.png", base))
    res.files.append(export_character(split, "vrm", out / "avatar.vrm", ExportOptions(name=name[:60], paint=skin)).path)
    write_video(out / "turntable.gif", frames[..., :3], fps=12)
    res.files.append(out / "turntable.gif")
    res.loss = loss_curves(out / RUN_DIR)
    res.loss["prompts"] = guidance.prompts
    res.files.append(write_text_atomic(out / "loss.json", json.dumps(res.loss, indent=1) + "\n"))
    return res
