"""One recipe per outfit kind: which shells, free shapes, trims and weights make the garment.

Each recipe takes the :class:`~kyara.character.garments.Wardrobe` and the spec's
:class:`~kyara.character.spec.OutfitPiece` and adds parts named after the kind (``"hoodie"``,
``"pirate-coat-trim"``, ``"kimono-obi"``, ...). Heights and widths come from the body's landmarks
(:class:`~kyara.character.garments.Geo`), so every recipe fits every body preset.
"""

from __future__ import annotations

import numpy as np

from kyara.body import sdf
from kyara.character import garment_shapes as gs
from kyara.character import garment_weights as gw

NECKERCHIEF = "#c8283c"


def _trim_hex(piece, default: str = "#f5f5f5") -> str:
    return piece.trim.hex if piece.trim is not None else default


def _box_region(y0, y1, x_max=None):
    def region(p):
        r = gs.slab(p[:, 1], y0, y1)
        if x_max is not None:
            r = np.maximum(r, np.abs(p[:, 0]) - x_max)
        return r
    return region


def _sleeve_end(g, kind: str) -> float:
    if kind == "short":
        return g.shoulder_x + 0.35 * (g.elbow_x - g.shoulder_x)
    if kind == "elbow":
        return g.elbow_x
    return g.wrist_x - 0.004 * g.H  # long: stop just short of the hand


def _top(wd, name, hex_, hem, sleeve, collar=None, cuts=(), extra=(), weights=None, voxel=None, thick=None):
    """A fitted top: torso from ``hem`` to the collar, sleeves to ``sleeve`` (x)."""
    g = wd.geo
    collar = g.collar_y if collar is None else collar
    comps = wd.fitted(_box_region(hem, collar, sleeve), hem, collar, (1, 2), x_max=sleeve + 0.02, thick=thick)
    return wd.add(name, hex_, comps + list(extra), weights=weights, cuts=tuple(cuts) + (_armpit_cut(g),),
                  voxel=voxel)


def _armpit_cut(g, along: float = 0.0):
    """Cut for the underarm gusset: the torso-side cloth that a lowered upper arm sweeps into
    (LBS cannot keep cloth there outside both the arm and the chest). Positive inside.
    ``along`` (in upper-arm radii) stretches the cut out along the upper arm's underside and
    down the torso's side, for thick layers (coats) whose cloth stands further off the skin."""
    cy = g.arm_y - g.r_arm - 0.035 * g.H - 0.004 * along * g.H  # the top stays put, the bottom goes lower
    cx = g.shoulder_x + 0.6 * along * g.r_arm
    half_y = (0.045 + 0.004 * along) * g.H

    def cut(p):
        q = np.stack([(np.abs(p[:, 0]) - cx) / ((1.5 + 0.5 * along) * g.r_arm), (p[:, 1] - cy) / half_y,
                      (p[:, 2] - g.torso_zc) / (0.09 * g.H)], axis=1)
        return 1.0 - np.linalg.norm(q, axis=1)
    return cut


def _v_cut(g, depth: float, half_width: float):
    """Cut for a V neckline on the front: positive inside the removed wedge."""
    y_v = g.collar_y - depth

    def cut(p):
        inside = (p[:, 1] - y_v) * (half_width / depth) - np.abs(p[:, 0])
        return np.minimum(inside, p[:, 2] - g.torso_zc)
    return cut


def _band_near(cut, band):
    """Region within ``band`` of a cut's edge (outside the cut)."""
    return lambda p: np.maximum(-cut(p) - band, cut(p) - 0.002)


def _shorts(wd, name, hex_):
    g = wd.geo
    y0 = g.ul_y - 0.42 * (g.ul_y - g.knee_y)
    top = g.hips_y + 0.3 * (g.spine_y - g.hips_y)
    return wd.add(name, hex_, wd.fitted(_box_region(y0, top), y0, top, (1, 4)))


def _skirt(wd, name, hex_, hem, top, flare, pleats=0):
    """Waistband plus a flared (optionally pleated) skirt, weighted to both legs."""
    g = wd.geo
    band = 0.06 * g.T
    comps = wd.fitted(_box_region(top - band, top), top - band, top, (1,))
    prof = wd.profile(hem, top, flare)
    scale = None
    if pleats:
        scale = lambda p: gs.pleat_scale(p, prof, pleats, 0.16, top, hem)  # noqa: E731
    comps.append(wd.flared(prof, hem, top - 0.5 * band, scale=scale))
    return wd.add(name, hex_, comps, weights=wd.flowing(g.hips_y, g.crotch))


