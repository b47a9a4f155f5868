"""Procedural anime hair: a volume cap over the cranium plus style-specific strands on spring chains.

:func:`build_hair` is the entry point. Steps:
1. :class:`HeadFrame` reads the head's size and landmarks from the body layout;
   :class:`BodyField` evaluates the body's implicit surface (signed distance, negative inside) near
   the head and shoulders, so everything can be placed *outside* the skin.
2. The cap is the shell ``gap < body_sdf < gap + T(p)`` above a hairline (forehead at the front,
   temples at the sides, nape at the back), thicker on top and at the back, tapering at the
   hairline, meshed by marching cubes. Rigid on ``head``.
3. Strands are tubes with a flattened cross-section (ribbons) that follow the cap surface and
   then fall, pushed out of the body by their own thickness plus a clearance. Bangs
   (``kyara.character.spec.BANGS``) run over the forehead and end above the brows.
4. Swaying strands hang on :class:`~kyara.character.model.ExtraBone` chains (VRMC_springBone
   settings in ``spring``), weighted piecewise-linearly between consecutive joints.
5. Two-tone hair fades every lock from the base colour to ``spec.hair.tips`` along its length
   (per-vertex colours); the angel ring (``hair_shine``, :mod:`kyara.character.hair_shine`) is a
   thin band of its own material laid over the outer hair surface.

Styles live in :mod:`kyara.character.hair_styles` (bangs, hanging cuts, texture, ahoge) and
:mod:`kyara.character.hair_tails` (ponytails, twin tails, buns, drills, braid).
Everything is deterministic: the only randomness is a small length jitter seeded by ``spec.seed``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from kyara.body.skeleton import BONE_INDEX, NUM_BONES
from kyara.character.model import ExtraBone, Material, Part, hex_to_rgb, shade_of

HEAD = BONE_INDEX["head"]
CAP_GAP = 0.005  # metres between the skin and the inside of the hair cap
STRAND_CLEARANCE = 0.004  # metres between the skin and a strand's surface
SPRING_LONG = {"stiffness": 0.6, "drag": 0.4, "gravity_power": 0.35, "hit_radius": 0.02}
SPRING_SHORT = {"stiffness": 1.6, "drag": 0.5, "gravity_power": 0.1, "hit_radius": 0.01}
# strand end height per style length, as a named body level (see _length_y)
STYLE_LENGTH_LEVEL = {"short": "ear", "medium": "shoulder", "long": "mid_back"}


# ------------------------------------------------------------------------------------------
# the head and the body's implicit surface


@dataclass(frozen=True)
class HeadFrame:
    """Head landmarks (metres, rest pose) that hair, face and accessories are placed by."""

    centre: np.ndarray  # [3] cranium centre
    radii: np.ndarray  # [3] cranium half axes
    h: float  # head height, crown to chin
    W: float  # head width
    D: float  # head depth
    crown: float  # y of the top of the head
    chin: float  # y of the chin
    eye_y: float  # y of the eye centres
    eye_x: float  # |x| of the eye centres
    es: float  # eye socket height
    brow_y: float  # y of the brows
    hair_t: float  # base hair thickness (sides); top and back are thicker
    neck_y: float  # y of the base of the neck (shoulder line)
    chest_y: float  # y of the chest joint
    hips_y: float  # y of the hips joint


def head_frame(body) -> HeadFrame:
    """The :class:`HeadFrame` of a :class:`~kyara.body.model.Body`."""
    d = body.layout.dims
    P = body.layout.params
    h, W, D = d["h"], d["W"], d["D"]
    radii = np.array([0.47 * W, 0.46 * h, 0.5 * D])
    centre = np.array([0.0, d["crown"] - radii[1], d["head_z"]])
    es = P.eye_size * h
    j = body.layout.joint
    return HeadFrame(centre, radii, h, W, D, d["crown"], d["chin"], d["eye_y"], 0.21 * W, es,
                     d["eye_y"] + 0.75 * es, 0.045 * h, d["neck_y"], float(j("chest")[1]), float(j("hips")[1]))


@functools.lru_cache(maxsize=8)
def _primitives(body) -> tuple:
    from kyara.body.surface import body_primitives

    return tuple(fast_primitive(q) for q in body_primitives(body.layout) if not q.carve)


def fast_primitive(q):
    """``q`` with a faster but equal field: the torso loft builds three PCHIP splines on every call,
    here they are tabulated once (2,049 samples; same surface within 1e-6 m). Others unchanged."""
    import dataclasses

    dfl = getattr(q.fn, "__defaults__", None)
    if q.name != "torso" or not dfl or len(dfl) != 6:
        return q
    from scipy.interpolate import PchipInterpolator

    from kyara.body.sdf import smax

    ys, hw, hd, zc, b0, t0 = dfl
    yy = np.linspace(ys[0], ys[-1], 2049)
    A, B, C = (PchipInterpolator(ys, v)(yy) for v in (hw, hd, zc))
    k_caps = 0.35 * hd[0]

    def fn(p: np.ndarray) -> np.ndarray:
        y = np.clip(p[:, 1], ys[0], ys[-1])
        a, b, c = np.interp(y, yy, A), np.interp(y, yy, B), np.interp(y, yy, C)
        d = (np.sqrt((p[:, 0] / a) ** 2 + ((p[:, 2] - c) / b) ** 2) - 1.0) * np.minimum(a, b)
        return smax(smax(d, b0 - p[:, 1], k_caps), p[:, 1] - t0, k_caps)

    return dataclasses.replace(q, fn=fn)


class BodyField:
    """Signed distance to the body (negative inside, eye sockets not carved) for points near the
    box ``[lo, hi]``; primitives farther than ``pad`` from the box are skipped."""

    def __init__(self, body, lo: np.ndarray, hi: np.ndarray, pad: float) -> None:
        self.pad = float(pad)
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        self.prims = [q for q in _primitives(body)
                      if np.all(q.lo - pad <= hi) and np.all(q.hi + pad >= lo)]

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        """``pts [N, 3]`` -> ``[N]`` metres."""
        from kyara.body.sdf import smin

        pts = np.asarray(pts, dtype=np.float64)
        out = np.full(len(pts), 1e3)
        if len(pts) == 0:
            return out
        p_lo, p_hi = pts.min(0), pts.max(0)
        for q in self.prims:
            lo, hi = q.lo - self.pad, q.hi + self.pad
            if np.any(p_lo > hi) or np.any(p_hi < lo):
                continue
            if np.all(p_lo >= lo) and np.all(p_hi <= hi):
                out = smin(out, q.fn(pts), q.k)
                continue
            m = (pts[:, 0] >= lo[0]) & (pts[:, 0] <= hi[0]) & (pts[:, 1] >= lo[1]) & (pts[:, 1] <= hi[1])
            m &= (pts[:, 2] >= lo[2]) & (pts[:, 2] <= hi[2])
            if m.any():
                out[m] = smin(out[m], q.fn(pts[m]), q.k)
        return out

    def gradient(self, pts: np.ndarray, eps: float = 5e-4) -> np.ndarray:
        """Unit gradient ``[N, 3]`` by central differences."""
        g = np.zeros((len(pts), 3))
        for a in range(3):
            e = np.zeros(3)
            e[a] = eps
            g[:, a] = self(pts + e) - self(pts - e)
        return g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)

    def push_out(self, pts: np.ndarray, clearance: np.ndarray | float, iters: int = 6) -> np.ndarray:
        """Move points that are closer than ``clearance`` to the skin (or inside) out along the gradient."""
        p = np.array(pts, dtype=np.float64)
        c = np.broadcast_to(np.asarray(clearance, float), (len(p),))
        for _ in range(iters):
            f = self(p)
            bad = f < c
            if not bad.any():
                break
            p[bad] += self.gradient(p[bad]) * (c[bad] - f[bad] + 2e-4)[:, None]
        return p

    def front_z(self, x: np.ndarray, y: np.ndarray, z0: float, z1: float, steps: int = 30) -> np.ndarray:
        """z of the outermost surface point hit by rays along -z at ``(x, y)``, searched in ``[z0, z1]``
        (``z0`` where no surface is found)."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        lo = np.full(x.shape, z0)
        hi = np.full(x.shape, z1)
        inside0 = self(np.stack([x, y, lo], -1).reshape(-1, 3)).reshape(x.shape) < 0
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            ins = self(np.stack([x, y, mid], -1).reshape(-1, 3)).reshape(x.shape) < 0
            lo = np.where(ins, mid, lo)
            hi = np.where(ins, hi, mid)
        return np.where(inside0, 0.5 * (lo + hi), z0)


