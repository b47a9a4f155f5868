"""Left and right, decided for the whole figure (pure numpy on the network's heatmaps).

A heatmap network finds a shoulder or a wrist well but often cannot tell the character's right
one from its left: that needs the whole picture (is the face towards us?), which a pixel's
receptive field rarely holds. Measured on held-out renders, the first shipped CPU detector put 85-94 %
of the limb joints on *a* joint of the pair, but only 45-66 % on the right one. So the two
joints of each pair are found together and then named:

1. the pair's two places: the two strongest peaks of the sum of its two heatmaps (the second
   found after suppressing the first within ``suppress`` pixels); a pair with one clear peak
   keeps the channels' own answer;
2. the facing, ``f`` in [-1, 1] (+1 towards the camera): the network's facing head where it has
   one, else the nose heatmap's peak (the face is seen from the front: ``+1`` when it reaches
   ``nose_threshold``, ``-1`` below);
3. torso pairs (shoulders, hips, eyes, ears) by the facing: along the body's up axis (mid-hip to
   neck) the character's right side is on the image's left for a front view and on its right
   from behind (the sign of the 2D cross product); with ``|f| < 0.3`` (a profile) the channels
   decide;
4. limb pairs (elbows, wrists, knees, ankles) by the chain: the assignment with the shorter sum
   of distances to the already named parent joints (elbow to shoulder, wrist to elbow, ...).

:func:`resolve_sides_reference` is a plain-loop version for tests.
"""

from __future__ import annotations

import numpy as np

# (right, left) in OpenPose's COCO-18 order, parents before children
TORSO_PAIRS = ((2, 5), (8, 11), (14, 15), (16, 17))
LIMB_PAIRS = ((3, 6), (4, 7), (9, 12), (10, 13))
PARENT = {3: 2, 4: 3, 6: 5, 7: 6, 9: 8, 10: 9, 12: 11, 13: 12}
PROFILE = 0.3  # |facing| below this: a profile, the channels decide the torso pairs
SECOND_PEAK = 0.25  # a second peak weaker than this share of the first: one joint seen, channels kept
NOSE_THRESHOLD = 0.5


def _peak(h: np.ndarray) -> tuple[float, float, float]:
    from kyara.nn.heatmaps import decode_heatmaps_reference

    x, y, v = decode_heatmaps_reference(h[None, None].astype(np.float64))[0, 0]
    return float(x), float(y), float(v)


def two_peaks(heat_pair: np.ndarray, suppress: float = 4.0) -> tuple[tuple, tuple]:
    """The two strongest places ``((x, y, value), (x, y, value))`` of a pair's summed heatmaps
    ``[2, H, W]``: the first peak, then the peak of the sum with a Gaussian hole of ``suppress``
    pixels around the first."""
    s = heat_pair.sum(axis=0).astype(np.float64)
    a = _peak(s)
    yy, xx = np.mgrid[0:s.shape[0], 0:s.shape[1]]
    hole = 1.0 - np.exp(-((xx - a[0]) ** 2 + (yy - a[1]) ** 2) / (2.0 * suppress * suppress))
    return a, _peak(s * hole)


def facing_from(keypoints: np.ndarray, facing: float | None, nose_threshold: float = NOSE_THRESHOLD) -> float:
    """The facing used: the network's (clipped to [-1, 1]) or, without one, from the nose's confidence."""
    if facing is not None and np.isfinite(facing):
        return float(np.clip(facing, -1.0, 1.0))
    return 1.0 if keypoints[0, 2] >= nose_threshold else -1.0


def _side(up: np.ndarray, neck: np.ndarray, p) -> float:
    """The 2D cross product of the body's up axis and ``p - neck``: negative on the image's left of an upright figure."""
    return float(up[0] * (p[1] - neck[1]) - up[1] * (p[0] - neck[0]))


def _value(h: np.ndarray, p) -> float:
    y = int(np.clip(round(p[1]), 0, h.shape[0] - 1))
    x = int(np.clip(round(p[0]), 0, h.shape[1] - 1))
    return float(h[y, x])


