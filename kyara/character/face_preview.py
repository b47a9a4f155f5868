"""The face as the previews show it: the front preview with a map of which part each pixel shows,
head close-ups cropped from it, and the face contact sheet of the docs (``docs/faces.png``).

The renders use the same camera framing and toon style as ``kyara create``'s ``front.png``
(:func:`kyara.pose.views.pose_camera`, ink outlines 2 px), so what is measured here is what a user sees.

Regenerate the sheet with ``python -m kyara.character.face_preview docs/faces.png``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

SHEET_PROMPTS = ("an anime girl in a kimono, long black hair",
                 "a boy with short spiky blonde hair and red eyes in a hoodie",
                 "a witch with green eyes and pink twin tails")
BACKGROUND = (0.96, 0.95, 0.93)


@dataclass
class FrontPreview:
    """One front render: ``toon [H, W, 4]`` uint8, ``parts [H, W]`` uint8 (index into ``names``,
    255 = background), ``names`` of the rendered (opaque) parts, the ``camera``, the posed
    ``vertices [V, 3]`` of the merged opaque mesh, their ``part_id [V]`` (index into ``names``) and
    their ``rest [V, 3]`` positions (which side of the face a vertex belongs to)."""

    toon: np.ndarray
    parts: np.ndarray
    names: list[str]
    camera: object
    vertices: np.ndarray
    part_id: np.ndarray
    rest: np.ndarray

    def mask(self, name: str) -> np.ndarray:
        """``[H, W]`` bool: pixels that show part ``name``."""
        if name not in self.names:
            raise KeyError(f"part '{name}' is not in the preview, expected one of {', '.join(self.names)}")
        return self.parts == self.names.index(name)


def front_preview(character, pose=None, size: int = 256, morphs: dict[str, float] | None = None,
                  background=BACKGROUND) -> FrontPreview:
    """Render ``character`` (posed with ``pose``, a :class:`~kyara.pose.pose.Pose`; None = rest)
    from the front at ``size x size`` pixels, framed as ``kyara create`` frames its previews.

    ``morphs``: morph name -> weight applied to the rest mesh first (``{"blink": 1.0}``).
    """
    from kyara.pose.views import pose_camera
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    if not 16 <= int(size) <= 4096:
        raise ValueError(f"preview size {size} is out of range, expected 16..4096 pixels")
    keep = [p for p in character.parts if not p.material.transparent]
    if len(keep) > 255:
        raise ValueError(f"character has {len(keep)} opaque parts, the parts map holds at most 255")
    mesh = character.merged(opaque_only=True)
    rest = mesh["vertices"]
    verts = rest.copy()
    for k, w in (morphs or {}).items():
        start = 0
        for p in keep:
            if k in p.morphs:
                verts[start:start + len(p.vertices)] += float(w) * p.morphs[k]
            start += len(p.vertices)
    mesh = dict(mesh, vertices=verts)
    if pose is not None:
        verts, _ = character.pose(pose, mesh)
    cam = pose_camera(verts, "front", (size, size))
    # merged() numbers parts over all parts; the map numbers the opaque ones
    opaque = np.cumsum([0] + [0 if p.material.transparent else 1 for p in character.parts])
    labels = opaque[mesh["part_id"]].astype(np.uint8)
    attrs = VertexAttrs(parts=labels, base_color=mesh["base"], shade_color=mesh["shade"], outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=background, outline_width=2))
    r = MeshRenderer(mesh["faces"], len(verts), size, size)
    try:
        out = r.render(verts, [cam], ("toon", "parts"), vertex_attrs=attrs, style=style)
    finally:
        r.release()
    return FrontPreview(out["toon"][0], out["parts"][0][..., 0], [p.name for p in keep], cam, verts, labels, rest)


def head_box(character, preview: FrontPreview, margin: float = 0.3) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` pixels of a square round the head in ``preview``: centred between the
    eyes and the mouth, one head height plus ``margin`` on each side."""
    d = character.body.layout.dims
    names = preview.names
    pick = [names.index(n) for n in ("eye_whites", "mouth") if n in names]
    if len(pick) < 2:
        raise ValueError("the character has no face (eye_whites and mouth parts) to crop to")
    eyes = preview.vertices[preview.part_id == pick[0]]
    mouth = preview.vertices[preview.part_id == pick[1]]
    (pe, pm), _ = preview.camera.project(np.stack([eyes.mean(0), mouth.mean(0)]))
    eye_to_mouth = (d["eye_y"] - (d["crown"] - 0.86 * d["h"])) / d["h"]  # in head heights
    head_px = float(np.linalg.norm(pm - pe)) / eye_to_mouth
    up = (pe - pm) / max(float(np.linalg.norm(pm - pe)), 1e-9)
    centre = pe + up * 0.1 * head_px  # the head's middle is a little above the eyes (hair included)
    half = 0.5 * head_px * (1.0 + 2 * margin)
    x0, y0 = (centre - half).round().astype(int)
    side = int(round(2 * half))
    return int(x0), int(y0), int(x0 + side), int(y0 + side)


def face_closeup(character, pose=None, out_size: int = 256, render_size: int = 1536) -> np.ndarray:
    """``[out_size, out_size, 3]`` uint8: the front preview rendered at ``render_size`` and cropped
    to the head (what the full-body preview holds, magnified)."""
    from PIL import Image

    pv = front_preview(character, pose, render_size)
    x0, y0, x1, y1 = head_box(character, pv)
    img = _flatten(pv.toon)
    pad = max(0, -x0, -y0, x1 - img.shape[1], y1 - img.shape[0])
    if pad:
        bg = np.array(BACKGROUND) * 255
        img = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), constant_values=0)
        img[:pad], img[-pad:], img[:, :pad], img[:, -pad:] = bg, bg, bg, bg
    crop = img[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    return np.asarray(Image.fromarray(crop).resize((out_size, out_size), Image.LANCZOS))


def _flatten(rgba: np.ndarray) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * a + np.array(BACKGROUND) * 255 * (1 - a)).round().astype(np.uint8)


def face_sheet(path: str | os.PathLike, prompts=SHEET_PROMPTS, seed: int = 0, out_size: int = 256) -> np.ndarray:
    """Build each prompt's character, posed as ``kyara create`` poses it, and write the row of
    head close-ups to ``path`` (PNG). Returns the sheet ``[out_size, n * out_size, 3]``."""
    from PIL import Image

    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt
    from kyara.fileio import atomic_path
    from kyara.pose.presets import get_pose

    tiles = []
    for prompt in prompts:
        spec = parse_prompt(prompt, seed)
        ch = build_character(spec)
        pose = get_pose(spec.pose_hint or "stand", ch.body.params)
        tiles.append(face_closeup(ch, pose, out_size))
    sheet = np.concatenate(tiles, axis=1)
    with atomic_path(path) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    return sheet


if __name__ == "__main__":  # pragma: no cover - regenerates docs/faces.png
    import sys

    face_sheet(sys.argv[1] if len(sys.argv) > 1 else "docs/faces.png")
