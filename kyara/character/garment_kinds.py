"""One recipe per outfit kind: which shells, free shapes, trims and weights make the garment.

Each recipe takes the :class:`~kyara.character.garments.Wardrobe` and the spec's
:class:`~kyara.character.spec.OutfitPiece` and adds parts named after the kind (``"hoodie"``,
``"pirate-coat-trim"``, ``"kimono-obi"``, ...). Heights and widths come from the body's landmarks
(:class:`~kyara.character.garments.Geo`), so every recipe fits every body preset.
"""

from __future__ import annotations

import numpy as np

from kyara.character import garment_common as gc


SKIRT_PLEATS = 16  # anime skirts are pleated (school skirts); a dress's skirt hangs in drapes


# ---------------------------------------------------------------------------------------------
# underwear level


def t_shirt(wd, piece):
    g = wd.geo
    hem = g.hips_y - 0.35 * (g.hips_y - g.crotch)
    gc.fitted_top(wd, "t-shirt", piece.colour.hex, hem, gc.sleeve_end(g, "short"))
    gc.shoulder_folds(wd, "t-shirt", "t-shirt", piece.colour.hex)
    gc.waist_folds(wd, "t-shirt", "t-shirt", piece.colour.hex, hem, 0.14 * g.T)


def trousers(wd, piece):
    g = wd.geo
    y0 = g.ankle_y + 0.6 * g.r_thigh * 0.42
    top = g.hips_y + 0.3 * (g.spine_y - g.hips_y)
    wd.add("trousers", piece.colour.hex, wd.fitted(gc.box_region(y0, top), y0, top, (1, 4)))
    gc.leg_folds(wd, "trousers", "trousers", piece.colour.hex)


def shorts(wd, piece):
    gc.add_shorts(wd, "shorts", piece.colour.hex)
    gc.leg_folds(wd, "shorts", "shorts", piece.colour.hex, knee=False)


def skirt(wd, piece):
    g = wd.geo
    gc.add_skirt(wd, "skirt", piece.colour.hex, g.knee_y + 0.3 * (g.ul_y - g.knee_y), g.spine_y, 0.5,
                 pleats=SKIRT_PLEATS)


# ---------------------------------------------------------------------------------------------
# footwear


def _shoe(wd, name, hex_, top_y):
    g = wd.geo
    comps = wd.fitted(gc.box_region(0.0015, top_y), 0.0, top_y, (4, 5))
    return wd.add(name, hex_, comps)


def _sole(wd, name, hex_, top_y, thick=0.011):
    g = wd.geo
    region = gc.box_region(-0.012, top_y)
    comps = wd.fitted(region, -0.02, top_y, (4, 5), thick=thick)
    return wd.add(name, hex_, comps)


def sneakers(wd, piece):
    g = wd.geo
    _shoe(wd, "sneakers", piece.colour.hex, g.ankle_y + 0.25 * g.r_thigh)
    _sole(wd, "sneakers-sole", gc.trim_hex(piece), 0.022 * g.H)


def boots(wd, piece):
    g = wd.geo
    top = g.knee_y - 0.18 * (g.knee_y - g.ankle_y)
    _shoe(wd, "boots", piece.colour.hex, top)
    band = 0.05 * (g.knee_y - g.ankle_y)
    wd.add("boots-trim", gc.trim_hex(piece, "#3a2a20"), wd.over("boots", gc.box_region(top - band, top + 0.01)))
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
    wd.add("sandals-straps", gc.trim_hex(piece, "#7b4a2a"), comps)



def dress(wd, piece):
    g = wd.geo
    top = g.spine_y + 0.2 * (g.chest_y - g.spine_y)
    sleeve = g.shoulder_x + 0.12 * (g.elbow_x - g.shoulder_x)
    scoop_c = np.array([0.0, g.collar_y + 0.02 * g.T])
    scoop_r = 0.14 * g.T

    def scoop(p):
        d = scoop_r - np.hypot(p[:, 0] - scoop_c[0], p[:, 1] - scoop_c[1])
        return np.minimum(d, p[:, 2] - g.torso_zc)
    gc.fitted_top(wd, "dress", piece.colour.hex, top - 0.04 * g.T, sleeve, cuts=(scoop,))
    gc.add_skirt(wd, "dress-skirt", piece.colour.hex, g.knee_y - 0.05 * (g.ul_y - g.knee_y), top, 0.5)
    band = 0.035 * g.T
    wd.add("dress-sash", gc.trim_hex(piece), wd.over("dress-skirt", gc.box_region(top - 2 * band, top)))


from kyara.character.garment_coats import long_coat, pirate_coat, witch_robe  # noqa: E402
from kyara.character.garment_costumes import (idol_dress, lolita_dress, maid_dress, school_swimsuit,  # noqa: E402
                                              thighhighs)
from kyara.character.garment_hakama import hakama, kimono_top  # noqa: E402
from kyara.character.garment_kimono import kimono  # noqa: E402
from kyara.character.garment_sailor import sailor_uniform  # noqa: E402
from kyara.character.garment_tops import hoodie, sports_jersey  # noqa: E402

RECIPES = {
    "kimono": kimono, "dress": dress, "witch-robe": witch_robe, "sailor-uniform": sailor_uniform,
    "hoodie": hoodie, "sports-jersey": sports_jersey, "t-shirt": t_shirt, "skirt": skirt, "shorts": shorts,
    "trousers": trousers, "long-coat": long_coat, "pirate-coat": pirate_coat, "boots": boots,
    "sneakers": sneakers, "sandals": sandals,
    "maid-dress": maid_dress, "lolita-dress": lolita_dress, "idol-dress": idol_dress, "school-swimsuit": school_swimsuit,
    "kimono-top": kimono_top, "hakama": hakama, "thighhighs": thighhighs,
}
