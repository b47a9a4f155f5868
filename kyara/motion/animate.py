"""Cel-shaded animations of a body playing a :class:`~kyara.pose.pose.Motion`, plus per-frame
conditions (OpenPose PNG + JSON, depth PNG) for video ControlNet workflows.

::

    from kyara.motion import load_motion, retarget
    from kyara.motion.animate import animate
    skel, mocap = load_motion("walk")
    motion = retarget(mocap, skel, "teen-girl", fps=30)
    animate("teen-girl", motion, "walk.mp4", size=(512, 512), view="front", conditions_dir="cond")

How: every frame is posed with one batched LBS call (chunked when the clip is too large to keep),
the camera is chosen once from the bounding box of the WHOLE clip (so the character walks through
a still frame; ``view="orbit"`` turns the camera once around the clip's bounding cylinder over
the clip), one :class:`~kyara.render.maps.MeshRenderer` renders the toon frames in chunks into
reused buffers, and :func:`~kyara.render.video.write_video` streams them to ffmpeg while the next
chunk renders.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from kyara.pose.pose import Motion
from kyara.render.camera import Camera, look_at, orbit_direction, view_camera
from kyara.render.toon import MapStyle, ToonStyle
from kyara.render.video import VideoConfig, VideoInfo, check_video_args

ANIMATION_TOON = ToonStyle(background=(0.96, 0.96, 0.97))  # video frames need a solid background
NAMED_VIEWS = ("front", "side", "left", "back", "right", "orbit")
MAX_FRAMES = 100_000
PROGRESS_MIN_FRAMES = 120  # show a progress bar from this many frames (and only on a terminal)


@dataclass(frozen=True)
class AnimateConfig:
    """Knobs of :func:`animate` besides the body, motion, size and view."""

    chunk: int = 16  # frames per renderer call (memory: chunk * W * H * 4 bytes per map)
    fovy_deg: float = 40.0  # vertical field of view
    elevation_deg: float = 0.0  # camera elevation, degrees
    margin: float = 1.05  # room around the clip's bounding box
    toon: ToonStyle = ANIMATION_TOON
    openpose_style: str = "classic"  # "classic" (ControlNet 1.1) or "xinsir" (thick lines, SDXL)
    video: VideoConfig = field(default_factory=VideoConfig)
    progress: bool | None = None  # None: a rich progress bar on long jobs when stderr is a terminal
    pose_cache_mb: float = 512.0  # pose every frame once if the posed clip fits; else pose twice in chunks

    def __post_init__(self) -> None:
        if not (isinstance(self.chunk, (int, np.integer)) and 1 <= self.chunk <= 256):
            raise ValueError(f"chunk {self.chunk!r} is out of range, expected an integer 1..256 frames")
        if not 0.0 < self.fovy_deg < 180.0:
            raise ValueError(f"fovy_deg {self.fovy_deg} is out of range, expected (0, 180) degrees")
        if not (math.isfinite(self.elevation_deg) and abs(self.elevation_deg) <= 89.0):
            raise ValueError(f"elevation_deg {self.elevation_deg} is out of range, expected -89..89")
        if not (math.isfinite(self.margin) and self.margin >= 1.0):
            raise ValueError(f"margin {self.margin} must be >= 1")
        if self.toon.background is None:
            raise ValueError("toon.background is None (transparent), expected a solid colour for video frames")
        if self.openpose_style not in ("classic", "xinsir"):
            raise ValueError(f"openpose_style {self.openpose_style!r}, expected 'classic' or 'xinsir'")


@dataclass(frozen=True)
class AnimationResult:
    video: VideoInfo
    conditions: list[Path]  # files written under conditions_dir (empty without it)
    cameras: list[Camera]  # one per frame


# -- checks -----------------------------------------------------------------------------------
def parse_animation_view(view: str | float) -> str | float:
    """``front``/``side``/``left``/``back``/``right``/``orbit`` or an azimuth in degrees."""
    if isinstance(view, str):
        t = view.strip().lower()
        if t in NAMED_VIEWS:
            return t
        try:
            view = float(t)
        except ValueError:
            raise ValueError(f"view '{view}' is not valid, expected {', '.join(NAMED_VIEWS)} or an azimuth "
                             "in degrees") from None
    if isinstance(view, bool) or not isinstance(view, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(view)):
        raise ValueError(f"view {view!r} is not valid, expected {', '.join(NAMED_VIEWS)} or a finite azimuth")
    return float(view)


def check_conditions_dir(path: str | os.PathLike) -> Path:
    """An existing writable folder, or a new one whose parent exists (created here)."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise ValueError(f"conditions folder '{p}' is a file, expected a folder")
    else:
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise ValueError(f"conditions folder '{p}' cannot be created: '{parent}' does not exist")
        p.mkdir()
    if not os.access(p, os.W_OK):
        raise ValueError(f"conditions folder '{p}' is not writable")
    return p