def _thickness(fr: HeadFrame, p: np.ndarray) -> np.ndarray:
    """Hair cap thickness ``[N]`` at points ``p [N, 3]``: more volume on top and at the back."""
    d = (p - fr.centre) / fr.radii
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    return fr.hair_t * (1.0 + 0.8 * np.clip(d[:, 1], 0, 1) + 0.5 * np.clip(-d[:, 2], 0, 1))


def _hairline(fr: HeadFrame, style: str, theta: np.ndarray) -> np.ndarray:
    """Hairline height ``[N]`` at azimuth ``theta`` (0 = front, +-pi = back)."""
    a = np.abs(theta)
    y_front = max(fr.eye_y + 0.28 * fr.h, fr.brow_y + 0.12 * fr.h)
    y_temple = fr.eye_y + 0.16 * fr.h
    y_side = fr.eye_y + 0.05 * fr.h
    y_back = fr.chin + (0.3 if style == "spiky" else 0.12) * fr.h
    knots = np.deg2rad([0.0, 30.0, 55.0, 95.0, 140.0, 180.0])
    vals = [y_front, y_front - 0.02 * fr.h, y_temple, y_side, y_back, y_back]
    return np.interp(a, knots, vals)


def ray_to_level(fr: HeadFrame, fld: BodyField, dirs: np.ndarray, level, steps: int = 24) -> np.ndarray:
    """Points ``[N, 3]`` where rays from the cranium centre along unit ``dirs [N, 3]`` cross
    ``body_sdf(p) = level(p)`` (``level``: a function of points ``[N,3] -> [N]``)."""
    lo = np.zeros(len(dirs))
    hi = np.full(len(dirs), 2.5 * float(fr.radii.max()))
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        p = fr.centre + mid[:, None] * dirs
        out = fld(p) - level(p) > 0
        hi = np.where(out, mid, hi)
        lo = np.where(out, lo, mid)
    return fr.centre + (0.5 * (lo + hi))[:, None] * dirs


