"""``kyara paint``: paint a built or imported character with the user's diffusion weights.

Synchronized multi-view texture painting (:mod:`kyara.paint`): every view of the character painted
by the model under its own view prompt and ControlNet conditions, all views in agreement through
one UV texture; the result is a painted VRM. ``kyara create PROMPT --model MODEL`` runs the same
entry point after its usual outputs. Model, LoRA, ControlNet and embedding options are those of
``kyara image`` (its parsers are reused). Every bad input ends as one ``error: ...`` line and exit
code 2 before any weight loads or any file is written.
"""

from __future__ import annotations

from typing import List, Optional

import typer

DEFAULT_CONTROLNETS = ("openpose", "depth")


def paint_config(prompt: str, model: str, *, lora=(), controlnet=(), control_strength=None, embedding=(),
                 config=None, vae=None, negative=None, views=None, steps=None, guidance=None, view_size=None,
                 texture_size=None, palette=None, seed=None, pose=None, clip_skip=None, dtype=None, device=None,
                 allow_pickle=False, face_views=None, front_back=None):
    """The :class:`~kyara.paint.backend.PaintConfig` of the shared painting options (CLI strings as
    given; ``None`` keeps a default), checked, and the model checked from its configs (no weights)."""
    from kyara.cli.cmd_image import _floats, _split_pair, parse_lora
    from kyara.generate.config import ControlSpec, ImageConfig
    from kyara.paint.backend import PaintConfig, check_painter

    img: dict = {"prompt": prompt, "model": model}
    for name, v in (("config", config), ("vae", vae), ("negative_prompt", negative), ("steps", steps),
                    ("guidance", guidance), ("seed", seed), ("clip_skip", clip_skip), ("dtype", dtype),
                    ("device", device)):
        if v is not None:
            img[name] = v
    if allow_pickle:
        img["allow_pickle"] = True
    if view_size is not None:
        if isinstance(view_size, bool) or not isinstance(view_size, int):
            raise ValueError(f"--view-size {view_size!r} is not valid, expected a whole number of pixels")
        img["width"] = img["height"] = view_size
    img["loras"] = tuple(parse_lora(t) for t in lora)
    img["embeddings"] = tuple(embedding)
    specs = [_split_pair(t, "=", "--controlnet", "KIND=ID (e.g. depth=default)") for t in controlnet] \
        or [(k, "default") for k in DEFAULT_CONTROLNETS]
    strengths = _floats(control_strength, len(specs), "--control-strength")
    img["controlnets"] = tuple(ControlSpec(k, m, strengths[i] if strengths else 1.0) for i, (k, m) in enumerate(specs))
    paint: dict = {}
    for name, v in (("views", views), ("texture_size", texture_size), ("palette", palette), ("pose", pose),
                    ("face_views", face_views), ("front_back", front_back)):
        if v is not None:
            paint[name] = v
    if pose is not None:
        from kyara.pose.presets import POSE_NAMES

        if pose not in POSE_NAMES:
            raise ValueError(f"unknown pose '{pose}', expected one of {', '.join(POSE_NAMES)}")
    cfg = PaintConfig(ImageConfig(**img), **paint).check()
    check_painter(cfg.image)
    return cfg


def preview_side(size: str) -> int:
    """``--size``: the previews' side (square), pixels."""
    from kyara.cli.common import parse_size

    w, h = parse_size(size)
    if w != h or w < 16:
        raise ValueError(f"--size '{size}' is not valid, expected one side of 16..4096 pixels (square previews)")
    return w


def run_paint(character, cfg, out_dir, size: int, name: str, source=None) -> None:
    """Paint with a progress bar by denoising step, then print what was written."""
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from kyara.paint.avatar import paint_avatar

    console = Console(stderr=True)
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(), console=console,
                  transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("painting", total=cfg.image.steps)

        def progress(step: int, total: int) -> None:
            bar.update(task, completed=step, total=total)

        res = paint_avatar(character, cfg, out_dir, size=size, name=name, progress=progress, source=source)
    rep = res.report
    cons = rep["consistency_rgb"]
    typer.echo(f"painted {rep['views']} views x {rep['steps']} steps: coverage {rep['coverage']:.1%}, "
               f"consistency {'n/a' if cons is None else f'{cons:.4f}'}; wrote {len(res.files)} files to {res.out_dir}")


