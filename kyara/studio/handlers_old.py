"""What each studio button does, as plain functions on files and arrays (no gradio import).

The web layer (:mod:`kyara.studio.app`) only moves values between widgets and these functions;
every bad input raises a one-line ``ValueError``/``FileNotFoundError`` that the page shows as
``error: ...``, exactly as the CLI prints it.

Pose state, kept per browser session, is a plain dict (JSON-able)::

    {"name": "jog", "angles": {bone: {angle: degrees}}, "translation": [x, y, z]}

``angles`` holds every bone of the chosen preset (see :func:`kyara.pose.limits.pose_to_angles`);
the sliders of :data:`SLIDERS` override their own angle on top of it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import re
import shutil
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from kyara.studio.session import DEFAULT_MAX_UPLOAD_MB, Workspace, check_upload

DEFAULT_BODY = "teen-girl"
PREVIEW_SIZE = (384, 384)  # pose previews, pixels
CREATE_SIZE = (384, 384)  # create previews and conditions, pixels
TURNTABLE = (24, 192)  # frames, pixels
CONTROL_CHOICES = ("none", "openpose", "depth")
EXPORT_FORMATS = ("vrm", "glb", "stl")
UPLOAD_PREVIEW_MAX = 1024  # pixels: an uploaded OpenPose canvas larger than this is previewed scaled down

# (key, bone, angle, label): the main joint angles the Pose tab shows as sliders
SLIDERS: tuple[tuple[str, str, str, str], ...] = (
    ("head_turn", "head", "turn", "head turn"),
    ("head_bend", "head", "bend", "head nod"),
    ("spine_bend", "spine", "bend", "spine bend"),
    ("spine_turn", "spine", "turn", "spine twist"),
    ("l_shoulder", "leftUpperArm", "raise", "left shoulder raise"),
    ("r_shoulder", "rightUpperArm", "raise", "right shoulder raise"),
    ("l_arm_forward", "leftUpperArm", "forward", "left arm forward"),
    ("r_arm_forward", "rightUpperArm", "forward", "right arm forward"),
    ("l_elbow", "leftLowerArm", "flex", "left elbow"),
    ("r_elbow", "rightLowerArm", "flex", "right elbow"),
    ("l_hip", "leftUpperLeg", "flex", "left hip"),
    ("r_hip", "rightUpperLeg", "flex", "right hip"),
    ("l_knee", "leftLowerLeg", "flex", "left knee"),
    ("r_knee", "rightLowerLeg", "flex", "right knee"),
)

_gl_thread = None  # the one thread that makes OpenGL calls (kyara's GL context is current on one thread)
_gl_thread_lock = threading.Lock()
_generate_lock = threading.Lock()  # diffusers pipelines are cached per process and not re-entrant


def on_gl_thread(fn, *args, **kwargs):
    """Run ``fn`` on the studio's single rendering thread and return its result (exceptions are
    re-raised here). Web handlers run on a pool of threads; the process-wide GL context must
    always be used from the thread that created it."""
    global _gl_thread
    from concurrent.futures import ThreadPoolExecutor

    with _gl_thread_lock:
        if _gl_thread is None:
            _gl_thread = ThreadPoolExecutor(1, thread_name_prefix="kyara-gl")
    return _gl_thread.submit(fn, *args, **kwargs).result()


def one_line(exc: BaseException) -> str:
    """``error: ...`` as the CLI prints it (internal failures name their type)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return f"error: {text}"
    from kyara.errors import RenderBackendError

    if isinstance(exc, RenderBackendError):
        return f"error: {text}"
    return f"error: internal error ({type(exc).__name__}): {text}"


