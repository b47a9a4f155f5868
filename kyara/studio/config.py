"""What ``kyara studio`` serves and how: :class:`StudioConfig` (no gradio import)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class StudioConfig:
    host: str = LOOPBACK  # bind address; loopback unless the user asks for more
    port: int = 7860  # TCP port (0: any free port)
    output: Path | None = None  # the only folder files are served from (None: a fresh temporary folder)
    max_upload_mb: float = 16.0  # uploads above this are refused by the server and by the page
    queue_size: int = 64  # requests waiting in the queue before new ones are refused
    share: bool = False  # a public gradio share link (sends traffic through gradio's relay)
    web_modules: Path | None = None  # node_modules with three + @pixiv/three-vrm for the 3D view (None: searched)
    models_dir: Path | None = None  # folder of the user's models, scanned for the Image tab's picker (--models)

    def check(self) -> "StudioConfig":
        """Raise a one-line ``ValueError`` naming the first bad value; returns self."""
        if not isinstance(self.host, str) or not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]{1,253}", self.host):
            raise ValueError(f"--host '{self.host}' is not valid, expected an address such as 127.0.0.1")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"--port {self.port!r} is out of range, expected 0..65535")
        mb = self.max_upload_mb
        if isinstance(mb, bool) or not isinstance(mb, (int, float)) or not (math.isfinite(mb) and 0 < mb <= 4096):
            raise ValueError(f"--max-upload-mb {mb!r} is out of range, expected 0 < MB <= 4096")
        if isinstance(self.queue_size, bool) or not isinstance(self.queue_size, int) or not 1 <= self.queue_size <= 10000:
            raise ValueError(f"queue size {self.queue_size!r} is out of range, expected 1..10000")
        if self.web_modules is not None:
            from kyara.studio.viewer import find_web_modules

            find_web_modules(self.web_modules)
        if self.models_dir is not None and not Path(self.models_dir).is_dir():
            raise ValueError(f"--models '{self.models_dir}' is not a folder, expected a folder of models "
                             "(diffusers folders, .safetensors checkpoints)")
        if self.output is not None:
            p = Path(self.output)
            if p.exists() and not p.is_dir():
                raise ValueError(f"-o '{p}' is a file, expected a folder")
            if not p.exists() and not p.parent.is_dir():
                raise ValueError(f"-o '{p}' cannot be created: '{p.parent}' does not exist")
        return self
