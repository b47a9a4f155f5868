"""Quick-look exports: Wavefront OBJ + MTL (one group and material per part) and binary PLY with
vertex colours. Metres, Y up, posed or rest geometry; no skin, no morphs."""

from __future__ import annotations

import numpy as np


def posed_mesh(character, pose=None) -> dict[str, np.ndarray]:
    """The merged mesh of :meth:`Character.merged`, its vertices posed when ``pose`` is given."""
    mesh = character.merged()
    if pose is not None:
        mesh = dict(mesh, vertices=character.pose(pose, mesh)[0].astype(np.float32))
    return mesh


def _material_names(character) -> list[str]:
    names: list[str] = []
    for p in character.parts:
        base = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in p.material.name) or "material"
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return names


def obj_text(character, mtl_name: str, pose=None) -> tuple[str, str]:
    """(OBJ text, MTL text). Parts with per-vertex colours write ``v x y z r g b``."""
    mesh = posed_mesh(character, pose)
    mats = _material_names(character)
    mtl = ["# kyara materials (sRGB base colours)"]
    for name, p in zip(mats, character.parts):
        r, g, b = p.material.base_color
        mtl += [f"newmtl {name}", f"Kd {r:.6f} {g:.6f} {b:.6f}", f"Ka {r:.6f} {g:.6f} {b:.6f}",
                "Ks 0 0 0", "d 1", "illum 1", ""]
    out = ["# kyara character, metres, Y up", f"mtllib {mtl_name}"]
    v = mesh["vertices"]
    for i, p in enumerate(character.parts):
        sel = mesh["part_id"] == i
        pv = v[sel]
        if p.colors is not None and len(p.colors):
            c = np.clip(np.asarray(p.colors, np.float64), 0, 1)
            out += [f"v {a:.6f} {b:.6f} {z:.6f} {r:.4f} {g:.4f} {bb:.4f}" for (a, b, z), (r, g, bb) in zip(pv, c)]
        else:
            out += [f"v {a:.6f} {b:.6f} {z:.6f}" for a, b, z in pv]
    offset = 1
    for i, (name, p) in enumerate(zip(mats, character.parts)):
        out += [f"o {p.name}", f"usemtl {name}"]
        f = p.faces.astype(np.int64) + offset
        out += [f"f {a} {b} {c}" for a, b, c in f]
        offset += len(p.vertices)
    return "\n".join(out) + "\n", "\n".join(mtl)


def ply_bytes(character, pose=None) -> bytes:
    """Binary little-endian PLY: float xyz, uchar rgb (sRGB base colour), triangle faces."""
    mesh = posed_mesh(character, pose)
    v = mesh["vertices"].astype(np.float32)
    f = mesh["faces"].astype(np.int32)
    rgb = np.clip(np.round(mesh["base"] * 255), 0, 255).astype(np.uint8)
    head = ("ply\nformat binary_little_endian 1.0\ncomment kyara character, metres, Y up\n"
            f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
            "property uchar red\nproperty uchar green\nproperty uchar blue\n"
            f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n").encode("ascii")
    vert = np.zeros(len(v), dtype=np.dtype([("p", "<f4", 3), ("c", "u1", 3)]))
    vert["p"], vert["c"] = v, rgb
    face = np.zeros(len(f), dtype=np.dtype([("n", "u1"), ("i", "<i4", 3)]))
    face["n"], face["i"] = 3, f
    return head + vert.tobytes() + face.tobytes()
