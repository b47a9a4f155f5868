"""Benchmark: cel-shaded animation at 512x512, end to end with MP4 encoding (goal >= 30 frames/s
on 2 CPU cores).

Clip: the built-in ``walk`` retargeted onto ``teen-girl`` at 30 fps (86 frames), front view.
Timed (best of 3 interleaved rounds, after a small warm-up that creates the GL context and compiles the shaders):

* ours: :func:`kyara.motion.animate.animate` -> ``.mp4`` (posing every frame, one renderer, toon
  frames in chunks, frames streamed to ffmpeg by a feeder thread while the next chunk renders,
  frame count read back from the file before the atomic rename);
* parts, reported apart: rendering only (toon frames, no encoding) and encoding only
  (:func:`kyara.render.video.write_video` of already rendered frames);
* comparison measured in the same run: the obvious serial pipeline, render every frame to a list,
  then ``imageio.v2.mimwrite`` (imageio-ffmpeg defaults) - no overlap of rendering and encoding.

Also reported (no goal): spring-bone simulation of 10 chains x 6 joints over the clip, batched vs
the per-joint reference loop.

Run: ``python benchmarks/animate.py`` (no arguments). Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = 512
GOAL_FPS = 30.0
REPEAT = 3

from _common import append_results, best_of, limit_cores as _limit_cores  # noqa: E402


def _best(fn, repeat: int = 2) -> float:
    return best_of(fn, repeat)[0]




def _cpu_s() -> float:
    """CPU seconds used so far by this process (all threads) and its finished children (ffmpeg)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    cores = _limit_cores(2)
    from kyara.body.model import build_body
    from kyara.body.skeleton import BONE_INDEX
    from kyara.motion import load_motion, retarget
    from kyara.motion.animate import AnimateConfig, animate, render_animation
    from kyara.motion.springs import (SpringChain, SpringSettings, motion_bone_transforms, simulate_springs,
                                      simulate_springs_reference)
    from kyara.render.gl import get_context
    from kyara.render.video import write_video

    body = build_body("teen-girl")
    skel, mocap = load_motion("walk")
    motion = retarget(mocap, skel, body.params, fps=30)
    n = motion.num_frames
    cfg = AnimateConfig(progress=False)
    renderer_name = get_context().info.get("GL_RENDERER", "?")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        animate(body, motion, tmp / "warm.mp4", 64, "front", config=cfg)  # GL context, shaders, ffmpeg start

        frames: list[np.ndarray] = []

        def ours():
            animate(body, motion, tmp / "walk.mp4", SIZE, "front", config=cfg)

        def render_only():
            frames.clear()
            for ch in render_animation(body, motion, SIZE, "front", cfg):
                frames.extend(ch.maps["toon"][..., :3].copy())

        import imageio.v2 as iio

        def naive():
            out: list[np.ndarray] = []
            for ch in render_animation(body, motion, SIZE, "front", cfg):
                out.extend(ch.maps["toon"][..., :3].copy())
            iio.mimwrite(tmp / "naive.mp4", out, fps=30, codec="libx264", macro_block_size=2)

        # interleaved rounds, best of each: other jobs on the machine hit both sides alike
        best = {"ours": float("inf"), "naive": float("inf"), "render": float("inf")}
        cpu_ms, load = float("inf"), os.getloadavg()[0]
        for _ in range(REPEAT):
            c0, t0 = _cpu_s(), time.perf_counter()
            ours()
            dt = time.perf_counter() - t0
            if dt < best["ours"]:
                best["ours"], cpu_ms = dt, (_cpu_s() - c0) / n * 1e3
            best["naive"] = min(best["naive"], _best(naive, 1))
            best["render"] = min(best["render"], _best(render_only, 1))
            load = max(load, os.getloadavg()[0])
        size_kb = (tmp / "walk.mp4").stat().st_size / 1024
        t_ours, t_naive, t_render = best["ours"], best["naive"], best["render"]
        t_encode = _best(lambda: write_video(tmp / "enc.mp4", np.stack(frames), 30.0, cfg.video))

    # springs: 10 ponytail-like chains of 6 joints hanging from the head over the clip
    A = motion_bone_transforms(body.rest_joints, motion)
    head = body.rest_joints[BONE_INDEX["head"]]
    chains = [SpringChain(head + np.array([0.02 * (i - 5), 0.08, -0.08]) + 0.05 * np.arange(6)[:, None]
                          * np.array([0.0, -0.5, -1.0]), "head", SpringSettings(0.5, 0.5, drag_force=0.3))
              for i in range(10)]
    t_spring = _best(lambda: simulate_springs(chains, A, dt=1 / 30), repeat=3)
    t_spring_ref = _best(lambda: simulate_springs_reference(chains, A, dt=1 / 30), repeat=1)

    fps_ours, fps_naive = n / t_ours, n / t_naive
    ok = fps_ours >= GOAL_FPS
    ratio = fps_ours / fps_naive
    print(f"walk: {n} frames at {SIZE}x{SIZE}, {cores} cores, GL {renderer_name}")
    print(f"ours end to end {t_ours:.2f} s = {fps_ours:.1f} fps ({size_kb:.0f} KB mp4) | render only "
          f"{n / t_render:.1f} fps | encode only {n / t_encode:.1f} fps")
    print(f"CPU per frame (all threads + ffmpeg): {cpu_ms:.1f} ms -> CPU-bound ceiling on 2 free cores "
          f"{2000 / cpu_ms:.0f} fps; 1-min load average during the run: {load:.1f}")
    print(f"comparison: serial render + imageio.mimwrite {t_naive:.2f} s = {fps_naive:.1f} fps -> {ratio:.2f}x")
    print(f"springs 10 chains x 6 joints, {n} frames: batched {t_spring * 1e3:.1f} ms, "
          f"reference loop {t_spring_ref * 1e3:.1f} ms ({t_spring_ref / t_spring:.1f}x)")
    print(f"RESULT animate_512_mp4_fps {fps_ours:.1f} fps goal=>={GOAL_FPS:g} {'ok' if ok else 'FAIL'}")
    print(f"RESULT animate_speedup_vs_serial_imageio {ratio:.2f} x goal=>1 {'ok' if ratio > 1 else 'FAIL'}")

    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine = f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, GL: {renderer_name}"
    table = [
        f"\n## animate: cel-shaded walk at {SIZE}x{SIZE} to MP4, end to end ({when})\n",
        f"Machine: {machine}. Clip: built-in walk on teen-girl, {n} frames at 30 fps, front view.\n",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| **ours: animate() -> .mp4** | **{fps_ours:.1f} fps** ({t_ours:.2f} s) | >= {GOAL_FPS:g} fps "
        f"{'ok' if ok else 'FAIL'} |",
        f"| CPU time per frame, all threads + ffmpeg (ceiling on 2 free cores) | {cpu_ms:.1f} ms "
        f"({2000 / cpu_ms:.0f} fps) | |",
        f"| machine load (1-min load average, other jobs included) | {load:.1f} | |",
        f"| rendering only (toon frames) | {n / t_render:.1f} fps | |",
        f"| encoding only (write_video, x264 veryfast) | {n / t_encode:.1f} fps | |",
        f"| comparison: serial render + imageio.mimwrite | {fps_naive:.1f} fps | |",
        f"| ratio ours / comparison | {ratio:.2f}x | > 1 |",
        f"| springs, 10 chains x 6 joints, {n} frames: batched / reference loop | {t_spring * 1e3:.1f} ms / "
        f"{t_spring_ref * 1e3:.0f} ms | |",
        "",
    ]
    append_results(table)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
