"""The typed character spec (``character.json``): what ``kyara create`` builds a character from.

``CharacterSpec`` is a tree of frozen dataclasses. ``to_json()`` writes it in a fixed field order
with 2-space indentation, floats rounded to 3 decimals and a trailing newline, so the same prompt
and seed give byte-identical files. ``from_json(text)`` / ``load_spec(path)`` read a (possibly
hand-edited) file back and validate it strictly: unknown or missing fields, wrong types, unknown
kinds and malformed colours raise ``ValueError`` with one line naming the field path
(``outfit[1].colour``) and what was expected.

Colours are ``{"name": "navy", "hex": "#1f2a55"}`` (sRGB); a hand-edited file may write a colour
as a plain string instead, either a colour word known to :mod:`kyara.character.colors` or
``#rrggbb``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kyara.body.params import PRESET_NAMES, BodyParams, get_preset
from kyara.character.colors import colour_hex, hex_to_rgb, is_hex

SPEC_VERSION = 1
MAX_SPEC_CHARS = 1_000_000  # a character.json is about 2 KB; a larger file is refused before parsing

HAIR_LENGTHS = ("short", "medium", "long")
HAIR_STYLES = ("short", "bob", "long", "ponytail", "twin-tails", "spiky", "braided", "hime", "low-ponytail",
               "side-ponytail", "buns", "drills")  # "ponytail" is tied high, "low-ponytail" at the nape
HAIR_TEXTURES = ("straight", "wavy", "curly")
# Lengths each style can be drawn with (the parser keeps length and style compatible).
STYLE_LENGTHS: dict[str, tuple[str, ...]] = {
    "short": ("short",),
    "bob": ("short", "medium"),
    "long": ("long",),
    "ponytail": ("medium", "long"),
    "twin-tails": ("medium", "long"),
    "spiky": ("short", "medium"),
    "braided": ("medium", "long"),
    "hime": ("long",),
    "low-ponytail": ("medium", "long"),
    "side-ponytail": ("medium", "long"),
    "buns": ("short", "medium"),
    "drills": ("medium", "long"),
}
BANGS = ("none", "blunt", "side-swept", "parted")
EXPRESSIONS = ("neutral", "smile", "happy", "angry", "sad", "surprised")
# The named poses of kyara.pose (issue 2); a prompt's "jogging" becomes pose_hint "jog".
POSE_HINTS = (
    "a-pose", "t-pose", "stand", "walk", "jog", "run", "jump", "leap", "sit", "kneel", "wave",
    "dab", "kung-fu", "punch", "kick", "arms-crossed", "peace-sign",
)

# Outfit pieces and the body slot each covers. "full" covers top and bottom (kimono, dress,
# robe); "outer" is worn over a top (coats); "legs" is legwear under everything (thighhighs). A spec holds at most one piece per slot.
PIECE_SLOT: dict[str, str] = {
    "kimono": "full",
    "dress": "full",
    "witch-robe": "full",
    "maid-dress": "full",
    "lolita-dress": "full",
    "idol-dress": "full",
    "school-swimsuit": "full",
    "sailor-uniform": "top",
    "hoodie": "top",
    "sports-jersey": "top",
    "t-shirt": "top",
    "kimono-top": "top",
    "skirt": "bottom",
    "shorts": "bottom",
    "trousers": "bottom",
    "hakama": "bottom",
    "long-coat": "outer",
    "pirate-coat": "outer",
    "boots": "feet",
    "sneakers": "feet",
    "sandals": "feet",
    "thighhighs": "legs",
}
OUTFIT_KINDS = tuple(PIECE_SLOT)
SLOTS = ("full", "top", "bottom", "outer", "feet", "legs")

# Accessories; the hats (and the maid's headdress) share the "hat" slot (at most one hat).
ACCESSORY_SLOT: dict[str, str] = {
    "glasses": "glasses",
    "witch-hat": "hat",
    "tricorn-hat": "hat",
    "cap": "hat",
    "maid-headdress": "hat",
    "ribbon": "ribbon",
    "cat-ears": "cat-ears",
    "scarf": "scarf",
}
ACCESSORY_KINDS = tuple(ACCESSORY_SLOT)

# heads_tall overrides allowed per body preset (each contains the preset's own value).
HEADS_TALL_RANGE: dict[str, tuple[float, float]] = {
    "chibi": (2.0, 3.0),
    "child": (4.0, 5.5),
    "teen-girl": (6.0, 7.0),
    "teen-boy": (6.3, 7.3),
    "adult-woman": (6.8, 7.8),
    "adult-man": (7.0, 8.0),
    "heroic": (8.0, 8.5),
}
HEIGHT_SCALE_RANGE = (0.85, 1.15)  # height override / preset height


def height_range(preset: str) -> tuple[float, float]:
    """Allowed height override for a preset, metres (``HEIGHT_SCALE_RANGE`` x preset height)."""
    h = get_preset(preset).height
    return round(h * HEIGHT_SCALE_RANGE[0], 3), round(h * HEIGHT_SCALE_RANGE[1], 3)


# --------------------------------------------------------------------------------------------
# Validation helpers: every failure is one line "<path>: expected <what>, got <value>".


def _got(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{path}: expected {expected}, got {_got(value)}")


def _obj(data: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(data, dict):
        raise _fail(path, "an object", data)
    allowed = required + optional
    for key in data:
        if key not in allowed:
            raise ValueError(f"{_join(path, key)}: unknown field, expected one of {', '.join(allowed)}")
    for key in required:
        if key not in data:
            raise ValueError(f"{_join(path, key)}: missing field")
    return data


def _join(path: str, key: str) -> str:
    return key if not path else f"{path}.{key}"


def _str(value: Any, path: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str):
        raise _fail(path, "a string" if choices is None else f"one of {', '.join(choices)}", value)
    if choices is not None and value not in choices:
        raise _fail(path, f"one of {', '.join(choices)}", value)
    return value


def _int(value: Any, path: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(path, f"an integer {low}..{high}", value)
    return value


def _float(value: Any, path: str, low: float, high: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if not ok or not low <= float(value) <= high:
        raise _fail(path, f"a number {low}..{high}", value)
    return round(float(value), 3)


def _str_list(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(path, "a list of strings", value)
    return tuple(_str(v, f"{path}[{i}]") for i, v in enumerate(value))


# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Colour:
    """A named sRGB colour. ``name`` is the word the prompt used (or the drawn palette entry)."""

    name: str
    hex: str  # "#rrggbb", lower case, sRGB

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise _fail("colour.name", "a non-empty string", self.name)
        if not is_hex(self.hex):
            raise _fail("colour.hex", "#rrggbb", self.hex)
        object.__setattr__(self, "hex", self.hex.lower())

    @property
    def rgb(self) -> tuple[float, float, float]:
        """sRGB in [0, 1]."""
        return hex_to_rgb(self.hex)

    @classmethod
    def named(cls, name: str) -> "Colour":
        """Colour from a colour word ("navy", "pastel pink"); ``ValueError`` when unknown."""
        h = colour_hex(name)
        if h is None:
            raise ValueError(f"unknown colour '{name}', expected a colour word or #rrggbb")
        return cls(name, h)

    @classmethod
    def from_data(cls, data: Any, path: str) -> "Colour":
        if isinstance(data, str):
            if is_hex(data):
                return cls(data.lower(), data.lower())
            h = colour_hex(data)
            if h is None:
                raise _fail(path, "a colour word, #rrggbb or {name, hex}", data)
            return cls(data, h)
        d = _obj(data, path, ("name", "hex"))
        name = _str(d["name"], f"{path}.name")
        if not name.strip():
            raise _fail(f"{path}.name", "a non-empty string", name)
        if not is_hex(d["hex"]):
            raise _fail(f"{path}.hex", "#rrggbb", d["hex"])
        return cls(name, d["hex"])


def _opt_colour(data: Any, path: str) -> Colour | None:
    return None if data is None else Colour.from_data(data, path)


@dataclass(frozen=True)
class BodySpec:
    preset: str = "teen-girl"  # one of kyara.body.params.PRESET_NAMES
    heads_tall: float | None = None  # override within HEADS_TALL_RANGE[preset]
    height: float | None = None  # metres, override within height_range(preset)

    def __post_init__(self) -> None:
        _str(self.preset, "body.preset", PRESET_NAMES)
        if self.heads_tall is not None:
            lo, hi = HEADS_TALL_RANGE[self.preset]
            object.__setattr__(self, "heads_tall", _float(self.heads_tall, "body.heads_tall", lo, hi))
        if self.height is not None:
            lo, hi = height_range(self.preset)
            object.__setattr__(self, "height", _float(self.height, "body.height", lo, hi))

    def params(self) -> BodyParams:
        """The preset's ``BodyParams`` with the overrides applied."""
        changes = {k: v for k, v in (("heads_tall", self.heads_tall), ("height", self.height)) if v is not None}
        return get_preset(self.preset).replace(**changes)

    @classmethod
    def from_data(cls, data: Any, path: str = "body") -> "BodySpec":
        d = _obj(data, path, ("preset",), ("heads_tall", "height"))
        preset = _str(d["preset"], f"{path}.preset", PRESET_NAMES)
        ht = d.get("heads_tall")
        h = d.get("height")
        if ht is not None:
            ht = _float(ht, f"{path}.heads_tall", *HEADS_TALL_RANGE[preset])
        if h is not None:
            h = _float(h, f"{path}.height", *height_range(preset))
        return cls(preset, ht, h)


