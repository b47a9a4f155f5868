"""OpenPose condition images drawn the way ControlNet's annotator draws them, pixel for pixel.

The rules below are those of ControlNet 1.1's annotator as packaged in controlnet_aux
(``controlnet_aux/open_pose/util.py``: ``draw_bodypose``, ``draw_handpose``, ``draw_facepose``;
read for facts, the code here is our own):

- body: 17 limbs, each a filled convex polygon from ``cv2.ellipse2Poly`` centred at the limb
  midpoint (truncated to int), half-axes ``(int(length / 2), stickwidth=4)``, angle
  ``int(degrees(atan2(dy, dx)))``, colour ``int(0.6 * c)`` of the limb's colour; then the 18 joints
  as filled circles of radius 4 at ``(int(x), int(y))`` in the joint colour. Canvas is RGB.
- hands: 20 bones as ``cv2.line`` width 2, colour ``hsv(i / 20, 1, 1) * 255`` (floats, cv2 rounds);
  then 21 filled circles radius 4 in (0, 0, 255) (blue, RGB). A bone or point is skipped when a
  truncated coordinate is 0 (``int(x) > 0.01`` test in the annotator).
- face: filled white circles of radius 3, same ``int(x) > 0.01`` test.
- order: per person body limbs, body joints, left hand, right hand, face; people in list order.
- the annotator takes coordinates normalized by the canvas size and multiplies them back
  (``x_norm * W``); we reproduce that float path, ``(x / W) * W``, so the truncation matches.

Our one deliberate difference: a point with confidence 0 or outside the canvas
(``not 0 <= x < W`` or ``not 0 <= y < H``) is dropped — not drawn, and nor is any limb or bone
touching it. (The annotator draws whatever it is given and lets cv2 clip; it never clamps.)

Thick variant (xinsir's SDXL OpenPose ControlNets): the training labels use thicker body lines.
Sources: the model card of huggingface.co/xinsir/controlnet-openpose-sdxl-1.0 ("Replace the default
draw pose function") and github.com/xinsir6/ControlNetPlus README: ``draw_bodypose`` with
``ratio`` = 1 below 500 px of ``max(W, H)``, 2 in [500, 1000), 3 in [1000, 2000), 4 in
[2000, 3000), 5 in [3000, 4000), 6 in [4000, 5000), else 7; limb half-width
``int(4 * ratio)``, joint radius ``int(4 * ratio)``. Hands and face are unchanged.

``thick``: ``False`` = classic annotator at every size; ``True`` or ``"auto"`` (default) = xinsir's
rule, which equals the classic drawing below 500 px and is thicker from 500 px on. Pass
``thick=False`` for SD1.5 OpenPose ControlNets (lllyasviel's ``control_v11p_sd15_openpose``).
"""

from __future__ import annotations

import colorsys
import math
from typing import Literal, Sequence

import numpy as np

from kyara.pose.openpose import (
    NUM_BODY,
    OPENPOSE_BODY_LIMBS,
    OPENPOSE_HAND_EDGES,
    Keypoints2D,
    resolve_canvas,
)

# RGB colours of the 18 body points; limb i uses colour i (the first 17), drawn at 0.6.
BODY_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
LIMB_COLORS: tuple[tuple[int, int, int], ...] = tuple(
    (int(r * 0.6), int(g * 0.6), int(b * 0.6)) for r, g, b in BODY_COLORS[: len(OPENPOSE_BODY_LIMBS)]
)
# Float colours as the annotator passes them to cv2.line (cv2 rounds them to uint8 itself).
HAND_EDGE_COLORS: tuple[tuple[float, float, float], ...] = tuple(
    tuple(255.0 * c for c in colorsys.hsv_to_rgb(i / len(OPENPOSE_HAND_EDGES), 1.0, 1.0))  # type: ignore[misc]
    for i in range(len(OPENPOSE_HAND_EDGES))
)
HAND_POINT_COLOR = (0, 0, 255)
FACE_POINT_COLOR = (255, 255, 255)

STICK_WIDTH = 4  # limb half-width, pixels (classic)
BODY_RADIUS = 4  # joint radius, pixels (classic)
HAND_LINE_WIDTH = 2
HAND_RADIUS = 4
FACE_RADIUS = 3
_EPS = 0.01  # the annotator's "is this coordinate set" threshold on truncated pixels

Thick = bool | Literal["auto"]


def xinsir_ratio(width: int, height: int) -> float:
    """xinsir's thickness factor for a ``width`` x ``height`` canvas (1.0 below 500 px)."""
    side = max(width, height)
    for limit, ratio in ((500, 1.0), (1000, 2.0), (2000, 3.0), (3000, 4.0), (4000, 5.0), (5000, 6.0)):
        if side < limit:
            return ratio
    return 7.0


