"""Hair, face and accessories on the teen-girl body: closed shells, skinning, chains, morphs, fit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hair_measures import front_hit_z  # tests/ is on sys.path (pytest rootdir)

from kyara.body.mesh_ops import is_closed_manifold, signed_volume
from kyara.body.skeleton import BONE_INDEX, NUM_BONES
from kyara.character import accessories, face, hair
from kyara.character.parser import parse_prompt
from kyara.character.spec import ACCESSORY_KINDS, BANGS, HAIR_STYLES, STYLE_LENGTHS, Accessory, Colour, HairSpec

HEAD = BONE_INDEX["head"]


@pytest.fixture(scope="module")
def body():
    from kyara.body.model import build_body

    return build_body("teen-girl")


@pytest.fixture(scope="module")
def body_sdf(body):
    from kyara.body.surface import body_primitives, evaluate_field

    prims = body_primitives(body.layout)
    return lambda p: evaluate_field(prims, np.asarray(p, np.float64))


def _spec(style="long", bangs="blunt", accessories=(), prompt="an anime girl", seed=0):
    s = parse_prompt(prompt, seed)
    length = STYLE_LENGTHS[style][-1]
    return dataclasses.replace(s, hair=HairSpec(Colour("pink", "#e67aa8"), length, style, bangs),
                               accessories=tuple(accessories))


def _check_part(p, n_bones):
    assert is_closed_manifold(p.faces.astype(np.int64)), p.name
    assert signed_volume(p.vertices, p.faces) > 0, p.name
    assert p.joint_indices.min() >= 0 and p.joint_indices.max() < n_bones, p.name
    np.testing.assert_allclose(p.joint_weights.sum(1), 1.0, atol=1e-5)
    assert len(p.faces) < 15000, (p.name, len(p.faces))


@pytest.fixture(scope="module")
def hairs(body):
    return {(st, bg): hair.build_hair(_spec(st, bg), body) for st, bg in zip(HAIR_STYLES, BANGS * 2)}


def test_fast_torso_matches_reference(body):
    from kyara.body.surface import body_primitives

    q = next(p for p in body_primitives(body.layout) if p.name == "torso")
    pts = np.random.default_rng(0).uniform(q.lo - 0.05, q.hi + 0.05, (5000, 3))
    np.testing.assert_allclose(hair.fast_primitive(q).fn(pts), q.fn(pts), atol=1e-5)


def test_chain_weights_piecewise_linear():
    joints = np.array([[0.0, 1.0, 0.0], [0.0, 0.9, 0.0], [0.0, 0.8, 0.0]])
    bones = np.array([55, 56, 57])
    pts = np.array([[0.01, 1.0, 0.0], [0.0, 0.95, 0.0], [0.0, 0.8, 0.0], [0.0, 1.05, 0.0], [0.0, 0.7, 0.0]])
    idx, w = hair.chain_weights(pts, joints, bones, HEAD)
    dense = np.zeros((len(pts), 58))
    np.add.at(dense, (np.repeat(np.arange(len(pts)), 4), idx.ravel()), w.ravel())
    np.testing.assert_allclose(dense[0, 55], 1.0, atol=1e-6)
    np.testing.assert_allclose(dense[1, [55, 56]], [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(dense[2, 57], 1.0, atol=1e-6)
    np.testing.assert_allclose(dense[3, [HEAD, 55]], [0.5, 0.5], atol=1e-6)  # before the chain: blends into head
    np.testing.assert_allclose(dense[4, 57], 1.0, atol=1e-6)


def test_every_style_builds_closed_skinned_parts(hairs):
    for (style, bangs), (parts, bones) in hairs.items():
        n = NUM_BONES + len(bones)
        names = [p.name for p in parts]
        assert "hair_cap" in names, style
        for p in parts:
            _check_part(p, n)
        cap = parts[names.index("hair_cap")]
        assert np.all(cap.joint_indices[:, 0] == HEAD) and np.all(cap.joint_weights[:, 0] == 1.0)
        assert len(bones) >= 3, style  # at least one chain
        assert all(b.spring and {"stiffness", "drag", "gravity_power", "hit_radius"} <= set(b.spring) for b in bones)
        # chain vertices use the extra bones
        strands = [p for p in parts if p.name != "hair_cap" and p.name != "hair_tie"]
        assert any((p.joint_indices >= NUM_BONES).any() for p in strands), style


@pytest.mark.parametrize("style", ["long", "ponytail", "twin-tails", "braided"])
def test_long_styles_have_long_chains(hairs, style):
    parts, bones = next(v for k, v in hairs.items() if k[0] == style)
    names = [b.name for b in bones]
    roots = [b for b in bones if b.parent == "head"]
    depth = {}
    for b in bones:
        depth[b.name] = 1 if b.parent == "head" else depth[b.parent] + 1
    assert max(depth.values()) >= 3
    if style == "ponytail":
        pt = [b for b in roots if "ponytail" in b.name]
        assert pt and max(d for nme, d in depth.items() if "ponytail" in nme) >= 3
        assert pt[0].position[2] < -0.05  # at the back of the head
    if style == "twin-tails":
        tails = [b for b in roots if "twintail" in b.name]
        assert len(tails) == 2 and tails[0].position[0] * tails[1].position[0] < 0
    assert len(set(names)) == len(names)


def test_hair_outside_body_and_clear_of_eyes(hairs, body, body_sdf):
    d = body.layout.dims
    ex, ey, rx, ry, es = face._eye_geometry(body)
    for (style, bangs), (parts, _) in hairs.items():
        for p in parts:
            f = body_sdf(p.vertices)
            limit = 0.002 if p.name == "hair_cap" else 0.0
            assert f.min() > limit, (style, p.name, f.min())
            v = p.vertices
            for sx in (1, -1):
                over_eye = (np.abs(v[:, 0] - sx * ex) < rx) & (np.abs(v[:, 1] - ey) < ry) & (v[:, 2] > d["head_z"])
                assert not over_eye.any(), (style, bangs, p.name)


def test_styles_change_the_silhouette(hairs, body):
    d = body.layout.dims
    ext = {k[0]: np.concatenate([p.vertices for p in v[0]]) for k, v in hairs.items()}
    back_of_head = -0.5 * d["D"]
    assert ext["ponytail"][:, 2].min() < back_of_head - 0.1 * d["h"]
    assert ext["twin-tails"][:, 0].max() > 0.5 * d["W"] + 0.1 * d["h"]
    assert ext["long"][:, 1].min() < d["neck_y"] - 0.3 * d["h"]
    assert ext["short"][:, 1].min() > d["neck_y"]
    assert ext["bob"][:, 1].min() > d["neck_y"] - 0.1 * d["h"]


def test_hair_is_deterministic_and_follows_seed(body):
    a, _ = hair.build_hair(_spec("long", "blunt", seed=3), body)
    b, _ = hair.build_hair(_spec("long", "blunt", seed=3), body)
    for p, q in zip(a, b):
        assert np.array_equal(p.vertices, q.vertices) and np.array_equal(p.joint_weights, q.joint_weights)


def test_hair_strands_follow_their_chain(body):
    """Rotating the ponytail's first joint moves the tail, not the cap."""
    from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms
    from kyara.body.skeleton import PARENTS

    parts, bones = hair.build_hair(_spec("ponytail", "none"), body)
    names = [b.name for b in bones]
    index = {n: i for i, n in enumerate(list(BONE_INDEX) + names)}
    parents = np.concatenate([PARENTS, [index[b.parent] for b in bones]])
    rest = np.concatenate([body.rest_joints, [b.position for b in bones]])
    rot = np.tile(np.eye(3), (len(rest), 1, 1))
    c, s = np.cos(0.6), np.sin(0.6)
    rot[index["hair_ponytail_0"]] = [[1, 0, 0], [0, c, -s], [0, s, c]]
    g_rot, g_pos = forward_kinematics(rot, np.zeros(3), rest, parents)
    A = skinning_transforms(g_rot, g_pos, rest).astype(np.float32)
    for p in parts:
        dense = np.zeros((len(p.vertices), len(rest)), np.float32)
        np.add.at(dense, (np.repeat(np.arange(len(p.vertices)), 4), p.joint_indices.ravel()), p.joint_weights.ravel())
        moved = np.linalg.norm(linear_blend_skinning(p.vertices, dense, A) - p.vertices, axis=1)
        if p.name == "hair_cap":
            assert moved.max() < 1e-6
        if p.name == "hair_tail":
            assert moved.max() > 0.05


