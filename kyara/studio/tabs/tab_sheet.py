"""Sheet: 1..16 images of a character (and optionally their UDP .npz) -> the character in a chosen pose
or motion (CoNR, :mod:`kyara.sheet`). The baselines work without trained weights; ``conr`` needs
``kyara train sheet``. The pose is rendered on the session's character (Create tab) or the bare body."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from kyara.studio.session import UPLOAD_KINDS, Workspace, check_upload
from kyara.studio.tabs import TabContext, safe

TITLE = "Sheet"
ORDER = 45
NO_MOTION = "(a pose)"
METHOD_CHOICES = ("auto", "b0", "b1", "b2", "conr")


@dataclass
class SheetOutput:
    """What one job wrote: the image (a pose) or the video (a motion), and every file to download."""

    image: Path | None
    video: Path | None
    files: list = field(default_factory=list)
    note: str = ""


def _named(exc: Exception, paths) -> ValueError:
    """The error with each upload's stored path cut to the user's file name."""
    text = " ".join(str(exc).split())
    for p in sorted({str(x) for x in paths}, key=len, reverse=True):
        text = text.replace(p, Path(p).name)
    return ValueError(text or type(exc).__name__)


def run_sheet(ws: Workspace, images, udps, pose: str, motion: str, view: str, size: int, method: str,
              character: str | None, max_mb: float) -> SheetOutput:
    """The tab's job (no gradio here): check the uploads, read the sheet, render the pose or motion on the
    session's character (or the bare body) on the studio's GL thread, write PNG (and MP4) files."""
    from kyara.sheet.inputs import read_references
    from kyara.sheet.infer import SheetRenderer
    from kyara.sheet.lookup import MAX_REFS
    from kyara.studio.handlers.common import load_body, on_gl_thread

    imgs = [str(p) for p in (images or [])]
    npzs = [str(p) for p in (udps or [])]
    if not 1 <= len(imgs) <= MAX_REFS:
        raise ValueError(f"got {len(imgs)} images, expected 1..{MAX_REFS} images of the character")
    if method not in METHOD_CHOICES:
        raise ValueError(f"method '{method}' is unknown, expected one of {', '.join(METHOD_CHOICES)}")
    if not (size is not None and float(size).is_integer() and 64 <= int(size) <= 1024):
        raise ValueError(f"size {size!r} is out of range, expected 64..1024 pixels")
    from kyara.cli.common import parse_view

    v = parse_view(view)
    try:
        for p in imgs:
            check_upload(p, "image", max_mb)
        for p in npzs:
            if Path(p).suffix.lower() != ".npz":
                raise ValueError(f"UDP upload '{p}' is not a .npz file, expected CoNR's format (key 'i')")
            if os.path.getsize(p) > max_mb * 2**20:
                raise ValueError(f"UDP upload '{p}' is larger than {max_mb:g} MB")
        refs = read_references(imgs, npzs)
        renderer = SheetRenderer(refs, method)
    except (ValueError, OSError) as exc:
        raise _named(exc, imgs + npzs) from None
    body = load_body(character)
    d = ws.job_dir("sheet")
    side = (int(size), int(size))
    if motion in (None, "", NO_MOTION):
        from kyara.cli.cmd_sheet import _write_png
        from kyara.sheet.targets import pose_udp

        udp = on_gl_thread(pose_udp, pose, body, side, v)
        out = d / "sheet.png"
        _write_png(out, renderer.render(udp))
        return SheetOutput(out, None, [out], f"{pose}: {len(refs)} reference(s), method {renderer.method}")
    from kyara.cli.cmd_sheet import _write_motion
    from kyara.sheet.targets import motion_target

    clip = motion_target(motion, body, side, v, fps=12.0)
    udps_all = on_gl_thread(lambda: list(clip.frames()))

    class _Frames:  # the rendered frames, replayed (GL work stays on the GL thread)
        num_frames, fps = clip.num_frames, clip.fps

        def frames(self):
            return iter(udps_all)

    out = d / "sheet.mp4"
    n = _write_motion(out, d / "sheet_frames", renderer, _Frames())
    return SheetOutput(None, out, [out], f"{motion}: {n} frames, {len(refs)} reference(s), method {renderer.method}")


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
    from kyara.motion.builtin import BUILTIN_MOTIONS
    from kyara.pose.presets import POSE_NAMES

    with gr.Row():
        images = gr.File(label="images of the character (1-16; RGBA or a plain background)", file_count="multiple",
                         file_types=list(UPLOAD_KINDS["image"]), type="filepath", elem_id="sheet-images")
        udps = gr.File(label="their UDP maps (.npz, same order; optional with the detector)", file_count="multiple",
                       file_types=[".npz"], type="filepath", elem_id="sheet-udps")
    with gr.Row():
        pose = gr.Dropdown(list(POSE_NAMES), value="stand", label="pose", elem_id="sheet-pose")
        motion = gr.Dropdown([NO_MOTION, *BUILTIN_MOTIONS], value=NO_MOTION, label="or a motion",
                             elem_id="sheet-motion")
        view = gr.Dropdown(["front", "side", "back", "right"], value="front", label="view", elem_id="sheet-view")
        method = gr.Dropdown(list(METHOD_CHOICES), value="auto", label="method (auto: conr if trained, else b2)",
                             elem_id="sheet-method")
        size = gr.Slider(64, 1024, value=256, step=16, label="size (pixels)", elem_id="sheet-size")
        go = gr.Button("Render", variant="primary", elem_id="sheet-button")
    status = gr.Markdown("", elem_id="sheet-status")
    with gr.Row():
        image = gr.Image(label="the character in the pose", interactive=False, format="png", image_mode="RGBA",
                         elem_id="sheet-image")
        video = gr.Video(label="the character in the motion", interactive=False, elem_id="sheet-video")
        files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="sheet-files")

    def run(im, ud, p, m, v, s, meth, st, request: gr.Request):
        out = run_sheet(ctx.ws_of(request), im, ud, p, m, v, s, meth, st.get("character"), ctx.max_mb)
        return (str(out.image) if out.image else None, str(out.video) if out.video else None,
                [str(f) for f in out.files], out.note)

    outs = [image, video, files, status]
    go.click(safe(run, outs, status), [images, udps, pose, motion, view, size, method, state], outs,
             concurrency_id="sheet", api_name="sheet")
