"""The kimono: furisode-like hanging sleeves open at the wrist, a crossed collar (left panel over
the right, the white under-collar showing in the V), an obi with a cord and a bow at the back,
a long skirt with a hem band, and the folds an artist draws on them.

Parts: ``kimono`` (top and sleeves), ``kimono-juban`` (under-collar), ``kimono-skirt``,
``kimono-hem``, ``kimono-collar`` (eri), ``kimono-obi`` (band, bow, hanging tails),
``kimono-obijime`` (cord), ``kimono-folds``.
"""

from __future__ import annotations

import numpy as np

from kyara.body import sdf
from kyara.character import garment_common as gc
from kyara.character import garment_shapes as gs

JUBAN = "#f7f3ea"


def collar_lines(g):
    """The two front edges of the kimono as functions of height: ``(x_top(y), x_under(y), y_cross)``.

    The top panel is the wearer's left (+x), worn over the right (the other way round dresses the
    dead): its edge runs from the left of the neck down across the centre to the wearer's right at
    the obi. The under panel's edge mirrors it above the crossing, where it goes under the top one.
    """
    obi_top = obi_heights(g)[1]
    a = 1.15 * g.neck_r  # half the V's width at the collar
    b = 0.4 * g.hip_half  # how far right of the centre the top panel's edge meets the obi

    def x_top(y):
        s = (np.asarray(y) - obi_top) / (g.collar_y - obi_top)
        return -b + (a + b) * s

    y_cross = obi_top + b / (a + b) * (g.collar_y - obi_top)
    return x_top, (lambda y: -x_top(y)), y_cross


def obi_heights(g) -> tuple[float, float]:
    """``(bottom, top)`` of the obi band, metres."""
    return g.hips_y + 0.15 * (g.spine_y - g.hips_y), g.spine_y + 0.3 * (g.chest_y - g.spine_y)


def kimono(wd, piece):
    g = wd.geo
    cloth = piece.colour.hex
    waist = g.spine_y
    hem = g.ankle_y + 0.105 * (g.knee_y - g.ankle_y)
    obi_bot, obi_top = obi_heights(g)
    v_open, sleeve = kimono_upper(wd, piece, "kimono", waist - 0.05 * g.T)
    x0, sleeve_end, top_y, drop, half_z, arm_z = sleeve

    prof = wd.profile(hem, waist, 0.1)
    flow = wd.flowing(g.hips_y, g.crotch)
    wd.add("kimono-skirt", cloth, [wd.flared(prof, hem, waist)], weights=flow)
    hem_band = 0.03 * g.H
    sk = wd.layers["kimono-skirt"]
    sk_lo, sk_hi = sk.origin, sk.origin + (np.array(sk.values.shape) - 1) * sk.voxel
    wd.add("kimono-hem", gc.trim_hex(piece), wd.over("kimono-skirt", gc.box_region(-1.0, hem + hem_band),
                                                     box=(sk_lo, np.r_[sk_hi[0], hem + hem_band + 0.01, sk_hi[2]])),
           weights=flow)
    kimono_collar(wd, piece, "kimono", v_open)

    # obi: a wide band, a cord round its middle, a bow at the back with two tails over the skirt
    obi_hex = piece.obi.hex if piece.obi is not None else "#d4af37"
    comps = wd.fitted(gc.box_region(obi_bot, obi_top), obi_bot - 0.02, obi_top + 0.02, (1,), thick=0.012)
    band = wd.body.vertices[(wd.body.parts == 1) & (np.abs(wd.body.vertices[:, 1] - 0.5 * (obi_bot + obi_top)) < 0.02)]
    zb = float(band[:, 2].min()) - wd.gap - 0.012 - 0.01  # behind the obi's back
    yc = 0.5 * (obi_bot + obi_top) + 0.02 * g.T
    bow, lo, hi = bow_shape(g, np.array([0.0, yc, zb]), obi_top - obi_bot)
    comps.append(wd.free(lo, hi, bow))
    tail_top, tail_bot = obi_bot + 0.01, obi_bot - 0.28 * g.T
    tails = lambda p: np.maximum(np.abs(np.abs(p[:, 0]) - 0.07 * g.T) - 0.045 * g.T,  # noqa: E731
                                 np.maximum(gs.slab(p[:, 1], tail_bot, tail_top), p[:, 2] - g.torso_zc))
    comps += wd.over("kimono-skirt", tails, thick=0.006,
                     box=(np.array([-0.13 * g.T, tail_bot - 0.01, -1.0]), np.array([0.13 * g.T, tail_top + 0.01, g.torso_zc])))
    near = wd.nearest

    def obi_weights(v):
        out = near(v)
        below = v[:, 1] < obi_bot
        if below.any():
            out[below] = flow(v[below])
        return out
    wd.add("kimono-obi", obi_hex, comps, weights=obi_weights)
    cord = 0.05 * (obi_top - obi_bot)  # half its height
    mid = obi_bot + 0.45 * (obi_top - obi_bot)
    cord_hex = gc.contrasting(obi_hex, ("#f5f5f5", gc.trim_hex(piece), "#f2b8c6", cloth, "#1f2a55"))
    wd.add("kimono-obijime", cord_hex, wd.over("kimono-obi", gc.box_region(mid - cord, mid + cord)), occupy=False)
    kimono_folds(wd, g, piece, prof, hem, (x0, sleeve_end, top_y, drop, half_z, arm_z), (obi_bot, obi_top, yc, zb))