# ---------------------------------------------------------------------------------------------- face


@pytest.fixture(scope="module")
def face_parts(body):
    return face.build_face(_spec(), body)[0]


def test_face_parts_closed_rigid_and_on_the_skin(face_parts, body):
    surf = face.FaceSurface(body)
    for p in face_parts:
        _check_part(p, NUM_BONES)
        assert np.all(p.joint_indices[:, 0] == HEAD)
        for name, off in [("rest", 0.0)] + list(p.morphs.items()):
            v = p.vertices + off
            gap = v[:, 2] - surf.z(v[:, 0], v[:, 1])
            assert gap.min() > -5e-4 and gap.max() < 2.0e-3, (p.name, name, gap.min(), gap.max())
            assert signed_volume(v, p.faces) > 0, (p.name, name)


def test_face_has_every_morph_and_they_move(face_parts):
    have = {}
    for p in face_parts:
        for k, m in p.morphs.items():
            have[k] = max(have.get(k, 0.0), float(np.abs(m).max()))
    assert set(face.MORPHS) <= set(have)
    assert all(v > 1e-3 for v in have.values()), have


def test_blink_covers_the_iris(face_parts, body):
    """With each blink morph every point of the iris of a closing eye lies under the eyelid or the
    lash line (in front of it), and the other eye does not move."""
    ex = face._eye_geometry(body)[0]
    parts = {p.name: p for p in face_parts}
    iris = parts["irises"]
    iris_tri = iris.vertices[iris.faces]
    for morph, sides in (("blink", (1, -1)), ("blinkLeft", (1,)), ("blinkRight", (-1,))):
        covers = [(parts[n].vertices + parts[n].morphs[morph])[parts[n].faces] for n in ("eyelids", "lashes")]
        for sx in sides:
            pts = iris.vertices[np.sign(iris.vertices[:, 0]) == sx, :2].astype(np.float64)
            centre = pts.mean(0)
            for q in centre + 0.97 * (pts[::3] - centre):  # every third iris vertex, just inside the rim
                under = front_hit_z(iris_tri, q)
                over = max((z for z in (front_hit_z(t, q) for t in covers) if z is not None), default=None)
                assert under is not None and over is not None and over > under + 1e-4, (morph, sx, q)
        if morph != "blink":  # the other eye stays open
            other = -1 if morph == "blinkLeft" else 1
            for n in ("eyelids", "lashes"):
                moved = np.abs(parts[n].morphs[morph][np.sign(parts[n].vertices[:, 0]) == other]).max()
                assert moved == 0.0, (morph, n)


