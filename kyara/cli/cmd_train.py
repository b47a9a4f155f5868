"""``kyara train NAME``: train one of kyara's models (seeded, checkpointed, resumable).

Rerunning the same command on the same ``-o`` folder resumes from its last checkpoint (written
every few minutes, on Ctrl-C and when ``--minutes`` is used up). At the end the folder holds
``model.safetensors`` and ``model_card.md``; ``--install`` also copies them into the package
(``kyara/data/weights/``), where the commands load them from.
"""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        name: str = typer.Argument(..., help="the model: detector or sheet"),
        data: List[str] = typer.Option(..., "--data", help="a kyara dataset folder (repeatable)"),
        output: str = typer.Option(..., "-o", "--output", help="run folder (new, or one to resume)"),
        recipe: str = typer.Option("cpu", "--recipe", help="cpu (the shipped model), gpu (larger) or tiny (tests)"),
        seed: int = typer.Option(0, "--seed", help="seed of the initial weights and of every batch"),
        steps: Optional[int] = typer.Option(None, "--steps", help="training steps (default: the recipe's)"),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", help="samples per step (default: the recipe's)"),
        minutes: float = typer.Option(0.0, "--minutes", help="stop with a checkpoint after this many minutes "
                                                             "(0: run to the end); rerun to go on"),
        threads: int = typer.Option(0, "--threads", help="torch CPU threads (0: torch's default)"),
        install: bool = typer.Option(False, "--install", help="copy the finished weights and card into the package"),
    ) -> None:
        """Train a model on kyara's own data; resumable after any stop, even kill -9."""
        from dataclasses import replace
        from pathlib import Path

        from kyara.errors import require_extra
        from kyara.train import registry

        entry = registry.get(name)
        if recipe not in entry.configs:
            raise ValueError(f"--recipe '{recipe}' is unknown, expected one of {', '.join(entry.configs)}")
        for flag, v in (("--steps", steps), ("--batch-size", batch_size)):
            if v is not None and v < 1:
                raise ValueError(f"{flag} is {v}, expected a positive integer")
        import math

        if not math.isfinite(minutes) or minutes < 0 or threads < 0:
            raise ValueError(f"--minutes {minutes} / --threads {threads}: expected numbers >= 0")
        for d in data:
            if not (Path(d) / "manifest.json").is_file():
                raise ValueError(f"--data '{d}' is not a kyara dataset folder (no manifest.json)")
        out = Path(output)
        if out.exists() and not out.is_dir():
            raise ValueError(f"output '{out}' exists and is not a folder")
        require_extra(("torch",), f"kyara train {name}", "diffusion", "torch")
        from kyara.train.harness import train

        cfg = replace(entry.configs[recipe], seed=seed, threads=threads, max_seconds=minutes * 60.0)
        if steps is not None:
            cfg = replace(cfg, steps=steps)
        rec = entry.make(data, seed, recipe, batch_size=batch_size)
        res = train(rec, cfg, out)
        if not res.finished:
            typer.echo(f"stopped at step {res.step}/{cfg.steps} after {res.train_seconds / 60:.1f} min of training; "
                       f"rerun the same command to go on")
            return
        metrics = " ".join(f"{k} {v:.4f}" for k, v in res.metrics.items() if isinstance(v, float))
        typer.echo(f"trained {name}: {res.step} steps in {res.train_seconds / 60:.1f} min; {metrics}; "
                   f"{out / 'model.safetensors'}")
        if install:
            import shutil
            from importlib import resources

            dest = Path(str(resources.files("kyara") / "data" / "weights"))
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / "model.safetensors", dest / entry.weights)
            shutil.copyfile(out / "model_card.md", dest / (Path(entry.weights).stem + ".md"))
            typer.echo(f"installed {dest / entry.weights}")
