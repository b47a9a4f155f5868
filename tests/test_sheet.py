"""kyara.sheet: CoNR's crop convention, the nearest-UDP lookup and the baselines B0, B1, B2.

Data: a tiny ``kyara dataset sheets`` (2 characters, 4 references and 4 targets each, 64 px),
made once per session by :func:`sheet_data` (other sheet test files import the fixture).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kyara.sheet.prep import premultiply, square_box, straight_uint8


_MADE: dict = {}  # the files importing the fixture share one dataset per test session


@pytest.fixture(scope="session")
def sheet_data(tmp_path_factory, gl):
    """The dataset folder and its samples (each with ``refs``)."""
    from kyara.dataset import DatasetConfig, write_dataset
    from kyara.dataset.reader import iter_samples

    if "data" not in _MADE:
        folder = tmp_path_factory.mktemp("sheets") / "data"
        write_dataset(DatasetConfig(kind="sheets", count=8, per_character=4, size=64, seed=5, refs=4,
                                    shard_characters=2, splits=(1.0, 0.0, 0.0)), folder, use_ray=False)
        _MADE["data"] = (folder, list(iter_samples(folder, "train")))
    return _MADE["data"]


def views_of(sample):
    from kyara.sheet.lookup import make_view

    return [make_view(premultiply(r["rgba"]), r["udp"], f"ref{k}") for k, r in enumerate(sample["refs"])]


# ---------------------------------------------------------------- CoNR's crop convention

def test_square_box_centres_the_character_and_pads_outside():
    from kyara.sheet.prep import crop_image, crop_udp, paste_back

    m = np.zeros((40, 60), bool)
    m[5:35, 20:30] = True  # 10 wide, 30 tall
    box = square_box(m)
    assert (box.side, box.y0) == (30, 5) and box.x0 == 20 - 10  # centred horizontally
    img = np.zeros((40, 60, 4), np.float32)
    img[m] = (0.2, 0.4, 0.6, 1.0)
    out = crop_image(img, box, 30)
    assert out.shape == (30, 30, 4) and np.allclose(out[:, 10:20], (0.2, 0.4, 0.6, 1.0)) and out[:, :10].max() == 0
    udp = np.zeros((40, 60, 4), np.float32)
    udp[m] = (0.1, 0.5, 0.9, 1.0)
    small = crop_udp(udp, box, 15)  # nearest: values are copied, never blended
    assert set(np.unique(small[..., 0]).tolist()) <= {0.0, np.float32(0.1)}
    back = paste_back(out, box)
    assert back.shape == (40, 60, 4) and np.allclose(back, img)
    edge = np.zeros((20, 20), bool)
    edge[0:20, 0:4] = True  # touches the border: the square reaches outside, zero-padded
    b = square_box(edge)
    assert b.x0 < 0 and b.side == 20
    with pytest.raises(ValueError, match="no foreground"):
        square_box(np.zeros((8, 8)))


def test_straight_and_premultiplied_round_trip_bit_for_bit():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    a[..., 3] = 255
    assert np.array_equal(straight_uint8(premultiply(a)), a)


# ---------------------------------------------------------------- lookup and baselines

def test_b2_copies_colours_bit_for_bit_when_the_target_udp_is_in_a_reference(sheet_data):
    from kyara.sheet.baselines import b2

    _, samples = sheet_data
    s = samples[0]
    views = views_of(s)
    ref = s["refs"][2]
    # the target: reference 2 moved by a few pixels (its UDP values appear exactly in reference 2)
    udp = np.roll(ref["udp"], (3, -5), axis=(0, 1))
    want = np.roll(ref["rgba"], (3, -5), axis=(0, 1))
    out = straight_uint8(b2(views, udp))
    on = udp[..., 3] > 0.5
    assert on.sum() > 200
    assert np.array_equal(out[on][:, :3], want[on][:, :3])  # every colour copied exactly
    assert (out[on][:, 3] == 255).all() and (out[~on] == 0).all()


def test_no_method_depends_on_the_reference_order(sheet_data):
    from kyara.sheet.baselines import BASELINES, run_baseline

    _, samples = sheet_data
    s = samples[1]
    views = views_of(s)
    first = {m: run_baseline(m, views, s["udp"]) for m in BASELINES}
    for perm in itertools.islice(itertools.permutations(range(len(views))), 1, 24, 5):
        for m in BASELINES:
            assert np.array_equal(run_baseline(m, [views[i] for i in perm], s["udp"]), first[m]), (m, perm)


def test_baselines_on_real_targets(sheet_data):
    """Every baseline covers exactly the target mask; B2 is closer to the truth than B0 on seen pixels."""
    from kyara.sheet.baselines import b0, b1, b2
    from kyara.sheet.lookup import correspond

    _, samples = sheet_data
    err = {"b0": [], "b1": [], "b2": []}
    for s in samples:
        views = views_of(s)
        corr = correspond(views, s["udp"])
        truth = premultiply(s["rgba"])
        on = s["udp"][..., 3] > 0.5
        for name, fn in (("b0", lambda: b0(views, s["udp"])), ("b1", lambda: b1(views, s["udp"], corr)),
                         ("b2", lambda: b2(views, s["udp"], corr))):
            out = fn()
            assert out.shape == (64, 64, 4) and out.dtype == np.float32
            assert np.array_equal(out[..., 3] > 0.5, on)
            if corr.seen.any():
                err[name].append(float(np.abs(out[corr.seen, :3] - truth[corr.seen, :3]).mean()))
        assert 0.0 < corr.tau < 0.2
        assert (corr.fill.reshape(-1)[corr.seen.reshape(-1)] == np.flatnonzero(corr.seen)).all()
        unseen = on & ~corr.seen
        if unseen.any() and corr.seen.any():  # an unseen pixel takes a seen pixel's colour
            assert corr.seen.reshape(-1)[corr.fill[unseen]].all()
    assert np.mean(err["b2"]) < np.mean(err["b0"])


def test_bad_udp_and_reference_counts_are_refused():
    from kyara.sheet.lookup import canonical, check_udp, make_view

    with pytest.raises(ValueError, match=r"expected \[H, W, 4\]"):
        check_udp(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="expected floats in"):
        check_udp(np.full((8, 8, 4), 2.0, np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        check_udp(np.full((8, 8, 4), np.nan, np.float32))
    with pytest.raises(ValueError, match="no foreground"):
        make_view(np.zeros((8, 8, 4), np.float32), np.zeros((8, 8, 4), np.float32))
    u = np.zeros((8, 8, 4), np.float32)
    u[2:6, 2:6] = (0.5, 0.5, 0.5, 1.0)
    v = make_view(np.ones((8, 8, 4), np.float32), u)
    with pytest.raises(ValueError, match="expected 1..16"):
        canonical([])
    with pytest.raises(ValueError, match="expected 1..16"):
        canonical([v] * 17)


def test_udp_rounding_past_one_is_clipped_and_real_range_errors_are_refused():
    """Float32 writers round interpolated UDP to 1.0000002: clipped to [0, 1]; a UDP at 1.01 is refused."""
    from kyara.sheet.lookup import check_udp

    u = np.zeros((4, 4, 4), np.float32)
    u[0, 0, 0], u[1, 1, 1] = np.float32(1.0000002), np.float32(-1e-7)
    c = check_udp(u)
    assert c.max() == 1.0 and c.min() == 0.0
    u[0, 0, 0] = 1.01
    with pytest.raises(ValueError, match="1.01"):
        check_udp(u)
