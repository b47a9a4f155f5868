"""Hair styles: bangs and the style-specific strands (short, bob, long, ponytail, twin-tails,
spiky, braided) on spring chains. The cap, strand meshing and weights live in :mod:`kyara.character.hair`."""

from __future__ import annotations

import numpy as np

from kyara.character.model import hex_to_rgb, shade_of

from kyara.character.hair import (
    BodyField,
    Chain,
    HeadFrame,
    SPRING_LONG,
    SPRING_SHORT,
    STRAND_CLEARANCE,
    Strand,
    _hairline,
    _level_y,
    _taper,
    cap_surface,
    chain_from_points,
    ellipsoid_mesh,
    hanging_strands,
    loop_tube,
    resample,
    sphere_dirs,
)

def _frame_along(d: np.ndarray) -> np.ndarray:
    """Rows: a unit x, the unit ``d`` (as local y) and a unit z perpendicular to both."""
    d = d / np.linalg.norm(d)
    x = np.cross(d, [0.0, 0.0, 1.0])
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, d, np.cross(x, d)])


# ------------------------------------------------------------------------------------------
# styles


def _bang_strands(fr: HeadFrame, fld: BodyField, specs: list, k: int = 14) -> list[Strand]:
    """Bangs from ``specs`` = [(theta, [(x, y), ...], width)]: from the top of the cap at azimuth
    ``theta`` over the hairline, then down the forehead through the 2D points, just outside the skin."""
    if not specs:
        return []
    phis = np.deg2rad([12.0, 30.0, 48.0, 62.0, 74.0, 84.0])
    th = np.concatenate([np.full(6, t) * np.linspace(0.4, 1.0, 6) for t, _, _ in specs])
    caps = cap_surface(fr, fld, sphere_dirs(th, np.tile(phis, len(specs)))).reshape(len(specs), 6, 3)
    xys = []
    for (theta, path_xy, width), cap in zip(specs, caps):
        y_hl = _hairline(fr, "short", np.array([theta]))[0]
        cap = cap[cap[:, 1] > y_hl - 0.01 * fr.h]
        xy = np.array([cap[-1, :2]] + list(path_xy))
        for _ in range(2):  # Chaikin
            xy = np.concatenate([xy[:1], np.stack([0.75 * xy[:-1] + 0.25 * xy[1:], 0.25 * xy[:-1] + 0.75 * xy[1:]], 1).reshape(-1, 2), xy[-1:]])
        xys.append((cap, xy))
    allxy = np.concatenate([xy for _, xy in xys])
    z_all = fld.front_z(allxy[:, 0], allxy[:, 1], fr.centre[2], fr.centre[2] + 1.5 * fr.radii[2])
    pts, ws, o = [], [], 0
    for (theta, _, width), (cap, xy) in zip(specs, xys):
        z = z_all[o:o + len(xy)] + 0.4 * width + STRAND_CLEARANCE
        o += len(xy)
        face = np.stack([xy[:, 0], xy[:, 1], z], 1)[1:]
        pts.append(resample(np.concatenate([cap, face]), k))
        ws.append(_taper(k, width, tip=0.1, power=3.0))
    pts, ws = np.stack(pts), np.stack(ws)
    pts = fld.push_out(pts.reshape(-1, 3), (ws * 0.4 + STRAND_CLEARANCE).ravel()).reshape(pts.shape)
    return [Strand(p, w, 0.4, np.array([np.sin(t), 0.3, np.cos(t)])) for p, w, (t, _, _) in zip(pts, ws, specs)]


