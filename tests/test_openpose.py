"""OpenPose conventions, JSON I/O and drawing (compared pixel for pixel with ControlNet's annotator).

The oracle tests need controlnet_aux's ``open_pose/util.py`` on disk:
    pip install --no-deps "controlnet-aux==0.0.10"
(see tests/oracles/controlnet_aux_oracle.py for how it is loaded without importing the package).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from kyara.pose.openpose import (
    NUM_BODY,
    NUM_FACE,
    NUM_HAND,
    OPENPOSE_BODY_LIMBS,
    OPENPOSE_BODY_NAMES,
    OPENPOSE_FACE_NAMES,
    OPENPOSE_HAND_EDGES,
    OPENPOSE_HAND_NAMES,
    Keypoints2D,
    read_openpose_json,
    to_openpose_dict,
    write_openpose_json,
)
from kyara.render.openpose_draw import draw_openpose, xinsir_ratio


def _load_oracle():
    path = Path(__file__).parent / "oracles" / "controlnet_aux_oracle.py"
    spec = importlib.util.spec_from_file_location("kyara_tests_controlnet_aux_oracle", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


oracle = _load_oracle()
needs_oracle = pytest.mark.skipif(
    oracle.util_path() is None,
    reason='controlnet-aux not installed (pip install --no-deps "controlnet-aux==0.0.10")',
)


# ---------------------------------------------------------------- random people


def _random_part(rng, n, width, height, *, p_missing, spread, p_outside=0.0):
    """``[n, 3]``: points scattered around a random centre; some missing, some off-canvas."""
    center = rng.uniform([0, 0], [width, height])
    xy = center + rng.normal(size=(n, 2)) * spread
    if rng.random() < 0.3:
        xy = np.round(xy)  # whole pixels exercise the annotator's (x / W) * W truncation path
    conf = rng.uniform(0.05, 1.0, n)
    conf[rng.random(n) < p_missing] = 0.0
    out = rng.random(n) < p_outside
    xy[out] = rng.uniform([-80, -80], [width + 80, height + 80], size=(int(out.sum()), 2))
    xy[conf == 0] = 0.0
    return np.c_[xy, conf]


def _random_person(rng, width, height):
    s = max(width, height)
    body = _random_part(rng, NUM_BODY, width, height, p_missing=0.15, spread=rng.uniform(3, s / 4), p_outside=0.1)
    if rng.random() < 0.1:
        body[3] = body[2]  # zero-length limb
    hands = [
        _random_part(rng, NUM_HAND, width, height, p_missing=0.1, spread=rng.uniform(2, s / 12), p_outside=0.05)
        if rng.random() < 0.7 else np.zeros((NUM_HAND, 3))
        for _ in range(2)
    ]
    face = (_random_part(rng, NUM_FACE, width, height, p_missing=0.1, spread=rng.uniform(2, s / 15))
            if rng.random() < 0.7 else np.zeros((NUM_FACE, 3)))
    return Keypoints2D(body, hands[0], hands[1], face, width, height)


def _random_people(rng, width, height):
    return [_random_person(rng, width, height) for _ in range(int(rng.integers(1, 4)))]


SIZES = [(512, 512), (768, 512), (512, 768), (448, 384)]  # (width, height)


# ---------------------------------------------------------------- conventions


def test_conventions():
    assert len(OPENPOSE_BODY_NAMES) == 18 and len(OPENPOSE_HAND_NAMES) == 21 and len(OPENPOSE_FACE_NAMES) == 70
    assert OPENPOSE_BODY_NAMES[:3] == ("nose", "neck", "right_shoulder")
    assert OPENPOSE_BODY_NAMES[5] == "left_shoulder" and OPENPOSE_BODY_NAMES[17] == "left_ear"
    assert OPENPOSE_HAND_NAMES[:2] == ("wrist", "thumb_1") and OPENPOSE_HAND_NAMES[20] == "little_4"
    assert OPENPOSE_FACE_NAMES[68:] == ("right_pupil", "left_pupil") and len(set(OPENPOSE_FACE_NAMES)) == 70
    # ControlNet's limbSeq (1-based) and hand edges, written out independently.
    limb_seq = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12],
                [12, 13], [13, 14], [2, 1], [1, 15], [15, 17], [1, 16], [16, 18]]
    assert [tuple(a - 1 for a in p) for p in limb_seq] == list(OPENPOSE_BODY_LIMBS)
    assert OPENPOSE_HAND_EDGES[:5] == ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5))
    assert OPENPOSE_HAND_EDGES[-4:] == ((0, 17), (17, 18), (18, 19), (19, 20))


def test_keypoints_validation():
    with pytest.raises(ValueError, match=r"body has shape \(17, 3\)"):
        Keypoints2D(body=np.zeros((17, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        Keypoints2D(face=np.full((70, 3), np.nan))
    with pytest.raises(ValueError, match="width"):
        Keypoints2D(width=0)
    p = Keypoints2D(body=np.tile([100.0, 50.0, 1.0], (18, 1)), width=200, height=100)
    q = p.resized(400, 300)
    assert q.body[0].tolist() == [200.0, 150.0, 1.0] and q.hand_left.sum() == 0


# ---------------------------------------------------------------- drawing vs the annotator


@needs_oracle
@pytest.mark.parametrize("size", SIZES)
def test_draw_matches_controlnet_annotator(size):
    """50 random poses in total (several sizes) equal util.py's drawing pixel for pixel."""
    width, height = size
    rng = np.random.default_rng(1234 + width * 7 + height)
    n_cases = {0: 14, 1: 12, 2: 12, 3: 12}[SIZES.index(size)]
    for _ in range(n_cases):
        people = _random_people(rng, width, height)
        ours = draw_openpose(people, width, height, thick=False)
        ref = oracle.oracle_draw(people, width, height)
        assert ours.shape == (height, width, 3) and ours.dtype == np.uint8
        assert ours.any(), "empty drawing: the comparison would prove nothing"
        np.testing.assert_array_equal(ours, ref)


