"""Part layers of :func:`kyara.drawing.inflate.inflate`: an arm drawn across the torso, or against a
skirt or the body, keeps its own shape and its own weights.

In the silhouette an arm drawn across the body is torso, and an arm hanging against a skirt is
part of the skirt's outline; in the drawing each is an arm, outlined in ink in front of the body.
:func:`front_layers` finds such arms and their pixels, so the lift inflates each as a tube of its
own, in front of the body (:mod:`kyara.drawing.inflate`), skinned to the arm's bones alone
(:mod:`kyara.drawing.rig`), with the body under it coloured from around it
(:mod:`kyara.drawing.texture`).

1. **Across?** (:func:`crossing_share`): the arm's bones (shoulder, elbow, wrist, hand's end as
   :func:`kyara.drawing.inflate.part_segments` has them) are sampled from the shoulder to the
   wrist; the arm is across the torso when at least :data:`MIN_SHARE` of the samples lie inside
   the shoulders-and-hips quadrilateral, at least the arm's half-width from its edges (an arm
   hanging beside the body, or held out, never is).
2. **Half-width** (:func:`arm_half_width`): over the torso, the median distance from the bone to
   the nearest colour edge (:func:`colour_edges`: the inner side of the arm's outline, or the
   border of its sleeve); without edges there, the silhouette's half-width where the arm is
   outside the torso; else 4 % of the figure's height.
3. **Region** (:func:`arm_region`): the figure's pixels reachable from the bone (shoulder to
   wrist) without crossing a colour edge, no farther from it than ``1.5 r + 2 stroke + 1`` (the
   line test: the arm's outline, or its sleeve's border, stops the flood), grown by a stroke's
   width to take its outline. When nothing bounds the arm (the flood spreads over the torso), the
   pixels within ``r`` and half a stroke of the bone.
4. **Hidden** (:func:`hidden_torso`): the region's pixels the rest of the figure closes over (a
   morphological closing of the figure without the arm, wider than the arm and its outline) stay
   in the body's silhouette, as the torso behind the arm; the rest of the arm (where it passes the
   torso's edge) leaves it.
5. **Against the body?** (:func:`contact_share`): an arm not across the torso whose region (found
   by lines, step 3 -- not the fallback, which would trust joints the silhouette may have misled)
   touches pixels nearest to another part (a skirt, the hips, a leg) along at least
   :data:`MIN_CONTACT` of its forearm gets a layer the same way: its hand takes arm weights, not
   hip weights, and the skirt stays when the arm moves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SHARE = 0.25  # of the arm's length (shoulder to wrist) deep inside the torso: drawn across it
MIN_CONTACT = 0.25  # of the forearm's length (elbow to the hand's end) touching the body: drawn against it
ARM_PARTS = {"right": ("right_upper_arm", "right_lower_arm"), "left": ("left_upper_arm", "left_lower_arm")}


@dataclass
class FrontLayer:
    """One part drawn in front of the torso."""

    name: str  # "right_arm" | "left_arm"
    parts: tuple[str, ...]  # its parts (names of kyara.drawing.inflate.PARTS)
    region: np.ndarray  # [H, W] bool: its pixels (drawing)
    hidden: np.ndarray  # [H, W] bool: the part of region the torso continues under
    half_width: float  # pixels
    share: float  # of its length inside the torso (step 1), or of its forearm touching the body (step 5)
    why: str = "across the torso"  # or "against the body"


def arm_polyline(skel, side: str) -> np.ndarray:
    """``[4, 2]`` pixels: shoulder, elbow, wrist and the hand's end (half a forearm past the wrist)."""
    j = skel.joint
    sh, el, wr = j(f"{side}_shoulder"), j(f"{side}_elbow"), j(f"{side}_wrist")
    return np.stack([sh, el, wr, wr + 0.5 * (wr - el)]).astype(np.float64)


