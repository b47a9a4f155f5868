"""Mid-layer tops: the sports jersey (numbers front and back, trims at the collar and cuffs) and
the hoodie (hood lying on the back, drawstrings). The sailor uniform is in
:mod:`kyara.character.garment_sailor`."""

from __future__ import annotations

import numpy as np

from kyara.body import sdf
from kyara.character import garment_shapes as gs
from kyara.character import garment_common as gc

NUMBER_COLOURS = ("#f5f5f5", "#1f2a55", "#1a1a1f", "#f2c12e")  # when the trim is too close to the cloth


def number_hex(piece) -> str:
    """The jersey number's colour: the trim's, unless it is too close to the jersey's own colour
    (CIEDE2000 under 25) to read; then white, navy, black or yellow, whichever stands out."""
    trim = gc.trim_hex(piece)
    if gc.colour_distance(trim, piece.colour.hex) >= 25.0:
        return trim
    return gc.contrasting(piece.colour.hex, NUMBER_COLOURS)


def sports_jersey(wd, piece):
    g = wd.geo
    cloth = piece.colour.hex
    hem = g.hips_y - 0.2 * (g.hips_y - g.crotch)
    sleeve = gc.sleeve_end(g, "short")
    vcut = gc.v_cut(g, 0.09 * g.T, 0.05 * g.T)
    gc.fitted_top(wd, "sports-jersey", cloth, hem, sleeve, cuts=(vcut,))
    trim = gc.trim_hex(piece)
    band = 0.07 * g.T
    collar = gc.band_near(vcut, band)
    neck = lambda p: np.minimum(collar(p), gs.slab(p[:, 1], g.collar_y - band, g.collar_y + 0.02))  # noqa: E731
    # cuffs on the outer side of the sleeve only: a band under the arm is what a lowered arm
    # pushes into the chest
    cuffs = lambda p: np.maximum(gs.slab(np.abs(p[:, 0]), sleeve - band, sleeve + 0.02),  # noqa: E731
                                 (g.arm_y - 0.6 * g.r_arm) - p[:, 1])
    # side stripes from below the armpit to the hem
    side_w = 0.035 * g.T
    side = lambda p: np.maximum(np.abs(np.abs(np.arctan2(p[:, 0], p[:, 2] - g.torso_zc)) - 0.5 * np.pi) * 0.12 - side_w,  # noqa: E731
                                gs.slab(p[:, 1], hem - 0.01, g.arm_y - g.r_arm - 0.09 * g.T))
    wd.add("sports-jersey-trim", trim, wd.over("sports-jersey", lambda p: np.minimum(np.minimum(neck(p), cuffs(p)), side(p))),
           cuts=(vcut,))
    number = piece.number if piece.number is not None else 0
    digits = number_hex(piece)
    _number(wd, "sports-jersey-number", digits, number, back=True)
    _number(wd, "sports-jersey-number-front", digits, number, back=False)
    if not wd.bottom_given:
        gc.add_shorts(wd, "sports-jersey-shorts", cloth)
    gc.shoulder_folds(wd, "sports-jersey", "sports-jersey", cloth)
    for phi in (0.5, -0.55, 2.5, -2.55):  # slack at the waist
        ys = np.linspace(hem + 0.02, hem + 0.16 * g.T, 5)
        r = g.hip_half + 0.03
        pts = np.stack([r * np.sin(np.full(5, phi)), ys, g.torso_zc + 0.8 * r * np.cos(np.full(5, phi))], axis=1)
        wd.fold("sports-jersey", "sports-jersey", pts, colour_hex=cloth)


