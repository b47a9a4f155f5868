"""The Create tab's handlers: the prompt-understanding HTML (chips, ignored words marked, escaped, the
nonsense warning), Create's stages reported in order, spec errors in the user's words, an imported file
named by its own name, previews at 512 px."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from kyara.studio.handlers import characters as C
from kyara.studio.session import Workspace


def test_understanding_html_chips_marks_and_escapes():
    html = C.understanding_html("an anime girl with long pink hair in a maid outfit")
    assert html.count('class="kyara-chip"') == 3
    assert 'data-category="hair"' in html and "long pink hair" in html
    assert "kyara-ignored" not in html and "kyara-warning" not in html
    html = C.understanding_html("a <b>girl</b> & an umbrella")
    assert "<b>girl</b>" not in html and "&lt;" in html and "&amp;" in html  # the prompt is text, never markup
    assert html.count('class="kyara-ignored"') == 3  # "b", "b", "umbrella"
    assert ">umbrella</mark>" in html
    bad = C.understanding_html("blorp zizzle frumple wibble")
    assert 'class="kyara-warning"' in bad and "0 of 4 words" in bad
    assert "kyara-chip" not in bad.split("kyara-chips")[1].split("</div>")[0]
    assert "type a description" in C.understanding_html("  ")
    assert "kyara-warning" in C.understanding_html("x" * 2001)  # a refused prompt says why, no exception


@pytest.mark.parametrize("raw, want", [
    ("version: missing field", "the spec has no version number"),
    ("hair.colour: expected a colour word, #rrggbb or {name, hex}, got \"blurple\"",
     "the hair colour should be a colour word, #rrggbb or {name, hex}, not \"blurple\""),
    ("outfit[1].kind: expected one of kimono, dress, got \"cape\"",
     "the second outfit piece's kind should be one of kimono, dress, not \"cape\""),
    ("eye_colour: missing field", "the spec has no eye colour"),
    ("character spec: expected a JSON object, got list", "the spec should be a JSON object, not list"),
    ("upload 'x.png' is a corrupt image", "upload 'x.png' is a corrupt image"),  # not a spec message: unchanged
])
def test_spec_errors_in_the_users_words(raw, want):
    assert C.spec_error_words(raw) == want
    assert C.spec_error_words(f"broken.json: {raw}", "broken.json") == f"broken.json: {want}"


def test_apply_spec_error_never_names_internal_fields(tmp_path):
    from kyara.character.parser import parse_prompt

    ws = Workspace.for_session(tmp_path, "s1")
    data = json.loads(parse_prompt("an anime girl", 0).to_json())
    del data["version"]
    with pytest.raises(ValueError) as err:
        C.create(ws, None, 0, json.dumps(data))
    assert str(err.value) == "the spec has no version number"
    with pytest.raises(ValueError, match="not valid JSON: expecting"):
        C.create(ws, None, 0, "{")


def test_imported_broken_json_is_called_by_its_own_name(tmp_path):
    ws = Workspace.for_session(tmp_path / "out", "s1")
    src = tmp_path / "upload" / "broken.json"
    src.parent.mkdir()
    src.write_text(json.dumps({"version": 1}))
    with pytest.raises(ValueError) as err:
        C.avatar_previews(ws, src)
    msg = str(err.value)
    assert msg.startswith("broken.json: the spec has no ") and "missing field" not in msg, msg
    assert "character.json" not in msg and str(tmp_path) not in msg


def test_create_reports_its_stages_in_order(tmp_path, monkeypatch):
    import kyara.character.build as build
    import kyara.character.create as create

    monkeypatch.setattr(build, "build_character", lambda spec: SimpleNamespace(spec=spec))
    seen_sizes = []

    def write(spec, out, pose, size, *, turntable_frames, turntable_size, character, progress):
        seen_sizes.append((size, turntable_size))
        out.mkdir(parents=True, exist_ok=True)
        (out / "character.json").write_text(spec.to_json())
        for step in ("build", "render", "conditions", "turntable", "sheet", "vrm", "stl"):
            progress(step)
    monkeypatch.setattr(create, "create_character", write)
    calls = []
    C.create(Workspace.for_session(tmp_path, "s1"), "a maid", 0, progress=lambda f, s: calls.append((f, s)))
    stages = [s.split(":")[0] for _f, s in calls]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == ["parse", "build", "render", "export",
                                                                                "done"]
    fractions = [f for f, _s in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert seen_sizes == [((512, 512), 512)]  # previews and turntable at 512 px
