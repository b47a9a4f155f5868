"""Studio handlers without a browser: upload checks, session folders, pose sliders, previews,
image configs, the generation job (progress, cancel, the CLI's missing-weights message), CLI
option checks, and that ``import kyara`` stays free of gradio."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from kyara.studio import handlers as H
from kyara.studio.config import StudioConfig
from kyara.studio.session import Workspace, check_upload, is_inside


# -- uploads and folders ---------------------------------------------------------------------------
def _png(path, size=(8, 8)):
    from PIL import Image

    Image.fromarray(np.full((*size, 3), 200, np.uint8)).save(path)
    return path


def test_check_upload_accepts_good_files(tmp_path):
    assert check_upload(_png(tmp_path / "a.png"), "image") == tmp_path / "a.png"
    (tmp_path / "m.bvh").write_text("HIERARCHY\nROOT Hips\n")
    assert check_upload(tmp_path / "m.bvh", "motion").name == "m.bvh"
    (tmp_path / "p.json").write_text('{"people": []}')
    assert check_upload(tmp_path / "p.json", "openpose").name == "p.json"


@pytest.mark.parametrize("name, data, kind, message", [
    ("c.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image", "corrupt image"),
    ("x.png", b"just text, not an image", "image", "not a PNG, JPEG or WebP"),
    ("x.exe", b"MZ\x90\x00", "image", "has type '.exe'"),
    ("p.json", b"not json", "openpose", "not JSON text"),
    ("a.vrm", b"PK\x03\x04 not gltf", "avatar", "no 'glTF' magic"),
    ("m.bvh", b"MOTION only", "motion", "no HIERARCHY header"),
    ("e.json", b"", "openpose", "is empty"),
])
def test_check_upload_refuses_bad_files(tmp_path, name, data, kind, message):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError, match=message) as err:
        check_upload(tmp_path / name, kind)
    assert "\n" not in str(err.value)


def test_check_upload_refuses_large_files(tmp_path):
    p = tmp_path / "big.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(3 * 2**20))
    with pytest.raises(ValueError, match=r"is 3.0 MB, expected at most 2 MB"):
        check_upload(p, "image", max_mb=2)


def test_workspace_folders_stay_inside(tmp_path):
    ws = Workspace.for_session(tmp_path, "../../etc")
    assert ws.dir.parent == tmp_path and is_inside(ws.dir, tmp_path)
    a, b = ws.job_dir("pose"), ws.job_dir("pose")
    assert a != b and a.name.startswith("pose-") and a.is_dir() and b.is_dir()
    assert ws.contains(a / "x.png")
    assert not ws.contains(a / ".." / ".." / ".." / "outside.txt")
    (tmp_path / "secret.txt").write_text("x")
    os.symlink(tmp_path / "secret.txt", a / "link.txt")
    assert not ws.contains(a / "link.txt")  # a symlink out of the folder is outside
    with pytest.raises(ValueError, match="job kind"):
        ws.job_dir("../x")


def test_studio_config_checks():
    assert StudioConfig().check().host == "127.0.0.1"
    for bad, msg in ((dict(port=70000), "--port"), (dict(host="bad host"), "--host"),
                     (dict(max_upload_mb=0), "--max-upload-mb")):
        with pytest.raises(ValueError, match=msg):
            StudioConfig(**bad).check()


# -- pose ------------------------------------------------------------------------------------------
def test_pose_sliders_follow_the_preset_and_override_it():
    st = H.pose_state("jog", None)
    vals = H.slider_values(st)
    keys = [k for k, *_ in H.SLIDERS]
    assert abs(vals[keys.index("l_elbow")] - 90) < 0.5  # jog bends the elbows
    for (key, bone, angle, _), v in zip(H.SLIDERS, vals):
        lo, hi = H.slider_range(bone, angle)
        assert lo <= v <= hi, key
    base = H.pose_from_state(st)
    same = H.pose_from_state(st, vals)
    np.testing.assert_allclose(np.abs((base.rotations * same.rotations).sum(1)), 1, atol=1e-3)
    moved = list(vals)
    moved[keys.index("l_elbow")] = 10.0
    p = H.pose_from_state(st, moved)
    from kyara.body.skeleton import BONE_INDEX
    from kyara.pose.limits import pose_to_angles

    diff = np.abs(np.abs((base.rotations * p.rotations).sum(1)) - 1) > 1e-4
    assert np.flatnonzero(diff).tolist() == [BONE_INDEX["leftLowerArm"]]
    assert abs(pose_to_angles(p)["leftLowerArm"]["flex"] - 10) < 1e-3
    with pytest.raises(ValueError, match="unknown pose"):
        H.pose_state("moonwalk", None)
    with pytest.raises(ValueError, match="slider"):
        H.pose_from_state(st, moved[:-1])


def test_pose_preview_changes_with_the_elbow_and_writes_files(tmp_path):
    ws = Workspace.for_session(tmp_path, "s")
    st = H.pose_state("jog", None)
    vals = H.slider_values(st)
    a = H.pose_preview(ws, st, vals, 30, 10, size=(192, 192))
    vals[[k for k, *_ in H.SLIDERS].index("l_elbow")] = 10.0
    b = H.pose_preview(ws, st, vals, 30, 10, size=(192, 192))
    for m in ("openpose", "depth", "toon"):
        x, y = getattr(a, m), getattr(b, m)
        assert x.shape == (192, 192, 3) and x.dtype == np.uint8
        assert (np.abs(x.astype(int) - y).max(axis=2) > 30).mean() > 0.001, m
    from kyara.pose.openpose import read_openpose_json

    people, w, h = read_openpose_json(b.files["json"])
    assert (w, h) == (192, 192) and people[0].body[:, 2].sum() >= 10
    assert ws.contains(b.files["openpose"]) and b.files["openpose"].is_file()
    with pytest.raises(ValueError, match="elevation"):
        H.pose_preview(None, st, vals, 0, 95)


def test_openpose_upload_draws_the_file(tmp_path):
    ws = Workspace.for_session(tmp_path, "s")
    st = H.pose_state("stand", None)
    src = H.pose_preview(ws, st, None, 0, 0, size=(128, 160)).files["json"]
    prev = H.openpose_upload(ws, src)
    assert prev.openpose.shape == (160, 128, 3) and prev.openpose.any()
    (tmp_path / "bad.json").write_text('{"nobody": []}')
    with pytest.raises(ValueError, match="people"):
        H.openpose_upload(ws, tmp_path / "bad.json")


# -- image -----------------------------------------------------------------------------------------
def _cfg(**kw):
    args = dict(prompt="1girl", negative="", model="tiny", control="none", control_model="default", strength=1.0,
                loras="", steps=30, guidance=7.5, scheduler="euler-a", seed=0, batch=1, width=64, height=64)
    args.update(kw)
    return H.image_config(*args.values())


def test_image_config_reaches_turbo_and_full_ranges(tmp_path):
    assert _cfg().steps == 30 and _cfg().guidance == 7.5
    turbo = _cfg(steps=2, guidance=1.0)
    assert (turbo.steps, turbo.guidance) == (2, 1.0)
    with pytest.raises(ValueError, match="no openpose condition"):
        _cfg(control="openpose")
    cfg = _cfg(control="openpose", strength=0.4, pose_files={"openpose": str(_png(tmp_path / "p.png"))})
    assert cfg.controlnets[0].strength == 0.4 and cfg.control_images[0][0] == "openpose"
    with pytest.raises(ValueError, match="steps 1.5"):
        _cfg(steps=1.5)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        _cfg(loras="missing.safetensors:0.7")
    assert H.parse_loras("a.safetensors:0.5\nb.safetensors")[0].weight == 0.5


def test_progress_html_reports_the_step():
    html = H.progress_html(3, 4)
    assert 'data-step="3"' in html and 'data-pct="75"' in html and "width:75.0%" in html
    assert "<script>" not in H.progress_html(0, 0, "<script>")


def _events(job):
    return list(job.events())


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_generation_job_progress_and_cancel(tmp_path, offline):
    pytest.importorskip("diffusers")
    done = _events(H.GenerationJob(_cfg(steps=3), tmp_path / "a").start())
    steps = [e[1:] for e in done if e[0] == "progress"]
    assert steps == [(1, 3), (2, 3), (3, 3)] and done[-1][0] == "done"
    from PIL import Image

    assert Image.open(done[-1][1][0]).size == (64, 64)
    job = H.GenerationJob(_cfg(steps=50), tmp_path / "b")
    job.cancel()  # cancelled before the first step ends
    ev = _events(job.start())
    assert ev[-1] == ("cancelled", "cancelled") and not (tmp_path / "b").exists()


def test_missing_weights_message_matches_the_cli(tmp_path, offline, capsys):
    pytest.importorskip("diffusers")
    from kyara.cli.main import run

    assert run(["image", "x", "--model", "someone/not-downloaded", "-o", str(tmp_path / "a.png")]) == 2
    cli = capsys.readouterr().err.strip()
    ev = _events(H.GenerationJob(_cfg(model="someone/not-downloaded"), tmp_path / "b").start())
    assert ev[-1] == ("error", cli) and cli.startswith("error: model 'someone/not-downloaded'")


# -- import and CLI -------------------------------------------------------------------------------
def test_import_kyara_does_not_import_gradio():
    code = "import sys, kyara, kyara.studio, kyara.studio.handlers, kyara.cli.main; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("args, message", [(["--port", "70000"], "--port 70000 is out of range"),
                                           (["--host", "a b"], "--host 'a b' is not valid"),
                                           (["--max-upload-mb", "-1"], "--max-upload-mb")])
def test_cli_rejects_bad_options(args, message, capsys):
    from kyara.cli.main import run

    assert run(["studio", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_create_tab_imports_an_avatar_and_previews_it(tmp_path):
    """Bring your own avatar in the Create tab: the shared VRM becomes the session's character."""
    from pathlib import Path

    from kyara.studio import handlers as H
    from kyara.studio.session import Workspace

    ws = Workspace.for_session(tmp_path, "s1")
    src = Path(__file__).parent / "data" / "vrm" / "VRMC_vrm_expressions_isBinary_Overrides.vrm"
    dst, views = H.avatar_previews(ws, src)
    assert dst.suffix == ".vrm" and dst.is_file()
    assert [v.name for v in views] == ["front.png", "side.png", "back.png"]
    from PIL import Image

    img = np.asarray(Image.open(views[0]))
    assert img.shape[-1] == 4 and (img[..., 3] > 0).sum() > 100  # something was drawn


@pytest.mark.slow
def test_create_hands_the_built_character_to_the_other_tabs(tmp_path, monkeypatch):
    """Create builds the character once: Pose, Animate and Export load the same object from its
    character.json without building it again."""
    import kyara.avatar as avatar
    from kyara.studio import handlers as H
    from kyara.studio.session import Workspace

    ws = Workspace.for_session(tmp_path, "s1")
    out = H.create(ws, "an anime boy with glasses", seed=0)
    assert out.character.is_file() and all(v.is_file() for v in out.views)

    def no_rebuild(path):
        raise AssertionError(f"{path} was built again")
    monkeypatch.setattr(avatar, "load_character", no_rebuild)
    c = H.load_character(out.character)
    assert c.spec.to_json() == out.spec_json
    body = H.load_body(out.character)  # the Pose tab's adapter comes from the same character, not a rebuild
    assert body.num_vertices > len(c.body.vertices)
