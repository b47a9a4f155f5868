""":class:`AvatarBody`: what the renderer, keypoints and animation need from a body, for any character.

The render/keypoint code was written against :class:`kyara.body.model.Body`. This adapter gives a
whole character (an imported avatar, or a generated character with its hair and clothes) the same
surface: ``rest_joints [55, 3]``, ``vertices/faces/normals``, ``joint_indices/joint_weights`` (into
the 55 humanoid bones followed by the character's extra bones), ``weights_dense()``, ``udp`` (A-pose
xyz of its own surface, normalized: CoNR), ``parts`` labels, ``anchors`` (nose, eyes, ears),
``face_triangles/face_bary`` (70 face landmarks, NaN barycentrics = missing), ``layout`` (tips and
the dims keypoint tolerances and pose presets read), ``pose``/``pose_vertices``, per-vertex
``base_color``/``shade_color`` for the toon map, and ``segments``: the body segment of each vertex
(:data:`kyara.pose.keypoints.SEGMENT_NAMES`, from its dominant bone; -1 for hair, garments,
accessories and face features), which decides which OpenPose keypoints a view shows.

Anchor points (nose, eyes, ears) are extra vertices appended after the surface, skinned rigidly to
the head and used by no face, so they are never drawn but follow every pose.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from kyara.body.layout import Layout
from kyara.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS, finger_bones
from kyara.pose.keypoints import BONE_SEGMENT

ANCHORS = ("nose", "leftEye", "rightEye", "leftEar", "rightEar")
HEAD_BONES = ("head", "jaw", "leftEye", "rightEye")


@dataclass(frozen=True, eq=False)
class AvatarBody:
    layout: Layout
    vertices: np.ndarray  # [V, 3] float32 rest T-pose, metres (surface, then len(ANCHORS) anchor points)
    faces: np.ndarray  # [F, 3] int32
    normals: np.ndarray  # [V, 3] float32
    joint_indices: np.ndarray  # [V, 4] int64 into 55 bones + extra bones
    joint_weights: np.ndarray  # [V, 4] float32
    udp: np.ndarray  # [V, 3] float32 in [0, 1]
    parts: np.ndarray  # [V] uint8 (kyara.body.model.PART_NAMES)
    anchors: dict
    face_triangles: np.ndarray  # [70] int64
    face_bary: np.ndarray  # [70, 3], NaN rows = landmark missing
    extra_rest: np.ndarray  # [E, 3] rest positions of the extra bones
    extra_parents: np.ndarray  # [E] parent index into 55 + E
    base_color: np.ndarray | None = None  # [V, 3] sRGB
    shade_color: np.ndarray | None = None  # [V, 3] sRGB
    extra_springs: tuple = ()  # [E] VRMC_springBone settings dict per extra bone (None = no spring)
    outline: np.ndarray | None = None  # [V] bool: the toon map's ink outlines on this vertex's part
    segments: np.ndarray | None = None  # [V] int64 body segment (kyara.pose.keypoints.SEGMENT_NAMES), -1 = none

    @property
    def params(self):
        return self.layout.params

    @property
    def rest_joints(self) -> np.ndarray:
        return self.layout.joints

    @property
    def num_vertices(self) -> int:
        return int(len(self.vertices))

    @property
    def num_bones(self) -> int:
        return NUM_BONES + len(self.extra_rest)

    @property
    def all_rest(self) -> np.ndarray:
        return np.concatenate([self.rest_joints, self.extra_rest])

    @property
    def all_parents(self) -> np.ndarray:
        return np.concatenate([PARENTS, self.extra_parents]).astype(np.int64)

    def weights_dense(self) -> np.ndarray:
        """[V, 55 + E] float32 skin weights."""
        from kyara.pose.lbs import sparse_to_dense_weights

        return sparse_to_dense_weights(self.joint_indices, self.joint_weights.astype(np.float32), self.num_bones)

    @functools.cached_property
    def _dense(self) -> np.ndarray:
        return self.weights_dense()

    def pose_vertices(self, rotations: np.ndarray, translation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """rotations ``[..., 55 (or 55 + E), 3, 3]`` (or quaternions ``[..., 4]``), translation ``[..., 3]``
        -> (vertices ``[..., V, 3]`` float32, humanoid joints ``[..., 55, 3]``). Extra bones not given stay at rest."""
        from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms
        from kyara.pose.rotations import quat_to_matrix

        rot = np.asarray(rotations, dtype=np.float64)
        if rot.shape[-1] == 4:
            rot = quat_to_matrix(rot)
        if rot.shape[-3] == NUM_BONES and self.num_bones > NUM_BONES:
            eye = np.broadcast_to(np.eye(3), rot.shape[:-3] + (self.num_bones - NUM_BONES, 3, 3))
            rot = np.concatenate([rot, eye], axis=-3)
        if rot.shape[-3] != self.num_bones:
            raise ValueError(f"rotations have {rot.shape[-3]} bones, expected {NUM_BONES} or {self.num_bones}")
        if translation is None:
            translation = np.zeros(rot.shape[:-3] + (3,))
        rest = self.all_rest
        g_rot, g_pos = forward_kinematics(rot, np.asarray(translation, dtype=np.float64), rest, self.all_parents)
        A = skinning_transforms(g_rot, g_pos, rest)
        verts = linear_blend_skinning(self.vertices, self._dense, A.astype(np.float32))
        return verts, g_pos[..., :NUM_BONES, :]

    def pose(self, pose, secondary: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(vertices, humanoid joints) of a Pose (or Motion). With ``secondary`` (the default) the
        spring chains settle in the held pose (a Motion: swing over the clip,
        :meth:`motion_rotations`); ``secondary=False`` keeps extra bones at rest."""
        rot = pose.rotations
        if secondary and len(self.extra_rest):
            from kyara.character.secondary import has_springs, settle_rotations
            from kyara.pose.pose import Motion

            if has_springs(self):
                rot = self.motion_rotations(pose) if isinstance(pose, Motion) else settle_rotations(self, pose)
        return self.pose_vertices(rot, pose.translation)

    def motion_rotations(self, motion) -> np.ndarray:
        """``[F, 55 + E, 3, 3]`` local rotations of every bone for ``motion``: hair/skirt/coat
        chains swing with the VRM spring-bone simulation (:mod:`kyara.character.secondary`)."""
        from kyara.character.secondary import spring_pose_rotations

        springs = self.extra_springs or (None,) * len(self.extra_rest)
        return spring_pose_rotations(self.rest_joints, self.layout.dims, self.extra_rest, self.extra_parents,
                                     springs, motion)

    def keypoint_tolerances(self) -> np.ndarray:
        """[130] occlusion tolerances (:func:`kyara.pose.keypoints.keypoint_tolerances`) measured
        against the surface only, not the appended anchor points."""
        from kyara.pose.keypoints import keypoint_tolerances

        return keypoint_tolerances(self, surface=self.vertices[: self.num_vertices - len(ANCHORS)])

    def to_trimesh(self, vertices: np.ndarray | None = None):
        import trimesh

        return trimesh.Trimesh(self.vertices if vertices is None else vertices, self.faces, process=False)


