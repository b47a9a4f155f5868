"""``gaussians.ply``: a Gaussian layer as a PLY file (documented in docs/gaussians.md), and the bake
of a layer into per-vertex colours (:func:`bake_vertex_colors`) or the UV texture (:func:`bake_texture`,
what MToon viewers show) for viewers that do not read it.

The file is a binary little-endian PLY with one ``vertex`` element of N rows. The standard 3D
Gaussian splatting properties come first, so 3DGS viewers show the layer in the pose it was written
in (the rest pose beside a VRM)::

    x y z                 float  world mean, metres (Y up)
    f_dc_0 f_dc_1 f_dc_2  float  colour as the degree-0 SH coefficient: rgb = 0.5 + SH_C0 * f_dc
    opacity               float  logit of the opacity
    scale_0 scale_1 scale_2  float  log of the standard deviations, metres
    rot_0 rot_1 rot_2 rot_3  float  world rotation quaternion (w, x, y, z)

then kyara's binding (what poses the layer with the character)::

    binding_triangle      int    triangle of the mesh the Gaussian rides on
    binding_bary_0..2     float  barycentric coordinates in it (sum 1)
    binding_offset_0..2   float  offset in the triangle frame (tangent, bitangent, NORMAL), metres
    binding_rot_0..3      float  rotation in the triangle frame (w, x, y, z)

and the header carries ``comment kyara gaussians 1`` and ``comment kyara mesh <signature>``
(:func:`kyara.gaussians.binding.mesh_signature`: which mesh the binding is for).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

SH_C0 = 0.28209479177387814
MAGIC = "kyara gaussians 1"
MAX_BYTES = 1 << 31
_TYPES = {"float": "<f4", "float32": "<f4", "double": "<f8", "float64": "<f8", "int": "<i4", "int32": "<i4",
          "uint": "<u4", "uint32": "<u4", "short": "<i2", "int16": "<i2", "ushort": "<u2", "uint16": "<u2",
          "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1"}
_STANDARD = (["x", "y", "z"] + [f"f_dc_{i}" for i in range(3)] + ["opacity"] + [f"scale_{i}" for i in range(3)]
             + [f"rot_{i}" for i in range(4)])
_BINDING = (["binding_triangle"] + [f"binding_bary_{i}" for i in range(3)] + [f"binding_offset_{i}" for i in range(3)]
            + [f"binding_rot_{i}" for i in range(4)])


def layer_bytes(layer, vertices: np.ndarray, faces: np.ndarray) -> bytes:
    """The PLY bytes of ``layer`` (:class:`~kyara.gaussians.layer.GaussianLayer`) placed on the mesh
    ``(vertices [V, 3], faces [F, 3])`` (the pose the standard properties show)."""
    import torch

    from kyara.gaussians.binding import check_mesh
    from kyara.gaussians.layer import layer_world

    check_mesh(layer.signature, faces, len(vertices))
    with torch.no_grad():
        means, quats, _, _, _ = layer_world(layer, torch.as_tensor(np.asarray(vertices), dtype=torch.float64),
                                            faces)
    lay = layer.detached()
    n = len(lay)
    names = _STANDARD + _BINDING
    rec = np.zeros(n, dtype=[(k, "<i4" if k == "binding_triangle" else "<f4") for k in names])
    cols = lay.colors.clamp(0, 1).double().numpy()
    values = {"x": means[:, 0], "y": means[:, 1], "z": means[:, 2], "opacity": lay.opacity_logits,
              "binding_triangle": lay.triangles}
    for i in range(3):
        values[f"f_dc_{i}"] = (cols[:, i] - 0.5) / SH_C0
        values[f"scale_{i}"] = lay.log_scales[:, i]
        values[f"binding_bary_{i}"] = lay.barycentrics[:, i]
        values[f"binding_offset_{i}"] = lay.offsets[:, i]
    for i in range(4):
        values[f"rot_{i}"] = quats[:, i]
        values[f"binding_rot_{i}"] = lay.quats[:, i]
    for k in names:
        v = values[k]
        rec[k] = v.numpy() if hasattr(v, "numpy") else v
    head = ["ply", "format binary_little_endian 1.0", f"comment {MAGIC}", f"comment kyara mesh {layer.signature}",
            "comment metres, Y up; see docs/gaussians.md", f"element vertex {n}"]
    head += [f"property {'int' if k == 'binding_triangle' else 'float'} {k}" for k in names]
    head.append("end_header")
    return ("\n".join(head) + "\n").encode("ascii") + rec.tobytes()


def write_layer(path: str | os.PathLike, layer, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """Write ``layer`` as ``path`` (a ``.ply``, atomically; see :func:`layer_bytes`)."""
    from kyara.fileio import check_output_path, write_bytes_atomic

    p = check_output_path(path, (".ply",))
    return write_bytes_atomic(p, layer_bytes(layer, vertices, faces))


def read_layer(path: str | os.PathLike):
    """Read a ``gaussians.ply`` back as a :class:`~kyara.gaussians.layer.GaussianLayer` (float32, CPU).
    Raises ``ValueError`` (one line naming the file) for a missing, truncated or foreign file, or one
    without kyara's binding properties."""
    import torch

    from kyara.gaussians.layer import GaussianLayer

    p = Path(path)
    if p.suffix.lower() != ".ply":
        raise ValueError(f"{p} is not a .ply file, expected a gaussians.ply")
    if not p.is_file():
        raise ValueError(f"{p} does not exist, expected a gaussians.ply")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{p} is {size} bytes, expected at most {MAX_BYTES}")
    data = p.read_bytes()
    end = data.find(b"end_header\n")
    if not data.startswith(b"ply\n") or end < 0:
        raise ValueError(f"{p} is not a PLY file (no 'ply' ... 'end_header' header)")
    try:
        lines = data[:end].decode("ascii").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{p} has a PLY header that is not ASCII") from None
    if "format binary_little_endian 1.0" not in lines:
        raise ValueError(f"{p} is not a binary little-endian PLY, expected kyara's gaussians.ply")
    signature, count, props, elements = None, None, [], []
    for line in lines[1:]:
        words = line.split()
        if not words:
            continue
        if words[0] == "comment" and words[1:3] == ["kyara", "mesh"] and len(words) == 4:
            signature = words[3]
        elif words[0] == "element" and len(words) == 3:
            elements.append(words[1])
            if words[1] == "vertex" and re.fullmatch(r"\d{1,12}", words[2]):
                count = int(words[2])
        elif words[0] == "property" and elements == ["vertex"]:
            if len(words) != 3 or words[1] not in _TYPES:
                raise ValueError(f"{p} has a property line {line!r} kyara does not read, expected scalar properties")
            props.append((words[2], _TYPES[words[1]]))
    if elements != ["vertex"] or count is None:
        raise ValueError(f"{p} has elements {elements}, expected one 'vertex' element of Gaussians")
    names = [n for n, _ in props]
    missing = [k for k in _BINDING if k not in names]
    if missing:
        raise ValueError(f"{p} has no binding property {missing[0]} (a plain 3DGS file?), expected kyara's "
                         "gaussians.ply with its mesh binding")
    if signature is None:
        raise ValueError(f"{p} names no mesh ('comment kyara mesh ...'), expected kyara's gaussians.ply")
    dtype = np.dtype(props)
    body = data[end + len(b"end_header\n"):]
    if len(body) != count * dtype.itemsize:
        raise ValueError(f"{p} holds {len(body)} bytes of Gaussians, expected {count} x {dtype.itemsize} "
                         "(truncated or damaged)")
    rec = np.frombuffer(body, dtype=dtype, count=count)
    col = lambda *ks: np.stack([rec[k].astype(np.float64) for k in ks], -1)  # noqa: E731
    tri = rec["binding_triangle"].astype(np.int64)
    bary = col(*_BINDING[1:4])
    offs = col(*_BINDING[4:7])
    lrot = col(*_BINDING[7:11])
    for k in ("opacity", "f_dc_0", "scale_0"):
        if k not in names:
            raise ValueError(f"{p} has no property {k}, expected the 3DGS properties of docs/gaussians.md")
    opac = rec["opacity"].astype(np.float64)
    fdc = col("f_dc_0", "f_dc_1", "f_dc_2")
    scales = col("scale_0", "scale_1", "scale_2")
    for name, a in (("barycentrics", bary), ("offsets", offs), ("rotations", lrot), ("opacity", opac),
                    ("colours", fdc), ("scales", scales)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{p} has non-finite {name}")
    if count and (tri.min() < 0 or np.abs(bary.sum(1) - 1.0).max() > 1e-3 or bary.min() < -1e-3
                  or np.linalg.norm(lrot, axis=1).min() < 1e-6):
        raise ValueError(f"{p} has a bad binding (negative triangle, barycentrics off the triangle or a zero "
                         "rotation)")
    t = lambda a, dt=torch.float32: torch.as_tensor(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
    return GaussianLayer(t(tri, torch.int64), t(bary), t(offs), t(scales), t(lrot), t(opac),
                         t(np.clip(0.5 + SH_C0 * fdc, 0.0, 1.0)), signature)


def check_layer_mesh(layer, faces: np.ndarray, num_vertices: int) -> None:
    """Raise ``ValueError`` unless ``layer`` is bound to this mesh (signature and triangle range)."""
    from kyara.gaussians.binding import check_mesh

    check_mesh(layer.signature, faces, num_vertices)
    if len(layer) and int(layer.triangles.max()) >= len(faces):
        raise ValueError(f"the Gaussians ride on triangle {int(layer.triangles.max())}, the mesh has {len(faces)}")


def bake_vertex_colors(layer, base: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Per-vertex colours ``[V, 3]`` in [0, 1] with the layer splatted in, for viewers that do not
    read ``gaussians.ply``: each Gaussian adds ``opacity * barycentric_k`` of weight and its colour
    to the k-th corner of its triangle; a vertex of total weight ``w`` becomes ``(1 - min(w, 1)) base
    + min(w, 1) (weighted mean colour)``. ``base [V, 3]`` the mesh's own colours."""
    import torch

    b = np.asarray(base, np.float64)
    f = np.asarray(faces, np.int64)
    if b.ndim != 2 or b.shape[1] != 3:
        raise ValueError(f"base colours have shape {b.shape}, expected [V, 3]")
    check_layer_mesh(layer, f, len(b))
    with torch.no_grad():
        o = torch.sigmoid(layer.opacity_logits).double().numpy()
        c = layer.colors.clamp(0, 1).double().numpy()
        bary = layer.barycentrics.double().numpy()
        tri = layer.triangles.numpy()
    w = o[:, None] * bary  # [N, 3]
    corners = f[tri].reshape(-1)  # [3N]
    wsum = np.bincount(corners, weights=w.reshape(-1), minlength=len(b))
    csum = np.stack([np.bincount(corners, weights=(w[:, :, None] * c[:, None, :]).reshape(-1, 3)[:, k],
                                 minlength=len(b)) for k in range(3)], -1)
    mean = csum / np.maximum(wsum, 1e-12)[:, None]
    a = np.minimum(wsum, 1.0)[:, None]
    return np.clip((1.0 - a) * b + a * mean, 0.0, 1.0)


def bake_texture(layer, texture: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray, vertices: np.ndarray,
                 faces: np.ndarray, max_radius: int = 8) -> np.ndarray:
    """``texture [T, T, C]`` (values in [0, 1], glTF rows: row grows with v, texel centre at ``uv * T -
    0.5``) with the layer splatted in, for VRM viewers (MToon ignores vertex colours): each Gaussian
    lands at the UV of its surface point (its triangle's atlas UVs ``uv [V', 2]`` / ``uv_faces [F, 3]``,
    face for face the mesh ``faces [F, 3]`` of ``vertices [V, 3]``, as :class:`kyara.paint.uv.UVAtlas`)
    as an isotropic texel Gaussian of its largest scale (metres -> texels by its triangle's UV/world
    area ratio, at most ``max_radius`` texels at 2 sigma), weight ``opacity``; a texel of total weight
    ``w`` becomes ``(1 - min(w, 1)) texture + min(w, 1) (weighted mean colour)``. Offsets off the surface
    are dropped (the bake paints the surface under each Gaussian)."""
    import torch

    tex = np.asarray(texture, np.float64)
    if tex.ndim != 3 or tex.shape[0] != tex.shape[1]:
        raise ValueError(f"texture has shape {tex.shape}, expected [T, T, C]")
    uvs, uf = np.asarray(uv, np.float64), np.asarray(uv_faces, np.int64)
    f = np.asarray(faces, np.int64)
    v = np.asarray(vertices, np.float64)
    if uf.shape != f.shape:
        raise ValueError(f"uv_faces have shape {uf.shape}, expected the mesh faces' {f.shape}")
    check_layer_mesh(layer, f, len(v))
    t = tex.shape[0]
    with torch.no_grad():
        tri = layer.triangles.numpy()
        bary = layer.barycentrics.double().numpy()
        o = torch.sigmoid(layer.opacity_logits).double().numpy()
        c = layer.colors.clamp(0, 1).double().numpy()
        s = layer.log_scales.exp().max(-1).values.double().numpy()
    if c.shape[1] != tex.shape[2]:
        raise ValueError(f"the layer has {c.shape[1]} colour channels, the texture {tex.shape[2]}")
    p = np.einsum("nk,nkd->nd", bary, uvs[uf[tri]]) * t - 0.5  # [N, 2] texel-centre units (x = u, y = v)
    wa = 0.5 * np.linalg.norm(np.cross(v[f[tri, 1]] - v[f[tri, 0]], v[f[tri, 2]] - v[f[tri, 0]]), axis=1)
    e = uvs[uf[tri]] * t
    ua = 0.5 * np.abs((e[:, 1, 0] - e[:, 0, 0]) * (e[:, 2, 1] - e[:, 0, 1])
                      - (e[:, 2, 0] - e[:, 0, 0]) * (e[:, 1, 1] - e[:, 0, 1]))
    sig = np.clip(s * np.sqrt(ua / np.maximum(wa, 1e-18)), 0.5, max_radius / 2.0)  # texels (>= 0.5: a texel)
    wsum = np.zeros((t, t))
    csum = np.zeros_like(tex)
    base = np.rint(p).astype(np.int64)
    for dy in range(-max_radius, max_radius + 1):
        for dx in range(-max_radius, max_radius + 1):
            x, y = base[:, 0] + dx, base[:, 1] + dy
            d2 = (x - p[:, 0]) ** 2 + (y - p[:, 1]) ** 2
            ok = (x >= 0) & (x < t) & (y >= 0) & (y < t) & (d2 <= (2.0 * sig) ** 2)
            w = o[ok] * np.exp(-0.5 * d2[ok] / sig[ok] ** 2)
            np.add.at(wsum, (y[ok], x[ok]), w)
            np.add.at(csum, (y[ok], x[ok]), w[:, None] * c[ok])
    mean = csum / np.maximum(wsum, 1e-12)[..., None]
    a = np.minimum(wsum, 1.0)[..., None]
    return np.clip((1.0 - a) * tex + a * mean, 0.0, 1.0)