def bangs_strands(spec, fr: HeadFrame, fld: BodyField) -> list[Strand]:
    """Strands over the forehead for ``spec.hair.bangs`` (ending above the brows, clear of the eyes)."""
    kind = spec.hair.bangs
    if kind == "none":
        return []
    ex, es, h = fr.eye_x, fr.es, fr.h
    y_end = fr.brow_y + 0.015 * h
    outer = ex + 0.55 * es  # beyond the outer eye corner
    out: list = []
    if kind == "blunt":
        thetas = np.deg2rad(np.linspace(-48, 48, 9))
        for th in thetas:
            x = np.sin(th) * 0.9 * fr.radii[0]
            ye = y_end if abs(x) < outer else fr.eye_y + 0.1 * es
            out.append((th, [(x, fr.brow_y + 0.1 * h), (x, ye)], 0.085 * h))
    elif kind == "side-swept":
        thetas = np.deg2rad(np.linspace(-40, 46, 8))
        for i, th in enumerate(thetas):
            x0 = np.sin(th) * 0.9 * fr.radii[0]
            x1 = x0 - 0.1 * h - 0.05 * h * (i / 7)
            ye = y_end + 0.02 * h * (i / 7)
            out.append((th, [(x0 - 0.03 * h, fr.brow_y + 0.1 * h), (x1, ye)], 0.09 * h))
    else:  # parted
        for s in (1.0, -1.0):
            for i, deg in enumerate((8, 20, 33, 46)):
                th = s * np.deg2rad(deg)
                x0 = np.sin(th) * 0.9 * fr.radii[0]
                x1 = s * max(abs(x0) + 0.06 * h, outer + 0.02 * h) if i >= 2 else x0 + s * 0.05 * h
                ye = fr.eye_y - 0.05 * h if i >= 2 else y_end + 0.03 * h
                mid = (0.5 * (x0 + x1) + s * 0.02 * h, fr.brow_y + 0.07 * h)
                out.append((th, [mid, (x1, ye)], 0.08 * h))
    return _bang_strands(fr, fld, out)


def _arc_width(fr: HeadFrame, span: float, n: int, overlap: float = 1.6) -> float:
    return overlap * 0.5 * (fr.radii[0] + fr.hair_t) * span / max(n, 1)


def _hang_group(fr, fld, rng, deg_lo: float, deg_hi: float, n_side: int, y_end_fn, chain_degs, n_joints,
                name: str, flare=0.0, curl=0.0, spring=None):
    """Hanging strands on both sides between azimuths ``deg_lo..deg_hi`` (degrees from the front),
    each on the nearest of the chains placed at ``chain_degs``: ``(strands, chains)``."""
    degs = np.linspace(deg_lo, deg_hi, n_side)
    az = np.concatenate([degs, -degs[degs < 179.9]])
    width = _arc_width(fr, np.deg2rad(deg_hi - deg_lo), n_side - 1)
    y_end = np.array([y_end_fn(abs(d)) for d in az]) + 0.02 * fr.h * rng.uniform(-1, 1, len(az))
    phi0 = np.deg2rad(30.0 + 10.0 * (np.arange(len(az)) % 2))
    strands = hanging_strands(fr, fld, np.deg2rad(az), phi0, y_end, width, flare, curl)
    chains: list[Chain] = []
    c_az = np.array([s * cd for cd in chain_degs for s in (1.0, -1.0)])
    if len(c_az):
        refs = hanging_strands(fr, fld, np.deg2rad(c_az), np.deg2rad(40.0), [y_end_fn(abs(c)) for c in c_az], 0.05 * fr.h, flare, curl)
        for c, ref in zip(c_az, refs):
            fall = ref.points[ref.points[:, 1] <= fr.centre[1] + 0.05 * fr.h]
            chains.append(chain_from_points(f"{name}_{'L' if c > 0 else 'R'}{int(abs(c))}", fall, n_joints, spring))
        for d, st in zip(az, strands):
            diff = np.abs((d - c_az + 180.0) % 360.0 - 180.0)
            st.chain = int(np.argmin(diff))
    return strands, chains