def test_vowels_open_the_mouth(face_parts, body):
    h = body.layout.dims["h"]
    m = next(p for p in face_parts if p.name == "mouth")
    rest = np.ptp(m.vertices[:, 1])
    assert np.ptp((m.vertices + m.morphs["aa"])[:, 1]) > rest + 0.05 * h
    assert np.ptp((m.vertices + m.morphs["ee"])[:, 0]) > np.ptp(m.vertices[:, 0]) * 1.15
    assert np.ptp((m.vertices + m.morphs["ou"])[:, 0]) < np.ptp(m.vertices[:, 0]) * 0.6


def test_eye_colours(face_parts):
    parts = {p.name: p for p in face_parts}
    spec = _spec()
    iris = np.array(Colour("x", spec.eye_colour.hex).rgb)
    # the iris gradient passes through the spec's eye colour itself (its middle band)
    assert np.linalg.norm(parts["irises"].colors - iris, axis=1).min() < 2e-3
    assert np.ptp(parts["irises"].colors, axis=0).max() > 0.2  # and is a gradient, not one colour
    assert max(parts["pupils"].material.base_color) < 0.2  # dark pupils
    assert min(parts["eye_highlights"].material.base_color) > 0.95  # white highlights
    assert min(parts["eye_whites"].material.base_color) > 0.9
    assert max(parts["lashes"].material.base_color) < 0.2
    # one colour each (a plain material): everything but the irises and the mouth
    assert {n for n, p in parts.items() if p.colors is not None} == {"irises", "mouth"}
    assert face.expression_weights("happy") == {"happy": 1.0}
    with pytest.raises(ValueError, match="expression"):
        face.expression_weights("grumpy")


