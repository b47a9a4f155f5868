"""The Pose tab's reference image: upload -> ``kyara.detect.detect`` -> the skeleton over the picture,
the sliders fitted to it, and the Image tab's condition. ``detect`` is replaced by a fake that
returns the keypoints of a known rendered pose, so the fit can be checked against the truth."""

from __future__ import annotations

import numpy as np
import pytest

import kyara.detect
from kyara.detect.types import Detection
from kyara.studio import handlers as H
from kyara.studio.handlers.pose_fit import fit_pose_2d, project_points
from kyara.studio.session import Workspace


@pytest.fixture(scope="module")
def jog30():
    """COCO-18 keypoints [18, 3] (pixels of a 384x384 render) of ``jog`` seen from azimuth 30."""
    from kyara.render.pipeline import RenderConfig, frame_views, render_views

    body = H.load_body(None)
    st = H.pose_state("jog", None)
    pose = H.pose_from_state(st)
    verts, joints = body.pose(pose)
    views = frame_views(np.concatenate([verts, joints]), [30.0], (384, 384))
    rv = H.on_gl_thread(render_views, body, pose, views, RenderConfig(maps=("openpose",)), vertices=verts,
                        check_cameras=False)
    return st, rv.keypoints[0].body.astype(np.float32)


def _fake_detect(keypoints: np.ndarray, calls: list | None = None, src=(384, 384)):
    """A stand-in for ``kyara.detect.detect``: ``keypoints`` (pixels of a ``src`` canvas) scaled into
    the image it is given."""

    def detect(image, backend="auto"):
        img = np.asarray(image)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        if calls is not None:
            calls.append((img.shape, backend))
        h, w = img.shape[:2]
        s = min(w / src[0], h / src[1])
        kp = keypoints.copy()
        kp[:, :2] = kp[:, :2] * s + [(w - s * src[0]) / 2, (h - s * src[1]) / 2]
        kp[kp[:, 2] <= 0] = 0
        return Detection(kp, np.zeros((h, w), np.float32), w, h, "kyara" if backend == "auto" else backend,
                         reason="auto: a drawing" if backend == "auto" else "")

    return detect


def _png(path, size=(300, 400), mode="RGB"):
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(mode).save(path)
    return path


def test_fit_recovers_a_rendered_pose_and_its_view(jog30):
    st, kp = jog30
    body = H.load_body(None)
    fit = fit_pose_2d(body, kp, H.pose_state("stand", None))
    assert abs(fit.azimuth - 30.0) < 15.0, fit.azimuth
    assert fit.error < 0.02 and fit.joints >= 14  # within 2% of the figure's size
    # the fitted pose projects onto the given joints (checked here independently of the fit's residual)
    from kyara.pose.keypoints import body_keypoints

    pose = H.pose_from_state(fit.state)
    p = project_points(body_keypoints(body, pose.rotations, pose.translation).body[None], np.array([fit.azimuth]))[0]
    ok = kp[:, 2] > 0
    q = kp[ok, :2]
    p = p[ok]
    a = np.linalg.lstsq(np.c_[p, np.ones(len(p))], q, rcond=None)[0]
    far = np.linalg.norm(np.c_[p, np.ones(len(p))] @ a - q, axis=1).max()
    assert far < 0.05 * np.linalg.norm(q.max(0) - q.min(0)), far
    # the elbows bend as in jog (the fit starts from stand, elbows straight)
    vals = dict(zip([k for k, *_ in H.SLIDERS], H.slider_values(fit.state)))
    assert vals["l_elbow"] > 45 and vals["r_elbow"] > 45, vals
    with pytest.raises(ValueError, match="at least 5"):
        fit_pose_2d(body, np.zeros((18, 3)), H.pose_state("stand", None))


def test_reference_upload_sets_sliders_and_the_image_condition(tmp_path, monkeypatch, jog30):
    _, kp = jog30
    calls = []
    monkeypatch.setattr(kyara.detect, "detect", _fake_detect(kp, calls), raising=False)
    ws = Workspace.for_session(tmp_path, "s")
    ref = H.pose_reference_upload(ws, _png(tmp_path / "photo.png"), "auto")
    assert calls == [((400, 300, 3), "auto")]
    assert ref.overlay.shape == (400, 300, 3) and ref.backend == "kyara" and ref.joints >= 14
    assert "auto: a drawing" in ref.notes[0] and "sliders fitted" in ref.notes[1]
    # the skeleton is drawn over the picture (ControlNet colours), the rest of the picture dimmed
    skel = ref.preview.openpose
    assert skel.shape == (400, 300, 3) and (skel.max(axis=2) > 0).mean() > 0.005
    assert ref.overlay[skel.max(axis=2) == 0].max() <= 127
    assert abs(ref.azimuth - 30) < 15 and ref.state["name"] == "reference"
    # depth and toon show the fitted pose; the Image tab redraws the detected skeleton at its size
    assert ref.preview.depth.any() and ref.preview.toon.any()
    files = {k: str(v) for k, v in ref.preview.files.items()}
    cfg = H.image_config("1girl", "", "tiny", "openpose", "default", 1.0, "", 2, 7.5, "euler-a", 0, 1, 64, 96, files)
    assert cfg.pose_json == files["json"] and not cfg.control_images
    from kyara.pose.openpose import read_openpose_json

    people, w, h = read_openpose_json(files["json"])
    assert (w, h) == (300, 400) and (people[0].body[:, 2] > 0).sum() == ref.joints
    depth_cfg = H.image_config("1girl", "", "tiny", "depth", "default", 1.0, "", 2, 7.5, "euler-a", 0, 1, 64, 64, files)
    assert depth_cfg.control_images == (("depth", files["depth"]),)
    # the fitted state drives the preview when a slider moves next
    moved = H.slider_values(ref.state)
    moved[[k for k, *_ in H.SLIDERS].index("r_knee")] = 100.0
    assert H.pose_preview(None, ref.state, moved, ref.azimuth, 0, None, size=(96, 96)).toon.any()


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "I;16", "CMYK", "L"])
def test_reference_reads_every_image_mode(tmp_path, mode):
    from PIL import Image

    from kyara.studio.handlers.reference import reference_rgb

    a = np.zeros((40, 30, 4), np.uint8)
    a[..., :3] = 200
    a[10:30, 5:25] = (255, 0, 0, 255)  # an opaque red square on a transparent background
    if mode == "I;16":
        im = Image.fromarray((np.full((40, 30), 40000)).astype(np.uint16))
        path = tmp_path / "x.png"
    elif mode == "CMYK":
        im = Image.fromarray(a[..., :3]).convert("CMYK")
        path = tmp_path / "x.jpg"
    else:
        im = Image.fromarray(a, "RGBA")
        im = im.convert(mode) if mode != "P" else im.convert("P", palette=Image.Palette.ADAPTIVE)
        path = tmp_path / "x.png"
    im.save(path)
    rgb = reference_rgb(path, "x")
    assert rgb.shape == (40, 30, 3) and rgb.dtype == np.uint8
    if mode == "RGBA":
        assert tuple(rgb[0, 0]) == (255, 255, 255) and tuple(rgb[20, 15]) == (255, 0, 0)  # alpha over white
    if mode == "I;16":
        assert abs(int(rgb[0, 0, 0]) - round(40000 / 257)) <= 1  # 16 bits scaled, not clipped


