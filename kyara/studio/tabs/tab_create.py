"""Create: a prompt (or an edited spec, or an imported avatar) -> previews, turntable, VRM and STL, and
the VRM in the 3D view. Next to the prompt, what kyara understood of it (chips, the ignored words
marked, a warning when most of it was not), updated as the user types; Create shows its stages
(parse, build, render, export) in a progress bar. Each control's errors stay in the status line
under it until the next action, and the outputs of the last good run stay on screen."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.handlers import characters as C
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, safe, view3d, view3d_value

TITLE = "Create"
ORDER = 10
DEFAULT_PROMPT = "an anime girl with long pink hair in a school uniform"


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label="prompt", value=DEFAULT_PROMPT, lines=2, elem_id="create-prompt")
            understanding = gr.HTML(C.understanding_html(DEFAULT_PROMPT), elem_id="create-understanding")
        with gr.Column(scale=1):
            with gr.Row():
                seed = gr.Number(label="seed (-1: random)", value=0, precision=0, minimum=-1, elem_id="create-seed",
                                 scale=3)
                dice = gr.Button("\U0001f3b2 random", elem_id="create-random-seed", scale=1, min_width=60)
            go = gr.Button("Create", variant="primary", elem_id="create-button")
            status = gr.Markdown("", elem_id="create-status")
    with gr.Row():
        front = gr.Image(label="front", type="filepath", interactive=False, elem_id="create-front")
        side = gr.Image(label="side", type="filepath", interactive=False, elem_id="create-side")
        back = gr.Image(label="back", type="filepath", interactive=False, elem_id="create-back")
        turn = gr.Image(label="turntable", type="filepath", interactive=False, elem_id="create-turntable")
    # the exported VRM itself in three.js + three-vrm (only where its scripts are installed)
    view = [view3d(ctx, "create-view3d")] if ctx.web_modules is not None else []
    with gr.Row():
        with gr.Column(scale=2):
            spec = gr.Code(label="character spec (edit, then Apply)", language="json", interactive=True,
                           elem_id="create-spec")
            apply = gr.Button("Apply spec", elem_id="create-apply")
            spec_status = gr.Markdown("", elem_id="create-spec-status")
        files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="create-files")
    upload = gr.File(label="or bring your own avatar (.vrm, .glb, character.json)",
                     file_types=list(UPLOAD_KINDS["avatar"]), type="filepath", elem_id="create-import")
    import_status = gr.Markdown("", elem_id="create-import-status")

    # what kyara understands of the prompt, as the user types (parsing only: milliseconds)
    prompt.change(C.understanding_html, prompt, understanding, show_progress="hidden", trigger_mode="always_last",
                  queue=False, api_name=False)

    def imported(path, st, request: gr.Request):
        if path is None:
            return (gr.update(),) * (4 + len(view)) + (st, "", gr.update(), gr.update())
        dst, views = H.avatar_previews(ctx.ws_of(request), path, ctx.max_mb)
        st = dict(st, character=str(dst), pose=None, pose_files={})
        return (*[str(v) for v in views], [str(dst)], *[view3d_value(ctx, dst) for _ in view], st,
                f"imported `{Path(path).name}`: it is now the session's character", "", "")

    import_outs = [front, side, back, files, *view, state, import_status, status, spec_status]
    upload.upload(safe(imported, import_outs, import_status), [upload, state], import_outs, concurrency_id="create",
                  api_name=False)

    dice.click(lambda: H.RANDOM_SEED, None, seed, show_progress="hidden", api_name=False)

    def run(prompt_text, seed_value, spec_text, st, request, from_spec: bool, progress):
        def report(fraction: float, stage: str) -> None:
            progress(fraction, desc=stage)

        out = H.create(ctx.ws_of(request), prompt_text, seed_value, spec_text if from_spec else None, progress=report)
        st = dict(st, character=str(out.character), pose=None, pose_files={})
        line = (f"created in `{out.character.parent.name}` (seed {out.seed}): front/side/back previews, turntable, "
                "VRM and STL")
        return (out.spec_json, *[str(p) for p in out.views], str(out.turntable),
                [str(out.vrm), str(out.stl), str(out.character)], *[view3d_value(ctx, out.vrm) for _ in view], st,
                gr.update() if from_spec else C.understanding_html(prompt_text),
                line if not from_spec else "", f"applied: {line}" if from_spec else "", "")

    outs = [spec, front, side, back, turn, files, *view, state, understanding, status, spec_status, import_status]

    def from_prompt(prompt_text, seed_value, spec_text, st, request: gr.Request, progress=gr.Progress()):
        return run(prompt_text, seed_value, spec_text, st, request, False, progress)

    def from_spec(prompt_text, seed_value, spec_text, st, request: gr.Request, progress=gr.Progress()):
        return run(prompt_text, seed_value, spec_text, st, request, True, progress)

    go.click(safe(from_prompt, outs, status), [prompt, seed, spec, state], outs, concurrency_id="create",
             api_name="create")
    apply.click(safe(from_spec, outs, spec_status), [prompt, seed, spec, state], outs, concurrency_id="create",
                api_name="apply_spec")
