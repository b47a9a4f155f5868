"""The anime face: large eyes, eyelids with a lash line, brows, nose hint and mouth, all rigid on
``head``, with morph targets for blinking, vowels and emotions.

:func:`build_face` is the entry point. Every feature is a thin closed slab laid on the face: a
grid of points in the face plane (x, y) whose depth comes from a ray cast onto the body mesh
(:class:`FaceSurface`), with a back sheet a fraction of a millimetre and a front sheet up to
1.6 mm in front of the skin, joined by walls (:func:`grid_slab`). Morph targets move the same grid
to a new 2D shape and re-project it, so a morphed slab is still a closed slab on the skin.

Each facial feature is its own part with its own material (the VRM exporter writes one material
per part): ``eye_whites``, ``irises`` (per-vertex gradient), ``pupils``, ``eye_highlights``,
``lashes``, ``eyelids`` (skin; hidden behind the lashes until a blink), ``brows``, ``nose`` and
``mouth`` (per-vertex: inside and tongue). The eye itself is drawn in :mod:`kyara.character.face_eyes`.

The rest face is neutral; ``spec.expression`` is kept on the spec and :func:`expression_weights`
says which morphs express it (the exporter maps it to VRM expressions).
"""

from __future__ import annotations

import numpy as np

from kyara.body.skeleton import BONE_INDEX
from kyara.character.model import Material, Part, hex_to_rgb, shade_of

HEAD = BONE_INDEX["head"]
MORPHS = ("blink", "blinkLeft", "blinkRight", "aa", "ih", "ou", "ee", "oh", "happy", "angry", "sad", "surprised")
EXPRESSION_MORPHS: dict[str, dict[str, float]] = {
    "neutral": {},
    "smile": {"happy": 0.6},
    "happy": {"happy": 1.0},
    "angry": {"angry": 1.0},
    "sad": {"sad": 1.0},
    "surprised": {"surprised": 1.0},
}
INNER_MOUTH = (0.36, 0.1, 0.13)
TONGUE = (0.85, 0.42, 0.45)
# slab depths in front of the skin along +z, metres: (back, front); the eye's are in face_eyes.DEPTH
DEPTH = {"brow": (3e-4, 1.2e-3), "mouth": (2e-4, 6e-4), "nose": (2e-4, 9e-4)}
# the part name of each facial feature (one material each)
FEATURE_PARTS = ("eye_whites", "irises", "pupils", "eye_highlights", "lashes", "eyelids", "brows", "nose", "mouth")


def expression_weights(expression: str) -> dict[str, float]:
    """Morph weights that show a spec expression (``kyara.character.spec.EXPRESSIONS``)."""
    if expression not in EXPRESSION_MORPHS:
        raise ValueError(f"expression '{expression}' is unknown, expected one of {', '.join(EXPRESSION_MORPHS)}")
    return dict(EXPRESSION_MORPHS[expression])


