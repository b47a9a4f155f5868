"""``kyara paint`` / ``kyara create --model``: one-line errors before any output, and the command end
to end on an imported VRM (tiny models), measured again by :func:`kyara.paint.evaluate.evaluate_paint`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kyara.cli.main import run

pytest.importorskip("diffusers")


def _one_line_error(capsys, needle: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err


@pytest.mark.parametrize("argv, needle", [
    (["--views", "65"], "--views 65"),
    (["--texture-size", "8"], "--texture-size 8"),
    (["--view-size", "4096"], "--view-size 4096"),
    (["--controlnet", "depth"], "KIND=ID"),
    (["--lora", "missing.safetensors:0.5"], "does not exist"),
    (["--steps", "0"], "steps 0"),
    (["--pose", "moonwalk"], "moonwalk"),
    (["--face-views", "17"], "--face-views 17"),
    (["--front-back", "both"], "--front-back 'both'"),
])
def test_paint_errors_are_one_line_and_write_nothing(tmp_path, capsys, argv, needle):
    vrm = tmp_path / "a.vrm"
    vrm.write_bytes(b"not read before the options are checked")
    out = tmp_path / "out"
    code = run(["paint", "--character", str(vrm), "--prompt", "a girl", "--model", "tiny", *argv, "-o", str(out)])
    assert code == 2
    _one_line_error(capsys, needle)
    assert not out.exists()


def test_create_checks_painting_before_writing(tmp_path, capsys):
    out = tmp_path / "c"
    code = run(["create", "a girl", "--model", "tiny", "--size", "512x256", "-o", str(out)])
    assert code == 2
    _one_line_error(capsys, "--size")
    assert not out.exists()
    code = run(["create", "a girl", "--model", "tiny", "--controlnet", "canny=tiny", "-o", str(out)])
    assert code == 2
    _one_line_error(capsys, "cannot paint")
    assert not out.exists()
    for argv, needle in ((["--front-back", "both"], "--front-back 'both'"), (["--face-views", "17"], "--face-views 17")):
        code = run(["create", "a girl", "--model", "tiny", *argv, "-o", str(out)])
        assert code == 2
        _one_line_error(capsys, needle)
        assert not out.exists()


def test_create_hands_face_views_and_front_back_to_the_painting(tmp_path, capsys, monkeypatch):
    """kyara create --model takes kyara paint's face close-ups and front/back options as they are."""
    import kyara.cli.cmd_paint as cmd_paint

    seen = {}
    monkeypatch.setattr(cmd_paint, "run_paint", lambda character, cfg, *a, **k: seen.update(cfg=cfg))
    code = run(["create", "a girl", "--model", "tiny", "--face-views", "3", "--front-back", "canvas",
                "--frames", "1", "--size", "96", "-o", str(tmp_path / "c")])
    assert code == 0, capsys.readouterr().err
    assert seen["cfg"].face_views == 3 and seen["cfg"].front_back == "canvas"
    code = run(["create", "a girl", "--model", "tiny", "--frames", "1", "--size", "96", "-o", str(tmp_path / "d")])
    assert code == 0 and seen["cfg"].face_views is None and seen["cfg"].front_back == "reference"  # kyara paint's defaults


