"""Pictures for the README: the seven body presets side by side, and the 17 named poses.

Run: .venv/bin/python scripts/make_body_sheets.py  (writes docs/bodies.png and docs/poses.png)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from kyara.body.model import build_body
from kyara.body.params import PRESET_NAMES
from kyara.pose.presets import POSE_NAMES, get_pose
from kyara.render.camera import view_camera
from kyara.render.maps import render_maps
from kyara.render.toon import MapStyle, ToonStyle

DOCS = Path(__file__).resolve().parents[1] / "docs"
STYLE = MapStyle(toon=ToonStyle(background=(0.97, 0.96, 0.94), outline_width=2))


def _toon(verts: np.ndarray, faces: np.ndarray, view, size, lo=None, hi=None, elevation=0.0) -> Image.Image:
    lo = verts.min(axis=0) if lo is None else lo
    hi = verts.max(axis=0) if hi is None else hi
    cam = view_camera(view, lo, hi, size=size, ortho=True, elevation_deg=elevation)
    img = render_maps(verts, faces, [cam], maps=("toon",), style=STYLE)["toon"][0]
    return Image.fromarray(img[..., :3] if img.shape[-1] == 4 else img)


def bodies_sheet() -> Image.Image:
    bodies = [build_body(n) for n in PRESET_NAMES]
    tallest = max(b.params.height for b in bodies)
    w, h = 220, 420
    sheet = Image.new("RGB", (w * len(bodies), h + 24), (247, 245, 240))
    draw = ImageDraw.Draw(sheet)
    for i, (name, b) in enumerate(zip(PRESET_NAMES, bodies)):
        v = b.vertices
        # same metres-per-pixel for every preset so heights compare
        half_w = 0.55 * tallest * w / h
        lo = np.array([-half_w, 0.0, v[:, 2].min()])
        hi = np.array([half_w, tallest * 1.02, v[:, 2].max()])
        a = get_pose("a-pose", b.params)
        pv, _ = b.pose(a)
        sheet.paste(_toon(pv, b.faces, "front", (w, h), lo, hi), (i * w, 0))
        draw.text((i * w + 8, h + 5), f"{name}  {b.params.heads_tall:g} heads", fill=(40, 40, 40))
    return sheet


def poses_sheet() -> Image.Image:
    b = build_body("teen-girl")
    cols, w, h = 6, 200, 260
    rows = -(-len(POSE_NAMES) // cols)
    sheet = Image.new("RGB", (cols * w, rows * (h + 20)), (247, 245, 240))
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(POSE_NAMES):
        pv, _ = b.pose(get_pose(name, b.params))
        img = _toon(pv, b.faces, 25.0, (w, h), elevation=8.0)
        x, y = (i % cols) * w, (i // cols) * (h + 20)
        sheet.paste(img, (x, y))
        draw.text((x + 8, y + h + 3), name, fill=(40, 40, 40))
    return sheet


if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    bodies_sheet().save(DOCS / "bodies.png", optimize=True)
    poses_sheet().save(DOCS / "poses.png", optimize=True)
    print("wrote", DOCS / "bodies.png", DOCS / "poses.png")
