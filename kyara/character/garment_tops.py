"""Mid-layer tops: sports jersey (numbers, trims), hoodie (hood, drawstrings), sailor uniform
(square collar, neckerchief, pleated skirt)."""

from __future__ import annotations

import numpy as np

from kyara.body import sdf
from kyara.character import garment_shapes as gs
from kyara.character import garment_common as gc

NECKERCHIEF = "#c8283c"


def sports_jersey(wd, piece):
    g = wd.geo
    hem = g.hips_y - 0.2 * (g.hips_y - g.crotch)
    sleeve = gc.sleeve_end(g, "short")
    vcut = gc.v_cut(g, 0.09 * g.T, 0.05 * g.T)
    gc.fitted_top(wd, "sports-jersey", piece.colour.hex, hem, sleeve, cuts=(vcut,))
    trim = gc.trim_hex(piece)
    band = 0.07 * g.T
    collar = gc.band_near(vcut, band)
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
        gc.add_shorts(wd, "sports-jersey-shorts", piece.colour.hex)


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
    gc.fitted_top(wd, "hoodie", piece.colour.hex, hem, gc.sleeve_end(g, "long"), extra=extra)
    # drawstrings: two cords down the chest from the collar
    from kyara.character.meshing import combine, tube

    cords = []
    for sx in (1.0, -1.0):
        x = sx * 0.6 * g.neck_r
        ys = np.linspace(g.collar_y - 0.01 * g.H, g.collar_y - 0.16 * g.T, 6)
        z = gc.surface_z(wd, x, ys) + 0.0045
        cords.append(tube(np.stack([np.full(6, x), ys, z], axis=1), 0.0032, sides=8))
    v, f = combine(cords)
    gc.add_mesh(wd, "hoodie-cords", gc.trim_hex(piece), v, f)



def sailor_uniform(wd, piece):
    g = wd.geo
    hem = g.hips_y + 0.45 * (g.spine_y - g.hips_y)
    vcut = gc.v_cut(g, 0.2 * g.T, 0.09 * g.T)
    gc.fitted_top(wd, "sailor-uniform", piece.colour.hex, hem, gc.sleeve_end(g, "long"), cuts=(vcut,))
    trim = gc.trim_hex(piece, "#1f2a55")
    flap_y = g.collar_y - 0.32 * g.T
    band = 0.07 * g.T

    def collar(p):
        back = np.maximum(np.maximum(np.abs(p[:, 0]) - 0.72 * g.shoulder_x, flap_y - p[:, 1]), p[:, 2] - g.torso_zc)
        lapel = np.maximum(gc.band_near(vcut, band)(p), np.maximum(g.torso_zc - p[:, 2], (g.collar_y - 0.2 * g.T) - p[:, 1]))
        shoulders = np.maximum(p[:, 1] - g.collar_y - 0.02, np.maximum(np.abs(p[:, 0]) - 1.6 * g.neck_r, -p[:, 1] + g.neck_y - 0.02 * g.T))
        return np.minimum(np.minimum(back, lapel), shoulders)
    wd.add("sailor-uniform-collar", trim, wd.over("sailor-uniform", collar, thick=0.005), cuts=(vcut,))
    # neckerchief: knot at the bottom of the V and two tails
    knot_c = np.array([0.0, g.collar_y - 0.2 * g.T, 0.0])
    knot_c[2] = gc.surface_z(wd, 0.0, np.array([knot_c[1] + 0.02 * g.T]), wd.layers["sailor-uniform"])[0] + 0.006
    kr = np.array([0.045 * g.T, 0.03 * g.T, 0.02 * g.T])
    ys = np.linspace(knot_c[1], knot_c[1] - 0.16 * g.T, 5)
    tails = []
    for sx in (1.0, -1.0):
        xs = sx * np.linspace(0.01, 0.05, 5) * g.T
        zs = np.array([gc.surface_z(wd, float(x), np.array([y]), wd.layers["sailor-uniform"])[0] for x, y in zip(xs, ys)])
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
        gc.add_skirt(wd, "sailor-uniform-skirt", trim, g.knee_y + 0.35 * (g.ul_y - g.knee_y), hem + 0.02 * g.T, 0.45,
               pleats=18)

