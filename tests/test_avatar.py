"""Avatar import: the shared third-party VRM 1.0 files, the corpus (VRM 1.0 / 0.x, plain glTF with
names, A-pose), posing, rendering, and the bounded reader's one-line errors."""

from pathlib import Path

import numpy as np
import pytest

from kyara.avatar import avatar_pose, character_body, load_character
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES

DATA = Path(__file__).parent / "data"
SHARED = sorted((DATA / "vrm").glob("*.vrm"))
CORPUS = DATA / "avatar_corpus"


def _ext_humanoid(path):
    from kyara.avatar.glb import read_gltf

    doc = read_gltf(path)
    return doc.json["extensions"]["VRMC_vrm"]["humanoid"]["humanBones"], doc




def test_shared_files_and_their_licence_note_are_there():
    assert len(SHARED) == 2
    assert "allowRedistribution true" in (DATA / "vrm" / "README.md").read_text()


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.stem)
def test_shared_vrm_imports_with_complete_bone_map(path):
    c = load_character(path)
    bones, doc = _ext_humanoid(path)
    assert c.spec.extensions.format == "vrm1"
    assert set(c.spec.bones_mapped) == set(bones)  # every humanoid bone of the file is mapped
    assert set(c.spec.bones_mapped) | set(c.spec.bones_interpolated) == set(BONES)
    # a mapped bone sits where the file's node sits (world translation of the node chain)
    from kyara.avatar.convert import node_graph

    _, world, _ = node_graph(doc)
    for bone, v in bones.items():
        np.testing.assert_allclose(c.rest_joints[BONE_INDEX[bone]], world[v["node"]][:3, 3], atol=1e-5)
    assert c.spec.meta.authors == ("pixiv Inc.",) and c.spec.meta.allows_conversion
    body = character_body(c)
    assert body.rest_joints.shape == (NUM_BONES, 3) and body.udp.shape == (body.num_vertices, 3)
    assert body.udp.min() >= 0 and body.udp.max() <= 1


def test_rigid_meshes_follow_their_bone():
    path = [p for p in SHARED if "isBinary" in p.name][0]
    c = load_character(path)
    body = character_body(c)
    head = BONE_INDEX["head"]
    window = c.part("Validation Window")
    assert np.all(window.joint_indices[:, 0] == head)  # the node is a child of the Head node
    rot = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    rot[BONE_INDEX["neck"]] = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # 90 deg about Z
    verts, joints = body.pose_vertices(rot)
    n = len(window.vertices)
    moved = verts[:n] - joints[head]
    rest = window.vertices - body.rest_joints[head]
    np.testing.assert_allclose(moved, rest @ rot[BONE_INDEX["neck"]].T, atol=1e-5)


def test_texture_colours_are_sampled_per_vertex():
    path = [p for p in SHARED if "isBinary" in p.name][0]
    window = load_character(path).part("Validation Window")
    assert window.colors is not None and np.ptp(window.colors, axis=0).max() > 0.2


def test_vrm0_is_turned_to_face_plus_z_and_matches_vrm1():
    a = load_character(CORPUS / "minimal.vrm")
    b = load_character(CORPUS / "minimal_0x.vrm")
    assert b.spec.extensions.format == "vrm0"
    np.testing.assert_allclose(b.rest_joints, a.rest_joints, atol=1e-6)
    np.testing.assert_allclose(b.parts[0].vertices, a.parts[0].vertices, atol=1e-6)
    assert a.rest_joints[BONE_INDEX["leftHand"], 0] > 0  # left hand at +X
    assert b.spec.meta.fields["allowRedistribution"] is True  # 0.x CC_BY


def test_plain_gltf_maps_names_and_reposes_a_pose():
    t = load_character(CORPUS / "minimal.vrm")
    a = load_character(CORPUS / "mixamo_apose.glb")
    g = load_character(CORPUS / "mixamo.gltf")  # external .bin beside the .gltf
    assert a.spec.extensions.format == "gltf" and len(a.spec.bones_mapped) == 15
    assert a.spec.reposed and not t.spec.reposed
    arm = [BONE_INDEX[b] for b in ("leftUpperArm", "leftLowerArm", "leftHand", "rightHand")]
    rel = lambda c: c.rest_joints - c.rest_joints[0]  # noqa: E731 - plain glTF is also put on the floor
    np.testing.assert_allclose(rel(a)[arm], rel(t)[arm], atol=1e-5)  # arms now horizontal
    np.testing.assert_allclose(rel(g), rel(t), atol=1e-6)
    feet = [p for p in a.parts][0].vertices[:, 1].min()
    assert abs(feet) < 1e-6 and abs(t.parts[0].vertices[:, 1].min() + 0.03) < 1e-6  # VRM kept as stored