def cap_surface(fr: HeadFrame, fld: BodyField, dirs: np.ndarray) -> np.ndarray:
    """Points ``[N, 3]`` of the cap's outer surface (ignoring the hairline) along unit ``dirs``."""
    return ray_to_level(fr, fld, dirs, lambda p: CAP_GAP + _thickness(fr, p))


def cap_mesh(fr: HeadFrame, fld: BodyField, style: str, n_theta: int = 72, n_rows: int = 26):
    """The hair cap as a closed shell over a polar grid of rays from the cranium centre: inner
    sheet ``CAP_GAP`` outside the skin, outer sheet ``T`` further out (tapering to half at the
    hairline), joined by a wall along the hairline. ``(vertices [V,3], faces [F,3])``."""
    from kyara.body.mesh_ops import signed_volume

    th = np.linspace(-np.pi, np.pi, n_theta, endpoint=False)
    probe = np.linspace(0.05, 2.7, 54)
    pin = ray_to_level(fr, fld, sphere_dirs(np.repeat(th, len(probe)), np.tile(probe, n_theta)), lambda p: CAP_GAP)
    y = pin[:, 1].reshape(n_theta, len(probe))
    yl = _hairline(fr, style, th)
    phi_max = np.array([np.interp(-yl[i], -y[i], probe) for i in range(n_theta)])  # y decreases with phi
    s = np.linspace(0.0, 1.0, n_rows + 1)[1:]
    phi = phi_max[None, :] * s[:, None]  # [R, C]
    d = sphere_dirs(np.broadcast_to(th, phi.shape).ravel(), phi.ravel())
    inner = ray_to_level(fr, fld, d, lambda p: CAP_GAP)
    taper = np.clip(0.5 + (inner[:, 1] - np.repeat(yl[None], n_rows, 0).ravel()) / (0.15 * fr.h), 0.5, 1.0)
    t_in = _thickness(fr, inner) * taper
    r_in = np.linalg.norm(inner - fr.centre, axis=1)
    # outer sheet: the level set body_sdf = gap + t along the same ray (t from the inner point)
    lo_r = r_in
    hi_r = r_in + 3.0 * t_in + 0.01
    for _ in range(22):
        mid = 0.5 * (lo_r + hi_r)
        out = fld(fr.centre + mid[:, None] * d) - CAP_GAP - t_in > 0
        hi_r = np.where(out, mid, hi_r)
        lo_r = np.where(out, lo_r, mid)
    outer = fr.centre + (0.5 * (lo_r + hi_r))[:, None] * d
    top_in = ray_to_level(fr, fld, np.array([[0.0, 1.0, 0.0]]), lambda p: CAP_GAP)
    top_out = ray_to_level(fr, fld, np.array([[0.0, 1.0, 0.0]]), lambda p: CAP_GAP + _thickness(fr, p))
    R, C = n_rows, n_theta
    V = np.concatenate([outer, inner, top_out, top_in])
    o = lambda i, j: i * C + (j % C)  # noqa: E731
    n_o = R * C
    po, pi = 2 * n_o, 2 * n_o + 1
    F = []
    jj = np.arange(C)
    F.append(np.stack([np.full(C, po), o(0, jj + 1), o(0, jj)], 1))
    F.append(np.stack([np.full(C, pi), n_o + o(0, jj), n_o + o(0, jj + 1)], 1))
    for i in range(R - 1):
        a, b, c2, d2 = o(i, jj), o(i, jj + 1), o(i + 1, jj), o(i + 1, jj + 1)
        F += [np.stack([a, b, d2], 1), np.stack([a, d2, c2], 1)]
        F += [np.stack([n_o + a, n_o + d2, n_o + b], 1), np.stack([n_o + a, n_o + c2, n_o + d2], 1)]
    a, b = o(R - 1, jj), o(R - 1, jj + 1)
    F += [np.stack([a, b, n_o + b], 1), np.stack([a, n_o + b, n_o + a], 1)]
    F = np.concatenate(F).astype(np.int64)
    if signed_volume(V, F) < 0:
        F = F[:, ::-1]
    return V, F


