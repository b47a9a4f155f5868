"""Export: VRM / GLB / STL downloads and a 3D view; avatar import."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, bind, safe

TITLE = "Export"
ORDER = 50


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
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
    sliders = ctx.widgets["pose.sliders"]

    def run(fmt, data: dict, request: gr.Request):  # inputs given as a set: data maps widget -> value
        st = data[state]
        pose = st.get("pose") if fmt == "stl" else None
        path = H.export(ctx.ws_of(request), st.get("character"), fmt, pose, [data[s] for s in sliders] if pose else None)
        shown = str(path) if fmt == "glb" else gr.update()
        return str(path), shown, f"wrote `{path.name}` ({path.stat().st_size / 1024:.0f} KiB)"

    export_outs = [files, view3d, status]
    for fmt, b in (("vrm", vrm_b), ("glb", glb_b), ("stl", stl_b)):
        b.click(safe(bind(run, fmt), export_outs, status), {state, *sliders}, export_outs,
                concurrency_id="export", api_name=f"export_{fmt}")

    def imported(path, st, request: gr.Request):
        if path is None:
            return st, ""
        dst = H.avatar_upload(ctx.ws_of(request), path, ctx.max_mb)
        return dict(st, character=str(dst), pose=None, pose_files={}), f"imported `{Path(path).name}`"

    import_outs = [state, status]
    avatar.upload(safe(imported, import_outs, status), [avatar, state], import_outs, concurrency_id="export",
                  api_name=False)
