"""``kyara refine``: the tiny model refines an imported VRM's texture end to end; resume; one-line errors."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("xatlas")

from test_export_common import run_validator, synthetic_character  # noqa: E402

from kyara.cli.main import run  # noqa: E402


def _argv(vrm, out, *extra):
    return ["refine", "--character", str(vrm), "--prompt", "a girl", "--model", "tiny", "--iters", "3",
            "--size", "64", "--texture-size", "64", "--seed", "1", *extra, "-o", str(out)]


@pytest.mark.slow
def test_refine_an_imported_vrm_writes_a_valid_refined_avatar(tmp_path, capsys):
    from PIL import Image

    from kyara.export import export_character

    vrm = export_character(synthetic_character(), "vrm", tmp_path / "in.vrm").path
    out = tmp_path / "refined"
    assert run(_argv(vrm, out)) == 0, capsys.readouterr().err
    assert "refined 3 iterations" in capsys.readouterr().out
    for name in ("texture.png", "avatar.vrm", "turntable.gif", "loss.json", "run/checkpoint.safetensors"):
        assert (out / name).is_file(), name
    report = run_validator([out / "avatar.vrm"])
    assert report[str(out / "avatar.vrm")]["numErrors"] == 0, report
    loss = json.loads((out / "loss.json").read_text())
    assert loss["step"] == [1, 2, 3] and len(loss["loss"]) == 3 and all(v > 0 for v in loss["sds_rms"])
    assert len(loss["prompts"]) == 16 and any(p.startswith("front view of") for p in loss["prompts"])
    tex = Image.open(out / "texture.png")
    assert tex.size == (64, 64)
    # the same folder again: refused without --resume; with --resume the finished run ends at once
    assert run(_argv(vrm, out)) == 2
    assert "--resume" in capsys.readouterr().err
    first = (out / "texture.png").read_bytes()
    assert run(_argv(vrm, out, "--resume")) == 0, capsys.readouterr().err
    assert (out / "texture.png").read_bytes() == first
    # same seed in a fresh folder: the same texture
    again = tmp_path / "again"
    assert run(_argv(vrm, again)) == 0
    assert (again / "texture.png").read_bytes() == first
