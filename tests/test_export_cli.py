"""``kyara export``: one-line errors with exit code 2 and no file for bad input; working exports."""

from __future__ import annotations

import json

import pytest
import trimesh

from kyara.cli.main import run


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--format", "fbx", "-o", "{d}/a.fbx"], "format 'fbx' is unknown"),
        (["--format", "vrm", "-o", "{d}/missing/a.vrm"], "does not exist"),
        (["--format", "stl", "--height-mm", "0", "-o", "{d}/a.stl"], "height 0"),
        (["--format", "stl", "--height-mm", "2001", "-o", "{d}/a.stl"], "height 2001"),
        (["--format", "vrm", "--license", "commercialUsage=free", "-o", "{d}/a.vrm"], "commercialUsage='free'"),
        (["--format", "vrm", "--license", "avatarPermission", "-o", "{d}/a.vrm"], "key=value"),
        (["--format", "vrma", "-o", "{d}/a.vrma"], "needs a motion"),
        (["--format", "vrm", "--motion", "walk", "-o", "{d}/a.vrm"], "separate .vrma"),
        (["--format", "vrm", "--pose", "jog", "-o", "{d}/a.vrm"], "rest T-pose"),
        (["--format", "stl", "--pose", "moonwalk", "-o", "{d}/a.stl"], "unknown pose 'moonwalk'"),
        (["--format", "glb", "--motion", "moonwalk", "-o", "{d}/a.glb"], "motion 'moonwalk'"),
        (["--format", "vrm", "-o", "{d}/a.glb"], "expected one of .vrm"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, capsys, argv, needle):
    argv = ["export", "--prompt", "an anime girl"] + [a.replace("{d}", str(tmp_path)) for a in argv]
    assert run(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_spec_and_prompt_are_exclusive(tmp_path, capsys):
    assert run(["export", "x.json", "--prompt", "a girl", "--format", "ply", "-o", str(tmp_path / "a.ply")]) == 2
    assert run(["export", "--character", "x.json", "--prompt", "a girl", "--format", "ply",
                "-o", str(tmp_path / "a.ply")]) == 2
    assert run(["export", "x.json", "--character", "y.json", "--format", "ply", "-o", str(tmp_path / "a.ply")]) == 2
    assert "not both" in capsys.readouterr().err
    assert run(["export", str(tmp_path / "none.json"), "--format", "ply", "-o", str(tmp_path / "a.ply")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_obj_and_ply_exports_of_a_posed_character(tmp_path):
    from test_export_common import synthetic_character

    from kyara.export import ExportOptions, export_character

    c = synthetic_character()
    n_v = sum(len(p.vertices) for p in c.parts)
    n_f = sum(len(p.faces) for p in c.parts)
    ply = export_character(c, "ply", tmp_path / "a.ply", ExportOptions(pose="wave"))
    m = trimesh.load(ply.path, process=False)
    assert len(m.vertices) == n_v and len(m.faces) == n_f
    rest_top = max(float(p.vertices[:, 1].max()) for p in c.parts)
    assert m.vertices[:, 1].max() > rest_top + 0.03  # the waving hand is raised above the head
    obj = export_character(c, "obj", tmp_path / "a.obj")
    assert obj.extra_paths == [tmp_path / "a.mtl"]
    text = obj.path.read_text()
    assert text.count("\nusemtl ") == len(c.parts) and text.count("\nf ") == n_f
    assert "newmtl badge" in (tmp_path / "a.mtl").read_text()
    scene = trimesh.load(obj.path, process=False, group_material=False)
    assert sum(len(g.faces) for g in scene.geometry.values()) == n_f


@pytest.mark.slow
def test_export_from_a_spec_file(tmp_path, capsys):
    spec = tmp_path / "character.json"
    assert run(["spec", "an anime boy in a hoodie", "--seed", "0"]) == 0
    spec.write_text(capsys.readouterr().out)
    json.loads(spec.read_text())
    assert run(["export", str(spec), "--format", "ply", "-o", str(tmp_path / "a.ply")]) == 0
    m = trimesh.load(tmp_path / "a.ply", process=False)
    assert len(m.vertices) > 15000
    # --character FILE is the same file as the positional form, as in render/animate/image
    assert run(["export", "--character", str(spec), "--format", "ply", "-o", str(tmp_path / "b.ply")]) == 0
    assert (tmp_path / "b.ply").read_bytes() == (tmp_path / "a.ply").read_bytes()
    assert run(["export", str(spec), "--format", "obj", "--pose", "wave", "-o", str(tmp_path / "a.obj")]) == 0
    assert (tmp_path / "a.mtl").exists() and "mtllib a.mtl" in (tmp_path / "a.obj").read_text()[:200]
    assert run(["export", str(spec), "--format", "vrm", "--author", "Me", "--license", "commercialUsage=personalProfit",
                "-o", str(tmp_path / "a.vrm")]) == 0
    from kyara.export.gltf import read_glb

    meta = read_glb((tmp_path / "a.vrm").read_bytes())[0]["extensions"]["VRMC_vrm"]["meta"]
    assert meta["authors"] == ["Me"] and meta["commercialUsage"] == "personalProfit"
