"""Held-out evaluation of the detector (``kyara eval detect``, benchmarks/detect.py).

Test images are the ``test`` split of kyara datasets (characters never seen in training: the split
is a hash of the character id) at their full size: renders composited over a background drawn
from a seed per image, drawings on their paper. The detector sees the whole image, as a user's.
Baselines measured in the same run on the same images:

* keypoints: a joint template (mean joint position in the character's box, from the training
  split) placed on the ground-truth box — a strong, oracle-boxed baseline;
* mask: "not the border colour" (pixels farther than a threshold from the image border's median
  colour, largest part kept);
* UDP: the mean UDP per position in the box (from the training split) on the ground-truth mask.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from kyara.detect.metrics import mask_iou, pck, udp_l1

GRID = 32  # UDP template resolution inside the box


@dataclass
class Templates:
    joints: np.ndarray  # [18, 2] in box fractions, NaN where never seen
    udp: np.ndarray  # [GRID, GRID, 3] mean UDP per box cell


def fit_templates(pool) -> Templates:
    """Mean joint positions and mean UDP per box cell over a training :class:`~kyara.detect.recipe.Pool`."""
    import cv2

    acc, cnt = np.zeros((18, 2)), np.zeros(18)
    usum, ucnt = np.zeros((GRID, GRID, 3)), np.zeros((GRID, GRID, 1))
    for kp, box, udp, m in zip(pool.keypoints, pool.boxes, pool.udps, pool.masks):
        x0, y0, x1, y1 = box
        bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        use = kp[:, 2] >= 1
        acc[use] += np.column_stack([(kp[use, 0] - x0) / bw, (kp[use, 1] - y0) / bh])
        cnt[use] += 1
        crop = udp[int(y0):int(y1) + 1, int(x0):int(x1) + 1].astype(np.float32)
        on = (m[int(y0):int(y1) + 1, int(x0):int(x1) + 1] > 127).astype(np.float32)
        usum += cv2.resize(crop * on[..., None], (GRID, GRID), interpolation=cv2.INTER_AREA)
        ucnt += cv2.resize(on, (GRID, GRID), interpolation=cv2.INTER_AREA)[..., None]
    joints = np.where(cnt[:, None] > 0, acc / np.maximum(cnt, 1)[:, None], np.nan)
    return Templates(joints, usum / np.maximum(ucnt, 1e-6))


def templates_from_card(card: dict) -> Templates | None:
    """The templates a trained detector carries (``card["baselines"]``), or None."""
    b = card.get("baselines") if card else None
    if not b:
        return None
    j = np.asarray(b["joints"], dtype=np.float64)
    j[j[:, 0] < -0.5] = np.nan
    return Templates(j, np.asarray(b["udp"], dtype=np.float64))


def template_keypoints(t: Templates, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = np.zeros((18, 3))
    ok = ~np.isnan(t.joints[:, 0])
    out[ok, 0] = x0 + t.joints[ok, 0] * (x1 - x0)
    out[ok, 1] = y0 + t.joints[ok, 1] * (y1 - y0)
    out[ok, 2] = 1.0
    return out


def template_udp(t: Templates, box, shape) -> np.ndarray:
    import cv2

    x0, y0, x1, y1 = (int(round(v)) for v in box)
    out = np.zeros((*shape, 3), dtype=np.float32)
    out[y0:y1 + 1, x0:x1 + 1] = cv2.resize(t.udp.astype(np.float32), (x1 - x0 + 1, y1 - y0 + 1),
                                           interpolation=cv2.INTER_LINEAR)
    return out


def border_mask(rgb: np.ndarray, threshold: float = 40.0) -> np.ndarray:
    """The "not the border colour" baseline mask: largest part of pixels far from the border's median."""
    import cv2

    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.float32)
    d = np.linalg.norm(rgb.astype(np.float32) - np.median(border, axis=0), axis=2)
    m = (d > threshold).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return m.astype(bool)
    return lab == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))


