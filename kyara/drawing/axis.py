"""The medial axis of a drawn figure as a graph: what :mod:`kyara.drawing.skeleton` matches to a
humanoid and checks for one.

:func:`axis_graph` skeletonizes the mask (traced at :data:`AXIS_SIDE` pixels on the figure's box,
holes filled so the axis has no loops), links its pixels into a graph (8-neighbours, without the
diagonal steps that would close triangles) and prunes spurs shorter than :data:`SPUR` of the
figure's height (fingers, hair strands, bumps of the outline). Nodes carry their position in the
drawing's pixels and their distance to the figure's edge. Helpers walk it: branches from the end
points, paths from a shortest-path tree, points at an arc length, and the figure's width across a
limb (:func:`chord_widths`) or along a row (:func:`row_width`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AXIS_SIDE = 192  # pixels: the medial axis is traced on the mask's box scaled to this long side
SPUR = 0.06  # shorter branches off a junction are pruned (fingers, strands, bumps of the outline)


@dataclass
class AxisGraph:
    xy: np.ndarray  # [N, 2] float64 node positions, drawing pixels
    radius: np.ndarray  # [N] float64 distance to the mask's edge, drawing pixels
    graph: object  # scipy.sparse csr [N, N], edge length in drawing pixels
    degree: np.ndarray  # [N]
    box: tuple[float, float, float, float]  # the mask's box, drawing pixels (x0, y0, x1, y1)
    mask: np.ndarray | None = None  # [H, W] bool, the figure (drawing pixels)

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1] + 1.0

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0] + 1.0

    def neighbours(self, i: int) -> np.ndarray:
        g = self.graph
        return g.indices[g.indptr[i]:g.indptr[i + 1]]


def axis_graph(mask: np.ndarray) -> AxisGraph:
    """The medial axis (skeletonized mask, traced at :data:`AXIS_SIDE` px) as a graph, spurs shorter
    than :data:`SPUR` of the figure's height pruned."""
    import cv2
    from scipy.ndimage import binary_fill_holes, distance_transform_edt
    from scipy.sparse import csr_matrix
    from skimage.morphology import skeletonize

    from kyara.detect.drawings import mask_box

    x0, y0, x1, y1 = mask_box(mask)
    pad = 2
    crop = mask[int(y0):int(y1) + 1, int(x0):int(x1) + 1].astype(np.uint8)
    s = AXIS_SIDE / max(crop.shape)
    w, h = max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))
    small = cv2.resize(crop * 255, (w, h), interpolation=cv2.INTER_AREA) >= 128
    small = np.pad(small, pad)
    small = cv2.morphologyEx(small.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    small = binary_fill_holes(small)  # a hole would make a loop of the axis
    sk = skeletonize(small)
    dt = distance_transform_edt(small)
    ys, xs = np.nonzero(sk)
    n = len(ys)
    index = -np.ones(sk.shape, dtype=np.int64)
    index[ys, xs] = np.arange(n)
    rows, cols, lens = [], [], []
    padded = np.pad(sk, 1)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        y2, x2 = ys + dy, xs + dx
        ok = (y2 >= 0) & (y2 < sk.shape[0]) & (x2 >= 0) & (x2 < sk.shape[1])
        if dy and dx:  # a diagonal step where an L-shaped one exists closes a triangle: left out
            ok &= ~padded[ys + 1, xs + dx + 1] & ~padded[ys + dy + 1, xs + 1]
        j = np.full(n, -1)
        j[ok] = index[y2[ok], x2[ok]]
        good = j >= 0
        rows.append(np.flatnonzero(good))
        cols.append(j[good])
        lens.append(np.full(int(good.sum()), np.hypot(dy, dx) / s))
    r, c, L = np.concatenate(rows), np.concatenate(cols), np.concatenate(lens)
    g = csr_matrix((np.r_[L, L], (np.r_[r, c], np.r_[c, r])), shape=(n, n))
    g.sum_duplicates()
    deg = np.diff(g.indptr)
    xy = np.stack([(xs - pad + 0.5) / s - 0.5 + x0, (ys - pad + 0.5) / s - 0.5 + y0], axis=1)
    full = AxisGraph(xy, dt[ys, xs] / s, g, deg, (x0, y0, x1, y1), np.asarray(mask, dtype=bool))
    return prune(full, SPUR * full.height)


def branches(g: AxisGraph, ends: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """For each end point: (axis length in pixels to the nearest junction (degree >= 3), the nodes
    from the end up to, not including, that junction)."""
    out = np.zeros(len(ends))
    nodes: list[list[int]] = []
    for k, e in enumerate(ends):
        prev, cur, length = -1, int(e), 0.0
        walk = []
        for _ in range(len(g.xy)):
            nb = [int(v) for v in g.neighbours(cur) if v != prev]
            if cur != e and g.degree[cur] >= 3:
                break
            walk.append(cur)
            if not nb:
                break
            nxt = nb[0]
            length += float(np.hypot(*(g.xy[nxt] - g.xy[cur])))
            prev, cur = cur, nxt
        out[k] = length
        nodes.append(walk)
    return out, nodes


def branch_lengths(g: AxisGraph, ends: np.ndarray) -> np.ndarray:
    return branches(g, ends)[0]


def subgraph(g: AxisGraph, keep: np.ndarray) -> AxisGraph:
    """The graph of the nodes where ``keep [N]`` is true."""
    idx = np.flatnonzero(keep)
    sub = g.graph[idx][:, idx].tocsr()
    return AxisGraph(g.xy[idx], g.radius[idx], sub, np.diff(sub.indptr), g.box, g.mask)


def prune(g: AxisGraph, min_length: float, rounds: int = 4) -> AxisGraph:
    """``g`` without its spurs: branches shorter than ``min_length`` pixels that end at a junction
    (fingers, hair strands, bumps of the outline), removed ``rounds`` times over."""
    for _ in range(rounds):
        ends = np.flatnonzero(g.degree == 1)
        if len(ends) == 0:
            break
        lengths, nodes = branches(g, ends)
        keep = np.ones(len(g.xy), dtype=bool)
        for L, walk in zip(lengths, nodes):
            if L < min_length and len(walk) < len(g.xy) and g.degree[walk[-1]] <= 2:
                last = walk[-1]
                nb = [int(v) for v in g.neighbours(last) if v not in walk]
                if any(g.degree[v] >= 3 for v in nb):  # a spur off a junction, not a piece on its own
                    keep[walk] = False
        if keep.all():
            break
        g = subgraph(g, keep)
    return g


def components(g: AxisGraph) -> np.ndarray:
    from scipy.sparse.csgraph import connected_components

    return connected_components(g.graph, directed=False)[1]


def limb_ends(g: AxisGraph) -> tuple[np.ndarray, np.ndarray]:
    """(end nodes of the axis' largest piece, their branch lengths)."""
    if len(g.xy) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    comp = components(g)
    main = np.argmax(np.bincount(comp))
    ends = np.flatnonzero((g.degree == 1) & (comp == main))
    return ends, branch_lengths(g, ends)


# -- humanoid check -----------------------------------------------------------------------------

def path_to(pred: np.ndarray, end: int) -> list[int]:
    out = [int(end)]
    while pred[out[-1]] >= 0:
        out.append(int(pred[out[-1]]))
    return out[::-1]


def arc_lengths(g: AxisGraph, path: list[int]) -> np.ndarray:
    p = g.xy[path]
    return np.r_[0.0, np.cumsum(np.hypot(*np.diff(p, axis=0).T))]


def point_at(g: AxisGraph, path: list[int], s: float) -> np.ndarray:
    """The point at arc length ``s`` along ``path`` (clamped)."""
    arc = arc_lengths(g, path)
    s = float(np.clip(s, 0.0, arc[-1]))
    return np.array([np.interp(s, arc, g.xy[path, 0]), np.interp(s, arc, g.xy[path, 1])])


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the common prefix of two paths from the same start."""
    n = 0
    for u, v in zip(a, b):
        if u != v:
            break
        n += 1
    return n



def chord_widths(g: AxisGraph, path: list[int], across=None) -> np.ndarray:
    """``[P]`` the figure's width (pixels) across ``path`` at each node: the chord of the mask through
    the node along ``across`` (a unit direction; default: perpendicular to the limb's overall
    direction, its first node to its last)."""
    p = g.xy[path]
    n = len(p)
    if across is None:
        d = p[-1] - p[0]
        d = d / max(float(np.linalg.norm(d)), 1e-9)
        across = (-d[1], d[0])
    normal = np.broadcast_to(np.asarray(across, dtype=np.float64), (n, 2))
    m = g.mask
    h, w = m.shape
    reach = int(max(h, w))
    t = np.arange(1, reach, dtype=np.float64)
    out = np.zeros(n)
    for sign in (1.0, -1.0):
        q = p[:, None, :] + sign * t[None, :, None] * normal[:, None, :]  # [P, T, 2]
        xi, yi = np.rint(q[..., 0]).astype(np.int64), np.rint(q[..., 1]).astype(np.int64)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        on = np.zeros(inside.shape, dtype=bool)
        on[inside] = m[yi[inside], xi[inside]]
        first_off = np.where((~on).any(axis=1), np.argmax(~on, axis=1), len(t))
        out += first_off + 0.5
    return out


def row_width(mask: np.ndarray, x: float, y: float) -> float:
    """Width (pixels) of the mask's horizontal run through ``(x, y)`` (0 off the mask)."""
    h, w = mask.shape
    yi, xi = int(np.clip(round(y), 0, h - 1)), int(np.clip(round(x), 0, w - 1))
    row = mask[yi]
    if not row[xi]:
        return 0.0
    off = np.flatnonzero(~row)
    left = off[off < xi]
    right = off[off > xi]
    return float((right[0] if len(right) else w) - (left[-1] if len(left) else -1) - 1)
