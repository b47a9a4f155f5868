"""Start the studio: environment first (no telemetry, files only under the output folder), then
gradio, then the server on loopback.

Gradio reads ``GRADIO_*`` variables at import time, so :func:`prepare_environment` runs before
the first ``import gradio``: analytics off, the upload/cache folder inside the output folder.
The server is told to serve files from the output folder only (``allowed_paths``; plus the 3D view's
script folders of three.js and three-vrm, see :mod:`kyara.studio.viewer`); uploads
larger than ``max_upload_mb`` are refused by the server (and the page says so).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kyara.studio.config import StudioConfig


def prepare_environment(output: Path) -> None:
    """Set gradio's environment for a studio writing under ``output`` (before importing gradio)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = str(output / ".uploads")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(output / ".examples")
    os.environ["GRADIO_SSR_MODE"] = "False"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def resolve_output(config: StudioConfig) -> Path:
    if config.output is None:
        return Path(tempfile.mkdtemp(prefix="kyara-studio-")).resolve()
    p = Path(config.output)
    p.mkdir(exist_ok=True)
    return p.resolve()


def free_port(host: str) -> int:
    """A TCP port nobody listens on now (for ``--port 0``)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def launch(config: StudioConfig, block: bool = True):
    """Build the page and serve it. Returns ``(demo, local_url, output folder)``; with ``block``
    (the CLI) it serves until Ctrl-C first."""
    cfg = config.check()
    out = resolve_output(cfg)
    prepare_environment(out)
    import dataclasses

    import gradio as gr

    from kyara.studio.app import CSS, build_app

    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for name in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from kyara.studio.viewer import find_web_modules, served_dirs

    modules = find_web_modules(cfg.web_modules)
    cfg = dataclasses.replace(cfg, output=out, web_modules=modules)
    demo = build_app(cfg)
    allowed = [str(out)] + (served_dirs(modules) if modules is not None else [])  # the 3D view's scripts
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])  # no web fonts: works offline
    _, url, _ = demo.launch(server_name=cfg.host, server_port=cfg.port or free_port(cfg.host), share=cfg.share,
                            max_file_size=int(cfg.max_upload_mb * 2**20), allowed_paths=allowed,
                            show_error=False, quiet=True, prevent_thread_lock=True, ssr_mode=False,
                            mcp_server=False, pwa=False, enable_monitoring=False, inbrowser=False,
                            footer_links=[], theme=theme, css=CSS)
    if block:
        try:
            demo.block_thread()
        finally:
            demo.close()
    return demo, url, out