class FaceSurface:
    """Depth of the face under face-plane points: the body mesh's frontmost skin, or the body's
    implicit surface without its carved eye sockets where that lies in front (over the socket
    pits), so features laid on it cover the sockets instead of following their steep walls."""

    def __init__(self, body) -> None:
        from scipy.spatial import cKDTree

        from kyara.body.surface import body_primitives

        d = body.layout.dims
        v = body.vertices.astype(np.float64)
        f = body.faces.astype(np.int64)
        tri = v[f]
        c = tri.mean(1)
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        keep = (c[:, 1] > d["chin"] - 0.15 * d["h"]) & (c[:, 2] > d["head_z"] - 0.1 * d["D"]) & (n[:, 2] > 0)
        self.tri = tri[keep]
        self.tree = cKDTree(self.tri.mean(1)[:, :2])
        self.prims = [q for q in body_primitives(body.layout) if q.bone in ("head", "neck") and not q.carve]
        self.z_range = (d["head_z"], d["head_z"] + 0.8 * d["D"])

    def mesh_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``[N]`` z of the frontmost body mesh point at each ``(x, y)`` (metres)."""
        q = np.stack([np.ravel(x), np.ravel(y)], 1)
        _, idx = self.tree.query(q, k=min(24, len(self.tri)))
        t = self.tri[idx]  # [N, k, 3, 3]
        a, b, c = t[..., 0, :], t[..., 1, :], t[..., 2, :]
        v0, v1, v2 = b[..., :2] - a[..., :2], c[..., :2] - a[..., :2], q[:, None] - a[..., :2]
        den = v0[..., 0] * v1[..., 1] - v1[..., 0] * v0[..., 1]
        den = np.where(np.abs(den) < 1e-14, 1e-14, den)
        s = (v2[..., 0] * v1[..., 1] - v1[..., 0] * v2[..., 1]) / den
        r = (v0[..., 0] * v2[..., 1] - v2[..., 0] * v0[..., 1]) / den
        inside = (s >= -1e-9) & (r >= -1e-9) & (s + r <= 1 + 1e-9)
        zz = a[..., 2] + s * (b[..., 2] - a[..., 2]) + r * (c[..., 2] - a[..., 2])
        zz = np.where(inside, zz, -np.inf)
        best = zz.max(1)
        near = t[:, 0].mean(1)[:, 2]  # fallback: the nearest triangle's centre depth
        return np.where(np.isfinite(best), best, near).reshape(np.shape(x))

    def implicit_z(self, x: np.ndarray, y: np.ndarray, steps: int = 26) -> np.ndarray:
        """``[N]`` z where a ray along -z first meets the uncarved implicit head surface (bisection
        between the head centre's depth, inside, and well in front of the face)."""
        from kyara.body.sdf import smin

        def field(p):
            out = np.full(len(p), 1e3)
            for q in self.prims:
                out = smin(out, q.fn(p), q.k)
            return out

        xs, ys = np.ravel(x).astype(np.float64), np.ravel(y).astype(np.float64)
        lo = np.full(len(xs), self.z_range[0])
        hi = np.full(len(xs), self.z_range[1])
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            inside = field(np.stack([xs, ys, mid], 1)) < 0
            lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
        return (0.5 * (lo + hi)).reshape(np.shape(x))

    def z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``[N]`` z of the face at each ``(x, y)`` (metres): the frontmost of mesh and implicit."""
        return np.maximum(self.mesh_z(x, y), self.implicit_z(x, y))


def grid_slab(front: np.ndarray, back: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A closed slab from two sheets ``front, back [R, C, 3]`` (same grid), walls on the border.

    Returns ``(vertices [2RC, 3], faces [F, 3])`` with outward winding when ``front`` is in front.
    """
    from kyara.body.mesh_ops import signed_volume

    R, C = front.shape[:2]
    fi = np.arange(R * C).reshape(R, C)
    bi = fi + R * C
    a, b, c, d = fi[:-1, :-1], fi[:-1, 1:], fi[1:, :-1], fi[1:, 1:]
    faces = [np.stack([a, b, d], -1), np.stack([a, d, c], -1)]
    a, b, c, d = bi[:-1, :-1], bi[:-1, 1:], bi[1:, :-1], bi[1:, 1:]
    faces += [np.stack([a, d, b], -1), np.stack([a, c, d], -1)]
    loop = np.concatenate([fi[0, :], fi[1:, -1], fi[-1, -2::-1], fi[-2:0:-1, 0]])
    p, q = loop, np.roll(loop, -1)
    faces += [np.stack([p, p + R * C, q + R * C], -1), np.stack([p, q + R * C, q], -1)]
    f = np.concatenate([x.reshape(-1, 3) for x in faces]).astype(np.int64)
    v = np.concatenate([front.reshape(-1, 3), back.reshape(-1, 3)])
    if signed_volume(v, f) < 0:
        f = f[:, ::-1]
    return v, f


def disc_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y) [n, n]``: a square grid mapped onto the unit disc (elliptical grid mapping)."""
    u, v = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n), indexing="xy")
    return u * np.sqrt(1 - 0.5 * v ** 2), v * np.sqrt(1 - 0.5 * u ** 2)


def _sheets(x: np.ndarray, y: np.ndarray, z: np.ndarray, depth: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The front and back sheets ``[R, C, 3]`` of a slab over the grid ``x, y`` whose skin depth is ``z``."""
    front = np.stack([x, y, z + depth[1]], -1)
    back = np.stack([x, y, z + depth[0]], -1)
    return front, back


