"""Motion: import mocap (BVH, SMPL ``.npz``), map joints to VRM bones, retarget onto any body.

::

    from kyara.motion import load_motion, retarget
    skeleton, mocap = load_motion("walk")            # built-in, a .bvh or a .npz path
    motion = retarget(mocap, skeleton, "chibi", fps=30)   # kyara.pose.pose.Motion, 55 VRM bones

Modules: :mod:`~kyara.motion.bvh` (reader/writer, mocap types), :mod:`~kyara.motion.smpl`
(AMASS / AIST++ npz), :mod:`~kyara.motion.mapping` (name tables), :mod:`~kyara.motion.retarget`,
:mod:`~kyara.motion.builtin` (the shipped CMU clips).
"""

from __future__ import annotations

import os
from pathlib import Path

from kyara.motion.builtin import BUILTIN_MOTIONS, load_builtin
from kyara.motion.bvh import MocapMotion, MocapSkeleton, mocap_fk, read_bvh, write_bvh
from kyara.motion.retarget import RetargetConfig, resample_motion, retarget
from kyara.motion.smpl import read_smpl_npz

__all__ = [
    "BUILTIN_MOTIONS", "MocapMotion", "MocapSkeleton", "RetargetConfig", "load_builtin", "load_motion",
    "mocap_fk", "read_bvh", "read_smpl_npz", "resample_motion", "retarget", "write_bvh",
]


def load_motion(
    spec: str | os.PathLike,
    motion_scale: float | None = None,
    up: str | None = None,
    mapping: dict[str, str | None] | str | os.PathLike | None = None,
) -> tuple[MocapSkeleton, MocapMotion]:
    """A built-in name (``walk``, ``jog``, ``jump``, ``punch``, ``dance``), a ``.bvh`` or a ``.npz``.

    BVH only: ``motion_scale`` (metres per file unit) overrides the unit detection, ``up`` (``"y"``,
    ``"z"``, ``"+z"``, ...; None or ``"auto"``: detected) the up-axis detection; ``mapping`` (a
    YAML path or dict ``{joint: vrmBone}``) helps both find the legs and head. The result is
    always Y up, in metres. Pass the same ``mapping`` to :func:`retarget`.
    """
    from kyara.motion.axes import parse_up

    axis = parse_up(up)
    text = str(spec)
    if text in BUILTIN_MOTIONS:
        return load_builtin(text, motion_scale, axis)
    p = Path(text)
    suffix = p.suffix.lower()
    if suffix == ".bvh":
        return read_bvh(p, motion_scale, axis, mapping)
    if suffix == ".npz":
        if motion_scale is not None:
            raise ValueError("motion scale applies to BVH files; SMPL .npz files are in metres")
        if axis is not None:
            raise ValueError("--up applies to BVH files; SMPL .npz files are turned Y up from their own convention")
        return read_smpl_npz(p)
    raise ValueError(f"motion '{text}' is not a built-in ({', '.join(BUILTIN_MOTIONS)}) nor a .bvh/.npz file")