def _number(wd, name, hex_, number, back: bool):
    """Raised seven-segment digits on the jersey (big on the back, small on the chest)."""
    g = wd.geo
    h = (0.34 if back else 0.16) * g.T
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
    cloth = piece.colour.hex
    hem = g.hips_y - 0.45 * (g.hips_y - g.crotch)
    sleeve = gc.sleeve_end(g, "long")
    neck_z = float(wd.body.layout.joint("neck")[2])
    # the hood, down: a rounded bag lying on the upper back whose face opening gapes upward behind
    # the neck, plus a roll of cloth round the neck where it joins the body
    field, lo, hi = hood_shape(g, neck_z)
    gc.fitted_top(wd, "hoodie", cloth, hem, sleeve, extra=[wd.free(lo, hi, field)])
    # ribbed hem band and cuffs, a shade darker
    rib = gc.shade_hex(cloth, 0.85)
    band = 0.07 * g.T
    ribs = lambda p: np.minimum(p[:, 1] - (hem + band), (sleeve - band) - np.abs(p[:, 0]))  # noqa: E731
    wd.add("hoodie-ribs", rib, gc.over_boxes(wd, "hoodie", ribs, [
        (None, (-9.0, hem + band + 0.01)), ((sleeve - band - 0.01, 9.0), None), ((-9.0, -(sleeve - band - 0.01)), None)]))
    # kangaroo pocket on the belly: a patch narrowing upward, slanted openings at the sides
    p_bot, p_top = hem + band, hem + band + 0.26 * g.T

    def pocket(p):
        t_ = np.clip((p[:, 1] - p_bot) / (p_top - p_bot), 0.0, 1.0)
        half = g.hip_half * (0.62 - 0.22 * t_)
        return np.maximum(np.maximum(np.abs(p[:, 0]) - half, gs.slab(p[:, 1], p_bot - 0.01, p_top)), g.torso_zc - p[:, 2])
    wd.add("hoodie-pocket", cloth, gc.over_boxes(wd, "hoodie", pocket, [(None, (p_bot - 0.02, p_top + 0.01))]))
    # drawstrings: two cords from eyelets either side of the neck, hanging down the chest, with aglets
    from kyara.character.meshing import combine, tube

    cords = []
    n = 8
    for sx in (1.0, -1.0):
        ys = np.linspace(g.collar_y - 0.012 * g.H, g.collar_y - 0.3 * g.T, n)
        xs = sx * (0.65 * g.neck_r + 0.012 * np.sin(np.linspace(0.0, np.pi, n)))
        z = np.array([gc.surface_z(wd, float(x), np.array([y]))[0] for x, y in zip(xs, ys)]) + 0.005
        pts = np.stack([xs, ys, z], axis=1)
        cords.append(tube(pts, 0.0036, sides=8))
        tip = pts[-1] + np.array([0.0, -0.02 * g.T, 0.0])
        cords.append(tube(np.stack([pts[-1] + np.array([0.0, 0.01 * g.T, 0.0]), tip]), 0.0052, sides=8))
    v, f = combine(cords)
    gc.add_mesh(wd, "hoodie-cords", gc.contrasting(cloth, (gc.trim_hex(piece), "#f5f5f5", "#2a2a30"), 20.0), v, f)
    gc.elbow_folds(wd, "hoodie", "hoodie", cloth)
    gc.shoulder_folds(wd, "hoodie", "hoodie", cloth)
    # cloth bunching over the ribbed band: short creases up from it, all round
    for phi in (0.25, -0.3, 0.75, -0.8, 1.5, -1.45, 2.2, -2.25, 2.9):
        ys = np.linspace(hem + band + 0.005, hem + band + 0.1 * g.T, 5)
        r = g.hip_half + 0.03
        pts = np.stack([r * np.sin(np.full(5, phi)), ys, g.torso_zc + 0.8 * r * np.cos(np.full(5, phi))], axis=1)
        wd.fold("hoodie", "hoodie", pts, colour_hex=cloth)
    # the hood's centre seam and two creases round its opening
    c, r = hood_centre(g)
    ys = np.linspace(c[1] + 0.7 * r[1], c[1] - 0.85 * r[1], 9)
    wd.fold("hoodie", "hoodie", np.stack([np.zeros(9), ys, np.full(9, c[2] - r[2] - 0.02)], axis=1), colour_hex=cloth)
    for sx in (1.0, -1.0):
        th = np.linspace(0.2, 1.2, 7)
        xs = sx * 0.8 * r[0] * np.sin(th)
        ys = c[1] - 0.2 * r[1] - 0.5 * r[1] * np.cos(th)
        wd.fold("hoodie", "hoodie", np.stack([xs, ys, np.full(7, c[2] - 0.8 * r[2] - 0.02)], axis=1), colour_hex=cloth)


def hood_centre(g) -> tuple[np.ndarray, np.ndarray]:
    """Centre and radii of the lowered hood's bag (metres)."""
    return (np.array([0.0, g.neck_y - 0.06 * g.T, g.back_z - 0.022 * g.H]),
            np.array([0.72 * g.shoulder_x, 0.3 * g.T, 0.038 * g.H]))


def hood_shape(g, neck_z: float):
    """The lowered hood: ``(field, lo, hi)``. A bag on the upper back (an ellipsoid) hollowed from
    the top by the face opening (a smaller ellipsoid nearer the neck, so a rim stands round it),
    and a roll round the back and sides of the neck."""
    c, r = hood_centre(g)
    mouth_c = c + np.array([0.0, 0.55 * r[1], 0.35 * r[2]])
    mouth_r = np.array([0.7 * r[0], 0.55 * r[1], 0.75 * r[2]])
    ring_r = g.neck_r + 0.035 * g.H
    ring_c = np.array([0.0, g.collar_y - 0.005 * g.H, neck_z - 0.005 * g.H])
    ring = np.array([ring_r, 0.025 * g.H, ring_r * 1.05])

    def field(p):
        bag = np.maximum(sdf.ellipsoid(p, c, r), -sdf.ellipsoid(p, mouth_c, mouth_r))
        return np.minimum(bag, sdf.ellipsoid(p, ring_c, ring))
    lo = np.minimum(c - r, ring_c - ring) - 0.01
    hi = np.maximum(c + r, ring_c + ring) + 0.01
    return field, lo, hi
