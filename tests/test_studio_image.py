"""The studio's Image tab (issue 24): PoseAnimeFlow's sliders and ranges, the prompt as tags before
generating, a pose reference picture whose detected skeleton is shown and saved beside the images
(the Pose tab's detection, reused), and the gallery's Upscale button.

The handlers are called as the page calls them; one test drives the served page's own endpoints
with gradio's client (the tab's wiring), with a stand-in detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from acceptance_prompts import GALLERY

gr = pytest.importorskip("gradio")
pytest.importorskip("diffusers")

from kyara.studio import handlers as H  # noqa: E402
from kyara.studio.session import Workspace  # noqa: E402


def _components(tmp_path) -> dict:
    from kyara.studio.app import build_app
    from kyara.studio.config import StudioConfig

    cfg = build_app(StudioConfig(output=tmp_path)).get_config_file()
    return {c["props"].get("elem_id"): c["props"] for c in cfg["components"] if c["props"].get("elem_id")}


def test_the_tab_has_poseanimeflows_sliders_and_the_new_widgets(tmp_path):
    from kyara.studio.tabs import tab_image

    props = _components(tmp_path)
    assert (props["image-steps"]["minimum"], props["image-steps"]["maximum"], props["image-steps"]["value"]) == (20, 50, 30)
    assert (props["image-guidance"]["minimum"], props["image-guidance"]["maximum"]) == (7.5, 12.0)
    assert (props["image-strength"]["minimum"], props["image-strength"]["maximum"]) == (0.0, 1.0)
    assert props["image-wide-ranges"]["value"] is False and props["image-tags-mode"]["value"] == "auto"
    assert {"image-tags", "image-style", "image-pose-reference", "image-detector", "image-skeleton", "image-upscale",
            "image-upscale-scale", "image-upscale-model"} <= set(props)
    # "wider ranges" reaches turbo/LCM values and brings values back into range when it is unticked
    wide = tab_image._slider_update("steps", True, 30)
    assert (wide["minimum"], wide["maximum"], wide["value"]) == (1, 150, 30.0)
    assert tab_image._slider_update("steps", False, 4)["value"] == 20
    assert tab_image._slider_update("strength", False, 1.6)["value"] == 1.0
    assert len(Path(tab_image.__file__).read_text().splitlines()) < 600


def test_tags_are_shown_and_used(tmp_path):
    from kyara.generate.config import DEFAULT_NEGATIVE

    shown = H.tags_preview(GALLERY["jogger"], "tiny", "auto", "cel")
    assert "**tags** (sd15, cel)" in shown and "1girl, solo, long hair, brown hair" in shown and "cel shading" in shown
    assert "prompt sent as written" in H.tags_preview("1girl, kimono", "tiny", "auto")
    assert "prompt sent as written** (tags off)" in H.tags_preview(GALLERY["jogger"], "tiny", "off")
    assert H.tags_preview("x", "tiny", "auto", "nope").startswith("error: style 'nope' is unknown")
    args = ("", DEFAULT_NEGATIVE, "tiny", "none", "default", 1.0, "", 30, 7.5, "euler-a", 0, 1, 64, 64, None)
    cfg = H.image_config(GALLERY["witch"], *args[1:], tags="on", style="chibi")
    assert cfg.prompt.startswith("masterpiece, best quality, 1girl, solo, witch") and "super deformed" in cfg.prompt
    assert cfg.negative_prompt.startswith("nsfw, lowres") and "photorealistic" in cfg.negative_prompt
    mine = H.image_config(GALLERY["witch"], "bad hands", *args[2:], tags="on")
    assert mine.negative_prompt == "bad hands"  # a negative prompt the user typed is kept
    assert H.image_config(GALLERY["witch"], *args[1:]).prompt == GALLERY["witch"]  # tags off by default here


def _fake_detector(monkeypatch):
    """kyara's standing pose from the front, at the picture's size (the page, not a detector, is tested)."""
    import kyara.detect
    from kyara.detect.types import Detection
    from kyara.pose.views import posed_keypoints_2d

    def detect(image, backend="auto"):
        h, w = np.asarray(image).shape[:2]
        kp = posed_keypoints_2d("teen-girl", "stand", "front", (w, h)).body
        kp[:, 2] = np.where(kp[:, 2] > 0, 0.9, 0.0)
        return Detection(kp.astype(np.float32), np.zeros((h, w), np.float32), w, h, "kyara", reason="stand-in")

    monkeypatch.setattr(kyara.detect, "detect", detect, raising=False)


def _picture(path: Path, size=(240, 320)) -> Path:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def test_pose_reference_shows_the_skeleton_and_feeds_the_generation(tmp_path, monkeypatch):
    _fake_detector(monkeypatch)
    ws = Workspace.for_session(tmp_path / "out", "s")
    ref, files = H.reference_for_image(ws, _picture(tmp_path / "ref.png"), "auto")
    assert ref.overlay.shape == (320, 240, 3) and ref.joints == 18
    assert Path(files["overlay"]).is_file() and np.array_equal(np.asarray(Image.open(files["overlay"])), ref.overlay)
    cfg = H.image_config("1girl", "", "tiny", "openpose", "default", 0.8, "", 20, 7.5, "euler-a", 0, 1, 64, 96, files)
    assert cfg.pose_json == files["json"] and cfg.controlnets[0].strength == 0.8
    out = tmp_path / "images"
    out.mkdir()
    beside = H.save_pose_beside(out, files)
    assert sorted(p.name for p in beside) == ["pose.json", "pose_openpose.png", "pose_skeleton.png"]
    assert all(p.parent == out and p.stat().st_size > 0 for p in beside)


def test_astronaut_skeleton_lands_on_the_person(tmp_path):
    """The real detector on skimage's astronaut (head and chest): nose, neck and shoulders on her."""
    from skimage import data

    crop = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()[:400, 60:460]).save(crop)
    ws = Workspace.for_session(tmp_path / "out", "s")
    try:
        ref, files = H.reference_for_image(ws, crop, "auto")
    except ValueError as exc:  # no photo detector installed here: one line, then nothing to check
        assert "\n" not in H.one_line(exc)
        pytest.skip(H.one_line(exc))
    from kyara.pose.openpose import read_openpose_json

    people, w, h = read_openpose_json(files["json"])
    body = people[0].body  # COCO-18 pixels: 0 nose, 1 neck, 2 right shoulder, 5 left shoulder
    assert (w, h) == (400, 400) and (body[[0, 1, 2, 5], 2] > 0).all(), body[:6]
    face = (110, 50, 215, 190)  # x0, y0, x1, y1 of her face in the crop
    assert face[0] <= body[0, 0] <= face[2] and face[1] <= body[0, 1] <= face[3], body[0]
    assert 120 <= body[1, 0] <= 220 and 180 <= body[1, 1] <= 280, body[1]  # the neck, under the chin
    for j in (2, 5):  # the shoulders, on the suit
        assert 20 <= body[j, 0] <= 320 and 170 <= body[j, 1] <= 320, body[j]
    assert body[2, 0] < body[1, 0] < body[5, 0]  # her right shoulder on the picture's left
    drawn = np.asarray(Image.open(files["openpose"])).max(axis=2) > 0
    assert drawn[int(body[1, 1]), int(body[1, 0])]  # the skeleton shown is drawn where the neck is


