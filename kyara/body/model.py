"""The rigged parametric anime body: :func:`build_body` is the one entry point.

``build_body(params)`` -> :class:`Body` with a closed 2-manifold surface (rest T-pose), skin
weights, part labels, UDP coordinates and face/keypoint anchors. Results are cached per params.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from kyara.body.layout import Layout, body_layout
from kyara.body.params import BodyParams, get_preset
from kyara.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS
from kyara.body.weights import BONE_PART, PART_NAMES

__all__ = ["Body", "build_body", "PART_NAMES", "a_pose_rotations"]

DEFAULT_FACES = 30000


@dataclass(frozen=True, eq=False)
class Body:
    params: BodyParams
    layout: Layout
    vertices: np.ndarray  # [V, 3] float32 rest T-pose, metres
    faces: np.ndarray  # [F, 3] int32, outward (counter-clockwise) winding
    normals: np.ndarray  # [V, 3] float32 smooth unit normals
    joint_indices: np.ndarray  # [V, 4] int64
    joint_weights: np.ndarray  # [V, 4] float32, rows sum to 1
    udp: np.ndarray  # [V, 3] float32 in [0, 1]: A-pose xyz normalized per axis (CoNR)
    parts: np.ndarray  # [V] uint8 index into PART_NAMES
    anchors: dict[str, int] = field(default_factory=dict)  # named surface vertices (nose, eyes, ears)
    face_triangles: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # [70] triangle ids
    face_bary: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # [70, 3] barycentric coordinates

    @property
    def rest_joints(self) -> np.ndarray:
        """[J, 3] rest joint positions, metres."""
        return self.layout.joints

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    def weights_dense(self) -> np.ndarray:
        """[V, J] float32 skin weights."""
        from kyara.pose.lbs import sparse_to_dense_weights

        return sparse_to_dense_weights(self.joint_indices, self.joint_weights.astype(np.float32), NUM_BONES)

    @functools.cached_property
    def _dense(self) -> np.ndarray:
        return self.weights_dense()

    def pose_vertices(self, rotations: np.ndarray, translation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pose the body.

        rotations: [..., J, 3, 3] local rotation matrices (or [..., J, 4] quaternions xyzw);
        translation: [..., 3] root offset, metres. Returns (vertices [..., V, 3] float32,
        joints [..., J, 3] float64).
        """
        from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms
        from kyara.pose.rotations import quat_to_matrix

        rotations = np.asarray(rotations, dtype=np.float64)
        if rotations.shape[-1] == 4:
            rotations = quat_to_matrix(rotations)
        if translation is None:
            translation = np.zeros(rotations.shape[:-3] + (3,))
        g_rot, g_pos = forward_kinematics(rotations, translation, self.rest_joints, PARENTS)
        A = skinning_transforms(g_rot, g_pos, self.rest_joints)
        verts = linear_blend_skinning(self.vertices, self._dense, A.astype(np.float32))
        return verts, g_pos

    def pose(self, pose) -> tuple[np.ndarray, np.ndarray]:
        """Pose with a :class:`kyara.pose.pose.Pose` (or ``Motion``): (vertices, joints)."""
        return self.pose_vertices(pose.rotations, pose.translation)

    def to_trimesh(self, vertices: np.ndarray | None = None):
        import trimesh

        return trimesh.Trimesh(self.vertices if vertices is None else vertices, self.faces, process=False)


def a_pose_rotations(degrees: float = 45.0) -> np.ndarray:
    """[J, 3, 3] local rotations of the A-pose: both upper arms lowered ``degrees`` from horizontal."""
    from kyara.pose.rotations import axis_angle_to_matrix

    rot = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    a = np.deg2rad(degrees)
    rot[BONE_INDEX["leftUpperArm"]] = axis_angle_to_matrix(np.array([0.0, 0.0, -a]))
    rot[BONE_INDEX["rightUpperArm"]] = axis_angle_to_matrix(np.array([0.0, 0.0, a]))
    return rot


def _resolve(params: BodyParams | str | None) -> BodyParams:
    if params is None:
        return get_preset("teen-girl")
    if isinstance(params, str):
        return get_preset(params)
    if isinstance(params, BodyParams):
        return params
    raise ValueError(f"body must be a preset name or BodyParams, got {type(params).__name__}")


def build_body(params: BodyParams | str | None = None, target_faces: int = DEFAULT_FACES,
               voxel: float | None = None, repair: bool = False) -> Body:
    """Build (or fetch from cache) the rigged body for a preset name or :class:`BodyParams`.

    ``target_faces`` must be within 10,000..40,000. ``voxel`` (metres, 0.002..0.05) is the
    marching-cubes grid spacing; None = the default (about height / 520). A coarser grid builds
    much faster (dataset renders at 128 px) and may make decimation fail (``RuntimeError``);
    ``repair`` keeps a decimation that pinched a thin finger's two sides onto one edge, with the
    pinch split (:func:`kyara.body.mesh_ops.split_pinched_edges`), instead of failing.
    """
    p = _resolve(params)
    if not 10000 <= int(target_faces) <= 40000:
        raise ValueError(f"target_faces={target_faces} is out of range, expected 10000..40000")
    if voxel is not None and not 0.002 <= float(voxel) <= 0.05:
        raise ValueError(f"voxel={voxel} is out of range, expected 0.002..0.05 metres")
    return _build_cached(p, int(target_faces), None if voxel is None else float(voxel), bool(repair))


@functools.lru_cache(maxsize=16)
def _build_cached(params: BodyParams, target_faces: int, voxel: float | None = None, repair: bool = False) -> Body:
    from kyara.body.anchors import face_anchors
    from kyara.body.mesh_ops import decimate_manifold, vertex_normals
    from kyara.body.surface import build_surface
    from kyara.body.weights import skin_weights
    from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms

    layout = body_layout(params)
    verts, faces, prims = build_surface(layout, voxel=voxel)
    verts, faces = decimate_manifold(verts, faces, target_faces, repair=repair)
    idx, w = skin_weights(verts, prims, layout)
    dense = np.zeros((len(verts), NUM_BONES))
    np.add.at(dense, (np.repeat(np.arange(len(verts)), 4), idx.ravel()), w.ravel())
    # UDP: A-pose positions normalized per axis to [0, 1]
    g_rot, g_pos = forward_kinematics(a_pose_rotations(), np.zeros(3), layout.joints, PARENTS)
    a_verts = linear_blend_skinning(verts, dense, skinning_transforms(g_rot, g_pos, layout.joints))
    lo, hi = a_verts.min(axis=0), a_verts.max(axis=0)
    udp = ((a_verts - lo) / (hi - lo)).astype(np.float32)
    parts = BONE_PART[idx[:, 0]]
    normals = vertex_normals(verts, faces)
    anchors, landmarks = face_anchors(verts, normals, parts, layout, faces)
    return Body(
        params=params,
        layout=layout,
        vertices=verts.astype(np.float32),
        faces=faces.astype(np.int32),
        normals=normals.astype(np.float32),
        joint_indices=idx,
        joint_weights=w,
        udp=np.clip(udp, 0.0, 1.0),
        parts=parts,
        anchors=anchors,
        face_triangles=landmarks[0],
        face_bary=landmarks[1],
    )
