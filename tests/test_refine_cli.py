"""``kyara refine``: the tiny model refines an imported VRM's textures end to end; resume; one-line errors."""

from __future__ import annotations

import json

import numpy as np
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
    for name in ("texture.png", "normal.png", "avatar.vrm", "turntable.gif", "normal_turntable.gif", "progress.gif",
                 "loss.json", "run/checkpoint.safetensors"):
        assert (out / name).is_file(), name
    report = run_validator([out / "avatar.vrm"])
    assert report[str(out / "avatar.vrm")]["numErrors"] == 0, report
    # the refined normal map is every painted material's normalTexture, byte for byte normal.png
    from kyara.export.gltf import read_glb

    g, binary = read_glb((out / "avatar.vrm").read_bytes())
    painted = [m for m in g["materials"] if "baseColorTexture" in m["pbrMetallicRoughness"]
               and g["textures"][m["pbrMetallicRoughness"]["baseColorTexture"]["index"]]["name"] == "painted_base"]
    assert painted and all("normalTexture" in m for m in painted)
    img = g["images"][g["textures"][painted[0]["normalTexture"]["index"]]["source"]]
    view = g["bufferViews"][img["bufferView"]]
    assert binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]] == (out / "normal.png").read_bytes()
    mats = {i for i, m in enumerate(g["materials"]) if "normalTexture" in m}
    prims = [p for m in g["meshes"] for p in m["primitives"] if p.get("material") in mats]
    assert prims and all("TANGENT" in p["attributes"] for p in prims)  # the refined frame, not a generated one
    assert report[str(out / "avatar.vrm")]["numWarnings"] == 0, report
    nrm = np.asarray(Image.open(out / "normal.png"))
    assert nrm.shape == (64, 64, 3) and abs(int(nrm[..., 2].mean()) - 255) < 40  # near flat (0.5, 0.5, 1)
    loss = json.loads((out / "loss.json").read_text())
    assert loss["step"] == [1, 2, 3] and len(loss["loss"]) == 3 and all(v > 0 for v in loss["sds_rms"])
    assert loss["it_s"][0] == 0 and loss["it_s"][-1] > 0 and loss["iterations_per_s"] > 0
    assert loss["posed_from_iteration"] == 2 and loss["progress_frames"] == [0, 1, 2, 3]
    # 16 rest-pose cameras, then 8 preset poses x 2 cameras for the posed stage
    assert len(loss["prompts"]) == 32 and any(p.startswith("front view of") for p in loss["prompts"])
    with Image.open(out / "progress.gif") as gif:
        assert gif.n_frames == 4 and gif.size == (4 * 64, 64)
    with Image.open(out / "normal_turntable.gif") as gif:
        assert gif.n_frames == 36
    tex = Image.open(out / "texture.png")
    assert tex.size == (64, 64)
    # the same folder again: refused without --resume; with --resume the finished run ends at once
    assert run(_argv(vrm, out)) == 2
    assert "--resume" in capsys.readouterr().err
    first = (out / "texture.png").read_bytes()
    assert run(_argv(vrm, out, "--resume")) == 0, capsys.readouterr().err
    assert (out / "texture.png").read_bytes() == first
    # --resume with another schedule: one line, before the model is looked at (even a missing one)
    argv = _argv(vrm, out, "--resume", "--posed-fraction", "0.5")
    argv[argv.index("tiny")] = str(tmp_path / "no-such-model")
    assert run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another schedule" in err[0] and "posed_fraction 0.25 -> 0.5" in err[0], err
    # same seed in a fresh folder: the same texture
    again = tmp_path / "again"
    assert run(_argv(vrm, again)) == 0
    assert (again / "texture.png").read_bytes() == first