# -- helpers ----------------------------------------------------------------------------------
def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    n = np.zeros_like(v, dtype=np.float64)
    if len(f):
        fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        for k in range(3):
            np.add.at(n, f[:, k], fn)
    ln = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(ln > 1e-20, n / np.maximum(ln, 1e-30), np.array([0.0, 0.0, 1.0])).astype(np.float32)


def _humanoid_of(bones: np.ndarray, extra_parents: np.ndarray) -> np.ndarray:
    """Map bone indices (55 + E) to their nearest humanoid ancestor."""
    up = np.arange(NUM_BONES + len(extra_parents))
    for k, p in enumerate(extra_parents):  # parents first: a parent is resolved before its children
        up[NUM_BONES + k] = up[p]
    return up[bones]


def front_hits(vertices: np.ndarray, tri: np.ndarray, tri_index: np.ndarray, xy: np.ndarray):
    """For each point ``xy [P, 2]``: the first triangle hit by a ray from +Z towards -Z, as
    (triangle ids [P] into the full face list, barycentric [P, 3]); misses get id 0 and NaN."""
    ids = np.zeros(len(xy), dtype=np.int64)
    bary = np.full((len(xy), 3), np.nan)
    if len(tri) == 0:
        return ids, bary
    a, b, c = (vertices[tri[:, i]].astype(np.float64) for i in range(3))
    det = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])
    ok = np.abs(det) > 1e-14
    det = np.where(ok, det, 1.0)
    for k, (x, y) in enumerate(np.asarray(xy, dtype=np.float64)):
        l1 = ((b[:, 1] - c[:, 1]) * (x - c[:, 0]) + (c[:, 0] - b[:, 0]) * (y - c[:, 1])) / det
        l2 = ((c[:, 1] - a[:, 1]) * (x - c[:, 0]) + (a[:, 0] - c[:, 0]) * (y - c[:, 1])) / det
        l3 = 1.0 - l1 - l2
        hit = ok & (l1 >= 0) & (l2 >= 0) & (l3 >= 0)
        if hit.any():
            z = l1 * a[:, 2] + l2 * b[:, 2] + l3 * c[:, 2]
            j = np.flatnonzero(hit)[np.argmax(z[hit])]
            ids[k] = tri_index[j]
            bary[k] = (l1[j], l2[j], l3[j])
    return ids, bary