def test_images(folders, count: int, seed: int, split: str = "test"):
    """Up to ``count`` held-out ``(rgb, mask bool, udp [H, W, 3], keypoints [18, 3], kind)`` tuples,
    taken in turn from each folder; backgrounds from ``seed`` and the image's index."""
    from kyara.detect.augment import background, composite
    from kyara.detect.recipe import FIELDS
    from kyara.dataset.reader import iter_samples

    iters = [iter_samples(f, split, fields=FIELDS) for f in folders]
    out, i = [], 0
    while len(out) < count and iters:
        for it in list(iters):
            s = next(it, None)
            if s is None:
                iters.remove(it)
                continue
            if "drawing" in s:
                rgb, kind = s["drawing"][..., :3], "drawing"
            else:
                rng = np.random.default_rng([seed, i, 0x74657374])
                rgb, kind = composite(s["rgba"], background(rng, s["rgba"].shape[0])), "render"
            out.append((rgb, s["mask"] > 127, s["udp"][..., :3], np.asarray(s["keypoints"], np.float64), kind))
            i += 1
            if len(out) >= count:
                break
    return out


@dataclass
class EvalResult:
    rows: dict = field(default_factory=dict)  # method -> metric -> value
    count: int = 0
    per_kind: dict = field(default_factory=dict)
    ms_per_image: float = float("nan")


def evaluate(detector, folders, count: int = 500, seed: int = 0, templates: Templates | None = None,
             progress: bool = False) -> EvalResult:
    """Metrics of ``detector`` and the baselines on ``count`` held-out images."""
    from kyara.detect.recipe import load_pool

    if templates is None:
        templates = templates_from_card(getattr(detector, "card", {}))
    if templates is None:
        templates = fit_templates(load_pool(folders, "train", limit=2000))
    images = test_images(folders, count, seed)
    if not images:
        raise ValueError("no held-out images (the datasets have no test split)")
    channels = getattr(detector, "sides", False)  # also measure each joint from its own channel (the ablation)
    methods = ("kyara", "baseline") + (("kyara, channels only",) if channels else ())
    acc: dict = {m: {k: [] for k in ("pck@0.1", "pck@0.05", "mask_iou", "udp_l1")} for m in methods}
    kinds: dict = {}
    t_total = 0.0
    for rgb, gt_mask, gt_udp, gt_kp, kind in images:
        t0 = time.perf_counter()
        det = detector.predict(rgb)
        t_total += time.perf_counter() - t0
        ys, xs = np.nonzero(gt_mask)
        box = (xs.min(), ys.min(), xs.max(), ys.max())
        base_kp = template_keypoints(templates, box)
        base_udp = template_udp(templates, box, gt_mask.shape)
        rows = [("kyara", det.keypoints, det.mask > 0.5, det.udp), ("baseline", base_kp, border_mask(rgb), base_udp)]
        if channels:
            detector.sides = False
            try:
                raw = detector.predict(rgb)
            finally:
                detector.sides = True
            rows.append(("kyara, channels only", raw.keypoints, raw.mask > 0.5, raw.udp))
        for name, kp, m, u in rows:
            r = {"pck@0.1": pck(kp, gt_kp, gt_mask, 0.1), "pck@0.05": pck(kp, gt_kp, gt_mask, 0.05),
                 "mask_iou": mask_iou(m, gt_mask), "udp_l1": udp_l1(u, gt_udp, gt_mask)}
            for k, v in r.items():
                acc[name][k].append(v)
                kinds.setdefault((name, kind), {}).setdefault(k, []).append(v)
    res = EvalResult(count=len(images), ms_per_image=1000 * t_total / len(images))
    res.rows = {n: {k: float(np.nanmean(v)) for k, v in d.items()} for n, d in acc.items()}
    res.per_kind = {f"{n} ({kind})": {k: float(np.nanmean(v)) for k, v in d.items()} for (n, kind), d in kinds.items()}
    return res


HELDOUT_SEEDS = (7, 8)  # poses, drawings: other seeds than the shipped model's data (1, 2), so new characters


