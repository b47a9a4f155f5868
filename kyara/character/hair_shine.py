"""Hair colour effects: the angel ring (a highlight band of its own material) and two-tone tips.

:func:`angel_ring` lays a thin closed band over the outer hair surface around the upper head, the
glossy "angel ring" (tenshi no wa) anime hair is drawn with: a smooth upper edge, a zig-zag lower
edge (highlight teeth pointing down the locks) and pointed ends. It is its own part,
``hair_shine``, with its own material (``hair_shine``: the hair colour's highlight, see
:func:`shine_colour`; no ink outline), so the VRM exports it as its own MToon material. Each of
its vertices is skinned like the hair vertex under it, so it rides on the bangs when they sway.

:func:`tone_colours` gives per-vertex colours that fade a lock from the base colour to the tip
colour along its length (two-tone / gradient hair).
"""

from __future__ import annotations

import numpy as np

from kyara.character.model import Material, Part, shade_of

RING_POLAR_DEG = 56.0  # band centre, degrees down from the top of the head
RING_HALF_WIDTH_DEG = 5.5  # half the band's width at its middle
RING_TEETH_DEG = 4.0  # depth of the zig-zag of the lower edge
RING_TOOTH_PERIOD_DEG = 13.0  # azimuth between two teeth
RING_LIFT = (0.0008, 0.0022)  # metres above the hair: inner and outer sheet of the band
# The ring's colour, from the hair's in CIE Lab (L, a*, b*, chroma C): L* = L + RING_LIGHT * (100 - L);
# a*b* = the hair's times RING_CHROMA * (1 - RING_CHROMA_FADE * L / 100) (lighter hair: a paler ring,
# blonde gets a pale cream), plus RING_COOL * (1 - L / 100) ** 2 * (1 - C / 30): dark greyish hair gets
# the light blue-grey shine of anime black hair, not a mid grey.
RING_LIGHT = 0.65
RING_CHROMA = 0.6
RING_CHROMA_FADE = 0.7
RING_COOL = (1.0, -18.0)
RING_SHADE_LIGHT = 0.45  # the same lift of the hair's shade colour: the ring on the shaded side


def smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((np.asarray(x, float) - a) / (b - a), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def tone_colours(base, tips, t: np.ndarray, start: float = 0.45, end: float = 0.9) -> np.ndarray:
    """Per-vertex sRGB ``[N, 3]`` float32: ``base`` at the roots fading to ``tips`` between ``start``
    and ``end`` of ``t [N]`` (the position along the lock, 0 at the root, 1 at the tip)."""
    m = smoothstep(start, end, t)[:, None]
    return (np.asarray(base, float)[None] * (1.0 - m) + np.asarray(tips, float)[None] * m).astype(np.float32)


def lighten(rgb, amount: float) -> tuple[float, float, float]:
    c = np.asarray(rgb, float)
    return tuple(float(x) for x in np.clip(c + amount * (1.0 - c), 0.0, 1.0))  # type: ignore[return-value]


def shine_colour(rgb, light: float = RING_LIGHT) -> tuple[float, float, float]:
    """The highlight of the sRGB hair colour ``rgb`` (floats in [0, 1]): lighter by ``light`` of the way
    to white in L*, less saturated, and cooler the darker the hair (see RING_* above)."""
    from kyara.character.colors import lab_to_srgb, srgb_to_lab

    L, a, b = srgb_to_lab(np.asarray(rgb, float))
    k = RING_CHROMA * (1.0 - RING_CHROMA_FADE * L / 100.0)
    cool = (1.0 - L / 100.0) ** 2 * max(0.0, 1.0 - float(np.hypot(a, b)) / 30.0)
    lab = (L + light * (100.0 - L), k * a + cool * RING_COOL[0], k * b + cool * RING_COOL[1])
    return tuple(float(x) for x in lab_to_srgb(np.array(lab)))  # type: ignore[return-value]


def ring_material(base) -> Material:
    """The angel ring's material: the hair colour's highlight (:func:`shine_colour`), its shade the
    hair shade lifted the same way, less; no outline."""
    return Material("hair_shine", shine_colour(base), shade_color=shine_colour(shade_of(base, 0.68), RING_SHADE_LIGHT),
                    outline_width=0.0)


def ring_outline(theta_max: float, n: int = 97) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The band in (azimuth, polar angle), radians: ``(theta [n], upper edge [n], lower edge [n])``.
    The band narrows to a point at both ends; the lower edge is a zig-zag."""
    th = np.linspace(-theta_max, theta_max, n)
    taper = np.sqrt(np.clip(1.0 - (th / theta_max) ** 2, 0.0, 1.0))
    hw = np.deg2rad(RING_HALF_WIDTH_DEG) * (0.08 + 0.92 * taper)
    phase = (np.rad2deg(th) / RING_TOOTH_PERIOD_DEG) % 1.0
    teeth = np.deg2rad(RING_TEETH_DEG) * (1.0 - np.abs(2.0 * phase - 1.0)) * taper
    c = np.deg2rad(RING_POLAR_DEG)
    return th, c - hw, c + hw + teeth


def angel_ring(fr, hair_parts: list[Part], base, front_only: bool = False, rows: int = 4) -> Part | None:
    """The ``hair_shine`` part over the outer surface of ``hair_parts`` (the cap first), or None when
    there is no hair under the band. ``front_only`` keeps the band to the front (spiky hair)."""
    from scipy.spatial import cKDTree

    from kyara.character.hair import sphere_dirs
    from kyara.character.hair_shapes import slab_mesh

    if not hair_parts:
        return None
    P = np.concatenate([p.vertices for p in hair_parts]).astype(np.float64)
    ji = np.concatenate([p.joint_indices for p in hair_parts])
    jw = np.concatenate([p.joint_weights for p in hair_parts])
    is_cap = np.concatenate([np.full(len(p.vertices), p.name == "hair_cap") for p in hair_parts])
    rel = P - fr.centre
    r = np.linalg.norm(rel, axis=1)
    d = rel / np.maximum(r, 1e-12)[:, None]
    th, up, low = ring_outline(np.deg2rad(75.0 if front_only else 120.0))
    s = np.linspace(0.0, 1.0, rows)
    phi = up[:, None] * (1.0 - s[None]) + low[:, None] * s[None]  # [n, rows]
    D = sphere_dirs(np.broadcast_to(th[:, None], phi.shape).ravel(), phi.ravel())  # [n*rows, 3]
    chord = 2.0 * np.sin(0.5 * np.deg2rad(5.0))
    tree_cap, tree_all = cKDTree(d[is_cap]), cKDTree(d)
    r_cap_all = r[is_cap]
    env = np.zeros(len(D))
    for i, (near_cap, near) in enumerate(zip(tree_cap.query_ball_point(D, chord), tree_all.query_ball_point(D, chord))):
        if not near_cap:
            return None
        rc = float(r_cap_all[near_cap].max())
        rr = r[near]
        rr = rr[rr < rc + 0.06 * fr.h]  # bangs and locks on the cap, not spikes or lifted strands
        env[i] = max(rc, float(rr.max()) if len(rr) else rc)
    env = env.reshape(phi.shape)
    env = np.maximum(env, np.maximum(np.roll(env, 1, 0), np.roll(env, -1, 0)))  # no dips between samples
    env[0], env[-1] = env[1], env[-2]
    Dg = D.reshape(phi.shape + (3,))
    inner = fr.centre + Dg * (env + RING_LIFT[0])[..., None]
    outer = fr.centre + Dg * (env + RING_LIFT[1])[..., None]
    v, f = slab_mesh(outer, inner)
    _, nearest = cKDTree(P).query(v)
    return Part("hair_shine", "hair", v, f, ji[nearest], jw[nearest], ring_material(base))
