"""Bring your own avatar: VRM 1.0, VRM 0.x and rigged glTF/GLB imported as kyara characters.

::

    from kyara.avatar import load_character, character_body, avatar_pose
    character = load_character("avatar.vrm")       # or .glb / .gltf / character.json
    body = character_body(character)               # what render/keypoints/animate take
    verts, joints = body.pose(avatar_pose("jog", body))

Modules: :mod:`~kyara.avatar.glb` (bounded glTF reader), :mod:`~kyara.avatar.vrm` (VRM 1.0 / 0.x
extensions), :mod:`~kyara.avatar.convert` (-> Character in kyara's conventions),
:mod:`~kyara.avatar.materials` (colours, MToon outlines, which meshes are the body),
:mod:`~kyara.avatar.body` (the Body-like adapter), :mod:`~kyara.avatar.licence` (VRM meta, the
conversion gate).
"""

from __future__ import annotations

import os
from pathlib import Path

from kyara.avatar.glb import SUFFIXES, GltfLimits

__all__ = ["AVATAR_SUFFIXES", "GltfLimits", "avatar_pose", "character_body", "import_avatar", "is_avatar_path",
           "load_character"]

AVATAR_SUFFIXES = SUFFIXES


def is_avatar_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in AVATAR_SUFFIXES


def import_avatar(path: str | os.PathLike, config=None):
    """See :func:`kyara.avatar.convert.import_avatar`."""
    from kyara.avatar.convert import import_avatar as _imp

    return _imp(path, config)


def load_character(path: str | os.PathLike, mapping=None):
    """What every ``--character`` option calls: a ``.vrm``/``.glb``/``.gltf`` avatar is imported;
    a ``.json`` is a character spec, built with :func:`kyara.character.build.build_character`.
    ``mapping`` (YAML path or dict) overrides bone names of plain glTF rigs."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in AVATAR_SUFFIXES:
        from kyara.avatar.convert import ImportConfig

        return import_avatar(p, ImportConfig(mapping=mapping))
    if suffix == ".json":
        from kyara.character.build import build_character
        from kyara.character.spec import load_spec

        return build_character(load_spec(p))
    raise ValueError(f"--character '{path}' is not a .vrm, .glb, .gltf or character .json file")


def character_body(character):
    """See :func:`kyara.avatar.body.character_body`."""
    from kyara.avatar.body import character_body as _cb

    return _cb(character)


def avatar_pose(name: str, body):
    """See :func:`kyara.avatar.body.avatar_pose`."""
    from kyara.avatar.body import avatar_pose as _ap

    return _ap(name, body)
