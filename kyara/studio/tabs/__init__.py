"""The studio's tabs, one module each, found the way the CLI finds its commands.

A tab is a module ``kyara/studio/tabs/tab_<name>.py`` with::

    TITLE = "Pose"          # the tab's label
    ORDER = 20              # place on the page (smaller first)
    def build(ctx: TabContext, tab) -> None: ...   # the widgets and events, inside ``gr.Tab``

:func:`discover` imports every ``tab_*`` module and returns them by ``ORDER``, so adding a tab never
touches :mod:`kyara.studio.app`. A tab that later tabs need widgets of publishes them in
``ctx.widgets`` (``"pose.sliders"``), and the later tab reads them there.

Also here, for every tab: :func:`safe` (a handler's error becomes one line in the page) and
:func:`bind`. Imports gradio: import only after :func:`kyara.studio.server.prepare_environment`.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import gradio as gr

from kyara.studio.config import StudioConfig
from kyara.studio.handlers import escape_html, one_line
from kyara.studio.handlers.common import scrub_paths
from kyara.studio.session import Workspace

_log = logging.getLogger("kyara.studio")


@dataclass
class TabContext:
    """What a tab's ``build`` gets: the page's shared session state and settings."""

    config: StudioConfig  # checked, with its ``output`` folder set
    state: Any  # gr.State holding the session dict of :func:`new_state`
    widgets: dict[str, Any] = field(default_factory=dict)  # "tab.name" -> widget(s) a tab shares with later tabs
    web_modules: Path | None = None  # three.js + three-vrm for the 3D view (None: gradio's GLB viewer instead)

    @property
    def max_mb(self) -> float:
        return self.config.max_upload_mb

    def ws_of(self, request: gr.Request | None) -> Workspace:
        """The browser session's workspace under the output folder."""
        return Workspace.for_session(Path(self.config.output), getattr(request, "session_hash", None))


def view3d(ctx: TabContext, elem_id: str):
    """The 3D view of a tab: three.js + three-vrm showing the exported file (:mod:`kyara.studio.viewer`)
    when its scripts were found, else gradio's GLB viewer (``<elem_id>`` either way)."""
    if ctx.web_modules is not None:
        from kyara.studio.viewer import viewer_html

        return gr.HTML(viewer_html(ctx.web_modules, None), js_on_load=None, elem_id=elem_id, min_height=200)
    return gr.Model3D(label="GLB (drag to turn)", clear_color=(0.95, 0.95, 0.96, 1.0), elem_id=elem_id)


def view3d_value(ctx: TabContext, path: str | Path | None):
    """What the 3D view of :func:`view3d` shows for an exported or imported file (the three.js view is
    left as it is when it cannot show that file; gradio's viewer is cleared)."""
    suffix = Path(path).suffix.lower() if path is not None else ""
    if ctx.web_modules is not None:
        from kyara.studio.viewer import KINDS, viewer_html

        return viewer_html(ctx.web_modules, path) if suffix in KINDS else gr.update()
    # gradio's viewer: the formats it loads; anything else clears it rather than leave an older file
    return str(path) if suffix in (".glb", ".gltf", ".stl", ".obj", ".ply") else None


def new_state() -> dict:
    """A browser session's state: the character file, the pose state, the pose files (conditions)."""
    return {"character": None, "pose": None, "pose_files": {}}


def discover() -> list[ModuleType]:
    """Every ``tab_*`` module of this package, by ``ORDER`` (then name)."""
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("tab_"):
            mod = importlib.import_module(f"{__name__}.{info.name}")
            for attr in ("TITLE", "ORDER", "build"):
                if not hasattr(mod, attr):
                    raise ValueError(f"studio tab module '{info.name}' has no {attr}, expected TITLE, ORDER and build")
            mods.append(mod)
    return sorted(mods, key=lambda m: (m.ORDER, m.__name__))


def tab_id(mod: ModuleType) -> str:
    """``tab_pose`` -> ``pose`` (the ``gr.Tab`` id)."""
    return mod.__name__.rsplit(".", 1)[1].removeprefix("tab_")


def safe(fn: Callable, outputs: list | None = None, status=None) -> Callable:
    """Run a handler; any exception becomes one line ``error: ...`` in the page.

    With ``outputs`` (the event's output widgets) and ``status`` (the tab's status line among
    them) the line stays in the status line, every other output is left as it was, and a toast
    that stays until closed shows it too; without them it is an error toast that stays open."""
    at = outputs.index(status) if outputs is not None and status is not None else None

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad request must not reach the server loop
            line = scrub_paths(one_line(exc))  # never a server folder in the page
            _log.info("%s: %s", fn.__name__, line, exc_info=not isinstance(exc, (ValueError, OSError)))
            if at is None:
                raise gr.Error(escape_html(line), duration=None, print_exception=False) from None
            gr.Warning(escape_html(line), duration=None, title="Error")
            return tuple(markdown_literal(line) if i == at else gr.update() for i in range(len(outputs)))

    return wrapper


def markdown_literal(line: str) -> str:
    """``line`` shown as literal text in a Markdown widget."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in line)


def bind(fn: Callable, fmt: str) -> Callable:
    """``fn(fmt, data, request)`` as a two-argument handler gradio can inspect."""

    def handler(data: dict, request: gr.Request):
        return fn(fmt, data, request)

    return handler
