"""Source joint name -> VRM 1.0 humanoid bone tables, and how a mapping is chosen.

A mapping is a ``dict[str, str]`` from source joint name to VRM bone name (see
:mod:`kyara.body.skeleton`). Source joints absent from the mapping have no humanoid bone (CMU's
``LHipJoint``, ``LowerBack``, ``Neck1``, ...): retargeting transfers *world* rotations of mapped
joints, so the rotation of an unmapped joint is folded into the next mapped joint below it.

Names are compared after :func:`normalize_name` (namespace prefixes such as ``mixamorig:`` or
``Armature|`` dropped, ``Bip01``/``DEF-`` prefixes dropped, lower case, separators removed), so
``mixamorig:LeftUpLeg``, ``LeftUpLeg`` and ``left_up_leg`` are the same name.

Tables (:mod:`kyara.motion.name_tables`): CMU and its other conversion (``LeftHip``,
``lowerback``, ``Chest2``), MocapBank / MotionBuilder / Biovision (``LeftCollar``), Mixamo (with or
without ``mixamorig:``; also Rokoko and AnimatedDrawings' captures), Blender / Rigify, SMPL /
SMPL-H / SMPL-X, DAZ / Poser, AnimatedDrawings-style character joints, VRM names themselves, and
common variants (Unreal, VRoid, 3ds Max Biped). The table that places the most bones wins. A
user YAML file ``{source_joint: vrmBone or null}`` overrides entries of the chosen table; when
no table places the required bones, the error names the joints left unplaced and shows a mapping
to start from (:func:`mapping_template` writes a whole file).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kyara.body.skeleton import BONE_INDEX, BONES
from kyara.fileio import brief
from kyara.motion.name_tables import (  # noqa: F401 (the tables are part of this module's API)
    ANIMATED_DRAWINGS, CMU, CMU_VARIANT, COLLAR, COMMON, DAZ, MIXAMO, RIGIFY, SMPL_TO_VRM, TABLES, VRM,
)

REQUIRED_BONES: tuple[str, ...] = ("hips", "leftUpperLeg", "leftLowerLeg", "leftFoot",
                                   "rightUpperLeg", "rightLowerLeg", "rightFoot")
"""The bones retargeting cannot do without (the root and both legs)."""

_NAMESPACE = re.compile(r"^.*[:|]")
_PREFIXES = ("mixamorig", "bip001", "bip01", "def-", "def_", "def.", "org-")
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def normalize_name(name: str) -> str:
    """Comparable form of a joint name: ``"mixamorig:Left_UpLeg"`` -> ``"leftupleg"``."""
    n = _NAMESPACE.sub("", str(name).strip()).lower()
    for p in _PREFIXES:
        if n.startswith(p):
            n = n[len(p):]
            break
    n = n.lstrip(" _-.0123456789") if n[:1] in " _-." else n
    return _NON_ALNUM.sub("", n)


_NORMALIZED: dict[str, dict[str, str | None]] = {
    key: {normalize_name(k): v for k, v in table.items()} for key, table in TABLES.items()
}


def guess_mapping(names: list[str] | tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Pick the table that recognizes the most ``names``; return ``(table name, mapping)``.

    The mapping has one source joint per VRM bone (the first joint in ``names`` order wins, so
    with parents-first order the joint nearest the root). Returns ``("", {})`` when no table
    knows any name.
    """
    best, best_score = "", 0
    normalized = [normalize_name(n) for n in names]
    for key, table in _NORMALIZED.items():
        recognized = [n for n in normalized if n in table]
        # a table must at least find the hips; mapped bones count more than recognized extras
        mapped = {table[n] for n in recognized if table[n] is not None}
        if "hips" not in mapped:
            continue
        score = 2 * len(mapped) + len(recognized)
        if score > best_score:
            best, best_score = key, score
    if not best:
        return "", {}
    table = _NORMALIZED[best]
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for name, n in zip(names, normalized):
        bone = table.get(n)
        if bone is not None and bone not in used:
            mapping[name] = bone
            used.add(bone)
    return best, mapping


