"""Body parameters, their units, ranges and how each is measured on the mesh, and presets.

Every parameter is a plain float. Lengths are either metres (``height``) or ratios to a
reference length, stated per parameter, so a preset keeps its look at any height. The
measurement column says how :func:`kyara.body.measure.measure_body` reads the value back from
the generated mesh (rest T-pose); the build calibrates the surface so the two agree within 5%.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ParamSpec:
    name: str
    unit: str
    low: float
    high: float
    description: str
    measured: str


PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("height", "m", 0.5, 2.5, "standing height, floor to crown",
              "max y of the mesh (feet stand on y = 0)"),
    ParamSpec("heads_tall", "heads", 2.0, 8.5, "height / head height (2 chibi ... 8.5 heroic)",
              "height / (crown y - chin y); chin = lowest face point in front of the neck"),
    ParamSpec("head_width", "x head height", 0.6, 1.1, "head width",
              "x-extent of the head above the chin (ears included)"),
    ParamSpec("head_depth", "x head height", 0.6, 1.1, "head depth, front to back",
              "z-extent of the head above the chin"),
    ParamSpec("eye_size", "x head height", 0.06, 0.3, "eye socket height",
              "y-extent of the carved eye socket (surface more than 1% of head height inside the uncarved face)"),
    ParamSpec("eye_height", "x head height", 0.4, 0.7, "eye centre below the crown",
              "(crown y - socket centre y) / head height"),
    ParamSpec("neck_length", "x head height", 0.05, 0.6, "chin to shoulder line",
              "(chin y - neck joint y) / head height"),
    ParamSpec("neck_thickness", "x head width", 0.25, 0.7, "neck diameter",
              "x-extent of the neck at mid height / head width"),
    ParamSpec("shoulder_width", "x height", 0.12, 0.35, "distance between the shoulder joints",
              "distance between the upper-arm joints (centres of the shoulder balls)"),
    ParamSpec("chest", "x height", 0.35, 0.8, "chest girth (bust included)",
              "perimeter of the horizontal torso slice at the chest joint"),
    ParamSpec("waist", "x height", 0.28, 0.7, "waist girth",
              "perimeter of the horizontal torso slice at the spine joint"),
    ParamSpec("hip_width", "x height", 0.12, 0.35, "hip width",
              "x-extent of the horizontal slice at the upper-leg joints"),
    ParamSpec("arm_length", "x height", 0.25, 0.5, "shoulder joint to wrist",
              "distance upper-arm joint -> hand joint in the T-pose"),
    ParamSpec("leg_length", "x height", 0.3, 0.6, "crotch height (inseam)",
              "lowest point of the crotch at x = 0, divided by height"),
    ParamSpec("limb_thickness", "x height", 0.04, 0.14, "thigh diameter at mid-thigh (arms follow)",
              "x-extent of the left thigh slice halfway between hip and knee"),
    ParamSpec("hand_size", "x height", 0.05, 0.15, "hand length, wrist to middle fingertip",
              "x-distance hand joint -> tip of the middle finger"),
    ParamSpec("foot_size", "x height", 0.08, 0.2, "foot length, heel to toe",
              "z-extent of the left foot"),
    ParamSpec("bust", "0..1", 0.0, 1.0, "bust volume (0 = flat)",
              "included in the chest girth"),
)

SPEC_BY_NAME = {s.name: s for s in PARAM_SPECS}


@dataclass(frozen=True)
class BodyParams:
    """Parameters of the anime body. See ``PARAM_SPECS`` for units, ranges and measurement."""

    height: float = 1.55  # m, floor to crown
    heads_tall: float = 6.5  # height / head height
    head_width: float = 0.84  # x head height
    head_depth: float = 0.88  # x head height
    eye_size: float = 0.16  # x head height
    eye_height: float = 0.56  # x head height, crown -> eye centre
    neck_length: float = 0.28  # x head height
    neck_thickness: float = 0.36  # x head width
    shoulder_width: float = 0.2  # x height
    chest: float = 0.52  # x height (girth)
    waist: float = 0.4  # x height (girth)
    hip_width: float = 0.2  # x height
    arm_length: float = 0.33  # x height
    leg_length: float = 0.51  # x height (anime: legs at least half the height, docs/proportions.md)
    limb_thickness: float = 0.08  # x height
    hand_size: float = 0.095  # x height
    foot_size: float = 0.14  # x height
    bust: float = 0.3  # 0..1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            spec = SPEC_BY_NAME[f.name]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
                raise ValueError(f"body parameter {f.name}={value!r} is not a number, expected {spec.low}..{spec.high} {spec.unit}")
            if not spec.low <= float(value) <= spec.high:
                raise ValueError(
                    f"body parameter {f.name}={value} is out of range, expected {spec.low}..{spec.high} {spec.unit}"
                )
            object.__setattr__(self, f.name, float(value))
        # the thighs must fit side by side inside the hip width
        if self.hip_width < 2.5 * self.limb_thickness - 1e-9:
            raise ValueError(
                f"body parameters hip_width={self.hip_width} and limb_thickness={self.limb_thickness} do not fit, "
                f"expected hip_width >= 2.5 * limb_thickness"
            )

    @property
    def head_height(self) -> float:
        """Crown to chin, metres."""
        return self.height / self.heads_tall

    def replace(self, **changes: Any) -> "BodyParams":
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown body parameter(s) {sorted(unknown)}, expected one of {sorted(SPEC_BY_NAME)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BodyParams":
        if not isinstance(data, dict):
            raise ValueError(f"body parameters must be an object, got {type(data).__name__}")
        unknown = set(data) - set(SPEC_BY_NAME)
        if unknown:
            raise ValueError(f"unknown body parameter(s) {sorted(unknown)}, expected one of {sorted(SPEC_BY_NAME)}")
        return cls(**data)


PRESETS: dict[str, BodyParams] = {
    "chibi": BodyParams(
        height=0.9, heads_tall=2.5, head_width=0.95, head_depth=0.9, eye_size=0.22, eye_height=0.58,
        neck_length=0.08, neck_thickness=0.3, shoulder_width=0.22, chest=0.62, waist=0.6,
        hip_width=0.23, arm_length=0.27, leg_length=0.3, limb_thickness=0.09, hand_size=0.065,
        foot_size=0.13, bust=0.0,
    ),
    "child": BodyParams(
        height=1.2, heads_tall=5.0, head_width=0.86, head_depth=0.9, eye_size=0.19, eye_height=0.57,
        neck_length=0.2, neck_thickness=0.34, shoulder_width=0.19, chest=0.5, waist=0.45,
        hip_width=0.19, arm_length=0.31, leg_length=0.42, limb_thickness=0.075, hand_size=0.085,
        foot_size=0.13, bust=0.0,
    ),
    "teen-girl": BodyParams(),
    "teen-boy": BodyParams(
        height=1.65, heads_tall=6.8, head_width=0.82, head_depth=0.88, eye_size=0.14, eye_height=0.55,
        neck_length=0.32, neck_thickness=0.42, shoulder_width=0.22, chest=0.5, waist=0.42,
        hip_width=0.2, arm_length=0.34, leg_length=0.51, limb_thickness=0.08, hand_size=0.1,
        foot_size=0.145, bust=0.0,
    ),
    "adult-woman": BodyParams(
        height=1.65, heads_tall=7.2, head_width=0.8, head_depth=0.86, eye_size=0.13, eye_height=0.54,
        neck_length=0.34, neck_thickness=0.36, shoulder_width=0.2, chest=0.55, waist=0.38,
        hip_width=0.21, arm_length=0.34, leg_length=0.52, limb_thickness=0.084, hand_size=0.1,
        foot_size=0.14, bust=0.6,
    ),
    "adult-man": BodyParams(
        height=1.78, heads_tall=7.5, head_width=0.8, head_depth=0.88, eye_size=0.11, eye_height=0.53,
        neck_length=0.36, neck_thickness=0.45, shoulder_width=0.24, chest=0.55, waist=0.45,
        hip_width=0.21, arm_length=0.35, leg_length=0.52, limb_thickness=0.084, hand_size=0.105,
        foot_size=0.15, bust=0.0,
    ),
    "heroic": BodyParams(
        height=1.9, heads_tall=8.5, head_width=0.78, head_depth=0.88, eye_size=0.09, eye_height=0.52,
        neck_length=0.38, neck_thickness=0.52, shoulder_width=0.27, chest=0.6, waist=0.45,
        hip_width=0.22, arm_length=0.36, leg_length=0.53, limb_thickness=0.088, hand_size=0.105,
        foot_size=0.15, bust=0.0,
    ),
}

PRESET_NAMES = tuple(PRESETS)


def get_preset(name: str) -> BodyParams:
    """Preset by name; raises ``ValueError`` listing the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown body preset '{name}', expected one of {', '.join(PRESET_NAMES)}") from None
