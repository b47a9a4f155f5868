"""kyara.generate: tiny SD1.5/SDXL + ControlNet pipelines built locally, run offline, 2 steps at 64x64."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("peft")

from kyara.generate.config import ControlSpec, ImageConfig, LoraSpec  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(scope="module", autouse=True)
def offline_cache(tmp_path_factory):
    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "KYARA_CACHE_DIR")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["KYARA_CACHE_DIR"] = str(tmp_path_factory.mktemp("kyara-cache"))
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def gen(prompt="a girl, red hair", **kw):
    from kyara.generate.pipeline import generate

    base = dict(model="tiny", steps=2, width=64, height=64, seed=3)
    base.update(kw)
    return generate(ImageConfig(prompt, **base))


def arr(im) -> np.ndarray:
    return np.asarray(im, dtype=np.float64)


OPENPOSE = (ControlSpec("openpose", "tiny"),)


# -- prompts -----------------------------------------------------------------------------------
def test_parse_weights_a1111_syntax():
    from kyara.generate.prompts import parse_weights

    got = parse_weights("a (red:1.5) [hat] ((big)) \\(x\\) BREAK b")
    d = {}
    for f, w in got:
        d[f.strip()] = round(w, 4)
    assert d["red"] == 1.5 and d["hat"] == round(1 / 1.1, 4) and d["big"] == round(1.21, 4)
    assert ("BREAK", -1.0) in got
    assert any("(x)" in f for f, _ in got)


def test_short_prompt_matches_diffusers_and_long_prompt_is_chunked():
    import torch
    from diffusers import StableDiffusionPipeline

    from kyara.generate.prompts import encode_prompts, tokenize_weighted
    from kyara.generate.tiny import tiny_model_dir

    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir("tiny")), local_files_only=True)
    ours = encode_prompts(pipe, "a girl", "ugly")
    ref, ref_neg = pipe.encode_prompt("a girl", "cpu", 1, True, "ugly")  # the plain diffusers path
    assert torch.allclose(ours["prompt_embeds"], ref, atol=1e-6)
    assert torch.allclose(ours["negative_prompt_embeds"], ref_neg, atol=1e-6)
    long = "long hair, " * 12  # 132 character tokens with the tiny tokenizer
    chunks = tokenize_weighted(pipe.tokenizer, long)
    assert len(chunks.ids) == 2 and all(len(c) == 77 for c in chunks.ids)
    emb = encode_prompts(pipe, long, "")
    assert emb["prompt_embeds"].shape == (1, 154, 32) == emb["negative_prompt_embeds"].shape
    # the second chunk carries the tail of the prompt: diffusers would have dropped it
    tail_changed = encode_prompts(pipe, "long hair, " * 11 + "short hai, ", "")["prompt_embeds"]
    assert not torch.allclose(tail_changed[:, 77:], emb["prompt_embeds"][:, 77:])
    weighted = encode_prompts(pipe, "a (girl:1.5)", "")["prompt_embeds"]
    assert not torch.allclose(weighted, ours["prompt_embeds"])


def test_content_policy():
    with pytest.raises(ValueError, match="refused"):
        ImageConfig("chibi girl, nude").check()
    with pytest.raises(ValueError, match="refused"):
        ImageConfig("a girl, lewd", body="child").check()
    ImageConfig("chibi girl, smiling", negative_prompt="nsfw, nude").check()


# -- the pipeline ------------------------------------------------------------------------------
def test_pose_reaches_controlnet_and_strength_zero_is_plain():
    jog = gen(controlnets=OPENPOSE, pose="jog")
    stand = gen(controlnets=OPENPOSE, pose="stand")
    assert jog.images[0].size == (64, 64)
    assert np.abs(jog.control_images["openpose"].astype(int) - stand.control_images["openpose"]).sum() > 0
    assert np.abs(arr(jog.images[0]) - arr(stand.images[0])).mean() > 0.2  # the pose changes the image
    again = gen(controlnets=OPENPOSE, pose="jog")
    assert np.array_equal(arr(again.images[0]), arr(jog.images[0]))  # seeded
    zero = gen(controlnets=(ControlSpec("openpose", "tiny", strength=0.0),), pose="jog")
    plain = gen()
    assert np.abs(arr(zero.images[0]) - arr(plain.images[0])).max() <= 1.0


def test_multi_controlnet_and_guidance_window():
    two = (ControlSpec("openpose", "tiny"), ControlSpec("depth", "tiny", strength=0.7))
    r = gen(controlnets=two, pose="jog")
    assert set(r.control_images) == {"openpose", "depth"} and r.control_images["depth"].shape == (64, 64, 3)
    one = gen(controlnets=OPENPOSE, pose="jog")
    assert np.abs(arr(r.images[0]) - arr(one.images[0])).mean() > 0.05  # the depth ControlNet acts too
    late = gen(controlnets=(ControlSpec("openpose", "tiny", start=0.5, end=1.0),), pose="jog")
    assert not np.array_equal(arr(late.images[0]), arr(one.images[0]))


def test_sdxl_tiny_with_controlnet_keeps_x8_vae():
    import json

    from kyara.generate.tiny import tiny_model_dir

    vae_cfg = json.loads((tiny_model_dir("tiny-sdxl") / "vae" / "config.json").read_text())
    assert 2 ** (len(vae_cfg["block_out_channels"]) - 1) == 8
    r = gen(model="tiny-sdxl", controlnets=(ControlSpec("openpose", "tiny-sdxl"),), pose="jog", width=64, height=48)
    assert r.images[0].size == (64, 48)
    assert arr(r.images[0]).std() > 0


def test_img2img_hires_batch_and_progress(tmp_path):
    from PIL import Image

    src = tmp_path / "init.png"
    Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(src)
    steps = []
    r = gen(init_image=str(src), denoise=0.5, steps=4)
    low = gen(init_image=str(src), denoise=0.25, steps=4)
    assert not np.array_equal(arr(r.images[0]), arr(low.images[0]))
    from kyara.generate.pipeline import generate

    cfg = ImageConfig("a girl", model="tiny", steps=2, width=64, height=64, controlnets=OPENPOSE, pose="stand",
                      hires_scale=1.5, hires_denoise=0.5, batch=2)
    h = generate(cfg, progress=lambda s, t, p: steps.append((s, t)))
    assert [im.size for im in h.images] == [(96, 96), (96, 96)]
    assert [(c.seed, c.batch) for c in h.configs] == [(0, 1), (1, 1)]
    assert steps[-1][0] == steps[-1][1] == 2 + 1


def test_cancel_between_steps():
    from kyara.generate.pipeline import GenerationCancelled, generate

    seen = []
    with pytest.raises(GenerationCancelled):
        generate(ImageConfig("a girl", model="tiny", steps=3, width=64, height=64),
                 progress=lambda s, t, p: seen.append(p), cancel=lambda: len(seen) >= 1)
    assert len(seen) == 1


def test_previews():
    from kyara.generate.pipeline import generate

    seen = []
    generate(ImageConfig("a girl", model="tiny", steps=2, width=64, height=64, previews=True),
             progress=lambda s, t, p: seen.append(p))
    assert len(seen) == 2 and seen[0].shape == (8, 8, 3) and seen[0].dtype == np.uint8


def test_every_scheduler_runs():
    from kyara.generate.schedulers import SCHEDULER_NAMES

    outs = {}
    for name in SCHEDULER_NAMES:
        r = gen(scheduler=name, steps=2, width=16, height=16)
        assert r.images[0].size == (16, 16)
        outs[name] = arr(r.images[0])
    assert not np.array_equal(outs["euler-a"], outs["ddim"])


def test_two_stacked_loras_weight_zero_equals_none(tmp_path):
    from kyara.generate.tiny import write_tiny_lora

    a = write_tiny_lora(tmp_path / "style_a.safetensors", seed=1)
    b = write_tiny_lora(tmp_path / "style_b.safetensors", seed=2)
    plain = arr(gen().images[0])
    zero = arr(gen(loras=(LoraSpec(str(a), 0.0), LoraSpec(str(b), 0.0))).images[0])
    one = arr(gen(loras=(LoraSpec(str(a), 1.0), LoraSpec(str(b), 0.0))).images[0])
    both = arr(gen(loras=(LoraSpec(str(a), 1.0), LoraSpec(str(b), 1.0))).images[0])
    assert np.abs(zero - plain).max() <= 1.0
    assert np.abs(one - plain).mean() > 0.2
    assert np.abs(both - one).mean() > 0.2


def test_textual_inversion_embedding(tmp_path):
    from kyara.generate.tiny import write_tiny_embedding

    emb = write_tiny_embedding(tmp_path / "badhands.safetensors", vectors=2)
    with_ti = arr(gen("a girl", negative_prompt="badhands", embeddings=(str(emb),)).images[0])
    without = arr(gen("a girl", negative_prompt="badhands").images[0])
    assert np.abs(with_ti - without).mean() > 0.05  # the token now means the embedding, not 8 letters


def test_single_file_original_layout_loads_with_local_config(tmp_path):
    from safetensors import safe_open

    from kyara.generate.tiny import tiny_model_dir, write_tiny_single_file

    f = write_tiny_single_file(tmp_path / "anime_model.safetensors")
    with safe_open(str(f), "pt") as fh:
        keys = list(fh.keys())
    assert any(k.startswith("model.diffusion_model.input_blocks.") for k in keys)
    assert any(k.startswith("first_stage_model.decoder.up.") for k in keys)
    single = gen(model=str(f), config=str(tiny_model_dir("tiny")))
    folder = gen(model="tiny")
    assert np.array_equal(arr(single.images[0]), arr(folder.images[0]))
    with pytest.raises(ValueError, match="needs --config"):
        gen(model=str(f))


# -- errors ------------------------------------------------------------------------------------
def test_wrong_family_is_one_line(tmp_path):
    from kyara.generate.tiny import write_tiny_lora

    with pytest.raises(ValueError, match="ControlNet 'tiny-sdxl' is for .* but model 'tiny'"):
        gen(controlnets=(ControlSpec("openpose", "tiny-sdxl"),), pose="jog")
    xl_lora = write_tiny_lora(tmp_path / "xl.safetensors", family="sdxl")
    with pytest.raises(ValueError, match="LoRA .* but model 'tiny'") as e:
        gen(loras=(LoraSpec(str(xl_lora), 1.0),))
    assert "\n" not in str(e.value)


def _cli(args, capsys):
    from kyara.cli.main import run

    code = run(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_cli_offline_error_is_fast_one_line(tmp_path, capsys, monkeypatch):
    expected = ("error: model 'x/y' is not in the local cache and the hub cannot be reached; "
                "download it with 'hf download x/y' or pass a local folder")
    t = time.perf_counter()
    code, _, err = _cli(["image", "a girl", "--model", "x/y", "-o", str(tmp_path / "o.png")], capsys)
    assert (code, err.strip()) == (2, expected)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: unreachable hub
    code, _, err = _cli(["image", "a girl", "--model", "x/y", "-o", str(tmp_path / "o.png")], capsys)
    assert (code, err.strip()) == (2, expected)
    assert time.perf_counter() - t < 8.0
    assert not (tmp_path / "o.png").exists()


def test_cli_pickle_refused(tmp_path, capsys):
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not really a pickle")
    code, _, err = _cli(["image", "a girl", "--model", str(ckpt), "-o", str(tmp_path / "o.png")], capsys)
    assert code == 2 and err.count("\n") == 1 and "--allow-pickle" in err and err.startswith("error: ")


def test_cli_bad_inputs(tmp_path, capsys):
    out = str(tmp_path / "o.png")
    for args in (["--size", "65"], ["--scheduler", "nope"], ["--lora", "missing.safetensors:0.5"],
                 ["--controlnet", "pose"], ["--pose-json", "nope.json"], ["--steps", "0"]):
        code, _, err = _cli(["image", "a girl", "--model", "tiny", "-o", out, *args], capsys)
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), (args, err)


def test_cli_runs_tiny_and_from_reproduces(tmp_path, capsys):
    from PIL import Image

    from kyara.generate.metadata import read_png_config

    out = tmp_path / "out.png"
    code, stdout, err = _cli(["image", "a girl, (red hair:1.2)", "--model", "tiny", "--pose", "jog", "--view",
                              "front", "--steps", "2", "--size", "64", "--seed", "5", "-o", str(out),
                              "--save-conditions"], capsys)
    assert code == 0, err
    assert (tmp_path / "out_openpose.png").is_file()
    with Image.open(out) as im:
        text = im.text
    assert text["parameters"].startswith("a girl, (red hair:1.2)\nNegative prompt: nsfw")
    assert "Steps: 2, Sampler: Euler a, CFG scale: 7.5, Seed: 5, Size: 64x64" in text["parameters"]
    cfg = read_png_config(out)
    assert (cfg.pose, cfg.seed, cfg.controlnets[0].kind) == ("jog", 5, "openpose")
    again = tmp_path / "again.png"
    code, _, err = _cli(["image", "--from", str(out), "-o", str(again)], capsys)
    assert code == 0, err
    assert np.array_equal(arr(Image.open(out)), arr(Image.open(again)))


def test_pose_json_and_pose_image_sources(tmp_path):
    from PIL import Image

    from kyara.pose.openpose import write_openpose_json
    from kyara.pose.views import posed_keypoints_2d

    kp = posed_keypoints_2d("teen-girl", "jog", "front", (128, 128))
    js = tmp_path / "pose.json"
    write_openpose_json(js, [kp], 128, 128)
    a = gen(controlnets=OPENPOSE, pose_json=str(js))
    assert a.control_images["openpose"].shape == (64, 64, 3) and a.control_images["openpose"].max() > 0
    img = tmp_path / "pose.png"
    Image.fromarray(a.control_images["openpose"]).save(img)
    b = gen(controlnets=OPENPOSE, pose_image=str(img))
    assert np.array_equal(arr(a.images[0]), arr(b.images[0]))


def test_metadata_roundtrip_and_a1111_parse(tmp_path):
    from PIL import Image

    from kyara.generate.metadata import parse_a1111, read_png_config, save_png

    cfg = ImageConfig("1girl, (smile:1.1)", model="some/model", steps=28, guidance=9.0, scheduler="dpm++-2m-karras",
                      clip_skip=2, seed=42, width=512, height=768, controlnets=(ControlSpec("depth", "a/b", 0.6, 0.1, 0.9),),
                      loras=(LoraSpec("style.safetensors", 0.8),))
    p = save_png(Image.new("RGB", (8, 8)), tmp_path / "m.png", cfg)
    assert read_png_config(p) == cfg
    back = parse_a1111("1girl <lora:x:0.5>\nNegative prompt: bad\nSteps: 28, Sampler: DPM++ 2M Karras, CFG scale: 9, "
                       "Seed: 42, Size: 512x768, Model: anything, Clip skip: 2")
    assert back.loras == (LoraSpec("x.safetensors", 0.5),)
    assert (back.prompt, back.negative_prompt, back.steps, back.scheduler, back.seed, back.width, back.height,
            back.clip_skip) == ("1girl", "bad", 28, "dpm++-2m-karras", 42, 512, 768, 2)


def test_import_kyara_stays_light():
    code = ("import sys, kyara, kyara.generate, kyara.cli.main; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
