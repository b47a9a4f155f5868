"""Export tab: the session's character in every format of ``kyara export`` (GLB, VRM 1.0, VRM 0.x,
VRMA, STL, OBJ, PLY), with the file the 3D view shows for each; the avatar import."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from kyara.studio.handlers.common import import_avatar, load_character
from kyara.studio.handlers.poses import pose_from_state
from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

# the CLI's formats (kyara.export.FORMATS), in its order; a test keeps the two lists equal
EXPORT_FORMATS = ("glb", "vrm", "vrm0", "vrma", "stl", "obj", "ply")
EXPORT_LABELS = {  # format -> the choice the Export tab shows
    "glb": "GLB (rigged, T-pose, or playing the motion)", "vrm": "VRM 1.0 (MToon)", "vrm0": "VRM 0.x (older apps)",
    "vrma": "VRMA (the motion as a VRM animation)", "stl": "STL (posed, printable, millimetres)",
    "obj": "OBJ + MTL (posed, metres)", "ply": "PLY (posed, vertex colours, metres)",
}
POSED_FORMATS = ("stl", "obj", "ply")  # posed like the Pose tab; the others are in the rest T-pose
MOTION_FORMATS = ("glb", "vrma")  # the formats a motion applies to
NO_MOTION = "none"
_NAMES = {"glb": "avatar.glb", "vrm": "avatar.vrm", "vrm0": "avatar_vrm0.vrm", "vrma": "motion.vrma",
          "stl": "avatar_print.stl", "obj": "avatar_posed.obj", "ply": "avatar_posed.ply"}


@dataclass
class ExportOutput:
    """One export: ``path`` the file written (OBJ's ``.mtl`` is in ``files`` too), ``view`` what the
    3D view shows (the file itself for GLB/VRM/STL; a GLB of the same posed geometry beside an OBJ or
    PLY; the avatar, as VRM, beside a VRMA), ``notes`` lines for the status."""

    path: Path
    files: list[Path]
    view: Path
    notes: list[str] = field(default_factory=list)


def export(ws: Workspace, character: str | None, fmt: str, pose_state_: dict | None = None,
           values: Sequence[float] | None = None, motion: str | None = None) -> ExportOutput:
    """Write the session's character as ``fmt`` (one of :data:`EXPORT_FORMATS`): GLB/VRM/VRM 0.x in
    the rest T-pose (a GLB plays ``motion`` when given), a VRMA of ``motion`` (a built-in motion name),
    STL/OBJ/PLY posed like the Pose tab (``pose_state_`` with the slider ``values``; else as created)."""
    from kyara.export import ExportOptions, export_character

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format '{fmt}' is unknown, expected one of {', '.join(EXPORT_FORMATS)}")
    if character is None:
        raise ValueError("no character yet, expected one made in the Create tab or an imported avatar")
    motion = None if motion in (None, "", NO_MOTION) else motion
    if fmt == "vrma" and motion is None:
        raise ValueError("VRMA is an animation, expected a motion (walk, jog, ...) to export")
    ch = load_character(character)
    title = (getattr(getattr(ch, "spec", None), "prompt", "") or "kyara avatar")[:60]
    pose = pose_from_state(pose_state_, values) if fmt in POSED_FORMATS and pose_state_ is not None else None
    opts = ExportOptions(name=title, pose=pose, motion=motion if fmt in MOTION_FORMATS else None)
    d = ws.job_dir("export")
    res = export_character(ch, fmt, d / _NAMES[fmt], opts)
    notes = list(res.warnings)
    if fmt in ("obj", "ply"):  # the view loads glTF and STL: the same posed vertices as a GLB beside it
        view = posed_view_glb(ch, pose, d / "view_posed.glb")
    elif fmt == "vrma":  # an animation has no mesh: the view shows the avatar it was made for
        view = export_character(ch, "vrm", d / "avatar.vrm", ExportOptions(name=title)).path
        notes.append("the 3D view shows the avatar this animation is for, at rest (it does not play animations)")
    else:
        view = res.path
    if motion is not None and fmt == "glb":
        notes.append(f"plays '{motion}' in animation players; the 3D view shows it at rest")
    return ExportOutput(res.path, [res.path, *res.extra_paths], view, notes)


def posed_view_glb(character, pose, path: Path) -> Path:
    """A static GLB of the posed merged mesh OBJ/PLY write (:func:`kyara.export.simple.posed_mesh`:
    metres, Y up), each vertex in its part's base colour, for the 3D view."""
    import numpy as np
    import trimesh

    from kyara.export.simple import posed_mesh

    mesh = posed_mesh(character, pose)
    srgb = np.clip(np.asarray(mesh["base"], np.float64), 0, 1)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)  # glTF colours are linear
    rgba = np.concatenate([np.round(lin * 255), np.full((len(lin), 1), 255)], axis=1).astype(np.uint8)
    tm = trimesh.Trimesh(mesh["vertices"], mesh["faces"], vertex_colors=rgba, process=False)  # keep the vertices
    path = Path(path)
    path.write_bytes(tm.export(file_type="glb"))
    return path


def export_downloads(previous: Sequence[str] | None, out: ExportOutput) -> list[str]:
    """The download list of the session: every file exported so far, newest first, no repeats."""
    new = [str(p) for p in out.files]
    return new + [p for p in (previous or []) if p not in new]


def avatar_upload(ws: Workspace, path: str | os.PathLike | None, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> Path:
    """The Export tab's avatar import: :func:`~kyara.studio.session.check_upload`, then
    :func:`import_avatar`. Returns the session's copy."""
    return import_avatar(ws, check_upload(path, "avatar", max_mb))