def _tail(fr, fld, root: np.ndarray, ctrl: list, y_end: float, r0: float, r_max: float, n: int, k: int = 18):
    """A bundle of strands from ``root`` through the control points down to ``y_end``."""
    pts = np.array([root] + list(ctrl))
    pts[-1, 1] = y_end
    c = resample(_bezier(pts, 40), k)
    u = np.linspace(0, 1, k)
    R = r0 + (r_max - r0) * np.sin(np.pi * np.clip(u / 0.6, 0, 1) * 0.5) - r_max * 0.75 * np.clip((u - 0.55) / 0.45, 0, 1) ** 1.5
    c = fld.push_out(c, R + STRAND_CLEARANCE)
    t = np.gradient(c, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    nrm = np.cross(t, [1.0, 0.0, 0.0])
    nrm[np.linalg.norm(nrm, axis=1) < 1e-6] = [0.0, 0.0, 1.0]
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    bin_ = np.cross(t, nrm)
    strands = [Strand(c.copy(), np.maximum(R * 0.55, 0.08 * r_max), 0.8, nrm[0], sides=8)]
    for i in range(n):
        a = 2 * np.pi * i / n
        off = (np.cos(a) * nrm + np.sin(a) * bin_) * (0.5 * R)[:, None]
        p = c + off
        p[-1] = c[-1] + (p[-1] - c[-1]) * 0.3
        strands.append(Strand(p, np.maximum(0.55 * R, 0.06 * r_max) * np.where(u > 0.85, 0.7, 1.0), 0.55,
                              np.cos(a) * nrm[0] + np.sin(a) * bin_[0], sides=8))
    return strands, c


def _bezier(ctrl: np.ndarray, m: int) -> np.ndarray:
    from math import comb

    n = len(ctrl) - 1
    t = np.linspace(0, 1, m)[:, None]
    return sum(comb(n, i) * t ** i * (1 - t) ** (n - i) * ctrl[i] for i in range(n + 1))


def _tie(centre: np.ndarray, axis: np.ndarray, radius: float, thick: float):
    fx = _frame_along(axis)
    a = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    loop = centre + radius * (np.cos(a)[:, None] * fx[0] + np.sin(a)[:, None] * fx[2])
    return loop_tube(loop, thick, 6)


def _braid(fr, fld, root: np.ndarray, y_end: float, chain_id: int):
    """Braid lobes (ellipsoids alternating left/right) down the back, a tie and a tuft."""
    h = fr.h
    ctrl = np.array([root, root + [0, -0.1 * h, -0.04 * h], [0, y_end, root[2] - 0.02 * h]])
    c = resample(_bezier(ctrl, 30), 40)
    r = 0.05 * h
    c = fld.push_out(c, r + STRAND_CLEARANCE)
    c = resample(c, 40)
    s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(c, axis=0), axis=1))])
    meshes = []
    step = 0.055 * h
    for i, d in enumerate(np.arange(0.0, s[-1] - 0.08 * h, step)):
        p = np.array([np.interp(d, s, c[:, a]) for a in range(3)])
        j = min(np.searchsorted(s, d), len(c) - 2)
        fx = _frame_along(c[j + 1] - c[j])
        ang = 0.6 * (1 if i % 2 else -1)
        ax = np.stack([np.cos(ang) * fx[0] + np.sin(ang) * fx[1], -np.sin(ang) * fx[0] + np.cos(ang) * fx[1], fx[2]])
        scale = 1.0 - 0.35 * d / s[-1]
        v, f = ellipsoid_mesh(p + fx[0] * (0.25 * r * (1 if i % 2 else -1)), ax, [0.75 * r * scale, 1.2 * r * scale, 0.6 * r * scale], 10, 6)
        meshes.append((v, f, chain_id))
    end = c[-1]
    tv, tf = _tie(end + [0, 0.03 * h, 0], [0, 1, 0], 0.35 * r, 0.12 * r)
    tuft = Strand(np.array([end + [0, 0.04 * h, 0], end + [0, -0.06 * h, -0.01 * h]]), np.array([0.3 * r, 0.55 * r]), 0.7, np.array([0, 0, -1.0]))
    tuft.points = resample(tuft.points, 5, 0)
    tuft.radii = np.array([0.3, 0.5, 0.55, 0.45, 0.15]) * r
    tuft.chain = chain_id
    return meshes, [(tv, tf, chain_id)], [tuft], c


