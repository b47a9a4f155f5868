"""The studio page: one gradio Blocks app with the tabs Create, Pose, Image, Animate, Export.

Widgets only move values to :mod:`kyara.studio.handlers` and back. Every handler error becomes
a one-line ``error: ...`` shown in the page (a status line, and gradio's error toast); nothing a
request sends can stop the server. Generation runs in a queue (one at a time, others wait).

Import this module only after :func:`kyara.studio.server.prepare_environment` (it imports
gradio, which reads its environment at import time).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading
from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.config import StudioConfig
from kyara.studio.session import UPLOAD_KINDS, Workspace

CSS = """
.kyara-progress {position: relative; height: 26px; border-radius: 6px; background: #e5e7eb; overflow: hidden;}
.kyara-progress-fill {position: absolute; left: 0; top: 0; bottom: 0; background: #f472b6; transition: width .15s;}
.kyara-progress-label {position: relative; padding-left: 8px; line-height: 26px; font-size: 14px; color: #111;}
"""
_log = logging.getLogger("kyara.studio")
_JOBS: dict[str, H.GenerationJob] = {}  # session id -> the running generation (for Cancel)
_JOBS_LOCK = threading.Lock()


def _new_state() -> dict:
    return {"character": None, "pose": None, "pose_files": {}}


def _safe(fn, outputs: list | None = None, status=None):
    """Run a handler; any exception becomes one line ``error: ...`` in the page.

    With ``outputs`` (the event's output widgets) and ``status`` (the tab's status line among
    them) the line stays in the status line, every other output is left as it was, and a toast
    that stays until closed shows it too; without them it is an error toast that stays open."""
    at = outputs.index(status) if outputs is not None and status is not None else None

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad request must not reach the server loop
            line = H.one_line(exc)
            _log.info("%s: %s", fn.__name__, line, exc_info=not isinstance(exc, (ValueError, OSError)))
            if at is None:
                raise gr.Error(H.escape_html(line), duration=None, print_exception=False) from None
            gr.Warning(H.escape_html(line), duration=None, title="Error")
            shown = "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in line)  # literal text in Markdown
            return tuple(shown if i == at else gr.update() for i in range(len(outputs)))

    return wrapper


def _bind(fn, fmt: str):
    """``fn(fmt, data, request)`` as a two-argument handler gradio can inspect."""

    def handler(data: dict, request: gr.Request):
        return fn(fmt, data, request)

    return handler


def build_app(config: StudioConfig) -> gr.Blocks:
    """The whole page for ``config`` (its ``output`` folder must exist)."""
    root = Path(config.output)
    max_mb = config.max_upload_mb

    def ws_of(request: gr.Request | None) -> Workspace:
        return Workspace.for_session(root, getattr(request, "session_hash", None))

    with gr.Blocks(title="kyara studio", analytics_enabled=False) as demo:
        state = gr.State(_new_state())
        gr.Markdown("# kyara studio\nAnime characters from text: create, pose, generate, animate, export.")
        with gr.Tabs():
            with gr.Tab("Create", id="create"):
                _create_tab(state, ws_of, max_mb)
            with gr.Tab("Pose", id="pose") as pose_tab:
                pose_widgets = _pose_tab(state, ws_of, max_mb, pose_tab)
            with gr.Tab("Image", id="image"):
                _image_tab(state, ws_of)
            with gr.Tab("Animate", id="animate"):
                _animate_tab(state, ws_of, max_mb)
            with gr.Tab("Export", id="export"):
                _export_tab(state, ws_of, max_mb, pose_widgets)
    demo.queue(default_concurrency_limit=1, max_size=config.queue_size)
    return demo


# -- Create --------------------------------------------------------------------------------------
def _create_tab(state, ws_of, max_mb):
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label="prompt", value="an anime girl with long pink hair in a school uniform",
                                lines=2, elem_id="create-prompt")
        with gr.Column(scale=1):
            seed = gr.Number(label="seed", value=0, precision=0, minimum=0, elem_id="create-seed")
            go = gr.Button("Create", variant="primary", elem_id="create-button")
    status = gr.Markdown("", elem_id="create-status")
    with gr.Row():
        front = gr.Image(label="front", type="filepath", interactive=False, elem_id="create-front")
        side = gr.Image(label="side", type="filepath", interactive=False, elem_id="create-side")
        back = gr.Image(label="back", type="filepath", interactive=False, elem_id="create-back")
        turn = gr.Image(label="turntable", type="filepath", interactive=False, elem_id="create-turntable")
    with gr.Row():
        with gr.Column(scale=2):
            spec = gr.Code(label="character spec (edit, then Apply)", language="json", interactive=True,
                           elem_id="create-spec")
            apply = gr.Button("Apply spec", elem_id="create-apply")
        files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="create-files")
    upload = gr.File(label="or bring your own avatar (.vrm, .glb, character.json)",
                     file_types=list(UPLOAD_KINDS["avatar"]), type="filepath", elem_id="create-import")

    def imported(path, st, request: gr.Request):
        if path is None:
            return (gr.update(),) * 4 + (st, "")
        dst, views = H.avatar_previews(ws_of(request), path, max_mb)
        st = dict(st, character=str(dst), pose=None, pose_files={})
        return (*[str(v) for v in views], [str(dst)], st,
                f"imported `{Path(path).name}`: it is now the session's character")

    import_outs = [front, side, back, files, state, status]
    upload.upload(_safe(imported, import_outs, status), [upload, state], import_outs, concurrency_id="create",
                  api_name=False)

    def run(prompt_text, seed_value, spec_text, st, request, from_spec: bool):
        out = H.create(ws_of(request), prompt_text, seed_value, spec_text if from_spec else None)
        st = dict(st, character=str(out.character), pose=None, pose_files={})
        return (out.spec_json, *[str(p) for p in out.views], str(out.turntable),
                [str(out.vrm), str(out.stl), str(out.character)], st,
                f"created in `{out.character.parent.name}`: front/side/back previews, turntable, VRM and STL")

    outs = [spec, front, side, back, turn, files, state, status]
    def from_prompt(prompt_text, seed_value, spec_text, st, request: gr.Request):
        return run(prompt_text, seed_value, spec_text, st, request, False)

    def from_spec(prompt_text, seed_value, spec_text, st, request: gr.Request):
        return run(prompt_text, seed_value, spec_text, st, request, True)

    go.click(_safe(from_prompt, outs, status), [prompt, seed, spec, state], outs, concurrency_id="create",
             api_name="create")
    apply.click(_safe(from_spec, outs, status), [prompt, seed, spec, state], outs, concurrency_id="create",
                api_name="apply_spec")


# -- Pose ----------------------------------------------------------------------------------------
def _pose_tab(state, ws_of, max_mb, tab):
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

    def render(st, values, az, el, request, edited: bool = True):
        if st.get("pose") is None:
            st = dict(st, pose=H.pose_state("stand", st.get("character")))
        prev = H.pose_preview(ws_of(request), st["pose"], values, az, el, st.get("character"))
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
    tab.select(_safe(first, first_outs, status), [azimuth, elevation, state], first_outs, concurrency_id="pose",
               api_name=False)
    pick_outs = [*sliders, *preview_outs]
    preset.input(_safe(pick, pick_outs, status), [preset, azimuth, elevation, state], pick_outs,
                 concurrency_id="pose", api_name="pose_preset")
    for s in [*sliders, azimuth, elevation]:
        s.input(_safe(moved, preview_outs, status), {*sliders, azimuth, elevation, state}, preview_outs,
                concurrency_id="pose", trigger_mode="always_last", show_progress="minimal", api_name=False)

    def upload_json(path, st, request: gr.Request):
        if path is None:
            return gr.update(), gr.update(), gr.update(), gr.update(), st, ""
        prev = H.pose_json_upload(ws_of(request), path, max_mb)
        st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
        notes = "".join(f"; {n}" for n in prev.notes)  # frame used, BODY_25 mapped, no canvas size...
        return (prev.openpose, prev.depth, prev.toon, str(prev.files["json"]), st,
                f"OpenPose JSON `{Path(path).name}` loaded{notes}")

    def upload_png(path, st, request: gr.Request):
        if path is None:
            return gr.update(), st, ""
        p = H.pose_image_upload(path, max_mb)
        files = dict(st.get("pose_files") or {}, openpose=str(p))
        return str(p), dict(st, pose_files=files), f"OpenPose image `{p.name}` loaded"

    up_json.upload(_safe(upload_json, preview_outs, status), [up_json, state], preview_outs, concurrency_id="pose",
                   api_name=False)
    png_outs = [op_img, state, status]
    up_png.upload(_safe(upload_png, png_outs, status), [up_png, state], png_outs, concurrency_id="pose",
                  api_name=False)
    return {"sliders": sliders}


# -- Image ---------------------------------------------------------------------------------------
def _image_tab(state, ws_of):
    if importlib.util.find_spec("diffusers") is None or importlib.util.find_spec("torch") is None:
        gr.Markdown("**Image generation is not installed here.** It needs the diffusion extra: "
                    "run `make extras` in kyara's folder (or `pip install 'kyara[diffusion]'`: torch, diffusers, "
                    "transformers), then restart the studio.")
        return
    from kyara.generate.config import DEFAULT_NEGATIVE
    from kyara.generate.schedulers import DEFAULT_SCHEDULER, SCHEDULER_NAMES

    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(label="prompt", value="1girl, anime, full body, simple background", lines=2,
                                elem_id="image-prompt")
            negative = gr.Textbox(label="negative prompt", value=DEFAULT_NEGATIVE, lines=2, elem_id="image-negative")
        with gr.Column(scale=2):
            model = gr.Textbox(label="model (Hugging Face id, local folder, .safetensors, or tiny for a smoke test)",
                               value="tiny", elem_id="image-model")
            control = gr.Radio(list(H.CONTROL_CHOICES), value="openpose", label="ControlNet (condition from the "
                               "Pose tab)", elem_id="image-control")
            control_model = gr.Textbox(label="ControlNet model (default: the known one for the base model)",
                                       value="default", elem_id="image-control-model")
            loras = gr.Textbox(label="LoRAs: FILE.safetensors[:WEIGHT], one per line", lines=2, elem_id="image-loras")
    with gr.Row():
        # defaults in PoseAnimeFlow's ranges; the sliders reach every value turbo/LCM models need
        steps = gr.Slider(1, 150, value=30, step=1, label="steps (20-50 typical, 1-8 turbo/LCM)", elem_id="image-steps")
        guidance = gr.Slider(0, 30, value=7.5, step=0.5, label="guidance (7.5-12 typical, 1-2 turbo/LCM)",
                             elem_id="image-guidance")
        strength = gr.Slider(0, 2, value=1.0, step=0.05, label="ControlNet strength (0-1 typical)",
                             elem_id="image-strength")
    with gr.Row():
        scheduler = gr.Dropdown(list(SCHEDULER_NAMES), value=DEFAULT_SCHEDULER, label="scheduler",
                                elem_id="image-scheduler")
        seed = gr.Number(label="seed", value=0, precision=0, minimum=0, elem_id="image-seed")
        batch = gr.Slider(1, 8, value=1, step=1, label="batch", elem_id="image-batch")
        width = gr.Slider(64, 2048, value=512, step=8, label="width", elem_id="image-width")
        height = gr.Slider(64, 2048, value=512, step=8, label="height", elem_id="image-height")
    with gr.Row():
        go = gr.Button("Generate", variant="primary", elem_id="image-generate")
        stop = gr.Button("Cancel", variant="stop", elem_id="image-cancel")
    bar = gr.HTML(H.progress_html(0, 0, "idle"), elem_id="image-progress")
    status = gr.Markdown("", elem_id="image-status")
    gallery = gr.Gallery(label="images", columns=4, height="auto", elem_id="image-gallery")
    files = gr.File(label="downloads (PNG with parameters)", file_count="multiple", interactive=False,
                    elem_id="image-files")

    def run(p, neg, m, c, cm, s, lo, n, g, sch, sd, b, w, h, st, request: gr.Request):
        sid = getattr(request, "session_hash", None) or "local"
        ws = ws_of(request)
        keep = gr.update()
        try:
            if c != "none" and c not in (st.get("pose_files") or {}):
                if st.get("pose") is None:
                    st = dict(st, pose=H.pose_state("stand", st.get("character")))
                prev = H.pose_preview(ws, st["pose"], None, 0.0, 0.0, st.get("character"))
                st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
            cfg = H.image_config(p, neg, m, c, cm, s, lo, n, g, sch, sd, b, w, h, st.get("pose_files"))
        except Exception as exc:  # noqa: BLE001 - shown in the page
            yield H.progress_html(0, 0, "not started"), H.one_line(exc), keep, keep, st
            return
        job = H.GenerationJob(cfg, ws.job_dir("image"))
        with _JOBS_LOCK:
            _JOBS[sid] = job
        job.start()
        yield H.progress_html(0, cfg.steps, "loading the model"), "loading the model...", keep, keep, st
        try:
            for ev in job.events():
                if ev[0] == "progress":
                    yield H.progress_html(ev[1], ev[2]), f"denoising step {ev[1]}/{ev[2]}", keep, keep, st
                elif ev[0] == "done":
                    paths = [str(x) for x in ev[1]]
                    yield (H.progress_html(1, 1, f"done, {len(paths)} image(s)"), f"wrote {len(paths)} image(s)",
                           paths, paths, st)
                else:
                    yield H.progress_html(0, 0, ev[0]), ev[1], keep, keep, st
        finally:
            job.cancel()  # a closed page stops its generation at the next step
            with _JOBS_LOCK:
                if _JOBS.get(sid) is job:
                    del _JOBS[sid]

    def cancel(request: gr.Request):
        with _JOBS_LOCK:
            job = _JOBS.get(getattr(request, "session_hash", None) or "local")
        if job is not None:
            job.cancel()
        return "cancelling..." if job is not None else "nothing to cancel"

    go.click(run, [prompt, negative, model, control, control_model, strength, loras, steps, guidance, scheduler,
                   seed, batch, width, height, state], [bar, status, gallery, files, state],
             concurrency_id="generate", concurrency_limit=1, show_progress="hidden", api_name="generate")
    stop.click(cancel, None, status, concurrency_limit=None, show_progress="hidden", api_name="cancel")


# -- Animate -------------------------------------------------------------------------------------
def _animate_tab(state, ws_of, max_mb):
    from kyara.motion.builtin import BUILTIN_MOTIONS

    with gr.Row():
        motion = gr.Dropdown(list(BUILTIN_MOTIONS), value="jog", label="built-in motion", elem_id="animate-motion")
        upload = gr.File(label="or upload a motion (.bvh, .npz)", file_types=list(UPLOAD_KINDS["motion"]),
                         type="filepath", elem_id="animate-upload")
        view = gr.Dropdown(["front", "side", "back", "right", "orbit"], value="front", label="view",
                           elem_id="animate-view")
    with gr.Row():
        fps = gr.Slider(1, 60, value=15, step=1, label="fps", elem_id="animate-fps")
        size = gr.Slider(64, 1024, value=256, step=16, label="size (pixels)", elem_id="animate-size")
        conditions = gr.Checkbox(value=True, label="per-frame conditions (OpenPose PNG+JSON, depth)",
                                 elem_id="animate-conditions")
        go = gr.Button("Animate", variant="primary", elem_id="animate-button")
    status = gr.Markdown("", elem_id="animate-status")
    with gr.Row():
        video = gr.Video(label="animation", interactive=False, elem_id="animate-video")
        files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="animate-files")

    def run(m, up, v, f, s, c, st, request: gr.Request):
        out = H.animate_clip(ws_of(request), m, st.get("character"), v, f, s, c, up or None, max_mb)
        paths = [str(out.video)] + ([str(out.conditions)] if out.conditions else [])
        src = Path(up).name if up else m
        return str(out.video), paths, f"`{src}`: {out.frames} frames"

    outs = [video, files, status]
    go.click(_safe(run, outs, status), [motion, upload, view, fps, size, conditions, state], outs,
             concurrency_id="animate", api_name="animate")


# -- Export --------------------------------------------------------------------------------------
def _export_tab(state, ws_of, max_mb, pose_widgets):
    gr.Markdown("Downloads of the character made in Create (or an imported avatar). VRM and GLB are in the rest "
                "T-pose; the STL is posed like the Pose tab.")
    with gr.Row():
        vrm_b = gr.Button("Export VRM", elem_id="export-vrm")
        glb_b = gr.Button("Export GLB", elem_id="export-glb")
        stl_b = gr.Button("Export STL", elem_id="export-stl")
        avatar = gr.File(label="import an avatar (.vrm, .glb, character.json)", file_types=list(UPLOAD_KINDS["avatar"]),
                         type="filepath", elem_id="export-import")
    status = gr.Markdown("", elem_id="export-status")
    with gr.Row():
        files = gr.File(label="download", interactive=False, elem_id="export-file")
        view3d = gr.Model3D(label="GLB (drag to turn)", clear_color=(0.95, 0.95, 0.96, 1.0), elem_id="export-model3d")
    sliders = pose_widgets["sliders"]

    def run(fmt, data: dict, request: gr.Request):  # inputs given as a set: data maps widget -> value
        st = data[state]
        pose = st.get("pose") if fmt == "stl" else None
        path = H.export(ws_of(request), st.get("character"), fmt, pose, [data[s] for s in sliders] if pose else None)
        shown = str(path) if fmt == "glb" else gr.update()
        return str(path), shown, f"wrote `{path.name}` ({path.stat().st_size / 1024:.0f} KiB)"

    export_outs = [files, view3d, status]
    for fmt, b in (("vrm", vrm_b), ("glb", glb_b), ("stl", stl_b)):
        b.click(_safe(_bind(run, fmt), export_outs, status), {state, *sliders}, export_outs,
                concurrency_id="export", api_name=f"export_{fmt}")

    def imported(path, st, request: gr.Request):
        if path is None:
            return st, ""
        dst = H.avatar_upload(ws_of(request), path, max_mb)
        return dict(st, character=str(dst), pose=None, pose_files={}), f"imported `{Path(path).name}`"

    import_outs = [state, status]
    avatar.upload(_safe(imported, import_outs, status), [avatar, state], import_outs, concurrency_id="export",
                  api_name=False)
