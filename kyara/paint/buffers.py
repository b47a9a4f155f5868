"""Per-view buffers for painting a texture, drawn by kyara's own renderer (:mod:`kyara.render.maps`).

For every pixel of every view: the texture coordinate of the visible surface (glTF UV, see
:mod:`kyara.paint.uv`), whether the pixel shows the mesh, the cosine between the surface normal and
the direction to the camera, and the part id. No PyTorch3D, nvdiffrast or kaolin: the renderer's
``udp`` map interpolates any 3-float vertex attribute in ``[0, 1]`` perspective-correctly and reads
it back as float32, so one pass carries ``(u, v, 0)`` over the atlas' split vertices and a second
the world normals as ``(n + 1) / 2`` (the shader's clamp to ``[0, 1]`` leaves both unchanged).
Normals are the smooth normals of the welded input mesh, so seams do not show in the cosine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kyara.paint.uv import UVAtlas
from kyara.render.camera import Camera

BACKGROUND_PART = 255


@dataclass(frozen=True, eq=False)
class ViewBuffers:
    """What each pixel of N views of one mesh sees of its texture."""

    uv: np.ndarray  # [N, H, W, 2] float32 texture coordinates (glTF UV), 0 off the mesh
    visible: np.ndarray  # [N, H, W] bool: the pixel shows the mesh
    cosine: np.ndarray  # [N, H, W] float32 in [0, 1]: cos(normal, direction to the camera); 0 off the mesh
    part: np.ndarray  # [N, H, W] uint8 part id of the visible surface, 255 off the mesh
    cameras: tuple[Camera, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(N, H, W)``."""
        return tuple(self.visible.shape)  # type: ignore[return-value]

    def __post_init__(self) -> None:
        n, h, w = self.visible.shape
        for name, a, shape in (("uv", self.uv, (n, h, w, 2)), ("cosine", self.cosine, (n, h, w)),
                               ("part", self.part, (n, h, w))):
            if a.shape != shape:
                raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
        if len(self.cameras) != n:
            raise ValueError(f"{len(self.cameras)} cameras for {n} views")


def render_buffers(atlas: UVAtlas, vertices: np.ndarray, cameras: Sequence[Camera],
                   part_id: np.ndarray | None = None) -> ViewBuffers:
    """Render :class:`ViewBuffers` of the atlas' mesh posed at ``vertices`` (``[V, 3]`` metres, one
    row per INPUT vertex, e.g. ``character.pose(pose, mesh)[0]``) from ``cameras`` (all one size).

    ``part_id [V]`` (integers 0..254, per input vertex) fills ``part``; without it every visible
    pixel is part 0. Needs the ``render`` extra (headless OpenGL).
    """
    from kyara.render.edges import vertex_normals
    from kyara.render.maps import MeshRenderer, VertexAttrs

    cams = tuple(cameras)
    if not cams or not all(isinstance(c, Camera) for c in cams):
        raise ValueError("cameras must be a non-empty list of kyara.render.camera.Camera")
    w, h = cams[0].width, cams[0].height
    if any((c.width, c.height) != (w, h) for c in cams):
        raise ValueError(f"cameras differ in size, expected all {w}x{h}")
    verts = np.asarray(vertices, dtype=np.float32)
    if verts.shape != (atlas.num_input_vertices, 3) or not np.all(np.isfinite(verts)):
        raise ValueError(f"vertices have shape {verts.shape}, expected a finite [{atlas.num_input_vertices}, 3] array")
    parts = np.zeros(atlas.num_input_vertices, np.int64) if part_id is None else np.asarray(part_id)
    if parts.shape != (atlas.num_input_vertices,) or not np.issubdtype(parts.dtype, np.integer) \
            or parts.min() < 0 or parts.max() >= BACKGROUND_PART:
        raise ValueError(f"part_id has shape {parts.shape} dtype {parts.dtype}, expected "
                         f"[{atlas.num_input_vertices}] integers 0..{BACKGROUND_PART - 1}")

    normals = vertex_normals(verts, atlas.input_faces)  # [V, 3] welded: smooth across UV seams
    split_verts = atlas.carry(verts)
    split_normals = atlas.carry(normals)
    uv_attr = np.zeros((atlas.num_vertices, 3), np.float32)
    uv_attr[:, :2] = atlas.uv
    r = MeshRenderer(atlas.faces, atlas.num_vertices, w, h)
    try:
        first = r.render(split_verts, cams, ("udp", "parts"), normals=split_normals,
                         vertex_attrs=VertexAttrs(parts=atlas.carry(parts).astype(np.uint8), udp=uv_attr))
        second = r.render(split_verts, cams, ("udp",), normals=split_normals,
                          vertex_attrs=VertexAttrs(udp=(split_normals + 1.0) * 0.5))
    finally:
        r.release()
    part = first["parts"][..., 0]
    visible = part != BACKGROUND_PART
    uv = np.where(visible[..., None], first["udp"][..., :2], 0.0).astype(np.float32)
    n = second["udp"][..., :3] * 2.0 - 1.0  # [N, H, W, 3] world normals
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    to_cam = pixel_directions_to_camera(cams)  # [N, H, W, 3]
    cosine = np.where(visible, np.clip(np.einsum("nhwc,nhwc->nhw", n, to_cam), 0.0, 1.0), 0.0).astype(np.float32)
    return ViewBuffers(uv, visible, cosine, part.astype(np.uint8), cams)


def pixel_directions_to_camera(cameras: Sequence[Camera]) -> np.ndarray:
    """``[N, H, W, 3]`` world unit vectors from each pixel centre's surface point towards its camera
    (opposite the pixel's ray; the same for every pixel of an orthographic camera)."""
    out = []
    for c in cameras:
        rot = c.extrinsics[:3, :3]  # world -> OpenCV camera (x right, y down, looking down +z)
        if c.is_ortho:
            d = np.broadcast_to(np.array([0.0, 0.0, 1.0]), (c.height, c.width, 3))
        else:
            k = c.intrinsics
            i, j = np.meshgrid(np.arange(c.width, dtype=np.float64), np.arange(c.height, dtype=np.float64))
            d = np.stack([(i - k[0, 2]) / k[0, 0], (j - k[1, 2]) / k[1, 1], np.ones_like(i)], axis=-1)
        ray = d @ rot  # camera -> world: rot.T @ d for each pixel
        ray /= np.linalg.norm(ray, axis=-1, keepdims=True)
        out.append(-ray)
    return np.stack(out).astype(np.float32)
