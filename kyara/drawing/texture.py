"""Step 4 of :func:`kyara.drawing.lift`: colours from the drawing, and its line style.

* **Line style** (:func:`measure_strokes`): ink = pixels darker than the paper or fill around
  them by more than the paper's noise allows (:func:`kyara.drawing.segment.ink_map`'s rule, on
  the luma); the stroke width is twice the median distance-to-edge on the strokes' centre lines,
  the ink colour the median colour of the strokes' cores. The renders of the lifted character
  draw their toon outlines in that width (scaled to the render) and colour, so the animated
  frames keep the drawing's line style.
* **Front** (:func:`textures`): the drawing with its outer contour band (the silhouette's own
  stroke, :attr:`band` pixels wide from the mask's edge) inpainted from the inside: the outline is
  redrawn by the renderer along the lifted shape's silhouette, which is where it belongs once the
  character moves. Inner lines (eyes, clothes) stay.
* **Back**: the same image seen from behind, so mirrored with the body (a vertex at drawing pixel
  (x, y) on the back shows that pixel); the head's inner lines (the face) are inpainted too, so the
  back of the head shows hair and skin, not a second face.

Colours reach the mesh per vertex (:func:`vertex_colours`), sampled with a box of one grid cell; the
body behind an arm drawn across the torso takes the colours around the arm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LineStyle:
    """The drawing's strokes."""

    width_px: float  # stroke width, drawing pixels
    ink: tuple[float, float, float]  # sRGB [0, 1]
    coverage: float  # share of the figure's pixels that are ink

    def to_dict(self) -> dict:
        return {"stroke_width_px": round(self.width_px, 3), "ink": [round(c, 4) for c in self.ink],
                "ink_coverage": round(self.coverage, 4)}


def ink_pixels(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``[H, W]`` bool: strokes on or next to the figure: darker than the paper as lit there
    (:func:`kyara.drawing.segment.ink_map`) and thin (dark fills wider than 3 % of the image are
    fills, not strokes)."""
    import cv2

    from kyara.drawing.segment import ink_map

    d, t, _ = ink_map(rgb)
    h, w = mask.shape
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    k = max(3, (max(h, w) // 8) | 1)
    darker = cv2.medianBlur(luma, k).astype(np.float32) - luma.astype(np.float32) > 255.0 * 0.5 * t
    cand = ((d > t) & darker).astype(np.uint8)
    cand = cv2.morphologyEx(cand, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    r = max(3, int(round(0.015 * max(h, w))))
    fill = cv2.morphologyEx(cand, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    near = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return near & (cand > 0) & ~(cv2.dilate(fill, np.ones((3, 3), np.uint8)) > 0)


def measure_strokes(rgb: np.ndarray, mask: np.ndarray, ink: np.ndarray | None = None) -> LineStyle:
    """The drawing's stroke width and ink colour (module doc); a drawing without strokes (flat
    colours only) gets a 1-pixel dark line. ``ink``: :func:`ink_pixels` when already computed."""
    import cv2
    from skimage.morphology import skeletonize

    ink = ink_pixels(rgb, mask) if ink is None else ink
    cover = float(ink.sum() / max(1, mask.sum()))
    if ink.sum() < 20:
        return LineStyle(1.0, (0.1, 0.1, 0.12), cover)
    dt = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 5)
    centre = skeletonize(ink) & (dt > 0)
    r = dt[centre] if centre.any() else dt[ink]
    width = float(np.clip(2.0 * np.median(r) - 1.0, 1.0, 64.0))
    core = ink & (dt >= max(1.0, 0.5 * float(np.median(r))))
    ink_rgb = np.median(rgb[core if core.sum() >= 10 else ink].astype(np.float64), axis=0) / 255.0
    return LineStyle(width, tuple(float(c) for c in ink_rgb), cover)


def contour_band(mask: np.ndarray, width_px: float) -> np.ndarray:
    """``[H, W]`` bool: the figure's pixels within ``width_px`` of its edge."""
    import cv2

    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    return mask & (inside <= width_px)


