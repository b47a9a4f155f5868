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
