"""The Create tab in a real browser (the server, browser and page of ``test_studio_e2e``): what kyara
understood of the prompt shows as chips beside it while the user types, the ignored words marked and a
warning for a prompt it mostly did not understand; Create's previews are at least 512 px; a bad spec
applied shows its error, in the user's words, under the Apply button while the previous previews stay
and the spec editor stays editable."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from test_studio_e2e import DOCS, _image_pixels, _wait_text, browser, page, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _type_prompt(pg, text: str) -> None:
    box = pg.locator("#create-prompt textarea")
    box.fill(text)


def _chips(pg, timeout_s: float = 20, want: str | None = None) -> list[str]:
    deadline = time.time() + timeout_s
    while True:
        chips = pg.locator("#create-understanding .kyara-chip").all_inner_texts()
        if want is None or any(want in c for c in chips) or time.time() > deadline:
            return chips
        time.sleep(0.1)


def test_prompt_understanding_updates_as_the_user_types(page):  # noqa: F811
    pg = page
    # the default prompt is understood from the start
    assert _chips(pg, want="hair")
    _type_prompt(pg, "1girl, long pink hair, maid")
    chips = _chips(pg, want="maid")
    assert any("maid" in c and "maid dress" in c for c in chips), chips
    assert any("long pink hair" in c for c in chips) and any("1girl" in c for c in chips), chips
    assert pg.locator("#create-understanding mark.kyara-ignored").count() == 0
    assert pg.locator("#create-understanding .kyara-warning").count() == 0
    pg.locator("#create-prompt").screenshot(path=str(DOCS / "studio_create_understood.png"))
    # ignored words are marked in the prompt, the rest still shown as chips
    _type_prompt(pg, "a miko with long black hair holding an umbrella in the <rain>")
    _wait_text(pg, "#create-understanding", r"umbrella", 20)
    marks = pg.locator("#create-understanding mark.kyara-ignored").all_inner_texts()
    assert marks == ["holding", "umbrella", "rain"], marks
    assert any("miko" in c and "hakama" in c for c in _chips(pg, want="miko"))
    assert "<rain>" in pg.locator("#create-understanding .kyara-marked").inner_text()  # escaped, shown as typed
    assert pg.locator("#create-understanding .kyara-warning").count() == 0
    # nonsense: the warning
    _type_prompt(pg, "blorp zizzle frumple wibble")
    text = _wait_text(pg, "#create-understanding .kyara-warning", r"most of this prompt was not understood", 20)
    assert "0 of 4 words" in text
    assert pg.locator("#create-understanding mark.kyara-ignored").count() == 4
    pg.screenshot(path=str(DOCS / "studio_create_nonsense.png"))


def _natural_size(pg, selector: str) -> tuple[int, int]:
    img = pg.locator(f"{selector} img").first
    img.wait_for(timeout=30_000)
    deadline = time.time() + 30
    while time.time() < deadline:
        w, h = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        if w:
            return w, h
        time.sleep(0.2)
    raise AssertionError(f"{selector} never loaded its image")


def test_bad_spec_keeps_the_previews_and_the_editor(page):  # noqa: F811
    pg = page
    _type_prompt(pg, "an anime boy with short blue hair in a t-shirt and shorts")
    words = ("parse", "build", "render", "export")
    idle = {s for s in words if re.search(rf"\b{s}\b", pg.locator("body").inner_text())}
    pg.locator("#create-button").click()
    stages = set()
    deadline = time.time() + 180
    while time.time() < deadline:
        body = pg.locator("body").inner_text()
        stages |= {s for s in words if re.search(rf"\b{s}\b", body)} - idle
        if re.search(r"created in", pg.locator("#create-status").inner_text()):
            break
        time.sleep(0.1)
    assert "created in" in pg.locator("#create-status").inner_text()
    pg.screenshot(path=str(DOCS / "studio_create_done.png"))
    assert stages & {"build", "render", "export"}, stages  # the stages show while Create runs
    for view in ("front", "side", "back", "turntable"):
        w, h = _natural_size(pg, f"#create-{view}")
        assert min(w, h) >= 512, (view, w, h)
    before = _image_pixels(pg, "#create-front")
    spec = json.loads(pg.locator("#create-spec .cm-content").inner_text())
    assert [p["kind"] for p in spec["outfit"]][:2] == ["t-shirt", "shorts"]
    # a spec without its version: the error under Apply, in the user's words
    del spec["version"]
    editor = pg.locator("#create-spec .cm-content")
    editor.fill(json.dumps(spec))
    pg.locator("#create-apply").click()
    text = _wait_text(pg, "#create-spec-status", r"error:", 60)
    assert "the spec has no version number" in text, text
    assert "missing field" not in text and "/tmp" not in text
    time.sleep(1.0)
    assert "error:" in pg.locator("#create-spec-status").inner_text()  # it stays
    pg.screenshot(path=str(DOCS / "studio_create_spec_error.png"), full_page=True)
    after = _image_pixels(pg, "#create-front")
    assert after.shape == before.shape and np.abs(after - before).max() == 0  # the last good previews stay
    assert "created in" in pg.locator("#create-status").inner_text()
    # the editor is still there and editable (no error overlay on it): the user can fix the spec
    spec["version"] = 1
    editor.click()
    editor.fill(json.dumps(spec, indent=2))
    fixed = pg.locator("#create-spec .cm-content").inner_text()
    assert json.loads(fixed)["version"] == 1


def test_create_error_stays_under_the_create_button(page):  # noqa: F811
    """An empty prompt: the error stays under the Create button, not under Apply spec."""
    pg = page
    _type_prompt(pg, "   ")
    pg.locator("#create-button").click()
    text = _wait_text(pg, "#create-status", r"error:", 30)
    assert "prompt is empty" in text and "/tmp" not in text
    time.sleep(0.5)
    assert "error:" in pg.locator("#create-status").inner_text()
    assert pg.locator("#create-spec-status").inner_text().strip() == ""  # the error is where the action was