@dataclass(frozen=True)
class HairSpec:
    colour: Colour
    length: str = "medium"  # HAIR_LENGTHS
    style: str = "long"  # HAIR_STYLES
    bangs: str = "blunt"  # BANGS
    tips: Colour | None = None  # two-tone hair: the colour the locks fade to at their tips
    texture: str = "straight"  # HAIR_TEXTURES
    ahoge: bool = False  # a lone strand standing up from the crown

    def __post_init__(self) -> None:
        _str(self.length, "hair.length", HAIR_LENGTHS)
        _str(self.style, "hair.style", HAIR_STYLES)
        _str(self.bangs, "hair.bangs", BANGS)
        _str(self.texture, "hair.texture", HAIR_TEXTURES)
        if not isinstance(self.ahoge, bool):
            raise _fail("hair.ahoge", "true or false", self.ahoge)
        if self.tips is not None and not isinstance(self.tips, Colour):
            raise _fail("hair.tips", "a colour or null", self.tips)

    @classmethod
    def from_data(cls, data: Any, path: str = "hair") -> "HairSpec":
        d = _obj(data, path, ("colour", "length", "style", "bangs"), ("tips", "texture", "ahoge"))
        ahoge = d.get("ahoge", False)
        if not isinstance(ahoge, bool):
            raise _fail(f"{path}.ahoge", "true or false", ahoge)
        return cls(
            Colour.from_data(d["colour"], f"{path}.colour"),
            _str(d["length"], f"{path}.length", HAIR_LENGTHS),
            _str(d["style"], f"{path}.style", HAIR_STYLES),
            _str(d["bangs"], f"{path}.bangs", BANGS),
            _opt_colour(d.get("tips"), f"{path}.tips"),
            _str(d.get("texture", "straight"), f"{path}.texture", HAIR_TEXTURES),
            ahoge,
        )


