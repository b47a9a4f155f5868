"""Pinhole and orthographic cameras as plain numpy (no OpenGL import).

Conventions
-----------
* World: metres, Y up, the character faces +Z, its left hand is at +X.
* ``Camera.view`` is the 4x4 world->camera matrix in the OpenGL convention: the camera looks down
  its -Z axis, x points right and y up in the image.
* ``Camera.extrinsics`` is the same transform in the OpenCV convention (x right, y down, looking
  down +Z): ``diag(1, -1, -1, 1) @ view``.
* Pixels follow OpenCV: origin at the top-left image corner, y down, the centre of pixel ``(i, j)``
  (column i, row j) is at ``(i, j)``; the image spans ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.
  ``np.rint(pixels)`` therefore gives the pixel a point falls in, and the OpenGL rasteriser
  (pixel centres at +0.5) agrees with :meth:`Camera.project`.
* Depth is metres along the viewing axis (``-z`` in OpenGL camera space), positive in front.
* Orbit angles: azimuth 0 = front (camera on +Z looking at the face), 90 = the character's left
  side (+X), 180 = back; elevation > 0 looks from above. Camera position =
  ``target + r * (sin az cos el, sin el, cos az cos el)``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

MAX_SIZE = 4096
_GL_TO_CV = np.diag([1.0, -1.0, -1.0, 1.0])


def _check_size(width: int, height: int) -> None:
    for name, v in (("width", width), ("height", height)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise ValueError(f"camera {name} {v!r} is not an integer, expected 1..{MAX_SIZE} pixels")
        if v <= 0 or v > MAX_SIZE:
            raise ValueError(f"camera {name} {v} is out of range, expected 1..{MAX_SIZE} pixels")


@dataclass(frozen=True, eq=False)
class Camera:
    """A camera: image size, world->camera view matrix (OpenGL convention) and a projection."""

    width: int  # pixels
    height: int  # pixels
    view: np.ndarray  # [4, 4] world -> camera, OpenGL convention (looks down -Z)
    projection: str = "perspective"  # "perspective" | "orthographic"
    fovy_deg: float = 50.0  # vertical field of view (perspective)
    ortho_height: float = 2.0  # vertical extent of the image in metres (orthographic)
    near: float = 0.01  # metres
    far: float = 100.0  # metres

    def __post_init__(self) -> None:
        _check_size(self.width, self.height)
        view = np.asarray(self.view, dtype=np.float64)
        if view.shape != (4, 4) or not np.all(np.isfinite(view)):
            raise ValueError(f"camera view has shape {view.shape}, expected a finite [4, 4] matrix")
        object.__setattr__(self, "view", view)
        if self.projection not in ("perspective", "orthographic"):
            raise ValueError(f"camera projection {self.projection!r}, expected 'perspective' or 'orthographic'")
        if not 0.0 < float(self.fovy_deg) < 180.0:
            raise ValueError(f"camera fovy_deg {self.fovy_deg} is out of range, expected in (0, 180) degrees")
        if not float(self.ortho_height) > 0.0:
            raise ValueError(f"camera ortho_height {self.ortho_height} must be > 0 metres")
        if not 0.0 < float(self.near) < float(self.far):
            raise ValueError(f"camera near {self.near} / far {self.far}, expected 0 < near < far")

    # -- derived quantities -------------------------------------------------------------------
    @property
    def is_ortho(self) -> bool:
        return self.projection == "orthographic"

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def position(self) -> np.ndarray:
        """Camera centre in world coordinates ``[3]`` metres."""
        r, t = self.view[:3, :3], self.view[:3, 3]
        return -r.T @ t

    @property
    def focal_px(self) -> float:
        """Pixels per unit of ``x/depth`` (perspective) or per metre (orthographic)."""
        if self.is_ortho:
            return self.height / self.ortho_height
        return 0.5 * self.height / math.tan(math.radians(self.fovy_deg) / 2.0)

    @property
    def intrinsics(self) -> np.ndarray:
        """``[3, 3]`` pixel matrix K (OpenCV). For orthographic cameras K maps ``(x, y, 1)`` of the
        OpenCV camera frame to pixels without a perspective divide."""
        f = self.focal_px
        return np.array([[f, 0.0, (self.width - 1) / 2.0], [0.0, f, (self.height - 1) / 2.0], [0.0, 0.0, 1.0]])

    @property
    def extrinsics(self) -> np.ndarray:
        """``[4, 4]`` world -> camera in the OpenCV convention (x right, y down, looking down +Z)."""
        return _GL_TO_CV @ self.view

    def gl_projection(self) -> np.ndarray:
        """``[4, 4]`` OpenGL clip matrix (column vectors, NDC z in [-1, 1])."""
        n, f = float(self.near), float(self.far)
        p = np.zeros((4, 4))
        if self.is_ortho:
            top = self.ortho_height / 2.0
            right = top * self.aspect
            p[0, 0], p[1, 1] = 1.0 / right, 1.0 / top
            p[2, 2], p[2, 3] = -2.0 / (f - n), -(f + n) / (f - n)
            p[3, 3] = 1.0
        else:
            t = 1.0 / math.tan(math.radians(self.fovy_deg) / 2.0)
            p[0, 0], p[1, 1] = t / self.aspect, t
            p[2, 2], p[2, 3] = -(f + n) / (f - n), -2.0 * f * n / (f - n)
            p[3, 2] = -1.0
        return p

    def pixel_footprint(self, depth: np.ndarray | float) -> np.ndarray:
        """Size in metres of one pixel at ``depth`` metres."""
        if self.is_ortho:
            return np.full_like(np.asarray(depth, dtype=np.float64), self.ortho_height / self.height)
        return np.asarray(depth, dtype=np.float64) / self.focal_px

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world points ``[..., 3]`` metres to ``(pixels [..., 2] float, depth [...] metres)``.

        Points behind a perspective camera get a negative depth and meaningless pixels.
        """
        pts = np.asarray(points, dtype=np.float64)
        if pts.shape[-1:] != (3,):
            raise ValueError(f"points have shape {pts.shape}, expected [..., 3]")
        cam = pts @ self.view[:3, :3].T + self.view[:3, 3]  # [..., 3] OpenGL camera space
        depth = -cam[..., 2]
        f = self.focal_px
        if self.is_ortho:
            x, y = cam[..., 0], cam[..., 1]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                x, y = cam[..., 0] / depth, cam[..., 1] / depth
        u = f * x + (self.width - 1) / 2.0
        v = -f * y + (self.height - 1) / 2.0
        return np.stack([u, v], axis=-1), depth

    def replace(self, **changes) -> "Camera":
        return dataclasses.replace(self, **changes)