# ---------------------------------------------------------------------------------------------
# underwear level


def t_shirt(wd, piece):
    g = wd.geo
    hem = g.hips_y - 0.35 * (g.hips_y - g.crotch)
    _top(wd, "t-shirt", piece.colour.hex, hem, _sleeve_end(g, "short"))


def trousers(wd, piece):
    g = wd.geo
    y0 = g.ankle_y + 0.6 * g.r_thigh * 0.42
    top = g.hips_y + 0.3 * (g.spine_y - g.hips_y)
    wd.add("trousers", piece.colour.hex, wd.fitted(_box_region(y0, top), y0, top, (1, 4)))


def shorts(wd, piece):
    _shorts(wd, "shorts", piece.colour.hex)


def skirt(wd, piece):
    g = wd.geo
    _skirt(wd, "skirt", piece.colour.hex, g.knee_y + 0.3 * (g.ul_y - g.knee_y), g.spine_y, 0.5)


# ---------------------------------------------------------------------------------------------
# footwear


def _shoe(wd, name, hex_, top_y):
    g = wd.geo
    comps = wd.fitted(_box_region(0.0015, top_y), 0.0, top_y, (4, 5))
    return wd.add(name, hex_, comps)


def _sole(wd, name, hex_, top_y, thick=0.011):
    g = wd.geo
    region = _box_region(-0.012, top_y)
    comps = wd.fitted(region, -0.02, top_y, (4, 5), thick=thick)
    return wd.add(name, hex_, comps)


def sneakers(wd, piece):
    g = wd.geo
    _shoe(wd, "sneakers", piece.colour.hex, g.ankle_y + 0.25 * g.r_thigh)
    _sole(wd, "sneakers-sole", _trim_hex(piece), 0.022 * g.H)


def boots(wd, piece):
    g = wd.geo
    top = g.knee_y - 0.18 * (g.knee_y - g.ankle_y)
    _shoe(wd, "boots", piece.colour.hex, top)
    band = 0.05 * (g.knee_y - g.ankle_y)
    wd.add("boots-trim", _trim_hex(piece, "#3a2a20"), wd.over("boots", _box_region(top - band, top + 0.01)))
    _sole(wd, "boots-sole", "#2a2020", 0.018 * g.H)


def sandals(wd, piece):
    g = wd.geo
    _sole(wd, "sandals", piece.colour.hex, 0.004, thick=0.01)
    fl = g.foot_len

    def straps(p):
        instep = np.abs(p[:, 2] - 0.3 * fl) - 0.05 * fl
        ankle = np.abs(p[:, 1] - g.ankle_y) - 0.05 * fl
        return np.maximum(np.minimum(instep, ankle), 0.006 - p[:, 1])
    comps = wd.fitted(straps, 0.0, g.ankle_y + 0.08 * fl, (4, 5), thick=wd.trim_thick)
    wd.add("sandals-straps", _trim_hex(piece, "#7b4a2a"), comps)


# ---------------------------------------------------------------------------------------------
# mid layer


def sports_jersey(wd, piece):
    g = wd.geo
    hem = g.hips_y - 0.2 * (g.hips_y - g.crotch)
    sleeve = _sleeve_end(g, "short")
    vcut = _v_cut(g, 0.09 * g.T, 0.05 * g.T)
    _top(wd, "sports-jersey", piece.colour.hex, hem, sleeve, cuts=(vcut,))
    trim = _trim_hex(piece)
    band = 0.07 * g.T
    collar = _band_near(vcut, band)
    neck = lambda p: np.minimum(collar(p), gs.slab(p[:, 1], g.collar_y - band, g.collar_y + 0.02))  # noqa: E731
    # cuffs on the outer side of the sleeve only: a band under the arm is what a lowered arm
    # pushes into the chest
    cuffs = lambda p: np.maximum(gs.slab(np.abs(p[:, 0]), sleeve - band, sleeve + 0.02),  # noqa: E731
                                 (g.arm_y - 0.6 * g.r_arm) - p[:, 1])
    wd.add("sports-jersey-trim", trim, wd.over("sports-jersey", lambda p: np.minimum(neck(p), cuffs(p))),
           cuts=(vcut,))
    number = piece.number if piece.number is not None else 0
    _number(wd, "sports-jersey-number", trim, number, back=True)
    _number(wd, "sports-jersey-number-front", trim, number, back=False)
    if not wd.bottom_given:
        _shorts(wd, "sports-jersey-shorts", piece.colour.hex)


