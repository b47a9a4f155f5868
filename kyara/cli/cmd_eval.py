"""``kyara eval NAME``: measure a trained model (or a pipeline) on held-out characters against simple
baselines measured in the same run.

Each evaluable capability owns its report in its own package: a function
``cli_report(data, count, weights, seed) -> (lines, figures)`` (printed lines, a JSON-able dict), named
in :data:`EVALUATORS`; those that measure one output folder (:data:`FOLDER_EVALUATORS`: ``kyara eval
paint DIR [--clip PATH]``) take ``cli_report(folder, clip)``. This module only checks the shared options
and writes the JSON.
"""

from __future__ import annotations

from typing import List, Optional

import typer

# name -> (module with cli_report, its extras check: (modules, what, extra, package))
EVALUATORS = {
    "detector": ("kyara.detect.evaluate", ("torch",)),
    "detect": ("kyara.detect.evaluate", ("torch",)),  # the capability's name (kyara detect) works too
    "sheet": ("kyara.sheet.evaluate", ("torch",)),
    "drawing": ("kyara.drawing.evaluate", ()),
}
FOLDER_EVALUATORS = {"paint": "kyara.paint.evaluate"}  # name -> module with cli_report(folder, clip)


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        name: str = typer.Argument(..., help="what to measure: " + ", ".join([*EVALUATORS, *FOLDER_EVALUATORS])),
        folder: Optional[str] = typer.Argument(None, help="paint: the painted avatar folder (kyara paint -o DIR)"),
        data: Optional[List[str]] = typer.Option(None, "--data", help="kyara dataset folder whose test split is "
                                                                      "used (repeatable); default: a new held-out set"),
        count: Optional[int] = typer.Option(None, "--count", help="held-out samples (default: each report's own)"),
        weights: Optional[str] = typer.Option(None, "--weights", help="weights file (default: the shipped ones)"),
        seed: int = typer.Option(0, "--seed", help="seed of the held-out draws"),
        output: Optional[str] = typer.Option(None, "-o", "--output", help="also write the figures as JSON here"),
        clip: Optional[str] = typer.Option(None, "--clip", help="paint: a local CLIP model folder for CLIPScore"),
    ) -> None:
        """Held-out figures of a trained model and its baselines measured in the same run, or the figures of a painted avatar."""
        import importlib
        from pathlib import Path

        from kyara.errors import require_extra

        if name in FOLDER_EVALUATORS:
            if folder is None:
                raise ValueError(f"kyara eval {name} needs the output folder to measure, e.g. kyara eval {name} DIR")
            if data or weights is not None or count is not None:
                raise ValueError(f"kyara eval {name} measures one folder: --data, --weights and --count do not apply")
            if not Path(folder).is_dir():
                raise ValueError(f"'{folder}' is not a folder, expected what kyara {name} -o DIR wrote")
            if output is not None:
                from kyara.fileio import check_output_path

                check_output_path(output)
            lines, figures = importlib.import_module(FOLDER_EVALUATORS[name]).cli_report(folder, clip)
            _finish(lines, figures, output)
            return
        if name not in EVALUATORS:
            raise ValueError(f"no model named '{name}' to evaluate, expected one of "
                             f"{', '.join([*EVALUATORS, *FOLDER_EVALUATORS])}")
        if folder is not None or clip is not None:
            raise ValueError(f"kyara eval {name} takes no folder and no --clip (they are for: "
                             f"{', '.join(FOLDER_EVALUATORS)})")
        if count is not None and count < 1:
            raise ValueError(f"--count is {count}, expected a positive integer")
        for d in data or []:
            if not (Path(d) / "manifest.json").is_file():
                raise ValueError(f"--data '{d}' is not a kyara dataset folder (no manifest.json)")
        if weights is not None and not Path(weights).is_file():
            raise ValueError(f"--weights '{weights}': these weights do not exist")
        if output is not None:
            from kyara.fileio import check_output_path

            check_output_path(output)
        module, needs = EVALUATORS[name]
        if needs:
            require_extra(needs, f"kyara eval {name}", "diffusion", "torch")
        lines, figures = importlib.import_module(module).cli_report(list(data or []), count, weights, seed)
        _finish(lines, figures, output)


def _finish(lines: list[str], figures: dict, output: str | None) -> None:
    import json

    for line in lines:
        typer.echo(line)
    if output is not None:
        from kyara.fileio import atomic_path

        with atomic_path(output) as tmp_out:
            tmp_out.write_text(json.dumps(figures, indent=1))
