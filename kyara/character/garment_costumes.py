"""Anime costumes: maid dress, (gothic) lolita dress, idol dress, school swimsuit, thighhighs.

- ``maid-dress``: a dark dress with elbow sleeves and a knee-length skirt, a white apron (bib on
  the chest, apron over the skirt's front), a white collar and a frilled white hem band. The
  headdress is the accessory ``maid-headdress``.
- ``lolita-dress``: long sleeves, a bell skirt in two tiers (a longer petticoat tier in the trim
  colour under the dress's own tier), frill bands at both hems, a waist sash.
- ``idol-dress``: short sleeves, a scooped neck, a short pleated skirt over a frilled under tier,
  a waist sash in the trim colour.
- ``school-swimsuit``: a one-piece swimsuit from the top of the thighs to the chest with shoulder
  straps, and the white name patch on the chest.
- ``thighhighs``: stockings from the toes to above the knee with a band at the top (trim colour),
  built first: shoes, shorts, skirts and trousers go over them.

Parts are named after the kind (``maid-dress``, ``maid-dress-skirt``, ``maid-dress-apron``, ...).
Sizes come from the body's landmarks (:class:`~kyara.character.garments.Geo`), metres.
"""

from __future__ import annotations

import numpy as np

from kyara.character import garment_common as gc
from kyara.character import garment_shapes as gs

WHITE = "#f7f7f4"
LOLITA_GATHERS = 20  # the outer tier is gathered into soft pleats over the petticoat


def _waist(g) -> float:
    return g.spine_y + 0.2 * (g.chest_y - g.spine_y)


def _scoop(g, depth: float = 0.14):
    c = np.array([0.0, g.collar_y + 0.02 * g.T])
    r = depth * g.T

    def cut(p):
        d = r - np.hypot(p[:, 0] - c[0], p[:, 1] - c[1])
        return np.minimum(d, p[:, 2] - g.torso_zc)
    return cut


def _hem_band(wd, base: str, name: str, hex_: str, hem: float, height: float) -> None:
    """A band over the bottom ``height`` metres of the skirt ``base`` (a frill, a lace edge)."""
    sk = wd.layers[base]
    lo, hi = sk.origin, sk.origin + (np.array(sk.values.shape) - 1) * sk.voxel
    flow = wd.flowing(wd.geo.hips_y, wd.geo.crotch)
    wd.add(name, hex_, wd.over(base, gc.box_region(-1.0, hem + height), box=(lo, np.r_[hi[0], hem + height + 0.01, hi[2]])),
           weights=flow)


def _outer_tier(wd, name: str, hex_: str, hem: float, top: float, flare: float, pleats: int, garment: str) -> None:
    """A gathered skirt tier over a wide petticoat (:func:`garment_common.add_skirt` whose profile
    reaches round the whole petticoat), weighted to both legs like every skirt."""
    g = wd.geo
    band = 0.06 * g.T
    comps = wd.fitted(gc.box_region(top - band, top), top - band, top, (1,))
    prof = wd.profile(hem, top, flare, reach=4.0)
    scale = lambda p: gs.pleat_scale(p, prof, pleats, 0.5 * gc.PLEAT_DEPTH, top, hem)  # noqa: E731
    comps.append(wd.flared(prof, hem, top - 0.5 * band, scale=scale))
    wd.add(name, hex_, comps, weights=wd.flowing(g.hips_y, g.crotch))
    gc.pleat_folds(wd, garment, name, hex_, prof, pleats, top - band, hem)


def _sash(wd, base: str, name: str, hex_: str, top: float) -> None:
    band = 0.05 * wd.geo.T
    wd.add(name, hex_, wd.over(base, gc.box_region(top - 2 * band, top)))


def maid_dress(wd, piece):
    g = wd.geo
    cloth, white = piece.colour.hex, gc.trim_hex(piece, WHITE)
    top = _waist(g)
    hem = g.knee_y - 0.05 * (g.ul_y - g.knee_y)
    gc.fitted_top(wd, "maid-dress", cloth, top - 0.04 * g.T, gc.sleeve_end(g, "elbow"))
    gc.add_skirt(wd, "maid-dress-skirt", cloth, hem, top, 0.55)
    # apron: a bib over the chest's front and an apron over the skirt's front, in one part
    bib_x = 0.42 * g.shoulder_x
    bib_top = g.chest_y + 0.55 * (g.upper_chest_y - g.chest_y)

    def bib(p):
        return np.maximum(np.maximum(np.abs(p[:, 0]) - bib_x, gs.slab(p[:, 1], top - 0.05 * g.T, bib_top)),
                          g.torso_zc - p[:, 2])
    apron_x = 0.75 * g.hip_half
    apron_hem = hem + 0.12 * (top - hem)

    def apron(p):
        return np.maximum(np.maximum(np.abs(p[:, 0]) - apron_x, gs.slab(p[:, 1], apron_hem, top)),
                          g.torso_zc - p[:, 2])
    comps = wd.over("maid-dress", bib) + wd.over("maid-dress-skirt", apron)
    flow = wd.flowing(g.hips_y, g.crotch)
    near = wd.nearest

    def weights(v):
        out = near(v)
        below = v[:, 1] < g.hips_y
        if below.any():
            out[below] = flow(v[below])
        return out
    wd.add("maid-dress-apron", white, comps, weights=weights)
    # collar round the neck and the frilled hem band, white
    wd.add("maid-dress-collar", white, wd.over("maid-dress", gc.box_region(g.collar_y - 0.07 * g.T, g.collar_y + 0.02)))
    _hem_band(wd, "maid-dress-skirt", "maid-dress-frill", white, hem, 0.025 * g.H)
    gc.shoulder_folds(wd, "maid-dress", "maid-dress", cloth)


