"""``kyara dataset KIND``: labelled synthetic training data (poses, sheets, drawings) on Ray.

Every argument and the output folder are checked before Ray starts; a bad one ends as one
``error: ...`` line, exit code 2, nothing written. See docs/dataset.md for the format.
"""

from __future__ import annotations

from typing import List, Optional

import typer


def _size(text: str) -> int:
    from kyara.cli.common import parse_size

    w, h = parse_size(text)
    if w != h:
        raise ValueError(f"--size '{text}' is not square, expected one number of pixels (e.g. 128)")
    return w


def register(app: typer.Typer) -> None:
    @app.command("dataset")
    def dataset_cmd(
        kind: str = typer.Argument(..., help="poses (single images), sheets (references + targets, CoNR) or "
                                             "drawings (line art / flat colour on paper)"),
        count: int = typer.Option(..., "--count", help="number of samples"),
        per_character: int = typer.Option(16, "--per-character", help="samples per character"),
        size: str = typer.Option("128", "--size", help="image side, pixels (32..1024)"),
        seed: int = typer.Option(0, "--seed", help="seed of every random choice (same arguments, same bytes)"),
        output: str = typer.Option(..., "-o", "--output", help="dataset folder (new, or one to resume)"),
        ray_address: Optional[str] = typer.Option(None, "--ray", help="join this Ray cluster (host:port or auto); "
                                                                        "default: start a local instance"),
        workers: Optional[int] = typer.Option(None, "--workers", help="CPUs of the local Ray instance "
                                                                      "(default: all cores)"),
        shard_characters: int = typer.Option(16, "--shard-characters", help="characters per tar shard"),
        refs: int = typer.Option(4, "--refs", help="sheets: reference views per character"),
        splits: str = typer.Option("0.9,0.05,0.05", "--splits", help="train,val,test fractions (or percent)"),
        motion: List[str] = typer.Option([], "--motion", help="a BVH file whose frames join the pose mix like the "
                                                              "built-in clips' (repeatable)"),
    ) -> None:
        """Write labelled samples (RGBA, mask, parts, lineart, UDP, depth, normal, OpenPose) into tar shards."""
        from kyara.dataset.config import DatasetConfig, parse_splits
        from kyara.dataset.engine import prepare_output, write_dataset
        from kyara.dataset.sampling import read_motion_files
        from kyara.errors import require_extra

        cfg = DatasetConfig(kind=kind, count=count, per_character=per_character, size=_size(size), seed=seed,
                            shard_characters=shard_characters, refs=refs, splits=parse_splits(splits),
                            motions=read_motion_files(motion))
        from kyara.dataset.config import check_ray_options

        check_ray_options(ray_address, workers)
        prepare_output(cfg, output)
        require_extra(("ray",), "kyara dataset", "dataset", "ray")
        res = write_dataset(cfg, output, ray_address=ray_address, workers=workers,
                            log=lambda line: typer.echo(line, err=True))
        kept = f", kept {len(res.shards_kept)} finished" if res.shards_kept else ""
        typer.echo(f"wrote {len(res.shards_written)} shards ({res.samples} samples, {res.characters} characters"
                   f"{kept}) to {res.out_dir} in {res.seconds['total']:.1f} s")
