"""The anime face: eyes in the body's eye sockets, eyelids with a lash line, brows, nose hint and
mouth, all rigid on ``head``, with morph targets for blinking, vowels and emotions.

:func:`build_face` is the entry point. Every feature is a thin closed slab laid on the face: a
grid of points in the face plane (x, y) whose depth comes from a ray cast onto the body mesh
(:class:`FaceSurface`), with a back sheet a fraction of a millimetre and a front sheet up to
1.5 mm in front of the skin, joined by walls (:func:`grid_slab`). Colours are per vertex (sclera,
iris with a darker top, pupil, highlights). Morph targets move the same grid to a new 2D shape and
re-project it, so a morphed slab is still a closed slab on the skin.

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
LASH = (0.13, 0.08, 0.1)
INNER_MOUTH = (0.36, 0.1, 0.13)
TONGUE = (0.85, 0.42, 0.45)
# slab depths in front of the skin along +z, metres: (back, front)
DEPTH = {"sclera": (1e-4, 3.5e-4), "iris": (2.5e-4, 5.5e-4), "pupil": (4.5e-4, 7.5e-4),
         "shine": (6.5e-4, 9.5e-4), "lid": (1.0e-3, 1.5e-3), "brow": (3e-4, 1.2e-3), "mouth": (2e-4, 6e-4)}


def expression_weights(expression: str) -> dict[str, float]:
    """Morph weights that show a spec expression (``kyara.character.spec.EXPRESSIONS``)."""
    if expression not in EXPRESSION_MORPHS:
        raise ValueError(f"expression '{expression}' is unknown, expected one of {', '.join(EXPRESSION_MORPHS)}")
    return dict(EXPRESSION_MORPHS[expression])


class FaceSurface:
    """Depth of the body's front surface (the mesh, not the implicit) under face-plane points."""

    def __init__(self, body) -> None:
        from scipy.spatial import cKDTree

        d = body.layout.dims
        v = body.vertices.astype(np.float64)
        f = body.faces.astype(np.int64)
        tri = v[f]
        c = tri.mean(1)
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        keep = (c[:, 1] > d["chin"] - 0.15 * d["h"]) & (c[:, 2] > d["head_z"] - 0.1 * d["D"]) & (n[:, 2] > 0)
        self.tri = tri[keep]
        self.tree = cKDTree(self.tri.mean(1)[:, :2])

    def z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``[N]`` z of the frontmost skin point at each ``(x, y)`` (metres)."""
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


def _lay(surf: FaceSurface, x: np.ndarray, y: np.ndarray, depth: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    z = surf.z(x, y)
    front = np.stack([x, y, z + depth[1]], -1)
    back = np.stack([x, y, z + depth[0]], -1)
    return front, back


class _Builder:
    """Collects slabs (with per-vertex colours and morph shapes) into one part."""

    def __init__(self, surf: FaceSurface) -> None:
        self.surf = surf
        self.v: list[np.ndarray] = []
        self.f: list[np.ndarray] = []
        self.col: list[np.ndarray] = []
        self.morph: dict[str, list[np.ndarray]] = {}
        self.n = 0

    def slab(self, x, y, depth, colour, shapes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        """Add a slab over the grid ``x, y [R, C]``; ``colour`` [3] or [R, C, 3]; ``shapes``: morph
        name -> the grid's (x, y) in that shape."""
        front, back = _lay(self.surf, x, y, depth)
        v, f = grid_slab(front, back)
        col = np.broadcast_to(np.asarray(colour, np.float32), x.shape + (3,)).reshape(-1, 3)
        for name in MORPHS:
            if shapes and name in shapes:
                fm, bm = _lay(self.surf, *shapes[name], depth)
                off = grid_slab(fm, bm)[0] - v
            else:
                off = np.zeros_like(v)
            self.morph.setdefault(name, [np.zeros((0, 3))] * 0).append(off)
        self.v.append(v)
        self.f.append(f + self.n)
        self.col.append(np.concatenate([col, col]))
        self.n += len(v)

    def part(self, name: str, material: Material) -> Part:
        from kyara.character.meshing import check_closed

        v = np.concatenate(self.v)
        f = np.concatenate(self.f)
        check_closed(name, v, f)
        idx = np.zeros((len(v), 4), np.int64)
        idx[:] = HEAD
        w = np.zeros((len(v), 4), np.float32)
        w[:, 0] = 1.0
        morphs = {k: np.concatenate(m).astype(np.float32) for k, m in self.morph.items()}
        morphs = {k: m for k, m in morphs.items() if np.abs(m).max() > 1e-7}
        return Part(name, "face", v, f, idx, w, material, colors=np.concatenate(self.col), morphs=morphs)


