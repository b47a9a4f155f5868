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


def colour_distance(hex_a: str, hex_b: str) -> float:
    """CIEDE2000 difference of two ``#rrggbb`` colours (about 2: barely seen, over 20: distinct)."""
    from kyara.character.colors import delta_e2000, hex_to_rgb, srgb_to_lab

    return float(delta_e2000(srgb_to_lab(np.array(hex_to_rgb(hex_a))), srgb_to_lab(np.array(hex_to_rgb(hex_b)))))


def shade_hex(hex_: str, amount: float) -> str:
    """``hex_`` darkened to ``amount`` of its brightness (a rib band, a seam)."""
    from kyara.character.colors import hex_to_rgb

    rgb = np.clip(np.asarray(hex_to_rgb(hex_)) * amount, 0.0, 1.0)
    return "#" + "".join(f"{int(round(c * 255)):02x}" for c in rgb)


def contrasting(against, options: tuple[str, ...], enough: float = 25.0) -> str:
    """The first of ``options`` that differs from ``against`` (one ``#rrggbb`` colour or several)
    by at least ``enough`` (CIEDE2000), else the one whose least difference is largest: a detail
    that must stand out from the cloth around it."""
    others = (against,) if isinstance(against, str) else tuple(against)
    least = lambda o: min(colour_distance(o, a) for a in others)  # noqa: E731
    for o in options:
        if least(o) >= enough:
            return o
    return max(options, key=least)


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
    arm_z = float(wd.body.layout.joint("leftUpperArm")[2])
    return wd.add(name, hex_, comps + list(extra), weights=weights, cuts=tuple(cuts) + (armpit_cut(g, arm_z=arm_z),),
                  voxel=voxel)


def armpit_cut(g, along: float = 0.0, arm_z: float | None = None):
    """Cut for the underarm gusset: the torso-side cloth that a lowered upper arm sweeps into
    (LBS cannot keep cloth there outside both the arm and the chest). Positive inside.
    ``along`` (in upper-arm radii) stretches the cut out along the upper arm's underside and
    down the torso's side, for thick layers (coats) whose cloth stands further off the skin.
    ``arm_z`` (the arm's depth): the cut spans only the slot the lowered arm fills (its thickness
    plus the cloth's), so the torso's sides stay covered in front of and behind the arm instead
    of showing skin through the gap between a hanging arm and the chest; without it the cut goes
    through the torso's whole depth."""
    cy = g.arm_y - g.r_arm - 0.035 * g.H - 0.004 * along * g.H  # the top stays put, the bottom goes lower
    cx = g.shoulder_x + 0.6 * along * g.r_arm
    half_y = (0.045 + 0.004 * along) * g.H
    cz, half_z = (g.torso_zc, 0.09 * g.H) if arm_z is None else (arm_z, g.r_arm + 0.014 * g.H)

    def cut(p):
        q = np.stack([(np.abs(p[:, 0]) - cx) / ((1.5 + 0.5 * along) * g.r_arm), (p[:, 1] - cy) / half_y,
                      (p[:, 2] - cz) / half_z], axis=1)
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


PLEAT_DEPTH = 0.16  # pleated skirts: radius swing (fraction) at the hem


def add_skirt(wd, name, hex_, hem, top, flare, pleats=0, garment: str | None = None):
    """Waistband plus a flared (optionally pleated) skirt, weighted to both legs. Folds (on the
    ``garment``'s fold part, default ``name``): a line down every pleat's edge, or a few drapes
    on a plain skirt."""
    g = wd.geo
    band = 0.06 * g.T
    comps = wd.fitted(box_region(top - band, top), top - band, top, (1,))
    prof = wd.profile(hem, top, flare)
    scale = None
    if pleats:
        scale = lambda p: gs.pleat_scale(p, prof, pleats, PLEAT_DEPTH, top, hem)  # noqa: E731
    comps.append(wd.flared(prof, hem, top - 0.5 * band, scale=scale))
    part = wd.add(name, hex_, comps, weights=wd.flowing(g.hips_y, g.crotch))
    garment = garment or name
    if pleats:
        pleat_folds(wd, garment, name, hex_, prof, pleats, top - band, hem)
    else:
        drape_folds(wd, garment, name, hex_, prof, [0.45, -0.5, 1.4, -1.35, 2.4, -2.45], top - band - 0.02 * g.T,
                    hem + 0.05 * (top - hem))
    return part


