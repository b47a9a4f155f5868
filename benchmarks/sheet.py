"""Benchmark: character sheets (CoNR) on freshly generated held-out characters, 2 cores, no arguments.

Makes 30 held-out characters with kyara's dataset engine (4 sheet references and 6 targets each,
128 px, a seed no training run uses), draws 300 fixed tuples (n = 4 and n = 1 references,
alternating) and measures B0, B1, B2 and — when the shipped weights exist — CoNR-lite and its
zeroed ablation at 64 and 128 px (:mod:`kyara.sheet.evaluate`). Times per target frame with the
sheet encoded once at 64 and 128 px (official CoNR: 11.6 s per 128 px frame on 2 CPU cores).
Without weights the model's rows are missing and a FAIL line says it is not trained yet; its
speed is then measured on untrained networks of the same shape (speed does not depend on weights).

Run: ``python benchmarks/sheet.py``. Prints ``RESULT`` lines; appends a table to benchmarks/RESULTS.md.
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

CHARACTERS, PER_CHARACTER, TUPLES = 30, 6, 300
CONR_MS_128 = 11600.0  # official CoNR, 2 CPU cores, 128 px, 4 references


def _line(name: str, value: float, unit: str, goal: str, ok: bool) -> str:
    return f"RESULT {name} {value:.4f} {unit} goal={goal} {'ok' if ok else 'FAIL'}"


def main() -> int:
    cores = limit_cores(2)
    import torch

    torch.set_num_threads(cores)
    from kyara.sheet.evaluate import evaluate, goals, load_cases, make_heldout, make_tuples, ms_per_frame, table
    from kyara.sheet.infer import default_weights, load_sheet_model
    from kyara.sheet.model import build

    model = load_sheet_model()[0] if default_weights().is_file() else None
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            import ray  # noqa: F401

            folder = make_heldout(tmp, CHARACTERS, PER_CHARACTER, use_ray=True, workers=cores)
        except ImportError:
            folder = make_heldout(tmp, CHARACTERS, PER_CHARACTER)
        cases = load_cases(folder)
    t_data = time.perf_counter() - t0
    tuples = make_tuples(cases, TUPLES, seed=0)
    res = evaluate(cases, tuples, model, sides=(64, 128))
    from kyara.sheet.recipe import ARCHITECTURES

    speed_models = {"CoNR-lite (shipped)": model} if model is not None else {
        f"untrained {name} architecture": build(ARCHITECTURES[name]).eval() for name in ("cpu", "gpu")}
    ms = {(name, side): ms_per_frame(m, cases[0], side) for name, m in speed_models.items() for side in (64, 128)}

    lines = []
    for row in ("b0", "b1", "b2"):
        for n in (4, 1):
            v = res.rows[(row, n, 64)]["l1_rgb"]
            lines.append(_line(f"sheet_{row}_l1_rgb_n{n}_64px", v, "-", "report", True))
    if model is None:
        lines.append("RESULT sheet_conr_trained 0 - goal=present FAIL (not trained yet: kyara train sheet "
                     "--data DIR -o RUN --install)")
    else:
        for n in (4, 1):
            lines.append(_line(f"sheet_conr_l1_rgb_n{n}_{res.model_side}px",
                               res.rows[("conr", n, res.model_side)]["l1_rgb"], "-", "report", True))
        for name, value, op, target, ok in goals(res):
            lines.append(_line(name, value, "ratio", f"{op}{target}", ok))
    for (name, side), v in ms.items():
        key = name.replace(" ", "_")
        goal, ok = (f"<={CONR_MS_128:.0f}", v <= CONR_MS_128) if side == 128 else ("report", True)
        lines.append(_line(f"sheet_{key}_ms_per_frame_{side}px", v, "ms", goal, ok))
    for line in lines:
        print(line)

    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    trained = "the shipped CoNR-lite weights" if model is not None else "no trained weights yet (baselines only)"
    out = [f"\n## sheet: {len(cases)} held-out characters, {res.count} tuples ({stamp})", "",
           f"Machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}, torch "
           f"{torch.__version__}; load average {load:.1f}. Data {t_data:.0f} s, evaluation {res.seconds:.0f} s; "
           f"{trained}."]
    out += table(res, (64, 128))
    out += ["", "| ms per target frame, sheet of 4 encoded once | 64 px | 128 px |", "|---|---|---|"]
    for name in speed_models:
        out.append(f"| {name} | {ms[(name, 64)]:.1f} | {ms[(name, 128)]:.1f} |")
    out.append(f"| official CoNR (NOTES.md) | - | {CONR_MS_128:.0f} |")
    if model is not None:
        from PIL import Image

        from kyara.sheet.evaluate import contact_sheet

        pick = [tp for tp in tuples if len(tp[2]) == 4][:6]  # n = 4, the first six tuples
        Image.fromarray(contact_sheet(cases, pick, model)).save(Path(__file__).resolve().parent.parent / "docs" /
                                                                "sheet_results.png")
        out += ["", "| goal | value | target |", "|---|---|---|"]
        out += [f"| {n} | {v:.3f} | {op} {t} {'ok' if ok else 'FAIL'} |" for n, v, op, t, ok in goals(res)]
    append_results(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