def _number(wd, name, hex_, number, back: bool):
    """Raised seven-segment digits on the jersey (big on the back, small on the chest)."""
    g = wd.geo
    h = (0.34 if back else 0.13) * g.T
    yc = g.chest_y + (0.05 if back else 0.42) * (g.upper_chest_y - g.chest_y) + (0.0 if back else 0.02 * g.T)
    xc = 0.0 if back else -0.3 * g.shoulder_x
    stroke = 0.2 * h
    width = len(str(number)) * 0.5 * h * 1.55 + stroke

    def region(p):
        u = (xc - p[:, 0]) if back else (p[:, 0] - xc)
        d2 = gs.number_2d(u, p[:, 1] - yc, number, h, stroke)
        side = (p[:, 2] - g.torso_zc) if back else (g.torso_zc - p[:, 2])
        return np.maximum(d2, side)

    lo = np.array([xc - width / 2 - 0.01, yc - h / 2 - 0.01, -9.0])
    hi = np.array([xc + width / 2 + 0.01, yc + h / 2 + 0.01, 9.0])
    v = next(p.vertices for p in wd.parts if p.name == "sports-jersey").astype(np.float64)
    v = v[np.all((v[:, :2] >= lo[:2]) & (v[:, :2] <= hi[:2]), axis=1)]
    v = v[(v[:, 2] < g.torso_zc) if back else (v[:, 2] > g.torso_zc)]
    if len(v) == 0:
        return
    lo[2], hi[2] = v[:, 2].min() - 0.012, v[:, 2].max() + 0.012
    comps = wd.over("sports-jersey", region, gap=0.0006, thick=max(0.0035, 2.2 * wd.cfg.fine_voxel), box=(lo, hi))
    wd.add(name, hex_, comps, voxel=wd.cfg.fine_voxel, occupy=False, outline=0.0008)


def hoodie(wd, piece):
    g = wd.geo
    hem = g.hips_y - 0.45 * (g.hips_y - g.crotch)
    neck_z = float(wd.body.layout.joint("neck")[2])
    # the hood, down: a thick fold lying on the upper back plus a roll around the neck
    c = np.array([0.0, g.neck_y - 0.05 * g.T, g.back_z - 0.02 * g.H])
    r = np.array([0.75 * g.shoulder_x, 0.3 * g.T, 0.035 * g.H])
    ring_r = g.neck_r + 0.035 * g.H
    ring_c = np.array([0.0, g.collar_y - 0.005 * g.H, neck_z - 0.005 * g.H])
    ring = np.array([ring_r, 0.025 * g.H, ring_r * 1.05])

    def hood(p):
        return np.minimum(sdf.ellipsoid(p, c, r), sdf.ellipsoid(p, ring_c, ring))
    lo = np.minimum(c - r, ring_c - ring) - 0.01
    hi = np.maximum(c + r, ring_c + ring) + 0.01
    extra = [wd.free(lo, hi, hood)]
    _top(wd, "hoodie", piece.colour.hex, hem, _sleeve_end(g, "long"), extra=extra)
    # drawstrings: two cords down the chest from the collar
    from kyara.character.meshing import combine, tube

    cords = []
    for sx in (1.0, -1.0):
        x = sx * 0.6 * g.neck_r
        ys = np.linspace(g.collar_y - 0.01 * g.H, g.collar_y - 0.16 * g.T, 6)
        z = _surface_z(wd, x, ys) + 0.0045
        cords.append(tube(np.stack([np.full(6, x), ys, z], axis=1), 0.0032, sides=8))
    v, f = combine(cords)
    _add_mesh(wd, "hoodie-cords", _trim_hex(piece), v, f)


def _surface_z(wd, x: float, ys: np.ndarray, layer: gs.Layer | None = None) -> np.ndarray:
    """Outer z of the front of the clothes at (x, y): the body's front there plus one layer
    (clearance and thickness) per garment worn."""
    v = wd.body.vertices.astype(np.float64)
    out = np.zeros(len(ys))
    layers = max(len(wd.worn), 1)
    for i, y in enumerate(ys):
        near = v[(np.abs(v[:, 0] - x) < 0.015) & (np.abs(v[:, 1] - y) < 0.015) & (wd.body.parts == 1)]
        z = near[:, 2].max() if len(near) else wd.geo.front_z
        out[i] = z + layers * (wd.gap + wd.thick) * 0.75 + wd.gap
    return out


def _add_mesh(wd, name, hex_, v, f, weights=None):
    from kyara.character.model import Material, Part, hex_to_rgb

    dense = (weights or wd.nearest)(v)
    idx, w = gw.top4(dense)
    wd.parts.append(Part(name, "garment", v.astype(np.float32), f.astype(np.int32), idx, w,
                         Material(name, hex_to_rgb(hex_), outline_width=0.0008)))


