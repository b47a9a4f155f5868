"""Step 1 of :func:`kyara.drawing.lift`: which pixels of the drawing are the character.

Three sources, in this order (:func:`character_mask`):

1. a mask the caller gives (``--mask MASK``: grey, 128 and above = character; same size as the image);
2. the image's own alpha, when it has transparent pixels (alpha 128 and above = character);
3. automatic segmentation of a drawing on paper (:func:`paper_mask`), in the spirit of
   AnimatedDrawings' image-processing recipe but measured against the paper itself, so coloured
   paper and unevenly lit photos of paper work too:

   a. the paper's colour and noise are read from a band along the image border;
   b. the paper as it is lit is estimated everywhere by a large median filter (strokes and small
      fills are a minority in every window, so they vanish; the slow shading of a photo stays);
   c. ink = pixels that differ from that estimate, or from the paper's colour, by more than the
      paper's own noise allows (largest channel difference: coloured ink on coloured paper counts);
   d. strokes are closed over small gaps, the background is flood-filled from the border, and what
      the fill cannot reach is the character (a line drawing's inside is paper too, so every
      enclosed hole is filled, as AnimatedDrawings does);
   e. the largest figure is kept; specks (a signature, dust) are dropped.

Then the checks every source goes through, each a one-line ``ValueError``:

* an image under :data:`MIN_SIDE` pixels on a side;
* no character (blank paper; an empty mask);
* a second figure at least :data:`SECOND_FIGURE` of the first one's area (two characters);
* no clear background: the paper band along the border is not one colour, or the character
  covers more than :data:`MAX_COVER` of the image;
* the character touches the image's edge along more than :data:`EDGE_TOUCH` of a side (cut off by
  the crop; a fingertip touching it is fine).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MIN_SIDE = 64  # pixels: the smallest side a drawing may have
WORK_SIDE = 512  # pixels: automatic segmentation runs at most at this long side
BORDER_BAND = 0.03  # share of the short side read as paper along the border
SECOND_FIGURE = 0.25  # a second figure this large (share of the first one's area) = two characters
SPECK = 0.02  # figures smaller than this share of the largest one are dropped
MAX_COVER = 0.9  # the character may cover at most this share of the image
MIN_COVER = 0.003  # ... and at least this share (else: blank paper)
EDGE_TOUCH = 0.1  # share of a side's length the character may touch
BUSY_BORDER = 0.35  # more than this share of the border band unlike the paper: no clear background
NOISY_PAPER = 0.3  # an ink threshold above this (the border's own noise): no clear background
SIDES = ("top", "bottom", "left", "right")


@dataclass
class MaskResult:
    """The character's mask and how it was found."""

    mask: np.ndarray  # [H, W] bool, pixels of the input image
    source: str  # "given" | "alpha" | "paper"
    paper: tuple[float, float, float] | None = None  # sRGB [0, 1]: the paper's colour (automatic)
    notes: list[str] = field(default_factory=list)


