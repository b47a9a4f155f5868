"""kyara's spec vocabulary -> Danbooru tags (the words anime checkpoints were trained on).

Tables here translate the *kinds* of :mod:`kyara.character.spec` (hair styles, outfit kinds,
accessories, poses, expressions) and colour words into Danbooru's spelling: ``twin-tails`` ->
``twintails``, ``sailor-uniform`` -> ``serafuku``, ``peace-sign`` -> ``v``. Colours go to the
nearest colour Danbooru names for that part (CIEDE2000 in CIELAB): ``navy`` -> ``dark blue``, a
hair ``golden`` -> ``blonde``. Tags are lower case with spaces, as prompts write them.
"""

from __future__ import annotations

from functools import lru_cache

# Colour words Danbooru uses, per part. Hair says "blonde" where clothes say "yellow".
HAIR_COLOURS = ("black", "white", "grey", "silver", "red", "pink", "orange", "blonde", "platinum blonde", "brown",
                "light brown", "green", "aqua", "blue", "light blue", "dark blue", "purple", "light purple")
EYE_COLOURS = ("black", "grey", "red", "pink", "orange", "yellow", "brown", "green", "aqua", "blue", "light blue",
               "purple")
CLOTH_COLOURS = ("black", "white", "grey", "silver", "red", "pink", "orange", "yellow", "gold", "brown", "beige",
                 "dark red", "green", "dark green", "aqua", "blue", "light blue", "dark blue", "purple")
_PALETTES = {"hair": HAIR_COLOURS, "eyes": EYE_COLOURS, "cloth": CLOTH_COLOURS}

HAIR_LENGTH = {"short": "short hair", "medium": "medium hair", "long": "long hair"}
HAIR_STYLE: dict[str, tuple[str, ...]] = {
    "short": (), "long": (),  # the length tag says it
    "bob": ("bob cut",),
    "ponytail": ("ponytail", "high ponytail"),  # kyara's ponytail is tied high
    "low-ponytail": ("ponytail", "low ponytail"),
    "side-ponytail": ("side ponytail",),
    "twin-tails": ("twintails",),
    "spiky": ("spiked hair",),
    "braided": ("braid",),
    "hime": ("hime cut", "blunt bangs"),
    "buns": ("hair bun", "double bun"),
    "drills": ("drill hair",),
}
BANGS = {"blunt": "blunt bangs", "side-swept": "swept bangs", "parted": "parted bangs", "none": "forehead"}
TEXTURE = {"straight": "straight hair", "wavy": "wavy hair", "curly": "curly hair"}
EXPRESSION: dict[str, tuple[str, ...]] = {
    "smile": ("smile",),
    "happy": ("smile", "open mouth"),
    "angry": ("angry", "frown"),
    "sad": ("sad", "tears"),
    "surprised": ("surprised", "open mouth"),
    "neutral": ("closed mouth",),
}
POSE: dict[str, tuple[str, ...]] = {
    "a-pose": ("standing", "arms at sides"), "t-pose": ("t-pose",), "stand": ("standing",),
    "walk": ("walking",), "jog": ("jogging", "running"), "run": ("running",), "jump": ("jumping",),
    "leap": ("jumping", "midair"), "sit": ("sitting",), "kneel": ("kneeling",), "wave": ("waving",),
    "dab": ("dab (dance)",), "kung-fu": ("fighting stance", "martial arts"), "punch": ("punching",),
    "kick": ("kicking",), "arms-crossed": ("crossed arms",), "peace-sign": ("v",),
}
# outfit kind -> (tags, the noun a colour goes with: "blue" + "coat" -> "blue coat")
OUTFIT: dict[str, tuple[tuple[str, ...], str]] = {
    "kimono": (("kimono", "japanese clothes"), "kimono"),
    "dress": (("dress",), "dress"),
    "witch-robe": (("robe",), "robe"),
    "sailor-uniform": (("school uniform", "serafuku", "sailor collar"), "serafuku"),
    "hoodie": (("hoodie",), "hoodie"),
    "sports-jersey": (("sportswear",), "shirt"),
    "t-shirt": (("shirt",), "shirt"),
    "skirt": (("skirt",), "skirt"),
    "shorts": (("shorts",), "shorts"),
    "trousers": (("pants",), "pants"),
    "long-coat": (("long coat",), "coat"),
    "pirate-coat": (("coat",), "coat"),
    "boots": (("boots",), "footwear"),
    "sneakers": (("sneakers",), "footwear"),
    "sandals": (("sandals",), "footwear"),
    "maid-dress": (("maid", "maid apron", "frills"), "dress"),
    "lolita-dress": (("lolita fashion", "frilled dress", "layered skirt"), "dress"),
    "idol-dress": (("idol clothes", "frilled skirt"), "dress"),
    "school-swimsuit": (("school swimsuit", "one-piece swimsuit"), "swimsuit"),
    "kimono-top": (("japanese clothes", "kimono"), "kimono"),
    "hakama": (("hakama", "hakama skirt"), "hakama"),
    "thighhighs": (("thighhighs",), "thighhighs"),
}
# a piece in one colour that Danbooru names a look of its own: (kind, colour word) -> tags
OUTFIT_LOOK: dict[tuple[str, str], tuple[str, ...]] = {("lolita-dress", "black"): ("gothic lolita",)}
ACCESSORY: dict[str, tuple[tuple[str, ...], str | None]] = {
    "glasses": (("glasses",), "eyewear"),
    "witch-hat": (("witch hat",), "headwear"),
    "tricorn-hat": (("tricorne", "pirate hat"), "headwear"),
    "cap": (("baseball cap",), "headwear"),
    "ribbon": (("hair ribbon",), "ribbon"),
    "cat-ears": (("cat ears", "animal ears"), None),  # the hair's colour
    "scarf": (("scarf",), "scarf"),
    "maid-headdress": (("maid headdress",), None),
}
SKIN = {"porcelain": "pale skin", "fair": None, "light": None, "tan": "tan", "olive": "tan", "brown": "dark skin",
        "dark": "dark skin"}