def _vrm_bone(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: value {brief(value)} is not a VRM bone name, expected e.g. 'leftUpperLeg' or null")
    for b in BONES:
        if b.lower() == value.strip().lower():
            return b
    raise ValueError(f"{where}: {brief(value)} is not a VRM humanoid bone, expected one of hips, spine, leftUpperLeg, "
                     "... (55 names)")


def load_mapping_yaml(path: str | os.PathLike) -> dict[str, str | None]:
    """Read a user mapping ``{source_joint: vrmBone or null}`` from YAML (null = no humanoid bone)."""
    from kyara.fileio import load_yaml

    p = Path(path)
    data = load_yaml(p, "mapping")
    if not isinstance(data, dict):
        raise ValueError(f"mapping '{p}' is a {type(data).__name__}, expected a YAML mapping source_joint: vrmBone")
    out = {}
    for k, v in data.items():
        if not isinstance(k, (str, int, float)):
            raise ValueError(f"mapping '{p}' key {brief(k)} is not a joint name")
        out[str(k)] = _vrm_bone(v, f"mapping '{p}' key '{k}'")
    return out


def resolve_mapping(
    names: list[str] | tuple[str, ...],
    user: dict[str, str | None] | str | os.PathLike | None = None,
    required: tuple[str, ...] = ("hips",),
) -> dict[str, str]:
    """Final ``{source joint: VRM bone}`` for a skeleton with joint ``names``.

    ``user`` (a dict or a YAML path) overrides the guessed table: a value names the VRM bone, a
    null removes the joint from the mapping. Raises ``ValueError`` naming the problem when a
    user key is not a joint, a VRM bone is used twice, or a ``required`` bone is unmapped.
    """
    _, mapping = guess_mapping(names)
    if user is not None:
        entries = user if isinstance(user, dict) else load_mapping_yaml(user)
        by_norm = {normalize_name(n): n for n in names}
        for key, value in entries.items():
            joint = key if key in names else by_norm.get(normalize_name(key))
            if joint is None:
                shown = ", ".join(list(names)[:8]) + (", ..." if len(names) > 8 else "")
                raise ValueError(f"mapping names joint '{key}', which the source skeleton does not have (joints: {shown})")
            bone = _vrm_bone(value, f"mapping key '{key}'")
            # the user's choice replaces any joint the table put on the same bone
            mapping = {j: b for j, b in mapping.items() if j != joint and b != bone}
            if bone is not None:
                mapping[joint] = bone
    seen: dict[str, str] = {}
    for joint, bone in mapping.items():
        if bone in seen:
            raise ValueError(f"VRM bone '{bone}' is mapped from two joints, '{seen[bone]}' and '{joint}', expected one")
        seen[bone] = joint
    missing = [b for b in required if b not in seen]
    if missing:
        raise ValueError(unmapped_message(names, mapping, missing))
    return mapping


def unmapped_message(names, mapping: dict[str, str], missing: list[str]) -> str:
    """The one-line error for a rig whose required bones no table (or user mapping) places: the
    bones missing, the joints left unplaced, and a mapping YAML to start from."""
    unplaced = [n for n in names if n not in mapping]
    shown = ", ".join(unplaced[:12]) + (f", ... ({len(unplaced)} in all)" if len(unplaced) > 12 else "")
    guess = {**mapping, **{j: b for j, b in suggest_mapping(names).items() if b not in mapping.values()}}
    order = {b: i for i, b in enumerate(REQUIRED_BONES + ("spine", "head"))}
    pairs = [f"{_yaml_key(j)}: {b}" for j, b in sorted(guess.items(), key=lambda jb: order.get(jb[1], 99))
             if b in order]
    example = "{" + ", ".join(pairs[:9] or ["<hips joint>: hips", "<left thigh joint>: leftUpperLeg", "..."]) + "}"
    return (f"unknown joint names: no source joint maps to VRM bone(s) {', '.join(missing)}; joints not placed: "
            f"{shown or 'none'}; pass --mapping FILE.yaml with lines source_joint: vrmBone, e.g. {example} "
            "('kyara inspect FILE.bvh --mapping-template' prints a whole file to start from)")


# --------------------------------------------------------------------------------------------
# suggestions for rigs no table knows (never applied silently: they fill the template)

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_PART_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (bone without side, words naming it); a whole-name match is tried before a single word
    ("UpperLeg", ("upleg", "upperleg", "thigh", "femur", "hip")),
    ("LowerLeg", ("lowleg", "lowerleg", "knee", "shin", "calf", "leg")),
    ("Toes", ("toebase", "toe", "toes", "ball")),
    ("Foot", ("ankle", "foot")),
    ("UpperArm", ("upperarm", "uparm", "shldr", "humerus", "shoulder", "arm")),
    ("LowerArm", ("forearm", "lowarm", "lowerarm", "elbow")),
    ("Hand", ("wrist", "hand")),
    ("Shoulder", ("collar", "clavicle", "clav", "scapula")),
)
_TORSO_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hips", ("hips", "hip", "pelvis")),
    ("spine", ("spine", "abdomen", "waist", "torso", "belly")),
    ("chest", ("chest", "thorax", "ribs")),
    ("neck", ("neck",)),
    ("head", ("head", "skull")),
)
_SIDE_WORDS = {"l": "left", "left": "left", "lft": "left", "r": "right", "right": "right", "rgt": "right", "rt": "right"}