# -- reading ------------------------------------------------------------------------------------
def read_drawing(path: str | os.PathLike, label: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """An image file -> (``[H, W, 3] uint8`` RGB, ``[H, W] uint8`` alpha or None), EXIF orientation
    applied. The file goes through :func:`kyara.fileio.load_image` (bombs and corrupt files refused)."""
    from PIL import ImageOps

    from kyara.fileio import load_image

    im = load_image(path, "drawing", label=label)
    try:
        im = ImageOps.exif_transpose(im) or im
    except Exception:  # noqa: BLE001 - a broken EXIF block is no reason to refuse the pixels
        pass
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    if has_alpha:
        a = np.asarray(im.convert("RGBA"))
        return np.ascontiguousarray(a[..., :3]), np.ascontiguousarray(a[..., 3])
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        g = np.asarray(im, dtype=np.float64)
        g = np.clip(g / max(float(g.max(initial=1.0)), 1.0) * 255.0, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2), None
    return np.ascontiguousarray(np.asarray(im.convert("RGB"))), None


def as_drawing(image) -> tuple[np.ndarray, np.ndarray | None]:
    """A path or a numpy image (``[H, W]``, ``[H, W, 3]`` or ``[H, W, 4]``, uint8 or float in [0, 1])
    -> (RGB uint8, alpha uint8 or None). Checks the size (:data:`MIN_SIDE`)."""
    if isinstance(image, (str, os.PathLike)):
        rgb, alpha = read_drawing(image)
        shown = f"drawing '{Path(image)}'"
    elif isinstance(image, np.ndarray):
        a = np.asarray(image)
        if a.ndim == 2:
            a = a[..., None]
        if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
            raise ValueError(f"drawing has shape {np.shape(image)}, expected [H, W], [H, W, 3] or [H, W, 4]")
        if np.issubdtype(a.dtype, np.floating):
            if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
                raise ValueError("drawing has float values outside [0, 1], expected floats in [0, 1] or uint8")
            a = np.rint(a * 255.0).astype(np.uint8)
        elif a.dtype != np.uint8:
            raise ValueError(f"drawing has dtype {a.dtype}, expected uint8 or float in [0, 1]")
        rgb = np.repeat(a, 3, axis=2) if a.shape[2] == 1 else np.ascontiguousarray(a[..., :3])
        alpha = np.ascontiguousarray(a[..., 3]) if a.shape[2] == 4 else None
        shown = "drawing"
    else:
        raise ValueError(f"drawing is a {type(image).__name__}, expected a file path or a numpy image")
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"{shown} is {w}x{h} pixels, expected at least {MIN_SIDE} pixels on each side")
    return rgb, alpha


def read_mask(mask, shape: tuple[int, int]) -> np.ndarray:
    """A given mask (path or array; grey 128 and above / True / > 0.5 = character) -> ``[H, W]`` bool
    of ``shape``."""
    if isinstance(mask, (str, os.PathLike)):
        from kyara.fileio import load_image

        im = load_image(mask, "mask")
        a = np.asarray(im.convert("RGBA"))
        has_alpha = im.mode in ("RGBA", "LA", "PA") and (a[..., 3] < 255).any()
        m = (a[..., 3] >= 128) if has_alpha and np.ptp(a[..., :3]) == 0 else (np.asarray(im.convert("L")) >= 128)
        shown = f"mask '{Path(mask)}'"
    else:
        a = np.asarray(mask)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim != 2:
            raise ValueError(f"mask has shape {a.shape}, expected [H, W]")
        if a.dtype == bool:
            m = a
        elif np.issubdtype(a.dtype, np.floating):
            m = a > 0.5
        else:
            m = a >= 128
        shown = "mask"
    if m.shape != tuple(shape):
        raise ValueError(f"{shown} is {m.shape[1]}x{m.shape[0]} pixels, expected the drawing's {shape[1]}x{shape[0]}")
    return m.astype(bool)


# -- the automatic mask -------------------------------------------------------------------------
def _resize(a: np.ndarray, w: int, h: int, nearest: bool = False) -> np.ndarray:
    import cv2

    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if w < a.shape[1] else cv2.INTER_LINEAR)
    return cv2.resize(a, (w, h), interpolation=interp)


def _border_band(h: int, w: int) -> np.ndarray:
    b = max(2, int(round(BORDER_BAND * min(h, w))))
    band = np.zeros((h, w), dtype=bool)
    band[:b], band[-b:], band[:, :b], band[:, -b:] = True, True, True, True
    return band


def _disk(r: int) -> np.ndarray:
    import cv2

    r = max(1, int(r))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _max_channel(a: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(a[..., 0], a[..., 1]), a[..., 2])