def _layout(rest: np.ndarray, head_tip: np.ndarray, surface: np.ndarray, head_mask: np.ndarray) -> Layout:
    """A :class:`Layout` for the avatar: its joints, tips, and the teen-girl dims scaled to its
    height with the measurable ones measured (head size, eye level, shoulders, legs, hands, feet)."""
    from kyara.body.layout import body_layout
    from kyara.body.params import get_preset

    J = lambda name: rest[BONE_INDEX[name]]  # noqa: E731
    H = max(float(head_tip[1]), 1e-3)
    base = get_preset("teen-girl")
    try:
        params = base.replace(height=round(H, 4))
    except ValueError:
        params = base
    ref = body_layout(base)
    dims = {k: v * H / ref.dims["H"] for k, v in ref.dims.items()}
    h = max((float(head_tip[1]) - J("head")[1]) / 0.88, 1e-3)
    hv = surface[head_mask]
    W = float(np.ptp(hv[:, 0])) if len(hv) > 3 else 0.75 * h
    D = float(np.ptp(hv[:, 2])) if len(hv) > 3 else 0.85 * h
    W = float(np.clip(W, 0.4 * h, 1.4 * h))
    D = float(np.clip(D, 0.4 * h, 1.4 * h))
    hand_len = float(np.linalg.norm(J("leftMiddleDistal") - J("leftHand"))) * 1.25
    foot_len = float(np.linalg.norm((J("leftToes") - J("leftFoot"))[[0, 2]])) * 1.5 + 1e-6
    dims.update(H=H, h=h, W=W, D=D, crown=float(head_tip[1]), chin=float(head_tip[1]) - h, head_z=float(J("head")[2]),
                neck_y=float(J("neck")[1]), eye_y=float(0.5 * (J("leftEye")[1] + J("rightEye")[1])),
                upper_leg_y=float(J("leftUpperLeg")[1]), leg_x=float(abs(J("leftUpperLeg")[0])),
                shoulder_x=float(abs(J("leftUpperArm")[0])), arm_y=float(J("leftUpperArm")[1]),
                ankle_y=float(J("leftFoot")[1]), hand_len=hand_len, foot_len=foot_len,
                torso_len=float(J("neck")[1] - J("leftUpperLeg")[1]),
                palm_len=0.46 * hand_len, palm_w=0.44 * hand_len, finger_r=0.05 * hand_len)
    tips = {"head": np.asarray(head_tip, dtype=np.float64)}
    for side in ("left", "right"):
        toes, foot = J(f"{side}Toes"), J(f"{side}Foot")
        fwd = np.array([toes[0] - foot[0], 0.0, toes[2] - foot[2]])
        tips[f"{side}Toes"] = toes + 0.5 * fwd + np.array([0.0, -0.1 * max(toes[1], 0.0), 0.0])
        for finger in ("Thumb", "Index", "Middle", "Ring", "Little"):
            a, b, c = (J(x) for x in finger_bones(side, finger))
            tips[f"{side}{finger}"] = c + 0.8 * (c - b)
    return Layout(params=params, joints=np.asarray(rest, dtype=np.float64), tips=tips, dims=dims)


