"""Drawing: one drawing -> a rigged 3D character that moves (:mod:`kyara.drawing`).

Upload a drawing (and, optionally, its mask); **Find joints** shows the mask and the joints found
(detector, medial axis or box template) and fills the joints table, which can be edited; **Lift and
animate** lifts the drawing with those joints, plays the chosen motion and offers the VRM, the GLB,
the videos and the steps' contact sheet. The lifted avatar becomes the session's character, so the
Animate and Export tabs use it next.

The two handlers below are plain functions (no gradio): the web layer only moves values.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from kyara.studio.tabs import TabContext, safe, view3d, view3d_value

TITLE = "Drawing"
ORDER = 47
HEADERS = ["joint", "x", "y", "confidence"]


def _joints_rows(keypoints: np.ndarray) -> list[list]:
    from kyara.pose.openpose import OPENPOSE_BODY_NAMES

    return [[n, round(float(k[0]), 1), round(float(k[1]), 1), round(float(k[2]), 2)]
            for n, k in zip(OPENPOSE_BODY_NAMES, np.asarray(keypoints))]


def rows_to_keypoints(rows, size: tuple[int, int]) -> np.ndarray:
    """The joints table (18 rows: name, x, y, confidence) -> COCO-18 ``[18, 3]``; ``ValueError``
    naming the row for a value that is not a number or a joint outside the drawing."""
    from kyara.pose.openpose import OPENPOSE_BODY_NAMES

    if hasattr(rows, "values"):  # a pandas DataFrame
        rows = rows.values.tolist()
    rows = list(rows or [])
    if len(rows) != 18:
        raise ValueError(f"the joints table has {len(rows)} rows, expected the 18 COCO-18 joints (find joints first)")
    w, h = size
    kp = np.zeros((18, 3))
    for i, (name, row) in enumerate(zip(OPENPOSE_BODY_NAMES, rows)):
        try:
            x, y, c = (float(v) for v in list(row)[1:4])
        except (TypeError, ValueError):
            raise ValueError(f"joint {name}: x, y and confidence must be numbers, got {list(row)[1:4]}") from None
        if not np.isfinite([x, y, c]).all() or c < 0:
            raise ValueError(f"joint {name}: x, y, confidence must be finite and confidence >= 0")
        if c > 0 and not (0 <= x <= w - 1 and 0 <= y <= h - 1):
            raise ValueError(f"joint {name} at ({x:g}, {y:g}) is outside the {w}x{h} drawing")
        kp[i] = (x, y, c)
    return kp


def find_joints(ws, image: str, mask: str | None, detector: str, max_mb: float):
    """-> (mask picture, joints picture, joints table rows, status line)."""
    from kyara.drawing.pipeline import skeleton_overlay
    from kyara.drawing.segment import as_drawing, character_mask
    from kyara.drawing.skeleton import SkeletonConfig, estimate_skeleton
    from kyara.studio.handlers import as_upload
    from kyara.studio.session import check_upload

    img = check_upload(image, "image", max_mb)
    m_path = check_upload(mask, "image", max_mb) if mask else None
    with as_upload(img.name, img, *([m_path] if m_path else [])):
        rgb, alpha = as_drawing(img)
        m = character_mask(rgb, alpha, m_path)
        skel = estimate_skeleton(rgb, m.mask, config=SkeletonConfig(detector=detector))
    shown = np.where(m.mask[..., None], rgb, (0.25 * rgb + 0.75 * 255).astype(np.uint8))
    status = (f"`{img.name}`: mask from the {m.source}, joints from the {skel.source} "
              f"({skel.reason}); edit the table to move a joint")
    return shown, skeleton_overlay(rgb, skel.keypoints), _joints_rows(skel.keypoints), status


def lift_and_animate(ws, image: str, mask: str | None, rows, motion: str, upload: str | None, detector: str,
                     size: int, fps: float, view: str, max_mb: float) -> dict:
    """-> {"dir", "video", "sheet", "files", "vrm", "status"} of one ``kyara drawing`` job."""
    from kyara.drawing.character import LiftConfig
    from kyara.drawing.pipeline import DrawingJob, run
    from kyara.drawing.segment import as_drawing
    from kyara.drawing.skeleton import SkeletonConfig
    from kyara.motion.builtin import BUILTIN_MOTIONS
    from kyara.studio.handlers import as_upload, on_gl_thread
    from kyara.studio.session import check_upload

    img = check_upload(image, "image", max_mb)
    m_path = check_upload(mask, "image", max_mb) if mask else None
    up = check_upload(upload, "motion", max_mb) if upload else None
    if up is None and motion not in BUILTIN_MOTIONS:
        raise ValueError(f"unknown motion '{motion}', expected one of {', '.join(BUILTIN_MOTIONS)} or an upload")
    if not (size is not None and float(size).is_integer() and 64 <= int(size) <= 1024):
        raise ValueError(f"size {size!r} is out of range, expected 64..1024 pixels")
    if not (fps is not None and np.isfinite(float(fps)) and 1.0 <= float(fps) <= 60.0):
        raise ValueError(f"fps {fps!r} is out of range, expected 1..60")
    with as_upload(img.name, img, *([m_path] if m_path else [])):
        rgb, _ = as_drawing(img)
    joints = rows_to_keypoints(rows, (rgb.shape[1], rgb.shape[0])) if rows is not None and len(rows) else None
    d = ws.job_dir("drawing")
    job = DrawingJob(motion=str(up) if up else motion, size=(int(size), int(size)), fps=float(fps), view=view,
                     lift=LiftConfig(skeleton=SkeletonConfig(detector=detector)))
    paths = [img] + ([m_path] if m_path else []) + ([up] if up else [])
    with as_upload(img.name, *paths, cleanup=d):
        res = on_gl_thread(run, str(img), d / "out", m_path, joints, job)
    out = d / "out"
    files = [str(out / n) for n in ("avatar.vrm", "avatar.glb", "motion.mp4", "motion.gif", "skeleton.json", "mask.png",
                                    "contact_sheet.png")]
    info = res.character.spec
    status = (f"`{img.name}`: joints from the {info.joints_source}, {len(res.character.parts[0].vertices)} vertices, "
              f"{res.motion.num_frames} frames of `{up.name if up else motion}`; lift {sum(info.seconds.values()):.2f} s")
    return {"dir": out, "video": str(out / "motion.mp4"), "sheet": str(out / "contact_sheet.png"), "files": files,
            "vrm": str(out / "avatar.vrm"), "status": status}


def build(ctx: TabContext, tab) -> None:
    from kyara.motion.builtin import BUILTIN_MOTIONS
    from kyara.studio.session import UPLOAD_KINDS

    state = ctx.state
    with gr.Row():
        image = gr.File(label="drawing (PNG, JPEG, WebP)", file_types=list(UPLOAD_KINDS["image"]), type="filepath",
                        elem_id="drawing-image")
        mask = gr.File(label="mask (optional: white = character)", file_types=list(UPLOAD_KINDS["image"]),
                       type="filepath", elem_id="drawing-mask")
        detector = gr.Dropdown(["auto", "kyara", "mediapipe", "none"], value="auto", label="joints detector",
                               elem_id="drawing-detector")
        find = gr.Button("Find joints", elem_id="drawing-find")
    with gr.Row():
        mask_img = gr.Image(label="mask", interactive=False, format="png", elem_id="drawing-mask-view")
        joints_img = gr.Image(label="joints", interactive=False, format="png", elem_id="drawing-joints-view")
        table = gr.Dataframe(headers=HEADERS, datatype=["str", "number", "number", "number"], type="array",
                             interactive=True, label="joints (drawing pixels; edit to move)", elem_id="drawing-joints")
    with gr.Row():
        motion = gr.Dropdown(list(BUILTIN_MOTIONS), value="walk", label="motion", elem_id="drawing-motion")
        upload = gr.File(label="or upload a motion (.bvh, .npz)", file_types=list(UPLOAD_KINDS["motion"]),
                         type="filepath", elem_id="drawing-motion-upload")
        view = gr.Dropdown(["front", "side", "back", "right", "orbit"], value="front", label="view",
                           elem_id="drawing-view")
        fps = gr.Slider(1, 60, value=24, step=1, label="fps", elem_id="drawing-fps")
        size = gr.Slider(64, 1024, value=384, step=16, label="size (pixels)", elem_id="drawing-size")
        go = gr.Button("Lift and animate", variant="primary", elem_id="drawing-go")
    status = gr.Markdown("", elem_id="drawing-status")
    with gr.Row():
        video = gr.Video(label="animation", interactive=False, elem_id="drawing-video")
        sheet = gr.Image(label="steps", type="filepath", interactive=False, elem_id="drawing-sheet")
    with gr.Row():
        files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="drawing-files")
        model = view3d(ctx, "drawing-view3d")

    def on_find(img, msk, det, request: gr.Request):
        return find_joints(ctx.ws_of(request), img, msk, det, ctx.max_mb)

    def on_go(img, msk, rows, mot, up, det, s, f, v, st, request: gr.Request):
        out = lift_and_animate(ctx.ws_of(request), img, msk, rows, mot, up, det, s, f, v, ctx.max_mb)
        st = dict(st or {})
        st["character"] = out["vrm"]  # the lifted avatar is the session's character from now on
        return out["video"], out["sheet"], out["files"], view3d_value(ctx, out["vrm"]), out["status"], st

    find_outs = [mask_img, joints_img, table, status]
    find.click(safe(on_find, find_outs, status), [image, mask, detector], find_outs, concurrency_id="drawing",
               api_name="drawing_joints")
    go_outs = [video, sheet, files, model, status, state]
    go.click(safe(on_go, go_outs, status), [image, mask, table, motion, upload, detector, size, fps, view, state],
             go_outs, concurrency_id="drawing", api_name="drawing")