def dress(wd, piece):
    g = wd.geo
    top = g.spine_y + 0.2 * (g.chest_y - g.spine_y)
    sleeve = g.shoulder_x + 0.12 * (g.elbow_x - g.shoulder_x)
    scoop_c = np.array([0.0, g.collar_y + 0.02 * g.T])
    scoop_r = 0.14 * g.T

    def scoop(p):
        d = scoop_r - np.hypot(p[:, 0] - scoop_c[0], p[:, 1] - scoop_c[1])
        return np.minimum(d, p[:, 2] - g.torso_zc)
    _top(wd, "dress", piece.colour.hex, top - 0.04 * g.T, sleeve, cuts=(scoop,))
    _skirt(wd, "dress-skirt", piece.colour.hex, g.knee_y - 0.05 * (g.ul_y - g.knee_y), top, 0.5)
    band = 0.035 * g.T
    wd.add("dress-sash", _trim_hex(piece), wd.over("dress-skirt", _box_region(top - 2 * band, top)))


def kimono(wd, piece):
    g = wd.geo
    waist = g.spine_y
    hem = g.ankle_y + 0.35 * (g.knee_y - g.ankle_y) * 0.3
    sleeve_end = g.wrist_x - 0.01 * g.H
    # wide hanging sleeves (furisode-like pouches below the forearm)
    x0 = g.shoulder_x + 0.75 * (g.elbow_x - g.shoulder_x)
    drop = 0.075 * g.H
    half_z = g.r_arm + 0.03 * g.H
    extra = []
    for sx in (1.0, -1.0):
        xc = sx * 0.5 * (x0 + sleeve_end)
        cy = g.arm_y + g.r_arm + 0.012 * g.H - 0.5 * (drop + g.r_arm + 0.012 * g.H)
        half = np.array([0.5 * (sleeve_end - x0), 0.5 * (drop + g.r_arm + 0.012 * g.H), half_z])
        centre = np.array([xc, cy, float(wd.body.layout.joint("leftLowerArm")[2])])
        extra.append(wd.free(centre - half - 0.01, centre + half + 0.01,
                             lambda p, c=centre, h=half: gs.rounded_box(p, c, h, 0.03 * g.H)))
    _top(wd, "kimono", piece.colour.hex, waist - 0.05 * g.T, sleeve_end, extra=extra,
         weights=_sleeve_weights(wd, g, (x0, sleeve_end, g.arm_y - drop), hit_radius=0.35 * half_z))
    prof = wd.profile(hem, waist, 0.1)
    wd.add("kimono-skirt", piece.colour.hex, [wd.flared(prof, hem, waist)], weights=wd.flowing(g.hips_y, g.crotch))
    # collar (eri): crossed bands down the front to the obi
    obi_top = g.spine_y + 0.3 * (g.chest_y - g.spine_y)
    obi_bot = g.hips_y + 0.15 * (g.spine_y - g.hips_y)

    def eri(p):
        t = np.clip((g.collar_y - p[:, 1]) / (g.collar_y - obi_top), 0.0, 1.0)
        xv = (1.0 - t) * 1.15 * g.neck_r
        lapel = np.abs(np.abs(p[:, 0]) - xv) - 0.028 * g.T
        return np.maximum(lapel, g.torso_zc - p[:, 2])
    wd.add("kimono-collar", _trim_hex(piece), wd.over("kimono", eri))
    obi = wd.fitted(_box_region(obi_bot, obi_top), obi_bot - 0.02, obi_top + 0.02, (1,), thick=0.012)
    c = np.array([0.0, 0.5 * (obi_bot + obi_top) + 0.02 * g.T, g.back_z - 0.035 * g.H])
    half = np.array([0.55 * g.hip_half, 0.16 * g.T, 0.025 * g.H])
    obi.append(wd.free(c - half - 0.01, c + half + 0.01, lambda p: gs.rounded_box(p, c, half, 0.02 * g.H)))
    wd.add("kimono-obi", piece.obi.hex if piece.obi is not None else "#d4af37", obi)