def _udp(body_like: AvatarBody, surface_n: int) -> np.ndarray:
    from kyara.body.model import a_pose_rotations

    a, _ = body_like.pose_vertices(a_pose_rotations(), np.zeros(3))
    lo, hi = a[:surface_n].min(axis=0), a[:surface_n].max(axis=0)
    return np.clip((a - lo) / np.maximum(hi - lo, 1e-9), 0.0, 1.0).astype(np.float32)


def _assemble(layout: Layout, mesh: dict, extra_rest: np.ndarray, extra_parents: np.ndarray, labels: np.ndarray,
              anchor_pos: np.ndarray, landmarks: tuple[np.ndarray, np.ndarray], segments: np.ndarray) -> AvatarBody:
    n = len(mesh["vertices"])
    head = BONE_INDEX["head"]
    verts = np.concatenate([mesh["vertices"], anchor_pos]).astype(np.float32)
    ji = np.concatenate([mesh["joint_indices"], np.tile([head, 0, 0, 0], (len(anchor_pos), 1))]).astype(np.int64)
    jw = np.concatenate([mesh["joint_weights"], np.tile([1.0, 0, 0, 0], (len(anchor_pos), 1))]).astype(np.float32)
    normals = np.concatenate([_vertex_normals(mesh["vertices"].astype(np.float64), mesh["faces"]),
                              np.tile([0.0, 0.0, 1.0], (len(anchor_pos), 1))]).astype(np.float32)
    pad = lambda a: np.concatenate([a, np.repeat(a[:1] if len(a) else np.ones((1, 3)), len(anchor_pos), axis=0)])  # noqa: E731
    body = AvatarBody(layout, verts, mesh["faces"].astype(np.int32), normals, ji, jw, np.zeros((len(verts), 3), np.float32),
                      np.concatenate([labels, np.zeros(len(anchor_pos), np.uint8)]).astype(np.uint8),
                      {a: n + i for i, a in enumerate(ANCHORS)}, landmarks[0], landmarks[1],
                      np.asarray(extra_rest, np.float64).reshape(-1, 3), np.asarray(extra_parents, np.int64),
                      pad(mesh["base"]).astype(np.float32), pad(mesh["shade"]).astype(np.float32))
    object.__setattr__(body, "udp", _udp(body, n))
    object.__setattr__(body, "segments", np.concatenate([segments, np.full(len(anchor_pos), -1)]).astype(np.int64))
    if "outline" in mesh:
        object.__setattr__(body, "outline", np.concatenate([mesh["outline"], np.ones(len(anchor_pos), np.bool_)]))
    return body


