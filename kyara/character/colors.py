"""Colour words -> sRGB hex, including the colours anime prompts use ("silver", "pastel pink").

A name is either listed in ``COLOURS`` or is a modifier plus a listed base colour
("light blue", "dark green", "pastel pink", "deep red"), whose hex is computed from the base by
mixing in white or black (in sRGB, 8 bits per channel, rounded half up) so the result never
depends on float printing. Skin tones have their own table, ``SKIN_TONES``.
"""

from __future__ import annotations

import re

HEX_RE = re.compile(r"^#[0-9a-f]{6}$")

# Base and anime-common colour names, sRGB hex. Hair-friendly shades ("platinum blonde",
# "chestnut") and fabric shades ("navy", "burgundy", "khaki") share one table. A name that is also
# a CSS Color 4 / X11 name stays within CIEDE2000 12 of that colour (softened towards anime
# palettes, but the same colour: kyara.character.fidelity.CSS_COLOURS, tests/test_fidelity.py);
# the toon shader's lit tone is this base colour, so the render shows it too.
COLOURS: dict[str, str] = {
    "black": "#1f1f27",  # anime black: a dark blue-violet grey, so its shadow and the ink still read
    "white": "#f5f5f5",
    "grey": "#8c8c8c",
    "charcoal": "#3a3a40",
    "silver": "#c4c8d0",
    "red": "#d12a2a",
    "crimson": "#b0102e",
    "scarlet": "#e02418",
    "burgundy": "#7a1c2e",
    "maroon": "#6e1a1a",
    "pink": "#f69cbb",
    "hot pink": "#f7659f",
    "salmon": "#f5806f",
    "coral": "#f77d52",
    "rose": "#e35f8a",
    "magenta": "#e41cbe",
    "orange": "#f48a16",
    "amber": "#e8a21c",
    "yellow": "#f7db29",
    "gold": "#dab52f",
    "golden": "#dcb040",
    "blonde": "#f0d48a",
    "platinum blonde": "#f2ead2",
    "strawberry blonde": "#e8a97a",
    "brown": "#87412a",
    "chestnut": "#8a3e22",
    "auburn": "#9a3f25",
    "beige": "#e0d2b1",
    "tan": "#c9a06e",
    "khaki": "#cec079",
    "cream": "#f3ead2",
    "green": "#30963d",
    "mint": "#98e9b4",
    "emerald": "#1f8a5a",
    "olive": "#7a7a32",
    "lime": "#7ddb2f",
    "teal": "#1f8a8a",
    "turquoise": "#36c6c0",
    "aqua": "#5ad8e6",
    "cyan": "#23dcec",
    "blue": "#2044df",
    "sky blue": "#7ec0ee",
    "navy": "#171f60",
    "indigo": "#3d318d",
    "denim": "#4a6a96",
    "purple": "#7a3aa8",
    "violet": "#c47af0",
    "lavender": "#d2c9ef",
    "lilac": "#c8a8d8",
    "plum": "#d29ad4",
}

# Alternative spellings and names that mean a listed colour.
ALIASES: dict[str, str] = {
    "gray": "grey",
    "blond": "blonde",
    "platinum": "platinum blonde",
    "platinum blond": "platinum blonde",
    "strawberry blond": "strawberry blonde",
    "navy blue": "navy",
    "ginger": "auburn",
    "brunette": "brown",
    "raven": "black",
    "ebony": "black",
    "snow white": "white",
    "sky": "sky blue",
    "azure": "sky blue",
    "ruby": "crimson",
    "wine": "burgundy",
    "bordeaux": "burgundy",
    "jade": "emerald",
    "mint green": "mint",
    "baby blue": "sky blue",
    "hotpink": "hot pink",
    "skyblue": "sky blue",
    "sakura": "pink",
}

# Modifier -> (mix target, amount). "pastel" mixes more white than "light".
MODIFIERS: dict[str, tuple[str, float]] = {
    "light": ("#ffffff", 0.4),
    "pale": ("#ffffff", 0.55),
    "pastel": ("#ffffff", 0.5),
    "bright": ("#ffffff", 0.15),
    "dark": ("#000000", 0.4),
    "deep": ("#000000", 0.25),
}

