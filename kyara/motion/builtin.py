"""Built-in motions shipped with kyara: five CMU mocap clips (BVH, see ``kyara/data/motions``).

=========  ==========================  ==============================================
name       file (CMU subject_trial)    content
=========  ==========================  ==============================================
walk       walk.bvh (02_01)            walk, ~2.9 s
jog        jog.bvh (02_03)             run/jog, ~1.4 s
jump       jump.bvh (02_04)            jump, balance, ~4.0 s
punch      punch.bvh (02_05)           punch, strike (martial arts), ~15.5 s
dance      dance.bvh (05_03)           modern dance, ~3.6 s
=========  ==========================  ==============================================

All at 120 fps in CMU units (1/0.45 inch, scaled to metres on load). Frame 1 of each file is the
conversion's reference pose, not motion, so a built-in plays the whole clip minus frame 1.
Licence: CMU Graphics Lab Motion Capture Database, free to use (see the folder's README.md).
"""

from __future__ import annotations

from importlib import resources

from kyara.motion.bvh import MocapMotion, MocapSkeleton, parse_bvh

BUILTIN_MOTIONS: tuple[str, ...] = ("walk", "jog", "jump", "punch", "dance")


def builtin_text(name: str) -> str:
    """The BVH text of built-in motion ``name``."""
    if name not in BUILTIN_MOTIONS:
        raise ValueError(f"unknown built-in motion '{name}', expected one of {', '.join(BUILTIN_MOTIONS)} or a .bvh/.npz file")
    return resources.files("kyara").joinpath("data", "motions", f"{name}.bvh").read_text(encoding="utf-8")


def load_builtin(name: str, motion_scale: float | None = None, up: str | None = None) -> tuple[MocapSkeleton, MocapMotion]:
    """Skeleton and motion (metres, 120 fps, Y up) of built-in ``name``, without CMU's reference
    frame 1. ``up`` overrides the up-axis detection (the clips are Y up)."""
    skeleton, motion = parse_bvh(builtin_text(name), f"<builtin {name}>", motion_scale, up)
    return skeleton, motion.slice(1, None)
