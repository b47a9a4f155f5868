"""From body parameters to rest joint positions and the dimensions the surface is built from.

Pure function :func:`body_layout`; no mesh work here. Everything in metres, T-pose, Y up,
facing +Z, left = +X, feet on y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyara.body.params import BodyParams
from kyara.body.skeleton import BONE_INDEX, FINGER_NAMES, NUM_BONES, finger_bones

# finger length relative to the middle finger, knuckle offset along the hand (x hand length),
# knuckle position across the palm (x palm width, + = thumb side = +Z)
_FINGER_SHAPE = {
    "Index": (0.92, 0.0, 0.36),
    "Middle": (1.0, 0.015, 0.12),
    "Ring": (0.94, 0.0, -0.12),
    "Little": (0.76, -0.04, -0.36),
}
_SEGMENTS = (0.44, 0.31, 0.25)  # proximal, intermediate, distal share of finger length
FINGER_SPREAD_DEG = {"Index": 7.0, "Middle": 0.0, "Ring": -7.0, "Little": -14.0}


@dataclass(frozen=True)
class Layout:
    """Rest skeleton plus named dimensions (metres) used by the surface builder."""

    params: BodyParams
    joints: np.ndarray  # [J, 3] rest joint positions
    tips: dict[str, np.ndarray]  # named end points: 'head', '<side><Finger>', '<side>Toes'
    dims: dict[str, float]  # radii and levels, metres

    def joint(self, name: str) -> np.ndarray:
        return self.joints[BONE_INDEX[name]]


def body_layout(params: BodyParams) -> Layout:
    """Rest joint positions ``[55, 3]`` and surface dimensions for ``params``."""
    P = params
    H = P.height
    h = P.head_height
    W = P.head_width * h
    D = P.head_depth * h
    crown = H
    chin = H - h
    neck_y = chin - P.neck_length * h  # neck joint = base of the neck, on the shoulder line
    crotch = P.leg_length * H
    r_thigh = 0.5 * P.limb_thickness * H  # mid-thigh radius
    r_thigh_top = 1.12 * r_thigh
    r_knee = 0.74 * r_thigh
    r_calf = 0.8 * r_thigh
    r_ankle = 0.42 * r_thigh
    r_upper_arm = 0.56 * r_thigh
    r_elbow = 0.44 * r_thigh
    r_forearm = 0.47 * r_thigh
    r_wrist = 0.34 * r_thigh
    hip_half = 0.5 * P.hip_width * H
    foot_len = P.foot_size * H
    hand_len = P.hand_size * H
    ankle_y = max(0.045 * H, 0.28 * foot_len)
    leg_x = hip_half - 1.15 * r_thigh  # thigh cone radius at the hip joint is 1.1 r
    upper_leg_y = crotch + 0.85 * r_thigh
    torso_len = neck_y - upper_leg_y
    knee_y = ankle_y + 0.5 * (upper_leg_y - ankle_y)
    head_z = 0.0  # cranium centre z
    shoulder_x = 0.5 * P.shoulder_width * H
    arm_y = neck_y - 0.06 * torso_len - 0.25 * r_upper_arm
    arm_len = P.arm_length * H
    elbow_x = shoulder_x + 0.5 * arm_len
    wrist_x = shoulder_x + arm_len

    J = np.zeros((NUM_BONES, 3))

    def put(name: str, x: float, y: float, z: float) -> None:
        J[BONE_INDEX[name]] = (x, y, z)

    put("hips", 0.0, upper_leg_y + 0.06 * torso_len, -0.01 * H)
    put("spine", 0.0, upper_leg_y + 0.25 * torso_len, -0.005 * H)
    put("chest", 0.0, upper_leg_y + 0.55 * torso_len, -0.005 * H)
    put("upperChest", 0.0, upper_leg_y + 0.75 * torso_len, -0.008 * H)
    put("neck", 0.0, neck_y, -0.12 * D)
    put("head", 0.0, chin + 0.12 * h, -0.12 * D)
    eye_y = crown - P.eye_height * h
    put("jaw", 0.0, chin + 0.3 * h, -0.02 * D)
    tips: dict[str, np.ndarray] = {"head": np.array([0.0, crown, head_z])}
    for sx, side in ((1.0, "left"), (-1.0, "right")):
        put(f"{side}Eye", sx * 0.21 * W, eye_y, head_z + 0.3 * D)
        put(f"{side}UpperLeg", sx * leg_x, upper_leg_y, 0.0)
        put(f"{side}LowerLeg", sx * leg_x, knee_y, 0.006 * H)
        put(f"{side}Foot", sx * leg_x, ankle_y, -0.004 * H)
        put(f"{side}Toes", sx * leg_x, 0.32 * ankle_y, 0.5 * foot_len)
        tips[f"{side}Toes"] = np.array([sx * leg_x, 0.3 * ankle_y, 0.74 * foot_len])
        put(f"{side}Shoulder", sx * 0.22 * shoulder_x, arm_y + 0.35 * r_upper_arm, -0.008 * H)
        put(f"{side}UpperArm", sx * shoulder_x, arm_y, -0.008 * H)
        put(f"{side}LowerArm", sx * elbow_x, arm_y, -0.014 * H)
        put(f"{side}Hand", sx * wrist_x, arm_y, -0.008 * H)
        hand = J[BONE_INDEX[f"{side}Hand"]]
        palm_len = 0.46 * hand_len
        palm_w = 0.44 * hand_len
        finger_len = hand_len - palm_len - 0.03 * hand_len  # the fingertip's rounding adds the rest
        for finger in FINGER_NAMES:
            bones = finger_bones(side, finger)
            if finger == "Thumb":
                d = np.array([sx * 0.5, -0.12, 0.86])
                d /= np.linalg.norm(d)
                start = hand + np.array([sx * 0.1 * hand_len, -0.02 * hand_len, 0.14 * palm_w])
                lens = (0.26 * hand_len, 0.2 * hand_len, 0.17 * hand_len)
            else:
                rel, dx, zf = _FINGER_SHAPE[finger]
                a = np.deg2rad(FINGER_SPREAD_DEG[finger])
                d = np.array([sx * np.cos(a), 0.0, np.sin(a)])
                start = hand + np.array([sx * (palm_len + dx * hand_len), 0.0, zf * palm_w])
                lens = tuple(rel * finger_len * s for s in _SEGMENTS)
            p = start
            for bone, ln in zip(bones, lens):
                J[BONE_INDEX[bone]] = p
                p = p + d * ln
            tips[f"{side}{finger}"] = p
    dims = dict(
        H=H, h=h, W=W, D=D, crown=crown, chin=chin, neck_y=neck_y, crotch=crotch, head_z=head_z,
        r_thigh=r_thigh, r_thigh_top=r_thigh_top, r_knee=r_knee, r_calf=r_calf, r_ankle=r_ankle,
        r_upper_arm=r_upper_arm, r_elbow=r_elbow, r_forearm=r_forearm, r_wrist=r_wrist,
        hip_half=hip_half, foot_len=foot_len, hand_len=hand_len, ankle_y=ankle_y, leg_x=leg_x,
        upper_leg_y=upper_leg_y, torso_len=torso_len, shoulder_x=shoulder_x, arm_y=arm_y,
        eye_y=eye_y, neck_r=0.5 * P.neck_thickness * W,
        chest_girth=P.chest * H, waist_girth=P.waist * H,
        palm_len=0.46 * hand_len, palm_w=0.44 * hand_len, finger_r=0.05 * hand_len,
    )
    return Layout(params=P, joints=J, tips=tips, dims=dims)
