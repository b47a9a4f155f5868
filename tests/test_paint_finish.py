"""kyara.paint.finish: per-island palettes, painted shadows merged, unseen texels filled, gutters padded."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.paint.finish import FinishConfig, anime_finish, fill_reference, kmeans


def _scene(seed: int = 0, size: int = 48):
    """Two islands (parts 3 and 7) in two rectangles, noisy colours, a third of each island unseen,
    and part 9 that no view saw; everything else is gutter."""
    rng = np.random.default_rng(seed)
    island = np.full((size, size), -1, np.int32)
    island[2:20, 2:30] = 3
    island[24:44, 5:40] = 7
    island[40:46, 42:47] = 9
    tex = rng.uniform(0, 1, (size, size, 3)).astype(np.float32)
    weight = rng.uniform(0.1, 1, (size, size)).astype(np.float32)
    weight[:, :12] = 0  # unseen columns cut through both islands
    weight[island == 9] = 0
    weight[island < 0] = 0
    tex[weight == 0] = 0  # as the bake leaves them
    return tex, weight, island


def test_each_island_uses_at_most_the_palette():
    tex, w, isl = _scene()
    out = anime_finish(tex, w, isl, {9: (0.2, 0.4, 0.6)}, FinishConfig(palette=5))
    for part in (3, 7, 9):
        colours = np.unique(out.texture[isl == part], axis=0)
        assert len(colours) <= 5, (part, len(colours))
        assert {tuple(c) for c in colours} <= {tuple(c) for c in out.palettes[part]}


def test_unseen_texels_are_filled_from_their_own_island():
    tex, w, isl = _scene()
    out = anime_finish(tex, w, isl, {9: (0.2, 0.4, 0.6)}, FinishConfig(palette=4, albedo=False))
    assert out.filled == int(((w == 0) & (isl >= 0)).sum())
    for part in (3, 7):
        own = {tuple(c) for c in out.palettes[part]}
        hole = (isl == part) & (w == 0)
        assert hole.any()
        assert all(tuple(c) in own for c in out.texture[hole])  # never another island's colour
    assert np.all(out.texture[isl == 9] == np.round(np.array([0.2, 0.4, 0.6]) * 255))  # the part's colour
    assert np.all(out.texture[isl >= 0].max(axis=-1) > 0)  # no black holes
    # gutters take the nearest chart texel: no background black next to a chart either
    assert np.all(out.texture.reshape(-1, 3).max(axis=-1) > 0)


def test_fill_equals_the_loop_reference():
    from kyara.paint.finish import _nearest_fill

    rng = np.random.default_rng(1)
    vals = rng.integers(1, 255, (24, 20, 3)).astype(np.uint8)
    known = rng.uniform(size=(24, 20)) < 0.2
    target = ~known
    fast = vals.copy()
    _nearest_fill(fast, known, target)
    ref = fill_reference(vals, known, target)
    # ties between equally near texels may resolve differently; distances must agree exactly
    kj, ki = np.nonzero(known)
    for j, i in zip(*np.nonzero(target)):
        d = (kj - j) ** 2 + (ki - i) ** 2
        near = {tuple(vals[a, b]) for a, b in zip(kj[d == d.min()], ki[d == d.min()])}
        assert tuple(fast[j, i]) in near and tuple(ref[j, i]) in near


def test_painted_shadow_merges_into_its_lit_colour():
    isl = np.full((16, 16), 0, np.int32)
    tex = np.zeros((16, 16, 3), np.float32)
    lit, dark, other = np.array([0.9, 0.3, 0.3]), np.array([0.9, 0.3, 0.3]) * 0.7, np.array([0.1, 0.6, 0.2])
    tex[:, :8], tex[:, 8:12], tex[:, 12:] = lit, dark, other
    w = np.ones((16, 16), np.float32)
    on = anime_finish(tex, w, isl, {}, FinishConfig(palette=4))
    off = anime_finish(tex, w, isl, {}, FinishConfig(palette=4, albedo=False))
    assert len(np.unique(off.texture.reshape(-1, 3), axis=0)) == 3
    got = np.unique(on.texture.reshape(-1, 3), axis=0)
    assert len(got) == 2  # the shadow became the lit red; the green (another colour) stayed
    assert np.all(on.texture[:, 8:12] == on.texture[:, :8][:, :4])


def test_kmeans_is_deterministic_and_exact_on_separated_clusters():
    rng = np.random.default_rng(2)
    centres = np.array([[10, 10, 10], [200, 30, 30], [30, 200, 30]], float)
    x = np.concatenate([c + rng.normal(0, 1, (50, 3)) for c in centres])
    c1, l1 = kmeans(x, np.ones(len(x)), 3)
    c2, l2 = kmeans(x, np.ones(len(x)), 3)
    assert np.array_equal(c1, c2) and np.array_equal(l1, l2)
    assert np.abs(np.sort(c1, axis=0) - np.sort(centres, axis=0)).max() < 1.0
    assert len(np.unique(l1[:50])) == 1 and len(np.unique(l1)) == 3


def test_bad_inputs_name_the_value():
    tex, w, isl = _scene()
    with pytest.raises(ValueError, match="do not match"):
        anime_finish(tex[:10], w, isl, {})
    with pytest.raises(ValueError, match="palette 65"):
        FinishConfig(palette=65)