def _head_features(v: np.ndarray, f: np.ndarray, head_mask: np.ndarray, layout: Layout):
    """(anchor positions [5, 3], (triangle ids [70], barycentric [70, 3])) from the head's front surface."""
    from kyara.body.anchors import face_template

    d = layout.dims
    hx, hz = float(layout.joint("head")[0]), float(layout.joint("head")[2])
    tri_index = np.flatnonzero(np.all(head_mask[f], axis=1)) if len(f) else np.zeros(0, np.int64)
    tri = f[tri_index]
    # only the front half of the head: triangles facing +Z
    if len(tri):
        a, b, c = (v[tri[:, i]] for i in range(3))
        nz = np.cross(b - a, c - a)[:, 2]
        keep = nz > 0
        tri, tri_index = tri[keep], tri_index[keep]
    tmpl = face_template(layout) + np.array([hx, 0.0])
    ids, bary = front_hits(v, tri, tri_index, tmpl)
    W, h, D = d["W"], d["h"], d["D"]
    eye_y = d["eye_y"]
    nose_y = d["crown"] - 0.74 * h
    want = {"nose": (hx, nose_y), "leftEye": (hx + 0.21 * W, eye_y), "rightEye": (hx - 0.21 * W, eye_y)}
    fallback = {"nose": (hx, nose_y, hz + 0.5 * D), "leftEye": (hx + 0.21 * W, eye_y, hz + 0.42 * D),
                "rightEye": (hx - 0.21 * W, eye_y, hz + 0.42 * D)}
    pos = {}
    hit_ids, hit_bary = front_hits(v, tri, tri_index, np.array(list(want.values())))
    for k, name in enumerate(want):
        if np.isfinite(hit_bary[k]).all():
            pos[name] = np.einsum("c,ci->i", hit_bary[k], v[f[hit_ids[k]]])
        else:
            pos[name] = np.array(fallback[name])
    hv = v[head_mask]
    band = hv[np.abs(hv[:, 1] - (eye_y - 0.02 * h)) < 0.06 * h] if len(hv) else hv
    for name, sx in (("leftEar", 1.0), ("rightEar", -1.0)):
        if len(band):
            pos[name] = band[np.argmax(sx * band[:, 0])]
        else:
            pos[name] = np.array([hx + sx * 0.5 * W, eye_y - 0.02 * h, hz])
    return np.stack([pos[a] for a in ANCHORS]), (ids, bary)


# -- constructors -----------------------------------------------------------------------------
def avatar_body(parts, extra_bones, rest: np.ndarray, head_tip: np.ndarray, info=None) -> AvatarBody:
    """The adapter of an imported avatar (called by :func:`kyara.avatar.convert.import_avatar`)."""
    from kyara.body.weights import BONE_PART
    from kyara.character.model import Character

    tmp = Character(spec=info, body=None, parts=list(parts), extra_bones=list(extra_bones))
    names = tmp.bone_names
    index = {n: i for i, n in enumerate(names)}
    extra_parents = np.array([index[b.parent] for b in extra_bones], dtype=np.int64)
    extra_rest = np.array([b.position for b in extra_bones], dtype=np.float64).reshape(-1, 3)
    mesh = tmp.merged(opaque_only=any(not p.material.transparent for p in parts))
    dom = mesh["joint_indices"][np.arange(len(mesh["vertices"])), np.argmax(mesh["joint_weights"], axis=1)]
    swaying = _swaying(extra_bones, extra_parents)
    on_body = body_surface(mesh, dom, getattr(info, "body_parts", None), swaying)
    head_mask = np.isin(dom, [BONE_INDEX[b] for b in HEAD_BONES])  # extra bones (hair) excluded
    if (head_mask & on_body).sum() > 3:  # the file says which meshes are hair and face features: the head's skin only
        head_mask &= on_body
    outline = getattr(info, "part_outline", None)
    if outline is not None:  # per vertex, from each primitive's material (eyes: no ink)
        mesh["outline"] = np.concatenate([outline[i] for i in np.unique(mesh["part_id"])]).astype(np.bool_)
    labels = BONE_PART[_humanoid_of(dom, extra_parents)]
    v = mesh["vertices"].astype(np.float64)
    layout = _layout(rest, head_tip, v, head_mask)
    anchor_pos, landmarks = _head_features(v, mesh["faces"].astype(np.int64), head_mask, layout)
    segments = np.where(on_body, BONE_SEGMENT[_humanoid_of(dom, extra_parents)], -1)
    return _assemble(layout, mesh, extra_rest, extra_parents, labels, anchor_pos, landmarks, segments)


def _swaying(extra_bones, extra_parents: np.ndarray) -> np.ndarray:
    """``[55 + E]`` bool: bones on a spring chain (an extra bone with spring settings, or below one)."""
    out = np.zeros(NUM_BONES + len(extra_bones), dtype=bool)
    for k, (b, p) in enumerate(zip(extra_bones, extra_parents)):  # parents first
        out[NUM_BONES + k] = b.spring is not None or out[p]
    return out


