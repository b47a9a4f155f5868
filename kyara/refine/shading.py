"""Normal-mapped toon shading of texture renders, differentiable in the albedo and normal-map textures.

The per-view buffers of :mod:`kyara.paint.buffers` carry the cosine to the camera, not the surface
frame; shading with a normal map needs the frame, so :func:`render_frames` renders it here with the
same technique (kyara's own renderer, ``udp`` passes carrying 3 floats in [0, 1]): world normal,
tangent and bitangent of the visible surface at every pixel.

Conventions (glTF 2.0 normal textures):

* per atlas vertex, the tangent ``T`` points along increasing ``u``, the bitangent ``B`` along
  image-up, i.e. DEcreasing glTF ``v`` (``v`` grows down the image; in the flipped OpenGL UV,
  increasing ``v``), both orthogonalised against the vertex normal (:func:`vertex_frames`:
  face derivatives ``dP/du``, ``-dP/dv`` summed over the faces around the vertex, weighted by the
  face's UV area, Gram-Schmidt);
* a normal texture ``[3, T, T]`` in [0, 1] stores the tangent-space normal ``n = 2 rgb - 1``: red
  along ``T``, green along ``B``, blue along ``N``; the flat texture is ``(0.5, 0.5, 1)``;
  :func:`perturb_normals` returns ``normalize(n_x T + n_y B + n_z N)``.

:func:`toon_shade` is a torch port of :func:`kyara.render.toon.toon_shade_reference` (two or three
tones from ``N.L`` with the camera-space light of a :class:`~kyara.render.toon.ToonStyle`; the rim
light is left out), compared with it in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.paint.uv import UVAtlas
    from kyara.render.camera import Camera
    from kyara.render.toon import ToonStyle


def vertex_frames(vertices: np.ndarray, normals: np.ndarray, uv: np.ndarray,
                  faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(tangent [V, 3], bitangent [V, 3])`` unit vectors orthogonal to ``normals [V, 3]`` for a mesh
    ``vertices [V, 3]``/``faces [F, 3]`` with glTF ``uv [V, 2]`` (see the module docstring). Vertices
    whose faces have no UV area get an arbitrary frame around their normal."""
    p = np.asarray(vertices, np.float64)
    n = np.asarray(normals, np.float64)
    t_uv = np.asarray(uv, np.float64)
    f = np.asarray(faces, np.int64)
    e1, e2 = p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]]  # [F, 3]
    d1, d2 = t_uv[f[:, 1]] - t_uv[f[:, 0]], t_uv[f[:, 2]] - t_uv[f[:, 0]]  # [F, 2]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]  # [F] twice the signed UV area
    # dP/du = (e1 dv2 - e2 dv1) / det, dP/dv = (e2 du1 - e1 du2) / det; times |det| = UV-area weight
    sgn = np.sign(det)[:, None]
    dpdu = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * sgn
    dpdv = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) * sgn
    tan = np.zeros_like(p)
    up = np.zeros_like(p)
    for k in range(3):
        np.add.at(tan, f[:, k], dpdu)
        np.add.at(up, f[:, k], -dpdv)
    nn = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    tan -= nn * np.einsum("vc,vc->v", tan, nn)[:, None]
    bad = np.linalg.norm(tan, axis=1) < 1e-12
    if bad.any():  # any direction orthogonal to the normal
        helper = np.where(np.abs(nn[bad, 0:1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        tan[bad] = np.cross(nn[bad], helper)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    up -= nn * np.einsum("vc,vc->v", up, nn)[:, None] + tan * np.einsum("vc,vc->v", up, tan)[:, None]
    side = np.cross(nn, tan)  # the right-handed bitangent; flipped where the UVs are mirrored
    sign = np.where(np.einsum("vc,vc->v", up, side) < 0, -1.0, 1.0)
    return tan.astype(np.float32), (side * sign[:, None]).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Frames:
    """World surface frames of the visible pixels of N views (0 off the mesh)."""

    normal: np.ndarray  # [N, H, W, 3] float32 unit
    tangent: np.ndarray  # [N, H, W, 3] float32 unit, along +u
    bitangent: np.ndarray  # [N, H, W, 3] float32 unit, image-up in the texture
    visible: np.ndarray  # [N, H, W] bool


def render_frames(atlas: UVAtlas, vertices: np.ndarray, cameras: Sequence[Camera]) -> Frames:
    """Render :class:`Frames` of the atlas' mesh posed at ``vertices [V, 3]`` (metres, per INPUT vertex,
    as :func:`kyara.paint.buffers.render_buffers`) from ``cameras`` (one size). Needs the ``render``
    extra; three ``udp`` passes (normal, tangent, bitangent as ``(x + 1) / 2``), renormalised per pixel."""
    from kyara.render.edges import vertex_normals
    from kyara.render.maps import MeshRenderer, VertexAttrs

    cams = tuple(cameras)
    if not cams:
        raise ValueError("cameras must be a non-empty list of kyara.render.camera.Camera")
    verts = np.asarray(vertices, dtype=np.float32)
    if verts.shape != (atlas.num_input_vertices, 3) or not np.all(np.isfinite(verts)):
        raise ValueError(f"vertices have shape {verts.shape}, expected a finite [{atlas.num_input_vertices}, 3] array")
    w, h = cams[0].width, cams[0].height
    normals = atlas.carry(vertex_normals(verts, atlas.input_faces))  # welded: smooth across seams
    split = atlas.carry(verts)
    tan, bit = vertex_frames(split, normals, atlas.uv, atlas.faces)
    r = MeshRenderer(atlas.faces, atlas.num_vertices, w, h)
    out = []
    try:
        for attr in (normals, tan, bit):
            res = r.render(split, cams, ("udp", "parts"), normals=normals,
                           vertex_attrs=VertexAttrs(parts=np.zeros(atlas.num_vertices, np.uint8),
                                                    udp=(np.asarray(attr, np.float32) + 1.0) * 0.5))
            out.append((res["udp"][..., :3] * 2.0 - 1.0, res["parts"][..., 0] != 255))
    finally:
        r.release()
    visible = out[0][1]
    vecs = []
    for v, _ in out:
        v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
        vecs.append(np.where(visible[..., None], v, 0.0).astype(np.float32))
    return Frames(vecs[0], vecs[1], vecs[2], visible)


def perturb_normals(normal: torch.Tensor, tangent: torch.Tensor, bitangent: torch.Tensor,
                    normal_views: torch.Tensor) -> torch.Tensor:
    """World normals ``[N, 3, H, W]`` from the frames (each ``[N, 3, H, W]``) and rendered normal-map
    values ``normal_views [N, 3, H, W]`` in [0, 1] (:func:`kyara.refine.texture.lookup` of the normal
    texture): ``normalize(n_x T + n_y B + n_z N)`` with ``n = 2 rgb - 1``. Differentiable."""
    n = normal_views * 2.0 - 1.0
    out = n[:, 0:1] * tangent + n[:, 1:2] * bitangent + n[:, 2:3] * normal
    return out / out.norm(dim=1, keepdim=True).clamp(min=1e-8)


def toon_shade(normals_cam: torch.Tensor, base: torch.Tensor, shade: torch.Tensor,
               style: ToonStyle) -> torch.Tensor:
    """Toon colour ``[N, 3, H, W]`` from camera-space unit normals ``[N, 3, H, W]`` (``Camera.view``
    rotation applied to world normals), base and shade colours ``[N, 3, H, W]``: the two (or three)
    tones of :func:`kyara.render.toon.toon_shade_reference` without the rim light. Differentiable in
    the colours and the normals (inside the ramp between the tones)."""
    import torch

    light = torch.as_tensor(style.light, dtype=normals_cam.dtype, device=normals_cam.device).reshape(1, 3, 1, 1)
    lit = (normals_cam * light).sum(dim=1, keepdim=True) + style.shading_shift
    lo, hi = -1.0 + style.shading_toony, 1.0 - style.shading_toony

    def step(x):
        return ((x - lo) / max(hi - lo, 1e-5)).clamp(0.0, 1.0)

    s = step(lit)
    col = shade * (1 - s) + base * s
    if style.tones >= 3:
        s2 = step(lit - style.deep_shade_shift)
        col = shade * style.deep_shade_factor * (1 - s2) + col * s2
    return col.clamp(0.0, 1.0)


def to_camera_space(world: torch.Tensor, cameras: Sequence[Camera]) -> torch.Tensor:
    """World vectors ``[N, 3, H, W]`` -> each view's camera space (``Camera.view`` rotation, the space
    of :class:`~kyara.render.toon.ToonStyle`'s light)."""
    import torch

    rot = torch.as_tensor(np.stack([np.asarray(c.view, np.float64)[:3, :3] for c in cameras]),
                          dtype=world.dtype, device=world.device)  # [N, 3, 3]
    return torch.einsum("nij,njhw->nihw", rot, world)
