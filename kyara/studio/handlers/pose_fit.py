"""Fit the Pose tab's joint angles to 2D keypoints (a detected reference image), so the sliders
start from the pose the picture shows.

The unknowns are the slider angles plus the hips' spread (:data:`FIT_ANGLES`, degrees, within
their joint limits) and the camera azimuth (degrees, elevation 0). The body is seen by an
orthographic camera whose scale and image offset are solved in closed form for every guess (a
weighted 2D similarity without rotation), so only angles are searched. Residuals: the pixel
distance of each found joint from the body's joint (:func:`kyara.pose.keypoints.body_keypoints`),
divided by the figure's size, plus a weak pull towards the starting pose (depth is not seen in one
picture: among poses that project alike, the one nearer the start wins). Several azimuths start
the search; the best fit is kept. Finite-difference Jacobians are computed in one batched
forward-kinematics call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyara.studio.handlers.poses import SLIDERS

# (bone, angle) fitted: the sliders' angles, then the legs' spread (kept in the pose state; no slider)
FIT_ANGLES: tuple[tuple[str, str], ...] = tuple((b, a) for _, b, a, _ in SLIDERS) + (
    ("leftUpperLeg", "abduct"), ("rightUpperLeg", "abduct"))
START_AZIMUTHS = (0.0, 45.0, -45.0, 90.0, -90.0, 180.0)  # degrees
MIN_JOINTS = 5  # body joints needed to fit
PRIOR = 0.02  # weight of the pull towards the start pose, per 90 degrees
# per COCO-18 joint: weight of its residual (face points are small and detectors place them loosely)
JOINT_WEIGHTS = np.array([0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.3, 0.3, 0.3, 0.3])


@dataclass
class PoseFit:
    state: dict  # the pose state (see kyara.studio.handlers) with the fitted angles
    azimuth: float  # camera azimuth of the reference's view, degrees in (-180, 180]
    error: float  # RMS distance of the fitted joints from the given ones, fraction of the figure's size
    joints: int  # joints the fit used


def _camera_axes(az_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image-right ``[B, 3]`` and image-down ``[B, 3]`` world directions of a camera at azimuth
    ``az`` (0 = in front, on +Z; 90 = the character's left), elevation 0."""
    a = np.radians(az_deg)
    right = np.stack([np.cos(a), np.zeros_like(a), -np.sin(a)], axis=-1)
    down = np.broadcast_to(np.array([0.0, -1.0, 0.0]), right.shape)
    return right, down


def project_points(points: np.ndarray, az_deg: np.ndarray) -> np.ndarray:
    """World points ``[B, N, 3]`` metres -> orthographic image coordinates ``[B, N, 2]`` metres
    (x right, y down) seen from azimuth ``az_deg [B]``."""
    right, down = _camera_axes(np.asarray(az_deg, np.float64))
    return np.stack([np.einsum("bnk,bk->bn", points, right), np.einsum("bnk,bk->bn", points, down)], axis=-1)


