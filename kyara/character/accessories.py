"""Accessories: glasses, hats (witch, tricorn, cap), ribbon bow, cat ears, scarf and the maid's headdress
(:mod:`kyara.character.accessory_costume`).

:func:`build_accessories` is the entry point. Everything except the scarf is rigid on ``head``.
Hats sit on the hair: their inside follows :func:`kyara.character.hair.cap_ellipsoid`, an
ellipsoid enclosing the hair cap, so the hat never cuts into the hair or the head. Hats are
surfaces of revolution (:func:`lathe`) of a closed profile, so they are closed shells by
construction; the witch hat's tip is bent back, the tricorn's brim turned up on three sides.
The scarf is a thick loop around the neck with two hanging ends, pushed out of the body and
weighted to ``neck``/``upperChest``/``chest`` by height.
"""

from __future__ import annotations

import numpy as np

from kyara.body.skeleton import BONE_INDEX
from kyara.character.model import Material, Part, hex_to_rgb, shade_of

HEAD = BONE_INDEX["head"]
GOLD = (0.86, 0.68, 0.25)
INNER_EAR = (0.98, 0.72, 0.78)


def lathe(profile: np.ndarray, segments: int = 48, scale_x: float = 1.0, scale_z: float = 1.0,
          centre: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Revolve the profile ``[M, 2]`` of (radius, y) about the y axis: a closed shell.

    If both end points have radius 0 they become poles (a sphere-like shell); otherwise the profile
    is a closed loop (a ring). ``scale_x``/``scale_z`` make the section elliptical.
    """
    from kyara.body.mesh_ops import signed_volume

    P = np.asarray(profile, float)
    poles = P[0, 0] <= 1e-12 and P[-1, 0] <= 1e-12
    rings = P[1:-1] if poles else P
    M = len(rings)
    a = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    v = np.stack([np.outer(rings[:, 0], np.cos(a)) * scale_x, np.repeat(rings[:, 1:2], segments, 1),
                  np.outer(rings[:, 0], np.sin(a)) * scale_z], -1).reshape(-1, 3)
    j = np.arange(segments)
    faces = []
    last = M - 1 if poles else M
    for i in range(last):
        i2 = (i + 1) % M
        p, q = i * segments + j, i * segments + (j + 1) % segments
        r, s = i2 * segments + j, i2 * segments + (j + 1) % segments
        faces += [np.stack([p, q, s], 1), np.stack([p, s, r], 1)]
    if poles:
        top, bot = len(v), len(v) + 1
        v = np.concatenate([v, [[0.0, P[0, 1], 0.0], [0.0, P[-1, 1], 0.0]]])
        faces += [np.stack([np.full(segments, top), (j + 1) % segments, j], 1),
                  np.stack([np.full(segments, bot), (M - 1) * segments + j, (M - 1) * segments + (j + 1) % segments], 1)]
    f = np.concatenate(faces).astype(np.int64)
    if centre is not None:
        v = v + np.asarray(centre, float)
    if signed_volume(v, f) < 0:
        f = f[:, ::-1]
    return v, f


def _dome(c: np.ndarray, r: np.ndarray, y_from: float, scale: float, n: int = 10) -> np.ndarray:
    """Profile points (normalised radius, y) of the ellipsoid ``c, r`` scaled by ``scale`` from
    height ``y_from`` up to its top."""
    t0 = np.arcsin(np.clip((y_from - c[1]) / (scale * r[1]), -1, 1))
    t = np.linspace(t0, np.pi / 2, n)
    return np.stack([scale * np.cos(t), c[1] + scale * r[1] * np.sin(t)], 1)


def _witch_hat(c, r, h, colour):
    y_b = c[1] + 0.2 * r[1]
    rb = np.sqrt(1 - ((y_b - c[1]) / (1.04 * r[1])) ** 2) * 1.04
    y_tip = c[1] + 3.2 * r[1]
    t = 0.006 / r[0]
    cone_y = np.array([y_b + 0.02 * h, y_b + 0.62 * (y_tip - y_b), y_tip])
    cone_r = np.array([rb + 0.1, 0.35 * rb, 0.0])
    outer = [(0.0, y_tip), (cone_r[1], cone_y[1]), (cone_r[0], cone_y[0]), (2.0, y_b + 0.012 * h),
             (2.05, y_b + 0.004 * h), (2.0, y_b - 0.002 * h), (rb + t, y_b - 0.002 * h)]
    prof = np.concatenate([outer, _dome(c, r, y_b, 1.04)])
    prof[-1, 0] = 0.0
    v, f = lathe(prof, 48, r[0], r[2])
    v[:, [0, 2]] += c[[0, 2]]
    # bend the tip back and down
    y_bend = y_b + 0.45 * (y_tip - y_b)
    q = np.clip((v[:, 1] - y_bend) / (y_tip - y_bend), 0, 1)
    v[:, 2] -= 0.55 * (y_tip - y_bend) * q ** 2
    v[:, 1] -= 0.25 * (y_tip - y_bend) * q ** 3
    y1, y2 = y_b + 0.021 * h, y_b + 0.09 * h
    r1, r2 = np.interp([y1, y2], cone_y, cone_r)
    bv, bf = lathe(np.array([(r1 + 0.01, y1), (r1 + 0.05, y1), (r2 + 0.05, y2), (r2 + 0.01, y2)]), 48, r[0], r[2])
    bv[:, [0, 2]] += c[[0, 2]]
    return [("witch_hat", v, f, colour, None), ("witch_hat_band", bv, bf, GOLD, None)]


def _tricorn(c, r, h, colour):
    y_b = c[1] + 0.15 * r[1]
    rb = np.sqrt(1 - ((y_b - c[1]) / (1.05 * r[1])) ** 2) * 1.05
    inner = _dome(c, r, y_b, 1.05)
    outer = _dome(c, r, y_b + 0.01 * h, 1.05 + 0.008 / r[1])[::-1]
    R = 1.65
    prof = np.concatenate([outer[:-1], [(rb + 0.02, y_b + 0.01 * h), (R, y_b + 0.008 * h), (R, y_b), (rb + 0.01, y_b - 0.002 * h)],
                           inner[1:]])
    prof[-1, 0] = 0.0
    prof[0, 0] = 0.0
    v, f = lathe(prof, 72, r[0], r[2])
    rad = np.hypot(v[:, 0] / r[0], v[:, 2] / r[2])
    q = np.clip((rad - rb) / (R - rb), 0, 1)
    th = np.arctan2(v[:, 0], v[:, 2])
    corner = np.clip(np.cos(3 * th), 0, 1) ** 3  # 1 at the front and at +-120 degrees
    shrink = 0.55 + 0.45 * corner
    v[:, 0] *= np.where(q > 0, (rb + (rad - rb) * shrink) / np.maximum(rad, 1e-9), 1.0)
    v[:, 2] *= np.where(q > 0, (rb + (rad - rb) * shrink) / np.maximum(rad, 1e-9), 1.0)
    v[:, 1] += 0.32 * h * q * (1 - 0.75 * corner)
    v[:, [0, 2]] += c[[0, 2]]
    col = np.where((q > 0.85)[:, None], np.asarray(GOLD), np.asarray(colour))
    return [("tricorn_hat", v, f, colour, col)]


def _cap(c, r, h, colour):
    from kyara.character.face import grid_slab

    y_b = c[1] + 0.05 * r[1]
    rb_in = np.sqrt(1 - ((y_b - c[1]) / (1.03 * r[1])) ** 2) * 1.03
    inner = _dome(c, r, y_b, 1.03)
    outer = _dome(c, r, y_b, 1.03 + 0.007 / r[1])[::-1]
    prof = np.concatenate([outer, inner[:]])
    prof[0, 0] = prof[-1, 0] = 0.0
    v, f = lathe(prof, 48, r[0], r[2])
    v[:, [0, 2]] += c[[0, 2]]
    out = [("cap", v, f, colour, None)]
    # visor: a curved slab from the front of the rim
    th = np.linspace(-1.0, 1.0, 13)
    q = np.linspace(0, 1, 6)[:, None]
    rr = rb_in + 0.006 / r[0]
    x = np.sin(th) * rr * r[0] * (1 + 0.9 * q * np.cos(th) ** 0.5)
    z = c[2] + np.cos(th) * rr * r[2] + 0.42 * h * q * np.cos(th) ** 2
    y = y_b + 0.004 - 0.06 * h * q ** 2
    top = np.stack(np.broadcast_arrays(x, y, z), -1).astype(np.float64)
    vv, ff = grid_slab(top, top - [0, 0.006, 0])
    out.append(("cap_visor", vv, ff, shade_of(colour, 0.8), None))
    from kyara.character.hair import ellipsoid_mesh

    bv, bf = ellipsoid_mesh(c + [0, (1.03 * r[1] + 0.007), 0], np.eye(3), [0.02 * h, 0.012 * h, 0.02 * h], 8, 5)
    out.append(("cap_button", bv, bf, colour, None))
    return out


def _frame_on_cap(c, r, theta, phi, lift):
    d = np.array([np.sin(phi) * np.sin(theta), np.cos(phi), np.sin(phi) * np.cos(theta)])
    p = c + r * d
    n = d / r
    n /= np.linalg.norm(n)
    t1 = np.cross([0.0, 1.0, 0.0], n)
    t1 = t1 / np.linalg.norm(t1) if np.linalg.norm(t1) > 1e-6 else np.array([1.0, 0, 0])
    t2 = np.cross(n, t1)
    return p + n * lift, n, t1, t2


def _ribbon(c, r, h, colour, at=None):
    from kyara.character.hair import ellipsoid_mesh, loop_tube
    from kyara.character.meshing import tube

    L = 0.12 * h
    if at is None:
        p, n, t1, t2 = _frame_on_cap(c, r, 0.75, 0.75, 0.03 * h)
    else:
        p, n, t1, t2 = at
    meshes = []
    a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    for s in (1.0, -1.0):
        loop = p + s * t1 * (0.55 * L * (1 + np.cos(a)))[:, None] + t2 * (0.3 * L * np.sin(a) * (0.4 + 0.6 * (1 + np.cos(a)) / 2))[:, None]
        meshes.append(loop_tube(loop, 0.12 * L, 8, 0.45, n))
        tail = p + np.outer([0.0, 0.35, 0.7, 1.0], s * 0.35 * L * t1 - 0.9 * L * t2)
        meshes.append(tube(tail, np.array([0.16, 0.15, 0.14, 0.18]) * L, 8, 0.35, n))
    meshes.append(ellipsoid_mesh(p, np.stack([t1, t2, n]), [0.2 * L, 0.22 * L, 0.14 * L], 10, 6))
    from kyara.character.meshing import combine

    v, f = combine(meshes)
    return [("ribbon", v, f, colour, None)]


def _cat_ears(c, r, h, colour):
    from kyara.character.meshing import combine, tube

    meshes, cols = [], []
    for s in (1.0, -1.0):
        p, n, t1, t2 = _frame_on_cap(c, r, s * 0.7, 0.62, -0.03 * h)
        axis = n + 0.35 * np.array([0, 1.0, 0]) + 0.1 * s * t1
        axis /= np.linalg.norm(axis)
        face = np.cross(axis, [0, 0, 1.0]) if abs(axis[2]) < 0.95 else t1
        pts = p + np.outer(np.linspace(0, 1, 5), axis * 0.3 * h)
        v, f = tube(pts, np.array([0.11, 0.09, 0.065, 0.035, 0.008]) * h, 4, 0.45, np.cross(axis, face))
        meshes.append((v, f))
        cols.append(np.tile(np.asarray(colour, float), (len(v), 1)))
        fwd = np.cross(face, axis)
        fwd *= np.sign(fwd[2]) if abs(fwd[2]) > 1e-6 else 1.0
        pts2 = p + fwd * 0.022 * h + np.outer(np.linspace(0.1, 0.85, 4), axis * 0.3 * h)
        v2, f2 = tube(pts2, np.array([0.07, 0.05, 0.03, 0.008]) * h, 4, 0.3, fwd)
        meshes.append((v2, f2))
        cols.append(np.tile(np.asarray(INNER_EAR, float), (len(v2), 1)))
    v, f = combine(meshes)
    return [("cat_ears", v, f, colour, np.concatenate(cols))]


RIM_POWER = 0.6  # the rims' squarish superellipse: (cos a, sin a) ** this
RIM_MARGIN = 0.08  # eye socket heights between the eye's drawn outline and the inside of a rim


def eye_outline() -> np.ndarray:
    """The drawn open eye's outline ``[M, 2]`` in eye socket heights from the socket centre
    (``u`` outwards, away from the nose; ``v`` up): the eye white's lower edge and the lash band's
    upper edge with its wing, lifted as far as the "surprised" expression lifts it
    (:mod:`kyara.character.face_eyes`)."""
    from kyara.character import face_eyes as fe

    t = np.linspace(-1.0, 1.0, 41)
    lower = np.stack([fe.HALF_WIDTH * t, fe.lower_edge(t)], 1)
    t = np.linspace(*fe.LASH_T, 41)
    lo = fe.lash_lower(t) + 0.06
    upper = np.stack([fe.HALF_WIDTH * t, lo + fe.lash_thickness(t)], 1)
    ends = np.stack([fe.HALF_WIDTH * np.array(fe.LASH_T), lo[[0, -1]]], 1)
    return np.concatenate([lower, upper, ends])


def rim_loop(n: int = 40, margin: float = RIM_MARGIN) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The inside edge of a rim in eye socket heights (``u`` outwards, ``v`` up): ``(points [n, 2],
    (u centre, v centre, half width, half height))``, a squarish superellipse round the box of
    :func:`eye_outline`, grown until every outline point lies inside it, plus ``margin``."""
    pts = eye_outline()
    lo, hi = pts.min(0), pts.max(0)
    c, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    k = 2.0 / RIM_POWER
    grow = float(np.max(np.sum(np.abs((pts - c) / half) ** k, axis=1) ** (1.0 / k)))
    half = grow * half + margin
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    sq = lambda x: np.sign(x) * np.abs(x) ** RIM_POWER  # noqa: E731
    return np.stack([c[0] + half[0] * sq(np.cos(a)), c[1] + half[1] * sq(np.sin(a))], 1), (*c, *half)


def _glasses(fr, surf, colour):
    """Rims round the eyes (their inside just outside each eye's drawn outline, :func:`rim_loop`) in
    a plane in front of the face, a bridge, temples to the ears; lenses."""
    from kyara.character.face import disc_grid, grid_slab
    from kyara.character.hair import loop_tube, resample
    from kyara.character.meshing import combine, tube

    ex, ey, es, h = fr.eye_x, fr.eye_y, fr.es, fr.h
    rr = 0.04 * es + 0.0006
    inside, (uc, vc, hu, hv) = rim_loop()
    uc, vc, hw, hh = uc * es, vc * es, hu * es + rr, hv * es + rr  # the rim tube's centre line
    a = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    sq = lambda t: np.sign(t) * np.abs(t) ** RIM_POWER  # noqa: E731
    gx, gy = np.meshgrid(np.linspace(-1.15, 1.15, 9) * hw + uc, np.linspace(-1.15, 1.15, 9) * hh + vc)
    zs = [surf.z(sx * (ex + gx), ey + gy) for sx in (1, -1)] + [surf.z(np.linspace(-ex, ex, 9) * 0.6, np.full(9, ey))]
    z = max(float(np.max(zz)) for zz in zs) + 0.002 + rr + 0.0025
    frames, lenses = [], []
    for sx in (1.0, -1.0):
        cx, cy = sx * (ex + uc), ey + vc
        loop = np.stack([cx + hw * sq(np.cos(a)), cy + hh * sq(np.sin(a)), np.full(len(a), z)], 1)
        frames.append(loop_tube(loop, rr, 8, 1.0, np.array([0, 0, 1.0])))
        X, Y = disc_grid(9)
        lx, ly = cx + 0.97 * hw * sq(X), cy + 0.97 * hh * sq(Y)
        front = np.stack([lx, ly, np.full(lx.shape, z + 0.0004)], -1)
        lenses.append(grid_slab(front, front - [0, 0, 0.0008]))
        # temple: from the outer rim back along the side of the head to the ear
        start = np.array([cx + sx * hw, cy + 0.3 * hh, z])
        ear = np.array([sx * (0.5 * fr.W + 0.004), ey - 0.02 * h, fr.centre[2] - 0.05 * fr.D])
        side = np.array([sx * (0.5 * fr.W + 0.006), cy + 0.25 * hh, 0.5 * (z + ear[2]) + 0.02 * h])
        pts = np.array([start, start + [sx * 0.02 * h, 0, -0.01 * h], side, ear, ear + [0, -0.05 * h, -0.03 * h]])
        frames.append(tube(resample(pts, 12, 2), 0.8 * rr, 6))
    inner_x = ex + uc - hw  # the rims' nose-side ends
    bridge = np.array([[-inner_x, ey + vc + 0.3 * hh, z], [0, ey + vc + 0.45 * hh, z + 0.002], [inner_x, ey + vc + 0.3 * hh, z]])
    frames.append(tube(resample(bridge, 7, 1), 0.8 * rr, 6))
    fv, ff = combine(frames)
    lv, lf = combine(lenses)
    return [("glasses", fv, ff, colour, None), ("glasses_lenses", lv, lf, (0.86, 0.93, 1.0), None)]


def _scarf(body, fr, fld, colour):
    """A thick loop around the base of the neck with two ends hanging down the chest."""
    from kyara.character.hair import loop_tube, resample
    from kyara.character.meshing import combine, tube

    d = body.layout.dims
    j = body.layout.joint
    ny = d["neck_y"]
    neck_z = float(j("neck")[2])
    nr = d["neck_r"]
    y0 = ny + 0.25 * (d["chin"] - ny)
    th = 0.55 * nr
    a = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    loop = np.stack([np.sin(a) * (nr + th) * 1.15, np.full(len(a), y0) - 0.25 * nr * np.cos(a), neck_z + np.cos(a) * (nr + th) * 1.1], 1)
    for _ in range(3):
        loop = fld.push_out(loop, th + 0.004)
        loop = resample(np.concatenate([loop, loop[:1]]), 37, 1)[:-1]
    meshes = [loop_tube(loop, th, 10, 0.75, np.array([0, 1.0, 0]))]
    for s, drop in ((1.0, 0.36), (-1.0, 0.28)):
        p0 = loop[np.argmin(np.abs(a - s * 0.35))]
        L = drop * d["torso_len"]
        pts = p0 + np.outer(np.linspace(0, 1, 10), [s * 0.08 * L, -L, 0.0])
        pts = resample(fld.push_out(pts, 0.4 * th + 0.005), 10, 1)
        pts = fld.push_out(pts, 0.4 * th + 0.005)
        meshes.append(tube(pts, np.full(10, 0.9 * nr), 8, 0.35, np.array([0, 0, 1.0])))
    v, f = combine(meshes)
    v = fld.push_out(v, 0.003, iters=3)  # the flattened tube's rim can graze the skin
    return [("scarf", v, f, colour, None)]


def _scarf_weights(body, v):
    """neck above the base of the neck, upperChest below, chest further down (linear blends)."""
    j = body.layout.joint
    ys = [float(j("chest")[1]), float(j("upperChest")[1]), float(j("neck")[1])]
    bones = [BONE_INDEX["chest"], BONE_INDEX["upperChest"], BONE_INDEX["neck"]]
    y = np.clip(v[:, 1], ys[0], ys[2])
    idx = np.zeros((len(v), 4), np.int64)
    w = np.zeros((len(v), 4), np.float32)
    hi = y > ys[1]
    t = np.where(hi, (y - ys[1]) / (ys[2] - ys[1]), (y - ys[0]) / (ys[1] - ys[0]))
    idx[:, 0] = np.where(hi, bones[1], bones[0])
    idx[:, 1] = np.where(hi, bones[2], bones[1])
    w[:, 0] = 1 - t
    w[:, 1] = t
    idx[:, 2:] = idx[:, :1]
    return idx, w


def build_accessories(spec, body) -> tuple[list[Part], list]:
    """Parts for ``spec.accessories`` on ``body``: ``(parts, [])``. Hats, glasses, ribbon and cat
    ears are rigid on ``head``; the scarf follows neck and chest."""
    from kyara.character.face import FaceSurface
    from kyara.character.hair import cap_ellipsoid, cap_surface, head_field, sphere_dirs
    from kyara.character.meshing import check_closed

    if not spec.accessories:
        return [], []
    fr, fld = head_field(body)
    c, r = cap_ellipsoid(body, spec.hair.style)
    h = fr.h
    pieces = []
    for acc in spec.accessories:
        col = hex_to_rgb(acc.colour.hex)
        if acc.kind == "witch-hat":
            pieces += _witch_hat(c, r, h, col)
        elif acc.kind == "tricorn-hat":
            pieces += _tricorn(c, r, h, col)
        elif acc.kind == "cap":
            pieces += _cap(c, r, h, col)
        elif acc.kind == "ribbon":
            at = None
            if spec.hair.style == "ponytail":
                p = cap_surface(fr, fld, sphere_dirs(np.array([np.pi]), np.array([np.deg2rad(62)])))[0]
                at = (p + [0, 0.0, -0.07 * h], np.array([0, 0.3, -1.0]) / np.hypot(0.3, 1.0), np.array([-1.0, 0, 0]),
                      np.array([0, 1.0, -0.3]) / np.hypot(0.3, 1.0))
            pieces += _ribbon(c, r, h, col, at)
        elif acc.kind == "cat-ears":
            pieces += _cat_ears(c, r, h, col)
        elif acc.kind == "glasses":
            pieces += _glasses(fr, FaceSurface(body), col)
        elif acc.kind == "scarf":
            pieces += _scarf(body, fr, fld, col)
        elif acc.kind == "maid-headdress":
            from kyara.character.accessory_costume import maid_headdress

            pieces += maid_headdress(c, r, h, col)
        else:  # pragma: no cover - ACCESSORY_KINDS is closed
            raise ValueError(f"accessory kind '{acc.kind}' is unknown")
    parts = []
    for name, v, f, colour, colours in pieces:
        check_closed(name, v, f)
        if name == "scarf":
            idx, w = _scarf_weights(body, v)
        else:
            idx = np.zeros((len(v), 4), np.int64)
            idx[:] = HEAD
            w = np.zeros((len(v), 4), np.float32)
            w[:, 0] = 1.0
        mat = Material(name, tuple(colour), shade_color=shade_of(tuple(colour), 0.75), outline_width=0.001,
                       alpha=0.25 if name.endswith("lenses") else 1.0)
        parts.append(Part(name, "accessory", v, f, idx, w, mat, colors=None if colours is None else np.asarray(colours, np.float32)))
    return parts, []