@contextlib.contextmanager
def as_upload(name: str, *paths: str | os.PathLike, cleanup: Path | None = None) -> Iterator[None]:
    """Errors raised inside name the user's file ``name``, never the internal ``paths`` it was
    stored at (gradio's temporary folder, the session folder): each path, and its folder, is cut
    from the message. ``cleanup`` (the job folder) is removed when the block fails, so a refused
    upload leaves nothing in the session folder."""
    try:
        yield
    except (ValueError, OSError) as exc:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        text = " ".join(str(exc).split())
        files = {str(x) for p in paths for x in (Path(p), Path(p).resolve())}
        folders = {str(Path(f).parent) + os.sep for f in files}
        for s in sorted(files, key=len, reverse=True):
            text = text.replace(s, name)
        for s in sorted(folders, key=len, reverse=True):
            text = text.replace(s, "")
        for base in {Path(p).name for p in paths} - {name}:  # a copy's own name ("avatar.vrm")
            text = re.sub(rf"(?<![\w.-]){re.escape(base)}(?![\w.-])", lambda _: name, text)
        if paths and name not in text:  # the reader named its file some other way (or not at all)
            text = f"upload '{name}': {text}"
        raise ValueError(text or type(exc).__name__) from None
    except BaseException:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
        raise


def slider_range(bone: str, angle: str) -> tuple[float, float]:
    """The authoring limits of one slider, degrees."""
    from kyara.pose.limits import LIMITS

    lim = LIMITS[bone]
    i = lim.names.index(angle)
    return float(lim.low[i]), float(lim.high[i])


# -- characters and bodies (cached per file version) --------------------------------------------
def _file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    p = Path(path).resolve()
    st = p.stat()
    return str(p), st.st_mtime_ns, st.st_size


_CHARACTERS: dict[tuple[str, int, int], object] = {}  # file version -> Character, newest last
_CHARACTERS_LOCK = threading.Lock()
_CHARACTERS_MAX = 4


def _remember(key: tuple[str, int, int], character) -> None:
    with _CHARACTERS_LOCK:
        _CHARACTERS.pop(key, None)
        _CHARACTERS[key] = character
        while len(_CHARACTERS) > _CHARACTERS_MAX:
            _CHARACTERS.pop(next(iter(_CHARACTERS)))


def _character_cached(key: tuple[str, int, int]):
    with _CHARACTERS_LOCK:
        hit = _CHARACTERS.get(key)
    if hit is not None:
        _remember(key, hit)
        return hit
    from kyara.avatar import load_character

    c = load_character(key[0])
    _remember(key, c)
    return c


@functools.lru_cache(maxsize=4)
def _body_cached(key: tuple[str, int, int] | None):
    if key is None:
        from kyara.body.model import build_body

        return build_body(DEFAULT_BODY)
    from kyara.avatar import character_body

    return character_body(_character_cached(key))


def load_character(path: str | os.PathLike):
    """The character of a ``character.json`` / ``.vrm`` / ``.glb`` (built once per file version)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"character '{p.name}' does not exist, expected a file (create one first)")
    return _character_cached(_file_key(p))


def load_body(character: str | os.PathLike | None):
    """The renderable body: the character's adapter, or the bare ``teen-girl`` body when None."""
    return _body_cached(None if character is None else _file_key(character))


def preset_pose(name: str, body):
    from kyara.body.model import Body
    from kyara.pose.presets import POSE_NAMES, get_pose

    if name not in POSE_NAMES:
        raise ValueError(f"unknown pose '{name}', expected one of {', '.join(POSE_NAMES)}")
    if isinstance(body, Body):
        return get_pose(name, body.params)
    from kyara.avatar import avatar_pose

    return avatar_pose(name, body)


# -- Create ------------------------------------------------------------------------------------
@dataclass
class CreateOutput:
    spec_json: str
    character: Path  # character.json
    views: list[Path]  # front, side, back PNGs
    turntable: Path
    vrm: Path
    stl: Path


