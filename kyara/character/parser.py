"""Prompt -> ``CharacterSpec``: a deterministic, rule-based reading of a character description.

Steps:
1. Tokenize (lower case; hyphens split, "'s" dropped; ``, . ; : ! ? ( ) /`` end a clause) and
   segment the words greedily into the longest known phrase ("twin tails", "light blue",
   "sports outfit", "witch hat").
2. Walk the phrases. Adjectives (colours, "short"/"long", "dark") wait in a pending list and
   bind to the next noun ("long brown hair", "a blue and gold coat" -> colour blue, trim gold);
   pending adjectives left at a clause break or at a binding stop word ("with", "in", ...) bind
   to the previous noun ("a kimono in red"). Role nouns imply pieces ("pirate" -> pirate coat +
   tricorn hat, "witch" -> witch robe + witch hat). A later word that contradicts an earlier one
   wins; the spec's ``notes`` say so. Words nothing understood go to ``unparsed``, in order.
3. Fill what the prompt left open (body preset, hair, eyes, skin, expression, the missing
   outfit pieces and every colour) from ``numpy.random.default_rng(seed)``: one fixed vector of
   uniform draws, one named slot per attribute (``DRAW_SLOTS``), so fixing one attribute in the
   prompt never changes how another is drawn (:mod:`kyara.character.parser_fill`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kyara.character.colors import (  # noqa: F401 - the palettes are part of the parser's interface
    ACCESSORY_COLOURS, EYE_PALETTE, HAIR_PALETTE, KIND_COLOURS, KIND_TRIMS, OBI_PALETTE, SKIN_PALETTE,
    canonical_skin_name, colour_hex,
)
from kyara.character.lexicon import HAIR_ONLY_COLOURS, ROLE_COLOURS, SLOT_LABEL, SPORTY_POSES, Item, segment
from kyara.character.parser_fill import (  # noqa: F401 - DRAW_SLOTS is part of the parser's interface
    DRAW_SLOTS, _accessories, _body, _complete_outfit, _Draws, _hair, _hair_draws, _outfit, _skin,
)
from kyara.character.spec import ACCESSORY_SLOT, PIECE_SLOT, CharacterSpec, Colour

MAX_PROMPT_CHARS = 2000

# ---------------------------------------------------------------------------------------------


@dataclass
class _Fixed:
    value: object
    word: str
    seq: int  # order in which the prompt fixed it (a later word wins a contradiction)


@dataclass
class _Piece:
    colour: Colour | None = None
    trim: Colour | None = None
    number: int | None = None
    obi: Colour | None = None
    implied_by: str | None = None  # the role word ("pirate") when the prompt did not name it
    default: Colour | None = None  # the role's own colour ("miko": a white top), used when no colour is given


@dataclass
class _State:
    fixed: dict[str, _Fixed] = field(default_factory=dict)
    pieces: dict[str, _Piece] = field(default_factory=dict)
    acc: dict[str, tuple[Colour | None, str | None]] = field(default_factory=dict)  # kind -> (colour, implied_by)
    unparsed: list[str] = field(default_factory=list)
    ignored: list[tuple[int, int]] = field(default_factory=list)  # spans of the unparsed words in the prompt
    links: list[tuple[Item, Item]] = field(default_factory=list)  # (adjective, the noun it was given to)
    notes: list[str] = field(default_factory=list)
    outfit_colour: Colour | None = None  # "a girl in red": the main garment's colour
    sporty: bool = False
    excluded: set[str] = field(default_factory=set)  # slots the prompt emptied ("no hat")
    last_garment: str | None = None
    last_item: Item | None = None  # the noun adjectives left over at a break bind to
    counter: int = 0

    def set(self, key: str, value: object, word: str) -> None:
        old = self.fixed.get(key)
        if old is not None and old.value != value:
            self.notes.append(f"{key}: '{old.word}' overridden by later '{word}'")
        self.counter += 1
        self.fixed[key] = _Fixed(value, word, self.counter)

    def get(self, key: str, default: object = None) -> object:
        f = self.fixed.get(key)
        return default if f is None else f.value

    def put(self, kind: str) -> None:
        """Add a piece the seed chose (step 3)."""
        self.pieces[kind] = _Piece()

    def unknown(self, *items: Item) -> None:
        """Words nothing understood: to ``unparsed`` (and their spans, for :func:`understand`)."""
        for it in items:
            self.unparsed.extend(it.text.split())
            if it.span is not None:
                self.ignored.append(it.span)

    # -- outfit ---------------------------------------------------------------------------------
    def exclude(self, it: Item, phrase: str) -> None:
        """ "no glasses", "without a hat": empty that slot; a later explicit piece may refill it."""
        if it.cat == "garment":
            slots = {f"outfit.{PIECE_SLOT[k]}" for k in it.value}  # type: ignore[union-attr]
        elif it.cat == "coat":
            slots = {"outfit.outer"}
        elif it.cat == "hat":
            slots = {"acc.hat"}
        else:
            slots = {f"acc.{ACCESSORY_SLOT[str(it.value)]}"}
        self.excluded |= slots
        for k in [k for k in self.pieces if f"outfit.{PIECE_SLOT[k]}" in slots]:
            del self.pieces[k]
        for k in [k for k in self.acc if f"acc.{ACCESSORY_SLOT[k]}" in slots]:
            del self.acc[k]
        what = ", ".join(sorted(SLOT_LABEL[s.split(".")[1]] for s in slots))
        self.notes.append(f"'{phrase}': no {what}")

    def _allowed(self, slot: str, word: str, implied_by: str | None) -> bool:
        if slot not in self.excluded:
            return True
        if implied_by is not None:
            return False
        self.excluded.discard(slot)
        self.notes.append(f"outfit: '{word}' given after the {SLOT_LABEL[slot.split('.')[1]]} was excluded")
        return True

    def add_piece(self, kind: str, word: str, implied_by: str | None = None) -> None:
        if kind == "kimono" and "hakama" in self.pieces:  # a kimono worn with hakama is tucked in
            kind = "kimono-top"
        elif kind == "hakama" and "kimono" in self.pieces:
            self.pieces["kimono-top"] = self.pieces.pop("kimono")
            self.notes.append(f"outfit: 'kimono' worn as a kimono top with the '{word}'")
        if not self._allowed(f"outfit.{PIECE_SLOT[kind]}", word, implied_by):
            return
        if kind in self.pieces:
            if implied_by is None:
                self.pieces[kind].implied_by = None
            return
        slot = PIECE_SLOT[kind]
        clash = {"full": ("full", "top", "bottom"), "top": ("full", "top"), "bottom": ("full", "bottom")}.get(slot, (slot,))
        for other in [k for k in self.pieces if PIECE_SLOT[k] in clash]:
            old = self.pieces[other]
            if implied_by is not None and old.implied_by is None:
                self.notes.append(f"outfit: '{kind}' implied by '{implied_by}' not added, '{other}' was given")
                return
            why = f" (implied by '{old.implied_by}')" if old.implied_by else ""
            self.notes.append(f"outfit: '{other}'{why} replaced by later '{word}'")
            del self.pieces[other]
        self.pieces[kind] = _Piece(implied_by=implied_by)

    def add_acc(self, kind: str, word: str, implied_by: str | None = None) -> None:
        if not self._allowed(f"acc.{ACCESSORY_SLOT[kind]}", word, implied_by):
            return
        if kind in self.acc:
            if implied_by is None:
                self.acc[kind] = (self.acc[kind][0], None)
            return
        for other in [k for k in self.acc if ACCESSORY_SLOT[k] == ACCESSORY_SLOT[kind]]:
            if implied_by is not None and self.acc[other][1] is None:
                self.notes.append(f"accessories: '{kind}' implied by '{implied_by}' not added, '{other}' was given")
                return
            self.notes.append(f"accessories: '{other}' replaced by later '{word}'")
            del self.acc[other]
        self.acc[kind] = (None, implied_by)

    def set_piece_colour(self, kind: str, attr: str, colour: Colour) -> None:
        p = self.pieces[kind]
        old = getattr(p, attr)
        if old is not None and old != colour:
            self.notes.append(f"{kind}.{attr}: '{old.name}' overridden by later '{colour.name}'")
        setattr(p, attr, colour)


def _colour_of(item: Item) -> Colour:
    name = str(item.value)
    return Colour(name, colour_hex(name))  # type: ignore[arg-type]


def _mod_colour(mod: str, target: str) -> Colour:
    """A lone "dark"/"light" on a noun: a shade that suits the target."""
    base = "brown" if target == "hair" else "grey"
    return Colour.named(f"{mod} {base}")


def _bind(st: _State, pending: list[Item], target: tuple[str, object]) -> None:
    """Apply pending adjectives to a noun (step 2)."""
    kind, value = target
    colours_used = 0
    for adj in pending:
        if kind == "tips" and adj.cat in ("colour", "mod"):  # "pink hair with blue tips"
            st.set("hair.tips", adj.value if adj.cat == "colour" else f"{adj.value} brown", adj.text)
        elif kind in ("hair", "style", "bangs"):
            if adj.cat == "colour" and colours_used:  # "pink and blue hair": two-tone
                st.set("hair.tips", adj.value, adj.text)
            elif adj.cat == "colour":
                colours_used += 1
                st.set("hair.colour", adj.value, adj.text)
            elif adj.cat == "mod":
                st.set("hair.colour", f"{adj.value} brown", adj.text)
            elif adj.cat == "len" and kind != "bangs":
                st.set("hair.length", adj.value, adj.text)
            else:
                st.unknown(adj)
        elif kind == "eyes" and adj.cat in ("colour", "mod"):
            name = adj.value if adj.cat == "colour" else f"{adj.value} grey"
            st.set("eye_colour", name, adj.text)
        elif kind == "skin" and adj.cat in ("colour", "mod"):
            tone = canonical_skin_name(adj.text.lower()) or canonical_skin_name(str(adj.value))
            st.set("skin_tone", tone or adj.value, adj.text)
        elif kind == "person" and adj.cat == "colour" and (adj.text.lower() in HAIR_ONLY_COLOURS or adj.value in HAIR_ONLY_COLOURS):
            st.set("hair.colour", adj.value, adj.text)
        elif kind == "person" and adj.cat == "mod" and canonical_skin_name(adj.text.lower()):
            st.set("skin_tone", canonical_skin_name(adj.text.lower()), adj.text)  # "a pale girl"
        elif kind == "person" and adj.cat == "len" and adj.value == "short":
            st.set("body.height", "short", adj.text)
        elif kind in ("person", "outfit") and adj.cat in ("colour", "mod"):
            c = _colour_of(adj) if adj.cat == "colour" else _mod_colour(str(adj.value), "outfit")
            if st.outfit_colour is not None and st.outfit_colour != c:
                st.notes.append(f"outfit colour: '{st.outfit_colour.name}' overridden by later '{c.name}'")
            st.outfit_colour = c
        elif kind in ("garment", "acc", "part") and adj.cat in ("colour", "mod"):
            c = _colour_of(adj) if adj.cat == "colour" else _mod_colour(str(adj.value), "garment")
            if kind == "acc" and value in st.acc:
                old = st.acc[value][0]  # type: ignore[index]
                if old is not None and old != c:
                    st.notes.append(f"{value}.colour: '{old.name}' overridden by later '{c.name}'")
                st.acc[value] = (c, st.acc[value][1])  # type: ignore[index]
            elif kind == "part" and value[1] in st.pieces:  # type: ignore[index]
                part, piece = value  # type: ignore[misc]
                st.set_piece_colour(piece, part, c)
            elif kind == "garment" and any(k in st.pieces for k in value):  # type: ignore[union-attr]
                attr = "colour" if colours_used == 0 else "trim"
                for k in value:  # type: ignore[union-attr]
                    if k in st.pieces:
                        st.set_piece_colour(k, attr, c)
                colours_used += 1
            else:  # the piece was replaced meanwhile
                st.unknown(adj)
        else:
            st.unknown(adj)


def _flush(st: _State, pending: list[Item], last: tuple[str, object] | None) -> None:
    if pending:
        if last is None:
            for adj in pending:
                st.unknown(adj)
        else:
            if st.last_item is not None:
                st.links += [(adj, st.last_item) for adj in pending]
            _bind(st, pending, last)
        pending.clear()


def _walk(items: list[Item], st: _State) -> None:
    pending: list[Item] = []
    last: tuple[str, object] | None = None
    number_word: Item | None = None  # "number" seen, digits expected next
    negation: Item | None = None  # "no"/"without" seen, a garment or accessory expected next
    for i, it in enumerate(items):
        nxt = items[i + 1] if i + 1 < len(items) else None
        if it.cat == "digits":
            prev = items[i - 1] if i > 0 else None
            after_jersey = prev is not None and prev.cat == "garment" and "sports-jersey" in prev.value  # type: ignore[operator]
            if nxt is not None and nxt.cat == "heads":
                st.set("body.heads_tall", float(it.value), f"{it.text} {nxt.text}")  # type: ignore[arg-type]
            elif (number_word or after_jersey) and 0 <= int(it.value) <= 99:  # type: ignore[call-overload]
                st.set("jersey.number", int(it.value), f"{number_word.text if number_word else ''} {it.text}".strip())  # type: ignore[call-overload]
            else:
                st.unknown(*([number_word] if number_word else []), it)
            number_word = None
            continue
        if number_word:
            st.unknown(number_word)
            number_word = None
        if negation is not None and it.cat != "stop":
            if it.cat in ("garment", "acc", "hat", "coat"):
                _flush(st, pending, last)
                st.exclude(it, f"{negation.text} {it.text}")
                st.links.append((negation, it))
                negation = None
                last = None
                continue
            st.unknown(negation)
            negation = None
        if it.cat in ("colour", "len", "mod"):
            pending.append(it)
        elif it.cat == "stop":
            pass
        elif it.cat == "bstop" and it.value == "and" and pending and nxt is not None and nxt.cat in ("colour", "len", "mod"):
            pass  # "blue and gold coat": both bind to the coat
        elif it.cat in ("bstop", "break"):
            _flush(st, pending, last)
            if it.cat == "break":
                last = None
        elif it.cat == "neg":
            _flush(st, pending, last)
            negation = it
        elif it.cat == "bare":
            st.exclude(Item("garment", ("sneakers",), it.text), it.text)
        elif it.cat == "heads":
            if not (i > 0 and items[i - 1].cat == "digits"):
                st.unknown(it)
        elif it.cat == "age":
            st.set("body.age", it.value, it.text)
        elif it.cat == "build":
            st.set("body.build", it.value, it.text)
        elif it.cat == "tall":
            st.set("body.height", it.value, it.text)
        elif it.cat == "sporty":
            st.sporty = True
        elif it.cat == "expr":
            st.set("expression", it.value, it.text)
        elif it.cat == "pose":
            st.set("pose_hint", it.value, it.text)
            st.sporty = st.sporty or it.value in SPORTY_POSES
        elif it.cat == "part" and it.value == "number":
            number_word = it
        else:
            long_coat = it.cat == "coat" and "pirate-coat" not in st.pieces and it.text.lower() == "coat"
            if long_coat and any(p.cat == "len" and p.value == "long" for p in pending):
                idx = next(j for j, p in enumerate(pending) if p.cat == "len" and p.value == "long")
                adj = pending.pop(idx)
                both = None if adj.span is None or it.span is None else (adj.span[0], it.span[1])
                it = Item("garment", ("long-coat",), f"{adj.text} {it.text}", both)
            target = _noun(st, it)
            if target is None:  # an unknown noun: its adjectives are not understood either
                for adj in pending:
                    st.unknown(adj)
                pending.clear()
                st.unknown(it)
                continue
            st.links += [(adj, it) for adj in pending]
            _bind(st, pending, target)
            pending.clear()
            last = target
            st.last_item = it
    if number_word:
        st.unknown(number_word)
    if negation is not None:
        st.unknown(negation)
    _flush(st, pending, last)


def _role_colours(st: _State, word: str) -> None:
    """The colours a role or costume word gives its pieces ("miko": white top, red hakama), as
    defaults that a colour the prompt names replaces."""
    for kind, name in ROLE_COLOURS.get(word.lower(), {}).items():
        if kind in st.pieces:
            st.pieces[kind].default = Colour.named(name)


def _noun(st: _State, it: Item) -> tuple[str, object] | None:
    """Register a noun and return the target its adjectives bind to, or None if not a noun."""
    if it.cat == "person":
        gender, age, build, pieces, accs = it.value  # type: ignore[misc]
        if gender is not None:
            st.set("body.gender", gender, it.text)
        if age is not None:
            st.set("body.noun_age", age, it.text)
        if build == "sporty":
            st.sporty = True
        elif build == "redhead":
            st.set("hair.colour", "red", it.text)
        elif build is not None:
            st.set("body.build", build, it.text)
        for k in pieces:
            st.add_piece(k, it.text, implied_by=it.text)
        for a in accs:
            st.add_acc(a, it.text, implied_by=it.text)
        _role_colours(st, it.text)
        return ("person", None)
    if it.cat in ("hair", "eyes", "skin", "outfit"):
        return (it.cat, None)
    if it.cat == "style":
        st.set("hair.style", it.value, it.text)
        return ("style", None)
    if it.cat == "hairmod":  # texture, ahoge, two-tone: adjectives around it describe the hair
        key, val = it.value  # type: ignore[misc]
        st.set(f"hair.{key}", val, it.text)
        return ("style", None)
    if it.cat == "tips":
        return ("tips", None)
    if it.cat == "bangs":
        st.set("hair.bangs", it.value or "some", it.text)
        return ("bangs", None)
    if it.cat == "garment":
        kinds = tuple(it.value)  # type: ignore[arg-type]
        for k in kinds:
            st.add_piece(k, it.text)
        kinds = tuple("kimono-top" if k == "kimono" and k not in st.pieces and "kimono-top" in st.pieces else k
                      for k in kinds)
        _role_colours(st, it.text)
        st.last_garment = kinds[0]
        return ("garment", kinds)
    if it.cat == "coat":
        if "pirate-coat" in st.pieces:
            kind = "pirate-coat"
        elif it.text.lower() == "jacket":
            kind = "hoodie"
        else:
            kind = "long-coat"
        if kind != "pirate-coat":
            st.notes.append(f"outfit: '{it.text}' read as {kind}")
        st.add_piece(kind, it.text)
        st.last_garment = kind
        return ("garment", (kind,))
    if it.cat == "acc":
        st.add_acc(str(it.value), it.text)
        return ("acc", it.value)
    if it.cat == "hat":
        hats = [k for k in st.acc if ACCESSORY_SLOT[k] == "hat"]
        kind = hats[0] if hats else "cap"
        if not hats:
            st.notes.append(f"accessories: '{it.text}' read as cap")
        st.add_acc(kind, it.text)
        return ("acc", kind)
    if it.cat == "part":  # obi / trim
        if it.value == "obi":
            if "kimono" not in st.pieces:
                st.add_piece("kimono", it.text)
            return ("part", ("obi", "kimono"))
        if st.last_garment is None or st.last_garment not in st.pieces:
            return None
        return ("part", ("trim", st.last_garment))
    return None


def _check_inputs(prompt: object, seed: object) -> None:
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be text, got {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError("prompt is empty, expected a description such as 'an anime girl in a kimono'")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"prompt has {len(prompt)} characters, expected at most {MAX_PROMPT_CHARS}")
    bad = next((i for i, c in enumerate(prompt) if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"prompt holds the control character U+{ord(prompt[bad]):04X} at position {bad}, expected text")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**63 - 1:
        raise ValueError(f"seed {seed!r} is not valid, expected an integer 0..{2**63 - 1}")


def parse_prompt(prompt: str, seed: int = 0) -> CharacterSpec:
    """Read a character description into a ``CharacterSpec``; deterministic in (prompt, seed).

    Raises ``ValueError`` (one line) for an empty or whitespace prompt, a prompt over 2000
    characters or holding control characters (other than tab and newline), or a seed that is
    not an integer 0..2**63-1.
    """
    _check_inputs(prompt, seed)
    st = _State()
    _walk(segment(prompt), st)
    dr = _Draws(seed)
    body, gender = _body(st, dr)
    hair = _hair(st, _hair_draws(seed, st, gender), gender)
    eye_name = st.get("eye_colour") or dr.pick("eye_colour", EYE_PALETTE)
    skin = _skin(st, dr)
    expression = st.get("expression") or dr.pick("expression", ("neutral", "smile", "happy"))
    _complete_outfit(st, dr, gender)
    outfit = _outfit(st, dr)
    accessories = _accessories(st, dr, hair, outfit)
    pose_hint = st.get("pose_hint")
    return CharacterSpec(
        prompt=prompt,
        seed=seed,
        body=body,
        hair=hair,
        eye_colour=Colour.named(str(eye_name)),
        skin_tone=skin,
        outfit=outfit,
        accessories=accessories,
        expression=str(expression),
        pose_hint=None if pose_hint is None else str(pose_hint),
        unparsed=tuple(st.unparsed),
        notes=tuple(st.notes),
    )
