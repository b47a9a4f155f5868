"""Cel-shading (MToon-style) and condition-map style settings, plus a numpy reference shader.

The GPU shader in :mod:`kyara.render.shaders` and :func:`toon_shade_reference` below compute the
same per-pixel colour; tests compare them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def _rgb(name: str, v) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape != (3,) or not np.all((a >= 0.0) & (a <= 1.0)):
        raise ValueError(f"{name} {v!r} is not an RGB triple in [0, 1]")
    return tuple(float(x) for x in a)


@dataclass(frozen=True)
class ToonStyle:
    """MToon-like cel shading. Colours are RGB in [0, 1] (written as-is, no gamma)."""

    light_dir: tuple[float, float, float] = (-0.4, 0.55, 0.75)  # towards the light, CAMERA space
    shading_shift: float = 0.0  # MToon shadingShiftFactor: > 0 grows the lit area
    shading_toony: float = 0.95  # MToon shadingToonyFactor: 1 = hard step, 0 = smooth
    tones: int = 2  # 2 = base/shade, 3 = adds a deep shade
    deep_shade_shift: float = -0.55  # N.L + shift below this gets the deep shade (tones=3)
    deep_shade_factor: float = 0.7  # deep shade = shade colour * this
    rim_color: tuple[float, float, float] = (0.2, 0.2, 0.2)  # MToon parametric rim; black = off
    rim_power: float = 4.0  # MToon parametricRimFresnelPowerFactor
    rim_lift: float = 0.0  # MToon parametricRimLiftFactor
    outline_width: int = 2  # pixels, 0 = no outline
    outline_color: tuple[float, float, float] = (0.16, 0.11, 0.13)
    background: tuple[float, float, float] | None = None  # None = transparent (alpha 0)
    base_color: tuple[float, float, float] = (1.0, 0.9, 0.84)  # used when no per-vertex colour
    shade_color: tuple[float, float, float] = (0.78, 0.62, 0.68)

    def __post_init__(self) -> None:
        d = np.asarray(self.light_dir, dtype=np.float64).reshape(-1)
        if d.shape != (3,) or not np.all(np.isfinite(d)) or np.linalg.norm(d) < 1e-9:
            raise ValueError(f"light_dir {self.light_dir!r} is not a non-zero 3-vector")
        if self.tones not in (2, 3):
            raise ValueError(f"tones {self.tones!r}, expected 2 or 3")
        if not 0.0 <= self.shading_toony <= 1.0:
            raise ValueError(f"shading_toony {self.shading_toony} is out of range, expected [0, 1]")
        if not (isinstance(self.outline_width, (int, np.integer)) and 0 <= self.outline_width <= 16):
            raise ValueError(f"outline_width {self.outline_width!r}, expected an integer 0..16 pixels")
        if not (math.isfinite(self.rim_power) and self.rim_power > 0):
            raise ValueError(f"rim_power {self.rim_power} must be > 0")
        for name in ("rim_color", "outline_color", "base_color", "shade_color"):
            _rgb(name, getattr(self, name))
        if self.background is not None:
            _rgb("background", self.background)

    @property
    def light(self) -> np.ndarray:
        d = np.asarray(self.light_dir, dtype=np.float64)
        return d / np.linalg.norm(d)


@dataclass(frozen=True)
class MapStyle:
    """How condition maps are drawn (everything except the camera and the mesh)."""

    depth_floor: float = 0.15  # grey of the farthest mesh point in the depth map (background = 0)
    line_width: int = 1  # lineart line width, pixels
    crease_deg: float = 55.0  # edges whose two faces bend more than this draw a line
    line_depth_bias: float = 0.03  # lines are pulled towards the camera by this fraction of their depth
    # (plus two line widths of pixels) so a contour is not hidden by the surface curving away beside it
    cull_backfaces: bool = True  # faces must wind counter-clockwise seen from outside (closed meshes)
    toon: ToonStyle = field(default_factory=ToonStyle)

    def __post_init__(self) -> None:
        if not 0.0 <= self.depth_floor < 1.0:
            raise ValueError(f"depth_floor {self.depth_floor} is out of range, expected [0, 1)")
        if not (isinstance(self.line_width, (int, np.integer)) and 1 <= self.line_width <= 16):
            raise ValueError(f"line_width {self.line_width!r}, expected an integer 1..16 pixels")
        if not 0.0 < self.crease_deg < 180.0:
            raise ValueError(f"crease_deg {self.crease_deg} is out of range, expected (0, 180)")
        if not 0.0 <= self.line_depth_bias < 1.0:
            raise ValueError(f"line_depth_bias {self.line_depth_bias} is out of range, expected [0, 1)")


def _linearstep(a: float, b: float, t: np.ndarray) -> np.ndarray:
    return np.clip((t - a) / max(b - a, 1e-5), 0.0, 1.0)


def toon_shade_reference(
    normals: np.ndarray,  # [..., 3] camera-space unit normals facing the camera
    to_camera: np.ndarray,  # [..., 3] unit vectors from the surface to the camera, camera space
    base: np.ndarray,  # [..., 3] base colour
    shade: np.ndarray,  # [..., 3] shade colour
    style: ToonStyle,
) -> np.ndarray:
    """The shader's per-pixel toon colour ``[..., 3]`` in [0, 1], before outlines (slow reference)."""
    n = np.asarray(normals, dtype=np.float64)
    lit = n @ style.light + style.shading_shift
    lo, hi = -1.0 + style.shading_toony, 1.0 - style.shading_toony
    s = _linearstep(lo, hi, lit)[..., None]
    col = shade * (1 - s) + base * s
    if style.tones >= 3:
        s2 = _linearstep(lo, hi, lit - style.deep_shade_shift)[..., None]
        col = shade * style.deep_shade_factor * (1 - s2) + col * s2
    nv = np.sum(n * to_camera, axis=-1)
    rim = np.clip(1.0 - nv + style.rim_lift, 0.0, 1.0) ** style.rim_power
    col = col + rim[..., None] * np.asarray(style.rim_color)
    return np.clip(col, 0.0, 1.0)
