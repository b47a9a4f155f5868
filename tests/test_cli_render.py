"""`kyara render` / `kyara turntable` and the rendering pipeline behind them (small sizes, fast)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kyara.cli.main import run

S = 128
ALL = ("openpose", "depth", "normal", "mask", "parts", "udp", "lineart", "toon")
EYES_NOSE = (0, 14, 15)




def _ok(argv, capsys) -> str:
    rc = run(argv)
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return cap.out


def _body_points(path: Path) -> np.ndarray:
    """[18, 3] body keypoints of the first person of an OpenPose JSON."""
    data = json.loads(path.read_text())
    assert data["canvas_width"] == S and data["canvas_height"] == S
    return np.asarray(data["people"][0]["pose_keypoints_2d"], dtype=np.float64).reshape(18, 3)


@pytest.fixture(scope="module")
def jog8(gl, tmp_path_factory):
    """All maps of `jog` from 8 orbit views at 128 px."""
    out = tmp_path_factory.mktemp("render") / "jog"
    assert run(["render", "--pose", "jog", "--views", "8", "--size", str(S), "-o", str(out)]) == 0
    return out


def test_render_writes_every_map_with_names_shapes_dtypes(jog8):
    from scipy.ndimage import binary_dilation

    names = [f"az{a}" for a in range(0, 360, 45)]
    expected = {"cameras.json"}
    for v in names:
        expected |= {f"{v}_{m}.png" for m in ALL} | {f"{v}_udp.npz", f"{v}_openpose.json"}
    assert {p.name for p in jog8.iterdir()} == expected
    modes = {"openpose": "RGB", "depth": "L", "normal": "RGB", "mask": "L", "parts": "P", "udp": "RGB",
             "lineart": "L", "toon": "RGBA"}
    for v in names:
        ims = {}
        for m, mode in modes.items():
            with Image.open(jog8 / f"{v}_{m}.png") as im:
                assert (im.mode, im.size) == (mode, (S, S)), (v, m)
                ims[m] = np.asarray(im)
        with np.load(jog8 / f"{v}_udp.npz") as z:
            assert list(z.keys()) == ["i"]
            udp = z["i"]
        assert udp.dtype == np.float32 and udp.shape == (S, S, 4)
        fg = ims["mask"] > 0
        assert 0.03 < fg.mean() < 0.6  # the body is there, not the whole frame
        assert np.array_equal(udp[..., 3] > 0.5, fg)  # UDP occupancy = mask
        assert udp[fg, :3].min() >= 0.0 and udp[fg, :3].max() <= 1.0 and udp[fg, :3].std() > 0.05
        assert np.all(ims["depth"][~fg] == 0) and ims["depth"][fg].min() > 0  # ControlNet: background black
        assert set(np.unique(ims["parts"][fg])) <= set(range(6)) and np.all(ims["parts"][~fg] == 255)
        near = binary_dilation(fg, iterations=4)  # ink outlines may lie just outside the silhouette
        assert np.all(ims["toon"][~near, 3] == 0) and np.all(ims["toon"][fg, 3] == 255)  # transparent background
        assert np.all(ims["normal"][~fg] == (128, 128, 255))
        assert ims["lineart"].max() == 255 and (ims["lineart"] > 0).mean() < 0.2
        assert ims["openpose"].any()
    cams = json.loads((jog8 / "cameras.json").read_text())["views"]
    assert [c["name"] for c in cams] == names
    assert [c["azimuth_deg"] for c in cams] == [float(a) for a in range(0, 360, 45)]


def test_openpose_json_matches_png(jog8):
    from kyara.pose.openpose import read_openpose_json
    from kyara.render.openpose_draw import BODY_COLORS, draw_openpose

    checked = 0
    for js in sorted(jog8.glob("*_openpose.json")):
        png = np.asarray(Image.open(js.with_suffix(".png")))
        people, w, h = read_openpose_json(js)
        assert (w, h) == (S, S)
        assert np.array_equal(draw_openpose(people, S, S, thick=False), png), js.name  # drawn from the JSON
        k = people[0]
        others = np.concatenate([k.hand_left, k.hand_right, k.face])
        others = others[others[:, 2] > 0, :2]
        for i, (x, y, c) in enumerate(k.body):
            if c <= 0:
                continue
            later = k.body[i + 1:][k.body[i + 1:, 2] > 0, :2]
            near = np.concatenate([others, later])
            if len(near) and np.min(np.hypot(*(near - (x, y)).T)) < 10:
                continue  # another point drawn later may cover this one
            assert tuple(png[int(y), int(x)]) == BODY_COLORS[i], (js.name, i)
            checked += 1
    assert checked > 40


def test_front_tpose_keeps_all_points_back_drops_nose_and_eyes(gl, tmp_path, capsys):
    out = tmp_path / "t"
    _ok(["render", "--pose", "t-pose", "--view", "front,back", "--maps", "openpose", "--size", str(S),
         "-o", str(out)], capsys)
    front, back = _body_points(out / "front_openpose.json"), _body_points(out / "back_openpose.json")
    assert np.all(front[:, 2] == 1.0)
    assert np.all(back[list(EYES_NOSE), 2] == 0.0) and np.all(back[list(EYES_NOSE), :2] == 0.0)
    assert np.all(back[[1, 2, 5, 8, 11], 2] == 1.0)
    # seen from the front the right shoulder is on the image left; from the back it is mirrored
    assert front[2, 0] < front[5, 0] and back[2, 0] > back[5, 0]


def test_keypoint_behind_torso_dropped_in_back_view(gl, tmp_path, capsys):
    """Crossed arms: the wrists are in front of the chest, so the torso hides them from the back."""
    from kyara.body.model import build_body
    from kyara.pose.keypoints import body_keypoints, keypoint_tolerances
    from kyara.pose.presets import get_pose
    from kyara.render.pipeline import frame_views
    from kyara.render.visibility import keypoint_visibility_reference

    out = tmp_path / "x"
    _ok(["render", "--pose", "arms-crossed", "--view", "front,back", "--maps", "openpose", "--size", str(S),
         "-o", str(out)], capsys)
    front, back = _body_points(out / "front_openpose.json"), _body_points(out / "back_openpose.json")
    wrists = [4, 7]
    assert np.all(front[wrists, 2] == 1.0) and np.all(back[wrists, 2] == 0.0)
    # `kyara pose` (its own path to the same keypoints) writes the same JSON
    _ok(["pose", "--pose", "arms-crossed", "--view", "back", "--size", str(S), "-o", str(tmp_path / "p.json")],
        capsys)
    assert json.loads((tmp_path / "p.json").read_text()) == json.loads((out / "back_openpose.json").read_text())
    # the slow ray-casting reference agrees on every body point of the back view
    body, pose = build_body("teen-girl"), get_pose("arms-crossed", "teen-girl")
    verts = body.pose(pose)[0]
    cam = frame_views(verts, ["back"], (S, S))[0].camera
    kp = body_keypoints(body, pose.rotations, pose.translation).body
    ref = keypoint_visibility_reference(kp, [cam], verts, body.faces, keypoint_tolerances(body)[:18])[0]
    assert np.array_equal(ref, back[:, 2] > 0)


def test_distance_close_up_drops_points_outside_image(gl, tmp_path, capsys):
    out = tmp_path / "close"
    _ok(["render", "--pose", "t-pose", "--view", "front", "--distance", "0.9", "--maps", "openpose,mask",
         "--size", str(S), "-o", str(out)], capsys)
    pts = _body_points(out / "front_openpose.json")
    assert np.all(pts[[0, 10, 13, 14, 15], 2] == 0.0)  # head and ankles fall outside the frame
    assert np.all(pts[[8, 11], 2] == 1.0)  # hips stay inside
    kept = pts[pts[:, 2] > 0, :2]
    assert np.all((kept >= 0) & (kept <= S - 1))
    assert np.asarray(Image.open(out / "front_mask.png")).mean() > 60  # a close-up: the body fills much more


def test_xinsir_style_draws_thicker_lines_at_512(gl, tmp_path, capsys):
    for style in ("classic", "xinsir"):
        _ok(["render", "--pose", "stand", "--maps", "openpose", "--size", "512", "--openpose-style", style,
             "-o", str(tmp_path / style)], capsys)
    classic = np.asarray(Image.open(tmp_path / "classic" / "front_openpose.png")).any(axis=-1)
    thick = np.asarray(Image.open(tmp_path / "xinsir" / "front_openpose.png")).any(axis=-1)
    assert thick.sum() > 1.5 * classic.sum()
    assert (tmp_path / "classic" / "front_openpose.json").read_text() == \
        (tmp_path / "xinsir" / "front_openpose.json").read_text()


def test_random_views_are_seeded(gl, tmp_path, capsys):
    recs = []
    for run_dir, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        _ok(["render", "--random-views", "3", "--seed", seed, "--maps", "mask", "--size", "64",
             "-o", str(tmp_path / run_dir)], capsys)
        recs.append(json.loads((tmp_path / run_dir / "cameras.json").read_text())["views"])
    assert [r["name"] for r in recs[0]] == ["rand000", "rand001", "rand002"]
    assert recs[0] == recs[1] and recs[0] != recs[2]


def _frame_count(path: Path) -> int:
    import imageio.v3 as iio

    if path.suffix == ".gif":
        return iio.imread(path, index=None).shape[0]
    return sum(1 for _ in iio.imiter(path, plugin="FFMPEG"))


@pytest.mark.parametrize("name,size", [("turn.gif", "96"), ("turn.mp4", "97x64")])
def test_turntable_keeps_every_frame(gl, tmp_path, capsys, name, size):
    import imageio.v3 as iio

    out = tmp_path / name
    _ok(["turntable", "--pose", "jog", "--size", size, "--frames", "12", "-o", str(out)], capsys)
    assert _frame_count(out) == 12
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left
    if out.suffix == ".gif":
        frames = iio.imread(out, index=None)
        assert frames.shape[1:] == (96, 96, 3)
        assert np.all(np.abs(frames[:, 0, 0].astype(int) - (240, 242, 247)) <= 4)  # light solid background
        assert not np.array_equal(frames[0], frames[3])  # the camera moves


def test_gif_keeps_identical_neighbour_frames(tmp_path):
    """Pillow merges identical consecutive GIF frames; our writer must not."""
    from kyara.render.pipeline import write_animation

    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 255, (32, 40, 3), dtype=np.uint8) for _ in range(2))
    frames = [a, a, a, b, b, a]
    for name in ("dup.gif", "dup.mp4"):
        write_animation(tmp_path / name, iter(frames), len(frames), fps=10)
        assert _frame_count(tmp_path / name) == len(frames)


def test_animation_error_leaves_no_file(tmp_path):
    from kyara.render.pipeline import write_animation

    def broken():
        for _ in range(3):
            yield np.zeros((16, 16, 3), np.uint8)
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError, match="renderer died"):
        write_animation(tmp_path / "x.gif", broken(), 5)
    with pytest.raises(RuntimeError, match="expected 5"):  # fewer frames than promised
        write_animation(tmp_path / "y.mp4", iter([np.zeros((16, 16, 3), np.uint8)] * 4), 5)
    assert list(tmp_path.iterdir()) == []


def test_winding_numbers_match_reference():
    import trimesh

    from kyara.render.pipeline import winding_numbers, winding_numbers_reference

    m = trimesh.creation.icosphere(subdivisions=2, radius=0.5)
    pts = np.random.default_rng(1).uniform(-0.8, 0.8, (24, 3))
    fast = winding_numbers(pts, m.vertices, m.faces)
    assert np.allclose(fast, winding_numbers_reference(pts, m.vertices, m.faces), atol=1e-9)
    inside = np.linalg.norm(pts, axis=1) < 0.49
    far = np.linalg.norm(pts, axis=1) > 0.51
    assert np.allclose(fast[inside], 1.0, atol=1e-6) and np.allclose(fast[far], 0.0, atol=1e-6)


def _bad_cases(tmp: Path):
    afile = tmp / "afile.txt"
    afile.write_text("x")
    out = str(tmp / "out")
    r = ["render", "--size", "64", "-o"]
    return [
        (r + [out, "--maps", "depth,fancy"], "fancy"),
        (["render", "--size", "0", "-o", out], "--size"),
        (["render", "--size", "5000", "-o", out], "--size"),
        (r + [out, "--pose", "moonwalk"], "moonwalk"),
        (r + [out, "--views", "0"], "--views"),
        (r + [out, "--views", "361"], "--views"),
        (r + [out, "--views", "4", "--view", "back"], "--views"),
        (r + [out, "--view", "sideways"], "sideways"),
        (r + [out, "--openpose-style", "fat"], "fat"),
        (r + [out, "--body", "giant"], "giant"),
        (r + [str(afile / "out")], "afile.txt"),  # unwritable: the parent is a file
        (r + [str(afile)], "afile.txt"),  # the output exists and is a file
        (r + [out, "--pose", "t-pose", "--view", "side", "--distance", "0.02"], "inside the body"),  # in the thigh
        (["turntable", "--frames", "4", "-o", str(tmp / "t.avi")], ".avi"),
        (["turntable", "--frames", "0", "-o", str(tmp / "t.gif")], "--frames"),
        (["turntable", "--size", "0", "-o", str(tmp / "t.gif")], "--size"),
        (["turntable", "--pose", "moonwalk", "-o", str(tmp / "t.gif")], "moonwalk"),
        (["turntable", "-o", str(afile / "t.gif")], "afile.txt"),
    ]


def test_bad_inputs_exit_2_one_line_no_output(gl, tmp_path, capsys):
    for argv, needle in _bad_cases(tmp_path):
        before = sorted(p.name for p in tmp_path.iterdir())
        rc = run(argv)
        cap = capsys.readouterr()
        lines = cap.err.splitlines()
        assert rc == 2, (argv, cap.err)
        assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], (argv, cap.err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, argv  # nothing written
        assert (tmp_path / "afile.txt").read_text() == "x"