def _sleeve_weights(wd, g, pouch: tuple[float, float, float] | None = None, hit_radius: float | None = None,
                    n_chains: int = 3):
    """Nearest-skin weights, except the arm-axis copy on wide sleeves (by |x| past the shoulder).

    ``pouch = (x_root, x_end, y_bottom)``: the cloth hanging below the arm between |x| = x_root
    and x_end down to y_bottom hangs on ``n_chains`` spring chains per arm, side by side along the
    arm (a chain's parent is the upper arm or the forearm, whichever its root lies on), so after
    settling each strip hangs down from the arm in any arm pose, and a chain pushed by the torso
    or the other arm moves only its own strip. ``hit_radius``: the chains' collision radius (the
    pouch's half-thickness, so the cloth around a chain stays out of the body)."""
    chains = {}
    if pouch is not None:
        x_root, x_end, y_bot = pouch
        arm_z = float(wd.body.layout.joint("leftLowerArm")[2])
        top = g.arm_y - g.r_arm - 0.01 * g.H  # first hanging joint: just under the arm
        ys = [g.arm_y, top, 0.5 * (top + y_bot), y_bot]
        spring = dict(wd.cfg.sleeve_spring)
        if hit_radius is not None:
            spring["hit_radius"] = float(hit_radius)
        span = x_end - x_root
        xs = np.linspace(x_root + 0.12 * span, x_end - 0.12 * span, n_chains)
        for sx, side in ((1.0, "left"), (-1.0, "right")):
            firsts = []
            for k, x in enumerate(xs):
                parent = f"{side}LowerArm" if x >= g.elbow_x else f"{side}UpperArm"
                firsts.append(wd.add_chain(f"{side}Sleeve{chr(65 + k)}", parent,
                                           [(sx * x, y, arm_z) for y in ys], spring))
            chains[sx] = firsts

    def fn(v):
        out = wd.nearest(v)
        # the arm-axis copy on the sleeve (above the armpit, or anywhere on the pouch); the torso's
        # sides below the armpit keep the skin's weights
        ax = np.abs(v[:, 0])
        armpit = g.arm_y - g.r_arm - 0.02 * g.H
        on_sleeve = gs.smoothstep(armpit - 0.03 * g.H, armpit, v[:, 1])
        if pouch is not None:
            on_sleeve = np.maximum(on_sleeve, gs.smoothstep(pouch[0] - 0.03 * g.H, pouch[0], ax))
        sel = (ax > 0.75 * g.shoulder_x) & (v[:, 1] > g.hips_y) & (on_sleeve > 0)
        if sel.any():
            b = on_sleeve[sel, None]
            on_arm = _elbow_blend(g, v[sel], gw.arm_axis(wd.body, v[sel], wd.num_bones))
            out[sel] = (1 - b) * out[sel] + b * on_arm
        if chains:
            x_root, x_end, y_bot = pouch
            # only the cloth below the arm's skin hangs: cloth beside the forearm on a chain would
            # swing into it when the arm turns
            hang = gs.smoothstep(g.arm_y - 0.7 * g.r_arm, g.arm_y - g.r_arm - 0.02 * g.H, v[:, 1])
            hang = hang * gs.smoothstep(x_root - 0.02 * g.H, x_root + 0.01 * g.H, ax) * (v[:, 1] > g.hips_y)
            for sx, firsts in chains.items():
                on = (hang > 0) & (np.sign(v[:, 0]) == sx)
                if on.any():
                    ch = gw.curtain(v[on, 1], ax[on], xs, [ys] * len(xs), firsts, wd.num_bones)
                    out[on] = (1 - hang[on, None]) * out[on] + hang[on, None] * ch
        return out
    return fn


