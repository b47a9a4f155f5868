"""The Image tab's gallery shows whole images, and a history of every image since the studio
started (this page's session), each with its parameters: prompt, seed, size, model."""

from __future__ import annotations

import types

import pytest
from PIL import Image

pytest.importorskip("gradio")

from kyara.studio import handlers as H  # noqa: E402


def _cfg(**kw):
    args = dict(prompt="1girl", negative="", model="tiny", control="none", control_model="default", strength=1.0,
                loras="", steps=2, guidance=7.5, scheduler="euler-a", seed=0, batch=1, width=64, height=48)
    args.update(kw)
    return H.image_config(*args.values())


def _png(path, size):
    Image.new("RGB", size).save(path)
    return path


def test_history_grows_with_each_generation_and_holds_the_parameters(tmp_path):
    pytest.importorskip("diffusers")
    first = H.add_history(None, _cfg(seed=7), [_png(tmp_path / "a.png", (64, 48))])
    assert first == [{"#": 1, "prompt": "1girl", "seed": 7, "size": "64x48", "model": "tiny", "steps": 2,
                      "guidance": 7.5, "file": str(tmp_path / "a.png")}]
    batch = [_png(tmp_path / f"b{i}.png", (512, 512)) for i in range(2)]
    both = H.add_history(first, _cfg(prompt="1boy, solo", seed=3, batch=2, steps=4), batch)
    assert len(first) == 1 and len(both) == 3  # a new list; the earlier rows kept as they were
    assert [(r["#"], r["seed"], r["size"], r["prompt"]) for r in both[1:]] == [
        (2, 3, "512x512", "1boy, solo"), (3, 4, "512x512", "1boy, solo")]  # a batch counts up from its seed
    table = H.history_table(both)  # newest first, columns as named
    assert [row[0] for row in table] == [3, 2, 1] and len(table[0]) == len(H.HISTORY_COLUMNS)
    assert table[-1][H.HISTORY_COLUMNS.index("file")] == "a.png"
    caps = H.history_gallery(both)
    assert caps[0] == (str(batch[1]), "#3 seed 4, 512x512, tiny") and caps[-1][0] == str(tmp_path / "a.png")
    assert H.history_table(None) == [] and H.history_gallery([]) == []


def test_the_tab_shows_whole_images_and_keeps_the_history(tmp_path, monkeypatch):
    """Two generations through the tab's own handler (tiny model): the history gains a row for each
    with its seed and size; the gallery fits whole images (object-fit contain)."""
    pytest.importorskip("diffusers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from kyara.studio.app import build_app
    from kyara.studio.config import StudioConfig

    app = build_app(StudioConfig(output=tmp_path / "out"))
    cfg = app.get_config_file()
    props = {c["props"].get("elem_id"): c["props"] for c in cfg["components"] if c["props"].get("elem_id")}
    assert props["image-gallery"]["object_fit"] == "contain" and props["image-gallery"]["height"] >= 512
    gen = next(f for f in app.fns.values() if getattr(f, "api_name", None) == "generate")
    ids = [getattr(b, "elem_id", None) for b in gen.outputs]
    assert ids[-2:] == ["image-history-gallery", "image-history"]
    request = types.SimpleNamespace(session_hash="s1")
    st = {"character": None, "pose": None, "pose_files": {}}
    for seed in (5, 9):
        *_, last = gen.fn("1girl", "", "tiny", "none", "default", 1.0, "", 2, 7.5, "euler-a", seed, 1, 64, 48, st,
                          "off", H.NO_STYLE, False, request=request)
        assert last[1].startswith("wrote 1 image"), last[1]
        st = last[4]
    rows = last[-1]
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [(2, 9, "64x48", "tiny"), (1, 5, "64x48", "tiny")]
    assert [c for _, c in last[-2]] == ["#2 seed 9, 64x48, tiny", "#1 seed 5, 64x48, tiny"]
