"""kyara.refine.guidance: the tiny diffusion model guides one refinement step."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("xatlas")

from test_export_common import synthetic_character  # noqa: E402


def _setup():
    from kyara.avatar import avatar_pose
    from kyara.generate.config import ControlSpec, ImageConfig
    from kyara.paint.buffers import render_buffers
    from kyara.paint.uv import character_atlas
    from kyara.refine.avatar import initial_texture
    from kyara.refine.guidance import load_guidance
    from kyara.refine.optimize import refine_cameras

    c = synthetic_character()
    atlas, mesh = character_atlas(c, 64)
    pose = avatar_pose("stand", c.body)
    verts = c.pose(pose, mesh)[0]
    views = refine_cameras(verts, 3, (64, 64), seed=0)
    buf = render_buffers(atlas, verts, views.cameras, np.minimum(mesh["part_id"], 254).astype(np.int64))
    img = ImageConfig(prompt="a girl in a red dress", model="tiny", width=64, height=64, seed=0,
                      controlnets=(ControlSpec("openpose", "tiny"),))
    g = load_guidance(c, img, pose, views, mesh, verts)
    return g, buf, initial_texture(atlas, mesh, 64)[0], views


@pytest.mark.slow
def test_guidance_one_step_changes_the_texture_deterministically():
    import torch

    from kyara.refine.optimize import RefineConfig, refine_texture

    g, buf, init, views = _setup()
    assert len(g.prompts) == 3 and all(" view of a girl in a red dress" in p for p in g.prompts)
    assert g.conditions["openpose"].shape == (3, 64, 64, 3) and g.conditions["openpose"].max() > 0
    z = g.encoder(torch.full((2, 3, 64, 64), 0.5, requires_grad=True))
    assert z.shape == (2, 4, 8, 8) and z.requires_grad
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    e0 = g.predictor(x, torch.tensor([500, 500]), torch.tensor([0, 1]))
    assert e0.shape == x.shape and torch.isfinite(e0).all()
    assert not torch.allclose(e0[0], e0[1])  # each view's own prompt and OpenPose condition
    assert torch.allclose(e0[0], g.predictor(x[:1], torch.tensor([500]), torch.tensor([0]))[0], atol=1e-5)
    # the batched predictor (one U-Net call, per-row timesteps) equals the per-row reference
    x4 = torch.randn(4, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    t4, v4 = torch.tensor([20, 500, 979, 500]), torch.tensor([2, 0, 1, 0])
    fast, ref = g.predictor(x4, t4, v4), g.reference(x4, t4, v4)
    assert torch.allclose(fast, ref, atol=1e-4, rtol=1e-4), (fast - ref).abs().max()
    cfg = RefineConfig(iters=1, views_per_iter=2, lr=0.05, seed=3)
    a = refine_texture(init, buf, g.predictor, g.encoder, cfg).texture
    b = refine_texture(init, buf, g.predictor, g.encoder, cfg).texture
    assert torch.equal(a, b)  # deterministic for a seed
    changed = (a - torch.as_tensor(init)).abs()
    assert changed.max() > 1e-3  # one step moved the texels the views see
    other = RefineConfig(iters=1, views_per_iter=2, lr=0.05, seed=4)
    c = refine_texture(init, buf, g.predictor, g.encoder, other).texture
    assert not torch.equal(a, c)
