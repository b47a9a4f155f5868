"""Step 5 of :func:`kyara.drawing.lift`: the VRM skeleton, skin weights, and the T-pose.

1. **Bones** (:func:`drawn_joints`): COCO-18 joints and the pelvis become VRM bones in the drawn
   pose (metres, on the mid-plane): ``hips`` = pelvis, ``spine``/``chest``/``upperChest`` at 20/45/70 %
   of the way to the ``neck`` (the shoulders' midpoint), ``head`` 40 % of the way from the neck to the
   head's centre, shoulders/elbows/wrists = upper arm/lower arm/hand, hips/knees/ankles = upper
   leg/lower leg/foot. A head drawn *below* the shoulders (the neck-to-head direction pointing down
   or sideways) keeps its pixels on the head bone, but the bone is placed straight above the neck,
   so the VRM skeleton stays upright and every motion turns the head about its own neck.
2. **Weights** (:func:`skin_weights`): harmonic weights over the silhouette's grid (BBW-style
   without the bounds): every grid point is given to its nearest bone segment; points in the middle
   half of their bone and at least three grid cells nearer to it than to any other bone are fixed to
   that bone alone, and the rest are the solution of Laplace's
   equation over the silhouette (Neumann at its edge), so weights change smoothly across joints and
   never leak across a gap of the drawing (between the legs). Front and back share a grid point's
   weights. The four largest are kept and renormalized (glTF's limit). An arm drawn across the
   torso has a surface of its own (:mod:`kyara.drawing.layers`): it is weighted to its own three
   bones over its own grid points, and the body under it to the other bones, so the two move apart.
3. **T-pose** (:func:`bake_tpose`): the drawn pose's limbs are turned onto the T-pose (arms along
   +-X, legs down; :func:`kyara.avatar.convert.tpose_rotations`) with those weights, the fingers,
   toes and eyes are completed in the T-pose (:func:`kyara.avatar.convert.complete_skeleton`), and
   the feet are put on Y = 0: every motion kyara retargets then plays on the lifted character.
"""

from __future__ import annotations

import numpy as np

from kyara.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS

WEIGHTED = ("hips", "spine", "chest", "upperChest", "neck", "head",
            "leftUpperArm", "leftLowerArm", "leftHand", "rightUpperArm", "rightLowerArm", "rightHand",
            "leftUpperLeg", "leftLowerLeg", "leftFoot", "rightUpperLeg", "rightLowerLeg", "rightFoot")
"""Bones that carry skin weight (fingers, toes, eyes, jaw and shoulders carry none)."""
CORE_RANGE = (0.25, 0.75)  # the part of a bone (fraction of its length) whose points are fixed to it


def _side(coco: str) -> str:
    return "left" if coco.startswith("left") else "right"


def drawn_joints(skel, inflated, crown_px: float) -> tuple[dict[str, np.ndarray], list[str]]:
    """Main VRM bones in the drawn pose (metres, Z = 0) from the 2D joints (module doc, step 1) ->
    (bone -> position, notes)."""
    w = inflated.to_world
    j = skel.joint
    P: dict[str, np.ndarray] = {}
    notes: list[str] = []
    pelvis, neck, nose = w(skel.pelvis), w(j("neck")), w(j("nose"))
    P["hips"] = pelvis
    for name, t in (("spine", 0.2), ("chest", 0.45), ("upperChest", 0.7)):
        P[name] = pelvis + t * (neck - pelvis)
    P["neck"] = neck
    up = nose - neck
    if up[1] < 0.5 * np.linalg.norm(up) or np.linalg.norm(up) < 1e-6:  # the head is not above the neck
        reach = max(float(np.linalg.norm(up)), 0.05)
        P["head"] = neck + np.array([0.0, 0.4 * reach, 0.0])
        notes.append("the head is drawn below (or beside) the shoulders: its bone stands upright above the neck")
    else:
        P["head"] = neck + 0.4 * up
    for side in ("left", "right"):
        P[f"{side}UpperArm"] = w(j(f"{side}_shoulder"))
        P[f"{side}LowerArm"] = w(j(f"{side}_elbow"))
        P[f"{side}Hand"] = w(j(f"{side}_wrist"))
        P[f"{side}UpperLeg"] = w(j(f"{side}_hip"))
        P[f"{side}LowerLeg"] = w(j(f"{side}_knee"))
        P[f"{side}Foot"] = w(j(f"{side}_ankle"))
    crown = float(w(np.array([0.0, crown_px]))[1])
    P["_crown"] = np.array([P["head"][0], max(crown, P["head"][1] + 1e-3), 0.0])
    return P, notes