def style_strands(spec, fr: HeadFrame, fld: BodyField, rng) -> tuple[list, list[Chain]]:
    """``([(part name, strands, extra meshes, colour or None)], chains)`` of ``spec.hair``."""
    style, length = spec.hair.style, spec.hair.length
    h = fr.h
    chains: list[Chain] = []
    groups: list = []
    has_hat = any(a.kind in ("witch-hat", "tricorn-hat", "cap") for a in spec.accessories)
    tie_col = shade_of(hex_to_rgb(spec.hair.colour.hex), 0.45)
    for a in spec.accessories:
        if a.kind == "ribbon":
            tie_col = hex_to_rgb(a.colour.hex)

    def add_chain(c: Chain) -> int:
        chains.append(c)
        return len(chains) - 1

    bangs = bangs_strands(spec, fr, fld)
    if bangs:
        mid = bangs[len(bangs) // 2].points
        ci = add_chain(chain_from_points("hair_bangs", mid[len(mid) // 3:], 3, SPRING_SHORT))
        for s in bangs:
            s.chain = ci
    # side locks framing the face
    lock_end = {"short": fr.eye_y - 0.2 * h, "bob": fr.chin + 0.02 * h, "spiky": fr.eye_y - 0.15 * h}.get(style, fr.chin - 0.08 * h)
    locks = hanging_strands(fr, fld, np.deg2rad([64.0, -64.0]), np.deg2rad(25), lock_end, 0.06 * h, 0.0, -0.01 * h)
    for s, st in zip((1.0, -1.0), locks):
        fall = st.points[st.points[:, 1] <= fr.eye_y + 0.05 * h]
        st.chain = add_chain(chain_from_points(f"hair_side_{'L' if s > 0 else 'R'}", fall, 3, SPRING_SHORT))
    groups.append(("hair_bangs", bangs + locks, [], None))

    back: list[Strand] = []
    extra: list = []
    tail: list[Strand] = []
    ties: list = []
    if style in ("short", "spiky"):
        def yf(dg):
            return np.interp(dg, [60, 120, 180], [fr.eye_y - 0.15 * h, fr.chin + 0.1 * h, fr.chin + 0.04 * h])
        back, _ = _hang_group(fr, fld, rng, 70, 180, 9, yf, [], 0, "hair_short")
    elif style in ("bob", "long", "braided"):
        if style == "bob":
            y_bob = fr.chin + (0.03 if length == "short" else -0.12) * h
            yf = lambda dg: y_bob  # noqa: E731
            back, cs = _hang_group(fr, fld, rng, 56, 180, 11, yf, [100, 160], 3, "hair_bob", 0.02 * h, 0.03 * h, SPRING_SHORT)
        elif style == "long":
            y_long = _level_y(fr, "mid_back" if length == "long" else "shoulder")
            y_front = max(fr.neck_y - 0.15 * h, y_long)

            def yf(dg):
                return float(np.interp(dg, [50, 90, 120], [y_front, y_front, y_long]))
            back, cs = _hang_group(fr, fld, rng, 52, 180, 12, yf, [75, 130, 170], 4, "hair_long", 0.04 * h, 0.0)
        else:  # braided: short layer plus the braid
            def yf(dg):
                return np.interp(dg, [60, 120, 180], [fr.chin, fr.chin + 0.05 * h, fr.chin + 0.05 * h])
            back, cs = _hang_group(fr, fld, rng, 70, 180, 9, yf, [], 0, "hair_braid")
        off = len(chains)
        chains += cs
        for st in back:
            if st.chain is not None:
                st.chain += off
    if style == "ponytail":
        yf_short = lambda dg: fr.chin + 0.12 * h  # noqa: E731
        back, _ = _hang_group(fr, fld, rng, 80, 180, 8, yf_short, [], 0, "hair_pt")
        root = cap_surface(fr, fld, sphere_dirs(np.array([np.pi]), np.array([np.deg2rad(62)])))[0]
        y_end = _level_y(fr, "mid_back" if length == "long" else "shoulder")
        ctrl = [root + [0, 0.08 * h, -0.16 * h], [0, root[1] - 0.15 * h, root[2] - 0.3 * h], [0, y_end, root[2] - 0.12 * h]]
        tail, c = _tail(fr, fld, root - [0, 0, 0.01 * h], ctrl, y_end, 0.05 * h, 0.11 * h, 8)
        ci = add_chain(chain_from_points("hair_ponytail", c, 4, SPRING_LONG))
        for st in tail:
            st.chain = ci
        ties.append((*_tie(c[1], c[2] - c[0], 0.05 * h, 0.015 * h), ci))
    elif style == "twin-tails":
        back, _ = _hang_group(fr, fld, rng, 80, 180, 8, lambda dg: fr.chin + 0.12 * h, [], 0, "hair_tt")
        y_end = _level_y(fr, "waist" if length == "long" else "mid_back")
        for s in (1.0, -1.0):
            root = cap_surface(fr, fld, sphere_dirs(np.array([s * np.deg2rad(118)]), np.array([np.deg2rad(52)])))[0]
            ctrl = [root + [s * 0.12 * h, 0.06 * h, -0.04 * h], [s * (fr.radii[0] + 0.2 * h), root[1] - 0.3 * h, root[2] - 0.1 * h],
                    [s * (fr.radii[0] + 0.12 * h), y_end, fr.centre[2] - fr.radii[2] - 0.05 * h]]
            ts, c = _tail(fr, fld, root - [s * 0.01 * h, 0, 0], ctrl, y_end, 0.05 * h, 0.12 * h, 7)
            ci = add_chain(chain_from_points(f"hair_twintail_{'L' if s > 0 else 'R'}", c, 4, SPRING_LONG))
            for st in ts:
                st.chain = ci
            tail += ts
            ties.append((*_tie(c[1], c[2] - c[0], 0.04 * h, 0.013 * h), ci))
    elif style == "braided":
        root = cap_surface(fr, fld, sphere_dirs(np.array([np.pi]), np.array([np.deg2rad(115)])))[0]
        y_end = _level_y(fr, "waist" if length == "long" else "mid_back")
        ci = len(chains)
        lobes, btie, tuft, c = _braid(fr, fld, root, y_end, ci)
        chains.append(chain_from_points("hair_braid", c, 4, SPRING_LONG))
        extra += lobes
        tail += tuft
        ties += btie
    elif style == "spiky":
        th, ph = np.meshgrid(np.deg2rad(np.arange(-180, 180, 30)), np.deg2rad([28, 55, 85, 112]))
        th = th + np.deg2rad(15) * (np.arange(4)[:, None] % 2)
        th, ph = th.ravel(), ph.ravel()
        keep = ~((np.abs(th) < np.deg2rad(70)) & (ph > np.deg2rad(50)))
        if has_hat:
            keep &= ph > np.deg2rad(80)
        th, ph = th[keep], ph[keep]
        roots = cap_surface(fr, fld, sphere_dirs(th, ph)) - sphere_dirs(th, ph) * 0.01 * h
        d = sphere_dirs(th, ph) + np.array([0, 0.35, -0.2]) * (ph > 0.6)[:, None]
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        L = (0.2 + 0.06 * rng.uniform(-1, 1, len(th))) * h * (1.3 if length == "medium" else 1.0)
        u = np.linspace(0, 1, 5)
        p = roots[:, None] + d[:, None] * (L[:, None] * u)[..., None] + np.array([0, -0.04 * h, 0]) * (u ** 2)[None, :, None]
        p = fld.push_out(p.reshape(-1, 3), 0.02 * h).reshape(p.shape)
        back += [Strand(p[i], np.array([1.0, 0.75, 0.5, 0.25, 0.05]) * 0.075 * h, 0.55, sphere_dirs(th[i], ph[i]), sides=6)
                 for i in range(len(th))]
    groups.append(("hair_strands", back, [], None))
    if tail or extra:
        groups.append(("hair_tail", tail, extra, None))
    if ties:
        groups.append(("hair_tie", [], ties, tie_col))
    return groups, chains