# Skin tones, light to dark. Words that pick a tone, e.g. "pale skin", "tanned", "dark-skinned".
SKIN_TONES: dict[str, str] = {
    "porcelain": "#fdebe0",
    "fair": "#f8dcc8",
    "light": "#f1c9a8",
    "tan": "#d9a57e",
    "olive": "#c49a6c",
    "brown": "#a06a45",
    "dark": "#6e4530",
}
SKIN_ALIASES: dict[str, str] = {
    "pale": "porcelain",
    "white": "fair",
    "peach": "light",
    "tanned": "tan",
    "black": "dark",
    "deep": "dark",
}


# Palettes the parser's seed draws from when a prompt leaves a colour open (names from COLOURS
# or modifier + COLOURS; skin tones from SKIN_TONES).

HAIR_PALETTE = ("black", "dark brown", "brown", "chestnut", "blonde", "platinum blonde", "silver", "red",
                "pink", "pastel pink", "lavender", "blue", "light blue", "teal")
EYE_PALETTE = ("brown", "blue", "green", "red", "purple", "amber", "teal", "grey", "pink", "light blue")
# The default skin (a prompt that names none) is one of the pale peach tones anime draws most; the
# darker tones come from the prompt ("tanned", "brown skin", "dark-skinned"), and the dataset engine
# samples every tone by name.
SKIN_PALETTE = ("porcelain", "fair", "light")
KIND_COLOURS: dict[str, tuple[str, ...]] = {
    "kimono": ("red", "crimson", "navy", "pink", "pastel pink", "purple", "teal", "white", "black"),
    "dress": ("red", "pink", "white", "light blue", "lavender", "black", "navy", "yellow", "mint"),
    "witch-robe": ("black", "purple", "dark purple", "navy", "dark green", "indigo"),
    "sailor-uniform": ("white", "white", "navy", "black"),
    "hoodie": ("grey", "black", "navy", "red", "pink", "lavender", "mint", "yellow", "white", "orange"),
    "sports-jersey": ("red", "blue", "white", "yellow", "green", "orange", "navy", "light blue"),
    "t-shirt": ("white", "black", "grey", "red", "blue", "yellow", "pink", "green"),
    "skirt": ("navy", "black", "red", "grey", "pink", "white", "burgundy"),
    "shorts": ("black", "navy", "white", "grey", "denim", "red"),
    "trousers": ("black", "navy", "grey", "denim", "khaki", "brown", "charcoal"),
    "long-coat": ("black", "brown", "beige", "navy", "grey", "burgundy", "khaki"),
    "pirate-coat": ("crimson", "navy", "black", "brown", "burgundy"),
    "boots": ("black", "brown", "dark brown", "burgundy"),
    "sneakers": ("white", "black", "red", "blue", "grey", "pink"),
    "sandals": ("brown", "black", "red", "beige"),
    "maid-dress": ("black", "black", "navy"),
    "lolita-dress": ("black",),  # gothic lolita; a colour word in the prompt gives sweet/classic lolita
    "idol-dress": ("pink", "hot pink", "light blue", "white", "red", "yellow", "lavender"),
    "school-swimsuit": ("navy",),
    "kimono-top": ("white", "navy", "indigo", "grey", "black"),
    "hakama": ("charcoal", "navy", "grey", "black", "red", "indigo"),
    "thighhighs": ("white", "black", "black"),
}
KIND_TRIMS: dict[str, tuple[str, ...]] = {
    "kimono": ("white", "gold", "pink", "red", "navy"),
    "sailor-uniform": ("navy", "red", "black"),
    "sports-jersey": ("white", "black", "yellow", "navy"),
    "pirate-coat": ("gold", "gold", "silver", "white"),
    "long-coat": ("black", "gold", "silver", "brown"),
    "witch-robe": ("purple", "gold", "silver", "black"),
    "maid-dress": ("white",),  # the apron, collar and frills
    "lolita-dress": ("white", "black", "red"),
    "idol-dress": ("white", "gold", "pink"),
    "school-swimsuit": ("white",),
    "thighhighs": ("white", "black", "pink", "red"),  # the band at the top
}
DEFAULT_TRIMS = ("white", "black", "grey", "gold", "red")
OBI_PALETTE = ("gold", "red", "white", "black", "navy", "pink", "purple")
ACCESSORY_COLOURS: dict[str, tuple[str, ...]] = {
    "glasses": ("black", "red", "silver", "brown", "gold"),
    "witch-hat": ("black", "purple", "navy"),
    "tricorn-hat": ("black", "brown", "navy", "dark red"),
    "cap": ("red", "blue", "black", "white", "navy", "green", "yellow"),
    "ribbon": ("red", "pink", "white", "black", "blue", "yellow", "lavender"),
    "cat-ears": ("black", "white", "brown", "grey"),
    "scarf": ("red", "white", "grey", "navy", "green", "yellow", "pink"),
    "maid-headdress": ("white",),
}


