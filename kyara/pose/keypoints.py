"""OpenPose keypoints of a posed body: COCO-18 body, 21 + 21 hand and 70 face points.

Body joints come from the skeleton (shoulders = upper-arm joints, ...); nose, eyes and ears
are vertices of the head surface; hand points are finger joints plus fingertips; the face points
are the 70 landmark vertices of :mod:`kyara.body.anchors`. Everything is batched over frames.

Which keypoints a view shows (:func:`visible_keypoints`): a keypoint is dropped only when a
*different* body part hides it, as ControlNet skeletons and DreamWaltz-G draw them. The body is cut
into :data:`SEGMENT_NAMES` by each vertex's dominant bone; hair, garments and accessories belong to
no segment and hide nothing. A joint lies between two segments (the elbow between upper arm and
forearm) and both are its own; nose, eyes and face landmarks own the head; ears own nothing, so
the head hides the far ear in a side view (the OpenPose convention) while both show from the front.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyara.body.model import Body
from kyara.body.skeleton import BONE_INDEX, FINGER_NAMES, PARENTS, finger_bones

# COCO-18: (kind, name) with kind 'joint' (skeleton bone head), 'mid' (shoulder midpoint) or 'vertex'
BODY_SOURCES: tuple[tuple[str, str], ...] = (
    ("vertex", "nose"),
    ("mid", "neck"),
    ("joint", "rightUpperArm"),
    ("joint", "rightLowerArm"),
    ("joint", "rightHand"),
    ("joint", "leftUpperArm"),
    ("joint", "leftLowerArm"),
    ("joint", "leftHand"),
    ("joint", "rightUpperLeg"),
    ("joint", "rightLowerLeg"),
    ("joint", "rightFoot"),
    ("joint", "leftUpperLeg"),
    ("joint", "leftLowerLeg"),
    ("joint", "leftFoot"),
    ("vertex", "rightEye"),
    ("vertex", "leftEye"),
    ("vertex", "rightEar"),
    ("vertex", "leftEar"),
)


@dataclass
class Keypoints3D:
    """World-space keypoints, metres. Leading dims are frames (or none)."""

    body: np.ndarray  # [..., 18, 3]
    hand_left: np.ndarray  # [..., 21, 3]
    hand_right: np.ndarray  # [..., 21, 3]
    face: np.ndarray  # [..., 70, 3]
    head_center: np.ndarray | None = None  # [..., 3] head joint
    head_forward: np.ndarray | None = None  # [..., 3] unit vector the face looks along

    def all(self) -> np.ndarray:
        """[..., 130, 3] body, left hand, right hand, face concatenated."""
        return np.concatenate([self.body, self.hand_left, self.hand_right, self.face], axis=-2)


def _posed_points(body: Body, g_rot: np.ndarray, g_pos: np.ndarray, vertex_ids: np.ndarray) -> np.ndarray:
    """Skin only the given vertices: [..., K, 3]."""
    from kyara.pose.lbs import skinning_transforms

    A = skinning_transforms(g_rot, g_pos, body.rest_joints)  # [..., J, 3, 4]
    idx = body.joint_indices[vertex_ids]  # [K, 4]
    w = body.joint_weights[vertex_ids].astype(np.float64)  # [K, 4]
    p = np.concatenate([body.vertices[vertex_ids].astype(np.float64), np.ones((len(vertex_ids), 1))], axis=1)
    M = np.einsum("kc,...kcij->...kij", w, A[..., idx, :, :])  # [..., K, 3, 4]
    return np.einsum("...kij,kj->...ki", M, p)


def _tip(body: Body, g_rot: np.ndarray, g_pos: np.ndarray, bone: str, tip_name: str) -> np.ndarray:
    j = BONE_INDEX[bone]
    offset = body.layout.tips[tip_name] - body.rest_joints[j]
    return g_pos[..., j, :] + np.einsum("...ik,k->...i", g_rot[..., j, :, :], offset)


def body_keypoints(body: Body, rotations: np.ndarray, translation: np.ndarray | None = None) -> Keypoints3D:
    """Keypoints of ``body`` posed by ``rotations`` [..., J, 3, 3] (or quaternions [..., J, 4])."""
    from kyara.pose.lbs import forward_kinematics
    from kyara.pose.rotations import quat_to_matrix

    rot = np.asarray(rotations, dtype=np.float64)
    if rot.shape[-1] == 4:
        rot = quat_to_matrix(rot)
    if translation is None:
        translation = np.zeros(rot.shape[:-3] + (3,))
    g_rot, g_pos = forward_kinematics(rot, translation, body.rest_joints, PARENTS)
    vert_names = [name for kind, name in BODY_SOURCES if kind == "vertex"]
    tri_verts = body.faces[body.face_triangles].astype(np.int64).ravel()  # [70 * 3]
    vert_ids = np.array([body.anchors[n] for n in vert_names] + list(tri_verts), dtype=np.int64)
    vp = _posed_points(body, g_rot, g_pos, vert_ids)
    named = {n: vp[..., i, :] for i, n in enumerate(vert_names)}
    corners = vp[..., len(vert_names):, :].reshape(vp.shape[:-2] + (-1, 3, 3))  # [..., 70, 3, 3]
    face = np.einsum("...kci,kc->...ki", corners, body.face_bary)
    pts = []
    for kind, name in BODY_SOURCES:
        if kind == "joint":
            pts.append(g_pos[..., BONE_INDEX[name], :])
        elif kind == "mid":
            pts.append(0.5 * (g_pos[..., BONE_INDEX["leftUpperArm"], :] + g_pos[..., BONE_INDEX["rightUpperArm"], :]))
        else:
            pts.append(named[name])
    hands = {}
    for side in ("left", "right"):
        hp = [g_pos[..., BONE_INDEX[f"{side}Hand"], :]]
        for finger in FINGER_NAMES:
            bones = finger_bones(side, finger)
            hp += [g_pos[..., BONE_INDEX[b], :] for b in bones]
            hp.append(_tip(body, g_rot, g_pos, bones[-1], f"{side}{finger}"))
        hands[side] = np.stack(hp, axis=-2)
    head = BONE_INDEX["head"]
    forward = g_rot[..., head, :, 2]  # the head's +Z axis in world space
    return Keypoints3D(np.stack(pts, axis=-2), hands["left"], hands["right"], face,
                       head_center=g_pos[..., head, :], head_forward=forward)


def keypoint_tolerances(body: Body, surface: np.ndarray | None = None) -> np.ndarray:
    """[130] occlusion tolerance per keypoint, metres.

    Joints lie inside the mesh, so a joint keypoint counts as visible when it is no deeper behind
    the visible surface than 2 x its local limb radius (the distance from the joint to the
    nearest rest-pose vertex). Surface points (nose, eyes, face) get 2% of the head height; ears,
    which sit on the side of the head, 15% of the head width. ``surface`` [S, 3] are the vertices
    the limb radius is measured against (default: all of ``body.vertices``). Missing (NaN) landmarks
    of imported avatars get the surface tolerance.
    """
    from scipy.spatial import cKDTree

    tree = cKDTree(np.asarray(body.vertices if surface is None else surface, dtype=np.float64))
    rest = np.eye(3)[None].repeat(len(body.rest_joints), axis=0)
    kp = body_keypoints(body, rest)
    d = body.layout.dims
    surf = 0.02 * d["h"]
    pts = kp.all()
    ok = np.all(np.isfinite(pts), axis=1)  # imported avatars may lack some landmarks (NaN)
    tol = np.full(len(pts), surf)
    tol[ok] = 2.0 * tree.query(pts[ok])[0]
    for i, (kind, name) in enumerate(BODY_SOURCES):
        if kind == "vertex":
            tol[i] = 0.15 * d["W"] if name.endswith("Ear") else surf
    tol[60:] = surf
    return tol


def project_keypoints(kp: Keypoints3D, camera, visible: np.ndarray | None = None):
    """Project one frame of keypoints through ``camera`` into :class:`Keypoints2D` (pixels).

    Points outside the image, behind the camera, or with ``visible`` [130] False are missing (0,0,0).
    """
    from kyara.pose.openpose import Keypoints2D

    allp = kp.all()
    if allp.ndim != 2:
        raise ValueError(f"project_keypoints takes one frame, got keypoints of shape {allp.shape}")
    px, depth = camera.project(np.nan_to_num(allp, nan=0.0))
    inside = np.all(np.isfinite(allp), axis=1) & (depth > 0) & (px[:, 0] >= 0) & (px[:, 0] <= camera.width - 1) & (px[:, 1] >= 0) & (px[:, 1] <= camera.height - 1)
    if visible is not None:
        inside &= np.asarray(visible, dtype=bool)
    if kp.head_center is not None and kp.head_forward is not None:
        # nose, eyes and the face landmarks exist only when the camera sees the face side of the
        # head (as pose detectors report them): drop them when the camera is behind the face plane
        to_cam = camera.position - kp.head_center
        if float(np.dot(to_cam, kp.head_forward)) <= 0.0:
            face_side = np.zeros(len(allp), dtype=bool)
            face_side[[0, 14, 15]] = True
            face_side[60:130] = True
            inside &= ~face_side
    out = np.zeros((len(allp), 3))
    out[inside, :2] = px[inside]
    out[inside, 2] = 1.0
    return Keypoints2D(body=out[:18], hand_left=out[18:39], hand_right=out[39:60], face=out[60:130],
                       width=camera.width, height=camera.height)


# -- which keypoints a view shows ---------------------------------------------------------------
SEGMENT_NAMES: tuple[str, ...] = (
    "head", "torso",
    "leftUpperArm", "leftLowerArm", "leftHand", "rightUpperArm", "rightLowerArm", "rightHand",
    "leftUpperLeg", "leftLowerLeg", "leftFoot", "rightUpperLeg", "rightLowerLeg", "rightFoot",
)
"""Body segments, named after their main bone: head (with neck, jaw, eyes), torso (hips to upper
chest and the shoulders), each upper arm, forearm, hand (with fingers), thigh, shin, foot (with toes)."""

SEGMENT_INDEX = {name: i for i, name in enumerate(SEGMENT_NAMES)}


def bone_segment(bone: str) -> int:
    """Index into :data:`SEGMENT_NAMES` of a VRM humanoid bone."""
    if bone not in BONE_INDEX:
        raise ValueError(f"bone '{bone}' is not a VRM humanoid bone")
    if bone in ("head", "neck", "jaw") or bone.endswith("Eye"):
        return SEGMENT_INDEX["head"]
    if bone in ("hips", "spine", "chest", "upperChest") or bone.endswith("Shoulder"):
        return SEGMENT_INDEX["torso"]
    side = "left" if bone.startswith("left") else "right"
    rest = bone[len(side):]
    if rest in ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot"):
        return SEGMENT_INDEX[bone]
    if rest == "Toes":
        return SEGMENT_INDEX[f"{side}Foot"]
    return SEGMENT_INDEX[f"{side}Hand"]  # fingers


BONE_SEGMENT = np.array([bone_segment(b) for b in BONE_INDEX], dtype=np.int64)
"""[55] segment of each humanoid bone."""


def keypoint_own_segments() -> np.ndarray:
    """``[130, S]`` bool: the segments that never hide each keypoint (body, left hand, right hand, face).

    A joint keypoint owns the segments of its bone and of its parent bone (the elbow: upper arm and
    forearm; the hip: torso and thigh); the neck, the shoulders' midpoint, owns torso, head and both
    upper arms (so the near shoulder does not hide it in a side view); nose, eyes, every hand point
    past the wrist and every face landmark own their segment; the ears own none.
    """
    own = np.zeros((130, len(SEGMENT_NAMES)), dtype=bool)
    head = SEGMENT_INDEX["head"]
    for i, (kind, name) in enumerate(BODY_SOURCES):
        if kind == "joint":
            own[i, [bone_segment(name), BONE_SEGMENT[PARENTS[BONE_INDEX[name]]]]] = True
        elif kind == "mid":  # the shoulders' midpoint, where torso, head and both upper arms meet
            own[i, [SEGMENT_INDEX[s] for s in ("torso", "head", "leftUpperArm", "rightUpperArm")]] = True
        elif not name.endswith("Ear"):
            own[i, head] = True
    for start, side in ((18, "left"), (39, "right")):
        own[start:start + 21, SEGMENT_INDEX[f"{side}Hand"]] = True
        own[start, SEGMENT_INDEX[f"{side}LowerArm"]] = True  # the wrist
    own[60:130, head] = True
    return own


def occlusion_tolerances(body: Body) -> np.ndarray:
    """``[130]`` metres: how far in front of a keypoint another body part must be to hide it.

    Joints lie inside the body: 1% of the head height (a few millimetres), so a surface through the
    joint itself (flat or overlapping meshes of imported avatars) does not hide it. Points on the
    surface (nose, eyes, face landmarks) 2% of the head height, so a hand resting on the cheek does
    not hide the face; ears, which sit on the side of the head, 15% of the head width, so the
    head's own side hides the far ear only.
    """
    d = body.layout.dims
    tol = np.full(130, 0.01 * d["h"])
    for i, (kind, name) in enumerate(BODY_SOURCES):
        if kind == "vertex":
            tol[i] = 0.15 * d["W"] if name.endswith("Ear") else 0.02 * d["h"]
    tol[60:] = 0.02 * d["h"]
    return tol


def vertex_segments(body: Body) -> np.ndarray:
    """``[V]`` int64 segment of each vertex of ``body`` (-1: no body part, hides nothing).

    A body-like object with a ``segments`` array (:class:`kyara.avatar.body.AvatarBody`) gives its
    own; otherwise the segment of each vertex's dominant bone (bones past the 55 humanoid ones,
    hair and skirt chains, belong to no segment).
    """
    seg = getattr(body, "segments", None)
    if seg is not None:
        return np.asarray(seg, dtype=np.int64)
    ji, jw = np.asarray(body.joint_indices), np.asarray(body.joint_weights)
    dom = ji[np.arange(len(ji)), np.argmax(jw, axis=1)]
    return np.where(dom < len(BONE_SEGMENT), BONE_SEGMENT[np.minimum(dom, len(BONE_SEGMENT) - 1)], -1)


def face_segments(faces: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """``[F]`` segment of each triangle: the one two or three of its corners share, else its first corner's."""
    s = np.asarray(segments, dtype=np.int64)[np.asarray(faces, dtype=np.int64)]  # [F, 3]
    return np.where(s[:, 1] == s[:, 2], s[:, 1], s[:, 0])


def visible_keypoints(body: Body, keypoints: Keypoints3D, cameras, vertices: np.ndarray) -> np.ndarray:
    """``[N, 130]`` bool: keypoints (:func:`body_keypoints`, one frame ``[130, 3]`` or N frames) that
    each of the N ``cameras`` shows when ``body`` is posed as ``vertices`` (``[V, 3]`` or
    ``[N, V, 3]`` metres, the mesh of ``body``). Hidden: points outside the image and points a
    *different* body part covers (:func:`keypoint_own_segments`, :func:`occlusion_tolerances`).
    Use :func:`project_keypoints` with each row; it also drops the face points seen from behind."""
    from kyara.render.visibility import segment_visibility

    seg = vertex_segments(body)
    v = np.asarray(vertices)
    if v.shape[-2] != len(seg):
        raise ValueError(f"vertices have {v.shape[-2]} points, expected the body's {len(seg)}")
    return segment_visibility(keypoints.all(), cameras, v, body.faces, face_segments(body.faces, seg),
                              keypoint_own_segments(), occlusion_tolerances(body))
