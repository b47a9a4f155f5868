"""Quick cel-shaded previews of a character (used by `kyara create`, docs and the geometry work)."""

from __future__ import annotations

import numpy as np


def character_views(character, pose=None, views=("front", "side", "back"), size=(512, 512),
                    maps=("toon",), background=(0.96, 0.95, 0.93), ortho: bool = False,
                    outline: int = 2) -> dict[str, np.ndarray]:
    """Render ``maps`` of the posed character from each view: ``{map: [N, H, W, C]}`` (``outline``:
    ink line width in pixels)."""
    from kyara.pose.views import pose_camera
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    mesh = character.merged(opaque_only=True)
    if pose is None:
        verts = mesh["vertices"]
    else:
        verts, _ = character.pose(pose, mesh)
    cams = [pose_camera(verts, v, size) if not ortho else _ortho(verts, v, size) for v in views]
    attrs = VertexAttrs(parts=None, udp=None, base_color=mesh["base"], shade_color=mesh["shade"], outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=background, outline_width=outline))
    r = MeshRenderer(mesh["faces"], len(verts), size[0], size[1])
    try:
        return r.render(verts, cams, maps, vertex_attrs=attrs, style=style)
    finally:
        r.release()


def _ortho(verts, view, size):
    from kyara.render.camera import view_camera

    return view_camera(view, verts.min(axis=0), verts.max(axis=0), size=size, ortho=True)


def save_sheet(path, images: list[np.ndarray]) -> None:
    """Side-by-side PNG of RGB(A) images (alpha composited on white)."""
    from PIL import Image

    tiles = []
    for im in images:
        im = np.asarray(im)
        if im.shape[-1] == 4:
            a = im[..., 3:4].astype(np.float32) / 255.0
            im = (im[..., :3] * a + 255 * (1 - a)).astype(np.uint8)
        tiles.append(im)
    Image.fromarray(np.concatenate(tiles, axis=1)).save(path)
