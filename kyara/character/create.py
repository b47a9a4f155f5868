"""The main job: prompt (or spec) -> rigged, dressed anime character, previews and conditions.

:func:`create_character` writes into ``out_dir``::

    character.json                     the spec (edit it and pass it back with --spec)
    avatar.vrm                         VRM 1.0 avatar (humanoid, expressions, MToon, spring bones)
    avatar_print.stl                   printable solid, mm, Z up, posed
    front.png side.png back.png        cel-shaded, posed
    turntable.gif                      cel-shaded turntable
    conditions/<view>_openpose.png     ControlNet 1.1 OpenPose drawing (hidden keypoints dropped)
    conditions/<view>_openpose.json    OpenPose JSON (pixels)
    conditions/<view>_depth.png        near = bright
    conditions/<view>_normal.png       NormalBae convention
    conditions/<view>_udp.npz          CoNR UDP, float32 HxWx4, key 'i'
    sheet/ref<k>.png, ref<k>_udp.npz   a CoNR character sheet: the character standing, seen from
                                       4 azimuths (straight RGBA + exact UDP): `kyara sheet sheet/*.png`

Every file is written to a temporary name and renamed, so a failed run leaves no partial file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VIEWS = ("front", "side", "back")


@dataclass
class CreateResult:
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def prepare_out_dir(path: str | os.PathLike) -> Path:
    """The output folder: existing and writable, or creatable (its parent exists); checked by
    creating a file there (:func:`kyara.fileio.check_output_dir`)."""
    from kyara.fileio import check_output_dir

    return check_output_dir(path)


def _png(path: Path, img: np.ndarray) -> Path:
    from PIL import Image

    from kyara.fileio import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(img).save(tmp, format="PNG")
    return path


def _flatten(img: np.ndarray, bg=(246, 244, 240)) -> np.ndarray:
    if img.shape[-1] != 4:
        return img
    a = img[..., 3:4].astype(np.float32) / 255.0
    return (img[..., :3] * a + np.array(bg) * (1 - a)).astype(np.uint8)


def create_character(spec, out_dir: str | os.PathLike, pose_name: str | None = None, size: tuple[int, int] = (512, 512),
                     turntable_frames: int = 36, turntable_size: int = 256, progress=None,
                     export: bool = True, character=None) -> CreateResult:
    """Build the character of ``spec`` (or take the already built ``character``) and write previews
    and conditions into ``out_dir``."""
    from kyara.character.build import build_character
    from kyara.character.model import character_udp
    from kyara.fileio import write_text_atomic
    from kyara.pose.keypoints import body_keypoints, project_keypoints, visible_keypoints
    from kyara.pose.openpose import write_openpose_json
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.openpose_draw import draw_openpose
    from kyara.render.previews import save_udp
    from kyara.render.toon import MapStyle, ToonStyle

    out = prepare_out_dir(out_dir)
    name = pose_name or spec.pose_hint or "stand"
    res = CreateResult(out)
    t0 = time.perf_counter()

    def tick(label: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        res.seconds[label] = now - t0
        t0 = now
        if progress is not None:
            progress(label)

    if character is None:
        character = build_character(spec)
    pose = get_pose(name, character.body.params)
    tick("build")
    out.mkdir(exist_ok=True)
    (out / "conditions").mkdir(exist_ok=True)
    res.files.append(write_text_atomic(out / "character.json", spec.to_json()))

    mesh = character.merged(opaque_only=True)  # lenses are see-through: not in previews or conditions
    verts, _ = character.pose(pose, mesh)
    udp = character_udp(character, mesh)
    w, h = size
    cams = [pose_camera(verts, v, (w, h)) for v in VIEWS]
    attrs = VertexAttrs(parts=None, udp=udp, base_color=mesh["base"], shade_color=mesh["shade"], outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=None, outline_width=2))
    r = MeshRenderer(mesh["faces"], len(verts), w, h)
    try:
        maps = r.render(verts, cams, ("toon", "depth", "normal", "udp"), vertex_attrs=attrs, style=style)
    finally:
        r.release()
    tick("render")
    for i, v in enumerate(VIEWS):
        res.files.append(_png(out / f"{v}.png", maps["toon"][i]))
    kp = body_keypoints(character.body, pose.rotations, pose.translation)
    # keypoints are hidden only by another part of the body itself (as DreamWaltz-G tests them
    # against SMPL): a knee under a long skirt still guides ControlNet, a hand behind the torso does not
    body_verts, _ = character.body.pose(pose)
    visible = visible_keypoints(character.body, kp, cams, body_verts)
    cond = out / "conditions"
    for i, v in enumerate(VIEWS):
        k2 = project_keypoints(kp, cams[i], visible[i])
        res.files.append(_png(cond / f"{v}_openpose.png", draw_openpose([k2], w, h, thick=False)))
        res.files.append(write_openpose_json(cond / f"{v}_openpose.json", [k2], w, h))
        res.files.append(_png(cond / f"{v}_depth.png", maps["depth"][i][..., 0]))
        res.files.append(_png(cond / f"{v}_normal.png", maps["normal"][i]))
        res.files.append(save_udp(cond / f"{v}_udp.npz", maps["udp"][i]))
    tick("conditions")
    res.files.append(write_turntable(character, pose, mesh, out / "turntable.gif", turntable_frames, turntable_size))
    tick("turntable")
    res.files += write_sheet(character, out / "sheet", min(w, h))
    tick("sheet")
    if export:
        from kyara.export import ExportOptions, export_character

        title = spec.prompt[:60] if spec.prompt else "kyara avatar"
        res.files.append(export_character(character, "vrm", out / "avatar.vrm", ExportOptions(name=title)).path)
        tick("vrm")
        res.files.append(export_character(character, "stl", out / "avatar_print.stl",
                                          ExportOptions(name=title, pose=pose)).path)
        tick("stl")
    return res


SHEET_VIEWS = 4


def write_sheet(character, folder: Path, side: int, views: int = SHEET_VIEWS) -> list[Path]:
    """A character sheet as ``kyara dataset sheets`` makes its references (the same pose, framing and
    cel style, so the CoNR renderer sees what it was trained on): the character standing, ``views``
    azimuths evenly spaced from the front, ``ref<k>.png`` (straight RGBA) + ``ref<k>_udp.npz`` (exact UDP,
    found beside each image by :func:`kyara.sheet.inputs.sibling_udp`)."""
    from kyara.avatar import avatar_pose, character_body
    from kyara.dataset.render import sheet_style
    from kyara.render.pipeline import RenderConfig, frame_views, render_views
    from kyara.render.previews import save_udp

    body = character_body(character)
    pose = avatar_pose("stand", body)
    verts = body.pose(pose)[0]
    cams = frame_views(verts, [360.0 * k / views for k in range(views)], (side, side))
    r = render_views(body, pose, cams, RenderConfig(maps=("toon", "udp"), style=sheet_style(side)), vertices=verts)
    folder.mkdir(exist_ok=True)
    files = []
    for k in range(views):
        files.append(_png(folder / f"ref{k}.png", r.maps["toon"][k]))
        files.append(save_udp(folder / f"ref{k}_udp.npz", r.maps["udp"][k].astype(np.float32)))
    return files


def write_turntable(character, pose, mesh, path: Path, frames: int, size: int) -> Path:
    """A cel-shaded turntable of the posed character: ``frames`` views over 360 degrees."""
    from kyara.render.camera import turntable_cameras
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle
    from kyara.render.video import write_video

    if not 1 <= frames <= 720:
        raise ValueError(f"turntable frames {frames} is out of range, expected 1..720")
    verts, _ = character.pose(pose, mesh)
    cams = turntable_cameras(verts, frames, size)
    attrs = VertexAttrs(base_color=mesh["base"], shade_color=mesh["shade"], outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=(0.965, 0.957, 0.94), outline_width=1))
    r = MeshRenderer(mesh["faces"], len(verts), size, size)
    try:
        toon = r.render(verts, cams, ("toon",), vertex_attrs=attrs, style=style)["toon"]
    finally:
        r.release()
    write_video(path, np.stack([_flatten(f) for f in toon]), fps=12)
    return path
