"""Held-out evaluation of sheet rendering: the table of the CoNR issue (benchmarks/sheet.py uses it).

Test data: ``kyara dataset sheets`` characters from a seed no training run uses
(:data:`HELDOUT_SEED`), all in the ``test`` split (:func:`make_heldout`). A *tuple* is (character,
target, ``n`` of its sheet references); tuples are drawn once from a seed (:func:`make_tuples`), so
every method sees the same ones. Preprocessing is CoNR's (:mod:`kyara.sheet.prep`): references
cropped by their alpha box, the target (UDP and truth) by its occupancy box, at each side measured.

Rows: B0, B1, B2 (:mod:`kyara.sheet.baselines`), CoNR-lite, and CoNR-lite with its learned RGBA
residual and learned fusion zeroed (``ablate``: B2's blend of the refined warps), each at every
``n``. Metrics per image, then averaged over the tuples (premultiplied colours in [0, 1], CoNR's
black background, the whole square):

* ``l1_rgb``, ``l1_rgba`` — mean absolute error over RGB / RGBA;
* ``psnr`` (dB, RGB) and ``ssim`` (scikit-image, RGB, data range 1);
* ``alpha_iou`` — IoU of alpha > 0.5;
* ``l1_seen`` / ``l1_unseen`` — L1 RGB over the target's occupancy pixels that some reference sees
  / that none does (:func:`kyara.sheet.lookup.correspond`'s ``seen``, at that side).

Sides: the model's own (64 for the CPU model) and 128; the baselines run at each side, the model
at its own side and its output is resized (bilinear, premultiplied) to the other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kyara.sheet.baselines import run_baseline
from kyara.sheet.lookup import correspond
from kyara.sheet.prep import crop_image, crop_udp, premultiply, square_box

HELDOUT_SEED = 7_340_019  # characters no training run of the shipped model saw
METRICS = ("l1_rgb", "l1_rgba", "psnr", "ssim", "alpha_iou", "l1_seen", "l1_unseen")
PAPER = {"CoNR (paper, m=4, n=4)": 0.0179, "plain U-Net (paper)": 0.0311}  # L1, hand-drawn anime data
ROWS = ("b0", "b1", "b2", "conr", "conr_zeroed")
ROW_NAMES = {"b0": "B0 mean colour", "b1": "B1 best reference", "b2": "B2 nearest UDP, all references",
             "conr": "CoNR-lite", "conr_zeroed": "CoNR-lite, residual + fusion zeroed"}


@dataclass
class Case:
    """One held-out character: its sheet references and targets, straight RGBA uint8 + UDP each."""

    name: str
    refs: list
    targets: list


def make_heldout(folder, characters: int = 30, per_character: int = 8, size: int = 128, refs: int = 4,
                 seed: int = HELDOUT_SEED, use_ray: bool = False, workers: int | None = None) -> Path:
    """Write a held-out ``sheets`` set (every character in the ``test`` split); returns its folder."""
    from kyara.dataset import DatasetConfig, write_dataset

    d = Path(folder) / "sheets"
    write_dataset(DatasetConfig(kind="sheets", count=characters * per_character, per_character=per_character,
                                size=size, seed=seed, refs=refs, splits=(1e-9, 0.0, 1.0 - 1e-9)),
                  d, use_ray=use_ray, workers=workers)
    return d


def load_cases(folder, split: str = "test") -> list[Case]:
    from kyara.dataset.reader import iter_samples

    cases: list[Case] = []
    for s in iter_samples(folder, split, fields=("rgba", "udp", "refs")):
        if not cases or cases[-1].name != s["character"]:
            cases.append(Case(s["character"], [(r["rgba"], r["udp"]) for r in s.get("refs") or []], []))
        if (s["udp"][..., 3] > 0.5).sum() >= 16:
            cases[-1].targets.append((s["rgba"], s["udp"]))
    return [c for c in cases if c.refs and c.targets]


def make_tuples(cases: list[Case], count: int, seed: int = 0, counts: tuple[int, ...] = (4, 1)) -> list[tuple]:
    """``count`` fixed tuples ``(case, target, references)``; ``n`` cycles through ``counts``."""
    rng = np.random.default_rng([seed, 0x54555045])
    out = []
    for i in range(count):
        c = int(rng.integers(len(cases)))
        t = int(rng.integers(len(cases[c].targets)))
        n = min(counts[i % len(counts)], len(cases[c].refs))
        out.append((c, t, tuple(sorted(int(k) for k in rng.choice(len(cases[c].refs), n, replace=False)))))
    return out


def image_metrics(pred: np.ndarray, truth: np.ndarray, seen: np.ndarray, occ: np.ndarray) -> dict:
    """Premultiplied ``[S, S, 4]`` prediction vs truth -> the metrics of :data:`METRICS`."""
    from skimage.metrics import structural_similarity

    p, t = np.clip(pred, 0, 1).astype(np.float64), truth.astype(np.float64)
    d = np.abs(p - t)
    mse = float(((p[..., :3] - t[..., :3]) ** 2).mean())
    a, b = p[..., 3] > 0.5, t[..., 3] > 0.5
    union = int((a | b).sum())
    s, u = occ & seen, occ & ~seen
    return {"l1_rgb": float(d[..., :3].mean()), "l1_rgba": float(d.mean()),
            "psnr": 10.0 * np.log10(1.0 / mse) if mse > 0 else 100.0,
            "ssim": float(structural_similarity(p[..., :3], t[..., :3], channel_axis=2, data_range=1.0)),
            "alpha_iou": float((a & b).sum() / union) if union else 1.0,
            "l1_seen": float(d[s][:, :3].mean()) if s.any() else float("nan"),
            "l1_unseen": float(d[u][:, :3].mean()) if u.any() else float("nan")}


def _resize(rgba: np.ndarray, side: int) -> np.ndarray:
    import cv2

    if rgba.shape[0] == side:
        return rgba
    flag = cv2.INTER_AREA if rgba.shape[0] > side else cv2.INTER_LINEAR
    return cv2.resize(rgba, (side, side), interpolation=flag)


@dataclass
class SheetEval:
    """``rows[(row, n, side)]``: mean metrics; ``count`` tuples over ``characters`` characters;
    ``seconds``: wall time of the evaluation; ``model_side``: None without a model."""

    rows: dict = field(default_factory=dict)
    count: int = 0
    characters: int = 0
    seconds: float = 0.0
    model_side: int | None = None


def evaluate(cases: list[Case], tuples: list[tuple], model=None, sides: tuple[int, ...] = (64, 128)) -> SheetEval:
    """Every row of :data:`ROWS` (the model's only with ``model``) on ``tuples`` at ``sides``."""
    from kyara.sheet.recipe import sheet_view

    t0 = time.perf_counter()
    mside = int(model.config.size) if model is not None else None
    all_sides = tuple(sorted(set(sides) | ({mside} if mside else set())))
    views: dict = {}  # (case, ref, side) -> RefView, its k-d tree built once

    def view(c: int, k: int, side: int):
        key = (c, k, side)
        if key not in views:
            rgba, udp = cases[c].refs[k]
            views[key] = sheet_view(rgba, udp, side)
        return views[key]

    acc: dict = {}
    for c, t, ks in tuples:
        rgba, udp = cases[c].targets[t]
        box = square_box(udp[..., 3] > 0.5, "target")
        small = {}
        for side in all_sides:
            u = crop_udp(udp, box, side)
            vs = [view(c, k, side) for k in ks]
            small[side] = (u, crop_image(premultiply(rgba), box, side), vs, correspond(vs, u))
        preds: dict = {}
        if model is not None:
            u, _, vs, corr = small[mside]
            for row, ablate in (("conr", False), ("conr_zeroed", True)):
                preds[row] = _model_output(model, vs, u, corr, ablate)
        for side in sides:
            u, truth, vs, corr = small[side]
            outs = {m: run_baseline(m, vs, u, corr) for m in ("b0", "b1", "b2")}
            outs.update({row: _resize(p, side) for row, p in preds.items()})
            occ = u[..., 3] > 0.5
            for row, out in outs.items():
                m = image_metrics(out, truth, corr.seen, occ)
                for k, v in m.items():
                    acc.setdefault((row, len(ks), side), {}).setdefault(k, []).append(v)
    res = SheetEval(count=len(tuples), characters=len({c for c, _, _ in tuples}), model_side=mside)
    for key, m in acc.items():
        res.rows[key] = {k: float(np.nanmean(v)) if not np.all(np.isnan(v)) else float("nan") for k, v in m.items()}
    res.seconds = time.perf_counter() - t0
    return res


def _model_output(model, views, udp, corr, ablate: bool) -> np.ndarray:
    import torch

    from kyara.sheet.lookup import canonical
    from kyara.sheet.model import pack_refs, pack_target

    b = {**pack_refs(canonical(views)), **pack_target(corr, udp)}  # corr is in the canonical order too
    with torch.inference_mode():
        out = model(b, ablate=ablate)["rgba"][0]
    return out.clamp(0, 1).permute(1, 2, 0).numpy()


def ms_per_frame(model, case: Case, side: int, frames: int = 16, refs: int = 4) -> float:
    """Milliseconds per target frame of ``side`` x ``side`` pixels with the sheet encoded once
    (crop, lookup, network, paste back), best of two passes over ``frames`` targets."""
    import cv2

    from kyara.sheet.infer import SheetRenderer

    r = SheetRenderer(case.refs[:refs], model=model)
    udps = [cv2.resize(case.targets[i % len(case.targets)][1], (side, side), interpolation=cv2.INTER_NEAREST)
            for i in range(frames)]
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        for _ in r.render_many(udps):
            pass
        best = min(best, time.perf_counter() - t)
    return 1000.0 * best / frames


def table(res: SheetEval, sides: tuple[int, ...] = (64, 128)) -> list[str]:
    """Markdown rows: one block per side, methods x n, every metric."""
    lines = []
    for side in sides:
        lines += ["", f"At {side}x{side} ({res.count} tuples, {res.characters} held-out characters):", "",
                  "| method | n | L1 RGB | L1 RGBA | PSNR dB | SSIM | alpha IoU | L1 seen | L1 unseen |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for row in ROWS:
            for n in sorted({k[1] for k in res.rows if k[0] == row and k[2] == side}, reverse=True):
                m = res.rows[(row, n, side)]
                lines.append(f"| {ROW_NAMES[row]} | {n} | {m['l1_rgb']:.4f} | {m['l1_rgba']:.4f} | {m['psnr']:.2f} | "
                             f"{m['ssim']:.3f} | {m['alpha_iou']:.3f} | {m['l1_seen']:.4f} | {m['l1_unseen']:.4f} |")
    lines += ["", "Context (CoNR paper, hand-drawn anime, not this data): " +
              ", ".join(f"{k} L1 {v}" for k, v in PAPER.items())]
    return lines


def goals(res: SheetEval) -> list[tuple[str, float, str, float, bool]]:
    """The issue's required comparisons at the model's side: ``(name, value, op, target, ok)``."""
    s = res.model_side
    if s is None:
        return []
    r = res.rows
    conr4, conr1 = r[("conr", 4, s)]["l1_rgb"], r.get(("conr", 1, s), {}).get("l1_rgb", float("nan"))
    b2 = r[("b2", 4, s)]["l1_rgb"]
    zeroed = r[("conr_zeroed", 4, s)]["l1_rgb"]
    return [("sheet_conr_vs_b2_l1_ratio", conr4 / b2, "<=", 0.9, conr4 <= 0.9 * b2),
            ("sheet_conr_vs_zeroed_l1_ratio", conr4 / zeroed, "<=", 0.95, conr4 <= 0.95 * zeroed),
            ("sheet_conr_n4_vs_n1_l1_ratio", conr4 / conr1, "<", 1.0, conr4 < conr1)]


def cli_report(data: list, count: int | None, weights: str | None, seed: int) -> tuple[list[str], dict]:
    """``kyara eval sheet``: B0, B1, B2 and (when weights exist) CoNR-lite and its zeroed ablation on
    held-out characters (``data``'s test split, else 30 new ones from :data:`HELDOUT_SEED`)."""
    import tempfile

    from kyara.sheet.infer import default_weights, load_sheet_model

    count = 500 if count is None else count
    path = Path(weights) if weights is not None else default_weights()
    model = load_sheet_model(path)[0] if path.is_file() else None
    with tempfile.TemporaryDirectory() as tmp:
        folders = list(data) if data else [make_heldout(tmp, characters=30, per_character=8)]
        cases = [c for f in folders for c in load_cases(f)]
    if not cases:
        raise ValueError("no held-out sheet characters (the datasets have no test split of kind sheets)")
    res = evaluate(cases, make_tuples(cases, count, seed=seed), model, sides=(64, 128))
    lines = table(res, (64, 128))
    if model is None:
        lines.append(f"\nno CoNR-lite weights at '{path}': baselines only (kyara train sheet)")
    for name, value, op, target, ok in goals(res):
        lines.append(f"{name} {value:.3f} goal {op} {target}: {'ok' if ok else 'FAIL'}")
    rows = [{"method": k[0], "n": k[1], "side": k[2], **v} for k, v in sorted(res.rows.items())]
    return lines, {"count": res.count, "characters": res.characters, "model_side": res.model_side, "rows": rows,
                   "goals": [dict(zip(("name", "value", "op", "target", "ok"), g)) for g in goals(res)]}


def contact_sheet(cases: list[Case], tuples: list[tuple], model, side: int = 96) -> np.ndarray:
    """RGB uint8 picture, one row per tuple: its references | target UDP | B2 | CoNR-lite | truth (on
    paper white, each cell ``side`` px), for the docs."""
    import cv2

    from kyara.render.previews import udp_preview
    from kyara.sheet.recipe import sheet_view

    mside = int(model.config.size)
    paper = np.array([246, 244, 240], np.float32) / 255.0

    def cell(premul: np.ndarray) -> np.ndarray:
        p = np.clip(premul, 0, 1).astype(np.float32)
        rgb = p[..., :3] + paper * (1.0 - p[..., 3:4])
        return cv2.resize((rgb * 255).round().astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST)

    refs_max = max(len(ks) for _, _, ks in tuples)
    rows = []
    for c, t, ks in tuples:
        rgba, udp = cases[c].targets[t]
        box = square_box(udp[..., 3] > 0.5, "target")
        u, truth = crop_udp(udp, box, mside), crop_image(premultiply(rgba), box, mside)
        vs = [sheet_view(*cases[c].refs[k], mside) for k in ks]
        corr = correspond(vs, u)
        blank = np.full((side, side, 3), 255, np.uint8)
        row = [cell(v.rgba) for v in vs] + [blank] * (refs_max - len(vs))
        row += [cv2.resize(udp_preview(u), (side, side), interpolation=cv2.INTER_NEAREST),
                cell(run_baseline("b2", vs, u, corr)), cell(_model_output(model, vs, u, corr, False)), cell(truth)]
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)
