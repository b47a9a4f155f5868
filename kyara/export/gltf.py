"""glTF 2.0 binary (GLB) writer for skinned characters, written with json + numpy (no third-party writer).

What goes in (shared by the GLB, VRM 1.0, VRM 0.x and VRMA exporters):

* one node per bone (the 55 VRM humanoid bones, then the character's extra bones), in the rest
  T-pose: every node has identity rotation and the translation ``rest_joint - rest_parent``;
* one skin over all bones; inverse bind matrices are ``translate(-rest_joint)`` (column-major);
* one mesh node per part (skinned nodes sit at the scene root with no transform, as glTF asks),
  one primitive per material. Colours are what the previews draw (:func:`preview_colours`) and
  never rely on ``COLOR_0``, which MToon viewers ignore: a part whose per-vertex ``colors`` give
  every face one colour (a few colours in all) is split into one primitive per colour (all
  primitives share the vertex accessors); a part whose colour varies across faces (iris
  gradient, hair shine) gets ``TEXCOORD_0`` into one small colour atlas shared by the avatar, a
  base-colour and a shade texture (:mod:`kyara.export.atlas`);
* ``JOINTS_0``/``WEIGHTS_0``: at most 4 influences, duplicates merged, sorted by weight and
  renormalized *after* the float32 cast (:func:`gltf_skin_weights`);
* morph targets (``Part.morphs``) as POSITION targets, sparse when few vertices move, named in
  ``mesh.extras.targetNames``;
* materials: linear base colour (times the atlas texture) + ``KHR_materials_unlit`` (flat
  colours in any viewer), ``alphaMode BLEND`` for see-through ones; the VRM writers add their
  MToon extensions on top;
* optionally an animation from a :class:`~kyara.pose.pose.Motion` (rotation channels for every
  humanoid bone, translation for ``hips``).

:func:`read_glb` and :func:`accessor_array` read a GLB back (used by the tests as "our own loader").
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np

GLB_MAGIC = 0x46546C67
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942

# accessor component types
BYTE, UBYTE, SHORT, USHORT, UINT, FLOAT = 5120, 5121, 5122, 5123, 5125, 5126
_NP = {UBYTE: np.uint8, USHORT: np.uint16, UINT: np.uint32, FLOAT: np.float32, BYTE: np.int8, SHORT: np.int16}
_NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963

MAX_SPLIT_COLOURS = 16  # a part with at most this many distinct vertex colours is split per colour


def srgb_to_linear(c) -> list[float]:
    """sRGB [0, 1] -> linear (glTF colour factors are linear)."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return [round(float(x), 6) for x in lin]


