"""The anime body surface: an implicit sculpt of blended primitives, meshed by marching cubes.

Steps of :func:`build_surface`:
1. :func:`body_primitives` turns a :class:`~kyara.body.layout.Layout` into signed-distance
   primitives (torso loft, neck, head with carved eye sockets, limbs, hands with fingers, feet),
   each owned by one skeleton bone.
2. The field is the smooth union of all primitives, evaluated only inside each primitive's
   bounding box on a regular grid (voxel ~ height / 520).
3. Marching cubes (Lewiner) gives a closed, consistently oriented 2-manifold surface; a quadric
   decimation brings it to the triangle budget; the result is checked, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from kyara.body import sdf
from kyara.body.layout import Layout
from kyara.body.skeleton import FINGER_NAMES, finger_bones


@dataclass
class Primitive:
    name: str
    bone: str  # owning bone; 'torso' means split among hips/spine/chest/upperChest by height
    fn: Callable[[np.ndarray], np.ndarray]
    lo: np.ndarray  # [3] bounding box of the solid
    hi: np.ndarray
    k: float  # smooth-union radius with what came before, metres
    tau: float  # skin-weight temperature, metres
    carve: bool = False  # subtract instead of add


def _box_cone(a, b, ra, rb):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    r = max(ra, rb)
    return np.minimum(a, b) - r, np.maximum(a, b) + r


_PRIMITIVES: dict[int, tuple[Layout, list[Primitive]]] = {}  # id(layout) -> (layout, its primitives)
_PRIMITIVES_KEPT = 8


def body_primitives(layout: Layout) -> list[Primitive]:
    """All primitives of the body, in blend order (a new list of shared primitives).

    Building a character asks for them several times (surface, face, hair, garments); the last
    few layouts' primitives are kept (layouts are never changed once made), so the head's
    bisections are done once per body."""
    hit = _PRIMITIVES.get(id(layout))
    if hit is not None and hit[0] is layout:
        return list(hit[1])
    prims = _make_primitives(layout)
    while len(_PRIMITIVES) >= _PRIMITIVES_KEPT:
        _PRIMITIVES.pop(next(iter(_PRIMITIVES)))
    _PRIMITIVES[id(layout)] = (layout, prims)
    return list(prims)


def _make_primitives(layout: Layout) -> list[Primitive]:
    L = layout
    P = L.params
    d = L.dims
    H, h, W, D = d["H"], d["h"], d["W"], d["D"]
    prims: list[Primitive] = []

    def cone(name, bone, a, b, ra, rb, k, tau=None):
        lo, hi = _box_cone(a, b, ra, rb)
        a = np.asarray(a, float)
        b = np.asarray(b, float)
        prims.append(Primitive(name, bone, lambda p, a=a, b=b, ra=ra, rb=rb: sdf.round_cone(p, a, b, ra, rb),
                               lo, hi, k, tau if tau is not None else 0.3 * min(ra, rb)))

    def ell(name, bone, c, r, k, tau=None, carve=False):
        c = np.asarray(c, float)
        r = np.asarray(r, float)
        prims.append(Primitive(name, bone, lambda p, c=c, r=r: sdf.ellipsoid(p, c, r), c - r, c + r, k,
                               tau if tau is not None else 0.3 * float(np.min(r)), carve))

    j = L.joint
    # ---- torso: elliptical loft from the crotch to the base of the neck
    crotch, ul_y, neck_y = d["crotch"], d["upper_leg_y"], d["neck_y"]
    hip_half = d["hip_half"]
    T = d["torso_len"]

    def ellipse_half_width(girth: float, aspect: float) -> float:
        # Ramanujan's perimeter of an ellipse with half axes a, aspect*a, solved for a
        bq = aspect
        hh = ((1 - bq) / (1 + bq)) ** 2
        per_a = np.pi * (1 + bq) * (1 + 3 * hh / (10 + np.sqrt(4 - 3 * hh)))
        return girth / per_a

    waist_a = ellipse_half_width(d["waist_girth"], 0.72)
    chest_aspect = 0.66
    bust = P.bust
    # bust ellipsoids add girth; take part of the chest girth from them
    chest_a = ellipse_half_width(d["chest_girth"] * (1 - 0.05 * bust), chest_aspect)
    sh_x = d["shoulder_x"]
    r_ua = d["r_upper_arm"]
    spine_y, chest_y, uc_y = j("spine")[1], j("chest")[1], j("upperChest")[1]
    arm_y = d["arm_y"]
    neck_r = d["neck_r"]
    ys = np.array([crotch, ul_y, j("hips")[1] + 0.06 * T, spine_y, chest_y, uc_y, arm_y, neck_y + 0.02 * T])
    half_w = np.array([0.62 * hip_half, 0.93 * hip_half, 0.91 * hip_half, waist_a, chest_a,
                       max(0.96 * chest_a, 0.8 * sh_x), sh_x * 0.86, neck_r * 1.25])
    half_d = np.array([0.55 * hip_half, 0.7 * hip_half, 0.68 * hip_half, 0.72 * waist_a, chest_aspect * chest_a,
                       0.6 * max(0.96 * chest_a, 0.8 * sh_x), 0.5 * sh_x * 0.86, neck_r * 1.05])
    z_c = np.array([-0.01, -0.012, -0.012, -0.004, 0.0, -0.006, -0.012, -0.018]) * H
    bottom, top = crotch, neck_y + 0.02 * T
    lo = np.array([-half_w.max(), bottom, (z_c - half_d).min()])
    hi = np.array([half_w.max(), top, (z_c + half_d).max()])
    prims.append(Primitive("torso", "torso",
                           lambda p, ys=ys, hw=half_w, hd=half_d, zc=z_c, b0=bottom, t0=top:
                           sdf.loft(p, ys, hw, hd, zc, b0, t0, 0.35 * hd[0]),
                           lo, hi, 0.0, 0.12 * waist_a))
    # glutes
    for sx in (1.0, -1.0):
        ell(f"glute_{sx:+.0f}", "hips", [sx * 0.45 * hip_half, ul_y + 0.02 * T, -0.35 * hip_half],
            [0.5 * hip_half, 0.42 * hip_half, 0.38 * hip_half], 0.05 * hip_half)
    if bust > 0.02:
        br = 0.42 * chest_a * (0.55 + 0.45 * bust)
        for sx in (1.0, -1.0):
            ell(f"bust_{sx:+.0f}", "chest", [sx * 0.42 * chest_a, chest_y - 0.1 * br, chest_aspect * chest_a * 0.45],
                [br, 0.9 * br, 0.75 * br * (0.6 + 0.6 * bust)], 0.5 * br)
    # ---- neck
    head_z = d["head_z"]
    chin = d["chin"]
    crown = d["crown"]
    neck_top = np.array([0.0, chin + 0.3 * h, head_z - 0.12 * D])
    neck_bot = np.array([0.0, neck_y - 0.02 * T, j("neck")[2]])
    cone("neck", "neck", neck_bot, neck_top, 1.05 * neck_r, 0.95 * neck_r, 0.6 * neck_r, 0.3 * neck_r)
    # ---- head: cranium, lower face, cheeks, ears, nose; eye sockets carved at the end
    cr = np.array([0.47 * W, 0.46 * h, 0.5 * D])
    ell("cranium", "head", [0.0, crown - cr[1], head_z], cr, 0.08 * h, 0.1 * h)
    rc = 0.07 * h
    cone("jaw", "head", [0.0, crown - 0.6 * h, head_z + 0.06 * D], [0.0, chin + rc, head_z + 0.3 * D],
         0.36 * W, rc, 0.08 * h, 0.1 * h)
    for sx in (1.0, -1.0):
        ell(f"cheek_{sx:+.0f}", "head", [sx * 0.24 * W, crown - 0.66 * h, head_z + 0.18 * D],
            [0.19 * W, 0.16 * h, 0.22 * D], 0.06 * h, 0.1 * h)
        ell(f"ear_{sx:+.0f}", "head", [sx * 0.455 * W, d["eye_y"] - 0.02 * h, head_z - 0.05 * D],
            [0.045 * W, 0.1 * h, 0.07 * D], 0.015 * h, 0.05 * h)
    # ---- legs and feet
    r = d["r_thigh"]
    foot_len = d["foot_len"]
    for side, sx in (("left", 1.0), ("right", -1.0)):
        hip_j, knee_j, ankle_j = j(f"{side}UpperLeg"), j(f"{side}LowerLeg"), j(f"{side}Foot")
        thigh_top = hip_j + np.array([0.0, 0.35 * r, 0.0])
        # radii chosen so the mid-thigh radius equals r (linear taper)
        cone(f"thigh_{side}", f"{side}UpperLeg", thigh_top, knee_j, 1.12 * r, 0.88 * r, 0.5 * r)
        cone(f"shin_{side}", f"{side}LowerLeg", knee_j, ankle_j, 0.82 * r, d["r_ankle"], 0.3 * r)
        calf_c = knee_j + 0.33 * (ankle_j - knee_j) + np.array([0.0, 0.0, -0.2 * r])
        ell(f"calf_{side}", f"{side}LowerLeg", calf_c, [0.78 * r, 0.33 * (knee_j[1] - ankle_j[1]), 0.8 * r], 0.4 * r)
        # foot: heel and toe balls on the floor, widened across x, sole cut flat at y = 0
        z_back, z_front = -0.24 * foot_len, 0.76 * foot_len
        rh, rt = 0.13 * foot_len, 0.085 * foot_len
        heel = np.array([sx * d["leg_x"], rh, z_back + rh])
        toe = np.array([sx * d["leg_x"], rt, z_front - rt])
        centre = 0.5 * (heel + toe)
        scale = np.array([1.45, 1.0, 1.0])

        def foot_fn(p, heel=heel, toe=toe, rh=rh, rt=rt, centre=centre, scale=scale):
            dd = sdf.scaled(sdf.round_cone, p, centre, scale, heel, toe, rh, rt)
            return sdf.smax(dd, -p[:, 1], 0.2 * rt)

        lo = np.array([sx * d["leg_x"] - 1.45 * rh, 0.0, z_back])
        hi = np.array([sx * d["leg_x"] + 1.45 * rh, 2 * rh, z_front])
        prims.append(Primitive(f"foot_{side}", f"{side}Foot", foot_fn, lo, hi, 0.35 * d["r_ankle"], 0.25 * rt))
        cone(f"instep_{side}", f"{side}Foot", ankle_j, [sx * d["leg_x"], 0.75 * rh, 0.3 * foot_len],
             1.05 * d["r_ankle"], 0.9 * rh, 0.3 * d["r_ankle"])
    # ---- arms and hands
    for side, sx in (("left", 1.0), ("right", -1.0)):
        sh_j, up_j, el_j, wr_j = j(f"{side}Shoulder"), j(f"{side}UpperArm"), j(f"{side}LowerArm"), j(f"{side}Hand")
        cone(f"clavicle_{side}", f"{side}Shoulder", sh_j, up_j, 0.7 * r_ua, 1.1 * r_ua, 0.6 * r_ua, 0.3 * r_ua)
        cone(f"upperarm_{side}", f"{side}UpperArm", up_j, el_j, 1.1 * r_ua, d["r_elbow"], 0.3 * r_ua)
        cone(f"forearm_{side}", f"{side}LowerArm", el_j, wr_j, d["r_forearm"], d["r_wrist"], 0.3 * d["r_elbow"])
        hl, pl, pw = d["hand_len"], d["palm_len"], d["palm_w"]
        thick = 0.2 * pw
        pc = wr_j + np.array([sx * 0.52 * pl, -0.01 * hl, 0.0])
        half = np.array([0.52 * pl, 0.5 * thick, 0.5 * pw])
        prims.append(Primitive(f"palm_{side}", f"{side}Hand",
                               lambda p, pc=pc, half=half, rr=0.45 * thick: sdf.rounded_box(p, pc, half, rr),
                               pc - half, pc + half, 0.5 * d["r_wrist"], 0.25 * thick))
        fr = max(0.034 * hl, 0.0031 * H)  # small (chibi) hands: mitten-like rather than pinched fingers
        for finger in FINGER_NAMES:
            bones = finger_bones(side, finger)
            pts = [j(b) for b in bones] + [L.tips[f"{side}{finger}"]]
            base_r = fr * (1.2 if finger == "Thumb" else 1.0) * (0.85 if finger == "Little" else 1.0)
            for i, bone in enumerate(bones):
                ra = base_r * (1.0 - 0.08 * i)
                rb = base_r * (1.0 - 0.08 * (i + 1))
                k = 0.25 * thick if i == 0 else 0.3 * rb
                if finger == "Thumb" and i == 0:
                    ra, k = 1.5 * base_r, 0.4 * thick
                cone(f"{bone}", bone, pts[i], pts[i + 1], ra, rb, k, 0.3 * rb)
    # ---- nose and eye sockets last: they are placed on the surface found so far
    head_only = [q for q in prims if q.bone == "head"]

    def head_field(p):
        out = head_only[0].fn(p)
        for q in head_only[1:]:
            out = sdf.smin(out, q.fn(p), q.k)
        return out

    def front_z(x: float, y: float) -> float:
        lo_z, hi_z = head_z, head_z + 0.8 * D
        for _ in range(40):
            mid = 0.5 * (lo_z + hi_z)
            if head_field(np.array([[x, y, mid]]))[0] < 0:
                lo_z = mid
            else:
                hi_z = mid
        return 0.5 * (lo_z + hi_z)

    nose_y = crown - 0.74 * h
    nz = front_z(0.0, nose_y)
    ell("nose", "head", [0.0, nose_y, nz - 0.004 * h], [0.025 * h, 0.045 * h, 0.03 * h], 0.02 * h, 0.05 * h)
    es = P.eye_size * h
    ey = d["eye_y"]
    for sx in (1.0, -1.0):
        ex = sx * 0.21 * W
        ez = front_z(ex, ey)
        ell(f"eye_socket_{sx:+.0f}", "head", [ex, ey, ez + 0.004 * h], [0.4 * es, 0.7 * es, 0.045 * h],
            0.012 * h, 0.1 * h, carve=True)
    return prims


def evaluate_field(prims: list[Primitive], points: np.ndarray, carve: bool = True) -> np.ndarray:
    """The blended field at arbitrary points (slow path used for checks and measurements)."""
    out = np.full(len(points), 1e3)
    for q in prims:
        if q.carve:
            if carve:
                out = sdf.smax(out, -q.fn(points), q.k)
        else:
            out = sdf.smin(out, q.fn(points), q.k)
    return out


def primitive_boxes(prims: list[Primitive]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lo [P, 3], hi [P, 3], k [P])`` of ``prims``: what :func:`field_on_grid` culls by."""
    if not prims:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)
    return (np.stack([np.asarray(q.lo, dtype=np.float64) for q in prims]),
            np.stack([np.asarray(q.hi, dtype=np.float64) for q in prims]),
            np.array([q.k for q in prims], dtype=np.float64))