# -- constructors ------------------------------------------------------------------------------
def look_at(eye: Sequence[float], target: Sequence[float], up: Sequence[float] = (0.0, 1.0, 0.0)) -> np.ndarray:
    """World->camera ``[4, 4]`` (OpenGL) for a camera at ``eye`` looking at ``target``.

    When ``up`` is parallel to the viewing direction (looking straight down or up) the world -Z
    (or +Z) axis is used as up instead, so the character's front stays at the image bottom.
    """
    eye = np.asarray(eye, dtype=np.float64).reshape(3)
    target = np.asarray(target, dtype=np.float64).reshape(3)
    fwd = target - eye
    dist = np.linalg.norm(fwd)
    if not np.isfinite(dist) or dist < 1e-9:
        raise ValueError(f"look_at eye {eye.tolist()} equals target {target.tolist()}, expected distinct points")
    fwd = fwd / dist
    up_v = np.asarray(up, dtype=np.float64).reshape(3)
    right = np.cross(fwd, up_v)
    if np.linalg.norm(right) < 1e-6 * max(1.0, np.linalg.norm(up_v)):
        alt = np.array([0.0, 0.0, -1.0]) if fwd[1] < 0 else np.array([0.0, 0.0, 1.0])
        right = np.cross(fwd, alt)
    right /= np.linalg.norm(right)
    true_up = np.cross(right, fwd)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = right, true_up, -fwd
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def perspective(eye, target, size: tuple[int, int] = (512, 512), fovy_deg: float = 50.0, near: float = 0.01,
                far: float = 100.0, up=(0.0, 1.0, 0.0)) -> Camera:
    """Perspective camera at ``eye`` looking at ``target``; ``size`` is (width, height) pixels."""
    w, h = _size(size)
    return Camera(w, h, look_at(eye, target, up), "perspective", fovy_deg=float(fovy_deg), near=near, far=far)