@pytest.mark.slow
def test_paint_an_imported_vrm_and_measure_it_again(tmp_path, capsys):
    pytest.importorskip("xatlas")
    from test_export_common import synthetic_character

    from PIL import Image

    from kyara.export import export_character
    from kyara.paint.evaluate import evaluate_paint

    vrm = export_character(synthetic_character(), "vrm", tmp_path / "in.vrm").path
    out = tmp_path / "painted"
    code = run(["paint", "--character", str(vrm), "--prompt", "a girl", "--model", "tiny", "--views", "4",
                "--face-views", "1", "--steps", "2", "--view-size", "64", "--texture-size", "128", "--size", "96",
                "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "painted 5 views x 2 steps" in captured.out  # 4 + a face close-up
    for name in ("texture.png", "avatar.vrm", "front.png", "side.png", "back.png", "turntable.gif", "paint.json"):
        assert (out / name).is_file(), name
    assert len(list((out / "views").glob("view*.png"))) == 5
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    rep = json.loads((out / "paint.json").read_text())
    figures = evaluate_paint(out)
    assert figures["views"] == 5 and figures["clipscore"] is None and rep["face_views"] == 1
    assert rep["prompts"][-1].endswith(", face close-up")
    # the views are saved as 8-bit PNGs, the run baked the same 8-bit decoded views: same figures
    assert figures["coverage"] == pytest.approx(rep["coverage"], abs=1e-9)
    assert figures["consistency"] == pytest.approx(rep["consistency_rgb"], rel=1e-6)
    with pytest.raises(FileNotFoundError, match="no paint.json"):
        evaluate_paint(tmp_path)
    assert np.isfinite(figures["consistency"])
    # the same figures through the command line, printed and as JSON
    code = run(["eval", "paint", str(out), "-o", str(tmp_path / "eval.json")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "coverage" in captured.out and "CLIPScore: not measured" in captured.out
    assert json.loads((tmp_path / "eval.json").read_text())["coverage"] == pytest.approx(rep["coverage"], abs=1e-9)
    # with user CLIP weights (--clip PATH: a local folder) CLIPScore is a number in 0..100
    from kyara.paint.evaluate import clip_score

    clip = tiny_clip(tmp_path / "clip")
    code = run(["eval", "paint", str(out), "--clip", str(clip), "-o", str(tmp_path / "eval_clip.json")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    score = json.loads((tmp_path / "eval_clip.json").read_text())["clipscore"]
    assert 0.0 <= score <= 100.0 and f"CLIPScore: {score:.2f}" in captured.out
    views = [np.asarray(Image.open(out / "views" / f"view{k}.png").convert("RGB")) for k in range(5)]
    assert score == pytest.approx(clip_score(views, rep["prompts"], clip), abs=1e-4)


@pytest.mark.slow
def test_create_with_a_model_paints_after_the_usual_files(tmp_path, capsys, monkeypatch):
    """create --model: the usual files, then the painted ones (previews at --size, views at --view-size);
    then kyara paint --character on that character.json paints its spec's own description."""
    pytest.importorskip("xatlas")
    from PIL import Image

    import kyara.cli.cmd_paint as cmd_paint
    from kyara.character.describe import spec_prompt
    from kyara.character.spec import load_spec
    from kyara.export.gltf import read_glb

    out = tmp_path / "girl"
    code = run(["create", "a girl in a sailor uniform", "--model", "tiny", "--views", "4", "--steps", "2",
                "--view-size", "64", "--size", "96", "--frames", "2", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "painted 4 views x 2 steps" in captured.out
    for name in ("character.json", "avatar_print.stl", "conditions/front_openpose.png", "sheet/ref0.png",
                 "texture.png", "avatar.vrm", "front.png", "turntable.gif", "views/view3.png", "paint.json"):
        assert (out / name).is_file(), name
    gltf, _ = read_glb((out / "avatar.vrm").read_bytes())
    assert "painted_base" in {t["name"] for t in gltf["textures"]}  # the painted avatar replaced the plain one
    rep = json.loads((out / "paint.json").read_text())
    assert rep["character"] == str((out / "character.json").resolve())
    assert rep["prompts"][0].startswith("front view of a girl in a sailor uniform")
    assert Image.open(out / "front.png").size == (96, 96) and Image.open(out / "views" / "view0.png").size == (64, 64)
    # kyara paint --character character.json (the painting itself is the imported-VRM test's)
    seen = {}
    monkeypatch.setattr(cmd_paint, "run_paint", lambda character, cfg, o, side, name, source=None:
                        seen.update(character=character, cfg=cfg, out=o, side=side, source=source))
    code = run(["paint", "--character", str(out / "character.json"), "--model", "tiny", "--steps", "2",
                "--views", "4", "--view-size", "64", "-o", str(tmp_path / "again")])
    assert code == 0, capsys.readouterr().err
    assert seen["cfg"].image.prompt == spec_prompt(load_spec(out / "character.json"))
    assert seen["source"] == out / "character.json" and seen["side"] == 512 and len(seen["character"].parts) > 10


def test_benchmark_prompts_hold_the_gallery_and_more():
    """The benchmark list of ``kyara eval paint``: the seven gallery prompts (the README gallery's, the
    create issue's acceptance prompts) first, then more; all distinct, each with a known pose."""
    from acceptance_prompts import GALLERY

    from kyara.paint.evaluate import BENCHMARK_PROMPTS, GALLERY_PROMPTS
    from kyara.pose.presets import POSE_NAMES

    assert [p for p, _ in GALLERY_PROMPTS] == list(GALLERY.values())
    assert BENCHMARK_PROMPTS[:7] == GALLERY_PROMPTS and len(BENCHMARK_PROMPTS) >= 14
    assert len({p for p, _ in BENCHMARK_PROMPTS}) == len(BENCHMARK_PROMPTS)
    assert all(pose in POSE_NAMES for _, pose in BENCHMARK_PROMPTS)
    assert dict(GALLERY_PROMPTS)[GALLERY["jogger"]] == "jog"


@pytest.mark.slow
def test_paint_benchmark_creates_paints_and_measures_each_prompt(tmp_path):
    """paint_benchmark on one prompt (tiny model, dataset-quality mesh): a folder with character.json
    and the painted files, its figures measured again, and the table's lines."""
    pytest.importorskip("xatlas")
    from kyara.character.build import BuildOptions
    from kyara.generate.config import ControlSpec, ImageConfig
    from kyara.paint.backend import PaintConfig
    from kyara.paint.evaluate import benchmark_table, evaluate_paint, paint_benchmark

    img = ImageConfig("unused", model="tiny", steps=1, width=64, height=64, seed=0,
                      controlnets=(ControlSpec("openpose", "tiny"),))
    seen = []
    rows = paint_benchmark(PaintConfig(img, views=2, texture_size=128), tmp_path,
                           [("an anime boy with glasses", "stand")], build_options=BuildOptions(quality="dataset"),
                           size=64, turntable_frames=2, turntable_size=32,
                           progress=lambda k, n, p: seen.append((k, n)))
    assert seen == [(0, 1)] and len(rows) == 1
    row = rows[0]
    folder = tmp_path / "00-an-anime-boy-with-glasses"
    assert row["folder"] == str(folder) and (folder / "character.json").is_file() and (folder / "avatar.vrm").is_file()
    rep = json.loads((folder / "paint.json").read_text())
    assert rep["prompts"][0] == "front view of an anime boy with glasses" and rep["pose"] == "stand"
    assert row["coverage"] == pytest.approx(evaluate_paint(folder)["coverage"]) and row["clipscore"] is None
    table = benchmark_table(rows)
    assert len(table) == 4 and "an anime boy with glasses" in table[2] and "mean of 1" in table[3]
    with pytest.raises(ValueError, match="no prompts"):
        paint_benchmark(PaintConfig(img), tmp_path, [])


def tiny_clip(folder):
    """A random CLIP model in the transformers layout (a local folder, as --clip takes): the byte-level
    tiny tokenizer, a 32 px image processor, 2-layer encoders."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    from kyara.generate.tiny import BOS_ID, EOS_ID, write_tokenizer

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    write_tokenizer(folder)
    text = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2, vocab_size=600,
                max_position_embeddings=77, bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID)
    vision = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2, image_size=32,
                  patch_size=8)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).save_pretrained(folder)
    proc = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                            crop_size={"height": 32, "width": 32}),
                         tokenizer=CLIPTokenizer.from_pretrained(folder))
    proc.save_pretrained(folder)
    return folder


def test_clip_score_with_a_local_clip_folder(tmp_path):
    """CLIPScore = mean over views of 100 * max(cos(image, its prompt), 0), checked against the
    model's own image/text features computed apart; a folder without config.json is one clear error."""
    torch = pytest.importorskip("torch")
    from transformers import CLIPModel, CLIPProcessor

    from kyara.paint.evaluate import clip_score

    clip = tiny_clip(tmp_path / "clip")
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (48, 48, 3)).astype(np.uint8) for _ in range(3)]
    prompts = ["front view of a girl", "side view of a girl", "back view of a girl"]
    got = clip_score(images, prompts, clip)
    model = CLIPModel.from_pretrained(clip).eval()
    proc = CLIPProcessor.from_pretrained(clip)
    scores = []
    with torch.no_grad():
        for im, p in zip(images, prompts):
            pix = proc(images=[im], return_tensors="pt")["pixel_values"]
            tok = proc(text=[p], return_tensors="pt", padding=True)
            a = model.visual_projection(model.vision_model(pixel_values=pix).pooler_output)[0]
            b = model.text_projection(model.text_model(input_ids=tok["input_ids"],
                                                       attention_mask=tok["attention_mask"]).pooler_output)[0]
            scores.append(100 * max(float(torch.nn.functional.cosine_similarity(a, b, dim=0)), 0.0))
    assert got == pytest.approx(float(np.mean(scores)), abs=1e-3)
    assert 0.0 <= got <= 100.0
    with pytest.raises(FileNotFoundError, match="no config.json"):
        clip_score(images, prompts, tmp_path)


@pytest.mark.slow
def test_ctrl_c_in_kyara_paint_exits_130_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """Ctrl-C during the sampling of ``kyara paint``: exit code 130, no traceback, no output folder."""
    pytest.importorskip("xatlas")
    from test_export_common import synthetic_character

    import kyara.paint.backend as backend
    from kyara.export import export_character

    def interrupted(character, config, progress=None, cancel=None, timings=None):
        progress(1, config.image.steps)  # a step is done, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(backend, "paint_texture", interrupted)
    vrm = export_character(synthetic_character(), "vrm", tmp_path / "in.vrm").path
    out = tmp_path / "painted"
    code = run(["paint", "--character", str(vrm), "--prompt", "a girl", "--model", "tiny", "--steps", "2",
                "--view-size", "64", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 130 and "Traceback" not in captured.err, captured.err  # (typer turns Ctrl-C into exit 130)
    assert not out.exists()
