"""Image: a model picker (empty at first; the local models of :mod:`kyara.studio.handlers.models` and a
"get a model" guide), diffusers with ControlNet (the condition of the session's one pose, shown: the Pose
tab's, or a pose reference picture's, which sets that pose), LoRA, the character's description as the
prompt, the prompt as anime tags (shown before generating), PoseAnimeFlow's sliders, the size from the model (or
width/height), progress with per-step latent previews, cancel, gallery (whole images) with an Upscale button
(Real-ESRGAN), and the session's history of images with their parameters."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.handlers.images import character_description
from kyara.studio.handlers.models import NO_MODEL, ModelScan, model_guide, scan_models
from kyara.studio.handlers.poses import remember_pose
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, safe

TITLE = "Image"
ORDER = 30
DEFAULT_PROMPT = "1girl, anime, full body, simple background"
GALLERY_HEIGHT = 560  # CSS pixels: a 512 px image whole, a batch in two columns
_JOBS: dict[str, H.GenerationJob] = {}  # session id -> the running generation (for Cancel)
_JOBS_LOCK = threading.Lock()


def _slider_update(key: str, wide: bool, value):
    lo, hi = H.SLIDER_RANGES[key][1 if wide else 0]
    v = min(max(float(value), lo), hi) if value is not None else lo
    return gr.update(minimum=lo, maximum=hi, value=v)


def _guide(scan: ModelScan, models_dir=None) -> str:
    return model_guide(models_dir) + "".join(f"  \nnote: {n}" for n in scan.skipped)


def _shown(line: str) -> str:
    """An error line as the page shows it: no server folders (a model from the models folder or the
    cache by its name), literal text (no markdown)."""
    from kyara.studio.handlers.common import scrub_paths
    from kyara.studio.tabs import markdown_literal

    return markdown_literal(scrub_paths(line))


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
    if importlib.util.find_spec("diffusers") is None or importlib.util.find_spec("torch") is None:
        gr.Markdown("**Image generation is not installed here.** It needs the diffusion extra: "
                    "run `make extras` in kyara's folder (or `pip install 'kyara[diffusion]'`: torch, diffusers, "
                    "transformers), then restart the studio.")
        return
    from kyara.generate.config import DEFAULT_NEGATIVE
    from kyara.generate.schedulers import DEFAULT_SCHEDULER, SCHEDULER_NAMES
    from kyara.tags import TAG_MODES, load_presets
    from kyara.upscale import MODELS as UPSCALE_MODELS
    from kyara.upscale import SCALES as UPSCALE_SCALES

    scan = scan_models(ctx.config.models_dir)
    with gr.Row():
        with gr.Column(scale=3):
            prompt = gr.Textbox(label="prompt (free text or tags)", value=DEFAULT_PROMPT, lines=2,
                                elem_id="image-prompt")
            with gr.Row():
                describe = gr.Button("use the character's description", size="sm", elem_id="image-use-character",
                                     scale=0, min_width=220)
                describe_status = gr.Markdown("", elem_id="image-prompt-status")
            negative = gr.Textbox(label="negative prompt", value=DEFAULT_NEGATIVE, lines=2, elem_id="image-negative")
        with gr.Column(scale=2):
            with gr.Row():
                model = gr.Dropdown(scan.choices, value=None, allow_custom_value=True, filterable=True, scale=5,
                                    label="model (your local models; or type a Hugging Face id, folder, .safetensors)",
                                    elem_id="image-model")
                rescan = gr.Button("\u21bb refresh", elem_id="image-model-refresh", min_width=90, scale=0)
            with gr.Accordion("get a model", open=True, elem_id="image-model-guide-box"):
                guide = gr.Markdown(_guide(scan, ctx.config.models_dir), elem_id="image-model-guide")
            control = gr.Radio(list(H.CONTROL_CHOICES), value="openpose", label="ControlNet (condition from the "
                               "Pose tab or the pose reference below)", elem_id="image-control")
            control_model = gr.Textbox(label="ControlNet model (default: the known one for the base model)",
                                       value="default", elem_id="image-control-model")
            loras = gr.Textbox(label="LoRAs: FILE.safetensors[:WEIGHT], one per line", lines=2, elem_id="image-loras")
    with gr.Row():
        tags_mode = gr.Radio(list(TAG_MODES), value="auto", label="anime tags (auto: free text only)",
                             elem_id="image-tags-mode", scale=1)
        style = gr.Dropdown([H.NO_STYLE, *sorted(load_presets().styles)], value=H.NO_STYLE, label="style preset",
                            elem_id="image-style", scale=1)
        tags_view = gr.Markdown(H.tags_preview(DEFAULT_PROMPT, None, "auto"), elem_id="image-tags")
    with gr.Row():
        with gr.Column(scale=1):
            up_ref = gr.File(label="pose reference image (stick figure, 3D render, photo, drawing)",
                             file_types=list(UPLOAD_KINDS["image"]), type="filepath", elem_id="image-pose-reference")
            detector = gr.Dropdown(list(H.DETECT_BACKENDS), value="auto", label="detector", elem_id="image-detector")
            ref_status = gr.Markdown("", elem_id="image-reference-status")
        skeleton = gr.Image(label="detected skeleton (the OpenPose condition; saved beside the images)",
                            interactive=False, format="png", scale=2, elem_id="image-skeleton")
        condition = gr.Image(label="condition the ControlNet gets (the session's pose)", interactive=False,
                             type="filepath", scale=2, elem_id="image-condition")
    with gr.Row():
        # PoseAnimeFlow's three sliders, its ranges by default; "wider ranges" reaches turbo/LCM models
        (s_lo, s_hi), (g_lo, g_hi), (c_lo, c_hi) = (H.SLIDER_RANGES[k][0] for k in ("steps", "guidance", "strength"))
        steps = gr.Slider(s_lo, s_hi, value=30, step=1, label=f"inference steps ({s_lo}-{s_hi})", elem_id="image-steps")
        guidance = gr.Slider(g_lo, g_hi, value=7.5, step=0.5, label=f"guidance scale ({g_lo:g}-{g_hi:g})",
                             elem_id="image-guidance")
        strength = gr.Slider(c_lo, c_hi, value=1.0, step=0.05, label=f"ControlNet strength ({c_lo:g}-{c_hi:g})",
                             elem_id="image-strength")
        wide = gr.Checkbox(False, label="wider ranges (turbo/LCM: 1-8 steps, guidance 1-2; strength up to 2)",
                           elem_id="image-wide-ranges")
    with gr.Row():
        scheduler = gr.Dropdown(list(SCHEDULER_NAMES), value=DEFAULT_SCHEDULER, label="scheduler",
                                elem_id="image-scheduler")
        seed = gr.Number(label="seed (-1: random)", value=0, precision=0, minimum=-1, elem_id="image-seed")
        dice = gr.Button("\U0001f3b2 random", elem_id="image-random-seed", min_width=60)
        batch = gr.Slider(1, 8, value=1, step=1, label="batch", elem_id="image-batch")
        size_auto = gr.Checkbox(True, label="size from the model (SD1.5/SD2 512, SDXL 1024); moving width or "
                                "height turns it off", elem_id="image-size-auto")
        width = gr.Slider(64, 2048, value=512, step=8, label="width", elem_id="image-width")
        height = gr.Slider(64, 2048, value=512, step=8, label="height", elem_id="image-height")
    with gr.Row():
        go = gr.Button("Generate", variant="primary", elem_id="image-generate")
        stop = gr.Button("Cancel", variant="stop", elem_id="image-cancel")
    bar = gr.HTML(H.progress_html(0, 0, "idle"), elem_id="image-progress")
    status = gr.Markdown("", elem_id="image-status")
    with gr.Row():
        preview = gr.Image(label="preview (the latent at each step; the first image of the batch)", interactive=False,
                           format="png", height=256, scale=1, elem_id="image-preview")
        gallery = gr.Gallery(label="images", columns=2, height=GALLERY_HEIGHT, object_fit="contain", scale=3,
                             elem_id="image-gallery")  # whole images, never cropped
    with gr.Row():
        up_scale = gr.Radio([str(s) for s in UPSCALE_SCALES], value="2", label="upscale", elem_id="image-upscale-scale")
        up_model = gr.Dropdown(list(UPSCALE_MODELS), value="anime", label="upscaler (Real-ESRGAN)",
                               elem_id="image-upscale-model")
        up_go = gr.Button("Upscale selected image", elem_id="image-upscale")
    up_status = gr.Markdown("", elem_id="image-upscale-status")
    files = gr.File(label="downloads (PNG with parameters, the pose beside them)", file_count="multiple",
                    interactive=False, elem_id="image-files")
    with gr.Accordion("history: every image since the studio started (this page's session)", open=True):
        hist_gallery = gr.Gallery(label="earlier results (newest first)", columns=6, height=240, object_fit="contain",
                                  elem_id="image-history-gallery")
        hist_table = gr.Dataframe(headers=list(H.HISTORY_COLUMNS), value=[], interactive=False, wrap=True,
                                  max_height=300, elem_id="image-history")
    selected = gr.State(0)  # index of the gallery image picked last

    def show_tags(p, m, tg, sty):
        return H.tags_preview(p, m, tg, sty)

    for w in (prompt, model, tags_mode, style):
        w.change(show_tags, [prompt, model, tags_mode, style], tags_view, show_progress="hidden",
                 trigger_mode="always_last", api_name=False)

    def widen(on, s, g, c):
        return _slider_update("steps", on, s), _slider_update("guidance", on, g), _slider_update("strength", on, c)

    dice.click(lambda: H.RANDOM_SEED, None, seed, show_progress="hidden", api_name=False)
    wide.change(widen, [wide, steps, guidance, strength], [steps, guidance, strength], api_name=False)
    for w in (width, height):  # a size picked by hand wins over the model's
        w.change(lambda: False, None, size_auto, show_progress="hidden", api_name=False)

    def show_condition(c, st):  # what the next image is conditioned on: the pose of the Pose tab, or a reference
        files = st.get("pose_files") or {}
        return files.get(c) if c != "none" else None

    pose_sliders = ctx.widgets.get("pose.sliders", [])  # one pose everywhere: a fitted reference moves them
    pose_camera = ctx.widgets.get("pose.camera", [])

    def reference(path, backend, st, request: gr.Request):
        if path is None:
            return (gr.update(), st, "", *[gr.update()] * (len(pose_sliders) + len(pose_camera)))
        ref, files_ = H.reference_for_image(ctx.ws_of(request), path, backend, st.get("character"), ctx.max_mb)
        st = dict(st, pose_files=files_)
        moved = [gr.update()] * (len(pose_sliders) + len(pose_camera))
        if ref.state is not None:  # the session's pose is the fitted one: the Pose tab and every condition agree
            st = remember_pose(st, ref.state, ref.azimuth, 0.0)
            moved = [*H.slider_values(ref.state), round(ref.azimuth), 0][: len(moved)]
        return (ref.overlay, st, f"pose reference `{Path(path).name}`: " + "; ".join(ref.notes), *moved)

    ref_outs = [skeleton, state, ref_status, *pose_sliders, *pose_camera]
    for ev in (up_ref.upload(safe(reference, ref_outs, ref_status), [up_ref, detector, state], ref_outs,
                             concurrency_id="pose", api_name="image_pose_reference"),
               detector.input(safe(reference, ref_outs, ref_status), [up_ref, detector, state], ref_outs,
                              concurrency_id="pose", api_name=False)):
        ev.then(show_condition, [control, state], condition, show_progress="hidden", api_name=False)

    control.change(show_condition, [control, state], condition, show_progress="hidden", api_name=False)
    tab.select(show_condition, [control, state], condition, show_progress="hidden", api_name=False)

    def use_character(st):
        return character_description(st.get("character")), "prompt: the character's description"

    desc_outs = [prompt, describe_status]
    describe.click(safe(use_character, desc_outs, describe_status), [state], desc_outs, api_name=False)

    def refresh(m):
        found = scan_models(ctx.config.models_dir)
        return gr.update(choices=found.choices, value=m), _guide(found, ctx.config.models_dir)

    rescan.click(refresh, [model], [model, guide], api_name=False)

    def run(p, neg, m, c, cm, s, lo, n, g, sch, sd, b, w, h, st, tg="off", sty=H.NO_STYLE, auto=False,
            request: gr.Request = None):
        sid = getattr(request, "session_hash", None) or "local"
        ws = ctx.ws_of(request)
        keep = gr.update()
        if not (m or "").strip():  # a newcomer's first click: what to pick, and how to get a model
            yield H.progress_html(0, 0, "no model"), NO_MODEL, keep, keep, st, keep, keep, keep
            return
        try:
            if c != "none" and not st.get("pose_files"):  # no pose drawn yet: the session's pose, or stand
                if st.get("pose") is None:
                    st = dict(st, pose=H.pose_state("stand", st.get("character")))
                az, el = st.get("camera") or (0.0, 0.0)
                prev = H.pose_preview(ws, st["pose"], None, az, el, st.get("character"))
                st = dict(st, pose_files={k: str(v) for k, v in prev.files.items()})
            cfg = H.image_config(p, neg, m, c, cm, s, lo, n, g, sch, sd, b, w, h, st.get("pose_files"), tg, sty,
                                 size_auto=bool(auto))
        except Exception as exc:  # noqa: BLE001 - shown in the page
            yield H.progress_html(0, 0, "not started"), _shown(H.one_line(exc)), keep, keep, st, keep, keep, keep
            return
        job = H.GenerationJob(cfg, ws.job_dir("image"), previews=True)
        with _JOBS_LOCK:
            _JOBS[sid] = job
        job.start()
        yield (H.progress_html(0, cfg.steps, "loading the model"), "loading the model...", keep, keep, st, None,
               keep, keep)
        last = None  # the latest preview, sent again with the images (a client sees it in the final result)
        try:
            for ev in job.events():
                if ev[0] == "progress":
                    yield (H.progress_html(ev[1], ev[2]), f"denoising step {ev[1]}/{ev[2]}", keep, keep, st, keep,
                           keep, keep)
                elif ev[0] == "preview":
                    last = H.preview_image(ev[3])
                    yield keep, keep, keep, keep, st, last, keep, keep
                elif ev[0] == "done":
                    paths = [str(x) for x in ev[1]]
                    seeds = (f"seed {cfg.seed}" if cfg.batch == 1 else
                             f"seeds {cfg.seed}..{cfg.seed + cfg.batch - 1}")  # the drawn one for -1
                    beside = H.save_pose_beside(job.out_dir, st.get("pose_files"), c)  # the condition used
                    downloads = paths + [str(x) for x in beside]
                    history = H.add_history(st.get("history"), cfg, paths)
                    # what Upscale works on (server paths), and every image of the session with its parameters
                    st = dict(st, images=paths, downloads=downloads, history=history)
                    yield (H.progress_html(1, 1, f"done, {len(paths)} image(s)"),
                           f"wrote {len(paths)} image(s), {seeds}", paths, downloads, st, last,
                           H.history_gallery(history), H.history_table(history))
                else:
                    yield H.progress_html(0, 0, ev[0]), _shown(ev[1]), keep, keep, st, keep, keep, keep
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

    def pick(evt: gr.SelectData):
        return evt.index

    def upscale(index, scale, model_name, st, request: gr.Request):
        # the session's own images (the gallery's copies live in gradio's cache), the one picked last
        paths = list(st.get("images") or [])
        if not paths:
            raise ValueError("no image to upscale yet, expected one from the gallery")
        src = paths[min(int(index or 0), len(paths) - 1)]
        out = H.upscale_gallery_image(ctx.ws_of(request), src, int(scale), model_name)
        st = dict(st, images=paths + [str(out)], downloads=list(st.get("downloads") or []) + [str(out)])
        return st["images"], st["downloads"], f"wrote {out.name} (x{scale}, {model_name})", st

    go.click(run, [prompt, negative, model, control, control_model, strength, loras, steps, guidance, scheduler,
                   seed, batch, width, height, state, tags_mode, style, size_auto],
             [bar, status, gallery, files, state, preview, hist_gallery, hist_table],
             concurrency_id="generate", concurrency_limit=1, show_progress="hidden", api_name="generate")
    stop.click(cancel, None, status, concurrency_limit=None, show_progress="hidden", api_name="cancel")
    gallery.select(pick, None, selected, api_name=False)
    up_outs = [gallery, files, up_status, state]
    up_go.click(safe(upscale, up_outs, up_status), [selected, up_scale, up_model, state], up_outs,
                concurrency_id="generate", concurrency_limit=1, api_name="upscale")