def _eye_geometry(body):
    d = body.layout.dims
    es = body.layout.params.eye_size * d["h"]
    return 0.21 * d["W"], d["eye_y"], 0.38 * es, 0.6 * es, es


def build_face(spec, body) -> tuple[list[Part], list]:
    """Eyes, eyelids, brows, nose and mouth for ``spec`` on ``body``: ``(parts, [])``.

    Morph targets (metres, ``Part.morphs``): see ``MORPHS``. The rest face is neutral.
    """
    surf = FaceSurface(body)
    d = body.layout.dims
    h, W = d["h"], d["W"]
    ex, ey, rx, ry, es = _eye_geometry(body)
    skin = np.array(hex_to_rgb(spec.skin_tone.hex), np.float32)
    iris = np.array(hex_to_rgb(spec.eye_colour.hex), np.float32)
    hair = np.array(hex_to_rgb(spec.hair.colour.hex), np.float32)

    eyes = _Builder(surf)
    lids = _Builder(surf)
    brows = _Builder(surf)
    for sx in (1.0, -1.0):
        cx = sx * ex
        X, Y = disc_grid(13)
        eyes.slab(cx + rx * X, ey + ry * Y * (1 - 0.08 * Y), DEPTH["sclera"], (0.98, 0.98, 1.0))
        X, Y = disc_grid(11)
        icy = ey + 0.06 * ry
        grad = np.clip((Y[..., None] + 1) / 2, 0, 1)  # 0 bottom .. 1 top
        icol = (iris * (1 - grad) * 1.1 + np.asarray(shade_of(tuple(iris), 0.45)) * grad).clip(0, 1)
        eyes.slab(cx + 0.62 * rx * X, icy + 0.8 * ry * Y, DEPTH["iris"], icol)
        X, Y = disc_grid(7)
        eyes.slab(cx + 0.27 * rx * X, icy + 0.42 * ry * Y, DEPTH["pupil"], iris * 0.22)
        eyes.slab(cx - 0.25 * rx + 0.17 * rx * X, icy + 0.35 * ry + 0.17 * rx * Y, DEPTH["shine"], (1.0, 1.0, 1.0))
        eyes.slab(cx + 0.22 * rx + 0.08 * rx * X, icy - 0.38 * ry + 0.08 * rx * Y, DEPTH["shine"], (1.0, 1.0, 1.0))
        _lid(lids, sx, cx, ey, rx, ry, skin)
        _brow(brows, sx, cx, ey + 0.75 * es, es, hair)
    parts = [eyes.part("eyes", Material("eyes", (0.98, 0.98, 1.0), shade_color=(0.85, 0.86, 0.92), outline_width=0.0)),
             lids.part("eyelids", Material("eyelids", tuple(skin), outline_width=0.0)),
             brows.part("brows", Material("brows", tuple(hair), outline_width=0.0))]
    mouth = _Builder(surf)
    _mouth(mouth, d["crown"] - 0.86 * h, 0.1 * W, h)
    parts.append(mouth.part("mouth", Material("mouth", INNER_MOUTH, outline_width=0.0)))
    nose = _Builder(surf)
    ny = d["crown"] - 0.74 * h - 0.035 * h
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 3))
    nose.slab(0.012 * h * X, ny + 0.004 * h * Y - 0.006 * h * (1 - X ** 2), (2e-4, 9e-4), np.asarray(shade_of(tuple(skin), 0.7)))
    parts.append(nose.part("nose", Material("nose", shade_of(tuple(skin), 0.7), outline_width=0.0)))
    return parts, []


