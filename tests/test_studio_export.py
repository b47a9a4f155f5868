"""The Export tab's handler: every format of ``kyara export``, the session's download list, and the
file the 3D view shows for each export (the export itself, or the same posed geometry beside it)."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.studio import handlers as H
from kyara.studio.session import Workspace


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    from kyara.character.parser import parse_prompt
    from kyara.character.spec import save_spec

    d = tmp_path_factory.mktemp("export")
    spec = save_spec(parse_prompt("an anime girl with long pink hair", seed=0), d / "character.json")
    return Workspace.for_session(d / "out", "s1"), str(spec)


def _stl_vertices(path) -> np.ndarray:
    data = path.read_bytes()
    n = int(np.frombuffer(data, "<u4", 1, 80)[0])
    tri = np.frombuffer(data, np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]), n, 84)
    return tri["v"].reshape(-1, 3)


def _glb_vertices(path) -> np.ndarray:
    import trimesh

    scene = trimesh.load(path, force="scene", process=False)
    return np.concatenate([g.vertices for g in scene.geometry.values()])


def _ply_vertices(path) -> np.ndarray:
    import trimesh

    return np.asarray(trimesh.load(path, process=False).vertices)


def test_export_offers_every_cli_format():
    from kyara.export import FORMATS

    assert H.EXPORT_FORMATS == tuple(FORMATS) and set(H.EXPORT_LABELS) == set(FORMATS)


def test_every_format_exports_a_file_the_view_can_show(made):
    from kyara.studio.viewer import KINDS

    ws, character = made
    downloads: list[str] = []
    for fmt in H.EXPORT_FORMATS:
        out = H.export(ws, character, fmt, motion="walk" if fmt in H.MOTION_FORMATS else None)
        assert out.path.is_file() and out.path.stat().st_size > 0, fmt
        assert all(p.is_file() for p in out.files) and out.view.is_file(), fmt
        assert out.view.suffix.lower() in KINDS, fmt
        downloads = H.export_downloads(downloads, out)
    # the download box holds every file of the session, newest first (OBJ's .mtl too)
    names = [p.rsplit("/", 1)[-1] for p in downloads]
    assert names[0] == "avatar_posed.ply" and len(downloads) == len(H.EXPORT_FORMATS) + 1
    assert {"avatar.glb", "avatar.vrm", "avatar_vrm0.vrm", "motion.vrma", "avatar_print.stl",
            "avatar_posed.obj", "avatar_posed.mtl"} <= set(names)


def test_the_view_shows_the_export_itself(made):
    ws, character = made
    glb = H.export(ws, character, "glb")
    vrm = H.export(ws, character, "vrm")
    assert glb.view == glb.path and vrm.view == vrm.path and vrm.view.suffix == ".vrm"  # the VRM, not the GLB
    vrm0 = H.export(ws, character, "vrm0")
    assert vrm0.view == vrm0.path
    vrma = H.export(ws, character, "vrma", motion="walk")  # an animation: the avatar it is for
    assert vrma.view.suffix == ".vrm" and vrma.view.parent == vrma.path.parent
    with pytest.raises(ValueError, match="expected a motion"):
        H.export(ws, character, "vrma")


def test_posed_exports_show_the_posed_geometry(made):
    ws, character = made
    jog = H.pose_state("jog", character)
    rest = H.export(ws, character, "stl")
    stl = H.export(ws, character, "stl", jog, None)
    assert stl.view == stl.path and stl.view.suffix == ".stl"  # the posed STL itself, not an earlier GLB
    a, b = _stl_vertices(rest.path), _stl_vertices(stl.path)
    assert a.shape != b.shape or np.abs(a - b).max() > 1.0  # millimetres: the pose moved it
    ply = H.export(ws, character, "ply", jog, None)
    obj = H.export(ws, character, "obj", jog, None)
    for out in (ply, obj):  # a GLB of the very vertices written, beside the export
        assert out.view.suffix == ".glb" and out.view.parent == out.path.parent
    posed, shown = _ply_vertices(ply.path), _glb_vertices(ply.view)
    assert posed.shape == shown.shape and np.allclose(posed, shown, atol=1e-5)
    rest_ply = _ply_vertices(H.export(ws, character, "ply").path)
    assert np.abs(rest_ply - posed).max() > 0.05  # metres: the view is posed, not the T-pose


def test_export_tab_view_and_downloads_follow_each_export(made, tmp_path):
    """The tab's own handler: after a VRM export the three-vrm view loads that VRM; after a posed STL
    export it loads that STL (not the earlier file); the download box lists both."""
    pytest.importorskip("gradio")
    import html
    import types
    from pathlib import Path

    from kyara.studio import viewer
    from kyara.studio.app import build_app
    from kyara.studio.config import StudioConfig

    fake = tmp_path / "nm"  # the view's scripts are only served, never run here
    for f in viewer.REQUIRED:
        (fake / f).parent.mkdir(parents=True, exist_ok=True)
        (fake / f).write_text("export {};\n")
    app = build_app(StudioConfig(output=tmp_path / "out", web_modules=fake))
    fns = {getattr(f, "api_name", None): f for f in app.fns.values()}
    inputs = {fmt: fns[f"export_{fmt}"] for fmt in ("vrm", "stl")}
    state = next(b for b in inputs["vrm"].inputs if b.__class__.__name__ == "State")
    request = types.SimpleNamespace(session_hash="s1")

    def click(fmt, st):
        fn = inputs[fmt]
        data = {b: getattr(b, "value", None) for b in fn.inputs}
        data[state] = st
        return fn.fn(data, request)

    _, character = made
    st = {"character": character, "pose": H.pose_state("jog", character), "pose_files": {}}
    st, files, view, text = click("vrm", st)
    assert "avatar.vrm" in text and Path(files[0]).name == "avatar.vrm"
    assert '"kind": "gltf"' in html.unescape(view) and f"{Path(files[0]).name}" in html.unescape(view)
    st, files, view, text = click("stl", st)
    doc = html.unescape(view)
    assert "avatar_print.stl" in doc and '"kind": "stl"' in doc and "avatar.vrm" not in doc
    assert [Path(f).name for f in files] == ["avatar_print.stl", "avatar.vrm"]
