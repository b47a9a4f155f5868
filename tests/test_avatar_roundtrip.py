"""Our characters exported to VRM 1.0 / 0.x (kyara.export) and imported again keep vertex count,
bone map, rest joints, skin weights (within float32), morph targets, spring chains and meta."""

import types

import numpy as np
import pytest

export = pytest.importorskip("kyara.export")

from kyara.avatar import load_character  # noqa: E402
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES  # noqa: E402

FORMATS = ("vrm", "vrm0")
LICENCE = dict(allowRedistribution=True, modification="allowModificationRedistribution")


def stand_in():
    """A light character (no body mesh build): spheres skinned to two bones, a morph, a spring chain."""
    import trimesh

    from kyara.body.layout import body_layout
    from kyara.body.params import get_preset
    from kyara.character.model import Character, ExtraBone, Material, Part

    lay = body_layout(get_preset("teen-girl"))
    body = types.SimpleNamespace(layout=lay, rest_joints=lay.joints, params=lay.params)
    rng = np.random.default_rng(0)
    parts = []
    for k, bone in enumerate(["hips", "leftLowerArm", "rightUpperLeg", "head"]):
        m = trimesh.creation.icosphere(subdivisions=2, radius=0.05)
        n = len(m.vertices)
        w = rng.uniform(0.1, 1.0, (n, 2))
        w /= w.sum(axis=1, keepdims=True)
        ji = np.stack([np.full(n, BONE_INDEX[bone]), np.full(n, BONE_INDEX["spine"]), np.zeros(n), np.zeros(n)], 1)
        morphs = {"blink": rng.normal(0, 0.003, (n, 3)).astype(np.float32)} if bone == "head" else {}
        parts.append(Part(f"p{k}", "body" if k == 0 else "accessory", m.vertices + lay.joint(bone), m.faces, ji,
                          np.concatenate([w, np.zeros((n, 2))], axis=1), Material(f"m{k}", (0.8, 0.3 * k, 0.2)),
                          None, morphs))
    head = lay.joint("head")
    spring = {"stiffness": 1.5, "drag": 0.5, "gravity_power": 0.1, "hit_radius": 0.01}
    extra = [ExtraBone("hair_0", "head", tuple(head + [0.05, 0.1, -0.05]), spring),
             ExtraBone("hair_1", "hair_0", tuple(head + [0.07, 0.0, -0.08]), spring),
             ExtraBone("hair_2", "hair_1", tuple(head + [0.08, -0.1, -0.09]), spring)]
    parts[3].joint_indices[:, 1] = NUM_BONES + 1  # the head sphere hangs partly on the hair chain
    return Character(spec=None, body=body, parts=parts, extra_bones=extra)


def _dense(part, names, order):
    d = np.zeros((len(part.vertices), len(order)), np.float64)
    col = {n: i for i, n in enumerate(order)}
    for k in range(4):
        np.add.at(d, (np.arange(len(d)), [col[names[j]] for j in part.joint_indices[:, k]]), part.joint_weights[:, k])
    return d


def check_round_trip(c, path, fmt):
    from kyara.export.vrm import spring_chains

    export.export_character(c, fmt, path, export.ExportOptions(authors=("tester",),
                                                               license=export.VrmLicense(**LICENCE)))
    r = load_character(path)
    assert r.spec.extensions.format == ("vrm1" if fmt == "vrm" else "vrm0")
    assert set(r.spec.bones_mapped) == set(BONES) and not r.spec.bones_interpolated
    assert sum(len(p.vertices) for p in r.parts) == sum(len(p.vertices) for p in c.parts)
    np.testing.assert_allclose(r.rest_joints, c.rest_joints, atol=1e-5)
    assert r.bone_names == c.bone_names
    order = c.bone_names
    for a, b in zip(c.parts, r.parts):
        np.testing.assert_allclose(b.vertices, a.vertices, atol=1e-5)
        np.testing.assert_allclose(_dense(b, r.bone_names, order), _dense(a, c.bone_names, order), atol=2e-7)
        assert list(b.morphs) == list(a.morphs)
        for k in a.morphs:
            np.testing.assert_allclose(b.morphs[k], a.morphs[k], atol=1e-6)
    assert [[r.bone_names[j] for j in ch] for ch in spring_chains(r)] == \
        [[c.bone_names[j] for j in ch] for ch in spring_chains(c)]
    assert "tester" in ", ".join(r.spec.meta.authors)
    return r


@pytest.mark.parametrize("fmt", FORMATS)
def test_stand_in_round_trip(fmt, tmp_path):
    c = stand_in()
    r = check_round_trip(c, tmp_path / "a.vrm", fmt)
    assert [b.spring["stiffness"] for b in r.extra_bones] == [1.5] * 3
    assert any(pi == 3 and m == "blink" for pi, m, _ in r.spec.expressions["blink"])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_generated_character_round_trip(fmt, tmp_path):
    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt

    c = build_character(parse_prompt("an anime girl with twin tails in a kimono", 0))
    check_round_trip(c, tmp_path / "a.vrm", fmt)
