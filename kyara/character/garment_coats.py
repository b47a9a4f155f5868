"""Coats and robes: long coat, pirate coat (trimmed), witch robe (bell sleeves, floor-length)."""

from __future__ import annotations

import numpy as np

from kyara.body import sdf
from kyara.character import garment_shapes as gs
from kyara.character import garment_weights as gw
from kyara.character import garment_common as gc


def _coat(wd, piece, name, flare, hem, trim_bands: bool):
    g = wd.geo
    waist = g.spine_y
    sleeve = gc.sleeve_end(g, "long") - 0.004 * g.H

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
    comps = wd.fitted(gc.box_region(waist - 0.04 * g.T, g.collar_y, sleeve), waist - 0.04 * g.T, g.collar_y, (1, 2),
                      x_max=sleeve + 0.02, thick=wd.thick_at(cv))
    weights = _coat_weights(wd, g, prof, hem, waist, name)
    part = wd.add(name, piece.colour.hex, comps + [lower, collar], weights=weights, cuts=(front, back, gc.armpit_cut(g, 3.5)),
                  voxel=cv)
    gc.elbow_folds(wd, name, name, piece.colour.hex, radius=g.r_arm + 0.05)
    gc.drape_folds(wd, name, name, piece.colour.hex, prof, [0.9, -0.9, 1.6, -1.6, 2.3, -2.3], waist - 0.02 * g.T,
                   hem + 0.1 * (waist - hem))
    trim = gc.trim_hex(piece, "#d4af37")
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
        wd.add(f"{name}-trim", trim, gc.over_boxes(wd, name, bands, boxes), weights=weights, cuts=(front, back),
               voxel=cv)
    else:
        band = 0.03 * g.H
        cuffs = lambda p: (sleeve - band) - np.abs(p[:, 0])  # noqa: E731
        xs = sleeve - band - 0.01
        wd.add(f"{name}-trim", trim, gc.over_boxes(wd, name, cuffs, [((xs, 9.0), None), ((-9.0, -xs), None)]),
               weights=weights, voxel=cv)
    return part



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
        near = gc.elbow_blend(g, v, wd.nearest(v))
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
    w = gc.sleeve_weights(wd, g, (x0, x1, g.arm_y - 1.4 * r1), hit_radius=0.5 * r1)
    flow = wd.flowing(g.hips_y, g.crotch)

    def weights(v):
        out = flow(v)
        sel = v[:, 1] > g.hips_y
        out[sel] = w(v[sel])
        return out
    gc.fitted_top(wd, "witch-robe", piece.colour.hex, waist - 0.05 * g.T, x0 + 0.02, extra=extra, weights=weights,
         voxel=cv, thick=t)
    gc.drape_folds(wd, "witch-robe", "witch-robe", piece.colour.hex, prof, [0.4, -0.45, 1.2, -1.25, 2.1, -2.0, 2.8],
                   waist - 0.02 * g.T, hem + 0.12 * (waist - hem))
    for sx in (1.0, -1.0):  # drapes down the bell sleeves' undersides
        for f in (0.35, 0.65, 0.9):
            x = x0 + f * (x1 - x0)
            r = r0 + (r1 - r0) * f
            th = np.linspace(-0.3, -1.3, 6)
            wd.fold("witch-robe", "witch-robe", gc.around_arm(g, arm_z - 0.0, np.full(6, sx * x), th, r + 0.012),
                    colour_hex=piece.colour.hex)
    band = 0.035 * g.H
    trims = lambda p: np.minimum(p[:, 1] - (hem + band), (x1 - band) - np.abs(p[:, 0]))  # noqa: E731
    wd.add("witch-robe-trim", gc.trim_hex(piece, "#c4c8d0"), gc.over_boxes(wd, "witch-robe", trims, [
        (None, (-9.0, hem + band + 0.01)),  # hem band
        ((x1 - band - 0.01, 9.0), None), ((-9.0, -(x1 - band - 0.01)), None),  # cuffs
    ]), weights=weights, voxel=cv)

