"""kyara.gaussians: the rasteriser (finite differences, per-pixel reference, gsplat on a GPU), the
triangle binding under a posed skin, the PLY file and the bake fallback."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kyara.gaussians.rasterize import (camera_tensors, composite_over, gsplat_available,  # noqa: E402
                                       project_gaussians, rasterize_gaussians, rasterize_reference)
from kyara.render.camera import perspective  # noqa: E402


def _scene(n=4, seed=0, dtype=torch.float64, size=(12, 10)):
    g = torch.Generator().manual_seed(seed)
    means = torch.rand(n, 3, generator=g, dtype=dtype) * 0.3 - 0.15
    quats = torch.randn(n, 4, generator=g, dtype=dtype)
    scales = torch.rand(n, 3, generator=g, dtype=dtype) * 0.05 + 0.03
    opac = torch.rand(n, generator=g, dtype=dtype) * 0.5 + 0.3
    colors = torch.rand(n, 3, generator=g, dtype=dtype)
    cam = perspective((0.1, 0.2, 1.0), (0, 0, 0), size=size, fovy_deg=40.0)
    vm, k = camera_tensors(cam, dtype=dtype)
    return [means, quats, scales, opac, colors], vm, k, cam


def test_projection_follows_the_camera_and_the_tiles_equal_the_per_pixel_reference():
    params, vm, k, cam = _scene(n=6, seed=1)
    proj = project_gaussians(*params[:4], vm, k, cam.width, cam.height)
    px, depth = cam.project(params[0].numpy())
    np.testing.assert_allclose(proj.means2d.numpy(), px, atol=1e-9)
    np.testing.assert_allclose(proj.depths.numpy(), depth, atol=1e-12)
    zs = torch.full((cam.height, cam.width), 1.0, dtype=torch.float64)
    zs[:, :5] = float("inf")
    for surface in (None, zs):
        fast = rasterize_gaussians(*params, vm, k, cam.width, cam.height, surface_depth=surface, tile=4,
                                   max_chunk_elems=200)
        ref = rasterize_reference(*params, vm, k, cam.width, cam.height, surface_depth=surface)
        for a, b in ((fast.color, ref.color), (fast.alpha, ref.alpha), (fast.depth, ref.depth)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
    assert float(fast.alpha.max()) > 0.3 and float(ref.alpha.min()) < 0.05


def test_gradients_match_finite_differences():
    params, vm, k, cam = _scene(n=3, seed=2, size=(8, 7))
    zs = torch.full((cam.height, cam.width), 1.05, dtype=torch.float64)
    zs[:, :4] = float("inf")
    wr = torch.rand(cam.height, cam.width, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    wa = torch.rand(cam.height, cam.width, generator=torch.Generator().manual_seed(6), dtype=torch.float64)

    def f(*p):
        out = rasterize_gaussians(*p, vm, k, cam.width, cam.height, surface_depth=zs, depth_softness=0.05, tile=4)
        return (out.color * wr).sum() + (out.alpha * wa).sum() + 0.1 * (out.depth * wa).sum()

    # no pixel sits at the 1/255 cut-off or the 0.99 clamp (both are kinks); gradcheck in float64
    for p in params:
        p.requires_grad_(True)
    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-6, rtol=1e-4)


def test_composite_over_hides_gaussians_behind_the_surface():
    params, vm, k, cam = _scene(n=5, seed=3)
    base = torch.full((cam.height, cam.width, 3), 0.25, dtype=torch.float64)
    near = torch.full((cam.height, cam.width), 0.3, dtype=torch.float64)  # a wall in front of everything
    far = torch.full((cam.height, cam.width), 50.0, dtype=torch.float64)  # a wall behind everything
    hidden = rasterize_gaussians(*params, vm, k, cam.width, cam.height, surface_depth=near)
    shown = rasterize_gaussians(*params, vm, k, cam.width, cam.height, surface_depth=far)
    free = rasterize_gaussians(*params, vm, k, cam.width, cam.height)
    assert float(hidden.alpha.max()) < 1e-6
    np.testing.assert_allclose(composite_over(hidden, base).numpy(), base.numpy(), atol=1e-6)
    np.testing.assert_allclose(shown.color.numpy(), free.color.numpy(), atol=1e-9)


@pytest.mark.skipif(not (torch.cuda.is_available() and gsplat_available()), reason="needs CUDA and gsplat")
def test_gsplat_matches_the_torch_rasteriser_forward_and_backward():
    params, vm, k, cam = _scene(n=200, seed=4, dtype=torch.float32, size=(64, 48))
    params = [p.cuda().requires_grad_(True) for p in params]
    vm, k = vm.cuda(), k.cuda()
    outs, grads = [], []
    for backend in ("torch", "gsplat"):
        out = rasterize_gaussians(*params, vm, k, cam.width, cam.height, backend=backend)
        (out.color.sum() + out.alpha.sum()).backward()
        outs.append(out)
        grads.append([p.grad.clone() for p in params])
        for p in params:
            p.grad = None
    assert torch.allclose(outs[0].color, outs[1].color, atol=2e-2)
    assert torch.allclose(outs[0].alpha, outs[1].alpha, atol=2e-2)
    for a, b in zip(*grads):
        cos = torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0)
        assert float(cos) > 0.95, float(cos)


# -- binding --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def body():
    from kyara.body.model import build_body
    from kyara.cli.common import body_params

    return build_body(body_params("teen-girl", None, None, []))


def test_a_bound_gaussian_follows_its_triangle_under_a_posed_skin(body):
    from kyara.gaussians.binding import bound_gaussians, pose_mesh
    from kyara.pose.lbs import forward_kinematics, skinning_transforms
    from kyara.pose.presets import get_pose

    pose = get_pose("kung-fu", body.params)
    rng = np.random.default_rng(0)
    # triangles whose corners follow different bones (elbows, knees, shoulders): where the shortcut fails
    mixed = np.flatnonzero([len(set(body.joint_indices[f][body.joint_weights[f] > 0.05].tolist())) >= 3
                            for f in body.faces])
    tris = rng.choice(mixed, 64, replace=False)
    bary = rng.dirichlet((1, 1, 1), 64)
    offs = rng.normal(0, 0.03, (64, 3))
    local = torch.as_tensor(rng.normal(size=(64, 4)))
    got, quats = bound_gaussians(torch.as_tensor(pose_mesh(body, pose), dtype=torch.float64),
                                 torch.as_tensor(body.faces, dtype=torch.int64), torch.as_tensor(tris),
                                 torch.as_tensor(bary), torch.as_tensor(offs), local)
    # by hand: skin the triangle's three corners (sum_j w_j (R_j v + t_j)), rebuild the frame, add the offset
    from kyara.body.skeleton import PARENTS

    from kyara.pose.rotations import quat_to_matrix

    g_rot, g_pos = forward_kinematics(quat_to_matrix(pose.rotations), pose.translation, body.rest_joints, PARENTS)
    a = skinning_transforms(g_rot, g_pos, body.rest_joints)  # [J, 3, 4]

    def skin(vi):
        return sum(w * (a[j, :, :3] @ body.vertices[vi].astype(np.float64) + a[j, :, 3])
                   for j, w in zip(body.joint_indices[vi], body.joint_weights[vi]))

    def place(p0, p1, p2, l, o):
        t = (p1 - p0) / np.linalg.norm(p1 - p0)
        n = np.cross(p1 - p0, p2 - p0)
        n /= np.linalg.norm(n)
        return l[0] * p0 + l[1] * p1 + l[2] * p2 + o[0] * t + o[1] * np.cross(n, t) + o[2] * n

    want = np.array([place(*(skin(v) for v in body.faces[f]), bary[i], offs[i]) for i, f in enumerate(tris)])
    err = np.linalg.norm(got.numpy() - want, axis=1)
    assert err.max() <= 1e-5, err.max()
    # the Gaussian's axes turn with the triangle: world rotation = [e_t e_b e_n] of the skinned corners @ local
    from kyara.gaussians.rasterize import quat_to_rotmat

    for i, f in enumerate(tris[:8]):
        p0, p1, p2 = (skin(v) for v in body.faces[f])
        t = (p1 - p0) / np.linalg.norm(p1 - p0)
        n = np.cross(p1 - p0, p2 - p0)
        n /= np.linalg.norm(n)
        frame = np.stack([t, np.cross(n, t), n], axis=1)
        np.testing.assert_allclose(quat_to_rotmat(quats[i:i + 1])[0].numpy(),
                                   frame @ quat_to_rotmat(local[i:i + 1])[0].numpy(), atol=1e-5)
    # the shortcut (skin the rest position with interpolated weights) is NOT the same
    dense = body.weights_dense().astype(np.float64)
    shortcut = []
    for i, f in enumerate(tris):
        rest = place(*(body.vertices[v].astype(np.float64) for v in body.faces[f]), bary[i], offs[i])
        w = bary[i] @ dense[body.faces[f]]
        shortcut.append(sum(w[j] * (a[j, :, :3] @ rest + a[j, :, 3]) for j in np.flatnonzero(w)))
    assert np.linalg.norm(np.array(shortcut) - want, axis=1).max() > 1e-3


# -- layer, file, bake --------------------------------------------------------------------------------
def _tetra():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int64)
    return v, f


def test_seed_densify_and_prune():
    from kyara.gaussians.layer import GaussianConfig, densify_and_prune, layer_world, seed_layer

    v, f = _tetra()
    cfg = GaussianConfig(count=400, seed=3, grad_threshold=1.0, split_scale=0.05, prune_opacity=0.05)
    lay = seed_layer(v, f, cfg)
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    share = np.bincount(lay.triangles.numpy(), minlength=4) / 400
    np.testing.assert_allclose(share, area / area.sum(), atol=0.07)  # area-weighted
    means = layer_world(lay, torch.as_tensor(v), f)[0].double().numpy()
    # on the surface: inside the tetrahedron's faces (x, y, z >= 0 and x + y + z <= 1)
    assert means.min() >= -1e-6 and (means.sum(1) <= 1 + 1e-6).all()
    assert torch.equal(seed_layer(v, f, cfg).barycentrics, lay.barycentrics)
    # 4 rows: faint (pruned), big + strong (split in two), small + strong (cloned), weak (kept)
    sub = lay.select(torch.arange(4))
    sub.opacity_logits[:] = torch.tensor([-5.0, 0.0, 0.0, 0.0])
    sub.log_scales[:] = torch.log(torch.tensor([[0.01] * 3, [0.2] * 3, [0.01] * 3, [0.01] * 3]))
    out = densify_and_prune(sub, torch.tensor([5.0, 5.0, 5.0, 0.5]), cfg, torch.Generator().manual_seed(0))
    assert len(out) == 5  # 4 - 1 pruned - 1 split + 2 children + 1 clone
    s = out.log_scales.exp()[:, 0]
    assert int((torch.abs(s - 0.2 / 1.6) < 1e-6).sum()) == 2 and int((torch.abs(s - 0.01) < 1e-7).sum()) == 3


def test_ply_round_trip_and_bad_files(tmp_path):
    from kyara.gaussians.io import check_layer_mesh, read_layer, write_layer
    from kyara.gaussians.layer import GaussianConfig, layer_world, seed_layer

    v, f = _tetra()
    lay = seed_layer(v, f, GaussianConfig(count=50, seed=1))
    g = torch.Generator().manual_seed(0)
    for name in lay.PARAMS:
        getattr(lay, name).add_(0.1 * torch.randn(getattr(lay, name).shape, generator=g))
    lay.colors.clamp_(0, 1)
    p = write_layer(tmp_path / "gaussians.ply", lay, v, f)
    back = read_layer(p)
    assert back.signature == lay.signature and torch.equal(back.triangles, lay.triangles)
    for name in ("barycentrics",) + lay.PARAMS:
        np.testing.assert_allclose(getattr(back, name).numpy(), getattr(lay, name).numpy(), atol=1e-6)
    # the standard properties a 3DGS viewer reads: world means and rotations
    raw = p.read_bytes()
    body = raw[raw.index(b"end_header\n") + 11:]
    rec = np.frombuffer(body, dtype=np.dtype([("xyz", "<f4", 3), ("rest", "<f4", 11), ("bind", "<i4"),
                                              ("b", "<f4", 10)]))
    np.testing.assert_allclose(rec["xyz"], layer_world(lay, torch.as_tensor(v), f)[0].detach().numpy(), atol=1e-6)
    check_layer_mesh(back, f, len(v))
    with pytest.raises(ValueError, match="bound to mesh"):
        check_layer_mesh(back, f[:3], len(v))
    bad = {"missing.ply": None, "trunc.ply": raw[:-7], "plain.ply": raw.replace(b"binding_", b"bounding_"),
           "text.ply": b"ply\nformat ascii 1.0\nend_header\n", "junk.ply": b"\x00" * 64}
    for name, data in bad.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError) as exc:
            read_layer(tmp_path / name)
        assert "\n" not in str(exc.value) and name in str(exc.value)


def test_bake_vertex_colors_by_hand():
    from kyara.gaussians.io import bake_vertex_colors
    from kyara.gaussians.layer import GaussianConfig, seed_layer

    v, f = _tetra()
    lay = seed_layer(v, f, GaussianConfig(count=2, seed=0))
    lay.triangles[:] = torch.tensor([0, 0])  # face (0, 2, 1)
    lay.barycentrics[:] = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    lay.opacity_logits[:] = torch.logit(torch.tensor([0.6, 0.8]))
    lay.colors[:] = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    base = np.full((4, 3), 0.5)
    out = bake_vertex_colors(lay, base, f)
    # vertex 0: weights 0.6 (red) + 0.4 (blue) = 1.0 -> mean colour (0.6, 0, 0.4); vertex 2: 0.4 of blue
    np.testing.assert_allclose(out[0], [0.6, 0.0, 0.4], atol=1e-6)
    np.testing.assert_allclose(out[2], 0.6 * 0.5 + 0.4 * np.array([0.0, 0.0, 1.0]), atol=1e-6)
    np.testing.assert_allclose(out[[1, 3]], base[[1, 3]])


def test_benchmark_iteration_runs():
    from kyara.gaussians.bench import time_iterations

    row = time_iterations(300, 32, iters=1)
    assert row["it_per_s"] > 0 and row["n"] == 300 and row["device"] == "cpu"


def test_refine_stage_options():
    import argparse

    from kyara.refine.gaussian_stage import add_cli_options, from_args

    parser = argparse.ArgumentParser()
    add_cli_options(parser)
    assert from_args(parser.parse_args([])) is None  # --gaussians 0: no stage
    opt = from_args(parser.parse_args(["--gaussians", "5000", "--no-gaussian-densify", "--gaussian-seed", "3",
                                       "--gaussian-iters", "50"]))
    cfg = opt.config
    assert cfg.count == 5000 and not cfg.densify and cfg.seed == 3 and cfg.prune and opt.iters == 50
    assert not from_args(argparse.Namespace(gaussians=10, gaussian_prune_opacity=0.0)).config.prune
    for bad in (["--gaussians", "-1"], ["--gaussians", "10", "--gaussian-prune-opacity", "1.5"],
                ["--gaussians", "10", "--gaussian-iters", "0"]):
        with pytest.raises(ValueError, match="--gaussian"):
            from_args(parser.parse_args(bad))


def test_world_rotation_is_the_triangle_frame_times_the_local_one():
    from kyara.gaussians.binding import quat_multiply, rotmat_to_quat, triangle_frames
    from kyara.gaussians.rasterize import quat_to_rotmat

    g = torch.Generator().manual_seed(0)
    q = torch.randn(500, 4, generator=g, dtype=torch.float64)
    q[:4] = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])  # 180-degree turns
    r = quat_to_rotmat(q)
    np.testing.assert_allclose(quat_to_rotmat(rotmat_to_quat(r)).numpy(), r.numpy(), atol=1e-12)
    p = torch.randn(500, 4, generator=g, dtype=torch.float64)
    np.testing.assert_allclose(quat_to_rotmat(quat_multiply(p, q)).numpy(), (quat_to_rotmat(p) @ r).numpy(),
                               atol=1e-12)
    v, f = _tetra()
    _, frames = triangle_frames(torch.as_tensor(v), torch.as_tensor(f))
    eye = torch.eye(3, dtype=torch.float64).expand(4, 3, 3)
    np.testing.assert_allclose((frames.transpose(1, 2) @ frames).numpy(), eye.numpy(), atol=1e-12)
    np.testing.assert_allclose(torch.linalg.det(frames).numpy(), 1.0, atol=1e-12)
    np.testing.assert_allclose(frames[3, :, 2].numpy(), np.ones(3) / np.sqrt(3), atol=1e-12)  # outward normal


def test_optimize_layer_per_view_poses_and_densification():
    from kyara.gaussians.layer import GaussianConfig, optimize_layer, seed_layer
    from kyara.refine.optimize import RefineConfig
    from kyara.refine.sds import alphas_cumprod

    v, f = _tetra()
    cams = [perspective((0.3, 0.3, 2.0), (0.3, 0.3, 0.3), size=(24, 24)),
            perspective((2.0, 0.3, 0.3), (0.3, 0.3, 0.3), size=(24, 24))]
    poses = np.stack([v, v + [0.05, 0.0, 0.0]])  # [M, V, 3]: one pose per view
    base = torch.full((2, 24, 24, 3), 0.5)
    depth = torch.full((2, 24, 24), float("inf"))
    acp = alphas_cumprod()

    def white(x_t, t, view):  # the noise that maps x_t to an all-white view
        a = acp[t].reshape(-1, 1, 1, 1)
        return (x_t - a.sqrt()) / (1 - a).sqrt()

    cfg = GaussianConfig(count=50, densify=True, densify_from=2, densify_every=2, grad_threshold=0.0, max_count=80)
    lay = seed_layer(v, f, cfg)
    res = optimize_layer(lay, poses, f, cams, base, depth, white, refine=RefineConfig(iters=4, views_per_iter=2),
                         config=cfg)
    assert 50 < len(res.layer) <= 80 and res.counts[-1] == len(res.layer) and len(res.history) == 2
    assert float(torch.sigmoid(res.layer.opacity_logits).mean()) > float(torch.sigmoid(lay.opacity_logits).mean())
    with pytest.raises(ValueError, match="vertices have shape"):
        optimize_layer(lay, np.stack([v] * 3), f, cams, base, depth, white, refine=RefineConfig(iters=1))
    with pytest.raises(ValueError, match="bound to mesh"):
        optimize_layer(lay, v, f[:3], cams, base, depth, white, refine=RefineConfig(iters=1))


def test_bake_texture_by_hand():
    from kyara.gaussians.io import bake_texture
    from kyara.gaussians.layer import GaussianConfig, seed_layer

    v, f = _tetra()
    lay = seed_layer(v, f, GaussianConfig(count=1, seed=0))
    lay.triangles[:] = 1  # face (0, 1, 3): world (0,0,0), (1,0,0), (0,0,1), area 0.5
    lay.barycentrics[:] = torch.tensor([[0.125, 0.5625, 0.3125]], dtype=torch.float64)
    lay.opacity_logits[:] = torch.logit(torch.tensor([0.999]))
    lay.colors[:] = torch.tensor([[1.0, 0.0, 0.0]])
    lay.log_scales[:] = float(np.log(1e-4))  # far below a texel: sigma clamps to half a texel
    uv = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]])  # vertex 3 at (0, 0.5)
    tex = np.full((16, 16, 3), 0.5)
    out = bake_texture(lay, tex, uv, f, v, f)
    # UV = 0.5625 (0.5, 0) + 0.3125 (0, 0.5) = (0.28125, 0.15625) -> texel-centre units (4, 2): column 4, row 2;
    # sigma 0.5 texel, cut at 2 sigma = 1 texel: the centre (weight 0.999) and its 4 neighbours (0.999 e^-2)
    changed = {tuple(x) for x in np.argwhere(np.abs(out - tex).max(-1) > 1e-6).tolist()}
    assert changed == {(2, 4), (1, 4), (3, 4), (2, 3), (2, 5)}, changed
    red = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[2, 4], 0.001 * 0.5 + 0.999 * red, atol=1e-5)
    g = 0.999 * np.exp(-2.0)
    np.testing.assert_allclose(out[1, 4], (1 - g) * 0.5 + g * red, atol=1e-5)
