"""An avatar file -> a kyara :class:`~kyara.character.model.Character` in kyara's conventions.

Steps (:func:`import_avatar`):

1. read the file (:mod:`kyara.avatar.glb`) and its VRM data (:mod:`kyara.avatar.vrm`); check the
   15 required humanoid bones;
2. node world matrices in the file's rest pose (VRM 0.x: turned 180 deg about Y to face +Z);
3. bones: the humanoid nodes become kyara's 55 VRM bones; every other skin joint and every spring
   node becomes an :class:`~kyara.character.model.ExtraBone` (parent: nearest mapped ancestor);
   missing optional bones (upperChest, toes, eyes, fingers, ...) are interpolated and carry no weight;
4. parts: one per mesh node; skinned meshes are put in the rest pose with their inverse bind
   matrices, rigid meshes take their node's world matrix and follow its nearest mapped bone;
   primitives sharing vertex accessors share vertices; colours from the base colour factor, the
   base colour texture sampled at the vertex UVs and ``COLOR_0``; MToon shade colours and outline
   widths (per vertex: eyes and other features drawn without ink keep none); morph targets; which
   parts are the body's own surface (files kyara wrote say it in their first-person annotations:
   ``auto`` is the body; hair, face features and garments never hide an OpenPose keypoint);
5. rest pose normalized: if arms or legs are off the T-pose by more than
   :attr:`ImportConfig.tpose_tolerance_deg`, the skeleton and mesh are re-posed into a T-pose
   (arms along +-X, legs along -Y) with identity rest rotations, as VRM's normalized bones; feet on y = 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kyara.avatar.glb import GltfDocument, GltfLimits, read_gltf
from kyara.avatar.materials import DEFAULT_OUTLINE, kyara_body_parts, material_colours
from kyara.avatar.vrm import AvatarExtensions, read_extensions
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES, PARENTS, REQUIRED_BONES, finger_bones

TURN_Y = np.diag([-1.0, 1.0, -1.0, 1.0])  # VRM 0.x (faces -Z) -> kyara (+Z)


@dataclass(frozen=True)
class ImportConfig:
    limits: GltfLimits = field(default_factory=GltfLimits)
    mapping: object = None  # plain glTF: {node name: vrmBone|None} or a YAML path overriding the name table
    tpose_tolerance_deg: float = 10.0  # limbs further than this from the T-pose are re-posed
    ground: bool = True  # plain glTF: put the soles on y = 0 when they are more than 5 mm off


@dataclass
class AvatarInfo:
    """What the import found; stands in for the CharacterSpec of generated characters."""

    path: Path
    extensions: AvatarExtensions
    bones_mapped: list[str]  # humanoid bones the file has
    bones_interpolated: list[str]  # bones placed by kyara (no weight)
    expressions: dict[str, list[tuple[int, str, float]]]  # name -> [(part index, morph name, weight)]
    reposed: bool = False  # the rest pose was not a T-pose and was normalized
    warnings: list[str] = field(default_factory=list)
    body_parts: list[bool] | None = None  # per part: the body's own surface (None: the file does not say)
    part_outline: list[np.ndarray] | None = None  # per part, [V] bool: its material draws ink outlines

    @property
    def meta(self):
        return self.extensions.meta

    @property
    def format(self) -> str:
        return self.extensions.label


# -- node graph ---------------------------------------------------------------------------------
def _trs(node: dict, doc: GltfDocument, i: int) -> np.ndarray:
    def vec(key: str, n: int, default: list[float]) -> np.ndarray:
        v = node.get(key, default)
        a = np.asarray(v, dtype=np.float64) if isinstance(v, list) and len(v) == n else None
        if a is None or not np.all(np.isfinite(a)):
            raise ValueError(f"{doc.path.name}: node {i} {key} is {v!r}, expected {n} finite numbers")
        return a
    if "matrix" in node:
        return vec("matrix", 16, []).reshape(4, 4).T  # column-major
    from kyara.pose.rotations import quat_to_matrix

    t, q, s = vec("translation", 3, [0, 0, 0]), vec("rotation", 4, [0, 0, 0, 1]), vec("scale", 3, [1, 1, 1])
    m = np.eye(4)
    m[:3, :3] = quat_to_matrix(q / max(np.linalg.norm(q), 1e-12)) * s[None, :]
    m[:3, 3] = t
    return m


def _parents_first_by_index(parents: list[int]) -> list[int]:
    """Node indices, every parent before its children, otherwise in index order (a topological
    sort taking the smallest ready index first)."""
    import heapq

    kids: dict[int, list[int]] = {}
    for i, p in enumerate(parents):
        kids.setdefault(int(p), []).append(i)
    ready = list(kids.get(-1, []))
    heapq.heapify(ready)
    out = []
    while ready:
        i = heapq.heappop(ready)
        out.append(i)
        for k in kids.get(i, []):
            heapq.heappush(ready, k)
    return out


def node_graph(doc: GltfDocument) -> tuple[list[int], np.ndarray, list[int]]:
    """(parents [N] (-1 root), world matrices [N, 4, 4] in the rest pose, parents-first order)."""
    nodes = doc.items("nodes")
    n = len(nodes)
    parents = [-1] * n
    for i, nd in enumerate(nodes):
        if not isinstance(nd, dict):
            raise ValueError(f"{doc.path.name}: nodes[{i}] is not an object")
        for c in nd.get("children") or []:
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n:
                raise ValueError(f"{doc.path.name}: node {i} child {c!r} is out of range, expected 0..{n - 1}")
            if parents[c] != -1 or c == i:
                raise ValueError(f"{doc.path.name}: node {c} has two parents, expected a node tree")
            parents[c] = i
    from kyara.avatar.vrm import _dfs_order

    order = _dfs_order(nodes, parents)
    if len(order) != n:
        raise ValueError(f"{doc.path.name}: the node hierarchy has a cycle, expected a tree")
    world = np.zeros((n, 4, 4))
    for i in order:
        local = _trs(nodes[i], doc, i)
        world[i] = local if parents[i] < 0 else world[parents[i]] @ local
    return parents, world, order


# -- skeleton -----------------------------------------------------------------------------------
def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a + (b - a) * t


def complete_skeleton(pos: dict[str, np.ndarray], crown_y: float | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rest joints ``[55, 3]`` from the bones present in ``pos`` (metres, +Z forward); missing ones
    are interpolated. Returns (joints, head tip [3], names of interpolated bones)."""
    P = {k: np.asarray(v, dtype=np.float64) for k, v in pos.items()}
    added: list[str] = []

    def put(name: str, p: np.ndarray) -> None:
        if name not in P:
            P[name] = np.asarray(p, dtype=np.float64)
            added.append(name)

    chain = ["spine", "chest", "upperChest", "neck", "head"]
    known = [i for i, b in enumerate(chain) if b in P]
    for i, b in enumerate(chain):
        if b not in P:
            lo = max(k for k in known if k < i)
            hi = min(k for k in known if k > i)
            put(b, _lerp(P[chain[lo]], P[chain[hi]], (i - lo) / (hi - lo)))
    neck_len = float(np.linalg.norm(P["head"] - P["neck"])) or 0.05
    crown = crown_y if crown_y is not None and crown_y > P["head"][1] + 0.5 * neck_len else P["head"][1] + 2.2 * neck_len
    hh = crown - P["head"][1]  # head bone -> crown, metres
    for sx, side in ((1.0, "left"), (-1.0, "right")):
        put(f"{side}Eye", P["head"] + np.array([sx * 0.3 * hh, 0.45 * hh, 0.4 * hh]))
        put(f"{side}Shoulder", _lerp(P["upperChest"], P[f"{side}UpperArm"], 0.3))
        foot = P[f"{side}Foot"]
        leg = float(np.linalg.norm(P[f"{side}LowerLeg"] - foot)) or 0.3
        put(f"{side}Toes", foot + np.array([0.0, -0.6 * max(foot[1], 0.0), 0.35 * leg]))
        hand, elbow = P[f"{side}Hand"], P[f"{side}LowerArm"]
        fore = hand - elbow
        hand_len = 0.6 * float(np.linalg.norm(fore)) or 0.1
        d = fore / max(np.linalg.norm(fore), 1e-9)
        side_axis = -sx * np.cross(np.array([0.0, 1.0, 0.0]), d)  # thumb side: +Z in the T-pose
        for finger, across, rel in (("Thumb", 0.18, 0.8), ("Index", 0.16, 0.92), ("Middle", 0.05, 1.0),
                                    ("Ring", -0.05, 0.94), ("Little", -0.15, 0.76)):
            bones = finger_bones(side, finger)
            if finger == "Thumb":
                start = hand + 0.1 * hand_len * d + across * hand_len * side_axis + np.array([0, -0.02 * hand_len, 0])
                fd = 0.5 * d + 0.86 * side_axis
                fd /= np.linalg.norm(fd)
                lens = (0.26 * hand_len, 0.2 * hand_len, 0.17 * hand_len)
            else:
                start = hand + 0.46 * hand_len * d + across * hand_len * side_axis
                fd = d
                lens = tuple(rel * 0.51 * hand_len * s for s in (0.44, 0.31, 0.25))
            have = [b for b in bones if b in P]
            p = start if not have else None
            for k, b in enumerate(bones):
                if b in P:
                    p = P[b]
                    continue
                later = [j for j in range(k + 1, 3) if bones[j] in P]
                if p is None:  # before the first present bone: between the hand and it
                    p = _lerp(hand, P[bones[later[0]]], (k + 1) / (later[0] + 1))
                elif later:
                    p = _lerp(p, P[bones[later[0]]], 1.0 / (later[0] - k + 1))
                else:
                    prev = P[bones[k - 1]] if k > 0 else hand
                    step = p - prev if k > 0 else fd * lens[0]
                    p = p + (step if np.linalg.norm(step) > 1e-9 else fd * lens[k])
                put(b, p)
    put("jaw", P["head"] + np.array([0.0, 0.25 * hh, 0.15 * hh]))
    joints = np.stack([P[b] for b in BONES])
    return joints, np.array([P["head"][0], crown, P["head"][2]]), added