def pleat_folds(wd, garment: str, base: str, colour_hex: str, prof: gs.Profile, count: int, y_top: float,
                y_hem: float) -> None:
    """A fold line down the outer edge of every pleat (where :func:`gs.pleat_scale` peaks), from
    where the pleats open to just above the hem."""
    ys = np.linspace(y_top - 0.1 * (y_top - y_hem), y_hem + 0.02 * (y_top - y_hem), 10)
    a, b, zc = prof.at(ys)
    grow = 1.0 + 0.5 * PLEAT_DEPTH * gs.smoothstep(y_top, y_hem, ys)
    for k in range(count):
        ang = 2.0 * np.pi * k / count
        pts = np.stack([(a * grow + 0.01) * np.sin(ang), ys, zc + (b * grow + 0.01) * np.cos(ang)], axis=1)
        wd.fold(garment, base, pts, colour_hex=colour_hex)



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



# ---------------------------------------------------------------------------------------------
# fold-line guides (kyara.character.garment_folds): polylines just outside the cloth, rest T-pose


def around_arm(g, arm_z: float, x: np.ndarray, theta: np.ndarray, radius: float) -> np.ndarray:
    """Points ``[N, 3]`` around the T-pose arm: ``x`` (signed) along it, ``theta`` (radians) round
    it (0 = front, +pi/2 = top), ``radius`` from its axis."""
    x = np.asarray(x, dtype=np.float64)
    theta = np.broadcast_to(np.asarray(theta, dtype=np.float64), x.shape)
    return np.stack([x, g.arm_y + radius * np.sin(theta), arm_z + radius * np.cos(theta)], axis=1)


def elbow_folds(wd, garment: str, base: str, colour_hex: str, radius: float | None = None) -> None:
    """Creases at both elbows: two arcs and a short tick on the inner (front) side, where the sleeve
    bunches when the forearm bends, and one arc behind the elbow."""
    g = wd.geo
    arm_z = float(wd.body.layout.joint("leftLowerArm")[2])
    r = (g.r_arm + 0.03) if radius is None else radius
    u = g.elbow_x - g.shoulder_x
    for sx in (1.0, -1.0):
        for off, bulge, half in ((-0.06, 0.05, 1.15), (0.05, -0.05, 1.0), (0.13, 0.03, 0.55)):
            th = np.linspace(-half, half, 9)
            x = g.elbow_x + u * (off + bulge * (1.0 - (th / half) ** 2))
            wd.fold(garment, base, around_arm(g, arm_z, sx * x, th, r), colour_hex=colour_hex)
        th = np.linspace(np.pi - 0.8, np.pi + 0.8, 7)
        x = g.elbow_x + u * (0.02 - 0.04 * (1.0 - ((th - np.pi) / 0.8) ** 2))
        wd.fold(garment, base, around_arm(g, arm_z, sx * x, th, r), colour_hex=colour_hex)


def shoulder_folds(wd, garment: str, base: str, colour_hex: str) -> None:
    """A crease from each armpit up onto the front of the shoulder (the sleeve's seam pulling)."""
    g = wd.geo
    arm_z = float(wd.body.layout.joint("leftLowerArm")[2])
    for sx in (1.0, -1.0):
        t = np.linspace(0.0, 1.0, 6)
        x = g.shoulder_x + (0.1 + 0.25 * t) * (g.elbow_x - g.shoulder_x)
        th = -0.9 + 1.1 * t
        wd.fold(garment, base, around_arm(g, arm_z, sx * x, th, g.r_arm + 0.03), colour_hex=colour_hex)