def paper_model(rgb: np.ndarray, band: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` float32 in [0, 1]: the paper's colour as lit, a quadratic in x and y fitted per
    channel (robustly: twice, dropping the worst fitting fifth) to the border band's pixels."""
    h, w = rgb.shape[:2]
    yy, xx = np.nonzero(band)
    u, v = xx / max(w - 1, 1) - 0.5, yy / max(h - 1, 1) - 0.5
    A = np.stack([np.ones_like(u), u, v, u * v, u * u, v * v], axis=1)
    y = rgb[yy, xx].astype(np.float64) / 255.0
    keep = np.ones(len(u), dtype=bool)
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(A[keep], y[keep], rcond=None)
        err = np.abs(A @ coef - y).max(axis=1)
        keep = err <= np.quantile(err, 0.8)
    gu = (np.arange(w) / max(w - 1, 1) - 0.5)[None, :]
    gv = (np.arange(h) / max(h - 1, 1) - 0.5)[:, None]
    terms = (np.ones((h, w)), gu + 0 * gv, gv + 0 * gu, gu * gv, gu * gu + 0 * gv, gv * gv + 0 * gu)
    return np.clip(sum(t[..., None] * coef[k][None, None, :] for k, t in enumerate(terms)), 0.0, 1.0).astype(np.float32)


def ink_map(rgb: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(difference from the paper ``[H, W]`` float32 in [0, 1], its threshold, paper colour [3] in
    [0, 1]) of an RGB uint8 image: steps a-c of the module doc. The difference is the one from the
    smooth paper model (:func:`paper_model`); where it is under three thresholds it counts only when
    the pixel also differs from the paper as lit nearby (a median filter), so the soft shading of a
    photo is not ink but faint strokes are."""
    import cv2

    h, w = rgb.shape[:2]
    band = _border_band(h, w)
    paper = np.median(rgb[band], axis=0) / 255.0
    model = np.clip(np.rint(paper_model(rgb, band) * 255.0), 0, 255).astype(np.uint8)
    colour = _max_channel(cv2.absdiff(rgb, model)).astype(np.float32) / 255.0
    ref = colour[band]
    med = float(np.median(ref))
    sigma = 1.4826 * float(np.median(np.abs(ref - med)))
    threshold = max(0.08, med + 6.0 * sigma)
    k = max(3, (max(h, w) // 8) | 1)
    lit = cv2.merge([cv2.medianBlur(np.ascontiguousarray(rgb[..., c]), k) for c in range(3)])
    local = _max_channel(cv2.absdiff(rgb, lit)).astype(np.float32) / 255.0
    d = np.where((colour > 3.0 * threshold) | (local > 0.5 * threshold), colour, np.minimum(colour, 0.5 * threshold))
    return d, threshold, paper


def paper_mask(rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float], list[str]]:
    """The automatic mask of a drawing on paper (module doc, steps a-e) -> (``[H, W]`` bool, paper
    colour, notes). Raises ``ValueError`` for blank paper and for a background that is not paper."""
    import cv2

    H, W = rgb.shape[:2]
    s = min(1.0, WORK_SIDE / max(H, W))
    h, w = max(1, round(H * s)), max(1, round(W * s))
    small = _resize(rgb, w, h) if s < 1.0 else rgb
    d, t, paper = ink_map(small)
    band = _border_band(h, w)
    colour = _max_channel(np.abs(small[band].astype(np.float32) / 255.0 - paper[None, :]))
    if t > NOISY_PAPER or float((colour > 3.0 * t).mean()) > BUSY_BORDER:
        raise ValueError("the drawing has no clear background: the border is not one paper colour, "
                         "expected a drawing on plain paper (or pass --mask)")
    ink = (d > t).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    speck = max(4, int(2e-5 * h * w))
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= speck
    ink = keep[lab].astype(np.uint8)
    if ink.sum() < MIN_COVER * h * w * 0.2:
        raise ValueError("no drawing found: the image looks like blank paper, expected a character drawn on it")
    r = max(1, int(round(0.008 * max(h, w))))
    closed = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, _disk(r))
    # flood the background from the border (a one-pixel frame of background around the image)
    framed = np.pad(closed, 1, constant_values=0)
    flood = framed.copy()
    ff = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(flood, ff, (0, 0), 2)
    inside = (flood[1:-1, 1:-1] != 2)
    m = cv2.morphologyEx(inside.astype(np.uint8), cv2.MORPH_OPEN, _disk(max(1, r // 2)))
    # strokes of the figure that run into the image's edge: the crop cut it (its inside leaked out)
    n2, lab2 = cv2.connectedComponents(closed, connectivity=8)
    touching = np.unique(lab2[cv2.dilate(m, np.ones((3, 3), np.uint8)) > 0])
    figure_ink = np.isin(lab2, touching[touching > 0])
    for side, edge in (("top", figure_ink[0]), ("bottom", figure_ink[-1]), ("left", figure_ink[:, 0]),
                       ("right", figure_ink[:, -1])):
        if int(edge.sum()) >= 3:
            raise ValueError(f"the drawing touches the image's {side} edge: it looks cut off by the crop, expected "
                             "a margin of paper around the whole figure (or pass --mask)")
    if s < 1.0:
        m = (_resize(m.astype(np.float32), W, H) >= 0.5).astype(np.uint8)
    notes = [f"automatic mask: paper colour #{''.join(f'{round(255 * c):02x}' for c in paper)}, ink threshold {t:.3f}"]
    return m.astype(bool), tuple(float(c) for c in paper), notes


# -- checks -------------------------------------------------------------------------------------
def keep_figure(mask: np.ndarray) -> np.ndarray:
    """The largest figure of ``mask``; ``ValueError`` when a second one is at least
    :data:`SECOND_FIGURE` of its area; specks under :data:`SPECK` are dropped, other small pieces too."""
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        raise ValueError("no character found: the mask is empty, expected one figure")
    area = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    order = np.argsort(area)[::-1]
    if len(order) > 1 and area[order[1]] >= SECOND_FIGURE * area[order[0]]:
        many = int((area >= SECOND_FIGURE * area[order[0]]).sum())
        raise ValueError(f"found {many} separate figures of similar size, expected one character "
                         "(crop the drawing to one, or pass --mask)")
    return lab == (order[0] + 1)


def fill_small_holes(mask: np.ndarray, max_share: float = 0.002) -> np.ndarray:
    """``mask`` with enclosed holes under ``max_share`` of the image filled."""
    import cv2

    holes = (~mask).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    h, w = mask.shape
    touches = np.zeros(n, dtype=bool)
    for edge in (lab[0], lab[-1], lab[:, 0], lab[:, -1]):
        touches[np.unique(edge)] = True
    small = (stats[:, cv2.CC_STAT_AREA] < max_share * h * w) & ~touches
    small[0] = False
    return mask | small[lab]


def edge_contact(mask: np.ndarray) -> dict[str, float]:
    """Share of each side (top, bottom, left, right) the mask touches."""
    return {"top": float(mask[0].mean()), "bottom": float(mask[-1].mean()),
            "left": float(mask[:, 0].mean()), "right": float(mask[:, -1].mean())}


def check_mask(mask: np.ndarray, what: str = "the character") -> None:
    """The size and edge checks of the module doc (``ValueError``)."""
    h, w = mask.shape
    cover = float(mask.mean())
    if cover < MIN_COVER:
        raise ValueError(f"{what} covers {100 * cover:.2f} % of the image, expected at least "
                         f"{100 * MIN_COVER:g} % (a blank page, or a drawing too small to lift)")
    if cover > MAX_COVER:
        raise ValueError(f"{what} covers {100 * cover:.0f} % of the image: no clear background, expected a "
                         "figure on plain paper with a margin around it (or pass --mask)")
    touch = edge_contact(mask)
    side = max(touch, key=touch.get)
    if touch[side] > EDGE_TOUCH:
        raise ValueError(f"{what} touches the image's {side} edge along {100 * touch[side]:.0f} % of it: it "
                         "looks cut off by the crop, expected a margin around the whole figure")


def character_mask(rgb: np.ndarray, alpha: np.ndarray | None = None, mask=None) -> MaskResult:
    """The character's mask of a drawing ``rgb [H, W, 3] uint8`` (module doc): from ``mask`` when
    given, else from ``alpha`` when it has transparent pixels, else automatic. Raises ``ValueError``
    naming the problem for every check of the module doc."""
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"drawing is {w}x{h} pixels, expected at least {MIN_SIDE} pixels on each side")
    notes: list[str] = []
    paper = None
    if mask is not None:
        m, source = read_mask(mask, (h, w)), "given"
    elif alpha is not None and (alpha < 128).any():
        m, source = alpha >= 128, "alpha"
    else:
        m, paper, notes = paper_mask(rgb)
        source = "paper"
    if not m.any():
        raise ValueError("no character found: the mask is empty, expected one figure"
                         if source != "paper" else "no drawing found: the image looks like blank paper")
    m = fill_small_holes(keep_figure(m))
    check_mask(m)
    return MaskResult(m, source, paper, notes)
