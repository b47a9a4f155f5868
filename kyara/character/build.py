"""CharacterSpec -> Character: the body in the spec's proportions, dressed and styled.

Each feature module returns parts whose ``joint_indices`` index into ``BONES + its own extra
bones`` (in the order it returns them); this module concatenates the extra bones of all modules
and renumbers, so modules never need to know about each other.
"""

from __future__ import annotations

import functools

from kyara.body.model import build_body
from kyara.body.skeleton import NUM_BONES
from kyara.character.model import Character, ExtraBone, Material, Part, hex_to_rgb


def _renumber(parts: list[Part], first_extra: int) -> list[Part]:
    """Shift extra-bone indices (>= 55) of ``parts`` so they start at ``first_extra``."""
    if first_extra == NUM_BONES:
        return parts
    for p in parts:
        ji = p.joint_indices.copy()
        ji[ji >= NUM_BONES] += first_extra - NUM_BONES
        p.joint_indices = ji
    return parts


def body_part(body, spec) -> Part:
    skin = hex_to_rgb(spec.skin_tone.hex)
    return Part("body", "body", body.vertices, body.faces, body.joint_indices, body.joint_weights,
                Material("skin", skin, shade_color=None, outline_width=0.0012))


def _feature_builders():
    """(module name, function name) of each feature, imported lazily so a missing one fails loudly."""
    return (
        ("kyara.character.face", "build_face"),
        ("kyara.character.hair", "build_hair"),
        ("kyara.character.garments", "build_garments"),
        ("kyara.character.accessories", "build_accessories"),
    )


def build_character(spec) -> Character:
    """Build the rigged, dressed character for a :class:`~kyara.character.spec.CharacterSpec`."""
    import importlib

    body = build_body(spec.body.params())
    parts: list[Part] = [body_part(body, spec)]
    extra: list[ExtraBone] = []
    for module_name, fn_name in _feature_builders():
        fn = getattr(importlib.import_module(module_name), fn_name)
        new_parts, new_bones = fn(spec, body)
        parts += _renumber(list(new_parts), NUM_BONES + len(extra))
        extra += list(new_bones)
    return Character(spec=spec, body=body, parts=parts, extra_bones=extra)


@functools.lru_cache(maxsize=8)
def build_character_cached(spec_json: str) -> Character:
    from kyara.character.spec import from_json

    return build_character(from_json(spec_json))