def create(ws: Workspace, prompt: str | None = None, seed: int = 0, spec_json: str | None = None) -> CreateOutput:
    """``kyara create`` for the page: a prompt (or an edited spec JSON) -> previews and avatar files."""
    from kyara.character.create import VIEWS, create_character

    if spec_json is not None:
        from kyara.character.spec import from_json

        spec = from_json(spec_json)
    else:
        from kyara.character.parser import parse_prompt

        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt is empty, expected a character description such as 'an anime girl in a kimono'")
        spec = parse_prompt(prompt, seed=_seed(seed))
    out = ws.job_dir("create")
    frames, tsize = TURNTABLE
    from kyara.character.build import build_character

    character = build_character(spec)
    on_gl_thread(create_character, spec, out, None, CREATE_SIZE, turntable_frames=frames, turntable_size=tsize,
                 character=character)
    # the Pose, Animate and Export tabs load this character.json next: hand them the built one
    _remember(_file_key(out / "character.json"), character)
    return CreateOutput(spec.to_json(), out / "character.json", [out / f"{v}.png" for v in VIEWS],
                        out / "turntable.gif", out / "avatar.vrm", out / "avatar_print.stl")


def _seed(seed) -> int:
    if seed is None:
        return 0
    f = float(seed)
    if not f.is_integer() or not 0 <= f < 2**63:
        raise ValueError(f"seed {seed!r} is not valid, expected an integer >= 0")
    return int(f)


# -- Pose --------------------------------------------------------------------------------------
def pose_state(name: str, character: str | None) -> dict:
    """The pose state of preset ``name`` on the session's body."""
    from kyara.pose.limits import pose_to_angles

    pose = preset_pose(name, load_body(character))
    return {"name": name, "angles": pose_to_angles(pose), "translation": [float(v) for v in pose.translation]}


def slider_values(state: dict) -> list[float]:
    """The :data:`SLIDERS` values (degrees, rounded to 0.1) of a pose state."""
    return [round(float(state["angles"].get(bone, {}).get(angle, 0.0)), 1) for _, bone, angle, _ in SLIDERS]


def pose_from_state(state: dict, values: Sequence[float] | None = None):
    """A :class:`~kyara.pose.pose.Pose` from the state, the sliders' ``values`` overriding it."""
    from kyara.pose.limits import pose_from_angles

    angles = {b: dict(a) for b, a in state["angles"].items()}
    if values is not None:
        if len(values) != len(SLIDERS):
            raise ValueError(f"{len(values)} slider values, expected {len(SLIDERS)}")
        for (key, bone, angle, _), v in zip(SLIDERS, values):
            if v is None or not np.isfinite(float(v)):
                raise ValueError(f"slider {key} = {v!r} is not a number of degrees")
            angles.setdefault(bone, {})[angle] = float(v)
    return pose_from_angles(angles, root_translation=tuple(state["translation"]))


@dataclass
class PosePreview:
    openpose: np.ndarray  # [H, W, 3] uint8
    depth: np.ndarray  # [H, W, 3] uint8, near = bright
    toon: np.ndarray  # [H, W, 3] uint8
    files: dict[str, Path] = field(default_factory=dict)  # openpose (png), depth (png), json
    notes: list[str] = field(default_factory=list)  # how an uploaded file was read (one line each)


def _flatten(rgba: np.ndarray, bg=(246, 244, 240)) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * a + np.array(bg, np.float32) * (1.0 - a)).round().astype(np.uint8)


