"""The studio's structure without a browser: tabs found like CLI commands (one module each, a new
file is a new tab), the page built from them, and the 3D view's page (three.js + three-vrm) with
the folders the server may serve."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import pytest

from kyara.studio import viewer
from kyara.studio.config import StudioConfig

ROOT = Path(__file__).resolve().parents[1]
WEB_MODULES = ROOT / "tests" / "js" / "node_modules"


@pytest.fixture(scope="module")
def tabs():
    pytest.importorskip("gradio")
    import kyara.studio.tabs as tabs

    return tabs


def test_tabs_are_found_in_order(tabs):
    mods = tabs.discover()
    assert [m.TITLE for m in mods] == ["Create", "Pose", "Image", "Animate", "Sheet", "Drawing", "Export"]
    assert [tabs.tab_id(m) for m in mods] == ["create", "pose", "image", "animate", "sheet", "drawing", "export"]
    for m in mods:  # each tab stays a readable module
        assert len(Path(m.__file__).read_text().splitlines()) < 600, m.__name__


def test_a_new_file_is_a_new_tab(tabs, tmp_path, monkeypatch):
    (tmp_path / "tab_zz_hello.py").write_text(
        "import gradio as gr\nTITLE = 'Hello'\nORDER = 25\n"
        "def build(ctx, tab):\n    gr.Markdown('hello', elem_id='hello-text')\n")
    (tmp_path / "tab_zz_broken.py").write_text("TITLE = 'Broken'\n")
    monkeypatch.setattr(tabs, "__path__", [*tabs.__path__, str(tmp_path)])
    with pytest.raises(ValueError, match="tab_zz_broken' has no ORDER"):
        tabs.discover()
    (tmp_path / "tab_zz_broken.py").unlink()
    sys.modules.pop("kyara.studio.tabs.tab_zz_broken", None)
    try:
        assert [m.TITLE for m in tabs.discover()] == ["Create", "Pose", "Hello", "Image", "Animate", "Sheet", "Drawing",
                                                         "Export"]
        from kyara.studio.app import build_app

        out = tmp_path / "out"
        out.mkdir()
        cfg = build_app(StudioConfig(output=out)).get_config_file()
        labels = [c["props"].get("label") for c in cfg["components"] if c["type"] == "tabitem"]
        assert labels == ["Create", "Pose", "Hello", "Image", "Animate", "Sheet", "Drawing",
                                                         "Export"]
        assert any(c["props"].get("elem_id") == "hello-text" for c in cfg["components"])
    finally:
        sys.modules.pop("kyara.studio.tabs.tab_zz_hello", None)


def test_3d_view_or_the_glb_viewer(tabs, tmp_path, monkeypatch):
    """With three-vrm's scripts the Export and Create tabs get the three-vrm view; without them, Export
    keeps gradio's GLB viewer and Create gets none."""
    from kyara.studio.app import build_app

    monkeypatch.setattr(viewer, "BUNDLED", tmp_path / "nowhere")
    monkeypatch.delenv("KYARA_WEB_MODULES", raising=False)

    def elem_ids(**kw):
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        cfg = build_app(StudioConfig(output=out, **kw)).get_config_file()
        return {c["props"].get("elem_id"): c["type"] for c in cfg["components"]}

    bare = elem_ids()
    assert bare.get("export-model3d") == "model3d" and "create-view3d" not in bare
    if not (WEB_MODULES / "three").is_dir():
        pytest.skip("tests/js/node_modules is not installed (npm ci --prefix tests/js)")
    full = elem_ids(web_modules=WEB_MODULES)
    assert full.get("export-view3d") == "html" and full.get("create-view3d") == "html"
    assert "export-model3d" not in full


def test_web_modules_are_found_or_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(viewer, "BUNDLED", tmp_path / "nowhere")
    monkeypatch.delenv("KYARA_WEB_MODULES", raising=False)
    assert viewer.find_web_modules() is None
    with pytest.raises(ValueError, match="lacks three/build/three.module.js"):
        viewer.find_web_modules(tmp_path)
    with pytest.raises(ValueError, match="web modules folder"):
        StudioConfig(web_modules=tmp_path).check()
    fake = tmp_path / "nm"
    for f in viewer.REQUIRED:
        (fake / f).parent.mkdir(parents=True, exist_ok=True)
        (fake / f).write_text("export {};\n")
    monkeypatch.setenv("KYARA_WEB_MODULES", str(fake))
    assert viewer.find_web_modules() == fake.resolve()
    served = viewer.served_dirs(fake)
    assert all(Path(d).is_dir() and Path(d).is_relative_to(fake) for d in served)
    assert not any(Path(d) == fake for d in served)  # only the view's script folders, not all of node_modules


def test_viewer_page_imports_served_scripts_and_the_file(tmp_path):
    nm = tmp_path / "node modules"  # a space: URLs must be quoted
    model = tmp_path / "out" / "s1" / "export-0001" / "avatar.vrm"
    frame = viewer.viewer_html(nm, model)
    assert frame.startswith("<iframe") and "<script" not in frame  # the page is inside srcdoc, escaped
    doc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>', doc).group(1))["imports"]
    for key in ("three", "three/addons/", "@pixiv/three-vrm"):
        assert imports[key].startswith("./gradio_api/file=") and "node%20modules" in imports[key], imports[key]
    cfg = json.loads(re.search(r'<script type="application/json" id="kyara-config">(.*?)</script>', doc).group(1))
    assert cfg["kind"] == "gltf" and cfg["name"] == "avatar.vrm"
    assert cfg["model"] == "./gradio_api/file=" + str(model.resolve())
    assert len(cfg["light"]) == 3 and cfg["fovy"] == 40.0
    assert json.loads(re.search(r'id="kyara-config">(.*?)</script>', html.unescape(re.search(
        r'srcdoc="([^"]*)"', viewer.viewer_html(nm, tmp_path / "print.stl")).group(1))).group(1))["kind"] == "stl"
    empty = html.unescape(viewer.viewer_html(nm, None))
    assert '"model": null' in empty
    with pytest.raises(ValueError, match="not 'a.obj'"):
        viewer.viewer_html(nm, tmp_path / "a.obj")
    # a file name cannot close the config's script element
    odd = html.unescape(viewer.viewer_html(nm, tmp_path / "</script><b>.vrm"))
    assert "</script><b>" not in odd
