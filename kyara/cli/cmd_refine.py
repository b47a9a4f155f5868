"""``kyara refine``: refine a character's texture by score distillation with the user's diffusion weights.

DreamWaltz-G's skeleton-guided SDS on kyara's rigged characters (:mod:`kyara.refine`): every iteration
renders the texture from cameras of DreamWaltz-G's distribution, and the model, conditioned on each
camera's view prompt and on ControlNet-OpenPose of the character's own skeleton, says how to change it.
Runs in :mod:`kyara.train`'s harness (progress bar, checkpoints, ``--resume``) and writes a refined
VRM with a refined normal map, the turntables, a GIF across iterations and the loss curves. Model,
LoRA and prompt options are parsed by ``kyara paint``'s helpers (themselves ``kyara image``'s).
Every bad input ends as one ``error: ...`` line and exit code 2 before any weight loads or any file
is written; ``--resume`` on a checkpoint made with other options is refused from the checkpoint's
header before the model is even looked at. :func:`refine_settings` and :func:`run_refine` are the
entry point ``kyara create --refine`` reuses.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import List, Optional

import typer

DREAMWALTZ_G_GUIDANCE = 50.0  # DreamWaltz-G's CFG scale for SDS
POSED_FRACTION = 0.25  # the last quarter of the iterations in preset poses (rest pose first, as DreamWaltz-G)


def check_refine_options(iters=300, size=512, cel_weight=0.0, posed_fraction=POSED_FRACTION,
                         size_option: str = "--size") -> None:
    """The refinement's own options (``--iters``, ``--size`` named ``size_option``, ``--cel-weight``,
    ``--posed-fraction``)."""
    if isinstance(iters, bool) or not isinstance(iters, int) or not 1 <= iters <= 1_000_000:
        raise ValueError(f"--iters {iters!r} is out of range, expected an integer 1..1000000")
    if isinstance(size, bool) or not isinstance(size, int) or not 64 <= size <= 2048 or size % 8:
        raise ValueError(f"{size_option} {size!r} is not valid, expected a multiple of 8 in 64..2048 pixels "
                         "(the renders)")
    if not cel_weight >= 0 or cel_weight == float("inf"):
        raise ValueError(f"--cel-weight {cel_weight!r} is not valid, expected a finite number >= 0")
    if not 0.0 <= posed_fraction <= 1.0:
        raise ValueError(f"--posed-fraction {posed_fraction!r} is not valid, expected a number in 0..1")


def refine_config(iters, seed, cel_weight, posed_fraction):
    """The :class:`~kyara.refine.optimize.RefineConfig` of the command: toon shading (albedo and normal
    map refined), the posed stage's fraction."""
    from kyara.refine.optimize import RefineConfig

    return RefineConfig(iters=iters, seed=int(seed % 2**31), cel_weight=float(cel_weight), shading="toon",
                        posed_fraction=float(posed_fraction))


def refine_settings(character: str, model: str, output: str, *, prompt=None, lora=(), config=None, vae=None,
                    negative=None, guidance=None, iters=300, size=512, texture_size=1024, cel_weight=0.0,
                    posed_fraction=POSED_FRACTION, seed=None, resume=False, dtype=None, device=None,
                    allow_pickle=False, text=None, size_option="--size", gaussians=None):
    """Check every option (the model from its configs and headers, no weights):
    ``(RefineAvatarConfig, character path, the prompt)``. ``--resume``: the folder's checkpoint is
    compared with these options first, before the character or the model is looked at. ``text``: the
    prompt when the caller has one (``kyara create``), else from ``character``/``prompt``; ``size_option``
    names ``size`` in messages; ``gaussians``: the Gaussian stage's options (an object with the attributes of
    :data:`kyara.refine.gaussian_stage.CLI_OPTIONS`, e.g. ``--gaussians N``; None: no stage)."""
    from kyara.cli.cmd_paint import character_prompt, paint_config
    from kyara.fileio import check_output_dir
    from kyara.refine.avatar import RUN_DIR, RefineAvatarConfig, run_schedule
    from kyara.refine.recipe import check_resume

    from kyara.refine.gaussian_stage import from_args

    check_refine_options(iters, size, cel_weight, posed_fraction, size_option)
    stage = from_args(gaussians) if gaussians is not None else None
    ckpt = Path(output) / RUN_DIR / "checkpoint.safetensors"
    if ckpt.is_file() and not resume:
        raise ValueError(f"'{output}' holds a refinement checkpoint, expected --resume to go on or another -o folder")
    if resume and not ckpt.is_file():
        raise ValueError(f"--resume: '{output}' holds no refinement checkpoint, expected the -o folder of a run")
    seed_ok = seed is None or (isinstance(seed, int) and 0 <= seed < 2**63)
    if resume and seed_ok and isinstance(texture_size, int) and texture_size > 0:
        check_resume(ckpt.parent, run_schedule(refine_config(iters, seed or 0, cel_weight, posed_fraction),
                                               texture_size, size))
    if text is None:
        text = character_prompt(character, prompt, "the character")
    p = Path(character)
    paint = paint_config(text, model, lora=lora, controlnet=["openpose=default"], config=config, vae=vae,
                         negative=negative, guidance=DREAMWALTZ_G_GUIDANCE if guidance is None else guidance,
                         view_size=size, texture_size=texture_size, seed=seed, dtype=dtype, device=device,
                         allow_pickle=allow_pickle)
    check_output_dir(output)
    cfg = RefineAvatarConfig(paint.image, refine_config(iters, paint.image.seed, cel_weight, posed_fraction),
                             texture_size=paint.texture_size, gaussians=stage)
    return cfg, p, text