def drape_folds(wd, garment: str, base: str, colour_hex: str, prof: gs.Profile, angles, y_top: float,
                y_bottom: float, sway: float = 0.04, out: float = 0.012, width: float | None = None) -> None:
    """Vertical folds down a skirt-like piece following ``prof``: one per angle (radians about the
    vertical, 0 = front, +pi/2 = the wearer's left) from ``y_top`` down to ``y_bottom``, swaying
    ``sway`` radians; guides lie ``out`` metres outside the profile."""
    ys = np.linspace(y_top, y_bottom, 12)
    a, b, zc = prof.at(ys)
    for k, phi in enumerate(angles):
        ph = phi + sway * np.sin(np.linspace(0.0, np.pi, len(ys)) + k)
        pts = np.stack([(a + out) * np.sin(ph), ys, zc + (b + out) * np.cos(ph)], axis=1)
        wd.fold(garment, base, pts, width=width, colour_hex=colour_hex)


def around_leg(wd, side: float, y: np.ndarray, theta: np.ndarray, out: float) -> np.ndarray:
    """Points ``[N, 3]`` round one leg (``side`` +1 left, -1 right) at heights ``y``: ``theta``
    (radians) 0 = front, +pi/2 = outside; ``out`` metres outside the leg's skin."""
    from kyara.character.garment_weights import leg_axis_point

    y = np.asarray(y, dtype=np.float64)
    theta = np.broadcast_to(np.asarray(theta, dtype=np.float64), y.shape)
    axis = leg_axis_point(wd.body, y, side)  # [N, 3] on the leg's axis
    v = wd.body.vertices
    leg = v[np.isin(wd.body.parts, (4,)) & (np.sign(v[:, 0]) == side)]
    r = np.array([np.percentile(np.linalg.norm((leg - a)[np.abs(leg[:, 1] - a[1]) < 0.02][:, [0, 2]], axis=1), 90)
                  if np.any(np.abs(leg[:, 1] - a[1]) < 0.02) else wd.geo.r_thigh for a in axis]) + out
    return np.stack([axis[:, 0] + side * r * np.sin(theta), y, axis[:, 2] + r * np.cos(theta)], axis=1)


def leg_folds(wd, garment: str, base: str, colour_hex: str, knee: bool = True, crotch: bool = True) -> None:
    """Trouser creases: arcs across the front and the back of each knee, and lines fanning from
    the crotch down the inside of each thigh."""
    g = wd.geo
    for sx in (1.0, -1.0):
        if knee:
            for dy, half, bulge in ((0.03, 1.0, 0.02), (-0.02, 0.8, -0.015)):
                th = np.linspace(-half, half, 9)
                y = g.knee_y + dy * g.H + bulge * g.H * (1.0 - (th / half) ** 2)
                wd.fold(garment, base, around_leg(wd, sx, y, th, 0.03), colour_hex=colour_hex)
            th = np.pi + np.linspace(-0.7, 0.7, 7)
            wd.fold(garment, base, around_leg(wd, sx, np.full(7, g.knee_y + 0.01 * g.H), th, 0.03), colour_hex=colour_hex)
        if crotch:
            for a0, a1 in ((-0.6, -1.2), (-0.25, -0.7)):
                y = np.linspace(g.crotch - 0.01 * g.H, g.crotch - 0.07 * g.H, 6)
                wd.fold(garment, base, around_leg(wd, sx, y, np.linspace(a0, a1, 6), 0.03), colour_hex=colour_hex)


def waist_folds(wd, garment: str, base: str, colour_hex: str, y: float, length: float,
                angles=(0.3, -0.35, 0.9, -0.95, 2.5, -2.6)) -> None:
    """Short creases up from a top's hem at ``y`` (the cloth's slack gathering at the waist)."""
    g = wd.geo
    ys = np.linspace(y + 0.01, y + length, 5)
    r = g.hip_half + 0.03
    for phi in angles:
        pts = np.stack([r * np.sin(np.full(5, phi)), ys, g.torso_zc + 0.8 * r * np.cos(np.full(5, phi))], axis=1)
        wd.fold(garment, base, pts, colour_hex=colour_hex)
