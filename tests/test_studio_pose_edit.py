"""The Pose tab's one pose: an uploaded OpenPose JSON sets the sliders by inverse kinematics (the fitted
pose re-projects onto the file's joints within a few pixels) and its depth comes from that pose, on the
uploaded figure; a pose too sparse to fit keeps only its drawing. Mirror swaps left and right
(twice = the same state; keypoints reflected with their labels swapped), undo steps back exactly, the
canvas size is checked. The character's description becomes the Image prompt."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kyara.studio import handlers as H
from kyara.studio.handlers.poses import (UNDO_MAX, check_canvas, fold_state, mirror_state, remember_pose,
                                         undo_pose)
from kyara.studio.handlers.reference import align_image, pose_json_fitted, similarity_2d
from kyara.studio.session import Workspace

# COCO-18: the left/right partner of each joint (nose, neck stay)
SWAP = [0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16]


def _keypoints_3d(state: dict) -> np.ndarray:
    from kyara.pose.keypoints import body_keypoints

    pose = H.pose_from_state(state)
    return body_keypoints(H.load_body(None), pose.rotations, pose.translation).body  # [18, 3] metres


def _edited_state() -> dict:
    st = H.pose_state("jog", None)
    vals = dict(zip([k for k, *_ in H.SLIDERS], H.slider_values(st)))
    vals.update(head_turn=25, spine_turn=-10, l_shoulder=-40, r_elbow=30, l_hip=35)
    return fold_state(st, [vals[k] for k, *_ in H.SLIDERS])


def test_mirror_twice_is_the_same_state_and_swaps_left_and_right():
    st = _edited_state()
    st["translation"] = [0.03, -0.01, 0.02]
    m = mirror_state(st)
    assert mirror_state(m) == st  # exactly
    assert m["name"].endswith("(mirrored)") and mirror_state(m)["name"] == st["name"]
    vals, mv = (dict(zip([k for k, *_ in H.SLIDERS], H.slider_values(s))) for s in (st, m))
    assert mv["r_shoulder"] == vals["l_shoulder"] and mv["l_elbow"] == vals["r_elbow"]
    assert mv["r_hip"] == vals["l_hip"] and mv["head_turn"] == -vals["head_turn"]
    assert mv["head_bend"] == vals["head_bend"] and mv["spine_turn"] == -vals["spine_turn"]
    # the same rotations as kyara.pose.mirror_pose (quaternions reflected, bones swapped), up to sign
    from kyara.pose.pose import mirror_pose

    got, want = H.pose_from_state(m).rotations, mirror_pose(H.pose_from_state(st)).rotations
    assert np.minimum(np.abs(got - want), np.abs(got + want)).max() < 1e-9
    # the mirrored pose's joints are the original ones reflected (x -> -x) with left/right labels swapped
    a, b = _keypoints_3d(st), _keypoints_3d(m)
    off = np.abs(b - a[SWAP] * np.array([-1.0, 1.0, 1.0])).max(axis=1)
    assert off[1:14].max() < 1e-6, off  # skeleton joints: exact
    assert off.max() < 0.01, off  # face points sit on mesh vertices, placed 3-6 mm off symmetric at rest


def test_undo_restores_each_earlier_pose_exactly():
    st = {"pose": None}
    poses = [fold_state(H.pose_state(n, None), None) for n in ("stand", "jog", "stand")]
    poses.append(mirror_state(poses[-1]))
    for i, p in enumerate(poses):
        st = remember_pose(st, p, 10.0 * i, 5.0)
    st = remember_pose(st, poses[-1], 30.0, 5.0)  # the same pose and camera again: no new step
    assert len(st["undo"]) == 3
    for i in (2, 1, 0):
        st = undo_pose(st)
        assert st["pose"] == poses[i] and st["camera"] == [10.0 * i, 5.0]
    with pytest.raises(ValueError, match="nothing to undo"):
        undo_pose(st)
    for i in range(UNDO_MAX + 10):  # the stack keeps the newest UNDO_MAX
        st = remember_pose(st, poses[i % 2], float(i), 0.0)
    assert len(st["undo"]) == UNDO_MAX >= 20


def test_canvas_size_is_checked():
    assert check_canvas(512, 768.0) == (512, 768)
    for w, h in ((100, 512), (512, 4096), (512.5, 512), (None, 512)):
        with pytest.raises(ValueError, match="canvas (width|height)"):
            check_canvas(w, h)


def test_align_image_moves_pixels_by_the_similarity():
    img = np.zeros((100, 80, 3), np.uint8)
    img[20:30, 10:20] = 255
    src = np.array([[10, 20, 1], [20, 30, 1], [15, 25, 1]], float)
    s, t = similarity_2d(src, np.c_[src[:, :2] * 2 + [5, 3], np.ones(3)])
    assert abs(s - 2) < 1e-9 and np.allclose(t, [5, 3])
    out = align_image(img, s, t, (0, 0, 0))
    ys, xs = np.nonzero(out[..., 0] > 127)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (25, 44, 43, 62)  # [10, 20) * 2 + 5, [20, 30) * 2 + 3


def _json(path, kp, w, h):
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": np.asarray(kp, float).ravel().tolist()}],
                                "canvas_width": w, "canvas_height": h}))
    return path


def test_uploaded_json_sets_the_pose_and_its_depth(tmp_path):
    from PIL import Image

    from kyara.studio.handlers.pose_fit import project_points

    # jog seen from azimuth 30, as a small figure off the centre of a 512x384 canvas
    st = H.pose_state("jog", None)
    p3 = _keypoints_3d(st)
    p2 = project_points(p3[None], np.array([30.0]))[0]
    kp = np.c_[(p2 - p2.mean(axis=0)) * 160 + [330, 200], np.ones(18)]
    src = _json(tmp_path / "my pose.json", kp, 512, 384)
    ws = Workspace.for_session(tmp_path / "out", "s")
    ref = pose_json_fitted(ws, src)
    assert ref.state is not None and abs(ref.azimuth - 30) < 15
    assert any("sliders fitted" in n for n in ref.notes)
    vals = dict(zip([k for k, *_ in H.SLIDERS], H.slider_values(ref.state)))
    assert vals["l_elbow"] > 45 and vals["r_elbow"] > 45, vals  # jog's bent elbows, from a standing start
    # re-projected: the fitted pose's joints on the uploaded ones, within a few pixels
    q = project_points(_keypoints_3d(ref.state)[None], np.array([ref.azimuth]))[0]
    s, t = similarity_2d(np.c_[q, np.ones(18)], kp)
    err = np.linalg.norm(q * s + t - kp[:, :2], axis=1)
    assert np.sqrt((err ** 2).mean()) < 6.0 and err.max() < 15.0, err  # pixels, figure ~240 px tall
    # depth: that pose, on the uploaded figure (not black, not framed elsewhere)
    depth = np.asarray(Image.open(ref.preview.files["depth"]))
    assert depth.shape[:2] == (384, 512) and depth.shape[:2] == ref.preview.openpose.shape[:2]
    ys, xs = np.nonzero(depth[..., 0] > 0)
    assert len(xs) > 2000
    kx, ky = kp[:, 0], kp[:, 1]
    assert abs(np.median(xs) - np.median(kx)) < 25 and ys.min() < ky.min() + 10 and ys.max() > ky.max() - 10
    assert ref.preview.toon.shape == ref.preview.depth.shape
    files = {k: str(v) for k, v in ref.preview.files.items()}
    cfg = H.image_config("1girl", "", "tiny", "depth", "default", 1.0, "", 20, 7.5, "euler-a", 0, 1, 64, 64, files)
    assert cfg.control_images == (("depth", files["depth"]),)  # the depth ControlNet gets the uploaded pose
    beside = H.save_pose_beside(tmp_path / "out", files, "depth")  # and it is saved beside the images
    assert [p.name for p in beside] == ["pose_depth.png", "pose.json"]
    assert np.array_equal(np.asarray(Image.open(beside[0])), depth)


def test_a_pose_too_sparse_to_fit_keeps_only_its_drawing(tmp_path):
    kp = np.zeros((18, 3))
    kp[[0, 1, 2, 5], :] = [[100, 50, 1], [100, 80, 1], [80, 80, 1], [120, 80, 1]]
    ws = Workspace.for_session(tmp_path / "out", "s")
    ref = pose_json_fitted(ws, _json(tmp_path / "head_only.json", kp, 200, 300))
    assert ref.state is None and "depth" not in ref.preview.files
    assert any("too few to set the sliders" in n for n in ref.notes)
    files = {k: str(v) for k, v in ref.preview.files.items()}
    with pytest.raises(ValueError, match="has no depth condition"):
        H.image_config("1girl", "", "tiny", "depth", "default", 1.0, "", 20, 7.5, "euler-a", 0, 1, 64, 64, files)


def test_the_characters_description_is_the_prompt(tmp_path):
    from kyara.character.parser import parse_prompt
    from kyara.character.spec import save_spec
    from kyara.studio.handlers.images import character_description

    path = save_spec(parse_prompt("an anime girl with long pink hair and a red kimono"), tmp_path / "character.json")
    text = character_description(str(path))
    assert text.startswith("1girl, solo") and "long pink hair" in text and "red kimono" in text, text

    with pytest.raises(ValueError, match="no character yet"):
        character_description(None)
    with pytest.raises(ValueError, match="'mine.vrm' has no description"):
        character_description(str(tmp_path / "mine.vrm"))
