"""Step 3 of :func:`kyara.drawing.lift`: the silhouette lifted to a closed mesh (inflation).

In the spirit of Monster Mash: a height field over the silhouette, mirrored to the back.

1. **Grid**: the mask's box is sampled on a grid of :attr:`InflateConfig.grid` cells along its long
   side. The surface is the union of grid cells whose four corners are inside the mask, cleaned so
   that it is a 2-manifold with boundary: cells touching only at a corner and cells whose four
   corners all lie on the boundary (one-cell slivers, which would close on themselves) are removed,
   and the largest edge-connected piece is kept.
2. **Parts**: every grid point is given to the nearest body part of the 2D skeleton (head, torso
   quadrilateral, upper/lower arms and legs; :data:`PARTS`).
3. **Height**: per part, a Poisson problem ``-lap(u) = 2`` (grid units) with ``u = 0`` on the
   silhouette and *no* condition where the part meets another part (Neumann), so each part bulges
   by its own width: an arm is a tube of its own thickness where it meets the torso, not a slope
   of the torso's hill. The height is ``depth[part] * sqrt(u)`` -- the square-root profile turns the
   Poisson parabola into a round cross-section (a strip of half-width ``r`` becomes a half-disc of
   radius ``r``) -- then smoothed a few steps across the part seams.
4. **Mesh**: the front surface at ``+height``, its mirror at ``-height`` for the back, both sharing
   the silhouette's vertices (height 0), so the mesh is closed, consistently oriented (outward,
   counter-clockwise) and cannot intersect itself (front >= back everywhere). Silhouette vertices
   are relaxed along the outline so its staircase becomes a smooth curve.
5. **Layers**: an arm drawn across the torso (:mod:`kyara.drawing.layers` finds it and its pixels)
   leaves the body's silhouette -- except where the torso continues under it -- and goes through
   steps 1-4 on its own (its parts only), then is moved forward by a smooth offset that keeps its
   back at least :data:`LAYER_GAP` grid units before the body's front wherever the two overlap
   (:func:`front_offset`). Each layer is a closed surface of its own; they do not intersect at rest.

Units: the drawing's pixels map to metres by ``height_m / mask height``; x right = +X (the
character's left, as kyara's convention for a figure facing the viewer), y down = -Y, feet on Y = 0,
the mid-plane at Z = 0 (front = +Z).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARTS = ("head", "torso", "right_upper_arm", "right_lower_arm", "left_upper_arm", "left_lower_arm",
         "right_upper_leg", "right_lower_leg", "left_upper_leg", "left_lower_leg")
# depth of each part's cross-section relative to a round one (1: as deep as wide); the torso of a
# figure is flatter than wide, a head drawn as a disc is a ball
DEPTH = {"head": 1.25, "torso": 0.68}
SIDES = ("front", "back", "rim")


@dataclass(frozen=True)
class InflateConfig:
    grid: int = 128  # cells along the mask's long side (surface resolution)
    depth: tuple[tuple[str, float], ...] = tuple(DEPTH.items())  # per-part depth factor (others 1.0)
    smooth: int = 6  # smoothing steps of the height across part seams
    rim_relax: int = 4  # relaxation steps of the silhouette vertices along the outline
    part_layers: bool = True  # arms drawn across the torso: their own tube in front of it (kyara.drawing.layers)

    def __post_init__(self) -> None:
        if not (isinstance(self.grid, (int, np.integer)) and 24 <= int(self.grid) <= 512):
            raise ValueError(f"grid {self.grid!r} is out of range, expected 24..512 cells")
        for name, v in self.depth:
            if name not in PARTS or not (0.05 <= float(v) <= 4.0):
                raise ValueError(f"depth of {name!r} = {v!r}, expected a part of {', '.join(PARTS)} and 0.05..4")

    def depth_of(self, part: str) -> float:
        return float(dict(self.depth).get(part, 1.0))


@dataclass
class Inflated:
    """The lifted surface in the drawn pose."""

    vertices: np.ndarray  # [V, 3] float64 metres (drawn pose)
    faces: np.ndarray  # [F, 3] int64, outward CCW
    pixels: np.ndarray  # [V, 2] float64: each vertex' (x, y) in drawing pixels
    side: np.ndarray  # [V] int8: 0 front, 1 back, 2 rim (silhouette, shared)
    part: np.ndarray  # [V] int16 index into PARTS
    grid_index: np.ndarray  # [V] int64 flat index of the vertex' grid point
    grid_shape: tuple[int, int]  # (rows, cols) of the grid
    grid_mask: np.ndarray  # [rows, cols] bool: grid points used by the surface
    grid_part: np.ndarray  # [rows, cols] int16: part per grid point (-1 outside)
    to_grid: tuple[float, float, float]  # (scale, x0, y0): grid = (pixel - (x0, y0)) * scale
    metres_per_pixel: float
    floor_px: float  # the drawing's y (pixels) of Y = 0
    centre_px: float  # the drawing's x (pixels) of X = 0
    notes: list[str] = field(default_factory=list)
    layer: np.ndarray | None = None  # [V] int8: the layer of each vertex, index into layer_names (0: the body)
    layer_names: tuple[str, ...] = ("body",)  # "body", then the front layers ("right_arm", "left_arm")
    layer_masks: np.ndarray | None = None  # [L, rows, cols] bool: grid points used by each layer
    covered: np.ndarray | None = None  # [H, W] bool: drawing pixels of the front layers (None: no layers)

    def __post_init__(self) -> None:
        if self.layer is None:
            self.layer = np.zeros(len(self.vertices), dtype=np.int8)
        if self.layer_masks is None:
            self.layer_masks = np.asarray(self.grid_mask, dtype=bool)[None]

    def to_world(self, xy: np.ndarray) -> np.ndarray:
        """Drawing pixels ``[..., 2]`` -> world ``[..., 3]`` on the mid-plane (Z = 0), metres."""
        xy = np.asarray(xy, dtype=np.float64)
        s = self.metres_per_pixel
        return np.stack([(xy[..., 0] - self.centre_px) * s, (self.floor_px - xy[..., 1]) * s,
                         np.zeros(xy.shape[:-1])], axis=-1)


# -- 1. grid ------------------------------------------------------------------------------------
def grid_frame(mask: np.ndarray, grid: int) -> tuple[float, float, float, int, int]:
    """The grid over the mask's box: (scale: grid points per pixel, x0, y0: the pixel of grid point
    (0, 0), rows, cols); two empty grid points of margin on every side."""
    from kyara.detect.drawings import mask_box

    x0, y0, x1, y1 = mask_box(mask)
    side = max(x1 - x0 + 1, y1 - y0 + 1)
    scale = (grid - 1) / side  # grid points per pixel
    pad = 2
    ox, oy = x0 - pad / scale, y0 - pad / scale  # pixel coordinates of grid point (0, 0)
    cols = int(np.ceil((x1 - x0 + 1) * scale)) + 2 * pad + 1
    rows = int(np.ceil((y1 - y0 + 1) * scale)) + 2 * pad + 1
    return scale, ox, oy, rows, cols


def grid_of(mask: np.ndarray, grid: int) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The mask resampled on the grid -> (``[rows, cols]`` bool, (scale, x0, y0))."""
    frame = grid_frame(mask, grid)
    return sample_on_grid(mask, frame), frame[:3]


