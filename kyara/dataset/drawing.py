"""Synthetic drawings for the ``drawings`` dataset kind: jittered ink strokes, optionally over
flat colours, on paper.

The strokes are the character's lineart (:mod:`kyara.render.edges`: contours, creases) warped
by a smooth random displacement of at most ``jitter`` pixels, thickened or thinned, with ink
pressure varying along them; the paper is an off-white tint with fine grain and a soft
low-frequency mottling. The labels of a drawing sample (mask, parts, UDP, keypoints) are those
of the clean render, so a stroke sits within ``jitter`` pixels of the edge it draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VARIANTS = ("lines", "flat")
INKS = ((0.08, 0.07, 0.09), (0.10, 0.12, 0.25), (0.22, 0.14, 0.10), (0.28, 0.28, 0.30))  # black, blue, sepia, graphite


@dataclass(frozen=True)
class DrawingStyle:
    """What :func:`draw` was asked to make (recorded in the sample's meta.json)."""

    variant: str  # VARIANTS
    ink: tuple[float, float, float]  # RGB in [0, 1]
    paper: tuple[float, float, float]  # RGB in [0, 1]
    jitter: float  # pixels, maximum stroke displacement
    thick: bool  # strokes dilated by one pixel

    def to_dict(self) -> dict:
        return {"variant": self.variant, "ink": [round(c, 4) for c in self.ink],
                "paper": [round(c, 4) for c in self.paper], "jitter_px": round(self.jitter, 4), "thick": self.thick}


def random_style(rng: np.random.Generator, size: int) -> DrawingStyle:
    variant = str(rng.choice(VARIANTS))
    ink = INKS[int(rng.integers(0, len(INKS)))]
    warm = float(rng.uniform(-0.03, 0.03))
    base = float(rng.uniform(0.9, 0.985))
    paper = (min(1.0, base + warm), base, max(0.0, min(1.0, base - warm - float(rng.uniform(0.0, 0.03)))))
    jitter = float(rng.uniform(0.3, 1.0)) * max(1.0, size / 128.0)
    thick = bool(rng.uniform() < 0.35) and size >= 192  # a 2-px stroke fills small drawings
    return DrawingStyle(variant, ink, paper, jitter, thick)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """``[h, w]`` noise in about [-1, 1], smooth over ``w / cells`` pixels (bicubic upsampling)."""
    from scipy.ndimage import zoom

    g = rng.uniform(-1.0, 1.0, size=(cells + 3, cells + 3))
    up = zoom(g, ((h + 8) / g.shape[0], (w + 8) / g.shape[1]), order=3, mode="nearest")
    return up[4:4 + h, 4:4 + w]


def paper(rng: np.random.Generator, h: int, w: int, tint: tuple[float, float, float]) -> np.ndarray:
    """``[h, w, 3]`` float paper in [0, 1]: tint, soft mottling and fine grain."""
    mottle = 0.015 * _smooth_noise(rng, h, w, 4)
    grain = rng.normal(0.0, 0.012, size=(h, w))
    return np.clip(np.asarray(tint)[None, None, :] + (mottle + grain)[..., None], 0.0, 1.0)


def strokes(rng: np.random.Generator, lineart: np.ndarray, jitter: float, thick: bool) -> np.ndarray:
    """``[H, W]`` float ink coverage in [0, 1] from a lineart map (uint8, white lines on black)."""
    from scipy.ndimage import grey_dilation, map_coordinates

    line = np.asarray(lineart, dtype=np.float32).reshape(lineart.shape[:2]) / 255.0
    h, w = line.shape
    cells = max(2, int(round(w / 24)))
    dy = jitter * _smooth_noise(rng, h, w, cells)
    dx = jitter * _smooth_noise(rng, h, w, cells)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = map_coordinates(line, [yy + dy, xx + dx], order=1, mode="constant", cval=0.0)
    if thick:
        warped = grey_dilation(warped, size=(2, 2))
    pressure = 0.75 + 0.25 * _smooth_noise(rng, h, w, cells)
    return np.clip(warped * pressure * 1.15, 0.0, 1.0)


def draw(rng: np.random.Generator, lineart: np.ndarray, flat_rgba: np.ndarray, style: DrawingStyle) -> np.ndarray:
    """The drawing ``[H, W, 3]`` uint8: paper, (``flat`` variant) the flat colours of ``flat_rgba``
    ``[H, W, 4]`` uint8 laid on it like marker, then the ink strokes."""
    h, w = lineart.shape[:2]
    img = paper(rng, h, w, style.paper)
    if style.variant == "flat":
        a = flat_rgba[..., 3:4].astype(np.float32) / 255.0
        fill = flat_rgba[..., :3].astype(np.float32) / 255.0
        img = img * (1.0 - a) + (fill * (0.85 + 0.15 * img)) * a  # paper grain shows through the colour
    ink = strokes(rng, lineart, style.jitter, style.thick)[..., None]
    img = img * (1.0 - ink) + np.asarray(style.ink)[None, None, :] * ink
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
