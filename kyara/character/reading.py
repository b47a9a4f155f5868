"""What a prompt itself says, as the parser read it: the part of a ``CharacterSpec`` that did not
come from the seed.

:func:`parse_prompt` fills every attribute a prompt leaves open from the seed (hair colour, eyes,
the missing outfit pieces, every colour). A caller that must repeat only what the user asked for
(the tag writer of :mod:`kyara.tags`) needs to know which attributes those are. :func:`read_prompt`
runs the parser's own steps 1 and 2 (segmentation and the walk that binds adjectives to nouns) and
reports what they fixed; the values themselves are read from the spec :func:`parse_prompt` returns
(which also resolves contradictions and length/style fits).
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
