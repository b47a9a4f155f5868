"""BVH motion files: our own reader and writer, the mocap skeleton/motion types, unit detection.

Why our own parser and not ``bvhio``: bvhio builds one Python object per joint per frame and
converts each with per-object math, which takes seconds on a 10,000-frame clip (see
``benchmarks/motion.py``), while the MOTION block is just a numeric table that numpy reads in one
vectorized call. We also need errors that name the line of a malformed file (truncated file,
wrong value count, NaN), which a general library does not report.

Conventions. A BVH joint's ``OFFSET`` is its rest position in the parent's frame; the rest
("zero") pose has identity orientation on every joint. Rotation channels compose in file order
as intrinsic rotations (``Zrotation Yrotation Xrotation`` means ``R = Rz @ Ry @ Rx``); position
channels replace the offset (root: position in the world). Everything returned is in metres:
file units times ``scale`` (detected from the leg length, or ``motion_scale``). The reference
parser :func:`parse_motion_block_reference` reads line by line and is used to name the bad line.

Hostile input. Every problem is a one-line ``ValueError`` naming the file line. Nothing is
allocated from a size the file *declares* (``Frames:``, ``CHANNELS n``) before the data is seen
to be there; values must lie within :data:`VALUE_LIMIT` (file units, degrees) so that no later
product overflows; the file size, joint count and frame time are bounded (:data:`MAX_BVH_BYTES`,
:data:`MAX_JOINTS`, :data:`FRAME_TIME_RANGE`).
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kyara.fileio import atomic_path
from kyara.motion.units import HUMAN_HEIGHT_M, HUMAN_LEG_M, UNIT_SCALES, detect_scale  # noqa: F401 (re-exported)
from kyara.pose.lbs import forward_kinematics
from kyara.pose.rotations import matrix_to_euler, quat_identity, quat_mul, quat_to_matrix

_AXIS = {"x": 0, "y": 1, "z": 2}
_POS_CHANNELS = ("xposition", "yposition", "zposition")
_ROT_CHANNELS = ("xrotation", "yrotation", "zrotation")

MAX_BVH_BYTES = 512 * 1024 * 1024  # larger files are refused before they are read
MAX_JOINTS = 2048  # more joints than any humanoid rig (with fingers and face) has
VALUE_LIMIT = 1.0e6  # |offset|, |position| (file units) and |angle| (degrees) above this are refused
FRAME_TIME_RANGE = (1.0e-4, 60.0)  # seconds per frame: 10,000 fps .. one frame a minute


@dataclass
class MocapSkeleton:
    """A source skeleton (BVH hierarchy, or SMPL's kinematic tree) in metres."""

    names: tuple[str, ...]
    parents: np.ndarray  # [J] int64, parents first, -1 for the root
    offsets: np.ndarray  # [J, 3] metres, rest offset from the parent (root: rest position)
    channels: tuple[tuple[str, ...], ...]  # [J] BVH channel names per joint, file order
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)  # joint -> [3] end offset, metres
    scale: float = 1.0  # metres per file unit; write_bvh divides by it
    up: str = "+y"  # the file's up axis; the arrays here are always Y up (turned at load, kyara.motion.axes)

    def __post_init__(self) -> None:
        self.parents = np.asarray(self.parents, dtype=np.int64)
        self.offsets = np.asarray(self.offsets, dtype=np.float64)
        J = len(self.names)
        if self.parents.shape != (J,) or self.offsets.shape != (J, 3) or len(self.channels) != J:
            raise ValueError(f"skeleton arrays disagree: {J} names, parents {self.parents.shape}, offsets {self.offsets.shape}")
        if np.any(self.parents >= np.arange(J)):
            raise ValueError("skeleton joints are not in parents-first order")

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def rest_joints(self) -> np.ndarray:
        """``[J, 3]`` world joint positions in the zero pose, metres."""
        out = np.zeros_like(self.offsets)
        for j, p in enumerate(self.parents):
            out[j] = self.offsets[j] + (out[p] if p >= 0 else 0.0)
        return out

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"skeleton has no joint '{name}'") from None


