"""Pose: presets, joint sliders, live OpenPose/depth/toon, OpenPose JSON and images in and out, and a
reference picture whose detected skeleton sets the sliders (:mod:`kyara.studio.handlers.reference`)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, safe

TITLE = "Pose"
ORDER = 20


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
    from kyara.pose.presets import POSE_NAMES

    with gr.Row():
        preset = gr.Dropdown(list(POSE_NAMES), value="stand", label="pose preset", elem_id="pose-preset")
        azimuth = gr.Slider(-180, 180, value=30, step=1, label="camera azimuth", elem_id="pose-azimuth")
        elevation = gr.Slider(-60, 60, value=10, step=1, label="camera elevation", elem_id="pose-elevation")
    sliders = []
    with gr.Row():
        for i in range(0, len(H.SLIDERS), 4):
            with gr.Column(min_width=180):
                for key, bone, angle, label in H.SLIDERS[i:i + 4]:
                    lo, hi = H.slider_range(bone, angle)
                    sliders.append(gr.Slider(lo, hi, value=0, step=1, label=label, elem_id=f"pose-{key}"))
    status = gr.Markdown("", elem_id="pose-status")
    with gr.Row():
        op_img = gr.Image(label="OpenPose", interactive=False, format="png", elem_id="pose-openpose")
        depth_img = gr.Image(label="depth", interactive=False, format="png", elem_id="pose-depth")
        toon_img = gr.Image(label="toon", interactive=False, format="png", elem_id="pose-toon")
    with gr.Row():
        up_json = gr.File(label="upload OpenPose JSON", file_types=[".json"], type="filepath",
                          elem_id="pose-upload-json")
        up_png = gr.File(label="upload OpenPose image (used as is by the Image tab)",
                         file_types=list(UPLOAD_KINDS["image"]), type="filepath", elem_id="pose-upload-image")
        down_json = gr.File(label="download OpenPose JSON", interactive=False, elem_id="pose-download")
    with gr.Row():
        with gr.Column(scale=1):
            up_ref = gr.File(label="reference image (photo, drawing, render): detect its pose",
                             file_types=list(UPLOAD_KINDS["image"]), type="filepath", elem_id="pose-upload-reference")
            detector = gr.Dropdown(list(H.DETECT_BACKENDS), value="auto", label="detector", elem_id="pose-detector")
        ref_img = gr.Image(label="reference with the detected skeleton", interactive=False, format="png", scale=2,
                           elem_id="pose-reference")

    def render(st, values, az, el, request, edited: bool = True):
        if st.get("pose") is None:
            st = dict(st, pose=H.pose_state("stand", st.get("character")))
        prev = H.pose_preview(ctx.ws_of(request), st["pose"], values, az, el, st.get("character"))
        st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
        note = f"pose: {st['pose']['name']}" + (" (edited)" if edited else "")
        return prev.openpose, prev.depth, prev.toon, str(prev.files["json"]), st, note

    def pick(name, az, el, st, request: gr.Request):
        st = dict(st, pose=H.pose_state(name, st.get("character")))
        vals = H.slider_values(st["pose"])
        return (*vals, *render(st, vals, az, el, request, edited=False))

    def moved(data: dict, request: gr.Request):  # inputs given as a set: data maps widget -> value
        return render(data[state], [data[s] for s in sliders], data[azimuth], data[elevation], request)

    def first(az, el, st, request: gr.Request):  # opening the tab shows the current pose, or stand
        if st.get("pose") is not None and st.get("pose_files"):
            return (gr.update(),) * (len(sliders) + 5) + (st, gr.update())
        return ("stand", *pick("stand", az, el, st, request))

    preview_outs = [op_img, depth_img, toon_img, down_json, state, status]
    first_outs = [preset, *sliders, *preview_outs]
    tab.select(safe(first, first_outs, status), [azimuth, elevation, state], first_outs, concurrency_id="pose",
               api_name=False)
    pick_outs = [*sliders, *preview_outs]
    preset.input(safe(pick, pick_outs, status), [preset, azimuth, elevation, state], pick_outs,
                 concurrency_id="pose", api_name="pose_preset")
    for s in [*sliders, azimuth, elevation]:
        s.input(safe(moved, preview_outs, status), {*sliders, azimuth, elevation, state}, preview_outs,
                concurrency_id="pose", trigger_mode="always_last", show_progress="minimal", api_name=False)

    def upload_json(path, st, request: gr.Request):
        if path is None:
            return gr.update(), gr.update(), gr.update(), gr.update(), st, ""
        prev = H.pose_json_upload(ctx.ws_of(request), path, ctx.max_mb)
        st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
        notes = "".join(f"; {n}" for n in prev.notes)  # frame used, BODY_25 mapped, no canvas size...
        return (prev.openpose, prev.depth, prev.toon, str(prev.files["json"]), st,
                f"OpenPose JSON `{Path(path).name}` loaded{notes}")

    def upload_png(path, st, request: gr.Request):
        if path is None:
            return gr.update(), st, ""
        p = H.pose_image_upload(path, ctx.max_mb)
        files = dict(st.get("pose_files") or {}, openpose=str(p))
        return str(p), dict(st, pose_files=files), f"OpenPose image `{p.name}` loaded"

    def upload_reference(path, backend, st, request: gr.Request):
        if path is None:
            return (gr.update(),) * (len(ref_outs) - 2) + (st, "")
        ref = H.pose_reference_upload(ctx.ws_of(request), path, backend, st.get("character"), ctx.max_mb)
        prev = ref.preview
        st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
        if ref.state is not None:  # the sliders start from the pose the picture shows
            st = dict(st, pose=ref.state)
            moved_to = (*H.slider_values(ref.state), round(ref.azimuth), 0)
        else:
            moved_to = (gr.update(),) * (len(sliders) + 2)
        note = f"reference `{Path(path).name}`: " + "; ".join(ref.notes)
        return (ref.overlay, *moved_to, prev.openpose, prev.depth, prev.toon, str(prev.files["json"]), st, note)

    ref_outs = [ref_img, *sliders, azimuth, elevation, *preview_outs]
    up_ref.upload(safe(upload_reference, ref_outs, status), [up_ref, detector, state], ref_outs,
                  concurrency_id="pose", api_name="pose_reference")
    detector.input(safe(upload_reference, ref_outs, status), [up_ref, detector, state], ref_outs,
                   concurrency_id="pose", api_name=False)

    up_json.upload(safe(upload_json, preview_outs, status), [up_json, state], preview_outs, concurrency_id="pose",
                   api_name=False)
    png_outs = [op_img, state, status]
    up_png.upload(safe(upload_png, png_outs, status), [up_png, state], png_outs, concurrency_id="pose",
                  api_name=False)
    ctx.widgets["pose.sliders"] = sliders
