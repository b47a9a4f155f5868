"""Measurements for the hair tests, made on meshes and renders without the hair module's own
geometry code: connected locks, plane cuts, centre lines from mesh-edge distances, winding, and
CIEDE2000 colour differences (the project's, or a small reference when the colour module has none)."""

from __future__ import annotations

import numpy as np

try:  # the project's CIEDE2000 (kyara.character.colors); a small reference below otherwise
    from kyara.character.colors import delta_e2000, srgb_to_lab
except ImportError:  # pragma: no cover - depends on the colour module's version
    delta_e2000 = srgb_to_lab = None


def rgb(hex_: str) -> np.ndarray:
    """``#rrggbb`` -> sRGB in [0, 1]."""
    return np.array([int(hex_[i:i + 2], 16) for i in (1, 3, 5)], float) / 255.0


def lab(c) -> np.ndarray:
    """sRGB [..., 3] in [0, 1] -> CIE L*a*b* (D65)."""
    if srgb_to_lab is not None:
        return srgb_to_lab(c)
    c = np.clip(np.asarray(c, float), 0, 1)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def de2000_lab(l1, l2) -> float:
    """CIEDE2000 between two L*a*b* colours: the project's, else :func:`de2000_reference`."""
    if delta_e2000 is not None:
        return float(delta_e2000(np.asarray(l1, float), np.asarray(l2, float)))
    return de2000_reference(l1, l2)