# Shadow colours (the shade colour of a two-tone cel material, MToon's shadeColor). Anime colour
# designers give every colour its own shadow colour rather than a grey darkening: cloth, hair and
# props are multiplied by a slightly violet tint (darker and cooler), skin by a warm pink one, so
# that pale peach skin gets a pinkish-orange shadow, never a brown or mauve one.
SHADOW_TINT = (0.92, 0.90, 1.08)  # times `amount`: the multiply colour of cloth, hair, props
SKIN_SHADOW_DROP = (0.04, 0.20, 0.24)  # skin: 1 - this at the default amount (R kept, G and B drop)
DEFAULT_SHADE_AMOUNT = 0.72


def shadow_colours(rgb, amount: float = DEFAULT_SHADE_AMOUNT, skin: bool = False):
    """The anime shadow colours of sRGB ``rgb [..., 3]`` (floats in [0, 1]): ``rgb`` multiplied by a
    tint, ``[..., 3]`` float64.

    ``amount`` in (0, 1] says how light the shadow is (1 = no shadow). Cloth, hair and props:
    ``rgb * amount * SHADOW_TINT``. Skin (``skin=True``): ``rgb * (1 - s * SKIN_SHADOW_DROP)`` with
    ``s = (1 - amount) / (1 - DEFAULT_SHADE_AMOUNT)``, i.e. ``rgb * (0.96, 0.80, 0.76)`` at the
    default amount: fair skin #f8dcc8 -> #eeb098, a pinkish orange.
    """
    import numpy as np

    c = np.asarray(rgb, dtype=np.float64)
    if c.shape[-1:] != (3,) or not np.all(np.isfinite(c)):
        raise ValueError(f"colour of shape {c.shape} is not finite sRGB [..., 3]")
    if not 0.0 < float(amount) <= 1.0:
        raise ValueError(f"shade amount {amount!r} is out of range, expected (0, 1]")
    if skin:
        s = (1.0 - float(amount)) / (1.0 - DEFAULT_SHADE_AMOUNT)
        m = np.maximum(1.0 - s * np.asarray(SKIN_SHADOW_DROP), 0.0)
    else:
        m = float(amount) * np.asarray(SHADOW_TINT)
    return np.clip(np.clip(c, 0.0, 1.0) * m, 0.0, 1.0)


def shadow_colour(rgb, amount: float = DEFAULT_SHADE_AMOUNT, skin: bool = False) -> tuple[float, float, float]:
    """:func:`shadow_colours` of one colour, as a tuple."""
    return tuple(float(x) for x in shadow_colours(rgb, amount, skin).reshape(3))  # type: ignore[return-value]


def _mix(hex_a: str, hex_b: str, t: float) -> str:
    """sRGB mix ``a*(1-t) + b*t`` per 8-bit channel, rounded half up."""
    out = []
    for i in (1, 3, 5):
        a = int(hex_a[i : i + 2], 16)
        b = int(hex_b[i : i + 2], 16)
        out.append(int(a * (1.0 - t) + b * t + 0.5))
    return "#" + "".join(f"{c:02x}" for c in out)


def canonical_colour_name(name: str) -> str | None:
    """The canonical name of a colour word or modifier + colour ("gray" -> "grey"), or None."""
    key = " ".join(str(name).lower().replace("-", " ").split())
    if key in COLOURS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    head, _, rest = key.partition(" ")
    if head in MODIFIERS and rest:
        base = canonical_colour_name(rest)
        if base is not None and " " not in base:
            return f"{head} {base}"
    return None


def colour_hex(name: str) -> str | None:
    """sRGB hex (``#rrggbb``, lower case) of a colour word, or None when the word is not a colour."""
    canon = canonical_colour_name(name)
    if canon is None:
        return None
    if canon in COLOURS:
        return COLOURS[canon]
    head, _, base = canon.partition(" ")
    target, amount = MODIFIERS[head]
    return _mix(COLOURS[base], target, amount)