BODY = {"chibi": ("chibi",), "child": ("child",), "heroic": ("muscular",)}
HEIGHT = {"tall": "tall", "short": "petite"}
# person words that are a look of their own (the role tag); others are said by their pieces
ROLE = {"catgirl": "cat girl", "cat girl": "cat girl", "nekomimi girl": "cat girl", "neko girl": "cat girl",
        "schoolgirl": "school uniform", "school girl": "school uniform", "buccaneer": "pirate", "captain": "pirate",
        "sorceress": "witch", "sorcerer": "wizard", "mage": "wizard", "athlete": "athlete", "runner": "running",
        "jogger": "jogging", "sportsman": "athlete", "sportswoman": "athlete", "hero": "hero", "heroine": "heroine",
        "warrior": "warrior", "shrine maiden": "miko", "shrine priestess": "miko", "ronin": "samurai",
        "maidservant": "maid", "meido": "maid", "french maid": "maid", "pop idol": "idol", "idol girl": "idol",
        "idolmaster": "idol", "swordsman": "samurai", "swordswoman": "samurai"}


# kyara's colour words (kyara.character.colors.COLOURS) that Danbooru says another way
COLOUR_WORDS = {
    "charcoal": "black", "crimson": "red", "scarlet": "red", "burgundy": "dark red", "maroon": "dark red",
    "hot pink": "pink", "salmon": "pink", "rose": "pink", "magenta": "pink", "coral": "orange", "amber": "orange",
    "golden": "gold", "strawberry blonde": "orange", "chestnut": "brown", "auburn": "brown", "tan": "brown",
    "khaki": "beige", "cream": "beige", "mint": "light green", "emerald": "green", "olive": "green", "lime": "green",
    "teal": "aqua", "turquoise": "aqua", "cyan": "aqua", "sky blue": "light blue", "denim": "blue",
    "navy": "dark blue", "indigo": "dark blue", "violet": "purple", "lavender": "light purple",
    "lilac": "light purple", "plum": "purple",
}
# the same colour in the words of one part ("gold" hair is "blonde", "gold" eyes are "yellow")
_PART_WORDS = {
    "hair": {"yellow": "blonde", "gold": "blonde", "beige": "platinum blonde", "dark red": "red",
             "light green": "green", "dark green": "green"},
    "eyes": {"gold": "yellow", "blonde": "yellow", "platinum blonde": "yellow", "silver": "grey", "white": "grey",
             "beige": "brown", "dark red": "red", "dark blue": "blue", "light purple": "purple",
             "light green": "green", "dark green": "green", "light brown": "brown"},
    "cloth": {"blonde": "yellow", "platinum blonde": "beige", "light green": "green", "light purple": "purple",
              "light brown": "beige"},
}
_LIGHT = ("light", "pale", "pastel")


def _base_colour(word: str, part: str) -> str:
    w = COLOUR_WORDS.get(word, word)
    w = _PART_WORDS[part].get(w, w)
    if w in _PALETTES[part]:
        return w
    from kyara.character.colors import delta_e2000

    lab = _lab(w)  # a colour no table names: the nearest of the part's colours
    return min(_PALETTES[part], key=lambda c: float(delta_e2000(lab, _lab(c))))


@lru_cache(maxsize=None)
def _lab(name: str):
    from kyara.character.colors import colour_hex, hex_to_rgb, srgb_to_lab

    return srgb_to_lab(hex_to_rgb(colour_hex(name)))


def danbooru_colour(name: str, part: str = "cloth") -> str:
    """A kyara colour word (``"navy"``, ``"pastel pink"``) as the colour Danbooru names for ``part``
    (``hair``, ``eyes`` or ``cloth``): "navy" -> "dark blue", "pastel pink" -> "pink" (Danbooru has
    no light pink), "light blue" stays; a hair "golden" is "blonde", an eye "golden" "yellow"."""
    from kyara.character.colors import MODIFIERS, canonical_colour_name

    if part not in _PALETTES:
        raise ValueError(f"colour part '{part}' is unknown, expected one of {', '.join(_PALETTES)}")
    canon = canonical_colour_name(name)
    if canon is None:
        return str(name).lower()  # not a colour word kyara knows (cannot happen for a parsed spec)
    head, _, rest = canon.partition(" ")
    if head in MODIFIERS and rest:
        base = _base_colour(rest, part)
        if head == "bright":
            return base
        shaded = f"{'light' if head in _LIGHT else 'dark'} {base}"
        return shaded if shaded in _PALETTES[part] else base
    return _base_colour(canon, part)
