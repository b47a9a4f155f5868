"""Writes the small avatar corpus in this folder (run: python tests/data/avatar_corpus/make_corpus.py).

Valid files: ``minimal.vrm`` (VRM 1.0, 15 required bones, one skinned box), ``minimal_0x.vrm`` (the
same as VRM 0.x, facing -Z), ``mixamo_apose.glb`` (plain glTF, Mixamo names, arms 45 deg down),
``mixamo.gltf`` + ``mixamo.bin`` (external buffer). Malformed: ``broken_chunk_length.glb``,
``bad_json.glb``, ``accessor_out_of_range.glb``, ``index_out_of_range.glb``, ``missing_bones.vrm``,
``not_gltf.glb``, ``truncated.vrm``, ``traversal.gltf`` (buffer uri ``../``).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent

# (bone, parent, position) of a 1.2 m T-pose, metres, facing +Z
SKELETON = [
    ("hips", None, (0, 0.6, 0)), ("spine", "hips", (0, 0.7, 0)), ("head", "spine", (0, 1.0, 0)),
    ("leftUpperLeg", "hips", (0.08, 0.58, 0)), ("leftLowerLeg", "leftUpperLeg", (0.08, 0.32, 0)),
    ("leftFoot", "leftLowerLeg", (0.08, 0.05, 0)),
    ("rightUpperLeg", "hips", (-0.08, 0.58, 0)), ("rightLowerLeg", "rightUpperLeg", (-0.08, 0.32, 0)),
    ("rightFoot", "rightLowerLeg", (-0.08, 0.05, 0)),
    ("leftUpperArm", "spine", (0.15, 0.92, 0)), ("leftLowerArm", "leftUpperArm", (0.35, 0.92, 0)),
    ("leftHand", "leftLowerArm", (0.55, 0.92, 0)),
    ("rightUpperArm", "spine", (-0.15, 0.92, 0)), ("rightLowerArm", "rightUpperArm", (-0.35, 0.92, 0)),
    ("rightHand", "rightLowerArm", (-0.55, 0.92, 0)),
]
MIXAMO = {"hips": "Hips", "spine": "Spine", "head": "Head"}
for _s, _S in (("left", "Left"), ("right", "Right")):
    MIXAMO.update({f"{_s}UpperLeg": f"{_S}UpLeg", f"{_s}LowerLeg": f"{_S}Leg", f"{_s}Foot": f"{_S}Foot",
                   f"{_s}UpperArm": f"{_S}Arm", f"{_s}LowerArm": f"{_S}ForeArm", f"{_s}Hand": f"{_S}Hand"})


def _boxes(turn: float, apose: bool):
    """One box per bone segment (a rough body), rigidly skinned to the bone; returns arrays."""
    pos = {b: np.array(p, float) for b, _, p in SKELETON}
    if apose:  # arms 45 degrees down
        for s, sx in (("left", 1), ("right", -1)):
            sh = pos[f"{s}UpperArm"]
            for b, r in ((f"{s}LowerArm", 0.2), (f"{s}Hand", 0.4)):
                pos[b] = sh + r * np.array([sx * np.sqrt(0.5), -np.sqrt(0.5), 0])
    verts, faces, joints = [], [], []
    names = [b for b, _, _ in SKELETON]
    for j, (b, parent, _) in enumerate(SKELETON):
        kids = [c for c, p, _ in SKELETON if p == b]
        end = pos[kids[0]] if kids and b != "hips" else pos[b] + np.array([0, 0.12 if b == "head" else -0.05, 0.06])
        a, e = pos[b], end
        lo, hi = np.minimum(a, e) - 0.03, np.maximum(a, e) + 0.03
        c = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]) + 8 * j
        verts.append(c)
        faces.append(f)
        joints += [j] * 8
    v = np.concatenate(verts) * np.array([turn, 1, turn])
    return pos, names, v.astype(np.float32), np.concatenate(faces).astype(np.uint16), np.array(joints)


def build(kind: str = "vrm1", names_table: dict | None = None, apose: bool = False):
    turn = -1.0 if kind == "vrm0" else 1.0
    pos, names, v, f, jidx = _boxes(turn, apose)
    bin_ = bytearray()

    def view(data: bytes) -> int:
        while len(bin_) % 4:
            bin_.append(0)
        views.append({"buffer": 0, "byteOffset": len(bin_), "byteLength": len(data)})
        bin_.extend(data)
        return len(views) - 1

    views, accessors = [], []

    def acc(arr: np.ndarray, ctype: int, typ: str, minmax: bool = False) -> int:
        a = {"bufferView": view(arr.tobytes()), "componentType": ctype, "count": len(arr), "type": typ}
        if minmax:
            a["min"], a["max"] = arr.min(0).tolist(), arr.max(0).tolist()
        accessors.append(a)
        return len(accessors) - 1

    nodes = []
    for b, parent, _ in SKELETON:
        p = pos[b] * np.array([turn, 1, turn])
        pp = pos[parent] * np.array([turn, 1, turn]) if parent else np.zeros(3)
        nodes.append({"name": (names_table or {}).get(b, b), "translation": (p - pp).tolist()})
    for j, (b, parent, _) in enumerate(SKELETON):
        if parent:
            nodes[names.index(parent)].setdefault("children", []).append(j)
    ji = np.zeros((len(v), 4), np.uint8)
    ji[:, 0] = jidx
    jw = np.zeros((len(v), 4), np.float32)
    jw[:, 0] = 1
    ibm = np.tile(np.eye(4, dtype=np.float32), (len(SKELETON), 1, 1))
    for j, b in enumerate(names):
        ibm[j, :3, 3] = -pos[b] * np.array([turn, 1, turn])
    prim = {"attributes": {"POSITION": acc(v, 5126, "VEC3", True), "JOINTS_0": acc(ji, 5121, "VEC4"),
                           "WEIGHTS_0": acc(jw, 5126, "VEC4")}, "indices": acc(f.reshape(-1), 5123, "SCALAR"),
            "material": 0}
    ibm_acc = acc(ibm.transpose(0, 2, 1).reshape(-1, 16).copy(), 5126, "MAT4")
    nodes.append({"name": "body", "mesh": 0, "skin": 0})
    gltf = {"asset": {"version": "2.0", "generator": "kyara test corpus"}, "scene": 0,
            "scenes": [{"nodes": [0, len(nodes) - 1]}], "nodes": nodes,
            "meshes": [{"name": "body", "primitives": [prim]}],
            "materials": [{"name": "skin", "pbrMetallicRoughness": {"baseColorFactor": [0.9, 0.6, 0.5, 1.0]}}],
            "skins": [{"joints": list(range(len(SKELETON))), "inverseBindMatrices": ibm_acc}],
            "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": len(bin_)}]}
    meta = {"name": "corpus", "version": "1", "authors": ["kyara tests"], "licenseUrl": "https://vrm.dev/licenses/1.0/",
            "avatarPermission": "onlyAuthor", "allowRedistribution": False, "modification": "prohibited"}
    if kind == "vrm1":
        gltf["extensionsUsed"] = ["VRMC_vrm"]
        gltf["extensions"] = {"VRMC_vrm": {"specVersion": "1.0", "meta": meta, "humanoid": {
            "humanBones": {b: {"node": j} for j, b in enumerate(names)}}}}
    elif kind == "vrm0":
        gltf["extensionsUsed"] = ["VRM"]
        gltf["extensions"] = {"VRM": {"specVersion": "0.0", "meta": {
            "title": "corpus 0.x", "author": "kyara tests", "allowedUserName": "Everyone",
            "licenseName": "CC_BY", "commercialUssageName": "Allow"},
            "humanoid": {"humanBones": [{"bone": b, "node": j} for j, b in enumerate(names)]}}}
    return gltf, bytes(bin_)


def glb(gltf: dict, binary: bytes) -> bytes:
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return (struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(text), 0x4E4F534A) + text
            + struct.pack("<II", len(binary), 0x004E4942) + binary)


def main() -> None:
    g, b = build("vrm1")
    good = glb(g, b)
    (HERE / "minimal.vrm").write_bytes(good)
    (HERE / "minimal_0x.vrm").write_bytes(glb(*build("vrm0")))
    (HERE / "mixamo_apose.glb").write_bytes(glb(*build("gltf", {k: "mixamorig:" + v for k, v in MIXAMO.items()}, True)))
    g2, b2 = build("gltf", MIXAMO)
    g2["buffers"] = [{"byteLength": len(b2), "uri": "mixamo.bin"}]
    (HERE / "mixamo.gltf").write_text(json.dumps(g2))
    (HERE / "mixamo.bin").write_bytes(b2)
    g3 = json.loads(json.dumps(g2))
    g3["buffers"] = [{"byteLength": len(b2), "uri": "../avatar_corpus/../../mixamo.bin"}]
    (HERE / "traversal.gltf").write_text(json.dumps(g3))
    # malformed
    broken = bytearray(good)
    struct.pack_into("<I", broken, 12, len(good) * 4)  # JSON chunk longer than the file
    (HERE / "broken_chunk_length.glb").write_bytes(bytes(broken))
    text = b'{"asset": {"version": "2.0"}, "nodes": [ }'
    text += b" " * (-len(text) % 4)
    (HERE / "bad_json.glb").write_bytes(struct.pack("<III", 0x46546C67, 2, 20 + len(text))
                                        + struct.pack("<II", len(text), 0x4E4F534A) + text)
    g4 = json.loads(json.dumps(g))
    g4["accessors"][0]["count"] = 10_000  # POSITION needs more bytes than its view has
    (HERE / "accessor_out_of_range.glb").write_bytes(glb(g4, b))
    g5, b5 = build("vrm1")
    idx_acc = g5["meshes"][0]["primitives"][0]["indices"]
    view = g5["bufferViews"][g5["accessors"][idx_acc]["bufferView"]]
    b5 = bytearray(b5)
    struct.pack_into("<H", b5, view["byteOffset"], 60000)  # a vertex index past the vertices
    (HERE / "index_out_of_range.glb").write_bytes(glb(g5, bytes(b5)))
    g6 = json.loads(json.dumps(g))
    hb = g6["extensions"]["VRMC_vrm"]["humanoid"]["humanBones"]
    for bone in ("leftHand", "rightFoot"):
        del hb[bone]
    (HERE / "missing_bones.vrm").write_bytes(glb(g6, b))
    (HERE / "not_gltf.glb").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    (HERE / "truncated.vrm").write_bytes(good[: len(good) // 2])


if __name__ == "__main__":
    main()
