"""kyara.drawing steps 1-2: the mask of a drawing and its joints (no GL, no detector weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drawing_figures import figure, figure_keypoints, figure_mask, paper_drawing, quadruped_mask


def iou(a, b) -> float:
    from kyara.detect.metrics import mask_iou

    return mask_iou(a, b)


# -- step 1: the mask ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["white", "coloured paper", "photo of paper", "flat colours"])
def test_paper_mask_finds_the_figure(kind):
    from kyara.drawing.segment import character_mask

    kw = {"white": {}, "coloured paper": {"paper": (0.95, 0.85, 0.45)},
          "photo of paper": {"light": 0.45}, "flat colours": {"fill": (0.9, 0.55, 0.5), "paper": (0.7, 0.85, 0.95)}}[kind]
    f = figure(256, **kw)
    r = character_mask(f.rgb)
    assert r.source == "paper"
    assert iou(r.mask, f.drawn) >= 0.93, kind


def test_alpha_and_given_masks_are_used_as_they_are(tmp_path):
    from PIL import Image

    from kyara.drawing.segment import as_drawing, character_mask

    f = figure(256)
    rgba = np.dstack([f.rgb, np.where(f.mask, 255, 0).astype(np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    rgb, alpha = as_drawing(tmp_path / "a.png")
    r = character_mask(rgb, alpha)
    assert r.source == "alpha" and iou(r.mask, f.mask) == 1.0
    Image.fromarray((f.mask * 255).astype(np.uint8)).save(tmp_path / "m.png")
    r = character_mask(f.rgb, None, tmp_path / "m.png")
    assert r.source == "given" and iou(r.mask, f.mask) == 1.0


def test_real_drawings_padded_with_paper_segment_like_animated_drawings():
    """AnimatedDrawings' texture.png is its detector's tight crop (the figure touches the crop): with a
    margin of paper around it, the automatic mask agrees with that project's mask."""
    import cv2

    from kyara.detect.drawings import load_drawing
    from kyara.drawing.segment import character_mask, ink_map

    for name, want in (("char1", 0.93), ("char2", 0.84)):
        d = load_drawing(f"tests/data/drawings/animated-drawings/{name}")
        p = int(0.06 * max(d.rgb.shape[:2]))
        paper = [int(round(255 * c)) for c in ink_map(d.rgb)[2]]
        rgb = cv2.copyMakeBorder(d.rgb, p, p, p, p, cv2.BORDER_CONSTANT, value=paper)
        assert iou(character_mask(rgb).mask, np.pad(d.mask, p)) >= want, name


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as e:
        fn(*args, **kwargs)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_bad_drawings_give_one_line_errors():
    from kyara.drawing.segment import as_drawing, character_mask

    rng = np.random.default_rng(0)
    blank = np.clip(np.full((200, 200, 3), 240) + rng.normal(0, 2, (200, 200, 3)), 0, 255).astype(np.uint8)
    assert "blank paper" in _error(character_mask, blank)
    two = np.concatenate([figure(256).rgb, figure(256).rgb], axis=1)
    assert "2 separate figures" in _error(character_mask, two)
    assert "at least 64 pixels" in _error(as_drawing, np.zeros((40, 300, 3), np.uint8))
    noise = rng.integers(0, 255, (200, 200, 3)).astype(np.uint8)
    assert "no clear background" in _error(character_mask, noise)
    m = figure_mask(256)
    cut = paper_drawing(m)[40:, :]  # the crop cuts through the head
    assert "touches the image's top edge" in _error(character_mask, cut)
    assert "expected the drawing's 256x256" in _error(character_mask, figure(256).rgb, None, np.ones((10, 10), bool))


