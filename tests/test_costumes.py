"""Anime costume vocabulary (maid, gothic lolita, samurai, miko, idol, school swimsuit, thighhighs,
1girl/1boy): each word gives its pieces and tags; each costume builds closed, skinned garments that
stay out of the body at rest and in preset poses, and reaches the VRM with its colours; ``understand``
reports what was understood and what was ignored, with spans, and flags a nonsense prompt."""

from __future__ import annotations

import functools
import json
import struct

import numpy as np
import pytest

from kyara.character.describe import spec_prompt
from kyara.character.parser import DRAW_SLOTS, parse_prompt
from kyara.character.reading import understand


def _kinds(prompt: str, seed: int = 0) -> dict[str, str]:
    return {p.kind: p.colour.name for p in parse_prompt(prompt, seed).outfit}


# ---------------------------------------------------------------------------------------------
# vocabulary


@pytest.mark.parametrize("prompt, want", [
    ("a maid", {"maid-dress"}),
    ("a girl in a maid outfit", {"maid-dress"}),
    ("a girl with an apron", {"maid-dress"}),
    ("gothic lolita", {"lolita-dress"}),
    ("a girl in a frilled dress", {"lolita-dress"}),
    ("a samurai", {"kimono-top", "hakama"}),
    ("a miko", {"kimono-top", "hakama"}),
    ("a shrine maiden", {"kimono-top", "hakama"}),
    ("an idol", {"idol-dress"}),
    ("a girl in an idol outfit", {"idol-dress"}),
    ("a girl in a school swimsuit", {"school-swimsuit"}),
    ("1girl, school_swimsuit", {"school-swimsuit"}),  # Danbooru spelling: underscores split words
    ("a girl in a hakama", {"kimono-top", "hakama"}),  # the seed completes the look with its top
    ("a girl in a skirt and white thighhighs", {"skirt", "thighhighs"}),
    ("a maid with black stockings", {"maid-dress", "thighhighs"}),
])
def test_costume_words_give_their_pieces(prompt, want):
    spec = parse_prompt(prompt, 0)
    assert want <= {p.kind for p in spec.outfit}, (prompt, spec.outfit)
    assert spec.unparsed == (), spec.unparsed


def test_costume_colours_and_accessories():
    miko = _kinds("a miko")
    assert miko["kimono-top"] == "white" and miko["hakama"] == "red"
    assert _kinds("a miko in a blue hakama")["hakama"] == "blue"  # a named colour wins over the role's own
    assert _kinds("gothic lolita")["lolita-dress"] == "black"
    assert _kinds("a pink lolita dress")["lolita-dress"] == "pink"
    assert _kinds("a girl in a school swimsuit")["school-swimsuit"] == "navy"
    maid = parse_prompt("a maid", 0)
    assert [a.kind for a in maid.accessories] == ["maid-headdress"]
    assert maid.accessories[0].colour.name == "white"
    assert parse_prompt("a maid with a witch hat", 0).accessories[0].kind == "witch-hat"  # one hat
    assert "maid-headdress" not in [a.kind for a in parse_prompt("a maid, no hat", 0).accessories]


def test_kimono_with_hakama_is_tucked_in_and_swimsuit_is_barefoot():
    for prompt in ("a girl in a kimono and hakama", "a girl in a red kimono with a hakama", "a hakama and a kimono"):
        kinds = _kinds(prompt)
        assert "kimono" not in kinds and {"kimono-top", "hakama"} <= set(kinds), prompt
    assert _kinds("a girl in a red kimono with a hakama")["kimono-top"] == "red"
    kinds = _kinds("a girl in a school swimsuit")
    assert set(kinds) == {"school-swimsuit"}  # no shoes drawn for a swimsuit


def test_count_tags_set_the_body_type():
    for seed in (0, 1, 2, 3):
        assert parse_prompt("1girl, solo", seed).body.preset in ("teen-girl", "adult-woman")
        assert parse_prompt("1boy, solo", seed).body.preset in ("teen-boy", "adult-man")
    assert parse_prompt("1girl, solo, long hair", 0).unparsed == ("solo",)  # a picture word, kept for the image


