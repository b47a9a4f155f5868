"""What a prompt itself says, as the parser read it: the part of a ``CharacterSpec`` that did not
come from the seed.

:func:`parse_prompt` fills every attribute a prompt leaves open from the seed (hair colour, eyes,
the missing outfit pieces, every colour). A caller that must repeat only what the user asked for
(the tag writer of :mod:`kyara.tags`) needs to know which attributes those are. :func:`read_prompt`
runs the parser's own steps 1 and 2 (segmentation and the walk that binds adjectives to nouns) and
reports what they fixed; the values themselves are read from the spec :func:`parse_prompt` returns
(which also resolves contradictions and length/style fits).

:func:`understand` is what the studio shows next to the prompt: each attribute the words gave
(label, category, the character spans of its words) and each ignored word with its span, and
whether most of the prompt was not understood.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromptReading:
    """Attributes a prompt fixed. Field names follow the spec (``hair.colour``, ``eye_colour``)."""

    fixed: dict[str, object]  # spec field -> the value the prompt gave: "hair.style" -> "ponytail", "eye_colour" -> "red"
    pieces: tuple[tuple[str, str | None], ...]  # (outfit kind, implied_by word or None when named), prompt order
    piece_colours: frozenset[str]  # "skirt.colour", "pirate-coat.trim", "kimono.obi": colours the prompt gave
    accessories: tuple[tuple[str, str | None], ...]  # (accessory kind, implied_by or None)
    accessory_colours: frozenset[str]  # accessory kinds whose colour the prompt gave
    outfit_colour: str | None  # "a girl in red": the colour of the main garment, when given that way
    sporty: bool  # "sporty", "athlete", "jogging": the outfit leans to sportswear
    excluded: frozenset[str]  # slots the prompt emptied: "outfit.feet" (barefoot), "acc.hat" ("no hat")
    roles: tuple[str, ...]  # person words that imply pieces or a look ("pirate", "witch", "catgirl"), in order
    unparsed: tuple[str, ...]  # words the parser did not understand, in prompt order


def read_prompt(prompt: str) -> PromptReading:
    """Read ``prompt`` with the parser's steps 1-2 (no seed). Same checks as :func:`parse_prompt`:
    a one-line ``ValueError`` for an empty prompt, one over 2000 characters or with control
    characters."""
    from kyara.character.lexicon import segment
    from kyara.character.parser import _check_inputs, _State, _walk

    _check_inputs(prompt, 0)
    items = segment(prompt)
    st = _State()
    _walk(items, st)
    fixed = {k: f.value for k, f in st.fixed.items()}
    piece_colours = {f"{k}.{attr}" for k, p in st.pieces.items() for attr in ("colour", "trim", "obi")
                     if getattr(p, attr) is not None}
    roles = []
    for it in items:
        if it.cat == "person":
            gender, age, build, pieces, accs = it.value  # type: ignore[misc]
            if (pieces or accs or build in ("sporty", "heroic")) and it.text.lower() not in roles:
                roles.append(it.text.lower())
    return PromptReading(
        fixed=fixed,
        pieces=tuple((k, p.implied_by) for k, p in st.pieces.items()),
        piece_colours=frozenset(piece_colours),
        accessories=tuple((k, implied) for k, (_c, implied) in st.acc.items()),
        accessory_colours=frozenset(k for k, (c, _i) in st.acc.items() if c is not None),
        outfit_colour=None if st.outfit_colour is None else st.outfit_colour.name,
        sporty=st.sporty,
        excluded=frozenset(st.excluded),
        roles=tuple(roles),
        unparsed=tuple(st.unparsed),
    )


# ------------------------------------------------------------------------------------------------
# What the page shows next to the prompt: the attributes understood, the words ignored, with spans.

UNDERSTOOD_MIN = 0.5  # below this share of the content words understood, a prompt is "mostly not understood"

# noun category of the lexicon -> what the page calls it
_CATEGORY = {"person": "character", "age": "body", "build": "body", "tall": "body", "sporty": "body", "heads": "body",
             "hair": "hair", "style": "hair", "bangs": "hair", "hairmod": "hair", "tips": "hair", "eyes": "eyes",
             "skin": "skin", "garment": "outfit", "coat": "outfit", "outfit": "outfit", "part": "outfit",
             "bare": "outfit", "acc": "accessory", "hat": "accessory", "expr": "expression", "pose": "pose",
             "neg": "outfit", "digits": "outfit", "colour": "colour", "len": "hair", "mod": "colour"}
_FUNCTION = ("stop", "bstop", "break")  # words that carry no attribute of their own ("a", "with", ",")


@dataclass(frozen=True)
class Attribute:
    """One thing the prompt says that the parser understood."""

    label: str  # "long pink hair", "maid -> maid dress, maid headdress"
    category: str  # "character", "body", "hair", "eyes", "skin", "outfit", "accessory", "expression", "pose", "picture"
    spans: tuple[tuple[int, int], ...]  # [start, end) characters of the prompt's words that gave it, in order


@dataclass(frozen=True)
class PromptUnderstanding:
    """:func:`understand`'s answer: what a prompt's words became, and which words nothing used."""

    prompt: str
    attributes: tuple[Attribute, ...]  # in prompt order
    ignored: tuple[tuple[str, tuple[int, int]], ...]  # (word, [start, end)) nothing understood, in prompt order
    content_words: int  # words that are not function words ("a", "with", "and") or punctuation
    understood_words: int  # of those, the ones an attribute used
    notes: tuple[str, ...]  # the parser's notes (contradictions, words read another way)

    @property
    def understood_share(self) -> float:
        """Understood content words / content words, 0..1 (1 for a prompt of function words only)."""
        return 1.0 if self.content_words == 0 else self.understood_words / self.content_words

    @property
    def mostly_not_understood(self) -> bool:
        """Fewer than :data:`UNDERSTOOD_MIN` of the content words were understood."""
        return self.understood_share < UNDERSTOOD_MIN


def _pretty(kind: str) -> str:
    return kind.replace("-", " ")


def _meaning(it) -> str:
    """What a noun word means when that differs from the word itself ("seifuku" -> sailor uniform)."""
    v = it.value
    if it.cat == "person":
        gender, age, build, pieces, accs = v
        bits = [{"f": "female", "m": "male"}.get(gender, ""), age or "", build if build in ("chibi", "heroic") else ""]
        words = [b for b in bits if b] + [_pretty(k) for k in (*pieces, *accs)]
        return ", ".join(words)
    if it.cat == "garment":
        return " + ".join(_pretty(k) for k in v)
    if it.cat in ("acc", "style", "expr", "pose", "colour"):
        return _pretty(str(v))
    if it.cat == "hairmod":
        return f"{v[0]} {v[1]}" if v[0] != "ahoge" else "ahoge"
    if it.cat == "bangs":
        return f"{v} bangs" if v else "bangs"
    return ""


def understand(prompt: str) -> PromptUnderstanding:
    """Which words of ``prompt`` the character parser understood, as attributes with the spans of
    the words that gave each (an adjective joins the noun it was given to: "long pink hair" is one
    attribute), the words it ignored with their spans, and whether most of the prompt was not
    understood (:attr:`PromptUnderstanding.mostly_not_understood`). No seed, no building: cheap
    enough to run on every keystroke. Same checks as :func:`parse_prompt` (one-line ``ValueError``
    for an empty prompt, one over 2000 characters or with control characters)."""
    from kyara.character.lexicon import IMAGE_WORDS, segment
    from kyara.character.parser import _check_inputs, _State, _walk

    _check_inputs(prompt, 0)
    items = segment(prompt)
    st = _State()
    _walk(items, st)
    ignored_spans = set(st.ignored)
    # picture words (Danbooru quality / framing tags) the parser leaves unparsed: understood, not the character's
    picture: list = []
    for n in (2, 1):
        for k in range(len(items) - n + 1):
            run = items[k:k + n]
            if all(x.span in ignored_spans for x in run) and " ".join(x.text.lower() for x in run) in IMAGE_WORDS:
                picture.append(run)
                ignored_spans -= {x.span for x in run}
    adjectives: dict[int, list] = {}
    for adj, noun in st.links:
        if adj.span not in ignored_spans:
            adjectives.setdefault(id(noun), []).append(adj)
    linked = {id(adj) for adj, _n in st.links if adj.span not in ignored_spans}
    attrs: list[tuple[int, Attribute]] = []
    used = 0
    for it in items:
        if it.span is None or it.cat in _FUNCTION or it.span in ignored_spans or it.span in st.ignored or id(it) in linked:
            continue
        adjs = sorted(adjectives.get(id(it), []), key=lambda a: a.span)
        words = [a.text for a in adjs if a.span < it.span] + [it.text] + [a.text for a in adjs if a.span > it.span]
        label = " ".join(words)
        meaning = _meaning(it)
        if meaning and meaning.lower() != it.text.lower():
            label += f" \u2192 {meaning}"
        spans = tuple(sorted([a.span for a in adjs] + [it.span]))
        used += sum(len(prompt[a:b].split()) for a, b in spans)
        attrs.append((it.span[0], Attribute(label, _CATEGORY.get(it.cat, "other"), spans)))
    for run in picture:
        span = (run[0].span[0], run[-1].span[1])
        used += len(run)
        attrs.append((span[0], Attribute(" ".join(x.text for x in run), "picture", (span,))))
    ignored = tuple(sorted(((prompt[a:b], (a, b)) for a, b in ignored_spans), key=lambda w: w[1]))
    content = used + sum(len(w.split()) for w, _s in ignored)
    return PromptUnderstanding(prompt, tuple(a for _k, a in sorted(attrs, key=lambda x: x[0])), ignored, content, used,
                               tuple(st.notes))