def sphere_dirs(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit directions ``[N, 3]``: azimuth ``theta`` from +z towards +x, polar ``phi`` from +y."""
    theta, phi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(phi, float))
    return np.stack([np.sin(phi) * np.sin(theta), np.cos(phi), np.sin(phi) * np.cos(theta)], -1)


def head_field(body) -> tuple[HeadFrame, BodyField]:
    """The head frame and a body field covering head, neck and shoulders (down to mid back)."""
    fr = head_frame(body)
    r = fr.radii
    lo = np.array([-2.5 * r[0] - 0.25 * fr.h, fr.hips_y - 0.1 * fr.h, fr.centre[2] - 1.6 * r[2] - 0.2 * fr.h])
    hi = np.array([2.5 * r[0] + 0.25 * fr.h, fr.crown + 0.3 * fr.h, fr.centre[2] + 1.6 * r[2]])
    return fr, BodyField(body, lo, hi, pad=0.12 * fr.h)


def cap_ellipsoid(body, style: str = "short") -> tuple[np.ndarray, np.ndarray]:
    """``(centre [3], radii [3])`` of an ellipsoid around the cranium that encloses the hair cap's
    outer surface above the ears: hats sit on it."""
    fr, fld = head_field(body)
    th, ph = np.meshgrid(np.linspace(-np.pi, np.pi, 24, endpoint=False), np.linspace(0.0, 1.75, 10))
    p = cap_surface(fr, fld, sphere_dirs(th.ravel(), ph.ravel()))
    base = fr.radii + 1.5 * fr.hair_t
    s = float(np.max(np.linalg.norm((p - fr.centre) / base, axis=1)))
    return fr.centre.copy(), base * s


# ------------------------------------------------------------------------------------------
# strands and chains


@dataclass
class Strand:
    points: np.ndarray  # [K, 3] centre line, metres
    radii: np.ndarray  # [K] half width, metres
    flatten: float = 0.4  # thickness / width
    up: np.ndarray | None = None  # [3] direction of the thin side (the head normal at the root)
    chain: int | None = None  # index into the chain list, None = rigid on head
    sides: int = 8


@dataclass
class Chain:
    name: str  # bone name prefix, joints are f"{name}_{k}"
    joints: np.ndarray  # [n, 3] rest positions, n >= 2
    spring: dict = field(default_factory=lambda: dict(SPRING_LONG))


def resample(points: np.ndarray, k: int, smooth: int = 1) -> np.ndarray:
    """``points [M, 3]`` -> ``[k, 3]`` evenly spaced by arc length (after ``smooth`` Chaikin passes)."""
    p = np.asarray(points, float)
    for _ in range(smooth):
        q = 0.75 * p[:-1] + 0.25 * p[1:]
        r = 0.25 * p[:-1] + 0.75 * p[1:]
        p = np.concatenate([p[:1], np.stack([q, r], 1).reshape(-1, 3), p[-1:]])
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    t = np.linspace(0.0, s[-1], k)
    return np.stack([np.interp(t, s, p[:, a]) for a in range(3)], 1)


def sink_root(fr: HeadFrame, p: np.ndarray) -> np.ndarray:
    """Lock roots ``p [N, 3]`` on the cap's outer surface moved into the cap shell (towards the
    cranium centre by 1.2 base hair thicknesses): the lock grows out of the cap, no end shows."""
    d = p - fr.centre
    r = np.linalg.norm(d, axis=-1, keepdims=True)
    return fr.centre + d * (1.0 - 1.2 * fr.hair_t / np.maximum(r, 1e-9))


def _taper(k: int, width: float, tip: float = 0.12, power: float = 2.2) -> np.ndarray:
    u = np.linspace(0.0, 1.0, k)
    return width * np.maximum(1.0 - (1.0 - tip) * u ** power, tip)


def _level_y(fr: HeadFrame, level: str) -> float:
    return {
        "ear": fr.eye_y - 0.22 * fr.h,
        "chin": fr.chin + 0.02 * fr.h,
        "shoulder": fr.neck_y - 0.05 * fr.h,
        "mid_back": 0.5 * (fr.chest_y + fr.neck_y) - 0.1 * (fr.neck_y - fr.chest_y),
        "waist": 0.5 * (fr.chest_y + fr.hips_y),
    }[level]


# (amplitude, wavelength) of a lock's waves in head heights, per texture; curls also spiral outwards
TEXTURE_WAVE = {"straight": (0.0, 1.0), "wavy": (0.05, 0.36), "curly": (0.06, 0.28)}


def texture_offsets(fr: HeadFrame, theta: np.ndarray, drop: np.ndarray, texture: str, phase: np.ndarray) -> np.ndarray:
    """Offsets ``[n, m, 3]`` (metres) that make falling locks wavy or curly: locks at azimuths
    ``theta [n]`` sampled ``drop [n, m]`` metres below where they leave the cap. Wavy: an S-curve
    away from the head and back (0 to 2 amplitudes out, so the silhouette ripples from every side)
    with a smaller sideways sway; curly: a spiral around the fall line (sideways and out). Growing in
    over the first 0.15 head heights so the locks stay on the cap at the top."""
    amp, lam = TEXTURE_WAVE[texture]
    if amp == 0.0:
        return np.zeros(drop.shape + (3,))
    side = np.stack([np.cos(theta), np.zeros_like(theta), -np.sin(theta)], 1)  # [n, 3] along the head
    out = np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], 1)
    a = amp * fr.h * np.clip(drop / (0.15 * fr.h), 0.0, 1.0)  # [n, m]
    ang = 2 * np.pi * drop / (lam * fr.h) + phase[:, None]
    if texture == "wavy":
        return (0.5 * a * np.sin(ang))[..., None] * side[:, None] + (a * (1 - np.cos(ang)))[..., None] * out[:, None]
    return (a * np.sin(ang))[..., None] * side[:, None] + (a * (1.0 + np.cos(ang)))[..., None] * out[:, None]


def hanging_strands(fr: HeadFrame, fld: BodyField, theta, phi0, y_end, width, flare: float = 0.0,
                    curl: float = 0.0, k: int = 16, texture: str = "straight") -> list[Strand]:
    """Strands rooted on the cap at azimuths ``theta [n]`` / polar angles ``phi0 [n]`` that follow the
    cap down to just below the cranium's equator, then fall to ``y_end [n]`` (flaring out by
    ``flare`` metres, tips curling in by ``curl`` metres; ``texture`` wavy/curly adds waves or a
    spiral, with more points along the lock), pushed outside the body. Every lock tapers to a point."""
    theta, phi0, y_end, width = (np.atleast_1d(np.asarray(x, float)) for x in np.broadcast_arrays(theta, phi0, y_end, width))
    n = len(theta)
    phis = np.linspace(phi0, np.full(n, np.deg2rad(100.0)), 6, axis=1)  # [n, 6]
    top = cap_surface(fr, fld, sphere_dirs(np.repeat(theta, 6), phis.ravel())).reshape(n, 6, 3)
    out = np.stack([np.sin(theta), np.zeros(n), np.cos(theta)], 1)  # [n, 3]
    top -= out[:, None] * (0.3 * 0.4 * width)[:, None, None]
    top[:, 0] = sink_root(fr, top[:, 0])
    start = top[:, -1]
    wavy = texture != "straight"
    if wavy:  # enough points for about 8 per wave
        turns = float(np.max(start[:, 1] - y_end)) / (TEXTURE_WAVE[texture][1] * fr.h)
        k = int(np.clip(8 * turns + 8, k, 56))
    u = np.linspace(0.0, 1.0, max(11, k))[1:]
    fall = np.repeat(start[:, None], len(u), 1)
    fall[..., 1] = start[:, 1:2] + (y_end - start[:, 1])[:, None] * u
    fall += out[:, None] * (flare * u ** 1.5 - curl * np.clip((u - 0.7) / 0.3, 0, 1) ** 2)[None, :, None]
    if wavy:
        drop = (start[:, 1:2] - fall[..., 1])
        # waves run in step across the head (no gaps open between locks); curls alternate for volume
        phase = 0.6 * theta + (0.5 * np.pi * (np.arange(n) % 2) if texture == "curly" else 0.0)
        fall += texture_offsets(fr, theta, drop, texture, phase)
    pts = np.stack([resample(np.concatenate([top[i], fall[i]]) if y_end[i] < start[i, 1] - 1e-3 else top[i], k,
                             smooth=0 if wavy else 1) for i in range(n)])
    w = np.stack([_taper(k, wi) for wi in width])
    clear = w * 0.4 + STRAND_CLEARANCE
    for it in range(2):
        if it:
            pts = np.stack([resample(p, k, smooth=0 if wavy else 1) for p in pts])
        below = pts[..., 1] < fr.centre[1]
        pts[below] = fld.push_out(pts[below], clear[below])
    return [Strand(pts[i], w[i], 0.4, out[i], sides=6 if wavy else 8) for i in range(n)]


def strand_mesh(strands: list[Strand]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tubes of all strands: ``(vertices [V,3], faces [F,3], strand id [V], ring index [V])``."""
    from kyara.character.meshing import tube

    vs, fs, sid, ring, off = [], [], [], [], 0
    for i, s in enumerate(strands):
        v, f = tube(s.points, s.radii, s.sides, s.flatten, s.up)
        k = len(s.points)
        vs.append(v)
        fs.append(f + off)
        sid.append(np.full(len(v), i))
        ring.append(np.concatenate([np.repeat(np.arange(k), s.sides), [0, k - 1]]))
        off += len(v)
    return np.concatenate(vs), np.concatenate(fs), np.concatenate(sid), np.concatenate(ring)


