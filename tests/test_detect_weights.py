"""The shipped detector weights: held-out accuracy (slow) and loading from an installed wheel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from kyara.detect.network import default_weights  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not default_weights().is_file(), reason="no shipped detector weights")


def test_weights_file_is_small_safetensors_with_a_card():
    p = default_weights()
    assert p.stat().st_size <= 20 * 1024 * 1024
    assert p.read_bytes()[8:9] == b"{"  # safetensors header, never a pickle
    card = p.with_name("detector.md").read_text()
    for needle in ("steps", "hardware", "train_samples", "train_characters", "pck@0.1", "mask_iou", "udp_l1"):
        assert needle in card, needle


@pytest.mark.slow
def test_shipped_weights_on_held_out_characters(tmp_path, gl):
    """80 renders of 8 characters from seeds no training run used, over seeded backgrounds."""
    from kyara.detect.evaluate import evaluate, make_heldout
    from kyara.detect.network import load_detector

    folders = make_heldout(tmp_path, poses=80, drawings=0, per_character=10, seeds=(11, 12))
    res = evaluate(load_detector(), folders, count=80, seed=3)
    k, b = res.rows["kyara"], res.rows["baseline"]
    assert res.count == 80
    # 80 renders of 8 characters (40 of 4 were too few to tell the naming from the channels: a 4-character
    # sample swung the difference from -0.006 to +0.11 between seeds). The shipped CPU weights measured
    # 0.659 / 0.851 / 0.162 here, 0.631 PCK@0.1 and 0.471 PCK@0.05 with each joint from its own channel
    # (0.514 named; baselines 0.331 / 0.611 / 0.155); the thresholds keep a margin under those. The
    # issue's goals (PCK@0.1 >= 0.85, IoU >= 0.92) are not met: see docs/detect.md.
    assert k["pck@0.1"] >= 0.62, res.rows
    assert k["mask_iou"] >= 0.82, res.rows
    assert k["udp_l1"] <= 0.17, res.rows
    # naming left and right for the whole figure (kyara.detect.sides) beats the channels on the same images
    assert k["pck@0.1"] > res.rows["kyara, channels only"]["pck@0.1"] + 0.01, res.rows
    assert k["pck@0.05"] > res.rows["kyara, channels only"]["pck@0.05"] + 0.02, res.rows
    # and it beats the keypoint and mask baselines measured on the same images by far
    assert k["pck@0.1"] > b["pck@0.1"] + 0.2 and k["mask_iou"] > b["mask_iou"] + 0.2


@pytest.mark.slow
def test_weights_load_from_an_installed_wheel(tmp_path):
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(wheels), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (whl,) = wheels.glob("kyara-*.whl")
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(whl)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    code = ("import kyara, numpy as np; from kyara.detect.network import load_detector, default_weights;"
            "assert str(default_weights()).startswith(%r), default_weights();"
            "d = load_detector(); r = d.predict(np.full((96, 64, 3), 200, np.uint8));"
            "print(kyara.__file__, r.keypoints.shape)") % str(target)
    from kyara.sheet.infer import default_weights as sheet_weights

    if sheet_weights().is_file():  # the CoNR-lite weights ship the same way
        code += ("; from kyara.sheet.infer import default_weights as sw, load_sheet_model;"
                 "assert str(sw()).startswith(%r); m, card = load_sheet_model(); print('sheet', m.config.size)") % str(target)
    env = dict(os.environ, PYTHONPATH=str(target))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert str(target) in r.stdout and "(18, 3)" in r.stdout
    assert "sheet 64" in r.stdout or not sheet_weights().is_file()