@dataclass
class MocapMotion:
    """Per-frame local rotations (relative to the zero pose) and root translation, metres."""

    rotations: np.ndarray  # [F, J, 4] quaternions (x, y, z, w), parent frame
    root_translation: np.ndarray  # [F, 3] metres, root position minus its rest position
    fps: float
    joint_offsets: np.ndarray | None = None  # [F, J, 3] metres, only when non-root joints have position channels

    def __post_init__(self) -> None:
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        self.root_translation = np.asarray(self.root_translation, dtype=np.float64)
        F = self.rotations.shape[0]
        if F == 0:
            raise ValueError("motion has zero frames, expected at least one")
        if self.root_translation.shape != (F, 3):
            raise ValueError(f"root translation has shape {self.root_translation.shape}, expected ({F}, 3)")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"motion fps {self.fps} is not valid, expected a positive number")

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def slice(self, start: int | None = None, stop: int | None = None) -> "MocapMotion":
        sl = slice(start, stop)
        offs = None if self.joint_offsets is None else self.joint_offsets[sl]
        return MocapMotion(self.rotations[sl], self.root_translation[sl], self.fps, offs)


def mocap_fk(skeleton: MocapSkeleton, motion: MocapMotion) -> tuple[np.ndarray, np.ndarray]:
    """World rotations ``[F, J, 3, 3]`` and positions ``[F, J, 3]`` (metres) of every frame."""
    rot = quat_to_matrix(motion.rotations)
    if motion.joint_offsets is None:
        return forward_kinematics(rot, motion.root_translation, skeleton.rest_joints, skeleton.parents)
    # per-frame offsets (position channels on non-root joints): the same recursion, offsets vary
    F, J = rot.shape[:2]
    g_rot = np.empty_like(rot)
    g_pos = np.empty((F, J, 3))
    for j, p in enumerate(skeleton.parents):
        if p < 0:
            g_rot[:, j] = rot[:, j]
            g_pos[:, j] = skeleton.offsets[j] + motion.root_translation
        else:
            g_rot[:, j] = g_rot[:, p] @ rot[:, j]
            g_pos[:, j] = g_pos[:, p] + np.einsum("fik,fk->fi", g_rot[:, p], motion.joint_offsets[:, j])
    return g_rot, g_pos


# --------------------------------------------------------------------------------------------
# reading


@dataclass
class _Header:
    names: list[str]
    parents: list[int]
    offsets: list[list[float]]
    channels: list[tuple[str, ...]]
    end_sites: dict[int, list[float]]
    frames: int
    frame_time: float
    data_line: int  # 1-based line number of the first frame line


def _numbers(tokens: list[str], n: int, where: str, what: str) -> list[float]:
    if len(tokens) != n:
        raise ValueError(f"{where}: {what} has {len(tokens)} values, expected {n}")
    try:
        vals = [float(t) for t in tokens]
    except ValueError:
        raise ValueError(f"{where}: {what} has a value that is not a number ({' '.join(tokens)})") from None
    if not all(np.isfinite(vals)):
        raise ValueError(f"{where}: {what} has a non-finite value ({' '.join(tokens)}), expected finite numbers")
    if max(abs(v) for v in vals) > VALUE_LIMIT:
        raise ValueError(f"{where}: {what} value out of range ({' '.join(tokens)}), expected |v| <= {VALUE_LIMIT:g}")
    return vals


