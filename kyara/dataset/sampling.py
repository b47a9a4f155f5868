"""Random characters, poses and cameras for the datasets; every draw is a pure function of a seed.

* characters (:func:`random_spec`): a prompt made of phrases drawn from the parser's whole
  vocabulary (:data:`kyara.character.lexicon.LEXICON` and the colour names of
  :mod:`kyara.character.colors`), parsed with :func:`~kyara.character.parser.parse_prompt`, then
  the body's ``heads_tall`` and ``height`` drawn uniformly across the preset's allowed range;
* poses (:func:`random_pose`): a named preset, a frame of a mocap clip (built-in, or one of the
  user's BVH files: :func:`read_motion_files`) retargeted onto the body, or random joint angles
  inside :data:`kyara.pose.limits.LIMITS`;
* cameras (:func:`random_views`): DreamWaltz-G orbit cameras
  (:func:`kyara.render.camera.sample_orbit_cameras`), redrawn when one lands inside the mesh.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import replace
from pathlib import Path

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


def _bvh_text(data: bytes) -> str:
    """A BVH file's bytes as :func:`kyara.motion.read_bvh` reads them (UTF-8, BOM dropped,
    universal newlines)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", errors="strict", newline=None).read()


@functools.lru_cache(maxsize=32)
def _file_mocap(motion):
    """``(skeleton, mocap)`` of a :class:`~kyara.dataset.config.MotionFile`: parsed by the project's
    BVH reader with its unit and up-axis detection (once per process)."""
    from kyara.motion.bvh import parse_bvh

    return parse_bvh(_bvh_text(motion.data), motion.name)


def _clip(clip):
    """``(skeleton, mocap)`` of a built-in name or a :class:`~kyara.dataset.config.MotionFile`."""
    return _mocap(clip) if isinstance(clip, str) else _file_mocap(clip)


def _motion_frame(clip, frame: int, body):
    from kyara.motion import retarget

    skeleton, mocap = _clip(clip)
    motion = retarget(mocap, skeleton, body.layout, trim=(frame, frame + 1))
    return motion.frame(0)


def read_motion_files(paths) -> tuple:
    """The user's BVH clips (``--motion FILE``, repeatable) as
    :class:`~kyara.dataset.config.MotionFile`, checked before any work: each is read by
    :func:`kyara.motion.read_bvh` (units and up axis detected, as ``kyara animate`` does) and
    retargeted onto a standard body once. ``FileNotFoundError``/``ValueError`` naming the file."""
    from kyara.body.layout import body_layout
    from kyara.body.params import get_preset
    from kyara.dataset.config import MotionFile
    from kyara.motion import read_bvh, retarget

    layout = body_layout(get_preset("teen-girl"))
    out = []
    for path in paths:
        p = Path(os.fspath(path))
        if p.suffix.lower() != ".bvh":
            raise ValueError(f"--motion '{p}' is not a .bvh file, expected a BVH motion capture file")
        skeleton, mocap = read_bvh(p)
        try:
            retarget(mocap, skeleton, layout, trim=(0, 1))
        except ValueError as exc:
            # the reader's hint names kyara animate's --mapping, which kyara dataset does not have
            msg = str(exc).split("; pass --mapping", 1)[0]
            raise ValueError(f"--motion '{p}': {msg} (kyara dataset reads rigs whose joint names kyara knows; "
                             f"'kyara inspect {p.name}' says which joints it maps)") from None
        out.append(MotionFile(p.name, p.read_bytes()))
    return tuple(out)


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


def random_pose(rng: np.random.Generator, body, motions: tuple = ()) -> tuple[object, dict]:
    """A :class:`~kyara.pose.pose.Pose` for ``body`` (a character adapter or Body) and a JSON-ready
    description of where it came from: ``{"source": "preset", "name": "wave"}``,
    ``{"source": "motion", "name": "walk", "frame": 120}`` (a built-in clip),
    ``{"source": "motion_file", "name": "mine.bvh", "frame": 7}`` (one of ``motions``, the user's
    :class:`~kyara.dataset.config.MotionFile`) or ``{"source": "random"}``.

    A motion frame comes from a clip drawn uniformly from the built-in clips and ``motions``, then
    a frame drawn uniformly from the clip (without ``motions`` the draws are those of earlier
    versions)."""
    from kyara.avatar import avatar_pose
    from kyara.motion import BUILTIN_MOTIONS
    from kyara.pose.presets import POSE_NAMES

    source = str(rng.choice(POSE_SOURCES, p=POSE_SOURCE_P))
    if source == "preset":
        name = str(rng.choice(POSE_NAMES))
        return avatar_pose(name, body), {"source": "preset", "name": name}
    if source == "motion":
        clips = tuple(BUILTIN_MOTIONS) + tuple(motions)
        clip = clips[int(rng.choice(len(clips)))]
        _, mocap = _clip(clip)
        frame = int(rng.integers(0, mocap.rotations.shape[0]))
        if isinstance(clip, str):
            return _motion_frame(clip, frame, body), {"source": "motion", "name": clip, "frame": frame}
        return _motion_frame(clip, frame, body), {"source": "motion_file", "name": clip.name, "frame": frame}
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
