"""Option parsing shared by all commands: one name and one format per option everywhere."""

from __future__ import annotations

MAX_SIZE = 4096


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``--size``: ``512`` (square) or ``768x512`` (width x height), in pixels.

    Returns ``(width, height)``. Raises ``ValueError`` naming the value when it is malformed,
    zero, negative or above 4096.
    """
    raw = str(text).strip().lower()
    parts = raw.split("x")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--size '{text}' is not valid, expected N or WxH in pixels (e.g. 512 or 768x512)")
    w = int(parts[0])
    h = int(parts[-1])
    for v in (w, h):
        if v <= 0 or v > MAX_SIZE:
            raise ValueError(f"--size '{text}' is out of range, expected 1..{MAX_SIZE} pixels per side")
    return w, h


def parse_view(text: str) -> str | float:
    """``--view``: ``front``, ``side``, ``back``, ``right`` or an azimuth in degrees."""
    t = str(text).strip().lower()
    if t in ("front", "side", "left", "back", "right"):
        return t
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"--view '{text}' is not valid, expected front, side, back, right or an azimuth in degrees") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"--view '{text}' is not a finite angle")
    return v


def body_params(body: str, heads: float | None = None, height: float | None = None, params: list[str] | None = None):
    """Resolve ``--body PRESET`` plus overrides (``--heads``, ``--height``, ``--param name=value``)."""
    from kyara.body.params import get_preset

    p = get_preset(body)
    changes: dict[str, float] = {}
    if heads is not None:
        changes["heads_tall"] = heads
    if height is not None:
        changes["height"] = height
    for item in params or []:
        if "=" not in item:
            raise ValueError(f"--param '{item}' is not valid, expected name=value (e.g. eye_size=0.2)")
        name, value = item.split("=", 1)
        try:
            changes[name.strip().replace("-", "_")] = float(value)
        except ValueError:
            raise ValueError(f"--param '{item}' has a value that is not a number") from None
    return p.replace(**changes) if changes else p


def check_motion_arg(motion: str) -> None:
    """``--motion``: a built-in clip name or an existing .bvh/.npz file (one-line ``ValueError`` otherwise)."""
    from pathlib import Path

    from kyara.motion.builtin import BUILTIN_MOTIONS

    if motion in BUILTIN_MOTIONS:
        return
    src = Path(motion)
    if src.suffix.lower() not in (".bvh", ".npz"):
        raise ValueError(f"--motion '{motion}' is not a built-in ({', '.join(BUILTIN_MOTIONS)}) nor a .bvh/.npz file")
    if not src.is_file():
        raise ValueError(f"--motion file '{motion}' does not exist")