def _check_size(size) -> tuple[int, int]:
    from kyara.render.camera import _size

    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    return _size(size)


def _resolve_body(body):
    from kyara.body.model import Body, build_body

    if isinstance(body, Body) or (hasattr(body, "pose_vertices") and hasattr(body, "faces")):
        return body  # a Body or a character adapter (kyara.avatar.body.AvatarBody)
    return build_body(body)


# -- posing and cameras -----------------------------------------------------------------------
class _PosedClip:
    """Posed vertices ``[F, V, 3]`` float32 of a motion: kept whole when they fit the cache,
    otherwise posed again per chunk (one batched LBS call per chunk)."""

    def __init__(self, body, motion: Motion, cache_mb: float, chunk: int) -> None:
        self.body, self.motion = body, motion
        # characters with spring chains (hair, coat tails): every bone's rotation, chains simulated
        self.rot = body.motion_rotations(motion) if hasattr(body, "motion_rotations") else motion.rotations
        n, nv = motion.num_frames, body.num_vertices
        self.all = None
        if n * nv * 12 <= cache_mb * 2**20:
            self.all = body.pose_vertices(self.rot, motion.translation)[0]  # [F, V, 3]
            self.lo, self.hi = _bounds(self.all)
        else:
            lo, hi = np.full(3, np.inf), np.full(3, -np.inf)
            step = max(chunk, 64)
            for s in range(0, n, step):
                clo, chi = _bounds(self.get(s, min(n, s + step)))
                lo, hi = np.minimum(lo, clo), np.maximum(hi, chi)
            self.lo, self.hi = lo, hi

    def get(self, start: int, stop: int) -> np.ndarray:
        if self.all is not None:
            return self.all[start:stop]
        m = self.motion
        return self.body.pose_vertices(self.rot[start:stop], m.translation[start:stop])[0]