class GlbBuilder:
    """Accumulates glTF JSON and one binary buffer; :meth:`to_bytes` packs the GLB container."""

    def __init__(self, generator: str = "kyara") -> None:
        self.gltf: dict = {"asset": {"version": "2.0", "generator": generator}, "scene": 0,
                           "scenes": [{"nodes": []}], "nodes": [], "meshes": [], "materials": [],
                           "accessors": [], "bufferViews": [], "buffers": [], "skins": [], "animations": []}
        self.bin = bytearray()
        self.extensions_used: set[str] = set()

    # -- low level -------------------------------------------------------------------------
    def add_view(self, data: bytes, target: int | None = None) -> int:
        while len(self.bin) % 4:
            self.bin.append(0)
        view = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.bin.extend(data)
        self.gltf["bufferViews"].append(view)
        return len(self.gltf["bufferViews"]) - 1

    def add_accessor(self, array: np.ndarray, type_: str, component: int, target: int | None = None,
                     minmax: bool = False, normalized: bool = False) -> int:
        """Append ``array`` ([N] or [N, k]) as a tightly packed accessor; return its index."""
        arr = np.ascontiguousarray(np.asarray(array).astype(_NP[component], copy=False))
        if component == FLOAT:
            check_finite(arr, f"accessor {len(self.gltf['accessors'])} ({type_})")
        n = arr.shape[0]
        acc = {"bufferView": self.add_view(arr.tobytes(), target), "componentType": component,
               "count": int(n), "type": type_}
        if normalized:
            acc["normalized"] = True
        if minmax and n:
            flat = arr.reshape(n, -1)
            cast = float if component == FLOAT else int
            acc["min"] = [cast(x) for x in flat.min(axis=0)]
            acc["max"] = [cast(x) for x in flat.max(axis=0)]
        self.gltf["accessors"].append(acc)
        return len(self.gltf["accessors"]) - 1

    def add_sparse_vec3(self, values: np.ndarray) -> int:
        """A float VEC3 accessor stored sparsely (only the rows that are not zero); min/max set."""
        values = np.asarray(values, dtype=np.float32)
        check_finite(values, f"accessor {len(self.gltf['accessors'])} (sparse VEC3)")
        rows = np.flatnonzero(np.any(values != 0, axis=1))
        n = len(values)
        acc: dict = {"componentType": FLOAT, "count": int(n), "type": "VEC3",
                     "min": [float(x) for x in values.min(axis=0)] if n else [0.0] * 3,
                     "max": [float(x) for x in values.max(axis=0)] if n else [0.0] * 3}
        if len(rows):
            comp = USHORT if n <= 65535 else UINT
            acc["sparse"] = {"count": int(len(rows)),
                             "indices": {"bufferView": self.add_view(rows.astype(_NP[comp]).tobytes()), "componentType": comp},
                             "values": {"bufferView": self.add_view(np.ascontiguousarray(values[rows]).tobytes())}}
        else:  # all zero: a dense accessor of zeros keeps it simple and valid
            return self.add_accessor(values, "VEC3", FLOAT, ARRAY_BUFFER, minmax=True)
        self.gltf["accessors"].append(acc)
        return len(self.gltf["accessors"]) - 1

    def add_node(self, node: dict) -> int:
        self.gltf["nodes"].append(node)
        return len(self.gltf["nodes"]) - 1

    def add_material(self, material: dict) -> int:
        self.gltf["materials"].append(material)
        return len(self.gltf["materials"]) - 1

    def add_texture(self, png: bytes, name: str) -> int:
        """A PNG image in the binary chunk and a texture with the shared sampler (``LINEAR``, no
        mipmaps, clamped: what the colour atlas needs); returns the texture index."""
        g = self.gltf
        if not g.setdefault("samplers", []):
            g["samplers"].append({"magFilter": 9729, "minFilter": 9729, "wrapS": 33071, "wrapT": 33071})
        g.setdefault("images", []).append({"name": name, "mimeType": "image/png", "bufferView": self.add_view(png)})
        g.setdefault("textures", []).append({"name": name, "sampler": 0, "source": len(g["images"]) - 1})
        return len(g["textures"]) - 1

    def use(self, name: str) -> None:
        self.extensions_used.add(name)

    # -- container -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        g = {k: v for k, v in self.gltf.items() if not (isinstance(v, list) and not v and k != "scenes")}
        if self.bin:
            g["buffers"] = [{"byteLength": len(self.bin)}]
        else:
            g.pop("bufferViews", None)
        if self.extensions_used:
            g["extensionsUsed"] = sorted(self.extensions_used)
        text = gltf_json_bytes(g)
        text += b" " * (-len(text) % 4)
        binary = bytes(self.bin) + b"\0" * (-len(self.bin) % 4)
        total = 12 + 8 + len(text) + (8 + len(binary) if binary else 0)
        out = [struct.pack("<III", GLB_MAGIC, 2, total), struct.pack("<II", len(text), CHUNK_JSON), text]
        if binary:
            out += [struct.pack("<II", len(binary), CHUNK_BIN), binary]
        return b"".join(out)


def check_finite(values: np.ndarray, what: str) -> None:
    """The writer's last guard: refuse (``ValueError``) float data holding NaN or Infinity."""
    with np.errstate(invalid="ignore"):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{what} is not finite (NaN or Infinity), refusing to write an invalid glTF")