def pose_preview(ws: Workspace | None, state: dict, values: Sequence[float] | None, azimuth: float = 0.0,
                 elevation: float = 0.0, character: str | None = None,
                 size: tuple[int, int] = PREVIEW_SIZE) -> PosePreview:
    """Render OpenPose, depth and toon of the slider pose from the camera (azimuth/elevation in
    degrees); with ``ws`` also write ``pose.json``/``openpose.png``/``depth.png`` for download and
    for the Image tab."""
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    for name, v, lim in (("azimuth", azimuth, 360.0), ("elevation", elevation, 89.0)):
        if v is None or not np.isfinite(float(v)) or abs(float(v)) > lim:
            raise ValueError(f"camera {name} {v!r} is out of range, expected -{lim:g}..{lim:g} degrees")
    body = load_body(character)
    pose = pose_from_state(state, values)
    verts, joints = body.pose(pose)
    frame = np.concatenate([verts, joints])
    views = frame_views(frame, [float(azimuth) % 360.0], size, elevation_deg=float(elevation))
    rv = on_gl_thread(render_views, body, pose, views, RenderConfig(maps=("openpose", "depth", "toon")),
                      vertices=verts, check_cameras=False)
    op = rv.maps["openpose"][0]
    depth = np.repeat(rv.maps["depth"][0][..., :1], 3, axis=2)
    toon = _flatten(rv.maps["toon"][0])
    out = PosePreview(op, depth, toon)
    if ws is not None:
        from PIL import Image

        from kyara.pose.openpose import write_openpose_json

        d = ws.job_dir("pose")
        Image.fromarray(op).save(d / "openpose.png")
        Image.fromarray(depth).save(d / "depth.png")
        out.files = {"openpose": d / "openpose.png", "depth": d / "depth.png",
                     "json": write_openpose_json(d / "pose.json", [rv.keypoints[0]], size[0], size[1])}
    return out


def openpose_upload(ws: Workspace, path: str | os.PathLike, name: str | None = None) -> PosePreview:
    """An uploaded OpenPose JSON drawn on its canvas (scaled down to fit :data:`UPLOAD_PREVIEW_MAX`);
    the Image tab then uses it as the openpose condition, fitted to the image size keeping its aspect
    ratio (:func:`image_config`). Read by the CLI's reader with the same limits and formats (pixels or
    normalized, ComfyUI lists: frame 0, BODY_25, triplets, no canvas size); ``name`` (default: the
    file's name) names the upload in messages, never its temporary path. Depth and toon are blank."""
    from PIL import Image

    from kyara.pose.openpose_io import load_pose
    from kyara.pose.openpose import write_openpose_json
    from kyara.render.openpose_draw import draw_openpose

    pose = load_pose(path, None, frame=0, label=f"upload '{name or Path(path).name}'")
    w, h = pose.width, pose.height
    people = pose.people
    if max(w, h) > UPLOAD_PREVIEW_MAX:
        s = UPLOAD_PREVIEW_MAX / max(w, h)
        w, h = max(1, round(w * s)), max(1, round(h * s))
        people = [p.letterboxed(w, h) for p in people]
    img = draw_openpose(people, w, h)
    d = ws.job_dir("pose")
    Image.fromarray(img).save(d / "openpose.png")
    js = write_openpose_json(d / "pose.json", people, w, h)
    blank = np.zeros_like(img)
    return PosePreview(img, blank, blank, {"openpose": d / "openpose.png", "json": js, "openpose_json": js},
                       notes=pose.notes)


