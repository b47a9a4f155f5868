"""Benchmark: export a built character as VRM 1.0 (goal < 2 s) and as a printable STL with
booleans (goal < 10 s) on 2 CPU cores.

Character: ``build_character(parse_prompt("an anime girl in a kimono", seed=0))`` (building is not
timed). Compared in the same run: trimesh's plain GLB export of the merged mesh (no skin, morphs
or VRM extensions) for the VRM, and trimesh's manifold-engine union of the same posed shells
(no thickening, no base) for the STL.

Run: ``python benchmarks/export.py`` (no arguments). Appends a table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")  # the target machine: 2 CPU cores
os.environ.setdefault("OMP_NUM_THREADS", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = "an anime girl in a kimono"
POSE = "jog"
VRM_GOAL_S = 2.0
STL_GOAL_S = 10.0

from _common import append_results, best_of as _best  # noqa: E402




def main() -> int:
    import trimesh

    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt
    from kyara.export import ExportOptions, export_character
    from kyara.export.stl import printable_solid, surface_deviation
    from kyara.pose.presets import get_pose

    t = time.perf_counter()
    character = build_character(parse_prompt(PROMPT, seed=0))
    build_s = time.perf_counter() - t
    tris = sum(len(p.faces) for p in character.parts)
    out = Path(tempfile.mkdtemp(prefix="kyara-bench-export-"))

    # 1. VRM 1.0 (file written), best of 3
    vrm_s, res = _best(lambda: export_character(character, "vrm", out / "a.vrm", ExportOptions()), 3)
    vrm0_s, _ = _best(lambda: export_character(character, "vrm0", out / "a0.vrm", ExportOptions()), 3)
    mesh = character.merged()
    plain = trimesh.Trimesh(mesh["vertices"], mesh["faces"], process=False)
    cmp_vrm_s, _ = _best(lambda: (out / "plain.glb").write_bytes(plain.export(file_type="glb")), 3)

    # 2. STL with booleans (posed, thickened, base), best of 2
    pose = get_pose(POSE, character.body.params)
    stl_s, stl = _best(lambda: export_character(character, "stl", out / "a.stl", ExportOptions(pose=POSE)), 2)
    solid = printable_solid(character, pose)
    dev = surface_deviation(solid, samples=5000)
    shells = [trimesh.Trimesh(v, f, process=False) for v, f in solid.originals]
    try:
        cmp_stl_s, _ = _best(lambda: trimesh.boolean.union(shells, engine="manifold"), 1)
    except Exception as exc:  # noqa: BLE001 - the comparison is optional; report why it is missing
        print(f"comparison union failed: {exc}")
        cmp_stl_s = float("nan")

    ok_vrm = vrm_s < VRM_GOAL_S
    ok_stl = stl_s < STL_GOAL_S
    print(f"character: '{PROMPT}', {len(character.parts)} parts, {tris} triangles, built in {build_s:.1f} s")
    print(f"RESULT vrm_export_s {vrm_s:.3f} s goal=<{VRM_GOAL_S:g} {'ok' if ok_vrm else 'FAIL'}")
    print(f"RESULT stl_export_s {stl_s:.3f} s goal=<{STL_GOAL_S:g} {'ok' if ok_stl else 'FAIL'}")
    print(f"vrm0 {vrm0_s:.3f} s; trimesh plain GLB {cmp_vrm_s:.3f} s; trimesh manifold union {cmp_stl_s:.3f} s")
    print(f"stl: {stl.stats['triangles']} triangles, {stl.stats['volume_mm3'] / 1000:.1f} cm3, "
          f"Hausdorff {max(dev):.4f} mm, components {stl.stats['components']}")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        "", f"## export: VRM and printable STL ({stamp})", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"1-min load average {load:.1f} (other jobs included).", "",
        f"Character: '{PROMPT}' seed 0, {len(character.parts)} parts, {tris} triangles (build {build_s:.1f} s, not timed); "
        f"STL pose {POSE}, 150 mm, base, 1.2 mm minimum wall.", "",
        "| figure | value | goal |", "|---|---|---|",
        f"| **VRM 1.0 export (file written)** | **{vrm_s:.3f} s** ({res.bytes / 1e6:.1f} MB) | < {VRM_GOAL_S:g} s {'ok' if ok_vrm else 'FAIL'} |",
        f"| VRM 0.x export | {vrm0_s:.3f} s | |",
        f"| comparison: trimesh plain GLB of the merged mesh (no skin/morphs/VRM) | {cmp_vrm_s:.3f} s | |",
        f"| ratio VRM / plain GLB | {vrm_s / cmp_vrm_s:.2f}x | |",
        f"| **STL with booleans (pose, thickening, struts, base, union)** | **{stl_s:.3f} s** | < {STL_GOAL_S:g} s {'ok' if ok_stl else 'FAIL'} |",
        f"| comparison: trimesh manifold union of the same shells only | {cmp_stl_s:.3f} s | |",
        f"| ratio STL / union only | {stl_s / cmp_stl_s:.2f}x | |",
        f"| STL triangles, volume, pieces | {stl.stats['triangles']}, {stl.stats['volume_mm3'] / 1000:.1f} cm3, {stl.stats['components']} | |",
        f"| Hausdorff solid <-> posed character (outside thickened regions) | {dev[0]:.4f} / {dev[1]:.4f} mm | <= 0.5 mm |",
        "",
    ]
    append_results("\n".join(lines))
    return 0 if ok_vrm and ok_stl else 1


if __name__ == "__main__":
    sys.exit(main())
