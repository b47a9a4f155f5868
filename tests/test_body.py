"""The parametric anime body: topology, weights, measurements, UDP, joints under bending."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from kyara.body.measure import measure_body
from kyara.body.mesh_ops import is_closed_manifold, signed_volume
from kyara.body.model import PART_NAMES, a_pose_rotations, build_body
from kyara.body.params import PARAM_SPECS, PRESET_NAMES, BodyParams, get_preset
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES, PARENTS, REQUIRED_BONES
from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms
from kyara.pose.rotations import axis_angle_to_matrix


def random_params(seed: int) -> BodyParams:
    """A random but valid parameter set, drawn from the middle 70% of every range."""
    rng = np.random.default_rng(seed)
    values = {}
    for s in PARAM_SPECS:
        lo, hi = s.low + 0.15 * (s.high - s.low), s.high - 0.15 * (s.high - s.low)
        values[s.name] = float(rng.uniform(lo, hi))
    values["hip_width"] = max(values["hip_width"], 2.6 * values["limb_thickness"])
    return BodyParams(**values)


BODIES = [pytest.param(name, id=name) for name in PRESET_NAMES] + [
    pytest.param(seed, id=f"random{seed}", marks=pytest.mark.slow) for seed in range(5)
]


def _body(key):
    return build_body(key if isinstance(key, str) else random_params(key))


def test_skeleton_is_vrm_humanoid():
    assert NUM_BONES == 55
    assert set(REQUIRED_BONES) <= set(BONES)
    assert all(PARENTS[i] < i for i in range(NUM_BONES))  # parents first
    assert BONES[0] == "hips" and PARENTS[0] == -1
    assert BONES[PARENTS[BONE_INDEX["leftHand"]]] == "leftLowerArm"
    assert BONES[PARENTS[BONE_INDEX["rightThumbDistal"]]] == "rightThumbProximal"


@pytest.mark.parametrize("key", BODIES)
def test_surface_is_closed_manifold_with_positive_volume(key):
    b = _body(key)
    assert 10_000 <= len(b.faces) <= 40_000
    m = trimesh.Trimesh(b.vertices, b.faces, process=False)
    # trimesh as an independent reference, our own check beside it
    assert m.is_watertight and m.is_winding_consistent
    assert is_closed_manifold(b.faces)
    assert m.volume > 0 and signed_volume(b.vertices, b.faces) > 0
    assert len(m.split(only_watertight=False)) == 1  # one connected surface
    assert np.allclose(np.linalg.norm(b.normals, axis=1), 1.0, atol=1e-4)
    # rest pose conventions: feet on the floor, facing +Z, symmetric about x = 0
    assert abs(float(b.vertices[:, 1].min())) < 1e-3
    assert abs(float(b.vertices[:, 0].max() + b.vertices[:, 0].min())) < 0.01 * b.params.height


@pytest.mark.parametrize("key", ["teen-girl", "chibi", "heroic"])
def test_surface_has_no_self_intersections(key):
    pymeshlab = pytest.importorskip("pymeshlab")
    b = _body(key)
    ms = pymeshlab.MeshSet()
    ms.add_mesh(pymeshlab.Mesh(b.vertices.astype(np.float64), b.faces.astype(np.int32)))
    ms.compute_selection_by_self_intersections_per_face()
    assert ms.current_mesh().selected_face_number() == 0


@pytest.mark.parametrize("key", BODIES)
def test_skin_weights_normalized_and_rest_skinning_is_identity(key):
    b = _body(key)
    assert b.joint_indices.shape == (b.num_vertices, 4) and b.joint_weights.dtype == np.float32
    assert np.all(b.joint_weights >= 0)
    assert np.allclose(b.joint_weights.sum(axis=1), 1.0, atol=1e-6)
    rest = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    verts, joints = b.pose_vertices(rest, np.zeros(3))
    assert np.abs(verts - b.vertices).max() < 1e-5
    assert np.allclose(joints, b.rest_joints)


def test_every_part_and_finger_is_present():
    b = build_body("teen-girl")
    counts = np.bincount(b.parts, minlength=len(PART_NAMES))
    assert np.all(counts > 100), dict(zip(PART_NAMES, counts))
    # each fingertip has mesh right at it: fingers are separate geometry, not a mitten
    for side in ("left", "right"):
        for finger in ("Thumb", "Index", "Middle", "Ring", "Little"):
            tip = b.layout.tips[f"{side}{finger}"]
            d = np.linalg.norm(b.vertices - tip, axis=1).min()
            assert d < 0.006, (side, finger, d)
            owner = BONES[b.joint_indices[np.argmin(np.linalg.norm(b.vertices - tip, axis=1)), 0]]
            assert owner == f"{side}{finger}" + ("Distal"), owner


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_measurements_match_request_within_5_percent(name):
    b = build_body(name)
    m = measure_body(b)
    p = b.params.to_dict()
    for key in ("height", "heads_tall", "head_width", "head_depth", "shoulder_width", "chest", "waist",
                "hip_width", "arm_length", "leg_length", "limb_thickness", "hand_size", "foot_size"):
        assert m[key] == pytest.approx(p[key], rel=0.05), (key, m[key], p[key])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_random_bodies_measure_height_and_heads(seed):
    p = random_params(seed)
    m = measure_body(build_body(p))
    for key in ("height", "heads_tall", "shoulder_width", "arm_length", "limb_thickness"):
        assert m[key] == pytest.approx(getattr(p, key), rel=0.05), (key, m[key], getattr(p, key))


def test_heads_tall_changes_the_head_not_the_height():
    a = measure_body(build_body(get_preset("teen-girl").replace(heads_tall=5.0)))
    b = measure_body(build_body(get_preset("teen-girl").replace(heads_tall=7.5)))
    assert a["height"] == pytest.approx(b["height"], rel=0.01)
    assert a["heads_tall"] == pytest.approx(5.0, rel=0.05) and b["heads_tall"] == pytest.approx(7.5, rel=0.05)


def test_udp_is_normalized_a_pose_position():
    b = build_body("teen-girl")
    assert b.udp.dtype == np.float32 and b.udp.min() >= 0 and b.udp.max() <= 1
    g_rot, g_pos = forward_kinematics(a_pose_rotations(), np.zeros(3), b.rest_joints, PARENTS)
    a = linear_blend_skinning(b.vertices, b.weights_dense(), skinning_transforms(g_rot, g_pos, b.rest_joints))
    ref = (a - a.min(0)) / (a.max(0) - a.min(0))
    assert np.abs(ref - b.udp).max() < 1e-4
    # in the A-pose the hands are below the shoulders: the left fingertip's UDP y is below the neck's
    tip = np.argmin(np.linalg.norm(b.vertices - b.layout.tips["leftMiddle"], axis=1))
    neck = np.argmin(np.linalg.norm(b.vertices - b.rest_joints[BONE_INDEX["neck"]], axis=1))
    assert b.udp[tip, 1] < b.udp[neck, 1]


def _local_volume(verts, faces, mask_v, centre):
    """Volume enclosed by the surface patch (faces with all vertices in mask) and cones to ``centre``."""
    f = faces[np.all(mask_v[faces], axis=1)]
    t = verts[f].astype(np.float64) - centre
    return float(np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6.0)


@pytest.mark.parametrize(
    "bone,axis,radius_key",
    [("leftLowerArm", (0.0, -1.0, 0.0), "r_elbow"), ("leftLowerLeg", (1.0, 0.0, 0.0), "r_knee"),
     ("rightLowerArm", (0.0, 1.0, 0.0), "r_elbow")],
)
def test_bending_90_degrees_keeps_local_volume(bone, axis, radius_key):
    b = build_body("teen-girl")
    j = BONE_INDEX[bone]
    centre = b.rest_joints[j]
    region = np.linalg.norm(b.vertices - centre, axis=1) < 3.0 * b.layout.dims[radius_key]
    rest_v = _local_volume(b.vertices, b.faces, region, centre)
    rot = np.tile(np.eye(3), (NUM_BONES, 1, 1))
    rot[j] = axis_angle_to_matrix(np.asarray(axis) * np.pi / 2)
    bent, joints = b.pose_vertices(rot)
    assert np.allclose(joints[j], centre)
    bent_v = _local_volume(bent, b.faces, region, centre)
    assert rest_v > 0
    assert bent_v / rest_v >= 0.85, bent_v / rest_v


def test_bad_parameters_raise_one_line_errors():
    with pytest.raises(ValueError, match="heads_tall=12"):
        get_preset("teen-girl").replace(heads_tall=12)
    with pytest.raises(ValueError, match="unknown body preset 'giant'"):
        build_body("giant")
    with pytest.raises(ValueError, match="unknown body parameter"):
        get_preset("teen-girl").replace(tail=1.0)
    with pytest.raises(ValueError, match="hip_width"):
        BodyParams(hip_width=0.12, limb_thickness=0.12)
    with pytest.raises(ValueError, match="target_faces"):
        build_body("teen-girl", target_faces=500)
