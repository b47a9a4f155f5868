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
folder), its atlas (xatlas is deterministic; cached per mesh), pose and the painting cameras of the
run's seed.

The benchmark list (:data:`BENCHMARK_PROMPTS`): the seven gallery prompts (AniDream's six and
PoseAnimeFlow's jogging girl, as in the README's gallery) and nine more that stress what painting
must keep apart (colours per garment, hair that covers the back, a cape, armour, a long robe, a
beard); :func:`paint_benchmark` creates, paints and measures each one (``benchmarks/paint.py
--suite MODEL``).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


GALLERY_PROMPTS: tuple[tuple[str, str], ...] = (  # (prompt, pose): the README gallery (scripts/make_gallery.py)
    ("an anime pirate in a blue and gold coat", "stand"),
    ("an anime boy with glasses", "stand"),
    ("an anime girl in a kimono", "stand"),
    ("an anime boy in a hoodie", "stand"),
    ("an anime girl in a sports jersey", "stand"),
    ("an anime witch with pointy hat", "stand"),
    ("young anime girl with long brown hair tied in a high ponytail, wearing a light blue sports outfit "
     "with white sneakers, jogging", "jog"),
)
BENCHMARK_PROMPTS: tuple[tuple[str, str], ...] = GALLERY_PROMPTS + (
    ("an anime girl in a sailor uniform with a red scarf", "stand"),
    ("an anime boy in a black school uniform", "stand"),
    ("an anime girl with twin tails in a maid outfit", "stand"),
    ("an anime knight in silver armor with a red cape", "stand"),
    ("an anime girl with short pink hair in a yellow raincoat", "stand"),
    ("an anime boy with spiky white hair in a red jacket and jeans", "stand"),
    ("an anime girl with very long black hair in a white sundress", "stand"),
    ("an old anime wizard with a long white beard in a purple robe", "stand"),
    ("an anime idol girl in a green dress with a big ribbon", "stand"),
)


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
    from kyara.paint.backend import camera_config, face_center
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
    faces = int(rep.get("face_views", 0))  # paint.json's "views" counts them too
    if not 0 <= faces < n:
        raise ValueError(f"paint.json has {faces} face views of {n} views, expected fewer face views than views")
    cams = paint_cameras(verts, (size, size), seed=int(rep["seed"]), config=camera_config(n - faces, faces),
                         face_center=face_center(character, mesh, verts))
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


def paint_benchmark(config, out_root: str | os.PathLike, prompts=BENCHMARK_PROMPTS,
                    clip: str | os.PathLike | None = None, build_options=None, size: int = 512,
                    turntable_frames: int = 36, turntable_size: int = 256, progress=None) -> list[dict]:
    """Create, paint and measure every ``(prompt, pose)`` of ``prompts`` with ``config``
    (:class:`kyara.paint.backend.PaintConfig`; its prompt and pose are replaced by each entry's): one
    folder ``out_root/<k>-<words>`` each, with ``character.json`` (the parsed spec at
    ``config.image.seed``) beside the painted files, measured again by :func:`evaluate_paint`.
    ``build_options``: :class:`kyara.character.build.BuildOptions` (default full quality). Returns one
    row per prompt: ``prompt, pose, folder, seconds`` (build + paint, wall) and the figures.
    ``progress(k, n, prompt)`` before each prompt."""
    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt
    from kyara.fileio import write_text_atomic
    from kyara.paint.avatar import paint_avatar

    root = Path(out_root)
    items = list(prompts)
    if not items:
        raise ValueError("the benchmark has no prompts, expected at least one (prompt, pose)")
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (prompt, pose) in enumerate(items):
        if progress is not None:
            progress(k, len(items), prompt)
        words = "-".join(re.findall(r"[a-z0-9]+", prompt.lower())[:5])
        folder = root / f"{k:02d}-{words}"
        folder.mkdir(exist_ok=True)
        t = time.perf_counter()
        spec = parse_prompt(prompt, seed=int(config.image.seed))
        character = build_character(spec, build_options)
        write_text_atomic(folder / "character.json", spec.to_json())
        cfg = replace(config, image=replace(config.image, prompt=prompt), pose=pose)
        paint_avatar(character, cfg, folder, size=size, turntable_frames=turntable_frames,
                     turntable_size=turntable_size, name=prompt, source=folder / "character.json")
        seconds = time.perf_counter() - t
        rows.append({"prompt": prompt, "pose": pose, "folder": str(folder), "seconds": seconds,
                     **evaluate_paint(folder, clip)})
    return rows


def benchmark_table(rows: list[dict]) -> list[str]:
    """The Markdown table of :func:`paint_benchmark`'s rows (one line each, a mean line last)."""
    def num(v, fmt):
        return "n/a" if v is None else format(v, fmt)

    out = ["| # | prompt | pose | consistency | coverage | CLIPScore | seconds |", "|---|---|---|---|---|---|---|"]
    for k, r in enumerate(rows):
        out.append(f"| {k} | {r['prompt']} | {r['pose']} | {num(r['consistency'], '.4f')} | "
                   f"{num(r['coverage'], '.3f')} | {num(r['clipscore'], '.2f')} | {r['seconds']:.1f} |")

    def mean(key):
        vals = [r[key] for r in rows if r[key] is not None]
        return sum(vals) / len(vals) if vals else None

    out.append(f"| | mean of {len(rows)} | | {num(mean('consistency'), '.4f')} | {num(mean('coverage'), '.3f')} | "
               f"{num(mean('clipscore'), '.2f')} | {num(mean('seconds'), '.1f')} |")
    return out
