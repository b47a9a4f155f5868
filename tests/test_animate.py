"""Animation output: streaming atomic MP4/GIF writer, animate() frame counts/fps/conditions, CLI errors."""

from __future__ import annotations

import json

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from kyara.cli.main import run
from kyara.render.video import VideoConfig, count_video_frames, write_video, write_video_reference

SIZE = 96


def _frames(n: int = 12, h: int = 34, w: int = 50, seed: int = 0) -> np.ndarray:
    """Distinct frames with runs of identical neighbours (frames 4..7 are the same)."""
    rng = np.random.default_rng(seed)
    f = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        f[i, :, :] = rng.integers(0, 255, 3)
        f[i, 5:15, 5 + i:15 + i] = 255 - f[i, 0, 0]
    f[5:8] = f[4]
    return f


def _gif_durations(path) -> list[int]:
    with Image.open(path) as im:
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append(int(im.info["duration"]))
    return out


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- video writer -----------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_every_frame_is_kept_and_fps_reads_back(tmp_path, suffix):
    frames = _frames()
    out = tmp_path / f"v{suffix}"
    info = write_video(out, frames, 25.0)
    assert info.frames == 12 and (info.width, info.height) == (50, 34)
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert n == 12 and count_video_frames(out) == 12  # identical frames 4..7 were not merged
    assert secs == pytest.approx(12 / 25.0, abs=0.011)
    if suffix == ".gif":
        d = _gif_durations(out)
        assert d == [40] * 12  # 25 fps = 4 cs per frame
    else:
        import imageio.v2 as iio2

        with iio2.get_reader(out) as r:
            assert r.get_meta_data()["fps"] == pytest.approx(25.0)
    assert _files(tmp_path) == [out.name]  # no temporary file left


def test_gif_delays_sum_to_the_clip_duration(tmp_path):
    out = tmp_path / "v.gif"
    write_video(out, _frames(n=30), 30.0)
    d = _gif_durations(out)
    assert len(d) == 30 and set(d) <= {30, 40}  # whole centiseconds, alternating
    assert sum(d) == pytest.approx(1000.0, abs=10)


def test_mp4_decodes_to_the_frames_written_and_odd_sizes_pad(tmp_path):
    import imageio.v3 as iio

    frames = _frames(h=33, w=47)
    out = tmp_path / "v.mp4"
    write_video(out, frames, 10, VideoConfig(crf=10))
    back = iio.imread(out, index=None)
    assert back.shape == (12, 34, 48, 3)  # padded to even sizes for yuv420p
    err = np.abs(back[:, :33, :47].astype(int) - frames.astype(int)).mean()
    assert err < 6.0
    # the reference writer (imageio, in memory) decodes to frames of the same content
    ref = tmp_path / "ref.mp4"
    write_video_reference(ref, frames[:, :32, :46], 10)
    rb = iio.imread(ref, index=None)
    assert np.abs(rb[:, :32, :46].astype(int) - back[:, :32, :46].astype(int)).mean() < 6.0


def test_gif_colours_exact_for_flat_frames_and_rgba_composited(tmp_path):
    frames = np.zeros((3, 20, 20, 4), np.uint8)
    frames[..., :3] = (200, 40, 10)
    frames[..., 3] = 255
    frames[1, :10, :, 3] = 0  # transparent top half -> white background
    out = tmp_path / "v.gif"
    write_video(out, frames, 10, VideoConfig(gif_dither="none"))
    with Image.open(out) as im:
        im.seek(1)
        rgb = np.asarray(im.convert("RGB"))
    assert tuple(rgb[15, 5]) == (200, 40, 10) and tuple(rgb[2, 5]) == (255, 255, 255)


