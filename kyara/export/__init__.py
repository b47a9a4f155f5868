"""Export a character: rigged GLB, VRM 1.0 / 0.x avatars, VRMA animations, printable STL, OBJ, PLY.

One entry point::

    from kyara.export import ExportOptions, export_character
    export_character(character, "vrm", "out/avatar.vrm", ExportOptions(authors=("me",)))
    export_character(character, "stl", "out/avatar_print.stl", ExportOptions(pose="jog"))

Modules: :mod:`~kyara.export.gltf` (GLB writer and reader), :mod:`~kyara.export.vrm` (VRM 1.0,
VRMA), :mod:`~kyara.export.vrm0` (VRM 0.x), :mod:`~kyara.export.stl` (printable solid),
:mod:`~kyara.export.simple` (OBJ + MTL, PLY). Every file is written atomically: a failed export
leaves no partial file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from kyara.export.stl import PrintOptions
from kyara.export.vrm import VrmLicense, parse_license

__all__ = ["FORMATS", "ExportOptions", "ExportResult", "PrintOptions", "VrmLicense", "export_character",
           "parse_license", "resolve_motion"]

FORMATS: dict[str, tuple[str, ...]] = {
    "glb": (".glb",), "vrm": (".vrm",), "vrm0": (".vrm",), "vrma": (".vrma",),
    "stl": (".stl",), "obj": (".obj",), "ply": (".ply",),
}
POSED_FORMATS = ("stl", "obj", "ply")


@dataclass(frozen=True)
class ExportOptions:
    """What an export may need; each format reads only its own fields."""

    name: str = "kyara avatar"  # VRM meta name / title
    authors: tuple[str, ...] = ("kyara",)  # VRM meta authors
    version: str = "1.0"  # VRM meta version of the avatar
    license: VrmLicense = field(default_factory=VrmLicense)  # VRM licence fields (safe defaults)
    pose: object | None = None  # stl/obj/ply: a pose name (kyara.pose.presets) or a Pose
    motion: object | None = None  # glb (animation), vrma: a Motion, a motion name/file, or a loaded (skeleton, mocap)
    fps: float | None = None  # resample a named motion to this rate (default: its own)
    motion_up: str | None = None  # the BVH file's up axis ("y", "z", ...; None: detected)
    motion_mapping: object | None = None  # YAML path or dict {source joint: vrmBone} for the motion's rig
    print: PrintOptions = field(default_factory=PrintOptions)  # stl: height, base, minimum wall
    paint: object | None = None  # glb, vrm: a kyara.export.atlas.PaintedSkin (a painted, UV-split character)


@dataclass
class ExportResult:
    path: Path
    format: str
    bytes: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    extra_paths: list[Path] = field(default_factory=list)  # e.g. the OBJ's .mtl


def check_format(fmt: str) -> str:
    f = str(fmt).strip().lower()
    if f not in FORMATS:
        raise ValueError(f"format '{fmt}' is unknown, expected one of {', '.join(FORMATS)}")
    return f


def resolve_motion(motion, character, fps: float | None = None, up: str | None = None, mapping=None):
    """A :class:`~kyara.pose.pose.Motion` as is, or a motion name / .bvh / .npz (or an already
    loaded ``(skeleton, mocap)`` pair) retargeted onto the character's body; ``up`` and
    ``mapping`` as in :func:`kyara.motion.load_motion`."""
    from kyara.pose.pose import Motion

    if motion is None or isinstance(motion, Motion):
        return motion
    from kyara.motion import load_motion, retarget

    skeleton, mocap = motion if isinstance(motion, tuple) else load_motion(str(motion), up=up, mapping=mapping)
    return retarget(mocap, skeleton, character.body.params, mapping=mapping, fps=fps)


def resolve_pose(pose, character):
    from kyara.pose.pose import Pose

    if pose is None or isinstance(pose, Pose):
        return pose
    from kyara.pose.presets import get_pose

    return get_pose(str(pose), character.body.params)


def check_export_request(fmt: str, path: str | os.PathLike, options: ExportOptions) -> tuple[str, Path]:
    """Validate everything that needs no character (the CLI calls this before building one)."""
    from kyara.fileio import check_output_path

    f = check_format(fmt)
    p = check_output_path(path, FORMATS[f])
    if options.pose is not None and f not in POSED_FORMATS:
        raise ValueError(f"--pose applies to {', '.join(POSED_FORMATS)}; format '{f}' is written in the rest T-pose")
    if f == "vrma" and options.motion is None:
        raise ValueError("format 'vrma' needs a motion (--motion walk, a .bvh or a .npz)")
    if options.motion is not None and f not in ("glb", "vrma"):
        raise ValueError(f"--motion applies to glb and vrma, not to '{f}' (VRM animations go in a separate .vrma)")
    if options.paint is not None and f not in ("glb", "vrm"):
        raise ValueError(f"a painted texture applies to glb and vrm, not to '{f}'")
    if f == "obj":
        check_output_path(p.with_suffix(".mtl"))
    return f, p


def export_character(character, format: str, path: str | os.PathLike, options: ExportOptions | None = None) -> ExportResult:
    """Write ``character`` (:class:`kyara.character.model.Character`) to ``path`` as ``format``
    (one of :data:`FORMATS`). Raises ``ValueError`` naming the bad value; writes nothing then."""
    from kyara.fileio import atomic_path, write_bytes_atomic

    opt = options or ExportOptions()
    fmt, p = check_export_request(format, path, opt)
    t0 = time.perf_counter()
    warnings: list[str] = []
    stats: dict = {}
    extra: list[Path] = []
    if fmt == "glb":
        from kyara.export.gltf import character_glb

        data = character_glb(character, resolve_motion(opt.motion, character, opt.fps, opt.motion_up, opt.motion_mapping),
                             paint=opt.paint)
    elif fmt == "vrm":
        from kyara.export.vrm import vrm_bytes

        data, warnings = vrm_bytes(character, opt.name, opt.authors, opt.license, opt.version, opt.paint)
    elif fmt == "vrm0":
        from kyara.export.vrm0 import vrm0_bytes

        data, warnings = vrm0_bytes(character, opt.name, opt.authors, opt.license, opt.version)
    elif fmt == "vrma":
        from kyara.export.vrm import vrma_bytes

        motion = resolve_motion(opt.motion, character, opt.fps, opt.motion_up, opt.motion_mapping)
        data = vrma_bytes(motion, character.body.rest_joints)
        stats = {"frames": motion.num_frames, "fps": motion.fps}
    elif fmt == "stl":
        from kyara.export.stl import printable_solid, stl_bytes

        res = printable_solid(character, resolve_pose(opt.pose, character), opt.print)
        data = stl_bytes(res.vertices, res.faces)
        warnings = list(res.warnings)
        lo, hi = res.vertices.min(axis=0), res.vertices.max(axis=0)
        stats = {"triangles": int(len(res.faces)), "volume_mm3": res.volume_mm3, "size_mm": (hi - lo).tolist(),
                 "thickened": dict(res.thickened), "scale_mm_per_m": res.scale,
                 "components": res.components, "struts": len(res.struts)}
        if res.thickened:
            parts = sorted({k.split("#")[0] for k in res.thickened})
            warnings.append(f"thickened to a {opt.print.min_wall_mm:g} mm wall: {len(res.thickened)} shells of "
                            f"{', '.join(parts)} (largest push {max(res.thickened.values()):.2f} mm)")
        if res.struts:
            warnings.append(f"{len(res.struts)} floating pieces joined with struts")
    elif fmt == "ply":
        from kyara.export.simple import ply_bytes

        data = ply_bytes(character, resolve_pose(opt.pose, character))
    else:  # obj + mtl, both renamed into place only when both are written
        from kyara.export.simple import obj_text

        mtl_path = p.with_suffix(".mtl")
        obj, mtl = obj_text(character, mtl_path.name, resolve_pose(opt.pose, character))
        with atomic_path(mtl_path) as tmp_mtl, atomic_path(p) as tmp_obj:
            tmp_mtl.write_text(mtl, encoding="utf-8")
            tmp_obj.write_text(obj, encoding="utf-8")
        extra = [mtl_path]
        data = None
    if data is not None:
        write_bytes_atomic(p, data)
    return ExportResult(p, fmt, p.stat().st_size, time.perf_counter() - t0, warnings, stats, extra)
