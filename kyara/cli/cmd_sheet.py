"""``kyara sheet``: a character sheet (1..16 images) rendered in a new pose or a motion (CoNR).

Every option, the reference images, their UDPs and the output path are checked before anything is
rendered or written; a bad value ends as one ``error: ...`` line and exit code 2, nothing written.
"""

from __future__ import annotations

import math
from typing import List, Optional

import typer

_TARGETS = ("--pose", "--motion", "--udp", "--pose-image")


def register(app: typer.Typer) -> None:
    @app.command("sheet")
    def sheet_cmd(
        images: List[str] = typer.Argument(..., help="reference images of the character (1..16, one size): "
                                                     "RGBA, or on a plain background"),
        output: str = typer.Option(..., "-o", "--output", help="output .png (one target) or .mp4/.gif (--motion; "
                                                               "frames beside it)"),
        ref_udp: List[str] = typer.Option([], "--ref-udp", help="CoNR .npz UDP of each image (repeatable, same "
                                                                "order); default: the file beside each image "
                                                                "(kyara render writes NAME_udp.npz), else the detector"),
        pose: Optional[str] = typer.Option(None, "--pose", help="target: a named pose (see `kyara presets`)"),
        motion: Optional[str] = typer.Option(None, "--motion", help="target: a built-in motion (walk, jog, jump, "
                                                                    "punch, dance) or a .bvh/.npz file"),
        udp: Optional[str] = typer.Option(None, "--udp", help="target: a CoNR .npz UDP map"),
        pose_image: Optional[str] = typer.Option(None, "--pose-image", help="target: a picture of the pose "
                                                                            "(UDP by the detector)"),
        body: Optional[str] = typer.Option(None, "--body", help="body preset the pose or motion is rendered on "
                                                                "(default teen-girl)"),
        character: Optional[str] = typer.Option(None, "--character", help="a .vrm/.glb/.gltf avatar or character "
                                                                          ".json to render the pose on instead"),
        method: str = typer.Option("auto", "--method", help="b0, b1, b2 (lookups) or conr (the trained model); "
                                                            "auto: conr when its weights exist, else b2"),
        weights: Optional[str] = typer.Option(None, "--weights", help="CoNR-lite weights (default: the shipped ones)"),
        view: str = typer.Option("front", "--view", help="camera of --pose/--motion: front, side, back, right "
                                                         "or azimuth degrees"),
        size: str = typer.Option("256", "--size", help="output size of --pose/--motion: N or WxH pixels"),
        fps: float = typer.Option(12.0, "--fps", help="frames per second of --motion (1..60)"),
    ) -> None:
        """Render the character of a sheet in a new pose (CoNR: sheet + target UDP -> image)."""
        from pathlib import Path

        from kyara.cli.common import parse_size, parse_view
        from kyara.fileio import check_output_dir, check_output_path
        from kyara.sheet.infer import AUTO, resolve_method

        # 1. options, cheapest first
        given = [n for n, v in zip(_TARGETS, (pose, motion, udp, pose_image)) if v is not None]
        if len(given) != 1:
            raise ValueError(f"{'both ' + ' and '.join(given) if given else 'no target'} given, expected exactly "
                             f"one of {', '.join(_TARGETS)}")
        if body is not None and character is not None:
            raise ValueError("--body and --character both given, expected one of them")
        if (body is not None or character is not None) and (udp is not None or pose_image is not None):
            raise ValueError(f"--body/--character shape a rendered pose, expected neither with {given[0]}")
        if method != AUTO:
            resolve_method(method, weights)  # unknown names and missing weights fail here
        elif weights is not None and not Path(weights).is_file():
            raise FileNotFoundError(f"--weights '{weights}' does not exist")
        out = check_output_path(output, (".mp4", ".gif") if motion is not None else (".png",))
        frames_dir = None
        if motion is not None:
            if not (math.isfinite(fps) and 1.0 <= fps <= 60.0):
                raise ValueError(f"--fps {fps:g} is out of range, expected 1..60 frames per second")
            frames_dir = out.with_name(out.stem + "_frames")
            check_output_dir(frames_dir)
        w, h = parse_size(size)
        v = parse_view(view)
        if pose is not None:
            from kyara.pose.presets import POSE_NAMES

            if pose not in POSE_NAMES:
                raise ValueError(f"unknown pose '{pose}', expected one of {', '.join(POSE_NAMES)}")
        if motion is not None:
            from kyara.cli.common import check_motion_arg

            check_motion_arg(motion)
        if character is not None and not Path(character).is_file():
            raise FileNotFoundError(f"--character '{character}' does not exist")
        if body is not None:
            from kyara.cli.common import body_params

            body_params(body)

        # 2. the sheet and the target's UDP (files checked; the detector only when asked for)
        from kyara.sheet.inputs import read_references, read_udp

        refs = read_references(images, ref_udp)
        target = None
        if udp is not None:
            target = read_udp(udp, "--udp")
        elif pose_image is not None:
            from kyara.sheet.targets import image_udp

            target = image_udp(pose_image)
        from kyara.sheet.infer import SheetRenderer

        renderer = SheetRenderer(refs, method, weights)

        # 3. render and write
        from kyara.sheet.targets import motion_target, pose_udp, target_body

        if motion is None:
            if target is None:
                target = pose_udp(pose, target_body(body or "teen-girl", character), (w, h), v)
            _write_png(out, renderer.render(target))
            typer.echo(f"wrote {out} ({target.shape[1]}x{target.shape[0]}, method {renderer.method}, "
                       f"{len(refs)} reference{'s' if len(refs) > 1 else ''})")
            return
        clip = motion_target(motion, target_body(body or "teen-girl", character), (w, h), v, fps)
        n = _write_motion(out, frames_dir, renderer, clip)
        typer.echo(f"wrote {out} ({n} frames, {w}x{h}, {fps:g} fps, method {renderer.method}) and {frames_dir}/")


def _write_png(path, rgba) -> None:
    import io

    from PIL import Image

    from kyara.fileio import write_bytes_atomic
    from kyara.sheet.prep import straight_uint8

    buf = io.BytesIO()
    Image.fromarray(straight_uint8(rgba), "RGBA").save(buf, format="PNG")
    write_bytes_atomic(path, buf.getvalue())


def _write_motion(out, frames_dir, renderer, clip) -> int:
    """Video (on the animation background) + straight-alpha PNG frames beside it; a progress bar on
    long runs when stderr is a terminal."""
    import sys

    import numpy as np

    from kyara.motion.animate import ANIMATION_TOON, PROGRESS_MIN_FRAMES
    from kyara.render.pipeline import write_animation

    n = clip.num_frames
    frames_dir.mkdir(exist_ok=True)
    bg = np.asarray(ANIMATION_TOON.background, dtype=np.float32)
    bar = None
    if n >= PROGRESS_MIN_FRAMES and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("sheet"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       console=Console(stderr=True), transient=True)
        bar.start()
        task = bar.add_task("sheet", total=n)

    def frames():
        for i, rgba in enumerate(renderer.render_many(clip.frames())):
            _write_png(frames_dir / f"frame{i:04d}.png", rgba)
            rgb = rgba[..., :3] + (1.0 - rgba[..., 3:]) * bg  # premultiplied over the background
            if bar is not None:
                bar.update(task, advance=1)
            yield np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)

    try:
        write_animation(out, frames(), n, clip.fps)
    finally:
        if bar is not None:
            bar.stop()
    return n
