"""Prompt -> CharacterSpec: the gallery prompts, determinism, strict spec files, `kyara spec`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kyara.body.params import PRESETS
from kyara.character import colors
from kyara.character.parser import (
    ACCESSORY_COLOURS, EYE_PALETTE, HAIR_PALETTE, KIND_COLOURS, KIND_TRIMS, OBI_PALETTE, SKIN_PALETTE,
    parse_prompt,
)
from kyara.character.spec import HEADS_TALL_RANGE, PIECE_SLOT, CharacterSpec, Colour, from_json, load_spec

from acceptance_prompts import GALLERY as _GALLERY  # noqa: E402

GALLERY = {**_GALLERY, "demo": "an anime girl in a kimono, long black hair"}
SEEDS = (0, 1, 7, 123)


def hexof(name: str) -> str:
    return colors.colour_hex(name)


def kinds(spec: CharacterSpec) -> list[str]:
    return [p.kind for p in spec.outfit]


def acc_kinds(spec: CharacterSpec) -> list[str]:
    return [a.kind for a in spec.accessories]


# ---------------------------------------------------------------------------------------------
# The acceptance set


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_pirate(seed):
    s = parse_prompt(GALLERY["pirate"], seed)
    coat = s.piece("pirate-coat")
    assert coat is not None and coat.colour == Colour("blue", hexof("blue"))
    assert coat.trim == Colour("gold", hexof("gold"))
    assert acc_kinds(s) == ["tricorn-hat"]
    assert s.piece("long-coat") is None and s.unparsed == ()


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_boy_with_glasses(seed):
    s = parse_prompt(GALLERY["glasses"], seed)
    assert s.body.preset == "teen-boy"
    assert acc_kinds(s) == ["glasses"]
    assert s.unparsed == ()


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_kimono(seed):
    s = parse_prompt(GALLERY["kimono"], seed)
    assert s.body.preset == "teen-girl"
    k = s.piece("kimono")
    assert k is not None and isinstance(k.obi, Colour) and k.obi != k.colour
    assert not {PIECE_SLOT[x] for x in kinds(s)} & {"top", "bottom"}  # a kimono is full-body
    assert s.unparsed == ()


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_hoodie(seed):
    s = parse_prompt(GALLERY["hoodie"], seed)
    assert s.body.preset == "teen-boy" and s.piece("hoodie") is not None
    assert any(PIECE_SLOT[k] == "bottom" for k in kinds(s))


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_sports_jersey(seed):
    s = parse_prompt(GALLERY["jersey"], seed)
    j = s.piece("sports-jersey")
    assert j is not None and isinstance(j.number, int) and 0 <= j.number <= 99
    assert j.trim is not None and j.trim != j.colour  # the number must show on the shirt
    assert s.piece("shorts") is not None and s.piece("sneakers") is not None


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_witch(seed):
    s = parse_prompt(GALLERY["witch"], seed)
    assert s.piece("witch-robe") is not None
    assert acc_kinds(s) == ["witch-hat"]  # "witch" and "pointy hat" give one hat, not two
    assert s.body.preset in ("teen-girl", "adult-woman")
    assert s.unparsed == ()


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_jogging_girl(seed):
    s = parse_prompt(GALLERY["jogger"], seed)
    assert s.body.preset == "teen-girl"
    assert (s.hair.colour.name, s.hair.length, s.hair.style) == ("brown", "long", "ponytail")
    assert s.piece("sports-jersey").colour == Colour("light blue", hexof("light blue"))
    assert s.piece("shorts").colour.name == "light blue"
    assert s.piece("sneakers").colour == Colour("white", hexof("white"))
    assert s.pose_hint == "jog"
    assert s.unparsed == ()


@pytest.mark.parametrize("seed", SEEDS)
def test_gallery_demo_prompt(seed):
    s = parse_prompt(GALLERY["demo"], seed)
    assert s.piece("kimono") is not None
    assert (s.hair.colour.name, s.hair.length) == ("black", "long")


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("name", sorted(GALLERY))
def test_outfit_is_complete(name, seed):
    s = parse_prompt(GALLERY[name], seed)
    slots = [PIECE_SLOT[k] for k in kinds(s)]
    assert len(slots) == len(set(slots))
    assert "feet" in slots
    assert "full" in slots or {"top", "bottom"} <= set(slots)
    if "sports-jersey" in kinds(s):
        assert "shorts" in kinds(s)


# ---------------------------------------------------------------------------------------------
# Determinism and seeds


def test_same_prompt_and_seed_are_byte_identical_across_processes():
    code = ("import sys; from kyara.character.parser import parse_prompt; "
            "sys.stdout.write(''.join(parse_prompt(p, 5).to_json() for p in sys.argv[1:]))")
    outs = []
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        r = subprocess.run([sys.executable, "-c", code, *GALLERY.values(), "a pirate with no hat, barefoot"],
                           capture_output=True, check=True, env=env)
        outs.append(r.stdout)
    here = "".join(parse_prompt(p, 5).to_json() for p in [*GALLERY.values(), "a pirate with no hat, barefoot"])
    assert outs[0] == outs[1] == here.encode("utf-8")


def test_different_seeds_change_unfixed_attributes_only():
    specs = [parse_prompt(GALLERY["kimono"], seed) for seed in range(12)]
    assert {s.body.preset for s in specs} == {"teen-girl"}
    assert all(s.piece("kimono") for s in specs)
    assert len({s.hair.colour for s in specs}) >= 4
    assert len({s.eye_colour for s in specs}) >= 4
    assert len({s.piece("kimono").colour for s in specs}) >= 4
    assert len({s.to_json() for s in specs}) == 12


def test_fixing_one_attribute_does_not_reshuffle_the_others():
    for seed in range(6):
        a = parse_prompt("an anime girl in a kimono", seed)
        b = parse_prompt("an anime girl in a kimono, long black hair", seed)
        assert a.eye_colour == b.eye_colour and a.skin_tone == b.skin_tone
        assert a.piece("kimono") == b.piece("kimono")
        assert b.hair.colour.name == "black"


# ---------------------------------------------------------------------------------------------
# Parser rules


def test_unknown_words_are_listed_in_order():
    s = parse_prompt("an anime girl riding a purple dragon in a kimono, holding katana", 0)
    assert s.unparsed == ("riding", "purple", "dragon", "holding", "katana")
    assert s.piece("kimono") is not None and s.body.preset == "teen-girl"


def test_contradictions_resolve_to_the_later_word_and_are_noted():
    s = parse_prompt("a girl with short long hair", 0)
    assert s.hair.length == "long"
    assert any("short" in n and "long" in n for n in s.notes)
    s = parse_prompt("a boy, no, a girl", 0)
    assert s.body.preset == "teen-girl" and any("boy" in n and "girl" in n for n in s.notes)
    s = parse_prompt("a red hoodie, a blue hoodie", 0)
    assert s.piece("hoodie").colour.name == "blue" and any("red" in n for n in s.notes)
    s = parse_prompt("a girl in a kimono and a dress", 0)
    assert s.piece("dress") and not s.piece("kimono") and any("kimono" in n for n in s.notes)
    assert parse_prompt("a girl with long hair", 0).notes == ()


def test_colour_binding():
    s = parse_prompt("a man in a blue and gold coat", 0)
    assert (s.piece("long-coat").colour.name, s.piece("long-coat").trim.name) == ("blue", "gold")
    s = parse_prompt("a girl in a kimono in crimson with a silver obi", 0)
    assert s.piece("kimono").colour.name == "crimson" and s.piece("kimono").obi.name == "silver"
    s = parse_prompt("a boy with teal eyes, platinum blonde spiky hair and navy trousers", 0)
    assert s.eye_colour.name == "teal" and s.hair.colour.name == "platinum blonde"
    assert s.hair.style == "spiky" and s.piece("trousers").colour.name == "navy"
    s = parse_prompt("a blonde girl in pastel pink", 0)  # hair word on a person; outfit colour
    assert s.hair.colour.name == "blonde"
    main = next(p for p in s.outfit if PIECE_SLOT[p.kind] in ("full", "top"))
    assert main.colour.name == "pastel pink"


@pytest.mark.parametrize("phrase, check", [
    ("a girl with a pony tail", lambda s: s.hair.style == "ponytail"),
    ("a girl with twintails", lambda s: s.hair.style == "twin-tails"),
    ("a girl with twin tails", lambda s: s.hair.style == "twin-tails"),
    ("a girl with pigtails", lambda s: s.hair.style == "twin-tails"),
    ("a girl with braids", lambda s: s.hair.style == "braided"),
    ("a boy with specs", lambda s: acc_kinds(s) == ["glasses"]),
    ("a boy with spectacles", lambda s: acc_kinds(s) == ["glasses"]),
    ("a girl in a sailor uniform", lambda s: s.piece("sailor-uniform") is not None),
    ("a girl in a seifuku", lambda s: s.piece("sailor-uniform") is not None),
    ("a girl in a witch hat", lambda s: acc_kinds(s) == ["witch-hat"]),
    ("a girl in a pointy hat", lambda s: acc_kinds(s) == ["witch-hat"]),
    ("a boy in a hooded sweatshirt", lambda s: s.piece("hoodie") is not None),
    ("a boy in a jacket", lambda s: s.piece("hoodie") is not None),
    ("a boy in a tee", lambda s: s.piece("t-shirt") is not None),
    ("a girl in a t-shirt and jeans", lambda s: s.piece("t-shirt") and s.piece("trousers")),
    ("a girl jogging", lambda s: s.pose_hint == "jog" and s.piece("sports-jersey") is not None),
    ("a sporty boy", lambda s: s.piece("sports-jersey") and s.piece("sneakers")),
    ("a girl with cat ears and a red bow", lambda s: acc_kinds(s) == ["ribbon", "cat-ears"]
     and s.accessory("ribbon").colour.name == "red"),
    ("a pirate", lambda s: s.piece("pirate-coat") and acc_kinds(s) == ["tricorn-hat"]),
    ("a witch", lambda s: s.piece("witch-robe") and acc_kinds(s) == ["witch-hat"]),
    ("a pirate with no hat", lambda s: acc_kinds(s) == [] and s.piece("pirate-coat")),
    ("a girl in a kimono, barefoot", lambda s: kinds(s) == ["kimono"]),
    ("a boy with the number 23 on his jersey", lambda s: s.piece("sports-jersey").number == 23),
    ("a smiling girl", lambda s: s.expression == "smile"),
    ("an angry boy", lambda s: s.expression == "angry"),
])
def test_synonyms(phrase, check):
    s = parse_prompt(phrase, 0)
    assert check(s), s.to_json()
    assert s.unparsed == ()


@pytest.mark.parametrize("phrase, preset", [
    ("a boy", "teen-boy"), ("a girl", "teen-girl"), ("a man", "adult-man"), ("a woman", "adult-woman"),
    ("a child", "child"), ("a kid", "child"), ("a chibi girl", "chibi"), ("a young woman", "teen-girl"),
    ("a little girl", "child"), ("a muscular man", "heroic"),
])
def test_body_words(phrase, preset):
    assert parse_prompt(phrase, 0).body.preset == preset


def test_tall_and_short_as_body_words_versus_short_hair():
    base = PRESETS["teen-girl"]
    tall = parse_prompt("a tall girl", 0).body
    short = parse_prompt("a short girl", 0).body
    assert tall.heads_tall == HEADS_TALL_RANGE["teen-girl"][1] and tall.height > base.height
    assert short.heads_tall == HEADS_TALL_RANGE["teen-girl"][0] and short.height < base.height
    assert tall.params().height == tall.height  # the overrides reach BodyParams
    s = parse_prompt("a girl with short hair", 0)
    assert s.hair.length == "short" and s.body.heads_tall is None and s.body.height is None


def test_bad_prompts_raise_one_line():
    for bad in ("", "   \n\t ", "a" * 2001):
        with pytest.raises(ValueError) as e:
            parse_prompt(bad, 0)
        assert "\n" not in str(e.value) and "prompt" in str(e.value)
    for seed in (-1, True, 1.5):
        with pytest.raises(ValueError, match="seed"):
            parse_prompt("a girl", seed)
    s = parse_prompt(("girl " * 400)[:2000], 0)  # 2000 characters is allowed
    assert s.body.preset == "teen-girl" and s.notes == ()


def test_palettes_are_valid_colours():
    palettes = [HAIR_PALETTE, EYE_PALETTE, OBI_PALETTE, *KIND_COLOURS.values(), *KIND_TRIMS.values(),
                *ACCESSORY_COLOURS.values()]
    for pal in palettes:
        for name in pal:
            assert colors.is_hex(colors.colour_hex(name)), name
    assert set(KIND_COLOURS) == set(PIECE_SLOT)
    assert all(colors.skin_tone_hex(n) for n in SKIN_PALETTE)


def test_colour_words():
    for name in ("silver", "pastel pink", "navy", "gold", "platinum blonde", "crimson", "teal", "light blue"):
        assert colors.is_hex(colors.colour_hex(name)), name
    assert colors.colour_hex("gray") == colors.colour_hex("grey")
    assert colors.colour_hex("Light-Blue") == colors.colour_hex("light blue")
    assert colors.colour_hex("dragon") is None and colors.colour_hex("light") is None
    # modifier mixes: the same result as a plain float reference, per channel
    base = colors.hex_to_rgb(colors.COLOURS["pink"])
    target, t = colors.MODIFIERS["pastel"]
    tgt = colors.hex_to_rgb(target)
    want = "#" + "".join(f"{int(round(b * 255) * (1 - t) + round(g * 255) * t + 0.5):02x}" for b, g in zip(base, tgt))
    assert colors.colour_hex("pastel pink") == want
    assert sum(colors.hex_to_rgb(colors.colour_hex("pastel pink"))) > sum(base)
    assert sum(colors.hex_to_rgb(colors.colour_hex("dark blue"))) < sum(colors.hex_to_rgb(colors.colour_hex("blue")))


def test_random_word_salad_always_gives_a_valid_spec():
    """Any mix of known phrases, unknown words, numbers and punctuation parses to a spec that
    validates and round-trips; every unknown word is reported."""
    import random

    from kyara.character.lexicon import LEXICON

    words = sorted(LEXICON) + sorted(colors.COLOURS) + ["zorblax", "7", "#12", "123", ",", "and", "no", "number"]
    rng = random.Random(0)
    for _ in range(400):
        prompt = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        s = parse_prompt(prompt, rng.randint(0, 999))
        assert from_json(s.to_json()) == s
        assert s.unparsed.count("zorblax") == prompt.split().count("zorblax"), prompt


# ---------------------------------------------------------------------------------------------
# Spec files


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_json_round_trip(name, tmp_path):
    s = parse_prompt(GALLERY[name], 3)
    text = s.to_json()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert list(json.loads(text))[:3] == ["version", "prompt", "seed"]
    back = from_json(text)
    assert back == s and back.to_json() == text
    path = tmp_path / "character.json"
    path.write_text(text, encoding="utf-8")
    assert load_spec(path) == s


def test_hand_edited_spec_may_write_colours_as_words_or_hex():
    d = json.loads(parse_prompt(GALLERY["kimono"], 0).to_json())
    d["outfit"][0]["colour"] = "navy"
    d["outfit"][0]["obi"] = "#FFAA00"
    d["hair"]["colour"] = "silver"
    s = CharacterSpec.from_dict(d)
    assert s.piece("kimono").colour == Colour("navy", hexof("navy"))
    assert s.piece("kimono").obi.hex == "#ffaa00"
    assert s.hair.colour.hex == hexof("silver")


def _broken(mutate):
    d = json.loads(parse_prompt(GALLERY["jersey"], 0).to_json())  # outfit: jersey, shorts, sneakers
    mutate(d)
    return json.dumps(d)


@pytest.mark.parametrize("mutate, expect", [
    (lambda d: d.update(sparkle=True), "sparkle: unknown field"),
    (lambda d: d["outfit"][1].update(sparkle=1), "outfit[1].sparkle: unknown field"),
    (lambda d: d["outfit"][1].update(colour=5), "outfit[1].colour: expected"),
    (lambda d: d["outfit"][0]["colour"].update(hex="#zzzzzz"), "outfit[0].colour.hex: expected #rrggbb"),
    (lambda d: d["outfit"][0].update(colour="dragon"), "outfit[0].colour: expected a colour word"),
    (lambda d: d["outfit"][0].update(number="7"), "outfit[0].number: expected an integer"),
    (lambda d: d["outfit"][1].update(number=3), "outfit[1].number: expected null"),
    (lambda d: d["outfit"][1].update(kind="cape"), "outfit[1].kind: expected one of"),
    (lambda d: d["outfit"].append(dict(d["outfit"][0], kind="hoodie", number=None)), "outfit[3].kind"),
    (lambda d: d["body"].update(preset="giant"), "body.preset: expected one of"),
    (lambda d: d["body"].update(heads_tall=9.0), "body.heads_tall: expected a number"),
    (lambda d: d["hair"].update(style="afro"), "hair.style: expected one of"),
    (lambda d: d["hair"].pop("bangs"), "hair.bangs: missing field"),
    (lambda d: d.update(seed="0"), "seed: expected an integer"),
    (lambda d: d.update(outfit={}), "outfit: expected a list"),
    (lambda d: d.update(unparsed=[1]), "unparsed[0]: expected a string"),
    (lambda d: d.update(expression="smug"), "expression: expected one of"),
    (lambda d: d.update(version=2), "version: expected an integer 1..1"),
    (lambda d: d["accessories"].append({"kind": "crown", "colour": "gold"}), "accessories[0].kind: expected one of"),
])
def test_malformed_spec_one_line_error_naming_the_field(mutate, expect, tmp_path):
    text = _broken(mutate)
    with pytest.raises(ValueError) as e:
        from_json(text)
    msg = str(e.value)
    assert msg.startswith(expect) and "\n" not in msg, msg
    path = tmp_path / "character.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as e:
        load_spec(path)
    assert str(e.value).startswith(f"{path}: {expect}") and "\n" not in str(e.value)


def test_malformed_json_text():
    for text, expect in (("{", "not valid JSON"), ("[]", "expected a JSON object"),
                         ('{"seed": 1, "seed": 2}', "twice"), ('{"seed": NaN}', "NaN")):
        with pytest.raises(ValueError, match=expect) as e:
            from_json(text)
        assert "\n" not in str(e.value)
    kimono = json.loads(parse_prompt(GALLERY["kimono"], 0).to_json())
    kimono["outfit"][0]["obi"] = None
    with pytest.raises(ValueError, match=r"outfit\[0\]\.obi"):
        from_json(json.dumps(kimono))


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_prints_exactly_the_spec(capsys):
    from kyara.cli.main import run

    assert run(["spec", GALLERY["pirate"], "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert out == parse_prompt(GALLERY["pirate"], 4).to_json()


def test_cli_writes_file(tmp_path, capsys):
    from kyara.cli.main import run

    path = tmp_path / "character.json"
    assert run(["spec", GALLERY["jogger"], "-o", str(path)]) == 0
    assert capsys.readouterr().out == ""
    assert path.read_text(encoding="utf-8") == parse_prompt(GALLERY["jogger"], 0).to_json()
    assert [p.name for p in tmp_path.iterdir()] == ["character.json"]  # no temp file left


@pytest.mark.parametrize("args, cause", [
    (["spec", ""], "prompt is empty"),
    (["spec", "   "], "prompt is empty"),
    (["spec", "a girl", "--seed", "-1"], "seed -1"),
    (["spec", "a" * 2001], "at most 2000"),
    (["spec", "a girl", "-o", "/no/such/dir/c.json"], "does not exist"),
])
def test_cli_bad_input_exit_2_one_line(args, cause, capsys):
    from kyara.cli.main import run

    assert run(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and cause in lines[0], lines
