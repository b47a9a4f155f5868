"""Gathered hair: ponytails (high, low, side), twin tails, buns (odango), drill curls and the braid.

Each builder returns ``(strands, extra meshes, ties, chains)`` in head-frame metres: strands and
meshes hang on the returned spring chains (indices into that list; the caller renumbers), ties are
``(vertices, faces, chain index)``. Tails are bundles of locks that spread from the tie and end in
staggered points; drills are a lock wound on a cone around a hanging axis; buns are a coiled lock
on a round core, rigid on the head.
"""

from __future__ import annotations

import numpy as np

from kyara.character.hair import (
    SPRING_LONG,
    STRAND_CLEARANCE,
    Chain,
    HeadFrame,
    Strand,
    _level_y,
    cap_surface,
    chain_from_points,
    resample,
    sphere_dirs,
)
from kyara.character.hair_shapes import bezier, curve_frames, ellipsoid_mesh, frame_along, loop_tube

SPRING_TAIL = {"stiffness": 1.0, "drag": 0.4, "gravity_power": 0.3, "hit_radius": 0.02}
TAIL_TURNS = {"straight": 0.0, "wavy": 0.6, "curly": 2.5}  # twists of a tail's locks around its axis


def _cap_point(fr: HeadFrame, fld, theta_deg: float, phi_deg: float) -> np.ndarray:
    return cap_surface(fr, fld, sphere_dirs(np.array([np.deg2rad(theta_deg)]), np.array([np.deg2rad(phi_deg)])))[0]


def tie_mesh(centre: np.ndarray, axis: np.ndarray, radius: float, thick: float):
    """A hair tie: a ring of radius ``radius`` around ``axis`` at ``centre``."""
    fx = frame_along(axis)
    a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    loop = centre + radius * (np.cos(a)[:, None] * fx[0] + np.sin(a)[:, None] * fx[2])
    return loop_tube(loop, thick, 6)


def tail_bundle(fr: HeadFrame, fld, root: np.ndarray, ctrl: list, y_end: float, r0: float, r_max: float, n: int,
                texture: str = "straight", k: int = 22, seed: int = 0) -> tuple[list[Strand], np.ndarray]:
    """A tail from ``root`` through the Bezier control points ``ctrl`` (the last one lowered to
    ``y_end``): a core lock and ``n`` locks around it that are pinched to ``r0`` at the tie, fullest
    (``r_max``) a third of the way down, and end at staggered lengths in points that fan out.
    Returns ``(strands, centre line [k, 3])``."""
    pts = np.array([root] + list(ctrl), float)
    pts[-1, 1] = y_end
    c = resample(bezier(pts, 48), k)
    u = np.linspace(0.0, 1.0, k)
    R = r0 + (r_max - r0) * np.sin(0.5 * np.pi * np.clip(u / 0.35, 0, 1))  # the bundle's radius, no end taper
    end_taper = 1.0 - 0.55 * np.clip((u - 0.45) / 0.55, 0, 1) ** 1.5
    c = fld.push_out(c, R * end_taper + STRAND_CLEARANCE)
    c = resample(c, k, smooth=0)
    _, nrm, bin_ = curve_frames(c, ref=(1.0, 0.0, 0.0))
    rng = np.random.default_rng(seed)
    core_len = 0.8
    core_pts = resample(c[: int(core_len * (k - 1)) + 1], 12, smooth=0)
    uc = np.linspace(0, 1, 12)
    core_r = 0.6 * np.interp(uc * core_len, u, R * end_taper) * np.maximum(1.0 - uc ** 3, 0.06)
    strands = [Strand(core_pts, core_r, 0.85, nrm[0], sides=8)]
    turns = TAIL_TURNS[texture]
    for i in range(n):
        e = 0.82 + 0.18 * ((i * 0.618) % 1.0)  # staggered lengths
        e = min(1.0, e + 0.02 * rng.uniform(-1, 1))
        m = max(8, int(e * k))
        ui = np.linspace(0.0, e, m)
        ci = np.stack([np.interp(ui, u, c[:, a]) for a in range(3)], 1)
        ni = np.stack([np.interp(ui, u, nrm[:, a]) for a in range(3)], 1)
        bi = np.stack([np.interp(ui, u, bin_[:, a]) for a in range(3)], 1)
        ang = 2 * np.pi * i / n + 2 * np.pi * turns * ui
        Ri = np.interp(ui, u, R)
        off_r = 0.5 * Ri * np.maximum(end_taper[np.minimum((ui * (k - 1)).astype(int), k - 1)], 0.55)
        off_r = off_r * (1.0 + 0.35 * np.clip((ui - 0.75) / 0.25, 0, 1))  # tips fan out
        p = ci + (np.cos(ang)[:, None] * ni + np.sin(ang)[:, None] * bi) * off_r[:, None]
        ti = ui / e
        rad = 0.62 * Ri * np.maximum(1.0 - ti ** 2.2, 0.05)
        up = np.cos(ang[0]) * ni[0] + np.sin(ang[0]) * bi[0]
        strands.append(Strand(p, rad, 0.7, up, sides=10))
    return strands, c


