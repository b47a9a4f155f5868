"""kyara.detect.sides: each left/right pair found together and named for the whole figure."""

from __future__ import annotations

import numpy as np
import pytest

from kyara.detect.sides import facing_from, resolve_sides, resolve_sides_reference, two_peaks

S = 96


def _blob(x: float, y: float, v: float = 1.0, sigma: float = 2.0) -> np.ndarray:
    yy, xx = np.mgrid[0:S, 0:S]
    return v * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma * sigma))


# an upright figure seen from the front: its right side on the image's left
FRONT = {0: (48, 14), 1: (48, 24), 2: (38, 25), 5: (58, 25), 3: (32, 38), 6: (64, 38), 4: (30, 50), 7: (66, 50),
         8: (42, 52), 11: (54, 52), 9: (41, 68), 12: (55, 68), 10: (40, 84), 13: (56, 84),
         14: (43, 12), 15: (53, 12), 16: (37, 15), 17: (59, 15)}
PAIRS = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17))


def _truth(mirror: bool) -> np.ndarray:
    kp = np.zeros((18, 3))
    for j, (x, y) in FRONT.items():
        kp[j] = (S - 1 - x if mirror else x, y, 1.0)
    return kp


def _confused(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps that cannot tell left from right: each channel of a pair peaks at its own joint and,
    almost as high, at the other one (the left channel slightly stronger on the wrong one)."""
    heat = np.stack([_blob(*truth[j, :2]) for j in range(18)])
    for r, l in PAIRS:
        heat[r] = 0.8 * _blob(*truth[r, :2]) + 0.7 * _blob(*truth[l, :2])
        heat[l] = 0.7 * _blob(*truth[l, :2]) + 0.9 * _blob(*truth[r, :2])
    kp = np.array([[*np.unravel_index(np.argmax(h), h.shape)[::-1], h.max()] for h in heat], dtype=np.float64)
    return kp, heat


@pytest.mark.parametrize("mirror, facing", [(False, 1.0), (True, -1.0)])
def test_pairs_are_named_by_the_facing_and_the_chain(mirror, facing):
    """Front view (right side on the image's left) and from behind (the same picture mirrored): the
    raw channels put both joints of a pair on one place; resolved, every joint is on its own."""
    truth = _truth(mirror)
    kp, heat = _confused(truth)
    assert np.abs(kp[5, :2] - kp[2, :2]).max() < 1.0  # the raw answer: both shoulders on one shoulder
    out = resolve_sides(kp, heat, facing)
    assert np.abs(out[:, :2] - truth[:, :2]).max() <= 0.6
    assert np.allclose(out, resolve_sides_reference(kp, heat, facing), atol=1e-9)
    # told the opposite facing, the torso pairs (and the chains hanging from them) come out mirrored
    wrong = resolve_sides(kp, heat, -facing)
    assert np.abs(wrong[2, :2] - truth[5, :2]).max() <= 0.6 and np.abs(wrong[7, :2] - truth[4, :2]).max() <= 0.6


def test_upside_down_figure_uses_its_own_up_axis():
    truth = _truth(False)
    flipped = truth.copy()
    flipped[:, :2] = (S - 1) - truth[:, :2]  # rotated 180 degrees: still seen from the front
    kp, heat = _confused(flipped)
    out = resolve_sides(kp, heat, 1.0)
    assert np.abs(out[:, :2] - flipped[:, :2]).max() <= 0.6


def test_a_pair_with_one_peak_keeps_the_channels():
    truth = _truth(False)
    heat = np.stack([_blob(*truth[j, :2]) for j in range(18)])
    heat[6] = _blob(*truth[3, :2])  # one elbow seen, both channels on it
    heat[3] = 0.9 * _blob(*truth[3, :2])
    kp = np.array([[*np.unravel_index(np.argmax(h), h.shape)[::-1], h.max()] for h in heat], dtype=np.float64)
    out = resolve_sides(kp, heat, 1.0)
    assert np.allclose(out[[3, 6]], kp[[3, 6]])


def test_profile_lets_the_channels_decide_the_torso():
    truth = _truth(False)
    heat = np.stack([_blob(*truth[j, :2]) for j in range(18)])
    heat[2] = _blob(*truth[2, :2]) + 0.5 * _blob(*truth[5, :2])
    heat[5] = _blob(*truth[5, :2]) + 0.5 * _blob(*truth[2, :2])
    kp = np.array([[*np.unravel_index(np.argmax(h), h.shape)[::-1], h.max()] for h in heat], dtype=np.float64)
    out = resolve_sides(kp, heat, 0.1)
    assert np.abs(out[[2, 5], :2] - truth[[2, 5], :2]).max() <= 0.6


def test_two_peaks_and_facing_rule():
    a, b = two_peaks(np.stack([_blob(20, 30, 1.0), _blob(70, 40, 0.6)]))
    assert abs(a[0] - 20) < 0.2 and abs(a[1] - 30) < 0.2 and abs(b[0] - 70) < 0.2 and abs(b[1] - 40) < 0.2
    kp = np.zeros((18, 3))
    assert facing_from(kp, 0.4) == 0.4 and facing_from(kp, 7.0) == 1.0
    kp[0, 2] = 0.7
    assert facing_from(kp, None) == 1.0 and facing_from(np.zeros((18, 3)), None) == -1.0
