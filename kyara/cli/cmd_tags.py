"""``kyara tags PROMPT``: the Danbooru-style tags of a free-text prompt (comma-separated, on stdout).

The prompt goes through kyara's character parser (:mod:`kyara.tags`); words it does not map are
kept; the model family's quality tags and a style preset's tags are added. ``--negative`` prints
the negative prompt instead. Notes (a tag left out because it is a negative one) go to stderr.
"""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("tags")
    def tags_cmd(
        prompt: str = typer.Argument(..., help="free-text description, e.g. 'a girl with long brown hair, jogging'"),
        tag_family: str = typer.Option("sd15", "--tag-family", help="model family whose quality and negative tags "
                                                                      "are added: sd15, sdxl, illustrious, pony, none"),
        style: Optional[str] = typer.Option(None, "--style", help="style preset: cel, watercolour, chibi, sketch, "
                                                                   "retro, painterly, flat (or a --tag-presets one)"),
        tag_presets: Optional[str] = typer.Option(None, "--tag-presets", help="YAML file adding or replacing "
                                                                              "families, styles and scene words"),
        negative: bool = typer.Option(False, "--negative", help="print the negative prompt instead"),
    ) -> None:
        """Print the anime-model tags of PROMPT (comma-separated)."""
        from kyara.tags import prompt_tags

        result = prompt_tags(prompt, tag_family, style, tag_presets)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(result.negative_prompt if negative else result.prompt)