class _Builder:
    """Collects slabs (with morph shapes) into one part. ``colour``: the part's one colour, or None
    when every slab brings its own per-vertex colours.

    :meth:`slab` only asks for a slab; :func:`lay_slabs` finds the skin under every grid asked for
    by all builders in one batch (the face surface costs the same for 10 points as for 5,000) and
    lays them, in the order they were asked for."""

    def __init__(self, surf: FaceSurface, colour=None) -> None:
        self.surf = surf
        self.colour = None if colour is None else np.asarray(colour, np.float32)
        self.v: list[np.ndarray] = []
        self.f: list[np.ndarray] = []
        self.col: list[np.ndarray] = []
        self.morph: dict[str, list[np.ndarray]] = {}
        self.n = 0
        # asked-for slabs: (depth, colour, grids [(x, y) [R, C]]: the rest grid, then a morph's
        # grid for each name of MORPHS it has (None for the others))
        self.pending: list[tuple] = []

    def slab(self, x, y, depth, colour, shapes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        """Ask for a slab over the grid ``x, y [R, C]``; ``colour`` [3] or [R, C, 3]; ``shapes``: morph
        name -> the grid's (x, y) in that shape. Laid by :func:`lay_slabs`."""
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        morphs = [np.broadcast_arrays(*shapes[name]) if shapes and name in shapes else None for name in MORPHS]
        self.pending.append((depth, colour, [(x, y)] + morphs))

    def _lay(self, depth, colour, grids, zs) -> None:
        (x, y), z = grids[0], zs[0]
        v, f = grid_slab(*_sheets(x, y, z, depth))
        col = np.broadcast_to(np.asarray(colour, np.float32), x.shape + (3,)).reshape(-1, 3)
        for name, grid, zm in zip(MORPHS, grids[1:], zs[1:]):
            if grid is not None:
                off = grid_slab(*_sheets(grid[0], grid[1], zm, depth))[0] - v
            else:
                off = np.zeros_like(v)
            self.morph.setdefault(name, []).append(off)
        self.v.append(v)
        self.f.append(f + self.n)
        self.col.append(np.concatenate([col, col]))
        self.n += len(v)

    def part(self, name: str, material: Material) -> Part:
        """The collected slabs as one rigid ``head`` part; per-vertex colours only when the builder
        has no single colour."""
        from kyara.character.meshing import check_closed

        if self.pending:
            lay_slabs(self.surf, [self])
        v = np.concatenate(self.v)
        f = np.concatenate(self.f)
        check_closed(name, v, f)
        idx = np.zeros((len(v), 4), np.int64)
        idx[:] = HEAD
        w = np.zeros((len(v), 4), np.float32)
        w[:, 0] = 1.0
        morphs = {k: np.concatenate(m).astype(np.float32) for k, m in self.morph.items()}
        morphs = {k: m for k, m in morphs.items() if np.abs(m).max() > 1e-7}
        colors = np.concatenate(self.col) if self.colour is None else None
        return Part(name, "face", v, f, idx, w, material, colors=colors, morphs=morphs)


def lay_slabs(surf: FaceSurface, builders: list[_Builder]) -> None:
    """Lay every slab the ``builders`` asked for: one :meth:`FaceSurface.z` for all their grids
    (each point's depth is computed on its own, so batching changes no value)."""
    grids = [g for b in builders for (_d, _c, gs) in b.pending for g in gs if g is not None]
    if not grids:
        return
    z = surf.z(np.concatenate([g[0].ravel() for g in grids]), np.concatenate([g[1].ravel() for g in grids]))
    at = 0
    for b in builders:
        for depth, colour, gs in b.pending:
            zs = []
            for g in gs:
                if g is None:
                    zs.append(None)
                    continue
                zs.append(z[at:at + g[0].size].reshape(g[0].shape))
                at += g[0].size
            b._lay(depth, colour, gs, zs)
        b.pending.clear()


def _eye_geometry(body) -> tuple[float, float, float, float, float]:
    """``(ex, cy, rx, ry, es)`` metres: |x| of the eye centres, the centre y and half extents of the
    box round each open eye's opening (the white under the lash line), and the eye socket height."""
    from kyara.character.face_eyes import eye_box

    d = body.layout.dims
    es = body.layout.params.eye_size * d["h"]
    vc, hw, hh = eye_box()
    return 0.21 * d["W"], d["eye_y"] + vc * es, hw * es, hh * es, es


def feature_colours(spec) -> dict[str, tuple[float, float, float]]:
    """sRGB colour of each single-colour facial feature for ``spec`` (irises and mouth vary per vertex)."""
    from kyara.character import face_eyes

    skin = hex_to_rgb(spec.skin_tone.hex)
    iris = np.array(hex_to_rgb(spec.eye_colour.hex))
    hair = hex_to_rgb(spec.hair.colour.hex)
    return {"eye_whites": face_eyes.WHITE, "pupils": tuple(float(c) for c in iris * 0.12 + 0.02),
            "eye_highlights": (1.0, 1.0, 1.0), "lashes": face_eyes.LASH_COLOUR, "eyelids": skin,
            "brows": shade_of(hair, 0.7), "nose": _skin_shade(skin)}


def _skin_shade(skin: tuple[float, float, float]) -> tuple[float, float, float]:
    """The shade colour of the body's skin material (``kyara.character.build.body_part`` names it
    "skin"): the eyelid shades like the skin round it; the nose is a small mark in that colour."""
    return tuple(float(c) for c in Material("skin", skin).shade)  # type: ignore[return-value]


def build_face(spec, body) -> tuple[list[Part], list]:
    """Eyes, eyelids, lashes, brows, nose and mouth for ``spec`` on ``body``: ``(parts, [])``.

    Parts are named by :data:`FEATURE_PARTS`. Morph targets (metres, ``Part.morphs``): see
    ``MORPHS``. The rest face is neutral.
    """
    from kyara.character import face_eyes

    surf = FaceSurface(body)
    d = body.layout.dims
    h, W = d["h"], d["W"]
    es = body.layout.params.eye_size * h
    ex, ey = 0.21 * W, d["eye_y"]
    col = feature_colours(spec)
    iris = np.array(hex_to_rgb(spec.eye_colour.hex), np.float32)
    b = {"white": _Builder(surf, col["eye_whites"]), "iris": _Builder(surf), "pupil": _Builder(surf, col["pupils"]),
         "shine": _Builder(surf, col["eye_highlights"]), "lid": _Builder(surf, col["eyelids"]),
         "lash": _Builder(surf, col["lashes"])}
    brows = _Builder(surf, col["brows"])
    for sx in (1.0, -1.0):
        face_eyes.add_eye(b, sx, sx * ex, ey, es, iris, disc_grid)
        _brow(brows, sx, sx * ex, ey + 0.75 * es, es)
    nose = _Builder(surf, col["nose"])
    ny = d["crown"] - 0.74 * h - 0.035 * h
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 3))
    nose.slab(0.012 * h * X, ny + 0.004 * h * Y - 0.006 * h * (1 - X ** 2), DEPTH["nose"], col["nose"])
    mouth = _Builder(surf)
    _mouth(mouth, d["crown"] - 0.86 * h, 0.1 * W, h)
    lay_slabs(surf, [*b.values(), brows, nose, mouth])
    # eye features are not shaded like skin: their shade colours stay close to the base (anime eyes
    # keep their colours in shadow); the lid is skin and shades like it
    flat = lambda name, shade=0.92: Material(name, col[name], shade_color=_dim(col[name], shade),  # noqa: E731
                                             outline_width=0.0)
    parts = [b["white"].part("eye_whites", flat("eye_whites", 0.9)),
             b["iris"].part("irises", Material("irises", tuple(float(c) for c in iris), outline_width=0.0)),
             b["pupil"].part("pupils", flat("pupils")),
             b["shine"].part("eye_highlights", flat("eye_highlights", 1.0)),
             b["lash"].part("lashes", flat("lashes")),
             b["lid"].part("eyelids", Material("eyelids", col["eyelids"], shade_color=_skin_shade(col["eyelids"]),
                                               outline_width=0.0)),
             brows.part("brows", flat("brows", 0.85))]
    parts.append(nose.part("nose", flat("nose", 0.85)))
    parts.append(mouth.part("mouth", Material("mouth", INNER_MOUTH, outline_width=0.0)))
    return parts, []