def orthographic(eye, target, size: tuple[int, int] = (512, 512), ortho_height: float = 2.0, near: float = 0.01,
                 far: float = 100.0, up=(0.0, 1.0, 0.0)) -> Camera:
    """Orthographic camera; ``ortho_height`` is the vertical image extent in metres."""
    w, h = _size(size)
    return Camera(w, h, look_at(eye, target, up), "orthographic", ortho_height=float(ortho_height), near=near, far=far)


def _size(size) -> tuple[int, int]:
    try:
        w, h = size
    except (TypeError, ValueError):
        raise ValueError(f"size {size!r} is not a (width, height) pair of pixels") from None
    _check_size(w, h)
    return int(w), int(h)


def orbit_direction(azimuth_deg, elevation_deg) -> np.ndarray:
    """Unit vectors ``[..., 3]`` from the target to the camera for orbit angles in degrees."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.stack([np.sin(az) * np.cos(el), np.sin(el) * np.ones_like(az), np.cos(az) * np.cos(el)], axis=-1)


_NAMED_VIEWS = {"front": 0.0, "side": 90.0, "left": 90.0, "back": 180.0, "right": 270.0}


def view_camera(view: str | float, bounds_min, bounds_max, size: tuple[int, int] = (512, 512), ortho: bool = False,
                fovy_deg: float = 40.0, elevation_deg: float = 0.0, margin: float = 1.08) -> Camera:
    """A camera that frames the box ``[bounds_min, bounds_max]`` (metres) from a named view
    (``front``, ``side`` = the character's left, ``back``, ``right``) or an azimuth in degrees.

    ``margin`` >= 1 leaves that much room around the box (1.08 = 8 %).
    """
    if isinstance(view, str):
        if view not in _NAMED_VIEWS:
            raise ValueError(f"view {view!r} is unknown, expected one of {', '.join(_NAMED_VIEWS)} or degrees")
        az = _NAMED_VIEWS[view]
    else:
        az = float(view)
        if not math.isfinite(az):
            raise ValueError(f"view azimuth {view!r} is not finite")
    w, h = _size(size)
    if not 0.0 < fovy_deg < 180.0:
        raise ValueError(f"fovy_deg {fovy_deg} is out of range, expected in (0, 180) degrees")
    if not margin >= 1.0:
        raise ValueError(f"margin {margin} must be >= 1")
    lo, hi = _bounds(bounds_min, bounds_max)
    center = (lo + hi) / 2.0
    direction = orbit_direction(az, elevation_deg)
    rot = look_at(center + direction, center)[:3, :3]
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    rel = (corners - center) @ rot.T  # [8, 3] box corners in a camera frame centred on the target
    aspect = w / h
    if ortho:
        extent = 2.0 * max(np.abs(rel[:, 1]).max(), np.abs(rel[:, 0]).max() / aspect) * margin
        dist = float(np.abs(rel[:, 2]).max()) + max(1.0, extent)
        return Camera(w, h, look_at(center + dist * direction, center), "orthographic", ortho_height=extent,
                      near=0.01, far=dist * 2.0 + 10.0)
    ty = math.tan(math.radians(fovy_deg) / 2.0) / margin
    tx = ty * aspect
    # distance d such that every corner fits: |y| <= ty * (d - z) and |x| <= tx * (d - z)
    dist = float(np.max(np.maximum(rel[:, 2] + np.abs(rel[:, 1]) / ty, rel[:, 2] + np.abs(rel[:, 0]) / tx)))
    near = max(1e-3, 0.1 * (dist - float(np.abs(rel[:, 2]).max())))
    return Camera(w, h, look_at(center + dist * direction, center), "perspective", fovy_deg=fovy_deg,
                  near=min(near, 0.1), far=dist * 4.0 + 10.0)


def turntable_cameras(vertices, frames: int, size: int) -> list[Camera]:
    """``frames`` cameras around the vertices over 360 degrees from the front, all framing the whole turn
    (the box of every azimuth is the box's circumscribed vertical cylinder), ``size`` x ``size`` px."""
    v = np.asarray(vertices).reshape(-1, 3)
    lo, hi = v.min(axis=0), v.max(axis=0)
    c = 0.5 * (lo + hi)
    rad = float(np.max(np.linalg.norm((v - c)[:, [0, 2]], axis=1)))
    blo = np.array([c[0] - rad, lo[1], c[2] - rad])
    bhi = np.array([c[0] + rad, hi[1], c[2] + rad])
    return [view_camera(float(a), blo, bhi, size=(size, size)) for a in np.linspace(0, 360, frames, endpoint=False)]


def _bounds(bounds_min, bounds_max) -> tuple[np.ndarray, np.ndarray]:
    lo = np.asarray(bounds_min, dtype=np.float64).reshape(-1)
    hi = np.asarray(bounds_max, dtype=np.float64).reshape(-1)
    if lo.shape != (3,) or hi.shape != (3,) or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(f"bounds {lo.tolist()} .. {hi.tolist()} are not two finite 3-vectors")
    if np.any(hi < lo):
        raise ValueError(f"bounds_max {hi.tolist()} is below bounds_min {lo.tolist()}")
    return lo, hi


# -- random orbit cameras (DreamWaltz-G style) ------------------------------------------------
@dataclass(frozen=True)
class OrbitConfig:
    """Ranges for :func:`sample_orbit_cameras` (uniform sampling, DreamWaltz-G defaults)."""

    radius: tuple[float, float] = (1.0, 2.0)  # camera distance in body heights
    elevation_deg: tuple[float, float] = (-30.0, 30.0)
    azimuth_deg: tuple[float, float] = (0.0, 360.0)
    fovy_deg: tuple[float, float] = (40.0, 70.0)
    face_closeup_prob: float = 0.2  # share of views aimed at the face
    face_radius: tuple[float, float] = (0.25, 0.5)  # close-up distance in body heights
    face_height: float = 0.1  # default face centre: this fraction of the height below the top


@dataclass(frozen=True)
class OrbitViews:
    """Cameras drawn by :func:`sample_orbit_cameras` with the angles they were drawn from."""

    cameras: list[Camera]
    azimuth_deg: np.ndarray  # [N]
    elevation_deg: np.ndarray  # [N]
    distance: np.ndarray  # [N] metres
    closeup: np.ndarray  # [N] bool, True for face close-ups
    targets: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # [N, 3] metres


def sample_orbit_cameras(n: int, seed: int, bounds_min, bounds_max, size: tuple[int, int] = (512, 512),
                         face_center=None, config: OrbitConfig | None = None) -> OrbitViews:
    """Draw ``n`` seeded perspective cameras orbiting a body in the box ``[bounds_min, bounds_max]``.

    Distances are in body heights (box height). A ``face_closeup_prob`` share of the views target
    ``face_center`` (default: the box centre in x/z, ``face_height`` below the top) from closer.
    """
    cfg = config or OrbitConfig()
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n {n!r} must be an integer >= 0")
    for name in ("radius", "elevation_deg", "azimuth_deg", "fovy_deg", "face_radius"):
        a, b = getattr(cfg, name)
        if not (math.isfinite(a) and math.isfinite(b) and a <= b):
            raise ValueError(f"OrbitConfig.{name} {(a, b)} is not a finite (low, high) range")
    if cfg.radius[0] <= 0 or cfg.face_radius[0] <= 0:
        raise ValueError(f"OrbitConfig radius {cfg.radius} / face_radius {cfg.face_radius} must be > 0")
    if not (0.0 < cfg.fovy_deg[0] and cfg.fovy_deg[1] < 180.0):
        raise ValueError(f"OrbitConfig.fovy_deg {cfg.fovy_deg} is out of range, expected within (0, 180)")
    if not 0.0 <= cfg.face_closeup_prob <= 1.0:
        raise ValueError(f"face_closeup_prob {cfg.face_closeup_prob} is out of range, expected [0, 1]")
    w, h = _size(size)
    lo, hi = _bounds(bounds_min, bounds_max)
    height = max(float(hi[1] - lo[1]), 1e-3)
    center = (lo + hi) / 2.0
    if face_center is None:
        face = np.array([center[0], hi[1] - cfg.face_height * height, center[2]])
    else:
        face = np.asarray(face_center, dtype=np.float64).reshape(3)
    rng = np.random.default_rng(seed)
    az = rng.uniform(*cfg.azimuth_deg, size=n)
    el = rng.uniform(*cfg.elevation_deg, size=n)
    fovy = rng.uniform(*cfg.fovy_deg, size=n)
    closeup = rng.uniform(size=n) < cfg.face_closeup_prob
    r_body = rng.uniform(*cfg.radius, size=n)
    r_face = rng.uniform(*cfg.face_radius, size=n)
    dist = np.where(closeup, r_face, r_body) * height
    targets = np.where(closeup[:, None], face[None, :], center[None, :])
    eyes = targets + dist[:, None] * orbit_direction(az, el)
    cams = [Camera(w, h, look_at(eyes[i], targets[i]), "perspective", fovy_deg=float(fovy[i]),
                   near=max(1e-3, 0.05 * dist[i]), far=float(dist[i]) + 4.0 * height) for i in range(n)]
    return OrbitViews(cams, az % 360.0, el, dist, closeup, targets)


# -- view-dependent prompts --------------------------------------------------------------------
FRONT_SECTOR_DEG = 45.0  # |azimuth| <= 45 -> front view
BACK_SECTOR_DEG = 45.0  # |azimuth - 180| <= 45 -> back view
OVERHEAD_ELEVATION_DEG = 60.0  # elevation >= 60 -> overhead view (checked first)


def view_prompt(prompt: str, azimuth_deg: float, elevation_deg: float = 0.0) -> str:
    """Prefix ``prompt`` with the view it is seen from (DreamWaltz-G / DreamFusion style).

    elevation >= 60 deg -> "overhead view of"; otherwise azimuth (wrapped to (-180, 180]) within
    45 deg of 0 -> "front view of", within 45 deg of 180 -> "back view of", else "side view of".
    """
    if not (math.isfinite(azimuth_deg) and math.isfinite(elevation_deg)):
        raise ValueError(f"azimuth {azimuth_deg} / elevation {elevation_deg} must be finite degrees")
    if elevation_deg >= OVERHEAD_ELEVATION_DEG:
        kind = "overhead"
    else:
        a = (azimuth_deg + 180.0) % 360.0 - 180.0  # (-180, 180]
        if abs(a) <= FRONT_SECTOR_DEG:
            kind = "front"
        elif 180.0 - abs(a) <= BACK_SECTOR_DEG:
            kind = "back"
        else:
            kind = "side"
    return f"{kind} view of {prompt}"