def sample_on_grid(mask: np.ndarray, frame: tuple[float, float, float, int, int]) -> np.ndarray:
    """``mask [H, W]`` (bool) sampled at the grid points of ``frame`` (:func:`grid_frame`) ->
    ``[rows, cols]`` bool."""
    import cv2

    scale, ox, oy, rows, cols = frame
    # the grid point (i, j) sits at pixel (ox + j / scale, oy + i / scale): an affine warp samples it
    M = np.array([[1.0 / scale, 0.0, ox], [0.0, 1.0 / scale, oy]], dtype=np.float64)
    blur = max(0.0, 0.5 / scale - 0.5)
    src = mask.astype(np.float32)
    if blur > 0.3:
        src = cv2.GaussianBlur(src, (0, 0), blur)
    g = cv2.warpAffine(src, M, (cols, rows), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return g >= 0.5


def surface_cells(points: np.ndarray) -> np.ndarray:
    """Cells ``[rows - 1, cols - 1]`` bool of the grid points ``points [rows, cols]``, cleaned to a
    manifold surface with boundary (module doc, step 1)."""
    from scipy.ndimage import label

    p = points
    cells = p[:-1, :-1] & p[1:, :-1] & p[:-1, 1:] & p[1:, 1:]
    for _ in range(64):
        changed = False
        # a grid point whose cells touch only diagonally: drop the cell with fewer neighbours
        c = np.pad(cells, 1)
        a, b = c[:-1, :-1], c[1:, 1:]  # cells NW and SE of each grid point
        d, e = c[:-1, 1:], c[1:, :-1]  # NE and SW
        diag1 = a & b & ~d & ~e
        diag2 = d & e & ~a & ~b
        if diag1.any() or diag2.any():
            kill = np.zeros_like(c)
            ii, jj = np.nonzero(diag1)
            kill[ii + 1, jj + 1] = True  # SE cell of the point
            ii, jj = np.nonzero(diag2)
            kill[ii + 1, jj] = True  # SW cell
            cells &= ~kill[1:-1, 1:-1]
            changed = True
        # slivers: cells whose four corners are all on the boundary
        on = _corner_count(cells)  # cells around each grid point
        boundary_pt = (on > 0) & (on < 4)
        sliver = boundary_pt[:-1, :-1] & boundary_pt[1:, :-1] & boundary_pt[:-1, 1:] & boundary_pt[1:, 1:] & cells
        if sliver.any():
            cells &= ~sliver
            changed = True
        # an edge inside the surface joining two boundary points would glue front and back along it:
        # drop the cell beside it with more boundary corners
        hz = boundary_pt[:, :-1] & boundary_pt[:, 1:]  # horizontal edges (i, j)-(i, j+1)
        hz[0, :] = hz[-1, :] = False
        inner_h = hz[1:-1] & cells[:-1] & cells[1:]  # cells above (i-1, j) and below (i, j) both exist
        vt = boundary_pt[:-1, :] & boundary_pt[1:, :]  # vertical edges (i, j)-(i+1, j)
        vt[:, 0] = vt[:, -1] = False
        inner_v = vt[:, 1:-1] & cells[:, :-1] & cells[:, 1:]
        if inner_h.any() or inner_v.any():
            corners = (boundary_pt[:-1, :-1].astype(int) + boundary_pt[1:, :-1] + boundary_pt[:-1, 1:]
                       + boundary_pt[1:, 1:])
            kill = np.zeros_like(cells)
            ii, jj = np.nonzero(inner_h)  # edge between cells (ii, jj) above and (ii + 1, jj) below
            up = corners[ii, jj] >= corners[ii + 1, jj]
            kill[ii[up], jj[up]] = True
            kill[ii[~up] + 1, jj[~up]] = True
            ii, jj = np.nonzero(inner_v)  # edge between cells (ii, jj) left and (ii, jj + 1) right
            left = corners[ii, jj] >= corners[ii, jj + 1]
            kill[ii[left], jj[left]] = True
            kill[ii[~left], jj[~left] + 1] = True
            cells &= ~kill
            changed = True
        if not changed:
            break
    lab, n = label(cells)  # 4-connected: pieces joined by an edge
    if n > 1:
        counts = np.bincount(lab.ravel())
        counts[0] = 0
        cells = lab == int(np.argmax(counts))
    return cells


def _corner_count(cells: np.ndarray) -> np.ndarray:
    """``[rows, cols]``: how many of the (up to 4) cells around each grid point are in ``cells``."""
    c = np.pad(cells.astype(np.int8), 1)
    return c[:-1, :-1] + c[1:, 1:] + c[:-1, 1:] + c[1:, :-1]


# -- 2. parts -----------------------------------------------------------------------------------
def segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points ``p [N, 2]`` to the segment ``a``-``b``."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def inside_polygon(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """``[N]`` bool: points ``p [N, 2]`` inside the polygon ``poly [K, 2]`` (even-odd rule)."""
    x, y = p[:, 0][:, None], p[:, 1][:, None]
    xa, ya = poly[:, 0][None, :], poly[:, 1][None, :]
    xb, yb = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    crosses = (ya > y) != (yb > y)
    xi = xa + (y - ya) * (xb - xa) / np.where(yb != ya, yb - ya, 1.0)
    return (crosses & (x < xi)).sum(axis=1) % 2 == 1


def part_segments(skel) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The 2D segments (drawing pixels) of each part of :data:`PARTS`."""
    j = skel.joint
    nose, neck = j("nose"), j("neck")
    pelvis = np.asarray(skel.pelvis, dtype=np.float64)
    up = nose - neck  # the head's part runs on from the neck through its centre, wherever it was drawn
    out = {"head": [(neck + 0.5 * up, nose + 0.6 * up)],
           "torso": [(neck, pelvis), (j("right_shoulder"), j("left_shoulder")), (j("right_hip"), j("left_hip"))]}
    for side in ("right", "left"):
        sh, el, wr = j(f"{side}_shoulder"), j(f"{side}_elbow"), j(f"{side}_wrist")
        hp, kn, an = j(f"{side}_hip"), j(f"{side}_knee"), j(f"{side}_ankle")
        out[f"{side}_upper_arm"] = [(sh, el)]
        out[f"{side}_lower_arm"] = [(el, wr + 0.5 * (wr - el))]
        out[f"{side}_upper_leg"] = [(hp, kn)]
        out[f"{side}_lower_leg"] = [(kn, an + 0.3 * (an - kn))]
    return out


def torso_polygon(skel) -> np.ndarray:
    """``[4, 2]`` shoulders and hips (pixels), in order around."""
    j = skel.joint
    return np.stack([j("right_shoulder"), j("left_shoulder"), j("left_hip"), j("right_hip")])


def part_labels(points_px: np.ndarray, skel, only: tuple[str, ...] | None = None,
                exclude: tuple[str, ...] = ()) -> np.ndarray:
    """``[N]`` int16: the part (index into :data:`PARTS`) nearest to each point ``[N, 2]`` (pixels);
    the torso is the quadrilateral of shoulders and hips (distance 0 inside) and its spine. ``only``
    / ``exclude``: the parts to choose from (default all) / to leave out."""
    p = np.asarray(points_px, dtype=np.float64)
    segs = part_segments(skel)
    allowed = [n for n in (PARTS if only is None else only) if n not in exclude]
    dist = np.full((len(PARTS), len(p)), np.inf)
    for k, name in enumerate(PARTS):
        if name in allowed:
            for a, b in segs[name]:
                dist[k] = np.minimum(dist[k], segment_distance(p, a, b))
    if "torso" in allowed:
        dist[PARTS.index("torso"), inside_polygon(p, torso_polygon(skel))] = 0.0
    return np.argmin(dist, axis=0).astype(np.int16)


# -- 3. height ----------------------------------------------------------------------------------
def poisson_heights(inner: np.ndarray, part: np.ndarray, regular: float = 1e-4) -> np.ndarray:
    """Solve ``-lap(u) = 2`` per part on the grid: ``inner [rows, cols]`` bool marks the unknowns
    (points of the surface off its boundary; every other point is ``u = 0``), ``part [rows, cols]``
    the part of each point. Neighbours of another part are left out of a point's stencil (Neumann).
    Returns ``u [rows, cols]`` (0 off ``inner``)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import spsolve

    rows, cols = inner.shape
    idx = -np.ones(inner.shape, dtype=np.int64)
    ii, jj = np.nonzero(inner)
    n = len(ii)
    if n == 0:
        return np.zeros(inner.shape)
    idx[ii, jj] = np.arange(n)
    diag = np.full(n, regular)
    r_, c_ = [], []
    pi = part[ii, jj]
    for di, dj in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        i2, j2 = ii + di, jj + dj
        ok = (i2 >= 0) & (i2 < rows) & (j2 >= 0) & (j2 < cols)
        i2c, j2c = np.clip(i2, 0, rows - 1), np.clip(j2, 0, cols - 1)
        nb = np.where(ok, idx[i2c, j2c], -1)
        same = (part[i2c, j2c] == pi) & ok
        coupled = (nb >= 0) & same
        dirichlet = ~ok | (idx[i2c, j2c] < 0)  # off the surface's inside: u = 0
        diag += coupled + dirichlet
        k = np.flatnonzero(coupled)
        r_.append(k)
        c_.append(nb[k])
    r, c = np.concatenate(r_), np.concatenate(c_)
    A = csr_matrix((np.r_[diag, -np.ones(len(r))], (np.r_[np.arange(n), r], np.r_[np.arange(n), c])), shape=(n, n))
    u = spsolve(A.tocsc(), np.full(n, 2.0))
    out = np.zeros(inner.shape)
    out[ii, jj] = np.maximum(u, 0.0)
    return out


def front_offset(required: np.ndarray, used: np.ndarray, steps: int = 40) -> np.ndarray:
    """A smooth offset ``z >= required`` on the grid points ``used [rows, cols]``: ``steps`` times, each
    point takes the larger of its requirement and the mean of its used neighbours (Neumann at the
    layer's edge) -> ``[rows, cols]`` (0 off ``used``)."""
    z = np.where(used, required, 0.0)
    w = np.pad(used, 1).astype(np.float64)
    n = w[:-2, 1:-1] + w[2:, 1:-1] + w[1:-1, :-2] + w[1:-1, 2:]
    for _ in range(steps):
        p = np.pad(z, 1)
        total = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]  # z is 0 off used
        avg = np.where(n > 0, total / np.maximum(n, 1.0), z)
        z = np.where(used, np.maximum(required, avg), 0.0)
    return z


def smooth_heights(h: np.ndarray, inner: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` Jacobi steps of Laplacian smoothing of ``h`` on ``inner`` (others stay)."""
    out = h.copy()
    for _ in range(steps):
        p = np.pad(out, 1)
        avg = 0.25 * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:])
        out = np.where(inner, 0.5 * out + 0.5 * avg, out)
    return out


# -- 4. mesh ------------------------------------------------------------------------------------
def _relax_rim(xy: np.ndarray, rim: np.ndarray, edges: np.ndarray, steps: int) -> np.ndarray:
    """Move rim vertices (``rim [V]`` bool) towards the mean of their rim neighbours along the
    outline ``edges [E, 2]`` (boundary edges), ``steps`` times."""
    if steps <= 0 or len(edges) == 0:
        return xy
    out = xy.copy()
    a, b = edges[:, 0], edges[:, 1]
    for _ in range(steps):
        acc = np.zeros_like(out)
        cnt = np.zeros(len(out))
        np.add.at(acc, a, out[b])
        np.add.at(acc, b, out[a])
        np.add.at(cnt, a, 1)
        np.add.at(cnt, b, 1)
        move = rim & (cnt > 0)
        out[move] = 0.5 * out[move] + 0.5 * acc[move] / cnt[move, None]
    return out


def heights(cells: np.ndarray, frame, skel, cfg: InflateConfig, only: tuple[str, ...] | None = None,
            exclude: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Steps 2-3 on one surface's ``cells``: (used ``[rows, cols]`` bool, inner ``[rows, cols]`` bool,
    part ``[rows, cols]`` int16 (-1 off the surface), height ``[rows, cols]`` in grid units)."""
    scale, ox, oy = frame[:3]
    count = _corner_count(cells)
    used, inner = count > 0, count == 4
    gi, gj = np.nonzero(used)
    px = np.stack([ox + gj / scale, oy + gi / scale], axis=1)  # pixel position of each used grid point
    part = np.full(used.shape, -1, dtype=np.int16)
    part[gi, gj] = part_labels(px, skel, only, exclude)
    u = poisson_heights(inner, np.where(used, part, -1))
    depth = np.array([cfg.depth_of(p) for p in PARTS])
    h = np.where(inner, depth[np.maximum(part, 0)] * np.sqrt(u), 0.0)
    return used, inner, part, smooth_heights(h, inner, cfg.smooth)


def closed_mesh(cells: np.ndarray, used: np.ndarray, inner: np.ndarray, frame, rim_relax: int):
    """Step 4 on one surface: (xy ``[V, 2]`` pixels, grid rows ``[V]``, grid cols ``[V]``, side ``[V]``
    int8, z sign ``[V]`` (+1 front, -1 back, 0 rim), faces ``[F, 3]``): one vertex per rim grid point,
    a front and a back one per inner point; outward counter-clockwise."""
    from kyara.render.edges import edge_topology

    scale, ox, oy = frame[:3]
    vid_front = -np.ones(used.shape, dtype=np.int64)
    vid_back = -np.ones(used.shape, dtype=np.int64)
    rim_i, rim_j = np.nonzero(used & ~inner)
    in_i, in_j = np.nonzero(inner)
    n_rim, n_in = len(rim_i), len(in_i)
    vid_front[rim_i, rim_j] = np.arange(n_rim)
    vid_back[rim_i, rim_j] = np.arange(n_rim)
    vid_front[in_i, in_j] = n_rim + np.arange(n_in)
    vid_back[in_i, in_j] = n_rim + n_in + np.arange(n_in)
    gi_all = np.r_[rim_i, in_i, in_i]
    gj_all = np.r_[rim_j, in_j, in_j]
    side = np.r_[np.full(n_rim, 2), np.zeros(n_in), np.ones(n_in)].astype(np.int8)
    zsign = np.r_[np.zeros(n_rim), np.ones(n_in), -np.ones(n_in)]
    ci, cj = np.nonzero(cells)
    # a cell (i, j) has corners a=(i, j) b=(i, j+1) c=(i+1, j+1) d=(i+1, j); seen from the front (+Z,
    # y of the image pointing down = -Y) a -> d -> c is counter-clockwise
    A = (ci, cj)
    B = (ci, cj + 1)
    C = (ci + 1, cj + 1)
    D = (ci + 1, cj)
    # the diagonal a-c, unless both its ends are on the rim (front and back would share it): then b-d
    flip = ~inner[A] & ~inner[C]
    f_front = np.concatenate([np.stack([vid_front[A], vid_front[D], vid_front[C]], 1),
                              np.stack([vid_front[A], vid_front[C], vid_front[B]], 1)])
    f_front_bd = np.concatenate([np.stack([vid_front[A], vid_front[D], vid_front[B]], 1),
                                 np.stack([vid_front[B], vid_front[D], vid_front[C]], 1)])
    f_front = np.where(np.r_[flip, flip][:, None], f_front_bd, f_front)
    back_of = np.arange(n_rim + n_in)
    back_of[n_rim:] += n_in  # front inner vertex -> its back twin
    f_back = back_of[f_front[:, ::-1]]
    faces = np.concatenate([f_front, f_back]).astype(np.int64)
    xy = np.stack([ox + gj_all / scale, oy + gi_all / scale], axis=1)
    # the outline: edges of cells on one cell only (the front triangles' boundary)
    topo = edge_topology(f_front, n_rim + 2 * n_in)
    outline = topo.vertices[topo.faces[:, 1] < 0].astype(np.int64)
    xy = _relax_rim(xy, side == 2, outline, rim_relax)
    return xy, gi_all, gj_all, side, zsign, faces


LAYER_GAP = 0.3  # grid units between a front layer's back and the body's front


def inflate(mask: np.ndarray, skel, config: InflateConfig | None = None, height_m: float = 1.5,
            layers: list | tuple = ()) -> Inflated:
    """Lift the silhouette ``mask [H, W]`` (bool, drawing pixels) of the character whose joints are
    ``skel`` (:class:`kyara.drawing.skeleton.Skeleton2D`) to a closed mesh ``height_m`` metres tall
    (module doc). ``layers``: parts drawn in front of the torso (:func:`kyara.drawing.layers.front_layers`):
    each leaves the body's silhouette except where the torso continues under it and becomes a closed
    surface of its own, in front of the body's (its back at least :data:`LAYER_GAP` grid units before
    the body's front wherever they overlap). Raises ``ValueError`` when the figure is too thin to make a
    surface of."""
    cfg = config or InflateConfig()
    from kyara.detect.drawings import mask_box

    frame = grid_frame(mask, cfg.grid)
    scale, ox, oy, rows, cols = frame
    notes: list[str] = []
    kept = []  # (layer, its cells)
    for lay in layers:
        lcells = surface_cells(sample_on_grid(lay.region, frame))
        if lcells.sum() < 16:
            notes.append(f"the {lay.name.replace('_', ' ')} across the torso is too thin for a layer of its own")
        else:
            kept.append((lay, lcells))
    body, exclude = mask, ()
    for lay, _ in kept:
        body = body & ~(lay.region & ~lay.hidden)
        exclude += tuple(lay.parts)
    pts = sample_on_grid(body, frame)
    cells = surface_cells(pts)
    if cells.sum() < 16:
        raise ValueError("the figure is too thin to lift (its parts are narrower than a few pixels: drawn as single "
                         "lines?), expected a figure with a filled or outlined body")
    # the surface must keep most of the figure: strokes-only limbs vanish here
    lost = 1.0 - cells.sum() / max(1, (pts[:-1, :-1] & pts[1:, 1:]).sum())
    if lost > 0.15:
        notes.append(f"the grid lost {100 * lost:.0f} % of the figure's area (thin parts)")
    used, inner, part, h = heights(cells, frame, skel, cfg, exclude=exclude)
    surfaces = [(cells, used, inner, part, h, np.zeros(used.shape))]  # per layer, the body first
    names, covered = ["body"], np.zeros(mask.shape, dtype=bool)
    body_front = np.where(used, h, 0.0)
    grid_part = part.copy()
    for lay, lcells in kept:
        lused, linner, lpart, lh = heights(lcells, frame, skel, cfg, only=tuple(lay.parts))
        required = np.where(used, body_front + lh + LAYER_GAP, 0.0)
        surfaces.append((lcells, lused, linner, lpart, lh, front_offset(required, lused)))
        names.append(lay.name)
        covered |= lay.region
        grid_part = np.where(lused, lpart, grid_part)
        what = "of its length inside" if lay.why == "across the torso" else "of its forearm touching"
        notes.append(f"the {lay.name.replace('_', ' ')} is drawn {lay.why}: inflated as its own part in "
                     f"front of it ({100 * lay.share:.0f} % {what})")

    x0, y0, x1, y1 = mask_box(mask)
    mpp = float(height_m) / (y1 - y0 + 1.0)
    floor = y1 + 0.5
    centre = 0.5 * (x0 + x1)
    verts, faces, pixels, sides, parts, gidx, layer = [], [], [], [], [], [], []
    n = 0
    for k, (c, u_, i_, p_, h_, z0) in enumerate(surfaces):
        xy, gi, gj, side, zsign, f = closed_mesh(c, u_, i_, frame, cfg.rim_relax)
        z = (z0[gi, gj] + zsign * h_[gi, gj]) / scale * mpp  # grid units -> pixels -> metres
        verts.append(np.stack([(xy[:, 0] - centre) * mpp, (floor - xy[:, 1]) * mpp, z], axis=1))
        faces.append(f + n)
        pixels.append(xy)
        sides.append(side)
        parts.append(p_[gi, gj])
        gidx.append(gi * cols + gj)
        layer.append(np.full(len(xy), k, dtype=np.int8))
        n += len(xy)
    layer_masks = np.stack([s_[1] for s_ in surfaces])
    return Inflated(np.concatenate(verts), np.concatenate(faces).astype(np.int64), np.concatenate(pixels),
                    np.concatenate(sides), np.concatenate(parts).astype(np.int16),
                    np.concatenate(gidx).astype(np.int64), (rows, cols), layer_masks.any(axis=0), grid_part,
                    (scale, ox, oy), mpp, floor, centre, notes, np.concatenate(layer), tuple(names), layer_masks,
                    covered if len(surfaces) > 1 else None)