def test_streamed_chunks_equal_one_array(tmp_path):
    import imageio.v3 as iio

    frames = _frames(n=20)

    def chunks():
        for s in range(0, 20, 6):
            yield frames[s:s + 6]  # [n, H, W, 3] chunks

    write_video(tmp_path / "a.mp4", chunks(), 12)
    write_video(tmp_path / "b.mp4", frames, 12)
    a, b = iio.imread(tmp_path / "a.mp4", index=None), iio.imread(tmp_path / "b.mp4", index=None)
    assert a.shape == b.shape == (20, 34, 50, 3) and np.array_equal(a, b)


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_error_mid_stream_leaves_no_file(tmp_path, exc):
    frames = _frames()

    def broken():
        yield frames[:5]
        raise exc("boom")

    for suffix in (".mp4", ".gif"):
        with pytest.raises(exc):
            write_video(tmp_path / f"v{suffix}", broken(), 10)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("name,frames,fps,needle", [
    ("v.avi", None, 10, "suffix '.avi'"),
    ("v.mp4", None, 0, "fps 0 is out of range"),
    ("v.gif", None, 60, "fps 60 is out of range for .gif"),
    ("v.mp4", np.zeros((2, 8, 8, 3), np.float32), 10, "dtype float32"),
    ("v.mp4", [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], 10, "frame 1 has shape"),
    ("v.mp4", np.zeros((0, 8, 8, 3), np.uint8), 10, "no frames"),
    ("missing/v.mp4", None, 10, "does not exist"),
])
def test_bad_video_input_is_one_line_and_leaves_nothing(tmp_path, name, frames, fps, needle):
    f = _frames() if frames is None else frames
    with pytest.raises(ValueError) as e:
        write_video(tmp_path / name, f, fps)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert _files(tmp_path) == []


# -- animate ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def body():
    from kyara.body.model import build_body

    return build_body("teen-girl")


@pytest.fixture(scope="module")
def walk(body):
    from kyara.motion import load_motion, retarget

    skel, mocap = load_motion("walk")
    return retarget(mocap, skel, body.params, fps=30, trim=(0, 57))  # 57 source frames at 120 fps -> 15


def test_animate_mp4_frame_count_and_fps(tmp_path, body, walk):
    from kyara.motion.animate import animate

    assert walk.num_frames == 15
    out = tmp_path / "walk.mp4"
    res = animate(body, walk, out, SIZE, "front")
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert n == res.video.frames == 15 and secs == pytest.approx(15 / 30, abs=0.02)
    import imageio.v3 as iio

    frames = iio.imread(out, index=None)
    assert frames.shape == (15, SIZE, SIZE, 3)
    bg = frames[:, 0, 0].astype(int)
    assert np.all(np.abs(bg - 245) < 8)  # ANIMATION_TOON background (0.96 grey)
    moving = np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum(-1) > 60
    assert moving.sum() > 30  # the character moved between the first and last frame
    assert len(set(id(c) for c in res.cameras)) == 1  # a fixed view: one camera for the clip


def test_animate_gif_resamples_and_writes_conditions(tmp_path, body, walk):
    from kyara.motion.animate import animate
    from kyara.pose.openpose import read_openpose_json

    out, cond = tmp_path / "walk.gif", tmp_path / "cond"
    res = animate(body, walk, out, (SIZE, 80), "side", fps=15, conditions_dir=cond)
    expected = (15 - 1) * 15 // 30 + 1  # resample_arrays: floor((F - 1) * fps_out / fps_in) + 1
    assert count_video_frames(out) == res.video.frames == expected == 8
    assert sum(_gif_durations(out)) == pytest.approx(1000 * expected / 15, abs=10)
    names = _files(cond)
    assert len(names) == 3 * expected and len(res.conditions) == 3 * expected
    for i in range(expected):
        for kind in ("openpose.png", "openpose.json", "depth.png"):
            assert f"frame_{i:05d}_{kind}" in names
    depth = np.asarray(Image.open(cond / "frame_00003_depth.png"))
    pose_png = np.asarray(Image.open(cond / "frame_00003_openpose.png"))
    assert depth.shape == (80, SIZE) and depth.max() > 100 and depth[0, 0] == 0
    assert pose_png.shape == (80, SIZE, 3) and pose_png.any()
    data = json.loads((cond / "frame_00003_openpose.json").read_text())
    assert (data["canvas_width"], data["canvas_height"]) == (SIZE, 80)
    kp = read_openpose_json(cond / "frame_00003_openpose.json")[0][0]
    # seen from the character's left side, its right ear is behind the head: dropped
    assert kp.body[17, 2] > 0 and kp.body[16, 2] == 0
    # visible points agree with the drawn image: the left shoulder is kept and drawn there
    x, y = np.rint(kp.body[5, :2]).astype(int)
    assert kp.body[5, 2] > 0 and pose_png[y, x].any()


