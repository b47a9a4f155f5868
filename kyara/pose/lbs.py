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
    chunk: int = 16,
) -> np.ndarray:
    """Pose vertices for every frame: ``[..., V, 3]``. One BLAS product per chunk of frames.

    ``v'_f = sum_j w_vj A_fj [v, 1]`` is linear in the per-vertex features
    ``X[v, (j, k)] = w_vj * [x, y, z, 1]_k`` (``[V, 4U]``, only the ``U`` bones that carry
    weight), so all frames are ``X @ T`` with ``T[(j, k), (f, i)] = A_fj[i, k]`` (``[4U, 3F]``).
    float32 in, float32 out. Frames go in chunks to bound memory.
    """
    vertices = np.asarray(vertices)
    dtype = np.result_type(vertices.dtype, np.float32)
    transforms = np.asarray(transforms, dtype=dtype)
    weights = np.asarray(weights, dtype=dtype)
    V, J = weights.shape
    if vertices.shape != (V, 3):
        raise ValueError(f"vertices have shape {vertices.shape}, expected ({V}, 3) to match the weights")
    if transforms.shape[-3:] != (J, 3, 4):
        raise ValueError(f"transforms have shape {transforms.shape}, expected [..., {J}, 3, 4]")
    batch = transforms.shape[:-3]
    flat = transforms.reshape(-1, J, 3, 4)
    F = flat.shape[0]
    # 1. features of the bones that carry weight: [V, U, 4] -> [V, 4U]
    used = np.flatnonzero(np.any(weights != 0, axis=0))
    U = len(used)
    vh = np.concatenate([vertices.astype(dtype), np.ones((V, 1), dtype=dtype)], axis=1)  # [V, 4]
    x = (weights[:, used][:, :, None] * vh[:, None, :]).reshape(V, 4 * U)
    # 2. transforms as [U, 4 (k), F, 3 (i)] -> [4U, 3F]
    t = np.ascontiguousarray(flat[:, used].transpose(1, 3, 0, 2)).reshape(4 * U, 3 * F)
    out = np.empty((F, V, 3), dtype=dtype)
    for s in range(0, F, chunk):
        e = min(F, s + chunk)
        r = x @ t[:, 3 * s : 3 * e]  # [V, 3f]
        out[s:e] = r.reshape(V, e - s, 3).transpose(1, 0, 2)
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