def similarity_residuals(p: np.ndarray, q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted residuals ``[B, N, 2]`` of ``s * p + t - q`` with the best scale ``s > 0`` and
    offset ``t`` per batch item; ``p [B, N, 2]``, ``q [N, 2]``, ``w [N]`` (sum > 0)."""
    wn = w / w.sum()
    pm = np.einsum("bnk,n->bk", p, wn)[:, None]
    qm = (q * wn[:, None]).sum(0)
    pc, qc = p - pm, q - qm
    s = np.einsum("bnk,nk,n->b", pc, qc, wn) / np.maximum(np.einsum("bnk,bnk,n->b", pc, pc, wn), 1e-12)
    s = np.maximum(s, 1e-6)[:, None, None]
    return (s * pc - qc) * np.sqrt(w)[None, :, None]


class _Problem:
    """Residuals of angle vectors ``x [B, K]`` (K = fitted angles + azimuth), batched."""

    def __init__(self, body, base_state: dict, keypoints: np.ndarray, threshold: float) -> None:
        from kyara.pose.limits import LIMITS
        from kyara.studio.handlers.poses import pose_from_state

        kp = np.asarray(keypoints, np.float64)
        self.present = kp[:, 2] >= threshold
        self.q = kp[self.present, :2]
        size = float(np.linalg.norm(self.q.max(0) - self.q.min(0))) if len(self.q) else 1.0
        self.q = self.q / max(size, 1e-6)  # figure size = 1
        self.w = JOINT_WEIGHTS[self.present]
        self.body = body
        base = pose_from_state(base_state)
        self.rotations = base.rotations.copy()  # [J, 4]
        self.translation = np.asarray(base.translation, np.float64)
        angles = base_state["angles"]
        self.x0 = np.array([float(angles.get(b, {}).get(a, 0.0)) for b, a in FIT_ANGLES])
        lims = [LIMITS[b] for b, _ in FIT_ANGLES]
        self.lo = np.array([lim.low[lim.names.index(a)] for lim, (_, a) in zip(lims, FIT_ANGLES)], np.float64)
        self.hi = np.array([lim.high[lim.names.index(a)] for lim, (_, a) in zip(lims, FIT_ANGLES)], np.float64)
        self.x0 = np.clip(self.x0, self.lo, self.hi)
        self.base_angles = {b: dict(angles.get(b, {})) for b, _ in FIT_ANGLES}

    def points(self, x: np.ndarray) -> np.ndarray:
        """Body keypoints ``[B, 18, 3]`` for angle vectors ``x [B, K]`` (the last column, azimuth, unused)."""
        from kyara.body.skeleton import BONE_INDEX
        from kyara.pose.keypoints import body_keypoints
        from kyara.pose.limits import LIMITS, angles_to_rotation

        b = len(x)
        rot = np.repeat(self.rotations[None], b, axis=0)
        by_bone: dict[str, list[int]] = {}
        for i, (bone, _) in enumerate(FIT_ANGLES):
            by_bone.setdefault(bone, []).append(i)
        for bone, cols in by_bone.items():
            names = LIMITS[bone].names
            vec = np.tile([self.base_angles[bone].get(n, 0.0) for n in names], (b, 1)).astype(np.float64)
            for i in cols:
                vec[:, names.index(FIT_ANGLES[i][1])] = x[:, i]
            rot[:, BONE_INDEX[bone]] = angles_to_rotation(bone, vec)
        trans = np.repeat(self.translation[None], b, axis=0)
        return body_keypoints(self.body, rot, trans).body

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """``[B, R]``: joint residuals (figure size 1), then the prior on the angles."""
        p = project_points(self.points(x)[:, self.present], x[:, -1])
        r = similarity_residuals(p, self.q, self.w).reshape(len(x), -1)
        prior = PRIOR * (x[:, :-1] - self.x0) / 90.0
        return np.concatenate([r, prior], axis=1)


def fit_pose_2d(body, keypoints: np.ndarray, base_state: dict, threshold: float = 0.3,
                starts: tuple[float, ...] = START_AZIMUTHS, max_nfev: int = 40) -> PoseFit:
    """Angles and camera azimuth that make ``body`` posed from ``base_state`` show COCO-18
    ``keypoints [18, 3]`` (pixels x right, y down, confidence); joints under ``threshold`` are
    ignored. Raises ``ValueError`` when fewer than :data:`MIN_JOINTS` body joints are given."""
    from scipy.optimize import least_squares

    kp = np.asarray(keypoints, np.float64)
    if kp.shape != (18, 3) or not np.all(np.isfinite(kp)):
        raise ValueError(f"keypoints have shape {kp.shape}, expected [18, 3] finite (x, y, confidence)")
    prob = _Problem(body, base_state, kp, threshold)
    n_body = int(prob.present[1:14].sum())
    if n_body < MIN_JOINTS:
        raise ValueError(f"{n_body} body joints found, expected at least {MIN_JOINTS} to fit the pose")
    lo = np.append(prob.lo, -720.0)
    hi = np.append(prob.hi, 720.0)
    step = 0.5  # degrees, finite differences

    def fun(x):
        return prob.residuals(x[None])[0]

    def jac(x):
        xs = np.repeat(x[None], len(x) + 1, axis=0)
        h = np.where(x + step <= hi, step, -step)
        xs[np.arange(1, len(x) + 1), np.arange(len(x))] += h
        r = prob.residuals(xs)
        return (r[1:] - r[0]).T / h

    best = None
    for az in starts:
        res = least_squares(fun, np.append(prob.x0, az), jac=jac, bounds=(lo, hi), method="trf", max_nfev=max_nfev,
                            x_scale=np.full(len(lo), 30.0))
        if best is None or res.cost < best.cost:
            best = res
    x = best.x
    angles = {b: dict(a) for b, a in base_state["angles"].items()}
    for (bone, angle), v in zip(FIT_ANGLES, x[:-1]):
        angles.setdefault(bone, {})[angle] = round(float(v), 2)
    r = prob.residuals(x[None])[0][: 2 * int(prob.present.sum())].reshape(-1, 2) / np.sqrt(prob.w)[:, None]
    az = float((x[-1] + 180.0) % 360.0 - 180.0)
    state = {"name": "reference", "angles": angles, "translation": list(base_state["translation"])}
    return PoseFit(state, 180.0 if az == -180.0 else az, float(np.sqrt((r ** 2).sum(1).mean())),
                   int(prob.present.sum()))
