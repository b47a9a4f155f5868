"""kyara.nn, kyara.train and the detector's training: tiny runs on a tiny generated dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kyara.nn.heatmaps import decode_heatmaps, decode_heatmaps_reference, gaussian_heatmaps  # noqa: E402


# ---------------------------------------------------------------- kyara.nn

def test_heatmaps_decode_sub_pixel_and_match_the_reference():
    rng = np.random.default_rng(3)
    pts = torch.tensor(rng.uniform(6, 40, (2, 5, 2)), dtype=torch.float32)
    present = torch.tensor([[True, True, False, True, True], [True] * 5])
    maps = gaussian_heatmaps(pts, present, 48, 48, sigma=2.0)
    assert maps.shape == (2, 5, 48, 48)
    assert float(maps[0, 2].abs().max()) == 0.0  # an absent point has an empty map
    # the map's maximum is exp(-d^2/2s^2) at the nearest pixel
    got = decode_heatmaps(maps)
    ref = decode_heatmaps_reference(maps.numpy())
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-4)
    err = (got[..., :2] - pts).norm(dim=-1)[present]
    assert float(err.max()) < 0.02, err  # sub-pixel, not the integer argmax (up to 0.71 px)
    integer = torch.stack([maps.flatten(2).argmax(-1) % 48, maps.flatten(2).argmax(-1) // 48], -1).float()
    assert float(err.mean()) < float((integer - pts).norm(dim=-1)[present].mean()) / 2


def test_unet_any_input_size_and_heads():
    from kyara.nn.blocks import UNet, pad_to

    net = UNet(3, [4, 8, 8], {"a": 2, "b": 1}).eval()
    assert net.stride == 4
    for h, w in ((32, 32), (40, 24)):
        out = net(torch.zeros(1, 3, h, w))
        assert out["a"].shape == (1, 2, h, w) and out["b"].shape == (1, 1, h, w)
    x, (h, w) = pad_to(torch.zeros(1, 3, 30, 17), 8)
    assert x.shape[-2:] == (32, 24) and (h, w) == (30, 17)


def test_weights_round_trip_exact_and_never_pickled(tmp_path):
    from kyara.nn.blocks import UNet
    from kyara.nn.weights import load_model, read_weights, save_weights

    torch.manual_seed(0)
    net = UNet(3, [4, 8], {"o": 2})
    net(torch.randn(2, 3, 16, 16))  # move the batch-norm statistics away from their defaults
    p = save_weights(tmp_path / "w.safetensors", net.state_dict(), "toy", {"widths": [4, 8]}, {"note": "x"})
    assert p.read_bytes()[8:9] == b"{"  # a safetensors header, not a pickle (which starts with 0x80)
    back, cfg, card = load_model(p, "toy", lambda c: UNet(3, c["widths"], {"o": 2}))
    for (k, a), (_, b) in zip(net.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), k
    assert cfg == {"widths": [4, 8]} and card == {"note": "x"}
    with pytest.raises(ValueError, match="expected 'other'"):
        read_weights(p, "other")
    (tmp_path / "bad.safetensors").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ValueError, match="not a readable"):
        read_weights(tmp_path / "bad.safetensors")


# ---------------------------------------------------------------- a tiny dataset and tiny runs

@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, gl):
    from kyara.dataset import DatasetConfig, write_dataset

    root = tmp_path_factory.mktemp("detdata")
    poses = root / "poses"
    write_dataset(DatasetConfig(kind="poses", count=12, per_character=6, size=64, seed=5, shard_characters=4,
                                splits=(1.0, 0.0, 0.0)), poses, use_ray=False)
    drawings = root / "drawings"
    write_dataset(DatasetConfig(kind="drawings", count=6, per_character=6, size=64, seed=6, shard_characters=4,
                                splits=(1.0, 0.0, 0.0)), drawings, use_ray=False)
    return [poses, drawings]


def _train(data, out: Path, steps: int, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "kyara.cli.main", "train", "detector", "--recipe", "tiny", "--steps", str(steps),
            "--seed", "1", "--threads", "1", "-o", str(out)]
    for d in data:
        args += ["--data", str(d)]
    e = dict(os.environ, **(env or {}))
    r = subprocess.run(args, capture_output=True, text=True, env=e, timeout=600)
    if check:
        assert r.returncode == 0, r.stderr[-2000:]
    return r


def _log(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]


def test_tiny_detector_learns_round_trips_and_resumes_exactly(tiny_data, tmp_path):
    from kyara.detect.network import load_detector
    from kyara.nn.weights import read_weights

    a = tmp_path / "a"
    _train(tiny_data, a, 40)
    rows = [r for r in _log(a) if "loss" in r]
    assert len(rows) == 8 and rows[-1]["step"] == 40
    assert np.mean([r["loss"] for r in rows[-2:]]) < 0.7 * np.mean([r["loss"] for r in rows[:2]]), rows
    card = (a / "model_card.md").read_text()
    assert "steps**: 40" in card and "train_samples" in card

    # killed with SIGKILL after step 27 (last checkpoint at step 20), then resumed: same weights
    b = tmp_path / "b"
    r = _train(tiny_data, b, 40, env={"KYARA_TRAIN_KILL_AT": "27", "KYARA_TRAIN_CHECKPOINT_STEPS": "10"}, check=False)
    assert r.returncode in (-9, 137), (r.returncode, r.stderr[-500:])
    assert not (b / "model.safetensors").exists()
    _train(tiny_data, b, 40)
    wa, _, _ = read_weights(a / "model.safetensors")
    wb, _, _ = read_weights(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert [r["step"] for r in _log(b) if "loss" in r] == [r["step"] for r in rows]  # no duplicated log rows

    # the exported model loads (no pickle) and a fixed image gives fixed outputs
    det = load_detector(a / "model.safetensors")
    img = (np.random.default_rng(0).uniform(0, 255, (70, 90, 3))).astype(np.uint8)
    d1, d2 = det.predict(img), load_detector(a / "model.safetensors").predict(img)
    assert d1.width == 90 and d1.height == 70 and d1.udp.shape == (70, 90, 4)
    np.testing.assert_array_equal(d1.keypoints, d2.keypoints)
    np.testing.assert_array_equal(d1.mask, d2.mask)


def test_train_cli_bad_arguments_one_line(tmp_path, tiny_data):
    from kyara.cli.main import run

    for args, needle in ((["train", "nope", "--data", str(tiny_data[0]), "-o", str(tmp_path / "r")], "no model named"),
                         (["train", "detector", "--data", str(tmp_path), "-o", str(tmp_path / "r")], "not a kyara dataset"),
                         (["train", "detector", "--data", str(tiny_data[0]), "--recipe", "huge", "-o", str(tmp_path / "r")],
                          "--recipe 'huge'"),
                         (["train", "detector", "--data", str(tiny_data[0]), "--steps", "0", "-o", str(tmp_path / "r")],
                          "--steps is 0")):
        assert run(args) == 2
        assert not (tmp_path / "r").exists()