def sailor_uniform(wd, piece):
    g = wd.geo
    hem = g.hips_y + 0.45 * (g.spine_y - g.hips_y)
    vcut = _v_cut(g, 0.2 * g.T, 0.09 * g.T)
    _top(wd, "sailor-uniform", piece.colour.hex, hem, _sleeve_end(g, "long"), cuts=(vcut,))
    trim = _trim_hex(piece, "#1f2a55")
    flap_y = g.collar_y - 0.32 * g.T
    band = 0.07 * g.T

    def collar(p):
        back = np.maximum(np.maximum(np.abs(p[:, 0]) - 0.72 * g.shoulder_x, flap_y - p[:, 1]), p[:, 2] - g.torso_zc)
        lapel = np.maximum(_band_near(vcut, band)(p), np.maximum(g.torso_zc - p[:, 2], (g.collar_y - 0.2 * g.T) - p[:, 1]))
        shoulders = np.maximum(p[:, 1] - g.collar_y - 0.02, np.maximum(np.abs(p[:, 0]) - 1.6 * g.neck_r, -p[:, 1] + g.neck_y - 0.02 * g.T))
        return np.minimum(np.minimum(back, lapel), shoulders)
    wd.add("sailor-uniform-collar", trim, wd.over("sailor-uniform", collar, thick=0.005), cuts=(vcut,))
    # neckerchief: knot at the bottom of the V and two tails
    knot_c = np.array([0.0, g.collar_y - 0.2 * g.T, 0.0])
    knot_c[2] = _surface_z(wd, 0.0, np.array([knot_c[1] + 0.02 * g.T]), wd.layers["sailor-uniform"])[0] + 0.006
    kr = np.array([0.045 * g.T, 0.03 * g.T, 0.02 * g.T])
    ys = np.linspace(knot_c[1], knot_c[1] - 0.16 * g.T, 5)
    tails = []
    for sx in (1.0, -1.0):
        xs = sx * np.linspace(0.01, 0.05, 5) * g.T
        zs = np.array([_surface_z(wd, float(x), np.array([y]), wd.layers["sailor-uniform"])[0] for x, y in zip(xs, ys)])
        tails.append(np.stack([xs, ys, np.maximum(zs + 0.007, knot_c[2] - 0.01)], axis=1))

    def kerchief(p):
        d = sdf.ellipsoid(p, knot_c, kr)
        for pts in tails:
            d = np.minimum(d, gs.segment_3d(p, pts, 0.012 * g.T, 0.45))
        return d
    lo = np.array([-0.08 * g.T, ys[-1] - 0.03, knot_c[2] - 0.05])
    hi = np.array([0.08 * g.T, knot_c[1] + 0.05, knot_c[2] + 0.04])
    colour = NECKERCHIEF if piece.colour.hex != NECKERCHIEF else "#f5f5f5"
    wd.add("sailor-uniform-neckerchief", colour, [wd.free(lo, hi, kerchief, gap=0.001)], occupy=False)
    if not wd.bottom_given:
        _skirt(wd, "sailor-uniform-skirt", trim, g.knee_y + 0.35 * (g.ul_y - g.knee_y), hem + 0.02 * g.T, 0.45,
               pleats=18)


# ---------------------------------------------------------------------------------------------
# coats and robes


def _coat(wd, piece, name, flare, hem, trim_bands: bool):
    g = wd.geo
    waist = g.spine_y
    sleeve = _sleeve_end(g, "long") - 0.004 * g.H

    def open_half(y):
        t = np.clip((g.collar_y - y) / (g.collar_y - waist), 0.0, 1.0)
        return 0.35 * g.neck_r + t * 0.55 * g.hip_half

    def front(p):  # open front, all the way down
        return np.minimum(open_half(p[:, 1]) - np.abs(p[:, 0]), p[:, 2] - g.torso_zc)

    slit_top = g.ul_y - 0.2 * (g.ul_y - g.knee_y)

    def back(p):  # tails split at the back, a V widening to the hem
        w = 0.01 + 0.35 * g.leg_x * np.clip((slit_top - p[:, 1]) / (slit_top - hem), 0.0, 1.0)
        return np.minimum(np.minimum(w - np.abs(p[:, 0]), slit_top - p[:, 1]), g.torso_zc - p[:, 2])

    # collar: a stand-up roll around the neck
    neck_z = float(wd.body.layout.joint("neck")[2])
    ring_r = g.neck_r + 0.03 * g.H
    rc = np.array([0.0, g.collar_y + 0.004 * g.H, neck_z - 0.004 * g.H])
    rr = np.array([ring_r, 0.03 * g.H, ring_r])
    collar = wd.free(rc - rr - 0.01, rc + rr + 0.01, lambda p: sdf.ellipsoid(p, rc, rr))
    prof = wd.profile(hem, waist + 0.02 * g.T, flare)
    cv = wd.coarse_voxel
    lower = wd.flared(prof, hem, waist + 0.011 * g.T, thick=wd.thick_at(cv))
    comps = wd.fitted(_box_region(waist - 0.04 * g.T, g.collar_y, sleeve), waist - 0.04 * g.T, g.collar_y, (1, 2),
                      x_max=sleeve + 0.02, thick=wd.thick_at(cv))
    weights = _coat_weights(wd, g, prof, hem, waist, name)
    part = wd.add(name, piece.colour.hex, comps + [lower, collar], weights=weights, cuts=(front, back, _armpit_cut(g, 3.5)),
                  voxel=cv)
    trim = _trim_hex(piece, "#d4af37")
    if trim_bands:
        band = 0.04 * g.H

        def bands(p):
            hem_band = p[:, 1] - (hem + band)
            cuff = (sleeve - 1.5 * band) - np.abs(p[:, 0])
            lapel = np.maximum(np.abs(p[:, 0]) - (open_half(p[:, 1]) + 0.8 * band), g.torso_zc - p[:, 2])
            return np.minimum(np.minimum(hem_band, cuff), lapel)
        xs = sleeve - 1.5 * band - 0.01
        boxes = [(None, (-9.0, hem + band + 0.01)), ((xs, 9.0), None), ((-9.0, -xs), None),
                 ((-open_half(waist) - 0.8 * band - 0.01, open_half(waist) + 0.8 * band + 0.01), None)]
        wd.add(f"{name}-trim", trim, _over_boxes(wd, name, bands, boxes), weights=weights, cuts=(front, back),
               voxel=cv)
    else:
        band = 0.03 * g.H
        cuffs = lambda p: (sleeve - band) - np.abs(p[:, 0])  # noqa: E731
        xs = sleeve - band - 0.01
        wd.add(f"{name}-trim", trim, _over_boxes(wd, name, cuffs, [((xs, 9.0), None), ((-9.0, -xs), None)]),
               weights=weights, voxel=cv)
    return part


