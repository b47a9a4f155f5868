"""VRM 0.x avatars (the ``VRM`` extension) for apps that still read only 0.x.

VRM 0.x models face -Z, so the character is turned 180 degrees about Y on export (as VRoid Studio
does): every position, normal, morph offset and collider offset is multiplied by ``diag(-1, 1, -1)``;
bones keep identity rotations. The extension carries the 0.x humanoid (thumb bones renamed
Metacarpal/Proximal/Distal -> Proximal/Intermediate/Distal), ``blendShapeMaster`` (weights 0..100),
``secondaryAnimation`` (one bone group per spring chain, sphere colliders) and MToon 0.x
``materialProperties`` (colours in sRGB, the colour atlas as ``_MainTex``/``_ShadeTexture``, outline
width in centimetres, shade shift/toony converted so that three-vrm's 0.x -> 1.0 conversion gives
back the 1.0 factors of :func:`kyara.export.vrm.mtoon_json`; the previews' rim light as a
``_SphereAdd`` texture, one per distinct rim colour since 0.x has no matcap factor).
"""

from __future__ import annotations

import numpy as np

from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES
from kyara.export.gltf import GlbBuilder, add_skinned_character
from kyara.export.vrm import (DEFAULT_SPRING, EXPRESSIONS, VrmLicense, body_colliders, chain_groups, check_authors,
                              expression_binds, first_person_type, outline_width_m, preview_style, rim_factor,
                              rim_matcap_png, spring_chains, with_spring_chain)

TURN_Y = np.diag([-1.0, 1.0, -1.0])  # 180 degrees about Y

PRESET_0X = {"blink": "blink", "blinkLeft": "blink_l", "blinkRight": "blink_r", "aa": "a", "ih": "i", "ou": "u",
             "ee": "e", "oh": "o", "happy": "joy", "angry": "angry", "sad": "sorrow", "surprised": "unknown"}
NAME_0X = {"blink": "Blink", "blinkLeft": "Blink_L", "blinkRight": "Blink_R", "aa": "A", "ih": "I", "ou": "U",
           "ee": "E", "oh": "O", "happy": "Joy", "angry": "Angry", "sad": "Sorrow", "surprised": "Surprised"}
FIRST_PERSON_0X = {"auto": "Auto", "both": "Both", "thirdPersonOnly": "ThirdPersonOnly", "firstPersonOnly": "FirstPersonOnly"}


def bone_name_0x(name: str) -> str:
    """VRM 1.0 humanoid bone name -> 0.x (only the thumbs differ)."""
    for side in ("left", "right"):
        if name.startswith(f"{side}Thumb"):
            seg = name[len(side) + 5:]
            return f"{side}Thumb" + {"Metacarpal": "Proximal", "Proximal": "Intermediate", "Distal": "Distal"}[seg]
    return name


def meta_0x(name: str, authors: tuple[str, ...], lic: VrmLicense, version: str) -> dict:
    allowed = {"onlyAuthor": "OnlyAuthor", "onlySeparatelyLicensedPerson": "ExplicitlyLicensedPerson",
               "everyone": "Everyone"}[lic.avatarPermission]
    yes = {True: "Allow", False: "Disallow"}
    return {"title": name, "version": version, "author": ", ".join(authors), "contactInformation": "",
            "reference": "", "allowedUserName": allowed,
            "violentUssageName": yes[lic.allowExcessivelyViolentUsage],
            "sexualUssageName": yes[lic.allowExcessivelySexualUsage],
            "commercialUssageName": yes[lic.commercialUsage != "personalNonProfit"],
            "otherPermissionUrl": "https://vrm.dev/licenses/1.0/",
            "licenseName": "Other" if lic.allowRedistribution else "Redistribution_Prohibited",
            "otherLicenseUrl": lic.otherLicenseUrl or "https://vrm.dev/licenses/1.0/"}


def shading_0x(shift_1: float, toony_1: float) -> tuple[float, float]:
    """VRM 1.0 (shadingShift, shadingToony) -> 0.x (_ShadeShift, _ShadeToony): the inverse of
    three-vrm's conversion ``toony = lerp(t0, 1, 0.5 + 0.5 s0)``, ``shift = -s0 - (1 - toony)``."""
    s0 = float(np.clip(-shift_1 - (1.0 - toony_1), -1.0, 1.0))
    a = 0.5 + 0.5 * s0
    t0 = float(np.clip((toony_1 - a) / max(1.0 - a, 1e-6), 0.0, 1.0))
    return s0, t0


