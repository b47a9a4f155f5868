"""The sailor uniform (*seifuku*): a V-necked top, the square sailor collar lying over the back
with stripes along its edges, striped cuffs, a ribbon tie at the bottom of the V and a pleated
skirt.

Parts: ``sailor-uniform``, ``sailor-uniform-collar`` (back flap, lapels, cuffs),
``sailor-uniform-stripes``, ``sailor-uniform-scarf`` (knot, two loops, two tails),
``sailor-uniform-skirt`` (when the outfit has no bottom of its own), ``sailor-uniform-folds``.
"""

from __future__ import annotations

import numpy as np

from kyara.body import sdf
from kyara.character import garment_common as gc
from kyara.character import garment_shapes as gs

SCARF = "#c8283c"  # the classic red ribbon
STRIPES = ("#f5f5f5", "#1f2a55")  # white stripes, navy on a light collar
SKIRT_PLEATS = 18


def sailor_uniform(wd, piece):
    g = wd.geo
    cloth = piece.colour.hex
    hem = g.hips_y + 0.45 * (g.spine_y - g.hips_y)
    v_depth, v_half = 0.2 * g.T, 0.09 * g.T
    vcut = gc.v_cut(g, v_depth, v_half)
    sleeve = gc.sleeve_end(g, "long")
    gc.fitted_top(wd, "sailor-uniform", cloth, hem, sleeve, cuts=(vcut,))
    trim = gc.trim_hex(piece, "#1f2a55")
    flap_y = g.collar_y - 0.4 * g.T  # the back flap's lower edge
    flap_x = 0.8 * g.shoulder_x  # its half width
    band = 0.08 * g.T  # lapel width
    cuff = 0.07 * g.T

    def flap(p):  # the square flap on the back, up to the neck
        return np.maximum(np.maximum(np.abs(p[:, 0]) - flap_x, flap_y - p[:, 1]), p[:, 2] - g.torso_zc)

    def lapel_edge(p):  # horizontal distance from the V's edge, outward (<0 inside the V)
        return -((p[:, 1] - (g.collar_y - v_depth)) * (v_half / v_depth) - np.abs(p[:, 0]))

    def lapels(p):
        return np.maximum(np.maximum(lapel_edge(p) - band, -lapel_edge(p) - 0.002),
                          np.maximum(g.torso_zc - p[:, 2], (g.collar_y - v_depth) - p[:, 1]))

    def shoulders(p):  # joins the flap and the lapels over the shoulders, round the neck
        return np.maximum(np.maximum(p[:, 1] - g.collar_y - 0.02, np.abs(p[:, 0]) - flap_x),
                          g.neck_y - 0.06 * g.T - p[:, 1])

    def cuffs(p):
        return np.maximum(sleeve - cuff - np.abs(p[:, 0]), g.hips_y - p[:, 1])

    def collar(p):
        return np.minimum(np.minimum(np.minimum(flap(p), lapels(p)), shoulders(p)), cuffs(p))
    wd.add("sailor-uniform-collar", trim, wd.over("sailor-uniform", collar, thick=0.006), cuts=(vcut,))

    # two stripes along the flap's sides and lower edge and down the lapels' outer edges, one per cuff
    sw = 0.012 * g.T  # half width
    insets = (0.032 * g.T, 0.07 * g.T)

    def stripes(p):
        back = np.maximum(np.abs(p[:, 0]) - flap_x, flap_y - p[:, 1])  # < 0 on the flap
        front = lapel_edge(p) - band  # < 0 on the lapel
        d = np.full(len(p), 1.0)
        for s in insets:
            d = np.minimum(d, np.maximum(np.abs(back + s) - sw, p[:, 2] - g.torso_zc))
            d = np.minimum(d, np.maximum(np.maximum(np.abs(front + s) - sw, g.torso_zc - p[:, 2]),
                                         (g.collar_y - v_depth) - p[:, 1]))
        ring = np.maximum(np.abs(np.abs(p[:, 0]) - (sleeve - 0.5 * cuff)) - sw, g.hips_y - p[:, 1])
        return np.maximum(np.minimum(d, ring), p[:, 1] - g.collar_y)
    stripe_hex = gc.contrasting(trim, STRIPES)
    wd.add("sailor-uniform-stripes", stripe_hex, wd.over("sailor-uniform-collar", stripes, thick=0.003, gap=0.0005),
           cuts=(vcut,), occupy=False, outline=0.0)  # printed: no ink of its own

    # the ribbon tie at the bottom of the V: a knot, two loops and two tails
    scarf_hex = gc.contrasting((cloth, trim), (SCARF, "#1f2a55", "#f5f5f5", "#f2c12e"), 20.0)
    field, lo, hi = ribbon_tie(wd, g, g.collar_y - v_depth + 0.015 * g.T)
    wd.add("sailor-uniform-scarf", scarf_hex, [wd.free(lo, hi, field, gap=0.001)], occupy=False)
    if not wd.bottom_given:
        gc.add_skirt(wd, "sailor-uniform-skirt", trim, g.knee_y + 0.35 * (g.ul_y - g.knee_y), hem + 0.02 * g.T, 0.45,
                     pleats=SKIRT_PLEATS, garment="sailor-uniform")
    gc.elbow_folds(wd, "sailor-uniform", "sailor-uniform", cloth)
    gc.shoulder_folds(wd, "sailor-uniform", "sailor-uniform", cloth)
    # the top bloused over the skirt: short creases up from the hem, front and back
    for phi in (0.35, -0.3, 0.9, -0.95, 2.6, -2.7):
        ys = np.linspace(hem + 0.01, hem + 0.12 * g.T, 5)
        r = 0.02 + np.array([1.0, 1.0]) * g.hip_half
        pts = np.stack([1.1 * r[0] * np.sin(np.full(5, phi)), ys, g.torso_zc + 0.15 * np.cos(np.full(5, phi))], axis=1)
        wd.fold("sailor-uniform", "sailor-uniform", pts, colour_hex=cloth)


