"""A painted avatar: the character split along its UV seams, its texture, previews and files.

* :func:`painted_character`: the character whose opaque parts are split by the atlas
  (:meth:`kyara.paint.uv.UVAtlas.carry`: positions, skin weights, colours and morph targets per
  split vertex) and the :class:`kyara.export.atlas.PaintedSkin` the GLB/VRM exporters draw it with
  (base-colour texture, MToon shade texture, ``TEXCOORD_0``, the welded mesh's normals).
* :func:`shade_texture`: the MToon shade texture of a painted base texture, the anime shadow colour
  of every texel (:func:`kyara.character.colors.shadow_colours`, the skin's warm shadow on skin).
* :func:`render_painted`: cel-shaded previews of the painted character with kyara's renderer (the
  toon map of a white character, times the texture sampled at every pixel's UV; ink lines on top).
* :func:`paint_avatar`: the whole command: paint (:func:`kyara.paint.backend.paint_texture`), finish
  (:func:`kyara.paint.finish.anime_finish`), and write ``texture.png``, ``avatar.vrm``,
  ``front/side/back.png``, ``turntable.gif``, ``views/view<k>.png`` and ``paint.json`` into a
  folder: nothing before the painting is done, then every file into a hidden staging folder inside
  it, moved into place at the end (Ctrl-C leaves no partial file and no partial set).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

PREVIEW_VIEWS = ("front", "side", "back")


def painted_character(character, atlas, texture_base: np.ndarray, texture_shade: np.ndarray):
    """``(character', skin)``: ``character`` with every opaque part's vertices split along the UV
    seams of ``atlas`` (made from ``character.merged(opaque_only=True)``), and the
    :class:`~kyara.export.atlas.PaintedSkin` of ``texture_base``/``texture_shade`` (``[S, S, 3]``
    uint8) for it. See-through parts are kept as they are (no UVs)."""
    from kyara.export.atlas import PaintedSkin
    from kyara.export.gltf import vertex_normals

    vmap = np.asarray(atlas.vertex_map, np.int64)
    parts, uvs, normals = [], [], []
    v_off, f_off = 0, 0
    for p in character.parts:
        if p.material.transparent:
            parts.append(p)
            uvs.append(None)
            normals.append(None)
            continue
        nv, nf = len(p.vertices), len(p.faces)
        faces = np.asarray(atlas.faces[f_off:f_off + nf], np.int64)  # atlas vertex ids of this part's faces
        keep = np.flatnonzero((vmap >= v_off) & (vmap < v_off + nv))  # this part's split vertices
        local = np.full(atlas.num_vertices, -1, np.int64)
        local[keep] = np.arange(len(keep))
        new_faces = local[faces]
        if len(faces) and new_faces.min() < 0:
            raise RuntimeError(f"atlas faces of part '{p.name}' use vertices of another part")
        src = vmap[keep] - v_off  # [V'] the part's own vertex each split vertex copies
        welded = vertex_normals(np.asarray(p.vertices, np.float64), np.asarray(p.faces, np.int64))
        parts.append(replace(p, vertices=p.vertices[src], faces=new_faces.astype(np.int32),
                             joint_indices=p.joint_indices[src], joint_weights=p.joint_weights[src],
                             colors=None if p.colors is None else np.asarray(p.colors)[src],
                             morphs={k: np.asarray(m)[src] for k, m in p.morphs.items()}))
        uvs.append(np.asarray(atlas.uv[keep], np.float32))
        normals.append(welded[src])
        v_off += nv
        f_off += nf
    if v_off != atlas.num_input_vertices or f_off != len(atlas.faces):
        raise ValueError(f"the atlas has {atlas.num_input_vertices} vertices / {len(atlas.faces)} faces, the "
                         f"character's opaque parts {v_off} / {f_off}: the atlas is not of this character")
    out = replace(character, parts=parts)
    return out, PaintedSkin(texture_base, texture_shade, uvs, normals).check(out)


def shade_texture(base: np.ndarray, island: np.ndarray, skin_parts: set[int]) -> np.ndarray:
    """MToon shade texture ``[S, S, 3]`` uint8 of a painted ``base`` (uint8 sRGB): every texel's
    anime shadow colour; texels of ``island`` (part ids) in ``skin_parts`` get the skin's shadow."""
    from kyara.character.colors import shadow_colours

    rgb = base.astype(np.float64) / 255.0
    out = shadow_colours(rgb)
    skin = np.isin(island, list(skin_parts)) if skin_parts else np.zeros(island.shape, bool)
    if skin.any():
        out[skin] = shadow_colours(rgb[skin], skin=True)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def _sample(tex: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear, clamped texel sampling of ``tex [S, S, 3]`` at glTF ``uv [..., 2]`` -> float [..., 3]."""
    from kyara.paint.bake import texel_taps

    s = tex.shape[0]
    idx, w = texel_taps(uv.reshape(-1, 2), s, "bilinear")
    flat = tex.reshape(-1, 3).astype(np.float64)
    return (flat[idx] * w[..., None]).sum(axis=1).reshape(uv.shape[:-1] + (3,))


def render_painted(character, split, skin, pose, cameras, background=None, outline_width: int = 2) -> np.ndarray:
    """``[N, H, W, 4]`` uint8 cel-shaded views of the painted character posed by ``pose``: the
    renderer's toon map of the welded ``character`` in white (shade = the shadow tint, ink lines as the
    previews draw them; the split mesh would ink every UV seam) multiplied by ``skin.base`` sampled
    at every pixel's UV, which a second pass over the ``split`` character
    (:func:`painted_character`) reads."""
    from kyara.character.colors import shadow_colours
    from kyara.character.model import SKIN_MATERIAL
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    cams = list(cameras)
    w, h = cams[0].width, cams[0].height
    mesh = character.merged(opaque_only=True)
    verts = character.pose(pose, mesh)[0]
    opaque = [k for k, p in enumerate(character.parts) if not p.material.transparent]
    skin_v = np.concatenate([np.full(len(character.parts[k].vertices), character.parts[k].material.name == SKIN_MATERIAL)
                             for k in opaque])
    shade = np.where(skin_v[:, None], shadow_colours(np.ones(3), skin=True), shadow_colours(np.ones(3))).astype(np.float32)
    attrs = VertexAttrs(base_color=np.ones((len(verts), 3), np.float32), shade_color=shade, outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=background, outline_width=outline_width))
    r = MeshRenderer(mesh["faces"], len(verts), w, h)
    try:
        toon = r.render(verts, cams, ("toon",), vertex_attrs=attrs, style=style)["toon"].astype(np.float64)
    finally:
        r.release()
    smesh = split.merged(opaque_only=True)
    sverts = split.pose(pose, smesh)[0]
    udp = np.zeros((len(sverts), 3), np.float32)
    udp[:, :2] = np.concatenate([skin.uvs[k] for k in opaque])
    r = MeshRenderer(smesh["faces"], len(sverts), w, h)
    try:
        maps = r.render(sverts, cams, ("udp", "parts"),
                        vertex_attrs=VertexAttrs(parts=np.zeros(len(sverts), np.uint8), udp=udp))
    finally:
        r.release()
    on = maps["parts"][..., 0] != 255  # [N, H, W] the mesh (not background or silhouette ink)
    colour = _sample(skin.base, maps["udp"][..., :2].astype(np.float64))
    out = toon.copy()
    out[..., :3] = np.where(on[..., None], toon[..., :3] / 255.0 * colour, toon[..., :3])
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


@dataclass
class PaintOutput:
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    report: dict = field(default_factory=dict)  # what paint.json holds


def _png(path: Path, img: np.ndarray) -> Path:
    from PIL import Image

    from kyara.fileio import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(img).save(tmp, format="PNG")
    return path


def check_paint_dir(out_dir: str | os.PathLike) -> Path:
    """The output folder of :func:`paint_avatar` (existing and writable, or creatable)."""
    from kyara.fileio import check_output_dir

    return check_output_dir(out_dir)


def paint_avatar(character, config, out_dir: str | os.PathLike, *, finish=None, size: int = 512,
                 turntable_frames: int = 36, turntable_size: int = 256, name: str = "kyara avatar",
                 source: str | os.PathLike | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 cancel: Callable[[], bool] | None = None) -> PaintOutput:
    """Paint ``character`` with ``config`` (:class:`kyara.paint.backend.PaintConfig`), finish the
    texture (``finish``: :class:`kyara.paint.finish.FinishConfig`, default ``config.palette`` colours)
    and write the painted avatar's files into ``out_dir`` (module docstring); ``size`` is the
    previews' side in pixels; ``source`` (the character's file) goes into paint.json for
    ``kyara eval paint`` (:func:`kyara.paint.evaluate.evaluate_paint`). Nothing is written before the
    painting is done."""
    from kyara.avatar import avatar_pose
    from kyara.character.model import SKIN_MATERIAL
    from kyara.export import ExportOptions, export_character
    from kyara.fileio import write_text_atomic
    from kyara.paint.backend import paint_texture
    from kyara.paint.finish import FinishConfig, anime_finish, island_map
    from kyara.pose.views import pose_camera
    from kyara.render.camera import turntable_cameras
    from kyara.render.video import write_video

    out = check_paint_dir(out_dir)
    cfg = config.check()
    if isinstance(size, bool) or not isinstance(size, int) or not 16 <= size <= 4096:
        raise ValueError(f"--size {size!r} is out of range, expected 16..4096 pixels")
    fin = finish or FinishConfig(palette=cfg.palette)
    secs: dict = {}
    painted = paint_texture(character, cfg, progress=progress, cancel=cancel, timings=secs)
    t0 = time.perf_counter()
    mesh, atlas = painted.mesh, painted.atlas
    island = island_map(atlas, mesh["part_id"], cfg.texture_size)
    fallback = {int(k): tuple(np.median(mesh["base"][mesh["part_id"] == k], axis=0)) for k in np.unique(mesh["part_id"])}
    done = anime_finish(painted.texture, painted.weight, island, fallback, fin)
    skin_parts = {k for k, p in enumerate(character.parts) if p.material.name == SKIN_MATERIAL}
    shade = shade_texture(done.texture, island, skin_parts)
    split, skin = painted_character(character, atlas, done.texture, shade)
    secs["finish"] = time.perf_counter() - t0
    if cancel is not None and cancel():
        from kyara.generate.pipeline import GenerationCancelled

        raise GenerationCancelled("painting cancelled")
    t0 = time.perf_counter()
    pose = avatar_pose(cfg.pose, character.body)
    verts = split.pose(pose, split.merged(opaque_only=True))[0]
    cams = [pose_camera(verts, v, (size, size)) for v in PREVIEW_VIEWS]
    previews = render_painted(character, split, skin, pose, cams)
    turn = turntable_cameras(verts, turntable_frames, turntable_size)
    frames = render_painted(character, split, skin, pose, turn, background=(0.965, 0.957, 0.94), outline_width=1)
    secs["previews"] = time.perf_counter() - t0
    res = PaintOutput(out)
    img = cfg.image
    res.report = {
        "prompt": img.prompt, "model": img.model, "seed": img.seed, "steps": img.steps, "guidance": img.guidance,
        "views": len(painted.views), "view_size": cfg.view_size, "texture_size": cfg.texture_size,
        "face_views": cfg.face_count, "pose": cfg.pose, "final_power": cfg.final_power,
        "latent_texture_size": painted.latent_size,
        "sync_fraction": cfg.sync_fraction, "reference_fraction": cfg.reference_fraction, "front_back": cfg.front_back,
        "character": None if source is None else str(Path(source).resolve()),
        "controlnets": [c.kind for c in img.controlnets], "loras": [lo.path for lo in img.loras],
        "prompts": painted.prompts, "palette": fin.palette,
        "consistency_latent": _num(painted.consistency), "consistency_rgb": _num(painted.rgb_consistency),
        "coverage": painted.coverage, "filled_texels": done.filled,
        "seconds": {k: round(v, 3) for k, v in secs.items()},
    }

    def write(stage: Path) -> None:
        (stage / "views").mkdir()
        _png(stage / "texture.png", done.texture)
        export_character(split, "vrm", stage / "avatar.vrm", ExportOptions(name=name[:60], paint=skin))
        for v, im in zip(PREVIEW_VIEWS, previews):
            _png(stage / f"{v}.png", im)
        write_video(stage / "turntable.gif", frames[..., :3], fps=12)
        for k, im in enumerate(painted.views):
            _png(stage / "views" / f"view{k}.png", im)
        write_text_atomic(stage / "paint.json", json.dumps(res.report, indent=1) + "\n")

    res.files = _write_staged(out, write)
    return res


def _write_staged(out: Path, write: Callable[[Path], None]) -> list[Path]:
    """Run ``write(stage)`` into a hidden folder inside ``out``, then move every file it wrote into
    place (``os.replace``, the same file system): an interrupt or error while writing leaves ``out`` as
    it was (a folder made for this run is removed again). Returns the final paths."""
    import shutil
    import tempfile

    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".paint-", suffix=".tmp", dir=out))
    try:
        write(stage)
        files = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
        for rel in files:
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, out / rel)
        return [out / rel for rel in files]
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if made and not any(out.iterdir()):  # stopped before anything moved in
            out.rmdir()


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)
