"""VRM 1.0 avatars (``VRMC_vrm``, ``VRMC_materials_mtoon``, ``VRMC_springBone``) and ``.vrma`` animations.

The avatar is the GLB of :mod:`kyara.export.gltf` (T-pose, metres, +Z forward, normalized bones)
plus the VRM extensions:

* ``meta``: name, authors, ``licenseUrl`` (the VRM Public License 1.0) and every licence field from
  :class:`VrmLicense` (safe defaults: only the author may use it, personal non-profit, no
  redistribution or modification, credit required);
* ``humanoid``: all 55 humanoid bones (the 15 required ones included);
* ``lookAt`` (bone type, eyes' offset from the head) and ``firstPerson`` annotations (head-worn
  parts are ``thirdPersonOnly``);
* ``expressions``: the 12 presets of :data:`EXPRESSIONS`, each bound to the morph target of that name
  on every part that has one;
* MToon set so that three-vrm draws what kyara's cel-shaded previews draw (:func:`mtoon_json`):
  the previews' base and shade colours (the colour atlas' base and shade textures for parts whose
  colour varies), their shading shift/toony, their rim light as a matcap (one small texture of the
  rim over the view-space normal disk, a linear factor per material) and their ink as an outline on
  the parts the previews ink (:func:`outline_width_m`; MToon's world-space outline thins with
  distance as perspective does, the preview exaggerates that);
* spring bones: one spring per chain of extra bones that carry ``spring`` settings, colliders on
  the head, torso, legs, arms and hands, grouped so a sleeve chain leaves out the arm bone it
  hangs from (see :func:`spring_chains`, :func:`body_colliders` and :func:`chain_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES
from kyara.export.gltf import GlbBuilder, SceneLayout, add_motion, add_skinned_character, srgb_to_linear

EXPRESSIONS = ("blink", "blinkLeft", "blinkRight", "aa", "ih", "ou", "ee", "oh", "happy", "angry", "sad", "surprised")
VRM_LICENSE_URL = "https://vrm.dev/licenses/1.0/"
DEFAULT_SPRING = {"stiffness": 1.0, "drag": 0.4, "gravity_power": 0.0, "hit_radius": 0.01}
FALLBACK_CHAIN = "springFallback"

_ENUMS = {
    "avatarPermission": ("onlyAuthor", "onlySeparatelyLicensedPerson", "everyone"),
    "commercialUsage": ("personalNonProfit", "personalProfit", "corporation"),
    "creditNotation": ("required", "unnecessary"),
    "modification": ("prohibited", "allowModification", "allowModificationRedistribution"),
}


@dataclass(frozen=True)
class VrmLicense:
    """The VRM 1.0 licence fields (camelCase as in the spec), with the safe defaults."""

    avatarPermission: str = "onlyAuthor"
    allowExcessivelyViolentUsage: bool = False
    allowExcessivelySexualUsage: bool = False
    commercialUsage: str = "personalNonProfit"
    allowPoliticalOrReligiousUsage: bool = False
    allowAntisocialOrHateUsage: bool = False
    creditNotation: str = "required"
    allowRedistribution: bool = False
    modification: str = "prohibited"
    otherLicenseUrl: str = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _ENUMS and value not in _ENUMS[f.name]:
                raise ValueError(f"licence {f.name}='{value}' is not valid, expected one of {', '.join(_ENUMS[f.name])}")
            if f.type in (bool, "bool") and not isinstance(value, bool):
                raise ValueError(f"licence {f.name}={value!r} is not valid, expected true or false")

    def as_meta(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_license(items: list[str] | tuple[str, ...] | None) -> VrmLicense:
    """``["commercialUsage=personalProfit", "allowRedistribution=true", ...]`` -> :class:`VrmLicense`.

    Keys are the VRM 1.0 meta field names (case-insensitive); booleans are true/false/yes/no.
    """
    by_lower = {f.name.lower(): f for f in fields(VrmLicense)}
    values: dict = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--license '{item}' is not valid, expected key=value (e.g. commercialUsage=personalProfit)")
        key, value = (s.strip() for s in item.split("=", 1))
        f = by_lower.get(key.lower())
        if f is None:
            raise ValueError(f"--license key '{key}' is unknown, expected one of {', '.join(by_lower[k].name for k in by_lower)}")
        if f.type in (bool, "bool"):
            low = value.lower()
            if low not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(f"--license {f.name}='{value}' is not valid, expected true or false")
            values[f.name] = low in ("true", "yes", "1")
        else:
            values[f.name] = value
    return VrmLicense(**values)


# -- springs and colliders ------------------------------------------------------------------

def spring_chains(character) -> list[list[int]]:
    """Chains of spring extra bones as bone indices, root first.

    A chain starts at a spring bone whose parent is not a spring bone, follows the first spring
    child at each step, and every other child starts a chain of its own. Chains of one joint (no
    tail to point at) are dropped.
    """
    n = NUM_BONES
    springy = [b.spring is not None for b in character.extra_bones]
    parents = character.parents
    kids: dict[int, list[int]] = {}
    for i, b in enumerate(character.extra_bones):
        if springy[i]:
            kids.setdefault(int(parents[n + i]), []).append(n + i)
    starts = [n + i for i in range(len(springy)) if springy[i] and not (parents[n + i] >= n and springy[parents[n + i] - n])]
    chains, queue = [], list(starts)
    while queue:
        j = queue.pop(0)
        chain = [j]
        while kids.get(chain[-1]):
            first, *rest = kids[chain[-1]]
            queue.extend(rest)
            chain.append(first)
        if len(chain) >= 2:
            chains.append(chain)
    return chains


def body_colliders(character) -> list[tuple[str, str, dict]]:
    """``(group, bone name, shape)`` colliders in the bone's local frame (metres): the same set
    the previews simulate with (:func:`kyara.character.secondary.body_colliders`: head, torso,
    legs in group ``"body"``; each arm bone in a group of its own name)."""
    from kyara.character.secondary import body_colliders as rest_colliders
    from kyara.motion.springs import SphereCollider

    rest = character.body.rest_joints
    out = []
    for group, c in rest_colliders(rest, character.body.layout.dims):
        origin = rest[BONE_INDEX[c.bone]]
        offset = [float(x) for x in np.asarray(c.offset) - origin]
        if isinstance(c, SphereCollider):
            shape = {"sphere": {"offset": offset, "radius": float(c.radius)}}
        else:
            shape = {"capsule": {"offset": offset, "radius": float(c.radius),
                                 "tail": [float(x) for x in np.asarray(c.tail) - origin]}}
        out.append((group, c.bone, shape))
    return out


def chain_groups(character, chain: list[int], groups: list[str]) -> list[int]:
    """Indices into ``groups`` of the collider groups a spring chain uses: all but the arm bone
    it hangs from (:func:`kyara.character.secondary.chain_collider_groups`)."""
    from kyara.character.secondary import chain_collider_groups

    driver = int(character.parents[chain[0]])
    allowed = chain_collider_groups(BONES[driver] if driver < NUM_BONES else "")
    return [k for k, g in enumerate(groups) if g in allowed]


def with_spring_chain(character) -> tuple[object, list[str]]:
    """Guarantee a spring chain: the character itself when it has one; else a copy whose extra bones
    get default springs, or (no extra bones at all) a copy with an unweighted 3-joint placeholder
    chain on the head. Returns (character, warnings)."""
    from dataclasses import replace

    if spring_chains(character):
        return character, []
    if character.extra_bones:
        bones = [b if b.spring is not None else replace(b, spring=dict(DEFAULT_SPRING)) for b in character.extra_bones]
        c2 = replace(character, extra_bones=bones)
        if spring_chains(c2):
            return c2, ["no extra bone had spring settings; default springs were applied to the extra bones"]
    d = character.body.layout.dims
    top = np.array([0.0, d["crown"], 0.0])
    bones = list(character.extra_bones)
    from kyara.character.model import ExtraBone

    for i in range(3):
        p = top + np.array([0.0, 0.0, -0.02 * i])
        bones.append(ExtraBone(f"{FALLBACK_CHAIN}_{i}", "head" if i == 0 else f"{FALLBACK_CHAIN}_{i - 1}",
                               tuple(float(x) for x in p), dict(DEFAULT_SPRING)))
    return (replace(character, extra_bones=bones),
            ["character has no spring chain (hair should give its bangs one); added an unweighted placeholder chain"])


# -- VRM 1.0 ---------------------------------------------------------------------------------

def head_bones(character) -> set[int]:
    """Bone indices at or below the head (head, eyes, jaw and extra bones hanging from them)."""
    parents = character.parents
    out: set[int] = set()
    for j in range(len(parents)):
        k = j
        while k >= 0:
            if k == BONE_INDEX["head"]:
                out.add(j)
                break
            k = int(parents[k])
    return out


def first_person_type(character, part) -> str:
    """``thirdPersonOnly`` for parts skinned >= 90 % to the head (face, hair, hats), ``auto`` for the body."""
    if part.kind == "body":
        return "auto"
    hb = np.array(sorted(head_bones(character)))
    w = np.where(np.isin(part.joint_indices, hb), part.joint_weights, 0.0).sum()
    total = max(float(part.joint_weights.sum()), 1e-9)
    return "thirdPersonOnly" if w / total >= 0.9 else "both"


def preview_style():
    """The cel-shading of kyara's previews (:class:`kyara.render.toon.ToonStyle` defaults, as
    :func:`kyara.character.preview.character_views` and ``kyara create`` draw them)."""
    from kyara.render.toon import ToonStyle

    return ToonStyle()


def linear_to_srgb(c) -> list[float]:
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return [round(float(x), 6) for x in np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)]


def rim_factor(base, shade, style) -> list[float]:
    """MToon ``matcapFactor`` (linear) of a material drawn in ``base``/``shade`` (sRGB): the preview adds
    ``style.rim_lit * (base - shade) + style.rim_color`` to the sRGB colour where the rim is full
    (:func:`kyara.render.toon.toon_shade_reference`); it falls on the shaded side, away from the light,
    so the linear factor that gives the preview's full rim there is ``linear(shade + add) - linear(shade)``
    (MToon adds its matcap in linear light). Zero when the style has no rim."""
    if not style.rim_on:
        return [0.0, 0.0, 0.0]
    b = np.clip(np.asarray(base, np.float64), 0.0, 1.0)
    s = np.clip(np.asarray(shade, np.float64), 0.0, 1.0)
    add = style.rim_lit * np.maximum(b - s, 0.0) + np.asarray(style.rim_color)
    lit = np.asarray(srgb_to_linear(np.minimum(s + add, 1.0)))
    return [round(float(x), 6) for x in np.clip(lit - np.asarray(srgb_to_linear(s)), 0.0, 1.0)]


MATCAP_SIZE = 128  # texels per side of the rim matcap


def rim_matcap_png(style, factor=(1.0, 1.0, 1.0)) -> bytes:
    """The preview's rim (:func:`kyara.render.toon.rim_matcap`) times the linear ``factor`` as an sRGB
    PNG: a viewer decodes it to ``factor * weight`` (MToon's matcap is an sRGB colour texture)."""
    from kyara.export.atlas import png_bytes
    from kyara.render.toon import rim_matcap

    lin = rim_matcap(style, MATCAP_SIZE)[..., None] * np.asarray(factor, np.float64)
    srgb = np.asarray(linear_to_srgb(lin.reshape(-1)), np.float64).reshape(lin.shape)
    return png_bytes(np.rint(srgb * 255.0).astype(np.uint8))


def outline_width_m(character, style, size: int = 512) -> float:
    """World-space MToon outline width (metres) that draws the preview's ink outside the
    silhouette: half the preview's line width (its lines are centred on the edge) at the metres per
    pixel of the ``size``-pixel front preview of the whole rest-pose character."""
    from kyara.render.camera import view_camera

    v = np.concatenate([p.vertices for p in character.parts]).astype(np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    cam = view_camera("front", lo, hi, size=(size, size))
    depth = -float((cam.view @ np.append(0.5 * (lo + hi), 1.0))[2])
    return round(0.5 * float(style.outline_width) * float(cam.pixel_footprint(depth)), 6)


def mtoon_json(slot, style, outline_m: float, textures: tuple[int, int] | None = None,
               matcap: int | None = None) -> dict:
    """``VRMC_materials_mtoon`` that draws ``slot`` (:class:`kyara.export.gltf.MaterialSlot`) as the
    preview's ``style`` does: lit = base, shade = the preview's shade colour (or the atlas' shade
    texture), the preview's shading shift/toony, its rim as the matcap texture ``matcap`` (the rim's
    weight over the view-space normal disk, :func:`rim_matcap_png`) times :func:`rim_factor`, and its
    ink (outline ``outline_m`` metres on parts the preview inks, in the ink colour, not lit)."""
    inked = float(slot.material.outline_width) > 0
    rim = matcap is not None and style.rim_on
    out = {"specVersion": "1.0", "transparentWithZWrite": False, "renderQueueOffsetNumber": 0,
           "shadeColorFactor": [1.0, 1.0, 1.0] if slot.textured else srgb_to_linear(slot.shade),
           "shadingShiftFactor": float(style.shading_shift), "shadingToonyFactor": float(style.shading_toony),
           "giEqualizationFactor": 0.9,
           "matcapFactor": rim_factor(slot.base, slot.shade, style) if rim else [0.0, 0.0, 0.0],
           "parametricRimColorFactor": [0.0, 0.0, 0.0],  # the rim is the matcap (it faces one side)
           "parametricRimFresnelPowerFactor": 5.0, "parametricRimLiftFactor": 0.0,
           "rimLightingMixFactor": 0.0,
           "outlineWidthMode": "worldCoordinates" if inked else "none",
           "outlineWidthFactor": outline_m if inked else 0.0,
           "outlineColorFactor": srgb_to_linear(style.outline_color), "outlineLightingMixFactor": 0.0}
    if slot.textured:
        out["shadeMultiplyTexture"] = {"index": int(textures[1])}
    if rim:
        out["matcapTexture"] = {"index": int(matcap)}
    return out


def expression_binds(layout: SceneLayout, name: str) -> list[dict]:
    return [{"node": layout.mesh_nodes[p], "index": names.index(name), "weight": 1.0}
            for p, names in enumerate(layout.morph_names) if name in names]


def check_authors(authors: tuple[str, ...]) -> None:
    """Raise ValueError unless ``authors`` holds at least one name and no blank one (VRM meta)."""
    if not authors or not all(str(a).strip() for a in authors):
        raise ValueError(f"VRM authors {list(authors)} are not valid, expected at least one non-empty name")


def vrm_bytes(character, name: str = "kyara avatar", authors: tuple[str, ...] = ("kyara",),
              license: VrmLicense | None = None, version: str = "1.0", paint=None) -> tuple[bytes, list[str]]:
    """The character as a VRM 1.0 GLB (``paint``: a :class:`kyara.export.atlas.PaintedSkin` for a
    painted character, see :func:`kyara.paint.avatar.painted_character`). Returns (bytes, warnings)."""
    lic = license or VrmLicense()
    check_authors(authors)
    character, warnings = with_spring_chain(character)
    b = GlbBuilder("kyara VRM 1.0 exporter")
    layout = add_skinned_character(b, character, paint=paint)
    warnings += layout.warnings
    style, ink = preview_style(), outline_width_m(character, preview_style())
    matcap = b.add_texture(rim_matcap_png(style), "rim_matcap") if style.rim_on else None
    for m, slot in zip(b.gltf["materials"], layout.materials):  # MToon replaces the unlit fallback
        m["extensions"] = {"VRMC_materials_mtoon": mtoon_json(slot, style, ink, layout.textures_of(slot), matcap)}
    nodes = layout.bone_nodes
    rest = character.rest_joints
    d = character.body.layout.dims
    head = rest[BONE_INDEX["head"]]
    expressions = {}
    for e in EXPRESSIONS:
        binds = expression_binds(layout, e)
        if not binds:
            warnings.append(f"no part has a '{e}' morph; expression '{e}' is empty")
        expressions[e] = {"morphTargetBinds": binds, "isBinary": False, "overrideBlink": "none",
                          "overrideLookAt": "none", "overrideMouth": "none"}
    range_map = {"inputMaxValue": 90.0, "outputScale": 10.0}
    vrmc = {
        "specVersion": "1.0",
        "meta": {"name": name, "version": version, "authors": [str(a) for a in authors],
                 "licenseUrl": VRM_LICENSE_URL, **lic.as_meta()},
        "humanoid": {"humanBones": {bone: {"node": nodes[i]} for i, bone in enumerate(BONES)}},
        "firstPerson": {"meshAnnotations": [{"node": layout.mesh_nodes[i], "type": first_person_type(character, p)}
                                            for i, p in enumerate(character.parts)]},
        "lookAt": {"type": "bone", "offsetFromHeadBone": [0.0, float(d["eye_y"] - head[1]), float(0.3 * d["D"])],
                   "rangeMapHorizontalInner": range_map, "rangeMapHorizontalOuter": range_map,
                   "rangeMapVerticalDown": range_map, "rangeMapVerticalUp": range_map},
        "expressions": {"preset": expressions},
    }
    if not lic.otherLicenseUrl:
        vrmc["meta"].pop("otherLicenseUrl")
    found = body_colliders(character)
    colliders = [{"node": nodes[BONE_INDEX[bone]], "shape": shape} for _, bone, shape in found]
    group_names = list(dict.fromkeys(g for g, _, _ in found))
    springs = []
    for k, chain in enumerate(spring_chains(character)):
        joints = []
        for j in chain:
            s = {**DEFAULT_SPRING, **(character.extra_bones[j - NUM_BONES].spring or {})}
            joints.append({"node": nodes[j], "hitRadius": float(s["hit_radius"]), "stiffness": float(s["stiffness"]),
                           "gravityPower": float(s["gravity_power"]), "gravityDir": [0.0, -1.0, 0.0],
                           "dragForce": float(s["drag"])})
        springs.append({"name": character.bone_names[chain[0]], "joints": joints,
                        "colliderGroups": chain_groups(character, chain, group_names)})
    b.gltf["extensions"] = {
        "VRMC_vrm": vrmc,
        "VRMC_springBone": {"specVersion": "1.0", "colliders": colliders,
                            "colliderGroups": [{"name": g, "colliders": [i for i, (gi, _, _) in enumerate(found) if gi == g]}
                                               for g in group_names],
                            "springs": springs},
    }
    for ext in ("VRMC_vrm", "VRMC_materials_mtoon", "VRMC_springBone"):
        b.use(ext)
    return b.to_bytes(), warnings


def vrma_bytes(motion, rest_joints: np.ndarray) -> bytes:
    """A ``.vrma`` (VRMC_vrm_animation 1.0): the 55 humanoid bones in the rest T-pose of
    ``rest_joints [55, 3]`` (metres, the body the motion was retargeted to) animated by ``motion``."""
    from kyara.body.skeleton import PARENTS

    rest = np.asarray(rest_joints, dtype=np.float64)
    if rest.shape != (NUM_BONES, 3):
        raise ValueError(f"rest joints have shape {rest.shape}, expected ({NUM_BONES}, 3)")
    b = GlbBuilder("kyara VRMA exporter")
    nodes = []
    for j, bone in enumerate(BONES):
        p = int(PARENTS[j])
        local = rest[j] - (rest[p] if p >= 0 else 0.0)
        nodes.append(b.add_node({"name": bone, "translation": [float(x) for x in local]}))
        if p >= 0:
            b.gltf["nodes"][nodes[p]].setdefault("children", []).append(nodes[j])
    b.gltf["scenes"][0]["nodes"] = [nodes[0]]
    add_motion(b, nodes, rest[0], motion, name="motion")
    b.gltf["extensions"] = {"VRMC_vrm_animation": {
        "specVersion": "1.0", "humanoid": {"humanBones": {bone: {"node": nodes[i]} for i, bone in enumerate(BONES)}}}}
    b.use("VRMC_vrm_animation")
    return b.to_bytes()
