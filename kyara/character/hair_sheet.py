"""The hair-style contact sheet (``docs/hair_styles.png``): every style and variant, front and side,
cel-shaded in the standing pose with the spring chains settled, framed from above the crown to the
waist.

Run: ``.venv/bin/python -m kyara.character.hair_sheet [out.png]``. :func:`bust_views` is the
renderer the sheet (and the hair tests) use.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# (caption, prompt) of every sheet entry, one per style or variant
SHEET = (
    ("short", "a girl with a brown pixie cut and side bangs"),
    ("bob", "a girl with a black bob cut and blunt bangs"),
    ("long", "a girl with long silver hair down, parted bangs"),
    ("hime cut", "a girl with a black hime cut"),
    ("high ponytail", "a girl with long blonde hair in a high ponytail"),
    ("low ponytail", "a girl with long chestnut hair in a low ponytail"),
    ("side ponytail", "a girl with a pink side ponytail"),
    ("twin tails", "a girl with light blue twin tails"),
    ("buns (odango)", "a girl with blonde odango buns"),
    ("drill curls", "a girl with golden drill curls"),
    ("braid", "a girl with a long auburn braid"),
    ("spiky", "a boy with spiky red hair"),
    ("wavy", "a girl with long wavy lavender hair down"),
    ("curly", "a girl with medium curly chestnut hair in a bob"),
    ("ahoge", "a boy with a black pixie cut and an ahoge"),
    ("two-tone", "a girl with long pink hair down with blue tips"),
)
BG = (246, 244, 240)


def bust_cameras(character, views=("front", "side"), size: tuple[int, int] = (256, 320)) -> list:
    """Cameras framing ``character`` from above the crown to the waist (rest-pose box), one per view."""
    from kyara.body.skeleton import BONE_INDEX
    from kyara.render.camera import view_camera

    d = character.body.layout.dims
    j = character.body.rest_joints
    waist_y = 0.5 * float(j[BONE_INDEX["hips"]][1] + j[BONE_INDEX["chest"]][1])
    half = 0.5 * (d["crown"] - waist_y)
    lo = np.array([-0.9 * half, waist_y, -0.5 * d["D"] - 0.4 * d["h"]])
    hi = np.array([0.9 * half, d["crown"] + 0.15 * d["h"], 0.5 * d["D"] + 0.2 * d["h"]])
    return [view_camera(v, lo, hi, size=size, margin=1.02) for v in views]


def bust_views(character, views=("front", "side"), size: tuple[int, int] = (256, 320), pose: str | None = "stand",
               maps=("toon",), scale: int = 2) -> dict[str, np.ndarray]:
    """Render ``maps`` of ``character`` (chains settled in the named ``pose``; None = rest pose) from
    ``views`` with :func:`bust_cameras`: ``{map: [N, H, W, C]}``, plus ``"part_id"`` ``[N, H, W]`` (index into
    ``character.parts``, -1 on the background) when ``"parts"`` is asked for. Drawn at ``scale`` x
    and reduced (smooth lines) for the toon map; use ``scale=1`` to measure colours."""
    from kyara.pose.presets import get_pose
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    if len(character.parts) > 254:
        raise ValueError(f"character has {len(character.parts)} parts, the parts map holds at most 254")
    mesh = character.merged(opaque_only=True)
    if pose is None:
        verts = mesh["vertices"]
    else:
        verts, _ = character.pose(get_pose(pose, character.body.params), mesh)
    W, H = size[0] * scale, size[1] * scale
    cams = bust_cameras(character, views, (W, H))
    attrs = VertexAttrs(parts=(mesh["part_id"] + 1).astype(np.uint8), udp=None, base_color=mesh["base"],
                        shade_color=mesh["shade"], outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=tuple(c / 255 for c in BG), outline_width=2 * scale))
    r = MeshRenderer(mesh["faces"], len(verts), W, H)
    try:
        out = r.render(verts, cams, maps, vertex_attrs=attrs, style=style)
    finally:
        r.release()
    if "toon" in out and scale > 1:
        from PIL import Image

        out["toon"] = np.stack([np.asarray(Image.fromarray(t[..., :3]).resize(size, Image.LANCZOS)) for t in out["toon"]])
    if "parts" in out:
        p = out["parts"][..., 0].astype(np.int32)
        out["part_id"] = np.where(p == 255, -1, p - 1)
    return out


def make_sheet(path: str | Path, entries=SHEET, seed: int = 0, columns: int = 4) -> Path:
    """Write the contact sheet of ``entries`` ((caption, prompt) pairs): front + side per entry."""
    from PIL import Image, ImageDraw

    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt

    tiles = []
    for caption, prompt in entries:
        c = build_character(parse_prompt(prompt, seed))
        views = bust_views(c)["toon"]
        tile = Image.fromarray(np.concatenate(list(views), axis=1))
        canvas = Image.new("RGB", (tile.width, tile.height + 18), BG)
        canvas.paste(tile, (0, 18))
        ImageDraw.Draw(canvas).text((6, 3), caption, fill=(40, 40, 40))
        tiles.append(canvas)
    rows = (len(tiles) + columns - 1) // columns
    tw, th = tiles[0].size
    sheet = Image.new("RGB", (columns * tw, rows * th), BG)
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % columns) * tw, (i // columns) * th))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)  # cel shading: few colours
    return out


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = args[0] if args else str(Path(__file__).resolve().parents[2] / "docs" / "hair_styles.png")
    print("wrote", make_sheet(out))


if __name__ == "__main__":
    main()
