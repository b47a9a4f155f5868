"""Seventeen named poses authored with :func:`kyara.pose.limits.pose_from_angles`.

Every preset is within the joint limits. Root height is computed per body by forward kinematics
(so it follows leg length): standing poses put the lowest foot joint at its rest height, ``sit``
keeps the feet on the floor under horizontal thighs, ``kneel`` puts the right knee on the floor,
``jump``/``leap``/``run`` lift the body off the floor by a fraction of the leg length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from kyara.body.layout import Layout, body_layout
from kyara.body.params import BodyParams, get_preset
from kyara.body.skeleton import BONE_INDEX, PARENTS
from kyara.pose.lbs import forward_kinematics
from kyara.pose.limits import pose_from_angles
from kyara.pose.pose import Pose

Angles = dict[str, dict[str, float]]


def _both(stem: str, **angles: float) -> Angles:
    """The same semantic angles on the left and right bone (``_both("LowerArm", flex=90)``)."""
    return {f"left{stem}": dict(angles), f"right{stem}": dict(angles)}


def _side(side: str, stem: str, **angles: float) -> Angles:
    return {f"{side}{stem}": dict(angles)}


def _hand(side: str, kind: str) -> Angles:
    """Finger angles for a ``relaxed`` hand, a ``fist``, a ``flat`` hand or a ``peace`` (V) sign."""
    curls = {
        "relaxed": {f: (12, 18, 10) for f in ("Index", "Middle", "Ring", "Little")},
        "fist": {f: (88, 100, 60) for f in ("Index", "Middle", "Ring", "Little")},
        "flat": {f: (0, 0, 0) for f in ("Index", "Middle", "Ring", "Little")},
        "peace": {"Index": (0, 0, 0), "Middle": (0, 0, 0), "Ring": (85, 105, 65), "Little": (85, 105, 65)},
    }[kind]
    spread = {"peace": {"Index": 10, "Middle": -8}, "flat": {"Index": 4, "Ring": -3, "Little": -8}}.get(kind, {})
    thumb = {"relaxed": (10, 10, 10), "fist": (45, 40, 50), "flat": (0, 0, 0), "peace": (55, 50, 60)}[kind]
    out: Angles = {}
    for finger, c in curls.items():
        for seg, v in zip(("Proximal", "Intermediate", "Distal"), c):
            out[f"{side}{finger}{seg}"] = {"curl": v}
        if finger in spread:
            out[f"{side}{finger}Proximal"]["spread"] = spread[finger]
    for seg, v in zip(("Metacarpal", "Proximal", "Distal"), thumb):
        out[f"{side}Thumb{seg}"] = {"curl": v}
    return out


def _merge(*parts: Angles) -> Angles:
    out: Angles = {}
    for p in parts:
        for bone, angles in p.items():
            out.setdefault(bone, {}).update(angles)
    return out


def _hands(kind: str) -> Angles:
    return _merge(_hand("left", kind), _hand("right", kind))


@dataclass(frozen=True)
class PoseSpec:
    """How a preset is built: angles (degrees), how it meets the floor, extra root offset."""

    angles: Callable[[Layout], Angles]  # semantic angles, may depend on the body layout
    ground: str = "feet"  # "feet": lowest foot joint at rest height; "knee": right knee on the floor
    lift: float = 0.0  # extra height above the floor, x leg length (upper-leg joint height)
    shift: tuple[float, float] = (0.0, 0.0)  # root x, z offset, metres
    description: str = ""


def _const(angles: Angles) -> Callable[[Layout], Angles]:
    return lambda _layout: angles


def _stand(_: Layout) -> Angles:
    return _merge(
        _both("UpperArm", **{"raise": -76, "forward": 4}),
        _both("LowerArm", flex=12),
        _both("Hand", flex=5),
        _hands("relaxed"),
        _both("UpperLeg", abduct=3),
        _both("Foot", invert=-3),
        {"spine": {"bend": 2}, "head": {"bend": 3}},
    )


def _kneel(layout: Layout) -> Angles:
    # right knee on the floor under a vertical right thigh; left shin vertical with the foot flat:
    # the left knee sits above the right hip height by (ankle height - knee radius)
    d = layout.dims
    thigh = d["upper_leg_y"] - layout.joint("leftLowerLeg")[1]
    f = 90.0 + np.rad2deg(np.arcsin(np.clip((d["ankle_y"] - d["r_knee"]) / thigh, -1, 1)))
    return _merge(
        _side("left", "UpperLeg", flex=f, abduct=6),
        _side("left", "LowerLeg", flex=f),
        _side("right", "UpperLeg", flex=0),
        _side("right", "LowerLeg", flex=105),
        _side("right", "Foot", point=-5),
        _side("right", "Toes", curl=-55),
        _side("left", "UpperArm", **{"raise": -80, "forward": 35}),
        _side("left", "LowerArm", flex=60),
        _side("right", "UpperArm", **{"raise": -78, "forward": 10}),
        _side("right", "LowerArm", flex=20),
        _hands("relaxed"),
        {"spine": {"bend": 5}, "head": {"bend": 5}},
    )


_PRESETS: dict[str, PoseSpec] = {
    "a-pose": PoseSpec(_const(_both("UpperArm", **{"raise": -45})), description="arms down 45 deg, palms down"),
    "t-pose": PoseSpec(_const({}), description="the rest pose (VRM T-pose)"),
    "stand": PoseSpec(_stand, description="relaxed standing, arms at the sides"),
    "walk": PoseSpec(_const(_merge(
        _side("left", "UpperLeg", flex=25),
        _side("left", "LowerLeg", flex=6),
        _side("left", "Foot", point=-12),
        _side("right", "UpperLeg", flex=-15),
        _side("right", "LowerLeg", flex=22),
        _side("right", "Foot", point=18),
        _side("right", "Toes", curl=-25),
        _side("left", "UpperArm", **{"raise": -80, "forward": -18}),
        _side("left", "LowerArm", flex=12),
        _side("right", "UpperArm", **{"raise": -80, "forward": 22}),
        _side("right", "LowerArm", flex=25),
        _hands("relaxed"),
        {"hips": {"turn": -6}, "chest": {"turn": 6}, "spine": {"bend": 3}},
    )), description="mid-stride walk, left foot forward"),
    "jog": PoseSpec(_const(_merge(
        _side("left", "UpperLeg", flex=42),
        _side("left", "LowerLeg", flex=45),
        _side("left", "Foot", point=5),
        _side("right", "UpperLeg", flex=-18),
        _side("right", "LowerLeg", flex=80),
        _side("right", "Foot", point=30),
        _side("left", "UpperArm", **{"raise": -76, "forward": -30}),
        _side("left", "LowerArm", flex=90),
        _side("right", "UpperArm", **{"raise": -76, "forward": 35}),
        _side("right", "LowerArm", flex=95),
        _hands("fist"),
        {"hips": {"turn": -8}, "chest": {"turn": 8}, "spine": {"bend": 8}, "head": {"bend": -6}},
    )), description="mid-stride jog: elbows bent ~90 deg, arms opposite to legs"),
    "run": PoseSpec(_const(_merge(
        _side("left", "UpperLeg", flex=65),
        _side("left", "LowerLeg", flex=70),
        _side("left", "Foot", point=10),
        _side("right", "UpperLeg", flex=-25),
        _side("right", "LowerLeg", flex=95),
        _side("right", "Foot", point=35),
        _side("left", "UpperArm", **{"raise": -72, "forward": -45}),
        _side("left", "LowerArm", flex=85),
        _side("right", "UpperArm", **{"raise": -70, "forward": 55}),
        _side("right", "LowerArm", flex=95),
        _hands("flat"),
        {"hips": {"turn": -10}, "chest": {"turn": 10}, "spine": {"bend": 14}, "head": {"bend": -10}},
    )), lift=0.04, description="sprinting stride, both feet just off the floor"),
    "jump": PoseSpec(_const(_merge(
        _both("UpperLeg", flex=55, abduct=6),
        _both("LowerLeg", flex=100),
        _both("Foot", point=35),
        _both("UpperArm", **{"raise": 60, "forward": 25}),
        _both("LowerArm", flex=20),
        _hands("flat"),
        {"head": {"bend": -10}},
    )), lift=0.3, description="in the air, knees tucked, arms up"),
    "leap": PoseSpec(_const(_merge(
        _side("left", "UpperLeg", flex=110),
        _side("left", "Foot", point=45),
        _side("right", "UpperLeg", flex=-45),
        _side("right", "LowerLeg", flex=8),
        _side("right", "Foot", point=45),
        _side("left", "UpperArm", **{"raise": 25, "forward": 55}),
        _side("right", "UpperArm", **{"raise": 20, "forward": -15}),
        _both("LowerArm", flex=10),
        _hands("flat"),
        {"hips": {"bend": 22}, "spine": {"bend": -15}, "chest": {"bend": -10}, "head": {"bend": -10}},
    )), lift=0.35, description="split-leg leap in the air"),
    "sit": PoseSpec(_const(_merge(
        _both("UpperLeg", flex=90, abduct=4),
        _both("LowerLeg", flex=90),
        _both("UpperArm", **{"raise": -80, "forward": 35}),
        _both("LowerArm", flex=45),
        _hands("relaxed"),
        {"spine": {"bend": 3}},
    )), description="sitting on a chair: hips and knees 90 deg, feet on the floor"),
    "kneel": PoseSpec(_kneel, ground="knee", description="right knee on the floor, left foot planted"),
    "wave": PoseSpec(_const(_merge(
        _side("right", "UpperArm", **{"raise": 20, "forward": 15, "twist": -85}),
        _side("right", "LowerArm", flex=105),
        _side("right", "Hand", radial=10),
        _side("left", "UpperArm", **{"raise": -76, "forward": 4}),
        _side("left", "LowerArm", flex=12),
        _hand("left", "relaxed"),
        _hand("right", "flat"),
        _both("UpperLeg", abduct=3),
        {"head": {"turn": -8, "side": -5}},
    )), description="right hand raised and waving, palm forward"),
    "dab": PoseSpec(_const(_merge(
        _side("right", "UpperArm", **{"raise": 35, "forward": 10}),
        _side("left", "UpperArm", **{"raise": 143, "forward": 46, "twist": 135}),
        _side("left", "LowerArm", flex=53),
        _hands("flat"),
        _both("UpperLeg", abduct=6),
        {"head": {"turn": -25, "bend": 35}, "neck": {"bend": 10}, "chest": {"turn": -10}},
    )), description="dab: right arm out and up, face in the bent left elbow"),
    "kung-fu": PoseSpec(_const(_merge(
        _both("UpperLeg", flex=40, abduct=35, twist=10),
        _both("LowerLeg", flex=60),
        _both("Foot", point=-15, invert=-10),
        _side("right", "UpperArm", **{"raise": -5, "forward": 80}),
        _side("right", "Hand", twist=-80, flex=-60),
        _side("left", "UpperArm", **{"raise": -72, "forward": -40}),
        _side("left", "LowerArm", flex=120),
        _hand("left", "fist"),
        _hand("right", "flat"),
        {"spine": {"bend": 5}, "chest": {"turn": 10}},
    )), description="horse stance, right palm strike, left fist chambered at the hip"),
    "punch": PoseSpec(_const(_merge(
        _side("left", "UpperLeg", flex=30, abduct=5),
        _side("left", "LowerLeg", flex=25),
        _side("right", "UpperLeg", flex=-18, abduct=5),
        _side("right", "LowerLeg", flex=12),
        _side("right", "Foot", point=10),
        _side("right", "UpperArm", **{"raise": -8, "forward": 82}),
        _side("left", "UpperArm", **{"raise": -70, "forward": 55}),
        _side("left", "LowerArm", flex=130),
        _hands("fist"),
        {"hips": {"turn": 10}, "chest": {"turn": 15}, "spine": {"turn": 10}},
    )), description="fighting stance, right straight punch"),
    "kick": PoseSpec(_const(_merge(
        _side("right", "UpperLeg", flex=90),
        _side("right", "LowerLeg", flex=10),
        _side("right", "Foot", point=30),
        _side("left", "LowerLeg", flex=10),
        _both("UpperArm", **{"raise": -65, "forward": 55}),
        _both("LowerArm", flex=120),
        _hands("fist"),
        {"spine": {"bend": -10}, "chest": {"bend": -5}},
    )), description="right front kick, fists up in guard"),
    "arms-crossed": PoseSpec(_const(_merge(
        _side("left", "UpperArm", **{"raise": -78, "forward": 30, "twist": 60}),
        _side("right", "UpperArm", **{"raise": -80, "forward": 18, "twist": 60}),
        _side("left", "LowerArm", flex=108),
        _side("right", "LowerArm", flex=122),
        _hands("relaxed"),
        _both("UpperLeg", abduct=3),
    )), description="standing with the forearms crossed over the chest"),
    "peace-sign": PoseSpec(_const(_merge(
        _side("right", "UpperArm", **{"raise": -30, "forward": 55, "twist": -75}),
        _side("right", "LowerArm", flex=145),
        _side("right", "Hand", twist=30),
        _side("left", "UpperArm", **{"raise": -76, "forward": 4}),
        _side("left", "LowerArm", flex=12),
        _hand("left", "relaxed"),
        _hand("right", "peace"),
        _both("UpperLeg", abduct=3),
        {"head": {"side": -8}},
    )), description="V sign with the right hand beside the face"),
}

POSE_NAMES: tuple[str, ...] = tuple(_PRESETS)


def _layout(params: BodyParams | str | None) -> Layout:
    if params is None:
        params = "teen-girl"
    if isinstance(params, str):
        params = get_preset(params)
    if not isinstance(params, BodyParams):
        raise ValueError(f"params {params!r} is not valid, expected BodyParams, a body preset name or None")
    return body_layout(params)


def _feet(joints: np.ndarray, rest: np.ndarray) -> float:
    """Lowest foot or toe joint relative to its rest height (metres)."""
    idx = [BONE_INDEX[f"{s}{b}"] for s in ("left", "right") for b in ("Foot", "Toes")]
    return float(np.min(joints[idx, 1] - rest[idx, 1]))


def get_pose(name: str, params: BodyParams | str | None = None) -> Pose:
    """Preset pose ``name`` (one of :data:`POSE_NAMES`) fitted to the body ``params``.

    ``params`` is a :class:`BodyParams`, a body preset name, or ``None`` for ``teen-girl``; it sets
    the root height (feet, knees or chair on the floor, jump height from the leg length).
    """
    if name not in _PRESETS:
        raise ValueError(f"unknown pose '{name}', expected one of {', '.join(POSE_NAMES)}")
    spec = _PRESETS[name]
    layout = _layout(params)
    pose = pose_from_angles(spec.angles(layout))
    rest = layout.joints  # [J, 3]
    _, joints = forward_kinematics(pose.matrices(), np.zeros(3), rest, PARENTS)  # [J, 3]
    low = _feet(joints, rest)
    if spec.ground == "knee":
        knees = joints[[BONE_INDEX["leftLowerLeg"], BONE_INDEX["rightLowerLeg"]], 1] - layout.dims["r_knee"]
        low = min(low, float(knees.min()))
    height = spec.lift * layout.dims["upper_leg_y"] - low
    return Pose(pose.rotations, np.array([spec.shift[0], height, spec.shift[1]]))


def pose_description(name: str) -> str:
    if name not in _PRESETS:
        raise ValueError(f"unknown pose '{name}', expected one of {', '.join(POSE_NAMES)}")
    return _PRESETS[name].description
