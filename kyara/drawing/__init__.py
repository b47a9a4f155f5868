"""One drawing -> a rigged 3D character that moves: :func:`lift` (see :mod:`kyara.drawing.character`).

    kyara.drawing.segment     the character's mask (given, alpha, or a drawing on paper)
    kyara.drawing.skeleton    its joints (detector, medial axis, box template; humanoid check)
    kyara.drawing.axis        the mask's medial axis as a graph (what the joint search walks)
    kyara.drawing.joints_io   --joints files (AnimatedDrawings char_cfg.yaml, OpenPose JSON), skeleton.json
    kyara.drawing.inflate     the silhouette lifted to a closed mesh (Poisson height, square-root profile)
    kyara.drawing.layers      arms drawn across the torso: found, and inflated as parts of their own
    kyara.drawing.texture     colours from the drawing, its stroke width and ink colour
    kyara.drawing.rig         VRM bones, harmonic skin weights, the drawn pose baked to the T-pose
    kyara.drawing.character   lift(): the steps together -> Character (spec: DrawingInfo)
    kyara.drawing.pipeline    the files `kyara drawing` writes (VRM, GLB, motion, mask, skeleton, sheet)
    kyara.drawing.evaluate    synthetic drawings of known characters and the figures measured on them

Nothing heavy is imported with this package.
"""

from __future__ import annotations

__all__ = ["DrawingInfo", "LiftConfig", "lift"]


def __getattr__(name: str):
    if name in __all__:
        import importlib

        return getattr(importlib.import_module("kyara.drawing.character"), name)
    raise AttributeError(f"module 'kyara.drawing' has no attribute {name!r}")
