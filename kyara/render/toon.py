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
    """MToon-like cel shading. Colours are RGB in [0, 1] (written as-is, no gamma).

    Per pixel: two tones (MToon's ramp between the material's base and shade colour; an optional
    third, deep shade), a rim light on the silhouette side facing away from the light (a band of
    the view-space normal disk: MToon's matcap), and ink lines whose width follows the depth."""

    light_dir: tuple[float, float, float] = (-0.65, 0.45, 0.6)  # towards the light, CAMERA space
    shading_shift: float = 0.0  # MToon shadingShiftFactor: > 0 grows the lit area
    shading_toony: float = 0.98  # MToon shadingToonyFactor: 1 = hard step, 0 = smooth
    tones: int = 2  # 2 = base/shade, 3 = adds a deep shade
    deep_shade_shift: float = -0.55  # N.L + shift below this gets the deep shade (tones=3)
    deep_shade_factor: float = 0.7  # deep shade = shade colour * this
    # Rim light: where the view-space normal's sideways part (the MToon matcap coordinate m, |m| = 1
    # on the silhouette) is longer than 1 - rim_width and points within rim_spread_deg of rim_dir,
    # rim_lit * (base - shade) + rim_color is added: on the shaded side, away from the light, the rim
    # shows the lit colour again (a back light catching the edge), plus a little light.
    rim_color: tuple[float, float, float] = (0.06, 0.06, 0.08)  # added in the rim (sRGB); black = no rim at all
    rim_lit: float = 1.0  # 0..1: share of (base - shade) added in the rim
    rim_width: float = 0.06  # 0..1 of the normal disk's radius
    rim_dir: tuple[float, float] | None = None  # image-plane direction (x right, y up); None = away from the light
    rim_spread_deg: float = 60.0  # half-angle of the rim's side
    outline_width: float = 2  # pixels at the mesh's middle depth, 0 = no outline
    outline_depth_power: float = 3.0  # ink width * (z_mid / z) ** this (0 = one width; ortho views: one width)
    outline_scale_range: tuple[float, float] = (0.6, 1.4)  # clamp of that factor
    # ink is pulled towards the camera by this fraction of its depth (plus two ink widths of pixels)
    # before the depth test, so a contour is not hidden by the surface curving away beside it; more
    # shows edges hidden behind a nearby surface (tests/test_ink_depth.py measures the trade-off)
    outline_depth_bias: float = 0.008
    outline_color: tuple[float, float, float] = (0.14, 0.09, 0.11)
    ink_creases: bool = False  # ink on creases too (False: silhouettes and open edges, as MToon's outline)
    background: tuple[float, float, float] | None = None  # None = transparent (alpha 0)
    base_color: tuple[float, float, float] = (1.0, 0.9, 0.84)  # used when no per-vertex colour
    shade_color: tuple[float, float, float] = (0.96, 0.72, 0.64)

    def __post_init__(self) -> None:
        d = np.asarray(self.light_dir, dtype=np.float64).reshape(-1)
        if d.shape != (3,) or not np.all(np.isfinite(d)) or np.linalg.norm(d) < 1e-9:
            raise ValueError(f"light_dir {self.light_dir!r} is not a non-zero 3-vector")
        if self.tones not in (2, 3):
            raise ValueError(f"tones {self.tones!r}, expected 2 or 3")
        if not 0.0 <= self.shading_toony <= 1.0:
            raise ValueError(f"shading_toony {self.shading_toony} is out of range, expected [0, 1]")
        w = self.outline_width
        if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or not 0 <= w <= 16:
            raise ValueError(f"outline_width {w!r}, expected 0..16 pixels")
        if not (math.isfinite(self.outline_depth_power) and 0.0 <= self.outline_depth_power <= 16.0):
            raise ValueError(f"outline_depth_power {self.outline_depth_power} is out of range, expected [0, 16]")
        if not 0.0 <= self.outline_depth_bias < 1.0:
            raise ValueError(f"outline_depth_bias {self.outline_depth_bias} is out of range, expected [0, 1)")
        lo, hi = (float(x) for x in self.outline_scale_range)
        if not (0.0 < lo <= 1.0 <= hi <= 8.0):
            raise ValueError(f"outline_scale_range {self.outline_scale_range!r}, expected (lo, hi), 0 < lo <= 1 <= hi <= 8")
        if not 0.0 <= self.rim_lit <= 1.0:
            raise ValueError(f"rim_lit {self.rim_lit} is out of range, expected [0, 1]")
        if not 0.0 < self.rim_width <= 1.0:
            raise ValueError(f"rim_width {self.rim_width} is out of range, expected (0, 1]")
        if not 0.0 < self.rim_spread_deg <= 180.0:
            raise ValueError(f"rim_spread_deg {self.rim_spread_deg} is out of range, expected (0, 180]")
        if self.rim_dir is not None:
            r = np.asarray(self.rim_dir, dtype=np.float64).reshape(-1)
            if r.shape != (2,) or not np.all(np.isfinite(r)) or np.linalg.norm(r) < 1e-9:
                raise ValueError(f"rim_dir {self.rim_dir!r} is not a non-zero 2-vector")
        elif np.linalg.norm(d[:2]) < 1e-6:
            raise ValueError(f"light_dir {self.light_dir!r} points at the camera: give rim_dir")
        for name in ("rim_color", "outline_color", "base_color", "shade_color"):
            _rgb(name, getattr(self, name))
        if self.background is not None:
            _rgb("background", self.background)

    @property
    def light(self) -> np.ndarray:
        d = np.asarray(self.light_dir, dtype=np.float64)
        return d / np.linalg.norm(d)

    @property
    def rim_direction(self) -> np.ndarray:
        """Unit image-plane direction ``[2]`` (x right, y up) the rim faces."""
        d = -self.light[:2] if self.rim_dir is None else np.asarray(self.rim_dir, dtype=np.float64)
        return d / np.linalg.norm(d)

    @property
    def rim_on(self) -> bool:
        return max(self.rim_color) > 0


