"""Benchmark: every condition map for 100 views at 512x512 of a ~30k-triangle mesh, in memory.

Ours: one MeshRenderer call (depth, metric depth, normal, mask, parts, udp, lineart, toon) plus
keypoint projection and occlusion for 18 keypoints per view. Peer, measured in the same run (in a
subprocess, its own EGL context): pyrender (EGL) rendering depth + a normal-coloured mesh per view
and trimesh ray casting per view for keypoint occlusion. Also cel-shaded frames per second.

Run: ``python benchmarks/render.py`` (no arguments; ~1-2 minutes on 2 CPU cores).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N_VIEWS, SIZE, N_KP = 100, 512, 18


def load_mesh():
    """(vertices, faces, parts, udp, keypoints [K,3], tolerance [K], name)."""
    try:
        from kyara.body.model import build_body

        body = build_body("teen-girl")
        v = np.asarray(body.vertices, np.float32)
        joints = np.asarray(body.rest_joints, np.float64)
        idx = np.linspace(0, len(joints) - 1, N_KP).astype(int)
        return (v, np.asarray(body.faces, np.int32), np.asarray(body.parts, np.uint8),
                np.asarray(body.udp, np.float32), joints[idx], np.full(N_KP, 0.05), "build_body('teen-girl')")
    except Exception:  # the body model is not there yet: a body-sized sphere stand-in
        import trimesh

        m = trimesh.creation.uv_sphere(radius=1.0, count=[123, 123])
        v = (m.vertices * [0.3, 0.8, 0.2] + [0, 0.8, 0]).astype(np.float32)
        rng = np.random.default_rng(0)
        kp = rng.uniform(-0.6, 0.6, size=(N_KP, 3)) * [0.3, 0.8, 0.2] + [0, 0.8, 0]
        lo, hi = v.min(0), v.max(0)
        return (v, m.faces.astype(np.int32), (v[:, 1] > 0.8).astype(np.uint8), (v - lo) / (hi - lo), kp,
                np.full(N_KP, 0.05), f"ellipsoid stand-in ({len(m.faces)} faces, build_body unavailable)")


def cameras(v):
    from kyara.render.camera import sample_orbit_cameras

    return sample_orbit_cameras(N_VIEWS, 0, v.min(0), v.max(0), size=(SIZE, SIZE)).cameras


def run_ours():
    from kyara.render.gl import context_info
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.visibility import keypoint_visibility

    v, f, parts, udp, kp, tol, name = load_mesh()
    cams = cameras(v)
    maps = ("depth", "metric_depth", "normal", "mask", "parts", "udp", "lineart", "toon")
    r = MeshRenderer(f, len(v), SIZE, SIZE, VertexAttrs(parts=parts, udp=udp))
    r.render(v, cams[:2], maps)  # warm-up: shader compilation
    t = time.perf_counter()
    out = r.render(v, cams, maps)
    vis = keypoint_visibility(kp, cams, out["metric_depth"], tol)
    fresh = time.perf_counter() - t
    t = time.perf_counter()
    out = r.render(v, cams, maps, out=out)
    vis = keypoint_visibility(kp, cams, out["metric_depth"], tol)
    reused = time.perf_counter() - t
    toon = {"toon": np.empty((N_VIEWS, SIZE, SIZE, 4), np.uint8)}
    r.render(v, cams, ("toon",), out=toon)
    t = time.perf_counter()
    r.render(v, cams, ("toon",), out=toon)
    toon_s = time.perf_counter() - t
    return {"mesh": name, "faces": int(len(f)), "fresh_s": fresh, "reused_s": reused, "toon_fps": N_VIEWS / toon_s,
            "visible": float(vis.mean()), "gl": context_info()["renderer"]}


def run_peer():
    """pyrender (EGL) depth + normal colours per view, trimesh ray casting for occlusion."""
    os.environ["PYOPENGL_PLATFORM"] = "egl"
    import pyrender
    import trimesh

    v, f, parts, udp, kp, tol, name = load_mesh()
    cams = cameras(v)
    tm = trimesh.Trimesh(v, f, process=False)
    vn = np.asarray(tm.vertex_normals)
    renderer = pyrender.OffscreenRenderer(SIZE, SIZE)
    ray = tm.ray  # embree when installed, else the rtree-based intersector

    def one(cam):
        rot = cam.view[:3, :3]
        n_cam = vn @ rot.T
        col = np.clip((np.c_[-n_cam[:, 0], n_cam[:, 1], n_cam[:, 2]] + 1) * 127.5, 0, 255).astype(np.uint8)
        mesh = pyrender.Mesh.from_trimesh(trimesh.Trimesh(v, f, vertex_colors=col, process=False), smooth=True)
        scene = pyrender.Scene(bg_color=[0.5, 0.5, 1.0, 1.0])
        scene.add(mesh)
        pc = pyrender.PerspectiveCamera(yfov=np.radians(cam.fovy_deg), znear=cam.near, zfar=cam.far)
        scene.add(pc, pose=np.linalg.inv(cam.view))
        color, depth = renderer.render(scene, flags=pyrender.RenderFlags.FLAT)
        # occlusion: ray from the camera to each keypoint; hidden if the mesh is hit well before it
        origin = cam.position
        d = kp - origin
        dist = np.linalg.norm(d, axis=1)
        locs, idx, _ = ray.intersects_location(np.repeat(origin[None], len(kp), 0), d / dist[:, None],
                                               multiple_hits=False)
        first = np.full(len(kp), np.inf)
        first[idx] = np.linalg.norm(locs - origin, axis=1)
        return color, depth, dist <= first + tol

    one(cams[0])  # warm-up
    t = time.perf_counter()
    for cam in cams:
        one(cam)
    total = time.perf_counter() - t
    renderer.delete()
    return {"peer_s": total, "intersector": type(ray).__module__}


def main() -> int:
    if "--peer" in sys.argv:
        print(json.dumps(run_peer()))
        return 0
    ours = run_ours()
    env = dict(os.environ, PYOPENGL_PLATFORM="egl")
    proc = subprocess.run([sys.executable, __file__, "--peer"], capture_output=True, text=True, env=env, timeout=900)
    try:
        peer = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print(f"peer failed: {proc.stderr.strip()[-400:]}")
        peer = {"peer_s": float("nan"), "intersector": "n/a"}
    ratio = peer["peer_s"] / ours["fresh_s"]
    ratio_reused = peer["peer_s"] / ours["reused_s"]
    print(f"mesh: {ours['mesh']}, {ours['faces']} faces, {N_VIEWS} views {SIZE}x{SIZE}, GL: {ours['gl']}")
    print(f"ours all maps + occlusion (fresh arrays): {ours['fresh_s']:.2f} s; reusing output arrays: "
          f"{ours['reused_s']:.2f} s; peer pyrender+trimesh ({peer['intersector']}): {peer['peer_s']:.2f} s")
    lines = [
        ("render_all_maps_100x512_fresh", ours["fresh_s"], "s", "<", 2.0),
        ("render_all_maps_100x512_reused_out", ours["reused_s"], "s", "<", 2.0),
        ("speedup_vs_pyrender_trimesh", ratio, "x", ">=", 10.0),
        ("toon_512_fps", ours["toon_fps"], "fps", ">=", 60.0),
    ]
    for name, val, unit, op, goal in lines:
        ok = val < goal if op == "<" else val >= goal
        print(f"RESULT {name} {val:.3g} {unit} goal={op}{goal:g} {'ok' if ok else 'FAIL'}")
    res = ROOT / "benchmarks" / "RESULTS.md"
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    table = [
        f"\n## render ({now})\n",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}, GL: {ours['gl']}. "
        f"Mesh: {ours['mesh']}, {ours['faces']} faces; {N_VIEWS} orbit views at {SIZE}x{SIZE}; "
        f"{N_KP} keypoints per view.\n",
        "| figure | value | goal |",
        "|---|---|---|",
        f"| all maps + keypoint occlusion, fresh arrays | {ours['fresh_s']:.2f} s | < 2 s |",
        f"| all maps + keypoint occlusion, reused `out=` arrays | {ours['reused_s']:.2f} s | < 2 s |",
        f"| peer: pyrender EGL depth+normal + trimesh rays ({peer['intersector']}) | {peer['peer_s']:.2f} s | |",
        f"| speed-up vs peer (fresh / reused) | {ratio:.1f}x / {ratio_reused:.1f}x | >= 10x |",
        f"| cel-shaded 512x512 | {ours['toon_fps']:.0f} fps | >= 60 fps |",
        "",
    ]
    with open(res, "a", encoding="utf-8") as fh:
        fh.write("\n".join(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