def ribbon_tie(wd, g, y_knot: float):
    """The tie's field ``(fn, lo, hi)``: knot on the cloth at height ``y_knot``, loops out to
    the sides, tails hanging and splaying (metres, negative inside)."""
    z0 = gc.surface_z(wd, 0.0, np.array([y_knot]))[0] + 0.004
    knot_c = np.array([0.0, y_knot, z0 + 0.004])
    kr = np.array([0.028, 0.022, 0.014]) * (g.T / 0.46)
    s = g.T / 0.46
    loops = []
    for sx in (1.0, -1.0):
        zl = gc.surface_z(wd, sx * 0.045 * s, np.array([y_knot + 0.008 * s]))[0] + 0.006
        loops.append((np.array([sx * 0.045 * s, y_knot + 0.008 * s, max(zl, z0)]), np.array([0.042, 0.022, 0.01]) * s))
    tails = []
    ys = np.linspace(y_knot - 0.01 * s, y_knot - 0.11 * s, 5)
    for sx in (1.0, -1.0):
        xs = sx * np.linspace(0.006, 0.04, 5) * s
        zs = np.array([gc.surface_z(wd, float(x), np.array([y]))[0] for x, y in zip(xs, ys)]) + 0.005
        tails.append(np.stack([xs, ys, np.maximum(zs, z0 - 0.01)], axis=1))

    def field(p):
        d = sdf.ellipsoid(p, knot_c, kr)
        for c, r in loops:
            d = np.minimum(d, sdf.ellipsoid(p, c, r))
        for pts in tails:
            d = np.minimum(d, gs.segment_3d(p, pts, 0.016 * s, 0.35))
        return d
    lo = np.array([-0.1 * s, ys[-1] - 0.03, z0 - 0.04])
    hi = np.array([0.1 * s, y_knot + 0.05 * s, z0 + 0.04])
    return field, lo, hi