# -- step 2: the joints -------------------------------------------------------------------------
def test_medial_axis_finds_the_joints_and_beats_the_box_template():
    from kyara.detect.drawings import template_baseline
    from kyara.detect.metrics import pck
    from kyara.drawing.skeleton import axis_graph, medial_axis_joints

    m = figure_mask(256)
    gt = figure_keypoints(256)
    kp, pelvis = medial_axis_joints(axis_graph(m))
    body = np.zeros(18, bool)
    body[:14] = True  # nose .. ankles (eyes and ears of a disc head are a guess either way)
    gt_b = np.where(body[:, None], gt, 0.0)
    ours, base = pck(kp, gt_b, m, 0.05), pck(template_baseline(m), gt_b, m, 0.05)
    assert ours >= 0.85 and ours > base, (ours, base)
    assert pck(kp, gt_b, m, 0.1) == 1.0
    assert abs(pelvis[1] - 150) < 12 and abs(pelvis[0] - 128) < 6


def test_real_drawings_medial_axis_beats_the_box_template():
    from kyara.detect.drawings import load_drawing, template_baseline
    from kyara.detect.metrics import pck
    from kyara.drawing.skeleton import axis_graph, medial_axis_joints

    for name in ("char1", "char2"):
        d = load_drawing(f"tests/data/drawings/animated-drawings/{name}")
        kp, _ = medial_axis_joints(axis_graph(d.mask))
        ours, base = pck(kp, d.keypoints, d.mask, 0.1), pck(template_baseline(d.mask), d.keypoints, d.mask, 0.1)
        assert ours >= 0.9 and ours > base, (name, ours, base)


@pytest.mark.parametrize("kind,needle", [("six arms", "arms on its"), ("quadruped", "four-legged")])
def test_non_humanoid_figures_are_refused_with_a_clear_message(kind, needle):
    from kyara.drawing.skeleton import SkeletonConfig, estimate_skeleton

    m = figure_mask(256, arms=3) if kind == "six arms" else quadruped_mask(256)
    msg = _error(estimate_skeleton, paper_drawing(m), m, config=SkeletonConfig(detector="none"))
    assert needle in msg and "humanoid" in msg


def _fake_detection(monkeypatch, keypoints, calls):
    import kyara.detect
    from kyara.detect.types import Detection

    def fake(image, backend="auto"):
        calls.append(backend)
        h, w = np.asarray(image).shape[:2]
        return Detection(keypoints=keypoints, mask=np.zeros((h, w), np.float32), width=w, height=h, backend="kyara")

    monkeypatch.setattr(kyara.detect, "detect", fake)


def test_a_confident_detector_is_used_and_an_unsure_one_is_not(monkeypatch):
    from kyara.drawing.skeleton import estimate_skeleton

    f = figure(256)
    good = figure_keypoints(256).astype(np.float32)
    good[:, 2] = 0.9
    good[:14, 0] += 2.0  # where a detector would put them: near, not on, the truth
    calls: list = []
    _fake_detection(monkeypatch, good, calls)
    s = estimate_skeleton(f.rgb, f.mask)
    assert s.source == "detector" and calls == ["auto"]
    assert np.allclose(s.keypoints[:14, :2], good[:14, :2])
    unsure = good.copy()
    unsure[3, 2] = 0.2  # the right elbow
    _fake_detection(monkeypatch, unsure, calls)
    s = estimate_skeleton(f.rgb, f.mask)
    assert s.source == "medial axis" and "right_elbow" in s.reason
    outside = good.copy()
    outside[4, :2] = (5, 5)  # a wrist in the paper's corner
    _fake_detection(monkeypatch, outside, calls)
    assert estimate_skeleton(f.rgb, f.mask).source == "medial axis"


def test_missing_detector_weights_fall_back_to_the_medial_axis(monkeypatch):
    import kyara.detect
    from kyara.drawing.skeleton import estimate_skeleton

    def missing(image, backend="auto"):
        raise FileNotFoundError("detector weights 'x.safetensors' do not exist: train them with `kyara train detector`")

    monkeypatch.setattr(kyara.detect, "detect", missing)
    f = figure(256)
    s = estimate_skeleton(f.rgb, f.mask)
    assert s.source == "medial axis" and "not available" in s.reason