@dataclass(frozen=True)
class MapStyle:
    """How condition maps are drawn (everything except the camera and the mesh)."""

    depth_floor: float = 0.15  # grey of the farthest mesh point in the depth map (background = 0)
    line_width: int = 1  # lineart line width, pixels
    crease_deg: float = 55.0  # edges whose two faces bend more than this draw a line
    line_depth_bias: float = 0.03  # lineart lines are pulled towards the camera by this fraction of their
    # depth (plus two line widths of pixels) so a contour is not hidden by the surface curving away beside
    # it (the toon map's ink: ToonStyle.outline_depth_bias)
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


RIM_AA = 0.015  # soft edge of the rim band, in units of the normal disk's radius
RIM_AA_DEG = 6.0  # soft edge of the rim's side, degrees


def matcap_coords(
    normals: np.ndarray,  # [..., 3] camera-space unit normals
    to_camera: np.ndarray,  # [..., 3] unit vectors from the surface to the camera, camera space
) -> np.ndarray:
    """MToon's matcap coordinates ``m [..., 2]`` in [-1, 1] (x right, y up): the normal in a frame
    turned to face the viewing ray (x = normalize(v.z, 0, -v.x), y = v x x), so ``|m| = 1`` exactly
    on the silhouette wherever it lies in a perspective view. three-vrm reads its matcap texture at
    ``uv = 0.5 + 0.5 * (m.x, -m.y)``."""
    n = np.asarray(normals, dtype=np.float64)
    v = np.asarray(to_camera, dtype=np.float64)
    x = np.stack([v[..., 2], np.zeros_like(v[..., 0]), -v[..., 0]], axis=-1)
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    y = np.cross(v, x)
    return np.stack([np.sum(x * n, axis=-1), np.sum(y * n, axis=-1)], axis=-1)


def rim_weight(m: np.ndarray, style: ToonStyle) -> np.ndarray:
    """The rim's weight ``[...]`` in [0, 1] at matcap coordinates ``m [..., 2]`` (reference of the shader)."""
    m = np.asarray(m, dtype=np.float64)
    r = np.linalg.norm(m, axis=-1)
    band = _linearstep(1.0 - style.rim_width - RIM_AA, 1.0 - style.rim_width + RIM_AA, r)
    cos = (m @ style.rim_direction) / np.maximum(r, 1e-6)
    c0 = math.cos(math.radians(min(style.rim_spread_deg + RIM_AA_DEG, 180.0)))
    c1 = math.cos(math.radians(max(style.rim_spread_deg - RIM_AA_DEG, 0.0)))
    return band * _linearstep(c0, c1, cos)


