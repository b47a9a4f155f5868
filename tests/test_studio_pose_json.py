"""The Pose tab's OpenPose JSON upload takes CMU OpenPose's own output (no canvas_width/canvas_height):
the canvas frames the points, a note says so, and the Image tab's openpose condition is that pose."""

from __future__ import annotations

import json

import numpy as np

from kyara.studio import handlers as H
from kyara.studio.session import Workspace

# COCO-18 body in pixels, as OpenPose writes it (x, y, confidence), no canvas size in the file
BODY = [300, 100, 1, 300, 160, 1, 250, 160, 1, 230, 230, 1, 220, 300, 1, 350, 160, 1, 370, 230, 1, 380, 300, 1,
        270, 320, 1, 265, 420, 1, 260, 520, 1, 330, 320, 1, 335, 420, 1, 340, 520, 1, 290, 90, 1, 310, 90, 1,
        280, 95, 1, 320, 95, 1]


def test_openpose_json_without_a_canvas_loads_with_a_note(tmp_path):
    src = tmp_path / "cmu_output.json"
    src.write_text(json.dumps({"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": BODY}]}))
    ws = Workspace.for_session(tmp_path / "out", "s1")
    prev = H.pose_json_upload(ws, str(src))
    (note,) = prev.notes
    assert "'cmu_output.json' has no canvas_width/canvas_height" in note and "frames the points" in note
    assert str(tmp_path) not in note  # the user's file name, not a server path
    h, w, _ = prev.openpose.shape
    assert w < h and np.count_nonzero(prev.openpose.any(axis=2)) > 500  # a tall canvas around the figure, drawn
    written = json.loads(prev.files["json"].read_text())
    assert (written["canvas_width"], written["canvas_height"]) == (w, h)
    files = {k: str(v) for k, v in prev.files.items()}
    cfg = H.image_config("1girl", "", "tiny", "openpose", "default", 1.0, "", 30, 7.5, "euler-a", 0, 1, 64, 64, files)
    assert cfg.pose_json == str(prev.files["json"])  # the Image tab draws this pose at the image size