def gltf_json_bytes(gltf: dict) -> bytes:
    """Compact UTF-8 JSON of a glTF document; a NaN or Infinity anywhere raises ``ValueError``
    (Python's json would write the invalid tokens ``NaN``/``Infinity``)."""
    try:
        return json.dumps(gltf, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except ValueError:
        raise ValueError("glTF JSON holds a number that is not finite (NaN or Infinity), "
                         "refusing to write an invalid glTF") from None


def read_glb(data: bytes) -> tuple[dict, bytes]:
    """GLB bytes -> (glTF JSON dict, binary chunk). Raises ``ValueError`` on a malformed container."""
    if len(data) < 20:
        raise ValueError(f"GLB has {len(data)} bytes, expected at least a 20-byte header")
    magic, version, total = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC or version != 2 or total != len(data):
        raise ValueError("not a glTF 2.0 binary (bad magic, version or length)")
    jlen, jtype = struct.unpack_from("<II", data, 12)
    if jtype != CHUNK_JSON:
        raise ValueError("GLB's first chunk is not JSON")
    gltf = json.loads(data[20:20 + jlen].decode("utf-8"))
    off = 20 + jlen
    binary = b""
    if off + 8 <= len(data):
        blen, btype = struct.unpack_from("<II", data, off)
        if btype == CHUNK_BIN:
            binary = data[off + 8:off + 8 + blen]
    return gltf, binary


def accessor_array(gltf: dict, binary: bytes, index: int) -> np.ndarray:
    """Decode accessor ``index`` (dense or sparse, tightly packed) into ``[count, k]`` (``[count]`` for SCALAR)."""
    acc = gltf["accessors"][index]
    dtype = np.dtype(_NP[acc["componentType"]])
    k = _NCOMP[acc["type"]]
    n = acc["count"]

    def view(vi: int, offset: int, count: int, dt: np.dtype, comps: int) -> np.ndarray:
        bv = gltf["bufferViews"][vi]
        start = bv.get("byteOffset", 0) + offset
        return np.frombuffer(binary, dtype=dt, count=count * comps, offset=start).reshape(count, comps)

    if "bufferView" in acc:
        out = view(acc["bufferView"], acc.get("byteOffset", 0), n, dtype, k).copy()
    else:
        out = np.zeros((n, k), dtype=dtype)
    if "sparse" in acc:
        sp = acc["sparse"]
        idx = view(sp["indices"]["bufferView"], sp["indices"].get("byteOffset", 0), sp["count"],
                   np.dtype(_NP[sp["indices"]["componentType"]]), 1)[:, 0]
        out[idx] = view(sp["values"]["bufferView"], sp["values"].get("byteOffset", 0), sp["count"], dtype, k)
    return out[:, 0] if k == 1 else out


# -- skin weights ---------------------------------------------------------------------------

def gltf_skin_weights(joint_indices: np.ndarray, joint_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[V, K]`` influences -> glTF ``(JOINTS_0 [V, 4] int64, WEIGHTS_0 [V, 4] float32)``.

    Duplicate joints are merged, the 4 largest kept (sorted, largest first), unused slots get joint 0
    and weight 0, negative weights are dropped, and the rows are renormalized *after* the float32 cast
    so they sum to 1 within float32 rounding. A row with no weight is bound rigidly to joint 0.
    """
    ji = np.asarray(joint_indices, dtype=np.int64)
    jw = np.clip(np.asarray(joint_weights, dtype=np.float64), 0.0, None)
    V, K = ji.shape
    # 1. merge duplicates: sort by joint, sum runs of equal joints into the first of each run
    order = np.argsort(ji, axis=1, kind="stable")
    sj = np.take_along_axis(ji, order, axis=1)
    sw = np.take_along_axis(jw, order, axis=1)
    for k in range(K - 1, 0, -1):
        same = sj[:, k] == sj[:, k - 1]
        sw[same, k - 1] += sw[same, k]
        sw[same, k] = 0.0
    # 2. keep the 4 largest
    top = np.argsort(-sw, axis=1, kind="stable")[:, :4]
    j4 = np.take_along_axis(sj, top, axis=1)
    w4 = np.take_along_axis(sw, top, axis=1)
    if K < 4:
        j4 = np.concatenate([j4, np.zeros((V, 4 - K), np.int64)], axis=1)
        w4 = np.concatenate([w4, np.zeros((V, 4 - K))], axis=1)
    # 3. empty rows -> rigid on joint 0; unused slots -> joint 0
    empty = w4.sum(axis=1) <= 0
    w4[empty, 0] = 1.0
    j4[empty, 0] = 0
    j4[w4 <= 0] = 0
    # 4. renormalize in float32, then put the rounding residue on the largest weight
    w32 = w4.astype(np.float32)
    w32 /= w32.sum(axis=1, keepdims=True, dtype=np.float32)
    w32[:, 0] += np.float32(1.0) - w32.sum(axis=1, dtype=np.float32)
    return j4, w32


def gltf_skin_weights_reference(joint_indices: np.ndarray, joint_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slow, obvious reference of :func:`gltf_skin_weights` (one vertex at a time, dict of weights)."""
    V = len(joint_indices)
    j_out = np.zeros((V, 4), np.int64)
    w_out = np.zeros((V, 4), np.float32)
    for v in range(V):
        acc: dict[int, float] = {}
        for j, w in zip(joint_indices[v], joint_weights[v]):
            acc[int(j)] = acc.get(int(j), 0.0) + max(float(w), 0.0)
        items = sorted(((w, j) for j, w in acc.items() if w > 0), key=lambda t: -t[0])[:4]
        if not items:
            items = [(1.0, 0)]
        total = np.float32(sum(np.float32(w) for w, _ in items))
        for s, (w, j) in enumerate(items):
            j_out[v, s] = j
            w_out[v, s] = np.float32(w) / total
    return j_out, w_out


# -- geometry helpers -----------------------------------------------------------------------

def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``[V, 3]`` float32 (``+Y`` where undefined)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    n = np.zeros_like(v)
    if len(f):
        fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        for k in range(3):
            np.add.at(n, f[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    bad = length[:, 0] < 1e-20
    n = np.where(bad[:, None], np.array([0.0, 1.0, 0.0]), n / np.maximum(length, 1e-30))
    return n.astype(np.float32)


def preview_colours(character) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per part, the ``(base [V, 3], shade [V, 3])`` sRGB colours the cel-shaded previews draw
    (:meth:`Character.merged`: the part's ``colors`` with :func:`shade_of` shades, else its Material)."""
    m = character.merged()
    ends = np.cumsum([len(p.vertices) for p in character.parts])
    return [(m["base"][e - len(p.vertices):e].astype(np.float64), m["shade"][e - len(p.vertices):e].astype(np.float64))
            for p, e in zip(character.parts, ends)]


def colour_groups(base: np.ndarray, shade: np.ndarray,
                  faces: np.ndarray) -> list[tuple[tuple, tuple, np.ndarray]] | None:
    """``[(base sRGB, shade sRGB, face_ids), ...]``: the faces split by colour when every face has one
    colour (8 bits) and there are at most :data:`MAX_SPLIT_COLOURS`; ``None`` when the colour varies
    across a face or there are more (the part is textured from the colour atlas instead)."""
    q = np.round(np.clip(np.concatenate([base, shade], axis=1), 0, 1) * 255).astype(np.int64)  # [V, 6]
    keys = np.zeros(len(q), np.int64)
    for c in range(6):
        keys = keys * 256 + q[:, c]
    fk = keys[faces] if len(faces) else np.zeros((0, 3), np.int64)
    if np.any(fk != fk[:, :1]):
        return None
    uniq, inv = np.unique(fk[:, 0], return_inverse=True)
    if len(uniq) > MAX_SPLIT_COLOURS:
        return None
    out = []
    for i in range(len(uniq)):
        ids = np.flatnonzero(inv == i)
        v = faces[ids[0], 0]  # the group's colour as given (its 8-bit key only groups the faces)
        out.append((tuple(map(float, base[v])), tuple(map(float, shade[v])), ids))
    return out


# -- the skinned scene -----------------------------------------------------------------------

@dataclass(frozen=True)
class MaterialSlot:
    """What one glTF material draws: a kyara Material in one ``base``/``shade`` colour (sRGB, as
    the previews show it), or (``textured``) the colour atlas, ``base``/``shade`` then being the
    part's median colours (for settings that want one colour, such as the rim)."""

    material: object
    base: tuple[float, float, float]
    shade: tuple[float, float, float]
    textured: bool = False
    source: str = "atlas"  # which texture pair a textured slot reads: the colour "atlas" or the "paint"


@dataclass
class SceneLayout:
    """Where things went in the glTF: indices the VRM writers refer to."""

    bone_nodes: list[int]  # node of each bone (character.bone_names order)
    mesh_nodes: list[int]  # node of each part
    mesh_indices: list[int]  # mesh of each part
    morph_names: list[list[str]]  # per part, its morph target names in target order
    part_materials: list[list[int]]  # per part, the material index of each primitive
    skin: int = -1
    materials: list[MaterialSlot] = field(default_factory=list)  # one per glTF material, same order
    textures: tuple[int, int] | None = None  # (base, shade) texture indices of the colour atlas
    paint_textures: tuple[int, int] | None = None  # (base, shade) texture indices of a painted skin
    warnings: list[str] = field(default_factory=list)

    def textures_of(self, slot: MaterialSlot) -> tuple[int, int] | None:
        """The (base, shade) texture indices a textured ``slot`` reads."""
        return self.paint_textures if slot.source == "paint" else self.textures


def material_json(name: str, slot: MaterialSlot, base_texture: int | None = None) -> dict:
    """Unlit glTF material of ``slot``: its base colour, or white times the atlas ``base_texture``."""
    mat = slot.material
    alpha = float(getattr(mat, "alpha", 1.0))
    rgb = (1.0, 1.0, 1.0) if slot.textured else slot.base
    pbr: dict = {"baseColorFactor": srgb_to_linear(rgb) + [round(alpha, 6)], "metallicFactor": 0.0,
                 "roughnessFactor": 1.0}
    if slot.textured:
        pbr["baseColorTexture"] = {"index": int(base_texture)}
    out = {"name": name, "pbrMetallicRoughness": pbr, "extensions": {"KHR_materials_unlit": {}}}
    if alpha < 1.0:
        out["alphaMode"] = "BLEND"
    return out


def _colour_plan(character, painted: list[bool] | None = None) -> tuple[list, object]:
    """Per part, its ``[(slot, face_ids)]``, and the colour atlas; ``painted[k]`` parts read the painted
    skin (one slot with the part's median colours for the settings that want one colour)."""
    from kyara.export.atlas import build_atlas

    plans, items = [], []
    for k, (part, (base, shade)) in enumerate(zip(character.parts, preview_colours(character))):
        f = part.faces.astype(np.int64)
        if painted is not None and painted[k]:
            used = np.unique(f)
            mid = (tuple(map(float, np.median(base[used], axis=0))), tuple(map(float, np.median(shade[used], axis=0))))
            plans.append([(MaterialSlot(part.material, *mid, textured=True, source="paint"), np.arange(len(f)))])
            items.append(None)
            continue
        if part.colors is None or not len(part.colors):
            slot = MaterialSlot(part.material, tuple(map(float, part.material.base_color)),
                                tuple(map(float, part.material.shade)))
            plans.append([(slot, np.arange(len(f)))])
            items.append(None)
            continue
        groups = colour_groups(base, shade, f)
        if groups is not None:
            plans.append([(MaterialSlot(part.material, b, s), ids) for b, s, ids in groups])
            items.append(None)
        else:
            used = np.unique(f)
            mid = (tuple(map(float, np.median(base[used], axis=0))), tuple(map(float, np.median(shade[used], axis=0))))
            plans.append([(MaterialSlot(part.material, *mid, textured=True), np.arange(len(f)))])
            items.append((base, shade, f))
    return plans, build_atlas(items)


def add_skinned_character(builder: GlbBuilder, character, transform: np.ndarray | None = None,
                          paint=None) -> SceneLayout:
    """Add bones, skin, meshes, materials and the colour atlas of ``character`` to ``builder``.

    ``paint`` (:class:`kyara.export.atlas.PaintedSkin`): parts it gives UVs are drawn from its
    base and shade textures (``TEXCOORD_0``; its welded normals), the others as usual.

    ``transform`` ([3, 3], orthonormal) is baked into every position, normal and morph offset
    (VRM 0.x uses ``diag(-1, 1, -1)``: the model turned 180 degrees about Y). Bones keep identity
    rotations, so the rest pose stays a T-pose with normalized bones.
    """
    R = np.eye(3) if transform is None else np.asarray(transform, dtype=np.float64)
    names = character.bone_names
    parents = character.parents
    rest = np.asarray(character.rest_joints, dtype=np.float64) @ R.T  # [J, 3] metres
    J = len(names)
    # 1. bone nodes, parents first (BONES and extra bones are both ordered parents-first)
    first = len(builder.gltf["nodes"])
    bone_nodes = []
    for j in range(J):
        p = int(parents[j])
        local = rest[j] - (rest[p] if p >= 0 else 0.0)
        bone_nodes.append(builder.add_node({"name": names[j], "translation": [float(x) for x in local]}))
    for j in range(J):
        p = int(parents[j])
        if p >= 0:
            builder.gltf["nodes"][bone_nodes[p]].setdefault("children", []).append(bone_nodes[j])
        else:
            builder.gltf["scenes"][0]["nodes"].append(bone_nodes[j])
    assert bone_nodes == list(range(first, first + J))
    # 2. skin: inverse bind matrix of bone j = translate(-rest_j), column-major
    ibm = np.tile(np.eye(4, dtype=np.float32), (J, 1, 1))
    ibm[:, :3, 3] = -rest
    ibm_acc = builder.add_accessor(ibm.transpose(0, 2, 1).reshape(J, 16), "MAT4", FLOAT)
    builder.gltf["skins"].append({"name": "skeleton", "joints": bone_nodes, "inverseBindMatrices": ibm_acc,
                                  "skeleton": bone_nodes[int(np.flatnonzero(parents < 0)[0])]})
    skin = len(builder.gltf["skins"]) - 1
    joint_comp = UBYTE if J <= 256 else USHORT
    # 3. colours: one material per colour, or the colour atlas for parts whose colour varies
    if paint is not None:
        paint.check(character)
    plans, atlas = _colour_plan(character, None if paint is None else [uv is not None for uv in paint.uvs])
    layout = SceneLayout(bone_nodes, [], [], [], [], skin)
    if paint is not None:
        from kyara.export.atlas import png_bytes

        layout.paint_textures = (builder.add_texture(png_bytes(paint.base), "painted_base"),
                                 builder.add_texture(png_bytes(paint.shade), "painted_shade"))
    if atlas is not None:
        from kyara.export.atlas import png_bytes

        layout.textures = (builder.add_texture(png_bytes(atlas.base), "colour_atlas"),
                           builder.add_texture(png_bytes(atlas.shade), "shade_atlas"))
    mat_index: dict = {}
    used_names = set(names)

    def material_for(slot: MaterialSlot) -> int:
        if slot not in mat_index:
            taken = any(s.material.name == slot.material.name for s in layout.materials)
            name = f"{slot.material.name}_{len(layout.materials)}" if taken else slot.material.name
            pair = layout.textures_of(slot)
            tex = pair[0] if pair else None
            mat_index[slot] = builder.add_material(material_json(name, slot, tex))
            layout.materials.append(slot)
        return mat_index[slot]

    # 4. one mesh node per part
    for k, part in enumerate(character.parts):
        v = part.vertices.astype(np.float64) @ R.T
        f = part.faces.astype(np.int64)
        painted = paint is not None and paint.uvs[k] is not None
        if painted and paint.normals[k] is not None:  # the welded mesh's normals: no seams in the shading
            n = np.asarray(paint.normals[k], np.float64) @ R.T
            n = (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        else:
            n = vertex_normals(v, f)
        attrs = {"POSITION": builder.add_accessor(v.astype(np.float32), "VEC3", FLOAT, ARRAY_BUFFER, minmax=True),
                 "NORMAL": builder.add_accessor(n, "VEC3", FLOAT, ARRAY_BUFFER)}
        if painted:
            attrs["TEXCOORD_0"] = builder.add_accessor(np.asarray(paint.uvs[k], np.float32), "VEC2", FLOAT, ARRAY_BUFFER)
        elif atlas is not None and atlas.uvs[k] is not None:
            attrs["TEXCOORD_0"] = builder.add_accessor(atlas.uvs[k], "VEC2", FLOAT, ARRAY_BUFFER)
            if atlas.levels[k] < 255:
                layout.warnings.append(f"part '{part.name}' has too many distinct colours for the colour atlas; "
                                       f"kept {atlas.levels[k] + 1} levels per channel")
        j4, w4 = gltf_skin_weights(part.joint_indices, part.joint_weights)
        if j4.max(initial=0) >= J:
            raise ValueError(f"part '{part.name}' uses joint {int(j4.max())}, the skeleton has {J} bones")
        attrs["JOINTS_0"] = builder.add_accessor(j4, "VEC4", joint_comp, ARRAY_BUFFER)
        attrs["WEIGHTS_0"] = builder.add_accessor(w4, "VEC4", FLOAT, ARRAY_BUFFER)
        morph_names = list(part.morphs)
        targets = [{"POSITION": builder.add_sparse_vec3(np.asarray(part.morphs[m], np.float64) @ R.T)}
                   for m in morph_names]
        prims, mats = [], []
        index_comp = USHORT if len(v) <= 65535 else UINT
        for slot, face_ids in plans[k]:
            if len(face_ids) == 0:
                continue
            prim = {"attributes": attrs,
                    "indices": builder.add_accessor(f[face_ids].reshape(-1), "SCALAR", index_comp, ELEMENT_ARRAY_BUFFER),
                    "material": material_for(slot), "mode": 4}
            if targets:
                prim["targets"] = targets
            prims.append(prim)
            mats.append(prim["material"])
        mesh: dict = {"name": part.name, "primitives": prims}
        if morph_names:
            mesh["weights"] = [0.0] * len(morph_names)
            mesh["extras"] = {"targetNames": morph_names}
        builder.gltf["meshes"].append(mesh)
        mesh_i = len(builder.gltf["meshes"]) - 1
        node_name = part.name if part.name not in used_names else f"{part.name}_mesh"
        used_names.add(node_name)
        node = builder.add_node({"name": node_name, "mesh": mesh_i, "skin": skin})
        builder.gltf["scenes"][0]["nodes"].append(node)
        layout.mesh_nodes.append(node)
        layout.mesh_indices.append(mesh_i)
        layout.morph_names.append(morph_names)
        layout.part_materials.append(mats)
    return layout


def continuous_quats(q: np.ndarray) -> np.ndarray:
    """Flip quaternions ``[F, ..., 4]`` so consecutive frames lie in the same hemisphere."""
    q = np.array(q, dtype=np.float64)
    for i in range(1, len(q)):
        dot = np.sum(q[i] * q[i - 1], axis=-1, keepdims=True)
        q[i] = np.where(dot < 0, -q[i], q[i])
    return q


def add_motion(builder: GlbBuilder, bone_nodes: list[int], rest_local_hips: np.ndarray, motion,
               name: str = "motion", bones: list[int] | None = None) -> int:
    """Add ``motion`` ([F, 55, 4] local xyzw rotations, [F, 3] hips offsets) as one glTF animation.

    Rotation channels go to ``bone_nodes[j]`` for every humanoid bone ``j`` in ``bones`` (default
    all 55); ``hips`` gets a translation channel ``rest_local_hips + translation``. Returns the
    animation index.
    """
    rot = np.asarray(motion.rotations, dtype=np.float64)
    F = rot.shape[0]
    times = (np.arange(F, dtype=np.float64) / float(motion.fps)).astype(np.float32)
    t_acc = builder.add_accessor(times, "SCALAR", FLOAT, minmax=True)
    q = continuous_quats(rot / np.linalg.norm(rot, axis=-1, keepdims=True)).astype(np.float32)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    samplers, channels = [], []
    for j in (range(rot.shape[1]) if bones is None else bones):
        samplers.append({"input": t_acc, "output": builder.add_accessor(q[:, j], "VEC4", FLOAT),
                         "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": bone_nodes[j], "path": "rotation"}})
    trans = np.asarray(rest_local_hips, np.float64)[None] + np.asarray(motion.translation, np.float64)
    samplers.append({"input": t_acc, "output": builder.add_accessor(trans.astype(np.float32), "VEC3", FLOAT),
                     "interpolation": "LINEAR"})
    channels.append({"sampler": len(samplers) - 1, "target": {"node": bone_nodes[0], "path": "translation"}})
    builder.gltf["animations"].append({"name": name, "samplers": samplers, "channels": channels})
    return len(builder.gltf["animations"]) - 1


def character_glb(character, motion=None, generator: str = "kyara", paint=None) -> bytes:
    """The skinned character as GLB bytes (unlit materials), with ``motion`` as an animation if given
    and ``paint`` (:class:`kyara.export.atlas.PaintedSkin`) as its base-colour texture."""
    b = GlbBuilder(generator)
    b.use("KHR_materials_unlit")
    layout = add_skinned_character(b, character, paint=paint)
    if motion is not None:
        add_motion(b, layout.bone_nodes, np.asarray(character.rest_joints[0], np.float64), motion)
    return b.to_bytes()
