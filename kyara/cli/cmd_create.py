"""``kyara create``: the main job — a prompt (or a spec file) becomes a rigged, dressed character."""

from __future__ import annotations

from typing import Optional

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
    ) -> None:
        """Create a character: character.json, front/side/back previews, turntable.gif and ControlNet/CoNR conditions."""
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
        prepare_out_dir(output)
        if spec is not None:
            from kyara.character.spec import load_spec

            character_spec = load_spec(spec)
        else:
            from kyara.character.parser import parse_prompt

            character_spec = parse_prompt(prompt, seed=seed)
        console = Console(stderr=True)
        with console.status("building the character...") as status:
            res = create_character(character_spec, output, pose, (w, h), turntable_frames=frames,
                                   progress=lambda label: status.update(f"{label} done..."))
        total = sum(res.seconds.values())
        typer.echo(f"wrote {len(res.files)} files to {res.out_dir} in {total:.1f} s")