def kimono_upper(wd, piece, name: str, hem: float):
    """The kimono's upper body down to ``hem`` (metres): the under-collar ``<name>-juban`` showing
    in the V, then ``<name>`` (top and hanging sleeves, open at the wrist). Shared by the kimono and
    the kimono top worn with hakama. Returns ``(v_open, sleeve)``: the V's cut and the sleeve's
    sizes ``(x0, end, top_y, drop, half_z, arm_z)`` for the folds."""
    g = wd.geo
    cloth = piece.colour.hex
    x_top, x_under, y_cross = collar_lines(g)

    def v_open(p):  # the V between the panels' edges, front only: positive inside (removed)
        return np.minimum(np.minimum(x_top(p[:, 1]) - p[:, 0], p[:, 0] - x_under(p[:, 1])), p[:, 2] - g.torso_zc)

    # under-collar (juban) showing along the inside of the V
    jw = 0.022 * g.T
    juban_hex = JUBAN if gc.colour_distance(JUBAN, cloth) > 12 else "#f2b8c6"

    def juban(p):
        y, x = p[:, 1], p[:, 0]
        inner = np.minimum(np.maximum(x - x_top(y), x_top(y) - jw - x), np.maximum(x_under(y) - x, x - x_under(y) - jw))
        return np.maximum(np.maximum(inner, y_cross - 0.02 * g.T - y), np.maximum(y - g.collar_y - 0.01, g.torso_zc - p[:, 2]))
    wd.add(f"{name}-juban", juban_hex, wd.fitted(juban, y_cross - 0.05 * g.T, g.collar_y + 0.02, (1,),
                                                   thick=wd.trim_thick))

    # sleeves: deep pouches hanging under the arm from mid upper arm to the wrist, open at the wrist
    sleeve_end = g.wrist_x - 0.01 * g.H
    x0 = g.shoulder_x + 0.55 * (g.elbow_x - g.shoulder_x)
    drop = 0.12 * g.H
    half_z = g.r_arm + 0.03 * g.H
    arm_z = float(wd.body.layout.joint("leftLowerArm")[2])
    top_y = g.arm_y + g.r_arm + 0.012 * g.H
    t = wd.thick
    extra = []
    for sx in (1.0, -1.0):
        half = np.array([0.5 * (sleeve_end - x0), 0.5 * (top_y - (g.arm_y - drop)), half_z])
        centre = np.array([sx * 0.5 * (x0 + sleeve_end), 0.5 * (top_y + g.arm_y - drop), arm_z])
        mouth_c = centre + np.array([sx * half[0], 0.0, 0.0])
        mouth_h = np.array([0.05 * g.H, half[1] - t, half[2] - t])

        def pouch(p, c=centre, h=half, mc=mouth_c, mh=mouth_h):
            outer = flat_pouch(p, c, h, 0.035 * g.H, 0.4)
            return np.maximum(outer, -flat_pouch(p, mc, mh, 0.02 * g.H, (0.4 * h[2] - t) / mh[2]))
        extra.append(wd.free(centre - half - 0.01, centre + half + 0.01, pouch))
    gc.fitted_top(wd, name, cloth, hem, sleeve_end, extra=extra, cuts=(v_open,),
                  weights=gc.sleeve_weights(wd, g, (x0, sleeve_end, g.arm_y - drop), hit_radius=0.35 * half_z))
    return v_open, (x0, sleeve_end, top_y, drop, half_z, arm_z)


def kimono_collar(wd, piece, name: str, v_open) -> None:
    """The collar (eri) ``<name>-collar`` over the part ``name``: the top panel's band runs from the
    neck across the centre to the obi, the under panel's band stops where it meets it; a band round
    the back of the neck joins them."""
    g = wd.geo
    x_top, x_under, y_cross = collar_lines(g)
    w = 0.05 * g.T

    def eri(p):
        y, x = p[:, 1], p[:, 0]
        top = np.maximum(x_top(y) - x, x - x_top(y) - w)
        under = np.maximum(np.maximum(x - x_under(y), x_under(y) - w - x), np.maximum(x - x_top(y), y_cross - 0.05 * g.T - y))
        front = np.maximum(np.minimum(top, under), g.torso_zc - p[:, 2] - 0.02 * g.T)
        back = np.maximum(np.maximum(g.collar_y - w - y, p[:, 2] - g.torso_zc), np.abs(x) - 1.15 * g.neck_r - w)
        return np.minimum(front, back)
    wd.add(f"{name}-collar", gc.trim_hex(piece), wd.over(name, eri), cuts=(v_open,))


