"""One character's records: build it, pose it, render every sample and encode the fields.

:func:`character_records` is the unit of work of the engine (a Ray task runs it); it is a pure
function of ``(config, job)``: the same arguments give the same bytes in any process.

Per sample (key ``{character id}_{n:03d}``), in this order:

``rgba.png``      cel-shaded RGBA, transparent background (``poses``, ``sheets``)
``drawing.png``   RGB drawing on paper (``drawings``: jittered ink lines, or ink over flat colours)
``mask.png``      L, 255 on the character
``parts.png``     palette PNG, pixel value = body-part label (:data:`kyara.body.model.PART_NAMES`), 255 = background
``lineart.png``   L, white lines on black (contours and creases of the clean render)
``depth.png``     L, near = bright (ControlNet/MiDaS convention), background 0
``normal.png``    RGB, NormalBae convention
``udp.npz``       key ``i``: float32 H x W x 4 in [0, 1], A-pose xyz + occupancy (CoNR)
``openpose.json`` OpenPose JSON (pixels; hidden points 0,0,0) plus ``kyara_keypoints_2d``: every point's
                  projection with a COCO visibility flag (2 visible, 1 hidden by another body part,
                  0 outside the image / behind the camera / a face point seen from behind)
``meta.json``     character id, split, kind, sample index, pose (source, rotations, translation),
                  camera (OpenCV intrinsics/extrinsics, metres), drawing style

Per character (key = character id): ``spec.json`` (``kyara create --spec`` rebuilds it) and, for
``sheets``, ``ref{k}.rgba.png`` / ``ref{k}.mask.png`` / ``ref{k}.udp.npz`` / ``ref{k}.meta.json``: the
character standing, seen from ``refs`` azimuths evenly spaced from the front.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from kyara.dataset.config import CharacterJob, DatasetConfig
from kyara.dataset.format import json_bytes, npz_bytes, png_bytes

MAPS = ("openpose", "toon", "mask", "parts", "lineart", "depth", "normal", "udp")
STAGES = ("build", "pose", "render", "encode")


@dataclass
class CharacterRecords:
    """The tar members of one character, in order, and where its time went: wall seconds per
    stage (``build``, ...), CPU seconds of this process per stage (``cpu_build``, ...) and of the
    build's steps (``cpu_build_body``, ``_face``, ``_hair``, ``_garments``, ``_accessories``,
    ``_adapter``: the render adapter, :func:`kyara.avatar.character_body`)."""

    job: CharacterJob
    members: list[tuple[str, bytes]]
    seconds: dict[str, float] = field(
        default_factory=lambda: {**dict.fromkeys(STAGES, 0.0), **dict.fromkeys(("cpu_" + s for s in STAGES), 0.0)})


class _Clock:
    """Adds the wall and CPU time since the last lap to a stage."""

    def __init__(self, seconds: dict) -> None:
        self.seconds = seconds
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.seconds[stage] += wall - self.wall
        self.seconds["cpu_" + stage] += cpu - self.cpu
        self.wall, self.cpu = wall, cpu


def sheet_style(size: int):
    """The cel style of ``sheets`` references at ``size`` px (``kyara create`` writes its sheet with it)."""
    return _styles("sheets", size)


def _styles(kind: str, size: int):
    from kyara.render.toon import MapStyle, ToonStyle

    outline = 1 if size <= 256 else 2
    if kind == "drawings":  # flat colours: everything lit, no rim, thin outline
        toon = ToonStyle(shading_shift=2.0, rim_color=(0.0, 0.0, 0.0), outline_width=outline)
    else:
        toon = ToonStyle(outline_width=outline)
    return MapStyle(toon=toon)


def _round(a, nd: int = 6) -> list:
    return np.round(np.asarray(a, dtype=np.float64), nd).tolist()


def _visibility(body, pose, views, rendered) -> list[dict]:
    """Per view: OpenPose JSON with a ``kyara_keypoints_2d`` block (all projections + visibility)."""
    from kyara.pose.keypoints import body_keypoints, project_keypoints
    from kyara.pose.openpose import to_openpose_dict

    kp = body_keypoints(body, pose.rotations, pose.translation)
    out = []
    for i, view in enumerate(views):
        shown = rendered.keypoints[i]
        cam = view.camera
        everything = project_keypoints(kp, cam)  # every point inside the image, hidden or not
        px, _ = cam.project(np.nan_to_num(kp.all(), nan=0.0))
        d = to_openpose_dict([shown], cam.width, cam.height)
        block = {}
        for name, arr in shown.parts().items():
            inside = getattr(everything, name)[:, 2] > 0
            vis = np.where(arr[:, 2] > 0, 2, np.where(inside, 1, 0))
            sl = {"body": slice(0, 18), "hand_left": slice(18, 39), "hand_right": slice(39, 60),
                  "face": slice(60, 130)}[name]
            xy = np.where(vis[:, None] > 0, px[sl], 0.0)
            block[name] = np.concatenate([np.round(xy, 4), vis[:, None]], axis=1).reshape(-1).tolist()
        d["kyara_keypoints_2d"] = block
        out.append(d)
    return out


def _sample_fields(kind: str, i: int, maps: dict, openpose: dict, meta: dict, drawing: np.ndarray | None,
                   palette: np.ndarray) -> list[tuple[str, bytes]]:
    first = ("drawing.png", png_bytes(drawing)) if kind == "drawings" else ("rgba.png", png_bytes(maps["toon"][i]))
    return [
        first,
        ("mask.png", png_bytes(maps["mask"][i])),
        ("parts.png", png_bytes(maps["parts"][i][..., 0], palette)),
        ("lineart.png", png_bytes(maps["lineart"][i])),
        ("depth.png", png_bytes(maps["depth"][i])),
        ("normal.png", png_bytes(maps["normal"][i])),
        ("udp.npz", npz_bytes(i=maps["udp"][i].astype(np.float32))),
        ("openpose.json", json_bytes(openpose)),
        ("meta.json", json_bytes(meta)),
    ]


def _references(cfg: DatasetConfig, job: CharacterJob, body, renderer, style) -> list[tuple[str, bytes]]:
    """The sheet's reference views: the character standing, ``cfg.refs`` azimuths from the front."""
    from kyara.avatar import avatar_pose
    from kyara.render.pipeline import RenderConfig, camera_record, frame_views, render_views

    pose = avatar_pose("stand", body)
    verts = body.pose(pose)[0]
    views = frame_views(verts, [360.0 * k / cfg.refs for k in range(cfg.refs)], (cfg.size, cfg.size))
    r = render_views(body, pose, views, RenderConfig(maps=("toon", "mask", "udp"), style=style), renderer=renderer,
                     vertices=verts, check_cameras=False)
    out = []
    for k, view in enumerate(views):
        meta = {"character": job.id, "reference": k, "pose": {"source": "preset", "name": "stand"},
                "camera": camera_record(view)}
        out += [(f"{job.id}.ref{k}.rgba.png", png_bytes(r.maps["toon"][k])),
                (f"{job.id}.ref{k}.mask.png", png_bytes(r.maps["mask"][k])),
                (f"{job.id}.ref{k}.udp.npz", npz_bytes(i=r.maps["udp"][k].astype(np.float32))),
                (f"{job.id}.ref{k}.meta.json", json_bytes(meta))]
    return out


