"""Benchmark: prompt fidelity table (goal: every attribute prompt shows its attribute, 100 %).

Each entry of ``kyara.character.fidelity.PROMPTS`` (hair styles, hair / eye / garment colour words,
garments, accessories, body types) is parsed with seed 0, built once at dataset quality
(``BuildOptions(quality="dataset")``: coarser body and garment meshes, hair, face and accessories
as by default) and rendered at 256 x 256 (front, plus a side or back view where the check needs
one); the entry's checks run on the render. Colour words: lit tone of the part vs the CSS colour of
the word, CIEDE2000 < 12. Two worker processes (the target machine has 2 cores).

Run: ``python benchmarks/fidelity.py`` (no arguments). Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("KYARA_GL_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import append_results, limit_cores  # noqa: E402

SIZE = 256
GOAL = 100.0


def _run(i: int):
    from kyara.character.fidelity import PROMPTS, check_prompt

    t = time.perf_counter()
    try:
        res = check_prompt(PROMPTS[i], SIZE)
    except Exception as exc:  # one broken build is a FAIL row, not a lost table
        res = [("build", False, f"{type(exc).__name__}: {exc}")]
    return i, res, time.perf_counter() - t


def main() -> int:
    import multiprocessing as mp

    from kyara.character.fidelity import KNOWN_FAILURES, PROMPTS

    cores = limit_cores(2)
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(cores) as pool:
        rows = sorted(pool.imap_unordered(_run, range(len(PROMPTS))))
    wall = time.perf_counter() - t0
    passed = 0
    lines = []
    for i, res, secs in rows:
        e = PROMPTS[i]
        ok = all(r[1] for r in res)
        passed += ok
        why = "; ".join(f"{n}: {w}" for n, _, w in res)
        if not ok and e.prompt in KNOWN_FAILURES:
            why += f" -- cause: {KNOWN_FAILURES[e.prompt]}"
        print(f"{'ok  ' if ok else 'FAIL'} {e.prompt!r:55s} {why}  ({secs:.1f} s)")
        lines.append(f"| {e.group} | {e.prompt} | {'ok' if ok else 'FAIL'} | {why.replace('|', '/')} |")
    rate = 100.0 * passed / len(PROMPTS)
    verdict = "ok" if rate >= GOAL else "FAIL"
    print(f"{len(PROMPTS)} prompts, {passed} pass, {wall:.0f} s on {cores} cores")
    print(f"RESULT fidelity_pass_rate {rate:.1f} % goal=>={GOAL:.0f} {verdict}")
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    table = [
        "",
        f"## fidelity: attribute prompts checked on their renders ({stamp})",
        "",
        f"Machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}. Seed 0, dataset-quality "
        f"builds, {SIZE}x{SIZE} renders, {wall:.0f} s wall. Colour words: lit tone vs CSS colour, CIEDE2000 < 12.",
        "",
        "| group | prompt | result | measured |",
        "|---|---|---|---|",
        *lines,
        "",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| fidelity pass rate ({passed} / {len(PROMPTS)} prompts) | {rate:.1f} % | >= {GOAL:.0f} % {verdict} |",
        "",
    ]
    append_results(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
