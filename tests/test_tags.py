"""Prompt -> Danbooru tags (kyara.tags, ``kyara tags``, ``kyara image --tags``).

The expectations below are what a Danbooru-trained checkpoint needs to see for each prompt; the
tags come from kyara's character parser (a word added to the parser's lexicon shows up as a tag,
and no prompt of this file appears in the tag writer's code or presets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from acceptance_prompts import GALLERY
from kyara.cli.main import run
from kyara.tags import family_for_model, image_prompt, kept_phrases, load_presets, looks_like_tags, prompt_tags

ROOT = Path(__file__).resolve().parents[1]
# PoseAnimeFlow's example prompt, as its README writes it
POSEANIMEFLOW = ("A young anime girl with long brown hair tied in a high ponytail, jogging on a sunny park pathway, "
                 "wearing a fully covered light blue sports outfit with white sneakers, in the style of Kyoto "
                 "Animation, highly detailed, vibrant colors, sharp outlines, soft sunlight filtering through trees, "
                 "lush green park background with a clear sky, dynamic and energetic atmosphere")

EXPECTED: dict[str, set[str]] = {
    GALLERY["pirate"]: {"solo", "pirate", "blue coat", "gold trim", "tricorne"},
    GALLERY["glasses"]: {"1boy", "solo", "glasses"},
    GALLERY["kimono"]: {"1girl", "solo", "kimono"},
    GALLERY["hoodie"]: {"1boy", "solo", "hoodie"},
    GALLERY["jersey"]: {"1girl", "solo", "sportswear"},
    GALLERY["witch"]: {"1girl", "solo", "witch", "witch hat", "robe"},
    GALLERY["jogger"]: {"1girl", "solo", "long hair", "brown hair", "high ponytail", "sportswear", "light blue shirt",
                        "sneakers", "white footwear", "jogging"},
    POSEANIMEFLOW: {"1girl", "solo", "long hair", "brown hair", "high ponytail", "sportswear", "sneakers",
                    "white footwear", "jogging", "park", "outdoors", "sky", "kyoto animation", "clear sky"},
    # twenty more
    "a tall woman with short silver hair and red eyes in a black trench coat":
        {"1girl", "tall", "short hair", "silver hair", "red eyes", "long coat", "black coat"},
    "cheerful boy with spiky orange hair and green eyes, waving":
        {"1boy", "spiked hair", "orange hair", "green eyes", "smile", "waving"},
    "catgirl with pink twin tails and a red ribbon":
        {"1girl", "cat girl", "cat ears", "twintails", "pink hair", "hair ribbon", "red ribbon"},
    "a girl with blonde drill hair in a pink dress, smiling": {"1girl", "drill hair", "blonde hair", "pink dress", "smile"},
    "schoolgirl with a black bob cut and glasses, sitting":
        {"1girl", "serafuku", "bob cut", "black hair", "glasses", "sitting"},
    "a sad boy with black hair in a grey hoodie and jeans": {"1boy", "sad", "black hair", "grey hoodie", "pants"},
    "chibi witch with purple hair": {"chibi", "witch", "witch hat", "purple hair"},
    "a girl with long wavy blue hair and yellow eyes wearing a white sundress and sandals":
        {"1girl", "long hair", "wavy hair", "blue hair", "yellow eyes", "white dress", "sandals"},
    "a muscular man with a scarf, arms crossed": {"1boy", "muscular", "scarf", "crossed arms"},
    "an angry girl with a side ponytail, kicking": {"1girl", "angry", "side ponytail", "kicking"},
    "a girl with hair buns in a red kimono with a gold obi": {"double bun", "red kimono", "obi", "gold obi"},
    "a boy with a baseball cap and sneakers, running": {"1boy", "baseball cap", "sneakers", "running"},
    "a dark-skinned girl with white hair and blue eyes, peace sign": {"dark skin", "white hair", "blue eyes", "v"},
    "a surprised girl with pink hair with blue tips and an ahoge":
        {"surprised", "pink hair", "multicolored hair", "colored tips", "ahoge"},
    "a man with a braid in a long coat and boots, standing": {"1boy", "braid", "long coat", "boots", "standing"},
    "a princess with long blonde hair and a hime cut": {"princess", "long hair", "blonde hair", "hime cut", "dress"},
    "a girl in a sailor uniform with a red scarf, jumping": {"serafuku", "red scarf", "jumping"},
    "a wizard with a long white beard": {"wizard", "robe", "long white beard"},
    "a kneeling girl with curly red hair and a green scarf on a beach at sunset":
        {"kneeling", "curly hair", "red hair", "green scarf", "beach", "outdoors", "sunset"},
    "girl with short pastel pink hair, blunt bangs, purple eyes, shorts and a t-shirt":
        {"short hair", "pink hair", "blunt bangs", "purple eyes", "shorts", "shirt"},
    "a barefoot girl in a navy kimono, no hat, under cherry blossoms at night":
        {"barefoot", "dark blue kimono", "cherry blossoms", "night"},
}
# tags a prompt must not get: what the seed would have drawn, or a word read wrongly
ABSENT: dict[str, set[str]] = {
    GALLERY["glasses"]: {"1girl", "long hair", "short hair"},  # hair the seed would draw is not tagged
    GALLERY["pirate"]: {"1girl", "1boy"},  # no gender in the prompt
    "a wizard with a long white beard": {"long hair", "white hair"},  # "long white" goes with the beard
    "a barefoot girl in a navy kimono, no hat, under cherry blossoms at night": {"hat", "sandals", "pink hair"},
}


@pytest.mark.parametrize("prompt", list(EXPECTED), ids=[p[:40] for p in EXPECTED])
@pytest.mark.parametrize("family", ["sd15", "sdxl", "illustrious", "pony"])
def test_prompt_tags_hold_the_expected_tags_and_no_negative_one(prompt, family):
    presets = load_presets()
    res = prompt_tags(prompt, family, presets=presets)
    tags = set(res.tags)
    assert EXPECTED[prompt] <= tags, sorted(EXPECTED[prompt] - tags)
    assert not tags & ABSENT.get(prompt, set())
    assert not {t.lower() for t in tags} & {t.lower() for t in res.negative}
    fam = presets.family(family)
    assert set(fam.negative) <= set(res.negative)
    quality = list(fam.quality)
    assert list(res.tags[:len(quality)] if fam.position == "start" else res.tags[-len(quality):]) == quality
    assert len(res.tags) == len(set(res.tags))
    assert all(t == t.strip() and "," not in t and t for t in res.tags)


@pytest.mark.parametrize("style", sorted(load_presets().styles))
def test_styles_add_their_tags_and_negatives(style):
    presets = load_presets()
    res = prompt_tags(GALLERY["kimono"], "sd15", style)
    s = presets.style(style)
    assert res.style == style
    assert set(s.tags) <= set(res.tags) and set(s.negative) <= set(res.negative)
    assert not set(res.tags) & set(res.negative)
    assert presets.style(s.title).name == style  # the look's name selects it too


def test_tags_come_from_the_parser(monkeypatch):
    """A colour, style or garment word the parser learns becomes a tag; one it does not know is kept."""
    from kyara.character import lexicon

    assert prompt_tags("a girl with blorange hair", "none").kept == ("blorange hair",)  # kept as written
    assert "messy hair" in prompt_tags("a boy with messy black hair", "none").kept
    monkeypatch.setitem(lexicon.LEXICON, "blorange", ("colour", "orange"))
    res = prompt_tags("a girl with blorange hair", "none")
    assert "orange hair" in res.tags and not res.kept
    for colour, tag in (("navy", "dark blue"), ("crimson", "red"), ("golden", "blonde"), ("lavender", "light purple")):
        assert f"{tag} hair" in prompt_tags(f"a boy with {colour} hair", "none").tags, colour
    for word, tag in (("twintails", "twintails"), ("a bun", "hair bun"), ("a ponytail", "high ponytail"),
                      ("odango", "double bun"), ("ringlets", "drill hair")):
        assert tag in prompt_tags(f"a girl with {word}", "none").tags, word
    # what the parser resolves, the tags follow: the later word wins a contradiction
    assert {"red eyes"} <= set(prompt_tags("blue eyes, no wait, red eyes", "none").tags)
    assert "blue eyes" not in prompt_tags("blue eyes, no wait, red eyes", "none").tags


def test_no_prompt_of_these_tests_is_written_in_the_tag_writer():
    sources = "\n".join(p.read_text().lower() for p in (ROOT / "kyara" / "tags").glob("*.py"))
    sources += (ROOT / "kyara" / "data" / "tags.yaml").read_text().lower()
    for prompt in EXPECTED:
        assert prompt.lower() not in sources
        assert prompt.lower()[:30] not in sources


def test_kept_phrases_are_the_runs_of_unknown_words():
    from kyara.character.reading import read_prompt

    p = "a girl with red eyes on a sunny park pathway, in the style of Kyoto Animation, lush green park background"
    assert kept_phrases(p, read_prompt(p).unparsed) == ["sunny park pathway", "kyoto animation",
                                                        "lush green park background"]
    res = prompt_tags("2girls, sitting, park", "none")
    assert res.tags[0] == "2girls" and "solo" not in res.tags and "1girl" not in res.tags
    assert prompt_tags("1girl, kimono", "none").tags[:2] == ("1girl", "solo")


def test_exclusions_go_to_the_negative_and_negatives_are_left_out():
    res = prompt_tags("a girl with glasses, no hat, blurry", "sd15")
    assert "hat" in res.negative and "blurry" not in res.tags
    assert any("'blurry' left out" in n for n in res.notes)


def test_looks_like_tags_and_the_family_of_a_model():
    assert looks_like_tags("1girl, kimono, cherry blossoms, (red eyes:1.2)")
    assert looks_like_tags("masterpiece, 1girl, long hair, smile")
    assert not looks_like_tags("a girl in a kimono")
    assert not looks_like_tags(GALLERY["jogger"])
    assert (family_for_model("tiny"), family_for_model("tiny-sdxl"), family_for_model("cagliostrolab/animagine-xl-3.1"),
            family_for_model("models/ponyDiffusionV6XL.safetensors"), family_for_model("illustriousXL.safetensors"),
            family_for_model("stable-diffusion-v1-5")) == ("sd15", "sdxl", "sdxl", "pony", "illustrious", "sd15")


def test_image_prompt_modes():
    assert image_prompt("a girl in a kimono", "off") is None
    on = image_prompt("a girl in a kimono", "on", "tiny")
    assert on.converted and on.family == "sd15" and "kimono" in on.tags
    assert image_prompt("1girl, kimono", "auto", "tiny") is None  # already tags: kept as written
    styled = image_prompt("1girl, kimono", "auto", "tiny", style="watercolour")
    assert not styled.converted and styled.tags[:2] == ("1girl", "kimono") and "watercolor (medium)" in styled.tags
    assert image_prompt("a girl in a kimono", "auto", "some/animagine-xl").family == "sdxl"
    with pytest.raises(ValueError, match="--tags 'maybe' is not valid"):
        image_prompt("a girl", "maybe")
    with pytest.raises(ValueError, match="need --tags on or auto"):
        image_prompt("a girl", "off", style="cel")


def test_user_presets_extend_and_replace(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text("styles:\n  ghibli-ish:\n    name: soft film look\n    tags: [soft lighting, film grain]\n"
                    "families:\n  sd15:\n    quality: [best quality]\n    negative: [worst quality]\n"
                    "scenes:\n  spaceship: [spacecraft interior, science fiction]\n")
    res = prompt_tags("a girl on a spaceship", "sd15", "soft film look", str(user))
    assert res.tags[0] == "best quality" and "masterpiece" not in res.tags
    assert {"film grain", "spacecraft interior", "science fiction"} <= set(res.tags)
    assert res.negative == ("worst quality",)
    assert "cel" in load_presets(user).styles  # the shipped ones are still there


@pytest.mark.parametrize("text,needle", [
    ("styles: [a, b]\n", r"styles: expected a mapping"),
    ("styles:\n  x:\n    tags: hello\n", r"styles\.x\.tags: expected a list"),
    ("styles:\n  x:\n    tags: [a, {b: 1}]\n", r"styles\.x\.tags\[1\]: expected a tag"),
    ("families:\n  f:\n    quality: []\n", r"families\.f: missing field 'negative'"),
    ("families:\n  f:\n    quality: []\n    negative: []\n    position: middle\n", r"position: expected start or end"),
    ("colours: {}\n", r"unknown section 'colours'"),
    ("styles:\n  Bad Name:\n    tags: []\n", r"name 'Bad Name' is not valid"),
    ("- just\n- a list\n", r"expected a mapping"),
    ("styles:\n  x:\n    tags: [a]\n    colour: red\n", r"unknown field 'colour'"),
])
def test_malformed_presets_are_one_line(tmp_path, text, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ValueError, match=needle) as err:
        load_presets(p)
    assert "\n" not in str(err.value) and "bad.yaml" in str(err.value)


def test_kyara_tags_command(capsys, tmp_path):
    assert run(["tags", GALLERY["jogger"], "--style", "cel"]) == 0
    out = capsys.readouterr()
    line = out.out.strip()
    assert "\n" not in line and line.startswith("masterpiece, best quality, 1girl, solo, long hair, brown hair")
    assert "cel shading" in line and out.err == ""
    assert run(["tags", "a girl", "--negative", "--tag-family", "pony"]) == 0
    assert capsys.readouterr().out.strip().startswith("nsfw, score_6")
    assert run(["tags", "a girl", "--style", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: style 'nope' is unknown")


def test_kyara_image_tags_reach_the_png(tmp_path, capsys, monkeypatch):
    """``--tags on``: the stored prompt is the tags and the negative the family's (the generation
    itself is replaced by a stand-in: what is checked is what reaches it)."""
    import kyara.cli.cmd_image as cmd

    seen = []
    monkeypatch.setattr(cmd, "_run", lambda cfg, outs, save: seen.append(cfg))
    assert run(["image", GALLERY["witch"], "--tags", "on", "--style", "chibi", "--model", "tiny",
                "-o", str(tmp_path / "a.png")]) == 0
    cfg = seen[-1]
    assert cfg.prompt.startswith("masterpiece, best quality, 1girl, solo, witch") and "super deformed" in cfg.prompt
    assert cfg.negative_prompt.startswith("nsfw, lowres") and "photorealistic" in cfg.negative_prompt
    assert "note: tags (sd15, chibi)" in capsys.readouterr().err
    assert run(["image", GALLERY["witch"], "--tags", "on", "--negative", "bad hands", "--model", "tiny",
                "-o", str(tmp_path / "b.png")]) == 0
    assert seen[-1].negative_prompt == "bad hands"  # a given negative prompt is kept
    assert run(["image", "1girl, witch hat", "--tags", "auto", "--model", "tiny", "-o", str(tmp_path / "c.png")]) == 0
    assert seen[-1].prompt == "1girl, witch hat"