def run_refine(character, cfg, output, text: str) -> None:
    """Refine ``character`` (built) with the checked ``cfg`` of :func:`refine_settings` into ``output``
    and say what was written."""
    from kyara.refine.avatar import refine_avatar

    res = refine_avatar(character, cfg, output, name=text)
    loss = res.loss["loss"]
    curve = f" (loss {loss[0]:.4f} -> {loss[-1]:.4f})" if loss else ""
    rate = res.loss.get("iterations_per_s")
    speed = f", {rate:.2f} it/s" if rate else ""
    layer = f", {res.loss['gaussians']} Gaussians" if res.loss.get("gaussians") else ""
    typer.echo(f"refined {cfg.refine.iters} iterations{curve}{speed}{layer}; wrote {len(res.files)} files to "
               f"{res.out_dir}")


def register(app: typer.Typer) -> None:
    @app.command("refine")
    def refine_cmd(
        character: str = typer.Option(..., "--character", help="character.json (built) or an avatar .vrm/.glb"),
        model: str = typer.Option(..., "--model", help="Hugging Face id, diffusers folder, .safetensors file, or "
                                                       "tiny (smoke-test model)"),
        output: str = typer.Option(..., "-o", "--output", help="output folder"),
        prompt: Optional[str] = typer.Option(None, "--prompt", help="description (default: the character.json's "
                                                                    "own; needed for a .vrm)"),
        lora: List[str] = typer.Option([], "--lora", help="FILE.safetensors[:WEIGHT] (repeatable, stacked)"),
        config: Optional[str] = typer.Option(None, "--config", help="local diffusers folder with the configs of a "
                                                                    "single-file checkpoint"),
        vae: Optional[str] = typer.Option(None, "--vae", help="separate VAE (folder, id or .safetensors)"),
        negative: Optional[str] = typer.Option(None, "--negative", help="negative prompt"),
        guidance: Optional[float] = typer.Option(None, "--guidance", help="CFG scale (default 50, DreamWaltz-G's)"),
        iters: int = typer.Option(300, "--iters", help="refinement iterations"),
        size: int = typer.Option(512, "--size", help="side of the renders, pixels, a multiple of 8"),
        texture_size: int = typer.Option(1024, "--texture-size", help="texture.png side"),
        cel_weight: float = typer.Option(0.0, "--cel-weight", help="weight of the cel-shading loss (0: off)"),
        posed_fraction: float = typer.Option(POSED_FRACTION, "--posed-fraction",
                                             help="last fraction of the iterations rendered in preset poses "
                                                  "(0: rest pose only)"),
        seed: Optional[int] = typer.Option(None, "--seed", help="seed of the cameras, timesteps and noise"),
        resume: bool = typer.Option(False, "--resume", help="go on from the checkpoint in the -o folder"),
        dtype: Optional[str] = typer.Option(None, "--dtype", help="auto (fp16 on GPU), fp32, fp16, bf16"),
        device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:1 ..."),
        allow_pickle: bool = typer.Option(False, "--allow-pickle", help="allow .ckpt/.pt pickles (they can run code)"),
        gaussians: int = typer.Option(0, "--gaussians", help="surface-bound 3D Gaussians to add and optimise after "
                                                             "the texture (0: none; writes gaussians.ply)"),
        gaussian_iters: Optional[int] = typer.Option(None, "--gaussian-iters",
                                                     help="iterations of the Gaussian stage (default: --iters)"),
        gaussian_densify: bool = typer.Option(True, "--gaussian-densify/--no-gaussian-densify",
                                              help="clone/split Gaussians with large gradients"),
        gaussian_prune_opacity: float = typer.Option(0.01, "--gaussian-prune-opacity",
                                                     help="prune Gaussians fainter than this (0: never prune)"),
        gaussian_seed: int = typer.Option(0, "--gaussian-seed", help="seed of the Gaussians' places on the surface"),
    ) -> None:
        """Refine a character's texture and normal map by score distillation (skeleton-guided SDS), and with
        --gaussians N a layer of surface-bound 3D Gaussians; writes a
        refined VRM, turntables, a GIF across iterations and the loss curves."""
        cfg, path, text = refine_settings(character, model, output, prompt=prompt, lora=lora, config=config, vae=vae,
                                          negative=negative, guidance=guidance, iters=iters, size=size,
                                          texture_size=texture_size, cel_weight=cel_weight,
                                          posed_fraction=posed_fraction, seed=seed, resume=resume, dtype=dtype,
                                          device=device, allow_pickle=allow_pickle,
                                          gaussians=SimpleNamespace(gaussians=gaussians, gaussian_iters=gaussian_iters,
                                                                    gaussian_densify=gaussian_densify,
                                                                    gaussian_prune_opacity=gaussian_prune_opacity,
                                                                    gaussian_seed=gaussian_seed))
        from kyara.generate.conditions import load_character

        run_refine(load_character(path), cfg, output, text)
