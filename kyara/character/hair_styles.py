"""Hair styles: bangs, side locks and the hanging cuts (short, bob, long, hime, spiky) with their
texture (straight, wavy, curly) and the ahoge; gathered styles (ponytails, twin tails, buns, drills,
braid) come from :mod:`kyara.character.hair_tails`. :func:`style_strands` puts a style together.
The cap, strand meshing and weights live in :mod:`kyara.character.hair`."""

from __future__ import annotations

import numpy as np

from kyara.character.hair import (
    SPRING_SHORT,
    STRAND_CLEARANCE,
    BodyField,
    Chain,
    HeadFrame,
    Strand,
    _hairline,
    _level_y,
    _taper,
    cap_surface,
    chain_from_points,
    hanging_strands,
    resample,
    sphere_dirs,
)
from kyara.character.hair_shapes import bezier
from kyara.character.model import hex_to_rgb, shade_of

SPRING_AHOGE = {"stiffness": 4.0, "drag": 0.6, "gravity_power": 0.02, "hit_radius": 0.005}
HATS = ("witch-hat", "tricorn-hat", "cap")


# ------------------------------------------------------------------------------------------
# styles


def _bang_strands(fr: HeadFrame, fld: BodyField, specs: list, k: int = 14) -> list[Strand]:
    """Bangs from ``specs`` = [(theta, [(x, y), ...], width)]: from the top of the cap at azimuth
    ``theta`` over the hairline, then down the forehead through the 2D points, just outside the skin.
    They start at the cap's rim, so the top of the head stays one smooth shell (no lines where the
    angel ring sits)."""
    if not specs:
        return []
    phis = np.deg2rad([50.0, 56.0, 62.0, 68.0, 74.0, 80.0, 86.0])
    th = np.concatenate([np.full(len(phis), t) for t, _, _ in specs])
    caps = cap_surface(fr, fld, sphere_dirs(th, np.tile(phis, len(specs)))).reshape(len(specs), len(phis), 3)
    xys = []
    for (theta, path_xy, width), cap in zip(specs, caps):
        y_hl = _hairline(fr, "short", np.array([theta]))[0]
        cap = cap[(cap[:, 1] > y_hl - 0.01 * fr.h) & (cap[:, 1] < y_hl + 0.05 * fr.h)]  # from just above the rim
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
        ws.append(_taper(k, width, tip=0.05, power=2.0))
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
        thetas = np.deg2rad(np.linspace(-42, 42, 10))
        for i, th in enumerate(thetas):
            x = np.sin(th) * 0.9 * fr.radii[0]
            ye = y_end if abs(x) < outer else fr.eye_y + 0.1 * es
            ye -= 0.012 * h * (i % 2)  # alternate lengths: a fringe of points, not a cut edge
            out.append((th, [(x, fr.brow_y + 0.1 * h), (x, ye)], 0.065 * h))
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
                x1 = s * max(abs(x0) + 0.07 * h, outer + 0.035 * h) if i >= 2 else x0 + s * 0.05 * h
                ye = fr.eye_y - 0.05 * h if i >= 2 else y_end + 0.03 * h
                mid = (0.5 * (x0 + x1) + s * 0.02 * h, fr.brow_y + 0.07 * h)
                out.append((th, [mid, (x1, ye)], 0.08 * h))
    return _bang_strands(fr, fld, out)


def _arc_width(fr: HeadFrame, span: float, n: int, overlap: float = 1.6) -> float:
    return overlap * 0.5 * (fr.radii[0] + fr.hair_t) * span / max(n, 1)


