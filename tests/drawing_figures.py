"""Drawings made here for the drawing tests: a humanoid (or not) figure of known mask and joints,
outlined in ink on paper. No GL, a few milliseconds each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# COCO-18 joints of the figure on a 256 x 256 canvas (x right, y down); eyes/ears from the head
JOINTS = {
    "neck": (128, 80), "right_shoulder": (104, 86), "right_elbow": (76, 112), "right_wrist": (52, 136),
    "left_shoulder": (152, 86), "left_elbow": (180, 112), "left_wrist": (204, 136),
    "right_hip": (114, 150), "right_knee": (110, 190), "right_ankle": (106, 226),
    "left_hip": (142, 150), "left_knee": (146, 190), "left_ankle": (150, 226),
}
HEAD = ((128, 52), 22)  # centre, radius
COCO = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
        "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "right_eye", "left_eye", "right_ear", "left_ear")


@dataclass
class Figure:
    rgb: np.ndarray  # [H, W, 3] uint8
    mask: np.ndarray  # [H, W] bool: the filled shape
    keypoints: np.ndarray  # [18, 3] COCO-18 pixels, confidence 1
    drawn: np.ndarray  # [H, W] bool: the shape with its outline stroke (what a segmentation should find)


def _scaled(p, s: float, off=(0.0, 0.0)):
    return (int(round(p[0] * s + off[0])), int(round(p[1] * s + off[1])))


def figure_mask(size: int = 256, arms: int = 1, offset=(0.0, 0.0), joints: dict | None = None) -> np.ndarray:
    """The filled silhouette: head disc, torso, limbs as thick capsules. ``arms``: pairs of arms."""
    import cv2

    s = size / 256.0
    J = dict(JOINTS if joints is None else joints)
    m = np.zeros((size, size), np.uint8)
    c, r = HEAD
    cv2.circle(m, _scaled(c, s, offset), int(round(r * s)), 255, -1)
    cv2.line(m, _scaled(c, s, offset), _scaled(J["neck"], s, offset), 255, int(round(14 * s)))
    torso = np.array([_scaled(J[k], s, offset) for k in ("right_shoulder", "left_shoulder", "left_hip", "right_hip")])
    cv2.fillPoly(m, [torso], 255)
    cv2.fillPoly(m, [torso + np.array([0, 4])], 255)
    for k in range(arms):
        for side in ("right", "left"):
            a = [J[f"{side}_{n}"] for n in ("shoulder", "elbow", "wrist")]
            a = [(p[0], p[1] + (0, -26 * k, -50 * k)[i]) for i, p in enumerate(a)]  # more arms fan upwards
            for p, q in zip(a, a[1:]):
                cv2.line(m, _scaled(p, s, offset), _scaled(q, s, offset), 255, int(round(13 * s)))
            cv2.circle(m, _scaled(a[2], s, offset), int(round(9 * s)), 255, -1)
    for side in ("right", "left"):
        a = [J[f"{side}_{n}"] for n in ("hip", "knee", "ankle")]
        for p, q in zip(a, a[1:]):
            cv2.line(m, _scaled(p, s, offset), _scaled(q, s, offset), 255, int(round(17 * s)))
        foot = (a[2][0] + (-8 if side == "right" else 8), a[2][1] + 6)
        cv2.ellipse(m, _scaled(foot, s, offset), (int(round(13 * s)), int(round(7 * s))), 0, 0, 360, 255, -1)
    return m > 0


def figure_keypoints(size: int = 256, offset=(0.0, 0.0)) -> np.ndarray:
    s = size / 256.0
    (cx, cy), r = HEAD
    pts = dict(JOINTS)
    pts.update(nose=(cx, cy + 6), right_eye=(cx - 8, cy - 2), left_eye=(cx + 8, cy - 2),
               right_ear=(cx - r, cy + 2), left_ear=(cx + r, cy + 2))
    return np.array([[pts[n][0] * s + offset[0], pts[n][1] * s + offset[1], 1.0] for n in COCO])


def outline(mask: np.ndarray, stroke: int = 3) -> np.ndarray:
    """``[H, W]`` bool: the mask's outline drawn ``stroke`` px wide."""
    import cv2

    lines = np.zeros(mask.shape, np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(lines, contours, -1, 255, stroke)
    return lines > 0


def paper_drawing(mask: np.ndarray, paper=(0.95, 0.94, 0.9), ink=(0.1, 0.1, 0.35), fill=None, stroke: int = 3,
                  light: float = 0.0, seed: int = 0) -> np.ndarray:
    """``mask`` drawn on paper: its outline (and eyes) in ``ink`` ``stroke`` px wide, optionally
    filled with ``fill``; ``light`` darkens the paper towards one corner (a photo of paper)."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = mask.shape
    img = np.ones((h, w, 3)) * np.asarray(paper)[None, None, :]
    if light:
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        img *= (1.0 - light * (xx + yy) / 2.0)[..., None]
    if fill is not None:
        img[mask] = fill
    img += rng.normal(0, 0.01, img.shape)
    lines = outline(mask, stroke).astype(np.uint8) * 255
    (cx, cy), _ = HEAD
    s = w / 256.0
    for ex in (-8, 8):
        cv2.circle(lines, (int(round((cx + ex) * s)), int(round((cy - 2) * s))), max(1, int(2 * s)), 255, -1)
    ink_a = (lines > 0)[..., None]
    img = np.where(ink_a, np.asarray(ink)[None, None, :], img)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def figure(size: int = 256, **kwargs) -> Figure:
    """The humanoid figure drawn on paper (``kwargs`` go to :func:`paper_drawing`)."""
    m = figure_mask(size)
    return Figure(paper_drawing(m, **kwargs), m, figure_keypoints(size), m | outline(m, kwargs.get("stroke", 3)))


def quadruped_mask(size: int = 256) -> np.ndarray:
    """A four-legged animal from the side: body, four legs, a head and a tail."""
    import cv2

    s = size / 256.0
    m = np.zeros((size, size), np.uint8)
    cv2.ellipse(m, _scaled((128, 120), s), (int(70 * s), int(28 * s)), 0, 0, 360, 255, -1)
    for x in (76, 100, 156, 180):
        cv2.line(m, _scaled((x, 130), s), _scaled((x, 196), s), 255, int(round(14 * s)))
    cv2.line(m, _scaled((70, 105), s), _scaled((40, 78), s), 255, int(round(16 * s)))
    cv2.circle(m, _scaled((36, 70), s), int(round(18 * s)), 255, -1)
    cv2.line(m, _scaled((196, 112), s), _scaled((228, 92), s), 255, int(round(6 * s)))
    return m > 0
