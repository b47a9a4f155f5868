"""Step 3 of the prompt parser (:mod:`kyara.character.parser`): fill what the prompt left open.

Body preset, hair, eyes, skin, expression, the missing outfit pieces and every colour come from
``numpy.random.default_rng(seed)``: one fixed vector of uniform draws, one named slot per attribute
(:data:`DRAW_SLOTS`), so fixing one attribute in the prompt never changes how another is drawn.
Slots of kinds added later are appended at the end, so the draws of older kinds (and every
character made from an older prompt) stay the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kyara.body.params import get_preset
from kyara.character.colors import (
    ACCESSORY_COLOURS, DEFAULT_TRIMS, EYE_PALETTE, HAIR_PALETTE, KIND_COLOURS, KIND_TRIMS, OBI_PALETTE,
    SKIN_PALETTE, canonical_skin_name, skin_tone_hex,
)
from kyara.character.lexicon import GIRLISH_STYLES, TEXTURE_STYLES
from kyara.character.spec import (
    ACCESSORY_KINDS, HEADS_TALL_RANGE, OUTFIT_KINDS, PIECE_SLOT, STYLE_LENGTHS, Accessory, BodySpec, Colour,
    HairSpec, OutfitPiece, height_range,
)

if TYPE_CHECKING:
    from kyara.character.parser import _State

# the outfit and accessory kinds of the first vocabulary: their slots keep their place
_FIRST_KINDS = ("kimono", "dress", "witch-robe", "sailor-uniform", "hoodie", "sports-jersey", "t-shirt", "skirt",
                "shorts", "trousers", "long-coat", "pirate-coat", "boots", "sneakers", "sandals")
_FIRST_ACCESSORIES = ("glasses", "witch-hat", "tricorn-hat", "cap", "ribbon", "cat-ears", "scarf")
_LATER_KINDS = tuple(k for k in OUTFIT_KINDS if k not in _FIRST_KINDS)
_LATER_ACCESSORIES = tuple(a for a in ACCESSORY_KINDS if a not in _FIRST_ACCESSORIES)

# One uniform draw per named slot, always all of them, in this order.
DRAW_SLOTS: tuple[str, ...] = (
    ("preset", "hair.colour", "hair.length", "hair.style", "hair.bangs", "eye_colour", "skin_tone",
     "expression", "top", "bottom", "feet", "number", "obi")
    + tuple(f"{k}.colour" for k in _FIRST_KINDS) + tuple(f"{k}.trim" for k in _FIRST_KINDS)
    + tuple(f"{a}.colour" for a in _FIRST_ACCESSORIES)
    + ("hair.texture", "hair.tone", "hair.tips")
    + tuple(f"{k}.{attr}" for k in _LATER_KINDS for attr in ("colour", "trim"))
    + tuple(f"{a}.colour" for a in _LATER_ACCESSORIES)
)


_SLOT_INDEX = {name: i for i, name in enumerate(DRAW_SLOTS)}
_LENGTH_ORDER = ("short", "medium", "long")


class _Draws:
    """Named uniform draws: ``pick(slot, options)`` always reads the same number for a slot."""

    def __init__(self, seed: int) -> None:
        import numpy as np

        self.u = np.random.default_rng(seed).random(len(DRAW_SLOTS))  # [S] in [0, 1)

    def unit(self, slot: str) -> float:
        return float(self.u[_SLOT_INDEX[slot]])

    def pick(self, slot: str, options: tuple[str, ...] | list[str]) -> str:
        return options[min(int(self.unit(slot) * len(options)), len(options) - 1)]


def _body(st: "_State", dr: _Draws) -> tuple[BodySpec, str | None]:
    gender = st.get("body.gender")
    age = st.get("body.noun_age")
    adj = st.get("body.age")
    if adj == "teen":
        age = "teen" if age in (None, "adult", "teen") else age
    elif adj is not None:
        age = adj
    build = st.get("body.build")
    if build == "chibi":
        preset = "chibi"
    elif age == "child":
        preset = "child"
    elif build == "heroic":
        preset = "heroic"
    elif gender is not None:
        preset = {("f", True): "adult-woman", ("f", False): "teen-girl",
                  ("m", True): "adult-man", ("m", False): "teen-boy"}[(str(gender), age == "adult")]
    else:
        options = {"adult": ("adult-woman", "adult-man"), "teen": ("teen-girl", "teen-boy")}.get(
            str(age), ("teen-girl", "teen-boy", "adult-woman", "adult-man"))
        preset = dr.pick("preset", options)
    if gender is None:
        gender = {"teen-girl": "f", "adult-woman": "f", "teen-boy": "m", "adult-man": "m"}.get(preset)
    heads_tall = height = None
    size = st.get("body.height")
    lo, hi = HEADS_TALL_RANGE[preset]
    if size is not None:
        heads_tall = hi if size == "tall" else lo
        base = get_preset(preset).height
        hlo, hhi = height_range(preset)
        height = min(max(round(base * (1.1 if size == "tall" else 0.9), 3), hlo), hhi)
    explicit = st.fixed.get("body.heads_tall")
    if explicit is not None:
        v = float(explicit.value)  # type: ignore[arg-type]
        heads_tall = min(max(v, lo), hi)
        if heads_tall != v:
            st.notes.append(f"body.heads_tall: '{explicit.word}' clamped to {heads_tall:g}, the {preset} range is {lo:g}..{hi:g}")
    return BodySpec(preset, heads_tall, height), (None if gender is None else str(gender))


def _hair(st: "_State", dr: _Draws, gender: str | None) -> HairSpec:
    style_f = st.fixed.get("hair.style")
    length_f = st.fixed.get("hair.length")
    style = None if style_f is None else str(style_f.value)
    length = None if length_f is None else str(length_f.value)
    if style is not None and length is not None and length not in STYLE_LENGTHS[style]:
        if style_f.seq > length_f.seq:  # type: ignore[union-attr]
            fit = min(STYLE_LENGTHS[style], key=lambda L: abs(_LENGTH_ORDER.index(L) - _LENGTH_ORDER.index(length)))
            st.notes.append(f"hair.length: '{length_f.word}' changed to {fit} to suit the later '{style_f.word}'")  # type: ignore[union-attr]
            length = fit
        else:
            st.notes.append(f"hair.style: '{style_f.word}' dropped for the later '{length_f.word}' hair")  # type: ignore[union-attr]
            style = None
    if length is None:
        if style is not None:
            length = dr.pick("hair.length", STYLE_LENGTHS[style])
        else:
            options = {"m": ("short", "short", "medium"), "f": ("short", "medium", "long", "long")}
            length = dr.pick("hair.length", options.get(str(gender), _LENGTH_ORDER))
    open_style = style is None  # the seed also draws texture and two-tone for an open style
    if style is None:
        styles = [s for s in STYLE_LENGTHS if length in STYLE_LENGTHS[s] and not (gender == "m" and s in GIRLISH_STYLES)]
        if length in STYLE_LENGTHS:  # the plain style of that length counts twice
            styles.append(length)
        style = dr.pick("hair.style", sorted(styles, key=list(STYLE_LENGTHS).index))
    colour = st.get("hair.colour")
    if colour is None:
        colour = dr.pick("hair.colour", HAIR_PALETTE)
    bangs = st.get("hair.bangs")
    if bangs is None and style == "hime":
        bangs = "blunt"  # a hime cut is straight bangs and straight-cut side locks
    elif bangs is None:
        bangs = dr.pick("hair.bangs", ("blunt", "blunt", "side-swept", "parted", "none"))
    elif bangs == "some":
        bangs = dr.pick("hair.bangs", ("blunt", "side-swept", "parted"))
    texture = st.get("hair.texture")
    if texture is None:
        drawn = open_style and style in TEXTURE_STYLES
        texture = dr.pick("hair.texture", ("straight",) * 5 + ("wavy", "wavy", "curly")) if drawn else "straight"
    ahoge = bool(st.get("hair.ahoge"))  # only when asked for: a quirk, not a default
    tips = st.get("hair.tips")
    seed_tone = open_style and "hair.colour" not in st.fixed and dr.unit("hair.tone") < 0.12
    if tips is None and (st.get("hair.tone") is not None or seed_tone):
        tips = _not_same(dr, "hair.tips", HAIR_PALETTE, str(colour))
    tips_colour = None if tips is None else Colour.named(str(tips))
    return HairSpec(Colour.named(str(colour)), length, style, str(bangs), tips_colour, str(texture), ahoge)


def _hair_draws(seed: int, st: "_State", gender: str | None) -> _Draws:
    """The hair's own draws, seeded by ``seed`` and by who the character is (gender and the pieces and
    accessories the prompt named): characters that share a seed do not all share one haircut."""
    import zlib

    key = "|".join([str(gender)] + sorted(st.pieces) + sorted(st.acc))
    return _Draws([seed, zlib.crc32(key.encode("utf-8"))])  # type: ignore[arg-type]


def _skin(st: "_State", dr: _Draws) -> Colour:
    name = st.get("skin_tone")
    if name is None:
        name = dr.pick("skin_tone", SKIN_PALETTE)
    tone = canonical_skin_name(str(name))
    return Colour(tone, skin_tone_hex(tone)) if tone else Colour.named(str(name))  # type: ignore[arg-type]


def _complete_outfit(st: "_State", dr: _Draws, gender: str | None) -> None:
    """Add the pieces the prompt did not name (step 3): a top, a bottom, shoes."""
    slots = {PIECE_SLOT[k]: k for k in st.pieces}
    ex = {e.split(".")[1] for e in st.excluded if e.startswith("outfit.")}
    if "full" not in slots and "top" not in slots and "top" not in ex:
        if slots.get("bottom") == "hakama":
            top = "kimono-top"
        elif "outer" in slots:
            top = "t-shirt"
        elif st.sporty:
            top = "sports-jersey"
        else:
            options = ["t-shirt", "hoodie"] + (["sailor-uniform", "dress"] if gender == "f" else [])
            if ("bottom" in slots or "full" in ex) and "dress" in options:
                options.remove("dress")
            top = dr.pick("top", options)
        st.put(top)
        slots[PIECE_SLOT[top]] = top
    if "full" not in slots and "bottom" not in slots and "bottom" not in ex:
        top = slots.get("top")
        if top == "kimono-top":
            bottom = "hakama"
        elif top == "sports-jersey" or st.sporty:
            bottom = "shorts"
        elif top == "sailor-uniform":
            bottom = "trousers" if gender == "m" else "skirt"
        elif slots.get("outer") == "pirate-coat":
            bottom = "trousers"
        else:
            bottom = dr.pick("bottom", ("skirt", "shorts", "trousers") if gender == "f" else ("trousers", "shorts"))
        st.put(bottom)
        slots["bottom"] = bottom
    main = slots.get("full") or slots.get("top")
    if "feet" not in slots and "feet" not in ex and main != "school-swimsuit":  # a swimsuit goes barefoot
        if main in ("kimono", "kimono-top"):
            feet = "sandals"
        elif main in ("maid-dress", "lolita-dress", "idol-dress"):
            feet = "boots"
        elif main == "witch-robe" or slots.get("outer") == "pirate-coat":
            feet = "boots"
        elif main == "sports-jersey" or st.sporty:
            feet = "sneakers"
        elif main == "dress":
            feet = dr.pick("feet", ("boots", "sandals", "sneakers"))
        else:
            feet = dr.pick("feet", ("sneakers", "boots"))
        st.put(feet)


def _not_same(dr: _Draws, slot: str, options: tuple[str, ...], avoid: str) -> str:
    """Draw from ``options`` but step to the next entry when the draw equals ``avoid``."""
    name = dr.pick(slot, options)
    if name == avoid and len(set(options)) > 1:
        i = options.index(name)
        name = next(o for o in options[i + 1 :] + options[:i] if o != avoid)
    return name


def _outfit(st: "_State", dr: _Draws) -> tuple[OutfitPiece, ...]:
    main = next((k for k in st.pieces if PIECE_SLOT[k] == "full"), None) or next(
        (k for k in st.pieces if PIECE_SLOT[k] == "top"), None)
    if st.outfit_colour is not None and main is not None:
        if st.pieces[main].colour is None:
            st.pieces[main].colour = st.outfit_colour
        elif st.pieces[main].colour != st.outfit_colour:
            st.notes.append(f"outfit colour '{st.outfit_colour.name}' not used, {main} is {st.pieces[main].colour.name}")  # type: ignore[union-attr]
    number = st.fixed.get("jersey.number")
    if number is not None and "sports-jersey" not in st.pieces:
        st.notes.append(f"jersey number '{number.word}' ignored: no sports jersey")
    out = []
    for kind in OUTFIT_KINDS:  # fixed order: full, top, bottom, outer, feet
        p = st.pieces.get(kind)
        if p is None:
            continue
        colour = p.colour or p.default or Colour.named(dr.pick(f"{kind}.colour", KIND_COLOURS[kind]))
        trim = p.trim or Colour.named(_not_same(dr, f"{kind}.trim", KIND_TRIMS.get(kind, DEFAULT_TRIMS), colour.name))
        num = obi = None
        if kind == "sports-jersey":
            num = int(number.value) if number is not None else 1 + int(dr.unit("number") * 99)  # type: ignore[arg-type]
        if kind == "kimono":
            obi = p.obi or Colour.named(_not_same(dr, "obi", OBI_PALETTE, colour.name))
        out.append(OutfitPiece(kind, colour, trim, num, obi))
    return tuple(out)


def _accessories(st: "_State", dr: _Draws, hair: HairSpec, outfit: tuple[OutfitPiece, ...]) -> tuple[Accessory, ...]:
    robe = next((p.colour for p in outfit if p.kind == "witch-robe"), None)
    out = []
    for kind in ACCESSORY_KINDS:
        if kind not in st.acc:
            continue
        colour = st.acc[kind][0]
        if colour is None and kind == "witch-hat" and robe is not None:
            colour = robe
        elif colour is None and kind == "cat-ears":
            colour = hair.colour
        elif colour is None:
            colour = Colour.named(dr.pick(f"{kind}.colour", ACCESSORY_COLOURS[kind]))
        out.append(Accessory(kind, colour))
    return tuple(out)

