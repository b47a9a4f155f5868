"""The acceptance gallery for the README: AniDream's gallery prompts and PoseAnimeFlow's jogging
girl, front and back at 512 px per figure with a face close-up under each, cel-shaded
(docs/gallery.png), plus one prompt at three seeds (docs/seeds.png).

Run: .venv/bin/python scripts/make_gallery.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from kyara.character.build import build_character
from kyara.character.parser import parse_prompt
from kyara.character.preview import character_views
from kyara.paint.evaluate import GALLERY_PROMPTS
from kyara.pose.presets import get_pose

DOCS = Path(__file__).resolve().parents[1] / "docs"
PROMPTS = list(GALLERY_PROMPTS)  # (prompt, pose): the README gallery, one list with kyara eval paint's
BG = (246, 244, 240)


def _flat(img: np.ndarray) -> np.ndarray:
    a = img[..., 3:4].astype(np.float32) / 255.0
    return (img[..., :3] * a + np.array(BG) * (1 - a)).astype(np.uint8)


def _column(prompt: str, pose_name: str, seed: int = 0, w: int = 288, h: int = 512) -> Image.Image:
    from kyara.character.face_preview import face_closeup

    c = build_character(parse_prompt(prompt, seed))
    pose = get_pose(pose_name, c.body.params)
    # drawn at 2x and scaled down: smooth ink lines
    k = 2
    out = character_views(c, pose, ("front", "back"), (k * w, k * h), background=None, outline=2 * k)
    tiles = [np.asarray(Image.fromarray(_flat(t)).resize((w, h), Image.LANCZOS)) for t in out["toon"]]
    face = np.asarray(Image.fromarray(face_closeup(c, pose, out_size=w)))
    return Image.fromarray(np.concatenate([tiles[0], face, tiles[1]], axis=0))


def _label(img: Image.Image, text: str, width: int) -> Image.Image:
    canvas = Image.new("RGB", (img.width, img.height + 57), BG)
    canvas.paste(img, (0, 0))
    draw = ImageDraw.Draw(canvas)
    words, line, lines = text.split(), "", []
    for wd in words:
        if len(line) + len(wd) > 44:
            lines.append(line)
            line = wd
        else:
            line = f"{line} {wd}".strip()
    lines.append(line)
    for i, ln in enumerate(lines[:4]):
        draw.text((6, img.height + 3 + 13 * i), ln, fill=(40, 40, 40))
    return canvas


def _row(cols: list[Image.Image]) -> Image.Image:
    sheet = Image.new("RGB", (sum(c.width for c in cols), max(c.height for c in cols)), BG)
    x = 0
    for c in cols:
        sheet.paste(c, (x, 0))
        x += c.width
    return sheet


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    _row([_label(_column(p, pose), p, 288) for p, pose in PROMPTS]).save(DOCS / "gallery.png", optimize=True)
    seeds = [_label(_column("an anime girl", "stand", s), f"'an anime girl' --seed {s}", 288) for s in (1, 2, 3)]
    _row(seeds).save(DOCS / "seeds.png", optimize=True)
    print("wrote", DOCS / "gallery.png", DOCS / "seeds.png")


if __name__ == "__main__":
    main()
