"""``kyara body`` (write the body mesh) and ``kyara presets`` (list presets and poses)."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("body")
    def body_cmd(
        body: str = typer.Option("teen-girl", "--body", help="body preset"),
        heads: Optional[float] = typer.Option(None, "--heads", help="heads tall (2.0 .. 8.5)"),
        height: Optional[float] = typer.Option(None, "--height", help="height in metres (0.5 .. 2.5)"),
        param: List[str] = typer.Option([], "--param", help="any body parameter, name=value (repeatable)"),
        output: str = typer.Option(..., "-o", "--output", help="output mesh: .ply or .obj"),
    ) -> None:
        """Write the rest-pose (T-pose) body mesh with its skin weights' vertex order intact."""
        from kyara.body.model import build_body
        from kyara.cli.common import body_params
        from kyara.fileio import atomic_path, check_output_path

        out = check_output_path(output, (".ply", ".obj"))
        p = body_params(body, heads, height, param)
        b = build_body(p)
        mesh = b.to_trimesh()
        with atomic_path(out) as tmp:
            mesh.export(tmp, file_type=out.suffix[1:].lower())
        typer.echo(f"wrote {out} ({b.num_vertices} vertices, {len(b.faces)} triangles)")

    @app.command("presets")
    def presets_cmd() -> None:
        """List body presets, body parameters and named poses."""
        from kyara.body.params import PARAM_SPECS, PRESETS

        typer.echo("body presets:")
        for name, p in PRESETS.items():
            typer.echo(f"  {name:<12} height {p.height:.2f} m, {p.heads_tall:.1f} heads")
        typer.echo("body parameters (--param name=value):")
        for s in PARAM_SPECS:
            typer.echo(f"  {s.name:<15} {s.low:g}..{s.high:g} {s.unit:<14} {s.description}")
        try:
            from kyara.pose.presets import POSE_NAMES
        except ImportError:  # pragma: no cover - presets always ship
            POSE_NAMES = ()
        typer.echo("poses:")
        typer.echo("  " + ", ".join(POSE_NAMES))