def test_orbit_turns_once_at_a_constant_distance(body, walk):
    from kyara.motion.animate import animate_cameras_for

    cams, lo, hi = animate_cameras_for(body, walk, (SIZE, SIZE), "orbit")
    centre = (lo + hi) / 2
    d = np.array([np.linalg.norm(c.position - centre) for c in cams])
    assert np.allclose(d, d[0])
    az = np.degrees(np.arctan2([c.position[0] - centre[0] for c in cams], [c.position[2] - centre[2] for c in cams]))
    assert np.allclose(np.diff(np.unwrap(np.radians(az))), 2 * np.pi / len(cams))
    assert az[0] == pytest.approx(0.0, abs=1e-9)  # starts at the front
    verts = body.pose_vertices(walk.rotations, walk.translation)[0]
    for c, v in zip(cams, verts):  # the character stays in the image the whole turn
        px, depth = c.project(v)
        assert np.all(depth > 0) and px.min() >= 0 and px.max() <= SIZE - 1


def test_progress_bar_only_on_a_terminal(monkeypatch):
    from kyara.motion import animate as mod

    monkeypatch.setattr(mod.sys.stderr, "isatty", lambda: False, raising=False)
    assert mod._progress(10_000, None) is None
    assert mod._progress(10_000, False) is None
    assert mod._progress(10_000, True) is not None
    monkeypatch.setattr(mod.sys.stderr, "isatty", lambda: True, raising=False)
    assert mod._progress(10_000, None) is not None and mod._progress(10, None) is None


def test_interrupt_while_rendering_leaves_no_video(tmp_path, body, walk, monkeypatch):
    from kyara.motion import animate as mod

    real = mod.render_animation

    def interrupted(*a, **k):
        stream = real(*a, **k)
        yield next(stream)
        stream.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(mod, "render_animation", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mod.animate(body, walk, tmp_path / "x.mp4", SIZE, "front", config=mod.AnimateConfig(chunk=4))
    assert _files(tmp_path) == []


# -- CLI --------------------------------------------------------------------------------------
def _err_lines(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize("argv,needle", [
    (["--motion", "moonwalk", "-o", "{d}/a.mp4"], "--motion 'moonwalk' is not a built-in"),
    (["--motion", "{d}/missing.bvh", "-o", "{d}/a.mp4"], "does not exist"),
    (["--motion", "walk", "-o", "{d}/a.avi"], "suffix '.avi'"),
    (["--motion", "walk", "--fps", "0", "-o", "{d}/a.mp4"], "--fps 0"),
    (["--motion", "walk", "--fps", "-5", "-o", "{d}/a.mp4"], "--fps -5"),
    (["--motion", "walk", "--fps", "60", "-o", "{d}/a.gif"], "fps 60 is out of range for .gif"),
    (["--motion", "walk", "--size", "0", "-o", "{d}/a.mp4"], "--size '0'"),
    (["--motion", "walk", "--view", "up", "-o", "{d}/a.mp4"], "view 'up'"),
    (["--motion", "walk", "--body", "giant", "-o", "{d}/a.mp4"], "unknown body preset 'giant'"),
    (["--motion", "walk", "--motion-scale", "0", "-o", "{d}/a.mp4"], "--motion-scale 0"),
    (["--motion", "walk", "-o", "{d}/no/a.mp4"], "does not exist"),
    (["--motion", "{d}/bad.bvh", "-o", "{d}/a.mp4"], "line"),
    (["--motion", "{d}/bad.npz", "-o", "{d}/a.mp4"], "poses"),
])
def test_cli_bad_input_is_one_line_exit_2_and_no_video(tmp_path, capsys, argv, needle):
    (tmp_path / "bad.bvh").write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition Yposition "
                                      "Zposition Zrotation Xrotation Yrotation\n}\nMOTION\nFrames: 2\n"
                                      "Frame Time: 0.1\n0 0 0 0 0 0\n0 0 0\n")
    np.savez(tmp_path / "bad.npz", trans=np.zeros((3, 3)), mocap_framerate=30.0)
    before = set(_files(tmp_path))
    argv = [a.replace("{d}", str(tmp_path)) for a in argv]
    assert run(["animate", *argv]) == 2
    lines = _err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert set(_files(tmp_path)) == before  # no video, no temporary file


def test_cli_writes_gif_and_conditions(tmp_path, capsys):
    out, cond = tmp_path / "jump.gif", tmp_path / "cond"
    assert run(["animate", "--motion", "jog", "--fps", "8", "--size", "64", "-o", str(out),
                "--conditions", str(cond)]) == 0
    n = count_video_frames(out)
    assert n >= 8 and len(_files(cond)) == 3 * n
    assert f"({n} frames, 64x64, 8 fps)" in capsys.readouterr().out
