"""Benchmark: import + retarget + pose 10,000 mocap frames (goal: under 2 s on 2 CPU cores).

The five built-in CMU clips are concatenated and tiled to 10,000 frames and written as one BVH
file (96 channels per frame). Timed, best of 3:

* import: :func:`kyara.motion.read_bvh` (hierarchy + vectorized MOTION block + Euler -> quaternion);
* retarget: :func:`kyara.motion.retarget` onto the ``teen-girl`` body (feet-on-ground included);
* pose: forward kinematics of the 55 VRM bones for every frame.

Comparison measured in the same run: ``bvhio.readAsBvh`` parsing the same file (bvhio 1.5).
Skinning the body mesh (LBS) is reported separately as frames/s when ``kyara.body.model.build_body``
exists: posing 10,000 frames of a 15k-vertex mesh is ~1.8 GB of vertices, which the renderer
does frame by frame, so it is not part of the 2 s goal.

Run: ``python benchmarks/motion.py`` (no arguments). Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kyara.body.layout import body_layout  # noqa: E402
from kyara.body.params import PRESETS  # noqa: E402
from kyara.body.skeleton import PARENTS  # noqa: E402
from kyara.motion import BUILTIN_MOTIONS, MocapMotion, load_builtin, read_bvh, retarget, write_bvh  # noqa: E402
from kyara.pose.lbs import forward_kinematics  # noqa: E402

from _common import append_results, best_of as _best, limit_cores as _limit_cores  # noqa: E402

FRAMES = 10_000
GOAL_S = 2.0


def _tiled_clip(path: Path) -> None:
    skel, _ = load_builtin("walk")
    rots, trans = [], []
    for name in BUILTIN_MOTIONS:
        s, m = load_builtin(name)
        assert s.names == skel.names
        rots.append(m.rotations)
        trans.append(m.root_translation)
    rot = np.concatenate(rots)
    tr = np.concatenate(trans)
    reps = -(-FRAMES // rot.shape[0])
    write_bvh(path, skel, MocapMotion(np.tile(rot, (reps, 1, 1))[:FRAMES], np.tile(tr, (reps, 1))[:FRAMES], 120.0))


def main() -> int:
    cores = _limit_cores(2)
    layout = body_layout(PRESETS["teen-girl"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiled_10k.bvh"
        _tiled_clip(path)
        size_mb = path.stat().st_size / 1e6
        t_import, (skel, mocap) = _best(lambda: read_bvh(path))
        assert mocap.num_frames == FRAMES
        t_retarget, motion = _best(lambda: retarget(mocap, skel, layout))
        t_fk, _ = _best(lambda: forward_kinematics(motion.matrices(), motion.translation, layout.joints, PARENTS))
        total = t_import + t_retarget + t_fk
        try:
            import bvhio

            t_bvhio, _ = _best(lambda: bvhio.readAsBvh(str(path)), repeat=1)
            bvhio_note = f"bvhio {getattr(bvhio, '__version__', '1.5')} readAsBvh"
        except ImportError:
            t_bvhio, bvhio_note = float("nan"), "bvhio not installed"
    # skinning throughput (separate figure)
    lbs_fps, lbs_note = float("nan"), "kyara.body.model.build_body not available: FK only"
    try:
        from kyara.body.model import build_body

        body = build_body(PRESETS["teen-girl"])
        n = 300
        t_lbs, _ = _best(lambda: body.pose_vertices(motion.matrices()[:n], motion.translation[:n]), repeat=2)
        lbs_fps = n / t_lbs
        lbs_note = f"LBS of the {body.vertices.shape[0]}-vertex body, {n} frames, reported apart"
    except ImportError:
        pass

    ok = total < GOAL_S
    ratio = t_bvhio / t_import
    print(f"frames {FRAMES}, file {size_mb:.1f} MB, {cores} cores")
    print(f"import {t_import:.3f} s | retarget {t_retarget:.3f} s | FK {t_fk:.3f} s | total {total:.3f} s")
    print(f"{bvhio_note}: {t_bvhio:.3f} s parse only -> kyara import is {ratio:.1f}x faster")
    print(f"pose: FK of 55 bones in the total; {lbs_note}: {lbs_fps:.0f} frames/s")
    print(f"RESULT motion_import_retarget_fk_10k {total:.3f} s goal=<{GOAL_S} {'ok' if ok else 'FAIL'}")
    print(f"RESULT bvh_import_speedup_vs_bvhio {ratio:.1f} x goal=>1 {'ok' if ratio > 1 else 'FAIL'}")

    date = datetime.date.today().isoformat()
    machine = f"{platform.machine()} {platform.processor() or platform.platform()}, {cores} cores, Python {platform.python_version()}"
    table = [
        f"\n## motion: import + retarget + pose, {FRAMES} frames ({date})\n",
        f"Machine: {machine}. File: 5 CMU clips tiled, 96 channels/frame, {size_mb:.1f} MB.\n",
        "| step | seconds |",
        "|---|---|",
        f"| import (read_bvh) | {t_import:.3f} |",
        f"| retarget onto teen-girl (feet on ground) | {t_retarget:.3f} |",
        f"| pose: FK, 55 bones | {t_fk:.3f} |",
        f"| **total** (goal < {GOAL_S} s) | **{total:.3f}** {'ok' if ok else 'FAIL'} |",
        f"| comparison: {bvhio_note} (parse only) | {t_bvhio:.3f} |",
        f"| ratio bvhio parse / kyara import | {ratio:.1f}x |",
        f"| {lbs_note} | {lbs_fps:.0f} frames/s |",
        "",
    ]
    append_results(table)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
