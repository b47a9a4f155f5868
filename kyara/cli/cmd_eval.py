"""``kyara eval NAME``: measure a trained model on held-out characters against simple baselines."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        name: str = typer.Argument(..., help="the model: detector"),
        data: Optional[List[str]] = typer.Option(None, "--data", help="kyara dataset folder whose test split is "
                                                                      "used (repeatable); default: a new held-out set"),
        count: int = typer.Option(500, "--count", help="held-out images"),
        weights: Optional[str] = typer.Option(None, "--weights", help="weights file (default: the shipped ones)"),
        seed: int = typer.Option(0, "--seed", help="seed of the test backgrounds"),
        output: Optional[str] = typer.Option(None, "-o", "--output", help="also write the figures as JSON here"),
    ) -> None:
        """Held-out figures of a trained model and its baselines, measured in the same run."""
        import json
        import tempfile
        from pathlib import Path

        from kyara.errors import require_extra

        if name != "detector":
            raise ValueError(f"no model named '{name}' to evaluate, expected detector")
        if count < 1:
            raise ValueError(f"--count is {count}, expected a positive integer")
        for d in data or []:
            if not (Path(d) / "manifest.json").is_file():
                raise ValueError(f"--data '{d}' is not a kyara dataset folder (no manifest.json)")
        if output is not None:
            from kyara.fileio import check_output_path

            check_output_path(output)
        require_extra(("torch",), "kyara eval detector", "diffusion", "torch")
        from kyara.detect.evaluate import evaluate, make_heldout, ms_per_image
        from kyara.detect.network import load_detector

        det = load_detector(weights)
        with tempfile.TemporaryDirectory() as tmp:
            folders = list(data) if data else make_heldout(tmp, poses=count * 4 // 5, drawings=count - count * 4 // 5)
            res = evaluate(det, folders, count=count, seed=seed)
        ms = ms_per_image(det)
        typer.echo(f"{res.count} held-out images; {ms:.1f} ms per 512x512 image")
        typer.echo(f"{'method':<44} {'PCK@0.1':>8} {'PCK@0.05':>9} {'mask IoU':>9} {'UDP L1':>8}")
        for n, row in [("kyara", res.rows["kyara"]), ("baseline", res.rows["baseline"])] + sorted(res.per_kind.items()):
            typer.echo(f"{n:<44} {row['pck@0.1']:>8.4f} {row['pck@0.05']:>9.4f} {row['mask_iou']:>9.4f} "
                       f"{row['udp_l1']:>8.4f}")
        if output is not None:
            from kyara.fileio import atomic_path

            with atomic_path(output) as tmp_out:
                tmp_out.write_text(json.dumps({"count": res.count, "ms_per_512px": ms, "rows": res.rows,
                                               "per_kind": res.per_kind}, indent=1))
