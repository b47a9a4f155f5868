"""What a detector returns: :class:`Detection` (keypoints, mask, optional UDP, hands, face)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKENDS = ("auto", "mediapipe", "kyara")


@dataclass
class Detection:
    """One character found in an image of ``width`` x ``height`` pixels.

    ``keypoints``: float32 [18, 3], COCO-18 in OpenPose order (nose, neck, r-shoulder, ...), rows
    ``(x, y, confidence)`` in pixels of the input image (x right, y down); an absent joint is
    ``(0, 0, 0)``. ``mask``: float32 [H, W] in [0, 1], the probability of "character".
    ``udp``: float32 [H, W, 4] (CoNR's format: A-pose xyz in [0, 1] + occupancy) or ``None``.
    ``hands``: float32 [2, 21, 3] (left, right) or ``None``; ``face``: float32 [70, 3] or ``None``.
    ``backend``: the backend that produced it (``"kyara"`` or ``"mediapipe"``); ``reason``: why
    ``auto`` chose it ("" when a backend was asked for by name).
    """

    keypoints: np.ndarray
    mask: np.ndarray
    width: int
    height: int
    backend: str
    udp: np.ndarray | None = None
    hands: np.ndarray | None = None
    face: np.ndarray | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if self.keypoints.shape != (18, 3):
            raise ValueError(f"keypoints have shape {self.keypoints.shape}, expected (18, 3)")
        self.mask = np.asarray(self.mask, dtype=np.float32)
        if self.mask.shape != (self.height, self.width):
            raise ValueError(f"mask has shape {self.mask.shape}, expected ({self.height}, {self.width})")
        if self.udp is not None and np.shape(self.udp) != (self.height, self.width, 4):
            raise ValueError(f"udp has shape {np.shape(self.udp)}, expected ({self.height}, {self.width}, 4)")

    def present(self, threshold: float = 0.3) -> np.ndarray:
        """bool [18]: the joints whose confidence reaches ``threshold``."""
        return self.keypoints[:, 2] >= threshold

    def to_keypoints2d(self, threshold: float = 0.3):
        """The detection as the project's OpenPose person (:class:`kyara.pose.openpose.Keypoints2D`):
        joints under ``threshold`` become missing ``(0, 0, 0)``."""
        from kyara.pose.openpose import Keypoints2D

        def keep(a: np.ndarray | None, n: int) -> np.ndarray:
            if a is None:
                return np.zeros((n, 3))
            a = np.asarray(a, dtype=np.float64)
            return np.where(a[:, 2:3] >= threshold, a, 0.0)

        hands = self.hands if self.hands is not None else None
        return Keypoints2D(body=keep(self.keypoints, 18),
                           hand_left=keep(None if hands is None else hands[0], 21),
                           hand_right=keep(None if hands is None else hands[1], 21),
                           face=keep(self.face, 70), width=self.width, height=self.height)
