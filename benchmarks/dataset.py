"""Benchmark: the data engine at 128 px (``kyara dataset poses``, 32 samples per character).

Three runs on the same machine, in one go (all pinned to 2 cores):

* plain: one process, no Ray (``write_dataset(use_ray=False)``), the first 6 characters;
* 1 Ray worker: a local Ray instance with 1 CPU, the first 3 of those characters;
* 2 Ray workers: a local Ray instance with 2 CPUs (each worker one BLAS and one rendering
  thread), 20 characters (the first 6 are the plain run's).

Reported: samples/s and characters/min end to end (Ray start and stop included) and in steady
state (without them), the time split per stage (build / pose / render / encode, summed over
workers; write on the driver), wall and CPU; the mean build time per character (goal <= 2 s,
CPU seconds of the plain run: other jobs on a shared machine stretch wall time, not CPU time), split
by step (body, face, hair, garments, accessories, the render adapter, the random spec); and the
200-character x 32-sample ``poses`` dataset extrapolated from the 2-worker run (goal <= 10 min on
2 free cores: Ray start + 200 x the workers' CPU seconds per character / 2; the same from this
run's wall clock is printed too). Goal: 2 workers >= 1.3 x the plain process (steady-state
samples/s). The 1-minute load average is recorded.

Run: ``python benchmarks/dataset.py`` (no arguments; about 2-3 minutes on 2 CPU cores).
"""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import append_results, limit_cores  # noqa: E402

PER_CHARACTER, SIZE, SEED = 32, 128, 2026
PLAIN_CHARS, ONE_WORKER_CHARS, TWO_WORKER_CHARS = 6, 3, 20
GOAL_BUILD_S, GOAL_SPEEDUP, GOAL_FULL_MIN = 2.0, 1.3, 10.0
STAGES = ("build", "pose", "render", "encode", "write")
BUILD_STEPS = ("body", "face", "hair", "garments", "accessories", "adapter")  # cpu_build_<step>


def _run(tmp: Path, name: str, chars: int, **kw) -> dict:
    from kyara.dataset import DatasetConfig, write_dataset

    cfg = DatasetConfig(kind="poses", count=chars * PER_CHARACTER, per_character=PER_CHARACTER, size=SIZE,
                        seed=SEED, shard_characters=4, splits=(1.0, 0.0, 0.0))
    t = time.perf_counter()
    res = write_dataset(cfg, tmp / name, **kw)
    wall = time.perf_counter() - t
    ray_s = res.seconds.get("startup", 0.0) + res.seconds.get("shutdown", 0.0) if kw.get("use_ray", True) else 0.0
    steady = wall - ray_s
    n = res.samples
    return {"name": name, "chars": res.characters, "samples": n, "wall": wall, "steady": steady,
            "startup": res.seconds.get("startup", 0.0) if kw.get("use_ray", True) else 0.0,
            "sps": n / wall, "sps_steady": n / steady, "cpm": res.characters / wall * 60,
            "cpm_steady": res.characters / steady * 60,
            "stages": {k: res.seconds.get(k, 0.0) for k in STAGES},
            "cpu": {k: res.seconds.get("cpu_" + k, 0.0) for k in STAGES if k != "write"}, "nodes": res.nodes,
            "build_steps": {k: res.seconds.get("cpu_build_" + k, 0.0) for k in BUILD_STEPS}}


