"""Errors in the studio page: one line in the status line of the control that caused it, every other
output left as it was, no server folder in the text."""

from __future__ import annotations

import pytest

from kyara.studio.handlers.common import scrub_paths

gr = pytest.importorskip("gradio")


def test_server_paths_are_cut_to_their_last_part():
    assert scrub_paths("error: model folder '/home/u/models/anything-v5' has no model_index.json") == \
        "error: model folder 'anything-v5' has no model_index.json"
    line = "see https://huggingface.co/x/y and /root/.cache/huggingface/hub/models--a--b/snapshots/c/unet/config.json"
    assert scrub_paths(line) == "see https://huggingface.co/x/y and config.json"
    assert scrub_paths("x ./rel/a.png ~/m/k.safetensors a/b 1/2") == "x a.png k.safetensors a/b 1/2"


def test_safe_puts_the_line_in_the_status_and_keeps_the_rest():
    from kyara.studio.tabs import safe

    outputs = ["image", "files", "status", "state"]

    def handler(path):
        raise ValueError(f"upload '/tmp/gradio/0123abcd/my_pose.json' is broken at {path}")

    out = safe(handler, outputs, "status")("/srv/kyara/out/s1/pose-0003/pose.json")
    assert len(out) == 4 and all(o == gr.update() for i, o in enumerate(out) if i != 2)
    assert out[2] == "error: upload 'my\\_pose.json' is broken at pose.json"  # markdown-literal, no folders
