"""``kyara animate``: a cel-shaded animation of a body playing a built-in or imported motion.

Every option and the motion file are checked before the body is built or anything is rendered;
a bad value ends as one ``error: ...`` line and exit code 2, and no partial video is left behind.
"""

from __future__ import annotations

import math
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("animate")
    def animate_cmd(
        motion: str = typer.Option(..., "--motion", help="built-in (walk, jog, jump, punch, dance), FILE.bvh "
                                                         "or FILE.npz (AMASS / AIST++ SMPL)"),
        output: str = typer.Option(..., "-o", "--output", help="output .mp4 or .gif"),
        body: str = typer.Option("teen-girl", "--body", help="body preset"),
        motion_scale: Optional[float] = typer.Option(None, "--motion-scale",
                                                     help="metres per BVH unit (default: detected)"),
        up: str = typer.Option("auto", "--up", help="the BVH file's up axis: auto (detected), y or z "
                                                    "(also x, -x, -y, -z)"),
        mapping: Optional[str] = typer.Option(None, "--mapping",
                                              help="YAML {source joint: vrmBone} for rigs the name tables miss "
                                                   "(template: kyara inspect FILE.bvh --mapping-template)"),
        fps: float = typer.Option(30.0, "--fps", help="frames per second of the video (motion resampled)"),
        size: str = typer.Option("512", "--size", help="512 or WxH, pixels (1..4096)"),
        view: str = typer.Option("front", "--view", help="front, side, back, right, orbit or azimuth degrees"),
        conditions: Optional[str] = typer.Option(None, "--conditions",
                                                 help="folder for per-frame OpenPose PNG+JSON and depth PNG"),
        openpose_style: str = typer.Option("classic", "--openpose-style",
                                           help="classic (ControlNet 1.1) or xinsir (thick lines, SDXL)"),
        heads: Optional[float] = typer.Option(None, "--heads", help="heads tall override"),
        height: Optional[float] = typer.Option(None, "--height", help="height override, metres"),
        character: Optional[str] = typer.Option(None, "--character",
                                                help="a .vrm/.glb/.gltf avatar or a character.json instead of --body"),
        gaussians: Optional[str] = typer.Option(None, "--gaussians",
                                                help="a gaussians.ply layer bound to this body/character, drawn "
                                                     "over every frame by depth"),
    ) -> None:
        """Retarget MOTION onto the body and write a cel-shaded video (plus conditions per frame)."""

        from kyara.cli.common import body_params, parse_size
        from kyara.motion.animate import AnimateConfig, parse_animation_view
        from kyara.render.video import check_video_args

        # 1. options, cheapest first; nothing is created before all of them pass
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"--fps {fps:g} is not valid, expected frames per second > 0")
        out = check_video_args(output, fps)
        w, h = parse_size(size)
        v = parse_animation_view(view)
        if motion_scale is not None and not (math.isfinite(motion_scale) and motion_scale > 0):
            raise ValueError(f"--motion-scale {motion_scale} is not valid, expected metres per unit > 0")
        from kyara.motion.axes import parse_up

        up_axis = parse_up(up)
        if mapping is not None:
            from kyara.motion.mapping import load_mapping_yaml

            load_mapping_yaml(mapping)  # a missing or malformed file fails here, before anything is built
        config = AnimateConfig(openpose_style=openpose_style.strip().lower())
        if character is not None and (heads is not None or height is not None):
            raise ValueError("--heads/--height change a parametric body, expected neither with --character")
        params = body_params(body, heads, height)
        from kyara.cli.common import check_motion_arg

        check_motion_arg(motion)
        if conditions is not None:
            from kyara.fileio import check_output_dir

            try:  # a folder files can be created in (checked by creating one), or its parent is
                check_output_dir(conditions)
            except ValueError as exc:
                raise ValueError(f"--conditions: {exc}") from None

        if gaussians is not None:
            if conditions is not None:
                raise ValueError("--conditions and --gaussians were both given, expected one of them")
            from kyara.gaussians.io import read_layer

            read_layer(gaussians)  # a missing or damaged file fails before anything is built

        # 2. the motion (malformed files raise one-line ValueErrors), then retargeting
        from kyara.motion import load_motion, retarget

        skeleton, mocap = load_motion(motion, motion_scale, up_axis, mapping)
        target = None
        if character is not None:  # the avatar (or built character) is loaded before the retargeting
            from kyara.avatar import character_body, load_character

            target = character_body(load_character(character))
        clip = retarget(mocap, skeleton, target.layout if target is not None else params, mapping=mapping, fps=fps)

        # 3. render + encode
        from kyara.body.model import build_body
        from kyara.motion.animate import animate

        the_body = target if target is not None else build_body(params)
        if gaussians is not None:
            from kyara.gaussians.draw import animate_with_gaussians, load_layer_for

            layer = load_layer_for(gaussians, the_body)
            n = animate_with_gaussians(the_body, clip, out, (w, h), v, layer, config)
            typer.echo(f"wrote {out} ({n} frames, {w}x{h}, {fps:g} fps, {len(layer)} Gaussians)")
            return
        result = animate(the_body, clip, out, (w, h), v, None, conditions, config)
        extra = f", {len(result.conditions)} condition files in {conditions}" if conditions is not None else ""
        typer.echo(f"wrote {out} ({result.video.frames} frames, {w}x{h}, {fps:g} fps){extra}")