def bone_segments(P: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The 3D segment (drawn pose) each weighted bone covers: its joint to its child's."""
    seg = {"hips": (P["hips"], P["spine"]), "spine": (P["spine"], P["chest"]),
           "chest": (P["chest"], P["upperChest"]), "upperChest": (P["upperChest"], P["neck"]),
           "neck": (P["neck"], P["head"]), "head": (P["head"], P["_crown"])}
    for s in ("left", "right"):
        seg[f"{s}UpperArm"] = (P[f"{s}UpperArm"], P[f"{s}LowerArm"])
        seg[f"{s}LowerArm"] = (P[f"{s}LowerArm"], P[f"{s}Hand"])
        fore = P[f"{s}Hand"] - P[f"{s}LowerArm"]
        seg[f"{s}Hand"] = (P[f"{s}Hand"], P[f"{s}Hand"] + 0.5 * fore)
        seg[f"{s}UpperLeg"] = (P[f"{s}UpperLeg"], P[f"{s}LowerLeg"])
        seg[f"{s}LowerLeg"] = (P[f"{s}LowerLeg"], P[f"{s}Foot"])
        shin = P[f"{s}Foot"] - P[f"{s}LowerLeg"]
        seg[f"{s}Foot"] = (P[f"{s}Foot"], P[f"{s}Foot"] + 0.35 * shin)
    return seg


def _nearest_bone(p: np.ndarray, segs: dict[str, tuple[np.ndarray, np.ndarray]], allowed=WEIGHTED
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point ``[N, 2]``: (index into WEIGHTED of the nearest bone segment of ``allowed``,
    parameter t along it, how much nearer it is than the second nearest)."""
    d = np.full((len(WEIGHTED), len(p)), np.inf)
    t = np.zeros((len(WEIGHTED), len(p)))
    for k, name in enumerate(WEIGHTED):
        if name not in allowed:
            continue
        a, b = segs[name][0][:2], segs[name][1][:2]
        ab = b - a
        tt = ((p - a) @ ab) / max(float(ab @ ab), 1e-12)
        tc = np.clip(tt, 0.0, 1.0)
        d[k] = np.linalg.norm(p - (a + tc[:, None] * ab), axis=1)
        t[k] = tt
    order = np.argsort(d, axis=0)
    k, k2 = order[0], order[1]
    cols = np.arange(len(p))
    lead = d[k2, cols] - d[k, cols]
    return k, t[k, cols], np.where(np.isfinite(lead), lead, np.inf)


LAYER_BONES = {"right_arm": ("rightUpperArm", "rightLowerArm", "rightHand"),
               "left_arm": ("leftUpperArm", "leftLowerArm", "leftHand")}
"""The bones of each front layer (:mod:`kyara.drawing.layers`); the body layer takes the others."""


def layer_bones(names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The bones each layer of ``names`` (``Inflated.layer_names``) is skinned to."""
    front = {b for n in names[1:] for b in LAYER_BONES[n]}
    return [tuple(b for b in WEIGHTED if b not in front)] + [LAYER_BONES[n] for n in names[1:]]


def harmonic_weights(points: np.ndarray, fixed: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Harmonic interpolation on a grid: ``points [rows, cols]`` bool (the domain, Neumann at its
    edge), ``fixed [rows, cols]`` bool, ``values [rows, cols, K]`` (read where fixed) -> ``[rows, cols, K]``."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import splu

    rows, cols = points.shape
    ii, jj = np.nonzero(points)
    n = len(ii)
    idx = -np.ones(points.shape, dtype=np.int64)
    idx[ii, jj] = np.arange(n)
    r_, c_ = [], []
    for di, dj in ((0, 1), (1, 0)):
        i2, j2 = ii + di, jj + dj
        ok = (i2 < rows) & (j2 < cols)
        nb = np.full(n, -1)
        nb[ok] = idx[i2[ok], j2[ok]]
        k = np.flatnonzero(nb >= 0)
        r_.append(k)
        c_.append(nb[k])
    r, c = np.concatenate(r_), np.concatenate(c_)
    W = csr_matrix((np.ones(2 * len(r)), (np.r_[r, c], np.r_[c, r])), shape=(n, n))
    L = csr_matrix((np.asarray(W.sum(axis=1)).ravel(), (np.arange(n), np.arange(n))), shape=(n, n)) - W
    fx = fixed[ii, jj]
    vals = values[ii, jj]  # [n, K]
    out = np.zeros((n, values.shape[-1]))
    out[fx] = vals[fx]
    free = np.flatnonzero(~fx)
    if len(free):
        Lff = L[free][:, free].tocsc()
        Lfc = L[free][:, np.flatnonzero(fx)]
        rhs = -(Lfc @ vals[fx])
        # points cut off from every fixed point (a stray island): a tiny pull to an even mix
        Lff = Lff + csr_matrix((np.full(len(free), 1e-9), (np.arange(len(free)), np.arange(len(free)))),
                               shape=Lff.shape).tocsc()
        out[free] = splu(Lff).solve(np.asarray(rhs, dtype=np.float64))
    grid = np.zeros((rows, cols, values.shape[-1]))
    grid[ii, jj] = out
    return grid


def layer_weights(inflated, used: np.ndarray, segs: dict[str, tuple[np.ndarray, np.ndarray]],
                  bones: tuple[str, ...]) -> np.ndarray:
    """Harmonic weights ``[rows, cols, len(WEIGHTED)]`` of the bones ``bones`` over the grid points
    ``used [rows, cols]`` of one layer (module doc, step 2)."""
    rows, cols = inflated.grid_shape
    scale, ox, oy = inflated.to_grid
    gi, gj = np.nonzero(used)
    px = np.stack([ox + gj / scale, oy + gi / scale], axis=1)
    world = inflated.to_world(px)[:, :2]
    k, t, lead = _nearest_bone(world, segs, bones)
    margin = 3.0 / scale * inflated.metres_per_pixel  # three grid cells: fixed points of two bones never touch
    core = (t >= CORE_RANGE[0]) & (t <= CORE_RANGE[1]) & (lead > margin)
    for b in np.unique(k):  # a short bone (a hand, the neck) whose middle has no clear point: its clearest ones
        mine = k == b
        if not (core & mine).any():
            clear = mine & (lead > margin)
            core |= clear if clear.any() else (mine & (lead == lead[mine].max()))
    fixed = np.zeros(used.shape, dtype=bool)
    fixed[gi, gj] = core
    values = np.zeros((rows, cols, len(WEIGHTED)))
    values[gi, gj, k] = 1.0
    return harmonic_weights(used, fixed, values)


def skin_weights(inflated, P: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(``[V, 4]`` int64 bone indices into the 55 VRM bones, ``[V, 4]`` float32 weights) of the lifted
    mesh (module doc, step 2)."""
    from kyara.pose.lbs import dense_to_sparse_weights

    segs = bone_segments(P)
    dense = np.zeros((len(inflated.vertices), len(WEIGHTED)))
    for layer, (used, bones) in enumerate(zip(inflated.layer_masks, layer_bones(inflated.layer_names))):
        grid = layer_weights(inflated, used, segs, bones)
        mine = inflated.layer == layer
        dense[mine] = grid.reshape(-1, len(WEIGHTED))[inflated.grid_index[mine]]
    dense = np.clip(dense, 0.0, None)
    dense /= np.maximum(dense.sum(axis=1, keepdims=True), 1e-12)
    idx, w = dense_to_sparse_weights(dense, 4)
    bones = np.array([BONE_INDEX[b] for b in WEIGHTED], dtype=np.int64)
    w = np.where(w > 0, w, 0.0)
    w = (w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)
    return bones[idx], w


def full_rest(P: dict[str, np.ndarray]) -> np.ndarray:
    """``[55, 3]`` drawn-pose joints: the main bones, others placed by :func:`complete_skeleton`."""
    from kyara.avatar.convert import complete_skeleton

    main = {k: v for k, v in P.items() if not k.startswith("_")}
    joints, _, _ = complete_skeleton(main, float(P["_crown"][1]))
    return joints


def bake_tpose(vertices: np.ndarray, joint_indices: np.ndarray, joint_weights: np.ndarray,
               P: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The drawn pose turned into the T-pose (module doc, step 3) -> (vertices ``[V, 3]``, rest joints
    ``[55, 3]``, head tip ``[3]``, the drawn pose's local rotations ``[55, 3, 3]`` relative to that
    T-pose), feet on Y = 0."""
    from kyara.avatar.convert import complete_skeleton, tpose_rotations
    from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms, sparse_to_dense_weights

    drawn = full_rest(P)
    rot = tpose_rotations(drawn, PARENTS, 0.0)
    if rot is None:
        rot = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    g_rot, g_pos = forward_kinematics(rot, np.zeros(3), drawn, PARENTS)
    A = skinning_transforms(g_rot, g_pos, drawn)
    dense = sparse_to_dense_weights(joint_indices, joint_weights.astype(np.float64), NUM_BONES)
    verts = linear_blend_skinning(np.asarray(vertices, dtype=np.float64), dense, A)
    head = BONE_INDEX["head"]
    crown = g_rot[head] @ (P["_crown"] - drawn[head]) + g_pos[head]
    main = {b: g_pos[BONE_INDEX[b]] for b in P if not b.startswith("_")}
    rest, head_tip, _ = complete_skeleton(main, float(crown[1]))
    low = float(verts[:, 1].min())
    shift = np.array([0.0, -low, 0.0])
    # the way back: world rotations G^T, local L_j = G_parent G_j^T
    parent_g = np.where((PARENTS >= 0)[:, None, None], g_rot[np.maximum(PARENTS, 0)], np.eye(3))
    drawn = np.einsum("jab,jcb->jac", parent_g, g_rot)
    return verts + shift, rest + shift, head_tip + shift, drawn