def skin_tone_hex(name: str) -> str | None:
    """sRGB hex of a skin tone word ("fair", "tanned", "dark"), or None."""
    key = str(name).lower().strip()
    key = SKIN_ALIASES.get(key, key)
    return SKIN_TONES.get(key)


def canonical_skin_name(name: str) -> str | None:
    key = str(name).lower().strip()
    key = SKIN_ALIASES.get(key, key)
    return key if key in SKIN_TONES else None


def is_hex(text: str) -> bool:
    """True for ``#rrggbb`` (either case)."""
    return isinstance(text, str) and HEX_RE.match(text.lower()) is not None


def hex_to_rgb(text: str) -> tuple[float, float, float]:
    """``#rrggbb`` -> sRGB floats in [0, 1]. Raises ``ValueError`` on anything else."""
    if not is_hex(text):
        raise ValueError(f"colour '{text}' is not valid, expected #rrggbb")
    return tuple(int(text[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]


# -- colour difference (CIE Lab, CIEDE2000) -------------------------------------------------------------
_SRGB_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375),  # IEC 61966-2-1 primaries, D65 white
                (0.2126729, 0.7151522, 0.0721750),
                (0.0193339, 0.1191920, 0.9503041))
_D65 = (0.95047, 1.0, 1.08883)


def srgb_to_lab(rgb):
    """sRGB ``[..., 3]`` in [0, 1] -> CIE L*a*b* ``[..., 3]`` (D65 white, float64)."""
    import numpy as np

    c = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ np.asarray(_SRGB_TO_XYZ).T / np.asarray(_D65)
    d = 6.0 / 29.0
    f = np.where(xyz > d ** 3, np.cbrt(xyz), xyz / (3 * d * d) + 4.0 / 29.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
                    axis=-1)


def lab_to_srgb(lab):
    """CIE L*a*b* ``[..., 3]`` (D65) -> sRGB ``[..., 3]`` in [0, 1] (out-of-gamut colours clipped);
    the inverse of :func:`srgb_to_lab`."""
    import numpy as np

    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    d = 6.0 / 29.0
    xyz = np.where(f > d, f ** 3, 3 * d * d * (f - 4.0 / 29.0)) * np.asarray(_D65)
    lin = np.clip(xyz @ np.linalg.inv(np.asarray(_SRGB_TO_XYZ)).T, 0.0, 1.0)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1.0 / 2.4) - 0.055)


def delta_e2000(lab1, lab2):
    """CIEDE2000 colour difference of L*a*b* ``[..., 3]`` pairs (kL = kC = kH = 1), as written out by
    Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes"."""
    import numpy as np

    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(c7 / (c7 + 25.0 ** 7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, np.degrees(np.arctan2(b1, a1p)) % 360.0)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, np.degrees(np.arctan2(b2, a2p)) % 360.0)
    chroma0 = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(chroma0, 0.0, np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh)))
    d_l, d_c = L2 - L1, c2p - c1p
    d_h = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2.0))
    l_bar, c_bar = (L1 + L2) / 2.0, (c1p + c2p) / 2.0
    h_sum = h1p + h2p
    h_bar = np.where(chroma0, h_sum, np.where(np.abs(h1p - h2p) <= 180.0, h_sum / 2.0,
                                              np.where(h_sum < 360.0, (h_sum + 360.0) / 2.0, (h_sum - 360.0) / 2.0)))
    t = (1.0 - 0.17 * np.cos(np.radians(h_bar - 30.0)) + 0.24 * np.cos(np.radians(2.0 * h_bar))
         + 0.32 * np.cos(np.radians(3.0 * h_bar + 6.0)) - 0.20 * np.cos(np.radians(4.0 * h_bar - 63.0)))
    d_theta = 30.0 * np.exp(-(((h_bar - 275.0) / 25.0) ** 2))
    cb7 = c_bar ** 7
    r_c = 2.0 * np.sqrt(cb7 / (cb7 + 25.0 ** 7))
    s_l = 1.0 + 0.015 * (l_bar - 50.0) ** 2 / np.sqrt(20.0 + (l_bar - 50.0) ** 2)
    s_c = 1.0 + 0.045 * c_bar
    s_h = 1.0 + 0.015 * c_bar * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    tl, tc, th = d_l / s_l, d_c / s_c, d_h / s_h
    return np.sqrt(tl * tl + tc * tc + th * th + r_t * tc * th)