def test_older_prompts_draw_as_before():
    """New kinds append their draw slots at the end: the first slots keep their places."""
    assert DRAW_SLOTS[:13] == ("preset", "hair.colour", "hair.length", "hair.style", "hair.bangs", "eye_colour",
                               "skin_tone", "expression", "top", "bottom", "feet", "number", "obi")
    first = DRAW_SLOTS.index("hair.tips")
    assert DRAW_SLOTS[first - 2:first + 1] == ("hair.texture", "hair.tone", "hair.tips")
    assert all(not s.startswith(("maid", "lolita", "idol", "school", "kimono-top", "hakama")) for s in DRAW_SLOTS[:first])
    assert DRAW_SLOTS[13] == "kimono.colour" and DRAW_SLOTS[13 + 15] == "kimono.trim"


def test_costumes_map_to_danbooru_tags():
    from kyara.tags import prompt_tags

    cases = {"a maid": ("maid", "maid apron", "maid headdress"), "a miko": ("miko", "hakama", "japanese clothes"),
             "a samurai": ("samurai", "hakama"), "gothic lolita": ("gothic lolita", "lolita fashion"),
             "an idol": ("idol", "idol clothes"), "a girl in a school swimsuit": ("school swimsuit",),
             "1girl, maid": ("1girl", "maid"), "a girl in black thighhighs": ("thighhighs", "black thighhighs")}
    for prompt, want in cases.items():
        tags = prompt_tags(prompt).tags
        for t in want:
            assert t in tags, (prompt, t, tags)
    described = {p: spec_prompt(parse_prompt(p, 0)) for p in ("a maid", "a miko", "gothic lolita", "a samurai")}
    assert "maid" in described["a maid"] and "maid headdress" in described["a maid"]
    assert "miko" in described["a miko"] and "red hakama" in described["a miko"]
    assert "gothic lolita" in described["gothic lolita"]
    assert "hakama" in described["a samurai"]


# ---------------------------------------------------------------------------------------------
# understand()


def _at(prompt: str, span) -> str:
    return prompt[span[0]:span[1]]


def test_understand_without_ignored_words():
    p = "an anime girl with long pink hair in a maid outfit"
    u = understand(p)
    assert u.ignored == ()
    assert not u.mostly_not_understood and u.understood_share == 1.0
    by_cat = {a.category: a for a in u.attributes}
    assert set(by_cat) == {"character", "hair", "outfit"}
    assert [_at(p, s) for s in by_cat["hair"].spans] == ["long", "pink", "hair"]
    assert by_cat["hair"].label == "long pink hair"
    assert [_at(p, s) for s in by_cat["outfit"].spans] == ["maid outfit"]
    assert "maid dress" in by_cat["outfit"].label
    assert [a.category for a in u.attributes] == ["character", "hair", "outfit"]  # prompt order


def test_understand_with_ignored_words_and_picture_words():
    p = "1girl, solo, maid holding an umbrella on a sunny day, masterpiece"
    u = understand(p)
    assert [w for w, _s in u.ignored] == ["holding", "umbrella", "sunny", "day"]
    for w, s in u.ignored:
        assert _at(p, s) == w
    cats = [(a.category, _at(p, a.spans[0])) for a in u.attributes]
    assert ("character", "1girl") in cats and ("character", "maid") in cats
    assert ("picture", "solo") in cats and ("picture", "masterpiece") in cats
    assert u.content_words == 8 and u.understood_words == 4
    assert not u.mostly_not_understood  # half understood is not "mostly not"


def test_understand_joins_a_negation_to_its_piece():
    p = "a girl with glasses, no hat"
    u = understand(p)
    assert [(a.label, a.category) for a in u.attributes][-2:] == [("glasses", "accessory"), ("no hat", "accessory")]
    assert [_at(p, s) for s in u.attributes[-1].spans] == ["no", "hat"]


