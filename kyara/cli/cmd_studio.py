"""``kyara studio``: the web UI (gradio) on loopback."""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("studio")
    def studio_cmd(
        host: str = typer.Option("127.0.0.1", "--host", help="bind address (default loopback only)"),
        port: int = typer.Option(7860, "--port", help="TCP port (0: any free port)"),
        output: Optional[str] = typer.Option(None, "-o", "--output",
                                             help="folder for every file the studio writes and serves "
                                                  "(default: a new temporary folder)"),
        max_upload_mb: float = typer.Option(16.0, "--max-upload-mb", help="largest accepted upload, MB"),
        models: Optional[str] = typer.Option(None, "--models",
                                             help="folder of your models (diffusers folders, .safetensors "
                                                  "checkpoints) listed in the Image tab's model picker"),
        share: bool = typer.Option(False, "--share", help="also open a public gradio share link (off by default)"),
    ) -> None:
        """Serve the studio page: Create, Pose, Image, Animate and Export tabs."""
        from pathlib import Path

        from kyara.studio import StudioConfig, launch

        cfg = StudioConfig(host=host, port=port, output=Path(output) if output else None,
                           max_upload_mb=max_upload_mb, share=share,
                           models_dir=Path(models) if models else None).check()
        from kyara.errors import require_extra

        require_extra(("gradio",), "the studio", "studio", "gradio")
        demo, url, out = launch(cfg, block=False)
        typer.echo(f"kyara studio on {url} (files in {out}); Ctrl-C to stop", err=True)
        try:
            demo.block_thread()
        finally:
            demo.close()