# ---------------------------------------------------------------------------------------------- accessories


@pytest.fixture(scope="module")
def acc_parts(body):
    out = {}
    for kind in ACCESSORY_KINDS:
        style = "ponytail" if kind == "ribbon" else "long"
        spec = _spec(style, "blunt", [Accessory(kind, Colour("navy", "#1f2a55"))])
        out[kind] = accessories.build_accessories(spec, body)[0]
    return out


def test_every_accessory_builds(acc_parts, body, body_sdf):
    for kind, parts in acc_parts.items():
        assert parts, kind
        for p in parts:
            _check_part(p, NUM_BONES)
            assert body_sdf(p.vertices).min() > 0.002, (kind, p.name)
            if kind != "scarf":
                assert np.all(p.joint_indices[:, 0] == HEAD)
    scarf = acc_parts["scarf"][0]
    used = set(np.unique(scarf.joint_indices[scarf.joint_weights > 0]))
    assert used <= {BONE_INDEX["neck"], BONE_INDEX["upperChest"], BONE_INDEX["chest"]}


def test_hats_sit_on_the_hair(acc_parts, body):
    c, r = hair.cap_ellipsoid(body)
    parts, _ = hair.build_hair(_spec("long"), body)
    cap = next(p for p in parts if p.name == "hair_cap").vertices
    top = cap[cap[:, 1] > c[1]]
    assert np.linalg.norm((top - c) / r, axis=1).max() <= 1.0 + 1e-6  # the ellipsoid encloses the cap
    d = body.layout.dims
    for kind in ("witch-hat", "tricorn-hat", "cap"):
        v = np.concatenate([p.vertices for p in acc_parts[kind]])
        assert np.linalg.norm((v - c) / r, axis=1).min() > 0.99, kind  # nothing inside the hair volume
        assert v[:, 1].max() > d["crown"] + 0.02, kind
    witch = np.concatenate([p.vertices for p in acc_parts["witch-hat"]])
    assert witch[:, 1].max() > d["crown"] + 0.5 * d["h"]
    assert np.ptp(witch[:, 0]) > 1.6 * d["W"]  # wide brim


def test_glasses_in_front_of_the_eyes(acc_parts, face_parts, body):
    ex, ey, rx, ry, _ = face._eye_geometry(body)
    lenses = next(p for p in acc_parts["glasses"] if p.name == "glasses_lenses")
    frames = next(p for p in acc_parts["glasses"] if p.name == "glasses")
    face_z = max(p.vertices[:, 2].max() for p in face_parts if p.name in face.FEATURE_PARTS[:6])  # eye parts
    assert lenses.vertices[:, 2].min() > face_z
    assert lenses.vertices[:, 0].max() > ex + rx and lenses.vertices[:, 0].min() < -ex - rx
    assert frames.vertices[:, 2].min() < 0.0  # temples reach back to the ears
