"""``kyara drawing``: one drawing -> a rigged 3D character (VRM, GLB) that moves (MP4, GIF).

Every option, the motion, the image, the mask and the joints are checked, and the character is
lifted, before anything is written: a bad input ends as one ``error: ...`` line, exit code 2, and
no file in the output folder.
"""

from __future__ import annotations

import math
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("drawing")
    def drawing_cmd(
        image: str = typer.Argument(..., help="the drawing: a photo or scan of a character on paper, or an image "
                                              "with a transparent background (PNG, JPEG, WebP, ...)"),
        output: str = typer.Option(..., "-o", "--output", help="output folder (created; its parent must exist)"),
        mask: Optional[str] = typer.Option(None, "--mask", help="the character's mask (grey image, white = character; "
                                                                "default: the alpha, or found on the paper)"),
        joints: Optional[str] = typer.Option(None, "--joints", help="joints: AnimatedDrawings char_cfg.yaml or "
                                                                    "OpenPose JSON (default: found in the drawing)"),
        motion: str = typer.Option("walk", "--motion", help="built-in (walk, jog, jump, punch, dance), FILE.bvh "
                                                            "or FILE.npz"),
        size: str = typer.Option("512", "--size", help="video size: 512 or WxH, pixels"),
        fps: float = typer.Option(30.0, "--fps", help="video frames per second"),
        view: str = typer.Option("front", "--view", help="video camera: front, side, back, right, orbit or degrees"),
        height: float = typer.Option(1.5, "--height", help="the character's height, metres"),
        detector: str = typer.Option("auto", "--detector", help="joints detector: auto, kyara, mediapipe or none"),
        up: str = typer.Option("auto", "--up", help="the BVH file's up axis: auto (detected), y or z"),
        mapping: Optional[str] = typer.Option(None, "--mapping",
                                              help="YAML {source joint: vrmBone} for BVH rigs the name tables miss"),
        name: str = typer.Option("drawing", "--name", help="the avatar's name (VRM meta)"),
        frames: bool = typer.Option(True, "--frames/--no-frames",
                                    help="also write frames/ (PNG frames, per-frame OpenPose and depth)"),
    ) -> None:
        """Lift a drawing of a humanoid character to a rigged 3D avatar and animate it."""
        from kyara.cli.common import parse_size
        from kyara.drawing.character import LiftConfig
        from kyara.drawing.inflate import InflateConfig
        from kyara.drawing.pipeline import DrawingJob, run
        from kyara.drawing.skeleton import SkeletonConfig
        from kyara.motion.axes import parse_up

        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"--fps {fps:g} is not valid, expected frames per second > 0")
        if detector not in ("auto", "kyara", "mediapipe", "none"):
            raise ValueError(f"--detector '{detector}' is unknown, expected auto, kyara, mediapipe or none")
        if not (math.isfinite(height) and 0.1 <= height <= 10):
            raise ValueError(f"--height {height:g} is out of range, expected 0.1..10 metres")
        if not name.strip():
            raise ValueError("--name is empty, expected the avatar's name")
        axis = parse_up(up)
        job = DrawingJob(motion=motion, size=parse_size(size), fps=fps, view=view, up=axis, mapping=mapping,
                         frames=frames,
                         lift=LiftConfig(height=height, skeleton=SkeletonConfig(detector=detector),
                                         inflate=InflateConfig(), name=name.strip()))
        result = run(image, output, mask=mask, joints=joints, job=job)
        info = result.character.spec
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        typer.echo(f"wrote {output}: avatar.vrm, avatar.glb, motion.mp4/.gif ({result.motion.num_frames} frames), "
                   f"mask.png, skeleton.json, contact_sheet.png (joints: {info.joints_source}; lift "
                   f"{sum(info.seconds.values()):.2f} s)")
