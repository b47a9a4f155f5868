"""Prompt fidelity: the attribute a prompt names shows on its render (kyara.character.fidelity, the
definitions benchmarks/fidelity.py uses), and every colour word that is also a CSS / X11 name is that
colour (CIEDE2000 < 12, against CSS Color 4's values)."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.character import fidelity
from kyara.character.colors import COLOURS, colour_hex, delta_e2000, hex_to_rgb, srgb_to_lab


def _de(hex_a: str, hex_b: str) -> float:
    return float(delta_e2000(srgb_to_lab(np.array(hex_to_rgb(hex_a))), srgb_to_lab(np.array(hex_to_rgb(hex_b)))))


def test_every_css_colour_word_is_within_12_of_its_css_value():
    # CSS Color 4 values written out here by hand, independently of fidelity.CSS_COLOURS
    css = {"black": "#000000", "white": "#ffffff", "red": "#ff0000", "pink": "#ffc0cb", "hot pink": "#ff69b4",
           "blue": "#0000ff", "brown": "#a52a2a", "navy": "#000080", "lavender": "#e6e6fa", "violet": "#ee82ee",
           "cyan": "#00ffff", "magenta": "#ff00ff", "khaki": "#f0e68c", "skyblue": "#87ceeb", "salmon": "#fa8072",
           "coral": "#ff7f50", "plum": "#dda0dd", "teal": "#008080", "crimson": "#dc143c", "gold": "#ffd700",
           "silver": "#c0c0c0"}
    for name, ref in css.items():
        assert fidelity.CSS_COLOURS.get(name.replace("skyblue", "sky blue")) == ref, name
    bad = {}
    for name, ref in fidelity.CSS_COLOURS.items():
        assert name in COLOURS, name  # every checked CSS word is a colour word of the table
        d = _de(colour_hex(name), ref)
        if not d < fidelity.COLOUR_TOLERANCE:
            bad[name] = round(d, 1)
    assert not bad, bad
    # the names the table shares with CSS are all checked (the table's own names, e.g. "chestnut", are not CSS)
    shared = {"black", "white", "grey", "silver", "red", "crimson", "maroon", "pink", "magenta", "orange", "yellow",
              "gold", "brown", "beige", "tan", "khaki", "green", "olive", "lime", "teal", "turquoise", "aqua", "cyan",
              "blue", "navy", "indigo", "purple", "violet", "lavender", "salmon", "coral", "plum"}
    assert shared <= set(fidelity.CSS_COLOURS)
    assert colour_hex("hotpink") == colour_hex("hot pink") != colour_hex("magenta")


def test_lit_tone_is_the_mode_of_the_lighter_half_without_ink():
    from kyara.render.toon import ToonStyle

    ink = np.round(np.array(ToonStyle().outline_color) * 255).astype(np.uint8)
    lit, shade = np.array([200, 100, 50], np.uint8), np.array([120, 60, 40], np.uint8)
    px = np.array([ink] * 50 + [shade] * 30 + [lit] * 20 + [[210, 110, 60]] * 5, np.uint8)
    assert np.array_equal(fidelity.lit_tone(px), lit)
    assert fidelity.lit_tone(np.array([ink] * 40, np.uint8)) is None


def test_the_list_covers_every_hair_style_and_sixty_prompts():
    from kyara.character.spec import ACCESSORY_KINDS, HAIR_STYLES

    assert len(fidelity.PROMPTS) >= 60
    styles = {a for e in fidelity.PROMPTS for n, a in e.checks if n == "hair_style"}
    named = {"long", "short"}  # plain lengths: covered by the colour prompts (long) and the ahoge prompt (short)
    assert set(HAIR_STYLES) - named <= styles
    assert set(ACCESSORY_KINDS) <= {a for e in fidelity.PROMPTS for n, a in e.checks if n == "accessory"}


_SHOTS: dict = {}


def _shots(prompt: str, views=("front", "bust-front")):
    from kyara.character.build import BuildOptions, build_character
    from kyara.character.parser import parse_prompt

    if prompt not in _SHOTS:
        c = build_character(parse_prompt(prompt, fidelity.SEED), BuildOptions(quality="dataset"))
        _SHOTS[prompt] = fidelity.render_shots(c, 256, views)
    return _SHOTS[prompt]


FAST = ["a girl with teal hair", "a girl in a khaki trousers", "a girl with a high ponytail", "a girl with drill hair",
        "a girl with cat ears", "a chibi girl", "a girl in a kimono", "a girl with twin tails",
        "a girl with long wavy hair down"]


@pytest.mark.parametrize("prompt", FAST)
def test_fast_subset_shows_its_attribute(prompt):
    entry = next(e for e in fidelity.PROMPTS if e.prompt == prompt)
    shots = _shots(prompt, fidelity.views_for(entry))
    for name, arg in entry.checks:
        ok, why = fidelity.check(shots, name, arg)
        assert ok, (prompt, name, why)


def test_checks_fail_on_the_wrong_render():
    """Controls: each predicate rejects a render that does not have its attribute."""
    hi = _shots("a girl with a high ponytail", ("front", "bust-front", "bust-side"))
    assert not fidelity.hair_style_check(hi, "low-ponytail")[0]
    twin = _shots("a girl with twin tails")
    assert not fidelity.hair_style_check(twin, "drills")[0]
    assert not fidelity.hair_style_check(twin, "side-ponytail")[0]
    teal = _shots("a girl with teal hair")
    assert not fidelity._colour_check(teal.views["bust-front"], fidelity.HAIR_PARTS, "pink")[0]
    chibi = _shots("a chibi girl")
    assert not fidelity.check(chibi, "heads_tall", (5.5, 7.3))[0]
    straight = _shots("a girl with long straight hair down")
    assert straight.spec.hair.texture == "straight"
    assert fidelity.silhouette_waves(straight.views["bust-front"]) == (0, 0)
    assert not fidelity.hair_style_check(straight, "wavy")[0] and not fidelity.hair_style_check(straight, "curly")[0]


@pytest.mark.slow
def test_every_prompt_shows_its_attribute_but_the_known_failures():
    failed = {}
    for e in fidelity.PROMPTS:
        res = fidelity.check_prompt(e)
        if not all(ok for _, ok, _ in res):
            failed[e.prompt] = [w for _, ok, w in res if not ok]
    assert set(failed) == set(fidelity.KNOWN_FAILURES), failed


@pytest.mark.parametrize("prompt,tags", [
    ("a girl with a hime cut", ["hime cut"]), ("a girl with a low ponytail", ["low ponytail"]),
    ("a girl with a side ponytail", ["side ponytail"]), ("a girl with hair buns", ["hair bun"]),
    ("a girl with drill hair", ["drill hair"]), ("a girl with short hair and an ahoge", ["ahoge"]),
    ("a girl with long wavy hair down", ["wavy hair"]), ("a girl with long curly hair down", ["curly hair"]),
    ("a girl with a two tone pink bob with blue tips", ["two-tone hair", "colored tips", "blue hair tips", "bob cut"]),
])
def test_diffusion_prompt_names_the_hair_style(prompt, tags):
    from kyara.character.describe import spec_prompt
    from kyara.character.parser import parse_prompt

    got = [t.strip() for t in spec_prompt(parse_prompt(prompt, 0)).split(",")]
    for t in tags:
        assert t in got, (t, got)
    plain = [t.strip() for t in spec_prompt(parse_prompt("a girl with long straight pink hair down", 0)).split(",")]
    assert not {"wavy hair", "curly hair", "ahoge", "two-tone hair", "hime cut"} & set(plain), plain