def test_resume_refuses_another_schedule_before_any_model_loads(tmp_path, capsys, monkeypatch):
    """A checkpoint header alone (no run): another --iters is refused by the header, and the same
    options go on to the model check (a missing model), so the schedule check came first."""
    import torch
    from safetensors.torch import save_file

    import kyara.paint.backend as backend
    from kyara.cli.cmd_refine import refine_config
    from kyara.refine.avatar import run_schedule

    def no_loading(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(backend, "load_painter", no_loading)
    out = tmp_path / "run-folder"
    (out / "run").mkdir(parents=True)
    arch = run_schedule(refine_config(3, 1, 0.0, 0.25), 64, 64)
    save_file({"model.albedo": torch.zeros(1)}, str(out / "run" / "checkpoint.safetensors"),
              metadata={"step": "1", "info": json.dumps({"arch": arch})})
    vrm = tmp_path / "missing.vrm"
    argv = _argv(vrm, out, "--resume")
    argv[argv.index("tiny")] = str(tmp_path / "no-such-model")
    argv[argv.index("--iters") + 1] = "5"
    assert run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "another schedule" in err[0] and "iters 3 -> 5" in err[0]
    argv[argv.index("--iters") + 1] = "3"  # the same schedule: on to the next check (the missing character)
    assert run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another schedule" not in err[0], err
    assert list((out / "run").iterdir()) == [out / "run" / "checkpoint.safetensors"]  # nothing written


@pytest.mark.slow
def test_create_refine_runs_the_refine_entry_point_into_the_create_folder(tmp_path, capsys, monkeypatch):
    """``kyara create PROMPT --model tiny --refine``: every refinement option is checked before the
    character is written, then the built character goes through kyara refine's own entry point
    (recorded here instead of run: the refinement itself is the test above)."""
    from types import SimpleNamespace

    import kyara.character.create as create
    import kyara.cli.cmd_refine as cmd_refine

    def created(spec, output, pose, size, **kw):  # kyara create's own files are its tests' business
        from pathlib import Path

        Path(output).mkdir(exist_ok=True)
        (Path(output) / "character.json").write_text("{}")
        return SimpleNamespace(out_dir=Path(output), files=[Path(output) / "character.json"], seconds={"all": 0.0})

    calls = []
    monkeypatch.setattr(cmd_refine, "run_refine", lambda *a: calls.append(a))
    monkeypatch.setattr(create, "create_character", created)
    out = tmp_path / "made"
    argv = ["create", "a girl", "--size", "64", "--frames", "1", "--model", "tiny", "--refine", "--iters", "7",
            "--view-size", "64", "--texture-size", "128", "--posed-fraction", "0.5", "--seed", "3", "-o", str(out)]
    assert run(argv) == 0, capsys.readouterr().err
    (character, cfg, folder, text), = calls
    assert folder == str(out) and (out / "character.json").is_file() and text == "a girl"
    assert len(character.parts) > 3  # the built character
    assert (cfg.refine.iters, cfg.refine.posed_fraction, cfg.refine.seed, cfg.refine.shading) == (7, 0.5, 3, "toon")
    assert cfg.image.width == 64 and cfg.texture_size == 128 and cfg.image.model == "tiny"
    # a bad refinement option: one line, nothing written
    assert run([*argv[:-1], str(tmp_path / "bad")][:9] + ["--iters", "0", "-o", str(tmp_path / "bad")]) == 2
    assert "--iters 0" in capsys.readouterr().err and not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_refine_with_gaussians_writes_a_layer_render_draws(tmp_path, capsys):
    """``--gaussians N``: the layer is optimised after the texture, written as gaussians.ply bound to the
    avatar's mesh (``kyara render --gaussians`` draws it on the same avatar), drawn over the turntable and
    baked into the VRM's base texture (texture.png stays the refined texture)."""
    from PIL import Image

    from kyara.export import export_character
    from kyara.export.gltf import read_glb
    from kyara.gaussians.io import read_layer

    vrm = export_character(synthetic_character(), "vrm", tmp_path / "in.vrm").path
    out = tmp_path / "refined"
    argv = _argv(vrm, out, "--posed-fraction", "0", "--gaussians", "60", "--gaussian-iters", "2",
                 "--no-gaussian-densify")
    assert run(argv) == 0, capsys.readouterr().err
    assert "60 Gaussians" in capsys.readouterr().out
    layer = read_layer(out / "gaussians.ply")
    assert len(layer) == 60
    assert json.loads((out / "loss.json").read_text())["gaussians"] == 60
    assert run_validator([out / "avatar.vrm"])[str(out / "avatar.vrm")]["numErrors"] == 0
    # three-vrm loads the refined avatar (normal map with tangents, baked base texture) without a word
    from test_export_common import run_three_vrm

    r = run_three_vrm([{"vrm": str(out / "avatar.vrm"), "vrma": None}])[str(out / "avatar.vrm")]
    assert "error" not in r and r["console"] == [], r
    assert r["mtoon"] > 0 and r["other"] == 0
    # the VRM's base texture is texture.png with the layer baked in
    g, binary = read_glb((out / "avatar.vrm").read_bytes())
    tex = next(t for t in g["textures"] if t.get("name") == "painted_base")
    view = g["bufferViews"][g["images"][tex["source"]]["bufferView"]]
    import io

    baked = np.asarray(Image.open(io.BytesIO(binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]])))
    plain = np.asarray(Image.open(out / "texture.png"))
    assert baked.shape == plain.shape and (baked != plain).any(axis=-1).mean() > 0.001
    # the layer is bound to the avatar kyara render builds from the same file
    assert run(["render", "--character", str(vrm), "--gaussians", str(out / "gaussians.ply"), "--size", "96",
                "-o", str(tmp_path / "r")]) == 0, capsys.readouterr().err
    with_layer = np.asarray(Image.open(tmp_path / "r" / "front_gaussians.png"))
    toon = np.asarray(Image.open(tmp_path / "r" / "front_toon.png"))
    assert with_layer.shape == toon.shape and (with_layer != toon).any()