def _samples(poly: np.ndarray, n: int) -> np.ndarray:
    """``[n, 2]`` points evenly spaced along the polyline ``poly [K, 2]``."""
    seg = np.linalg.norm(np.diff(poly, axis=0), axis=1)
    s = np.r_[0.0, np.cumsum(seg)]
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])], axis=1)


def _edge_distance(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance of points ``p [N, 2]`` to the closed polygon ``poly [K, 2]``'s edges."""
    from kyara.drawing.inflate import segment_distance

    return np.min([segment_distance(p, a, b) for a, b in zip(poly, np.roll(poly, -1, axis=0))], axis=0)


def crossing_share(skel, side: str, half_width: float) -> float:
    """Share of the arm (shoulder to wrist) inside the torso quadrilateral, at least ``half_width``
    pixels from its edges (step 1)."""
    from kyara.drawing.inflate import inside_polygon, torso_polygon

    p = _samples(arm_polyline(skel, side)[:3], 64)
    quad = torso_polygon(skel)
    deep = inside_polygon(p, quad) & (_edge_distance(p, quad) >= half_width)
    return float(deep.mean())


def _bone_distance(shape: tuple[int, int], poly: np.ndarray) -> np.ndarray:
    """``[H, W]`` float32: each pixel's distance to the polyline ``poly`` (pixels)."""
    import cv2

    line = np.full(shape, 255, np.uint8)
    pts = np.rint(poly * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(line, [pts], False, 0, 1, lineType=cv2.LINE_8, shift=4)
    return cv2.distanceTransform(line, cv2.DIST_L2, 5)


def colour_edges(rgb: np.ndarray) -> np.ndarray:
    """``[H, W]`` bool: where the drawing's colour changes (Canny on each channel of the lightly
    blurred image): both sides of every stroke, and the border between two fills."""
    import cv2

    blur = cv2.GaussianBlur(rgb, (3, 3), 0)
    out = np.zeros(rgb.shape[:2], dtype=bool)
    for c in range(3):
        out |= cv2.Canny(np.ascontiguousarray(blur[..., c]), 30, 80) > 0
    return out


def arm_half_width(mask: np.ndarray, edges: np.ndarray, skel, side: str) -> float:
    """The arm's half-width in pixels (step 2); ``edges``: :func:`colour_edges`."""
    import cv2

    from kyara.drawing.inflate import inside_polygon, torso_polygon

    h, w = mask.shape
    p = _samples(arm_polyline(skel, side)[:3], 64)
    ij = np.clip(np.rint(p).astype(np.int64), 0, [w - 1, h - 1])
    inside = inside_polygon(p, torso_polygon(skel))
    on = mask[ij[:, 1], ij[:, 0]]
    if edges.any() and on.sum() >= 8:
        to_edge = cv2.distanceTransform((~edges).astype(np.uint8), cv2.DIST_L2, 5)
        r = to_edge[ij[on, 1], ij[on, 0]]
        r = r[r > 0]
        if len(r) >= 8:
            return float(np.median(r))
    out = ~inside & on
    if out.sum() >= 5:
        dt = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
        return float(np.median(dt[ij[out, 1], ij[out, 0]]))
    ys = np.nonzero(mask.any(axis=1))[0]
    return 0.04 * float(ys.max() - ys.min() + 1) if len(ys) else 4.0


def arm_region(mask: np.ndarray, edges: np.ndarray, skel, side: str, half_width: float,
               stroke: float) -> tuple[np.ndarray, bool]:
    """(``[H, W]`` bool: the arm's pixels, whether lines bound them) (step 3); ``edges``:
    :func:`colour_edges`."""
    import cv2

    poly = arm_polyline(skel, side)
    dist = _bone_distance(mask.shape, poly)
    band = mask & (dist <= 1.5 * half_width + 2.0 * stroke + 1.0)
    free = (band & ~edges).astype(np.uint8)
    n, lab = cv2.connectedComponents(free, connectivity=4)
    # seeds: the bone from the shoulder to the wrist; the hand's end is a guess that may cross the
    # outline, so what it touches counts only when hand-sized (a hand parted from the wrist by a line)
    seeds = lab[(_bone_distance(mask.shape, poly[:3]) < 1.0) & (free > 0)]
    count = np.bincount(seeds, minlength=n)
    count[0] = 0
    keep = count >= max(1, 0.2 * count.sum())
    area = np.bincount(lab.ravel(), minlength=n)
    hand = np.unique(lab[(_bone_distance(mask.shape, poly[2:]) < 1.0) & (free > 0)])
    keep[hand[(hand > 0) & (area[hand] <= 4.0 * np.pi * half_width ** 2)]] = True
    region = keep[lab] & (free > 0)
    length = float(np.linalg.norm(np.diff(poly, axis=0), axis=1).sum())
    tube = 2.0 * half_width * length + np.pi * half_width ** 2
    if not region.any() or region.sum() > 1.6 * tube:  # no line bounds it: the bone's neighbourhood
        return mask & (dist <= half_width + 0.5 * stroke), False
    k = 2 * int(round(stroke)) + 1  # the arm's own outline: a stroke's width around it
    grown = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    return grown & band, True


def contact_share(region: np.ndarray, mask: np.ndarray, skel, side: str, half_width: float, stroke: float) -> float:
    """Share of the forearm's length (elbow to the hand's end) along which the arm's ``region``
    touches pixels of the figure nearest to another part (step 5)."""
    import cv2

    from kyara.drawing.inflate import PARTS, part_labels

    poly = arm_polyline(skel, side)
    k = 2 * int(round(stroke)) + 5
    ring = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    ring &= mask & ~region & (_bone_distance(mask.shape, poly[1:]) <= 1.5 * half_width + 2.0 * stroke + k)
    ys, xs = np.nonzero(ring)
    if len(ys) == 0:
        return 0.0
    own = [PARTS.index(p) for p in ARM_PARTS[side]]
    other = ~np.isin(part_labels(np.stack([xs, ys], axis=1).astype(np.float64), skel), own)
    forearm = float(np.linalg.norm(np.diff(poly[1:], axis=0), axis=1).sum())
    return float(other.sum()) / k / max(forearm, 1.0)


def hidden_torso(region: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``[H, W]`` bool: the pixels of ``region`` the body continues under (step 4): those the rest of
    the figure closes over (a morphological closing wider than the region: the arm and its outline)."""
    import cv2

    inside = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 5)
    d = 2 * int(np.ceil(inside.max())) + 5
    rest = (mask & ~region).astype(np.uint8)
    pad = d
    closed = cv2.morphologyEx(np.pad(rest, pad), cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d)))[pad:-pad, pad:-pad]
    return region & (closed > 0)


def front_layers(mask: np.ndarray, rgb: np.ndarray, skel, stroke: float = 2.0, min_share: float = MIN_SHARE,
                 min_contact: float = MIN_CONTACT) -> list[FrontLayer]:
    """The arms drawn across the torso or against the body, and their pixels (module doc). ``mask``:
    ``[H, W]`` bool, the figure; ``rgb``: ``[H, W, 3]`` uint8, the drawing; ``stroke``: its strokes'
    width in pixels."""
    out: list[FrontLayer] = []
    edges = colour_edges(rgb)
    for side in ("right", "left"):
        r = arm_half_width(mask, edges, skel, side)
        share = crossing_share(skel, side, r) if crossing_share(skel, side, 0.0) >= min_share else 0.0
        region, bounded = arm_region(mask, edges, skel, side, r, stroke)
        if region.sum() < 16:
            continue
        if share >= min_share:
            why = "across the torso"
        elif bounded and (share := contact_share(region, mask, skel, side, r, stroke)) >= min_contact:
            why = "against the body"  # only where lines part it from the body: else the joints may be wrong
        else:
            continue
        out.append(FrontLayer(f"{side}_arm", ARM_PARTS[side], region, hidden_torso(region, mask), r, share, why))
    return out
