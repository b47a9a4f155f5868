"""Gaussians bound to the triangles of a mesh, posed by the mesh's own skinning.

A bound Gaussian ``i`` lives on triangle ``f = triangles[i]`` with vertices ``(a, b, c)`` (the mesh's
``faces[f]``), barycentric coordinates ``(l0, l1, l2)`` and a local offset ``(o_t, o_b, o_n)``
(metres) in the triangle's frame::

    e_t = (b - a) / |b - a|                         # along the first edge
    e_n = (b - a) x (c - a) / |(b - a) x (c - a)|   # the face normal (counter-clockwise = outward)
    e_b = e_n x e_t
    R_f = [e_t | e_b | e_n]                         # [3, 3] columns, a rotation
    mean_i = l0 a + l1 b + l2 c + R_f (o_t, o_b, o_n)
    rotation_i = R_f @ rotation(q_local_i)          # the Gaussian's axes turn with the triangle

The posed mean comes from the POSED triangle: its three vertices are skinned by the mesh's linear
blend skinning (``body.pose(pose)[0]``, :func:`kyara.pose.lbs.linear_blend_skinning`) and the frame is
rebuilt, so a Gaussian follows its triangle exactly (skinning the Gaussian's rest position with
interpolated weights would not: LBS is not affine across a triangle whose vertices move with
different bones, and the offset would not turn with the surface).

A binding remembers the mesh it was made for (:func:`mesh_signature`: the face count and a CRC of the
faces; vertices that no face uses, such as a character adapter's appended anchor points, do not count)
so a layer cannot be drawn on another character by mistake.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch


def mesh_signature(faces: np.ndarray) -> str:
    """``"F<num_faces>-<crc32 of the int32 faces>"``: which mesh a binding is for."""
    f = np.ascontiguousarray(np.asarray(faces, dtype=np.int32))
    return f"F{len(f)}-{zlib.crc32(f.tobytes()):08x}"


def check_mesh(signature: str, faces: np.ndarray, num_vertices: int) -> None:
    """Raise ``ValueError`` unless the binding ``signature`` is the mesh ``(faces, num_vertices)``'s."""
    f = np.asarray(faces)
    own = mesh_signature(f)
    if signature != own:
        raise ValueError(f"the Gaussians are bound to mesh {signature}, this character's mesh is {own}: "
                         "expected the layer made for this character")
    if len(f) and int(f.max()) >= int(num_vertices):
        raise ValueError(f"the faces index vertex {int(f.max())}, the mesh has {int(num_vertices)}")