@needs_oracle
def test_draw_part_switches_match_annotator():
    rng = np.random.default_rng(7)
    people = _random_people(rng, 512, 512)
    for flags in ((True, False, False), (False, True, False), (False, False, True)):
        kw = dict(zip(("draw_body", "draw_hands", "draw_face"), flags))
        ours = draw_openpose(people, thick=False, **kw)
        np.testing.assert_array_equal(ours, oracle.oracle_draw(people, 512, 512, **kw))


@needs_oracle
def test_draw_edge_cases_match_annotator():
    """Points on the first row/column (the annotator skips hand/face points there), on the last
    pixel, zero-length limbs, and fractional pixels just below an integer."""
    w, h = 320, 240
    body = np.zeros((18, 3))
    body[:, 2] = 1.0
    body[:, 0] = np.linspace(0.0, w - 0.001, 18)
    body[:, 1] = np.r_[0.0, 0.999, np.linspace(5, h - 1e-9, 16)]
    body[9, :2] = body[8, :2]  # zero-length limb
    hand = np.c_[np.r_[0.0, 0.5, 0.999, 1.0, np.linspace(2, 60, 17)], np.r_[np.linspace(0.0, 30, 20), 239.999], np.ones(21)]
    face = np.c_[np.linspace(0.0, w - 1e-6, 70), np.r_[np.zeros(10), np.linspace(0.5, h - 0.5, 60)], np.ones(70)]
    p = Keypoints2D(body, hand, hand[::-1].copy(), face, w, h)
    np.testing.assert_array_equal(draw_openpose([p], thick=False), oracle.oracle_draw([p], w, h))


def test_xinsir_ratio_table():
    assert [xinsir_ratio(s, 10) for s in (64, 499, 500, 999, 1000, 1999, 2000, 3999, 4000, 4999, 5000, 9000)] == [
        1, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 7]
    assert xinsir_ratio(10, 768) == 2


@needs_oracle
@pytest.mark.parametrize("size", [(512, 512), (768, 512), (1024, 1024), (448, 384)])
def test_thick_variant_matches_xinsir_rule(size):
    """thick=True/"auto" equals the annotator with xinsir's stick width and radius (x ratio)."""
    width, height = size
    ratio = xinsir_ratio(width, height)
    rng = np.random.default_rng(99 + width)
    for _ in range(4):
        people = _random_people(rng, width, height)
        thick = draw_openpose(people, thick=True)
        np.testing.assert_array_equal(thick, oracle.oracle_draw(people, width, height, thick_ratio=ratio))
        np.testing.assert_array_equal(draw_openpose(people, thick="auto"), thick)
        classic = draw_openpose(people, thick=False)
        if ratio > 1:
            assert (thick.any(axis=2).sum() > classic.any(axis=2).sum()), "thick lines should cover more pixels"
        else:
            np.testing.assert_array_equal(thick, classic)


def test_thick_rejects_unknown_value():
    with pytest.raises(ValueError, match="thick"):
        draw_openpose([Keypoints2D()], thick="yes")


# ---------------------------------------------------------------- dropping, never clamping


