"""``kyara create``: the main job — a prompt (or a spec file) becomes a rigged, dressed character."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("create")
    def create_cmd(
        prompt: Optional[str] = typer.Argument(None, help="character description, e.g. 'an anime girl in a kimono'"),
        spec: Optional[str] = typer.Option(None, "--spec", help="character.json to use instead of a prompt"),
        pose: Optional[str] = typer.Option(None, "--pose", help="named pose (default: the prompt's hint or stand)"),
        seed: int = typer.Option(0, "--seed", help="seed for attributes the prompt leaves open"),
        size: str = typer.Option("512", "--size", help="preview and condition size: 512 or WxH"),
        frames: int = typer.Option(36, "--frames", help="turntable frames"),
        output: str = typer.Option(..., "-o", "--output", help="output folder"),
        model: Optional[str] = typer.Option(None, "--model", help="paint the character with this diffusion model "
                                                                  "(see kyara paint; tiny for a smoke test)"),
        lora: List[str] = typer.Option([], "--lora", help="with --model: FILE.safetensors[:WEIGHT] (repeatable)"),
        controlnet: List[str] = typer.Option([], "--controlnet", help="with --model: KIND=ID (repeatable; default "
                                                                      "openpose and depth)"),
        views: Optional[int] = typer.Option(None, "--views", help="with --model: painting views (default 10)"),
        face_views: Optional[int] = typer.Option(None, "--face-views", help="with --model: face close-ups on top of "
                                                                            "--views (see kyara paint; default 2)"),
        front_back: Optional[str] = typer.Option(None, "--front-back", help="with --model: reference, canvas or off "
                                                                            "(see kyara paint; default reference)"),
        steps: Optional[int] = typer.Option(None, "--steps", help="with --model: denoising steps (default 30)"),
        view_size: Optional[int] = typer.Option(None, "--view-size", help="with --model: side of each painted "
                                                                          "view (with --refine: of each render), "
                                                                          "pixels (default 512)"),
        texture_size: Optional[int] = typer.Option(None, "--texture-size", help="with --model: texture.png side"),
        refine: bool = typer.Option(False, "--refine", help="with --model: refine the character by score "
                                                            "distillation instead of painting it (see kyara refine)"),
        iters: Optional[int] = typer.Option(None, "--iters", help="with --refine: iterations (default 300)"),
        posed_fraction: Optional[float] = typer.Option(None, "--posed-fraction", help="with --refine: last fraction "
                                                       "of the iterations in preset poses (default 0.25)"),
    ) -> None:
        """Create a character: character.json, front/side/back previews, turntable.gif and ControlNet/CoNR conditions;
        with --model, then paint it (texture.png, painted avatar.vrm and previews, views/; see kyara paint), or
        with --model --refine refine it (texture.png, normal.png, refined avatar.vrm, turntables, progress.gif,
        loss.json, run/; see kyara refine)."""
        from rich.console import Console

        from kyara.character.create import create_character, prepare_out_dir
        from kyara.cli.common import parse_size
        from kyara.pose.presets import POSE_NAMES

        if (prompt is None) == (spec is None):
            raise ValueError("give either a PROMPT or --spec character.json, not both or neither")
        w, h = parse_size(size)
        if pose is not None and pose not in POSE_NAMES:
            raise ValueError(f"unknown pose '{pose}', expected one of {', '.join(POSE_NAMES)}")
        if not 1 <= frames <= 720:
            raise ValueError(f"--frames {frames} is out of range, expected 1..720")
        paint = refined = None
        painting_only = views is not None or steps is not None or face_views is not None or front_back is not None
        if model is None and (lora or controlnet or painting_only or view_size is not None
                              or texture_size is not None or refine):
            raise ValueError("--lora, --controlnet, --views, --face-views, --front-back, --steps, --view-size, "
                             "--texture-size and --refine paint or refine the character, expected --model too")
        if not refine and (iters is not None or posed_fraction is not None):
            raise ValueError("--iters and --posed-fraction refine the character, expected --refine too")
        if refine and (controlnet or painting_only):
            raise ValueError("--controlnet, --views, --face-views, --front-back and --steps paint the character; "
                             "--refine refines it instead "
                             "(ControlNet OpenPose at every render), expected one or the other")
        if spec is not None:
            from kyara.character.spec import load_spec

            character_spec = load_spec(spec)
        else:
            from kyara.character.parser import parse_prompt

            character_spec = parse_prompt(prompt, seed=seed)
        if model is not None and refine:  # every refinement input is checked before anything is written
            from pathlib import Path

            from kyara.character.describe import spec_prompt
            from kyara.cli.cmd_refine import POSED_FRACTION, refine_settings

            text = spec_prompt(character_spec) if prompt is None else prompt
            refined = refine_settings(str(Path(output) / "character.json"), model, output, lora=lora,
                                      iters=300 if iters is None else iters,
                                      size=512 if view_size is None else view_size,
                                      texture_size=1024 if texture_size is None else texture_size,
                                      posed_fraction=POSED_FRACTION if posed_fraction is None else posed_fraction,
                                      seed=seed, text=text, size_option="--view-size")[0]
        elif model is not None:  # every painting input is checked before anything is written
            from kyara.character.describe import spec_prompt
            from kyara.cli.cmd_paint import paint_config, preview_side

            side = preview_side(size)
            paint = paint_config(spec_prompt(character_spec) if prompt is None else prompt, model, lora=lora,
                                 controlnet=controlnet, views=views, steps=steps, view_size=view_size, seed=seed,
                                 pose=pose, texture_size=texture_size, face_views=face_views,
                                 front_back=front_back)
        prepare_out_dir(output)
        character = None
        if paint is not None or refined is not None:
            from kyara.character.build import build_character

            character = build_character(character_spec)
        console = Console(stderr=True)
        with console.status("building the character...") as status:
            res = create_character(character_spec, output, pose, (w, h), turntable_frames=frames,
                                   progress=lambda label: status.update(f"{label} done..."), character=character)
        total = sum(res.seconds.values())
        typer.echo(f"wrote {len(res.files)} files to {res.out_dir} in {total:.1f} s")
        if paint is not None:
            from kyara.cli.cmd_paint import run_paint

            run_paint(character, paint, output, side, paint.image.prompt, source=res.out_dir / "character.json")
        if refined is not None:
            from kyara.cli.cmd_refine import run_refine

            run_refine(character, refined, output, refined.image.prompt)
