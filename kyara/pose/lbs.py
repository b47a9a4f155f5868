"""Forward kinematics and linear-blend skinning as pure, batched functions.

Convention: a skeleton is ``rest_joints [J, 3]`` (world positions in the rest pose, metres) and
``parents [J]`` (parents first, -1 for the root). Rest orientations are identity, so a pose is a
set of local rotations relative to rest plus a root translation::

    G_root = [R_root | rest_root + translation]
    G_j    = G_parent(j) @ [R_j | rest_j - rest_parent(j)]

``A_j = G_j @ inverse(rest G_j)`` maps rest-pose points to posed points, and a vertex is posed by
``v' = sum_j w_j A_j v``. Every function takes any number of leading batch dimensions (frames).
"""

from __future__ import annotations

import numpy as np


def forward_kinematics(
    rotations: np.ndarray,  # [..., J, 3, 3] local rotations relative to the rest pose
    root_translation: np.ndarray,  # [..., 3] root offset from its rest position, metres
    rest_joints: np.ndarray,  # [J, 3] rest-pose joint positions, metres
    parents: np.ndarray,  # [J] parent index, -1 for root, parents first
) -> tuple[np.ndarray, np.ndarray]:
    """Return world rotations ``[..., J, 3, 3]`` and world joint positions ``[..., J, 3]``."""
    rotations = np.asarray(rotations)
    rest_joints = np.asarray(rest_joints, dtype=rotations.dtype)
    J = rest_joints.shape[0]
    if rotations.shape[-3:] != (J, 3, 3):
        raise ValueError(f"rotations have shape {rotations.shape}, expected [..., {J}, 3, 3]")
    batch = rotations.shape[:-3]
    root_translation = np.broadcast_to(np.asarray(root_translation, dtype=rotations.dtype), batch + (3,))
    offsets = rest_joints - np.where(parents[:, None] >= 0, rest_joints[np.maximum(parents, 0)], 0.0)
    g_rot = np.empty(batch + (J, 3, 3), dtype=rotations.dtype)
    g_pos = np.empty(batch + (J, 3), dtype=rotations.dtype)
    for j in range(J):
        p = parents[j]
        if p < 0:
            g_rot[..., j, :, :] = rotations[..., j, :, :]
            g_pos[..., j, :] = rest_joints[j] + root_translation
        else:
            # 1. orientation: parent world rotation then the local rotation
            g_rot[..., j, :, :] = g_rot[..., p, :, :] @ rotations[..., j, :, :]
            # 2. position: the rest offset carried by the parent's world rotation
            g_pos[..., j, :] = g_pos[..., p, :] + np.einsum("...ik,k->...i", g_rot[..., p, :, :], offsets[j])
    return g_rot, g_pos


def skinning_transforms(
    global_rotations: np.ndarray,  # [..., J, 3, 3]
    global_positions: np.ndarray,  # [..., J, 3]
    rest_joints: np.ndarray,  # [J, 3]
) -> np.ndarray:
    """``A_j = G_j @ inverse(rest G_j)`` as ``[..., J, 3, 4]`` affine matrices (rest -> posed)."""
    rest = np.asarray(rest_joints, dtype=global_rotations.dtype)
    t = global_positions - np.einsum("...jik,jk->...ji", global_rotations, rest)
    return np.concatenate([global_rotations, t[..., None]], axis=-1)


def linear_blend_skinning(
    vertices: np.ndarray,  # [V, 3] rest-pose vertices
    weights: np.ndarray,  # [V, J] dense skin weights, rows sum to 1
    transforms: np.ndarray,  # [..., J, 3, 4] from skinning_transforms
    chunk: int = 64,
) -> np.ndarray:
    """Pose vertices for every frame: ``[..., V, 3]``. Dense matmul fast path (BLAS).

    The blended per-vertex matrix ``M_v = sum_j w_vj A_j`` is one ``[V, J] @ [J, 12F]`` product,
    then applied to ``[x, y, z, 1]``. Frames are processed in chunks to bound memory.
    """
    vertices = np.asarray(vertices)
    dtype = np.result_type(vertices.dtype, np.float32)
    transforms = np.asarray(transforms, dtype=dtype)
    weights = np.asarray(weights, dtype=dtype)
    V, J = weights.shape
    if transforms.shape[-3:] != (J, 3, 4):
        raise ValueError(f"transforms have shape {transforms.shape}, expected [..., {J}, 3, 4]")
    batch = transforms.shape[:-3]
    flat = transforms.reshape(-1, J, 12)
    F = flat.shape[0]
    # only bones that carry weight take part
    used = np.flatnonzero(np.any(weights != 0, axis=0))
    w = np.ascontiguousarray(weights[:, used])
    x, y, z = (vertices[:, i].astype(dtype) for i in range(3))
    out = np.empty((F, V, 3), dtype=dtype)
    for s in range(0, F, chunk):
        e = min(F, s + chunk)
        a = flat[s:e, used, :]  # [f, U, 12]
        m = (w @ a.transpose(1, 0, 2).reshape(len(used), -1)).reshape(V, e - s, 12)  # [V, f, 12]
        m = m.transpose(1, 0, 2)  # [f, V, 12]: rows r0 (0..3), r1 (4..7), r2 (8..11)
        for i in range(3):
            out[s:e, :, i] = m[..., 4 * i] * x + m[..., 4 * i + 1] * y + m[..., 4 * i + 2] * z + m[..., 4 * i + 3]
    return out.reshape(batch + (V, 3))


def linear_blend_skinning_reference(
    vertices: np.ndarray,  # [V, 3]
    joint_indices: np.ndarray,  # [V, K] int
    joint_weights: np.ndarray,  # [V, K]
    transforms: np.ndarray,  # [J, 3, 4] one frame
) -> np.ndarray:
    """Slow, obvious reference: loop over vertices and their K influences (one frame)."""
    out = np.zeros((len(vertices), 3))
    for v in range(len(vertices)):
        p = np.append(vertices[v], 1.0)
        for j, w in zip(joint_indices[v], joint_weights[v]):
            if w != 0:
                out[v] += w * (transforms[j] @ p)
    return out


def sparse_to_dense_weights(joint_indices: np.ndarray, joint_weights: np.ndarray, num_joints: int) -> np.ndarray:
    """``[V, K]`` indices + weights -> dense ``[V, J]``."""
    V, K = joint_indices.shape
    dense = np.zeros((V, num_joints), dtype=np.asarray(joint_weights).dtype)
    np.add.at(dense, (np.repeat(np.arange(V), K), joint_indices.ravel()), joint_weights.ravel())
    return dense


def dense_to_sparse_weights(weights: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Keep the ``k`` largest influences per vertex and renormalize: ``([V, k] int, [V, k])``."""
    idx = np.argsort(-weights, axis=1)[:, :k]
    w = np.take_along_axis(weights, idx, axis=1)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    return idx.astype(np.int64), w