def chain_weights(points: np.ndarray, joints: np.ndarray, bones: np.ndarray, root_bone: int) -> tuple[np.ndarray, np.ndarray]:
    """Skin weights ``([N,4], [N,4])`` of ``points [N,3]`` hanging on the chain ``joints [n,3]``
    (bone ids ``bones [n]``): piecewise linear in the chain parameter between consecutive joints,
    blending into ``root_bone`` before the first joint."""
    n = len(joints)
    seg = joints[1:] - joints[:-1]  # [n-1, 3]
    l2 = np.maximum(np.einsum("ij,ij->i", seg, seg), 1e-12)
    rel = points[:, None, :] - joints[None, :-1, :]  # [N, n-1, 3]
    t = np.einsum("nsj,sj->ns", rel, seg) / l2
    tc = t.copy()
    tc[:, 1:] = np.clip(tc[:, 1:], 0.0, 1.0)
    tc[:, 0] = np.clip(tc[:, 0], -1.0, 1.0)
    tc[:, -1] = np.maximum(tc[:, -1], 0.0) if n > 2 else tc[:, -1]
    d = np.linalg.norm(rel - tc[..., None] * seg[None], axis=2)
    best = np.argmin(d, axis=1)
    s = best + tc[np.arange(len(points)), best]  # chain parameter, 0 at joint 0
    s = np.clip(s, -1.0, n - 1.0)
    idx = np.zeros((len(points), 4), np.int64)
    w = np.zeros((len(points), 4), np.float32)
    before = s < 0
    lo = np.clip(np.floor(s).astype(int), 0, n - 2)
    frac = np.clip(s - lo, 0.0, 1.0)
    idx[:, 0] = bones[lo]
    idx[:, 1] = bones[lo + 1]
    w[:, 0] = 1.0 - frac
    w[:, 1] = frac
    idx[before, 0] = root_bone
    idx[before, 1] = bones[0]
    w[before, 0] = -s[before]
    w[before, 1] = 1.0 + s[before]
    idx[:, 2:] = idx[:, :1]
    w /= w.sum(axis=1, keepdims=True)
    return idx, w


