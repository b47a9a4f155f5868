"""A drawing of a known kyara character (render -> line art on paper, :mod:`kyara.drawing.evaluate`):
the lift recovers its joints and shape to the issue's figures. Needs the headless GL context."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_a_drawing_of_a_known_character_meets_the_figures(gl):
    from kyara.drawing.evaluate import score, synthetic_drawings

    samples = synthetic_drawings(2, per_character=2, size=384, seed=0)
    s = samples[1]  # a random character in a skirt, arms lowered, drawn in ink over flat colours
    assert s.rgb.shape == (384, 384, 3) and s.keypoints[:14, 2].all()
    r = score(s)
    assert r["joints"] == "medial axis"
    assert r["mask_iou"] >= 0.85, r
    assert r["pck@0.05"] >= 0.9 and r["pck@0.1"] >= r["base_pck@0.1"], r
    assert r["side_iou"] >= 0.7, r
    assert r["walk_err"] <= 0.05, r
    # the other drawing of the same character: still well ahead of the box template at 0.1
    r0 = score(samples[0], walk=False)
    assert r0["pck@0.1"] >= 0.9 and np.isfinite(r0["side_iou"])


def test_side_silhouette_and_walk_error_are_zero_against_themselves():
    """The two shape figures are 1 and 0 for a character compared with itself, and move when the shape does."""
    from kyara.avatar import character_body
    from kyara.detect.metrics import mask_iou
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.evaluate import side_silhouette, walk_error
    from kyara.drawing.skeleton import SkeletonConfig

    from drawing_figures import figure

    c = lift(figure(256).rgb, config=LiftConfig(skeleton=SkeletonConfig(detector="none")))
    v, f = c.parts[0].vertices, c.parts[0].faces
    a = side_silhouette(v, f)
    assert mask_iou(a, side_silhouette(v, f)) == 1.0
    fat = v * np.array([1.0, 1.0, 2.0], np.float32)
    assert mask_iou(a, side_silhouette(fat, f)) < 0.75
    body = character_body(c)
    assert walk_error(body, body) == pytest.approx(0.0, abs=1e-9)


def test_fast_silhouette_matches_the_one_triangle_at_a_time_reference():
    from kyara.body.model import build_body
    from kyara.detect.metrics import mask_iou
    from kyara.drawing.evaluate import _rasterize, _rasterize_reference, side_silhouette

    body = build_body("teen-girl")
    v = body.vertices.astype(np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    h = hi[1] - lo[1]
    yz = np.stack([(v[:, 2] - 0.5 * (lo[2] + hi[2])) / h + 0.5, (v[:, 1] - lo[1]) / h * 0.98], axis=1)
    for res in (128, 256):
        fast, ref = _rasterize(yz, body.faces, res), _rasterize_reference(yz, body.faces, res)
        assert mask_iou(fast, ref) >= 0.97, res
    assert side_silhouette(v, body.faces).sum() > 0.05 * 256 * 256  # a body seen from the side is slim