@dataclass(frozen=True)
class OutfitPiece:
    """One garment. ``trim``: collar/cuffs/edging (a coat's gold braid, a jersey's number);
    ``number``: the sports jersey's number (only there); ``obi``: the kimono's sash (only there)."""

    kind: str  # OUTFIT_KINDS
    colour: Colour
    trim: Colour | None = None
    number: int | None = None  # 0..99, sports-jersey only
    obi: Colour | None = None  # kimono only

    def __post_init__(self) -> None:
        _check_piece(self, "outfit piece")

    @property
    def slot(self) -> str:
        return PIECE_SLOT[self.kind]

    @classmethod
    def from_data(cls, data: Any, path: str) -> "OutfitPiece":
        d = _obj(data, path, ("kind", "colour"), ("trim", "number", "obi"))
        kind = _str(d["kind"], f"{path}.kind", OUTFIT_KINDS)
        number = d.get("number")
        if kind == "sports-jersey":
            number = _int(number, f"{path}.number", 0, 99)
        elif number is not None:
            raise _fail(f"{path}.number", "null (only a sports-jersey has a number)", number)
        obi = d.get("obi")
        if kind == "kimono":
            obi = Colour.from_data(obi, f"{path}.obi")
        elif obi is not None:
            raise _fail(f"{path}.obi", "null (only a kimono has an obi)", obi)
        colour = Colour.from_data(d["colour"], f"{path}.colour")
        trim = _opt_colour(d.get("trim"), f"{path}.trim")
        return cls(kind, colour, trim, number, obi)


