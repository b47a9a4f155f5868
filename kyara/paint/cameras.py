"""The cameras a character is painted from, and the view-dependent prompt of each.

SyncMVD paints 10 views: 8 around the object and 2 higher ones; DreamWaltz-G aims 20 % of its views
at the face. Here (angles in degrees, conventions of :mod:`kyara.render.camera`: azimuth 0 = the
character's front, 90 = its left side, elevation > 0 looks from above):

* ``around`` views evenly spaced in azimuth from a seeded offset, elevations alternating in sign
  with seeded magnitudes in ``elevation_deg`` (+15..30, -15..30, ...), each framing the whole mesh;
* ``high`` views looking down at ``high_elevation_deg`` from the front and the back (spread evenly
  in azimuth when there are more), framing the whole mesh;
* ``face`` close-ups aimed at the face centre from seeded azimuths within ``face_azimuth_deg`` of
  the front, framing a box of ``face_size`` body heights around it.

Every view gets the prompt of :func:`kyara.render.camera.view_prompt` ("front view of ...",
"side view of ...", "back view of ...", "overhead view of ..."), close-ups ", face close-up" after
it. The same seed gives the same cameras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyara.render.camera import Camera, view_camera, view_prompt

VIEW_KINDS = ("around", "high", "face")


@dataclass(frozen=True)
class PaintCameraConfig:
    """How many painting views of each kind, and their angles (degrees)."""

    around: int = 8  # views around the character
    elevation_deg: tuple[float, float] = (15.0, 30.0)  # |elevation| of the views around, signs alternating
    high: int = 2  # higher views (front and back)
    high_elevation_deg: float = 45.0
    face: int = 0  # face close-ups
    face_azimuth_deg: float = 45.0  # close-ups come from within this much of the front
    face_elevation_deg: tuple[float, float] = (0.0, 20.0)
    face_size: float = 0.2  # side of the box a close-up frames, in body heights
    face_below_top: float = 0.1  # default face centre: this share of the height below the top
    fovy_deg: float = 40.0
    margin: float = 1.08  # room around what a view frames (1.08 = 8 %)

    def __post_init__(self) -> None:
        for name in ("around", "high", "face"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 0 <= v <= 64:
                raise ValueError(f"{name}={v!r} views is out of range, expected an integer 0..64")
        if self.around + self.high + self.face == 0:
            raise ValueError("no painting views: around, high and face are all 0")
        for name in ("elevation_deg", "face_elevation_deg"):
            lo, hi = getattr(self, name)
            if not (-89.0 <= lo <= hi <= 89.0):
                raise ValueError(f"{name}={(lo, hi)} is not a (low, high) range within -89..89 degrees")
        if not -89.0 <= self.high_elevation_deg <= 89.0:
            raise ValueError(f"high_elevation_deg={self.high_elevation_deg} is out of range, expected -89..89")
        if not 0.0 <= self.face_azimuth_deg <= 180.0:
            raise ValueError(f"face_azimuth_deg={self.face_azimuth_deg} is out of range, expected 0..180")
        if not 0.0 < self.face_size <= 1.0 or not 0.0 <= self.face_below_top < 1.0:
            raise ValueError(f"face_size={self.face_size} / face_below_top={self.face_below_top} are out of "
                             "range, expected (0, 1] and [0, 1) body heights")


@dataclass(frozen=True)
class PaintViews:
    """The painting cameras and the angles they were made from (one entry per view)."""

    cameras: tuple[Camera, ...]
    azimuth_deg: np.ndarray  # [N] in [0, 360)
    elevation_deg: np.ndarray  # [N]
    kind: tuple[str, ...]  # VIEW_KINDS

    def __len__(self) -> int:
        return len(self.cameras)

    def prompts(self, prompt: str) -> list[str]:
        """The view-dependent prompt of every view (see the module docstring)."""
        return [paint_prompt(prompt, float(a), float(e), k == "face")
                for a, e, k in zip(self.azimuth_deg, self.elevation_deg, self.kind)]


def paint_prompt(prompt: str, azimuth_deg: float, elevation_deg: float = 0.0, closeup: bool = False) -> str:
    """``prompt`` prefixed with the view it is seen from (:func:`kyara.render.camera.view_prompt`);
    ``closeup`` adds ", face close-up"."""
    text = view_prompt(prompt, azimuth_deg, elevation_deg)
    return text + ", face close-up" if closeup else text


def paint_cameras(vertices: np.ndarray, size: tuple[int, int], seed: int = 0,
                  config: PaintCameraConfig | None = None, face_center=None) -> PaintViews:
    """The painting cameras of a mesh posed at ``vertices [V, 3]`` (metres) for ``size`` (width,
    height) pixel views; ``face_center [3]`` (metres) aims the close-ups (default: the middle of the
    mesh's box, ``face_below_top`` of its height below its top)."""
    cfg = config or PaintCameraConfig()
    v = np.asarray(vertices, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"vertices have shape {v.shape}, expected a finite [V, 3] array")
    lo, hi = v.min(axis=0), v.max(axis=0)
    height = max(float(hi[1] - lo[1]), 1e-3)
    rng = np.random.default_rng(seed)
    az, el, kind = [], [], []
    if cfg.around:
        step = 360.0 / cfg.around
        offset = rng.uniform(-0.25, 0.25) * step
        mags = rng.uniform(*cfg.elevation_deg, size=cfg.around)
        for i in range(cfg.around):
            az.append(offset + i * step)
            el.append(mags[i] if i % 2 == 0 else -mags[i])
            kind.append("around")
    if cfg.high:
        offset = rng.uniform(-0.25, 0.25) * (360.0 / max(cfg.around, 4))
        for i in range(cfg.high):
            az.append(offset + i * 360.0 / cfg.high)
            el.append(cfg.high_elevation_deg)
            kind.append("high")
    if cfg.face:
        az += list(rng.uniform(-cfg.face_azimuth_deg, cfg.face_azimuth_deg, size=cfg.face))
        el += list(rng.uniform(*cfg.face_elevation_deg, size=cfg.face))
        kind += ["face"] * cfg.face
    if face_center is None:
        face = np.array([(lo[0] + hi[0]) / 2, hi[1] - cfg.face_below_top * height, (lo[2] + hi[2]) / 2])
    else:
        face = np.asarray(face_center, dtype=np.float64).reshape(-1)
        if face.shape != (3,) or not np.all(np.isfinite(face)):
            raise ValueError(f"face_center {face.tolist()} is not a finite 3-vector (metres)")
    half = 0.5 * cfg.face_size * height
    cams = []
    for a, e, k in zip(az, el, kind):
        box = (face - half, face + half) if k == "face" else (lo, hi)
        cams.append(view_camera(float(a), box[0], box[1], size=size, fovy_deg=cfg.fovy_deg,
                                elevation_deg=float(e), margin=cfg.margin))
    return PaintViews(tuple(cams), np.mod(np.array(az, np.float64), 360.0), np.array(el, np.float64), tuple(kind))
