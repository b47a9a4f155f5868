"""OpenPose JSON as other tools write it (issue 15): sd-webui editor normalized files that step a
little outside [0, 1], pixel files, ComfyUI POSE_KEYPOINT frame lists (``--frame``), BODY_25,
``[x, y, c]`` triplets, byte-order marks, files without a canvas size; the pose fitted to the output
keeping its aspect ratio; and hostile files refused with one ``error:`` line by both the CLI and the
studio, which share one reader.

Every expected pixel below is worked out by hand from the numbers the test writes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from kyara.pose.openpose_io import load_pose, read_openpose

W, H = 768, 512  # the canvas the test poses are drawn on

# COCO-18 body in pixels on the 768x512 canvas (nose, neck, r-shoulder, r-elbow, r-wrist, l-shoulder,
# l-elbow, l-wrist, r-hip, r-knee, r-ankle, l-hip, l-knee, l-ankle, r-eye, l-eye, r-ear, l-ear)
BODY_PX = [(384, 100), (384, 150), (334, 150), (314, 220), (304, 290), (434, 150), (454, 220), (464, 290),
           (354, 300), (354, 400), (354, 490), (414, 300), (414, 400), (414, 490), (374, 90), (394, 90),
           (364, 95), (404, 95)]
NOSE, NECK, R_SHO, L_SHO, L_HIP = 0, 1, 2, 5, 11


def _flat(points, conf=1.0):
    return [float(v) for x, y in points for v in (x, y, conf)]


def _normalized(points, w=W, h=H):
    return [(x / w, y / h) for x, y in points]


def _file(tmp_path, data, name="pose.json", prefix=b""):
    p = tmp_path / name
    p.write_bytes(prefix + (data if isinstance(data, bytes) else json.dumps(data).encode()))
    return p


def _body_xy(person):
    return person.body[:, :2]


# -- formats -----------------------------------------------------------------------------------
def test_sd_webui_normalized_file_with_small_excursions(tmp_path):
    hand = [(0.30, 0.55)] * 21
    hand[0] = (-0.0019, 0.5)  # the editor writes hand points a hair outside [0, 1]
    hand[4] = (0.31, 1.003)
    data = {"people": [{"pose_keypoints_2d": _flat(_normalized(BODY_PX)), "hand_left_keypoints_2d": _flat(hand),
                        "hand_right_keypoints_2d": None, "face_keypoints_2d": None}],
            "canvas_width": W, "canvas_height": H}
    got = read_openpose(_file(tmp_path, data))
    (p,) = got.people
    assert (got.width, got.height) == (768, 512)
    np.testing.assert_allclose(_body_xy(p), np.array(BODY_PX, float), atol=1e-9)
    assert p.hand_left[0, 0] == pytest.approx(-0.0019 * 768) and p.hand_left[0, 1] == pytest.approx(256.0)
    assert p.hand_left[4, 1] == pytest.approx(1.003 * 512)
    assert p.body[:, 2].tolist() == [1.0] * 18 and not p.hand_right.any()


def test_pixel_file_is_kept_in_pixels(tmp_path):
    data = {"people": [{"pose_keypoints_2d": _flat(BODY_PX, 0.9)}], "canvas_width": W, "canvas_height": H}
    (p,) = read_openpose(_file(tmp_path, data)).people
    assert p.body[NOSE].tolist() == [384.0, 100.0, 0.9] and p.body[L_HIP].tolist() == [414.0, 300.0, 0.9]


def test_tiny_canvas_is_read_as_pixels():
    # on a 2x2 canvas pixel coordinates are all <= 1 too: the canvas size decides
    body = [0.0] * 54
    body[0:3] = [1.0, 0.5, 1.0]
    (p,) = read_openpose({"people": [{"pose_keypoints_2d": body}], "canvas_width": 2, "canvas_height": 2}).people
    assert p.body[0].tolist() == [1.0, 0.5, 1.0]


def test_comfyui_list_picks_the_frame(tmp_path):
    frames = []
    for k in range(3):  # frame k: the body moved right by 16*k pixels; flat and triplet frames mixed
        pts = _normalized([(x + 16 * k, y) for x, y in BODY_PX])
        body = _flat(pts) if k != 1 else [[x, y, 1.0] for x, y in pts]
        frames.append({"people": [{"pose_keypoints_2d": body, "face_keypoints_2d": None}],
                       "canvas_height": H, "canvas_width": W})
    path = _file(tmp_path, frames)
    first = read_openpose(path)
    assert first.frames == 3 and first.frame == 0 and "3 frames" in first.notes[0]
    np.testing.assert_allclose(_body_xy(first.people[0]), np.array(BODY_PX, float), atol=1e-9)
    for k in (1, 2):
        (p,) = read_openpose(path, frame=k).people
        assert p.body[NOSE, :2] == pytest.approx([384 + 16 * k, 100])
        assert p.body[L_HIP, :2] == pytest.approx([414 + 16 * k, 300])
    with pytest.raises(ValueError, match=r"frame 3 is out of range.*3 frames \(0..2\)"):
        read_openpose(path, frame=3)


def test_body25_is_mapped_to_coco18(tmp_path):
    # BODY_25: 0 nose, 1 neck, 2-4 right arm, 5-7 left arm, 8 MidHip, 9-11 right leg, 12-14 left leg,
    # 15 r-eye, 16 l-eye, 17 r-ear, 18 l-ear, 19-24 feet. Point j is written at (100 + j, 200 + 2j).
    body25 = [v for j in range(25) for v in (100.0 + j, 200.0 + 2 * j, 1.0)]
    data = {"people": [{"pose_keypoints_2d": body25}], "canvas_width": 400, "canvas_height": 300}
    got = read_openpose(_file(tmp_path, data))
    (p,) = got.people
    # COCO-18 slot i comes from BODY_25 point: 0..7 same, then r-hip 9, r-knee 10, r-ankle 11, l-hip 12,
    # l-knee 13, l-ankle 14, r-eye 15, l-eye 16, r-ear 17, l-ear 18 (MidHip 8 and feet 19-24 dropped)
    src = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    assert p.body[:, 0].tolist() == [100.0 + j for j in src]
    assert p.body[:, 1].tolist() == [200.0 + 2 * j for j in src]
    assert 108.0 not in p.body[:, 0] and not set(range(119, 125)) & set(p.body[:, 0].tolist())
    assert any("BODY_25" in n for n in got.notes)


def test_triplets_read_like_flat_arrays(tmp_path):
    hand = [(300 + j, 260 + j) for j in range(21)]
    flat = {"people": [{"pose_keypoints_2d": _flat(BODY_PX), "hand_right_keypoints_2d": _flat(hand)}],
            "canvas_width": W, "canvas_height": H}
    nested = {"people": [{"pose_keypoints_2d": [[x, y, 1] for x, y in BODY_PX],
                          "hand_right_keypoints_2d": [[x, y, 1] for x, y in hand]}],
              "canvas_width": W, "canvas_height": H}
    (a,) = read_openpose(_file(tmp_path, flat, "flat.json")).people
    (b,) = read_openpose(_file(tmp_path, nested, "nested.json")).people
    assert a.allclose(b) and b.hand_right[20].tolist() == [320.0, 280.0, 1.0]


@pytest.mark.parametrize("encoding, bom", [("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe")])
def test_byte_order_mark(tmp_path, encoding, bom):
    data = {"people": [{"pose_keypoints_2d": _flat(BODY_PX)}], "canvas_width": W, "canvas_height": H}
    p = tmp_path / "bom.json"
    p.write_bytes(bom + json.dumps(data).encode(encoding))
    (person,) = read_openpose(p).people
    assert person.body[NECK].tolist() == [384.0, 150.0, 1.0]


def test_no_canvas_pixels_frame_the_points(tmp_path):
    # CMU OpenPose's own output has no canvas size. The points span x 304..464, y 90..490 (400 px);
    # margin 10% of 400 = 40 px, so the canvas is (160 + 80) x (400 + 80) = 240 x 480 and a point
    # (x, y) lands at (x - 304 + 40, y - 90 + 40).
    data = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": _flat(BODY_PX)}]}
    got = load_pose(_file(tmp_path, data))
    (p,) = got.people
    assert (got.width, got.height) == (240, 480)
    assert p.body[NOSE, :2].tolist() == [120.0, 50.0] and p.body[L_HIP, :2].tolist() == [150.0, 250.0]
    assert "no canvas_width/canvas_height" in got.notes[0]


def test_no_canvas_normalized_points_use_the_output_size(tmp_path):
    data = {"people": [{"pose_keypoints_2d": _flat(_normalized(BODY_PX))}]}
    got = load_pose(_file(tmp_path, data), (640, 384))
    (p,) = got.people
    assert (got.width, got.height) == (640, 384)
    # nose at (384/768, 100/512) = (0.5, 0.1953125) of 640x384 = (320, 75)
    assert p.body[NOSE, :2] == pytest.approx([320.0, 75.0])
    assert len(got.notes) == 1 and "640x384" in got.notes[0]  # no aspect note: the canvas is the output


# -- letterbox ---------------------------------------------------------------------------------
def test_letterbox_keeps_proportions_and_centres(tmp_path):
    data = {"people": [{"pose_keypoints_2d": _flat(BODY_PX)}], "canvas_width": W, "canvas_height": H}
    got = load_pose(_file(tmp_path, data), (512, 512))
    (p,) = got.people
    # scale min(512/768, 512/512) = 2/3; the 768x512 canvas becomes 512x341.33, centred: 85.33 px bars
    s, oy = 2 / 3, (512 - 512 * 2 / 3) / 2
    assert p.body[NOSE, :2] == pytest.approx([384 * s, 100 * s + oy])
    shoulders = p.body[L_SHO, 0] - p.body[R_SHO, 0]  # 100 px wide in the file
    torso = p.body[L_HIP, 1] - p.body[NECK, 1]  # 150 px tall in the file
    assert shoulders / torso == pytest.approx(100 / 150)  # a stretch to 512x512 would give 66.7/150
    centre = (p.body[R_SHO, :2] + p.body[L_SHO, :2]) / 2  # (384, 150) in the file
    assert centre == pytest.approx([256.0, 150 * s + oy])
    assert len(got.notes) == 1 and "768x512" in got.notes[0] and "85 px bars top and bottom" in got.notes[0]


def test_letterbox_condition_image_has_bars(tmp_path):
    from kyara.generate.conditions import openpose_from_json

    data = {"people": [{"pose_keypoints_2d": _flat(BODY_PX)}], "canvas_width": W, "canvas_height": H}
    img = openpose_from_json(_file(tmp_path, data), (512, 512))
    assert img.shape == (512, 512, 3)
    # the body spans y 90..490 of 512 -> 90*2/3+85.3 = 145.3 .. 490*2/3+85.3 = 412 (joint radius 4)
    rows = np.flatnonzero(img.any(axis=(1, 2)))
    assert 139 <= rows.min() <= 142 and 412 <= rows.max() <= 417
    # nose drawn at (256, 152): its joint colour is there
    assert img[152, 256].any()


# -- CLI ---------------------------------------------------------------------------------------
def _cli(args, capsys):
    from kyara.cli.main import run

    code = run(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_frame_and_notes_reach_the_generation(tmp_path, capsys, monkeypatch):
    import kyara.cli.cmd_image as cmd_image
    from kyara.generate.conditions import openpose_from_json

    seen = {}
    monkeypatch.setattr(cmd_image, "_run", lambda cfg, outs, save: seen.update(cfg=cfg, outs=outs))
    frames = [{"people": [{"pose_keypoints_2d": _flat(_normalized([(x + 48 * k, y) for x, y in BODY_PX]))}],
               "canvas_width": W, "canvas_height": H} for k in range(2)]
    path = _file(tmp_path, frames)
    code, _, err = _cli(["image", "a girl", "--model", "tiny", "--pose-json", str(path), "--frame", "1",
                         "--size", "512", "-o", str(tmp_path / "o.png")], capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert all(line.startswith("note: ") for line in lines) and len(lines) == 2, err
    assert "2 frames" in err and "fitted into 512x512" in err
    cfg = seen["cfg"]
    assert (cfg.pose_json, cfg.pose_frame) == (str(path), 1)
    img = openpose_from_json(cfg.pose_json, (512, 512), frame=cfg.pose_frame)
    # frame 1: nose at (384 + 48, 100) -> (432 * 2/3, 100 * 2/3 + 85.33) = (288, 152)
    assert img[152, 288].any() and not img[152, 256].any()
    code, _, err = _cli(["image", "a girl", "--model", "tiny", "--frame", "1", "-o", str(tmp_path / "o.png")], capsys)
    assert code == 2 and err.startswith("error: --frame 1 was given without --pose-json")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning")
def test_cli_tiny_generation_with_letterboxed_pose(tmp_path, capsys, monkeypatch):
    pytest.importorskip("diffusers")
    from PIL import Image

    from kyara.generate.conditions import openpose_from_json

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("KYARA_CACHE_DIR", str(tmp_path / "cache"))
    data = {"people": [{"pose_keypoints_2d": _flat(BODY_PX)}], "canvas_width": W, "canvas_height": H}
    path = _file(tmp_path, data)
    out = tmp_path / "out.png"
    code, _, err = _cli(["image", "a girl", "--model", "tiny", "--controlnet", "openpose=tiny", "--pose-json",
                         str(path), "--size", "64", "--steps", "2", "-o", str(out), "--save-conditions"], capsys)
    assert code == 0, err
    assert out.is_file() and "note: " in err and "fitted into 64x64" in err
    cond = np.asarray(Image.open(tmp_path / "out_openpose.png"))
    assert np.array_equal(cond, openpose_from_json(path, (64, 64)))
    # 64x64: bars of (64 - 64*2/3)/2 = 10.7 px; nothing is drawn in the top rows
    assert not cond[:8].any() and cond[8:56].any()


# -- hostile files ------------------------------------------------------------------------------
def _doc(**kw) -> bytes:
    base = {"people": [{"pose_keypoints_2d": _flat(BODY_PX)}], "canvas_width": W, "canvas_height": H}
    base.update(kw)
    return json.dumps(base).encode()


def _body_text(body: str) -> bytes:
    return ('{"people": [{"pose_keypoints_2d": [' + body + ']}], "canvas_width": 64, "canvas_height": 64}').encode()


_NUMS = ", ".join(["1.0"] * 51)
# (name, file content, --frame or None, text the message must hold). Kept at module level so a
# corpus-wide test can reuse them.
MALFORMED_OPENPOSE: list[tuple[str, bytes, int | None, str]] = [
    ("deep list nesting", b"[" * 100_000 + b"]" * 100_000, None, "nested 100000 levels deep"),
    ("deep object nesting", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, None, "nested 50000 levels deep"),
    ("huge canvas", _doc(canvas_width=100_000, canvas_height=100_000), None, "canvas_width is 100000"),
    ("negative canvas", _doc(canvas_width=-768), None, "canvas_width is -768"),
    ("canvas as text", _doc(canvas_width="768"), None, "canvas_width is '768'"),
    ("only one canvas side", json.dumps({"people": [], "canvas_width": 64}).encode(), None, "only one of"),
    ("NaN literal", _body_text("NaN, 2.0, 1.0, " + _NUMS), None, "pose_keypoints_2d[0] is nan"),
    ("Infinity literal", _body_text("1.0, Infinity, 1.0, " + _NUMS), None, "pose_keypoints_2d[1] is inf"),
    ("numbers as strings", _body_text('"1.0", 2.0, 1.0, ' + _NUMS), None, "pose_keypoints_2d[0] is '1.0'"),
    ("body of 53 numbers", _body_text("1.0, 2.0, " + _NUMS), None, "has 53 numbers"),
    ("triplet of two", json.dumps({"people": [{"pose_keypoints_2d": [[1, 2]] * 18}]}).encode(), None,
     "[0] has 2 numbers"),
    ("negative confidence", _body_text("1.0, 2.0, -1.0, " + _NUMS), None, "confidence -1"),
    ("huge coordinate", _body_text("1e300, 2.0, 1.0, " + _NUMS), None, "expected a value within"),
    ("not JSON", b"{people: [", None, "not valid JSON"),
    ("empty file", b"", None, "is empty"),
    ("only whitespace", b"  \n\t ", None, "is empty"),
    ("binary", bytes(range(256)) * 8, None, "not UTF-8"),
    ("a number", b"42", None, "holds 42"),
    ("people not a list", _doc(people={"0": 1}), None, "'people' is an object"),
    ("no people field", json.dumps({"canvas_width": 64, "canvas_height": 64}).encode(), None, "no 'people'"),
    ("no people", _doc(people=[]), None, "has no people"),
    ("too many people", _doc(people=[{"pose_keypoints_2d": _flat(BODY_PX)}] * 101), None, "101 people"),
    ("person is a list", _doc(people=[[1, 2, 3]]), None, "people[0] is a list"),
    ("all points missing", _doc(people=[{"pose_keypoints_2d": [0.0] * 54}]), None, "without any point"),
    ("hand is a dict", _doc(people=[{"pose_keypoints_2d": _flat(BODY_PX), "hand_left_keypoints_2d": {"x": 1}}]),
     None, "hand_left_keypoints_2d is an object"),
    ("number of 5000 digits", _body_text("1" * 5000 + ", 2.0, 1.0, " + _NUMS), None, "Exceeds the limit"),
    ("empty frame list", b"[]", None, "empty list"),
    ("frame is text", b'["frame"]', None, "frame 0 is 'frame'"),
    ("frame out of range", json.dumps([json.loads(_doc())] * 2).encode(), 5, "frame 5 is out of range"),
    ("frame of a plain file", _doc(), 1, "frame 1 is out of range"),
]


def _case_ids():
    return [c[0] for c in MALFORMED_OPENPOSE]


def test_there_are_enough_hostile_cases():
    assert len(MALFORMED_OPENPOSE) >= 15 and len({c[0] for c in MALFORMED_OPENPOSE}) == len(MALFORMED_OPENPOSE)


@pytest.mark.parametrize("name, content, frame, expected", MALFORMED_OPENPOSE, ids=_case_ids())
def test_cli_refuses_hostile_file(tmp_path, capsys, name, content, frame, expected):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    out = tmp_path / "out" / "o.png"
    out.parent.mkdir()
    args = ["image", "a girl", "--model", "tiny", "--pose-json", str(bad), "-o", str(out)]
    code, stdout, err = _cli(args + (["--frame", str(frame)] if frame is not None else []), capsys)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "internal error" not in err, err
    assert expected in err, err
    assert not any(out.parent.iterdir()) and stdout == ""


@pytest.mark.parametrize("name, content, frame, expected",
                         [c for c in MALFORMED_OPENPOSE if c[2] is None], ids=[c[0] for c in MALFORMED_OPENPOSE
                                                                               if c[2] is None])
def test_studio_refuses_hostile_upload(tmp_path, name, content, frame, expected):
    from kyara.studio import handlers as SH
    from kyara.studio.session import Workspace

    upload = tmp_path / "gradio" / "4f1c0ffee" / "pose.json"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(content)
    ws = Workspace.for_session(tmp_path / "ws", "s")
    with pytest.raises(ValueError) as exc:
        SH.openpose_upload(ws, upload)
    line = SH.one_line(exc.value)
    assert line.startswith("error: upload 'pose.json'") or line.startswith("error: frame"), line
    assert "\n" not in line and expected in line and "internal error" not in line
    assert str(tmp_path) not in line and "4f1c0ffee" not in line  # no temporary paths
    assert not list((tmp_path / "ws").rglob("*.png")) and not list((tmp_path / "ws").rglob("*.json"))


def test_file_size_limit_is_shared(tmp_path, capsys):
    from kyara.pose import openpose_io
    from kyara.studio import handlers as SH
    from kyara.studio.session import Workspace

    big = tmp_path / "big.json"
    with open(big, "wb") as f:  # valid JSON padded with spaces past the limit
        f.write(_doc())
        f.write(b" " * (openpose_io.MAX_FILE_BYTES + 1))
    code, _, err = _cli(["image", "a girl", "--model", "tiny", "--pose-json", str(big), "-o",
                         str(tmp_path / "o.png")], capsys)
    assert code == 2 and err.count("\n") == 1 and "expected at most 32 MB" in err
    with pytest.raises(ValueError, match="expected at most 32 MB"):
        SH.openpose_upload(Workspace.for_session(tmp_path / "ws", "s"), big)
    assert not (tmp_path / "o.png").exists()


# -- studio -------------------------------------------------------------------------------------
def test_studio_upload_of_comfyui_list_without_canvas_then_image_config(tmp_path):
    from kyara.generate.conditions import openpose_from_json
    from kyara.studio import handlers as SH
    from kyara.studio.session import Workspace

    frames = [{"people": [{"pose_keypoints_2d": [[x, y, 1.0] for x, y in BODY_PX]}]}] * 2  # pixels, no canvas
    ws = Workspace.for_session(tmp_path, "s")
    prev = SH.openpose_upload(ws, _file(tmp_path, frames, "comfy.json"))
    # framed extent as in test_no_canvas_pixels_frame_the_points: 240x480, nose at (120, 50)
    assert prev.openpose.shape == (480, 240, 3) and prev.openpose[50, 120].any()
    assert any("2 frames" in n for n in prev.notes) and any("no canvas_width" in n for n in prev.notes)
    files = {k: str(v) for k, v in prev.files.items()}
    cfg = SH.image_config("1girl", "", "tiny", "openpose", "default", 1.0, "", 2, 7.0, "euler-a", 0, 1, 512, 512, files)
    assert cfg.pose_json == files["openpose_json"] and cfg.control_images == ()
    # 240x480 fitted into 512x512: scale 512/480, bars (512 - 240 * 512/480) / 2 = 128 px left and right
    img = openpose_from_json(cfg.pose_json, (512, 512))
    cols = np.flatnonzero(img.any(axis=(0, 2)))
    assert cols.min() >= 128 and cols.max() < 512 - 128
    # nose (120, 50) -> (128 + 128, 53.3)
    assert img[53, 256].any()
    # an OpenPose PNG uploaded afterwards replaces the drawn one: the JSON is no longer used
    png = tmp_path / "mine.png"
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(png)
    cfg2 = SH.image_config("1girl", "", "tiny", "openpose", "default", 1.0, "", 2, 7.0, "euler-a", 0, 1, 512, 512,
                          dict(files, openpose=str(png)))
    assert cfg2.pose_json is None and cfg2.control_images == (("openpose", str(png)),)


def test_studio_previews_a_large_canvas_scaled_down(tmp_path):
    from kyara.studio import handlers as SH
    from kyara.studio.session import Workspace

    data = {"people": [{"pose_keypoints_2d": _flat([(x * 4, y * 4) for x, y in BODY_PX])}],
            "canvas_width": W * 4, "canvas_height": H * 4}  # 3072x2048 -> 1024x683
    prev = SH.openpose_upload(Workspace.for_session(tmp_path, "s"), _file(tmp_path, data))
    assert prev.openpose.shape == (683, 1024, 3)
    # nose (1536, 400) * 1024/3072 = (512, 133.3) (+0.2 px of centring)
    assert prev.openpose[133, 512].any()