def toon_shade_reference(
    normals: np.ndarray,  # [..., 3] camera-space unit normals facing the camera
    to_camera: np.ndarray,  # [..., 3] unit vectors from the surface to the camera, camera space
    base: np.ndarray,  # [..., 3] base colour
    shade: np.ndarray,  # [..., 3] shade colour
    style: ToonStyle,
) -> np.ndarray:
    """The shader's per-pixel toon colour ``[..., 3]`` in [0, 1], before outlines (slow reference)."""
    n = np.asarray(normals, dtype=np.float64)
    base, shade = np.asarray(base, dtype=np.float64), np.asarray(shade, dtype=np.float64)
    lit = n @ style.light + style.shading_shift
    lo, hi = -1.0 + style.shading_toony, 1.0 - style.shading_toony
    s = _linearstep(lo, hi, lit)[..., None]
    col = shade * (1 - s) + base * s
    if style.tones >= 3:
        s2 = _linearstep(lo, hi, lit - style.deep_shade_shift)[..., None]
        col = shade * style.deep_shade_factor * (1 - s2) + col * s2
    if style.rim_on:
        w = rim_weight(matcap_coords(n, to_camera), style)[..., None]
        col = col + w * (style.rim_lit * np.maximum(base - shade, 0.0) + np.asarray(style.rim_color))
    return np.clip(col, 0.0, 1.0)


def outline_scale(depth: np.ndarray, near: float, far: float, style: ToonStyle) -> np.ndarray:
    """Ink width factor at view depths ``depth`` (metres) of a mesh spanning ``near..far`` in this
    view: ``(z_mid / z) ** outline_depth_power`` clamped to ``outline_scale_range``, ``z_mid`` the
    middle of the mesh's depth range (reference of the line shader). Perspective alone gives power 1
    (MToon's world-space outline); anime ink exaggerates it: near parts get bolder lines. (An
    orthographic view has no distance: the shader keeps its ink at one width there.)"""
    z = np.maximum(np.asarray(depth, dtype=np.float64), 1e-9)
    mid = 0.5 * (float(near) + float(far))
    lo, hi = style.outline_scale_range
    return np.clip((mid / z) ** style.outline_depth_power, lo, hi)


def rim_matcap(style: ToonStyle, size: int = 128) -> np.ndarray:
    """The rim as a matcap image ``[size, size]`` float in [0, 1]: the rim weight at each texel
    centre's matcap coordinate (row 0 = top = normals pointing up, as three-vrm reads it)."""
    if not 8 <= int(size) <= 1024:
        raise ValueError(f"matcap size {size!r} is out of range, expected 8..1024")
    c = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    m = np.stack(np.meshgrid(c, -c), axis=-1)  # [size, size, 2]: x right, y up
    return rim_weight(m, style)


def toon_uniforms(style: ToonStyle) -> dict:
    """Uniform values of the toon resolve shader (``shaders.TOON_FS``) for ``style``."""
    rim = (*style.rim_color, style.rim_lit) if style.rim_on else (0.0, 0.0, 0.0, 0.0)
    c0 = math.cos(math.radians(min(style.rim_spread_deg + RIM_AA_DEG, 180.0)))
    c1 = math.cos(math.radians(max(style.rim_spread_deg - RIM_AA_DEG, 0.0)))
    r0 = 1.0 - style.rim_width
    return {"u_light": tuple(float(x) for x in style.light),
            "u_shade": (style.shading_shift, style.shading_toony, style.deep_shade_shift, style.deep_shade_factor),
            "u_rim": tuple(float(x) for x in rim), "u_rim_band": (r0 - RIM_AA, r0 + RIM_AA, c0, c1),
            "u_rim_dir": tuple(float(x) for x in style.rim_direction), "u_tones": int(style.tones)}


def ink_uniforms(style: ToonStyle | None) -> dict:
    """Line-shader depth uniforms: the toon map's ink (``style``) or constant-width lines (None)."""
    if style is None:
        return {"u_ink_depth": (0.0, 1.0, 1.0)}
    lo, hi = style.outline_scale_range
    return {"u_ink_depth": (float(style.outline_depth_power), float(lo), float(hi))}