def make_heldout(folder, poses: int = 400, drawings: int = 100, per_character: int = 25, size: int = 192,
                 seeds: tuple[int, int] = HELDOUT_SEEDS, use_ray: bool = False, workers: int | None = None) -> list:
    """Write a held-out test set (every character in the ``test`` split: the train fraction is 1e-9) with ``kyara dataset``'s engine;
    returns the dataset folders. Characters come from seeds no training run of the shipped model used."""
    from pathlib import Path

    from kyara.dataset import DatasetConfig, write_dataset

    root = Path(folder)
    out = []
    for kind, count, seed in (("poses", poses, seeds[0]), ("drawings", drawings, seeds[1])):
        if count <= 0:
            continue
        d = root / kind
        write_dataset(DatasetConfig(kind=kind, count=count, per_character=per_character, size=size, seed=seed,
                                    splits=(1e-9, 0.0, 1.0 - 1e-9)), d, use_ray=use_ray, workers=workers)
        out.append(d)
    return out


def ms_per_image(detector, side: int = 512, repeat: int = 5) -> float:
    """Best wall time of :meth:`predict` on a ``side`` x ``side`` image, milliseconds."""
    import cv2

    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), (side, side))
    detector.predict(img)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        detector.predict(img)
        best = min(best, time.perf_counter() - t)
    return 1000 * best


def real_drawings_report(detector, folder) -> list[dict]:
    """PCK@0.05/0.1 on the annotated real drawings under ``folder`` (AnimatedDrawings' format) for the
    kyara detector, mediapipe (when installed) and the box template on the true mask. Only the joints
    the drawings annotate count (see :mod:`kyara.detect.drawings`); report only: two drawings are too few."""
    from pathlib import Path

    from kyara.detect.drawings import load_drawing, template_baseline

    rows = []
    for d in sorted(p for p in Path(folder).iterdir() if (p / "char_cfg.yaml").is_file()):
        dr = load_drawing(d)
        gt = dr.keypoints.copy()
        methods = {"kyara": lambda: detector.predict(dr.rgb).keypoints, "template": lambda: template_baseline(dr.mask)}
        try:
            import mediapipe  # noqa: F401

            from kyara.detect import detect

            methods["mediapipe"] = lambda: detect(dr.rgb, backend="mediapipe").keypoints
        except ImportError:
            pass
        for name, fn in methods.items():
            try:
                kp = np.asarray(fn(), dtype=np.float64)
            except ValueError:  # a backend that finds nobody
                kp = np.zeros((18, 3))
            rows.append({"name": dr.name, "method": name, "pck@0.05": pck(kp, gt, dr.mask, 0.05),
                         "pck@0.1": pck(kp, gt, dr.mask, 0.1)})
    return rows


def cli_report(data: list, count: int | None, weights: str | None, seed: int) -> tuple[list[str], dict]:
    """``kyara eval detector``: the table of printed lines and the figures as a dict."""
    import tempfile

    from kyara.detect.network import load_detector

    count = 500 if count is None else count
    det = load_detector(weights)
    with tempfile.TemporaryDirectory() as tmp:
        folders = list(data) if data else make_heldout(tmp, poses=count * 4 // 5, drawings=count - count * 4 // 5)
        res = evaluate(det, folders, count=count, seed=seed)
    ms = ms_per_image(det)
    lines = [f"{res.count} held-out images; {ms:.1f} ms per 512x512 image",
             f"{'method':<44} {'PCK@0.1':>8} {'PCK@0.05':>9} {'mask IoU':>9} {'UDP L1':>8}"]
    top = [(n, res.rows[n]) for n in ("kyara", "kyara, channels only", "baseline") if n in res.rows]
    for n, row in top + sorted(res.per_kind.items()):
        lines.append(f"{n:<44} {row['pck@0.1']:>8.4f} {row['pck@0.05']:>9.4f} {row['mask_iou']:>9.4f} "
                     f"{row['udp_l1']:>8.4f}")
    return lines, {"count": res.count, "ms_per_512px": ms, "rows": res.rows, "per_kind": res.per_kind}
