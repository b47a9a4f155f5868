"""Pose: presets, joint sliders, live OpenPose/depth/toon on a canvas of the user's size, mirror and undo,
OpenPose JSON and images in and out, and a reference picture whose detected skeleton sets the sliders
(:mod:`kyara.studio.handlers.reference`).

One pose everywhere: the session's pose state (``st["pose"]``, the sliders folded in, and its camera
``st["camera"]``) is what the previews show, what the Image tab's conditions (``st["pose_files"]``) are
drawn from and what Export poses; an uploaded OpenPose JSON or reference picture sets it by inverse
kinematics (:mod:`kyara.studio.handlers.pose_fit`). Every change pushes the pose before it on an undo
stack (:data:`~kyara.studio.handlers.poses.UNDO_MAX` steps)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.handlers.poses import CANVAS_RANGE, check_canvas, fold_state, mirror_state, remember_pose, undo_pose
from kyara.studio.handlers.reference import pose_json_fitted
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, safe

TITLE = "Pose"
ORDER = 20


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
    from kyara.pose.presets import POSE_NAMES

    c_lo, c_hi = CANVAS_RANGE
    with gr.Row():
        preset = gr.Dropdown(list(POSE_NAMES), value="stand", label="pose preset", elem_id="pose-preset")
        azimuth = gr.Slider(-180, 180, value=30, step=1, label="camera azimuth", elem_id="pose-azimuth")
        elevation = gr.Slider(-60, 60, value=10, step=1, label="camera elevation", elem_id="pose-elevation")
        width = gr.Slider(c_lo, c_hi, value=H.PREVIEW_SIZE[0], step=8, label="canvas width", elem_id="pose-width")
        height = gr.Slider(c_lo, c_hi, value=H.PREVIEW_SIZE[1], step=8, label="canvas height", elem_id="pose-height")
    sliders = []
    with gr.Row():
        for i in range(0, len(H.SLIDERS), 4):
            with gr.Column(min_width=180):
                for key, bone, angle, label in H.SLIDERS[i:i + 4]:
                    lo, hi = H.slider_range(bone, angle)
                    sliders.append(gr.Slider(lo, hi, value=0, step=1, label=label, elem_id=f"pose-{key}"))
    with gr.Row():
        mirror = gr.Button("mirror (left <-> right)", elem_id="pose-mirror", size="sm")
        undo = gr.Button("undo", elem_id="pose-undo", size="sm")
    status = gr.Markdown("", elem_id="pose-status")
    with gr.Row():
        op_img = gr.Image(label="OpenPose", interactive=False, format="png", elem_id="pose-openpose")
        depth_img = gr.Image(label="depth", interactive=False, format="png", elem_id="pose-depth")
        toon_img = gr.Image(label="toon", interactive=False, format="png", elem_id="pose-toon")
    with gr.Row():
        up_json = gr.File(label="upload OpenPose JSON (sets the sliders)", file_types=[".json"], type="filepath",
                          elem_id="pose-upload-json")
        up_png = gr.File(label="upload OpenPose image (used as is by the Image tab)",
                         file_types=list(UPLOAD_KINDS["image"]), type="filepath", elem_id="pose-upload-image")
        down_json = gr.File(label="download OpenPose JSON", interactive=False, elem_id="pose-download")
    upload_status = gr.Markdown("", elem_id="pose-upload-status")
    with gr.Row():
        with gr.Column(scale=1):
            up_ref = gr.File(label="reference image (photo, drawing, render): detect its pose",
                             file_types=list(UPLOAD_KINDS["image"]), type="filepath", elem_id="pose-upload-reference")
            detector = gr.Dropdown(list(H.DETECT_BACKENDS), value="auto", label="detector", elem_id="pose-detector")
        ref_img = gr.Image(label="reference with the detected skeleton", interactive=False, format="png", scale=2,
                           elem_id="pose-reference")

    def canvas_of(img):  # the canvas follows an uploaded pose's (within the canvas range): later edits keep it
        h, w = img.shape[:2]
        return tuple(int(min(max(8 * round(v / 8), c_lo), c_hi)) for v in (w, h))  # on the sliders' step

    def sliders_to(pose: dict):  # the sliders show (and edit again) the pose
        return [gr.update(value=v, interactive=True) for v in H.slider_values(pose)]

    def render(st, pose, az, el, w, h, request, note: str):
        """The session's pose becomes ``pose`` (the one before goes on the undo stack), drawn on the canvas."""
        size = check_canvas(w, h)
        st = remember_pose(st, pose, az, el)
        prev = H.pose_preview(ctx.ws_of(request), pose, None, az, el, st.get("character"), size)
        st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
        return prev.openpose, prev.depth, prev.toon, str(prev.files["json"]), st, note

    def pick(name, az, el, w, h, st, request: gr.Request):
        pose = H.pose_state(name, st.get("character"))
        pose = fold_state(pose, H.slider_values(pose))  # what the sliders show is the pose
        return (*sliders_to(pose), *render(st, pose, az, el, w, h, request, f"pose: {name}"))

    def moved(data: dict, request: gr.Request):  # inputs given as a set: data maps widget -> value
        st = data[state]
        base = st.get("pose") or H.pose_state("stand", st.get("character"))
        pose = fold_state(base, [data[s] for s in sliders])
        return render(st, pose, data[azimuth], data[elevation], data[width], data[height], request,
                      f"pose: {pose['name']} (edited)")

    def first(az, el, w, h, st, request: gr.Request):  # opening the tab shows the current pose, or stand
        files = st.get("pose_files") or {}
        if st.get("pose") is not None and files:  # as it is now (another tab may have set it)
            shown = [files.get(k) or gr.update() for k in ("openpose", "depth", "toon", "json")]
            return (gr.update(), *sliders_to(st["pose"]), *shown, st, gr.update())
        return ("stand", *pick("stand", az, el, w, h, st, request))

    def mirrored(data: dict, request: gr.Request):
        st = data[state]
        base = st.get("pose") or H.pose_state("stand", st.get("character"))
        pose = mirror_state(fold_state(base, [data[s] for s in sliders]))
        az = -float(data[azimuth]) + 0.0  # the camera mirrored too: the picture is the old one flipped
        return (*sliders_to(pose), az, *render(st, pose, az, data[elevation], data[width], data[height], request,
                                                f"pose: {pose['name']}, mirrored"))

    def undone(w, h, st, request: gr.Request):
        st = undo_pose(st)
        pose, (az, el) = st["pose"], st["camera"]
        prev = H.pose_preview(ctx.ws_of(request), pose, None, az, el, st.get("character"), check_canvas(w, h))
        st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
        left = len(st.get("undo") or [])
        return (*sliders_to(pose), az, el, prev.openpose, prev.depth, prev.toon, str(prev.files["json"]), st,
                f"pose: {pose['name']} (undone; {left} earlier step{'s' if left != 1 else ''} left)")

    preview_outs = [op_img, depth_img, toon_img, down_json, state, status]
    first_outs = [preset, *sliders, *preview_outs]
    tab.select(safe(first, first_outs, status), [azimuth, elevation, width, height, state], first_outs,
               concurrency_id="pose", api_name=False)
    pick_outs = [*sliders, *preview_outs]
    preset.input(safe(pick, pick_outs, status), [preset, azimuth, elevation, width, height, state], pick_outs,
                 concurrency_id="pose", api_name="pose_preset")
    everything = {*sliders, azimuth, elevation, width, height, state}
    for s in [*sliders, azimuth, elevation, width, height]:
        s.input(safe(moved, preview_outs, status), everything, preview_outs,
                concurrency_id="pose", trigger_mode="always_last", show_progress="minimal", api_name=False)
    mirror_outs = [*sliders, azimuth, *preview_outs]
    mirror.click(safe(mirrored, mirror_outs, status), everything, mirror_outs, concurrency_id="pose",
                 api_name="pose_mirror")
    undo_outs = [*sliders, azimuth, elevation, *preview_outs]
    undo.click(safe(undone, undo_outs, status), [width, height, state], undo_outs, concurrency_id="pose",
               api_name="pose_undo")

    def upload_json(path, st, request: gr.Request):
        if path is None:
            return (gr.update(),) * (len(sliders) + 8) + (st, "")
        ref = pose_json_fitted(ctx.ws_of(request), path, st.get("character"), ctx.max_mb)
        prev = ref.preview
        files = {k: str(v) for k, v in prev.files.items()}
        notes = "".join(f"; {n}" for n in ref.notes)  # frame used, BODY_25 mapped, no canvas size, the fit...
        if ref.state is not None:  # the uploaded pose is the session's pose: sliders, depth, Image, Export
            st = dict(remember_pose(st, ref.state, ref.azimuth, 0.0), pose_files=files)
            moved_to = [*sliders_to(ref.state), round(ref.azimuth), 0]
        else:  # the sliders cannot show it: they are off until the next preset, undo or fitted upload
            st = dict(st, pose_files=files)
            moved_to = [gr.update(interactive=False)] * len(sliders) + [gr.update(), gr.update()]
        return (*moved_to, *canvas_of(prev.openpose), prev.openpose, prev.depth, prev.toon, str(prev.files["json"]), st,
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
        files = {k: str(v) for k, v in prev.files.items()}
        if ref.state is not None:  # the sliders start from the pose the picture shows
            st = dict(remember_pose(st, ref.state, ref.azimuth, 0.0), pose_files=files)
            moved_to = (*sliders_to(ref.state), round(ref.azimuth), 0)
        else:
            st = dict(st, pose_files=files)
            moved_to = (gr.update(),) * (len(sliders) + 2)
        note = f"reference `{Path(path).name}`: " + "; ".join(ref.notes)
        return (ref.overlay, *moved_to, *canvas_of(prev.openpose), prev.openpose, prev.depth, prev.toon,
                str(prev.files["json"]), st, note)

    ref_outs = [ref_img, *sliders, azimuth, elevation, width, height, *preview_outs]
    up_ref.upload(safe(upload_reference, ref_outs, status), [up_ref, detector, state], ref_outs,
                  concurrency_id="pose", api_name="pose_reference")
    detector.input(safe(upload_reference, ref_outs, status), [up_ref, detector, state], ref_outs,
                   concurrency_id="pose", api_name=False)

    json_outs = [*sliders, azimuth, elevation, width, height, op_img, depth_img, toon_img, down_json, state,
                 upload_status]
    up_json.upload(safe(upload_json, json_outs, upload_status), [up_json, state], json_outs, concurrency_id="pose",
                   api_name=False)
    png_outs = [op_img, state, upload_status]
    up_png.upload(safe(upload_png, png_outs, upload_status), [up_png, state], png_outs, concurrency_id="pose",
                  api_name=False)
    ctx.widgets["pose.sliders"] = sliders
    ctx.widgets["pose.camera"] = [azimuth, elevation]