def main() -> int:
    cores = limit_cores(2)
    from kyara.render.gl import context_info

    gl = context_info()["renderer"]
    load0 = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="kyara-bench-dataset-"))
    try:
        # warm-up: imports and GL context of this process, one small character (not timed)
        _run(tmp, "warm", 1, use_ray=False)
        plain = _run(tmp, "plain", PLAIN_CHARS, use_ray=False)
        one = _run(tmp, "ray1", ONE_WORKER_CHARS, workers=1)
        two = _run(tmp, "ray2", TWO_WORKER_CHARS, workers=2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()[0]
    build_s = plain["stages"]["build"] / plain["chars"]
    build_cpu = plain["cpu"]["build"] / plain["chars"]
    steps = {k: v / plain["chars"] for k, v in plain["build_steps"].items()}
    steps["spec"] = build_cpu - sum(steps.values())  # the random prompt, parsed
    step_split = " / ".join(f"{k} {v:.2f}" for k, v in steps.items())
    speedup = two["sps_steady"] / plain["sps_steady"]
    per_char = two["steady"] / two["chars"]
    full_min = (two["startup"] + 200 * per_char) / 60.0
    # the same on two free cores: the workers' CPU seconds per character (one thread each), two at a time
    cpu_char = (sum(two["cpu"].values()) + two["stages"]["write"]) / two["chars"]
    free_min = (two["startup"] + 200 * cpu_char / 2) / 60.0
    ok_build, ok_speed, ok_full = build_cpu <= GOAL_BUILD_S, speedup >= GOAL_SPEEDUP, free_min <= GOAL_FULL_MIN
    # what 2 workers would give on 2 free cores: CPU per character of the plain process / (per worker / 2)
    plain_cpu = sum(plain["cpu"].values()) / plain["chars"]
    free_speedup = plain_cpu / (cpu_char / 2)

    print(f"poses at {SIZE}x{SIZE}, {PER_CHARACTER} samples per character, {cores} cores, GL {gl}, "
          f"load {load0:.1f} -> {load1:.1f}")
    for r in (plain, one, two):
        split = " / ".join(f"{k} {r['stages'][k]:.1f}" for k in STAGES)
        print(f"{r['name']:6s} {r['chars']:2d} chars {r['samples']:4d} samples: {r['wall']:.1f} s "
              f"({r['sps']:.1f} samples/s, {r['cpm']:.1f} chars/min); steady {r['sps_steady']:.1f} samples/s "
              f"{r['cpm_steady']:.1f} chars/min; Ray start {r['startup']:.1f} s; seconds {split}")
    cpu_split = " / ".join(f"{k} {two['cpu'][k] / two['chars']:.2f}" for k in two["cpu"])
    print(f"CPU seconds per character (2-worker run): {cpu_char:.2f} ({cpu_split}); build wall {build_s:.2f} s "
          f"per character in the plain run; 200x32 extrapolated from wall clock: {full_min:.1f} min")
    print(f"build CPU seconds per character (plain run): {step_split}")
    print(f"2 workers vs plain on 2 free cores, from CPU seconds per character ({plain_cpu:.2f} plain, "
          f"{cpu_char:.2f} per worker): {free_speedup:.2f}x")
    print(f"RESULT dataset_build_cpu_s_per_character {build_cpu:.2f} s goal=<={GOAL_BUILD_S:g} "
          f"{'ok' if ok_build else 'FAIL'}")
    print(f"RESULT dataset_2_workers_vs_plain {speedup:.2f} x goal=>={GOAL_SPEEDUP:g} {'ok' if ok_speed else 'FAIL'}")
    print(f"RESULT dataset_poses_200x32_on_2_free_cores {free_min:.1f} min goal=<={GOAL_FULL_MIN:g} "
          f"{'ok' if ok_full else 'FAIL'}")
    ok_wall = full_min <= GOAL_FULL_MIN
    print(f"RESULT dataset_poses_200x32_wall_clock_this_run {full_min:.1f} min goal=<={GOAL_FULL_MIN:g} "
          f"{'ok' if ok_wall else 'FAIL'}")

    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine = f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, GL: {gl}"
    rows = [
        f"\n## dataset: `kyara dataset poses` at {SIZE}x{SIZE}, {PER_CHARACTER} samples per character ({when})\n",
        f"Machine: {machine}; 1-min load average {load0:.1f} -> {load1:.1f} (other jobs running). Steady state = "
        "without Ray start/stop; stage seconds are summed over workers.\n",
        "| run | characters | samples/s (end to end) | chars/min (end to end) | samples/s (steady) | Ray start | "
        "build / pose / render / encode / write, s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in (plain, one, two):
        split = " / ".join(f"{r['stages'][k]:.1f}" for k in STAGES)
        label = {"plain": "plain single process", "ray1": "1 Ray worker", "ray2": "2 Ray workers"}[r["name"]]
        rows.append(f"| {label} | {r['chars']} | {r['sps']:.1f} | {r['cpm']:.1f} | {r['sps_steady']:.1f} | "
                    f"{r['startup']:.1f} s | {split} |")
    rows += [
        "",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| build per character (dataset quality, plain run): CPU / wall | {build_cpu:.2f} s / {build_s:.2f} s | "
        f"<= {GOAL_BUILD_S:g} s {'ok' if ok_build else 'FAIL'} |",
        f"| the build's CPU seconds per character by step (plain run): {step_split} | {build_cpu:.2f} s | |",
        f"| CPU seconds per character, 2-worker run ({cpu_split}) | {cpu_char:.2f} s | |",
        f"| 2 workers / plain, steady samples/s | {speedup:.2f}x | >= {GOAL_SPEEDUP:g}x {'ok' if ok_speed else 'FAIL'} |",
        f"| the same on 2 free cores, from CPU seconds per character ({plain_cpu:.2f} plain, {cpu_char:.2f} per "
        f"worker) | {free_speedup:.2f}x | |",
        f"| 200 characters x 32 samples `poses` on 2 free cores (Ray start + 200 x {cpu_char:.2f} CPU s / 2) | "
        f"{free_min:.1f} min | <= {GOAL_FULL_MIN:g} min {'ok' if ok_full else 'FAIL'} |",
        f"| the same from this run's wall clock (Ray start + 200 x {per_char:.1f} s) | {full_min:.1f} min | "
        f"<= {GOAL_FULL_MIN:g} min {'ok' if ok_wall else 'FAIL'} |",
        "",
    ]
    append_results(rows)
    return 0 if (ok_build and ok_speed and ok_full) else 1


if __name__ == "__main__":
    raise SystemExit(main())
