"""``kyara eval NAME``: measure a trained model (or a pipeline) on held-out characters against simple
baselines measured in the same run.

Each evaluable capability owns its report in its own package: a function
``cli_report(data, count, weights, seed) -> (lines, figures)`` (printed lines, a JSON-able dict), named
in :data:`EVALUATORS`. This module only checks the shared options and writes the JSON.
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


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        name: str = typer.Argument(..., help="what to measure: " + ", ".join(EVALUATORS)),
        data: Optional[List[str]] = typer.Option(None, "--data", help="kyara dataset folder whose test split is "
                                                                      "used (repeatable); default: a new held-out set"),
        count: Optional[int] = typer.Option(None, "--count", help="held-out samples (default: each report's own)"),
        weights: Optional[str] = typer.Option(None, "--weights", help="weights file (default: the shipped ones)"),
        seed: int = typer.Option(0, "--seed", help="seed of the held-out draws"),
        output: Optional[str] = typer.Option(None, "-o", "--output", help="also write the figures as JSON here"),
    ) -> None:
        """Held-out figures of a trained model and its baselines, measured in the same run."""
        import importlib
        import json
        from pathlib import Path

        from kyara.errors import require_extra

        if name not in EVALUATORS:
            raise ValueError(f"no model named '{name}' to evaluate, expected one of {', '.join(EVALUATORS)}")
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
        for line in lines:
            typer.echo(line)
        if output is not None:
            from kyara.fileio import atomic_path

            with atomic_path(output) as tmp_out:
                tmp_out.write_text(json.dumps(figures, indent=1))
