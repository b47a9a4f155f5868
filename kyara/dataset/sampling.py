"""Random characters, poses and cameras for the datasets; every draw is a pure function of a seed.

* characters (:func:`random_spec`): a prompt made of phrases drawn from the parser's whole
  vocabulary (:data:`kyara.character.lexicon.LEXICON` and the colour names of
  :mod:`kyara.character.colors`), parsed with :func:`~kyara.character.parser.parse_prompt`, then
  the body's ``heads_tall`` and ``height`` drawn uniformly across the preset's allowed range;
* poses (:func:`random_pose`): a named preset, a frame of a built-in mocap clip retargeted onto
  the body, or random joint angles inside :data:`kyara.pose.limits.LIMITS`;
* cameras (:func:`random_views`): DreamWaltz-G orbit cameras
  (:func:`kyara.render.camera.sample_orbit_cameras`), redrawn when one lands inside the mesh.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

POSE_SOURCES = ("preset", "motion", "random")
POSE_SOURCE_P = (0.4, 0.3, 0.3)
# bones whose angles the random source draws (fingers get one shared curl per hand); the spine and
# neck chain are drawn inside half their range, limbs inside the full range
_RANDOM_CORE = ("spine", "chest", "upperChest", "neck", "head")
_RANDOM_LIMBS = tuple(f"{s}{b}" for s in ("left", "right") for b in
                      ("Shoulder", "UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot"))


def rng_for(seed: int, *path: int) -> np.random.Generator:
    """A generator for one named draw: ``(dataset seed, character index, purpose, ...)``."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(seed) >> 32, *[int(p) for p in path]])


# -- characters -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _vocabulary() -> dict[str, tuple[str, ...]]:
    """Phrases of the lexicon by category, plus colour and skin-tone names."""
    from kyara.character import colors
    from kyara.character.lexicon import LEXICON

    out: dict[str, list[str]] = {}
    for phrase, (cat, _value) in sorted(LEXICON.items()):
        out.setdefault(cat, []).append(phrase)
    out["colour"] = sorted(set(colors.COLOURS) | set(colors.ALIASES))
    out["skin_tone"] = sorted(set(colors.SKIN_TONES) | set(colors.SKIN_ALIASES))
    return {k: tuple(v) for k, v in out.items()}


def random_prompt(rng: np.random.Generator) -> str:
    """An English character description over the parser's vocabulary, e.g. ``"a tall pale blue
    haired witch with long ponytail hair, green eyes, wearing a skirt and boots, a scarf, smiling"``."""
    v = _vocabulary()

    def pick(cat: str) -> str:
        return str(rng.choice(v[cat]))

    def maybe(p: float) -> bool:
        return bool(rng.uniform() < p)

    words = ["a"]
    for cat, p in (("age", 0.25), ("build", 0.15), ("tall", 0.15), ("sporty", 0.1)):
        if maybe(p):
            words.append(pick(cat))
    words.append(pick("person"))
    hair = []
    if maybe(0.6):
        hair.append(pick("len"))
    if maybe(0.6):
        hair += ([pick("mod")] if maybe(0.3) else []) + [pick("colour")]
    if maybe(0.6):
        hair.append(pick("style"))
    clauses = []
    if hair or maybe(0.3):
        clauses.append("with " + " ".join(hair + ["hair"]))
    if maybe(0.3):
        clauses.append(pick("bangs"))
    if maybe(0.5):
        clauses.append(f"{pick('colour')} eyes")
    if maybe(0.3):
        clauses.append(f"{pick('skin_tone')} skin")
    clothes = []
    for _ in range(int(rng.integers(0, 4))):
        colour = (pick("colour") + " ") if maybe(0.5) else ""
        clothes.append(colour + pick("garment"))
    if maybe(0.15):
        clothes.append(pick("coat"))
    if maybe(0.1):
        clothes.append(pick("outfit"))
    if clothes:
        clauses.append("wearing " + " and ".join(clothes))
    acc = [pick("acc") for _ in range(int(rng.integers(0, 3)))]
    if maybe(0.1):
        acc.append(pick("hat"))
    if acc:
        clauses.append("with " + " and ".join(acc))
    if maybe(0.1):
        clauses.append(pick("bare"))
    if maybe(0.05):
        clauses.append(f"{pick('neg')} {pick('acc')}")
    if maybe(0.4):
        clauses.append(pick("expr"))
    if maybe(0.2):
        clauses.append(pick("pose"))
    return " ".join(words) + ("" if not clauses else " " + ", ".join(clauses))