def _over_boxes(wd, base, region, boxes):
    """``wd.over(base, region)`` evaluated only in sub-boxes of the base layer: each box is
    ``(x range or None, y range or None)`` (metres) where the trim can be."""
    layer = wd.layers[base]
    lo = layer.origin
    hi = layer.origin + (np.array(layer.values.shape) - 1) * layer.voxel
    comps = []
    for xr, yr in boxes:
        blo, bhi = lo.copy(), hi.copy()
        for k, rng in ((0, xr), (1, yr)):
            if rng is not None:
                blo[k], bhi[k] = max(blo[k], rng[0]), min(bhi[k], rng[1])
        if np.all(bhi > blo):
            comps += wd.over(base, region, box=(blo, bhi))
    return comps


# spring chains around a coat's skirt: degrees about the vertical, 0 = front, +90 = left side; the
# back pair (the tails) hang straight behind the legs
COAT_CHAIN_ANGLES = (-112.5, -67.5, -22.5, 22.5, 67.5, 112.5)


def _coat_weights(wd, g, prof, hem, waist, name):
    """The coat below the hips on eight spring chains around the legs (four per side, each hung
    from its side's upper leg), the cloth between two chains blended by angle, as the skirt bones
    of anime avatars are laid out. The side chains lie where a lowered hand hangs, so the hand's
    collider pushes the coat aside instead of sinking into it. The back pair are the coat tails:
    the cloth either side of the back slit follows its own side's tail (a narrow blend across the
    centre, where the tails meet above the slit)."""
    top = g.ul_y
    ys = np.array([top, top - 0.3 * (top - hem), top - 0.65 * (top - hem), hem])
    a, b, zc = prof.at(ys)
    tail = np.pi - np.arcsin(np.clip(g.leg_x / float(np.mean(a)), 0.0, 1.0))
    angles = np.concatenate([[-tail], np.radians(COAT_CHAIN_ANGLES), [tail]])
    stem = name.replace("-", "")
    spring = {**dict(wd.cfg.spring), "hit_radius": 0.05}  # the thick trimmed hem reaches past the joints
    firsts = []
    for k, th in enumerate(angles):
        if k in (0, len(angles) - 1):  # tails: straight behind the leg at every height
            x = np.full(len(ys), np.sign(th) * g.leg_x)
            z = zc - b * np.sqrt(np.clip(1.0 - (x / a) ** 2, 0.0, 1.0))
        else:
            x, z = a * np.sin(th), zc + b * np.cos(th)
        side = "Left" if th > 0 else "Right"
        where = ("Tail", "Back", "Side", "Front")[min(k, len(angles) - 1 - k, 3)]  # counted from the back
        pts = [(float(x[i]), float(y), float(z[i])) for i, y in enumerate(ys)]
        firsts.append(wd.add_chain(f"{stem}{side}{where}", f"{side.lower()}UpperLeg", pts, spring))
    ys = ys.tolist()

    def fn(v):
        near = _elbow_blend(g, v, wd.nearest(v))
        a_, b_, zc = prof.at(v[:, 1])
        th = np.arctan2(v[:, 0] / a_, (v[:, 2] - zc) / b_)
        hang = gw.curtain(v[:, 1], th, angles, [ys] * len(angles), firsts, wd.num_bones)  # clamped at the back
        back = np.abs(th) > angles[-1]
        if back.any():
            s = 0.5 * (1.0 + np.tanh(v[back, 0] / (0.35 * g.leg_x)))[:, None]  # 1 = left tail
            hang[back] = (s * gw.chain(v[back, 1], ys, firsts[-1], wd.num_bones)
                          + (1 - s) * gw.chain(v[back, 1], ys, firsts[0], wd.num_bones))
        blend = gs.smoothstep(g.hips_y, g.crotch, v[:, 1])[:, None]
        return (1 - blend) * near + blend * hang
    return fn


