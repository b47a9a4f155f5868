"""The kimono: wide hanging sleeves, crossed collar, obi with a bow at the back, long skirt."""

from __future__ import annotations

import numpy as np

from kyara.character import garment_shapes as gs
from kyara.character import garment_common as gc


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
    gc.fitted_top(wd, "kimono", piece.colour.hex, waist - 0.05 * g.T, sleeve_end, extra=extra,
         weights=gc.sleeve_weights(wd, g, (x0, sleeve_end, g.arm_y - drop), hit_radius=0.35 * half_z))
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
    wd.add("kimono-collar", gc.trim_hex(piece), wd.over("kimono", eri))
    obi = wd.fitted(gc.box_region(obi_bot, obi_top), obi_bot - 0.02, obi_top + 0.02, (1,), thick=0.012)
    c = np.array([0.0, 0.5 * (obi_bot + obi_top) + 0.02 * g.T, g.back_z - 0.035 * g.H])
    half = np.array([0.55 * g.hip_half, 0.16 * g.T, 0.025 * g.H])
    obi.append(wd.free(c - half - 0.01, c + half + 0.01, lambda p: gs.rounded_box(p, c, half, 0.02 * g.H)))
    wd.add("kimono-obi", piece.obi.hex if piece.obi is not None else "#d4af37", obi)

