"""VRM 1.0 / 0.x / VRMA: extension content, licences, springs, and three-vrm in headless Chromium.

The browser checks load every VRM with three.js + @pixiv/three-vrm as a web viewer does (one
Chromium launch per test module): no console warning or error, all required humanoid bones, the
12 expressions (each moves vertices; blink moves the eyelids), MToon on every material, spring
joints and colliders, and the .vrma moves the bones onto our own forward kinematics.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_export_common import (ACCEPTANCE_PROMPTS, EXPRESSIONS, acceptance_character, run_three_vrm,
                                run_validator, synthetic_character)

from kyara.body.skeleton import BONE_INDEX, BONES, REQUIRED_BONES
from kyara.export import ExportOptions, export_character
from kyara.export.gltf import accessor_array, read_glb
from kyara.export.gltf import srgb_to_linear
from kyara.export.vrm import VrmLicense, parse_license, preview_style, spring_chains, vrm_bytes
from kyara.export.vrm0 import bone_name_0x, shading_0x, vrm0_bytes
from kyara.pose.pose import Motion
from kyara.pose.presets import get_pose
from kyara.render.camera import view_camera


@pytest.fixture(scope="module")
def character():
    return synthetic_character()


@pytest.fixture(scope="module")
def motion(character):
    poses = [get_pose(n, character.body.params) for n in ("stand", "jog", "wave")]
    return Motion.from_keyframes(poses, 12, fps=30.0)


def _ext(data: bytes, name: str) -> tuple[dict, dict, bytes]:
    gltf, binary = read_glb(data)
    return gltf["extensions"][name], gltf, binary


def test_license_parsing_and_enum_errors():
    lic = parse_license(["commercialUsage=personalProfit", "allowRedistribution=yes", "AVATARPERMISSION=everyone"])
    assert lic.commercialUsage == "personalProfit" and lic.allowRedistribution is True
    assert lic.avatarPermission == "everyone"
    assert VrmLicense().commercialUsage == "personalNonProfit" and VrmLicense().allowRedistribution is False
    for bad, needle in ((["commercialUsage=free"], "commercialUsage='free'"), (["colour=red"], "key 'colour'"),
                        (["allowRedistribution=maybe"], "true or false"), (["modification"], "key=value")):
        with pytest.raises(ValueError, match=needle):
            parse_license(bad)


def test_vrm1_extension_content(character):
    data, warnings = vrm_bytes(character, name="Test", authors=("Alice", "Bob"),
                               license=VrmLicense(commercialUsage="corporation"))
    assert warnings == []
    vrm, gltf, _ = _ext(data, "VRMC_vrm")
    meta = vrm["meta"]
    assert meta["name"] == "Test" and meta["authors"] == ["Alice", "Bob"]
    assert meta["licenseUrl"] == "https://vrm.dev/licenses/1.0/" and meta["commercialUsage"] == "corporation"
    assert meta["avatarPermission"] == "onlyAuthor" and meta["modification"] == "prohibited"
    bones = vrm["humanoid"]["humanBones"]
    assert set(REQUIRED_BONES) <= set(bones) and len(bones) == 55
    for name, ref in bones.items():
        assert gltf["nodes"][ref["node"]]["name"] == name
    # expressions: every preset bound to the eyelids' morph of that name
    lids = next(i for i, n in enumerate(gltf["nodes"]) if n.get("name") == "eyelids")
    for e in EXPRESSIONS:
        binds = vrm["expressions"]["preset"][e]["morphTargetBinds"]
        names = gltf["meshes"][gltf["nodes"][lids]["mesh"]]["extras"]["targetNames"]
        assert binds == [{"node": lids, "index": names.index(e), "weight": 1.0}]
    # MToon draws what the previews draw: their colours, shading and ink (1 px outside the silhouette)
    body_mat = gltf["materials"][gltf["meshes"][0]["primitives"][0]["material"]]
    mt = body_mat["extensions"]["VRMC_materials_mtoon"]
    m = character.part("body").material
    style = preview_style()
    assert mt["shadingToonyFactor"] == pytest.approx(style.shading_toony)
    assert mt["shadingShiftFactor"] == pytest.approx(style.shading_shift)
    base = body_mat["pbrMetallicRoughness"]["baseColorFactor"][:3]
    assert base == pytest.approx(srgb_to_linear(m.base_color), abs=1e-6)
    assert mt["shadeColorFactor"] == pytest.approx(srgb_to_linear(m.shade), abs=1e-6)
    assert mt["outlineWidthMode"] == "worldCoordinates" and mt["outlineLightingMixFactor"] == 0.0
    v = np.concatenate([p.vertices for p in character.parts])
    cam = view_camera("front", v.min(axis=0), v.max(axis=0), size=(512, 512))
    centre = 0.5 * (v.min(axis=0) + v.max(axis=0))
    px, _ = cam.project(np.array([centre, centre + [mt["outlineWidthFactor"], 0.0, 0.0]]))
    assert np.linalg.norm(px[1] - px[0]) == pytest.approx(style.outline_width / 2, rel=1e-3)
    # first person: head-worn parts hidden in first person
    fp = {gltf["nodes"][a["node"]]["name"]: a["type"] for a in vrm["firstPerson"]["meshAnnotations"]}
    assert fp["eyelids"] == "thirdPersonOnly" and fp["tail"] == "thirdPersonOnly" and fp["body"] == "auto"
    # springs: the 4-bone tail is one chain of 4 joints; colliders on head, chest and legs
    sb = gltf["extensions"]["VRMC_springBone"]
    assert [len(s["joints"]) for s in sb["springs"]] == [4]
    assert sb["springs"][0]["joints"][0]["stiffness"] == pytest.approx(0.8)
    coll_bones = {gltf["nodes"][c["node"]]["name"] for c in sb["colliders"]}
    assert {"head", "upperChest", "leftUpperLeg", "rightUpperLeg", "leftLowerLeg", "rightLowerLeg"} <= coll_bones
    assert set(gltf["extensionsUsed"]) >= {"VRMC_vrm", "VRMC_springBone", "VRMC_materials_mtoon"}


def test_a_character_without_chains_still_gets_one():
    from dataclasses import replace

    c = synthetic_character()
    bare = replace(c, parts=[c.part("body"), c.part("eyelids")], extra_bones=[])
    data, warnings = vrm_bytes(bare)
    sb = read_glb(data)[0]["extensions"]["VRMC_springBone"]
    assert len(sb["springs"]) == 1 and len(sb["springs"][0]["joints"]) == 3
    assert any("no spring chain" in w for w in warnings)
    assert spring_chains(c) and not spring_chains(bare)


def test_vrm0_is_turned_to_face_minus_z_with_0x_tables(character):
    data, _ = vrm0_bytes(character, authors=("A",), license=VrmLicense(commercialUsage="personalProfit"))
    vrm, gltf, binary = _ext(data, "VRM")
    assert vrm["meta"]["commercialUssageName"] == "Allow" and vrm["meta"]["licenseName"] == "Redistribution_Prohibited"
    bones = {b["bone"]: b["node"] for b in vrm["humanoid"]["humanBones"]}
    assert "leftThumbIntermediate" in bones and "leftThumbMetacarpal" not in bones and len(bones) == 55
    assert bone_name_0x("rightThumbMetacarpal") == "rightThumbProximal"
    # 180 degrees about Y: x and z negated, y kept (positions and bone offsets)
    pos = accessor_array(gltf, binary, gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"])
    v = character.part("body").vertices
    np.testing.assert_allclose(pos, v * np.array([-1, 1, -1], np.float32), atol=1e-7)
    hand = gltf["nodes"][bones["leftHand"]]
    assert hand["translation"][0] < 0  # the left arm now points to -X
    groups = {g["presetName"]: g for g in vrm["blendShapeMaster"]["blendShapeGroups"]}
    assert {"blink", "blink_l", "blink_r", "a", "i", "u", "e", "o", "joy", "angry", "sorrow"} <= set(groups)
    assert groups["blink"]["binds"][0]["weight"] == 100.0
    assert len(vrm["secondaryAnimation"]["boneGroups"]) == 1
    assert len(vrm["materialProperties"]) == len(gltf["materials"])


def test_shading_conversion_inverts_three_vrm_v0_compat():
    # three-vrm's 0.x -> 1.0 conversion (VRMMaterialsV0CompatPlugin), re-written as the reference
    def to_1(s0, t0):
        toony = t0 + (1 - t0) * (0.5 + 0.5 * s0)
        return -s0 - (1 - toony), toony

    for shift, toony in ((0.0, 0.9), (-0.1, 0.95), (-0.3, 0.8)):
        s0, t0 = shading_0x(shift, toony)
        assert to_1(s0, t0) == pytest.approx((shift, toony), abs=1e-9)


def _browser_jobs(character, motion, folder) -> tuple[list[dict], dict]:
    paths = {}
    for fmt, name in (("vrm", "syn.vrm"), ("vrm0", "syn0.vrm")):
        paths[fmt] = export_character(character, fmt, folder / name).path
    paths["vrma"] = export_character(character, "vrma", folder / "syn.vrma", ExportOptions(motion=motion)).path
    frame = 7
    jobs = [{"vrm": str(paths["vrm"]), "vrma": str(paths["vrma"]), "frame": frame, "fps": motion.fps},
            {"vrm": str(paths["vrm0"]), "vrma": None}]
    return jobs, paths


def _check_loaded(r: dict, expect_expressions: bool = True) -> None:
    assert "error" not in r, r.get("error")
    assert r["console"] == [], r["console"]
    assert r["missingRequired"] == []
    assert len(r["humanBones"]) == 55
    assert r["mtoon"] > 0 and r["other"] == 0
    assert r["springJoints"] >= 2 and r["colliders"] >= 6
    if expect_expressions:
        names = {n.lower() for n in r["expressions"]}
        assert {e.lower() for e in EXPRESSIONS} <= names
        for e, move in r["morphMove"].items():
            assert move > 1e-3, (e, move)  # every expression moves vertices by more than a millimetre


def test_three_vrm_loads_vrm1_vrm0_and_vrma(character, motion, tmp_path):
    jobs, paths = _browser_jobs(character, motion, tmp_path)
    results = run_three_vrm(jobs)
    r1, r0 = results[jobs[0]["vrm"]], results[jobs[1]["vrm"]]
    _check_loaded(r1)
    _check_loaded(r0)
    assert r1["metaVersion"] == "1" and r0["metaVersion"] == "0"
    # blink moves exactly the eyelid top by its morph (4 mm), both in 1.0 and 0.x
    assert r1["morphMove"]["blink"] == pytest.approx(0.004, abs=1e-5)
    assert r0["morphMove"]["blink"] == pytest.approx(0.004, abs=1e-5)
    # the .vrma drives the humanoid onto our forward kinematics at that frame
    anim = r1["anim"]
    assert anim["count"] == 1 and anim["duration"] == pytest.approx((motion.num_frames - 1) / motion.fps, abs=1e-4)
    frame = jobs[0]["frame"]
    _, joints = character.pose_vertices(motion.rotations[frame], motion.translation[frame])
    got = np.array([anim["world"][b] for b in BONES])
    np.testing.assert_allclose(got, joints[:55], atol=1e-4)
    rest = character.rest_joints[:55]
    assert np.abs(got - rest).max() > 0.05  # and it did move
    assert np.linalg.norm(got[BONE_INDEX["rightHand"]] - rest[BONE_INDEX["rightHand"]]) > 0.1


@pytest.mark.slow
def test_acceptance_prompts_pass_validator_and_three_vrm(tmp_path):
    """The seven gallery prompts: VRM 1.0 + 0.x through the Khronos validator and three-vrm."""
    from kyara.motion import load_motion, retarget

    jobs, files = [], []
    for k, prompt in enumerate(ACCEPTANCE_PROMPTS):
        c = acceptance_character(prompt)
        vrm = export_character(c, "vrm", tmp_path / f"p{k}.vrm", ExportOptions(name=prompt[:40])).path
        vrm0 = export_character(c, "vrm0", tmp_path / f"p{k}_0.vrm").path
        vrma = None
        if k == len(ACCEPTANCE_PROMPTS) - 1:  # the jogging girl gets her jog as a .vrma
            skel, mocap = load_motion("jog")
            m = retarget(mocap, skel, c.body.params, fps=30)
            vrma = export_character(c, "vrma", tmp_path / "jog.vrma", ExportOptions(motion=m)).path
            files.append(vrma)
        jobs += [{"vrm": str(vrm), "vrma": str(vrma) if vrma else None, "frame": 5, "fps": 30.0},
                 {"vrm": str(vrm0), "vrma": None}]
        files += [vrm, vrm0]
    report = run_validator(files)
    for f in files:
        assert report[str(f)]["numErrors"] == 0, (f, report[str(f)]["messages"])
    results = run_three_vrm(jobs)
    for job in jobs:
        r = results[job["vrm"]]
        _check_loaded(r)
        assert r["morphMove"]["blink"] > 1e-3
        if job["vrma"]:
            assert r["anim"]["count"] == 1 and r["anim"]["tracks"] > 20
    print(json.dumps({j["vrm"]: results[j["vrm"]]["springJoints"] for j in jobs}))