def _bounds(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Box ``(min [3], max [3])`` of points ``[..., 3]`` (one strided reduction per axis is ~10x
    faster than ``reshape(-1, 3).min(axis=0)``)."""
    return (np.array([v[..., k].min() for k in range(3)], dtype=np.float64),
            np.array([v[..., k].max() for k in range(3)], dtype=np.float64))


def animation_cameras(bounds_min, bounds_max, num_frames: int, size: tuple[int, int], view: str | float,
                      config: AnimateConfig | None = None) -> list[Camera]:
    """One camera per frame for a clip whose vertices stay inside ``[bounds_min, bounds_max]``.

    A fixed view (name or azimuth) frames the whole box once. ``orbit``: frame ``i`` looks from
    azimuth ``360 i / num_frames`` (front first) at a constant distance that frames the vertical
    cylinder around the box, so the character never leaves the image while the camera turns.
    """
    cfg = config or AnimateConfig()
    lo, hi = np.asarray(bounds_min, dtype=np.float64), np.asarray(bounds_max, dtype=np.float64)
    if view != "orbit":
        cam = view_camera(view, lo, hi, size, fovy_deg=cfg.fovy_deg, elevation_deg=cfg.elevation_deg,
                          margin=cfg.margin)
        return [cam] * num_frames
    c = (lo + hi) / 2.0
    r = 0.5 * math.hypot(hi[0] - lo[0], hi[2] - lo[2])  # the box's xz half-diagonal bounds every point
    sq_lo, sq_hi = np.array([c[0] - r, lo[1], c[2] - r]), np.array([c[0] + r, hi[1], c[2] + r])
    cam0 = view_camera(0.0, sq_lo, sq_hi, size, fovy_deg=cfg.fovy_deg, elevation_deg=cfg.elevation_deg,
                       margin=cfg.margin)
    dist = float(np.linalg.norm(cam0.position - c))
    az = 360.0 * np.arange(num_frames) / num_frames
    eyes = c + dist * orbit_direction(az, np.full(num_frames, cfg.elevation_deg))  # [F, 3]
    return [cam0.replace(view=look_at(e, c)) for e in eyes]


def animate_cameras_for(body, motion: Motion, size=(512, 512), view: str | float = "front",
                        config: AnimateConfig | None = None) -> tuple[list[Camera], np.ndarray, np.ndarray]:
    """The per-frame cameras :func:`animate` uses, with the clip's bounding box ``(min, max)``."""
    cfg = config or AnimateConfig()
    b = _resolve_body(body)
    posed = _PosedClip(b, motion, cfg.pose_cache_mb, cfg.chunk)
    cams = animation_cameras(posed.lo, posed.hi, motion.num_frames, _check_size(size), parse_animation_view(view), cfg)
    return cams, posed.lo, posed.hi


# -- rendering --------------------------------------------------------------------------------
@dataclass
class AnimationChunk:
    """Frames ``start .. start + n`` of an animation (arrays are reused: copy to keep them)."""

    start: int
    cameras: list[Camera]
    maps: dict[str, np.ndarray]  # "toon" [n, H, W, 4] uint8, plus "depth" with conditions
    vertices: np.ndarray | None = None  # [n, V, 3] posed mesh, metres (with conditions)


def render_animation(body, motion: Motion, size=(512, 512), view: str | float = "front",
                     config: AnimateConfig | None = None, conditions: bool = False,
                     cameras: Sequence[Camera] | None = None) -> Iterator[AnimationChunk]:
    """Yield the animation chunk by chunk (see :class:`AnimationChunk`); ``conditions`` adds the
    ``depth`` map and the posed vertices. One renderer is used for the whole clip and freed at the end."""
    from kyara.render.maps import MeshRenderer, VertexAttrs

    cfg = config or AnimateConfig()
    b = _resolve_body(body)
    w, h = _check_size(size)
    view = parse_animation_view(view)
    n = motion.num_frames
    posed = _PosedClip(b, motion, cfg.pose_cache_mb, cfg.chunk)
    cams = list(cameras) if cameras is not None else animation_cameras(posed.lo, posed.hi, n, (w, h), view, cfg)
    if len(cams) != n:
        raise ValueError(f"got {len(cams)} cameras for {n} frames, expected one per frame")
    maps = ("toon", "depth") if conditions else ("toon",)
    style = MapStyle(toon=cfg.toon)
    chunk = min(cfg.chunk, n)
    attrs = VertexAttrs(parts=b.parts, base_color=getattr(b, "base_color", None),
                        shade_color=getattr(b, "shade_color", None),  # adapters carry their colours
                        outline=getattr(b, "outline", None))
    renderer = MeshRenderer(b.faces, b.num_vertices, w, h, vertex_attrs=attrs)
    try:
        buffers = None
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            if buffers is None or e - s != len(buffers["toon"]):
                buffers = {m: np.empty((e - s, h, w, 4 if m == "toon" else 1), np.uint8) for m in maps}
            verts = posed.get(s, e)
            out = renderer.render(verts, cams[s:e], maps, style=style, out=buffers)
            yield AnimationChunk(s, cams[s:e], out, verts if conditions else None)
    finally:
        renderer.release()


def _progress(total: int, enabled: bool | None):
    """A rich progress bar on stderr, or None (off, short job, or stderr not a terminal)."""
    if enabled is False or (enabled is None and (total < PROGRESS_MIN_FRAMES or not sys.stderr.isatty())):
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("animate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


class _ConditionWriter:
    """Per-frame OpenPose PNG + JSON (occluded keypoints dropped) and depth PNG.

    Keypoints and their occlusion are computed per chunk here; drawing, PNG encoding and writing
    run on a small thread pool (OpenCV releases the GIL) while the next chunk renders. At most
    ``max_pending`` frames wait, so memory stays bounded.
    """

    def __init__(self, body, motion: Motion, folder: Path, style: str, workers: int = 2,
                 max_pending: int = 32) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.body, self.motion, self.folder = body, motion, folder
        self.thick = style == "xinsir"
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kyara-conditions")
        self.pending: list = []
        self.max_pending = max_pending
        self.written: list[Path] = []

    def write(self, chunk: AnimationChunk) -> None:
        from kyara.pose.keypoints import Keypoints3D, body_keypoints, project_keypoints, visible_keypoints

        s, cams = chunk.start, chunk.cameras
        e = s + len(cams)
        kp = body_keypoints(self.body, self.motion.rotations[s:e], self.motion.translation[s:e])  # [n, ...]
        # a keypoint is dropped only where a different body part covers it
        visible = visible_keypoints(self.body, kp, cams, chunk.vertices)  # [n, 130]
        for i, cam in enumerate(cams):
            one = Keypoints3D(kp.body[i], kp.hand_left[i], kp.hand_right[i], kp.face[i])
            k2d = project_keypoints(one, cam, visible[i])
            depth = chunk.maps["depth"][i, ..., 0].copy()  # the chunk buffers are reused
            self.pending.append(self.pool.submit(self._write_frame, self.folder / f"frame_{s + i:05d}", k2d, depth))
        while len(self.pending) > self.max_pending:
            self.written += self.pending.pop(0).result()

    def _write_frame(self, stem: Path, k2d, depth: np.ndarray) -> list[Path]:
        from kyara.fileio import write_bytes_atomic
        from kyara.pose.openpose import write_openpose_json
        from kyara.render.openpose_draw import draw_openpose

        image = draw_openpose([k2d], k2d.width, k2d.height, thick=self.thick)
        return [write_bytes_atomic(f"{stem}_openpose.png", _png(image)),
                write_openpose_json(f"{stem}_openpose.json", [k2d], k2d.width, k2d.height),
                write_bytes_atomic(f"{stem}_depth.png", _png(depth))]

    def close(self, ok: bool) -> None:
        """Wait for every pending frame (``ok``) or drop those not started yet (after an error)."""
        try:
            if ok:
                for fut in self.pending:
                    self.written += fut.result()
                self.pending = []
        finally:
            self.pool.shutdown(wait=True, cancel_futures=not ok)


def _png(image: np.ndarray) -> bytes:
    import cv2

    img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def animate(body, motion: Motion, output: str | os.PathLike, size=(512, 512), view: str | float = "front",
            fps: float | None = None, conditions_dir: str | os.PathLike | None = None,
            config: AnimateConfig | None = None) -> AnimationResult:
    """Render ``motion`` played by ``body`` (a :class:`~kyara.body.model.Body`, preset name or
    params) as a cel-shaded ``.mp4``/``.gif`` at ``output``.

    ``size``: (width, height) pixels or one int. ``view``: ``front``/``side``/``back``/``right``,
    an azimuth in degrees (camera fixed, framing the whole clip), or ``orbit`` (one full turn over
    the clip). ``fps``: resample the motion first (default: play at ``motion.fps``).
    ``conditions_dir``: also write ``frame_00000_openpose.png``/``.json`` and
    ``frame_00000_depth.png`` per frame. Everything is validated before rendering; the video is
    written atomically (no partial file on error or Ctrl-C).
    """
    from kyara.motion.retarget import resample_motion

    cfg = config or AnimateConfig()
    if not isinstance(motion, Motion):
        raise ValueError(f"motion is a {type(motion).__name__}, expected kyara.pose.pose.Motion")
    w, h = _check_size(size)
    view = parse_animation_view(view)
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating))
                            or not (math.isfinite(float(fps)) and fps > 0)):
        raise ValueError(f"fps {fps!r} is not valid, expected frames per second > 0")
    out_fps = float(fps) if fps is not None else float(motion.fps)
    out = check_video_args(output, out_fps)
    if fps is not None and float(fps) != motion.fps:
        motion = resample_motion(motion, float(fps))
    if motion.num_frames > MAX_FRAMES:
        raise ValueError(f"motion has {motion.num_frames} frames, expected at most {MAX_FRAMES}")
    if not (np.all(np.isfinite(motion.rotations)) and np.all(np.isfinite(motion.translation))):
        raise ValueError("motion contains NaN or inf")
    b = _resolve_body(body)
    cond_dir = check_conditions_dir(conditions_dir) if conditions_dir is not None else None
    writer = _ConditionWriter(b, motion, cond_dir, cfg.openpose_style) if cond_dir is not None else None

    n = motion.num_frames
    bar = _progress(n, cfg.progress)
    cams: list[Camera] = []

    def frames() -> Iterator[np.ndarray]:
        stream = render_animation(b, motion, (w, h), view, cfg, conditions=writer is not None)
        task = bar.add_task("animate", total=n) if bar is not None else None
        try:
            for ch in stream:
                cams.extend(ch.cameras)
                if writer is not None:
                    writer.write(ch)
                yield ch.maps["toon"]
                if bar is not None:
                    bar.update(task, advance=len(ch.cameras))
            if writer is not None:
                writer.close(True)  # condition files done (or failed) before the video is renamed into place
        finally:
            stream.close()

    from kyara.render.video import write_video

    ok = False
    try:
        if bar is not None:
            with bar:
                info = write_video(out, frames(), out_fps, cfg.video, num_frames=n)
        else:
            info = write_video(out, frames(), out_fps, cfg.video, num_frames=n)
        ok = True
    finally:
        if writer is not None and not ok:
            writer.close(False)
    return AnimationResult(info, writer.written if writer is not None else [], cams)
