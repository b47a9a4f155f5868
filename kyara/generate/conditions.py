"""Condition images for ControlNets, from our bodies, characters, or the user's own files.

:func:`condition_images` renders ``openpose``, ``depth``, ``normal``, ``lineart`` and ``canny``
(Canny edges of the depth and normal maps) of a posed mesh: a bare body (``body=`` preset) or a
dressed character (``character=`` a :class:`kyara.character.model.Character`), whose depth and
outline then follow the clothes and hair instead of fighting the prompt. OpenPose keypoints
always come from the skeleton; a keypoint is dropped only when another body part hides it
(:func:`kyara.pose.keypoints.visible_keypoints`: hair and clothes never do).

:func:`file_condition` reads an OpenPose JSON or a ready condition image. Every image is
``[H, W, 3] uint8`` RGB at the generation size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

MESH_KINDS = ("openpose", "depth", "normal", "lineart", "canny")


def _gray3(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return np.repeat(a[..., :1], 3, axis=-1) if a.ndim == 3 else np.repeat(a[..., None], 3, axis=-1)


def canny_edges(image: np.ndarray, low: int = 100, high: int = 200) -> np.ndarray:
    """White-on-black Canny edges ``[H, W, 3] uint8`` of an RGB or gray ``uint8`` image."""
    import cv2

    gray = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    return _gray3(cv2.Canny(gray, low, high))


def load_character(path: str | os.PathLike):
    """The character of ``--character``: ``character.json`` (built) or an avatar ``.vrm/.glb/.gltf``."""
    from kyara.avatar import load_character as _load

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--character '{p}' does not exist, expected a character.json, .vrm, .glb or .gltf")
    return _load(p)


def condition_images(kinds: Sequence[str], *, body=None, pose: str = "stand", view="front",
                     size: tuple[int, int] = (512, 512), character=None,
                     openpose_style: str = "classic") -> dict[str, np.ndarray]:
    """Render condition images ``{kind: [H, W, 3] uint8}`` of a posed body or dressed character.

    ``body``: a preset name or :class:`~kyara.body.params.BodyParams`; ``character``: a
    :class:`~kyara.character.model.Character` (wins over ``body``). ``view``: front/side/back/right
    or azimuth degrees; ``size``: (width, height) pixels.
    """
    from kyara.body.model import build_body
    from kyara.pose.keypoints import body_keypoints, project_keypoints, visible_keypoints
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera
    from kyara.render.maps import render_maps
    from kyara.render.openpose_draw import draw_openpose

    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in MESH_KINDS]
    if bad:
        raise ValueError(f"condition kind '{bad[0]}' is unknown, expected one of {', '.join(MESH_KINDS)}")
    w, h = int(size[0]), int(size[1])
    if character is not None:
        # one adapter for generated and imported characters: the dressed mesh, the skeleton's keypoints
        from kyara.avatar import avatar_pose, character_body

        skel = character_body(character)
        the_pose = avatar_pose(pose, skel)
        verts, _ = skel.pose(the_pose)
        faces = skel.faces
    else:
        skel = build_body(body if body is not None else "teen-girl")
        from kyara.body.params import get_preset

        params = get_preset(body) if isinstance(body, str) else body
        the_pose = get_pose(pose, params)
        verts, _ = skel.pose(the_pose)
        faces = skel.faces
    verts = np.asarray(verts, dtype=np.float32)  # [V, 3] metres
    cam = pose_camera(verts, view, (w, h))
    gl_maps = []
    if "depth" in kinds or "canny" in kinds:
        gl_maps.append("depth")
    if "normal" in kinds or "canny" in kinds:
        gl_maps.append("normal")
    if "lineart" in kinds:
        gl_maps.append("lineart")
    maps = render_maps(verts, faces, [cam], maps=tuple(gl_maps)) if gl_maps else {}
    out: dict[str, np.ndarray] = {}
    for kind in kinds:
        if kind == "openpose":
            kp = body_keypoints(skel, the_pose.rotations, the_pose.translation)
            visible = visible_keypoints(skel, kp, [cam], verts)[0]
            people = [project_keypoints(kp, cam, visible)]
            out[kind] = draw_openpose(people, w, h, thick=(openpose_style == "xinsir"))
        elif kind == "depth":
            out[kind] = _gray3(maps["depth"][0])
        elif kind == "normal":
            out[kind] = np.ascontiguousarray(maps["normal"][0][..., :3])
        elif kind == "lineart":
            out[kind] = _gray3(maps["lineart"][0])
        elif kind == "canny":
            edges = np.maximum(canny_edges(maps["depth"][0][..., 0], 10, 30), canny_edges(maps["normal"][0]))
            out[kind] = edges
    return out


def read_image_rgb(path: str | os.PathLike, size: tuple[int, int] | None = None, what: str = "image") -> np.ndarray:
    """An image file as ``[H, W, 3] uint8`` RGB, resized (Lanczos) to ``size`` = (w, h) when given."""
    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} '{p}' does not exist, expected an image file")
    try:
        with Image.open(p) as im:
            im = im.convert("RGB")
            if size is not None and im.size != tuple(size):
                im = im.resize(tuple(size), Image.LANCZOS)
            return np.asarray(im, dtype=np.uint8).copy()
    except OSError:
        raise ValueError(f"{what} '{p}' is not a readable image") from None


def openpose_from_json(path: str | os.PathLike, size: tuple[int, int], openpose_style: str = "classic",
                       frame: int = 0) -> np.ndarray:
    """Draw frame ``frame`` of an OpenPose JSON file at ``size`` = (w, h) -> ``[H, W, 3] uint8``.

    The file's canvas is fitted into ``size`` keeping its aspect ratio (centred, letterboxed; see
    :func:`kyara.pose.openpose_io.load_pose`, which also lists the formats read).
    """
    from kyara.pose.openpose_io import load_pose
    from kyara.render.openpose_draw import draw_openpose

    w, h = int(size[0]), int(size[1])
    pose = load_pose(path, (w, h), frame=frame, label=f"--pose-json '{path}'")
    return draw_openpose(pose.people, w, h, thick=(openpose_style == "xinsir"))