def chain_from_points(name: str, pts: np.ndarray, n: int, spring: dict | None = None) -> Chain:
    """A chain of ``n`` joints spread evenly along the polyline ``pts``."""
    return Chain(name, resample(pts, n, smooth=0), dict(spring or SPRING_LONG))


# ------------------------------------------------------------------------------------------
# the entry point


def build_hair(spec, body) -> tuple[list[Part], list[ExtraBone]]:
    """Hair parts and spring-chain bones for ``spec.hair`` on ``body``.

    Returns ``(parts, extra_bones)``: ``hair_cap`` (rigid on ``head``), ``hair_bangs`` (bangs and
    the side locks), ``hair_strands`` (hanging locks, spikes, the ahoge), the style's ``hair_tail``
    (ponytails, twin tails, braid, drill curls) and ``hair_buns`` where present, ``hair_tie`` (its
    own colour) and ``hair_shine`` (the angel ring, its own material). Every hair part but the tie
    and the shine uses the material ``hair``; two-tone hair carries per-vertex colours. Joint
    indices >= 55 refer to the returned bones in order.
    """
    from kyara.character.hair_shine import angel_ring, tone_colours
    from kyara.character.hair_styles import style_strands
    from kyara.character.meshing import check_closed

    style = spec.hair.style
    fr, fld = head_field(body)
    rng = np.random.default_rng(spec.seed)
    base = hex_to_rgb(spec.hair.colour.hex)
    tips = None if spec.hair.tips is None else hex_to_rgb(spec.hair.tips.hex)
    mat = Material("hair", base, shade_color=shade_of(base, 0.68), outline_width=0.0012)

    # ---- the cap
    T = fr.hair_t * 2.4
    lo = fr.centre - fr.radii - T
    hi = fr.centre + fr.radii + T
    lo[1] = min(float(_hairline(fr, style, np.array([np.pi]))[0]), fr.eye_y) - 0.02 * fr.h
    cv, cf = cap_mesh(fr, BodyField(body, lo, hi, pad=0.1 * fr.h), style)
    check_closed("hair_cap", cv, cf)
    ci, cw = _rigid(len(cv))
    parts = [Part("hair_cap", "hair", cv, cf, ci, cw, mat)]

    # ---- strands by style
    groups, chains = style_strands(spec, fr, fld, rng)
    bones: list[ExtraBone] = []
    bone_of_chain: list[np.ndarray] = []
    for c in chains:
        ids = []
        for kk, pos in enumerate(c.joints):
            parent = "head" if kk == 0 else f"{c.name}_{kk - 1}"
            bones.append(ExtraBone(f"{c.name}_{kk}", parent, tuple(float(x) for x in pos), dict(c.spring)))
            ids.append(NUM_BONES + len(bones) - 1)
        bone_of_chain.append(np.array(ids))
    for name, strands, extra_meshes, colour in groups:
        if not strands and not extra_meshes:
            continue
        v, f, idx, w, t = _skinned_strands(strands, chains, bone_of_chain)
        if len(v):  # tube end caps can poke a hair's breadth into the skin: push those out
            v = fld.push_out(v, 0.0025, iters=3)
        for mesh in extra_meshes:  # braid lobes, buns, drills, ties: (vertices, faces, chain or None[, t])
            mv, mf, chain_id = mesh[:3]
            if chain_id is None:
                mi, mw = _rigid(len(mv))
                mt = np.zeros(len(mv))
            else:
                mi, mw = chain_weights(mv, chains[chain_id].joints, bone_of_chain[chain_id], HEAD)
                mt = chain_param(mv, chains[chain_id].joints)
            if len(mesh) > 3:
                mt = np.asarray(mesh[3], float)
            f = np.concatenate([f, mf + len(v)]) if len(v) else mf
            v = np.concatenate([v, mv]) if len(v) else mv
            idx = np.concatenate([idx, mi]) if len(idx) else mi
            w = np.concatenate([w, mw]) if len(w) else mw
            t = np.concatenate([t, mt])
        check_closed(name, v, f)
        m = mat if colour is None else Material(name, colour, outline_width=0.001)
        colours = tone_colours(base, tips, t) if colour is None and tips is not None else None
        parts.append(Part(name, "hair", v, f, idx, w, m, colors=colours))
    shine = angel_ring(fr, [p for p in parts if p.name in ("hair_cap", "hair_bangs", "hair_strands")], base,
                       front_only=style == "spiky")
    if shine is not None:
        check_closed(shine.name, shine.vertices, shine.faces)
        parts.append(shine)
    return parts, bones


