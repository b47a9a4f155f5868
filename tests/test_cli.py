"""The command line: one-line errors with exit code 2, no partial files, body/pose/presets outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import trimesh

from kyara.cli.main import run


def _err_lines(capsys):
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["body", "--body", "giant", "-o", "{d}/b.ply"], "unknown body preset 'giant'"),
        (["body", "--heads", "12", "-o", "{d}/b.ply"], "heads_tall=12"),
        (["body", "--height", "0.1", "-o", "{d}/b.ply"], "height=0.1"),
        (["body", "--param", "eye_size=9", "-o", "{d}/b.ply"], "eye_size=9"),
        (["body", "--param", "wings=2", "-o", "{d}/b.ply"], "unknown body parameter"),
        (["body", "-o", "{d}/b.stl"], "expected one of .ply, .obj"),
        (["body", "-o", "{d}/missing/b.ply"], "does not exist"),
        (["body", "--bogus"], "No such option"),
        (["pose", "--pose", "moonwalk", "-o", "{d}/p.json"], "unknown pose 'moonwalk'"),
        (["pose", "--pose", "jog", "--size", "0", "-o", "{d}/p.json"], "--size '0'"),
        (["pose", "--pose", "jog", "--size", "99999", "-o", "{d}/p.json"], "--size '99999'"),
        (["pose", "--pose", "jog", "--view", "up", "-o", "{d}/p.json"], "--view 'up'"),
        ([], "missing command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, needle):
    argv = [a.replace("{d}", str(tmp_path)) for a in argv]
    assert run(argv) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_console_script_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kyara.cli.main", "body", "--body", "nope", "-o", str(tmp_path / "x.ply")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_body_writes_mesh_with_vertex_order_intact(tmp_path, capsys):
    from kyara.body.model import build_body

    out = tmp_path / "body.ply"
    assert run(["body", "--body", "teen-girl", "-o", str(out)]) == 0
    mesh = trimesh.load(out, process=False)
    b = build_body("teen-girl")
    assert np.allclose(mesh.vertices, b.vertices, atol=1e-6) and np.array_equal(mesh.faces, b.faces)
    out2 = tmp_path / "body.obj"
    assert run(["body", "--body", "teen-girl", "-o", str(out2)]) == 0
    assert len(trimesh.load(out2, process=False).faces) == len(b.faces)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_pose_writes_openpose_json(tmp_path, capsys):
    out = tmp_path / "jog.json"
    assert run(["pose", "--pose", "jog", "--body", "teen-girl", "--view", "front", "--size", "768x512", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["canvas_width"] == 768 and data["canvas_height"] == 512
    person = data["people"][0]
    assert len(person["pose_keypoints_2d"]) == 54 and len(person["face_keypoints_2d"]) == 210
    xs = person["pose_keypoints_2d"][0::3]
    cs = person["pose_keypoints_2d"][2::3]
    assert cs[2] == 1 and cs[5] == 1 and xs[2] < xs[5]  # right shoulder left of left shoulder
    back = tmp_path / "back.json"
    assert run(["pose", "--pose", "t-pose", "--view", "back", "-o", str(back)]) == 0
    cb = json.loads(back.read_text())["people"][0]["pose_keypoints_2d"][2::3]
    assert cb[0] == 0 and cb[14] == 0 and cb[15] == 0  # nose and eyes hidden from behind
    front = tmp_path / "front.json"
    assert run(["pose", "--pose", "t-pose", "--view", "front", "-o", str(front)]) == 0
    assert all(c == 1 for c in json.loads(front.read_text())["people"][0]["pose_keypoints_2d"][2::3])


def test_presets_lists_everything(capsys):
    assert run(["presets"]) == 0
    out = capsys.readouterr().out
    for word in ("chibi", "heroic", "heads_tall", "peace-sign", "kung-fu"):
        assert word in out


def test_import_is_light():
    code = "import sys, time; t = time.perf_counter(); import kyara; dt = time.perf_counter() - t; " \
           "print(dt, 'torch' in sys.modules, 'moderngl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 0.3 and out[1] == "False" and out[2] == "False"