def pose_json_upload(ws: Workspace, path: str | os.PathLike | None,
                     max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> PosePreview:
    """The Pose tab's JSON upload: :func:`~kyara.studio.session.check_upload` (a UTF-8/UTF-16 byte
    order mark is fine), then :func:`openpose_upload`; errors name the user's file."""
    p = check_upload(path, "openpose", max_mb)
    with as_upload(p.name, p):
        return openpose_upload(ws, p)


def pose_image_upload(path: str | os.PathLike | None, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> Path:
    """The Pose tab's image upload (an OpenPose skeleton used as is): every pixel decoded now,
    decompression bombs and corrupt files refused (:func:`~kyara.studio.session.check_upload`)."""
    return check_upload(path, "image", max_mb)


def _openpose_json_of(files: dict) -> str | None:
    """The uploaded OpenPose JSON the current openpose image was drawn from, if it still is."""
    js, img = files.get("openpose_json"), files.get("openpose")
    if js and img and Path(img) == Path(js).with_name("openpose.png"):
        return str(js)
    return None


# -- Image -------------------------------------------------------------------------------------
def parse_loras(text: str | None) -> tuple:
    """One ``FILE.safetensors[:WEIGHT]`` per line (or comma-separated) -> LoraSpec tuple."""
    from kyara.cli.cmd_image import parse_lora

    items = [t.strip() for line in (text or "").splitlines() for t in line.split(",")]
    return tuple(parse_lora(t) for t in items if t)


def image_config(prompt: str, negative: str, model: str, control: str, control_model: str, strength: float,
                 loras: str, steps: float, guidance: float, scheduler: str, seed: float, batch: float,
                 width: float, height: float, pose_files: dict | None = None):
    """Widget values -> a checked :class:`~kyara.generate.config.ImageConfig` (no weights loaded)."""
    from kyara.generate.config import ControlSpec, ImageConfig

    if control not in CONTROL_CHOICES:
        raise ValueError(f"ControlNet '{control}' is unknown, expected one of {', '.join(CONTROL_CHOICES)}")
    if not (model or "").strip():
        raise ValueError("model is empty, expected a Hugging Face id, a local path or tiny")
    ints = {}
    for name, v in (("steps", steps), ("seed", seed), ("batch", batch), ("width", width), ("height", height)):
        if v is None or not float(v).is_integer():
            raise ValueError(f"{name} {v!r} is not valid, expected an integer")
        ints[name] = int(v)
    cns: tuple = ()
    control_images: tuple = ()
    pose_json = None
    if control != "none":
        files = pose_files or {}
        if control not in files:
            raise ValueError(f"no {control} condition yet, expected a pose from the Pose tab")
        cns = (ControlSpec(control, (control_model or "default").strip(), float(strength)),)
        pose_json = _openpose_json_of(files) if control == "openpose" else None
        if pose_json is None:  # an uploaded JSON is redrawn at the image size, its aspect ratio kept
            control_images = ((control, str(files[control])),)
    cfg = ImageConfig(prompt=prompt or "", negative_prompt=negative or "", model=model.strip(), controlnets=cns,
                      control_images=control_images, pose_json=pose_json, loras=parse_loras(loras),
                      guidance=float(guidance), scheduler=scheduler, **ints)
    return cfg.check()


class GenerationJob:
    """:func:`kyara.generate.pipeline.generate` in a worker thread; :meth:`events` yields
    ``("progress", step, total)`` from the pipeline's step callback, then ``("done", paths)`` or
    ``("error", line)`` / ``("cancelled", line)``. :meth:`cancel` stops it between two steps."""

    def __init__(self, cfg, out_dir: Path) -> None:
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self._cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "GenerationJob":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def _run(self) -> None:
        from kyara.generate.pipeline import GenerationCancelled, generate

        try:
            with _generate_lock:
                result = generate(self.cfg, progress=lambda s, n, _p: self._events.put(("progress", s, n)),
                                  cancel=self._cancel.is_set)
            paths = save_images(result, self.out_dir)
            self._events.put(("done", paths))
        except GenerationCancelled:
            self._events.put(("cancelled", "cancelled"))
        except Exception as exc:  # noqa: BLE001 - reported in the page as one line, never raised
            self._events.put(("error", one_line(exc)))

    def events(self, poll_s: float = 0.1) -> Iterator[tuple]:
        while True:
            try:
                ev = self._events.get(timeout=poll_s)
            except queue.Empty:
                if not self._thread.is_alive() and self._events.empty():
                    yield ("error", "error: internal error: the generation thread ended without a result")
                    return
                continue
            yield ev
            if ev[0] != "progress":
                return


def save_images(result, out_dir: Path) -> list[Path]:
    from kyara.generate.metadata import save_png

    out_dir.mkdir(parents=True, exist_ok=True)
    return [save_png(im, out_dir / f"image_{i:04d}.png", c) for i, (im, c) in enumerate(zip(result.images,
                                                                                             result.configs))]


def progress_html(step: int, total: int, text: str = "") -> str:
    """The page's progress bar: ``data-step``/``data-total`` for tests, width in percent."""
    pct = 100.0 * step / total if total else 0.0
    label = text or f"{step}/{total} steps"
    return (f'<div class="kyara-progress" data-step="{step}" data-total="{total}" data-pct="{pct:.0f}">'
            f'<div class="kyara-progress-fill" style="width:{pct:.1f}%"></div>'
            f'<span class="kyara-progress-label">{pct:.0f}% &middot; {escape_html(label)}</span></div>')


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# -- Animate -----------------------------------------------------------------------------------
@dataclass
class AnimateOutput:
    video: Path
    conditions: Path | None  # zip of per-frame OpenPose PNG/JSON and depth PNG
    frames: int


def animate_clip(ws: Workspace, motion: str, character: str | None, view: str = "front", fps: float = 15.0,
                 size: int = 256, conditions: bool = True, upload: str | None = None,
                 max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> AnimateOutput:
    """A built-in motion (or an uploaded ``.bvh``/``.npz``, checked by
    :func:`~kyara.studio.session.check_upload`; errors name the user's file) played by the
    session's character (or the bare body) -> MP4, plus a zip of per-frame conditions."""
    from kyara.motion import load_motion, retarget
    from kyara.motion.animate import AnimateConfig, animate, parse_animation_view
    from kyara.motion.builtin import BUILTIN_MOTIONS

    up = check_upload(upload, "motion", max_mb) if upload else None
    if up is None and motion not in BUILTIN_MOTIONS:
        raise ValueError(f"unknown motion '{motion}', expected one of {', '.join(BUILTIN_MOTIONS)} or an upload")
    if not (fps is not None and np.isfinite(float(fps)) and 1.0 <= float(fps) <= 60.0):
        raise ValueError(f"fps {fps!r} is out of range, expected 1..60")
    if not (size is not None and float(size).is_integer() and 64 <= int(size) <= 1024):
        raise ValueError(f"size {size!r} is out of range, expected 64..1024 pixels")
    v = parse_animation_view(view)
    name, paths = (up.name, [up]) if up else (motion, [])
    with as_upload(name, *paths):  # the file is read, and its joints named, before the body is built
        skeleton, mocap = load_motion(str(up) if up else motion)
        from kyara.motion.mapping import REQUIRED_BONES, resolve_mapping

        resolve_mapping(skeleton.names, None, required=REQUIRED_BONES)
    body = load_body(character)
    target = body.layout if character is not None else body.params
    with as_upload(name, *paths):
        clip = retarget(mocap, skeleton, target, fps=float(fps))
    d = ws.job_dir("animate")
    cond_dir = d / "conditions" if conditions else None
    res = on_gl_thread(animate, body, clip, d / "animation.mp4", (int(size), int(size)), v, None, cond_dir,
                       AnimateConfig(progress=False))
    zpath = None
    if cond_dir is not None:
        zpath = d / "conditions.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(cond_dir.iterdir()):
                z.write(f, f.name)
    return AnimateOutput(d / "animation.mp4", zpath, res.video.frames)


# -- Export ------------------------------------------------------------------------------------
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


def import_avatar(ws: Workspace, path: str | os.PathLike) -> Path:
    """Copy an uploaded ``.vrm``/``.glb``/``character.json`` into the session and load it once
    (a malformed file raises here, not later, naming the user's file; its copy is removed)."""
    src = Path(path)
    d = ws.job_dir("avatar")
    # the copy keeps the user's name when it is a plain one (it shows in downloads and messages)
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,100}", src.stem) is not None
    dst = d / ((src.stem if plain else "character" if src.suffix.lower() == ".json" else "avatar")
               + src.suffix.lower())
    with as_upload(src.name, src, dst, cleanup=d):
        shutil.copyfile(src, dst)
        load_character(dst)
    return dst


def avatar_upload(ws: Workspace, path: str | os.PathLike | None, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> Path:
    """The Export tab's avatar import: :func:`~kyara.studio.session.check_upload`, then
    :func:`import_avatar`. Returns the session's copy."""
    return import_avatar(ws, check_upload(path, "avatar", max_mb))
