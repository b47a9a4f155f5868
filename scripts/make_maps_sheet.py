"""Make the docs pictures of the renderer: ``docs/maps.png`` (every condition map of the ``jog``
pose on ``teen-girl``, front and 3/4 views, labelled) and ``docs/turntable.gif`` (36 cel-shaded
frames, 256 px).

Run: ``.venv/bin/python scripts/make_maps_sheet.py [--out-dir docs] [--size 320]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

BODY, POSE = "teen-girl", "jog"
VIEWS = ("front", 45.0)  # front and a 3/4 view from the character's left
LABEL_H = 30  # pixels of the column-title strip
ROW_LABEL_W = 44  # pixels of the row-title strip
SHEET_BG = (246, 246, 248)
TOON_BG = np.array([236, 238, 242], dtype=np.float32)  # behind the transparent toon map


def _tile(name: str, arr: np.ndarray) -> np.ndarray:
    """One map ``[H, W, C]`` as an RGB uint8 tile."""
    from kyara.render.previews import parts_preview, udp_preview

    if name == "udp":
        return udp_preview(arr)
    if name == "parts":
        return parts_preview(arr)
    if name == "toon":
        a = arr[..., 3:4].astype(np.float32) / 255.0
        return np.rint(arr[..., :3] * a + TOON_BG * (1.0 - a)).astype(np.uint8)
    if arr.shape[-1] == 1:
        return np.repeat(arr, 3, axis=-1)
    return arr


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def contact_sheet(size: int) -> "Image.Image":  # noqa: F821
    from PIL import Image, ImageDraw

    from kyara.body.model import build_body
    from kyara.pose.presets import get_pose
    from kyara.render.pipeline import RENDER_MAPS, RenderConfig, frame_views, render_views

    body = build_body(BODY)
    pose = get_pose(POSE, BODY)
    verts = body.pose(pose)[0]
    views = frame_views(verts, list(VIEWS), (size, size))
    res = render_views(body, pose, views, RenderConfig(maps=RENDER_MAPS), vertices=verts)

    cols, rows = len(RENDER_MAPS), len(views)
    sheet = Image.new("RGB", (ROW_LABEL_W + cols * size, LABEL_H + rows * size), SHEET_BG)
    draw = ImageDraw.Draw(sheet)
    font = _font(18)
    for c, m in enumerate(RENDER_MAPS):
        x = ROW_LABEL_W + c * size
        draw.text((x + size // 2, LABEL_H // 2), m, fill=(30, 30, 40), font=font, anchor="mm")
        for r, v in enumerate(views):
            sheet.paste(Image.fromarray(_tile(m, res.maps[m][r])), (x, LABEL_H + r * size))
    for r, v in enumerate(views):
        label = "front" if v.name == "front" else f"3/4 ({v.name})"
        txt = Image.new("RGB", (size, ROW_LABEL_W), SHEET_BG)
        ImageDraw.Draw(txt).text((size // 2, ROW_LABEL_W // 2), label, fill=(30, 30, 40), font=font, anchor="mm")
        sheet.paste(txt.rotate(90, expand=True), (0, LABEL_H + r * size))
    # thin separators between tiles
    for c in range(cols + 1):
        x = ROW_LABEL_W + c * size
        draw.line([(x, LABEL_H), (x, LABEL_H + rows * size)], fill=(120, 120, 130), width=1)
    for r in range(rows + 1):
        y = LABEL_H + r * size
        draw.line([(ROW_LABEL_W, y), (ROW_LABEL_W + cols * size, y)], fill=(120, 120, 130), width=1)
    return sheet


def turntable(path: Path, size: int = 256, frames: int = 36, fps: float = 12.0) -> Path:
    from kyara.body.model import build_body
    from kyara.pose.presets import get_pose
    from kyara.render.pipeline import render_turntable, write_animation

    body = build_body(BODY)
    stream = render_turntable(body, get_pose(POSE, BODY), frames, (size, size))
    return write_animation(path, stream, frames, fps)


def main() -> None:
    from kyara.fileio import write_bytes_atomic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parents[1] / "docs"))
    ap.add_argument("--size", type=int, default=320, help="tile size, pixels")
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    import io

    buf = io.BytesIO()
    contact_sheet(args.size).save(buf, format="PNG", optimize=True)
    sheet = write_bytes_atomic(out / "maps.png", buf.getvalue())
    gif = turntable(out / "turntable.gif")
    for p in (sheet, gif):
        print(f"wrote {p} ({p.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
