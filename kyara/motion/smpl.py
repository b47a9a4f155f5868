"""SMPL / SMPL-H / SMPL-X motion ``.npz`` files (AMASS-style and AIST++-style) as mocap motion.

No body-model file is needed: retargeting only uses the public kinematic tree (joint names and
parents, as in the SMPL/SMPL-X model code) and a template rest skeleton. The template is the
approximate joint layout of the public *mean* SMPL body in its rest pose (T-pose, Y up, facing
+Z, left = +X, metres), written below as numbers; hand joints are placed along a typical hand.
Shape (``betas``) is ignored: retargeting transfers rotations and rescales translation anyway.

* AMASS: ``poses [F, 72|156|165]`` axis-angle (SMPL / SMPL-H / SMPL-X joint order), ``trans
  [F, 3]`` metres, ``mocap_framerate`` (SMPL-H) or ``mocap_frame_rate`` (SMPL-X). Z up.
* AIST++: ``smpl_poses [F, 72]``, ``smpl_trans [F, 3]`` and ``smpl_scaling [1]`` (metres =
  ``smpl_trans / smpl_scaling``), 60 fps. Y up.

SMPL's root rotates about the pelvis joint and ``trans`` moves it, so the pelvis is at
``J_pelvis + trans``; Z-up data is turned to Y-up by a -90 degree rotation about X.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from kyara.motion.bvh import MocapMotion, MocapSkeleton
from kyara.pose.rotations import axis_angle_to_quat, quat_mul

BODY_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
BODY_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

# Approximate rest joints of the public mean SMPL body (metres, model frame: Y up, faces +Z,
# pelvis near the origin). Values rounded to millimetres from the published mean-shape joint
# layout; enough for retargeting, which only needs directions and rough proportions.
BODY_REST = np.array([
    [0.000, -0.223, 0.028],   # pelvis
    [0.070, -0.314, 0.015],   # left_hip
    [-0.068, -0.314, 0.020],  # right_hip
    [-0.002, -0.103, -0.002], # spine1
    [0.104, -0.695, 0.030],   # left_knee
    [-0.106, -0.700, 0.032],  # right_knee
    [0.006, 0.029, 0.027],    # spine2
    [0.088, -1.110, -0.018],  # left_ankle
    [-0.090, -1.112, -0.014], # right_ankle
    [0.001, 0.081, 0.024],    # spine3
    [0.119, -1.170, 0.102],   # left_foot (ball of the foot / toes joint)
    [-0.120, -1.170, 0.108],  # right_foot
    [-0.003, 0.290, -0.008],  # neck
    [0.077, 0.194, -0.008],   # left_collar
    [-0.081, 0.193, -0.012],  # right_collar
    [0.005, 0.354, 0.049],    # head
    [0.172, 0.234, -0.021],   # left_shoulder (upper arm)
    [-0.175, 0.232, -0.020],  # right_shoulder
    [0.433, 0.223, -0.042],   # left_elbow
    [-0.437, 0.220, -0.038],  # right_elbow
    [0.681, 0.230, -0.044],   # left_wrist
    [-0.685, 0.230, -0.044],  # right_wrist
])
SMPL_HAND_REST = np.array([[0.769, 0.220, -0.060], [-0.771, 0.218, -0.058]])  # SMPL's left/right_hand
HEAD_TOP = np.array([0.0, 0.23, -0.01])  # end site above the head joint
TOE_TIP = np.array([0.0, -0.02, 0.08])  # end site in front of the foot joint

_HAND_FINGERS = ("index", "middle", "pinky", "ring", "thumb")  # SMPL-H / SMPL-X order
# finger root offset from the wrist (left hand; x mirrored for the right), and segment direction
_FINGER_ROOT = {"index": (0.095, -0.006, 0.025), "middle": (0.099, -0.004, 0.004),
                "ring": (0.093, -0.006, -0.016), "pinky": (0.081, -0.009, -0.034), "thumb": (0.025, -0.015, 0.028)}
_FINGER_DIR = {"index": (1.0, 0.0, 0.05), "middle": (1.0, 0.0, 0.0), "ring": (1.0, 0.0, -0.05),
               "pinky": (1.0, 0.0, -0.12), "thumb": (0.6, -0.1, 0.8)}
_FINGER_SEGS = {"index": (0.037, 0.024, 0.022), "middle": (0.040, 0.027, 0.024), "ring": (0.037, 0.026, 0.023),
                "pinky": (0.029, 0.019, 0.019), "thumb": (0.035, 0.030, 0.027)}


def _hand(side: str, wrist: int) -> tuple[list[str], list[int], list[np.ndarray], dict[int, np.ndarray]]:
    """Names, parents (-1 = the wrist, else index in the list), rest positions, end sites of 15 hand joints."""
    sx = 1.0 if side == "left" else -1.0
    w = BODY_REST[wrist]
    names: list[str] = []
    parents: list[int] = []
    pos: list[np.ndarray] = []
    ends: dict[int, np.ndarray] = {}
    for f in _HAND_FINGERS:
        d = np.array(_FINGER_DIR[f]) * (sx, 1, 1)
        d /= np.linalg.norm(d)
        p = w + np.array(_FINGER_ROOT[f]) * (sx, 1, 1)
        parent = -1  # placeholder: the wrist
        for k, seg in enumerate(_FINGER_SEGS[f]):
            names.append(f"{side}_{f}{k + 1}")
            parents.append(parent)
            pos.append(p.copy())
            parent = len(names) - 1
            p = p + d * seg
        ends[len(names) - 1] = d * 0.018
    return names, parents, pos, ends


def smpl_skeleton(kind: str = "smpl") -> MocapSkeleton:
    """Template rest skeleton for ``kind`` in ``smpl`` (24 joints), ``smplh`` (52), ``smplx`` (55)."""
    if kind not in ("smpl", "smplh", "smplx"):
        raise ValueError(f"SMPL model kind '{kind}' is not known, expected smpl, smplh or smplx")
    names = list(BODY_NAMES)
    parents = list(BODY_PARENTS)
    pos = [p for p in BODY_REST]
    ends: dict[int, np.ndarray] = {15: HEAD_TOP, 10: TOE_TIP, 11: TOE_TIP * (-1, 1, 1)}
    if kind == "smpl":
        names += ["left_hand", "right_hand"]
        parents += [20, 21]
        pos += list(SMPL_HAND_REST)
    else:
        if kind == "smplx":
            head = pos[15]
            names += ["jaw", "left_eye_smplhf", "right_eye_smplhf"]
            parents += [15, 15, 15]
            pos += [head + (0.0, -0.02, 0.03), head + (0.032, 0.06, 0.08), head + (-0.032, 0.06, 0.08)]
        for side, wrist in (("left", 20), ("right", 21)):
            base = len(names)
            n, par, p, e = _hand(side, wrist)
            names += n
            parents += [wrist if q < 0 else base + q for q in par]
            pos += p
            ends.update({base + k: v for k, v in e.items()})
    pos_arr = np.array(pos)
    par_arr = np.array(parents)
    offsets = pos_arr - np.where(par_arr[:, None] >= 0, pos_arr[np.maximum(par_arr, 0)], 0.0)
    chans = tuple(
        ("Xposition", "Yposition", "Zposition", "Zrotation", "Yrotation", "Xrotation") if j == 0
        else ("Zrotation", "Yrotation", "Xrotation")
        for j in range(len(names))
    )
    return MocapSkeleton(tuple(names), par_arr, offsets, chans, ends, scale=1.0)


_KIND_BY_WIDTH = {72: "smpl", 156: "smplh", 165: "smplx"}
Z_UP_TO_Y_UP = np.array([-np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5)])  # -90 deg about X: (x, y, z) -> (x, z, -y)


MAX_FRAMES = 100_000  # kyara animate's limit too (an hour at 30 fps)
MAX_MEMBER_BYTES = 512 * 2**20  # one array of the archive, uncompressed
FPS_RANGE = (10.0, 1000.0)  # mocap frame rates (AMASS 60-250, AIST++ 60)
MAX_ANGLE = 1000.0  # radians: no axis-angle component of real data comes near it
MAX_TRANSLATION = 10_000.0  # metres


def _bad(label: str, what: str) -> ValueError:
    return ValueError(f"motion npz {label} {what}")


def _check_archive(p: Path, label: str) -> None:
    """Look at the zip directory and each array's header before anything is decompressed: a file
    that is no zip, a member that is no ``.npy``, Python objects (pickles), declared sizes that do
    not match the stored bytes or exceed :data:`MAX_MEMBER_BYTES` are refused with one line."""
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
            if not infos:
                raise _bad(label, "is an empty archive, expected SMPL arrays (poses, trans, ...)")
            for info in infos:
                _check_member(z, info, label)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise _bad(label, f"is not a readable NumPy .npz archive ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:100]})") from None


def _check_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> None:
    name = info.filename[:60]
    if not info.filename.endswith(".npy"):
        raise _bad(label, f"holds '{name}', expected only .npy arrays")
    if info.flag_bits & 0x1:
        raise _bad(label, f"array '{name}' is encrypted, expected a plain .npz archive")
    if info.file_size > MAX_MEMBER_BYTES:
        raise _bad(label, f"array '{name}' is {info.file_size} bytes uncompressed, expected at most {MAX_MEMBER_BYTES}")
    try:
        with z.open(info) as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f, max_header_size=10_000)
            header = f.tell()
    except NotImplementedError as e:  # a compression method zipfile does not read
        raise _bad(label, f"array '{name}' cannot be read ({' '.join(str(e).split())[:80]})") from None
    except (ValueError, EOFError, RuntimeError, zipfile.BadZipFile, OSError, zlib.error) as e:
        raise _bad(label, f"array '{name}' has no valid .npy header ({' '.join(str(e).split())[:80]})") from None
    if dtype.hasobject:
        raise _bad(label, f"array '{name}' holds Python objects (a pickle), expected numbers")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need != info.file_size - header:
        raise _bad(label, f"array '{name}' declares shape {tuple(shape)} of {dtype} ({need} bytes) but holds "
                          f"{info.file_size - header} bytes")


def _array(data, key: str, label: str, style: str, keys: set[str]) -> np.ndarray:
    """``data[key]`` as float64, or one line naming the missing key, an unreadable array or a
    non-numeric dtype."""
    if key not in keys:
        raise _bad(label, f"has no key '{key}' ({style}-style file; keys: {', '.join(sorted(keys))[:200]})")
    try:
        arr = data[key]
    except (ValueError, OSError, EOFError, RuntimeError, zipfile.BadZipFile, NotImplementedError, zlib.error) as e:
        raise _bad(label, f"key '{key}' cannot be read ({type(e).__name__}: {' '.join(str(e).split())[:100]})") from None
    if arr.dtype.kind not in "biuf":
        raise _bad(label, f"key '{key}' has dtype {arr.dtype}, expected numbers")
    return arr.astype(np.float64)


def read_smpl_npz(
    path: str | os.PathLike,
    up_axis: str = "auto",
    fps: float | None = None,
    label: str | None = None,
) -> tuple[MocapSkeleton, MocapMotion]:
    """Read an AMASS- or AIST++-style SMPL motion ``.npz`` as a Y-up skeleton + motion in metres.

    ``up_axis``: ``"auto"`` (AMASS: z, AIST++: y), ``"y"`` or ``"z"``. ``fps`` overrides the
    file's frame rate (AIST++ files carry none: 60). The file is not trusted: the archive's
    headers are checked before any array is read (no pickles, no sizes beyond the stored bytes),
    then keys, shapes, dtypes, finite values within :data:`MAX_ANGLE` radians and
    :data:`MAX_TRANSLATION` metres, at most :data:`MAX_FRAMES` frames and a frame rate in
    :data:`FPS_RANGE`. Every problem raises one ``ValueError`` naming ``label`` (default: the path).
    """
    p = Path(path)
    label = f"'{label if label is not None else p}'"
    if not p.is_file():
        raise FileNotFoundError(f"motion file {label} does not exist")
    if up_axis not in ("auto", "y", "z"):
        raise ValueError(f"up axis '{up_axis}' is not valid, expected auto, y or z")
    _check_archive(p, label)
    try:
        data = np.load(p, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise _bad(label, f"could not be read ({' '.join(str(e).split())[:100]})") from None
    with data:
        keys = set(data.keys())
        if "smpl_poses" in keys or ("poses" not in keys and "smpl_trans" in keys):
            style, auto_up = "AIST++", "y"
            poses = _array(data, "smpl_poses", label, style, keys)
            trans = _array(data, "smpl_trans", label, style, keys)
            scaling = _array(data, "smpl_scaling", label, style, keys).reshape(-1)
            if scaling.size != 1 or not (np.isfinite(scaling[0]) and 1e-6 < scaling[0] < 1e6):
                raise _bad(label, f"key 'smpl_scaling' is {scaling[:4].tolist()}, expected one positive number")
            trans = trans / scaling[0]
            rate = 60.0
        else:
            style, auto_up = "AMASS", "z"
            poses = _array(data, "poses", label, style, keys)
            trans = _array(data, "trans", label, style, keys)
            key = "mocap_framerate" if "mocap_framerate" in keys else "mocap_frame_rate"
            rates = _array(data, key, label, style, keys).reshape(-1)
            if rates.size != 1:
                raise _bad(label, f"key '{key}' holds {rates.size} numbers, expected one frame rate")
            rate = float(rates[0])
    up = auto_up if up_axis == "auto" else up_axis
    if poses.ndim != 2 or poses.shape[1] not in _KIND_BY_WIDTH:
        raise _bad(label, f"poses have shape {poses.shape}, expected [F, 72 | 156 | 165] (SMPL / SMPL-H / SMPL-X)")
    F = poses.shape[0]
    if F == 0:
        raise _bad(label, "has zero frames, expected at least one")
    if F > MAX_FRAMES:
        raise _bad(label, f"has {F} frames, expected at most {MAX_FRAMES}")
    if trans.shape != (F, 3):
        raise _bad(label, f"translation has shape {trans.shape}, expected ({F}, 3) to match the poses")
    for name, arr, limit, unit in (("poses", poses, MAX_ANGLE, "radians"), ("trans", trans, MAX_TRANSLATION, "metres")):
        bad = ~np.isfinite(arr) | (np.abs(np.nan_to_num(arr)) > limit)
        if bad.any():
            frame, col = (int(v) for v in np.argwhere(bad)[0])
            raise _bad(label, f"key '{name}' is {arr[frame, col]:g} at frame {frame}, expected finite numbers "
                              f"within +-{limit:g} {unit}")
    rate = float(fps) if fps is not None else rate
    if not (np.isfinite(rate) and FPS_RANGE[0] <= rate <= FPS_RANGE[1]):
        raise _bad(label, f"frame rate {rate:g} is not valid, expected {FPS_RANGE[0]:g}..{FPS_RANGE[1]:g} "
                          "frames per second")
    skeleton = smpl_skeleton(_KIND_BY_WIDTH[poses.shape[1]])
    rot = axis_angle_to_quat(poses.reshape(F, -1, 3))  # [F, J, 4]
    j0 = skeleton.offsets[0]
    if up == "z":
        rot[:, 0] = quat_mul(Z_UP_TO_Y_UP, rot[:, 0])
        world = j0 + trans
        world = np.stack([world[:, 0], world[:, 2], -world[:, 1]], axis=-1)
        root_t = world - j0
    else:
        root_t = trans
    return skeleton, MocapMotion(rot, root_t, rate)
