"""The Gaussian layer's rows of benchmarks/refine.py (#23): the pure-torch rasteriser's optimisation
iteration (forward + backward of one view) -- CPU 10k Gaussians at 128^2; GPU 100k at 512^2 (pure
torch and gsplat 1.5) only where a CUDA GPU is present, otherwise a SKIP line, never a made-up figure.

Wire-up (benchmarks/refine.py): ``from _gaussians import bench_gaussians`` and
``EXTRA_BENCHES.append(bench_gaussians)``. Run alone: ``python benchmarks/_gaussians.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL_CPU_IT_S = 0.3  # 10k Gaussians at 128^2, one view forward + backward, 2 shared cores
GOAL_CPU_MIB = 3072.0


def bench_gaussians(cores: int) -> tuple[list[str], list[str]]:
    """``(RESULT lines, markdown table rows)`` from :func:`kyara.gaussians.bench.benchmark_rows`."""
    from kyara.gaussians.bench import benchmark_rows

    rows = benchmark_rows()
    lines, table = [], []
    for r in rows:
        what = f"gaussians_{r['device']}_{r['backend']}_{r['n'] // 1000}k_{r['size']}px"
        label = (f"Gaussian layer, {r['device'].upper()} {r['backend']}: {r['n']:,} Gaussians at {r['size']}^2, "
                 "one view forward + backward")
        if "skipped" in r:
            lines.append(f"SKIP {what}: not measured ({r['skipped']})")
            table.append(f"| {label} | not measured ({r['skipped']}) | |")
        elif r["device"] == "cpu":
            ok = "ok" if r["it_per_s"] >= GOAL_CPU_IT_S else "FAIL"
            lines.append(f"RESULT {what} {r['it_per_s']:.2f} it/s goal=>={GOAL_CPU_IT_S:g} {ok}")
            lines.append(f"RESULT {what}_peak_rss {r['peak_rss_mib']:.0f} MiB goal=<={GOAL_CPU_MIB:g} "
                         f"{'ok' if r['peak_rss_mib'] <= GOAL_CPU_MIB else 'FAIL'}")
            table.append(f"| {label} ({cores} cores) | {r['it_per_s']:.2f} it/s ({r['s_per_it']:.2f} s/it wall, "
                         f"{r['cpu_s_per_it']:.2f} CPU s/it), peak RSS "
                         f"{r['peak_rss_mib']:.0f} MiB ({r['extra_mib']:.0f} MiB above the loaded scene) "
                         f"| >= {GOAL_CPU_IT_S:g} it/s, <= {GOAL_CPU_MIB:g} MiB |")
        else:
            lines.append(f"RESULT {what} {r['it_per_s']:.2f} it/s peak {r['peak_gpu_mib']:.0f} MiB")
            table.append(f"| {label} | {r['it_per_s']:.2f} it/s, peak {r['peak_gpu_mib']:.0f} MiB GPU | |")
    return lines, table


if __name__ == "__main__":
    for line in bench_gaussians(2)[0]:
        print(line)
