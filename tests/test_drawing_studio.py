"""The studio's Drawing tab: found like every tab, its widgets on the page, its two jobs on uploads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drawing_figures import figure, figure_keypoints

gr = pytest.importorskip("gradio")


def test_drawing_tab_is_found_and_on_the_page(tmp_path):
    import kyara.studio.tabs as tabs
    from kyara.studio.app import build_app
    from kyara.studio.config import StudioConfig
    from kyara.studio.tabs import tab_drawing

    titles = [m.TITLE for m in tabs.discover()]
    assert "Drawing" in titles and titles.index("Drawing") < titles.index("Export")
    assert len(Path(tab_drawing.__file__).read_text().splitlines()) < 600
    cfg = build_app(StudioConfig(output=tmp_path)).get_config_file()
    ids = {c["props"].get("elem_id") for c in cfg["components"]}
    assert {"drawing-image", "drawing-mask", "drawing-find", "drawing-joints", "drawing-motion", "drawing-go",
            "drawing-video", "drawing-files"} <= ids


def test_find_joints_fills_an_editable_table_and_refuses_bad_uploads(tmp_path):
    from kyara.studio.session import Workspace
    from kyara.studio.tabs.tab_drawing import find_joints, rows_to_keypoints

    up = tmp_path / "gradio-tmp"
    up.mkdir()
    Image.fromarray(figure(256).rgb).save(up / "me.png")
    ws = Workspace.for_session(tmp_path / "out", "abc")
    mask_pic, joints_pic, rows, status = find_joints(ws, str(up / "me.png"), None, "none", 16.0)
    assert mask_pic.shape == joints_pic.shape == (256, 256, 3)
    assert len(rows) == 18 and rows[1][0] == "neck" and "medial axis" in status
    kp = rows_to_keypoints(rows, (256, 256))
    assert np.hypot(*(kp[4, :2] - figure_keypoints(256)[4, :2])) < 20  # the right wrist
    rows[3][1] = "left"
    with pytest.raises(ValueError, match="right_elbow: x, y and confidence must be numbers"):
        rows_to_keypoints(rows, (256, 256))
    rows[3][1] = 900.0
    with pytest.raises(ValueError, match="outside the 256x256 drawing"):
        rows_to_keypoints(rows, (256, 256))
    Image.fromarray(np.full((200, 200, 3), 240, np.uint8)).save(up / "blank.png")
    with pytest.raises(ValueError, match="blank paper") as e:
        find_joints(ws, str(up / "blank.png"), None, "none", 16.0)
    assert str(up) not in str(e.value)  # the user's file name, never the server's folder
    (up / "x.png").write_text("hello")
    with pytest.raises(ValueError, match="not a PNG"):
        find_joints(ws, str(up / "x.png"), None, "none", 16.0)


@pytest.mark.slow
def test_lift_and_animate_with_edited_joints(tmp_path, gl):
    from kyara.studio.session import Workspace
    from kyara.studio.tabs.tab_drawing import _joints_rows, lift_and_animate

    up = tmp_path / "gradio-tmp"
    up.mkdir()
    Image.fromarray(figure(256, fill=(0.9, 0.7, 0.6)).rgb).save(up / "me.png")
    ws = Workspace.for_session(tmp_path / "out", "abc")
    rows = _joints_rows(figure_keypoints(256))  # the true joints, typed in by hand
    out = lift_and_animate(ws, str(up / "me.png"), None, rows, "jog", None, "none", 96, 12, "front", 16.0)
    for f in out["files"]:
        assert Path(f).is_file() and ws.contains(f)
    assert out["vrm"].endswith("avatar.vrm") and "joints file" in out["status"]
    with pytest.raises(ValueError, match="unknown motion"):
        lift_and_animate(ws, str(up / "me.png"), None, rows, "moonwalk", None, "none", 96, 12, "front", 16.0)
