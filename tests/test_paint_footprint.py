"""kyara.paint.bake.FootprintViews: latent views projected with nearest sampling, baked through the
full-size footprint, synchronize where latent-size maps alone do not (toy mesh, hallucinating stand-in)."""

from __future__ import annotations

import numpy as np
import pytest

from test_paint import Hallucinator, smooth_texture, toy_mesh


def _view_psnr(result, maps, target) -> float:
    render = Hallucinator(maps, target).render
    vis = np.repeat(maps.visible.reshape(maps.shape)[:, None], render.shape[1], axis=1)
    return float(10 * np.log10(1.0 / np.mean((result.views - render)[vis] ** 2)))


def test_footprint_bake_synchronizes_latent_views(gl):
    pytest.importorskip("xatlas")
    from kyara.paint.backend import auto_latent_size
    from kyara.paint.bake import footprint_views, texture_views
    from kyara.paint.buffers import render_buffers
    from kyara.paint.cameras import paint_cameras
    from kyara.paint.sync import SyncConfig, sync_paint
    from kyara.paint.uv import build_atlas, texel_faces

    v, f, part = toy_mesh()
    atlas = build_atlas(v, f, 256)
    lat = render_buffers(atlas, v, paint_cameras(v, (16, 16), seed=0).cameras, part)
    full = render_buffers(atlas, v, paint_cameras(v, (128, 128), seed=0).cameras, part)
    size = auto_latent_size(int(lat.visible.sum()), float((texel_faces(atlas)[0] >= 0).mean()), 256)
    assert 16 <= size <= 48 and size % 8 == 0
    target, inside = smooth_texture(atlas, v, size)
    fp = footprint_views(lat, full, size)
    assert fp.matrix.shape == (len(fp.pixels), len(fp.texels)) == fp.matrix_t.T.shape
    assert np.allclose(fp.matrix.sum(axis=1), 1.0)  # nearest: one texel per latent pixel
    # every texel a pixel reads is baked (its own pixel at least): no read texel without a value
    read = np.unique(fp.matrix.nonzero()[1])
    assert np.all(np.asarray(fp.matrix_t.sum(axis=1)).ravel()[read] > 0)
    sync = sync_paint(fp, Hallucinator(fp, target), 3, SyncConfig(steps=30, seed=0), chart_texels=inside)
    naive = sync_paint(fp, Hallucinator(fp, target), 3, SyncConfig(steps=30, sync=False, seed=0), chart_texels=inside)
    alone = texture_views(lat, size, "nearest")
    latent_only = sync_paint(alone, Hallucinator(alone, target), 3, SyncConfig(steps=30, seed=0), chart_texels=inside)
    assert _view_psnr(sync, fp, target) >= 30  # every view drops what it alone invented
    assert _view_psnr(naive, fp, target) < 20
    assert _view_psnr(latent_only, alone, target) < 20  # latent-size maps alone barely couple the views
    assert sync.shared_texels > 5 * max(latent_only.shared_texels, 1)


def test_footprint_shapes_are_checked(gl):
    pytest.importorskip("xatlas")
    from kyara.paint.bake import footprint_views
    from kyara.paint.buffers import render_buffers
    from kyara.paint.cameras import paint_cameras
    from kyara.paint.uv import build_atlas

    v, f, part = toy_mesh()
    atlas = build_atlas(v, f, 64)
    lat = render_buffers(atlas, v, paint_cameras(v, (16, 16), seed=0).cameras, part)
    with pytest.raises(ValueError, match="full-size buffers"):
        footprint_views(lat, lat, 32)


def test_footprint_bake_equals_the_loop_reference(gl):
    pytest.importorskip("xatlas")
    from kyara.paint.bake import footprint_bake_reference, footprint_views
    from kyara.paint.buffers import render_buffers
    from kyara.paint.cameras import PaintCameraConfig, paint_cameras
    from kyara.paint.uv import build_atlas

    v, f, part = toy_mesh()
    atlas = build_atlas(v, f, 64)
    cfg = PaintCameraConfig(around=3, high=0)
    lat = render_buffers(atlas, v, paint_cameras(v, (8, 8), seed=0, config=cfg).cameras, part)
    full = render_buffers(atlas, v, paint_cameras(v, (32, 32), seed=0, config=cfg).cameras, part)
    fp = footprint_views(lat, full, 24, factor=4)
    views = np.random.default_rng(3).normal(size=lat.shape + (2,))
    for power in (0.0, 3.0):
        fast = fp.bake(views, power)
        ref = footprint_bake_reference(lat, full, views, 24, power, factor=4)
        assert np.allclose(fast.weight, ref.weight, atol=1e-5) and np.allclose(fast.texture, ref.texture, atol=1e-5)
