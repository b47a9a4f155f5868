"""Image: diffusers with ControlNet (the Pose tab's condition), LoRA, progress, cancel, gallery."""

from __future__ import annotations

import importlib.util
import threading

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.tabs import TabContext

TITLE = "Image"
ORDER = 30
_JOBS: dict[str, H.GenerationJob] = {}  # session id -> the running generation (for Cancel)
_JOBS_LOCK = threading.Lock()


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
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
        ws = ctx.ws_of(request)
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
