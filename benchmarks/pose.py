"""Benchmark: pose a 30k-triangle body for 1,000 frames (FK + linear-blend skinning of every vertex).

The motion is real: a looping slerp through the ``stand -> walk -> jog -> run -> jump`` presets.
Compared, in the same run, against a per-frame loop calling the same functions once per frame.
Uses ``kyara.body.model.build_body("teen-girl")`` when it exists, else a stand-in sphere mesh of
~15k vertices / 30k faces with random 4-influence weights (printed).

Run: ``python benchmarks/pose.py`` (no arguments). Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")  # the target machine: 2 CPU cores

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import append_results  # noqa: E402

from kyara.body.layout import body_layout  # noqa: E402
from kyara.body.params import PRESETS  # noqa: E402
from kyara.body.skeleton import NUM_BONES, PARENTS  # noqa: E402
from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms  # noqa: E402
from kyara.pose.pose import Motion  # noqa: E402
from kyara.pose.presets import get_pose  # noqa: E402

FRAMES = 1000
GOAL_S = 1.0
KEYS = ("stand", "walk", "jog", "run", "jump")


def _stand_in(rest_joints: np.ndarray, seed: int = 0) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """Sphere grid (~15k vertices, 30k faces) stretched over the skeleton, 4 random influences each."""
    n_lat, n_lon = 100, 150
    th = np.linspace(0.0, np.pi, n_lat + 2)[1:-1]
    ph = np.linspace(0.0, 2 * np.pi, n_lon, endpoint=False)
    t, p = np.meshgrid(th, ph, indexing="ij")
    v = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], -1).reshape(-1, 3)
    v = np.concatenate([v, [[0, 1, 0], [0, -1, 0]]])
    lo, hi = rest_joints.min(0), rest_joints.max(0)
    v = ((v + 1) / 2 * (hi - lo) + lo).astype(np.float32)
    faces = []
    for i in range(n_lat - 1):
        a = i * n_lon + np.arange(n_lon)
        b = i * n_lon + (np.arange(n_lon) + 1) % n_lon
        faces += [np.stack([a, b, a + n_lon], 1), np.stack([b, b + n_lon, a + n_lon], 1)]
    top, bot = len(v) - 2, len(v) - 1
    ring0, ringn = np.arange(n_lon), (n_lat - 1) * n_lon + np.arange(n_lon)
    faces += [np.stack([np.full(n_lon, top), np.roll(ring0, -1), ring0], 1),
              np.stack([np.full(n_lon, bot), ringn, np.roll(ringn, -1)], 1)]
    faces = np.concatenate(faces).astype(np.int32)
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.choice(NUM_BONES, 4, replace=False) for _ in range(len(v))])
    w = rng.random((len(v), 4)).astype(np.float32)
    w /= w.sum(1, keepdims=True)
    dense = np.zeros((len(v), NUM_BONES), np.float32)
    np.add.at(dense, (np.repeat(np.arange(len(v)), 4), idx.ravel()), w.ravel())
    return "stand-in sphere, random 4-influence weights", v, faces, dense


def _body() -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        from kyara.body.model import build_body
    except ImportError:
        rest = body_layout(PRESETS["teen-girl"]).joints
        return (*_stand_in(rest), rest)
    b = build_body("teen-girl")
    return "kyara.body.model.build_body('teen-girl')", b.vertices, b.faces, b.weights_dense(), b.rest_joints


def pose_batched(verts, dense, rest, rot_mats, trans) -> np.ndarray:
    g_rot, g_pos = forward_kinematics(rot_mats, trans, rest, PARENTS)  # [F, J, 3, 3], [F, J, 3]
    a = skinning_transforms(g_rot, g_pos, rest).astype(np.float32)  # [F, J, 3, 4]
    return linear_blend_skinning(verts, dense, a)  # [F, V, 3] float32


def pose_loop(verts, dense, rest, rot_mats, trans) -> np.ndarray:
    out = np.empty((len(rot_mats), len(verts), 3), np.float32)
    for f in range(len(rot_mats)):
        g_rot, g_pos = forward_kinematics(rot_mats[f], trans[f], rest, PARENTS)
        a = skinning_transforms(g_rot, g_pos, rest).astype(np.float32)
        out[f] = linear_blend_skinning(verts, dense, a)
    return out


def main() -> int:
    source, verts, faces, dense, rest = _body()
    print(f"body: {source}: {len(verts)} vertices, {len(faces)} faces")
    motion = Motion.from_keyframes([get_pose(k) for k in KEYS], FRAMES, loop=True)
    rot_mats = motion.matrices()  # [F, J, 3, 3]
    trans = motion.translation  # [F, 3]

    pose_batched(verts, dense, rest, rot_mats[:8], trans[:8])  # warm up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        posed = pose_batched(verts, dense, rest, rot_mats, trans)
        times.append(time.perf_counter() - t0)
    batched = min(times)
    t0 = time.perf_counter()
    posed_loop = pose_loop(verts, dense, rest, rot_mats, trans)
    loop = time.perf_counter() - t0
    err = float(np.abs(posed - posed_loop).max())
    ratio = loop / batched
    ok = batched < GOAL_S
    print(f"batched: {batched:.3f} s ({FRAMES / batched:.0f} frames/s), loop: {loop:.3f} s, max diff {err:.2e} m")
    print(f"RESULT pose_fk_lbs_1000_frames {batched:.3f} s goal=<{GOAL_S} {'ok' if ok else 'FAIL'}")
    print(f"RESULT pose_speedup_vs_frame_loop {ratio:.1f} x goal=>1 {'ok' if ratio > 1 else 'FAIL'}")

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    machine = f"{platform.machine()} {platform.platform()}, {cores} cores, Python {platform.python_version()}"
    table = "\n".join([
        f"\n## pose: FK + LBS, {FRAMES} frames ({datetime.date.today().isoformat()})\n",
        f"Machine: {machine}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}. "
        f"Body: {source}, {len(verts)} vertices, {len(faces)} faces. Motion: looping slerp "
        f"{' -> '.join(KEYS)}.\n",
        "| step | seconds |",
        "|---|---|",
        f"| **batched** FK + skinning transforms + LBS, all frames (goal < {GOAL_S} s) | **{batched:.3f}** "
        f"{'ok' if ok else 'FAIL'} |",
        f"| comparison: per-frame loop, same functions | {loop:.3f} |",
        f"| ratio loop / batched | {ratio:.1f}x |",
        f"| max difference batched vs loop | {err:.1e} m |",
        "",
    ])
    append_results(table)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
