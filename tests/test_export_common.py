"""Shared helpers for the export tests: a synthetic character and the node-based checkers.

The synthetic character is the real parametric body plus parts built here: a closed "eyelids"
box on the face with every VRM expression morph, a 3-bone spring "tail" tube on extra bones, and a
two-colour "badge" with per-vertex colours. It does not depend on the hair/face/garment builders.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "tests" / "js"
EXPRESSIONS = ("blink", "blinkLeft", "blinkRight", "aa", "ih", "ou", "ee", "oh", "happy", "angry", "sad", "surprised")
ACCEPTANCE_PROMPTS = (
    "an anime pirate in a blue and gold coat",
    "an anime boy with glasses",
    "an anime girl in a kimono",
    "an anime boy in a hoodie",
    "an anime girl in a sports jersey",
    "an anime witch with pointy hat",
    "young anime girl with long brown hair tied in a high ponytail, light blue sports outfit with white sneakers",
)


def test_helpers_build_a_closed_synthetic_character():
    c = synthetic_character()
    names = [p.name for p in c.parts]
    assert names == ["body", "eyelids", "tail", "badge"]
    assert set(c.part("eyelids").morphs) == set(EXPRESSIONS)


def _box(center, half) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    m = trimesh.creation.box(extents=2 * np.asarray(half, float))
    return np.asarray(m.vertices) + np.asarray(center, float), np.asarray(m.faces)


@functools.lru_cache(maxsize=2)
def synthetic_character(preset: str = "teen-girl"):
    from kyara.body.model import build_body
    from kyara.body.skeleton import BONE_INDEX, NUM_BONES
    from kyara.character.meshing import tube
    from kyara.character.model import Character, ExtraBone, Material, Part

    body = build_body(preset)
    d = body.layout.dims
    head = BONE_INDEX["head"]
    # 1. eyelids: a closed box in front of the eyes, every expression a distinct offset of its top verts
    bv_ = body.vertices

    def front_z(y: float, half_x: float) -> float:  # the body's front surface at height y
        near = (np.abs(bv_[:, 1] - y) < 0.01) & (np.abs(bv_[:, 0]) < half_x)
        return float(bv_[near, 2].max())

    v, f = _box((0.0, d["eye_y"], front_z(d["eye_y"], 0.3 * d["W"]) + 0.002), (0.3 * d["W"], 0.01, 0.004))
    top = v[:, 1] > d["eye_y"]
    morphs = {}
    for k, name in enumerate(EXPRESSIONS):
        off = np.zeros_like(v)
        off[top, 1] = -0.004 - 0.0005 * k
        if name == "blinkLeft":
            off[v[:, 0] < 0] = 0
        if name == "blinkRight":
            off[v[:, 0] > 0] = 0
        morphs[name] = off.astype(np.float32)
    ji = np.zeros((len(v), 4), np.int64)
    ji[:, 0] = head
    jw = np.zeros((len(v), 4), np.float32)
    jw[:, 0] = 1
    eyelids = Part("eyelids", "face", v, f, ji, jw, Material("lids", (0.95, 0.8, 0.75)), morphs=morphs)
    # 2. tail: a tube on a 3-bone spring chain hanging from the back of the head
    back = body.rest_joints[head] + np.array([0.0, 0.0, -0.6 * d["D"]])
    chain = [back + np.array([0.0, -0.06 * i, -0.02 * i]) for i in range(4)]
    spring = {"stiffness": 0.8, "drag": 0.4, "gravity_power": 0.2, "hit_radius": 0.02}
    bones = [ExtraBone(f"tail_{i}", "head" if i == 0 else f"tail_{i - 1}", tuple(map(float, p)),
                       spring if i < 3 else dict(spring)) for i, p in enumerate(chain)]
    tv, tf = tube(np.array(chain), 0.015, sides=8)
    seg = np.clip(np.round((back[1] - tv[:, 1]) / 0.06).astype(int), 0, 3)
    tji = np.zeros((len(tv), 4), np.int64)
    tji[:, 0] = NUM_BONES + seg
    tji[:, 1] = head
    tjw = np.zeros((len(tv), 4), np.float32)
    tjw[:, 0] = 0.8
    tjw[:, 1] = 0.2
    tail = Part("tail", "hair", tv, tf, tji, tjw, Material("hair", (0.2, 0.1, 0.3)))
    # 3. badge: two colours on one part (on the chest, skinned to upperChest)
    chest_y = body.rest_joints[BONE_INDEX["upperChest"]][1]
    bv, bf = _box((0.0, chest_y, front_z(chest_y, 0.02) + 0.002), (0.02, 0.02, 0.004))
    cols = np.where(bv[:, :1] > 0, [[1.0, 0.8, 0.0]], [[0.1, 0.2, 0.9]])
    bji = np.zeros((len(bv), 4), np.int64)
    bji[:, 0] = BONE_INDEX["upperChest"]
    bjw = np.zeros((len(bv), 4), np.float32)
    bjw[:, 0] = 1
    badge = Part("badge", "accessory", bv, bf, bji, bjw, Material("badge", (1, 1, 1)), colors=cols)
    from kyara.character.build import body_part
    from kyara.character.parser import parse_prompt

    spec = parse_prompt("an anime girl", seed=0)
    return Character(spec=spec, body=body, parts=[body_part(body, spec), eyelids, tail, badge], extra_bones=bones)


@functools.lru_cache(maxsize=8)
def acceptance_character(prompt: str):
    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt

    return build_character(parse_prompt(prompt, seed=0))


def js_ready() -> str | None:
    """None when node + the npm packages are installed, else the reason to skip."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS / "node_modules" / "gltf-validator").is_dir():
        return "npm packages missing: run `npm ci --prefix tests/js`"
    return None


def browser_ready() -> str | None:
    reason = js_ready()
    if reason:
        return reason
    if not os.path.exists("/usr/bin/chromium"):
        return "Debian chromium is not installed (apt-get install chromium)"
    return None


def run_validator(paths: list[Path]) -> dict:
    reason = js_ready()
    if reason:
        pytest.skip(reason)
    res = subprocess.run(["node", str(JS / "validate.mjs"), *map(str, paths)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout)


def run_three_vrm(jobs: list[dict]) -> dict:
    """One headless Chromium for all jobs: ``[{"vrm": path, "vrma": path|None}]`` -> results by path."""
    reason = browser_ready()
    if reason:
        pytest.skip(reason)
    res = subprocess.run(["node", str(JS / "check_vrm.mjs")], input=json.dumps(jobs), capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    return json.loads(res.stdout)
