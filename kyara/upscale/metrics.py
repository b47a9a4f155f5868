"""Figures that compare upscalers: PSNR, and the edge sharpness of line art."""

from __future__ import annotations

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two ``uint8`` images of one shape, dB (inf when equal)."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.shape != y.shape:
        raise ValueError(f"images of shapes {x.shape} and {y.shape} cannot be compared, expected one shape")
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def edge_sharpness(image: np.ndarray, top: float = 0.02) -> float:
    """How steep the edges are: the mean Sobel gradient magnitude of the ``top`` fraction of pixels
    with the strongest gradient, of the image as grey in [0, 1] (per pixel). A blurred edge spreads
    its contrast over more pixels and scores lower."""
    g = np.asarray(image, np.float64)
    if g.ndim == 3:
        g = g[..., :3].mean(axis=2)
    g = g / 255.0
    p = np.pad(g, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    mag = np.hypot(gx, gy).ravel() / 8.0
    k = max(1, int(round(top * mag.size)))
    return float(np.partition(mag, mag.size - k)[-k:].mean())


def line_art(size: int = 96, seed: int = 0) -> np.ndarray:
    """A line-art test pattern ``[size, size, 3] uint8``: black strokes (circles, lines, a spiral) on
    white, drawn at 4x and reduced with area averaging, so the edges are anti-aliased as a drawing's."""
    from PIL import Image, ImageDraw

    big = size * 4
    im = Image.new("L", (big, big), 255)
    d = ImageDraw.Draw(im)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        x0, y0 = rng.integers(0, big - big // 4, 2)
        r = int(rng.integers(big // 12, big // 4))
        d.ellipse([int(x0), int(y0), int(x0) + r, int(y0) + r], outline=0, width=int(rng.integers(4, 10)))
    for _ in range(6):
        pts = [tuple(int(v) for v in rng.integers(0, big, 2)) for _ in range(2)]
        d.line(pts, fill=0, width=int(rng.integers(4, 12)))
    t = np.linspace(0, 6 * np.pi, 200)
    spiral = [(big / 2 + t_ * big / 60 * np.cos(t_), big / 2 + t_ * big / 60 * np.sin(t_)) for t_ in t]
    d.line(spiral, fill=0, width=6)
    small = np.asarray(im.resize((size, size), Image.Resampling.BOX))
    return np.repeat(small[..., None], 3, axis=2)
