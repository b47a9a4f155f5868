"""Drawing a Gaussian layer over kyara's mesh renders (``kyara render --gaussians``, ``kyara animate
--gaussians``).

Every frame: the mesh is rendered by kyara's renderer (the cel-shaded ``toon`` map and its
``metric_depth``), the layer is posed on the same posed vertices (its triangles carry it, see
:mod:`kyara.gaussians.binding`) and splatted with the mesh depth as the soft depth test
(:func:`kyara.gaussians.rasterize.rasterize_gaussians`), then composited over the toon image
(:func:`~kyara.gaussians.rasterize.composite_over`, premultiplied, alpha kept). Colours are the
images' own (sRGB values in [0, 1]), as in the refinement renders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from kyara.gaussians.layer import GaussianLayer
    from kyara.render.camera import Camera


def load_layer_for(path: str | os.PathLike, body):
    """Read ``path`` (:func:`kyara.gaussians.io.read_layer`) and check it is bound to ``body``'s mesh
    (``body.faces``, ``body.num_vertices``); one-line ``ValueError`` naming the file otherwise."""
    from kyara.gaussians.io import check_layer_mesh, read_layer

    layer = read_layer(path)
    try:
        check_layer_mesh(layer, np.asarray(body.faces), int(body.num_vertices))
    except ValueError as exc:
        raise ValueError(f"--gaussians {path}: {exc}") from None
    return layer


def draw_layer(image: np.ndarray, layer: GaussianLayer, vertices: np.ndarray, faces: np.ndarray, camera: Camera,
               metric_depth: np.ndarray) -> np.ndarray:
    """``image [H, W, 3|4]`` uint8 (a mesh render of ``camera``) with the layer on the posed mesh
    ``vertices [V, 3]`` drawn over it by depth (``metric_depth [H, W]`` metres, inf off the mesh).
    Returns a new uint8 array of the same shape (RGBA: premultiplied compositing, alpha added)."""
    import torch

    from kyara.gaussians.layer import render_layer

    img = np.asarray(image)
    h, w = img.shape[:2]
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"image has shape {img.shape} dtype {img.dtype}, expected [H, W, 3|4] uint8")
    if np.asarray(metric_depth).shape != (h, w):
        raise ValueError(f"metric_depth has shape {np.asarray(metric_depth).shape}, expected {(h, w)}")
    with torch.no_grad():
        out = render_layer(layer, np.asarray(vertices, np.float32), faces, camera,
                           torch.as_tensor(np.asarray(metric_depth, np.float32)))
        base = torch.as_tensor(img, dtype=torch.float32) / 255.0
        if img.shape[2] == 4:
            a = base[..., 3:]
            rgb = out.color + (1.0 - out.alpha)[..., None] * base[..., :3] * a
            alpha = out.alpha[..., None] + (1.0 - out.alpha)[..., None] * a
            res = torch.cat([rgb / alpha.clamp_min(1e-6), alpha], -1)
        else:
            res = out.color + (1.0 - out.alpha)[..., None] * base
    return np.clip(np.rint(res.numpy() * 255.0), 0, 255).astype(np.uint8)


def render_gaussian_views(out_dir: str | os.PathLike, body, vertices: np.ndarray, views: Sequence,
                          layer: GaussianLayer) -> list[Path]:
    """Write ``DIR/<view>_gaussians.png`` for every :class:`kyara.render.pipeline.View`: the toon map
    of ``body`` posed at ``vertices [V, 3]`` with the layer drawn over it. Returns the paths."""
    from PIL import Image

    from kyara.fileio import atomic_path
    from kyara.render.pipeline import make_renderer

    views = list(views)
    cams = [v.camera for v in views]
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    r = make_renderer(body, (cams[0].width, cams[0].height))
    written = []
    try:
        for view in views:
            maps = r.render(vertices, [view.camera], ("toon", "metric_depth"))
            img = draw_layer(maps["toon"][0], layer, vertices, body.faces, view.camera, maps["metric_depth"][0, ..., 0])
            p = d / f"{view.name}_gaussians.png"
            with atomic_path(p) as tmp:
                Image.fromarray(img).save(tmp, format="PNG")
            written.append(p)
    finally:
        r.release()
    return written


def animation_frames(body, motion, size: tuple[int, int], view, layer: GaussianLayer,
                     config=None) -> Iterator[np.ndarray]:
    """The frames ``[H, W, 3|4]`` uint8 of :func:`kyara.motion.animate.render_animation` (toon) with
    the layer drawn over each, posed on that frame's vertices."""
    from kyara.motion.animate import render_animation
    from kyara.render.maps import MeshRenderer

    w, h = size
    stream = render_animation(body, motion, (w, h), view, config, conditions=True)
    r = MeshRenderer(np.asarray(body.faces), int(body.num_vertices), int(w), int(h))
    try:
        for ch in stream:
            depth = r.render(ch.vertices, ch.cameras, ("metric_depth",))["metric_depth"][..., 0]
            for k, cam in enumerate(ch.cameras):
                yield draw_layer(ch.maps["toon"][k], layer, ch.vertices[k], body.faces, cam, depth[k])
    finally:
        r.release()
        stream.close()


def animate_with_gaussians(body, motion, output: str | os.PathLike, size: tuple[int, int], view,
                           layer: GaussianLayer, config=None) -> int:
    """Write the animation of ``motion`` with the layer drawn (``.mp4``/``.gif`` at ``motion.fps``,
    atomically); returns the number of frames."""
    from kyara.motion.animate import AnimateConfig
    from kyara.render.video import write_video

    cfg = config or AnimateConfig()
    n = motion.num_frames
    write_video(output, animation_frames(body, motion, size, view, layer, cfg), float(motion.fps), cfg.video,
                num_frames=n)
    return n
