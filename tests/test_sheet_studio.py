"""The studio's Sheet tab: found like every tab, its widgets on the page, its job on uploaded files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_sheet import sheet_data  # noqa: F401  (the session's tiny sheets dataset)

gr = pytest.importorskip("gradio")


def test_sheet_tab_is_found_and_on_the_page(tmp_path):
    import kyara.studio.tabs as tabs
    from kyara.studio.app import build_app
    from kyara.studio.config import StudioConfig

    titles = [m.TITLE for m in tabs.discover()]
    assert "Sheet" in titles and titles.index("Sheet") == titles.index("Animate") + 1
    from kyara.studio.tabs import tab_sheet

    assert len(Path(tab_sheet.__file__).read_text().splitlines()) < 600
    cfg = build_app(StudioConfig(output=tmp_path)).get_config_file()
    ids = {c["props"].get("elem_id") for c in cfg["components"]}
    assert {"sheet-images", "sheet-udps", "sheet-pose", "sheet-motion", "sheet-method", "sheet-image"} <= ids


def test_sheet_job_renders_a_pose_from_uploads_and_refuses_bad_ones(tmp_path, sheet_data, gl):  # noqa: F811
    from kyara.studio.session import Workspace
    from kyara.studio.tabs.tab_sheet import run_sheet

    _, samples = sheet_data
    s = samples[0]
    up = tmp_path / "gradio-tmp"
    up.mkdir()
    imgs, udps = [], []
    for k, r in enumerate(s["refs"][:2]):
        Image.fromarray(r["rgba"]).save(up / f"view{k}.png")
        np.savez(up / f"view{k}.npz", i=r["udp"])
        imgs.append(str(up / f"view{k}.png"))
        udps.append(str(up / f"view{k}.npz"))
    ws = Workspace.for_session(tmp_path / "out", "abc")
    out = run_sheet(ws, imgs, udps, "t-pose", "(a pose)", "front", 64, "b2", None, 16.0)
    im = np.asarray(Image.open(out.image))
    assert out.image.is_file() and ws.contains(out.image) and im.shape == (64, 64, 4) and (im[..., 3] > 0).sum() > 50
    assert "method b2" in out.note
    for images, npzs, needle in (([], [], "got 0 images"), (imgs * 9, [], "got 18 images"),
                                 (imgs, [imgs[0], imgs[1]], "is not a .npz file"),
                                 (imgs, udps[:1], "1 --ref-udp files for 2 images")):
        with pytest.raises(ValueError, match=needle) as e:
            run_sheet(ws, images, npzs, "stand", "(a pose)", "front", 64, "b2", None, 16.0)
        assert str(up) not in str(e.value)  # the user's file names, never the server's folders