def resolve_sides(keypoints: np.ndarray, heat: np.ndarray, facing: float, suppress: float = 4.0) -> np.ndarray:
    """Keypoints ``[18, 3]`` (heatmap pixels, as decoded from ``heat`` ``[18, H, W]``) with each
    left/right pair re-found and re-named for the whole figure (module docstring). Confidences
    follow their joints' own channel at the new place."""
    kp = np.array(keypoints, dtype=np.float64)
    neck = kp[1, :2]
    up = neck - (kp[8, :2] + kp[11, :2]) / 2.0
    if kp[1, 2] <= 0 or np.hypot(*up) < 1e-6:
        return kp
    for r, l in TORSO_PAIRS + LIMB_PAIRS:
        a, b = two_peaks(heat[[r, l]], suppress)
        if a[2] <= 0 or b[2] < SECOND_PEAK * a[2]:
            continue  # one joint seen (or none): the channels' own answer
        pa, pb = np.array(a[:2]), np.array(b[:2])
        if (r, l) in TORSO_PAIRS:
            if abs(facing) < PROFILE:
                right_is_a = _value(heat[r], pa) - _value(heat[l], pa) >= _value(heat[r], pb) - _value(heat[l], pb)
            else:
                sa, sb = _side(up, neck, pa), _side(up, neck, pb)
                right_is_a = (sa < sb) if facing > 0 else (sa > sb)
        else:
            pr, pl = kp[PARENT[r], :2], kp[PARENT[l], :2]
            keep = np.hypot(*(pa - pr)) + np.hypot(*(pb - pl))
            swap = np.hypot(*(pb - pr)) + np.hypot(*(pa - pl))
            right_is_a = keep <= swap
        pr_, pl_ = (pa, pb) if right_is_a else (pb, pa)
        kp[r] = (*pr_, max(_value(heat[r], pr_), 1e-3))
        kp[l] = (*pl_, max(_value(heat[l], pl_), 1e-3))
    return kp


def resolve_sides_reference(keypoints: np.ndarray, heat: np.ndarray, facing: float,
                            suppress: float = 4.0) -> np.ndarray:
    """Plain-loop version of :func:`resolve_sides` (brute-force peaks; for tests)."""
    kp = [list(map(float, row)) for row in keypoints]
    nx, ny = kp[1][0], kp[1][1]
    ux = nx - (kp[8][0] + kp[11][0]) / 2.0
    uy = ny - (kp[8][1] + kp[11][1]) / 2.0
    if kp[1][2] <= 0 or (ux * ux + uy * uy) ** 0.5 < 1e-6:
        return np.array(kp)
    hgt, wid = heat.shape[1:]

    def val(c, x, y):
        return float(heat[c][min(max(int(round(y)), 0), hgt - 1)][min(max(int(round(x)), 0), wid - 1)])

    for r, l in list(TORSO_PAIRS) + list(LIMB_PAIRS):
        a, b = two_peaks(heat[[r, l]], suppress)
        if a[2] <= 0 or b[2] < SECOND_PEAK * a[2]:
            continue
        if (r, l) in TORSO_PAIRS:
            if abs(facing) < PROFILE:
                ra = val(r, a[0], a[1]) - val(l, a[0], a[1]) >= val(r, b[0], b[1]) - val(l, b[0], b[1])
            else:
                sa = ux * (a[1] - ny) - uy * (a[0] - nx)
                sb = ux * (b[1] - ny) - uy * (b[0] - nx)
                ra = sa < sb if facing > 0 else sa > sb
        else:
            (prx, pry), (plx, ply) = kp[PARENT[r]][:2], kp[PARENT[l]][:2]

            def d(x0, y0, x1, y1):
                return ((x0 - x1) ** 2 + (y0 - y1) ** 2) ** 0.5
            ra = d(a[0], a[1], prx, pry) + d(b[0], b[1], plx, ply) <= d(b[0], b[1], prx, pry) + d(a[0], a[1], plx, ply)
        right, left = (a, b) if ra else (b, a)
        kp[r] = [right[0], right[1], max(val(r, right[0], right[1]), 1e-3)]
        kp[l] = [left[0], left[1], max(val(l, left[0], left[1]), 1e-3)]
    return np.array(kp)
