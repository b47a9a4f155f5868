"""Benchmark: painting a character's texture (``kyara paint``), the whole path, on 2 cores.

- CPU: the whole path of :func:`kyara.paint.avatar.paint_avatar` with the tiny random models
  (``--model tiny``, OpenPose + depth tiny ControlNets), 4 views of 64 px, 2 steps, a 256 texture,
  on "a girl" built at dataset quality (55k faces): atlas, buffers, conditions, synchronized
  sampling, VAE decode, bake, anime finish, painted VRM, previews, turntable and files. The model is
  loaded once before the timed runs (its load is reported apart); wall and CPU seconds, and each
  stage's seconds (paint.json). The naive path (``sync_fraction=0``: every view alone, one bake) is
  timed in the same run for the ratio.
- GPU (issue #21's goal: full-size SD1.5 + ControlNet architectures with random weights, 10 views x
  25 steps at 768 px, <= 30 s per avatar on one H200): measured only where a CUDA GPU and diffusers
  are present; otherwise the table says "not measured" (never a made-up figure).

Run: ``python benchmarks/paint.py`` (no arguments). Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import append_results, limit_cores  # noqa: E402

GOAL_CPU_S = 60.0  # the whole tiny path on 2 shared cores ("in seconds")
GOAL_GPU_S = 30.0  # issue #21, one H200


def _ok(value: float, target: float) -> str:
    return "ok" if value <= target else "FAIL"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "cpu"


def _gpu() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def main() -> int:
    cores = limit_cores(2)
    try:
        from kyara.character.build import BuildOptions, build_character
        from kyara.character.parser import parse_prompt
        from kyara.generate.config import ControlSpec, ImageConfig
        from kyara.paint.avatar import paint_avatar
        from kyara.paint.backend import PaintConfig, load_painter
    except ImportError as exc:
        print(f"RESULT paint_installed 0 - goal=installed FAIL ({exc})")
        return 1
    character = build_character(parse_prompt("a girl", seed=1), BuildOptions(quality="dataset"))
    faces = sum(len(p.faces) for p in character.parts)
    img = ImageConfig("a girl", model="tiny", steps=2, width=64, height=64, seed=0,
                      controlnets=(ControlSpec("openpose", "tiny"), ControlSpec("depth", "tiny")))
    t = time.perf_counter()
    load_painter(img)
    load_s = time.perf_counter() - t
    runs = {}
    for name, frac in (("sync", 0.8), ("naive", 0.0)):
        cfg = PaintConfig(img, views=4, texture_size=256, sync_fraction=frac)
        with tempfile.TemporaryDirectory() as d:
            w, c = time.perf_counter(), time.process_time()
            res = paint_avatar(character, cfg, d, size=128, turntable_frames=12, turntable_size=96)
            runs[name] = (time.perf_counter() - w, time.process_time() - c, res.report)
            files = len(res.files)
    wall, cpu, rep = runs["sync"]
    naive_wall = runs["naive"][0]
    gpu = _gpu()
    lines = [f"RESULT paint_cpu_tiny_whole_path {wall:.1f} s goal=<={GOAL_CPU_S:g} {_ok(wall, GOAL_CPU_S)}",
             f"RESULT paint_cpu_tiny_sync_vs_naive {wall / naive_wall:.2f} x goal=<=1.5 {_ok(wall / naive_wall, 1.5)}",
             "SKIP paint_gpu_sd15_10x25_768: not measured ("
             + (f"GPU {gpu} present, the full-size run is not written yet)" if gpu else "no GPU on this machine)")]
    for line in lines:
        print(line)
    print(json.dumps(rep["seconds"]))
    load = float(os.getloadavg()[0]) if hasattr(os, "getloadavg") else float("nan")
    stages = ", ".join(f"{k} {v:.2f}" for k, v in rep["seconds"].items())
    table = [
        "",
        f"## paint ({datetime.date.today().isoformat()}, {_cpu_name()}, {cores} cores, load {load:.1f}, "
        f"python {platform.python_version()})",
        "",
        "| what | figure | goal |",
        "|---|---|---|",
        f"| CPU whole path, tiny models, 4 views x 64 px, 2 steps, texture 256, \"a girl\" ({faces} faces), "
        f"{files} files | {wall:.1f} s wall, {cpu:.1f} s CPU | <= {GOAL_CPU_S:g} s |",
        f"| stages (s) | {stages} | |",
        f"| naive path (every view alone, one bake), same run | {naive_wall:.1f} s (sync/naive {wall / naive_wall:.2f}) | |",
        f"| model load (tiny, once per process) | {load_s:.1f} s | |",
        f"| coverage / RGB consistency (random weights: a smoke figure) | {rep['coverage']:.3f} / "
        f"{rep['consistency_rgb'] if rep['consistency_rgb'] is None else round(rep['consistency_rgb'], 4)} | |",
        f"| GPU: SD1.5 + ControlNet (random weights), 10 views x 25 steps at 768 px | not measured "
        f"({'GPU ' + gpu + ' present, run not written' if gpu else 'no GPU on this machine'}) | <= {GOAL_GPU_S:g} s on one H200 |",
    ]
    append_results(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