def character_records(cfg: DatasetConfig, job: CharacterJob) -> CharacterRecords:
    """Build character ``job`` of the dataset ``cfg`` and return its records (see module docs)."""
    from kyara.avatar import character_body
    from kyara.character.build import BuildOptions, build_character
    from kyara.dataset.drawing import draw, random_style
    from kyara.dataset.format import parts_palette
    from kyara.dataset.sampling import random_pose, random_spec, random_views, rng_for
    from kyara.render.pipeline import RenderConfig, camera_record, make_renderer, render_views

    out = CharacterRecords(job, [])
    clock = _Clock(out.seconds)
    spec = random_spec(cfg.seed, job.index)
    steps: dict[str, float] = {}
    character = build_character(spec, BuildOptions(quality="dataset"), steps)
    t = time.process_time()
    body = character_body(character)
    steps["adapter"] = time.process_time() - t
    clock.lap("build")
    out.seconds.update({f"cpu_build_{k}": v for k, v in steps.items()})
    out.members.append((f"{job.id}.spec.json", spec.to_json().encode("utf-8")))
    style = _styles(cfg.kind, cfg.size)
    render_cfg = RenderConfig(maps=MAPS, style=style)
    palette = parts_palette()
    renderer = make_renderer(body, (cfg.size, cfg.size))
    try:
        if cfg.kind == "sheets":
            out.members += _references(cfg, job, body, renderer, style)
            clock.lap("render")
        done = 0
        pose_index = 0
        while done < job.samples:
            rng = rng_for(cfg.seed, job.index, 2, pose_index)
            n = min(cfg.views_per_pose, job.samples - done)
            pose, pose_info = random_pose(rng, body, cfg.motions)
            verts = body.pose(pose)[0]
            views = random_views(rng, verts, body.faces, n, cfg.size)
            clock.lap("pose")
            rendered = render_views(body, pose, views, render_cfg, renderer=renderer, vertices=verts,
                                    check_cameras=False)
            clock.lap("render")
            openposes = _visibility(body, pose, views, rendered)
            pose_info = {**pose_info, "rotations_xyzw": _round(pose.rotations), "translation": _round(pose.translation)}
            for i, view in enumerate(views):
                j = done + i
                meta = {"character": job.id, "split": job.split, "kind": cfg.kind, "sample": j, "pose": pose_info,
                        "camera": camera_record(view)}
                drawing = None
                if cfg.kind == "drawings":
                    drng = rng_for(cfg.seed, job.index, 3, j)
                    dstyle = random_style(drng, cfg.size)
                    drawing = draw(drng, rendered.maps["lineart"][i], rendered.maps["toon"][i], dstyle)
                    meta["drawing"] = dstyle.to_dict()
                key = f"{job.id}_{j:03d}"
                for name, data in _sample_fields(cfg.kind, i, rendered.maps, openposes[i], meta, drawing, palette):
                    out.members.append((f"{key}.{name}", data))
            clock.lap("encode")
            done += n
            pose_index += 1
    finally:
        renderer.release()
    return out