def _elbow_blend(g, v, dense):
    """A wide upper/lower-arm blend across the elbow (half and half at the joint) for sleeves
    that stand off the skin: a sharp split folds the inner-elbow cloth into the bent forearm.
    ``dense`` [N, J] is updated in place and returned."""
    from kyara.body.skeleton import BONE_INDEX

    span = 0.3 * (g.wrist_x - g.elbow_x)
    f = gs.smoothstep(g.elbow_x - span, g.elbow_x + span, np.abs(v[:, 0]))  # 1 = forearm
    for sx, side in ((1.0, "left"), (-1.0, "right")):
        on = np.sign(v[:, 0]) == sx
        ua, la = BONE_INDEX[f"{side}UpperArm"], BONE_INDEX[f"{side}LowerArm"]
        both = dense[on, ua] + dense[on, la]
        dense[on, ua], dense[on, la] = (1.0 - f[on]) * both, f[on] * both
    return dense


def long_coat(wd, piece):
    g = wd.geo
    _coat(wd, piece, "long-coat", 0.22, g.knee_y - 0.1 * (g.knee_y - g.ankle_y), trim_bands=False)


def pirate_coat(wd, piece):
    g = wd.geo
    _coat(wd, piece, "pirate-coat", 0.42, g.knee_y - 0.05 * (g.knee_y - g.ankle_y), trim_bands=True)


def witch_robe(wd, piece):
    g = wd.geo
    waist = g.spine_y
    hem = 0.012 * g.H
    x0 = g.elbow_x - 0.2 * (g.elbow_x - g.shoulder_x)
    x1 = g.wrist_x - 0.01 * g.H
    r0 = g.r_arm + wd.gap + 0.012
    r1 = 0.07 * g.H
    cv = wd.coarse_voxel
    t = wd.thick_at(cv)
    arm_z = float(wd.body.layout.joint("leftLowerArm")[2])

    def bell(p):
        d = gs.capsule_x(p, g.arm_y, arm_z, x0, x1, r0, r1, drop=0.35)
        return np.maximum(d, -d - t)
    extra = []
    for sx in (1.0, -1.0):  # one box per arm
        xs = sorted((sx * (x0 - 0.01), sx * (x1 + 0.01)))
        lo = np.array([xs[0], g.arm_y - 1.5 * r1 - 0.01, arm_z - r1 - 0.01])
        hi = np.array([xs[1], g.arm_y + r1 + 0.01, arm_z + r1 + 0.01])
        extra.append(wd.free(lo, hi, lambda p: np.maximum(bell(p), x0 + 0.01 - np.abs(p[:, 0]))))
    prof = wd.profile(hem, waist + 0.02 * g.T, 0.3)
    extra.append(wd.flared(prof, hem, waist, thick=t))
    w = _sleeve_weights(wd, g, (x0, x1, g.arm_y - 1.4 * r1), hit_radius=0.5 * r1)
    flow = wd.flowing(g.hips_y, g.crotch)

    def weights(v):
        out = flow(v)
        sel = v[:, 1] > g.hips_y
        out[sel] = w(v[sel])
        return out
    _top(wd, "witch-robe", piece.colour.hex, waist - 0.05 * g.T, x0 + 0.02, extra=extra, weights=weights,
         voxel=cv, thick=t)
    band = 0.035 * g.H
    trims = lambda p: np.minimum(p[:, 1] - (hem + band), (x1 - band) - np.abs(p[:, 0]))  # noqa: E731
    wd.add("witch-robe-trim", _trim_hex(piece, "#c4c8d0"), _over_boxes(wd, "witch-robe", trims, [
        (None, (-9.0, hem + band + 0.01)),  # hem band
        ((x1 - band - 0.01, 9.0), None), ((-9.0, -(x1 - band - 0.01)), None),  # cuffs
    ]), weights=weights, voxel=cv)


RECIPES = {
    "kimono": kimono, "dress": dress, "witch-robe": witch_robe, "sailor-uniform": sailor_uniform,
    "hoodie": hoodie, "sports-jersey": sports_jersey, "t-shirt": t_shirt, "skirt": skirt, "shorts": shorts,
    "trousers": trousers, "long-coat": long_coat, "pirate-coat": pirate_coat, "boots": boots,
    "sneakers": sneakers, "sandals": sandals,
}
