"""The image size follows the model family when none is given (SD1.5/SD2 512, SDXL 1024), and a pose
of another aspect ratio is fitted into the canvas keeping its proportions."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.generate.config import ControlSpec, ImageConfig

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.filterwarnings("ignore::UserWarning")]


from test_generate import offline_cache  # noqa: E402,F401  (offline hub, a scratch model cache; autouse)


def _cli(args, capsys):
    from kyara.cli.main import run

    code = run(args)
    out = capsys.readouterr()
    return code, out.out, out.err


# -- the native size of a family (configs only) ----------------------------------------------------
@pytest.mark.parametrize("xl, unet, size", [
    (False, {"cross_attention_dim": 768, "sample_size": 64}, (512, 512)),  # SD1.5
    (False, {"cross_attention_dim": 1024, "sample_size": 64}, (512, 512)),  # SD2-base
    (False, {"cross_attention_dim": 1024, "sample_size": 96}, (768, 768)),  # SD2 768-v
    (False, {"cross_attention_dim": 2048, "addition_embed_type": "text_time", "sample_size": 128}, (1024, 1024)),
    (True, None, (1024, 1024)),  # SDXL pipeline class, UNet config not read yet
    (False, None, (512, 512)),
])
def test_native_size_of_each_family(xl, unet, size):
    from kyara.generate.models import native_size

    assert native_size(xl, unet) == size


def test_tiny_models_resolve_to_their_family_size(offline_cache):
    pytest.importorskip("diffusers")
    from kyara.generate.pipeline import model_size

    for model, side in (("tiny", 512), ("tiny-sdxl", 1024)):
        cfg = model_size(ImageConfig("a girl", model=model, size_from_model=True))
        assert (cfg.width, cfg.height, cfg.size_from_model) == (side, side, False), model
    given = ImageConfig("a girl", model="tiny-sdxl", width=64, height=48)  # a size was given: kept
    assert model_size(given) == given


def test_size_from_model_must_be_a_bool():
    with pytest.raises(ValueError, match="size_from_model 'yes' is not valid"):
        ImageConfig("a girl", size_from_model="yes").check()


def test_png_json_with_a_bad_size_from_model_is_one_line(tmp_path, capsys):
    from kyara.generate.metadata import config_from_json

    with pytest.raises(ValueError, match=r'^size_from_model is "yes", expected true or false$'):
        config_from_json({"prompt": "x", "size_from_model": "yes"})


def test_png_without_a_size_takes_the_models():
    from kyara.generate.metadata import parse_a1111

    assert parse_a1111("1girl\nSteps: 20, Seed: 1").size_from_model is True
    assert parse_a1111("1girl\nSteps: 20, Seed: 1, Size: 640x448").size_from_model is False


# -- the CLI: no --size = the model's size ---------------------------------------------------------
@pytest.mark.parametrize("model, size, expected", [
    pytest.param("tiny-sdxl", None, (1024, 1024), marks=pytest.mark.slow),  # 1024 px: 1.8 s idle, 17 s on busy cores
    ("tiny-sdxl", "512", (512, 512)), ("tiny", None, (512, 512))])
def test_cli_size_follows_the_model_unless_given(model, size, expected, offline_cache, tmp_path, capsys):
    pytest.importorskip("diffusers")
    from PIL import Image

    from kyara.generate.metadata import read_png_config

    out = tmp_path / "out.png"
    code, _, err = _cli(["image", "a girl", "--model", model, "--steps", "1", "-o", str(out),
                         *(["--size", size] if size else [])], capsys)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.size == expected
        assert f"Size: {expected[0]}x{expected[1]}" in im.text["parameters"]
    back = read_png_config(out)  # the size used is recorded, so --from reproduces it on any model
    assert (back.width, back.height, back.size_from_model) == (*expected, False)


def test_cli_output_limit_is_checked_at_the_models_size(offline_cache, tmp_path, capsys):
    pytest.importorskip("diffusers")
    from kyara.errors import KyaraError
    from kyara.upscale import require_upscale

    try:
        require_upscale()
    except KyaraError as exc:
        pytest.skip(str(exc))
    # at 512 the hires pass makes 2048 and x4 8192 (the limit): accepted; at tiny-sdxl's 1024, refused
    ImageConfig("a girl", hires_scale=4.0, upscale=4).check()
    code, _, err = _cli(["image", "a girl", "--model", "tiny-sdxl", "--steps", "1", "--hires-scale", "4",
                         "--upscale", "4", "-o", str(tmp_path / "o.png")], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("error: a 4096x4096 image upscaled x4 is 16384x16384 pixels"), err
    assert not (tmp_path / "o.png").exists()


# -- a portrait pose on a landscape canvas keeps its proportions -----------------------------------
def _joints(drawing: np.ndarray) -> dict[int, np.ndarray]:
    """Centres (x, y) of the body joints of an OpenPose drawing: the pixels within 6 of each joint's own
    colour (limbs are drawn at 0.6 of it, >= 100 away; the nearest hand-bone colour is 8.5 away; these
    drawings have no hands), at least 3 of them (a drawing shrunk by Lanczos keeps few pure pixels)."""
    from kyara.render.openpose_draw import BODY_COLORS

    from scipy.ndimage import label

    out = {}
    rgb = drawing.astype(np.int32)
    for i, colour in enumerate(BODY_COLORS):
        lab, n = label(((rgb - np.array(colour)) ** 2).sum(axis=2) < 6 ** 2)
        if n == 0:
            continue
        sizes = np.bincount(lab.ravel())[1:]  # the joint's disc, not stray blends of two other colours
        ys, xs = np.nonzero(lab == 1 + int(np.argmax(sizes)))
        if len(xs) >= 3:
            out[i] = np.array([xs.mean(), ys.mean()])
    return out


def _shape(joints: dict[int, np.ndarray], keep: list[int]) -> np.ndarray:
    """Every pairwise distance between the ``keep`` joints, divided by their mean: the skeleton's
    proportions, blind to scale and position."""
    pts = np.stack([joints[i] for i in keep])
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)[np.triu_indices(len(keep), 1)]
    return d / d.mean()


def _check_same_proportions(source: np.ndarray, condition: np.ndarray, tol: float = 0.05) -> None:
    a, b = _joints(source), _joints(condition)
    keep = sorted(set(a) & set(b))
    assert len(keep) >= 10, keep  # neck, shoulders, elbows, hips, knees at least
    err = np.abs(_shape(a, keep) - _shape(b, keep)).max()
    assert err < tol, f"proportions differ by {err:.3f}"
    # the bounding box of the joints keeps its aspect (a stretched 512x768 -> 768x512 would change it 2.25x)
    pa, pb = np.stack([a[i] for i in keep]), np.stack([b[i] for i in keep])
    ra = np.ptp(pa[:, 1]) / np.ptp(pa[:, 0])
    rb = np.ptp(pb[:, 1]) / np.ptp(pb[:, 0])
    assert abs(rb / ra - 1) < tol, (ra, rb)


def test_measure_sees_a_stretch():
    """The measure itself: a portrait drawing resized to landscape fails it."""
    from PIL import Image

    from kyara.pose.views import posed_keypoints_2d
    from kyara.render.openpose_draw import draw_openpose

    src = draw_openpose([posed_keypoints_2d("teen-girl", "jog", "front", (512, 768))], 512, 768, thick=False)
    stretched = np.asarray(Image.fromarray(src).resize((768, 512), Image.NEAREST))
    with pytest.raises(AssertionError):
        _check_same_proportions(src, stretched)


def test_portrait_pose_json_on_a_landscape_canvas_keeps_its_aspect(offline_cache, tmp_path, capsys):
    pytest.importorskip("diffusers")
    from PIL import Image

    from kyara.pose.openpose import write_openpose_json
    from kyara.pose.views import posed_keypoints_2d
    from kyara.render.openpose_draw import draw_openpose

    kp = posed_keypoints_2d("teen-girl", "jog", "front", (512, 768))  # portrait canvas
    js = tmp_path / "pose.json"
    write_openpose_json(js, [kp], 512, 768)
    src = draw_openpose([kp], 512, 768, thick=False)
    out = tmp_path / "out.png"
    code, _, err = _cli(["image", "a girl", "--model", "tiny", "--steps", "1", "--size", "768x512", "--pose-json",
                         str(js), "--save-conditions", "-o", str(out)], capsys)
    assert code == 0, err
    assert "fitted into 768x512 keeping its aspect ratio" in err
    cond = np.asarray(Image.open(tmp_path / "out_openpose.png").convert("RGB"))
    assert cond.shape == (512, 768, 3) and Image.open(out).size == (768, 512)
    _check_same_proportions(src, cond)
    xs = np.nonzero(cond.any(axis=2))[1]
    assert xs.min() > 150 and xs.max() < 768 - 150  # letterboxed: centred, bars left and right


def test_portrait_body_render_on_a_landscape_canvas_keeps_its_aspect():
    from kyara.generate.pipeline import make_control_images

    cfg = ImageConfig("a girl", controlnets=(ControlSpec("openpose", "tiny"),), body="teen-girl", pose="jog")
    portrait = make_control_images(cfg.replace(width=512, height=768))["openpose"]
    landscape = make_control_images(cfg.replace(width=768, height=512))["openpose"]
    assert landscape.shape == (512, 768, 3)
    _check_same_proportions(portrait, landscape)


def test_portrait_pose_drawing_on_a_landscape_canvas_keeps_its_aspect(tmp_path):
    """--pose-image with an OpenPose drawing of another aspect ratio."""
    from PIL import Image

    from kyara.generate.pipeline import make_control_images
    from kyara.pose.views import posed_keypoints_2d
    from kyara.render.openpose_draw import draw_openpose

    src = draw_openpose([posed_keypoints_2d("teen-girl", "jog", "front", (512, 768))], 512, 768, thick=False)
    f = tmp_path / "drawing.png"
    Image.fromarray(src).save(f)
    cfg = ImageConfig("a girl", controlnets=(ControlSpec("openpose", "tiny"),), pose_image=str(f), width=768,
                      height=512)
    # the drawing itself is shrunk 2/3 (Lanczos): joint centres move by about a pixel
    _check_same_proportions(src, make_control_images(cfg)["openpose"], tol=0.05)


def test_size_resolved_after_loading_when_configs_come_with_the_weights(offline_cache, monkeypatch):
    """A hub model not downloaded yet has no configs to read before loading: the size is resolved
    from the loaded UNet, and the pose is drawn at that size."""
    pytest.importorskip("diffusers")
    from kyara.generate import pipeline
    from kyara.generate.models import ModelSource
    from kyara.generate.tiny import tiny_model_dir

    hub = ModelSource("someone/model", "hub", str(tiny_model_dir("tiny")), local_only=True)
    monkeypatch.setattr(pipeline, "base_configs", lambda cfg: (hub, hub, None, None))
    cfg = ImageConfig("a girl", model="tiny", steps=1, width=64, height=64, size_from_model=True,
                      controlnets=(ControlSpec("openpose", "tiny"),), pose="jog")
    r = pipeline.generate(cfg)
    assert r.images[0].size == (512, 512) and r.control_images["openpose"].shape == (512, 512, 3)
    assert (r.configs[0].width, r.configs[0].height, r.configs[0].size_from_model) == (512, 512, False)
