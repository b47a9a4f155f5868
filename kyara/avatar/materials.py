"""Colours and materials of an imported avatar: base colour factor x texture x ``COLOR_0`` per
vertex, MToon shade colours and outline widths, and which meshes are the body's own surface.

Used by :func:`kyara.avatar.convert.import_avatar`; everything here reads the parsed
:class:`~kyara.avatar.glb.GltfDocument` and never fails on a bad colour (an unreadable texture only
loses colour).
"""

from __future__ import annotations

import numpy as np

from kyara.avatar.glb import GltfDocument
from kyara.avatar.vrm import AvatarExtensions


def _decode_image(doc: GltfDocument, tex_index: int, cache: dict) -> np.ndarray | None:
    if tex_index in cache:
        return cache[tex_index]
    img = None
    try:
        tex = doc.item("textures", tex_index, "texture")
        src = tex.get("source")
        data = doc.image_bytes(src) if isinstance(src, int) else None
        if data is not None:
            import io

            from PIL import Image

            with Image.open(io.BytesIO(data)) as im:
                im.thumbnail((2048, 2048))
                img = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (ValueError, OSError):
        img = None  # an unreadable texture only loses colour
    cache[tex_index] = img
    return img


def _to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def sample_texture(img: np.ndarray, uv: np.ndarray, transform: dict | None = None) -> np.ndarray:
    """Nearest texel sRGB [N, 3] in [0, 1] of ``img [H, W, 3] uint8`` at ``uv [N, 2]`` (glTF UVs:
    origin top-left, repeat wrap; ``KHR_texture_transform`` offset/rotation/scale applied)."""
    uv = np.asarray(uv, dtype=np.float64)
    if transform:
        s = np.asarray(transform.get("scale", [1.0, 1.0]), dtype=np.float64)
        r = float(transform.get("rotation", 0.0))
        o = np.asarray(transform.get("offset", [0.0, 0.0]), dtype=np.float64)
        u, v = uv[:, 0] * s[0], uv[:, 1] * s[1]
        uv = np.stack([np.cos(r) * u + np.sin(r) * v, -np.sin(r) * u + np.cos(r) * v], axis=1) + o
    h, w = img.shape[:2]
    x = np.floor(np.mod(uv[:, 0], 1.0) * w).astype(np.int64).clip(0, w - 1)
    y = np.floor(np.mod(uv[:, 1], 1.0) * h).astype(np.int64).clip(0, h - 1)
    return img[y, x].astype(np.float64) / 255.0


DEFAULT_OUTLINE = 0.0015  # metres: ink outline of materials that are not MToon


def _outline_width(doc: GltfDocument, ext: AvatarExtensions, index, mat: dict) -> float:
    """Outline width in metres of material ``index``: MToon 1.0 ``outlineWidthMode`` /
    ``outlineWidthFactor``, MToon 0.x ``_OutlineWidthMode`` / ``_OutlineWidth`` (centimetres); 0 for
    "none", :data:`DEFAULT_OUTLINE` for screen-space widths and materials that are not MToon."""
    def finite(x) -> float | None:
        ok = isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) and x >= 0
        return float(x) if ok else None

    mt = (mat.get("extensions") or {}).get("VRMC_materials_mtoon") if isinstance(mat.get("extensions"), dict) else None
    if isinstance(mt, dict):
        mode = mt.get("outlineWidthMode", "none")
        if mode == "none":
            return 0.0
        w = finite(mt.get("outlineWidthFactor", 0.0))
        return (w if w is not None else DEFAULT_OUTLINE) if mode == "worldCoordinates" else DEFAULT_OUTLINE
    if ext.format == "vrm0" and isinstance(index, int):
        vrm = (doc.json.get("extensions") or {}).get("VRM")
        props = vrm.get("materialProperties") if isinstance(vrm, dict) else None
        fp = props[index].get("floatProperties") if isinstance(props, list) and index < len(props) \
            and isinstance(props[index], dict) else None
        if isinstance(fp, dict) and "_OutlineWidthMode" in fp:
            mode = fp.get("_OutlineWidthMode")
            if mode == 0:
                return 0.0
            w = finite(fp.get("_OutlineWidth"))
            return 0.01 * w if mode == 1 and w is not None else DEFAULT_OUTLINE
    return DEFAULT_OUTLINE


def kyara_body_parts(doc: GltfDocument, part_nodes: list[int], part_meshes: list[int]) -> list[bool] | None:
    """Per part, whether it is the body's own surface, for a VRM kyara wrote (``asset.generator``
    "kyara ..."): its first-person annotations mark the body ``auto`` (hair, face features, hats:
    ``thirdPersonOnly``; garments: ``both``). None for other files and when no part is ``auto``."""
    asset = doc.json.get("asset")
    if not isinstance(asset, dict) or not str(asset.get("generator") or "").startswith("kyara"):
        return None
    exts = doc.json.get("extensions") if isinstance(doc.json.get("extensions"), dict) else {}
    kinds: dict[tuple[str, int], str] = {}
    for key, ref, flag in (("VRMC_vrm", "node", "type"), ("VRM", "mesh", "firstPersonFlag")):
        fp = exts[key].get("firstPerson") if isinstance(exts.get(key), dict) else None
        ann = fp.get("meshAnnotations") if isinstance(fp, dict) else None
        for a in ann if isinstance(ann, list) else []:
            if isinstance(a, dict) and isinstance(a.get(ref), int):
                kinds[(ref, a[ref])] = str(a.get(flag, "")).lower()
    out = [kinds.get(("node", nd), kinds.get(("mesh", m), "")) == "auto" for nd, m in zip(part_nodes, part_meshes)]
    return out if any(out) else None


def material_colours(doc: GltfDocument, ext: AvatarExtensions, index, uv, vcol, n: int, cache: dict):
    """(per-vertex sRGB [n, 3], alpha, shade sRGB or None, name, outline width metres) of material ``index``."""
    mat = doc.item("materials", index, "material") if index is not None else {}
    pbr = mat.get("pbrMetallicRoughness") or {}
    factor = np.asarray(pbr.get("baseColorFactor", [1, 1, 1, 1]), dtype=np.float64).reshape(-1)
    if factor.size != 4 or not np.all(np.isfinite(factor)):
        factor = np.ones(4)
    lin = np.tile(factor[:3], (n, 1))
    tex = pbr.get("baseColorTexture")
    if isinstance(tex, dict) and isinstance(tex.get("index"), int) and uv is not None:
        img = _decode_image(doc, tex["index"], cache)
        if img is not None:
            tt = (tex.get("extensions") or {}).get("KHR_texture_transform")
            lin = lin * _to_linear(sample_texture(img, uv, tt if isinstance(tt, dict) else None))
    if vcol is not None:
        lin = lin * np.asarray(vcol, dtype=np.float64)[:, :3]
    alpha = float(factor[3]) if mat.get("alphaMode") == "BLEND" else 1.0
    shade = ext.shade_colors.get(index) if index is not None else None
    return _to_srgb(lin), alpha, shade, str(mat.get("name") or f"material{index}"), _outline_width(doc, ext, index, mat)
