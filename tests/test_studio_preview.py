"""The studio's Image tab (issue 24): per-step latent previews while generating, and the image size
from the model ("size from the model" on: SD1.5/SD2 512, SDXL 1024, as ``kyara image`` without --size)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("diffusers")

from kyara.studio import handlers as H  # noqa: E402


@pytest.fixture
def offline(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _cfg(**kw):
    args = dict(prompt="1girl", negative="", model="tiny", control="none", control_model="default", strength=1.0,
                loras="", steps=2, guidance=7.5, scheduler="euler-a", seed=0, batch=1, width=64, height=48)
    args.update(kw)
    auto = args.pop("size_auto", False)
    return H.image_config(*args.values(), size_auto=auto)


def test_generation_job_yields_previews_before_the_images(tmp_path, offline):
    from kyara.generate.metadata import read_png_config

    events = list(H.GenerationJob(_cfg(steps=3), tmp_path / "a", previews=True).start().events())
    kinds = [e[0] for e in events]
    previews = [e for e in events if e[0] == "preview"]
    assert kinds[-1] == "done" and len(previews) == 3, kinds
    assert kinds.index("preview") < kinds.index("done")
    for i, (_, step, total, rgb) in enumerate(previews):
        assert (step, total) == (i + 1, 3)
        assert rgb.shape == (6, 8, 3) and rgb.dtype == np.uint8  # the latent: 48x64 pixels / 8
    assert not np.array_equal(previews[0][3], previews[-1][3])  # each step's own latent
    assert kinds.index("preview") == kinds.index("progress") + 1  # right after its step's progress
    saved = read_png_config(events[-1][1][0])
    assert saved.previews is False  # previews are not part of the image


def test_no_preview_events_unless_asked(tmp_path, offline):
    events = list(H.GenerationJob(_cfg(), tmp_path / "a").start().events())
    assert [e[0] for e in events] == ["progress", "progress", "done"]


def test_preview_image_is_enlarged_by_a_whole_factor():
    rgb = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    big = H.preview_image(rgb)
    assert big.shape == (192, 256, 3)  # x32, the long side 256
    assert np.array_equal(big[::32, ::32], rgb)
    assert H.preview_image(np.zeros((128, 128, 3), np.uint8)).shape == (256, 256, 3)
    assert H.preview_image(np.zeros((512, 300, 3), np.uint8)).shape == (512, 300, 3)  # never shrunk
    with pytest.raises(ValueError, match=r"preview has shape \(4, 4\), expected \[h, w, 3\]"):
        H.preview_image(np.zeros((4, 4), np.uint8))


def test_size_from_the_model_in_the_tab(tmp_path, offline):
    cfg = _cfg(size_auto=True)
    assert cfg.size_from_model is True
    assert _cfg().size_from_model is False
    done = list(H.GenerationJob(cfg, tmp_path / "a").start().events())[-1]
    assert done[0] == "done", done
    with Image.open(done[1][0]) as im:
        assert im.size == (512, 512)  # tiny is SD1.5-shaped; the 64x48 of the sliders is not used
        assert "Size: 512x512" in im.text["parameters"]


def test_the_tab_has_the_preview_and_the_size_choice(tmp_path):
    from kyara.studio.app import build_app
    from kyara.studio.config import StudioConfig

    cfg = build_app(StudioConfig(output=tmp_path)).get_config_file()
    props = {c["props"].get("elem_id"): c for c in cfg["components"] if c["props"].get("elem_id")}
    assert props["image-size-auto"]["props"]["value"] is True
    assert props["image-preview"]["type"] == "image" and props["image-preview"]["props"]["interactive"] is False
    ids = {c["id"]: c["props"].get("elem_id") for c in cfg["components"]}
    gen = next(d for d in cfg["dependencies"] if d.get("api_name") == "generate")
    assert "image-preview" in [ids[i] for i in gen["outputs"]]
    assert [ids[i] for i in gen["inputs"]][-1] == "image-size-auto"
