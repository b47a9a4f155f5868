"""``kyara train sheet``: the recipe's batches, a few training steps, the harness run and its export."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_sheet import sheet_data  # noqa: E402,F401  (the session's tiny sheets dataset)


@pytest.fixture(scope="module")
def recipe(sheet_data):  # noqa: F811
    from kyara.train.registry import get

    torch.set_num_threads(1)
    folder, _ = sheet_data
    return get("sheet").make([folder], 0, "tiny")


def test_batches_are_pure_functions_of_seed_and_step(recipe):
    a, b = recipe.batch(7), recipe.batch(7)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    n = a["grid"].shape[1]
    assert 1 <= n <= recipe.max_refs and a["ref_rgba"].shape == (2, n, 4, 64, 64) and a["truth"].shape == (2, 4, 64, 64)
    assert not torch.equal(recipe.batch(8)["truth"], a["truth"])
    card = recipe.card()
    assert card["train_characters"] == 2 and card["detector_mix"] == 0.0


def test_a_tiny_model_learns_a_batch(recipe):
    from kyara.train.harness import TrainConfig, make_optimizer

    torch.manual_seed(0)
    model = recipe.build(recipe.config()).train()
    batch = recipe.batch(3)
    opt = make_optimizer(model, TrainConfig(lr=3e-3))
    losses = []
    for _ in range(30):
        loss, parts = recipe.loss(model, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert abs(float(parts["l1_base"]) - float(parts["l1"])) > 0  # the residual moved off B2
    assert np.mean(losses[-3:]) < 0.85 * losses[0], losses


def test_harness_run_exports_weights_the_renderer_loads(recipe, tmp_path, sheet_data):  # noqa: F811
    from kyara.sheet.infer import SheetRenderer, load_sheet_model
    from kyara.train.harness import train
    from kyara.train.registry import get

    cfg = get("sheet").configs["tiny"]
    from dataclasses import replace

    res = train(recipe, replace(cfg, steps=4, log_every=2, threads=1), tmp_path / "run", progress=False)
    assert res.finished and (tmp_path / "run" / "model.safetensors").is_file()
    card = (tmp_path / "run" / "model_card.md").read_text()
    assert "kyara-sheet" in card and "l1_rgb_b2" in card
    model, meta = load_sheet_model(tmp_path / "run" / "model.safetensors")
    assert meta["data"]["train_characters"] == 2
    _, samples = sheet_data
    s = samples[0]
    r = SheetRenderer([(x["rgba"], x["udp"]) for x in s["refs"]], "conr", model=model)
    out = r.render(s["udp"])
    assert out.shape == (64, 64, 4) and r.method == "conr" and np.isfinite(out).all()


def test_detector_udps_are_mixed_in(sheet_data, monkeypatch):  # noqa: F811
    """With a detector, some sheet references carry its UDP instead of the true one."""
    from kyara.detect.types import Detection
    from kyara.sheet import recipe as R

    class Fake:
        calls = 0

        def predict(self, rgb):
            Fake.calls += 1
            h, w = rgb.shape[:2]
            udp = np.zeros((h, w, 4), np.float32)
            on = rgb.min(axis=2) < 250
            udp[on] = (0.5, 0.5, 0.5, 1.0)
            return Detection(np.zeros((18, 3)), on.astype(np.float32), w, h, "kyara", udp=udp)

    monkeypatch.setattr(R, "_load_detector", lambda: Fake())
    folder, _ = sheet_data
    rec = R.SheetRecipe(data=[folder], seed=0, batch_size=4, arch={"size": 64, "widths": [8, 8]},
                        detector_mix=1.0, val_count=2)
    assert Fake.calls == 8 and rec.card()["detector_mix"] == 1.0  # 2 characters x 4 references
    b = rec.batch(0)
    flat = b["ref_udp"][:, :, :3][b["ref_udp"][:, :, 3:4].expand(-1, -1, 3, -1, -1) > 0.5]
    assert (flat == 0.5).float().mean() > 0.2  # predicted references are in the batch
    monkeypatch.setattr(R, "_load_detector", lambda: None)  # no weights: true UDPs only
    assert R.SheetRecipe(data=[folder], seed=0, batch_size=2, arch={"size": 64, "widths": [8, 8]},
                         val_count=2).detector_mix == 0.0
