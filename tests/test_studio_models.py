"""The Image tab's model picker: local models found without the network (a fake Hugging Face cache and
models folder built here), pickles never offered, the smoke-test model labelled as noise, the guide;
``kyara studio --models`` checked at the boundary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kyara.studio.config import StudioConfig
from kyara.studio.handlers.models import (NO_MODEL, TINY_LABEL, cached_pipelines, is_checkpoint, model_guide,
                                          safetensors_keys, scan_models)


def _safetensors(path, names):
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({n: np.zeros((2, 2), np.float32) for n in names}, str(path))
    return path


def _diffusers(folder):
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    return folder


def _fake_cache(root):
    snap = root / "models--someone--anime-v1" / "snapshots" / "abc123"
    _diffusers(snap)
    # a ControlNet in the cache (no model_index.json) is not a base model
    cn = root / "models--lllyasviel--control_v11p_sd15_openpose" / "snapshots" / "def"
    cn.mkdir(parents=True)
    (cn / "config.json").write_text("{}")
    (root / "datasets--x--y").mkdir()
    return root


def test_scan_lists_folders_single_files_cache_and_tiny(tmp_path):
    models = tmp_path / "models"
    _diffusers(models / "anything-v5")
    _safetensors(models / "sd15" / "counterfeit.safetensors", ["model.diffusion_model.input_blocks.0.0.weight",
                                                               "first_stage_model.decoder.conv_in.weight"])
    _safetensors(models / "loras" / "style.safetensors", ["lora_unet_down_blocks_0.lora_down.weight"])
    (models / "old.ckpt").write_bytes(b"\x80\x02" + bytes(2**20 + 10))  # a pickle: counted, never offered
    (models / "notes.txt").write_text("hi")
    (models / "broken.safetensors").write_bytes(b"\xff" * 64)
    cache = _fake_cache(tmp_path / "hub")
    scan = scan_models(models, cache)
    labels = [lab for lab, _ in scan.choices]
    values = [v for _, v in scan.choices]
    assert labels == ["anything-v5 (folder)", "sd15/counterfeit.safetensors (single file)",
                      "someone/anime-v1 (Hugging Face cache)", TINY_LABEL], labels
    assert values[0] == str(models / "anything-v5") and values[2] == "someone/anime-v1" and values[-1] == "tiny"
    assert TINY_LABEL == "tiny (noise: for testing)"
    (skipped,) = scan.skipped
    assert "1 pickled checkpoint" in skipped and "convert to .safetensors" in skipped
    # the cache's pipelines are what resolve_model finds offline by id
    from kyara.generate.models import in_hub_cache  # noqa: F401 (the same id form)

    assert cached_pipelines(cache) == ["someone/anime-v1"]


def test_scan_without_a_folder_or_cache_is_only_tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "nothing-here"))
    assert scan_models(None).choices == [(TINY_LABEL, "tiny")]
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    _fake_cache(tmp_path / "hf" / "hub")
    assert ("someone/anime-v1 (Hugging Face cache)", "someone/anime-v1") in scan_models(None).choices


def test_safetensors_header_is_read_without_the_weights(tmp_path):
    f = _safetensors(tmp_path / "a.safetensors", ["model.diffusion_model.x", "cond_stage_model.y"])
    assert sorted(safetensors_keys(f)) == ["cond_stage_model.y", "model.diffusion_model.x"]
    assert is_checkpoint(f)
    assert not is_checkpoint(_safetensors(tmp_path / "vae.safetensors", ["decoder.conv_in.weight"]))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="header"):
        safetensors_keys(bad)
    assert not is_checkpoint(bad)


def test_guide_names_recommended_models_and_the_download_command():
    text = model_guide(None)
    assert "stablediffusionapi/anything-v5" in text and "cagliostrolab/animagine-xl-3.1" in text
    assert "hf download" in text and "kyara studio --models DIR" in text and ".safetensors" in text
    assert "hf download" in NO_MODEL and "No model selected" in NO_MODEL


def test_models_option_is_checked(tmp_path):
    assert StudioConfig(models_dir=tmp_path).check().models_dir == tmp_path
    with pytest.raises(ValueError, match="--models '.*nope' is not a folder"):
        StudioConfig(models_dir=tmp_path / "nope").check()


def test_cli_models_option_must_be_a_folder(tmp_path, capsys):
    from kyara.cli.main import run

    assert run(["studio", "--models", str(tmp_path / "nope"), "-o", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --models '") and "is not a folder" in err and "\n" not in err
    assert not (tmp_path / "st").exists()


def test_the_history_names_a_local_model_by_its_name():
    from kyara.studio.handlers.images import model_name

    assert model_name("/srv/models/sd15/counterfeit.safetensors") == "counterfeit.safetensors"
    assert model_name("someone/anime-v1") == "someone/anime-v1" and model_name("tiny") == "tiny"


def test_an_incomplete_pipeline_folder_is_one_line_naming_it(tmp_path):
    from kyara.studio.handlers.images import image_config
    from kyara.studio.handlers.models import check_pipeline_folder

    folder = _diffusers(tmp_path / "half-downloaded")
    (folder / "unet").mkdir()
    with pytest.raises(ValueError, match=r"^model folder 'half-downloaded' has no vae, text_encoder, tokenizer, "
                                         r"scheduler, expected a whole diffusers pipeline") as err:
        image_config("1girl", "", str(folder), "none", "default", 1.0, "", 20, 7.5, "euler-a", 0, 1, 64, 64)
    assert str(tmp_path) not in str(err.value)
    for part in ("vae", "text_encoder", "tokenizer", "scheduler"):
        (folder / part).mkdir()
    check_pipeline_folder(folder)