def _hang_group(fr, fld, rng, deg_lo: float, deg_hi: float, n_side: int, y_end_fn, chain_degs, n_joints,
                name: str, flare=0.0, curl=0.0, spring=None, texture: str = "straight"):
    """Hanging strands on both sides between azimuths ``deg_lo..deg_hi`` (degrees from the front),
    each on the nearest of the chains placed at ``chain_degs``: ``(strands, chains)``."""
    degs = np.linspace(deg_lo, deg_hi, n_side)
    az = np.concatenate([degs, -degs[degs < 179.9]])
    width = _arc_width(fr, np.deg2rad(deg_hi - deg_lo), n_side - 1)
    y_end = np.array([y_end_fn(abs(d)) for d in az]) + 0.02 * fr.h * rng.uniform(-1, 1, len(az))
    phi0 = np.deg2rad(60.0 + 8.0 * (np.arange(len(az)) % 2))
    if texture == "curly":
        flare += 0.03 * fr.h  # curls stand out from the head
    strands = hanging_strands(fr, fld, np.deg2rad(az), phi0, y_end, width, flare, curl, texture=texture)
    chains: list[Chain] = []
    c_az = np.array([s * cd for cd in chain_degs for s in (1.0, -1.0)])
    if len(c_az):
        refs = hanging_strands(fr, fld, np.deg2rad(c_az), np.deg2rad(40.0), [y_end_fn(abs(c)) for c in c_az], 0.05 * fr.h,
                               flare, curl)
        for c, ref in zip(c_az, refs):
            fall = ref.points[ref.points[:, 1] <= fr.centre[1] + 0.05 * fr.h]
            chains.append(chain_from_points(f"{name}_{'L' if c > 0 else 'R'}{int(abs(c))}", fall, n_joints, spring))
        for d, st in zip(az, strands):
            diff = np.abs((d - c_az + 180.0) % 360.0 - 180.0)
            st.chain = int(np.argmin(diff))
    return strands, chains


def side_locks(fr: HeadFrame, fld: BodyField, style: str, texture: str) -> list[Strand]:
    """The locks framing the face in front of the ears (one per side; three side by side, cut
    straight at the cheeks, for a hime cut)."""
    h = fr.h
    if style == "hime":  # hime sidelocks: a straight-cut curtain down to the jaw
        th = np.deg2rad([58.0, 67.0, 76.0])
        th = np.concatenate([th, -th])
        locks = hanging_strands(fr, fld, th, np.deg2rad(56), fr.chin + 0.06 * h, 0.075 * h, 0.0, 0.0)
        for st in locks:  # cut straight: keep the width down to a short point
            k = len(st.radii)
            st.radii = 0.075 * h * np.maximum(np.minimum(1.0, (k - 1 - np.arange(k)) / 2.5), 0.12)
        return locks
    lock_end = {"short": fr.eye_y - 0.2 * h, "bob": fr.chin + 0.02 * h, "spiky": fr.eye_y - 0.15 * h,
                "buns": fr.chin + 0.02 * h}.get(style, fr.chin - 0.08 * h)
    tex = texture if style in ("long", "bob") else "straight"
    return hanging_strands(fr, fld, np.deg2rad([64.0, -64.0]), np.deg2rad(56), lock_end, 0.06 * h, 0.0, -0.01 * h,
                           texture=tex)


def ahoge(fr: HeadFrame, fld: BodyField) -> Strand:
    """The ahoge: one lock that stands up from the crown, arches forward and ends in a point."""
    h = fr.h
    d = sphere_dirs(np.array([0.25]), np.array([0.3]))
    root = cap_surface(fr, fld, d)[0] - d[0] * 0.012 * h
    ctrl = np.array([root, root + [0.0, 0.2 * h, -0.02 * h], root + [0.03 * h, 0.3 * h, 0.12 * h],
                     root + [0.05 * h, 0.2 * h, 0.2 * h]])
    pts = resample(bezier(ctrl, 40), 16, smooth=0)
    return Strand(pts, _taper(16, 0.045 * h, tip=0.04, power=1.6), 0.35, np.array([1.0, 0.0, 0.0]), sides=8)


