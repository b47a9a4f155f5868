"""Create tab: a prompt (or an edited spec) -> character, previews, turntable, VRM/STL; an
imported avatar's previews."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kyara.studio.handlers.common import (as_upload, file_key, import_avatar, on_gl_thread, remember_character,
                                          resolve_seed)
from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

CREATE_SIZE = (384, 384)  # create previews and conditions, pixels
TURNTABLE = (24, 192)  # frames, pixels


@dataclass
class CreateOutput:
    spec_json: str
    character: Path  # character.json
    views: list[Path]  # front, side, back PNGs
    turntable: Path
    vrm: Path
    stl: Path
    seed: int  # the seed the character was drawn with (a drawn one for -1), also in character.json


def create(ws: Workspace, prompt: str | None = None, seed: int = 0, spec_json: str | None = None) -> CreateOutput:
    """``kyara create`` for the page: a prompt (or an edited spec JSON) -> previews and avatar files.
    ``seed`` -1 draws a random seed (:func:`~kyara.studio.handlers.common.resolve_seed`); the one used
    is ``CreateOutput.seed`` and the spec's ``seed``. An edited spec keeps its own seed."""
    from kyara.character.create import VIEWS, create_character

    if spec_json is not None:
        from kyara.character.spec import from_json

        spec = from_json(spec_json)
    else:
        from kyara.character.parser import parse_prompt

        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt is empty, expected a character description such as 'an anime girl in a kimono'")
        spec = parse_prompt(prompt, seed=resolve_seed(seed))
    out = ws.job_dir("create")
    frames, tsize = TURNTABLE
    from kyara.character.build import build_character

    character = build_character(spec)
    on_gl_thread(create_character, spec, out, None, CREATE_SIZE, turntable_frames=frames, turntable_size=tsize,
                 character=character)
    # the Pose, Animate and Export tabs load this character.json next: hand them the built one
    remember_character(file_key(out / "character.json"), character)
    return CreateOutput(spec.to_json(), out / "character.json", [out / f"{v}.png" for v in VIEWS],
                        out / "turntable.gif", out / "avatar.vrm", out / "avatar_print.stl", spec.seed)


def avatar_previews(ws: Workspace, path: str | os.PathLike | None,
                    max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> tuple[Path, list[Path]]:
    """Create tab: import an uploaded avatar (``.vrm``/``.glb``/``character.json``, checked by
    :func:`~kyara.studio.session.check_upload`) and render front/side/back cel-shaded previews of
    it in its rest pose. Returns (imported file, PNGs)."""
    src = check_upload(path, "avatar", max_mb)
    dst = import_avatar(ws, src)
    with as_upload(src.name, dst):
        return dst, on_gl_thread(_avatar_views, dst)


def _avatar_views(dst: Path) -> list[Path]:
    from PIL import Image

    from kyara.avatar import avatar_pose, character_body, load_character
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    body = character_body(load_character(dst))
    pose = avatar_pose("stand", body)
    verts, _ = body.pose(pose)
    views = frame_views(verts, ["front", "side", "back"], (384, 512))
    out = render_views(body, pose, views, RenderConfig(maps=("toon",)), vertices=verts, check_cameras=False)
    paths = []
    for v, img in zip(("front", "side", "back"), out.maps["toon"]):
        p = dst.parent / f"{v}.png"
        Image.fromarray(img).save(p)
        paths.append(p)
    return paths