def _dim(rgb, k: float) -> tuple[float, float, float]:
    return tuple(float(c) * k for c in rgb)  # type: ignore[return-value]


def _brow(b: _Builder, sx: float, cx: float, by: float, es: float) -> None:
    """A tapered brow arc over the eye (inner end 0.3 es, outer end 0.55 es from the eye centre, as
    the face landmarks have it); emotions move its inner/outer ends."""
    C, R = 11, 3
    t = np.linspace(0, 1, C)  # inner -> outer
    v = np.linspace(-1, 1, R)[:, None]
    x = cx + sx * (-0.3 + 0.85 * t) * es
    half = 0.07 * es * (1 - 0.5 * t)

    def shape(lift_in=0.0, lift_out=0.0, arch=0.0):
        y = by + 0.06 * es * np.sin(np.pi * t) * (1 + arch) - 0.04 * es * t + (lift_in * (1 - t) + lift_out * t) * es
        return np.broadcast_to(x, (R, C)), y + v * half

    shapes = {"angry": shape(-0.14, 0.05), "sad": shape(0.13, -0.05), "surprised": shape(0.16, 0.12, 0.8),
              "happy": shape(0.06, 0.04, 0.3)}
    b.slab(*shape(), DEPTH["brow"], b.colour, shapes)