def _back_strands(spec, fr, fld, rng, chains: list[Chain]) -> list[Strand]:
    """The hanging hair behind the side locks for ``spec.hair.style``; chains are appended."""
    style, length, texture = spec.hair.style, spec.hair.length, spec.hair.texture
    h = fr.h
    cs: list[Chain] = []
    if style in ("short", "spiky"):
        def yf(dg):
            return np.interp(dg, [60, 120, 180], [fr.eye_y - 0.15 * h, fr.chin + 0.1 * h, fr.chin + 0.04 * h])
        back, _ = _hang_group(fr, fld, rng, 70, 180, 6, yf, [], 0, "hair_short",
                              texture=texture if style == "short" else "straight")
    elif style == "bob":
        y_bob = fr.chin + (0.03 if length == "short" else -0.12) * h
        back, cs = _hang_group(fr, fld, rng, 56, 180, 7, lambda dg: y_bob, [100, 160], 3, "hair_bob", 0.02 * h, 0.03 * h,
                               SPRING_SHORT, texture)
    elif style in ("long", "hime"):
        y_long = _level_y(fr, "mid_back" if length == "long" else "shoulder")
        y_front = max(fr.neck_y - 0.15 * h, y_long)

        def yf(dg):
            return float(np.interp(dg, [50, 90, 120], [y_front, y_front, y_long]))
        lo = 84 if style == "hime" else 52  # a hime cut's side locks stand apart from the back hair
        chain_degs = [75 if style == "long" else 100, 130, 170]
        back, cs = _hang_group(fr, fld, rng, lo, 180, 8 if style == "long" else 7, yf, chain_degs,
                               4, "hair_long", 0.04 * h if style == "long" else 0.015 * h, 0.0, texture=texture)
    elif style == "braided":
        def yf(dg):
            return np.interp(dg, [60, 120, 180], [fr.chin, fr.chin + 0.05 * h, fr.chin + 0.05 * h])
        back, _ = _hang_group(fr, fld, rng, 70, 180, 6, yf, [], 0, "hair_braid")
    elif style == "low-ponytail":  # gathered to the nape: short at the sides, the back covered by the cap
        back, _ = _hang_group(fr, fld, rng, 75, 130, 3, lambda dg: fr.chin + 0.1 * h, [], 0, "hair_lpt")
    else:  # high ponytail, side ponytail, twin tails, buns, drills: gathered up, short underneath
        back, _ = _hang_group(fr, fld, rng, 80, 180, 5, lambda dg: fr.chin + 0.12 * h, [], 0, "hair_up",
                              texture=texture if style in ("ponytail", "twin-tails", "side-ponytail") else "straight")
    off = len(chains)
    chains += cs
    for st in back:
        if st.chain is not None:
            st.chain += off
    return back


def _spikes(spec, fr, fld, rng) -> list[Strand]:
    h = fr.h
    has_hat = any(a.kind in HATS for a in spec.accessories)
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
    L = (0.2 + 0.06 * rng.uniform(-1, 1, len(th))) * h * (1.3 if spec.hair.length == "medium" else 1.0)
    u = np.linspace(0, 1, 5)
    p = roots[:, None] + d[:, None] * (L[:, None] * u)[..., None] + np.array([0, -0.04 * h, 0]) * (u ** 2)[None, :, None]
    p = fld.push_out(p.reshape(-1, 3), 0.02 * h).reshape(p.shape)
    return [Strand(p[i], np.array([1.0, 0.75, 0.5, 0.25, 0.04]) * 0.075 * h, 0.55, sphere_dirs(th[i], ph[i]), sides=6)
            for i in range(len(th))]


def style_strands(spec, fr: HeadFrame, fld: BodyField, rng) -> tuple[list, list[Chain]]:
    """``([(part name, strands, extra meshes, colour or None)], chains)`` of ``spec.hair``: bangs and
    side locks (``hair_bangs``), hanging locks, spikes and the ahoge (``hair_strands``), tails, drills
    and braid (``hair_tail``), buns (``hair_buns``) and ties (``hair_tie``, its own colour)."""
    from kyara.character.hair_tails import TAIL_STYLES

    style = spec.hair.style
    h = fr.h
    chains: list[Chain] = []
    groups: list = []
    has_hat = any(a.kind in HATS for a in spec.accessories)
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
    locks = side_locks(fr, fld, style, spec.hair.texture)
    half = len(locks) // 2
    for side, group in (("L", locks[:half]), ("R", locks[half:])):
        fall = group[0].points[group[0].points[:, 1] <= fr.eye_y + 0.05 * h]
        ci = add_chain(chain_from_points(f"hair_side_{side}", fall, 3, SPRING_SHORT))
        for st in group:
            st.chain = ci
    groups.append(("hair_bangs", bangs + locks, [], None))

    back = _back_strands(spec, fr, fld, rng, chains)
    if style == "spiky":
        back += _spikes(spec, fr, fld, rng)
    if spec.hair.ahoge and not has_hat:
        st = ahoge(fr, fld)
        st.chain = add_chain(chain_from_points("hair_ahoge", st.points[3:], 3, SPRING_AHOGE))
        back.append(st)
    groups.append(("hair_strands", back, [], None))
    if style in TAIL_STYLES:
        strands, meshes, ties, cs = TAIL_STYLES[style](spec, fr, fld)
        off = len(chains)
        chains += cs
        for st in strands:
            if st.chain is not None:
                st.chain += off
        meshes = [(v, f, None if c is None else c + off) for v, f, c in meshes]
        ties = [(v, f, None if c is None else c + off) for v, f, c in ties]
        if style == "buns":
            groups.append(("hair_buns", strands, meshes, None))
        elif strands or meshes:
            groups.append(("hair_tail", strands, meshes, None))
        if ties:
            groups.append(("hair_tie", [], ties, tie_col))
    return groups, chains