def test_understand_flags_nonsense():
    u = understand("blorp zizzle frumple wibble")
    assert u.attributes == () and len(u.ignored) == 4
    assert u.mostly_not_understood and u.understood_share == 0.0
    u = understand("a girl eating spaghetti under the enormous purple moonlight tonight")
    assert u.mostly_not_understood  # "girl" (and "purple", given to nothing) is too little
    with pytest.raises(ValueError, match="prompt is empty"):
        understand("   ")


def test_understand_matches_the_parser():
    """Ignored words are exactly the parser's unparsed words (picture words aside)."""
    for p in ("a tall pirate in a blue and gold coat with a parrot", "a girl with green eyes and a sword, no hat",
              "sporty boy jogging in the park, number 7 jersey"):
        u = understand(p)
        assert [w for w, _s in u.ignored] == list(parse_prompt(p, 0).unparsed), p


# ---------------------------------------------------------------------------------------------
# garments


@functools.lru_cache(maxsize=None)
def _character(prompt: str):
    from kyara.character.build import build_character

    return build_character(parse_prompt(prompt, 0))


COSTUMES = {"a maid": ("maid-dress", "maid-dress-apron", "maid_headdress"),
            "gothic lolita": ("lolita-dress", "lolita-dress-petticoat", "lolita-dress-skirt"),
            "a miko": ("kimono-top", "kimono-top-collar", "hakama", "hakama-himo"),
            "an idol": ("idol-dress", "idol-dress-skirt", "idol-dress-frill"),
            "a girl in a school swimsuit": ("school-swimsuit", "school-swimsuit-patch"),
            "a girl in shorts, sneakers and black thighhighs": ("thighhighs", "thighhighs-band", "shorts", "sneakers")}


def _check_costume(prompt: str, poses) -> None:
    from kyara.body.mesh_ops import is_closed_manifold, signed_volume
    from kyara.body.surface import body_primitives, evaluate_field

    from test_character import _garment_depths

    c = _character(prompt)
    names = {p.name for p in c.parts}
    assert set(COSTUMES[prompt]) <= names, (prompt, names)
    for p in c.parts:
        if p.kind not in ("garment", "accessory"):
            continue
        assert is_closed_manifold(p.faces.astype(np.int64)), p.name
        assert signed_volume(p.vertices, p.faces) > 0, p.name
        assert len(p.faces) <= 20000, (p.name, len(p.faces))
        assert np.allclose(p.joint_weights.sum(axis=1), 1.0, atol=1e-5), p.name
        if p.kind == "garment":
            assert evaluate_field(body_primitives(c.body.layout), p.vertices.astype(np.float64)).min() > 0.002, p.name
    for name, depth in _garment_depths(c, 2000, poses):
        assert np.percentile(depth, 99) < 0.005, (prompt, name, float(np.percentile(depth, 99)))
        assert depth.max() < 0.02, (prompt, name, float(depth.max()))


def test_maid_builds_closed_and_stays_out_of_the_body():
    _check_costume("a maid", ("jog", "sit", "kick", "wave"))


@pytest.mark.slow
@pytest.mark.parametrize("prompt", [p for p in COSTUMES if p != "a maid"])
def test_every_costume_builds_closed_and_stays_out_of_the_body(prompt):
    _check_costume(prompt, ("t-pose", "jog", "sit", "kick", "wave"))


def _glb_json(data: bytes) -> dict:
    n, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON"
    return json.loads(data[20:20 + n])


def test_maid_reaches_the_vrm_with_its_colours():
    from kyara.export.vrm import vrm_bytes

    c = _character("a maid")
    data, _warnings = vrm_bytes(c)
    mats = {m["name"]: m for m in _glb_json(data)["materials"]}
    for name in ("maid-dress", "maid-dress-apron", "maid_headdress"):
        assert name in mats, sorted(mats)
    dress = mats["maid-dress"]["pbrMetallicRoughness"]["baseColorFactor"][:3]
    apron = mats["maid-dress-apron"]["pbrMetallicRoughness"]["baseColorFactor"][:3]
    assert max(dress) < 0.1 and min(apron) > 0.8  # a black dress, a white apron (linear factors)
