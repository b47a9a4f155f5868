"""What a VRM viewer shows against kyara's preview of the same view: shared by the three-vrm look
tests of the export (``test_export_vrm_look.py``, ``test_toon.py``) and the studio's 3D view
(``test_studio_viewer.py``).

* :func:`front_cameras`: the full-body front view ``kyara create`` frames its previews with, and a face
  close-up; :func:`preview_and_jobs`: kyara's preview maps of a view and the render jobs (camera
  matrices, light, size) that show a VRM the same way.
* :func:`compare_look`: silhouette IoU and per-part lit colour (CIEDE2000) of a viewer's screenshot
  against the preview; :func:`iris_fraction`, :func:`iris_part`, :func:`varying_parts`.
* :func:`render_three_vrm`: ``tests/js/render_vrm.mjs`` (three.js + @pixiv/three-vrm in headless Chromium).
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from test_export_common import JS, browser_ready

from kyara.character.colors import delta_e2000, srgb_to_lab

DEMO_PROMPT = "an anime girl in a kimono, long black hair"


def varying_parts(character) -> set[str]:
    """Names of the parts whose colour varies across at least one face (8 bits)."""
    out = set()
    for p in character.parts:
        if p.colors is not None:
            q = np.round(np.asarray(p.colors, np.float64) * 255)[p.faces]  # [F, 3, 3]
            if np.any(q != q[:, :1]):
                out.add(p.name)
    return out


def iris_part(character):
    return next(p for p in character.parts if p.name in ("irises", "eyes"))


def png_rgba(b64: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
        return np.asarray(im.convert("RGBA"))


def render_three_vrm(jobs: list[dict]) -> dict:
    reason = browser_ready()
    if reason:
        pytest.skip(reason)
    res = subprocess.run(["node", str(JS / "render_vrm.mjs")], input=json.dumps(jobs), capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    return json.loads(res.stdout)


def front_cameras(character, size: int = 512) -> dict:
    """The full-body front view `kyara create` frames its previews with, and a face close-up."""
    from kyara.body.skeleton import BONE_INDEX
    from kyara.pose.views import pose_camera
    from kyara.render.camera import perspective

    verts = character.merged(opaque_only=True)["vertices"]
    head = character.rest_joints[BONE_INDEX["head"]]
    target = np.array([0.0, character.body.layout.dims["eye_y"] - 0.02, head[2]])
    return {"full": pose_camera(verts, "front", (size, size)),
            "face": perspective(target + [0.0, 0.0, 0.55], target, (size // 2, size // 2), fovy_deg=30.0)}


def preview_and_jobs(character, paths: dict, cam):
    """kyara's preview of the rest pose seen by ``cam`` (toon with ink, toon without ink = surface
    colours, part ids, normals) and the render jobs that show the exported files with the same
    camera matrices, light and size."""
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    mesh = character.merged(opaque_only=True)
    style = MapStyle(toon=ToonStyle(background=None, outline_width=2))  # as `kyara create` draws its previews
    attrs = VertexAttrs(parts=mesh["part_id"].astype(np.uint8), base_color=mesh["base"], shade_color=mesh["shade"],
                        outline=mesh["outline"])
    r = MeshRenderer(mesh["faces"], len(mesh["vertices"]), cam.width, cam.height)
    try:
        maps = r.render(mesh["vertices"], [cam], ("toon", "parts", "normal"), vertex_attrs=attrs, style=style)
        # the same shading without ink lines: the surface colours (creases would hide thin dark parts)
        plain = MapStyle(toon=replace(style.toon, outline_width=0))
        maps["surface"] = r.render(mesh["vertices"], [cam], ("toon",), vertex_attrs=attrs, style=plain)["toon"]
    finally:
        r.release()
    light = cam.view[:3, :3].T @ style.toon.light  # camera -> world
    jobs = [{"vrm": str(p), "width": cam.width, "height": cam.height, "view": cam.view.T.reshape(-1).tolist(),
             "proj": cam.gl_projection().T.reshape(-1).tolist(), "light": light.tolist(), "rotateVrm0": fmt == "vrm0"}
            for fmt, p in paths.items()]
    return {k: v[0] for k, v in maps.items()}, style.toon, jobs


def erode(mask: np.ndarray, r: int = 1) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out &= np.roll(np.roll(mask, dy, 0), dx, 1)
    return out


def compare_look(preview: dict, toon_style, shot: dict, parts: list[str]) -> dict:
    """Silhouette IoU of a three-vrm screenshot against the preview of the same view (both inked) and,
    per part, CIEDE2000 of the median lit colours and the median pixel-wise CIEDE2000 of their surface
    colours (both drawn again without ink: the preview's lines, MToon's outlines). Part regions are
    where both renders show that part, one pixel in from its edges."""
    sil_a, sil_b = preview["toon"][..., 3] > 127, png_rgba(shot["color"])[..., 3] > 127
    mine, theirs = preview["surface"], png_rgba(shot["surface"])
    ids_rgba = png_rgba(shot["ids"])
    mesh_id = np.rint(ids_rgba[..., 0] / 4.0) + 64 * np.rint(ids_rgba[..., 1] / 4.0) - 1  # see render_vrm.mjs
    ids = np.where(ids_rgba[..., 3] > 127, mesh_id, -1)
    iou = float((sil_a & sil_b).sum() / max((sil_a | sil_b).sum(), 1))
    n = (preview["normal"].astype(np.float64) / 255.0) * 2 - 1
    n[..., 0] *= -1  # NormalBae colours -> OpenGL camera-space normal
    lit = (n @ toon_style.light + toon_style.shading_shift) > (1 - toon_style.shading_toony) + 0.05
    lab_a = srgb_to_lab(mine[..., :3] / 255.0)
    lab_b = srgb_to_lab(theirs[..., :3] / 255.0)
    per_part = {}
    for k, name in enumerate(parts):
        region = erode((preview["parts"][..., 0] == k) & (ids == k)) & lit & sil_a & sil_b
        if region.sum() < 30:
            continue
        med_a = np.median(mine[region][:, :3], axis=0) / 255.0
        med_b = np.median(theirs[region][:, :3], axis=0) / 255.0
        per_part[name] = {"pixels": int(region.sum()),
                          "median_de": float(delta_e2000(srgb_to_lab(med_a), srgb_to_lab(med_b))),
                          "pixel_de": float(np.median(delta_e2000(lab_a[region], lab_b[region]))),
                          "preview": (med_a * 255).round().tolist(), "viewer": (med_b * 255).round().tolist()}
    return {"iou": iou, "parts": per_part, "ids": ids, "lab_viewer": lab_b, "lab_preview": lab_a}


def iris_fraction(lab: np.ndarray, region: np.ndarray, iris_colours: np.ndarray) -> float:
    """Fraction of ``region``'s pixels within CIEDE2000 10 of one of the iris' vertex colours."""
    px = lab[region]
    ref = srgb_to_lab(iris_colours)
    de = delta_e2000(px[:, None, :], ref[None, :, :]).min(axis=1)
    return float((de < 10).mean()) if len(px) else 0.0
