"""``kyara sheet``: references and targets from files, outputs, and one-line errors for bad inputs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from test_sheet import sheet_data  # noqa: F401  (the session's tiny sheets dataset)


def _png(path, rgba):
    Image.fromarray(np.asarray(rgba, np.uint8)).save(path)
    return str(path)


def _npz(path, udp):
    np.savez(path, i=np.asarray(udp, np.float32))
    return str(path)


@pytest.fixture()
def sheet_files(tmp_path, sheet_data):  # noqa: F811
    """Two references as ``kyara render`` names them (``ref0_toon.png`` + ``ref0_udp.npz``) and a target ``.npz``."""
    _, samples = sheet_data
    s = samples[0]
    imgs = [_png(tmp_path / f"ref{k}_toon.png", r["rgba"]) for k, r in enumerate(s["refs"][:2])]
    udps = [_npz(tmp_path / f"ref{k}_udp.npz", r["udp"]) for k, r in enumerate(s["refs"][:2])]
    target = _npz(tmp_path / "target.npz", s["udp"])
    return imgs, udps, target, s


def _run(args, capsys):
    from kyara.cli.main import run

    rc = run(args)
    err = capsys.readouterr().err
    return rc, err


def test_sheet_writes_a_png_at_the_target_size(tmp_path, sheet_files, capsys):
    imgs, udps, target, s = sheet_files
    out = tmp_path / "out.png"
    args = ["sheet", *imgs, "--ref-udp", udps[0], "--ref-udp", udps[1], "--udp", target, "--method", "b2", "-o", str(out)]
    rc, err = _run(args, capsys)
    assert rc == 0, err
    im = np.asarray(Image.open(out))
    assert im.shape == (64, 64, 4)
    on = s["udp"][..., 3] > 0.5
    assert (im[..., 3][on] > 0).mean() > 0.95 and (im[..., 3][~on] == 0).mean() > 0.95
    # the UDP files beside the images are found without --ref-udp: the same picture
    out2 = tmp_path / "out2.png"
    rc, err = _run(["sheet", *imgs, "--udp", target, "--method", "b2", "-o", str(out2)], capsys)
    assert rc == 0, err
    assert np.array_equal(np.asarray(Image.open(out2)), im)


def test_sheet_renders_a_named_pose_and_a_motion(tmp_path, sheet_files, capsys, gl):
    imgs, _, _, _ = sheet_files
    out = tmp_path / "pose.png"
    rc, err = _run(["sheet", *imgs, "--pose", "t-pose", "--size", "96x64", "--method", "b1", "-o", str(out)], capsys)
    assert rc == 0, err
    im = np.asarray(Image.open(out))
    assert im.shape == (64, 96, 4) and (im[..., 3] > 0).sum() > 100
    vid = tmp_path / "walk.gif"
    rc, err = _run(["sheet", *imgs, "--motion", "walk", "--fps", "2", "--size", "48", "--method", "b0", "-o", str(vid)],
                   capsys)
    assert rc == 0, err
    frames = sorted((tmp_path / "walk_frames").glob("frame*.png"))
    assert vid.is_file() and len(frames) >= 2
    assert np.asarray(Image.open(frames[0])).shape == (48, 48, 4)


def test_plain_background_images_are_separated(tmp_path, sheet_files, capsys):
    imgs, udps, target, s = sheet_files
    rgba = s["refs"][0]["rgba"]
    rgb = np.where(rgba[..., 3:] > 0, rgba[..., :3], 255).astype(np.uint8)  # on white, no alpha
    plain = _png(tmp_path / "plain.png", rgb)
    out = tmp_path / "o.png"
    rc, err = _run(["sheet", plain, "--ref-udp", udps[0], "--udp", target, "--method", "b2", "-o", str(out)], capsys)
    assert rc == 0, err
    from kyara.sheet.inputs import read_rgba

    alpha = read_rgba(plain)[..., 3] > 0
    assert (alpha == (rgba[..., 3] > 0)).mean() > 0.97


def test_conr_without_weights_and_auto_method(tmp_path, sheet_files, capsys, monkeypatch):
    imgs, udps, target, _ = sheet_files
    out = tmp_path / "o.png"
    rc, err = _run(["sheet", imgs[0], "--udp", target, "--method", "conr", "--weights", str(tmp_path / "no.safetensors"),
                    "-o", str(out)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "kyara train sheet" in err and not out.exists()
    from kyara.sheet import infer

    monkeypatch.setattr(infer, "default_weights", lambda: tmp_path / "missing.safetensors")
    rc, err = _run(["sheet", imgs[0], "--udp", target, "--method", "conr", "-o", str(out)], capsys)
    assert rc == 2 and "kyara train sheet" in err and not out.exists()
    assert infer.resolve_method("auto") == "b2"


def test_detector_fallback_for_references_without_udp(tmp_path, sheet_files, capsys, monkeypatch):
    imgs, udps, target, s = sheet_files
    lone = _png(tmp_path / "lone.png", s["refs"][0]["rgba"])  # no UDP beside it
    out = tmp_path / "o.png"
    from kyara.sheet import inputs

    def missing(rgba):
        raise FileNotFoundError("detector weights 'x' do not exist: train them with `kyara train detector`")

    monkeypatch.setattr(inputs, "detector_udp", missing)
    rc, err = _run(["sheet", lone, "--udp", target, "--method", "b2", "-o", str(out)], capsys)
    assert rc == 2 and err.count("\n") == 1 and "--ref-udp" in err and "kyara train detector" in err
    assert not out.exists()
    monkeypatch.setattr(inputs, "detector_udp", lambda rgba: s["refs"][0]["udp"])
    rc, err = _run(["sheet", lone, "--udp", target, "--method", "b2", "-o", str(out)], capsys)
    assert rc == 0 and out.is_file(), err


def _noise(path, shape=(64, 64, 3), seed=0):
    return _png(path, np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))


@pytest.mark.parametrize("case, needle", [
    ("sizes", "expected 64x64 like"),
    ("no_background", "no alpha and no plain background"),
    ("udp_shape", "expected [H, W, 4]"),
    ("udp_size", "expected 64x64 like its image"),
    ("udp_range", "expected floats in [0, 1]"),
    ("no_refs", "Missing argument"),
    ("17_refs", "expected 1..16"),
    ("udp_count", "2 --ref-udp files for 1 images"),
    ("two_targets", "expected exactly one of"),
    ("no_target", "no target given"),
    ("bad_method", "--method 'b9'"),
    ("bad_pose", "unknown pose"),
    ("png_for_motion", "expected one of .mp4, .gif"),
    ("target_udp", "expected floats in [0, 1]"),
    ("body_and_udp", "expected neither with --udp"),
])
def test_bad_inputs_are_one_line_errors_and_write_nothing(tmp_path, sheet_files, capsys, case, needle):
    imgs, udps, target, s = sheet_files
    out = tmp_path / "out" / "o.png"
    out.parent.mkdir()
    base = ["--udp", target, "--method", "b2", "-o", str(out)]
    bad = np.array(s["refs"][0]["udp"])
    args = {
        "sizes": [imgs[0], _png(tmp_path / "big.png", np.zeros((80, 64, 4), np.uint8) + 200), *base],
        "no_background": [_noise(tmp_path / "noise.png"), *base],
        "udp_shape": [imgs[0], "--ref-udp", _npz(tmp_path / "u3.npz", bad[..., :3]), *base],
        "udp_size": [imgs[0], "--ref-udp", _npz(tmp_path / "us.npz", bad[:32]), *base],
        "udp_range": [imgs[0], "--ref-udp", _npz(tmp_path / "ur.npz", bad * 3.0), *base],
        "no_refs": [*base],
        "17_refs": [imgs[0]] * 17 + base,
        "udp_count": [imgs[0], "--ref-udp", udps[0], "--ref-udp", udps[1], *base],
        "two_targets": [imgs[0], "--pose", "stand", *base],
        "no_target": [imgs[0], "-o", str(out)],
        "bad_method": [imgs[0], "--udp", target, "--method", "b9", "-o", str(out)],
        "bad_pose": [imgs[0], "--pose", "flying", "-o", str(out)],
        "png_for_motion": [imgs[0], "--motion", "walk", "-o", str(out)],
        "target_udp": [imgs[0], "--udp", _npz(tmp_path / "t.npz", -bad), "-o", str(out)],
        "body_and_udp": [imgs[0], "--body", "teen-girl", *base],
    }[case]
    rc, err = _run(["sheet", *args], capsys)
    assert rc == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err, err
    assert list(out.parent.iterdir()) == []


def test_udp_files_that_are_not_npz_are_refused(tmp_path):
    from kyara.sheet.inputs import read_udp

    p = tmp_path / "x.npz"
    p.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ValueError, match="not a readable .npz"):
        read_udp(p)
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros((4, 4, 4), np.float32), b=np.zeros(2))
    p.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="expected the key 'i'"):
        read_udp(p)
    with pytest.raises(FileNotFoundError):
        read_udp(tmp_path / "missing.npz")