def chain_param(points: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Where ``points [N, 3]`` lie along the chain ``joints [n, 3]``: ``[N]`` in [0, 1] (0 at the first
    joint, 1 at the last), by the nearest point on the joint polyline."""
    seg = joints[1:] - joints[:-1]
    l2 = np.maximum(np.einsum("ij,ij->i", seg, seg), 1e-12)
    rel = points[:, None, :] - joints[None, :-1, :]
    t = np.clip(np.einsum("nsj,sj->ns", rel, seg) / l2, 0.0, 1.0)
    d = np.linalg.norm(rel - t[..., None] * seg[None], axis=2)
    best = np.argmin(d, axis=1)
    lens = np.sqrt(l2)
    cum = np.concatenate([[0.0], np.cumsum(lens)])
    s = cum[best] + t[np.arange(len(points)), best] * lens[best]
    return s / max(cum[-1], 1e-12)


def _rigid(n: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.zeros((n, 4), np.int64)
    idx[:, :] = HEAD
    w = np.zeros((n, 4), np.float32)
    w[:, 0] = 1.0
    return idx, w


def _skinned_strands(strands: list[Strand], chains: list[Chain], bone_ids: list[np.ndarray]):
    """Tubes of ``strands`` skinned to their chains: ``(v, f, joint idx, weights, t)``, ``t [V]`` the
    position along each lock (0 at the root, 1 at the tip)."""
    if not strands:
        return (np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 4), np.int64), np.zeros((0, 4), np.float32),
                np.zeros(0))
    v, f, sid, ring = strand_mesh(strands)
    k = np.array([len(s.points) for s in strands])[sid]
    t = ring / np.maximum(k - 1, 1)
    idx, w = _rigid(len(v))
    for c, chain in enumerate(chains):
        on = np.isin(sid, [i for i, s in enumerate(strands) if s.chain == c])
        if on.any():
            idx[on], w[on] = chain_weights(v[on], chain.joints, bone_ids[c], HEAD)
    return v, f, idx, w, t


# ------------------------------------------------------------------------------------------
# shapes shared with accessories (they import them from here)

from kyara.character.hair_shapes import ellipsoid_mesh, loop_tube  # noqa: E402,F401
