"""Seed -1 means random in the studio (as in AUTOMATIC1111): the seed drawn is the one used, shown
and saved (character.json's ``seed``, the PNG's parameters); seeds below -1 stay one-line errors."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from kyara.studio import handlers as H
from kyara.studio.session import Workspace


def test_resolve_seed_draws_for_minus_one_and_refuses_the_rest():
    assert H.resolve_seed(7) == 7 and H.resolve_seed(7.0) == 7 and H.resolve_seed(None) == 0
    drawn = {H.resolve_seed(H.RANDOM_SEED) for _ in range(8)}
    assert len(drawn) > 1 and all(0 <= s < 2**32 for s in drawn)  # fresh draws, not a fixed value
    for bad in (-2, -1.5, 0.5, 2**63, "x"):
        with pytest.raises(ValueError, match="seed .* is not valid, expected an integer >= 0, or -1"):
            H.resolve_seed(bad)


def _fake_build(monkeypatch):
    """Create without the renderer: character.json written as create_character writes it."""
    import kyara.character.build as build
    import kyara.character.create as create

    monkeypatch.setattr(build, "build_character", lambda spec: SimpleNamespace(spec=spec))

    def write(spec, out, *args, **kw):
        out.mkdir(parents=True, exist_ok=True)
        (out / "character.json").write_text(spec.to_json())
    monkeypatch.setattr(create, "create_character", write)


def test_create_with_seed_minus_one_uses_and_saves_a_drawn_seed(tmp_path, monkeypatch):
    _fake_build(monkeypatch)
    ws = Workspace.for_session(tmp_path, "s1")
    a, b = (H.create(ws, "an anime girl with long hair", seed=-1) for _ in range(2))
    assert a.seed != b.seed and 0 <= a.seed < 2**32  # a 1 in 2**32 chance of a false failure
    for out in (a, b):
        assert json.loads(out.character.read_text())["seed"] == out.seed
        assert json.loads(out.spec_json)["seed"] == out.seed
    again = H.create(ws, "an anime girl with long hair", seed=a.seed)  # the shown seed reproduces it
    assert json.loads(again.spec_json) == json.loads(a.spec_json)
    assert H.create(ws, "an anime girl", seed=5).seed == 5
    with pytest.raises(ValueError, match="seed -2 is not valid"):
        H.create(ws, "an anime girl", seed=-2)


def _cfg(seed):
    return H.image_config("1girl", "", "tiny", "none", "default", 1.0, "", 30, 7.5, "euler-a", seed, 1, 64, 64)


def test_image_seed_minus_one_is_drawn_and_written_to_the_png(tmp_path):
    cfgs = [_cfg(-1) for _ in range(4)]
    assert len({c.seed for c in cfgs}) > 1 and all(0 <= c.seed < 2**32 for c in cfgs)
    assert _cfg(3).seed == 3
    with pytest.raises(ValueError, match="seed -2 is not valid"):
        _cfg(-2)
    img = Image.fromarray(np.zeros((64, 64, 3), np.uint8))
    (png,) = H.save_images(SimpleNamespace(images=[img], configs=[cfgs[0]]), tmp_path / "out")
    assert f"Seed: {cfgs[0].seed}," in Image.open(png).text["parameters"]