def _check_piece(p: OutfitPiece, path: str) -> None:
    _str(p.kind, f"{path}.kind", OUTFIT_KINDS)
    for name in ("colour", "trim", "obi"):
        v = getattr(p, name)
        if v is not None and not isinstance(v, Colour):
            raise _fail(f"{path}.{name}", "a Colour", v)
    if not isinstance(p.colour, Colour):
        raise _fail(f"{path}.colour", "a Colour", p.colour)
    if p.kind == "sports-jersey":
        _int(p.number, f"{path}.number", 0, 99)
    elif p.number is not None:
        raise _fail(f"{path}.number", "null (only a sports-jersey has a number)", p.number)
    if p.kind == "kimono" and p.obi is None:
        raise _fail(f"{path}.obi", "a colour (a kimono has an obi)", None)
    if p.kind != "kimono" and p.obi is not None:
        raise _fail(f"{path}.obi", "null (only a kimono has an obi)", p.obi.name)


@dataclass(frozen=True)
class Accessory:
    kind: str  # ACCESSORY_KINDS
    colour: Colour

    def __post_init__(self) -> None:
        _str(self.kind, "accessory.kind", ACCESSORY_KINDS)
        if not isinstance(self.colour, Colour):
            raise _fail("accessory.colour", "a Colour", self.colour)

    @classmethod
    def from_data(cls, data: Any, path: str) -> "Accessory":
        d = _obj(data, path, ("kind", "colour"))
        return cls(_str(d["kind"], f"{path}.kind", ACCESSORY_KINDS), Colour.from_data(d["colour"], f"{path}.colour"))


def _check_outfit(outfit: tuple[OutfitPiece, ...], path: str = "outfit") -> None:
    taken: dict[str, int] = {}
    for i, p in enumerate(outfit):
        slots = ("full", "top", "bottom") if p.slot == "full" else (p.slot,)
        for s in slots:
            if s in taken:
                raise ValueError(
                    f"{path}[{i}].kind: '{p.kind}' takes the {s} slot already taken by "
                    f"{path}[{taken[s]}] '{outfit[taken[s]].kind}', expected one piece per slot"
                )
        for s in slots:
            taken[s] = i


def _check_accessories(acc: tuple[Accessory, ...], path: str = "accessories") -> None:
    taken: dict[str, int] = {}
    for i, a in enumerate(acc):
        s = ACCESSORY_SLOT[a.kind]
        if s in taken:
            raise ValueError(f"{path}[{i}].kind: '{a.kind}' repeats the {s} of {path}[{taken[s]}], expected at most one")
        taken[s] = i


