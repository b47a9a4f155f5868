"""Read body parameters back from the mesh, as documented in ``PARAM_SPECS`` (rest T-pose).

Independent of how the surface was built: every figure comes from the vertices/faces (slices,
extents) or the skeleton, so tests can compare requested and measured values.
"""

from __future__ import annotations

import numpy as np

from kyara.body.model import Body


def _slice_loops(vertices: np.ndarray, faces: np.ndarray, y: float) -> list[np.ndarray]:
    """Polylines of the horizontal cross-section at height ``y`` (trimesh's section)."""
    import trimesh

    m = trimesh.Trimesh(vertices, faces, process=False)
    sec = m.section(plane_origin=[0.0, y, 0.0], plane_normal=[0.0, 1.0, 0.0])
    if sec is None:
        return []
    return [np.asarray(d) for d in sec.discrete]


def _loop_perimeter(loop: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(loop, axis=0), axis=1).sum())


def _torso_loop(loops: list[np.ndarray]) -> np.ndarray:
    """The loop that encloses x = 0 (the torso), i.e. the one nearest the centre line."""
    best = min(loops, key=lambda l: abs(l[:, 0].mean()) + 0.0 * len(l))
    return best


def measure_body(body: Body) -> dict[str, float]:
    """Measured values of the parameters (same names and units as :class:`BodyParams`)."""
    v = body.vertices.astype(np.float64)
    f = body.faces
    L = body.layout
    j = L.joint
    height = float(v[:, 1].max() - v[:, 1].min())
    crown = float(v[:, 1].max())
    neck_j = j("neck")
    # the neck's front surface at mid-neck height; the chin is the lowest point in front of it
    neck_low_y = neck_j[1] + 0.25 * (j("head")[1] - neck_j[1])
    neck_front = float(_torso_loop(_slice_loops(v, f, neck_low_y))[:, 2].max())
    # well in front of the neck (the upper chest near the neck base stays behind this line)
    approx_head = crown - float(v[:, 1][v[:, 1] > neck_j[1]].min())
    ahead = (v[:, 2] > neck_front + 0.1 * approx_head) & (v[:, 1] > neck_j[1]) & (np.abs(v[:, 0]) < 0.15 * height)
    chin = float(v[ahead, 1].min())
    head_h = crown - chin
    head = v[v[:, 1] > chin]
    head_w = float(head[:, 0].max() - head[:, 0].min())
    head_d = float(head[:, 2].max() - head[:, 2].min())
    # eye sockets: surface inside the uncarved head field by more than 0.5 mm
    from kyara.body.surface import body_primitives, evaluate_field

    prims = body_primitives(L)
    solid = [q for q in prims if not q.carve]
    near_face = np.flatnonzero((v[:, 1] > chin) & (v[:, 2] > 0) & (v[:, 0] > 0))
    uncarved = evaluate_field(solid, v[near_face])
    socket = v[near_face[uncarved < -0.01 * head_h]]
    eye_size = float(socket[:, 1].max() - socket[:, 1].min()) / head_h if len(socket) else 0.0
    eye_height = (crown - 0.5 * float(socket[:, 1].max() + socket[:, 1].min())) / head_h if len(socket) else 0.0
    # neck
    neck_len = (chin - neck_j[1]) / head_h
    mid_neck = 0.5 * (chin + neck_j[1])
    loops = _slice_loops(v, f, mid_neck)
    neck_loop = _torso_loop(loops) if loops else np.zeros((1, 3))
    neck_thick = float(neck_loop[:, 0].max() - neck_loop[:, 0].min()) / head_w
    shoulder = float(np.linalg.norm(j("leftUpperArm") - j("rightUpperArm"))) / height
    chest_loops = _slice_loops(v, f, j("chest")[1])
    chest = _loop_perimeter(_torso_loop(chest_loops)) / height
    waist_loops = _slice_loops(v, f, j("spine")[1])
    waist = _loop_perimeter(_torso_loop(waist_loops)) / height
    hip_y = j("leftUpperLeg")[1]
    hip_sl = v[np.abs(v[:, 1] - hip_y) < 0.003 * height]
    hip_loops = _slice_loops(v, f, hip_y)
    hip_pts = np.concatenate(hip_loops) if hip_loops else hip_sl
    hip_width = float(hip_pts[:, 0].max() - hip_pts[:, 0].min()) / height
    arm = float(np.linalg.norm(j("leftHand") - j("leftUpperArm"))) / height
    centre = v[np.abs(v[:, 0]) < 0.004 * height]
    centre = centre[centre[:, 1] > 0.1 * height]
    crotch = float(centre[centre[:, 1] < j("hips")[1], 1].min()) / height
    thigh_y = 0.5 * (j("leftUpperLeg")[1] + j("leftLowerLeg")[1])
    thigh_loops = [l for l in _slice_loops(v, f, thigh_y) if l[:, 0].mean() > 0]
    thigh = max(thigh_loops, key=len)
    limb = float(thigh[:, 0].max() - thigh[:, 0].min()) / height
    hand_j = j("leftHand")
    hand = float(v[:, 0].max() - hand_j[0]) / height
    foot = v[(v[:, 0] > 0) & (v[:, 1] < j("leftFoot")[1])]
    foot_len = float(foot[:, 2].max() - foot[:, 2].min()) / height
    return {
        "height": height,
        "heads_tall": height / head_h,
        "head_width": head_w / head_h,
        "head_depth": head_d / head_h,
        "eye_size": eye_size,
        "eye_height": eye_height,
        "neck_length": neck_len,
        "neck_thickness": neck_thick,
        "shoulder_width": shoulder,
        "chest": chest,
        "waist": waist,
        "hip_width": hip_width,
        "arm_length": arm,
        "leg_length": crotch,
        "limb_thickness": limb,
        "hand_size": hand,
        "foot_size": foot_len,
    }
