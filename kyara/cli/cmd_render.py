"""``kyara render`` (condition maps of a posed body, many views) and ``kyara turntable`` (GIF/MP4).

Every option is checked before the body is built or anything is rendered; a bad value ends as
one ``error: ...`` line and exit code 2 with no output written.
"""

from __future__ import annotations

from typing import List, Optional

import typer

_MAPS_HELP = "comma-separated maps: openpose,depth,normal,mask,parts,udp,lineart,toon"


def _check_pose(name: str) -> None:
    from kyara.pose.presets import POSE_NAMES

    if name not in POSE_NAMES:
        raise ValueError(f"unknown pose '{name}', expected one of {', '.join(POSE_NAMES)}")


def _parse_view_list(text: str) -> list:
    from kyara.cli.common import parse_view

    items = [t for t in (s.strip() for s in str(text).split(",")) if t]
    if not items:
        raise ValueError(f"--view '{text}' is empty, expected e.g. front or front,back,45")
    return [parse_view(t) for t in items]


_CHARACTER_HELP = "a .vrm/.glb/.gltf avatar or a character.json to render instead of a bare --body"


def _body_and_pose(character: str | None, body: str, heads, height, param, pose: str):
    """(body or character adapter, Pose): ``--character`` (avatar or character.json) or ``--body``."""
    from kyara.cli.common import body_params

    if character is not None:
        given = [n for n, v in (("--heads", heads), ("--height", height), ("--param", param or None)) if v]
        if given:
            raise ValueError(f"{', '.join(given)} change a parametric body, expected none of them with --character")
        from kyara.avatar import avatar_pose, character_body, load_character

        b = character_body(load_character(character))
        return b, avatar_pose(pose, b)
    from kyara.body.model import build_body
    from kyara.pose.presets import get_pose

    params = body_params(body, heads, height, param)
    return build_body(params), get_pose(pose, params)


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render_cmd(
        output: str = typer.Option(..., "-o", "--output", help="output folder (created if its parent exists)"),
        body: str = typer.Option("teen-girl", "--body", help="body preset"),
        pose: str = typer.Option("stand", "--pose", help="named pose (see `kyara presets`)"),
        views: Optional[int] = typer.Option(None, "--views", help="N views evenly spaced in azimuth from the front"),
        view: Optional[str] = typer.Option(None, "--view", help="front, side, back, right or azimuth degrees; "
                                                                 "comma-separated for several (default front)"),
        random_n: Optional[int] = typer.Option(None, "--random-views",
                                                   help="N seeded random orbit views (elevation +-30, fovy 40-70)"),
        maps: str = typer.Option(",".join(("openpose", "depth", "normal", "mask", "parts", "udp", "lineart", "toon")),
                                 "--maps", help=_MAPS_HELP),
        size: str = typer.Option("512", "--size", help="512 or WxH, pixels (1..4096)"),
        seed: int = typer.Option(0, "--seed", help="seed of --random-views"),
        distance: Optional[float] = typer.Option(None, "--distance",
                                                 help="camera distance from the body centre, metres "
                                                      "(default: frame the whole body)"),
        elevation: float = typer.Option(0.0, "--elevation", help="camera elevation, degrees (-89..89)"),
        openpose_style: str = typer.Option("classic", "--openpose-style",
                                           help="classic (ControlNet 1.1) or xinsir (thick lines, SDXL)"),
        heads: Optional[float] = typer.Option(None, "--heads", help="heads tall override"),
        height: Optional[float] = typer.Option(None, "--height", help="height override, metres"),
        param: List[str] = typer.Option([], "--param", help="any body parameter, name=value (repeatable)"),
        character: Optional[str] = typer.Option(None, "--character", help=_CHARACTER_HELP),
        gaussians: Optional[str] = typer.Option(None, "--gaussians",
                                                help="a gaussians.ply layer bound to this body/character: "
                                                     "also DIR/<view>_gaussians.png, drawn over the toon render"),
    ) -> None:
        """Write condition maps (DIR/<view>_<map>.png, udp .npz, openpose .json) and cameras.json."""
        import math

        from kyara.cli.common import parse_size
        from kyara.render.pipeline import (MAX_VIEWS, OPENPOSE_STYLES, RenderConfig, check_output_dir,
                                           frame_views, orbit_views, random_views, render_to_dir)
        from kyara.render.toon import MapStyle

        out = check_output_dir(output)
        w, h = parse_size(size)
        given = [n for n, v in (("--views", views), ("--view", view), ("--random-views", random_n))
                 if v is not None]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)} were both given, expected only one way to choose views")
        for name, n in (("--views", views), ("--random-views", random_n)):
            if n is not None and not 1 <= n <= MAX_VIEWS:
                raise ValueError(f"{name} {n} is out of range, expected 1..{MAX_VIEWS}")
        view_list = _parse_view_list(view) if view is not None else ["front"]
        if distance is not None and not (math.isfinite(distance) and 0.0 < distance <= 1000.0):
            raise ValueError(f"--distance {distance} is out of range, expected 0 < distance <= 1000 metres")
        if not (math.isfinite(elevation) and abs(elevation) <= 89.0):
            raise ValueError(f"--elevation {elevation} is out of range, expected -89..89 degrees")
        if random_n is not None and (distance is not None or elevation != 0.0):
            raise ValueError("--random-views draws its own distances and elevations, expected no --distance "
                             "or --elevation with it")
        style = openpose_style.strip().lower()
        if style not in OPENPOSE_STYLES:
            raise ValueError(f"--openpose-style '{openpose_style}' is unknown, expected one of "
                             f"{', '.join(OPENPOSE_STYLES)}")
        config = RenderConfig(maps=maps, openpose_style=style, style=MapStyle())
        _check_pose(pose)
        if gaussians is not None:
            from kyara.gaussians.io import read_layer

            read_layer(gaussians)  # a missing or damaged file fails before the body is built
        b, pz = _body_and_pose(character, body, heads, height, param, pose)
        layer = None
        if gaussians is not None:
            from kyara.gaussians.draw import load_layer_for

            layer = load_layer_for(gaussians, b)  # bound to this body's mesh, or one error line
        verts, joints = b.pose(pz)
        import numpy as np

        frame = np.concatenate([verts, joints]) if character is not None else verts  # skeleton-only avatars
        if views is not None:
            chosen = orbit_views(frame, views, (w, h), distance, elevation, b.faces)
        elif random_n is not None:
            chosen = random_views(frame, random_n, seed, (w, h))
        else:
            chosen = frame_views(frame, view_list, (w, h), distance, elevation, b.faces)
        if layer is not None and any(c.camera.is_ortho for c in chosen):
            raise ValueError("--gaussians draws through perspective cameras, expected no orthographic view")
        written = render_to_dir(out, b, pz, chosen, config, vertices=verts)
        if layer is not None:
            from kyara.gaussians.draw import render_gaussian_views

            written += render_gaussian_views(out, b, verts, chosen, layer)
        typer.echo(f"wrote {len(written)} files to {out} ({len(chosen)} views x {len(config.maps)} maps)")

    @app.command("turntable")
    def turntable_cmd(
        output: str = typer.Option(..., "-o", "--output", help="output .gif or .mp4"),
        body: str = typer.Option("teen-girl", "--body", help="body preset"),
        pose: str = typer.Option("stand", "--pose", help="named pose (see `kyara presets`)"),
        size: str = typer.Option("512", "--size", help="512 or WxH, pixels (1..4096)"),
        frames: int = typer.Option(36, "--frames", help="frames for one 360 degree turn (1..3600)"),
        fps: float = typer.Option(12.0, "--fps", help="frames per second (1..60)"),
        elevation: float = typer.Option(0.0, "--elevation", help="camera elevation, degrees (-89..89)"),
        heads: Optional[float] = typer.Option(None, "--heads", help="heads tall override"),
        height: Optional[float] = typer.Option(None, "--height", help="height override, metres"),
        param: List[str] = typer.Option([], "--param", help="any body parameter, name=value (repeatable)"),
        character: Optional[str] = typer.Option(None, "--character", help=_CHARACTER_HELP),
    ) -> None:
        """Cel-shaded turntable: the camera orbits the posed body once, every frame kept."""
        import math

        from kyara.cli.common import parse_size
        from kyara.fileio import check_output_path
        from kyara.render.pipeline import MAX_FRAMES, VIDEO_SUFFIXES, render_turntable, write_animation

        out = check_output_path(output, VIDEO_SUFFIXES)
        w, h = parse_size(size)
        if not 1 <= frames <= MAX_FRAMES:
            raise ValueError(f"--frames {frames} is out of range, expected 1..{MAX_FRAMES}")
        if not (math.isfinite(fps) and 1.0 <= fps <= 60.0):
            raise ValueError(f"--fps {fps} is out of range, expected 1..60 frames per second")
        if not (math.isfinite(elevation) and abs(elevation) <= 89.0):
            raise ValueError(f"--elevation {elevation} is out of range, expected -89..89 degrees")
        _check_pose(pose)
        b, pz = _body_and_pose(character, body, heads, height, param, pose)
        stream = render_turntable(b, pz, frames, (w, h), elevation_deg=elevation)
        write_animation(out, stream, frames, fps)
        typer.echo(f"wrote {out} ({frames} frames, {w}x{h}, {fps:g} fps)")