def mtoon_0x(name: str, slot, style, outline_m: float, textures: tuple[int, int] | None = None,
             sphere: int | None = None) -> dict:
    """MToon 0.x ``materialProperties`` of ``slot`` that three-vrm converts into the same MToon 1.0
    settings :func:`kyara.export.vrm.mtoon_json` writes (colours in sRGB here). 0.x adds its sphere
    texture (``_SphereAdd``, read as the 1.0 matcap) with no factor, so ``sphere`` is this material's
    own rim texture, the matcap already multiplied by its :func:`rim_factor`."""
    s0, t0 = shading_0x(style.shading_shift, style.shading_toony)
    mat = slot.material
    inked = float(mat.outline_width) > 0
    width_cm = 100.0 * float(outline_m) if inked else 0.0
    alpha = float(getattr(mat, "alpha", 1.0))
    see_through = alpha < 1.0
    white = (1.0, 1.0, 1.0)
    return {
        "name": name, "shader": "VRM/MToon", "renderQueue": 3000 if see_through else 2000,
        "floatProperties": {"_Cutoff": 0.5, "_BumpScale": 1.0, "_ReceiveShadowRate": 1.0, "_ShadingGradeRate": 1.0,
                            "_ShadeShift": s0, "_ShadeToony": t0, "_LightColorAttenuation": 0.0,
                            "_IndirectLightIntensity": 0.1, "_RimLightingMix": 0.0,
                            "_RimFresnelPower": 5.0, "_RimLift": 0.0,
                            "_OutlineWidth": width_cm, "_OutlineScaledMaxDistance": 1.0,
                            "_OutlineLightingMix": 0.0, "_MToonVersion": 38, "_DebugMode": 0,
                            "_BlendMode": 2 if see_through else 0, "_OutlineWidthMode": 1 if inked else 0,
                            "_OutlineColorMode": 0, "_CullMode": 2, "_OutlineCullMode": 1,
                            "_SrcBlend": 5 if see_through else 1, "_DstBlend": 10 if see_through else 0,
                            "_ZWrite": 0 if see_through else 1},
        "vectorProperties": {"_Color": [*map(float, white if slot.textured else slot.base), alpha],
                             "_ShadeColor": [*map(float, white if slot.textured else slot.shade), 1.0],
                             "_EmissionColor": [0.0, 0.0, 0.0, 1.0],
                             "_RimColor": [0.0, 0.0, 0.0, 1.0],  # the rim is the sphere texture
                             "_OutlineColor": [*map(float, style.outline_color), 1.0]},
        "textureProperties": {**({"_MainTex": int(textures[0]), "_ShadeTexture": int(textures[1])} if slot.textured else {}),
                              **({"_SphereAdd": int(sphere)} if sphere is not None else {})},
        "keywordMap": {"MTOON_OUTLINE_WIDTH_WORLD": inked, "MTOON_OUTLINE_COLOR_FIXED": inked,
                       **({"_ALPHABLEND_ON": True} if see_through else {})},
        "tagMap": {"RenderType": "Transparent" if see_through else "Opaque"},
    }


def rim_spheres(builder, slots, style) -> list[int | None]:
    """Per material slot, the texture index of its 0.x rim sphere (one texture per distinct
    :func:`rim_factor`, in 8 bits), or None where the rim adds nothing."""
    cache: dict[tuple[int, ...], int] = {}
    out: list[int | None] = []
    for slot in slots:
        f = rim_factor(slot.base, slot.shade, style)
        key = tuple(int(round(x * 255)) for x in f)
        if not any(key):
            out.append(None)
            continue
        if key not in cache:
            cache[key] = builder.add_texture(rim_matcap_png(style, np.asarray(key) / 255.0), f"rim_sphere_{len(cache)}")
        out.append(cache[key])
    return out


