"""CoNR-lite: the warp helpers, B2 at initialisation, order invariance, save/load, a few training steps."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_sheet import sheet_data, views_of  # noqa: E402,F401  (the session's tiny sheets dataset)

TINY = {"size": 64, "widths": [8, 8, 8]}


# ---------------------------------------------------------------- kyara.nn.warp

def test_warp_matches_the_loop_reference_and_pixel_centres_copy_exactly():
    from kyara.nn.warp import identity_grid, pixel_to_grid, warp, warp_reference

    rng = np.random.default_rng(1)
    feat = torch.tensor(rng.random((2, 3, 9, 7)), dtype=torch.float32)
    grid = torch.tensor(rng.uniform(-1.2, 1.2, (2, 5, 6, 2)), dtype=torch.float32)
    got = warp(feat, grid)
    for b in range(2):
        np.testing.assert_allclose(got[b].numpy(), warp_reference(feat[b].numpy(), grid[b].numpy()), atol=1e-5)
    same = warp(feat, identity_grid(2, 9, 7))
    assert torch.allclose(same, feat, atol=1e-6)
    pos = torch.tensor([[[[3.0, 4.0]]]])  # x=3, y=4
    assert torch.allclose(warp(feat[:1], pixel_to_grid(pos, 7, 9))[0, :, 0, 0], feat[0, :, 4, 3], atol=1e-6)


def test_set_fusion_is_order_invariant_for_any_count():
    from kyara.nn.warp import set_mean, set_softmax_fuse

    rng = np.random.default_rng(2)
    for n in (1, 3, 16):
        v = torch.tensor(rng.random((2, n, 4, 5, 5)), dtype=torch.float32)
        lg = torch.tensor(rng.normal(size=(2, n, 5, 5)), dtype=torch.float32)
        perm = torch.randperm(n)
        a, w = set_softmax_fuse(v, lg)
        b, _ = set_softmax_fuse(v[:, perm], lg[:, perm])
        assert torch.allclose(a, b, atol=1e-6) and torch.allclose(w.sum(1), torch.ones(2, 5, 5))
        assert torch.allclose(set_mean(v), set_mean(v[:, perm]), atol=1e-6)


# ---------------------------------------------------------------- the model

def _packed(sample, views=None):
    from kyara.sheet.lookup import canonical, correspond
    from kyara.sheet.model import pack_refs, pack_target

    views = canonical(views if views is not None else views_of(sample))
    corr = correspond(views, sample["udp"])
    return {**pack_refs(views), **pack_target(corr, sample["udp"])}, views, corr


def test_model_at_initialisation_is_b2(sheet_data):
    from kyara.sheet.baselines import b2
    from kyara.sheet.model import build

    _, samples = sheet_data
    torch.manual_seed(0)
    net = build(TINY).eval()
    for s in samples[:4]:
        batch, views, corr = _packed(s)
        with torch.no_grad():
            out = net(batch)
        want = b2(views, s["udp"], corr)
        got = out["rgba"][0].permute(1, 2, 0).numpy()
        assert np.abs(got - want).max() < 1e-4
        assert torch.equal(out["rgba"], out["base"])  # the residual head starts at zero


def test_model_does_not_depend_on_the_reference_order_or_count(sheet_data):
    from kyara.sheet.lookup import correspond
    from kyara.sheet.model import build, pack_refs, pack_target

    _, samples = sheet_data
    s = samples[2]
    torch.manual_seed(0)
    net = build(TINY)
    with torch.no_grad():  # move every zero-initialised head off zero so the learned paths count
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    net.eval()
    views = views_of(s)
    corr = correspond(views, s["udp"])
    base = {**pack_refs(sorted(views, key=lambda v: v.digest)), **pack_target(corr, s["udp"])}
    p = torch.tensor([3, 1, 0, 2])  # bypass the canonical order: the network itself must be invariant
    shuffled = {**{k: v[:, p] for k, v in base.items() if k.startswith("ref_")},
                "udp": base["udp"], "grid": base["grid"][:, p], "dist": base["dist"][:, p], "fill": base["fill"]}
    with torch.no_grad():
        a, b = net(base)["rgba"], net(shuffled)["rgba"]
    assert not torch.equal(a, net(base, ablate=True)["rgba"])
    assert torch.allclose(a, b, atol=1e-5)
    for n in (1, 16):  # any count from 1 to 16
        vs = (views * 4)[:n]
        vs = sorted(vs, key=lambda v: v.digest)
        c = correspond(vs, s["udp"])
        with torch.no_grad():
            o = net({**pack_refs(vs), **pack_target(c, s["udp"])})["rgba"]
        assert o.shape == (1, 4, 64, 64) and torch.isfinite(o).all()


def test_weights_round_trip_exact(tmp_path, sheet_data):
    from kyara.nn.weights import load_model, save_weights
    from kyara.sheet.model import KIND, build

    _, samples = sheet_data
    torch.manual_seed(3)
    net = build(TINY)
    batch, _, _ = _packed(samples[0])
    net.train()
    net(batch)  # batch-norm statistics away from their defaults
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    net.eval()
    path = save_weights(tmp_path / "sheet.safetensors", net.state_dict(), KIND, net.config.to_dict(), {"x": 1})
    back, cfg, _ = load_model(path, KIND, build)
    with torch.no_grad():
        assert torch.equal(net(batch)["rgba"], back(batch)["rgba"])
    assert cfg == net.config.to_dict()


def test_evaluation_table_has_every_row_and_the_untrained_model_is_b2(sheet_data):
    from kyara.sheet.evaluate import METRICS, evaluate, goals, load_cases, make_tuples, table
    from kyara.sheet.model import build

    folder, _ = sheet_data
    cases = load_cases(folder, "train")
    assert len(cases) == 2 and all(len(c.refs) == 4 and len(c.targets) == 4 for c in cases)
    tuples = make_tuples(cases, 6, seed=1)
    assert tuples == make_tuples(cases, 6, seed=1) and {len(t[2]) for t in tuples} == {1, 4}
    torch.manual_seed(0)
    res = evaluate(cases, tuples, model=build(TINY).eval(), sides=(64, 128))
    for row in ("b0", "b1", "b2", "conr", "conr_zeroed"):
        for n in (1, 4):
            for side in (64, 128):
                assert set(res.rows[(row, n, side)]) == set(METRICS)
    for n in (1, 4):  # at initialisation the network is B2
        assert abs(res.rows[("conr", n, 64)]["l1_rgb"] - res.rows[("b2", n, 64)]["l1_rgb"]) < 1e-4
        assert res.rows[("b2", n, 64)]["l1_rgb"] < res.rows[("b0", n, 64)]["l1_rgb"]
    # every baseline's alpha is the target's occupancy: the outline drawn around it is what they miss
    assert res.rows[("b2", 4, 64)]["alpha_iou"] == res.rows[("b0", 4, 64)]["alpha_iou"] > 0.6
    text = "\n".join(table(res))
    assert "CoNR-lite, residual + fusion zeroed" in text and "0.0179" in text
    assert [g[0] for g in goals(res)] == ["sheet_conr_vs_b2_l1_ratio", "sheet_conr_vs_zeroed_l1_ratio",
                                          "sheet_conr_n4_vs_n1_l1_ratio"]