def body_surface(mesh: dict, dominant: np.ndarray, body_parts=None, swaying: np.ndarray | None = None) -> np.ndarray:
    """``[V]`` bool: vertices of the merged ``mesh`` that are the body's own surface (they may hide
    keypoints): not skinned mostly to a swaying bone (``swaying`` [55 + E]: hair strands, skirt and
    coat chains; rigid helper bones count as their humanoid ancestor) and on a part that
    ``body_parts`` (one bool per part, when the file says) does not rule out."""
    dom = np.asarray(dominant)
    on = ~swaying[dom] if swaying is not None else dom < NUM_BONES
    if body_parts is not None:
        on &= np.asarray(body_parts, dtype=bool)[mesh["part_id"]]
    return on


def character_body(character) -> AvatarBody:
    """The adapter for any character: an imported avatar's own, or one built for a generated
    :class:`~kyara.character.model.Character` (its body's anchors, landmarks and layout, all parts)."""
    if isinstance(character.body, AvatarBody):
        return character.body
    from kyara.character.model import character_part_labels

    body = character.body
    mesh = character.merged(opaque_only=True)
    first = next((i for i, p in enumerate(character.parts) if p.kind == "body"), None)
    if first is None:
        raise ValueError("character has no 'body' part, expected the body as one of its parts")
    off_v = int(np.flatnonzero(mesh["part_id"] == first)[0])
    off_f = sum(len(p.faces) for p in character.parts[:first] if not p.material.transparent)
    anchor_pos = np.stack([body.vertices[body.anchors[a]] for a in ANCHORS]).astype(np.float64)
    landmarks = (np.asarray(body.face_triangles, np.int64) + off_f, np.asarray(body.face_bary, np.float64))
    assert off_v >= 0
    index = {n: i for i, n in enumerate(character.bone_names)}
    extra_parents = np.array([index[b.parent] for b in character.extra_bones], dtype=np.int64)
    extra_rest = np.array([b.position for b in character.extra_bones], dtype=np.float64).reshape(-1, 3)
    labels = character_part_labels(character, mesh)
    # only the body part hides keypoints: hair, garments, accessories and face features never do
    dom = mesh["joint_indices"][np.arange(len(mesh["vertices"])), np.argmax(mesh["joint_weights"], axis=1)]
    on_body = body_surface(mesh, dom, [p.kind == "body" for p in character.parts])
    segments = np.where(on_body, BONE_SEGMENT[np.minimum(dom, NUM_BONES - 1)], -1)
    adapter = _assemble(body.layout, mesh, extra_rest, extra_parents, labels, anchor_pos, landmarks, segments)
    object.__setattr__(adapter, "extra_springs", tuple(b.spring for b in character.extra_bones))
    return adapter


def avatar_pose(name: str, body) -> "object":
    """Preset pose ``name`` for any body-like object (its own layout sets the root height, as
    :func:`kyara.pose.presets.get_pose` does for parametric bodies)."""
    from kyara.body.model import Body
    from kyara.pose.lbs import forward_kinematics
    from kyara.pose.limits import pose_from_angles
    from kyara.pose.pose import Pose
    from kyara.pose.presets import _PRESETS, POSE_NAMES, _feet, get_pose

    if isinstance(body, Body):
        return get_pose(name, body.params)
    if name not in _PRESETS:
        raise ValueError(f"unknown pose '{name}', expected one of {', '.join(POSE_NAMES)}")
    spec = _PRESETS[name]
    layout = body.layout
    pose = pose_from_angles(spec.angles(layout))
    _, joints = forward_kinematics(pose.matrices(), np.zeros(3), layout.joints, PARENTS)
    low = _feet(joints, layout.joints)
    if spec.ground == "knee":
        knees = joints[[BONE_INDEX["leftLowerLeg"], BONE_INDEX["rightLowerLeg"]], 1] - layout.dims["r_knee"]
        low = min(low, float(knees.min()))
    height = spec.lift * layout.dims["upper_leg_y"] - low
    return Pose(pose.rotations, np.array([spec.shift[0], height, spec.shift[1]]))
