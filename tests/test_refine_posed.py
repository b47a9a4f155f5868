"""kyara.refine (#22): the posed stage, progress frames, iterations/s, the schedule check, the VRM normal map.

Stand-in predictors and hand-made buffers where no rendering is needed; the posed pool is rendered
from the synthetic export character with kyara's renderer (``gl`` fixture), no diffusion model.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_paint import fake_buffers  # noqa: E402

from kyara.refine.optimize import RefineConfig, check_posed, iteration_draws, posed_start  # noqa: E402


class RecordingTeacher:
    """eps_hat = x_t (any stand-in): records the pool views of every call."""

    def __init__(self):
        self.views = []

    def __call__(self, x_t, t, view):
        self.views.append(view.clone())
        return x_t * 0.5


def test_posed_stage_draws_only_posed_views_in_the_last_fraction():
    cfg = RefineConfig(iters=8, views_per_iter=4, posed_fraction=0.25, seed=3)
    assert posed_start(cfg, 2) == 6 and posed_start(cfg, 0) == 8
    assert posed_start(RefineConfig(iters=3, posed_fraction=0.25), 1) == 2  # round(0.75) = 1, half up
    for i in range(8):
        v, t, _ = iteration_draws(3, i, 6, cfg, posed=2)
        assert (v >= 4).all() if i >= 6 else (v < 4).all(), (i, v)
        v2, t2, _ = iteration_draws(3, i, 6, cfg, posed=2)
        assert torch.equal(v, v2) and torch.equal(t, t2)  # a pure function of (seed, i)
    # without posed views nothing changes: the draws of a posed_fraction 0 run are the old ones
    a = iteration_draws(3, 5, 6, RefineConfig(iters=8, views_per_iter=4, seed=3))[0]
    b = iteration_draws(3, 5, 6, RefineConfig(iters=8, views_per_iter=4, seed=3, posed_fraction=0.5), posed=0)[0]
    assert torch.equal(a, b)
    # through the loop: the teacher sees rest-pose views, then posed ones
    from kyara.refine.optimize import refine_texture

    teacher = RecordingTeacher()
    refine_texture(torch.full((3, 8, 8), 0.5), fake_buffers(n=6, h=8, w=8), teacher,
                   config=RefineConfig(iters=4, views_per_iter=3, posed_fraction=0.5, seed=1), posed=2)
    assert [bool((v >= 4).all()) for v in teacher.views] == [False, False, True, True]
    assert all(bool((v < 4).all()) for v in teacher.views[:2])
    with pytest.raises(ValueError, match="needs posed views"):
        check_posed(6, 0, RefineConfig(posed_fraction=0.5))
    with pytest.raises(ValueError, match="posed views 6"):
        check_posed(6, 6, RefineConfig(posed_fraction=0.5))
    with pytest.raises(ValueError, match="posed_fraction"):
        RefineConfig(posed_fraction=1.5)


def _teacher_script_run(folder, seed=0, frames=None, iters=7, device=None):
    from kyara.refine.recipe import refine_run

    buf = fake_buffers(n=4, h=8, w=8, seed=1)
    return refine_run(np.full((3, 8, 8), 0.5, np.float32), buf, lambda x, t, v: x * 0.5, folder,
                      RefineConfig(iters=iters, views_per_iter=2, lr=0.05, seed=seed), checkpoint_steps=3, log_every=1,
                      progress=False, on_frame=None if frames is None else (lambda s, tex, n: frames.append(s)),
                      frame_every=3, device=device)


def test_recipe_frames_iterations_per_second_and_the_schedule_header(tmp_path):
    from kyara.refine.recipe import check_resume, recorded_schedule, schedule

    frames: list = []
    tex, nrm, res = _teacher_script_run(tmp_path / "a", frames=frames)
    assert frames == [0, 3, 6] and nrm is None and res.finished
    same, _, _ = _teacher_script_run(tmp_path / "on-cpu", device="cpu")  # the device path: the same texture
    assert torch.equal(tex, same)
    rows = [json.loads(x) for x in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    rates = [r["it_s"] for r in rows if "loss" in r]
    assert len(rates) == 7 and rates[0] == 0 and all(r > 0 for r in rates[1:])
    cfg = RefineConfig(iters=7, views_per_iter=2, lr=0.05, seed=0)
    want = schedule(cfg, 3, 8, (4, 8, 8), None)
    assert recorded_schedule(tmp_path / "a") == want and recorded_schedule(tmp_path / "none") is None
    check_resume(tmp_path / "a", want)  # the same: fine
    check_resume(tmp_path / "a", schedule(RefineConfig(iters=7, views_per_iter=2, lr=0.5, seed=0), 3, 8,
                                          (4, 8, 8), None))  # the learning rate is not the schedule
    with pytest.raises(ValueError, match=r"another schedule \(seed 0 -> 2\)"):
        check_resume(tmp_path / "a", schedule(RefineConfig(iters=7, views_per_iter=2, seed=2), 3, 8, (4, 8, 8), None))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable refinement checkpoint"):
        recorded_schedule(tmp_path / "bad")


def _glb(gltf: dict, binary: bytes) -> bytes:
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    return b"".join([struct.pack("<III", 0x46546C67, 2, 28 + len(text) + len(binary)),
                     struct.pack("<II", len(text), 0x4E4F534A), text, struct.pack("<II", len(binary), 0x004E4942),
                     binary])


def test_with_normal_texture_adds_the_normal_map_to_painted_materials():
    from kyara.export.gltf import read_glb
    from kyara.refine.outputs import with_normal_texture

    base_png = b"\x89PNG\r\n\x1a\n" + b"base" * 3
    g = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": 16}],
         "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(base_png)}],
         "images": [{"name": "painted_base", "mimeType": "image/png", "bufferView": 0}],
         "samplers": [{}], "textures": [{"name": "painted_base", "sampler": 0, "source": 0}],
         "materials": [{"name": "skin", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}},
                       {"name": "lens", "pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 0.3]}}]}
    normal = b"\x89PNG\r\n\x1a\n" + b"normal-map"
    out, binary = read_glb(with_normal_texture(_glb(g, base_png), normal))
    m0, m1 = out["materials"]
    assert "normalTexture" not in m1
    tex = out["textures"][m0["normalTexture"]["index"]]
    assert tex["sampler"] == 0 and tex["name"] == "painted_normal"
    view = out["bufferViews"][out["images"][tex["source"]]["bufferView"]]
    assert view["byteOffset"] % 4 == 0 and binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]] == normal
    assert binary[:len(base_png)] == base_png and out["buffers"][0]["byteLength"] == len(binary)
    # a quad facing +z with u along +x and glTF v down the image (-y): TANGENT (1, 0, 0, 1); mirrored u: w -1
    pos = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    nrm = np.tile(np.array([0, 0, 1], np.float32), (4, 1))
    idx = np.array([0, 1, 2, 0, 2, 3], np.uint16)
    for uv, want in ((np.array([[0, 1], [1, 1], [1, 0], [0, 0]], np.float32), [1, 0, 0, 1]),
                     (np.array([[1, 1], [0, 1], [0, 0], [1, 0]], np.float32), [-1, 0, 0, -1])):
        blob = base_png + b"\0" * (-len(base_png) % 4)
        views, accs = list(g["bufferViews"][:1]), []
        for arr, typ, comp in ((pos, "VEC3", 5126), (nrm, "VEC3", 5126), (uv, "VEC2", 5126), (idx, "SCALAR", 5123)):
            views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": arr.nbytes})
            accs.append({"bufferView": len(views) - 1, "componentType": comp, "count": len(arr), "type": typ})
            blob += arr.tobytes() + b"\0" * (-arr.nbytes % 4)
        mesh = {**g, "bufferViews": views, "accessors": accs, "buffers": [{"byteLength": len(blob)}],
                "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2},
                                            "indices": 3, "material": 0}]}]}
        got, b2 = read_glb(with_normal_texture(_glb(mesh, blob), normal))
        from kyara.export.gltf import accessor_array

        tan = accessor_array(got, b2, got["meshes"][0]["primitives"][0]["attributes"]["TANGENT"])
        assert np.allclose(tan, want, atol=1e-6), tan
    with pytest.raises(ValueError, match="not a PNG"):
        with_normal_texture(_glb(g, base_png), b"GIF89a")
    g["textures"][0]["name"] = "atlas"
    with pytest.raises(ValueError, match="no texture named 'painted_base'"):
        with_normal_texture(_glb(g, base_png), normal)


# -- the posed pool on a rigged character ------------------------------------------------------------------
@pytest.fixture(scope="module")
def posed_pool(gl):
    pytest.importorskip("xatlas")
    from test_export_common import synthetic_character

    from kyara.generate.config import ImageConfig
    from kyara.paint.uv import character_atlas
    from kyara.refine.avatar import RefineAvatarConfig, refine_pool

    c = synthetic_character()
    atlas, mesh = character_atlas(c, 64)
    cfg = RefineAvatarConfig(ImageConfig(prompt="a girl", model="tiny", width=48, height=48, seed=0),
                             RefineConfig(iters=4, shading="toon", posed_fraction=0.5), texture_size=64, pool=3,
                             poses=("wave", "kick"), posed_cameras=2)
    return c, atlas, mesh, cfg, refine_pool(c, atlas, mesh, cfg)


@pytest.mark.slow
def test_posed_pool_renders_posed_geometry_with_posed_skeleton_conditions(posed_pool):
    from kyara.avatar import avatar_pose
    from kyara.paint.buffers import render_buffers
    from kyara.pose.keypoints import body_keypoints, project_keypoints
    from kyara.refine.guidance import pool_conditions

    c, atlas, mesh, cfg, pool = posed_pool
    assert pool.buffers.shape == (7, 48, 48) and pool.posed == 4 and cfg.posed_views == 4
    assert pool.frames is not None and np.array_equal(pool.frames.visible, pool.buffers.visible)
    assert [g[0] for g in pool.groups] == ["stand", "wave", "kick"]
    assert cfg.schedule()["pool"] == [7, 48, 48] and cfg.schedule()["posed_views"] == 4
    rest_pose = avatar_pose("stand", c.body)
    rest = c.pose(rest_pose, mesh)[0]
    part = np.minimum(mesh["part_id"], 254).astype(np.int64)
    groups = [(g[1], g[2].cameras, g[3]) for g in pool.groups]
    conds = pool_conditions(c, ["openpose"], groups, mesh)["openpose"]
    assert conds.shape == (7, 48, 48, 3)
    k = 3
    for name, pose, views, verts in pool.groups[1:]:
        cams = list(views.cameras)
        # the posed views' buffers are those of the posed mesh (posed independently here), not the rest pose's
        want = render_buffers(atlas, c.pose(avatar_pose(name, c.body), mesh)[0], cams, part)
        got = pool.buffers.visible[k:k + len(cams)]
        assert np.array_equal(got, want.visible)
        still = render_buffers(atlas, rest, cams, part).visible
        assert np.all((got != still).sum(axis=(1, 2)) > 5), name  # the pose moved the silhouette
        # the OpenPose condition is the posed skeleton's: drawn pixels at its projected keypoints,
        # and not the rest pose's image from the same camera
        rest_cond = pool_conditions(c, ["openpose"], [(rest_pose, cams, rest)], mesh)["openpose"]
        kp = body_keypoints(c.body, pose.rotations, pose.translation)
        for j, cam in enumerate(cams):
            img = conds[k + j]
            assert not np.array_equal(img, rest_cond[j]), name
            p2 = project_keypoints(kp, cam)
            pts = [(x, y) for x, y, s in np.asarray(p2.body) if s > 0]
            hits = [img[max(0, int(y) - 2):int(y) + 3, max(0, int(x) - 2):int(x) + 3].max() > 0 for x, y in pts]
            assert np.mean(hits) > 0.6, (name, j, np.mean(hits))
        k += len(cams)


@pytest.mark.slow
def test_normal_views_and_progress_frames_on_the_posed_pool(posed_pool):
    from kyara.refine.optimize import make_pool, render_pool
    from kyara.refine.outputs import normal_views, progress_frame

    c, atlas, mesh, cfg, pool = posed_pool
    _, _, views, verts = pool.groups[0]
    cams = list(views.cameras)[:2]
    flat = torch.tensor([0.5, 0.5, 1.0]).reshape(3, 1, 1).expand(3, 16, 16)
    img = normal_views(atlas, verts, cams, flat, background=(0, 0, 0))
    vis = pool.buffers.visible[:2]
    assert img.shape == (2, 48, 48, 3) and np.all(img[~vis] == 0)
    # a flat normal map: camera-space z of the surface normal ~ its cosine to the camera
    z = img[..., 2].astype(np.float64) / 255.0 * 2 - 1
    assert np.abs(z[vis] - pool.buffers.cosine[:2][vis]).mean() < 0.08
    tilted = flat.clone()
    tilted[0] = 0.9
    moved = np.abs(normal_views(atlas, verts, cams, tilted).astype(int) - normal_views(atlas, verts, cams, flat))
    assert moved[vis].mean() > 20 and moved[~vis].max() == 0  # normals leaning along +u, background unchanged
    p = make_pool(pool.buffers, pool.frames)
    tex = torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))
    strip = progress_frame(tex, flat, p, cfg.refine)
    assert strip.shape == (48, 7 * 48, 3)
    want = render_pool(tex, flat, p, torch.arange(7), cfg.refine)[2].permute(1, 2, 0).numpy()
    assert np.abs(strip[:, 96:144].astype(float) / 255 - want).max() <= 0.5 / 255 + 1e-6
