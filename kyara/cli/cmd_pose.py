"""``kyara pose``: OpenPose JSON of a named pose on a body, seen from a view."""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("pose")
    def pose_cmd(
        pose: str = typer.Option(..., "--pose", help="named pose (see `kyara presets`)"),
        body: str = typer.Option("teen-girl", "--body", help="body preset"),
        view: str = typer.Option("front", "--view", help="front, side, back, right or azimuth degrees"),
        size: str = typer.Option("512", "--size", help="512 or WxH, pixels"),
        output: str = typer.Option(..., "-o", "--output", help="output .json (OpenPose format)"),
        heads: Optional[float] = typer.Option(None, "--heads", help="heads tall override"),
        height: Optional[float] = typer.Option(None, "--height", help="height override, metres"),
    ) -> None:
        """Write OpenPose JSON (body, hands, face keypoints in pixels) for one view of a posed body."""
        from kyara.cli.common import body_params, parse_size, parse_view
        from kyara.fileio import check_output_path
        from kyara.pose.openpose import write_openpose_json
        from kyara.pose.views import posed_keypoints_2d

        out = check_output_path(output, (".json",))
        w, h = parse_size(size)
        v = parse_view(view)
        params = body_params(body, heads, height)
        kp2d = posed_keypoints_2d(params, pose, v, (w, h))
        write_openpose_json(out, [kp2d], w, h)
        n = int((kp2d.body[:, 2] > 0).sum())
        typer.echo(f"wrote {out} ({n}/18 body points visible)")
