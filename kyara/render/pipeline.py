"""Rendering pipeline: a posed body seen from named views -> condition maps, OpenPose images and
keypoint JSON, written as files; and cel-shaded turntables (GIF / MP4).

Data flow::

    body, pose --frame_views / orbit_views / random_views--> [View]          (cameras, names)
               --render_views--> RenderedViews  (maps [N, H, W, C], Keypoints2D per view)
               --write_views--> DIR/<view>_<map>.png (+ .npz for udp, .json for openpose)

View names: a named view keeps its name (``front``, ``side``, ``left``, ``back``, ``right``); an
azimuth is written ``az<deg>`` (``az0``, ``az45``, ``az22.5``); random orbit views are ``rand000``...
Every map of every view comes from one :class:`~kyara.render.maps.MeshRenderer` (many views per
call). Hidden keypoints (behind the body by more than the local limb radius) and keypoints outside
the image are dropped before the OpenPose image and JSON are made, so both always agree.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from kyara.render.camera import Camera, look_at, orbit_direction, view_camera
from kyara.render.toon import MapStyle, ToonStyle

RENDER_MAPS = ("openpose", "depth", "normal", "mask", "parts", "udp", "lineart", "toon")
OPENPOSE_STYLES = ("classic", "xinsir")
VIEW_NAMES = ("front", "side", "left", "back", "right")
MAX_VIEWS = 360
MAX_FRAMES = 3600
VIDEO_SUFFIXES = (".gif", ".mp4")
# a light, slightly cool solid background for turntables
TURNTABLE_TOON = ToonStyle(background=(0.94, 0.95, 0.97))
_CHUNK_BYTES = 384 * 2**20  # rendered arrays held in memory at once by the chunked writers
# bytes per pixel of each map in memory (metric depth is rendered with openpose for occlusion)
_PIXEL_BYTES = {"openpose": 3 + 4, "depth": 1, "normal": 3, "mask": 1, "parts": 1, "udp": 16, "lineart": 1,
                "toon": 4}


# -- inputs -----------------------------------------------------------------------------------
def parse_maps(maps: str | Sequence[str]) -> tuple[str, ...]:
    """``"openpose,depth"`` or a sequence of names -> a tuple of known map names (order kept)."""
    items = maps.split(",") if isinstance(maps, str) else list(maps)
    names = tuple(dict.fromkeys(str(m).strip().lower() for m in items if str(m).strip()))
    if not names:
        raise ValueError(f"maps {maps!r} is empty, expected some of {','.join(RENDER_MAPS)}")
    for m in names:
        if m not in RENDER_MAPS:
            raise ValueError(f"unknown map '{m}', expected some of {','.join(RENDER_MAPS)}")
    return names


@dataclass(frozen=True)
class RenderConfig:
    """What :func:`render_views` draws. ``style`` holds depth/lineart/toon settings."""

    maps: tuple[str, ...] = RENDER_MAPS  # subset of RENDER_MAPS
    openpose_style: str = "classic"  # "classic" = ControlNet 1.1 annotator, "xinsir" = thick SDXL lines
    style: MapStyle = field(default_factory=MapStyle)

    def __post_init__(self) -> None:
        object.__setattr__(self, "maps", parse_maps(self.maps))
        if self.openpose_style not in OPENPOSE_STYLES:
            raise ValueError(f"openpose style '{self.openpose_style}' is unknown, expected one of "
                             f"{', '.join(OPENPOSE_STYLES)}")
        if not isinstance(self.style, MapStyle):
            raise ValueError(f"style is a {type(self.style).__name__}, expected kyara.render.toon.MapStyle")


@dataclass(frozen=True)
class View:
    """A named camera; angles in degrees (azimuth 0 = front, 90 = the character's left)."""

    name: str
    camera: Camera
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0


def view_name(view: str | float) -> str:
    """``"front"`` -> ``"front"``; ``45.0`` -> ``"az45"``; ``-30`` -> ``"az330"``; ``22.5`` -> ``"az22.5"``."""
    if isinstance(view, str):
        if view not in VIEW_NAMES:
            raise ValueError(f"view '{view}' is unknown, expected one of {', '.join(VIEW_NAMES)} or degrees")
        return view
    az = float(view)
    if not math.isfinite(az):
        raise ValueError(f"view azimuth {view!r} is not a finite angle in degrees")
    a = round(az % 360.0, 2) % 360.0
    return f"az{a:g}"


def _azimuth(view: str | float) -> float:
    return {"front": 0.0, "side": 90.0, "left": 90.0, "back": 180.0, "right": 270.0}[view] \
        if isinstance(view, str) else float(view) % 360.0


def _check_distance(distance: float | None) -> None:
    if distance is not None and not (math.isfinite(distance) and 0.0 < distance <= 1000.0):
        raise ValueError(f"camera distance {distance} is out of range, expected 0 < distance <= 1000 metres")


def frame_views(vertices: np.ndarray, views: Sequence[str | float], size: tuple[int, int],
                distance: float | None = None, elevation_deg: float = 0.0, faces: np.ndarray | None = None
                ) -> list[View]:
    """Perspective views (40 deg fovy) of the posed mesh ``vertices [V, 3]`` metres.

    By default each camera frames the mesh's bounding box (as ``kyara pose`` does). ``distance``
    (metres from the box centre) overrides the framing; then ``faces [F, 3]`` must be given and a
    camera inside the body raises ``ValueError``. Duplicate names are kept once.
    """
    verts = np.asarray(vertices, dtype=np.float64)
    if verts.ndim != 2 or verts.shape[1] != 3 or len(verts) == 0:
        raise ValueError(f"vertices have shape {verts.shape}, expected [V, 3] metres")
    _check_distance(distance)
    if not math.isfinite(elevation_deg) or abs(elevation_deg) > 89.0:
        raise ValueError(f"elevation {elevation_deg} is out of range, expected -89..89 degrees")
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    out: dict[str, View] = {}
    for v in views:
        name = view_name(v)
        if name in out:
            continue
        az = _azimuth(v)
        cam = view_camera(v, lo, hi, size=size, elevation_deg=elevation_deg)
        if distance is not None:
            center = (lo + hi) / 2.0
            eye = center + distance * orbit_direction(az, elevation_deg)
            cam = cam.replace(view=look_at(eye, center), near=min(0.01, 0.5 * distance),
                              far=distance + 4.0 * float(np.linalg.norm(hi - lo)) + 10.0)
        out[name] = View(name, cam, az, float(elevation_deg))
    if distance is not None:
        if faces is None:
            raise ValueError("frame_views with a distance needs the mesh faces to check the camera is outside")
        check_cameras_outside(list(out.values()), verts, faces)
    return list(out.values())


def orbit_views(vertices: np.ndarray, n: int, size: tuple[int, int], distance: float | None = None,
                elevation_deg: float = 0.0, faces: np.ndarray | None = None) -> list[View]:
    """``n`` views evenly spaced in azimuth from the front (0, 360/n, ...), named ``az<deg>``;
    framing, ``distance`` and ``faces`` as in :func:`frame_views`."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= MAX_VIEWS:
        raise ValueError(f"views {n!r} is out of range, expected an integer 1..{MAX_VIEWS}")
    return frame_views(vertices, [360.0 * i / n for i in range(n)], size, distance, elevation_deg, faces)


def random_views(vertices: np.ndarray, n: int, seed: int, size: tuple[int, int]) -> list[View]:
    """``n`` seeded DreamWaltz-G orbit views (:func:`~kyara.render.camera.sample_orbit_cameras`),
    named ``rand000``, ``rand001``, ..."""
    from kyara.render.camera import sample_orbit_cameras

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= MAX_VIEWS:
        raise ValueError(f"random views {n!r} is out of range, expected an integer 1..{MAX_VIEWS}")
    verts = np.asarray(vertices, dtype=np.float64)
    orb = sample_orbit_cameras(int(n), int(seed), verts.min(axis=0), verts.max(axis=0), size=size)
    return [View(f"rand{i:03d}", c, float(orb.azimuth_deg[i]), float(orb.elevation_deg[i]))
            for i, c in enumerate(orb.cameras)]


def turntable_views(vertices: np.ndarray, frames: int, size: tuple[int, int], elevation_deg: float = 0.0,
                    ) -> list[View]:
    """``frames`` cameras orbiting 360 deg at ONE distance, so the character does not zoom.

    The distance frames the vertical cylinder around the mesh (radius = farthest vertex from the
    box centre's vertical axis), which holds the mesh at every azimuth.
    """
    if not isinstance(frames, (int, np.integer)) or isinstance(frames, bool) or not 1 <= frames <= MAX_FRAMES:
        raise ValueError(f"frames {frames!r} is out of range, expected an integer 1..{MAX_FRAMES}")
    verts = np.asarray(vertices, dtype=np.float64)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    center = (lo + hi) / 2.0
    r = float(np.max(np.hypot(verts[:, 0] - center[0], verts[:, 2] - center[2])))
    # a box holding that cylinder, seen from 45 deg (its widest silhouette) gives a safe distance
    box_lo = np.array([center[0] - r, lo[1], center[2] - r])
    box_hi = np.array([center[0] + r, hi[1], center[2] + r])
    ref = view_camera(45.0, box_lo, box_hi, size=size, elevation_deg=elevation_deg, margin=1.04)
    dist = float(np.linalg.norm(ref.position - center))
    out = []
    for i in range(frames):
        az = 360.0 * i / frames
        cam = ref.replace(view=look_at(center + dist * orbit_direction(az, elevation_deg), center))
        out.append(View(f"frame{i:04d}", cam, az, float(elevation_deg)))
    return out


# -- cameras inside the body ------------------------------------------------------------------
def winding_numbers(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Generalised winding number ``[P]`` of ``points [P, 3]`` w.r.t. a closed mesh (1 inside, 0
    outside; Jacobson et al. 2013): the solid angle of every triangle, summed, over 4 pi."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]  # [F, 3, 3]
    out = np.zeros(len(p))
    for s in range(0, len(p), 8):
        d = tri[None] - p[s:s + 8, None, None, :]  # [P, F, 3, 3] corners relative to the point
        a, b, c = d[..., 0, :], d[..., 1, :], d[..., 2, :]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        det = np.einsum("pfk,pfk->pf", a, np.cross(b, c))
        den = la * lb * lc + np.einsum("pfk,pfk->pf", a, b) * lc + np.einsum("pfk,pfk->pf", b, c) * la \
            + np.einsum("pfk,pfk->pf", c, a) * lb
        out[s:s + 8] = 2.0 * np.arctan2(det, den).sum(axis=1) / (4.0 * np.pi)
    return out


def winding_numbers_reference(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Slow reference of :func:`winding_numbers`: a loop over points and triangles (Van Oosterom &
    Strackee's solid angle of one triangle)."""
    v = np.asarray(vertices, dtype=np.float64)
    res = []
    for p in np.asarray(points, dtype=np.float64).reshape(-1, 3):
        total = 0.0
        for i, j, k in np.asarray(faces):
            a, b, c = v[i] - p, v[j] - p, v[k] - p
            la, lb, lc = np.linalg.norm(a), np.linalg.norm(b), np.linalg.norm(c)
            num = float(np.dot(a, np.cross(b, c)))
            den = la * lb * lc + np.dot(a, b) * lc + np.dot(b, c) * la + np.dot(c, a) * lb
            total += 2.0 * math.atan2(num, den)
        res.append(total / (4.0 * math.pi))
    return np.array(res)


def check_cameras_outside(views: Sequence[View], vertices: np.ndarray, faces: np.ndarray) -> None:
    """Raise ``ValueError`` naming the first view whose camera centre lies inside the mesh."""
    verts = np.asarray(vertices, dtype=np.float64)
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    pos = np.array([v.camera.position for v in views]).reshape(-1, 3)
    cand = np.flatnonzero(np.all((pos >= lo) & (pos <= hi), axis=1))  # only these can be inside
    if len(cand) == 0:
        return
    inside = winding_numbers(pos[cand], verts, faces) > 0.5
    if np.any(inside):
        i = int(cand[np.argmax(inside)])
        p = np.round(pos[i], 3).tolist()
        raise ValueError(f"camera of view '{views[i].name}' at {p} m is inside the body, expected a camera "
                         "outside the mesh (use a larger --distance)")


# -- rendering --------------------------------------------------------------------------------
@dataclass
class RenderedViews:
    """Output of :func:`render_views` for N views."""

    views: list[View]
    maps: dict[str, np.ndarray]  # map -> [N, H, W, C]: uint8, except udp float32 C=4 (see maps.py)
    keypoints: list  # [N] Keypoints2D in pixels (hidden / out-of-image points are 0, 0, 0); [] without openpose


def make_renderer(body, size: tuple[int, int]):
    """One :class:`~kyara.render.maps.MeshRenderer` for ``body`` at ``size`` (width, height) pixels,
    with its parts and UDP uploaded; reuse it for every chunk of views."""
    from kyara.render.maps import MeshRenderer, VertexAttrs

    w, h = size
    # character adapters (kyara.avatar.body.AvatarBody) carry per-vertex colours for the toon map
    attrs = VertexAttrs(parts=body.parts, udp=body.udp, base_color=getattr(body, "base_color", None),
                        shade_color=getattr(body, "shade_color", None), outline=getattr(body, "outline", None))
    return MeshRenderer(body.faces, body.num_vertices, int(w), int(h), vertex_attrs=attrs)


def render_views(body, pose, views: Sequence[View], config: RenderConfig | None = None, renderer=None,
                 vertices: np.ndarray | None = None, check_cameras: bool = True) -> RenderedViews:
    """Render ``config.maps`` of ``body`` (:class:`kyara.body.model.Body`, or a character adapter
    :class:`kyara.avatar.body.AvatarBody`) in ``pose``
    (:class:`kyara.pose.pose.Pose`) for every view, in one renderer call.

    ``views`` must share one image size. ``renderer`` (from :func:`make_renderer`) is reused when
    given; ``vertices [V, 3]`` are the already posed mesh (saves posing again). Returns maps as
    ``[N, H, W, C]`` arrays; ``openpose`` is ``[N, H, W, 3]`` uint8 RGB drawn from the returned
    keypoints. Raises ``ValueError`` for bad views or (unless ``check_cameras`` is False, for
    callers that checked already) a camera inside the body.
    """
    from kyara.pose.keypoints import body_keypoints, project_keypoints, visible_keypoints
    from kyara.render.openpose_draw import draw_openpose

    cfg = config or RenderConfig()
    views = list(views)
    if not views or not all(isinstance(v, View) for v in views):
        raise ValueError("views must be a non-empty list of kyara.render.pipeline.View")
    names = [v.name for v in views]
    if len(set(names)) != len(names):
        raise ValueError(f"view names {names} repeat, expected unique names")
    cams = [v.camera for v in views]
    w, h = cams[0].width, cams[0].height
    if any((c.width, c.height) != (w, h) for c in cams):
        raise ValueError(f"views have different image sizes, expected all {w}x{h}")
    verts = body.pose(pose)[0] if vertices is None else np.asarray(vertices, dtype=np.float32)
    if check_cameras:
        check_cameras_outside(views, verts, body.faces)

    want_pose = "openpose" in cfg.maps
    gl_maps = tuple(m for m in cfg.maps if m != "openpose")
    own = renderer is None
    r = make_renderer(body, (w, h)) if own else renderer
    try:
        out = r.render(verts, cams, gl_maps, style=cfg.style) if gl_maps else {}
    finally:
        if own:
            r.release()
    keypoints = []
    if want_pose:
        kp = body_keypoints(body, pose.rotations, pose.translation)
        visible = visible_keypoints(body, kp, cams, verts)  # hidden only by another body part
        keypoints = [project_keypoints(kp, c, visible[i]) for i, c in enumerate(cams)]
        thick = cfg.openpose_style == "xinsir"
        images = np.empty((len(cams), h, w, 3), dtype=np.uint8)
        for i, k in enumerate(keypoints):
            images[i] = draw_openpose([k], w, h, thick=thick)
        out = {"openpose": images, **out}
    return RenderedViews(views, {m: out[m] for m in cfg.maps}, keypoints)


# -- files ------------------------------------------------------------------------------------
def check_output_dir(path: str | os.PathLike) -> Path:
    """Validate an output folder before work starts (see :func:`kyara.fileio.check_output_dir`;
    the folder is created by :func:`write_views`)."""
    from kyara.fileio import check_output_dir as _check

    return _check(path)


def _png(path: Path, image: np.ndarray, palette: np.ndarray | None = None) -> Path:
    from PIL import Image

    from kyara.fileio import write_bytes_atomic

    a = np.ascontiguousarray(image[..., 0] if image.shape[-1] == 1 else image)
    if palette is not None:  # labels stay the pixel values, viewers show the palette colours
        im = Image.frombytes("P", (a.shape[1], a.shape[0]), a.tobytes())
        im.putpalette(palette.astype(np.uint8).reshape(-1).tolist())
    else:
        im = Image.fromarray(a)
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=4)
    return write_bytes_atomic(path, buf.getvalue())


def _parts_palette() -> np.ndarray:
    from kyara.render.previews import BACKGROUND_LABEL, PART_PALETTE

    lut = np.zeros((256, 3), dtype=np.uint8)
    lut[:BACKGROUND_LABEL] = PART_PALETTE[np.arange(BACKGROUND_LABEL) % len(PART_PALETTE)]
    return lut


def camera_record(view: View) -> dict:
    """JSON-ready description of a view's camera (OpenCV intrinsics/extrinsics, metres, pixels)."""
    c = view.camera
    return {"name": view.name, "azimuth_deg": view.azimuth_deg, "elevation_deg": view.elevation_deg,
            "width": c.width, "height": c.height, "projection": c.projection, "fovy_deg": c.fovy_deg,
            "intrinsics": c.intrinsics.tolist(), "extrinsics_opencv": c.extrinsics.tolist(),
            "position": c.position.tolist()}


def write_views(out_dir: str | os.PathLike, rendered: RenderedViews) -> list[Path]:
    """Write ``DIR/<view>_<map>.png`` for every view and map (atomically, one file at a time).

    ``depth``, ``mask``, ``lineart``: 8-bit grey; ``normal``, ``openpose``: RGB; ``toon``: RGBA;
    ``parts``: palette PNG whose pixel values are the part labels (255 = background);
    ``udp``: ``<view>_udp.npz`` (key ``i``, float32 H x W x 4, CoNR) plus a ``<view>_udp.png`` preview;
    ``openpose``: also ``<view>_openpose.json`` (OpenPose JSON, pixels). Creates ``out_dir`` if needed.
    """
    from kyara.pose.openpose import write_openpose_json
    from kyara.render.previews import save_udp, save_udp_preview

    d = check_output_dir(out_dir)
    d.mkdir(exist_ok=True)
    palette = _parts_palette()
    jobs: list = []  # zero-argument writers; PNG/zlib encoding releases the GIL, so threads overlap
    for i, view in enumerate(rendered.views):
        for m, arr in rendered.maps.items():
            stem = d / f"{view.name}_{m}"
            if m == "udp":
                jobs.append(functools.partial(save_udp, stem.with_suffix(".npz"), arr[i]))
                jobs.append(functools.partial(save_udp_preview, stem.with_suffix(".png"), arr[i]))
                continue
            jobs.append(functools.partial(_png, stem.with_suffix(".png"), arr[i], palette if m == "parts" else None))
            if m == "openpose":
                k = rendered.keypoints[i]
                jobs.append(functools.partial(write_openpose_json, stem.with_suffix(".json"), [k], k.width, k.height))
    workers = max(1, min(4, os.cpu_count() or 1, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def render_to_dir(out_dir: str | os.PathLike, body, pose, views: Sequence[View],
                  config: RenderConfig | None = None, vertices: np.ndarray | None = None) -> list[Path]:
    """Render and write many views in chunks that fit in memory (one renderer for all), plus
    ``DIR/cameras.json`` (one :func:`camera_record` per view). Returns the written paths."""
    from kyara.fileio import write_text_atomic

    cfg = config or RenderConfig()
    views = list(views)
    d = check_output_dir(out_dir)
    verts = body.pose(pose)[0] if vertices is None else vertices
    check_cameras_outside(views, verts, body.faces)
    w, h = views[0].camera.width, views[0].camera.height
    per_view = w * h * (sum(_PIXEL_BYTES[m] for m in cfg.maps) + 4)
    chunk = max(1, min(len(views), _CHUNK_BYTES // per_view))
    renderer = make_renderer(body, (w, h))
    written: list[Path] = []
    try:
        for s in range(0, len(views), chunk):
            res = render_views(body, pose, views[s:s + chunk], cfg, renderer=renderer, vertices=verts,
                               check_cameras=False)
            written += write_views(d, res)
    finally:
        renderer.release()
    text = json.dumps({"views": [camera_record(v) for v in views]}, indent=1)
    written.append(write_text_atomic(d / "cameras.json", text + "\n"))
    return written


# -- turntables -------------------------------------------------------------------------------
def render_turntable(body, pose, frames: int, size: tuple[int, int], toon: ToonStyle = TURNTABLE_TOON,
                     elevation_deg: float = 0.0) -> Iterator[np.ndarray]:
    """Yield ``frames`` cel-shaded RGB frames ``[H, W, 3]`` uint8 of a camera orbiting 360 deg
    (frame i at azimuth 360 i / frames, starting at the front), rendered in chunks by one renderer.

    ``toon.background`` must be a solid colour (video frames have no alpha).
    """
    if toon.background is None:
        raise ValueError("turntable toon style needs a solid background colour, got None (transparent)")
    verts = body.pose(pose)[0]
    views = turntable_views(verts, frames, size, elevation_deg)
    w, h = size
    chunk = max(1, min(len(views), 64, _CHUNK_BYTES // (w * h * 4)))
    style = MapStyle(toon=toon)
    renderer = make_renderer(body, (w, h))
    try:
        for s in range(0, len(views), chunk):
            cams = [v.camera for v in views[s:s + chunk]]
            toon_rgba = renderer.render(verts, cams, ("toon",), style=style)["toon"]
            yield from toon_rgba[..., :3]
    finally:
        renderer.release()


def write_animation(path: str | os.PathLike, frames: Iterable[np.ndarray], num_frames: int,
                    fps: float = 12.0) -> Path:
    """Write RGB frames ``[H, W, 3]`` uint8 as ``.gif`` or ``.mp4``, atomically, every frame kept
    (identical neighbours included); the count read back must equal ``num_frames``.

    A thin check-and-forward to :func:`kyara.render.video.write_video`, which streams the frames to
    ffmpeg (imageio-ffmpeg's bundled binary).
    """
    from kyara.fileio import check_output_path
    from kyara.render.video import write_video

    p = check_output_path(path, VIDEO_SUFFIXES)
    if not (math.isfinite(fps) and 1.0 <= fps <= 60.0):
        raise ValueError(f"fps {fps} is out of range, expected 1..60 frames per second")
    try:
        write_video(p, frames, fps, num_frames=num_frames)
    finally:
        close = getattr(frames, "close", None)  # a generator frees its renderer now, not at GC
        if close is not None:
            close()
    return p