def test_reference_is_scaled_down_and_tiny_images_refused(tmp_path, monkeypatch, jog30):
    from kyara.studio.handlers.reference import REFERENCE_MAX, reference_rgb

    big = reference_rgb(_png(tmp_path / "big.png", (2400, 1200)), "big.png")
    assert big.shape == (REFERENCE_MAX // 2, REFERENCE_MAX, 3)
    monkeypatch.setattr(kyara.detect, "detect", _fake_detect(jog30[1]), raising=False)
    ws = Workspace.for_session(tmp_path, "s")
    with pytest.raises(ValueError, match=r"upload 'tiny\.png' is 8x8 pixels, expected at least 16") as err:
        H.pose_reference_upload(ws, _png(tmp_path / "tiny.png", (8, 8)))
    assert str(tmp_path) not in str(err.value)
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"upload 'corrupt\.png' is a corrupt image"):
        H.pose_reference_upload(ws, tmp_path / "corrupt.png")
    with pytest.raises(ValueError, match="detector 'openpose' is unknown"):
        H.pose_reference_upload(ws, _png(tmp_path / "a.png"), "openpose")
    assert not list(ws.dir.glob("pose-*/*")), "a refused upload leaves no files"


def test_detector_failures_are_one_line(tmp_path, monkeypatch, jog30):
    ws = Workspace.for_session(tmp_path, "s")
    img = _png(tmp_path / "photo.png")

    def missing(image, backend="auto"):
        raise ValueError("the mediapipe backend needs the 'detect' extra (mediapipe), which is not installed:\n"
                         "run `make extras`")
    monkeypatch.setattr(kyara.detect, "detect", missing, raising=False)
    with pytest.raises(ValueError, match="needs the 'detect' extra") as err:
        H.pose_reference_upload(ws, img, "mediapipe")
    assert H.one_line(err.value).startswith("error: ") and "\n" not in H.one_line(err.value)
    monkeypatch.delattr(kyara.detect, "detect", raising=False)
    monkeypatch.setitem(__import__("sys").modules, "kyara.detect.detect", None)  # as before detect landed
    with pytest.raises(ValueError, match="pose detection is not available"):
        H.pose_reference_upload(ws, img)
    nobody = jog30[1] * 0
    monkeypatch.setattr(kyara.detect, "detect", _fake_detect(nobody), raising=False)
    with pytest.raises(ValueError, match=r"no figure found in 'photo\.png' by the kyara detector"):
        H.pose_reference_upload(ws, img)
    few = jog30[1].copy()
    few[3:14] = 0  # only the neck and the shoulders of the body found (and the face)
    few[[2, 5]] = jog30[1][[2, 5]]
    monkeypatch.setattr(kyara.detect, "detect", _fake_detect(few), raising=False)
    ref = H.pose_reference_upload(ws, img)
    assert ref.state is None and "too few body joints" in ref.notes[-1] and not ref.preview.depth.any()
    assert "depth" not in ref.preview.files and ref.preview.files["openpose_json"].is_file()


def test_the_real_detector_answers_or_says_why(tmp_path):
    """With ``kyara.detect.detect`` installed: a rendered character goes through it without a traceback."""
    try:
        from kyara.detect import detect  # noqa: F401
    except ImportError:
        pytest.skip("kyara.detect.detect is not there yet")
    from PIL import Image

    st = H.pose_state("stand", None)
    toon = H.pose_preview(None, st, None, 0, 0, None, size=(256, 256)).toon
    Image.fromarray(toon).save(tmp_path / "render.png")
    try:
        ref = H.pose_reference_upload(Workspace.for_session(tmp_path, "s"), tmp_path / "render.png")
    except ValueError as exc:  # no backend installed here, no figure found: one line
        assert "\n" not in H.one_line(exc)
        return
    assert ref.overlay.shape == (256, 256, 3) and ref.joints > 0