def flat_pouch(p: np.ndarray, c: np.ndarray, half: np.ndarray, radius: float, taper: float) -> np.ndarray:
    """A rounded box (centre ``c``, half sizes ``half`` [3]) whose depth (z) narrows toward its
    bottom to ``taper`` of ``half[2]``: a hanging sleeve, thick where the arm runs through it and
    flat below. Approximate distance, metres, negative inside."""
    f = gs.smoothstep(c[1] - half[1], c[1] + half[1], p[:, 1])
    hz = half[2] * (taper + (1.0 - taper) * f)
    h = np.stack([np.full(len(p), half[0]), np.full(len(p), half[1]), hz], axis=1)
    q = np.abs(p - c) - (h - radius)
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0) - radius


def bow_shape(g, c: np.ndarray, obi_h: float):
    """A *bunko* bow at ``c`` (its knot's centre, on the back of the obi): a knot and two wings
    that widen away from it. Returns ``(field, lo, hi)``; metres, negative inside."""
    kx, wing = 0.05 * g.T, 0.38 * g.T  # knot half width, wing reach from the centre
    hk, hw = 0.35 * obi_h, 0.6 * obi_h  # half heights at the knot and at the wing's end
    dz = 0.03 * g.H  # wing half depth

    def field(p):
        q = p - c
        ax = np.abs(q[:, 0])
        knot = gs.rounded_box(q, np.zeros(3), np.array([kx, hk, 0.6 * dz]), 0.012)
        s = gs.smoothstep(kx, wing, ax)
        h = hk + (hw - hk) * np.sqrt(np.clip(s * 1.6, 0.0, 1.0))
        zc = -0.4 * dz * s
        wings = np.maximum(np.maximum(np.abs(q[:, 1] - 0.15 * obi_h * s) - h, ax - wing),
                           np.abs(q[:, 2] - zc) - dz * (1.0 - 0.45 * s))
        return np.minimum(knot, wings - 0.004)

    r = np.array([wing, hw + 0.2 * obi_h, 1.5 * dz])
    return field, c - r - 0.01, c + r + 0.01


def kimono_folds(wd, g, piece, prof, hem, sleeve, obi):
    """Fold lines: drapes down the hanging sleeves, the okumi edge and drapes down the skirt, the
    cloth pulled into the obi and the creases of the bow's wings."""
    cloth = piece.colour.hex
    x0, x1, top_y, drop, half_z, arm_z = sleeve
    obi_bot, obi_top, yc, zb = obi
    for sx in (1.0, -1.0):
        # down the lines the pouch's spring chains hang along (garment_common.sleeve_weights), where
        # the cloth's weights change least across the decimated pouch's big triangles
        for f, lean in ((0.12, 0.0), (0.5, 0.0), (0.88, 0.0)):
            x = x0 + f * (x1 - x0)
            ys = np.linspace(g.arm_y - g.r_arm - 0.03 * g.H, g.arm_y - drop + 0.015 * g.H, 10)  # below the arm's blend
            xs = x + lean * np.linspace(0.0, 1.0, 10)
            f_ = gs.smoothstep(g.arm_y - drop, top_y, ys)
            hz = half_z * (0.4 + 0.6 * f_) + 0.012  # the pouch's depth there (flat_pouch), plus a margin
            for side in (1.0, -1.0):
                wd.fold("kimono", "kimono", np.stack([sx * xs, ys, arm_z + side * hz], axis=1), colour_hex=cloth)
    # skirt: the top panel's edge (okumi) from under the obi to the hem, and a few drapes
    a_w = float(prof.at(np.array([obi_bot]))[0][0])
    phi = -np.arcsin(min(0.95, 0.45 * g.hip_half / a_w))
    gc.drape_folds(wd, "kimono", "kimono-skirt", cloth, prof, [phi], obi_bot - 0.01, hem + 0.04 * g.H, sway=0.02,
                   width=1.3 * wd.cfg.fold_width)
    gc.drape_folds(wd, "kimono", "kimono-skirt", cloth, prof, [0.35, 1.35, -1.4, 2.5, -2.5],
                   obi_bot - 0.03 * g.T, hem + 0.12 * (g.knee_y - hem))
    # the cloth gathered into the obi: short strokes up from its top edge
    ys = np.linspace(obi_top + 0.005, obi_top + 0.13 * g.T, 6)
    for x_lo, x_hi in ((0.35, 0.55), (0.6, 0.9), (-0.45, -0.6), (-0.7, -0.95)):
        xs = np.linspace(x_lo, x_hi, 6) * g.hip_half
        wd.fold("kimono", "kimono", np.stack([xs, ys, np.full(6, g.front_z + 0.05)], axis=1), colour_hex=cloth)
    # the bow's wings: creases fanning out from the knot
    for sx in (1.0, -1.0):
        for dy in (-0.35, 0.3):
            xs = sx * np.linspace(0.07, 0.3, 8) * g.T
            ys = yc + dy * (obi_top - obi_bot) * np.linspace(0.3, 1.0, 8)
            wd.fold("kimono", "kimono-obi", np.stack([xs, ys, np.full(8, zb - 0.05 * g.H)], axis=1), colour_hex=cloth)