def test_user_mapping_overrides_names(tmp_path):
    from kyara.avatar.convert import ImportConfig, import_avatar

    y = tmp_path / "map.yaml"
    y.write_text("Head: null\n")
    with pytest.raises(ValueError, match="missing required bone.*head"):
        import_avatar(CORPUS / "mixamo.gltf", ImportConfig(mapping=str(y)))


def test_interpolated_bones_carry_no_weight():
    c = load_character(CORPUS / "minimal.vrm")
    used = {int(j) for p in c.parts for j, w in zip(p.joint_indices.ravel(), p.joint_weights.ravel()) if w > 0}
    interp = {BONE_INDEX[b] for b in c.spec.bones_interpolated}
    assert interp and not used & interp
    # interpolated bones lie between their neighbours (chest on the spine -> head segment)
    j = c.rest_joints
    assert j[BONE_INDEX["spine"], 1] < j[BONE_INDEX["chest"], 1] < j[BONE_INDEX["upperChest"], 1] < j[BONE_INDEX["head"], 1]
    assert j[BONE_INDEX["leftIndexDistal"], 0] > j[BONE_INDEX["leftIndexProximal"], 0] > j[BONE_INDEX["leftHand"], 0]


@pytest.mark.parametrize("path", [CORPUS / "minimal.vrm", CORPUS / "mixamo_apose.glb"] + SHARED, ids=lambda p: p.stem)
def test_jog_puts_hands_where_it_puts_ours(path):
    """Same pose -> same hand position relative to the shoulder, in units of the own arm length."""
    from kyara.body.layout import body_layout
    from kyara.body.params import get_preset
    from kyara.pose.lbs import forward_kinematics
    from kyara.pose.presets import get_pose
    from kyara.body.skeleton import PARENTS

    body = character_body(load_character(path))
    ours = body_layout(get_preset("teen-girl"))
    rel = {}
    for name, rest, pose in (("ours", ours.joints, get_pose("jog", "teen-girl")),
                             ("avatar", body.rest_joints, avatar_pose("jog", body))):
        _, g = forward_kinematics(pose.matrices(), pose.translation, rest, PARENTS)
        for side in ("left", "right"):
            sh, hand = BONE_INDEX[f"{side}UpperArm"], BONE_INDEX[f"{side}Hand"]
            arm = np.linalg.norm(rest[hand] - rest[sh])
            rel[name, side] = (g[hand] - g[sh]) / arm
    for side in ("left", "right"):
        assert np.linalg.norm(rel["ours", side] - rel["avatar", side]) < 0.12
    # and the mesh follows: the posed hand joint moved away from its T-pose place
    v, j = body.pose(avatar_pose("jog", body))
    assert np.linalg.norm(j[BONE_INDEX["leftHand"]] - body.rest_joints[BONE_INDEX["leftHand"]]) > 0.1


def test_udp_is_pose_independent():
    body = character_body(load_character(CORPUS / "minimal.vrm"))
    from kyara.body.model import a_pose_rotations

    a, _ = body.pose_vertices(a_pose_rotations())
    n = body.num_vertices - 5
    lo, hi = a[:n].min(0), a[:n].max(0)
    np.testing.assert_allclose(body.udp[:n], (a[:n] - lo) / (hi - lo), atol=1e-5)


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.stem)
def test_render_of_shared_vrm_produces_all_maps(path, tmp_path, gl):
    from kyara.render.pipeline import RENDER_MAPS, RenderConfig, frame_views, render_to_dir

    body = character_body(load_character(path))
    pz = avatar_pose("stand", body)
    verts, joints = body.pose(pz)
    views = frame_views(np.concatenate([verts, joints]), ["front", "back"], (96, 96), faces=body.faces)
    render_to_dir(tmp_path, body, pz, views, RenderConfig())
    for view in ("front", "back"):
        for m in RENDER_MAPS:
            f = tmp_path / f"{view}_{m}.{'npz' if m == 'udp' else 'png'}"
            assert f.is_file() and f.stat().st_size > 0, f
    mask = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(tmp_path / "front_mask.png"))
    assert mask.max() > 0  # the avatar's meshes are in the picture