def _parse_header(lines: list[str], src: str) -> _Header:
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, list[float]] = {}
    stack: list[int] = []  # open blocks: joint index, or -2 for an End Site
    pending: int | None = None  # joint (or -2) whose '{' has not been seen yet
    i = 0
    n = len(lines)
    while i < n and not lines[i].strip():
        i += 1
    if i >= n:
        raise ValueError(f"{src}: empty file, expected a BVH file starting with 'HIERARCHY'")
    if lines[i].split()[0].upper() != "HIERARCHY":
        raise ValueError(f"{src} line {i + 1}: expected 'HIERARCHY', got '{lines[i].strip()[:40] if i < n else 'end of file'}'")
    i += 1
    while i < n:
        line = lines[i].strip()
        where = f"{src} line {i + 1}"
        i += 1
        if not line:
            continue
        parts = line.split()
        key = parts[0].upper()
        if key in ("ROOT", "JOINT"):
            if key == "ROOT" and names:
                raise ValueError(f"{where}: second ROOT, expected one skeleton per file")
            if key == "JOINT" and (not stack or stack[-1] < 0):
                raise ValueError(f"{where}: JOINT outside a joint block")
            name = line[len(parts[0]):].strip().rstrip("{").strip()
            if not name:
                raise ValueError(f"{where}: {parts[0]} without a name")
            if name in names:
                raise ValueError(f"{where}: joint name '{name}' used twice, expected unique names")
            if len(names) >= MAX_JOINTS:
                raise ValueError(f"{where}: more than {MAX_JOINTS} joints, expected a humanoid rig")
            parents.append(stack[-1] if stack else -1)
            names.append(name)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            pending = len(names) - 1
            if line.endswith("{"):
                stack.append(pending)
                pending = None
        elif key == "END":
            if not stack or stack[-1] < 0:
                raise ValueError(f"{where}: End Site outside a joint block")
            end_sites[stack[-1]] = [0.0, 0.0, 0.0]
            pending = -2
            if line.endswith("{"):
                stack.append(-2 - stack[-1])
                pending = None
        elif key == "{":
            if pending is None:
                raise ValueError(f"{where}: '{{' without a JOINT or End Site before it")
            stack.append(pending if pending >= 0 else -2 - stack[-1])
            pending = None
        elif key == "}":
            if not stack:
                raise ValueError(f"{where}: '}}' closes nothing")
            stack.pop()
        elif key == "OFFSET":
            if not stack:
                raise ValueError(f"{where}: OFFSET outside a joint block")
            vals = _numbers(parts[1:], 3, where, "OFFSET")
            if stack[-1] >= 0:
                offsets[stack[-1]] = vals
            else:
                end_sites[-2 - stack[-1]] = vals
        elif key == "CHANNELS":
            if not stack or stack[-1] < 0:
                raise ValueError(f"{where}: CHANNELS outside a joint block")
            try:
                count = int(parts[1])
            except (IndexError, ValueError):
                raise ValueError(f"{where}: CHANNELS needs a count, got '{line}'") from None
            chans = tuple(parts[2:])
            if len(chans) != count:
                raise ValueError(f"{where}: CHANNELS says {count} but lists {len(chans)} channels")
            bad = [c for c in chans if c.lower() not in _POS_CHANNELS + _ROT_CHANNELS]
            if bad:
                raise ValueError(f"{where}: unknown channel '{bad[0]}', expected X/Y/Z position or rotation")
            if len({c.lower() for c in chans}) != len(chans):
                raise ValueError(f"{where}: a channel is listed twice ({' '.join(chans)})")
            channels[stack[-1]] = chans
        elif key == "MOTION":
            if stack or pending is not None:
                raise ValueError(f"{where}: MOTION before the hierarchy is closed (missing '}}')")
            break
        else:
            raise ValueError(f"{where}: unexpected '{parts[0]}' in the hierarchy")
    else:
        raise ValueError(f"{src}: truncated file, no MOTION section after line {n}")
    if not names:
        raise ValueError(f"{src}: the hierarchy has no ROOT joint")
    # Frames: N / Frame Time: t
    header_vals: list[tuple[str, int]] = []  # (value, 1-based line)
    while i < n and len(header_vals) < 2:
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        label, _, value = line.partition(":")
        expect = ("frames", "frame time")[len(header_vals)]
        if label.strip().lower() != expect or not value.strip():
            raise ValueError(f"{src} line {i}: expected '{expect.title()}: <number>', got '{line[:40]}'")
        header_vals.append((value.strip(), i))
    if len(header_vals) < 2:
        raise ValueError(f"{src}: truncated file, MOTION section ends at line {n} before 'Frame Time:'")
    (frames_text, frames_line), (time_text, time_line) = header_vals
    try:
        frames = int(frames_text)
    except ValueError:
        raise ValueError(f"{src} line {frames_line}: 'Frames: {frames_text}' is not a whole number") from None
    try:
        frame_time = float(time_text)
    except ValueError:
        raise ValueError(f"{src} line {time_line}: 'Frame Time: {time_text}' is not a number") from None
    if frames <= 0:
        raise ValueError(f"{src} line {frames_line}: motion has {frames} frames, expected at least one")
    lo, hi = FRAME_TIME_RANGE
    if not (np.isfinite(frame_time) and lo <= frame_time <= hi):
        raise ValueError(f"{src} line {time_line}: Frame Time {time_text} is not valid, expected seconds per frame "
                         f"in {lo:g}..{hi:g}")
    return _Header(names, parents, offsets, channels, end_sites, frames, frame_time, i + 1)


