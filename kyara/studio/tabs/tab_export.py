"""Export: every format of ``kyara export`` (GLB, VRM, VRM 0.x, VRMA, STL, OBJ, PLY), the session's downloads
and a 3D view of what was exported; avatar import."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from kyara.studio import handlers as H
from kyara.studio.session import UPLOAD_KINDS
from kyara.studio.tabs import TabContext, bind, safe, view3d, view3d_value

TITLE = "Export"
ORDER = 50


def build(ctx: TabContext, tab) -> None:
    from kyara.motion import BUILTIN_MOTIONS

    state = ctx.state
    gr.Markdown("Downloads of the character made in Create (or an imported avatar), in every format of "
                "`kyara export`. GLB and VRM are in the rest T-pose (a GLB plays the motion, if one is picked); "
                "STL, OBJ and PLY are posed like the Pose tab. The 3D view shows what was just exported.")
    with gr.Row():
        buttons = {f: gr.Button(f"Export {f.upper() if f != 'vrm0' else 'VRM 0.x'}", elem_id=f"export-{f}",
                                min_width=80) for f in H.EXPORT_FORMATS}
    status = gr.Markdown("", elem_id="export-status")  # under the buttons: what was written, or why not
    with gr.Row():
        motion = gr.Dropdown([H.NO_MOTION, *BUILTIN_MOTIONS], value=H.NO_MOTION,
                             label="motion (VRMA needs one; a GLB plays it)", elem_id="export-motion")
        avatar = gr.File(label="import an avatar (.vrm, .glb, character.json)", file_types=list(UPLOAD_KINDS["avatar"]),
                         type="filepath", elem_id="export-import")
    import_status = gr.Markdown("", elem_id="export-import-status")
    gr.Markdown("  \n".join(f"**{f}**: {H.EXPORT_LABELS[f]}" for f in H.EXPORT_FORMATS), elem_id="export-formats")
    with gr.Row():
        files = gr.File(label="downloads (every export of this session, newest first)", file_count="multiple",
                        interactive=False, elem_id="export-file")
        view = view3d(ctx, "export-view3d" if ctx.web_modules is not None else "export-model3d")
    sliders = ctx.widgets["pose.sliders"]

    def run(fmt, data: dict, request: gr.Request):  # inputs given as a set: data maps widget -> value
        st = data[state]
        pose = st.get("pose") if fmt in H.POSED_FORMATS else None
        out = H.export(ctx.ws_of(request), st.get("character"), fmt, pose,
                       [data[s] for s in sliders] if pose else None, data[motion])
        downloads = H.export_downloads(st.get("exports"), out)
        text = f"wrote `{out.path.name}` ({out.path.stat().st_size / 1024:.0f} KiB)"
        text += "".join(f"  \nnote: {n}" for n in out.notes)
        return dict(st, exports=downloads), downloads, view3d_value(ctx, out.view), text

    export_outs = [state, files, view, status]
    for fmt, b in buttons.items():
        b.click(safe(bind(run, fmt), export_outs, status), {state, motion, *sliders}, export_outs,
                concurrency_id="export", api_name=f"export_{fmt}")

    def imported(path, st, request: gr.Request):
        if path is None:
            return st, gr.update(), ""
        dst = H.avatar_upload(ctx.ws_of(request), path, ctx.max_mb)
        return (dict(st, character=str(dst), pose=None, pose_files={}), view3d_value(ctx, dst),
                f"imported `{Path(path).name}`")

    import_outs = [state, view, import_status]
    avatar.upload(safe(imported, import_outs, import_status), [avatar, state], import_outs, concurrency_id="export",
                  api_name=False)
