"""Export: VRM / GLB / STL downloads and a 3D view; avatar import."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, bind, safe, view3d, view3d_value

TITLE = "Export"
ORDER = 50


def build(ctx: TabContext, tab) -> None:
    state = ctx.state
    gr.Markdown("Downloads of the character made in Create (or an imported avatar). VRM and GLB are in the rest "
                "T-pose; the STL is posed like the Pose tab. The 3D view shows the file just written.")
    with gr.Row():
        vrm_b = gr.Button("Export VRM", elem_id="export-vrm")
        glb_b = gr.Button("Export GLB", elem_id="export-glb")
        stl_b = gr.Button("Export STL", elem_id="export-stl")
        avatar = gr.File(label="import an avatar (.vrm, .glb, character.json)", file_types=list(UPLOAD_KINDS["avatar"]),
                         type="filepath", elem_id="export-import")
    status = gr.Markdown("", elem_id="export-status")
    with gr.Row():
        files = gr.File(label="download", interactive=False, elem_id="export-file")
        view = view3d(ctx, "export-view3d" if ctx.web_modules is not None else "export-model3d")
    sliders = ctx.widgets["pose.sliders"]

    def run(fmt, data: dict, request: gr.Request):  # inputs given as a set: data maps widget -> value
        st = data[state]
        pose = st.get("pose") if fmt == "stl" else None
        path = H.export(ctx.ws_of(request), st.get("character"), fmt, pose, [data[s] for s in sliders] if pose else None)
        return str(path), view3d_value(ctx, path), f"wrote `{path.name}` ({path.stat().st_size / 1024:.0f} KiB)"

    export_outs = [files, view, status]
    for fmt, b in (("vrm", vrm_b), ("glb", glb_b), ("stl", stl_b)):
        b.click(safe(bind(run, fmt), export_outs, status), {state, *sliders}, export_outs,
                concurrency_id="export", api_name=f"export_{fmt}")

    def imported(path, st, request: gr.Request):
        if path is None:
            return st, gr.update(), ""
        dst = H.avatar_upload(ctx.ws_of(request), path, ctx.max_mb)
        return (dict(st, character=str(dst), pose=None, pose_files={}), view3d_value(ctx, dst),
                f"imported `{Path(path).name}`")

    import_outs = [state, view, status]
    avatar.upload(safe(imported, import_outs, status), [avatar, state], import_outs, concurrency_id="export",
                  api_name=False)