def triangle_frames(vertices: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(corners [F, 3, 3] (a, b, c) rows, frames [F, 3, 3] columns (e_t, e_b, e_n))`` of the
    triangles ``faces [F, 3]`` of ``vertices [V, 3]`` (torch, any float dtype)."""
    import torch

    tri = vertices[faces]  # [F, 3, 3]
    e1 = tri[:, 1] - tri[:, 0]
    e2 = tri[:, 2] - tri[:, 0]
    t = e1 / e1.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    n = torch.cross(e1, e2, dim=-1)
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    b = torch.cross(n, t, dim=-1)
    return tri, torch.stack([t, b, n], dim=-1)


def rotmat_to_quat(m: torch.Tensor) -> torch.Tensor:
    """``[N, 3, 3]`` rotation matrices -> ``[N, 4]`` unit quaternions ``(w, x, y, z)``, w >= 0."""
    import torch

    m00, m01, m02 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    m10, m11, m12 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    m20, m21, m22 = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    # the four candidates (each exact where its squared component is the largest)
    cands = torch.stack([
        torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
        torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
        torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
        torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1)], 1)  # [N, 4, 4]
    diag = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = diag.argmax(-1)
    q = cands[torch.arange(len(m)), best]
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return torch.where(q[:, :1] < 0, -q, q)


def quat_multiply(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``p q`` of ``[N, 4]`` quaternions ``(w, x, y, z)`` (rotation q, then p)."""
    import torch

    pw, px, py, pz = p.unbind(-1)
    qw, qx, qy, qz = q.unbind(-1)
    return torch.stack([pw * qw - px * qx - py * qy - pz * qz, pw * qx + px * qw + py * qz - pz * qy,
                        pw * qy - px * qz + py * qw + pz * qx, pw * qz + px * qy - py * qx + pz * qw], -1)


def bound_gaussians(
    vertices: torch.Tensor,  # [V, 3] posed mesh, metres
    faces: torch.Tensor,  # [F, 3] int64
    triangles: torch.Tensor,  # [N] int64 triangle of each Gaussian
    barycentrics: torch.Tensor,  # [N, 3], rows sum to 1
    offsets: torch.Tensor,  # [N, 3] metres in the triangle frame (tangent, bitangent, normal)
    quats_local: torch.Tensor | None = None,  # [N, 4] (w, x, y, z) rotation in the triangle frame
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """World ``(means [N, 3], quats [N, 4] or None)`` of Gaussians bound to the triangles of a posed
    mesh (the module docstring's formula); differentiable in offsets, quats_local and vertices."""
    n = triangles.shape[0]
    for name, t, shape in (("barycentrics", barycentrics, (n, 3)), ("offsets", offsets, (n, 3))):
        if tuple(t.shape) != shape:
            raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices have shape {tuple(vertices.shape)}, expected [V, 3]")
    tri, frames = triangle_frames(vertices, faces[triangles])  # [N, 3, 3] each
    means = (barycentrics.to(tri.dtype)[:, :, None] * tri).sum(1) + (frames @ offsets.to(tri.dtype)[:, :, None])[..., 0]
    if quats_local is None:
        return means, None
    return means, quat_multiply(rotmat_to_quat(frames), quats_local.to(tri.dtype))


def pose_mesh(body, pose) -> np.ndarray:
    """``[V, 3]`` posed vertices of ``body`` whose triangles carry the bound Gaussians: the mesh's own
    linear blend skinning. A :class:`~kyara.body.model.Body` is skinned in float64
    (:func:`kyara.pose.lbs.linear_blend_skinning` on float64 input, so small triangles keep their
    frames to 1e-7 m); anything else with ``pose(pose) -> (vertices, joints)`` (character adapters,
    whose spring chains settle first) through its own ``pose``."""
    from kyara.body.model import Body

    if isinstance(body, Body) and not hasattr(pose, "num_frames"):
        from kyara.body.skeleton import PARENTS
        from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms
        from kyara.pose.rotations import quat_to_matrix

        rot = np.asarray(pose.rotations, dtype=np.float64)
        if rot.shape[-1] == 4:
            rot = quat_to_matrix(rot)
        g_rot, g_pos = forward_kinematics(rot, np.asarray(pose.translation, np.float64), body.rest_joints, PARENTS)
        a = skinning_transforms(g_rot, g_pos, body.rest_joints)
        return linear_blend_skinning(body.vertices.astype(np.float64), body.weights_dense().astype(np.float64), a)
    v = np.asarray(body.pose(pose)[0])
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"posed vertices have shape {v.shape}, expected one frame [V, 3]")
    return v


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, seed: int = 0,
                   allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded points on the mesh, area-weighted: ``(triangles [n] int64, barycentrics [n, 3])``
    (uniform on each triangle). ``allowed [F]`` bool restricts the triangles."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n {n!r} must be an integer >= 1")
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    if allowed is not None:
        area = np.where(np.asarray(allowed, bool), area, 0.0)
    if not area.sum() > 0:
        raise ValueError("the mesh has no triangle with an area to put Gaussians on")
    rng = np.random.default_rng(seed)
    tris = rng.choice(len(f), size=int(n), p=area / area.sum())
    r1, r2 = rng.uniform(size=(2, int(n)))
    s = np.sqrt(r1)
    bary = np.stack([1.0 - s, s * (1.0 - r2), s * r2], axis=1)
    return tris.astype(np.int64), bary
