"""The mediapipe backend on a real photo (skipped cleanly when mediapipe is not installed).

``skimage.data.astronaut()`` shows a woman's head and chest, 512 x 512: the nose, the neck and both
shoulders must land on her (inside boxes set by hand from the picture, independent of MediaPipe),
and the joints below the frame (hips, knees, ankles) must be absent.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mediapipe")

# boxes set by hand on the 512 x 512 picture, (x0, y0, x1, y1) pixels
FACE = (175, 60, 275, 170)  # her face, brow to chin
HEAD = (150, 10, 305, 185)  # the head with the hair
SHOULDERS = (20, 180, 370, 340)  # the suit's shoulders and collar ring
BACKGROUND = ((420, 10, 500, 60), (0, 0, 60, 60))  # the shuttle's sky, the flag's corner: no person


def _inside(p, box) -> bool:
    x0, y0, x1, y1 = box
    return p[2] > 0 and x0 <= p[0] <= x1 and y0 <= p[1] <= y1


@pytest.fixture(scope="module")
def astronaut():
    from skimage import data

    from kyara.detect import detect

    img = data.astronaut()
    return img, detect(img, "mediapipe")


def test_astronaut_head_and_shoulders_on_the_person(astronaut):
    _, det = astronaut
    kp = det.keypoints
    assert det.backend == "mediapipe" and det.udp is None and (det.width, det.height) == (512, 512)
    assert _inside(kp[0], FACE), kp[0]  # nose
    assert _inside(kp[1], SHOULDERS), kp[1]  # neck
    assert _inside(kp[2], SHOULDERS) and _inside(kp[5], SHOULDERS), kp[[2, 5]]
    assert kp[2, 0] < kp[1, 0] < kp[5, 0], "her right shoulder on the image's left (she faces us)"
    np.testing.assert_allclose(kp[1, :2], (kp[2, :2] + kp[5, :2]) / 2, atol=1e-3)
    for eye in (14, 15):
        assert _inside(kp[eye], FACE)
    for ear in (16, 17):
        assert _inside(kp[ear], HEAD)


def test_astronaut_joints_out_of_the_frame_are_absent(astronaut):
    _, det = astronaut
    for j in (8, 9, 10, 11, 12, 13):  # hips, knees, ankles
        assert tuple(det.keypoints[j]) == (0.0, 0.0, 0.0), (j, det.keypoints[j])


def test_astronaut_face_mask_and_auto_choice(astronaut):
    from kyara.detect import detect

    img, det = astronaut
    assert det.face is not None and det.face.shape == (70, 3)
    assert all(_inside(p, HEAD) for p in det.face), "all 70 face points on her head"
    # the pupils (68, 69) lie inside their eye outlines' boxes (36-41 right, 42-47 left)
    for pupil, eye in ((68, slice(36, 42)), (69, slice(42, 48))):
        lo, hi = det.face[eye, :2].min(axis=0), det.face[eye, :2].max(axis=0)
        assert (lo - 2 <= det.face[pupil, :2]).all() and (det.face[pupil, :2] <= hi + 2).all()
    assert det.face[8, 1] > det.face[57, 1] > det.face[33, 1] > det.face[27, 1], "chin, lip, nose, brow line"
    x, y = det.keypoints[0, :2].astype(int)
    assert det.mask[y, x] > 0.5 and det.mask[260, 200] > 0.5, "nose and chest on the person mask"
    for x0, y0, x1, y1 in BACKGROUND:
        assert det.mask[y0:y1, x0:x1].mean() < 0.2
    auto = detect(img)
    assert auto.backend == "mediapipe" and auto.reason.startswith("auto: mediapipe, the image looks photographic")
    np.testing.assert_array_equal(auto.keypoints, det.keypoints)


def test_mediapipe_finds_nobody_in_a_blank_image():
    from kyara.detect import detect

    det = detect(np.full((128, 128, 3), 255, np.uint8), "mediapipe")
    assert not det.keypoints.any() and not det.mask.any() and det.hands is None and det.face is None


def test_mediapipe_keeps_numpy_2_and_the_other_packages_importable():
    code = ("import numpy, mediapipe, cv2; import google.protobuf as pb; "
            "assert int(numpy.__version__.split('.')[0]) >= 2, numpy.__version__; "
            "assert int(pb.__version__.split('.')[0]) < 5, pb.__version__; "
            "import importlib.util as u; "
            "[__import__(m) for m in ('torch', 'gradio', 'ray') if u.find_spec(m)]; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_cli_detect_on_a_photo_writes_no_udp_and_no_log_lines(tmp_path):
    """MediaPipe's C++ start-up lines (TensorFlow Lite, absl) go to file descriptor 2: none reach the user."""
    from PIL import Image
    from skimage import data

    p = tmp_path / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(p, quality=90)
    r = subprocess.run([sys.executable, "-m", "kyara.cli.main", "detect", str(p), "--backend", "mediapipe",
                        "-o", str(tmp_path / "o")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr[-2000:]
    assert r.stdout.splitlines()[0].startswith("backend mediapipe: ")
    assert sorted(q.name for q in (tmp_path / "o").iterdir()) == ["mask.png", "openpose.json", "openpose.png"]