def _arm(width=256, height=256):
    body = np.zeros((18, 3))
    body[1] = [100, 100, 1]  # neck
    body[2] = [60, 100, 1]  # right shoulder
    body[3] = [30, 160, 1]  # right elbow
    return Keypoints2D(body=body, width=width, height=height)


@pytest.mark.parametrize("outside", [(-12.0, 160.0), (30.0, 256.0), (256.0, 40.0), (30.0, -0.5), (400.0, 400.0)])
def test_out_of_image_point_is_dropped_not_clamped(outside):
    p = _arm()
    dropped = _arm()
    dropped.body[3] = 0.0
    p.body[3, :2] = outside
    img = draw_openpose([p], thick=False)
    np.testing.assert_array_equal(img, draw_openpose([dropped], thick=False))
    clamped = _arm()
    clamped.body[3, :2] = np.clip(outside, 0, 255)
    assert not np.array_equal(img, draw_openpose([clamped], thick=False)), "clamping would draw the limb"


def test_out_of_image_hand_and_face_points_dropped():
    hand = np.c_[np.linspace(20, 200, 21), np.full(21, 50.0), np.ones(21)]
    face = np.c_[np.linspace(20, 200, 70), np.full(70, 150.0), np.ones(70)]
    p = Keypoints2D(hand_left=hand, face=face, width=256, height=256)
    base = draw_openpose([p])
    hand2, face2 = hand.copy(), face.copy()
    hand2[20, 0] = 300.0  # off the right edge
    face2[69, 1] = -3.0  # above the top edge
    moved = draw_openpose([Keypoints2D(hand_left=hand2, face=face2, width=256, height=256)])
    hand3, face3 = hand.copy(), face.copy()
    hand3[20] = 0.0
    face3[69] = 0.0
    np.testing.assert_array_equal(moved, draw_openpose([Keypoints2D(hand_left=hand3, face=face3, width=256, height=256)]))
    assert not np.array_equal(moved, base)
    assert not moved[:, -6:].any(), "nothing may be drawn at the right border"


def test_zero_confidence_draws_nothing():
    body = np.c_[np.random.default_rng(0).uniform(10, 200, (18, 2)), np.zeros(18)]
    assert not draw_openpose([Keypoints2D(body=body, width=256, height=256)]).any()


def test_draw_rejects_mismatched_canvas():
    with pytest.raises(ValueError, match="resized"):
        draw_openpose([Keypoints2D(width=512, height=512)], 768, 512)


# ---------------------------------------------------------------- JSON


def test_json_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    people = _random_people(rng, 768, 512) + [Keypoints2D.empty(768, 512)]
    for p in people:  # canonical missing points, as read back
        for a in p.parts().values():
            a[a[:, 2] == 0] = 0.0
    path = write_openpose_json(tmp_path / "pose.json", people, 768, 512)
    raw = json.loads(path.read_text())
    assert raw["canvas_width"] == 768 and raw["canvas_height"] == 512 and len(raw["people"]) == len(people)
    assert len(raw["people"][0]["pose_keypoints_2d"]) == 54
    assert raw["people"][-1]["hand_left_keypoints_2d"] is None  # absent hand -> null, as ControlNet writes
    back, w, h = read_openpose_json(path)
    assert (w, h) == (768, 512) and len(back) == len(people)
    for a, b in zip(people, back):
        assert a.allclose(b, atol=0.0)  # exact: pixels are written as full-precision floats
    assert not list(tmp_path.glob(".*tmp*")), "atomic write left a temporary file"


def test_normalized_and_pixel_input_read_to_same_pixels():
    rng = np.random.default_rng(11)
    person = _random_person(rng, 768, 512)
    for a in person.parts().values():
        a[a[:, 2] == 0] = 0.0
        a[:, 0] = np.clip(a[:, 0], 0, 767)
        a[:, 1] = np.clip(a[:, 1], 0, 511)
    pixel = to_openpose_dict([person])
    norm = json.loads(json.dumps(pixel))
    for key in ("pose_keypoints_2d", "hand_left_keypoints_2d", "hand_right_keypoints_2d", "face_keypoints_2d"):
        vals = norm["people"][0][key]
        if vals is not None:
            arr = np.asarray(vals).reshape(-1, 3) / [768.0, 512.0, 1.0]
            norm["people"][0][key] = arr.reshape(-1).tolist()
    (a,), _, _ = read_openpose_json(pixel)
    (b,), _, _ = read_openpose_json(norm)
    assert a.allclose(person, atol=0.0)
    assert b.allclose(person, atol=1e-9)
    assert a.body[:, :2].max() > 1.5  # the normalized copy really was scaled back up