def test_keypoint_tolerances_match_body_version_on_a_real_surface():
    """The NaN-safe tolerances equal kyara.pose.keypoints' where every landmark exists."""
    from kyara.pose.keypoints import keypoint_tolerances

    body = character_body(load_character(CORPUS / "minimal.vrm"))
    ok = np.isfinite(body.face_bary).all(axis=1)
    tol = body.keypoint_tolerances()
    assert np.all(np.isfinite(tol)) and tol.shape == (130,)
    if ok.all():
        np.testing.assert_allclose(tol[:60], keypoint_tolerances(body)[:60], rtol=1e-6)


def test_licence_gate():
    from kyara.avatar.licence import check_conversion_allowed

    own = load_character(CORPUS / "minimal.vrm").spec.meta  # prohibited
    with pytest.raises(ValueError, match="--i-own-this-avatar") as e:
        check_conversion_allowed(own, False, "export to STL")
    assert "\n" not in str(e.value)
    check_conversion_allowed(own, True)
    check_conversion_allowed(load_character(SHARED[0]).spec.meta, False)  # everyone / redistribution allowed


HUB = ("https://hub.vroid.com/license?allowed_to_use_user=everyone&characterization_allowed_user=everyone"
       "&corporate_commercial_use={corp}&credit=unnecessary&modification={mod}&personal_commercial_use=profit"
       "&redistribution={red}&sexual_expression=allow&version=1&violent_expression=allow")


@pytest.mark.parametrize("url,red,mod,converts", [
    (HUB.format(corp="allow", mod="allow", red="allow"), True, "allowModificationRedistribution", True),
    (HUB.format(corp="allow", mod="allow", red="disallow"), False, "allowModification", False),
    (HUB.format(corp="allow", mod="disallow", red="allow"), True, "prohibited", False),
    # a look-alike host or path is not VRoid Hub's licence: nothing granted
    (HUB.format(corp="allow", mod="allow", red="allow").replace("hub.vroid.com", "hub.vroid.com.example.org"),
     False, "prohibited", False),
    ("https://example.org/license?modification=allow&redistribution=allow", False, "prohibited", False),
    ("", False, "prohibited", False),
])
def test_vrm0_other_licence_with_vroid_hub_terms(url, red, mod, converts):
    """VRoid Studio writes 0.x licences as licenseName 'Other' plus a VRoid Hub URL whose query holds
    the terms; they are read from the URL (by hand here: redistribution/modification allow|disallow)."""
    from kyara.avatar.licence import meta_from_vrm0

    meta = meta_from_vrm0({"title": "x", "author": "a", "licenseName": "Other", "otherLicenseUrl": url,
                           "allowedUserName": "Everyone", "commercialUssageName": "Disallow"})
    assert meta.fields["allowRedistribution"] is red and meta.fields["modification"] == mod
    assert meta.allows_conversion is converts
    if converts:
        assert meta.fields["commercialUsage"] == "corporation" and meta.fields["creditNotation"] == "unnecessary"


def test_shared_vroid_avatar_may_be_converted():
    """openpose_rig_avatar.vrm: 'Other' + VRoid Hub terms redistribution=allow, modification=allow."""
    from kyara.avatar.licence import check_conversion_allowed

    rig = Path(__file__).resolve().parents[2] / "shared" / "vrm" / "openpose_rig_avatar.vrm"
    if not rig.is_file():
        pytest.skip(f"{rig} is not there")
    meta = load_character(rig).spec.meta
    assert meta.fields["modification"] == "allowModificationRedistribution"
    check_conversion_allowed(meta, False, "export to STL")


def test_load_character_json(tmp_path):
    with pytest.raises(ValueError, match="not a .vrm, .glb, .gltf or character .json"):
        load_character(tmp_path / "x.obj")
    with pytest.raises(FileNotFoundError):
        load_character(tmp_path / "missing.json")


def test_tpose_of_a_rig_with_coinciding_joints_warns_nothing():
    """A hand placed on its elbow (zero-length forearm) and a bent arm: the T-pose fit leaves the
    zero-length bone alone instead of dividing by zero (numpy warnings are errors here)."""
    import warnings

    from kyara.avatar.convert import tpose_rotations
    from kyara.body.layout import body_layout
    from kyara.body.params import get_preset
    from kyara.body.skeleton import PARENTS

    rest = np.array(body_layout(get_preset("teen-girl")).joints, dtype=np.float64)
    rest[BONE_INDEX["leftHand"]] = rest[BONE_INDEX["leftLowerArm"]]
    rest[BONE_INDEX["rightLowerArm"]] += np.array([0.0, -0.15, 0.0])  # so a fit is needed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rot = tpose_rotations(rest, np.asarray(PARENTS), 5.0)
    assert rot is not None and np.isfinite(rot).all()