def parse_motion_block_reference(lines: list[str], first_line: int, frames: int, num_channels: int, src: str) -> np.ndarray:
    """Slow, obvious reference: parse frame lines one by one into ``[frames, C]``.

    ``first_line`` is the 1-based file line of ``lines[0]``. Blank lines are skipped. Raises
    ``ValueError`` naming the file line of the first problem. Rows are collected as they are
    read: the declared ``frames`` bounds the loop, it never sizes an allocation.
    """
    rows: list[list[float]] = []
    last = first_line - 1
    for k, line in enumerate(lines):
        tokens = line.split()
        if not tokens:
            continue
        lineno = first_line + k
        last = lineno
        row = len(rows)
        if row >= frames:
            raise ValueError(f"{src} line {lineno}: more frame lines than 'Frames: {frames}'")
        if len(tokens) != num_channels:
            raise ValueError(f"{src} line {lineno}: frame {row + 1} has {len(tokens)} values, expected {num_channels}")
        try:
            vals = [float(t) for t in tokens]
        except ValueError:
            bad = next(t for t in tokens if not _is_float(t))
            raise ValueError(f"{src} line {lineno}: frame {row + 1} value '{bad[:40]}' is not a number") from None
        if not np.all(np.isfinite(vals)):
            bad = next(t for t, v in zip(tokens, vals) if not np.isfinite(v))
            raise ValueError(f"{src} line {lineno}: frame {row + 1} has a non-finite value '{bad}', expected finite numbers")
        if max(abs(v) for v in vals) > VALUE_LIMIT:
            bad = next(t for t, v in zip(tokens, vals) if abs(v) > VALUE_LIMIT)
            raise ValueError(f"{src} line {lineno}: frame {row + 1} value {bad} is out of range, "
                             f"expected |v| <= {VALUE_LIMIT:g} (file units, degrees)")
        rows.append(vals)
    if len(rows) < frames:
        raise ValueError(f"{src} line {last}: truncated file, {len(rows)} of {frames} frame lines present")
    return np.array(rows, dtype=np.float64).reshape(frames, num_channels)


def _is_float(t: str) -> bool:
    try:
        float(t)
        return True
    except ValueError:
        return False


