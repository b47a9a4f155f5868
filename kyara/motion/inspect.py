"""What kyara reads in a BVH file (``kyara inspect motion.bvh``), and a mapping YAML to start from
(``kyara inspect motion.bvh --mapping-template``)."""

from __future__ import annotations

import os
from pathlib import Path


def _read_text(path: str | os.PathLike) -> str:
    from kyara.motion.bvh import MAX_BVH_BYTES

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"motion file '{p}' does not exist")
    if p.stat().st_size > MAX_BVH_BYTES:
        raise ValueError(f"BVH '{p}' is more than the {MAX_BVH_BYTES // 2**20} MiB this reader accepts")
    try:
        return p.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError as e:
        raise ValueError(f"BVH '{p}' is not a text file (byte {e.start} is not UTF-8)") from None


def mapping_template_for(path: str | os.PathLike, mapping=None) -> str:
    """The mapping YAML of a BVH file's hierarchy (only the hierarchy is read): every joint with
    the bone the tables (or ``mapping``) give it, a guess from its name, or null."""
    from kyara.motion.bvh import _parse_header
    from kyara.motion.mapping import mapping_template

    h = _parse_header(_read_text(path).split("\n"), str(path))
    return mapping_template(h.names, h.parents, mapping)


def bvh_report(path: str | os.PathLike, mapping=None, up: str | None = None) -> list[str]:
    """Report lines: joints, frames, units, up axis (and how it was found), whether the zero pose
    stands, which table (or your mapping) names the bones, and what retargeting still needs."""
    from kyara.body.skeleton import BONE_INDEX, BONES
    from kyara.motion.alignment import zero_pose_is_upright
    from kyara.motion.axes import detect_up, orient_up, parse_up
    from kyara.motion.bvh import parse_bvh
    from kyara.motion.mapping import REQUIRED_BONES, guess_mapping, mapping_indices, resolve_mapping
    from kyara.motion.units import unit_name

    axis = parse_up(up)
    skel, motion = parse_bvh(_read_text(path), str(path), None, "+y", mapping)  # file axes, for the report
    names = skel.names
    resolved = resolve_mapping(names, mapping, required=())
    index = mapping_indices(names, resolved)
    how = "given with --up"
    if axis is None:
        axis, how = detect_up(skel, motion, index)
        how = {"animation": "detected from the animation", "zero pose": "detected from the zero pose",
               "default": "not detectable, Y assumed"}[how]
    skel, motion = orient_up(skel, motion, axis, resolved)
    table, _ = guess_mapping(names)
    source = "your mapping" if mapping is not None else (f"the {table} table" if table else "no table")
    C = sum(len(c) for c in skel.channels)
    lines = [
        f"file: {Path(path).name}",
        f"joints: {skel.num_joints} ({len(skel.end_sites)} end sites), {C} channels per frame",
        f"frames: {motion.num_frames} at {motion.fps:g} fps ({(motion.num_frames - 1) / motion.fps:.2f} s)",
        f"units: {unit_name(skel.scale)} ({skel.scale:g} m per unit, detected)",
        f"up axis: {axis} ({how})",
        "zero pose: " + ("stands (the rest orientation comes from it)" if zero_pose_is_upright(skel.rest_joints, index)
                         else "does not stand (the rest orientation is read from the animation)"),
        f"bone names matched by: {source}",
        f"humanoid bones mapped: {len(resolved)}/{len(BONES)}",
        "  " + ", ".join(f"{j} -> {b}" for j, b in sorted(resolved.items(), key=lambda jb: BONE_INDEX[jb[1]])),
    ]
    unplaced = [n for n in names if n not in resolved]
    lines.append("  joints without a bone (their rotation folds into the next mapped joint): "
                 + (", ".join(unplaced) or "none"))
    missing = [b for b in REQUIRED_BONES if b not in resolved.values()]
    if missing:
        lines.append(f"retargeting: not possible yet, no joint for {', '.join(missing)}; "
                     "pass --mapping FILE.yaml (start from --mapping-template)")
    else:
        lines.append("retargeting: ready")
    return lines