def _annotator_pixels(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """``[N, 2]`` pixels -> the annotator's float pixels ``(x / W) * W`` (same rounding path)."""
    wh = np.array([float(width), float(height)])
    return (xy / wh) * wh


def _kept(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """``[N]`` bool: confidence > 0 and inside the canvas (outside points are dropped, not clamped)."""
    x, y, c = points[:, 0], points[:, 1], points[:, 2]
    return (c > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)


def _draw_body(canvas: np.ndarray, body: np.ndarray, ratio: float) -> None:
    import cv2

    h, w = canvas.shape[:2]
    kept = _kept(body, w, h)
    px = _annotator_pixels(body[:, :2], w, h)  # [18, 2] float pixels
    half_width = int(STICK_WIDTH * ratio)
    radius = int(BODY_RADIUS * ratio)
    for (a, b), color in zip(OPENPOSE_BODY_LIMBS, LIMB_COLORS):
        if not (kept[a] and kept[b]):
            continue
        (xa, ya), (xb, yb) = px[a], px[b]
        center = (int((xa + xb) / 2.0), int((ya + yb) / 2.0))
        length = ((ya - yb) ** 2 + (xa - xb) ** 2) ** 0.5  # same float ops as the annotator
        angle = int(math.degrees(math.atan2(ya - yb, xa - xb)))
        polygon = cv2.ellipse2Poly(center, (int(length / 2), half_width), angle, 0, 360, 1)
        cv2.fillConvexPoly(canvas, polygon, color)
    for i in range(NUM_BODY):
        if kept[i]:
            cv2.circle(canvas, (int(px[i, 0]), int(px[i, 1])), radius, BODY_COLORS[i], thickness=-1)


def _draw_hand(canvas: np.ndarray, hand: np.ndarray) -> None:
    import cv2

    h, w = canvas.shape[:2]
    kept = _kept(hand, w, h)
    if not kept.any():
        return
    ipx = np.trunc(_annotator_pixels(hand[:, :2], w, h)).astype(np.int64)  # [21, 2] int pixels
    # The annotator also skips points whose truncated x or y is 0.
    drawn = kept & (ipx[:, 0] > _EPS) & (ipx[:, 1] > _EPS)
    for (a, b), color in zip(OPENPOSE_HAND_EDGES, HAND_EDGE_COLORS):
        if drawn[a] and drawn[b]:
            pa, pb = (int(ipx[a, 0]), int(ipx[a, 1])), (int(ipx[b, 0]), int(ipx[b, 1]))
            cv2.line(canvas, pa, pb, color, thickness=HAND_LINE_WIDTH)
    for i in np.flatnonzero(drawn):
        cv2.circle(canvas, (int(ipx[i, 0]), int(ipx[i, 1])), HAND_RADIUS, HAND_POINT_COLOR, thickness=-1)


def _draw_face(canvas: np.ndarray, face: np.ndarray) -> None:
    import cv2

    h, w = canvas.shape[:2]
    kept = _kept(face, w, h)
    ipx = np.trunc(_annotator_pixels(face[:, :2], w, h)).astype(np.int64)
    drawn = kept & (ipx[:, 0] > _EPS) & (ipx[:, 1] > _EPS)
    for i in np.flatnonzero(drawn):
        cv2.circle(canvas, (int(ipx[i, 0]), int(ipx[i, 1])), FACE_RADIUS, FACE_POINT_COLOR, thickness=-1)


def _thick_ratio(thick: Thick, width: int, height: int) -> float:
    if thick is False:
        return 1.0
    if thick is True or thick == "auto":
        return xinsir_ratio(width, height)
    raise ValueError(f"thick is {thick!r}, expected True, False or 'auto'")


def draw_openpose(
    people: Sequence[Keypoints2D],
    width: int | None = None,
    height: int | None = None,
    *,
    draw_body: bool = True,
    draw_hands: bool = True,
    draw_face: bool = True,
    thick: Thick = "auto",
) -> np.ndarray:
    """Draw ``people`` on a black canvas -> ``[H, W, 3] uint8`` RGB, ControlNet's OpenPose style.

    ``width``/``height`` default to the people's canvas; every person must be on that canvas
    (``Keypoints2D.resized`` converts). ``thick`` picks classic vs xinsir line widths (module doc).
    """
    width, height = resolve_canvas(people, width, height)
    ratio = _thick_ratio(thick, width, height)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    for person in people:
        if draw_body:
            _draw_body(canvas, person.body, ratio)
        if draw_hands:
            _draw_hand(canvas, person.hand_left)
            _draw_hand(canvas, person.hand_right)
        if draw_face:
            _draw_face(canvas, person.face)
    return canvas