def _parse_motion_block(text: str, first_line: int, frames: int, num_channels: int, src: str) -> np.ndarray:
    """Fast path: one ``np.loadtxt`` over the whole block; on any doubt, the reference names the line."""
    if num_channels == 0:
        raise ValueError(f"{src}: the hierarchy declares no CHANNELS, expected at least the root's rotation")
    lines = text.split("\n")
    if sum(1 for line in lines if line.strip()) != frames:  # too few or too many: the reference names the line
        return parse_motion_block_reference(lines, first_line, frames, num_channels, src)
    try:
        with warnings.catch_warnings():  # loadtxt warns on an empty block: that is reported below instead
            warnings.simplefilter("ignore")
            data = np.loadtxt(io.StringIO(text), dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        data = None
    if (data is None or data.shape != (frames, num_channels) or not np.all(np.isfinite(data))
            or np.abs(data).max() > VALUE_LIMIT):
        # the reference raises with the line number (it accepts everything the fast path accepts)
        return parse_motion_block_reference(lines, first_line, frames, num_channels, src)
    return data


def _rotation_axes(chans: tuple[str, ...]) -> str:
    return "".join(c[0].lower() for c in chans if c.lower() in _ROT_CHANNELS)


def _axis_quat(angle: np.ndarray, axis: str) -> np.ndarray:
    q = np.zeros(angle.shape + (4,))
    q[..., _AXIS[axis]] = np.sin(0.5 * angle)
    q[..., 3] = np.cos(0.5 * angle)
    return q


def channels_to_motion(
    values: np.ndarray,  # [F, C] channel values in file units / degrees
    skeleton: MocapSkeleton,
    fps: float,
) -> MocapMotion:
    """Turn the MOTION table (columns in hierarchy order) into local quaternions + root
    translation (metres), vectorized: one quaternion product per distinct rotation order."""
    F = values.shape[0]
    J = skeleton.num_joints
    rot = quat_identity((F, J))
    offsets = np.broadcast_to(skeleton.offsets, (F, J, 3)).copy()
    col = 0
    groups: dict[str, tuple[list[int], list[list[int]]]] = {}
    any_joint_pos = False
    for j in _dfs_order(skeleton.parents):
        chans = skeleton.channels[j]
        rot_cols = []
        for c in chans:
            lc = c.lower()
            if lc in _POS_CHANNELS:
                offsets[:, j, _AXIS[lc[0]]] = values[:, col] * skeleton.scale
                any_joint_pos |= j > 0
            else:
                rot_cols.append(col)
            col += 1
        if rot_cols:
            joints, cols = groups.setdefault(_rotation_axes(chans), ([], []))
            joints.append(j)
            cols.append(rot_cols)
    # one vectorized product per distinct rotation order
    for axes, (joints, cols) in groups.items():
        ang = np.deg2rad(values[:, np.array(cols)])  # [F, Jg, k]
        q = _axis_quat(ang[..., 0], axes[0])
        for k in range(1, len(axes)):
            q = quat_mul(q, _axis_quat(ang[..., k], axes[k]))
        rot[:, joints] = q
    root_t = offsets[:, 0] - skeleton.offsets[0]
    return MocapMotion(rot, root_t, fps, offsets if any_joint_pos else None)


def _snap_fps(frame_time: float) -> float:
    fps = 1.0 / frame_time
    r = round(fps)
    return float(r) if r > 0 and abs(fps - r) < 1e-3 * fps else fps


def parse_bvh(
    text: str,
    source: str = "<bvh>",
    motion_scale: float | None = None,
    up: str | None = None,
    mapping: dict[str, str | None] | str | os.PathLike | None = None,
) -> tuple[MocapSkeleton, MocapMotion]:
    """Parse BVH text into a Y-up skeleton and motion in metres.

    ``motion_scale``: metres per file unit (detected from the legs when None). ``up``: the file's
    up axis (``"+y"``, ``"+z"``, ...; detected from the animation when None, see
    :mod:`kyara.motion.axes`); the clip is turned so that it is Y up. ``mapping``: a user joint
    mapping (dict or YAML path) that the detection uses to find legs, hips and head.
    """
    from kyara.motion.axes import orient_up
    from kyara.motion.mapping import resolve_mapping

    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    h = _parse_header(lines, source)
    names_map = resolve_mapping(h.names, mapping, required=())  # tables + user entries, for detection
    raw_offsets = np.array(h.offsets, dtype=np.float64)
    if motion_scale is None:
        scale = detect_scale(h.names, np.array(h.parents), raw_offsets, h.end_sites, names_map)
    else:
        scale = float(motion_scale)
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"motion scale {motion_scale} is not valid, expected metres per file unit > 0 (CMU: 0.05644)")
    skeleton = MocapSkeleton(
        names=tuple(h.names), parents=np.array(h.parents), offsets=raw_offsets * scale,
        channels=tuple(h.channels), end_sites={j: np.array(v) * scale for j, v in h.end_sites.items()}, scale=scale,
    )
    C = sum(len(c) for c in h.channels)
    block = "\n".join(lines[h.data_line - 1:])
    values = _parse_motion_block(block, h.data_line, h.frames, C, source)
    motion = channels_to_motion(values, skeleton, _snap_fps(h.frame_time))
    return orient_up(skeleton, motion, up, names_map)