def _tokens(name: str) -> list[str]:
    n = _NAMESPACE.sub("", str(name))
    return [t.lower() for t in _CAMEL.findall(n.replace("_", " ").replace(".", " ").replace("-", " "))]


def _guess_bone(name: str) -> tuple[str, int] | None:
    """``(bone, rank)`` from the words of ``name``; rank 0 = the whole name is a keyword, then the
    keyword's place in its list (``thigh`` before ``hip``)."""
    toks = _tokens(name)
    sides = {_SIDE_WORDS[t] for t in toks if t in _SIDE_WORDS}
    words = [t for t in toks if t not in _SIDE_WORDS and not t.isdigit()]
    joined = "".join(words)
    if len(sides) == 1:
        side = sides.pop()
        table = [(side + part, keys) for part, keys in _PART_WORDS]
    elif not sides:
        table = list(_TORSO_WORDS)
    else:
        return None
    for bone, keys in table:
        if joined in keys:
            return bone, 0
    best = None
    for bone, keys in table:
        for rank, k in enumerate(keys, start=1):
            if k in words and (best is None or rank < best[1]):
                best = (bone, rank)
    return best


def suggest_mapping(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Guesses from words in the names (``L_Thigh`` -> leftUpperLeg, ``Pelvis`` -> hips), one joint
    per bone: the joint whose name says it most plainly (``L_Thigh`` over ``LHipJoint``), then the
    one nearest the root; a ``Root``/``COG`` joint is the hips only when no joint is named like
    them. For the template and error message only, never applied silently."""
    best: dict[str, tuple[int, int, str]] = {}
    for order, name in enumerate(names):
        g = _guess_bone(name)
        if g is not None and (g[0] not in best or (g[1], order) < best[g[0]][:2]):
            best[g[0]] = (g[1], order, name)
    if "hips" not in best:
        root = next((n for n in names if "".join(_tokens(n)) in ("root", "cog", "reference")), None)
        if root is not None:
            best["hips"] = (0, -1, root)
    return {name: bone for bone, (_, _, name) in sorted(best.items(), key=lambda kv: kv[1][1])}


_YAML_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}


def _yaml_key(name: str) -> str:
    if _YAML_PLAIN.match(name) and name.lower() not in _YAML_WORDS:
        return name
    import json

    return json.dumps(name)


def mapping_template(names: list[str] | tuple[str, ...], parents=None, user=None) -> str:
    """A mapping YAML for a skeleton with joint ``names``: every joint, with the bone the tables
    (or ``user``) give it, else a guess from its name (marked), else ``null``; indented by depth
    when ``parents`` is given. Load it back with :func:`load_mapping_yaml`."""
    table, mapping = guess_mapping(names)
    if user is not None:
        mapping = resolve_mapping(names, user, required=())
        table = "your mapping"
    guesses = {j: b for j, b in suggest_mapping(names).items() if b not in mapping.values()}
    lines = [
        "# kyara joint mapping: source joint -> VRM humanoid bone (null: no bone; its rotation folds into",
        "# the next mapped joint below it). Use it with --mapping FILE.yaml.",
        f"# required: {', '.join(REQUIRED_BONES)}",
        "# bones: " + ", ".join(b for b in BONES if not any(f in b for f in ("Thumb", "Index", "Middle", "Ring", "Little"))),
        "#   fingers: leftThumbMetacarpal/Proximal/Distal, leftIndexProximal/Intermediate/Distal, ... (Little = pinky)",
        f"# filled from: {table + ' table' if table else 'no table'}"
        + ("; lines marked 'guess' come from words in the names: check them" if guesses else ""),
    ]
    for j, name in enumerate(names):
        bone = mapping.get(name) or guesses.get(name) or "null"
        notes = (["guess"] if name in guesses else []) + (
            [f"child of {names[int(parents[j])]}"] if parents is not None and parents[j] >= 0 else [])
        lines.append(f"{_yaml_key(name)}: {bone}" + (f"  # {', '.join(notes)}" if notes else ""))
    return "\n".join(lines) + "\n"


def mapping_indices(names: list[str] | tuple[str, ...], mapping: dict[str, str]) -> list[int]:
    """``[55]`` source joint index per VRM bone, -1 where unmapped."""
    index = {n: i for i, n in enumerate(names)}
    out = [-1] * len(BONES)
    for joint, bone in mapping.items():
        out[BONE_INDEX[bone]] = index[joint]
    return out