def test_missing_points_and_absent_parts():
    body = [0.0] * 54
    body[3:6] = [0.25, 0.5, 0.9]  # neck, normalized
    data = {"people": [
        {"pose_keypoints_2d": body},  # no hands, no face
        {"pose_keypoints_2d": body, "hand_left_keypoints_2d": None, "hand_right_keypoints_2d": [],
         "face_keypoints_2d": [0.5, 0.5, 1.0] * 68},  # 68-point face: pupils missing
    ], "canvas_width": 400, "canvas_height": 200}
    (p, q), w, h = read_openpose_json(data)
    assert p.body[1].tolist() == [100.0, 100.0, 0.9] and p.body[0].tolist() == [0, 0, 0]
    assert not p.hand_left.any() and not p.face.any()
    assert not q.hand_left.any() and not q.hand_right.any()
    assert q.face[:68, 0].tolist() == [200.0] * 68 and not q.face[68:].any()


def test_canvas_size_absent():
    body = [10.0, 20.0, 1.0] * 18
    (p,), w, h = read_openpose_json({"people": [{"pose_keypoints_2d": body}]}, width=64, height=48)
    assert (w, h, p.width, p.height) == (64, 48, 64, 48) and p.body[0, 1] == 20.0
    with pytest.raises(ValueError, match="disagree"):
        read_openpose_json({"people": [], "canvas_width": 64, "canvas_height": 64}, width=32, height=32)
    # without width/height the canvas falls back (tests/test_openpose_files.py checks the pixels)
    (p,), w, h = read_openpose_json({"people": [{"pose_keypoints_2d": body}]})
    assert p.body[:, 2].sum() == 18


MALFORMED = {
    "not json": "{people: [",
    "top-level list": "[1, 2, 3]",
    "no people": '{"canvas_width": 64, "canvas_height": 64}',
    "people not list": '{"people": {"a": 1}, "canvas_width": 64, "canvas_height": 64}',
    "short body": json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 53}], "canvas_width": 64, "canvas_height": 64}),
    "body24": json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 72}], "canvas_width": 64, "canvas_height": 64}),
    "string in body": json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 10 + ["x"] + [1.0] * 43}],
                                  "canvas_width": 64, "canvas_height": 64}),
    "bool in hand": json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 54, "hand_left_keypoints_2d": [True] * 63}],
                                "canvas_width": 64, "canvas_height": 64}),
    "NaN in face": '{"people": [{"pose_keypoints_2d": [' + ",".join(["1.0"] * 54)
                   + '], "face_keypoints_2d": [' + ",".join(["NaN"] * 210) + ']}], "canvas_width": 64, "canvas_height": 64}',
    "hand wrong length": json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 54, "hand_right_keypoints_2d": [1.0] * 60}],
                                     "canvas_width": 64, "canvas_height": 64}),
    "negative canvas": json.dumps({"people": [], "canvas_width": -5, "canvas_height": 64}),
    "only canvas_width": json.dumps({"people": [], "canvas_width": 64}),
    "person without body": json.dumps({"people": [{"face_keypoints_2d": None}], "canvas_width": 64, "canvas_height": 64}),
    "hand is a dict": json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 54, "hand_left_keypoints_2d": {"x": 1}}],
                                  "canvas_width": 64, "canvas_height": 64}),
}
EXPECTED_IN_MESSAGE = {
    "not json": "not valid JSON", "top-level list": "JSON object", "no people": "'people'",
    "people not list": "'people'", "short body": "pose_keypoints_2d", "body24": "pose_keypoints_2d",
    "string in body": "pose_keypoints_2d[10]", "bool in hand": "hand_left_keypoints_2d[0]",
    "NaN in face": "face_keypoints_2d[0]", "hand wrong length": "hand_right_keypoints_2d",
    "negative canvas": "width", "only canvas_width": "canvas_height", "person without body": "pose_keypoints_2d",
    "hand is a dict": "hand_left_keypoints_2d",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_raises_one_line_value_error(tmp_path, case):
    path = tmp_path / "bad.json"
    path.write_text(MALFORMED[case])
    with pytest.raises(ValueError) as exc:
        read_openpose_json(path)
    msg = str(exc.value)
    assert "\n" not in msg and EXPECTED_IN_MESSAGE[case] in msg, msg


def test_missing_file_and_bad_output_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_openpose_json(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="suffix"):
        write_openpose_json(tmp_path / "pose.txt", [Keypoints2D()])
    with pytest.raises(ValueError, match=r"people\[1\] is on a 64x64 canvas"):
        write_openpose_json(tmp_path / "pose.json", [Keypoints2D(), Keypoints2D(width=64, height=64)])
    assert not (tmp_path / "pose.json").exists()