def field_on_grid(prims: list[Primitive], origin: np.ndarray, voxel: float, shape: tuple[int, int, int],
                  boxes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Evaluate the blended field on a regular grid, each primitive only inside its box (+ margin).

    ``boxes``: :func:`primitive_boxes` of ``prims`` when the caller keeps them (many grids, one
    body). The index ranges of all primitives are computed at once and the ones outside the grid
    skipped before the loop; :func:`field_on_grid_reference` is the one-primitive-at-a-time
    original the tests compare it with (equal bit for bit)."""
    field = np.full(shape, 1e3, dtype=np.float64)
    axes = [origin[i] + voxel * np.arange(shape[i]) for i in range(3)]
    lo_all, hi_all, k_all = primitive_boxes(prims) if boxes is None else boxes
    margin = (k_all + 3 * voxel)[:, None]
    size = np.array(shape)
    lo = np.clip(np.floor((lo_all - margin - origin) / voxel).astype(int), 0, size)
    hi = np.clip(np.ceil((hi_all + margin - origin) / voxel).astype(int) + 1, 0, size)
    for i in np.flatnonzero(np.all(hi > lo, axis=1)):
        q = prims[i]
        (x0, y0, z0), (x1, y1, z1) = lo[i], hi[i]
        gx, gy, gz = np.meshgrid(axes[0][x0:x1], axes[1][y0:y1], axes[2][z0:z1], indexing="ij")
        pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
        sub = field[x0:x1, y0:y1, z0:z1]
        val = q.fn(pts).reshape(sub.shape)
        if q.carve:
            sub[...] = sdf.smax(sub, -val, q.k)
        else:
            sub[...] = sdf.smin(sub, val, q.k)
    return field


def field_on_grid_reference(prims: list[Primitive], origin: np.ndarray, voxel: float,
                            shape: tuple[int, int, int]) -> np.ndarray:
    """Reference for :func:`field_on_grid`: every primitive's box worked out on its own."""
    field = np.full(shape, 1e3, dtype=np.float64)
    axes = [origin[i] + voxel * np.arange(shape[i]) for i in range(3)]
    for q in prims:
        margin = q.k + 3 * voxel
        lo = np.floor((q.lo - margin - origin) / voxel).astype(int)
        hi = np.ceil((q.hi + margin - origin) / voxel).astype(int) + 1
        lo = np.clip(lo, 0, np.array(shape))
        hi = np.clip(hi, 0, np.array(shape))
        if np.any(hi <= lo):
            continue
        gx, gy, gz = np.meshgrid(axes[0][lo[0]:hi[0]], axes[1][lo[1]:hi[1]], axes[2][lo[2]:hi[2]], indexing="ij")
        pts = np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1)
        sub = field[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        val = q.fn(pts).reshape(sub.shape)
        if q.carve:
            sub[...] = sdf.smax(sub, -val, q.k)
        else:
            sub[...] = sdf.smin(sub, val, q.k)
    return field


def build_surface(layout: Layout, target_faces: int = 30000, voxel: float | None = None) -> tuple[np.ndarray, np.ndarray, list[Primitive]]:
    """Mesh the body: ``(vertices [V,3] float64, faces [F,3] int64, primitives)``."""
    from skimage.measure import marching_cubes

    prims = body_primitives(layout)
    H = layout.dims["H"]
    lo = np.min([q.lo for q in prims if not q.carve], axis=0)
    hi = np.max([q.hi for q in prims if not q.carve], axis=0)
    if voxel is None:
        # ~height / 520, but at most ~24 M grid points (chibi heads make wide, deep boxes)
        vox = max(H / 520.0, float(np.prod(hi - lo) / 24e6) ** (1.0 / 3.0))
    else:
        vox = voxel
    lo = lo - 6 * vox
    hi = hi + 6 * vox
    lo[1] = -4 * vox
    shape = tuple(int(np.ceil((hi[i] - lo[i]) / vox)) + 1 for i in range(3))
    field = field_on_grid(prims, lo, vox, shape)
    # feet stand on y = 0: cut everything below the floor flat
    ys = lo[1] + vox * np.arange(shape[1])
    field = np.maximum(field, -ys[None, :, None])
    field[field == 0.0] = 1e-9  # no grid value exactly on the surface: no degenerate triangles
    verts, faces, _n, _v = marching_cubes(field.astype(np.float32), level=0.0, spacing=(vox, vox, vox),
                                          method="lewiner", allow_degenerate=False)
    verts = verts.astype(np.float64) + lo
    faces = faces.astype(np.int64)  # skimage's winding is outward for a negative-inside field
    return verts, faces, prims