def test_upscale_button_writes_beside_and_refuses_foreign_paths(tmp_path):
    from kyara.errors import KyaraError
    from kyara.upscale import require_upscale

    try:
        require_upscale()
    except KyaraError as exc:
        pytest.skip(str(exc))
    ws = Workspace.for_session(tmp_path / "out", "s")
    d = ws.job_dir("image")
    src = _picture(d / "image_0000.png", (40, 32))
    out = H.upscale_gallery_image(ws, str(src), 2, "anime")
    assert out == d / "image_0000_x2.png" and Image.open(out).size == (80, 64)
    with pytest.raises(ValueError, match="not one of this session's images"):
        H.upscale_gallery_image(ws, str(_picture(tmp_path / "elsewhere.png", (16, 16))), 2)
    with pytest.raises(ValueError, match="no image to upscale"):
        H.upscale_gallery_image(ws, None)
    with pytest.raises(ValueError, match="--scale 3"):
        H.upscale_gallery_image(ws, str(src), 3)


@pytest.mark.slow
def test_the_page_endpoints_reference_generate_upscale(tmp_path, monkeypatch):
    """The served tab: upload a reference (skeleton shown), generate with it (tags on, the pose saved
    beside the image), upscale the result — through gradio's client, as a browser's requests."""
    from gradio_client import Client, handle_file

    from kyara.errors import KyaraError
    from kyara.studio.config import StudioConfig
    from kyara.studio.server import launch
    from kyara.upscale import require_upscale

    try:
        require_upscale()
    except KyaraError as exc:
        pytest.skip(str(exc))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _fake_detector(monkeypatch)
    demo, url, out = launch(StudioConfig(host="127.0.0.1", output=tmp_path / "studio"), block=False)
    try:
        c = Client(url, verbose=False)
        skel, status, *_ = c.predict(handle_file(str(_picture(tmp_path / "ref.png"))), "auto",
                                 api_name="/image_pose_reference")
        assert "18/18 joints" in status and Image.open(skel).size == (240, 320)
        bar, status, gallery, files, preview, history, _ = c.predict(GALLERY["jogger"], "", "tiny", "openpose",
                                                                     "default", 0.9, "", 20, 7.5, "euler-a", 0, 1,
                                                                     64, 64, "on", "cel", False, api_name="/generate")
        assert status == "wrote 1 image(s), seed 0", status
        assert len(history) == 1  # the session's history: this image with its parameters
        assert Image.open(preview).size == (256, 256)  # the last step's latent preview, 8x8 shown x32
        names = sorted(Path(f).name for f in files)
        assert names == ["image_0000.png", "pose.json", "pose_openpose.png", "pose_skeleton.png"], names
        png = next(f for f in files if f.endswith("image_0000.png"))
        assert Image.open(png).text["parameters"].startswith("masterpiece, best quality, 1girl, solo, long hair")
        gallery, files, status = c.predict("2", "anime", api_name="/upscale")
        assert status == "wrote image_0000_x2.png (x2, anime)", status
        big = next(f for f in files if f.endswith("image_0000_x2.png"))
        assert Image.open(big).size == (128, 128) and len(gallery) == 2
        assert Image.open(big).text["parameters"].startswith("masterpiece")  # the parameters kept
    finally:
        demo.close()
