"""The parser's vocabulary: phrases -> (category, value), and segmentation of a prompt into them.

Categories: ``person`` (gender, age, build, implied pieces, implied accessories), ``age``,
``build``, ``tall``, ``sporty``, ``len``/``mod``/``colour`` (adjectives that bind to a noun),
``hair``, ``style``, ``bangs``, ``hairmod`` (texture, ahoge, two-tone), ``tips`` (two-tone tips),
``eyes``, ``skin``, ``garment`` (outfit kinds), ``coat``, ``outfit``, ``acc`` (accessory kinds),
``hat``, ``part`` (obi, trim, number), ``heads``, ``expr``, ``pose``, ``neg``, ``bare``; ``stop`` (consumed, transparent) and ``bstop``
(consumed, ends an adjective run); ``break`` (punctuation); ``digits``; ``word`` (unknown).
Colour phrases come from :mod:`kyara.character.colors` ("light blue", "platinum blonde").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kyara.character.colors import canonical_colour_name

# Lexicon: phrase (words joined by one space) -> (category, value).

STOP_TRANSPARENT = {"a", "an", "the", "anime", "very", "her", "his", "their", "its", "some", "pair",
                    "pairs", "style", "styled", "cute", "kawaii", "girly", "manga"}
STOP_BINDING = {"with", "in", "and", "wearing", "wears", "wear", "dressed", "tied", "into", "on", "of",
                "has", "having", "is", "who", "that", "while", "plus", "also", "up", "to", "at", "for",
                "by", "as", "she", "he", "they", "it", "both", "plus"}
# "cute", "kawaii", "girly", "manga" are style words the generator has no knob for; they are
# consumed like "anime" rather than reported, because every anime character is meant to be cute.

LEXICON: dict[str, tuple[str, object]] = {}


def _add(category: str, value: object, *phrases: str) -> None:
    for p in phrases:
        LEXICON[p] = (category, value)


# person nouns: value = (gender, age, build, implied pieces, implied accessories)
_add("person", ("f", "teen", None, (), ()), "girl", "gal", "lass", "maiden")
_add("person", ("m", "teen", None, (), ()), "boy", "lad")
_add("person", ("f", "adult", None, (), ()), "woman", "lady", "women")
_add("person", ("m", "adult", None, (), ()), "man", "guy", "gentleman", "men")
_add("person", (None, "child", None, (), ()), "child", "kid", "toddler", "children", "kids")
_add("person", (None, None, "chibi", (), ()), "chibi", "sd")
_add("person", (None, None, "heroic", (), ()), "hero", "heroine", "warrior")
_add("person", (None, None, None, (), ()), "person", "character", "someone", "human", "avatar")
_add("person", (None, "teen", None, (), ()), "teen", "teenager", "student")
_add("person", (None, None, None, ("pirate-coat",), ("tricorn-hat",)), "pirate", "buccaneer", "captain")
_add("person", ("f", None, None, ("witch-robe",), ("witch-hat",)), "witch", "sorceress")
_add("person", (None, None, None, ("witch-robe",), ("witch-hat",)), "wizard", "mage", "sorcerer")
_add("person", ("f", "teen", None, ("sailor-uniform",), ()), "schoolgirl", "school girl")
_add("person", ("m", "teen", None, (), ()), "schoolboy", "school boy")
_add("person", ("f", None, None, ("dress",), ()), "princess")
_add("person", ("f", None, None, (), ("cat-ears",)), "catgirl", "cat girl", "nekomimi girl", "neko girl")
_add("person", ("f", None, None, ("maid-dress",), ("maid-headdress",)), "maid", "maidservant", "meido", "french maid")
_add("person", (None, None, None, ("kimono-top", "hakama"), ()), "samurai", "ronin", "swordsman", "swordswoman")
_add("person", ("f", None, None, ("kimono-top", "hakama"), ()), "miko", "shrine maiden", "shrine priestess")
_add("person", ("f", "teen", None, ("idol-dress",), ()), "idol", "pop idol", "idol girl", "idolmaster")
_add("person", ("f", "teen", None, (), ()), "1girl")
_add("person", ("m", "teen", None, (), ()), "1boy")
_add("person", (None, None, "sporty", (), ()), "athlete", "runner", "jogger", "sportsman", "sportswoman")
_add("person", (None, None, "redhead", (), ()), "redhead")
# adjectives that apply to the body at once
_add("age", "teen", "young", "teenage", "youthful")
_add("age", "adult", "adult", "mature", "grown", "old", "older", "elderly")
_add("age", "child", "little")
_add("build", "chibi", "tiny")
_add("build", "heroic", "muscular", "heroic", "buff")
_add("tall", "tall", "tall")
_add("tall", "short", "petite", "small")
_add("sporty", True, "sporty", "sports", "sport", "athletic", "sportswear", "gym")
# adjectives that bind to the next noun
_add("len", "short", "short", "cropped")
_add("len", "medium", "medium", "medium length", "mid length", "shoulder length", "shoulder")
_add("len", "long", "long", "waist length", "very long", "flowing")
_add("mod", "dark", "dark", "deep")
_add("mod", "light", "light", "pale", "fair", "pastel", "bright")
# nouns
_add("hair", None, "hair", "haired", "hairstyle", "hairdo", "locks", "hairs")
_add("style", "ponytail", "ponytail", "pony tail", "high ponytail", "high pony tail", "tall ponytail")
_add("style", "low-ponytail", "low ponytail", "low pony tail", "low tail", "nape ponytail")
_add("style", "side-ponytail", "side ponytail", "side pony tail", "side tail", "sidetail", "side pony",
     "one side up")
_add("style", "twin-tails", "twintails", "twin tails", "twintail", "twin tail", "pigtails",
     "pig tails", "high twin tails", "high twintails", "low twin tails", "low twintails")
_add("style", "bob", "bob", "bob cut", "bobcut", "bobbed")
_add("style", "spiky", "spiky", "spikey", "spikes", "spiked")
_add("style", "braided", "braid", "braids", "braided", "plait", "plaits", "plaited")
_add("style", "hime", "hime cut", "hime", "himecut", "princess cut", "hime style")
_add("style", "buns", "buns", "bun", "odango", "odangos", "hair buns", "hair bun", "space buns", "double buns",
     "twin buns", "bun hair", "odango buns", "meatball buns", "buns hair")
_add("style", "drills", "drills", "drill", "drill curls", "drill hair", "twin drills", "ringlets", "ringlet curls",
     "ojou curls", "ojousama curls", "drill twintails", "drill twin tails", "spiral curls", "corkscrew curls")
_add("style", "short", "pixie cut", "buzz cut", "crew cut")
_add("style", "long", "hair down", "loose hair", "let down hair", "open hair")
# hair modifiers (value = (HairSpec field, value)); they bind adjectives to the hair like a style word
_add("hairmod", ("texture", "straight"), "straight", "sleek")
_add("hairmod", ("texture", "wavy"), "wavy", "waves", "beach waves", "loose waves")
_add("hairmod", ("texture", "curly"), "curly", "curls", "curled", "permed", "perm", "fluffy curls")
_add("hairmod", ("ahoge", True), "ahoge", "antenna hair", "antenna", "cowlick", "idiot hair", "stray strand")
_add("hairmod", ("tone", "two-tone"), "two tone", "two toned", "two colour", "two color", "two coloured",
     "two colored", "gradient", "ombre", "ombré", "dip dyed", "dip dye", "colored tips",
     "coloured tips", "dyed tips", "bicolour", "bicolor")
_add("tips", None, "tips", "tip", "ends", "hair tips", "hair ends", "tipped")
_add("bangs", None, "bangs", "fringe")
_add("bangs", "blunt", "blunt bangs", "straight bangs", "hime bangs")
_add("bangs", "side-swept", "side bangs", "side swept bangs", "swept bangs", "side fringe")
_add("bangs", "parted", "parted bangs", "parted", "middle part", "centre part", "center part")
_add("bangs", "none", "no bangs", "no fringe")
_add("eyes", None, "eyes", "eye", "eyed", "irises")
# eye colour words that are not colour names themselves (value: the colour name drawn)
_add("colour", "khaki", "hazel")
_add("colour", "blue", "sapphire")
_add("colour", "aqua", "aquamarine")
_add("skin", None, "skin", "skinned", "complexion")
_add("garment", ("kimono",), "kimono", "yukata", "furisode")
_add("garment", ("dress",), "dress", "gown", "sundress", "frock")
_add("garment", ("witch-robe",), "robe", "robes", "witch robe", "witch robes", "wizard robe", "cloak")
_add("garment", ("sailor-uniform",), "sailor uniform", "seifuku", "sailor suit", "school uniform",
     "sailor outfit", "sailor fuku")
_add("garment", ("hoodie",), "hoodie", "hoody", "hooded sweatshirt", "hooded jacket", "sweatshirt",
     "hooded top")
_add("garment", ("sports-jersey",), "jersey", "sports jersey", "football jersey", "soccer jersey",
     "basketball jersey", "jersey shirt", "sports shirt")
_add("garment", ("sports-jersey", "shorts"), "sports outfit", "sports uniform", "tracksuit",
     "gym clothes", "gym uniform", "running outfit", "jogging outfit", "workout clothes", "sports wear",
     "athletic wear", "sports clothes", "activewear", "sports kit")
_add("garment", ("maid-dress",), "maid dress", "maid outfit", "maid uniform", "maid costume", "apron", "maid apron",
     "frilled apron", "apron dress", "enmaided")
_add("garment", ("lolita-dress",), "lolita", "gothic lolita", "goth lolita", "gothloli", "gothic lolita dress",
     "lolita dress", "lolita fashion", "gothic lolita fashion", "sweet lolita", "classic lolita", "frilled dress",
     "frilly dress", "ruffled dress", "layered dress", "gothic dress", "frilled lolita dress")
_add("garment", ("idol-dress",), "idol outfit", "idol costume", "idol dress", "idol clothes", "stage outfit",
     "stage costume", "idol uniform")
_add("garment", ("school-swimsuit",), "school swimsuit", "sukumizu", "swimsuit", "one piece swimsuit",
     "swim suit", "bathing suit", "swimwear", "old school swimsuit")
_add("garment", ("kimono-top",), "kimono top", "kimono shirt", "haori", "keikogi", "kendo gi", "gi", "hakama top")
_add("garment", ("hakama",), "hakama", "hakama skirt", "hakama pants")
_add("garment", ("kimono-top", "hakama"), "miko outfit", "miko costume", "miko clothes", "samurai outfit",
     "samurai clothes", "samurai costume", "kimono and hakama", "hakama outfit")
_add("garment", ("thighhighs",), "thighhighs", "thigh highs", "thighhigh", "thigh high", "thigh high socks",
     "thighhigh socks", "thigh high stockings", "stockings", "over the knee socks", "overknee socks", "zettai ryouiki")
_add("garment", ("t-shirt",), "t shirt", "tshirt", "tee", "tee shirt", "shirt", "top", "blouse")
_add("garment", ("skirt",), "skirt", "miniskirt", "mini skirt", "pleated skirt")
_add("garment", ("shorts",), "shorts", "short pants", "hot pants")
_add("garment", ("trousers",), "trousers", "pants", "jeans", "slacks", "leggings")
_add("garment", ("long-coat",), "long coat", "trench coat", "trenchcoat", "overcoat", "greatcoat")
_add("garment", ("pirate-coat",), "pirate coat", "pirate jacket", "captain coat", "captain's coat")
_add("garment", ("boots",), "boots", "boot", "riding boots")
_add("garment", ("sneakers",), "sneakers", "sneaker", "trainers", "running shoes", "sports shoes",
     "shoes", "tennis shoes", "kicks")
_add("garment", ("sandals",), "sandals", "sandal", "geta", "zori", "flip flops")
_add("coat", None, "coat", "jacket")  # pirate coat when a pirate is around, else long coat / hoodie
_add("outfit", None, "outfit", "clothes", "clothing", "attire", "costume", "uniform")
_add("acc", "glasses", "glasses", "specs", "spectacles", "eyeglasses", "sunglasses", "goggles", "megane")
_add("acc", "witch-hat", "witch hat", "pointy hat", "pointed hat", "wizard hat", "witches hat")
_add("acc", "tricorn-hat", "tricorn", "tricorne", "tricorn hat", "tricorne hat", "pirate hat", "three cornered hat")
_add("acc", "cap", "cap", "baseball cap", "beanie")
_add("acc", "ribbon", "ribbon", "bow", "hair ribbon", "hair bow", "hairbow", "ribbons", "bows")
_add("acc", "cat-ears", "cat ears", "catears", "nekomimi", "cat ear", "kitty ears", "neko ears")
_add("acc", "maid-headdress", "maid headdress", "headdress", "maid headband", "frilled headband", "frilled headdress",
     "katyusha", "maid cap", "white headdress")
_add("acc", "scarf", "scarf", "muffler", "scarves")
_add("hat", None, "hat", "headwear")
_add("part", "obi", "obi", "sash")
_add("part", "trim", "trim", "trims", "trimming", "edging", "accents", "collar", "piping", "stripes")
_add("part", "number", "number", "num")
_add("neg", None, "no", "without", "not")
_add("bare", None, "barefoot", "barefooted", "bare feet")
_add("heads", None, "heads tall", "head tall", "heads high")
_add("expr", "smile", "smile", "smiling", "smiles")
_add("expr", "happy", "happy", "cheerful", "joyful", "grinning", "grin", "laughing", "excited")
_add("expr", "angry", "angry", "mad", "furious", "annoyed", "grumpy", "frowning")
_add("expr", "sad", "sad", "crying", "tearful", "melancholic", "gloomy", "unhappy")
_add("expr", "surprised", "surprised", "shocked", "astonished", "amazed")
_add("expr", "neutral", "neutral", "expressionless", "calm", "serious", "stoic")
for _words, _pose in (
    (("jogging", "jog", "jogs", "out for a jog"), "jog"), (("running", "run", "runs", "sprinting"), "run"),
    (("walking", "walk", "walks", "strolling"), "walk"), (("standing", "stand", "stands"), "stand"),
    (("jumping", "jump", "jumps"), "jump"), (("leaping", "leap"), "leap"), (("sitting", "sit", "seated"), "sit"),
    (("kneeling", "kneel"), "kneel"), (("waving", "wave", "waves"), "wave"), (("dab", "dabbing"), "dab"),
    (("kung fu", "martial arts"), "kung-fu"), (("punching", "punch"), "punch"), (("kicking", "kick"), "kick"),
    (("arms crossed", "crossed arms", "folded arms", "arms folded"), "arms-crossed"),
    (("peace sign", "v sign"), "peace-sign"), (("t pose", "tpose"), "t-pose"), (("apose",), "a-pose"),
):
    _add("pose", _pose, *_words)
_MAX_PHRASE = max(len(k.split()) for k in LEXICON)
SPORTY_POSES = {"jog", "run"}
SLOT_LABEL = {"full": "full-body garment", "top": "top", "bottom": "bottom", "outer": "coat", "feet": "footwear", "legs": "legwear",
              "hat": "hat", "glasses": "glasses", "ribbon": "ribbon", "cat-ears": "cat ears", "scarf": "scarf"}
# hair styles the seed does not give a boy (a prompt can still ask for them)
GIRLISH_STYLES = frozenset({"twin-tails", "buns", "drills", "hime", "side-ponytail"})
# styles the seed may draw wavy or curly; the others keep their own texture (spikes, drills, buns)
TEXTURE_STYLES = frozenset({"short", "bob", "long", "ponytail", "low-ponytail", "side-ponytail", "twin-tails"})
# role words whose pieces have colours of their own (a miko wears white and red) unless the prompt says
ROLE_COLOURS: dict[str, dict[str, str]] = {
    "miko": {"kimono-top": "white", "hakama": "red"}, "shrine maiden": {"kimono-top": "white", "hakama": "red"},
    "shrine priestess": {"kimono-top": "white", "hakama": "red"},
    "miko outfit": {"kimono-top": "white", "hakama": "red"}, "miko costume": {"kimono-top": "white", "hakama": "red"},
    "miko clothes": {"kimono-top": "white", "hakama": "red"},
    "gothic lolita": {"lolita-dress": "black"}, "goth lolita": {"lolita-dress": "black"},
    "gothic lolita dress": {"lolita-dress": "black"}, "gothic dress": {"lolita-dress": "black"},
    "gothloli": {"lolita-dress": "black"}, "gothic lolita fashion": {"lolita-dress": "black"},
    "sweet lolita": {"lolita-dress": "pink"}, "classic lolita": {"lolita-dress": "burgundy"},
    "school swimsuit": {"school-swimsuit": "navy"}, "sukumizu": {"school-swimsuit": "navy"},
    "old school swimsuit": {"school-swimsuit": "navy"},
}
# Danbooru / A1111 words about the picture rather than the character: one character, the whole
# figure, the image's quality. The parser leaves them unparsed (the tag writer keeps them for the
# image model); :func:`kyara.character.understand` reports them as understood picture words.
IMAGE_WORDS = frozenset({"solo", "full body", "masterpiece", "best quality", "high quality", "highres", "absurdres",
                         "looking at viewer", "simple background", "white background", "upper body",
                         "amazing quality", "very aesthetic", "newest", "detailed", "ultra detailed", "4k", "8k",
                         "illustration", "official art", "cowboy shot", "portrait"})
HAIR_ONLY_COLOURS = {"blonde", "platinum blonde", "strawberry blonde", "auburn", "chestnut", "brunette",
                     "ginger", "raven", "blond", "platinum", "platinum blond", "strawberry blond"}


@dataclass
class Item:
    cat: str
    value: object
    text: str  # the prompt's own words, for unparsed/notes
    span: tuple[int, int] | None = None  # [start, end) characters of those words in the prompt


_TOKEN_RE = re.compile(r"#\d+|[^\W_]+(?:'[^\W_]+)*|[,.;:!?()/&]")


def _tokens(prompt: str) -> list[tuple[str, int, int]]:
    """Tokens with their ``[start, end)`` character span in ``prompt``."""
    out = []
    for m in _TOKEN_RE.finditer(prompt):
        t = m.group(0)
        if t.lower().endswith("'s"):
            t = t[:-2]
        out.append((t, m.start(), m.start() + len(t)))
    return out


def segment(prompt: str) -> list[Item]:
    """Split a prompt into the longest known phrases (step 1). Unknown words get category "word"."""
    spans = _tokens(prompt)
    toks = [t for t, _a, _b in spans]
    low = [t.lower() for t in toks]

    def span(i: int, n: int = 1) -> tuple[int, int]:
        return spans[i][1], spans[i + n - 1][2]
    items: list[Item] = []
    i = 0
    while i < len(toks):
        t = low[i]
        if t in ",.;:!?()/":
            items.append(Item("break", None, toks[i], span(i)))
            i += 1
            continue
        if t == "&":
            items.append(Item("stop", "and", toks[i], span(i)))
            i += 1
            continue
        if t.startswith("#") or t.isdigit():
            items.append(Item("digits", int(t.lstrip("#")), toks[i], span(i)))
            i += 1
            continue
        found = None
        for n in range(min(_MAX_PHRASE, len(toks) - i), 0, -1):
            phrase = " ".join(low[i : i + n])
            if any(w in ",.;:!?()/&" for w in low[i : i + n]):
                continue
            if phrase in LEXICON:
                found = (n, *LEXICON[phrase])
            elif n <= 3 and canonical_colour_name(phrase) is not None:
                found = (n, "colour", canonical_colour_name(phrase))
            if found:
                break
        if found is None:
            cat = "stop" if t in STOP_TRANSPARENT else "bstop" if t in STOP_BINDING else "word"
            items.append(Item(cat, t, toks[i], span(i)))
            i += 1
        else:
            n, cat, value = found
            items.append(Item(cat, value, " ".join(toks[i : i + n]), span(i, n)))
            i += n
    return items