def de2000_reference(l1, l2) -> float:
    """CIEDE2000 (kL = kC = kH = 1) as Sharma, Wu and Dalal (2005) write it out, for one pair."""
    L1, a1, b1 = l1
    L2, a2, b2 = l2
    cb = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(cb ** 7 / (cb ** 7 + 25 ** 7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    dH = 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    Lb, Cb = (L1 + L2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        hb = h1 + h2
    else:
        hb = (h1 + h2) / 2 if abs(h1 - h2) <= 180 else (h1 + h2 + (360 if h1 + h2 < 360 else -360)) / 2
    T = 1 - 0.17 * np.cos(np.radians(hb - 30)) + 0.24 * np.cos(np.radians(2 * hb)) + 0.32 * np.cos(np.radians(3 * hb + 6)) \
        - 0.20 * np.cos(np.radians(4 * hb - 63))
    sl = 1 + 0.015 * (Lb - 50) ** 2 / np.sqrt(20 + (Lb - 50) ** 2)
    sc, sh = 1 + 0.045 * Cb, 1 + 0.015 * Cb * T
    rt = -2 * np.sqrt(Cb ** 7 / (Cb ** 7 + 25 ** 7)) * np.sin(np.radians(60 * np.exp(-(((hb - 275) / 25) ** 2))))
    dl, dc, dhh = (L2 - L1) / sl, (c2 - c1) / sc, dH / sh
    return float(np.sqrt(dl ** 2 + dc ** 2 + dhh ** 2 + rt * dc * dhh))


def de(rgb1, rgb2) -> float:
    """CIEDE2000 between two sRGB colours in [0, 1]."""
    return de2000_lab(lab(np.asarray(rgb1, float)), lab(np.asarray(rgb2, float)))


def ink() -> np.ndarray:
    from kyara.render.toon import ToonStyle

    return np.round(np.array(ToonStyle().outline_color) * 255)


def mode(pixels: np.ndarray) -> np.ndarray:
    """The most frequent colour (sRGB in [0, 1]) of ``pixels [..., 3]`` that is not the ink lines' colour."""
    vals, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    counts[np.all(np.abs(vals - ink()) <= 1, axis=1)] = 0
    return vals[np.argmax(counts)] / 255.0


# -- mesh measures --------------------------------------------------------------------------------


def components(faces: np.ndarray, n: int) -> list[np.ndarray]:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(faces, np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    k, lab = connected_components(g, directed=False)
    return [np.flatnonzero(lab == i) for i in range(k)]


def section(v: np.ndarray, f: np.ndarray, point: np.ndarray, normal: np.ndarray, reach: float) -> tuple[float, np.ndarray]:
    """Cut the closed mesh ``(v, f)`` with the plane through ``point`` normal to ``normal``, keeping
    the cut segments within ``reach`` of ``point``: ``(enclosed area, centroid of the cut)``. The
    area is the shoelace sum over the segments, oriented by the faces' outward winding."""
    n = normal / np.linalg.norm(normal)
    sd = (v - point) @ n
    s0, s1, s2 = sd[f[:, 0]], sd[f[:, 1]], sd[f[:, 2]]
    cross = ~(((s0 > 0) & (s1 > 0) & (s2 > 0)) | ((s0 <= 0) & (s1 <= 0) & (s2 <= 0)))
    ff = f[cross]
    pts = []
    for a, b in ((0, 1), (1, 2), (2, 0)):
        da, db = sd[ff[:, a]], sd[ff[:, b]]
        hit = (da > 0) != (db > 0)
        t = np.where(hit, da / np.where(hit, da - db, 1.0), 0.0)
        pts.append((np.where(hit[:, None], v[ff[:, a]] + t[:, None] * (v[ff[:, b]] - v[ff[:, a]]), np.nan), hit))
    P = np.stack([p for p, _ in pts], 1)  # [M, 3 edges, 3]
    H = np.stack([h for _, h in pts], 1)
    two = H.sum(1) == 2  # (a vertex exactly on the plane counts on the inner side: always 0 or 2 hits)
    order = np.argsort(~H[two], axis=1, kind="stable")[:, :2]
    seg = np.take_along_axis(P[two], order[..., None], axis=1)  # [M, 2, 3]
    if not len(seg):
        return 0.0, point
    fn = np.cross(v[ff[:, 1]] - v[ff[:, 0]], v[ff[:, 2]] - v[ff[:, 0]])[two]
    mid = seg.mean(1)
    keep = np.linalg.norm(mid - point, axis=1) < reach
    seg, fn, mid = seg[keep], fn[keep], mid[keep]
    if not len(seg):
        return 0.0, point
    d = seg[:, 1] - seg[:, 0]
    flip = np.einsum("ij,ij->i", d, np.cross(n, fn)) < 0  # orient each cut along n x outward normal
    a, b = np.where(flip[:, None], seg[:, 1], seg[:, 0]), np.where(flip[:, None], seg[:, 0], seg[:, 1])
    area = 0.5 * abs(float(np.einsum("ij,j->i", np.cross(a - point, b - point), n).sum()))
    w = np.linalg.norm(d, axis=1)
    return area, (mid * w[:, None]).sum(0) / max(w.sum(), 1e-12)


def centreline(v: np.ndarray, f: np.ndarray, comp: np.ndarray, scalp: np.ndarray, samples: int = 60, k: int = 16):
    """A lock's centre line from its surface alone: graph distance over the mesh edges from the end
    that grows out of the hair cap (of the two ends, the one nearer the ``scalp`` points); at ``samples`` distances from root to tip the centroid of the ``k`` vertices
    nearest that distance (a few rings of the tube) and their cross-section area (pi * the product
    of the two spreads across the local direction). ``(centroids [S, 3], areas [S], length, largest
    spread [S])``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    X = v[comp]
    index = -np.ones(len(v), np.int64)
    index[comp] = np.arange(len(comp))
    ff = index[f[np.all(np.isin(f, comp), axis=1)]]
    e = np.concatenate([ff[:, [0, 1]], ff[:, [1, 2]], ff[:, [2, 0]]])
    w = np.linalg.norm(X[e[:, 0]] - X[e[:, 1]], axis=1) + 1e-12
    g = coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(X), len(X))).tocsr()
    a = int(np.argmax(np.linalg.norm(X - X.mean(0), axis=1)))
    da = dijkstra(g, directed=False, indices=a)
    b = int(np.argmax(da))
    db = dijkstra(g, directed=False, indices=b)
    from scipy.spatial import cKDTree

    near_a, near_b = cKDTree(scalp).query(X[[a, b]])[0]
    d = da if near_a < near_b else db
    L = float(d.max())
    near = [np.argsort(np.abs(d - s))[:k] for s in np.linspace(0.0, L, samples)]
    cents = np.array([X[i].mean(0) for i in near])
    areas, spread = np.zeros(samples), np.zeros(samples)
    t = np.gradient(cents, axis=0)
    for j, i in enumerate(near):
        tj = t[j] / max(np.linalg.norm(t[j]), 1e-12)
        P = X[i] - cents[j]
        P -= np.outer(P @ tj, tj)
        ev = np.sort(np.linalg.eigvalsh(np.cov(P.T)))[::-1]
        areas[j] = 4 * np.pi * np.sqrt(max(ev[0], 0) * max(ev[1], 0))
        spread[j] = np.sqrt(max(ev[0], 0))
    return cents, areas, L, spread


def tip_root_ratio(v: np.ndarray, f: np.ndarray, comp: np.ndarray, cents: np.ndarray, spread: np.ndarray) -> float:
    """Mean cut area at 85-95 % of a lock's centre line over the mean at 5-15 % (plane cuts normal
    to the centre line, kept within four spreads of the lock's root)."""
    ff = f[np.all(np.isin(f, comp), axis=1)]
    n = len(cents)
    w = max(2, n // 10)  # the direction over a tenth of the lock each way
    t = cents[np.minimum(np.arange(n) + w, n - 1)] - cents[np.maximum(np.arange(n) - w, 0)]
    reach = 4.0 * spread[: max(2, n // 5)].max()

    def mean_area(lo, hi):
        return np.mean([section(v, ff, cents[i], t[i], reach)[0] for i in range(int(lo * n), int(hi * n) + 1)
                        if np.linalg.norm(t[i]) > 1e-9])

    return float(mean_area(0.85, 0.95) / mean_area(0.05, 0.15))


def hanging_line(v: np.ndarray, f: np.ndarray, comp: np.ndarray, top: float, step: float) -> np.ndarray:
    """Centre line ``[S, 3]`` of the part of a lock below height ``top``: centroids of horizontal cuts
    every ``step`` metres."""
    ff = f[np.all(np.isin(f, comp), axis=1)]
    low = v[comp, 1].min()
    out = []
    for y in np.arange(top, low + 0.5 * step, -step):
        X = v[comp][np.abs(v[comp, 1] - y) < 2 * step]
        if not len(X):
            continue
        area, c = section(v, ff, np.array([X[:, 0].mean(), y, X[:, 2].mean()]), np.array([0.0, 1.0, 0.0]), 0.2)
        if area > 0:
            out.append(c)
    return np.array(out)


def winding(cents: np.ndarray, window: float = 0.17) -> tuple[float, float]:
    """``(turns, radius)``: how many times the centre line goes round its own running mean (the
    axis, averaged over ``window`` of the samples each way) and its median distance from it."""
    n = len(cents)
    half = max(2, int(window * n))
    a = np.array([cents[max(0, i - half):i + half + 1].mean(0) for i in range(n)])
    t = np.gradient(a, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    N = np.zeros_like(a)
    ref = np.array([1.0, 0, 0]) if abs(t[0, 0]) < 0.9 else np.array([0, 0, 1.0])
    N[0] = ref - (ref @ t[0]) * t[0]
    N[0] /= np.linalg.norm(N[0])
    for i in range(1, n):  # parallel transport along the axis
        q = N[i - 1] - (N[i - 1] @ t[i]) * t[i]
        N[i] = q / np.linalg.norm(q)
    B = np.cross(t, N)
    r = cents - a
    ang = np.unwrap(np.arctan2(np.einsum("ij,ij->i", r, B), np.einsum("ij,ij->i", r, N)))
    rad = np.linalg.norm(r - np.einsum("ij,ij->i", r, t)[:, None] * t, axis=1)
    return float(abs(ang[-1] - ang[0]) / (2 * np.pi)), float(np.median(rad[half:n - half]))


def front_hit_z(tri: np.ndarray, q: np.ndarray) -> float | None:
    """Largest z where the vertical line through ``q`` ``[2]`` meets triangles ``tri [T, 3, 3]``
    (seen from the front, +z towards the viewer), or None when it misses them all."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1, v2 = b[:, :2] - a[:, :2], c[:, :2] - a[:, :2], q - a[:, :2]
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    ok = np.abs(den) > 1e-16
    den = np.where(ok, den, 1.0)
    s = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    r = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    inside = ok & (s >= 0) & (r >= 0) & (s + r <= 1)
    if not inside.any():
        return None
    return float((a[:, 2] + s * (b[:, 2] - a[:, 2]) + r * (c[:, 2] - a[:, 2]))[inside].max())