def vrm0_bytes(character, name: str = "kyara avatar", authors: tuple[str, ...] = ("kyara",),
               license: VrmLicense | None = None, version: str = "1.0") -> tuple[bytes, list[str]]:
    """The character as a VRM 0.x GLB (turned to face -Z). Returns (bytes, warnings)."""
    lic = license or VrmLicense()
    check_authors(authors)
    character, warnings = with_spring_chain(character)
    b = GlbBuilder("kyara VRM 0.x exporter")
    b.use("KHR_materials_unlit")
    layout = add_skinned_character(b, character, transform=TURN_Y)
    warnings += layout.warnings
    style, ink = preview_style(), outline_width_m(character, preview_style())
    rim_textures = rim_spheres(b, layout.materials, style)
    nodes = layout.bone_nodes
    rest = np.asarray(character.rest_joints) @ TURN_Y.T
    d = character.body.layout.dims
    head = rest[BONE_INDEX["head"]]
    groups = []
    for e in EXPRESSIONS:
        binds = [{"mesh": layout.mesh_indices[layout.mesh_nodes.index(x["node"])], "index": x["index"], "weight": 100.0}
                 for x in expression_binds(layout, e)]
        if not binds:
            warnings.append(f"no part has a '{e}' morph; blend shape '{NAME_0X[e]}' is empty")
        groups.append({"name": NAME_0X[e], "presetName": PRESET_0X[e], "binds": binds, "materialValues": [],
                       "isBinary": False})
    collider_groups, group_of = [], []
    for group, bone, shape in body_colliders(character):
        node = nodes[BONE_INDEX[bone]]
        if "sphere" in shape:
            spheres = [(np.asarray(shape["sphere"]["offset"]), shape["sphere"]["radius"])]
        else:  # 0.x has spheres only: three along the capsule
            c = shape["capsule"]
            head, tail = np.asarray(c["offset"]), np.asarray(c["tail"])
            spheres = [(head + t * (tail - head), c["radius"]) for t in (0.0, 0.5, 1.0)]
        collider_groups.append({"node": node, "colliders": [
            {"offset": dict(zip("xyz", map(float, TURN_Y @ o))), "radius": float(r)} for o, r in spheres]})
        group_of.append(group)
    bone_groups = []
    for chain in spring_chains(character):
        s = {**DEFAULT_SPRING, **(character.extra_bones[chain[0] - NUM_BONES].spring or {})}
        bone_groups.append({"comment": character.bone_names[chain[0]], "stiffiness": float(s["stiffness"]),
                            "gravityPower": float(s["gravity_power"]), "gravityDir": {"x": 0.0, "y": -1.0, "z": 0.0},
                            "dragForce": float(s["drag"]), "center": -1, "hitRadius": float(s["hit_radius"]),
                            "bones": [nodes[chain[0]]],
                            "colliderGroups": chain_groups(character, chain, group_of)})
    curve = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    look = {"curve": curve, "xRange": 90.0, "yRange": 10.0}
    vrm = {
        "exporterVersion": "kyara-0.1", "specVersion": "0.0",
        "meta": meta_0x(name, tuple(authors), lic, version),
        "humanoid": {"humanBones": [{"bone": bone_name_0x(bone), "node": nodes[i], "useDefaultValues": True}
                                    for i, bone in enumerate(BONES)],
                     "armStretch": 0.05, "legStretch": 0.05, "upperArmTwist": 0.5, "lowerArmTwist": 0.5,
                     "upperLegTwist": 0.5, "lowerLegTwist": 0.5, "feetSpacing": 0.0, "hasTranslationDoF": False},
        "firstPerson": {"firstPersonBone": nodes[BONE_INDEX["head"]],
                        "firstPersonBoneOffset": {"x": 0.0, "y": float(d["eye_y"] - head[1]), "z": float(-0.3 * d["D"])},
                        "meshAnnotations": [{"mesh": layout.mesh_indices[i],
                                             "firstPersonFlag": FIRST_PERSON_0X[first_person_type(character, p)]}
                                            for i, p in enumerate(character.parts)],
                        "lookAtTypeName": "Bone", "lookAtHorizontalInner": look, "lookAtHorizontalOuter": look,
                        "lookAtVerticalDown": look, "lookAtVerticalUp": look},
        "blendShapeMaster": {"blendShapeGroups": groups},
        "secondaryAnimation": {"boneGroups": bone_groups, "colliderGroups": collider_groups},
        "materialProperties": [mtoon_0x(m["name"], slot, style, ink, layout.textures_of(slot), rim_textures[k])
                               for k, (m, slot) in enumerate(zip(b.gltf["materials"], layout.materials))],
    }
    b.gltf["extensions"] = {"VRM": vrm}
    b.use("VRM")
    return b.to_bytes(), warnings
