"""GLB export: skin weights, inverse bind matrices, morphs, animation keyframes, re-import, validator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import trimesh
from test_export_common import run_validator, synthetic_character

from kyara.export import ExportOptions, export_character
from kyara.export.gltf import (accessor_array, character_glb, gltf_skin_weights, gltf_skin_weights_reference, read_glb,
                               srgb_to_linear)
from kyara.pose.pose import Motion
from kyara.pose.presets import get_pose
from kyara.pose.rotations import quat_to_matrix


@pytest.fixture(scope="module")
def character():
    return synthetic_character()


@pytest.fixture(scope="module")
def motion(character):
    poses = [get_pose(n, character.body.params) for n in ("stand", "jog", "wave", "kick")]
    return Motion.from_keyframes(poses, 9, fps=24.0)


@pytest.fixture(scope="module")
def glb(character, motion):
    return read_glb(character_glb(character, motion))


def test_skin_weights_fast_path_matches_reference():
    rng = np.random.default_rng(0)
    ji = rng.integers(0, 8, size=(500, 6))  # duplicates on purpose, 6 influences
    jw = rng.random((500, 6)) * (rng.random((500, 6)) > 0.3)
    jw[:10] = 0.0  # rows without weight
    jw[10:20, 0] = -0.5  # negative weights are dropped
    j_fast, w_fast = gltf_skin_weights(ji, jw)
    j_ref, w_ref = gltf_skin_weights_reference(ji, jw)
    assert w_fast.dtype == np.float32 and j_fast.shape == (500, 4)
    # same dense weights (slot order may differ between equal weights)
    dense_f = np.zeros((500, 8))
    dense_r = np.zeros((500, 8))
    np.add.at(dense_f, (np.repeat(np.arange(500), 4), j_fast.ravel()), w_fast.ravel())
    np.add.at(dense_r, (np.repeat(np.arange(500), 4), j_ref.ravel()), w_ref.ravel())
    np.testing.assert_allclose(dense_f, dense_r, atol=1e-6)
    # float32 sums are 1 after the cast, weights sorted, unused slots point at joint 0 with weight 0
    assert np.abs(w_fast.sum(axis=1, dtype=np.float32) - 1).max() <= 2e-7
    assert np.all(np.diff(w_fast, axis=1) <= 1e-7)
    assert np.all(j_fast[w_fast == 0] == 0)
    assert np.all(w_fast[:10, 0] == 1) and np.all(j_fast[:10, 0] == 0)
    # within a row no joint with weight appears twice
    for row_j, row_w in zip(j_fast, w_fast):
        used = row_j[row_w > 0]
        assert len(set(used.tolist())) == len(used)


def test_reimport_has_same_vertices_weights_and_morphs(character, glb):
    gltf, binary = glb
    meshes = {m["name"]: m for m in gltf["meshes"]}
    for part in character.parts:
        prims = meshes[part.name]["primitives"]
        attrs = prims[0]["attributes"]
        pos = accessor_array(gltf, binary, attrs["POSITION"])
        np.testing.assert_array_equal(pos, part.vertices.astype(np.float32))
        joints = accessor_array(gltf, binary, attrs["JOINTS_0"]).astype(np.int64)
        weights = accessor_array(gltf, binary, attrs["WEIGHTS_0"])
        j_ref, w_ref = gltf_skin_weights(part.joint_indices, part.joint_weights)
        np.testing.assert_array_equal(joints, j_ref)
        np.testing.assert_array_equal(weights, w_ref)
        faces = np.concatenate([accessor_array(gltf, binary, p["indices"]).reshape(-1, 3) for p in prims])
        assert sorted(map(tuple, faces)) == sorted(map(tuple, part.faces.astype(np.int64)))
        names = meshes[part.name].get("extras", {}).get("targetNames", [])
        assert names == list(part.morphs)
        for k, name in enumerate(names):
            off = accessor_array(gltf, binary, prims[0]["targets"][k]["POSITION"])
            np.testing.assert_allclose(off, part.morphs[name], atol=1e-7)
    # a second reader (trimesh) sees the same geometry
    scene = trimesh.load(trimesh.util.wrap_as_stream(character_glb(character)), file_type="glb", process=False)
    total_faces = sum(len(g.faces) for g in scene.geometry.values())
    assert total_faces == sum(len(p.faces) for p in character.parts)
    body = [g for name, g in scene.geometry.items() if name.startswith("body")]
    assert len(body) == 1 and len(body[0].vertices) == len(character.part("body").vertices)


def test_part_colours_go_to_materials_or_the_colour_atlas_never_vertex_colours(character, glb):
    gltf, _ = glb
    assert all("COLOR_0" not in p["attributes"] for m in gltf["meshes"] for p in m["primitives"])
    assert all("KHR_materials_unlit" in m["extensions"] for m in gltf["materials"])
    # the badge's colour varies across faces (a box whose two halves differ): one textured primitive
    badge = next(m for m in gltf["meshes"] if m["name"] == "badge")
    assert len(badge["primitives"]) == 1 and "TEXCOORD_0" in badge["primitives"][0]["attributes"]
    mat = gltf["materials"][badge["primitives"][0]["material"]]["pbrMetallicRoughness"]
    assert mat["baseColorFactor"] == [1.0, 1.0, 1.0, 1.0] and "baseColorTexture" in mat
    assert gltf["samplers"] == [{"magFilter": 9729, "minFilter": 9729, "wrapS": 33071, "wrapT": 33071}]
    # a part of two shells of one colour each: one primitive and one plain material per colour
    badge_part = character.part("badge")
    v, f = badge_part.vertices, badge_part.faces
    two = replace(badge_part, vertices=np.concatenate([v, v + [0.05, 0.0, 0.0]]), faces=np.concatenate([f, f + len(v)]),
                  joint_indices=np.concatenate([badge_part.joint_indices] * 2),
                  joint_weights=np.concatenate([badge_part.joint_weights] * 2),
                  colors=np.repeat([[1.0, 0.8, 0.0], [0.1, 0.2, 0.9]], len(v), axis=0))
    g2, _ = read_glb(character_glb(replace(character, parts=[character.part("body"), two])))
    prims = g2["meshes"][1]["primitives"]
    assert len(prims) == 2 and all("TEXCOORD_0" not in p["attributes"] for p in prims) and "textures" not in g2
    cols = sorted(tuple(g2["materials"][p["material"]]["pbrMetallicRoughness"]["baseColorFactor"][:3]) for p in prims)
    assert cols == sorted([tuple(srgb_to_linear(c)) for c in ((1.0, 0.8, 0.0), (0.1, 0.2, 0.9))])


def _node_world(gltf, local_t, local_r):
    """World 4x4 of every node from local translations / rotation matrices (dicts by node)."""
    n = len(gltf["nodes"])
    parent = {c: i for i, node in enumerate(gltf["nodes"]) for c in node.get("children", [])}
    world = {}

    def get(i):
        if i in world:
            return world[i]
        m = np.eye(4)
        m[:3, :3] = local_r.get(i, np.eye(3))
        m[:3, 3] = local_t[i]
        world[i] = get(parent[i]) @ m if i in parent else m
        return world[i]

    return [get(i) for i in range(n)]


def test_inverse_bind_matrices_undo_the_rest_pose(character, glb):
    gltf, binary = glb
    skin = gltf["skins"][0]
    ibm = accessor_array(gltf, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)  # column-major
    local_t = {i: np.array(n.get("translation", [0, 0, 0])) for i, n in enumerate(gltf["nodes"])}
    world = _node_world(gltf, local_t, {})
    assert len(skin["joints"]) == character.num_bones == 55 + len(character.extra_bones)
    for j, node in enumerate(skin["joints"]):
        np.testing.assert_allclose(world[node] @ ibm[j], np.eye(4), atol=1e-6)
        np.testing.assert_allclose(world[node][:3, 3], character.rest_joints[j], atol=1e-6)


def test_animation_keyframes_match_posed_joints_and_skinning(character, motion, glb):
    gltf, binary = glb
    anim = gltf["animations"][0]
    times = accessor_array(gltf, binary, anim["samplers"][0]["input"])
    np.testing.assert_allclose(times, np.arange(motion.num_frames) / motion.fps, atol=1e-6)
    bone_of_node = {n: j for j, n in enumerate(gltf["skins"][0]["joints"])}
    skin = gltf["skins"][0]
    ibm = accessor_array(gltf, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    part = character.part("tail")
    attrs = next(m for m in gltf["meshes"] if m["name"] == "tail")["primitives"][0]["attributes"]
    pos = accessor_array(gltf, binary, attrs["POSITION"]).astype(np.float64)
    jn = accessor_array(gltf, binary, attrs["JOINTS_0"]).astype(np.int64)
    wt = accessor_array(gltf, binary, attrs["WEIGHTS_0"]).astype(np.float64)
    mesh = character.merged()
    tail_rows = np.flatnonzero(mesh["part_id"] == [p.name for p in character.parts].index("tail"))
    for frame in (0, 3, 8):
        local_t = {i: np.array(n.get("translation", [0, 0, 0]), float) for i, n in enumerate(gltf["nodes"])}
        local_r = {}
        for ch in anim["channels"]:
            out = accessor_array(gltf, binary, anim["samplers"][ch["sampler"]]["output"])[frame]
            if ch["target"]["path"] == "rotation":
                local_r[ch["target"]["node"]] = quat_to_matrix(out.astype(np.float64))
            else:
                local_t[ch["target"]["node"]] = out.astype(np.float64)
        world = _node_world(gltf, local_t, local_r)
        verts, joints = character.pose_vertices(motion.rotations[frame], motion.translation[frame])
        got = np.array([world[n][:3, 3] for n in skin["joints"]])
        np.testing.assert_allclose(got, joints, atol=2e-5)
        # glTF skinning with the exported weights and inverse binds reproduces our LBS
        mats = np.array([world[n] @ ibm[bone_of_node[n]] for n in skin["joints"]])
        ph = np.concatenate([pos, np.ones((len(pos), 1))], axis=1)
        skinned = np.einsum("vk,vkij,vj->vi", wt, mats[jn], ph)[:, :3]
        np.testing.assert_allclose(skinned, verts[tail_rows], atol=2e-5)
        assert part.vertices.shape[0] == len(tail_rows)


def test_export_character_glb_and_khronos_validator(character, motion, tmp_path):
    paths = []
    for fmt, name, opt in (("glb", "a.glb", ExportOptions()), ("glb", "walk.glb", ExportOptions(motion=motion)),
                           ("vrm", "a.vrm", ExportOptions()), ("vrm0", "a0.vrm", ExportOptions()),
                           ("vrma", "a.vrma", ExportOptions(motion=motion))):
        res = export_character(character, fmt, tmp_path / name, opt)
        assert res.path.exists() and res.bytes == res.path.stat().st_size
        paths.append(res.path)
    report = run_validator(paths)
    for p in paths:
        r = report[str(p)]
        assert r["numErrors"] == 0, r["messages"]
        # the only warning allowed: VRM 0.x's extension name "VRM" lacks a vendor prefix
        warnings = [m for m in r["messages"] if m["severity"] == 1]
        assert all(m["code"] == "INVALID_EXTENSION_NAME_FORMAT" for m in warnings), warnings
        assert r["numWarnings"] == (1 if p.name == "a0.vrm" else 0)
