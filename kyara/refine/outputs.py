"""What ``kyara refine`` shows besides the texture: the normal map in the VRM, normal renders, progress frames.

* :func:`with_normal_texture` adds a tangent-space normal texture (PNG) to a painted GLB/VRM as the
  ``normalTexture`` of every material that reads the painted base texture (glTF 2.0 core
  ``material.normalTexture``; VRM 1.0's MToon reads the core slot). The mesh's ``TEXCOORD_0`` (the
  painted UVs) addresses it, and every primitive of those materials gets a ``TANGENT`` attribute:
  the frame the normal map was refined against (:func:`kyara.refine.shading.vertex_frames` of the
  primitive's own positions, normals, UVs and triangles: tangent along ``+u``, ``w`` = +-1 so that
  ``cross(N, T) w`` is the image-up bitangent, glTF's convention), so viewers need not generate one.
* :func:`normal_views` renders the refined normals (surface frames of :func:`kyara.refine.shading.render_frames`
  perturbed by the normal texture) in camera space as RGB ``(n + 1) / 2``: x right = red, y up =
  green, z toward the camera = blue (the normal-map turntable).
* :func:`progress_frame` is one frame of the GIF across iterations: the texture's shaded renders
  from a few fixed cameras, side by side.
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from kyara.paint.uv import UVAtlas
    from kyara.refine.optimize import Pool, RefineConfig
    from kyara.render.camera import Camera


def with_normal_texture(glb: bytes, png: bytes, base_name: str = "painted_base",
                        name: str = "painted_normal", scale: float = 1.0, tangents: bool = True) -> bytes:
    """GLB bytes ``glb`` with ``png`` (a PNG normal texture) added as the ``normalTexture`` of every
    material whose base colour texture is the texture named ``base_name`` (same sampler and texture
    transform) and, with ``tangents``, a ``TANGENT`` attribute on their triangle primitives that have
    ``NORMAL`` and ``TEXCOORD_0`` (module docstring). Raises ``ValueError`` when no such texture or
    material exists."""
    from kyara.export.gltf import CHUNK_BIN, CHUNK_JSON, GLB_MAGIC, gltf_json_bytes, read_glb

    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("the normal texture is not a PNG file")
    g, binary = read_glb(glb)
    textures = g.get("textures", [])
    base = [i for i, t in enumerate(textures) if t.get("name") == base_name]
    if not base:
        raise ValueError(f"the GLB has no texture named '{base_name}', expected a painted export")
    mats = [m for m in g.get("materials", [])
            if m.get("pbrMetallicRoughness", {}).get("baseColorTexture", {}).get("index") == base[0]]
    if not mats:
        raise ValueError(f"no material reads the texture '{base_name}'")
    data = bytearray(binary)
    data += b"\0" * (-len(data) % 4)
    g.setdefault("bufferViews", []).append({"buffer": 0, "byteOffset": len(data), "byteLength": len(png)})
    data += png
    data += b"\0" * (-len(data) % 4)
    g["buffers"] = [{**(g.get("buffers") or [{}])[0], "byteLength": len(data)}]
    g.setdefault("images", []).append({"name": name, "mimeType": "image/png", "bufferView": len(g["bufferViews"]) - 1})
    tex = {"name": name, "source": len(g["images"]) - 1}
    if "sampler" in textures[base[0]]:
        tex["sampler"] = textures[base[0]]["sampler"]
    textures.append(tex)
    for m in mats:
        info = {"index": len(textures) - 1}
        ext = m["pbrMetallicRoughness"]["baseColorTexture"].get("extensions")
        if ext:
            info["extensions"] = json.loads(json.dumps(ext))
        if float(scale) != 1.0:
            info["scale"] = float(scale)
        m["normalTexture"] = info
    if tangents:
        _add_tangents(g, data, {i for i, m in enumerate(g["materials"]) if "normalTexture" in m})
    g["buffers"][0]["byteLength"] = len(data)
    text = gltf_json_bytes(g)
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(data)
    return b"".join([struct.pack("<III", GLB_MAGIC, 2, total), struct.pack("<II", len(text), CHUNK_JSON), text,
                     struct.pack("<II", len(data), CHUNK_BIN), bytes(data)])


def _add_tangents(g: dict, data: bytearray, materials: set[int]) -> None:
    """Append a ``TANGENT`` accessor (VEC4 float) per vertex set (``POSITION`` accessor) of the triangle
    primitives drawn with ``materials``, computed from all those primitives' triangles together."""
    from kyara.export.gltf import accessor_array
    from kyara.refine.shading import vertex_frames

    groups: dict = {}
    for mesh in g.get("meshes", []):
        for prim in mesh.get("primitives", []):
            a = prim.get("attributes", {})
            if (prim.get("material") in materials and prim.get("mode", 4) == 4 and "indices" in prim
                    and all(k in a for k in ("POSITION", "NORMAL", "TEXCOORD_0")) and "TANGENT" not in a):
                groups.setdefault((a["POSITION"], a["NORMAL"], a["TEXCOORD_0"]), []).append(prim)
    binary = bytes(data)
    for (pos, nrm, tex), prims in groups.items():
        p = accessor_array(g, binary, pos).astype(np.float64)
        n = accessor_array(g, binary, nrm).astype(np.float64)
        uv = accessor_array(g, binary, tex).astype(np.float64)
        faces = np.concatenate([accessor_array(g, binary, q["indices"]).reshape(-1, 3) for q in prims]).astype(np.int64)
        t, b = vertex_frames(p, n, uv, faces)
        nn = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        w = np.where(np.einsum("vc,vc->v", np.cross(nn, t), b) < 0, -1.0, 1.0)
        t = t / np.linalg.norm(t, axis=1, keepdims=True)  # unit in float32, as the validator checks
        arr = np.ascontiguousarray(np.concatenate([t, w[:, None]], axis=1).astype(np.float32))
        if not np.all(np.isfinite(arr)):
            continue  # a degenerate vertex set: viewers generate its tangents
        data += b"\0" * (-len(data) % 4)
        g["bufferViews"].append({"buffer": 0, "byteOffset": len(data), "byteLength": arr.nbytes, "target": 34962})
        data += arr.tobytes()
        g.setdefault("accessors", []).append({"bufferView": len(g["bufferViews"]) - 1, "componentType": 5126,
                                              "count": int(len(arr)), "type": "VEC4"})
        for q in prims:
            q["attributes"]["TANGENT"] = len(g["accessors"]) - 1