def tpose_rotations(rest: np.ndarray, parents: np.ndarray, tolerance_deg: float) -> np.ndarray | None:
    """Local rotations ``[J, 3, 3]`` that bring arms (+-X) and legs (-Y) into the T-pose, or None
    when every limb bone is already within ``tolerance_deg``."""
    from kyara.pose.lbs import forward_kinematics
    from kyara.pose.rotations import quat_to_matrix, rotation_between

    targets = []
    for sx, side in ((1.0, "left"), (-1.0, "right")):
        for a, b in (("UpperArm", "LowerArm"), ("LowerArm", "Hand")):
            targets.append((f"{side}{a}", f"{side}{b}", np.array([sx, 0.0, 0.0])))
        for a, b in (("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot")):
            targets.append((f"{side}{a}", f"{side}{b}", np.array([0.0, -1.0, 0.0])))

    def angle(g_pos, a, b, t):
        d = g_pos[BONE_INDEX[b]] - g_pos[BONE_INDEX[a]]
        return np.degrees(np.arccos(np.clip(np.dot(d, t) / max(np.linalg.norm(d), 1e-12), -1, 1)))

    J = len(rest)
    rot = np.tile(np.eye(3), (J, 1, 1))
    if max(angle(rest, a, b, t) for a, b, t in targets) <= tolerance_deg:
        return None
    for a, b, t in targets:  # parents first within each limb
        g_rot, g_pos = forward_kinematics(rot, np.zeros(3), rest, parents)
        d = g_pos[BONE_INDEX[b]] - g_pos[BONE_INDEX[a]]
        if np.linalg.norm(d) < 1e-9:  # coinciding joints (a hand placed at its elbow): no direction to align
            continue
        Q = quat_to_matrix(rotation_between(d / np.linalg.norm(d), t))
        j = BONE_INDEX[a]
        Gp = g_rot[parents[j]] if parents[j] >= 0 else np.eye(3)
        rot[j] = Gp.T @ Q @ Gp @ rot[j]
    return rot