@dataclass(frozen=True)
class CharacterSpec:
    """Everything ``kyara create`` needs to build a character. See the module docstring."""

    prompt: str
    seed: int
    body: BodySpec
    hair: HairSpec
    eye_colour: Colour
    skin_tone: Colour
    outfit: tuple[OutfitPiece, ...]
    accessories: tuple[Accessory, ...] = ()
    expression: str = "neutral"  # EXPRESSIONS
    pose_hint: str | None = None  # POSE_HINTS, e.g. "jog" from "jogging"
    unparsed: tuple[str, ...] = ()  # prompt words not understood, in order
    notes: tuple[str, ...] = ()  # how contradictions and defaults were resolved
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "outfit", tuple(self.outfit))
        object.__setattr__(self, "accessories", tuple(self.accessories))
        object.__setattr__(self, "unparsed", tuple(self.unparsed))
        object.__setattr__(self, "notes", tuple(self.notes))
        _str(self.prompt, "prompt")
        _int(self.seed, "seed", 0, 2**63 - 1)
        _str(self.expression, "expression", EXPRESSIONS)
        if self.pose_hint is not None:
            _str(self.pose_hint, "pose_hint", POSE_HINTS)
        _int(self.version, "version", SPEC_VERSION, SPEC_VERSION)
        _check_outfit(self.outfit)
        _check_accessories(self.accessories)

    # -- queries -------------------------------------------------------------------------------
    def piece(self, kind: str) -> OutfitPiece | None:
        """The outfit piece of this kind, or None."""
        return next((p for p in self.outfit if p.kind == kind), None)

    def accessory(self, kind: str) -> Accessory | None:
        return next((a for a in self.accessories if a.kind == kind), None)

    # -- serialisation ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, fields in a fixed order (``version`` first)."""
        d = dataclasses.asdict(self)
        ordered = {"version": d.pop("version")}
        ordered.update(d)
        return _lists(ordered)

    def to_json(self) -> str:
        """The ``character.json`` text: fixed field order, indent 2, trailing newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> "CharacterSpec":
        d = _obj(
            data, "",
            ("version", "prompt", "seed", "body", "hair", "eye_colour", "skin_tone", "outfit"),
            ("accessories", "expression", "pose_hint", "unparsed", "notes"),
        ) if isinstance(data, dict) else None
        if d is None:
            raise _fail("character spec", "a JSON object", data)
        _int(d["version"], "version", SPEC_VERSION, SPEC_VERSION)
        if not isinstance(d["outfit"], list):
            raise _fail("outfit", "a list of outfit pieces", d["outfit"])
        acc_data = d.get("accessories", [])
        if not isinstance(acc_data, list):
            raise _fail("accessories", "a list of accessories", acc_data)
        outfit = tuple(OutfitPiece.from_data(p, f"outfit[{i}]") for i, p in enumerate(d["outfit"]))
        accessories = tuple(Accessory.from_data(a, f"accessories[{i}]") for i, a in enumerate(acc_data))
        _check_outfit(outfit)
        _check_accessories(accessories)
        pose_hint = d.get("pose_hint")
        return cls(
            prompt=_str(d["prompt"], "prompt"),
            seed=_int(d["seed"], "seed", 0, 2**63 - 1),
            body=BodySpec.from_data(d["body"], "body"),
            hair=HairSpec.from_data(d["hair"], "hair"),
            eye_colour=Colour.from_data(d["eye_colour"], "eye_colour"),
            skin_tone=Colour.from_data(d["skin_tone"], "skin_tone"),
            outfit=outfit,
            accessories=accessories,
            expression=_str(d.get("expression", "neutral"), "expression", EXPRESSIONS),
            pose_hint=None if pose_hint is None else _str(pose_hint, "pose_hint", POSE_HINTS),
            unparsed=_str_list(d.get("unparsed", []), "unparsed"),
            notes=_str_list(d.get("notes", []), "notes"),
        )

    @classmethod
    def from_json(cls, text: str) -> "CharacterSpec":
        """Parse and validate ``character.json`` text. ``ValueError`` (one line) on any problem."""
        if not isinstance(text, str):
            raise _fail("character spec", "JSON text", text)
        if len(text) > MAX_SPEC_CHARS:
            raise ValueError(f"character spec has {len(text)} characters, expected at most {MAX_SPEC_CHARS}")
        try:
            data = json.loads(text.removeprefix("\ufeff"), object_pairs_hook=_no_duplicates,
                              parse_constant=_no_constants)
        except json.JSONDecodeError as exc:
            raise ValueError(f"character spec is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except _SpecJSONError as exc:
            raise ValueError(str(exc)) from None
        except RecursionError:
            raise ValueError("character spec is nested too deeply, expected the flat layout of character.json") from None
        except ValueError as exc:  # e.g. an integer of thousands of digits
            raise ValueError(f"character spec is not valid JSON: {' '.join(str(exc).split())[:160]}") from None
        return cls.from_dict(data)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


class _SpecJSONError(ValueError):
    """Raised by the JSON hooks below (their message is already the one line to show)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _SpecJSONError(f"character spec has the field '{k[:60]}' twice, expected each field once")
        out[k] = v
    return out


def _no_constants(name: str) -> Any:
    raise _SpecJSONError(f"character spec contains {name}, expected finite numbers")


def from_json(text: str) -> CharacterSpec:
    """See :meth:`CharacterSpec.from_json`."""
    return CharacterSpec.from_json(text)


def load_spec(path: str | os.PathLike) -> CharacterSpec:
    """Read and validate a ``character.json``. Errors name the file and the field path."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"character spec '{p}' does not exist")
    if p.is_dir():
        raise ValueError(f"character spec '{p}' is a folder, expected a .json file")
    size = p.stat().st_size
    if size > MAX_SPEC_CHARS * 4:  # before reading: UTF-8 takes at most 4 bytes a character
        raise ValueError(f"character spec '{p}' is {size} bytes, expected a character.json of at most "
                         f"{MAX_SPEC_CHARS} characters")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"character spec '{p}' is not UTF-8 text") from None
    try:
        return CharacterSpec.from_json(text)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None


def save_spec(spec: CharacterSpec, path: str | os.PathLike) -> Path:
    """Write ``spec.to_json()`` to ``path`` atomically."""
    from kyara.fileio import write_text_atomic

    return write_text_atomic(path, spec.to_json())
