"""The Gaussian rows of ``benchmarks/refine.py`` (#23): iterations per second and peak memory of one
optimisation iteration (forward + backward of one view) of the rasteriser.

* CPU, pure torch: 10k Gaussians at 128^2 (:data:`CPU_CASE`), run in a child process so its peak
  RSS is its own (``peak_rss_mib``; ``extra_mib`` = above the RSS once torch and the scene are loaded).
* GPU: 100k Gaussians at 512^2 (:data:`GPU_CASE`) with the pure-torch rasteriser and, when ``gsplat``
  imports, gsplat 1.5 (peak ``torch.cuda.max_memory_allocated``); without CUDA the row says so.

The scene: Gaussians in a body-sized box (0.6 x 1.6 x 0.4 m) 2.5 m in front of a 45 degree camera,
scales 5-15 mm, opacities 0.1-0.9 (seeded). :func:`benchmark_rows` returns plain dicts;
``benchmarks/_gaussians.py`` turns them into RESULT lines and table rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

CPU_CASE = (10_000, 128)
GPU_CASE = (100_000, 512)


def _scene(n: int, size: int, device: str):
    import torch

    from kyara.gaussians.rasterize import camera_tensors
    from kyara.render.camera import perspective

    g = torch.Generator().manual_seed(0)
    means = (torch.rand(n, 3, generator=g) - 0.5) * torch.tensor([0.6, 1.6, 0.4])
    quats = torch.randn(n, 4, generator=g)
    log_scales = (torch.rand(n, 3, generator=g) * 0.01 + 0.005).log()
    opac = torch.rand(n, generator=g) * 0.8 + 0.1
    cols = torch.rand(n, 3, generator=g)
    params = [t.to(device).requires_grad_(True) for t in (means, quats, log_scales, opac, cols)]
    vm, k = camera_tensors(perspective((0, 0, 2.5), (0, 0, 0), size=(size, size), fovy_deg=45.0), device=device)
    return params, vm, k


def time_iterations(n: int, size: int, device: str = "cpu", iters: int = 3, backend: str = "torch") -> dict:
    """Seconds per forward + backward of one view of ``n`` Gaussians at ``size^2`` (one warm-up first)."""
    import torch

    from kyara.gaussians.rasterize import rasterize_gaussians

    params, vm, k = _scene(n, size, device)
    target = torch.rand(size, size, 3, generator=torch.Generator().manual_seed(1)).to(device)

    def step():
        means, quats, ls, op, col = params
        out = rasterize_gaussians(means, quats, ls.exp(), op, col, vm, k, size, size, backend=backend)
        ((out.color - target) ** 2).mean().backward()
        for p in params:
            p.grad = None

    step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    s = (time.perf_counter() - t) / iters
    row = dict(n=n, size=size, device=device, backend=backend, s_per_it=s, it_per_s=1.0 / s,
               cpu_s_per_it=(time.process_time() - c) / iters)
    if device.startswith("cuda"):
        row["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return row


def _cpu_child(n: int, size: int, iters: int) -> None:
    """Child process body: print the CPU row as JSON with its own peak RSS."""
    import resource

    import torch  # noqa: F401

    _scene(n, size, "cpu")
    with open("/proc/self/statm") as fh:
        base = int(fh.read().split()[1]) * 4096 / 2 ** 20
    row = time_iterations(n, size, "cpu", iters)
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["extra_mib"] = row["peak_rss_mib"] - base
    row["threads"] = torch.get_num_threads()
    print(json.dumps(row))


def benchmark_rows(iters: int = 3, cpu: tuple[int, int] = CPU_CASE, gpu: tuple[int, int] = GPU_CASE) -> list[dict]:
    """``[cpu_row, gpu_row(s)]``: dicts with ``n``, ``size``, ``device``, ``backend``, ``it_per_s``,
    ``s_per_it`` and ``peak_rss_mib``/``extra_mib`` (CPU) or ``peak_gpu_mib`` (GPU); a GPU row without
    CUDA is ``{"device": "cuda", "skipped": "no CUDA GPU on this machine", ...}``."""
    import torch

    code = f"from kyara.gaussians.bench import _cpu_child; _cpu_child({cpu[0]}, {cpu[1]}, {iters})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the CPU Gaussian benchmark failed: {proc.stderr.strip().splitlines()[-1:]}")
    rows = [json.loads(proc.stdout.strip().splitlines()[-1])]
    if not torch.cuda.is_available():
        rows.append(dict(n=gpu[0], size=gpu[1], device="cuda", backend="torch", skipped="no CUDA GPU on this machine"))
        return rows
    from kyara.gaussians.rasterize import gsplat_available

    rows.append(time_iterations(gpu[0], gpu[1], "cuda", iters, "torch"))
    if gsplat_available():
        rows.append(time_iterations(gpu[0], gpu[1], "cuda", iters, "gsplat"))
    else:
        rows.append(dict(n=gpu[0], size=gpu[1], device="cuda", backend="gsplat", skipped="gsplat is not installed"))
    return rows