def _mouth(b: _Builder, my: float, mw: float, h: float) -> None:
    """The mouth: a dark slab, a thin line at rest, opened and reshaped by vowels and emotions."""
    C, R = 15, 7
    u = np.linspace(-1, 1, C)
    v = np.linspace(-1, 1, R)[:, None]
    pinch = np.sqrt(1 - 0.88 * u ** 2)

    def shape(width=1.0, height=0.008, curve=0.0, flat_top=0.0):
        x = np.broadcast_to(u * mw * width, (R, C))
        hh = height * h * pinch
        top = np.where(v > 0, v * hh * (1 - flat_top), v * hh)
        return x, my + curve * h * u ** 2 + top

    col = np.where(v[..., None] < -0.4, np.asarray(TONGUE, np.float32), np.asarray(INNER_MOUTH, np.float32))
    col = np.broadcast_to(np.where(np.abs(v[..., None]) < 0.99, col, np.asarray(INNER_MOUTH, np.float32)), (R, C, 3)).copy()
    col[:, [0, -1]] = INNER_MOUTH
    shapes = {"aa": shape(0.85, 0.07, 0.0, 0.6), "ih": shape(1.15, 0.025, 0.004), "ou": shape(0.45, 0.035),
              "ee": shape(1.25, 0.028, 0.006, 0.3), "oh": shape(0.6, 0.05), "happy": shape(1.15, 0.035, 0.012, 0.7),
              "angry": shape(0.8, 0.01, -0.008), "sad": shape(0.8, 0.008, -0.012), "surprised": shape(0.5, 0.045)}
    b.slab(*shape(), DEPTH["mouth"], col, shapes)