def _tail_chain(name: str, c: np.ndarray, strands: list[Strand], chains: list[Chain], spring=None) -> int:
    chains.append(chain_from_points(name, c, 4, spring or SPRING_TAIL))
    for st in strands:
        st.chain = len(chains) - 1
    return len(chains) - 1


def ponytail(spec, fr: HeadFrame, fld, high: bool = True):
    """A ponytail tied high on the back of the head (root above the ears, the tail arcs out and
    down) or low at the nape (root below the ears, the tail hangs down the back)."""
    h = fr.h
    length = spec.hair.length
    y_end = _level_y(fr, "mid_back" if length == "long" else "shoulder")
    chains: list[Chain] = []
    if high:
        root = _cap_point(fr, fld, 180.0, 55.0)
        ctrl = [root + [0, 0.07 * h, -0.14 * h], [0, root[1] - 0.2 * h, root[2] - 0.3 * h], [0, y_end, root[2] - 0.14 * h]]
        r0, r_max = 0.05 * h, 0.12 * h
    else:
        root = _cap_point(fr, fld, 180.0, 130.0)
        y_end -= 0.1 * h
        ctrl = [root + [0, -0.06 * h, -0.07 * h], [0, root[1] - 0.35 * h, root[2] - 0.06 * h], [0, y_end, root[2] - 0.02 * h]]
        r0, r_max = 0.045 * h, 0.1 * h
    strands, c = tail_bundle(fr, fld, root - [0, 0, 0.01 * h], ctrl, y_end, r0, r_max, 5, spec.hair.texture, seed=spec.seed)
    ci = _tail_chain("hair_ponytail", c, strands, chains)
    ties = [(*tie_mesh(c[1], c[2] - c[0], 0.055 * h, 0.016 * h), ci)]
    return strands, [], ties, chains


def side_ponytail(spec, fr: HeadFrame, fld, side: float = 1.0):
    """One tail tied above the ear on the character's left (``side`` +1) or right (-1), swept out
    and hanging behind the shoulder."""
    h = fr.h
    s = side
    y_end = _level_y(fr, "mid_back" if spec.hair.length == "long" else "shoulder")
    root = _cap_point(fr, fld, s * 105.0, 55.0)
    xr = fr.radii[0]
    ctrl = [root + [s * 0.13 * h, 0.07 * h, -0.03 * h], [s * (xr + 0.26 * h), root[1] - 0.3 * h, root[2] - 0.05 * h],
            [s * (xr + 0.16 * h), y_end, fr.centre[2] - fr.radii[2] - 0.04 * h]]
    chains: list[Chain] = []
    strands, c = tail_bundle(fr, fld, root - [s * 0.01 * h, 0, 0], ctrl, y_end, 0.05 * h, 0.13 * h, 5, spec.hair.texture,
                             seed=spec.seed)
    ci = _tail_chain(f"hair_sidetail_{'L' if s > 0 else 'R'}", c, strands, chains)
    ties = [(*tie_mesh(c[1], c[2] - c[0], 0.055 * h, 0.016 * h), ci)]
    return strands, [], ties, chains


