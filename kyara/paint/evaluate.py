"""Figures of a painted avatar folder (``kyara paint`` / ``kyara create --model``): :func:`evaluate_paint`.

Measured again from the files, not copied from the run's own report:

* **consistency**: the generated views (``views/view<k>.png``) baked one by one into the character's
  texture; on the texels two or more views see, the RMS spread of their colours around the joint bake
  (sRGB 0..1; :func:`kyara.paint.bake.consistency` at the run's final power). 0 = every view paints
  every shared texel alike.
* **coverage**: the share of the atlas' chart texels some view sees.
* **CLIPScore** (only with ``clip``: a local CLIP folder, ``transformers`` layout; none ships with
  kyara): per view ``100 * max(cos(image, view prompt), 0)`` as torchmetrics computes it, averaged.

The geometry is rebuilt from ``paint.json``: the character file it names (or ``character.json`` in the
folder), its atlas (xatlas is deterministic), pose and the painting cameras of the run's seed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def _report(folder: Path) -> dict:
    p = folder / "paint.json"
    if not p.is_file():
        raise FileNotFoundError(f"'{folder}' has no paint.json, expected a folder written by kyara paint or "
                                "kyara create --model")
    try:
        rep = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"'{p}' is not readable JSON") from None
    need = ("views", "view_size", "texture_size", "seed", "prompts")
    if not isinstance(rep, dict) or any(k not in rep for k in need):
        raise ValueError(f"'{p}' lacks {', '.join(k for k in need if k not in rep)}, expected a kyara paint report")
    return rep


def _character_file(folder: Path, rep: dict) -> Path:
    for cand in (rep.get("character"), folder / "character.json"):
        if cand and Path(cand).is_file():
            return Path(cand)
    raise FileNotFoundError(f"the character painted into '{folder}' is not found (paint.json names "
                            f"{rep.get('character')!r} and there is no character.json beside it)")


def clip_score(images: list[np.ndarray], prompts: list[str], clip: str | os.PathLike) -> float:
    """Mean ``100 * max(cos, 0)`` between each image ``[H, W, 3] uint8`` and its prompt, with the
    CLIP model of the local folder ``clip`` (transformers ``CLIPModel`` layout, read offline)."""
    from kyara.errors import require_extra

    require_extra(("torch", "transformers"), "CLIPScore", "diffusion", "torch, transformers")
    import torch
    from transformers import CLIPModel, CLIPProcessor

    p = Path(clip)
    if not (p / "config.json").is_file():
        raise FileNotFoundError(f"--clip '{clip}' is not a CLIP folder (no config.json), expected a local "
                                "transformers CLIP model")
    model = CLIPModel.from_pretrained(str(p), local_files_only=True).eval()
    proc = CLIPProcessor.from_pretrained(str(p), local_files_only=True)
    with torch.no_grad():
        batch = proc(text=list(prompts), images=list(images), return_tensors="pt", padding=True, truncation=True)
        out = model(**batch)
        a = torch.nn.functional.normalize(out.image_embeds, dim=-1)
        b = torch.nn.functional.normalize(out.text_embeds, dim=-1)
        cos = (a * b).sum(-1)
    return float((100.0 * cos.clamp(min=0)).mean())


def evaluate_paint(folder: str | os.PathLike, clip: str | os.PathLike | None = None) -> dict:
    """``{"consistency", "shared_texels", "coverage", "views", "clipscore" (None without clip)}`` of the
    painted avatar folder ``folder`` (see the module docstring)."""
    from kyara.avatar import avatar_pose
    from kyara.fileio import load_image
    from kyara.generate.conditions import load_character
    from kyara.paint.backend import camera_config
    from kyara.paint.bake import consistency, coverage, texture_views
    from kyara.paint.buffers import render_buffers
    from kyara.paint.cameras import paint_cameras
    from kyara.paint.uv import character_atlas, texel_faces

    d = Path(folder)
    if not d.is_dir():
        raise FileNotFoundError(f"'{folder}' is not a folder, expected a painted avatar folder")
    rep = _report(d)
    n, size = int(rep["views"]), int(rep["view_size"])
    views = []
    for k in range(n):
        f = d / "views" / f"view{k}.png"
        if not f.is_file():
            raise FileNotFoundError(f"'{f}' is missing, expected {n} views in '{d / 'views'}'")
        im = np.asarray(load_image(f, "view").convert("RGB"))
        if im.shape[:2] != (size, size):
            raise ValueError(f"'{f}' is {im.shape[1]}x{im.shape[0]}, expected {size}x{size} as paint.json says")
        views.append(im)
    character = load_character(_character_file(d, rep))
    atlas, mesh = character_atlas(character, int(rep["texture_size"]), cache=True)  # the run's own atlas, if kept
    pose = avatar_pose(rep.get("pose", "stand"), character.body)
    verts = character.pose(pose, mesh)[0]
    cams = paint_cameras(verts, (size, size), seed=int(rep["seed"]),
                         config=camera_config(n, int(rep.get("face_views", 0))))
    buf = render_buffers(atlas, verts, cams.cameras, np.minimum(mesh["part_id"], 254).astype(np.int64))
    maps = texture_views(buf, int(rep["texture_size"]), sampling="bilinear")
    x = np.stack(views).astype(np.float64) / 255.0
    rms, shared = consistency(maps, x, float(rep.get("final_power", 6.0)))
    cov = coverage(maps, texel_faces(atlas)[0] >= 0)
    score = clip_score(views, list(rep["prompts"]), clip) if clip is not None else None
    return {"consistency": None if not np.isfinite(rms) else rms, "shared_texels": shared, "coverage": cov,
            "views": n, "clipscore": score}


def cli_report(folder: str, clip: str | None = None) -> tuple[list[str], dict]:
    """``kyara eval paint DIR [--clip PATH]``: the printed lines and the figures."""
    fig = evaluate_paint(folder, clip)

    def num(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    lines = [f"painted avatar '{folder}': {fig['views']} generated views",
             f"multi-view consistency (RMS disagreement on shared texels, lower is better): "
             f"{num(fig['consistency'], '.4f')} over {fig['shared_texels']} texels",
             f"coverage (texels seen by some view): {num(fig['coverage'], '.3f')}",
             "CLIPScore: " + (num(fig["clipscore"], ".2f") if clip is not None else
                              "not measured (no CLIP weights ship in any package; give --clip PATH)")]
    return lines, fig
