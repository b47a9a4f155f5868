"""Building blocks the garment recipes share: regions, cuts, fitted tops, skirts, sleeve weights.

All sizes in metres, rest T-pose, +Z forward; ``g`` is the body's :class:`~kyara.character.garments.Geo`
and ``wd`` the :class:`~kyara.character.garments.Wardrobe` being filled.
"""

from __future__ import annotations

import numpy as np

from kyara.character import garment_shapes as gs
from kyara.character import garment_weights as gw


def trim_hex(piece, default: str = "#f5f5f5") -> str:
    return piece.trim.hex if piece.trim is not None else default


def box_region(y0, y1, x_max=None):
    def region(p):
        r = gs.slab(p[:, 1], y0, y1)
        if x_max is not None:
            r = np.maximum(r, np.abs(p[:, 0]) - x_max)
        return r
    return region


def sleeve_end(g, kind: str) -> float:
    if kind == "short":
        return g.shoulder_x + 0.35 * (g.elbow_x - g.shoulder_x)
    if kind == "elbow":
        return g.elbow_x
    return g.wrist_x - 0.004 * g.H  # long: stop just short of the hand


def fitted_top(wd, name, hex_, hem, sleeve, collar=None, cuts=(), extra=(), weights=None, voxel=None, thick=None):
    """A fitted top: torso from ``hem`` to the collar, sleeves to ``sleeve`` (x)."""
    g = wd.geo
    collar = g.collar_y if collar is None else collar
    comps = wd.fitted(box_region(hem, collar, sleeve), hem, collar, (1, 2), x_max=sleeve + 0.02, thick=thick)
    return wd.add(name, hex_, comps + list(extra), weights=weights, cuts=tuple(cuts) + (armpit_cut(g),),
                  voxel=voxel)


def armpit_cut(g, along: float = 0.0):
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


def v_cut(g, depth: float, half_width: float):
    """Cut for a V neckline on the front: positive inside the removed wedge."""
    y_v = g.collar_y - depth

    def cut(p):
        inside = (p[:, 1] - y_v) * (half_width / depth) - np.abs(p[:, 0])
        return np.minimum(inside, p[:, 2] - g.torso_zc)
    return cut


def band_near(cut, band):
    """Region within ``band`` of a cut's edge (outside the cut)."""
    return lambda p: np.maximum(-cut(p) - band, cut(p) - 0.002)


def add_shorts(wd, name, hex_):
    g = wd.geo
    y0 = g.ul_y - 0.42 * (g.ul_y - g.knee_y)
    top = g.hips_y + 0.3 * (g.spine_y - g.hips_y)
    return wd.add(name, hex_, wd.fitted(box_region(y0, top), y0, top, (1, 4)))


def add_skirt(wd, name, hex_, hem, top, flare, pleats=0):
    """Waistband plus a flared (optionally pleated) skirt, weighted to both legs."""
    g = wd.geo
    band = 0.06 * g.T
    comps = wd.fitted(box_region(top - band, top), top - band, top, (1,))
    prof = wd.profile(hem, top, flare)
    scale = None
    if pleats:
        scale = lambda p: gs.pleat_scale(p, prof, pleats, 0.16, top, hem)  # noqa: E731
    comps.append(wd.flared(prof, hem, top - 0.5 * band, scale=scale))
    return wd.add(name, hex_, comps, weights=wd.flowing(g.hips_y, g.crotch))



def surface_z(wd, x: float, ys: np.ndarray, layer: gs.Layer | None = None) -> np.ndarray:
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


def add_mesh(wd, name, hex_, v, f, weights=None):
    from kyara.character.model import Material, Part, hex_to_rgb

    dense = (weights or wd.nearest)(v)
    idx, w = gw.top4(dense)
    wd.parts.append(Part(name, "garment", v.astype(np.float32), f.astype(np.int32), idx, w,
                         Material(name, hex_to_rgb(hex_), outline_width=0.0008)))



def over_boxes(wd, base, region, boxes):
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

def elbow_blend(g, v, dense):
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


def sleeve_weights(wd, g, pouch: tuple[float, float, float] | None = None, hit_radius: float | None = None,
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
            on_arm = elbow_blend(g, v[sel], gw.arm_axis(wd.body, v[sel], wd.num_bones))
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