def twin_tails(spec, fr: HeadFrame, fld):
    """Two tails tied high on both sides of the back of the head, hanging beside the back."""
    h = fr.h
    y_end = _level_y(fr, "waist" if spec.hair.length == "long" else "mid_back")
    strands, ties, chains = [], [], []
    for s in (1.0, -1.0):
        root = _cap_point(fr, fld, s * 118.0, 52.0)
        ctrl = [root + [s * 0.12 * h, 0.06 * h, -0.04 * h], [s * (fr.radii[0] + 0.2 * h), root[1] - 0.3 * h, root[2] - 0.1 * h],
                [s * (fr.radii[0] + 0.12 * h), y_end, fr.centre[2] - fr.radii[2] - 0.05 * h]]
        ts, c = tail_bundle(fr, fld, root - [s * 0.01 * h, 0, 0], ctrl, y_end, 0.05 * h, 0.12 * h, 5, spec.hair.texture,
                            seed=spec.seed + (s > 0))
        ci = _tail_chain(f"hair_twintail_{'L' if s > 0 else 'R'}", c, ts, chains)
        strands += ts
        ties.append((*tie_mesh(c[1], c[2] - c[0], 0.045 * h, 0.014 * h), ci))
    return strands, [], ties, chains


def buns(spec, fr: HeadFrame, fld):
    """Two buns (odango) high on the sides of the head, above the ears: a round core wrapped by a
    coiled lock, rigid on the head. Meshes only (no chain)."""
    h = fr.h
    meshes = []
    R = 0.125 * h
    for s in (1.0, -1.0):
        d = sphere_dirs(np.array([np.deg2rad(s * 100.0)]), np.array([np.deg2rad(40.0)]))[0]
        base = cap_surface(fr, fld, d[None])[0]
        centre = base + d * 0.5 * R
        ax = frame_along(d)  # rows x, d, z
        v, f = ellipsoid_mesh(centre, ax, [0.92 * R, 0.85 * R, 0.92 * R], 14, 9)
        meshes.append((v, f, None))
        # the coiled lock: a spiral from the bun's base over its dome
        m = 70
        w = np.linspace(0.0, 1.0, m)
        pol = np.deg2rad(115.0) * (1.0 - w) + np.deg2rad(12.0) * w  # from below the equator to near the top
        az = 2 * np.pi * 3.2 * w
        loc = np.stack([np.sin(pol) * np.cos(az), np.cos(pol), np.sin(pol) * np.sin(az)], 1) * (0.93 * R)
        path = centre + loc @ ax
        rad = 0.2 * R * np.maximum(np.minimum(1.0, np.minimum(w / 0.05, (1.0 - w) / 0.3)), 0.06)
        from kyara.character.meshing import tube

        tv, tf = tube(path, rad, 8, 0.7, d)
        meshes.append((tv, tf, None))
    return [], meshes, [], []


