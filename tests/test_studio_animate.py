"""The Animate tab's handler: 512 px by default, MP4 or GIF written by kyara.motion.animate."""

from __future__ import annotations

import inspect

import pytest
from PIL import Image

from kyara.studio import handlers as H
from kyara.studio.session import Workspace


def test_animate_defaults_to_512_px_mp4():
    params = inspect.signature(H.animate_clip).parameters
    assert params["size"].default == H.ANIMATION_SIZE == 512
    assert params["video_format"].default == "mp4" and H.ANIMATION_FORMATS == ("mp4", "gif")


def test_animate_writes_a_gif_of_the_chosen_size(tmp_path):
    ws = Workspace.for_session(tmp_path, "s1")
    out = H.animate_clip(ws, "jog", None, "front", 4.0, 96, False, video_format="gif")
    assert out.video.name == "animation.gif" and out.conditions is None
    with Image.open(out.video) as im:
        assert im.format == "GIF" and im.size == (96, 96)
        assert getattr(im, "n_frames", 1) == out.frames > 1


def test_animate_refuses_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="format 'webm' is unknown, expected one of mp4, gif"):
        H.animate_clip(Workspace.for_session(tmp_path, "s1"), "jog", None, video_format="webm")
