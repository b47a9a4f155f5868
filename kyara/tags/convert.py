"""A free-text prompt -> Danbooru-style tags, through kyara's own character parser.

Flow of :func:`prompt_tags`:

1. :func:`kyara.character.reading.read_prompt` says which attributes the prompt itself fixed, and
   :func:`kyara.character.parser.parse_prompt` gives their values (contradictions and style/length
   fits resolved as ``kyara create`` resolves them). Attributes the seed would fill are not tagged.
2. Those attributes become tags (:mod:`kyara.tags.vocab`): count (``1girl``, ``solo``), body,
   role, hair, eyes, skin, expression, outfit with colours, accessories, pose.
3. The words the parser did not understand are kept, as the runs of consecutive words they were in
   the prompt ("lush green park background"), after the character; a run holding a scene word of the
   presets also adds that word's tags (``park`` -> ``park, outdoors``). Count tags the user wrote
   (``2girls``) lead.
4. The style preset's tags follow; the model family's quality tags go at its start or end; the
   negative prompt is the family's negative plus the style's, plus what the prompt excluded ("no
   hat" -> ``hat``). A positive tag that is also a negative one is dropped (with a note).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kyara.tags.presets import Presets, load_presets
from kyara.tags.vocab import (ACCESSORY, BANGS, BODY, EXPRESSION, HAIR_LENGTH, HAIR_STYLE, HEIGHT, OUTFIT, OUTFIT_LOOK,
                              POSE,
                              ROLE, SKIN, TEXTURE, danbooru_colour)

TAG_MODES = ("auto", "on", "off")
_COUNT_RE = re.compile(r"^(\d+)\s*(girl|boy|other)s?$|^(multiple|many) (girls|boys|others)$")
_ATTENTION_RE = re.compile(r"\(\s*[^()]*:\s*[+-]?[\d.]+\s*\)|\bBREAK\b|<lora:|\bscore_\d|\\\(")
_FREE_TEXT_WORDS = frozenset({"a", "an", "the", "with", "in", "wearing", "wears", "who", "is", "are", "and", "of",
                              "on", "while", "her", "his", "their", "has", "having", "dressed", "at", "into"})
_NOUNS = frozenset({"hair", "eyes", "skin", "garment", "coat", "outfit", "acc", "hat"})
_EXCLUDED_NEGATIVE = {"acc.hat": "hat", "acc.glasses": "glasses", "acc.ribbon": "hair ribbon",
                      "acc.cat-ears": "animal ears", "acc.scarf": "scarf", "outfit.outer": "coat"}


@dataclass(frozen=True)
class TagResult:
    """Tags for one prompt. ``tags`` is what goes into the prompt, in order; ``character`` and
    ``kept`` are its two sources before presets were added (what the parser read, and the words it
    did not map)."""

    tags: tuple[str, ...]
    negative: tuple[str, ...]
    character: tuple[str, ...]
    kept: tuple[str, ...]
    family: str
    style: str | None
    converted: bool = True  # False: the prompt was already tags and is kept as written (``--tags auto``)
    notes: tuple[str, ...] = ()

    @property
    def prompt(self) -> str:
        return ", ".join(self.tags)

    @property
    def negative_prompt(self) -> str:
        return ", ".join(self.negative)


def _unique(tags) -> list[str]:
    seen, out = set(), []
    for t in tags:
        key = t.lower()
        if t and key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _piece_colour(spec, kind: str, attr: str):
    for p in spec.outfit:
        if p.kind == kind:
            return getattr(p, attr)
    return None


def character_tags(spec, reading) -> list[str]:
    """Tags of what ``reading`` (:func:`read_prompt`) says the prompt fixed, valued from ``spec``
    (:func:`parse_prompt` of the same prompt)."""
    fx = reading.fixed
    out: list[str] = []
    gender = fx.get("body.gender")
    if gender is not None:
        out.append("1girl" if gender == "f" else "1boy")
    out.append("solo")
    preset = spec.body.preset
    build, ages = fx.get("body.build"), (fx.get("body.age"), fx.get("body.noun_age"))
    if (build in ("chibi", "heroic") and preset == build) or ("child" in ages and preset == "child"):
        out += BODY[preset]
    if fx.get("body.age") == "adult" and preset.startswith("adult"):
        out.append("mature female" if preset == "adult-woman" else "mature male")
    if fx.get("body.height") in HEIGHT:
        out.append(HEIGHT[str(fx["body.height"])])
    out += [ROLE.get(r, r) for r in reading.roles]
    hair = spec.hair
    if "hair.length" in fx:
        out.append(HAIR_LENGTH[hair.length])
    if "hair.colour" in fx:
        out.append(f"{danbooru_colour(hair.colour.name, 'hair')} hair")
    if fx.get("hair.style") == hair.style:
        out += HAIR_STYLE[hair.style]
    if "hair.bangs" in fx and hair.bangs in BANGS:
        out.append(BANGS[hair.bangs])
    if "hair.texture" in fx:
        out.append(TEXTURE[hair.texture])
    if fx.get("hair.ahoge") and hair.ahoge:
        out.append("ahoge")
    if ("hair.tips" in fx or "hair.tone" in fx) and hair.tips is not None:
        out += ["multicolored hair", "colored tips"]
        if "hair.tips" in fx:
            out.append(f"{danbooru_colour(hair.tips.name, 'hair')} tips")
    if "eye_colour" in fx:
        out.append(f"{danbooru_colour(spec.eye_colour.name, 'eyes')} eyes")
    if "skin_tone" in fx and SKIN.get(spec.skin_tone.name):
        out.append(SKIN[spec.skin_tone.name])
    if "expression" in fx:
        out += EXPRESSION[spec.expression]
    out += _outfit_tags(spec, reading)
    for kind, _implied in reading.accessories:
        tags, noun = ACCESSORY[kind]
        out += tags
        acc = next((a for a in spec.accessories if a.kind == kind), None)
        if kind in reading.accessory_colours and noun is not None and acc is not None:
            out.append(f"{danbooru_colour(acc.colour.name)} {noun}")
    if "outfit.feet" in reading.excluded and not any(PIECE_FEET.get(k) for k, _ in reading.pieces):
        out.append("barefoot")
    if "pose_hint" in fx and spec.pose_hint in POSE:
        out += POSE[spec.pose_hint]
    return _unique(out)


PIECE_FEET = {"boots": True, "sneakers": True, "sandals": True}


def _outfit_tags(spec, reading) -> list[str]:
    out: list[str] = []
    named = [k for k, _ in reading.pieces]
    for kind in named:
        tags, noun = OUTFIT[kind]
        out += tags
        out += OUTFIT_LOOK.get((kind, _piece_colour(spec, kind, "colour").name), ())
        for attr in ("colour", "trim", "obi"):
            if f"{kind}.{attr}" not in reading.piece_colours:
                continue
            c = danbooru_colour(_piece_colour(spec, kind, attr).name)
            out += {"colour": [f"{c} {noun}"], "trim": [f"{c} trim"], "obi": ["obi", f"{c} obi"]}[attr]
    if reading.outfit_colour is not None:
        main = next((p for p in spec.outfit if p.kind in OUTFIT and p.kind not in PIECE_FEET
                     and p.kind not in ("skirt", "shorts", "trousers", "long-coat", "pirate-coat")), None)
        if main is not None and main.colour.name == reading.outfit_colour:
            c = danbooru_colour(main.colour.name)
            out.append(f"{c} {OUTFIT[main.kind][1]}" if main.kind in named else f"{c} clothes")
    return out


def kept_phrases(prompt: str, unparsed) -> list[str]:
    """The parser's ``unparsed`` words regrouped into the runs of consecutive words they were in the
    prompt, lower case: "a girl on a sunny park pathway" -> ``["sunny park pathway"]``. A run that
    describes a noun the parser knew keeps that noun: "messy black hair" -> ``"messy hair"`` (the
    colour is the parser's own tag)."""
    from kyara.character.lexicon import segment

    items = segment(prompt)
    words = list(unparsed)
    ptr, runs, cur = 0, [], []
    for i, it in enumerate(items):
        ws = it.text.split()
        if ws and words[ptr:ptr + len(ws)] == ws:
            cur += ws
            ptr += len(ws)
            continue
        if cur:
            j = i
            while j < len(items) and items[j].cat in ("colour", "len", "mod"):
                j += 1
            if j < len(items) and items[j].cat in _NOUNS:
                cur.append(items[j].text)
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    runs += [[w] for w in words[ptr:]]  # words met out of order (rare): each on its own
    return _unique(" ".join(r).lower() for r in runs)


def scene_tags(phrase: str, presets: Presets) -> list[str]:
    """Tags of the presets' scene words inside ``phrase`` (single words and two-word phrases)."""
    ws = phrase.split()
    out: list[str] = []
    for n in (2, 1):
        for i in range(len(ws) - n + 1):
            out += presets.scenes.get(" ".join(ws[i:i + n]), ())
    return out


def looks_like_tags(prompt: str) -> bool:
    """True when ``prompt`` is already written as tags: weighting syntax, ``BREAK``, score tags, or
    comma-separated items of at most four words none of which reads like a sentence ("a", "with",
    "wearing", ...)."""
    if _ATTENTION_RE.search(prompt):
        return True
    items = [i.strip() for i in prompt.split(",") if i.strip()]
    if not items:
        return False
    for item in items:
        ws = re.findall(r"[^\W_]+(?:'[^\W_]+)*", item.lower())
        if len(ws) > 4 or any(w in _FREE_TEXT_WORDS for w in ws):
            return False
    return True


def family_for_model(model: str | None) -> str:
    """The tag family of a model id or path: ``pony`` or ``illustrious``/``noob`` in its name, SDXL
    (``xl`` in the name, or a diffusers folder with a second text encoder), else ``sd15``."""
    name = str(model or "").lower()
    base = Path(name).name
    if "pony" in base:
        return "pony"
    if "illustrious" in base or "noob" in base:
        return "illustrious"
    if "xl" in base.replace("-", "").replace("_", "") or (Path(str(model or "")) / "text_encoder_2").is_dir():
        return "sdxl"
    return "sd15"


def _presets(presets) -> Presets:
    return presets if isinstance(presets, Presets) else load_presets(presets)


def prompt_tags(prompt: str, family: str = "sd15", style: str | None = None,
                presets: Presets | str | Path | None = None) -> TagResult:
    """Danbooru-style tags of a free-text ``prompt`` (see the module docstring for the flow).

    ``family``: a model family of the presets (``sd15``, ``sdxl``, ``illustrious``, ``pony``,
    ``none``, or a user's); ``style``: a style preset's key or name; ``presets``: a
    :class:`Presets` or the path of a user's YAML file extending the shipped ones. Raises a one-line
    ``ValueError`` for an empty, over-long or control-character prompt, an unknown family or style,
    or a malformed presets file.
    """
    from kyara.character.parser import parse_prompt
    from kyara.character.reading import read_prompt

    ps = _presets(presets)
    fam = ps.family(family)
    sty = ps.style(style) if style else None
    reading = read_prompt(prompt)
    spec = parse_prompt(prompt, 0)
    character = character_tags(spec, reading)
    kept = kept_phrases(prompt, reading.unparsed)
    counts = [k for k in kept if _COUNT_RE.match(k)]
    body = [t for t in character if not (counts and t in ("1girl", "1boy", "solo"))]
    if counts:
        many = any(not k.startswith("1") for k in counts)
        body = [t for t in character if t not in ("1girl", "1boy", "solo") or (t == "solo" and not many)]
        body = counts + body
    tail: list[str] = []
    for k in kept:
        if k not in counts:
            tail.append(k)
            tail += scene_tags(k, ps)
    styled = list(sty.tags) if sty else []
    negative = _unique([*fam.negative, *(sty.negative if sty else ()),
                        *(_EXCLUDED_NEGATIVE[s] for s in sorted(reading.excluded) if s in _EXCLUDED_NEGATIVE)])
    return _assemble(body + tail + styled, negative, fam.quality, fam.position, character, kept, fam.name,
                     None if sty is None else sty.name, True)


def _assemble(tags, negative, quality, position, character, kept, family, style, converted) -> TagResult:
    ordered = _unique(list(quality) + list(tags) if position == "start" else list(tags) + list(quality))
    banned = {t.lower() for t in negative}
    notes = tuple(f"'{t}' left out: it is in the negative tags" for t in ordered if t.lower() in banned)
    final = tuple(t for t in ordered if t.lower() not in banned)
    return TagResult(final, tuple(negative), tuple(character), tuple(kept), family, style, converted, notes)


def image_prompt(prompt: str, mode: str = "auto", model: str | None = None, family: str = "auto",
                 style: str | None = None, presets: Presets | str | Path | None = None) -> TagResult | None:
    """What ``kyara image --tags MODE`` sends to the model: ``None`` for ``off`` (the prompt as
    written); for ``on`` the tags of :func:`prompt_tags`; for ``auto`` the same when the prompt is
    free text, and for a prompt already written as tags (:func:`looks_like_tags`) that prompt kept as
    written, with the style's tags appended when a style is given (``converted=False``).
    ``family="auto"`` picks it from the model's name (:func:`family_for_model`)."""
    if mode not in TAG_MODES:
        raise ValueError(f"--tags '{mode}' is not valid, expected one of {', '.join(TAG_MODES)}")
    if mode == "off":
        if style or (family not in (None, "", "auto")):
            raise ValueError("--style and --tag-family need --tags on or auto, got --tags off")
        return None
    fam_name = family_for_model(model) if family in (None, "", "auto") else family
    if mode == "on" or not looks_like_tags(prompt):
        return prompt_tags(prompt, fam_name, style, presets)
    ps = _presets(presets)
    fam = ps.family(fam_name)
    if not style:
        return None
    sty = ps.style(style)
    written = [t.strip() for t in prompt.split(",") if t.strip()]
    return _assemble(written + list(sty.tags), _unique([*fam.negative, *sty.negative]), (), "end", (), (), fam.name,
                     sty.name, False)
