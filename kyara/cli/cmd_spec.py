"""``kyara spec PROMPT [--seed N] [-o character.json]``: the character spec a prompt gives.

Prints exactly the ``character.json`` that ``kyara create`` writes for the same prompt and seed
(or writes it atomically with ``-o``). Words the parser did not understand are listed in the
spec's ``unparsed`` field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("spec")
    def spec_cmd(
        prompt: str = typer.Argument(..., help="Character description, e.g. 'an anime girl in a kimono'."),
        seed: int = typer.Option(0, "--seed", help="Seed for every attribute the prompt leaves open."),
        output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write character.json here instead of stdout."),
    ) -> None:
        """Print the character spec (character.json) for PROMPT."""
        from kyara.character.parser import parse_prompt
        from kyara.fileio import check_output_path, write_text_atomic

        if output is not None:
            check_output_path(output, (".json",))
        text = parse_prompt(prompt, seed).to_json()
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            write_text_atomic(output, text)
