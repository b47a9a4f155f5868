"""Units of a mocap skeleton: metres per file unit, detected from the legs (or the height).

BVH files carry no unit. Exporters write metres (Blender, many game tools), centimetres
(Rokoko, Mixamo, MotionBuilder), inches, millimetres, or CMU's 1/0.45 inch (the cgspeed
conversion). A human leg (hip joint -> ankle joint) is about 0.85 m whatever the unit, so the unit
in :data:`UNIT_SCALES` that makes it closest to that length is the file's unit.
"""

from __future__ import annotations

import numpy as np

# metres per file unit for the unit systems seen in the wild; CMU's cgspeed conversion uses 1/0.45 inch
UNIT_SCALES: dict[str, float] = {"m": 1.0, "dm": 0.1, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
HUMAN_LEG_M = 0.85  # hip joint -> ankle joint chain length of an adult, metres
HUMAN_HEIGHT_M = 1.7


def unit_name(scale: float) -> str:
    """The name of ``scale`` in :data:`UNIT_SCALES` (``"cm"``), or ``"<scale> m"`` for another value."""
    for name, s in UNIT_SCALES.items():
        if abs(s - scale) <= 1e-9 * s:
            return name
    return f"{scale:g} m"


def _leg_chain_length(names, parents, offsets, mapping: dict[str, str] | None = None) -> float | None:
    if mapping is None:
        from kyara.motion.mapping import guess_mapping

        _, mapping = guess_mapping(list(names))
    joint = {b: list(names).index(j) for j, b in mapping.items() if j in names}
    lengths = []
    for side in ("left", "right"):
        top, foot = joint.get(f"{side}UpperLeg"), joint.get(f"{side}Foot")
        if top is None or foot is None:
            continue
        total, j = 0.0, foot
        while j != top and j >= 0:
            total += float(np.linalg.norm(offsets[j]))
            j = int(parents[j])
        if j == top and total > 0:
            lengths.append(total)
    return float(np.mean(lengths)) if lengths else None


def detect_scale(names, parents: np.ndarray, offsets: np.ndarray, end_sites: dict | None = None,
                 mapping: dict[str, str] | None = None) -> float:
    """Metres per file unit: the unit in :data:`UNIT_SCALES` that makes the legs human-sized.

    Uses the hip -> ankle chain length (~0.85 m for an adult; CMU's 1/0.45 inch units give ~15
    units), measured along the offsets, so any up axis and any zero pose give the same answer.
    Without recognizable legs (``mapping``: joint -> VRM bone, default: the name tables), the
    skeleton's largest extent against 1.7 m.
    """
    leg = _leg_chain_length(list(names), parents, offsets, mapping)
    if leg is not None:
        measured, expected = leg, HUMAN_LEG_M
    else:
        pts = np.zeros_like(offsets)
        for j, p in enumerate(parents):
            pts[j] = offsets[j] + (pts[p] if p >= 0 else 0.0)
        extra = [pts[j] + np.asarray(o) for j, o in (end_sites or {}).items()]
        allp = np.vstack([pts] + extra) if extra else pts
        measured, expected = float(np.ptp(allp, axis=0).max()), HUMAN_HEIGHT_M
    if not (np.isfinite(measured) and measured > 0):
        return 1.0
    scales = np.array(list(UNIT_SCALES.values()))
    return float(scales[np.argmin(np.abs(np.log(measured * scales / expected)))])