def _lid(b: _Builder, sx: float, cx: float, ey: float, rx: float, ry: float, skin: np.ndarray) -> None:
    """Upper eyelid: a skin band whose lower rows are the lash line; ``blink`` pulls the lower edge
    below the eye, so the lid covers it fully."""
    C = 17
    u = np.linspace(-1, 1, C)
    # row positions (0 = upper edge, 1 = lash edge) at rest and closed: the lash rows (last two)
    # are a thick line at rest and a thin line across the closed lid
    g_rest = np.array([0.0, 0.15, 0.3, 0.4, 0.45, 0.5, 1.0])[:, None]
    g_shut = np.array([0.0, 0.25, 0.5, 0.75, 0.88, 0.9, 1.0])[:, None]
    R = len(g_rest)
    v = g_rest
    x = np.broadcast_to(cx + 1.12 * rx * u, (R, C))
    top_eye = np.sqrt(np.clip(1 - (1.12 * u) ** 2, 0, 1))
    y_up = ey + ry * (0.25 + 0.85 * np.sqrt(1 - u ** 2))
    lo_rest = ey + ry * (top_eye - 0.2)
    lo_blink = ey - ry * (1.1 * np.sqrt(1 - 0.97 * u ** 2) + 0.05)
    inner = np.clip(-sx * u, 0, 1)  # 1 at the inner (nose side) corner
    outer = np.clip(sx * u, 0, 1)

    def at(lo, up=y_up, k=0.0):
        return x, up + (g_rest + k * (g_shut - g_rest)) * (lo - up)

    def close(k):
        return lo_rest + k * (lo_blink - lo_rest), y_up, k

    col = np.where(np.arange(R)[:, None, None] >= R - 2, np.asarray(LASH, np.float32), skin)
    col = np.broadcast_to(col, (R, C, 3))
    shapes = {"blink": at(lo_blink, y_up, 1.0), "happy": at(*close(0.6)), "angry": at(*close(0.2 + 0.25 * inner)),
              "sad": at(*close(0.2 + 0.25 * outer)), "surprised": at(lo_rest + 0.08 * ry, y_up + 0.08 * ry)}
    shapes["blinkLeft" if sx > 0 else "blinkRight"] = shapes["blink"]
    b.slab(*at(lo_rest), DEPTH["lid"], col, shapes)


def _brow(b: _Builder, sx: float, cx: float, by: float, es: float, hair: np.ndarray) -> None:
    """A tapered brow arc; emotions move its inner/outer ends."""
    C, R = 11, 3
    t = np.linspace(0, 1, C)  # inner -> outer
    v = np.linspace(-1, 1, R)[:, None]
    x = cx + sx * (-0.45 + 1.0 * t) * 0.62 * es
    half = 0.055 * es * (1 - 0.55 * t)

    def shape(lift_in=0.0, lift_out=0.0, arch=0.0):
        y = by + 0.06 * es * np.sin(np.pi * t) * (1 + arch) - 0.04 * es * t + (lift_in * (1 - t) + lift_out * t) * es
        return np.broadcast_to(x, (R, C)), y + v * half

    shapes = {"angry": shape(-0.14, 0.05), "sad": shape(0.13, -0.05), "surprised": shape(0.16, 0.12, 0.8),
              "happy": shape(0.06, 0.04, 0.3)}
    b.slab(*shape(), DEPTH["brow"], shade_of(tuple(hair), 0.75), shapes)


def _mouth(b: _Builder, my: float, mw: float, h: float) -> None:
    """The mouth: a dark slab, a thin line at rest, opened and reshaped by vowels and emotions."""
    C, R = 15, 7
    u = np.linspace(-1, 1, C)
    v = np.linspace(-1, 1, R)[:, None]
    pinch = np.sqrt(1 - 0.88 * u ** 2)

    def shape(width=1.0, height=0.006, curve=0.0, flat_top=0.0):
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