def read_bvh(
    path: str | os.PathLike,
    motion_scale: float | None = None,
    up: str | None = None,
    mapping: dict[str, str | None] | str | os.PathLike | None = None,
) -> tuple[MocapSkeleton, MocapMotion]:
    """Read a ``.bvh`` file into a Y-up skeleton and motion in metres (see :func:`parse_bvh`).
    Errors name the file line."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"motion file '{p}' does not exist")
    size = p.stat().st_size
    if size > MAX_BVH_BYTES:
        raise ValueError(f"BVH '{p}' is {size / 2**20:.0f} MiB, more than the {MAX_BVH_BYTES // 2**20} MiB this reader accepts")
    try:
        text = p.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError as e:
        raise ValueError(f"BVH '{p}' is not a text file (byte {e.start} is not UTF-8)") from None
    return parse_bvh(text, str(p), motion_scale, up, mapping)


# --------------------------------------------------------------------------------------------
# writing


def _quats_to_angles(q: np.ndarray, axes: str) -> np.ndarray:
    """``[F, 4]`` -> ``[F, k]`` degrees for rotation channels ``axes`` (e.g. 'zyx')."""
    if len(axes) == 3:
        if len(set(axes)) != 3:
            raise ValueError(f"rotation channel order '{axes.upper()}' repeats an axis; writing needs three different axes")
        return np.rad2deg(matrix_to_euler(quat_to_matrix(q), axes.upper()))
    full = axes + "".join(a for a in "xyz" if a not in axes)[: 3 - len(axes)]
    return np.rad2deg(matrix_to_euler(quat_to_matrix(q), full.upper()))[:, : len(axes)]


def _dfs_order(parents: np.ndarray) -> list[int]:
    """Joints in the order a BVH hierarchy lists them (depth first, children in index order)."""
    kids: dict[int, list[int]] = {j: [] for j in range(len(parents))}
    for j, p in enumerate(parents):
        if p >= 0:
            kids[int(p)].append(j)
    order: list[int] = []
    stack = [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(kids[j]))
    return order


def motion_to_channels(skeleton: MocapSkeleton, motion: MocapMotion) -> np.ndarray:
    """Inverse of :func:`channels_to_motion`: ``[F, C]`` values in file units and degrees, columns
    in hierarchy (depth-first) order as :func:`format_bvh` lists the joints."""
    F = motion.num_frames
    cols = []
    for j in _dfs_order(skeleton.parents):
        chans = skeleton.channels[j]
        if j == 0:
            pos = skeleton.offsets[0] + motion.root_translation
        elif motion.joint_offsets is not None:
            pos = motion.joint_offsets[:, j]
        else:
            pos = np.broadcast_to(skeleton.offsets[j], (F, 3))
        axes = _rotation_axes(chans)
        ang = _quats_to_angles(motion.rotations[:, j], axes) if axes else None
        k = 0
        for c in chans:
            lc = c.lower()
            if lc in _POS_CHANNELS:
                cols.append(pos[:, _AXIS[lc[0]]] / skeleton.scale)
            else:
                cols.append(ang[:, k])
                k += 1
    return np.stack(cols, axis=1) if cols else np.zeros((F, 0))


def format_bvh(skeleton: MocapSkeleton, motion: MocapMotion) -> str:
    """BVH text of ``skeleton`` and ``motion`` in the skeleton's file units (``offsets / scale``)."""
    if motion.rotations.shape[1] != skeleton.num_joints:
        raise ValueError(f"motion has {motion.rotations.shape[1]} joints, skeleton has {skeleton.num_joints}")
    s = skeleton.scale
    kids: dict[int, list[int]] = {j: [] for j in range(skeleton.num_joints)}
    for j, p in enumerate(skeleton.parents):
        if p >= 0:
            kids[int(p)].append(j)
    out = ["HIERARCHY"]

    def vec(v: np.ndarray) -> str:
        return " ".join(f"{x / s:.6f}" for x in v)

    # depth first with an explicit stack (a hierarchy may be deeper than Python's recursion limit)
    stack: list[tuple[int, int, bool]] = [(0, 0, False)]  # (joint, depth, closing)
    while stack:
        j, depth, closing = stack.pop()
        tab = "\t" * depth
        if closing:
            if j in skeleton.end_sites:
                out.append(f"{tab}\tEnd Site")
                out.append(f"{tab}\t{{")
                out.append(f"{tab}\t\tOFFSET {vec(skeleton.end_sites[j])}")
                out.append(f"{tab}\t}}")
            out.append(f"{tab}}}")
            continue
        out.append(f"{tab}{'ROOT' if depth == 0 else 'JOINT'} {skeleton.names[j]}")
        out.append(f"{tab}{{")
        out.append(f"{tab}\tOFFSET {vec(skeleton.offsets[j])}")
        chans = skeleton.channels[j]
        out.append(f"{tab}\tCHANNELS {len(chans)}" + "".join(f" {c}" for c in chans))
        stack.append((j, depth, True))
        stack.extend((k, depth + 1, False) for k in reversed(kids[j]))

    values = motion_to_channels(skeleton, motion)
    out += ["MOTION", f"Frames: {motion.num_frames}", f"Frame Time: {1.0 / motion.fps:.8f}"]
    buf = io.StringIO()
    np.savetxt(buf, values, fmt="%.6f", delimiter=" ")
    return "\n".join(out) + "\n" + buf.getvalue()


def write_bvh(path: str | os.PathLike, skeleton: MocapSkeleton, motion: MocapMotion) -> Path:
    """Write a ``.bvh`` file atomically (a failed write leaves no partial file)."""
    text = format_bvh(skeleton, motion)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