def fill_from_nearest(image: np.ndarray, holes: np.ndarray, blur: float = 0.0) -> np.ndarray:
    """``image [H, W, C]`` with the ``holes [H, W]`` pixels replaced by the colour of the nearest
    pixel that is not a hole (a fast inpainting), optionally softened by a Gaussian of ``blur``
    pixels inside the holes."""
    import cv2
    from scipy.ndimage import distance_transform_edt

    if not holes.any() or holes.all():
        return image
    _, (iy, ix) = distance_transform_edt(holes, return_indices=True)
    out = image[iy, ix]
    if blur > 0.5:
        soft = cv2.GaussianBlur(out, (0, 0), blur)
        out = np.where(holes[..., None], soft, out)
    return out


def textures(rgb: np.ndarray, mask: np.ndarray, style: LineStyle, head: np.ndarray | None = None,
             ink: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(front, back) ``[H, W, 3] uint8`` images the mesh takes its colours from (module doc).
    ``head``: ``[H, W]`` bool, the head's pixels (its inner lines are removed from the back); ``ink``:
    :func:`ink_pixels` when already computed. Pixels
    off the figure take the colour of the nearest figure pixel, so a sample straddling the outline
    never picks up paper."""
    band = contour_band(mask, 1.5 * style.width_px + 1.5)
    core = mask & ~band
    if core.sum() < 0.05 * mask.sum():  # a figure all outline: keep its pixels
        core = mask
    soft = max(1.0, 0.5 * style.width_px)
    front = fill_from_nearest(rgb, ~core, soft)
    back = front
    if head is not None and head.any():
        import cv2

        lines = (ink_pixels(rgb, mask) if ink is None else ink) & head & core
        lines = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        if lines.any():
            back = fill_from_nearest(front, lines | ~core, soft)
    return front, back


def sample_grid(image: np.ndarray, to_grid: tuple[float, float, float], shape: tuple[int, int]) -> np.ndarray:
    """The image averaged over each grid cell and sampled at the grid points -> ``[rows, cols, C]``
    float32 in [0, 1]; ``to_grid`` = (scale, x0, y0) as in :class:`kyara.drawing.inflate.Inflated`."""
    import cv2

    scale, ox, oy = to_grid
    img = image.astype(np.float32) / 255.0
    sigma = 0.4 / scale
    if sigma > 0.5:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    M = np.array([[1.0 / scale, 0.0, ox], [0.0, 1.0 / scale, oy]], dtype=np.float64)
    rows, cols = shape
    out = cv2.warpAffine(img, M, (cols, rows), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows, cols, -1)


def behind_layers(front: np.ndarray, back: np.ndarray, mask: np.ndarray, covered: np.ndarray,
                  style: LineStyle) -> tuple[np.ndarray, np.ndarray]:
    """(front, back) ``[H, W, 3] uint8`` images for the body behind the front layers: the ``covered``
    pixels (``[H, W]`` bool, an arm across the torso and its outline) and the outline band refilled
    from the figure's own inner pixels, so the torso under an arm has the torso's colours."""
    import cv2

    k = 2 * int(np.ceil(style.width_px)) + 3
    hole = cv2.dilate(covered.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    hole |= ~(mask & ~contour_band(mask, 1.5 * style.width_px + 1.5))
    if hole.all():
        return front, back
    soft = max(1.0, 0.5 * style.width_px)
    return fill_from_nearest(front, hole, soft), fill_from_nearest(back, hole, soft)


def vertex_colours(inflated, front: np.ndarray, back: np.ndarray, behind: tuple | None = None) -> np.ndarray:
    """``[V, 3]`` float32 sRGB of the lifted mesh's vertices: front and rim from ``front``, back from
    ``back`` (both ``[H, W, 3] uint8`` drawing images). ``behind``: (front, back) images for the body
    layer's vertices when front layers cover it (:func:`behind_layers`)."""
    f = sample_grid(front, inflated.to_grid, inflated.grid_shape).reshape(-1, 3)
    b = sample_grid(back, inflated.to_grid, inflated.grid_shape).reshape(-1, 3)
    g = inflated.grid_index
    out = np.where((inflated.side == 1)[:, None], b[g], f[g])
    if behind is not None:
        fb = sample_grid(behind[0], inflated.to_grid, inflated.grid_shape).reshape(-1, 3)
        bb = sample_grid(behind[1], inflated.to_grid, inflated.grid_shape).reshape(-1, 3)
        body = inflated.layer == 0
        out[body] = np.where((inflated.side[body] == 1)[:, None], bb[g[body]], fb[g[body]])
    return np.clip(out, 0.0, 1.0).astype(np.float32)