def test_a_figure_the_axis_cannot_match_gets_the_box_template():
    import cv2

    from kyara.drawing.skeleton import SkeletonConfig, estimate_skeleton

    m = np.zeros((256, 256), np.uint8)
    cv2.ellipse(m, (128, 128), (50, 100), 0, 0, 360, 255, -1)  # a blob: no limbs to match
    s = estimate_skeleton(paper_drawing(m > 0), m > 0, config=SkeletonConfig(detector="none"))
    assert s.source == "box template" and "box template" in s.reason


# -- --joints files and skeleton.json -----------------------------------------------------------
def test_char_cfg_yaml_joints_are_read_onto_coco18():
    from kyara.detect.drawings import load_drawing
    from kyara.drawing.joints_io import read_joints

    d = load_drawing("tests/data/drawings/animated-drawings/char1")
    h, w = d.mask.shape
    kp, pelvis = read_joints("tests/data/drawings/animated-drawings/char1/char_cfg.yaml", (w, h))
    assert np.allclose(kp, d.keypoints)
    assert np.allclose(pelvis, d.joints["hip"])


def test_openpose_json_joints_pixels_or_normalized_and_skeleton_json_round_trip(tmp_path):
    from kyara.drawing.joints_io import read_joints, skeleton_json

    gt = figure_keypoints(256)
    doc = skeleton_json(gt, (256, 256), "medial axis", pelvis=np.array([128.0, 150.0]), reason="test")
    (tmp_path / "skeleton.json").write_text(json.dumps(doc))
    kp, pelvis = read_joints(tmp_path / "skeleton.json", (256, 256))
    assert np.allclose(kp, gt, atol=1e-3) and np.allclose(pelvis, (128, 150))
    # a ControlNet-style normalized file on another canvas of the same aspect: scaled onto the drawing
    norm = {"people": [{"pose_keypoints_2d": (np.c_[gt[:, :2] / 256.0, gt[:, 2]]).ravel().tolist()}],
            "canvas_width": 512, "canvas_height": 512}
    (tmp_path / "n.json").write_text(json.dumps(norm))
    kp, pelvis = read_joints(tmp_path / "n.json", (256, 256))
    assert np.allclose(kp[:, :2], gt[:, :2], atol=1e-6) and pelvis is None


def test_bad_joints_files_give_one_line_errors(tmp_path):
    from kyara.drawing.joints_io import read_joints

    (tmp_path / "j.txt").write_text("x")
    assert "expected .yaml" in _error(read_joints, tmp_path / "j.txt", (256, 256))
    (tmp_path / "j.yaml").write_text("skeleton: 3\n")
    assert "no 'skeleton' list" in _error(read_joints, tmp_path / "j.yaml", (256, 256))
    (tmp_path / "k.yaml").write_text("skeleton:\n- {name: neck, loc: [1, 2]}\n")
    assert "lacks joint(s)" in _error(read_joints, tmp_path / "k.yaml", (256, 256))
    wide = {"people": [{"pose_keypoints_2d": [10.0, 10.0, 1.0] * 18}], "canvas_width": 512, "canvas_height": 256}
    (tmp_path / "w.json").write_text(json.dumps(wide))
    assert "expected the drawing's 256x256" in _error(read_joints, tmp_path / "w.json", (256, 256))
    far = {"people": [{"pose_keypoints_2d": [300.0, 10.0, 1.0] * 18}], "canvas_width": 256, "canvas_height": 256}
    (tmp_path / "f.json").write_text(json.dumps(far))
    assert "outside the 256x256 drawing" in _error(read_joints, tmp_path / "f.json", (256, 256))
    with pytest.raises(FileNotFoundError):
        read_joints(tmp_path / "none.yaml", (256, 256))


def test_given_joints_skip_the_search_and_missing_ones_are_filled(tmp_path):
    from kyara.drawing.skeleton import estimate_skeleton

    f = figure(256)
    kp = figure_keypoints(256)
    kp[3] = 0.0  # no right elbow in the file
    s = estimate_skeleton(f.rgb, f.mask, kp)
    assert s.source == "joints file" and "right_elbow" in s.notes[0]
    assert np.hypot(*(s.keypoints[3, :2] - figure_keypoints(256)[3, :2])) < 15