def character_prompt(character: str, prompt: str | None, what: str) -> str:
    """The prompt for a ``--character`` file: a character.json's own description (``--prompt`` appended),
    or ``--prompt`` for an avatar file (which has none). One-line errors name ``what`` the prompt describes."""
    from pathlib import Path

    p = Path(character)
    if not p.is_file():
        raise FileNotFoundError(f"--character '{character}' does not exist, expected a character.json, .vrm, "
                                ".glb or .gltf")
    is_json = p.suffix.lower() == ".json"
    if prompt is None and not is_json:
        raise ValueError(f"missing --prompt, expected a description of {what} (an avatar file has none)")
    if prompt is not None and not prompt.strip():
        raise ValueError(f"--prompt is empty, expected a description of {what}")
    if not is_json:
        return prompt
    from kyara.character.describe import spec_prompt
    from kyara.character.spec import load_spec

    described = spec_prompt(load_spec(p))
    return f"{described}, {prompt}" if prompt else described


def register(app: typer.Typer) -> None:
    @app.command("paint")
    def paint_cmd(
        character: str = typer.Option(..., "--character", help="character.json (built) or an avatar .vrm/.glb"),
        model: str = typer.Option(..., "--model", help="Hugging Face id, diffusers folder, .safetensors file, or "
                                                       "tiny / tiny-sdxl (smoke-test models)"),
        output: str = typer.Option(..., "-o", "--output", help="output folder"),
        prompt: Optional[str] = typer.Option(None, "--prompt", help="what to paint (default: the character.json's "
                                                                    "own description; needed for a .vrm)"),
        config: Optional[str] = typer.Option(None, "--config", help="local diffusers folder with the configs of a "
                                                                    "single-file checkpoint"),
        vae: Optional[str] = typer.Option(None, "--vae", help="separate VAE (folder, id or .safetensors)"),
        controlnet: List[str] = typer.Option([], "--controlnet", help="KIND=ID|PATH|default|tiny, KIND in openpose, "
                                                                      "depth, normal, lineart (repeatable; default "
                                                                      "openpose and depth)"),
        control_strength: Optional[str] = typer.Option(None, "--control-strength", help="0-1, or one per ControlNet"),
        lora: List[str] = typer.Option([], "--lora", help="FILE.safetensors[:WEIGHT] (repeatable, stacked)"),
        embedding: List[str] = typer.Option([], "--embedding", help="textual-inversion .safetensors (repeatable)"),
        negative: Optional[str] = typer.Option(None, "--negative", help="negative prompt"),
        views: Optional[int] = typer.Option(None, "--views", help="painting views (default 10: 8 around, 2 higher)"),
        face_views: Optional[int] = typer.Option(None, "--face-views", help="face close-ups on top of --views "
                                                                            "(default 20 % of them from 8 up: 2)"),
        front_back: Optional[str] = typer.Option(None, "--front-back", help="against a face on the back, in the "
                                                 "first quarter of the steps: reference (every view attends to the "
                                                 "front view, default), canvas (front and back as one image), off"),
        steps: Optional[int] = typer.Option(None, "--steps", help="denoising steps (default 30)"),
        guidance: Optional[float] = typer.Option(None, "--guidance", help="CFG scale (default 7.5)"),
        view_size: Optional[int] = typer.Option(None, "--view-size", help="side of each generated view, pixels, "
                                                                          "a multiple of 8 (default 512)"),
        texture_size: Optional[int] = typer.Option(None, "--texture-size", help="texture.png side (default 1024)"),
        palette: Optional[int] = typer.Option(None, "--palette", help="colours per material island (default 8; 0: "
                                                                      "no snapping)"),
        pose: Optional[str] = typer.Option(None, "--pose", help="pose the views are painted in (default stand)"),
        seed: Optional[int] = typer.Option(None, "--seed", help="seed of the noise and cameras"),
        size: str = typer.Option("512", "--size", help="previews' size: 512"),
        clip_skip: Optional[int] = typer.Option(None, "--clip-skip", help="1 = last CLIP layer, 2 = penultimate"),
        dtype: Optional[str] = typer.Option(None, "--dtype", help="auto (fp16 on GPU), fp32, fp16, bf16"),
        device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:1 ..."),
        allow_pickle: bool = typer.Option(False, "--allow-pickle", help="allow .ckpt/.pt pickles (they can run code)"),
    ) -> None:
        """Paint a character's texture with diffusion (all views in agreement); writes a painted VRM."""
        from pathlib import Path

        from kyara.paint.avatar import check_paint_dir

        side = preview_side(size)
        text = character_prompt(character, prompt, "what to paint")
        p = Path(character)
        cfg = paint_config(text, model, lora=lora, controlnet=controlnet, control_strength=control_strength,
                           embedding=embedding, config=config, vae=vae, negative=negative, views=views, steps=steps,
                           guidance=guidance, view_size=view_size, texture_size=texture_size, palette=palette,
                           seed=seed, pose=pose, clip_skip=clip_skip, dtype=dtype, device=device,
                           allow_pickle=allow_pickle, face_views=face_views, front_back=front_back)
        check_paint_dir(output)
        from kyara.generate.conditions import load_character

        run_paint(load_character(p), cfg, output, side, text, source=p)