def drills(spec, fr: HeadFrame, fld):
    """Two drill curls (ojou-sama ringlets) hanging from the sides of the head: a lock wound in a
    tightening spiral around a hanging axis, over a tapering core, each on its own chain."""
    h = fr.h
    long = spec.hair.length == "long"
    y_end = _level_y(fr, "mid_back") if long else fr.neck_y - 0.25 * h
    turns = 6.0 if long else 4.5
    R0, r0 = 0.085 * h, 0.05 * h  # spiral radius and lock radius at the top
    strands, chains = [], []
    for s in (1.0, -1.0):
        root = _cap_point(fr, fld, s * 100.0, 75.0)
        ctrl = [root + [s * 0.1 * h, -0.05 * h, -0.02 * h],
                [s * (fr.radii[0] + 0.14 * h), root[1] - 0.35 * h, fr.centre[2] - 0.4 * fr.radii[2]],
                [s * (fr.radii[0] + 0.12 * h), y_end, fr.centre[2] - 0.6 * fr.radii[2]]]
        pts = np.array([root] + ctrl)
        axis = resample(bezier(pts, 48), 40, smooth=0)
        axis = fld.push_out(axis, R0 + r0 + STRAND_CLEARANCE)
        axis = resample(axis, 40, smooth=0)
        m = int(14 * turns) + 8
        u = np.linspace(0.0, 1.0, m)
        ua = np.linspace(0.0, 1.0, len(axis))
        A = np.stack([np.interp(u, ua, axis[:, a]) for a in range(3)], 1)
        _, n_ax, b_ax = curve_frames(axis, ref=(s, 0.0, 0.0))
        N = np.stack([np.interp(u, ua, n_ax[:, a]) for a in range(3)], 1)
        B = np.stack([np.interp(u, ua, b_ax[:, a]) for a in range(3)], 1)
        grow = np.clip(u / 0.08, 0, 1)
        Ru = R0 * (1.0 - 0.55 * u) * grow
        ang = 2 * np.pi * turns * u * s
        helix = A + (np.cos(ang)[:, None] * N + np.sin(ang)[:, None] * B) * Ru[:, None]
        r = r0 * (1.0 - 0.5 * u) * np.maximum(np.minimum(1.0, (1.0 - u) / 0.25), 0.06) ** 0.7
        helix = fld.push_out(helix, r + STRAND_CLEARANCE, iters=4)
        core_r = np.interp(ua, u, 0.8 * Ru + 0.2 * r0) * np.maximum(1.0 - ua ** 4, 0.05)
        core = Strand(axis, np.maximum(core_r, 0.15 * r0), 1.0, np.array([s, 0.0, 0.0]), sides=8)
        lock = Strand(helix, r, 0.75, np.array([0.0, 1.0, 0.0]), sides=8)
        chains.append(chain_from_points(f"hair_drill_{'L' if s > 0 else 'R'}", axis, 4, SPRING_LONG))
        core.chain = lock.chain = len(chains) - 1
        strands += [core, lock]
    return strands, [], [], chains


def braid(spec, fr: HeadFrame, fld):
    """A braid down the back: lobes alternating left and right, a tie and a pointed tuft."""
    h = fr.h
    root = _cap_point(fr, fld, 180.0, 115.0)
    y_end = _level_y(fr, "waist" if spec.hair.length == "long" else "mid_back")
    ctrl = np.array([root, root + [0, -0.1 * h, -0.04 * h], [0, y_end, root[2] - 0.02 * h]])
    c = resample(bezier(ctrl, 30), 40)
    r = 0.05 * h
    c = resample(fld.push_out(c, r + STRAND_CLEARANCE), 40)
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))])
    meshes = []
    step = 0.055 * h
    for i, d in enumerate(np.arange(0.0, s[-1] - 0.08 * h, step)):
        p = np.array([np.interp(d, s, c[:, a]) for a in range(3)])
        j = min(np.searchsorted(s, d), len(c) - 2)
        fx = frame_along(c[j + 1] - c[j])
        ang = 0.6 * (1 if i % 2 else -1)
        ax = np.stack([np.cos(ang) * fx[0] + np.sin(ang) * fx[1], -np.sin(ang) * fx[0] + np.cos(ang) * fx[1], fx[2]])
        scale = 1.0 - 0.35 * d / s[-1]
        v, f = ellipsoid_mesh(p + fx[0] * (0.25 * r * (1 if i % 2 else -1)), ax,
                              [0.75 * r * scale, 1.2 * r * scale, 0.6 * r * scale], 10, 6)
        meshes.append((v, f, 0))
    end = c[-1]
    tv, tf = tie_mesh(end + [0, 0.03 * h, 0], np.array([0, 1.0, 0]), 0.35 * r, 0.12 * r)
    tuft = Strand(resample(np.array([end + [0, 0.04 * h, 0], end + [0, -0.07 * h, -0.01 * h]]), 6, 0),
                  np.array([0.3, 0.5, 0.55, 0.45, 0.22, 0.04]) * r, 0.7, np.array([0, 0, -1.0]))
    tuft.chain = 0
    return [tuft], meshes, [(tv, tf, 0)], [chain_from_points("hair_braid", c, 4, SPRING_LONG)]


TAIL_STYLES = {
    "ponytail": lambda spec, fr, fld: ponytail(spec, fr, fld, high=True),
    "low-ponytail": lambda spec, fr, fld: ponytail(spec, fr, fld, high=False),
    "side-ponytail": side_ponytail,
    "twin-tails": twin_tails,
    "buns": buns,
    "drills": drills,
    "braided": braid,
}
