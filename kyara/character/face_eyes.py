"""The anime eye: its drawn shape (pure functions) and the slabs that build it on the face.

Shape units: the eye socket height ``es`` (``BodyParams.eye_size`` x head height), relative to the
socket centre ``(±0.21 W, eye_y)``. Along the eye ``t`` runs from -1 (inner corner, nose side) to +1
(outer corner); ``x = cx + side * HALF_WIDTH * es * t``. Heights ``v`` are ``y = eye_y + v * es``.

The eye is tall, as anime eyes are: the upper lash line (:func:`lash_lower`) is a thick dark
band at about +0.45, the eye white's rounded lower edge (:func:`lower_edge`) at -0.8. Inside, a large
iris (a vertical gradient from the lash shadow at the top to a light crescent at the bottom, with a
darker rim), a vertical pupil, and two highlights on the side the preview light comes from
(screen left, world -x), the same on both eyes.

Parts (each its own material, so the VRM gets one per feature): ``eye_whites``, ``irises``,
``pupils``, ``eye_highlights``, ``lashes`` and ``eyelids``. At rest the eyelid (skin) hides behind
the lash band; ``blink`` slides it down over the whole eye and brings the lash down to the closed
line (:func:`closed_line`, an anime closed eye, ends higher than the middle); the other shapes
move the lash and the lid edge together, so the eye stays open below: ``happy`` arches the lash
(a smiling crescent eye), ``angry`` lowers it at the inner corner, ``sad`` at the outer one,
``surprised`` lifts it and shrinks the pupils.
"""

from __future__ import annotations

import numpy as np

HALF_WIDTH = 0.5  # half eye width, es
UPPER = (0.45, -0.2, 0.03)  # lash line's lower edge v(t) = a + b t^2 + c t (outer 0.28, inner 0.22)
LOWER, LOWER_POWER = 0.8, 2.6  # eye white's lower edge: -LOWER (1 - |t|^p)^(1/p)
TUCK = 0.07  # the eye white reaches this far under the lash band
LASH_T = (-1.06, 1.22)  # the lash band runs past both corners, a wing at the outer end
LASH_THICK, LASH_OUTER, LASH_FLICK = 0.14, 0.08, 0.5  # band thickness (+ outer growth), wing lift
CLOSED = (-0.72, 0.42)  # closed lash line v(t) = a + b t^2 (low: a half blink shows little lid under it)
SMILE = (0.05, -0.45)  # "happy" lash line, an arch: the eye shows as a crescent under it
IRIS = (0.0, -0.14, 0.36, 0.6)  # centre (x, v) and half axes (x, v), es
PUPIL = (0.0, -0.12, 0.14, 0.26)
# highlights: (x offset towards world -x, v, half axes x, v) - the same side on both eyes
HIGHLIGHTS = ((0.12, 0.17, 0.13, 0.17), (-0.13, -0.42, 0.07, 0.07))
# slab depths in front of the skin along +z, metres: (back, front)
# (layers 0.15 mm apart at least: a coarse grid's chords over the curved socket must not poke
# through the finer grid of the layer in front)
DEPTH = {"white": (1e-4, 3e-4), "iris": (2.5e-4, 6e-4), "pupil": (5.5e-4, 9e-4),
         "shine": (8.5e-4, 1.15e-3), "lid": (1.1e-3, 1.45e-3), "lash": (1.4e-3, 1.8e-3)}
LASH_COLOUR = (0.13, 0.08, 0.1)
WHITE = (0.98, 0.98, 1.0)


def upper_edge(t: np.ndarray) -> np.ndarray:
    """Lash line's lower edge ``v [N]`` (es above the socket centre) along ``t [N]``."""
    t = np.asarray(t, dtype=np.float64)
    a, b, c = UPPER
    return a + b * t ** 2 + c * t


def lash_lower(t: np.ndarray) -> np.ndarray:
    """The lash band's lower edge: :func:`upper_edge` with the wing lifted past the outer corner."""
    t = np.asarray(t, dtype=np.float64)
    return upper_edge(t) + LASH_FLICK * np.clip(t - 0.95, 0.0, None)


def lash_thickness(t: np.ndarray) -> np.ndarray:
    """Lash band thickness (es): thicker towards the outer corner, tapering at both ends."""
    t = np.asarray(t, dtype=np.float64)
    th = LASH_THICK + LASH_OUTER * np.clip(t, 0.0, 1.0)
    th = th * np.clip((LASH_T[1] - t) / 0.3, 0.2, 1.0) * np.clip((t - LASH_T[0]) / 0.15, 0.35, 1.0)
    return th


def lower_edge(t: np.ndarray) -> np.ndarray:
    """The eye white's lower edge ``v`` (rounded; 0 at the corners ``t = ±1``)."""
    a = np.clip(np.abs(np.asarray(t, dtype=np.float64)), 0.0, 1.0)
    return -LOWER * (1.0 - a ** LOWER_POWER) ** (1.0 / LOWER_POWER)


def closed_line(t: np.ndarray, arc=CLOSED) -> np.ndarray:
    """Where the lash line lies when the eye is shut: a shallow curve, ends higher (``arc``
    :data:`CLOSED`), or the arch of a smiling eye (:data:`SMILE`)."""
    t = np.clip(np.asarray(t, dtype=np.float64), LASH_T[0], LASH_T[1])
    return arc[0] + arc[1] * t ** 2


