"""The VRM extensions of an avatar file, read into one neutral :class:`AvatarExtensions`.

* VRM 1.0 (``VRMC_vrm``): humanoid ``{bone: {node}}``, meta, expressions (morph target binds by
  node), ``VRMC_springBone`` springs (one chain per spring, settings per joint), MToon shade colours.
* VRM 0.x (``VRM``): humanoid list (thumb Proximal/Intermediate/Distal renamed to 1.0's
  Metacarpal/Proximal/Distal), meta (translated, :mod:`kyara.avatar.licence`), blend shape groups
  (0..100 weights, 0.x preset names mapped to 1.0), secondary animation bone groups (every
  descendant of a group's root bones sways), MToon 0.x ``_ShadeColor``. 0.x models face -Z:
  ``forward`` says so and the converter turns them.
* plain glTF: no extension; the humanoid comes from node names (:mod:`kyara.motion.mapping`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kyara.avatar.glb import GltfDocument
from kyara.avatar.licence import AvatarMeta, meta_from_vrm0, meta_from_vrm1
from kyara.body.skeleton import BONES

PRESET_FROM_0X = {"blink": "blink", "blink_l": "blinkLeft", "blink_r": "blinkRight", "a": "aa", "i": "ih",
                  "u": "ou", "e": "ee", "o": "oh", "joy": "happy", "angry": "angry", "sorrow": "sad",
                  "fun": "relaxed", "lookup": "lookUp", "lookdown": "lookDown", "lookleft": "lookLeft",
                  "lookright": "lookRight", "neutral": "neutral"}
_THUMB_0X = {"Proximal": "Metacarpal", "Intermediate": "Proximal", "Distal": "Distal"}


@dataclass
class SpringChain:
    """One swaying chain: glTF node indices root first, with kyara ExtraBone spring settings per node."""

    name: str
    nodes: list[int]
    settings: list[dict]  # {"stiffness", "drag", "gravity_power", "hit_radius"} per node


@dataclass
class AvatarExtensions:
    format: str  # "vrm1", "vrm0" or "gltf"
    spec_version: str
    humanoid: dict[str, int]  # VRM 1.0 bone name -> node index
    meta: AvatarMeta
    expressions: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)  # name -> [(mesh, target, weight 0..1)]
    springs: list[SpringChain] = field(default_factory=list)
    shade_colors: dict[int, tuple[float, float, float]] = field(default_factory=dict)  # material -> sRGB
    forward: str = "+Z"  # which way the file's model faces
    mapping_source: str = ""  # plain glTF: the name table that matched

    @property
    def label(self) -> str:
        return {"vrm1": f"VRM {self.spec_version}", "vrm0": f"VRM 0.x (specVersion {self.spec_version})",
                "gltf": "glTF 2.0 (no VRM extension)"}[self.format]


def _fail(doc: GltfDocument, msg: str) -> ValueError:
    return ValueError(f"{doc.path.name}: {msg}")


def _number(doc: GltfDocument, v: object, what: str, lo: float, hi: float) -> float:
    """A JSON number within ``[lo, hi]`` (float rounding past an end, 1e-6 of the range, is
    clipped) or a one-line ``ValueError`` naming ``what``."""
    tol = 1e-6 * (hi - lo)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo - tol <= v <= hi + tol:
        raise _fail(doc, f"{what} is {v!r}, expected a number in {lo:g}..{hi:g}")
    return min(max(float(v), lo), hi)


def _index(doc: GltfDocument, v: object, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _fail(doc, f"{what} is {v!r}, expected a non-negative integer")
    return v


def _node(doc: GltfDocument, v: object, what: str) -> int:
    n = len(doc.items("nodes"))
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
        raise _fail(doc, f"{what} node {v!r} is out of range, expected 0..{n - 1}")
    return v


def bone_from_0x(name: str) -> str | None:
    """VRM 0.x humanoid bone name -> 1.0 (None if unknown)."""
    for side in ("left", "right"):
        if name.startswith(f"{side}Thumb"):
            seg = _THUMB_0X.get(name[len(side) + 5:])
            return f"{side}Thumb{seg}" if seg else None
    return name if name in BONES else None


def srgb_from_linear(c) -> tuple[float, float, float]:
    out = []
    for x in list(c)[:3]:
        x = min(max(float(x), 0.0), 1.0)
        out.append(12.92 * x if x <= 0.0031308 else 1.055 * x ** (1 / 2.4) - 0.055)
    return tuple(out)  # type: ignore[return-value]


SPRING_RANGES = {"stiffness": (0.0, 1e3), "dragForce": (0.0, 1.0), "gravityPower": (0.0, 1e3), "hitRadius": (0.0, 1e3)}


def _spring_settings(doc: GltfDocument, j: dict, what: str, stiffness_key: str = "stiffness") -> dict:
    """Spring settings of a joint (0.x: of a bone group); a missing or non-numeric value takes the
    default, a number out of :data:`SPRING_RANGES` is refused (it would blow up the simulation)."""
    def f(key: str, default: float, kind: str) -> float:
        v = j.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return default
        lo, hi = SPRING_RANGES[kind]
        return _number(doc, v, f"{what} {key}", lo, hi)
    return {"stiffness": f(stiffness_key, 1.0, "stiffness"), "drag": f("dragForce", 0.4, "dragForce"),
            "gravity_power": f("gravityPower", 0.0, "gravityPower"), "hit_radius": f("hitRadius", 0.02, "hitRadius")}


def _read_vrm1(doc: GltfDocument, ext: dict) -> AvatarExtensions:
    hum = (ext.get("humanoid") or {}).get("humanBones")
    if not isinstance(hum, dict):
        raise _fail(doc, "VRMC_vrm.humanoid.humanBones is missing, expected {bone: {node}}")
    humanoid = {}
    for bone, v in hum.items():
        if bone in BONES and isinstance(v, dict):
            humanoid[bone] = _node(doc, v.get("node"), f"humanoid bone '{bone}'")
    nodes = doc.items("nodes")
    expressions: dict[str, list[tuple[int, int, float]]] = {}
    groups = ext.get("expressions") or {}
    for kind in ("preset", "custom"):
        for name, e in (groups.get(kind) or {}).items():
            binds = []
            for b in (e.get("morphTargetBinds") or []) if isinstance(e, dict) else []:
                node = nodes[_node(doc, b.get("node"), f"expression '{name}'")]
                if isinstance(node, dict) and isinstance(node.get("mesh"), int):
                    binds.append((node["mesh"], _index(doc, b.get("index", 0), f"expression '{name}' index"),
                                  _number(doc, b.get("weight", 1.0), f"expression '{name}' weight", 0.0, 1.0)))
            expressions[name] = binds
    springs = []
    sb = (doc.json.get("extensions") or {}).get("VRMC_springBone") or {}
    for k, s in enumerate(sb.get("springs") or []):
        joints = [j for j in (s.get("joints") or []) if isinstance(j, dict)]
        if len(joints) < 1:
            continue
        springs.append(SpringChain(str(s.get("name") or f"spring{k}"),
                                   [_node(doc, j.get("node"), f"spring '{s.get('name')}'") for j in joints],
                                   [_spring_settings(doc, j, f"spring '{s.get('name')}' joint {i}")
                                    for i, j in enumerate(joints)]))
    shade = {}
    for i, m in enumerate(doc.items("materials")):
        mt = ((m or {}).get("extensions") or {}).get("VRMC_materials_mtoon")
        if isinstance(mt, dict) and isinstance(mt.get("shadeColorFactor"), list):
            shade[i] = srgb_from_linear(mt["shadeColorFactor"])
    return AvatarExtensions("vrm1", str(ext.get("specVersion", "1.0")), humanoid, meta_from_vrm1(ext.get("meta")),
                            expressions, springs, shade, "+Z")


def _read_vrm0(doc: GltfDocument, ext: dict) -> AvatarExtensions:
    hb = (ext.get("humanoid") or {}).get("humanBones")
    if not isinstance(hb, list):
        raise _fail(doc, "VRM.humanoid.humanBones is missing, expected a list of {bone, node}")
    humanoid = {}
    for v in hb:
        bone = bone_from_0x(str(v.get("bone", ""))) if isinstance(v, dict) else None
        if bone is not None:
            humanoid[bone] = _node(doc, v.get("node"), f"humanoid bone '{bone}'")
    expressions: dict[str, list[tuple[int, int, float]]] = {}
    for g in ((ext.get("blendShapeMaster") or {}).get("blendShapeGroups") or []):
        if not isinstance(g, dict):
            continue
        preset = str(g.get("presetName", "unknown")).lower()
        name = PRESET_FROM_0X.get(preset) or str(g.get("name") or preset)
        if preset == "unknown" and str(g.get("name", "")).lower() == "surprised":
            name = "surprised"
        expressions[name] = [(_index(doc, b.get("mesh", 0), f"blend shape '{name}' mesh"),
                              _index(doc, b.get("index", 0), f"blend shape '{name}' index"),
                              _number(doc, b.get("weight", 100.0), f"blend shape '{name}' weight", 0.0, 100.0) / 100.0)
                             for b in (g.get("binds") or []) if isinstance(b, dict)]
    nodes = doc.items("nodes")
    springs = []
    for k, g in enumerate((ext.get("secondaryAnimation") or {}).get("boneGroups") or []):
        if not isinstance(g, dict):
            continue
        settings = _spring_settings(doc, g, f"secondaryAnimation bone group {k}", "stiffiness")
        for root in g.get("bones") or []:
            for chain in _chains_below(nodes, _node(doc, root, "secondaryAnimation bone")):
                springs.append(SpringChain(str(g.get("comment") or f"group{k}"), chain, [dict(settings) for _ in chain]))
    shade = {}
    for i, m in enumerate(ext.get("materialProperties") or []):
        c = ((m or {}).get("vectorProperties") or {}).get("_ShadeColor")
        if isinstance(c, list) and len(c) >= 3:
            shade[i] = tuple(min(max(float(x), 0.0), 1.0) for x in c[:3])
    return AvatarExtensions("vrm0", str(ext.get("specVersion", "0.0")), humanoid, meta_from_vrm0(ext.get("meta")),
                            expressions, springs, shade, "-Z")


def _chains_below(nodes: list, root: int) -> list[list[int]]:
    """Chains under ``root``: follow the first child; every other child starts a chain of its own."""
    chains, queue, seen = [], [root], set()
    while queue:
        chain = [queue.pop(0)]
        while True:
            seen.add(chain[-1])
            kids = [c for c in (nodes[chain[-1]].get("children") or []) if isinstance(c, int)
                    and 0 <= c < len(nodes) and c not in seen]
            if not kids:
                break
            queue.extend(kids[1:])
            chain.append(kids[0])
        chains.append(chain)
    return chains


def read_extensions(doc: GltfDocument, mapping=None, parents: list[int] | None = None) -> AvatarExtensions:
    """The avatar's VRM data; a plain glTF gets its humanoid from node names (``mapping``: a YAML
    path or dict overriding the name table). Missing required humanoid bones are checked later."""
    ext = doc.json.get("extensions") or {}
    if not isinstance(ext, dict):
        raise _fail(doc, "'extensions' is not an object")
    if isinstance(ext.get("VRMC_vrm"), dict):
        return _read_vrm1(doc, ext["VRMC_vrm"])
    if isinstance(ext.get("VRM"), dict):
        return _read_vrm0(doc, ext["VRM"])
    from kyara.motion.mapping import guess_mapping, resolve_mapping

    nodes = doc.items("nodes")
    order = _dfs_order(nodes, parents)
    names, index = [], {}
    for i in order:
        n = nodes[i].get("name") if isinstance(nodes[i], dict) else None
        name = str(n) if isinstance(n, str) and n else f"node{i}"
        if name in index:
            continue
        index[name] = i
        names.append(name)
    table, _ = guess_mapping(names)
    try:
        mapping_ = resolve_mapping(names, mapping, required=())
    except ValueError as e:
        raise _fail(doc, str(e)) from None
    humanoid = {bone: index[joint] for joint, bone in mapping_.items()}
    return AvatarExtensions("gltf", str((doc.json.get("asset") or {}).get("version", "2.0")), humanoid, AvatarMeta(),
                            mapping_source=table if mapping is None else "user mapping")


def _dfs_order(nodes: list, parents: list[int] | None) -> list[int]:
    """Node indices parents first (roots in index order)."""
    n = len(nodes)
    par = parents if parents is not None else [-1] * n
    kids: dict[int, list[int]] = {}
    for i, p in enumerate(par):
        kids.setdefault(p, []).append(i)
    out, stack = [], list(reversed(kids.get(-1, [])))
    while stack:
        i = stack.pop()
        out.append(i)
        stack.extend(reversed(kids.get(i, [])))
    return out