def lolita_dress(wd, piece):
    g = wd.geo
    cloth, trim = piece.colour.hex, gc.trim_hex(piece, WHITE)
    top = _waist(g)
    hem_under = g.knee_y - 0.02 * (g.ul_y - g.knee_y)
    hem_over = g.knee_y + 0.3 * (g.ul_y - g.knee_y)
    gc.fitted_top(wd, "lolita-dress", cloth, top - 0.04 * g.T, gc.sleeve_end(g, "long"))
    # the petticoat tier first, then the dress's own tier over it: the tiers show as layers
    gc.add_skirt(wd, "lolita-dress-petticoat", cloth, hem_under, top - 0.02 * g.T, 0.6, garment="lolita-dress")
    _hem_band(wd, "lolita-dress-petticoat", "lolita-dress-frill", trim, hem_under, 0.035 * g.H)
    _outer_tier(wd, "lolita-dress-skirt", cloth, hem_over, top, 0.7, LOLITA_GATHERS, "lolita-dress")
    _hem_band(wd, "lolita-dress-skirt", "lolita-dress-lace", trim, hem_over, 0.02 * g.H)
    _sash(wd, "lolita-dress-skirt", "lolita-dress-sash", trim, top)
    wd.add("lolita-dress-collar", trim, wd.over("lolita-dress", gc.box_region(g.collar_y - 0.06 * g.T, g.collar_y + 0.02)))
    gc.elbow_folds(wd, "lolita-dress", "lolita-dress", cloth)


def idol_dress(wd, piece):
    g = wd.geo
    cloth, trim = piece.colour.hex, gc.trim_hex(piece, WHITE)
    top = _waist(g)
    hem_under = g.ul_y - 0.42 * (g.ul_y - g.knee_y)
    hem_over = g.ul_y - 0.3 * (g.ul_y - g.knee_y)
    gc.fitted_top(wd, "idol-dress", cloth, top - 0.04 * g.T, gc.sleeve_end(g, "short"), cuts=(_scoop(g, 0.12),))
    gc.add_skirt(wd, "idol-dress-frill", trim, hem_under, top - 0.02 * g.T, 0.7, garment="idol-dress")
    gc.add_skirt(wd, "idol-dress-skirt", cloth, hem_over, top, 0.75, pleats=12, garment="idol-dress")
    _sash(wd, "idol-dress-skirt", "idol-dress-sash", trim, top)
    gc.shoulder_folds(wd, "idol-dress", "idol-dress", cloth)


def school_swimsuit(wd, piece):
    g = wd.geo
    cloth = piece.colour.hex
    y0 = g.crotch - 0.012 * g.H
    top = g.chest_y + 0.5 * (g.upper_chest_y - g.chest_y)
    strap_x, strap_w = 0.5 * g.shoulder_x, 0.045 * g.T

    def region(p):
        body = np.maximum(gs.slab(p[:, 1], y0, top), np.abs(p[:, 0]) - 0.95 * g.shoulder_x)
        straps = np.maximum(np.abs(np.abs(p[:, 0]) - strap_x) - strap_w, gs.slab(p[:, 1], top - 0.02, g.collar_y + 0.01))
        return np.minimum(body, straps)
    arm_z = float(wd.body.layout.joint("leftUpperArm")[2])
    comps = wd.fitted(region, y0, g.collar_y + 0.02, (1, 4, 5), x_max=g.shoulder_x)
    wd.add("school-swimsuit", cloth, comps, cuts=(gc.armpit_cut(g, arm_z=arm_z),))
    # the white name patch on the chest
    py = g.chest_y - 0.05 * g.T
    patch = lambda p: np.maximum(np.maximum(np.abs(p[:, 0]) - 0.2 * g.T, np.abs(p[:, 1] - py) - 0.06 * g.T),  # noqa: E731
                                 g.torso_zc - p[:, 2])
    wd.add("school-swimsuit-patch", gc.trim_hex(piece, WHITE), wd.over("school-swimsuit", patch), occupy=False)


def thighhighs(wd, piece):
    g = wd.geo
    top = g.knee_y + 0.45 * (g.ul_y - g.knee_y)  # below a pair of shorts' hem
    wd.add("thighhighs", piece.colour.hex, wd.fitted(gc.box_region(0.0015, top), 0.0, top, (4, 5)))
    band = 0.035 * (g.ul_y - g.knee_y) + 0.01
    wd.add("thighhighs-band", gc.trim_hex(piece, WHITE), wd.over("thighhighs", gc.box_region(top - band, top + 0.01)))