def normal_views(atlas: UVAtlas, vertices: np.ndarray, cameras: Sequence[Camera], normal: np.ndarray | torch.Tensor,
                 background: Sequence[float] = (0.5, 0.5, 1.0)) -> np.ndarray:
    """``[N, H, W, 3] uint8``: the atlas' mesh posed at ``vertices [V, 3]`` seen from ``cameras``, each
    pixel its camera-space normal (x right, y up, z to the camera) perturbed by the tangent-space
    ``normal [3, T, T]`` texture (in [0, 1]), as ``(n + 1) / 2``; ``background`` off the mesh."""
    import torch

    from kyara.paint.buffers import render_buffers
    from kyara.refine.shading import perturb_normals, render_frames, to_camera_space
    from kyara.refine.texture import buffers_to_torch, lookup

    cams = list(cameras)
    nt = torch.as_tensor(np.asarray(normal) if not torch.is_tensor(normal) else normal.detach(), dtype=torch.float32)
    if nt.ndim != 3 or nt.shape[0] != 3 or nt.shape[1] != nt.shape[2]:
        raise ValueError(f"normal texture has shape {tuple(nt.shape)}, expected [3, T, T]")
    buf = render_buffers(atlas, vertices, cams, np.zeros(atlas.num_input_vertices, np.int64))
    fr = render_frames(atlas, vertices, cams)
    uv, vis = buffers_to_torch(buf)

    def t(a):
        return torch.as_tensor(a).permute(0, 3, 1, 2)

    with torch.no_grad():
        n = perturb_normals(t(fr.normal), t(fr.tangent), t(fr.bitangent), lookup(nt, uv, vis, 0.5))
        rgb = to_camera_space(n, cams) * 0.5 + 0.5
        bg = torch.as_tensor(background, dtype=torch.float32).reshape(1, 3, 1, 1).expand_as(rgb)
        rgb = torch.where(vis.unsqueeze(1), rgb, bg)
    return np.clip(np.round(rgb.permute(0, 2, 3, 1).numpy() * 255.0), 0, 255).astype(np.uint8)


def progress_frame(texture: torch.Tensor, normal: torch.Tensor | None, pool: Pool, config: RefineConfig) -> np.ndarray:
    """``[H, N * W, 3] uint8``: the pool's N views of ``texture`` (and ``normal``) shaded as the
    refinement renders them (:func:`kyara.refine.optimize.render_pool`), side by side."""
    import torch

    from kyara.refine.optimize import render_pool

    with torch.no_grad():
        img = render_pool(texture, normal, pool, torch.arange(pool.visible.shape[0]), config)  # [N, C, H, W]
    if img.shape[1] == 1:
        img = img.expand(-1, 3, -1, -1)
    strip = torch.cat(list(img[:, :3]), dim=2)  # [3, H, N * W]
    return np.clip(np.round(strip.permute(1, 2, 0).numpy() * 255.0), 0, 255).astype(np.uint8)
