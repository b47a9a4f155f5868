"""``kyara eval drawing``: the synthetic and real drawings' figures through the CLI, and its one-line
refusals of the options it does not use. The run needs the headless GL context (``gl``)."""

from __future__ import annotations

import json

import pytest

from kyara.cli.main import run


@pytest.mark.slow
def test_kyara_eval_drawing_writes_pck_and_shape_figures(tmp_path, capsys, gl):
    out = tmp_path / "x.json"
    code = run(["eval", "drawing", "--count", "4", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    fig = json.loads(out.read_text())
    syn = fig["synthetic"]
    assert fig["count"] == 4 and syn["count"] == 4 and len(fig["rows"]) == 4
    for k in ("pck@0.05", "pck@0.1", "base_pck@0.05", "base_pck@0.1", "mask_iou", "side_iou"):
        assert 0.0 <= syn[k] <= 1.0, (k, syn[k])
    for r in fig["rows"]:
        assert 0.0 <= r["pck@0.05"] <= r["pck@0.1"] <= 1.0, r
    assert syn["pck@0.1"] > syn["base_pck@0.1"]  # the skeleton beats the box template
    assert 0.0 <= syn["walk_err"] < 0.2  # measured on the first drawing
    assert set(fig["goals"]) == {"pck@0.05", "side_iou", "walk_err", "pck@0.1>template"}
    assert all(v in ("ok", "FAIL") for v in fig["goals"].values())
    # the two real drawings ship with the tests
    assert [r["name"] for r in fig["real"]] == ["char1", "char2"]
    for r in fig["real"]:
        assert 0.0 <= r["pck@0.05"] <= r["pck@0.1"] <= 1.0 and 0.5 < r["mask_iou"] <= 1.0, r
    # the printed table names the figures, the template and the goals
    text = captured.out
    assert "joint PCK@0.05" in text and "template" in text and ">= 0.9" in text and "real char1" in text


@pytest.mark.parametrize("option", ["--data", "--weights"])
def test_kyara_eval_drawing_refuses_data_and_weights(tmp_path, capsys, option):
    if option == "--data":  # a real dataset folder, so the refusal is eval drawing's own
        (tmp_path / "set").mkdir()
        (tmp_path / "set" / "manifest.json").write_text("{}")
        value, needle = str(tmp_path / "set"), "--data is not used by kyara eval drawing"
    else:
        (tmp_path / "w.safetensors").write_bytes(b"0")
        value, needle = str(tmp_path / "w.safetensors"), "is not used by kyara eval drawing"
    out = tmp_path / "x.json"
    code = run(["eval", "drawing", option, value, "-o", str(out)])
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert not out.exists() and captured.out == ""


def test_cli_report_checks_before_drawing():
    from kyara.drawing.evaluate import cli_report

    with pytest.raises(ValueError, match="--data"):
        cli_report(["somewhere"], 4, None, 0)
    with pytest.raises(ValueError, match="--weights"):
        cli_report([], 4, "w.safetensors", 0)
    with pytest.raises(ValueError, match="--count"):
        cli_report([], 0, None, 0)
