"""``kyara drawing`` and kyara.drawing step 6: motion on the lifted character, the files written, and
one-line errors that leave nothing behind. The video tests need the headless GL context (``gl``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from drawing_figures import figure, figure_mask, paper_drawing, quadruped_mask
from kyara.cli.main import run


@pytest.fixture(scope="module")
def character():
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.skeleton import SkeletonConfig

    return lift(figure(256, fill=(0.95, 0.75, 0.6)).rgb, config=LiftConfig(skeleton=SkeletonConfig(detector="none")))


def test_a_retargeted_walk_keeps_the_feet_on_the_floor_and_moves_the_limbs(character):
    from kyara.body.skeleton import BONE_INDEX
    from kyara.drawing.pipeline import retarget_onto

    motion = retarget_onto(character, "walk", 30.0)
    verts, joints = character.pose_vertices(motion.rotations, motion.translation)
    H = float(character.parts[0].vertices[:, 1].max())
    low = verts[..., 1].min(axis=1)  # the lowest point of each frame
    assert np.abs(low).max() <= 0.02 * H, (np.abs(low).max(), H)
    # the limbs move: hands and feet travel, and the front silhouettes of frame 0 and a later frame differ
    for b in ("leftHand", "rightHand", "leftFoot", "rightFoot"):
        path = joints[:, BONE_INDEX[b]]
        assert np.ptp(path[:, 2]) > 0.05 * H, b  # swinging forward and back
    import cv2

    def silhouette(v):
        img = np.zeros((300, 300), np.uint8)
        px = np.rint((v[:, :2] - [-1.0, -0.1]) * [150, -150] + [0, 299]).astype(np.int32)
        for tri in px[character.parts[0].faces]:
            cv2.fillConvexPoly(img, tri, 1)
        return img > 0

    from kyara.detect.metrics import mask_iou

    k = motion.num_frames // 3
    assert mask_iou(silhouette(verts[0]), silhouette(verts[k])) < 0.9


def _errors(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _save(path, rgb):
    Image.fromarray(rgb).save(path)
    return str(path)


@pytest.mark.parametrize("case,needle", [
    ("blank", "blank paper"),
    ("two", "2 separate figures"),
    ("tiny", "at least 64 pixels"),
    ("noise", "no clear background"),
    ("cut", "cut off"),
    ("quadruped", "four-legged"),
    ("six arms", "arms on its"),
    ("missing image", "does not exist"),
    ("not an image", "is not a PNG"),
    ("bad motion", "is not a built-in"),
    ("missing motion file", "does not exist"),
    ("bad joints", "expected .yaml"),
    ("mask size", "expected the drawing's 256x256"),
    ("fps", "--fps"),
    ("size", "--size"),
    ("detector", "--detector"),
    ("height", "--height"),
    ("parent", "does not exist"),
])
def test_bad_inputs_are_one_error_line_exit_2_and_nothing_written(tmp_path, capsys, case, needle):
    rng = np.random.default_rng(0)
    good = _save(tmp_path / "good.png", figure(256).rgb)
    images = {
        "blank": lambda: np.full((200, 200, 3), 240, np.uint8),
        "two": lambda: np.concatenate([figure(256).rgb, figure(256).rgb], axis=1),
        "tiny": lambda: np.full((40, 40, 3), 240, np.uint8),
        "noise": lambda: rng.integers(0, 255, (200, 200, 3)).astype(np.uint8),
        "cut": lambda: figure(256).rgb[40:],
        "quadruped": lambda: paper_drawing(quadruped_mask(256)),
        "six arms": lambda: paper_drawing(figure_mask(256, arms=3)),
    }
    image, extra, out = good, [], tmp_path / "out"
    if case in images:
        image = _save(tmp_path / "in.png", images[case]())
    elif case == "missing image":
        image = str(tmp_path / "none.png")
    elif case == "not an image":
        (tmp_path / "x.png").write_text("hello")
        image = str(tmp_path / "x.png")
    elif case == "bad motion":
        extra = ["--motion", "moonwalk"]
    elif case == "missing motion file":
        extra = ["--motion", str(tmp_path / "none.bvh")]
    elif case == "bad joints":
        (tmp_path / "j.txt").write_text("x")
        extra = ["--joints", str(tmp_path / "j.txt")]
    elif case == "mask size":
        extra = ["--mask", _save(tmp_path / "m.png", np.zeros((100, 100), np.uint8))]
    elif case == "fps":
        extra = ["--fps", "0"]
    elif case == "size":
        extra = ["--size", "0"]
    elif case == "detector":
        extra = ["--detector", "magic"]
    elif case == "height":
        extra = ["--height", "0"]
    elif case == "parent":
        out = tmp_path / "no" / "out"
    code = run(["drawing", image, "-o", str(out), "--detector", "none", *extra] if case != "detector"
               else ["drawing", image, "-o", str(out), *extra])
    err = _errors(capsys)
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert not out.exists()


@pytest.mark.slow
def test_kyara_drawing_writes_the_avatar_the_motion_and_the_steps(tmp_path, capsys, gl):
    from kyara.render.video import count_video_frames

    f = figure(256, fill=(0.95, 0.75, 0.6))
    image = _save(tmp_path / "drawing.png", f.rgb)
    out = tmp_path / "out"
    code = run(["drawing", image, "--motion", "jog", "--size", "128", "--detector", "none", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    for name in ("avatar.vrm", "avatar.glb", "motion.mp4", "motion.gif", "mask.png", "skeleton.json",
                 "contact_sheet.png", "drawing.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    report = json.loads((out / "drawing.json").read_text())
    n = report["motion"]["frames"]
    assert count_video_frames(out / "motion.mp4") == n
    frames = sorted((out / "frames").glob("frame_*.png"))
    assert len([p for p in frames if p.stem.count("_") == 1]) == n  # frame_00000.png ...
    assert (out / "frames" / "frame_00000_openpose.json").is_file() and (out / "frames" / "frame_00000_depth.png").is_file()
    mask = np.asarray(Image.open(out / "mask.png")) > 127
    from kyara.detect.metrics import mask_iou

    assert mask_iou(mask, f.drawn) > 0.9
    sk = json.loads((out / "skeleton.json").read_text())
    assert sk["canvas_width"] == 256 and sk["kyara_drawing"]["source"] == "medial axis"
    assert len(sk["people"][0]["pose_keypoints_2d"]) == 54
    # the video moves: first and middle frames differ
    a = np.asarray(Image.open(frames[0]), np.float32)
    b = np.asarray(Image.open([p for p in frames if p.stem == f"frame_{n // 2:05d}"][0]), np.float32)
    assert np.abs(a - b).mean() > 1.0
    # the files are what kyara reads back as an avatar
    from kyara.avatar import load_character

    back = load_character(out / "avatar.vrm")
    assert len(back.parts) >= 1