def random_spec(seed: int, index: int):
    """The :class:`~kyara.character.spec.CharacterSpec` of character ``index`` of a dataset with
    ``seed``: a random prompt, parsed, with the body drawn across its preset's range."""
    from kyara.character.parser import parse_prompt
    from kyara.character.spec import HEADS_TALL_RANGE, BodySpec, height_range

    rng = rng_for(seed, index, 1)
    prompt = random_prompt(rng)
    spec = parse_prompt(prompt, seed=int(rng.integers(0, 2**62)))
    preset = spec.body.preset
    ht = float(np.round(rng.uniform(*HEADS_TALL_RANGE[preset]), 3))
    lo, hi = height_range(preset)
    h = float(np.round(rng.uniform(lo, hi), 3))
    return replace(spec, body=BodySpec(preset, min(max(ht, HEADS_TALL_RANGE[preset][0]), HEADS_TALL_RANGE[preset][1]),
                                       min(max(h, lo), hi)))


# -- poses ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _mocap(name: str):
    from kyara.motion import load_motion

    return load_motion(name)


def _motion_frame(name: str, frame: int, body):
    from kyara.motion import retarget

    skeleton, mocap = _mocap(name)
    motion = retarget(mocap, skeleton, body.layout, trim=(frame, frame + 1))
    return motion.frame(0)


def _random_angles(rng: np.random.Generator):
    from kyara.body.skeleton import BONES, FINGER_NAMES
    from kyara.pose.limits import LIMITS, pose_from_angles

    angles: dict[str, dict[str, float]] = {}
    for bone in _RANDOM_CORE + _RANDOM_LIMBS:
        lim = LIMITS[bone]
        scale = 0.5 if bone in _RANDOM_CORE else 1.0
        angles[bone] = {n: float(rng.uniform(lo * scale, hi * scale)) for n, lo, hi in zip(lim.names, lim.low, lim.high)}
    for side in ("left", "right"):
        curl = float(rng.uniform(0.0, 1.0))
        for bone in BONES:
            if bone.startswith(side) and any(f in bone for f in FINGER_NAMES + ("Thumb",)):
                lim = LIMITS[bone]
                angles[bone] = {lim.names[0]: float(lim.low[0] + curl * (lim.high[0] - lim.low[0]))}
    return pose_from_angles(angles)


def random_pose(rng: np.random.Generator, body) -> tuple[object, dict]:
    """A :class:`~kyara.pose.pose.Pose` for ``body`` (a character adapter or Body) and a JSON-ready
    description of where it came from: ``{"source": "preset", "name": "wave"}``,
    ``{"source": "motion", "name": "walk", "frame": 120}`` or ``{"source": "random"}``."""
    from kyara.avatar import avatar_pose
    from kyara.motion import BUILTIN_MOTIONS
    from kyara.pose.presets import POSE_NAMES

    source = str(rng.choice(POSE_SOURCES, p=POSE_SOURCE_P))
    if source == "preset":
        name = str(rng.choice(POSE_NAMES))
        return avatar_pose(name, body), {"source": "preset", "name": name}
    if source == "motion":
        name = str(rng.choice(BUILTIN_MOTIONS))
        _, mocap = _mocap(name)
        frame = int(rng.integers(0, mocap.rotations.shape[0]))
        return _motion_frame(name, frame, body), {"source": "motion", "name": name, "frame": frame}
    return _random_angles(rng), {"source": "random"}


# -- cameras ----------------------------------------------------------------------------------
def random_views(rng: np.random.Generator, vertices: np.ndarray, faces: np.ndarray, n: int, size: int,
                 tries: int = 8) -> list:
    """``n`` orbit views (:class:`kyara.render.pipeline.View`, named ``v000``...) of the posed mesh
    ``vertices [V, 3]``, none inside it (a draw with a camera inside is redrawn; after ``tries``
    draws the views are plain full-body orbits, which lie outside the bounding box)."""
    from kyara.render.camera import OrbitConfig, sample_orbit_cameras
    from kyara.render.pipeline import View, check_cameras_outside

    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    cfg = None
    for t in range(tries + 1):
        if t == tries:
            cfg = OrbitConfig(face_closeup_prob=0.0, radius=(1.2, 2.0))
        orb = sample_orbit_cameras(n, int(rng.integers(0, 2**62)), lo, hi, size=(size, size), config=cfg)
        views = [View(f"v{i:03d}", c, float(orb.azimuth_deg[i]), float(orb.elevation_deg[i]))
                 for i, c in enumerate(orb.cameras)]
        try:
            check_cameras_outside(views, vertices, faces)
        except ValueError:
            continue
        return views
    return views
