"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``)."""

from __future__ import annotations

import os
import time


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform says."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "cpu"


def limit_cores(n: int = 2) -> int:
    """Pin this process to ``n`` cores (the target machine has 2); returns how many it got."""
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[:n]
        os.sched_setaffinity(0, cores)
        return len(cores)
    return os.cpu_count() or 1


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    """(best wall time in seconds over ``repeat`` calls, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def append_results(table) -> None:
    """Append a table (a string, or lines joined with newlines) to benchmarks/RESULTS.md."""
    text = table if isinstance(table, str) else "\n".join(table) + "\n"
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write(text)
