"""Benchmark: the shipped detector on held-out characters, against simple baselines in the same run.

Makes a held-out set with kyara's dataset engine (characters from seeds the shipped model never saw:
400 renders over random backgrounds + 100 drawings on paper, 192 px), runs the two-pass detector on
each whole image and reports PCK@0.1 / PCK@0.05 (of the box diagonal), mask IoU and UDP L1 on the
mask, beside the baselines (joint template on the true box; "not the border colour" mask; mean UDP
per box cell) and the time per 512x512 image. The two annotated real drawings (when the drawings
module is there) are reported per backend, without a goal. 2 cores; no arguments.

Run: ``python benchmarks/detect.py``. Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import append_results, limit_cores  # noqa: E402

GOALS = {"pck@0.1": (">=", 0.90), "mask_iou": (">=", 0.95), "udp_l1": ("<=", 0.05)}
MS_GOAL = 100.0


def _ok(value: float, op: str, target: float) -> str:
    return "ok" if (value >= target if op == ">=" else value <= target) else "FAIL"


def main() -> int:
    cores = limit_cores(2)
    import torch

    torch.set_num_threads(cores)
    from kyara.detect.evaluate import evaluate, make_heldout, ms_per_image, real_drawings_report
    from kyara.detect.network import default_weights, load_detector

    if not default_weights().is_file():
        print(f"RESULT detector_weights missing - goal=present FAIL ({default_weights()})")
        return 1
    det = load_detector()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            import ray  # noqa: F401

            folders = make_heldout(tmp, use_ray=True, workers=cores)
        except ImportError:
            folders = make_heldout(tmp)
        t_data = time.perf_counter() - t0
        t1 = time.perf_counter()
        res = evaluate(det, folders, count=500, seed=0)
        t_eval = time.perf_counter() - t1
    ms = ms_per_image(det, 512)
    k, b = res.rows["kyara"], res.rows["baseline"]
    lines = []
    for metric, (op, target) in GOALS.items():
        v = k[metric]
        lines.append(f"RESULT detect_{metric.replace('@', '_at_')} {v:.4f} - goal={op}{target} {_ok(v, op, target)}")
    lines.append(f"RESULT detect_pck_at_0.05 {k['pck@0.05']:.4f} - goal=report ok")
    raw = res.rows.get("kyara, channels only")
    if raw is not None:  # the same network, each joint from its own channel (kyara.detect.sides off)
        lines.append(f"RESULT detect_channels_only_pck_at_0.1 {raw['pck@0.1']:.4f} - goal=report ok")
    for metric in ("pck@0.1", "pck@0.05", "mask_iou", "udp_l1"):
        lines.append(f"RESULT baseline_{metric.replace('@', '_at_')} {b[metric]:.4f} - goal=report ok")
    lines.append(f"RESULT detect_ms_per_512px {ms:.1f} ms goal=<={MS_GOAL:.0f} {_ok(ms, '<=', MS_GOAL)}")
    real = Path(__file__).resolve().parent.parent / "tests" / "data" / "drawings" / "animated-drawings"
    drawings = real_drawings_report(det, real) if real.is_dir() else []
    for row in drawings:
        lines.append(f"RESULT real_drawing_{row['name']}_{row['method']}_pck_at_0.1 {row['pck@0.1']:.3f} - goal=report ok")
    for line in lines:
        print(line)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table = [f"\n## detect: held-out characters, {res.count} images at 192 px ({stamp})", "",
             f"Machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, torch "
             f"{torch.__version__}; load average {load:.1f}. Data {t_data:.0f} s, evaluation {t_eval:.0f} s "
             f"({res.ms_per_image:.0f} ms per 192 px image, two passes).", "",
             "| method | PCK@0.1 | PCK@0.05 | mask IoU | UDP L1 |", "|---|---|---|---|---|"]
    top = [("kyara detector", k)] + ([("kyara detector, channels only (no left/right naming)", raw)] if raw else []) + \
        [("baselines (template on true box / border colour / mean UDP)", b)]
    for name, row in top + sorted(res.per_kind.items()):
        table.append(f"| {name} | {row['pck@0.1']:.3f} | {row['pck@0.05']:.3f} | {row['mask_iou']:.3f} | "
                     f"{row['udp_l1']:.4f} |")
    table += ["", "| figure | value | goal |", "|---|---|---|"]
    for metric, (op, target) in GOALS.items():
        table.append(f"| {metric} | {k[metric]:.4f} | {op} {target} {_ok(k[metric], op, target)} |")
    table.append(f"| ms per 512x512 image (kyara backend) | {ms:.1f} | <= {MS_GOAL:.0f} {_ok(ms, '<=', MS_GOAL)} |")
    for row in drawings:
        table.append(f"| real drawing {row['name']}, {row['method']}: PCK@0.05 / PCK@0.1 | "
                     f"{row['pck@0.05']:.3f} / {row['pck@0.1']:.3f} | report |")
    append_results(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
