"""Animate: a built-in or uploaded motion -> MP4 or GIF and per-frame conditions."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, safe

TITLE = "Animate"
ORDER = 40


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
    from kyara.motion.builtin import BUILTIN_MOTIONS

    with gr.Row():
        motion = gr.Dropdown(list(BUILTIN_MOTIONS), value="jog", label="built-in motion", elem_id="animate-motion")
        upload = gr.File(label="or upload a motion (.bvh, .npz)", file_types=list(UPLOAD_KINDS["motion"]),
                         type="filepath", elem_id="animate-upload")
        view = gr.Dropdown(["front", "side", "back", "right", "orbit"], value="front", label="view",
                           elem_id="animate-view")
    with gr.Row():
        fps = gr.Slider(1, 60, value=15, step=1, label="fps", elem_id="animate-fps")
        size = gr.Slider(64, 1024, value=H.ANIMATION_SIZE, step=16, label="size (pixels)", elem_id="animate-size")
        fmt = gr.Radio(list(H.ANIMATION_FORMATS), value="mp4", label="format", elem_id="animate-format")
        conditions = gr.Checkbox(value=True, label="per-frame conditions (OpenPose PNG+JSON, depth)",
                                 elem_id="animate-conditions")
        go = gr.Button("Animate", variant="primary", elem_id="animate-button")
    status = gr.Markdown("", elem_id="animate-status")
    with gr.Row():
        video = gr.Video(label="animation", interactive=False, elem_id="animate-video")
        gif = gr.Image(label="animation (GIF)", type="filepath", interactive=False, visible=False,
                       elem_id="animate-gif")
        files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="animate-files")

    def run(m, up, v, f, s, c, st, vf="mp4", request: gr.Request = None):
        out = H.animate_clip(ctx.ws_of(request), m, st.get("character"), v, f, s, c, up or None, ctx.max_mb,
                             video_format=vf)
        paths = [str(out.video)] + ([str(out.conditions)] if out.conditions else [])
        src = Path(up).name if up else m
        is_gif = vf == "gif"  # a GIF plays in an image, an MP4 in the video player
        return (gr.update(value=None if is_gif else str(out.video), visible=not is_gif),
                gr.update(value=str(out.video) if is_gif else None, visible=is_gif), paths,
                f"`{src}`: {out.frames} frames, {out.video.name}")

    outs = [video, gif, files, status]
    go.click(safe(run, outs, status), [motion, upload, view, fps, size, conditions, state, fmt], outs,
             concurrency_id="animate", api_name="animate")
