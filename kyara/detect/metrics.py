"""Detector metrics (pure numpy): PCK normalised by the box diagonal, mask IoU, UDP L1."""

from __future__ import annotations

import numpy as np


def box_diagonal(box_or_mask) -> float:
    """The diagonal of a box ``(x0, y0, x1, y1)`` or of a bool mask's box, pixels."""
    b = np.asarray(box_or_mask)
    if b.ndim == 2:
        ys, xs = np.nonzero(b)
        if len(xs) == 0:
            return float("nan")
        b = np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float64)
    x0, y0, x1, y1 = (float(v) for v in b)
    return float(np.hypot(x1 - x0, y1 - y0))


def pck(pred: np.ndarray, gt: np.ndarray, box_or_mask, threshold: float) -> float:
    """Share of the ground-truth joints in the image (``gt[:, 2] >= 1``) whose prediction lies within
    ``threshold`` x the box diagonal; a prediction marked absent (confidence 0) counts as a miss.
    NaN when no joint is in the image."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    use = gt[:, 2] >= 1
    if not use.any():
        return float("nan")
    d = np.hypot(*(pred[use, :2] - gt[use, :2]).T)
    hit = (d <= threshold * box_diagonal(box_or_mask)) & (pred[use, 2] > 0)
    return float(hit.mean())


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Intersection over union of two bool masks (1.0 when both are empty)."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    union = np.logical_or(pred, gt).sum()
    return 1.0 if union == 0 else float(np.logical_and(pred, gt).sum() / union)


def udp_l1(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error of the UDP xyz (first three channels) over the ground-truth mask's pixels."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return float("nan")
    return float(np.abs(np.asarray(pred)[..., :3][m] - np.asarray(gt)[..., :3][m]).mean())
