"""Export tab: the session's character as VRM / GLB / STL; the avatar import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from kyara.studio.handlers.common import import_avatar, load_character
from kyara.studio.handlers.poses import pose_from_state
from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

EXPORT_FORMATS = ("vrm", "glb", "stl")


def export(ws: Workspace, character: str | None, fmt: str, pose_state_: dict | None = None,
           values: Sequence[float] | None = None) -> Path:
    """Write the session's character as ``vrm`` / ``glb`` (rest T-pose) or ``stl`` (posed like the
    Pose tab, else as created)."""
    from kyara.export import ExportOptions, export_character

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format '{fmt}' is unknown, expected one of {', '.join(EXPORT_FORMATS)}")
    if character is None:
        raise ValueError("no character yet, expected one made in the Create tab or an imported avatar")
    ch = load_character(character)
    title = (getattr(getattr(ch, "spec", None), "prompt", "") or "kyara avatar")[:60]
    pose = None
    if fmt == "stl" and pose_state_ is not None:
        pose = pose_from_state(pose_state_, values)
    d = ws.job_dir("export")
    name = {"vrm": "avatar.vrm", "glb": "avatar.glb", "stl": "avatar_print.stl"}[fmt]
    return export_character(ch, fmt, d / name, ExportOptions(name=title, pose=pose)).path


def avatar_upload(ws: Workspace, path: str | os.PathLike | None, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> Path:
    """The Export tab's avatar import: :func:`~kyara.studio.session.check_upload`, then
    :func:`import_avatar`. Returns the session's copy."""
    return import_avatar(ws, check_upload(path, "avatar", max_mb))