def eye_box() -> tuple[float, float, float]:
    """``(v_centre, half_width, half_height)`` in es of the box round the open eye's opening (the
    white seen between the lash line and its lower edge; the lash band itself lies above)."""
    t = np.linspace(-1, 1, 201)
    top = float(np.max(upper_edge(t)))
    bottom = -LOWER
    return 0.5 * (top + bottom), HALF_WIDTH, 0.5 * (top - bottom)


def iris_colours(iris: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``[R, C, 3]`` iris colours on the unit-disc grid ``X, Y``: dark under the lash (top), the eye
    colour itself across the middle, a light crescent at the bottom, a darker rim."""
    from kyara.character.model import shade_of

    iris = np.asarray(iris, dtype=np.float64)
    dark = np.asarray(shade_of(tuple(iris), 0.42))
    light = np.clip(iris + 0.4 * (1.0 - iris), 0.0, 1.0)
    g = (Y[..., None] + 1.0) / 2.0  # 0 bottom .. 1 top
    # the crescent keeps to the bottom quarter: most of the iris shows the eye colour word itself
    low = np.clip((0.28 - g) / 0.28, 0.0, 1.0)
    high = np.clip((g - 0.55) / 0.45, 0.0, 1.0)  # top half: towards the lash shadow
    col = iris * (1 - low - high) + light * low + dark * high
    rim = np.clip((np.hypot(X, Y)[..., None] - 0.8) / 0.2, 0.0, 1.0)
    col = col * (1 - 0.55 * rim) + dark * 0.55 * rim
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def add_eye(b: dict, side: float, cx: float, ey: float, es: float, iris: np.ndarray, disc_grid) -> None:
    """Add one eye's slabs to the builders ``b`` (keys ``white, iris, pupil, shine, lid, lash``).

    ``side`` +1 for the character's left eye (+x), -1 for the right; ``cx, ey`` the socket centre
    and ``es`` the socket height (metres); ``iris [3]`` sRGB.
    """
    X = lambda t: cx + side * HALF_WIDTH * es * t  # noqa: E731
    Y = lambda v: ey + es * v  # noqa: E731
    # eye white: columns across the eye, rows from the lower edge up under the lash
    t = np.linspace(-1, 1, 21)
    s = np.linspace(0, 1, 11)[:, None]
    lo, up = lower_edge(t), upper_edge(t) + TUCK
    b["white"].slab(np.broadcast_to(X(t), (11, 21)), Y(lo + s * (up - lo)), DEPTH["white"], WHITE)
    # iris, pupil, highlights
    u, w = disc_grid(15)
    ix, iv, ia, ib = IRIS
    b["iris"].slab(X(ix) + es * ia * u, Y(iv + ib * w), DEPTH["iris"], iris_colours(iris, u, w))
    u, w = disc_grid(9)
    px, pv, pa, pb = PUPIL
    pupil = (X(px) + es * pa * u, Y(pv + pb * w))
    small = (X(px) + 0.7 * es * pa * u, Y(pv + 0.7 * pb * w))
    b["pupil"].slab(*pupil, DEPTH["pupil"], b["pupil"].colour, {"surprised": small})
    u, w = disc_grid(7)
    for hx, hv, ha, hb in HIGHLIGHTS:
        b["shine"].slab(cx - es * hx + es * ha * u, Y(hv + hb * w), DEPTH["shine"], b["shine"].colour)
    _lid_and_lash(b, side, X, Y)


def _lid_and_lash(b: dict, side: float, X, Y) -> None:
    """The lash band and the eyelid behind it, with their expression shapes."""
    C = 21
    t = np.linspace(LASH_T[0], LASH_T[1], C)
    th = lash_thickness(t)
    rest_lo = lash_lower(t)
    lid_top = rest_lo + 0.95 * th  # fixed: always behind the lash band's upper part
    full = np.minimum(closed_line(t), lower_edge(t)) - 0.05  # the lid edge of a shut eye
    inner = np.clip(-t, 0.0, 1.0)
    outer = np.clip(t, 0.0, 1.0)
    g_lash = np.linspace(0, 1, 4)[:, None]
    g_lid = np.linspace(0, 1, 6)[:, None]
    xs = lambda rows: np.broadcast_to(X(t), (rows, C))  # noqa: E731

    def shape(k=0.0, lift=0.0, shut=False, arc=CLOSED):
        """(lash grid, lid grid) with the lash moved a fraction ``k`` (per column) towards the
        closed line ``arc`` and ``lift`` es up; ``shut`` pulls the lid edge below the whole eye."""
        lo = rest_lo + k * (closed_line(t, arc) - rest_lo) + lift
        thk = th * (1.0 - 0.35 * k)
        lid_lo = full if shut else lo + 0.3 * thk
        lash = (xs(4), Y(lo + g_lash * thk))
        lid = (xs(6), Y(lid_lo + g_lid * (lid_top - lid_lo)))
        return lash, lid

    shapes = {"blink": shape(1.0, shut=True), "happy": shape(1.0, arc=SMILE), "angry": shape(0.15 + 0.3 * inner),
              "sad": shape(0.15 + 0.3 * outer), "surprised": shape(0.0, 0.06)}
    shapes["blinkLeft" if side > 0 else "blinkRight"] = shapes["blink"]
    rest_lash, rest_lid = shape()
    b["lash"].slab(*rest_lash, DEPTH["lash"], b["lash"].colour, {k: v[0] for k, v in shapes.items()})
    b["lid"].slab(*rest_lid, DEPTH["lid"], b["lid"].colour, {k: v[1] for k, v in shapes.items()})
