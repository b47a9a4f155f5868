"""A user's character sheet from files: reference images, their masks and UDP maps; CoNR ``.npz`` files.

* Images are read by the project's one reader (:func:`kyara.fileio.load_image`: decompression
  bombs, corrupt files refused). An image with transparency is used as it is; an image without
  one needs a *plain background* (:func:`separate_background`: the border is one colour, the
  character is what differs from it and is not connected to the border through it).
* A reference's UDP comes from ``--ref-udp`` (one per image, same order), else from a file beside
  the image (:func:`sibling_udp`: ``front_toon.png`` -> ``front_udp.npz`` as ``kyara render --maps
  toon,udp`` writes them, ``x.rgba.png`` -> ``x.udp.npz`` as dataset shards hold them, or
  ``x_udp.npz`` / ``x.udp.npz``), else from the detector (``kyara train detector``).
* All references share one size (a sheet's images are drawn on one canvas size); 1..16 of them.

Every problem is a ``ValueError`` / ``FileNotFoundError`` with one line naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kyara.sheet.lookup import MAX_REFS, check_udp

PLAIN_STD = 12.0  # the border's colour spread (uint8, per channel) at most this: a plain background
PLAIN_SHARE = 0.9  # and at least this share of border pixels within BACKGROUND_DISTANCE of its median
BACKGROUND_DISTANCE = 40.0  # RGB distance (uint8) still counted as background
MIN_FOREGROUND = 0.005  # the character covers at least this share of the image


@dataclass
class Reference:
    """One reference: straight RGBA uint8 ``[H, W, 4]``, its UDP ``[H, W, 4]`` (None: not given),
    ``name`` (the file), ``udp_source`` (``--ref-udp``, the sibling file, or ``detector``)."""

    name: str
    rgba: np.ndarray
    udp: np.ndarray | None = None
    udp_source: str = ""


def separate_background(rgb: np.ndarray, what: str = "image") -> np.ndarray:
    """``[H, W, 3]`` uint8 on a plain background -> alpha ``[H, W]`` uint8 (255 on the character).

    Raises ``ValueError`` when the border is not one plain colour or nothing stands out from it."""
    from scipy import ndimage

    a = np.asarray(rgb, dtype=np.float32)[..., :3]
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    med = np.median(border, axis=0)
    near = np.linalg.norm(border - med, axis=1) <= BACKGROUND_DISTANCE
    if border.std(axis=0).max() > PLAIN_STD and near.mean() < PLAIN_SHARE:
        raise ValueError(f"{what} has no alpha and no plain background to separate the character from "
                         "(its border is not one colour), expected an RGBA image or a plain background")
    bg_like = np.linalg.norm(a - med, axis=2) <= BACKGROUND_DISTANCE
    labels, _ = ndimage.label(bg_like)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    background = np.isin(labels, edge[edge > 0])
    fg = ndimage.binary_fill_holes(~background)
    if fg.mean() < MIN_FOREGROUND:
        raise ValueError(f"{what} has no alpha and nothing that stands out from its plain background, "
                         "expected a character on it")
    return (fg * 255).astype(np.uint8)


def read_rgba(path: str | os.PathLike, what: str = "reference") -> np.ndarray:
    """An image file -> straight RGBA uint8 ``[H, W, 4]`` (transparency kept, or a plain background separated)."""
    from kyara.fileio import load_image

    p = Path(path)
    im = load_image(p, what)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8).copy()
    if min(rgba.shape[:2]) < 8:
        raise ValueError(f"{what} '{p}' is {rgba.shape[1]}x{rgba.shape[0]} pixels, expected at least 8 on each side")
    if has_alpha and (rgba[..., 3] < 255).any():
        if not (rgba[..., 3] > 0).any():
            raise ValueError(f"{what} '{p}' is fully transparent, expected a character in it")
        return rgba
    rgba[..., 3] = separate_background(rgba[..., :3], f"{what} '{p}'")
    return rgba


def read_udp(path: str | os.PathLike, what: str = "UDP", shape: tuple[int, int] | None = None) -> np.ndarray:
    """A CoNR ``.npz`` (key ``i``, or its only array): float32 ``[H, W, 4]`` in [0, 1]; ``shape`` (H, W)
    when it must match an image."""
    import zipfile

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} '{p}' does not exist, expected a CoNR .npz file (key 'i')")
    if p.suffix.lower() != ".npz":
        raise ValueError(f"{what} '{p}' is not a .npz file, expected CoNR's UDP format (key 'i', float32 [H, W, 4])")
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = list(z.keys())
            if "i" in keys:
                key = "i"
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise ValueError(f"{what} '{p}' holds {keys[:4]}, expected the key 'i' (CoNR's format)")
            u = z[key]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{what} '{p}' is not a readable .npz file ({type(exc).__name__})") from None
    return check_udp(u, f"{what} '{p}'", shape)


def sibling_udp(image: str | os.PathLike) -> Path | None:
    """The UDP file kyara writes beside a view image, if there is one (see the module doc)."""
    p = Path(image)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    names = []
    for tail, repl in (("_toon", "_udp"), ("_rgba", "_udp"), (".rgba", ".udp")):
        if stem.endswith(tail):
            names.append(stem[: -len(tail)] + repl + ".npz")
    names += [stem + "_udp.npz", stem + ".udp.npz"]
    for n in names:
        q = p.with_name(n)
        if q.is_file():
            return q
    return None


def detector_udp(rgba: np.ndarray) -> np.ndarray:
    """The kyara detector's UDP of a reference (its colours on white). Needs the detector's weights
    (``FileNotFoundError`` naming ``kyara train detector`` otherwise)."""
    from kyara.detect import detect
    from kyara.detect.io import as_rgb

    det = detect(as_rgb(rgba), backend="kyara")
    if det.udp is None:
        raise ValueError("the detector gave no UDP for a reference")
    return np.clip(np.asarray(det.udp, dtype=np.float32), 0.0, 1.0)


def read_references(images, ref_udps=None, use_detector: bool = True) -> list[Reference]:
    """Reference images (1..16, one size) and their UDPs -> :class:`Reference` list, in the given order.

    ``ref_udps``: one ``.npz`` per image (same order), or None/empty to look beside each image and
    then ask the detector (``use_detector``)."""
    images = [str(x) for x in (images or [])]
    udps = [str(x) for x in (ref_udps or [])]
    if not 1 <= len(images) <= MAX_REFS:
        raise ValueError(f"got {len(images)} reference images, expected 1..{MAX_REFS}")
    if udps and len(udps) != len(images):
        raise ValueError(f"got {len(udps)} --ref-udp files for {len(images)} images, expected one per image "
                         "in the same order")
    refs: list[Reference] = []
    for k, img in enumerate(images):
        rgba = read_rgba(img, "reference")
        if refs and rgba.shape != refs[0].rgba.shape:
            h0, w0 = refs[0].rgba.shape[:2]
            raise ValueError(f"reference '{img}' is {rgba.shape[1]}x{rgba.shape[0]} pixels, expected {w0}x{h0} "
                             f"like '{refs[0].name}' (a sheet's images share one size)")
        refs.append(Reference(img, rgba))
    for k, ref in enumerate(refs):
        shape = ref.rgba.shape[:2]
        if udps:
            ref.udp, ref.udp_source = read_udp(udps[k], "--ref-udp", shape), udps[k]
            continue
        side = sibling_udp(ref.name)
        if side is not None:
            ref.udp, ref.udp_source = read_udp(side, "UDP", shape), str(side)
    missing = [r for r in refs if r.udp is None]
    if missing:
        if not use_detector:
            raise ValueError(f"reference '{missing[0].name}' has no UDP: give --ref-udp FILE.npz per image "
                             "(kyara render --maps toon,udp writes them)")
        for ref in missing:
            try:
                ref.udp, ref.udp_source = detector_udp(ref.rgba), "detector"
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"reference '{ref.name}' has no UDP: give --ref-udp FILE.npz per image (kyara render --maps "
                    "toon,udp writes them) or train the detector that predicts it (`kyara train detector`)") from None
    return refs
