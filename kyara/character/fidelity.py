"""Prompt fidelity: does a render show what the prompt asked for?

A fixed list of attribute prompts (:data:`PROMPTS`: every hair style, hair / eye / garment colour
words, garments, anime costumes, accessories, body types), each with the checks that say the attribute is on the
render. Colour words are measured against the CSS Color 4 / X11 colour of the same name
(:data:`CSS_COLOURS`) by the lit tone of the part: the most frequent colour of its pixels in the
brighter half (CIE L*) that are not ink, CIEDE2000 below :data:`COLOUR_TOLERANCE`. Shape words have
a predicate each, on the part map of a front and a side render and the rows of a few body landmarks
projected by the render's own camera.

The checks are pure functions of :class:`Shot` arrays; :func:`render_shots` makes the shots of a
built character and :func:`check_prompt` runs one entry end to end (``benchmarks/fidelity.py``,
``tests/test_fidelity.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COLOUR_TOLERANCE = 12.0  # CIEDE2000, lit tone vs the CSS colour of the word

# CSS Color Module Level 4 named colours (sRGB; the X11 names CSS adopted). "mint" is not a CSS
# name: the common web value of "mint green" stands in for it.
CSS_COLOURS: dict[str, str] = {
    "black": "#000000", "white": "#ffffff", "grey": "#808080", "silver": "#c0c0c0", "red": "#ff0000",
    "crimson": "#dc143c", "maroon": "#800000", "pink": "#ffc0cb", "hot pink": "#ff69b4", "magenta": "#ff00ff",
    "salmon": "#fa8072", "coral": "#ff7f50", "orange": "#ffa500", "yellow": "#ffff00", "gold": "#ffd700",
    "brown": "#a52a2a", "beige": "#f5f5dc", "tan": "#d2b48c", "khaki": "#f0e68c", "green": "#008000",
    "olive": "#808000", "lime": "#00ff00", "mint": "#98ff98", "teal": "#008080", "turquoise": "#40e0d0",
    "aqua": "#00ffff", "cyan": "#00ffff", "blue": "#0000ff", "sky blue": "#87ceeb", "navy": "#000080",
    "indigo": "#4b0082", "purple": "#800080", "violet": "#ee82ee", "lavender": "#e6e6fa", "plum": "#dda0dd",
}

# Wavy / curly hair on the bust-front render: the outer edge of the hair silhouette on each side of
# the face, from the eye row to just above the shoulders, turns back and forth (swings larger than
# WAVE_SWING head heights) at least WAVE_TURNS times per side; straight cuts turn 0 times. Curls also
# cross a vertical line beside the face again and again (CURL_BANDS ink bands over 8 columns below
# the chin; straight long hair shows about 8, waves about 20).
WAVE_SWING = 0.03
WAVE_TURNS = 2
CURL_BANDS = 16
HAIR_PARTS = ("hair_cap", "hair_bangs", "hair_strands", "hair_tail", "hair_buns")


# ------------------------------------------------------------------------------------------ the list


@dataclass(frozen=True)
class Entry:
    """One prompt and its checks: ``(check name, argument)`` pairs, names from :data:`CHECKS`."""

    prompt: str
    checks: tuple[tuple[str, object], ...]
    group: str = ""


def _colour_entries() -> list[Entry]:
    out = []
    for c in ("black", "white", "silver", "red", "crimson", "maroon", "pink", "hot pink", "orange", "gold",
              "brown", "blue", "sky blue", "navy", "teal", "turquoise", "purple", "violet", "lavender", "green",
              "mint", "cyan", "magenta", "plum"):
        out.append(Entry(f"a girl with {c} hair", (("hair_colour", c),), "hair colour"))
    for c in ("blue", "green", "red", "purple", "gold", "teal", "pink", "grey"):
        out.append(Entry(f"a girl with black hair and {c} eyes", (("eye_colour", c),), "eye colour"))
    for c, g in (("red", "dress"), ("salmon", "dress"), ("navy", "skirt"), ("khaki", "trousers"),
                 ("yellow", "t-shirt"), ("coral", "hoodie"), ("plum", "kimono"), ("beige", "long coat"),
                 ("indigo", "kimono"), ("lime", "t-shirt"), ("white", "t-shirt"), ("olive", "trousers")):
        out.append(Entry(f"a girl in a {c} {g}", (("garment_colour", (g.replace(" ", "-"), c)),), "garment colour"))
    return out


def _shape_entries() -> list[Entry]:
    hs = [("a girl with a high ponytail", "ponytail"), ("a girl with a low ponytail", "low-ponytail"),
          ("a girl with a side ponytail", "side-ponytail"), ("a girl with twin tails", "twin-tails"),
          ("a girl with hair buns", "buns"), ("a girl with a bob cut", "bob"), ("a girl with a hime cut", "hime"),
          ("a girl with drill hair", "drills"), ("a boy with spiky hair", "spiky"), ("a girl with a braid", "braided"),
          ("a girl with short hair and an ahoge", "ahoge"), ("a girl with long wavy hair down", "wavy"),
          ("a girl with long curly hair down", "curly"), ("a girl with a two tone pink bob with blue tips", "two-tone")]
    out = [Entry(p, (("hair_style", s),), "hair style") for p, s in hs]
    for p, g in (("a girl in a kimono", "kimono"), ("a schoolgirl in a sailor uniform", "sailor-uniform"),
                 ("a girl in a hoodie", "hoodie"), ("a boy in a sports jersey", "sports-jersey"),
                 ("a witch in a robe", "witch-robe"), ("a pirate in a pirate coat", "pirate-coat"),
                 ("a girl in a skirt and boots", "boots"), ("a girl in a dress and sandals", "sandals")):
        out.append(Entry(p, (("garment", g),), "garment"))
    # anime costumes: the pieces (and the colours) the costume word implies
    for p, checks in (("a maid", (("garment", "maid-dress"), ("accessory", "maid-headdress"))),
                      ("a girl in a gothic lolita dress", (("garment", "lolita-dress"),)),
                      ("a miko", (("garment", "kimono-top"), ("garment_colour", ("hakama", "red")))),
                      ("a samurai", (("garment", "kimono-top"), ("garment", "hakama"))),
                      ("an idol", (("garment", "idol-dress"),)),
                      ("a girl in a school swimsuit", (("garment_colour", ("school-swimsuit", "navy")),)),
                      ("a girl in a skirt and thighhighs", (("garment", "thighhighs"),))):
        out.append(Entry(p, checks, "costume"))
    for p, a in (("a girl with glasses", "glasses"), ("a witch with a witch hat", "witch-hat"),
                 ("a pirate with a tricorn hat", "tricorn-hat"), ("a boy with a cap", "cap"),
                 ("a girl with a hair ribbon", "ribbon"), ("a girl with cat ears", "cat-ears"),
                 ("a girl with a scarf", "scarf")):
        out.append(Entry(p, (("accessory", a),), "accessory"))
    # heads tall (anime conventions: chibi 2-3, child 4-5, teen 6-7, adult 7-8, heroic 8+)
    for p, rng in (("a chibi girl", (2.0, 3.4)), ("a little girl", (3.6, 5.8)), ("a teen girl", (5.5, 7.3)),
                   ("an adult woman", (6.5, 8.3)), ("a muscular hero", (7.3, 9.0))):
        out.append(Entry(p, (("heads_tall", rng),), "body type"))
    return out


PROMPTS: tuple[Entry, ...] = tuple(_colour_entries() + _shape_entries())

# Prompts that fail for a cause outside the colour table and the parser, with the cause; the slow test
# keeps this list true in both directions (a fixed one must be taken off).
KNOWN_FAILURES: dict[str, str] = {}
SEED = 0


# ------------------------------------------------------------------------------------------ renders


@dataclass
class Shot:
    """One render: ``toon [H, W, 3]`` uint8, ``parts [H, W]`` uint8 (index into ``names``, 255 =
    background) and the image rows / column of body landmarks (``rows``: name -> y pixel, ``mid_x``:
    the body's centre column), projected by the render's camera."""

    toon: np.ndarray
    parts: np.ndarray
    names: list[str]
    rows: dict[str, float]
    mid_x: float

    def mask(self, *names: str) -> np.ndarray:
        ids = [i for i, n in enumerate(self.names) if n in names]
        return np.isin(self.parts, ids)


@dataclass
class Shots:
    spec: object
    views: dict[str, Shot] = field(default_factory=dict)


def render_shots(character, size: int = 256, views=("front", "bust-front")) -> Shots:
    """Render ``character`` (rest pose) from ``views`` at ``size x size`` with toon and part maps.

    ``views``: "front", "side", "back" frame the whole figure; "bust-front", "bust-side", "bust-back"
    frame crown to waist (:func:`kyara.character.hair_sheet.bust_cameras`), where the hair, the eyes
    and small accessories are big enough to measure (full-figure 256 px renders ink most of the hair)."""
    from kyara.pose.views import pose_camera
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    keep = [p for p in character.parts if not p.material.transparent]
    mesh = character.merged(opaque_only=True)
    verts = mesh["vertices"]
    opaque = np.cumsum([0] + [0 if p.material.transparent else 1 for p in character.parts])
    labels = opaque[mesh["part_id"]].astype(np.uint8)
    attrs = VertexAttrs(parts=labels, base_color=mesh["base"], shade_color=mesh["shade"], outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=(0.96, 0.95, 0.93), outline_width=2))
    d = character.body.layout.dims
    marks = {"crown": d["crown"], "eye": d["eye_y"], "ear": d["eye_y"] - 0.05 * d["h"], "chin": d["chin"],
             "neck": d["neck_y"], "shoulder": d["arm_y"], "ground": 0.0}
    from kyara.character.hair_sheet import bust_cameras

    # "front", "side", "back": the whole figure; "bust-<view>": crown to waist (hair, eyes, accessories)
    cams = [bust_cameras(character, (v[5:],), (size, size))[0] if v.startswith("bust-") else
            pose_camera(verts, v, (size, size)) for v in views]
    r = MeshRenderer(mesh["faces"], len(verts), size, size)
    try:
        out = r.render(verts, cams, ("toon", "parts"), vertex_attrs=attrs, style=style)
    finally:
        r.release()
    shots = Shots(character.spec)
    for i, (v, cam) in enumerate(zip(views, cams)):
        px = cam.project(np.array([[0.0, y, 0.0] for y in marks.values()]))[0]
        shots.views[v] = Shot(out["toon"][i][..., :3], out["parts"][i][..., 0], [p.name for p in keep],
                              {k: float(px[j, 1]) for j, k in enumerate(marks)}, float(px[0, 0]))
    return shots


# ------------------------------------------------------------------------------------------ measures


def _lab(rgb_u8) -> np.ndarray:
    from kyara.character.colors import srgb_to_lab

    return srgb_to_lab(np.asarray(rgb_u8, np.float64) / 255.0)


def delta_e(rgb_a_u8, hex_b: str) -> float:
    from kyara.character.colors import delta_e2000, hex_to_rgb

    return float(delta_e2000(_lab(rgb_a_u8), _lab(np.array(hex_to_rgb(hex_b)) * 255.0)))


def lit_tone(pixels: np.ndarray) -> np.ndarray | None:
    """The lit tone of a part's pixels ``[N, 3]`` uint8: the mode of the non-ink pixels on the light
    side of the two-tone ramp (L* above the middle of their 10th and 90th percentiles; all of them
    when those are within 3), or None when there are fewer than 12."""
    from kyara.render.toon import ToonStyle

    px = np.asarray(pixels, np.int64).reshape(-1, 3)
    ink = np.round(np.array(ToonStyle().outline_color) * 255)
    px = px[~np.all(np.abs(px - ink) <= 2, axis=1)]
    if len(px) < 12:
        return None
    L = _lab(px)[:, 0]
    lo, hi = np.percentile(L, [10, 90])
    if hi - lo > 3.0:
        px = px[L > 0.5 * (lo + hi)]
    vals, counts = np.unique(px, axis=0, return_counts=True)
    return vals[np.argmax(counts)]


def _colour_check(shot: Shot, parts, word: str) -> tuple[bool, str]:
    m = shot.mask(*parts)
    tone = lit_tone(shot.toon[m])
    if tone is None:
        return False, f"{'/'.join(parts)}: {int(m.sum())} px on the render"
    de = delta_e(tone, CSS_COLOURS[word])
    hexs = "#%02x%02x%02x" % tuple(int(x) for x in tone)
    return de < COLOUR_TOLERANCE, f"lit {hexs} vs CSS {word} {CSS_COLOURS[word]}: dE {de:.1f}"


def _is_ink(pixels: np.ndarray) -> np.ndarray:
    from kyara.render.toon import ToonStyle

    ink = np.round(np.array(ToonStyle().outline_color) * 255)
    return np.all(np.abs(np.asarray(pixels, np.int64) - ink) <= 2, axis=-1)


def _near(pixels: np.ndarray, hex_: str, tol: float = COLOUR_TOLERANCE) -> np.ndarray:
    """Which of ``pixels [N, 3]`` uint8 lie within CIEDE2000 ``tol`` of ``hex_``."""
    from kyara.character.colors import delta_e2000, hex_to_rgb

    return delta_e2000(_lab(pixels), _lab(np.array(hex_to_rgb(hex_)) * 255.0)) < tol


def _edge_reversals(edge: np.ndarray, amp: float = 1.5) -> int:
    """Turns of a column-per-row edge ``[N]`` with swings of more than ``amp`` pixels (hysteresis)."""
    turns, direction, ref = 0, 0, edge[0] if len(edge) else 0.0
    for x in edge[1:]:
        if direction >= 0 and x < ref - amp:
            turns += direction > 0
            direction, ref = -1, x
        elif direction <= 0 and x > ref + amp:
            turns += direction < 0
            direction, ref = 1, x
        elif (direction > 0 and x > ref) or (direction < 0 and x < ref):
            ref = x
    return turns


def _outer_edges(mask: np.ndarray, mid: float, r0: int, r1: int) -> list[np.ndarray]:
    """Leftmost column left of ``mid`` and rightmost right of it, per row r0..r1 where there is hair."""
    out = []
    cols = np.arange(mask.shape[1])
    for side in (cols < mid, cols > mid):
        xs = []
        for r in range(max(r0, 0), min(r1, mask.shape[0])):
            c = np.flatnonzero(mask[r] & side)
            if len(c):
                xs.append(c.min() if side[0] else c.max())
        out.append(np.array(xs, float))
    return out


def silhouette_waves(shot: Shot) -> tuple[int, int]:
    """Turns of the outer edge of the hair silhouette left and right of the face (a bust-front shot),
    from the eye row to 0.1 head heights above the shoulder row, counting swings larger than
    :data:`WAVE_SWING` head heights: ``(left, right)``. A wave is two turns (out and back in)."""
    head = shot.rows["chin"] - shot.rows["crown"]
    hair = shot.mask(*HAIR_PARTS)
    ys = np.nonzero(hair)[0]
    if not len(ys):
        return 0, 0
    r0 = int(round(shot.rows["eye"]))
    r1 = int(round(min(shot.rows["shoulder"] - 0.1 * head, ys.max())))
    left, right = _outer_edges(hair, shot.mid_x, r0, r1)
    return _edge_reversals(left, WAVE_SWING * head), _edge_reversals(right, WAVE_SWING * head)


def curl_bands(shot: Shot) -> int:
    """Ink bands where the hair crosses 8 columns beside the face (0.3-0.6 head heights either side
    of the middle) below the chin, on a bust-front shot: curls cross such a line again and again,
    straight locks run along it."""
    head = shot.rows["chin"] - shot.rows["crown"]
    hair = shot.mask(*HAIR_PARTS)
    bands = 0
    for k in (0.3, 0.4, 0.5, 0.6):
        for sgn in (1, -1):
            col = int(round(shot.mid_x + sgn * k * head))
            ink = _is_ink(shot.toon[:, col]) & hair[:, col]
            ink[: int(shot.rows["chin"])] = False
            bands += int(np.sum(ink[1:] & ~ink[:-1]))
    return bands


def _blobs(mask: np.ndarray, min_px: int) -> list[np.ndarray]:
    from scipy.ndimage import label

    lab, n = label(mask)
    return [np.argwhere(lab == i) for i in range(1, n + 1) if (lab == i).sum() >= min_px]


def hair_style_check(shots: Shots, style: str) -> tuple[bool, str]:
    """The predicate of each hair style word on the front (and side) render."""
    f, s = shots.views["bust-front"], shots.views.get("bust-side")
    head = f.rows["chin"] - f.rows["crown"]  # head height in pixels
    hair = f.mask(*HAIR_PARTS)
    tail = f.mask("hair_tail")
    mid = f.mid_x
    if style in ("ponytail", "low-ponytail"):
        ys = np.nonzero(s.mask("hair_tail"))[0]
        if not len(ys):
            return False, "no hair_tail pixels in the side view"
        top, ear = ys.min(), s.rows["ear"]
        ok = top < ear - 0.2 * head if style == "ponytail" else top > ear
        return ok, f"tail top row {top} vs ear row {ear:.0f} ({'above' if top < ear else 'below'})"
    if style == "side-ponytail":
        xs = np.nonzero(tail)[1]
        if len(xs) < 30:
            return False, f"{len(xs)} tail px"
        one = max(np.mean(xs > mid), np.mean(xs < mid))
        return one > 0.95, f"{one:.0%} of {len(xs)} tail px on one side"
    if style == "twin-tails":
        ys, xs = np.nonzero(tail)
        below = ys > f.rows["chin"]
        left, right = int(np.sum(below & (xs < mid))), int(np.sum(below & (xs > mid)))
        return min(left, right) > 0.1 * head ** 2 / 4, f"tail px below the chin: {left} left, {right} right"
    if style == "buns":
        blobs = [b for b in _blobs(f.mask("hair_buns"), 20)]
        high = [b for b in blobs if b[:, 0].mean() < f.rows["eye"]]
        sides = {bool(b[:, 1].mean() > mid) for b in high}
        return len(sides) == 2, f"{len(high)} bun blobs above the eye row, sides {sorted(sides)}"
    if style == "bob":
        low = np.nonzero(hair)[0].max()
        lo, hi = f.rows["chin"] - 0.1 * head, f.rows["shoulder"]
        return lo < low < hi, f"hair ends at row {low}, expected between {lo:.0f} and {hi:.0f} (chin..shoulders)"
    if style == "hime":
        locks = f.mask("hair_bangs")
        r0, r1 = int(f.rows["eye"] + 0.1 * head), int(f.rows["chin"] - 0.05 * head)
        fr = []
        for sgn in (1, -1):
            a, b = sorted((mid + sgn * 0.15 * head, mid + sgn * 0.45 * head))
            fr.append(float(locks[r0:r1, int(a):int(b) + 1].any(axis=1).mean()))
        cut = not locks[int(f.rows["chin"] + 0.1 * head):].any()
        return min(fr) > 0.9 and cut, f"side locks on {fr[0]:.0%}/{fr[1]:.0%} of cheek rows, cut at the jaw: {cut}"
    if style == "drills":
        # a drill is a spiral: down its middle the tail crosses its own turns, each an ink band
        bands = []
        for side in (np.arange(tail.shape[1]) < mid, np.arange(tail.shape[1]) > mid):
            ys, xs = np.nonzero(tail & side[None, :])
            if len(ys) < 30:
                return False, f"{len(ys)} tail px on one side"
            col = f.toon[:, int(np.median(xs))]
            inside = tail[:, int(np.median(xs))]
            ink = _is_ink(col) & inside
            bands.append(int(np.sum(ink[1:] & ~ink[:-1])))
        return min(bands) >= 4, f"ink bands down the middle of the left/right tail: {bands[0]}/{bands[1]}"
    if style in ("wavy", "curly"):
        turns = silhouette_waves(f)
        ok = min(turns) >= WAVE_TURNS
        why = f"hair silhouette turns {turns[0]}/{turns[1]} times left/right (swings > {WAVE_SWING:.0%} of the head, " \
              f"need {WAVE_TURNS} a side)"
        if style == "wavy":
            return ok, why
        bands = curl_bands(f)
        return ok and bands >= CURL_BANDS, f"{why}; {bands} ink bands beside the face below the chin (need {CURL_BANDS})"
    if style == "spiky":
        cols = np.flatnonzero(hair.any(axis=0))
        top = np.array([np.flatnonzero(hair[:, c]).min() for c in cols], float)
        spikes = _edge_reversals(top, 1.5) // 2
        return spikes >= 3, f"{spikes} spikes along the top of the hair"
    if style == "braided":
        ys = np.nonzero(s.mask("hair_tail", "hair_braid"))[0]
        reach = ys.max() - s.rows["neck"] if len(ys) else 0.0
        return reach > 0.5 * head, f"{len(ys)} braid px in the side view, reaching {reach:.0f} px below the neck"
    if style == "ahoge":
        cap = np.nonzero(f.mask("hair_cap"))[0].min()
        top = np.nonzero(hair | f.mask("hair_ahoge"))[0].min()
        return cap - top > 0.1 * head, f"hair rises {cap - top} px above the cap (head {head:.0f} px)"
    if style == "two-tone":
        back = shots.views["bust-back"]
        m = back.mask(*HAIR_PARTS)
        spec = shots.spec.hair
        if spec.tips is None:
            return False, "the spec has no tip colour"
        ys, _ = np.nonzero(m)
        px = back.toon[m]
        root = _near(px, spec.colour.hex)
        tip = _near(px, spec.tips.hex)
        fr, ft = root.mean(), tip.mean()
        lower = tip.any() and root.any() and ys[tip].mean() > ys[root].mean()
        return min(fr, ft) > 0.05 and lower, (f"{fr:.0%} of hair px within dE 12 of the root colour, {ft:.0%} of the "
                                             f"tip colour, tips below the roots: {bool(lower)}")
    raise ValueError(f"hair style check '{style}' is unknown")


def _parts_present(shot: Shot, prefix: str, min_px: int) -> tuple[bool, str]:
    """``prefix`` (a garment or accessory kind) and its sub-parts ("kimono-obi", "witch_hat_band")."""
    key = prefix.replace("-", "_")
    n = int(sum(shot.mask(nm).sum() for nm in set(shot.names)
                if nm.replace("-", "_") == key or nm.replace("-", "_").startswith(key + "_")))
    return n >= min_px, f"{n} px of {prefix}"


# the spec field each hair style word sets (None: any value but None)
_STYLE_FIELDS = {"ahoge": ("ahoge", True), "wavy": ("texture", "wavy"), "curly": ("texture", "curly"),
                 "two-tone": ("tips", None)}


def check(shots: Shots, name: str, arg) -> tuple[bool, str]:
    """Run one check on the shots: ``(passed, reason)``."""
    from kyara.character.colors import canonical_colour_name

    f, b = shots.views["front"], shots.views["bust-front"]
    spec = shots.spec
    if name == "hair_colour":
        if spec.hair.colour.name != canonical_colour_name(arg):
            return False, f"parsed as {spec.hair.colour.name}"
        return _colour_check(b, HAIR_PARTS, arg)
    if name == "eye_colour":
        if spec.eye_colour.name != canonical_colour_name(arg):
            return False, f"parsed as {spec.eye_colour.name}"
        return _colour_check(b, ("irises",), arg)
    if name == "garment_colour":
        kind, word = arg
        piece = next((p for p in spec.outfit if p.kind == kind), None)
        if piece is None or piece.colour.name != canonical_colour_name(word):
            return False, f"parsed as {[(p.kind, p.colour.name) for p in spec.outfit]}"
        return _colour_check(f, (kind,), word)
    if name == "hair_style":
        want = _STYLE_FIELDS.get(arg, ("style", arg))
        got = getattr(spec.hair, want[0])
        if got is None if want[1] is None else got != want[1]:
            return False, f"parsed as hair.{want[0]}={got!r}"
        return hair_style_check(shots, arg)
    if name == "garment":
        if all(p.kind != arg for p in spec.outfit):
            return False, f"parsed as {[p.kind for p in spec.outfit]}"
        return _parts_present(f, arg, 40)
    if name == "accessory":
        if all(a.kind != arg for a in spec.accessories):
            return False, f"parsed as {[a.kind for a in spec.accessories]}"
        return _parts_present(b, arg, 40)
    if name == "heads_tall":
        lo, hi = arg
        ys = np.nonzero(f.parts != 255)[0]
        heads = (ys.max() - f.rows["crown"]) / (f.rows["chin"] - f.rows["crown"])
        return lo <= heads <= hi, f"{heads:.2f} heads tall on the render, expected {lo}-{hi}"
    raise ValueError(f"check '{name}' is unknown")


CHECKS = ("hair_colour", "eye_colour", "garment_colour", "hair_style", "garment", "accessory", "heads_tall")


def views_for(entry: Entry) -> tuple[str, ...]:
    styles = {a for n, a in entry.checks if n == "hair_style"}
    if styles & {"ponytail", "low-ponytail", "braided"}:
        return ("front", "bust-front", "bust-side")
    if "two-tone" in styles:
        return ("front", "bust-front", "bust-back")
    return ("front", "bust-front")


def check_prompt(entry: Entry, size: int = 256, quality: str = "dataset") -> list[tuple[str, bool, str]]:
    """Parse, build (``BuildOptions(quality)``), render and check one entry:
    ``[(check name, passed, reason)]``."""
    from kyara.character.build import BuildOptions, build_character
    from kyara.character.parser import parse_prompt

    spec = parse_prompt(entry.prompt, SEED)
    character = build_character(spec, BuildOptions(quality=quality))
    shots = render_shots(character, size, views_for(entry))
    out = []
    for name, arg in entry.checks:
        ok, why = check(shots, name, arg)
        out.append((name, bool(ok), why))
    return out