# -- the import ---------------------------------------------------------------------------------
def _unique_name(name: str, taken: set[str], node: int) -> str:
    n = name or f"node{node}"
    if n in taken:
        n = f"{n}_{node}"
    taken.add(n)
    return n


def _faces(doc: GltfDocument, prim: dict, n: int) -> np.ndarray | None:
    mode = prim.get("mode", 4)
    idx = doc.indices(prim["indices"], n) if "indices" in prim else np.arange(n, dtype=np.int64)
    if mode == 4:
        return idx[: len(idx) // 3 * 3].reshape(-1, 3)
    if mode in (5, 6) and len(idx) >= 3:
        k = np.arange(len(idx) - 2)
        if mode == 5:  # strip: flip every other triangle
            a, b = np.where(k % 2 == 0, idx[k], idx[k + 1]), np.where(k % 2 == 0, idx[k + 1], idx[k])
            return np.stack([a, b, idx[k + 2]], axis=1)
        return np.stack([np.full(len(k), idx[0]), idx[k + 1], idx[k + 2]], axis=1)
    return None  # points / lines: nothing to render


def import_avatar(path: str | os.PathLike, config: ImportConfig | None = None):
    """Read a ``.vrm`` / ``.glb`` / ``.gltf`` avatar as a :class:`~kyara.character.model.Character`
    whose ``spec`` is an :class:`AvatarInfo` and whose ``body`` is an :class:`~kyara.avatar.body.AvatarBody`."""
    from kyara.avatar.body import avatar_body
    from kyara.character.model import Character, ExtraBone, Material, Part

    cfg = config or ImportConfig()
    doc = read_gltf(path, cfg.limits)
    name = doc.path.name
    parents, world, order = node_graph(doc)
    ext = read_extensions(doc, cfg.mapping, parents)
    missing = [b for b in REQUIRED_BONES if b not in ext.humanoid]
    if missing:
        hint = " (pass a mapping YAML {node name: vrmBone})" if ext.format == "gltf" else ""
        raise ValueError(f"{name}: humanoid is missing required bone(s) {', '.join(missing)}, expected all 15 "
                         f"VRM required bones{hint}")
    seen: dict[int, str] = {}
    for bone, node in ext.humanoid.items():
        if node in seen:
            raise ValueError(f"{name}: node {node} is both humanoid bone '{seen[node]}' and '{bone}', expected one")
        seen[node] = bone
    if ext.forward == "-Z":
        world = TURN_Y[None] @ world
    nodes = doc.items("nodes")
    # 1. bones: humanoid, then extra bones (skin joints and spring nodes), parents first
    bone_of: dict[int, int] = {node: BONE_INDEX[b] for b, node in ext.humanoid.items()}
    spring_of: dict[int, dict] = {}
    for chain in ext.springs:
        for node, s in zip(chain.nodes, chain.settings):
            spring_of.setdefault(node, s)
    joints_used = {j for s in doc.items("skins") if isinstance(s, dict) for j in (s.get("joints") or [])
                   if isinstance(j, int)}
    extras: list[tuple[int, int]] = []  # (node, parent bone index)
    taken = set(BONES)
    extra_names: list[str] = []
    for i in _parents_first_by_index(parents):  # file order where it allows: a round trip keeps the bone order
        if i in bone_of or (i not in joints_used and i not in spring_of):
            continue
        p = parents[i]
        while p >= 0 and p not in bone_of:
            p = parents[p]
        if p < 0:
            continue  # above the hips (armature roots): follows the hips
        bone_of[i] = NUM_BONES + len(extras)
        extras.append((i, bone_of[p]))
        extra_names.append(_unique_name(str(nodes[i].get("name") or ""), taken, i))

    def bone_for(node: int) -> int:
        k = node
        while k >= 0 and k not in bone_of:
            k = parents[k]
        return bone_of.get(k, 0)

    # 2. parts
    mesh_nodes = [i for i in order if isinstance(nodes[i].get("mesh"), int)]
    tex_cache: dict = {}
    raw_parts, part_mesh, part_node, part_ink = [], [], [], []
    for i in mesh_nodes:
        mesh = doc.item("meshes", nodes[i]["mesh"], "mesh")
        prims = [p for p in (mesh.get("primitives") or []) if isinstance(p, dict)]
        skin = doc.item("skins", nodes[i]["skin"], "skin") if isinstance(nodes[i].get("skin"), int) else None
        if skin is not None:
            sj = [int(j) for j in skin.get("joints") or []]
            for j in sj:
                if not 0 <= j < len(nodes):
                    raise ValueError(f"{name}: skin joint node {j} is out of range, expected 0..{len(nodes) - 1}")
            if "inverseBindMatrices" in skin:
                ibm = doc.accessor(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)
                if len(ibm) < len(sj):
                    raise ValueError(f"{name}: skin has {len(sj)} joints but {len(ibm)} inverse bind matrices")
            else:
                ibm = np.tile(np.eye(4), (len(sj), 1, 1))
            M = world[sj] @ ibm[: len(sj)]  # [S, 4, 4] bind -> rest world (0.x: already turned)
        sets: dict[tuple, int] = {}
        verts, faces, ji, jw, cols, morphs_list, alphas, shades, names_ = [], [], [], [], [], [], [], [], []
        painted: list[tuple[int, np.ndarray, np.ndarray, float]] = []  # (vertex set, faces, sRGB, outline width)
        offset = 0
        target_names = (mesh.get("extras") or {}).get("targetNames")
        for prim in prims:
            attrs = prim.get("attributes") or {}
            if "POSITION" not in attrs:
                continue
            key = tuple(attrs.get(k) for k in ("POSITION", "JOINTS_0", "WEIGHTS_0", "TEXCOORD_0", "COLOR_0"))
            if key not in sets:
                pos = doc.accessor(attrs["POSITION"]).astype(np.float64).reshape(-1, 3)
                n = len(pos)
                uv = doc.accessor(attrs["TEXCOORD_0"]).reshape(n, 2) if "TEXCOORD_0" in attrs else None
                vc = doc.accessor(attrs["COLOR_0"]).reshape(n, -1) if "COLOR_0" in attrs else None
                if skin is not None and "JOINTS_0" in attrs and "WEIGHTS_0" in attrs:
                    jj = doc.accessor(attrs["JOINTS_0"]).astype(np.int64).reshape(n, 4)
                    ww = doc.accessor(attrs["WEIGHTS_0"]).astype(np.float64).reshape(n, 4)
                    if jj.size and (jj.min() < 0 or jj.max() >= len(sj)):
                        raise ValueError(f"{name}: JOINTS_0 holds joint {int(jj.max())}, the skin has {len(sj)}")
                    s = ww.sum(axis=1, keepdims=True)
                    ww = np.where(s > 0, ww / np.where(s > 0, s, 1.0), np.array([1.0, 0, 0, 0]))
                    Mv = np.einsum("vk,vkij->vij", ww, M[jj])  # [n, 4, 4]
                    bones = np.array([bone_for(j) for j in sj], dtype=np.int64)[jj]
                else:
                    Mv = np.broadcast_to(world[i], (n, 4, 4))
                    bones = np.full((n, 4), bone_for(i), dtype=np.int64)
                    ww = np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (n, 1))
                p_rest = np.einsum("vij,vj->vi", Mv[:, :3, :3], pos) + Mv[:, :3, 3]
                tm = []
                for t in prim.get("targets") or []:
                    d = doc.accessor(t["POSITION"]).astype(np.float64).reshape(n, 3) if "POSITION" in t else np.zeros((n, 3))
                    tm.append(np.einsum("vij,vj->vi", Mv[:, :3, :3], d))
                sets[key] = len(verts)
                verts.append(p_rest)
                ji.append(bones)
                jw.append(ww)
                cols.append(np.ones((n, 3)))
                morphs_list.append(tm)
                faces.append([])
                names_.append((uv, vc, offset))
                offset += n
            k = sets[key]
            n = len(verts[k])
            f = _faces(doc, prim, n)
            if f is None:
                continue
            faces[k].append(f)
            uv, vc, _ = names_[k]
            rgb, alpha, shade, _mname, width = material_colours(doc, ext, prim.get("material"), uv, vc, n,
                                                                tex_cache)
            painted.append((k, f, rgb, width))
            alphas.append(alpha)
            shades.append(shade)
        if not verts:
            continue
        ink = [np.zeros(len(vk), dtype=np.bool_) for vk in verts]
        for k, f, rgb, width in painted:  # a vertex in several primitives: the last one's colour ...
            used = np.unique(f)
            cols[k][used], ink[k][used] = rgb[used], width > 0
        for k, f, rgb, width in painted:  # ... unless it is a triangle's first corner, which kyara's
            c0 = f[:, 0]  # exporter groups by (the primitive then holds this vertex's own colour)
            cols[k][c0], ink[k][c0] = rgb[c0], width > 0
        face_count: dict[float, int] = {}
        for _, f, _, width in painted:
            face_count[width] = face_count.get(width, 0) + len(f)
        outline_width = max(face_count, key=face_count.get) if face_count else DEFAULT_OUTLINE
        V = np.concatenate(verts)
        F = np.concatenate([np.concatenate(fl) + names_[k][2] if fl else np.zeros((0, 3), np.int64)
                            for k, fl in enumerate(faces)]).astype(np.int64)
        if len(F) == 0:
            continue
        n_t = [len(m) for m in morphs_list]
        morphs = {}
        if max(n_t) > 0:
            tn = target_names if isinstance(target_names, list) else []
            for t in range(max(n_t)):
                mname = str(tn[t]) if t < len(tn) else f"morph{t}"
                morphs[mname] = np.concatenate([m[t] if t < len(m) else np.zeros((len(v), 3))
                                                for m, v in zip(morphs_list, verts)]).astype(np.float32)
        C = np.concatenate(cols)
        base = tuple(float(x) for x in np.median(C, axis=0))
        shade = next((s for s in shades if s is not None), None)
        alpha = min(alphas) if alphas else 1.0
        mat = Material(str(mesh.get("name") or f"mesh{nodes[i]['mesh']}"), base, shade, outline_width,
                       alpha=max(alpha, 0.05))
        pname = _unique_name(str(nodes[i].get("name") or mesh.get("name") or ""), set(p[0] for p in raw_parts), i)
        colors = C.astype(np.float32) if np.ptp(C, axis=0).max() > 1e-3 else None
        raw_parts.append((pname, V, F, np.concatenate(ji), np.concatenate(jw), mat, colors, morphs))
        part_mesh.append(nodes[i]["mesh"])
        part_node.append(i)
        part_ink.append(np.concatenate(ink))
    if not raw_parts:
        raise ValueError(f"{name}: has no triangle mesh, expected at least one mesh on the avatar's nodes")
    # 3. skeleton in kyara's frame
    pos = {b: world[node][:3, 3] for b, node in ext.humanoid.items()}
    head_like = np.isin(np.concatenate([p[3][:, 0] for p in raw_parts]),
                        [BONE_INDEX[b] for b in ("head", "jaw", "leftEye", "rightEye")])
    all_v = np.concatenate([p[1] for p in raw_parts])
    crown = float(all_v[head_like, 1].max()) if head_like.any() else None
    rest, head_tip, interpolated = complete_skeleton(pos, crown)
    extra_rest = np.array([world[n][:3, 3] for n, _ in extras], dtype=np.float64).reshape(-1, 3)
    all_rest = np.concatenate([rest, extra_rest])
    all_parents = np.concatenate([PARENTS, np.array([p for _, p in extras], dtype=np.int64)])
    # 4. T-pose normalization
    info_warnings: list[str] = []
    rot = tpose_rotations(all_rest, all_parents, cfg.tpose_tolerance_deg)
    if rot is not None:
        from kyara.pose.lbs import forward_kinematics, skinning_transforms

        g_rot, g_pos = forward_kinematics(rot, np.zeros(3), all_rest, all_parents)
        A = skinning_transforms(g_rot, g_pos, all_rest)  # [J, 3, 4]
        new = []
        for (pname, V, F, J4, W4, mat, colors, morphs) in raw_parts:
            Av = np.einsum("vk,vkij->vij", W4, A[J4])  # [V, 3, 4]
            V2 = np.einsum("vij,vj->vi", Av[:, :, :3], V) + Av[:, :, 3]
            m2 = {k: np.einsum("vij,vj->vi", Av[:, :, :3], d.astype(np.float64)).astype(np.float32) for k, d in morphs.items()}
            new.append((pname, V2, F, J4, W4, mat, colors, m2))
        raw_parts = new
        head_tip = g_rot[BONE_INDEX["head"]] @ (head_tip - all_rest[BONE_INDEX["head"]]) + g_pos[BONE_INDEX["head"]]
        all_rest = g_pos
        info_warnings.append("rest pose was not a T-pose: re-posed into one (arms along X, legs down)")
    # 5. ground
    if cfg.ground and ext.format == "gltf":  # VRM puts the floor at y = 0 already; plain glTF: the soles
        feet = [BONE_INDEX[f"{s}{b}"] for s in ("left", "right") for b in ("Foot", "Toes")]
        V_all = np.concatenate([p[1] for p in raw_parts])
        dom = np.concatenate([p[3][np.arange(len(p[3])), np.argmax(p[4], axis=1)] for p in raw_parts])
        on_feet = np.isin(dom, feet)
        low = float(V_all[on_feet, 1].min()) if on_feet.any() else 0.0
        if abs(low) > 0.005:
            shift = np.array([0.0, -low, 0.0])
            all_rest = all_rest + shift
            head_tip = head_tip + shift
            raw_parts = [(a, V + shift, *rest_) for (a, V, *rest_) in raw_parts]
    parts = [Part(pname, "body", V.astype(np.float32), F.astype(np.int32), J4, W4.astype(np.float32), mat, colors, morphs)
             for (pname, V, F, J4, W4, mat, colors, morphs) in raw_parts]
    names = list(BONES) + extra_names
    extra_bones = [ExtraBone(extra_names[k], names[p], tuple(float(x) for x in all_rest[NUM_BONES + k]),
                             dict(spring_of[node]) if node in spring_of else None)
                   for k, (node, p) in enumerate(extras)]
    # 6. expressions: mesh index -> parts using that mesh
    expressions: dict[str, list[tuple[int, str, float]]] = {}
    for ename, binds in ext.expressions.items():
        out = []
        for mesh_i, t, wgt in binds:
            for pi, m in enumerate(part_mesh):
                if m == mesh_i:
                    keys = list(parts[pi].morphs)
                    if 0 <= t < len(keys):
                        out.append((pi, keys[t], wgt))
        expressions[ename] = out
    info = AvatarInfo(doc.path, ext, sorted(ext.humanoid, key=BONE_INDEX.get), interpolated, expressions,
                      rot is not None, info_warnings, kyara_body_parts(doc, part_node, part_mesh), part_ink)
    body = avatar_body(parts, extra_bones, all_rest[:NUM_BONES], head_tip, info)
    return Character(spec=info, body=body, parts=parts, extra_bones=extra_bones)
