"""Skin weights for garments: nearest-skin copies, arm-axis sleeves, leg-blended skirts, tail chains.

All functions return dense weights ``[N, J] float64`` (``J`` = 55 VRM bones + the garment
module's extra bones) so modes can be blended smoothly; :func:`top4` turns them into the
``[N, 4]`` indices and weights a :class:`~kyara.character.model.Part` stores.
"""

from __future__ import annotations

import numpy as np

from kyara.body.skeleton import BONE_INDEX, NUM_BONES
from kyara.character.garment_shapes import smoothstep


def dense_of(idx: np.ndarray, w: np.ndarray, num_bones: int) -> np.ndarray:
    """``[N, 4]`` indices/weights -> ``[N, num_bones]``."""
    out = np.zeros((len(idx), num_bones))
    np.add.at(out, (np.repeat(np.arange(len(idx)), idx.shape[1]), idx.ravel()), w.ravel())
    return out


def top4(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The four largest influences per row, renormalized in float32: ``([N,4] int64, [N,4] float32)``."""
    idx = np.argsort(-dense, axis=1, kind="stable")[:, :4]
    w = np.take_along_axis(dense, idx, axis=1)
    w = np.maximum(w, 0.0)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    w32 = w.astype(np.float32)
    w32 /= w32.sum(axis=1, keepdims=True, dtype=np.float32)
    return idx.astype(np.int64), w32


def top4_reference(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slow per-row version of :func:`top4` (for tests)."""
    idx = np.zeros((len(dense), 4), dtype=np.int64)
    w = np.zeros((len(dense), 4), dtype=np.float32)
    for i, row in enumerate(dense):
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))[:4]
        vals = np.array([max(row[j], 0.0) for j in order])
        vals = vals / max(vals.sum(), 1e-12)
        idx[i] = order
        w[i] = vals.astype(np.float32)
        w[i] /= w[i].sum(dtype=np.float32)
    return idx, w


def nearest(body, points: np.ndarray, num_bones: int) -> np.ndarray:
    """Weights of the nearest body surface point (garments that lie on the skin)."""
    from kyara.character.skinning import transfer_weights

    if len(points) == 0:
        return np.zeros((0, num_bones))
    idx, w = transfer_weights(body, points)
    return dense_of(idx, w, num_bones)


def arm_axis(body, points: np.ndarray, num_bones: int) -> np.ndarray:
    """Sleeves that stand off the arm (kimono pouches, bell sleeves): the weights of the arm's
    skin at the same distance along the T-pose arm, blended into the nearest-skin weights over
    the shoulder so the sleeve follows the arm rigidly without tearing at the armhole."""
    d = body.layout.dims
    j = body.layout.joint
    ax = np.abs(points[:, 0])
    wrist = float(j("leftHand")[0])
    side = np.where(points[:, 0] >= 0, 1.0, -1.0)
    x = side * np.clip(ax, d["shoulder_x"], wrist - 0.5 * d["r_wrist"])
    elbow = j("leftLowerArm")
    shoulder = j("leftUpperArm")
    t = np.clip((np.abs(x) - shoulder[0]) / (wrist - shoulder[0]), 0.0, 1.0)
    z = shoulder[2] + (elbow[2] - shoulder[2]) * np.minimum(2 * t, 1.0)
    axis_pts = np.stack([x, np.full(len(x), d["arm_y"]), z], axis=1)
    # push the query onto the arm's skin along the original offset so the copy is from the arm
    on_arm = nearest(body, axis_pts, num_bones)
    near = nearest(body, points, num_bones)
    blend = smoothstep(0.75 * d["shoulder_x"], 1.1 * d["shoulder_x"], ax)[:, None]
    return (1.0 - blend) * near + blend * on_arm


def leg_axis_point(body, y: np.ndarray, sx: float) -> np.ndarray:
    """Points on the leg's front-back centre line at heights ``y`` (``sx`` = +1 left, -1 right)."""
    d = body.layout.dims
    j = body.layout.joint
    side = "left" if sx > 0 else "right"
    hip, knee, ankle = j(f"{side}UpperLeg"), j(f"{side}LowerLeg"), j(f"{side}Foot")
    yy = np.clip(y, ankle[1] + 0.2 * d["r_ankle"], hip[1] - 0.5 * d["r_thigh"])
    ys = np.array([ankle[1], knee[1], hip[1]])
    x = np.interp(yy, ys, [ankle[0], knee[0], hip[0]])
    z = np.interp(yy, ys, [ankle[2], knee[2], hip[2]])
    return np.stack([x, yy, z], axis=1)


def flowing(body, points: np.ndarray, num_bones: int, y_top: float, y_full: float,
            lower_leg: bool = True, knee_span: float = 0.25) -> np.ndarray:
    """Skirts, robes, coat hems: nearest-skin weights above ``y_top`` fading into a smooth
    left-leg / right-leg blend (by x) below ``y_full``, so the hem follows both legs and never
    tears between them. ``lower_leg=False`` keeps the hem on the thighs only; otherwise the
    thigh/shin split is a smooth ramp ``knee_span`` (fraction of knee-to-ankle) either side of the
    knee, half and half at the knee itself."""
    d = body.layout.dims
    y = points[:, 1]
    legs = np.zeros((len(points), num_bones))
    s = 0.5 * (1.0 + np.tanh(points[:, 0] / (0.6 * d["leg_x"])))  # 1 = left
    for sx, share in ((1.0, s), (-1.0, 1.0 - s)):
        w = nearest(body, leg_axis_point(body, y, sx), num_bones)
        side = "left" if sx > 0 else "right"
        lo, up = BONE_INDEX[f"{side}LowerLeg"], BONE_INDEX[f"{side}UpperLeg"]
        if not lower_leg:
            for b in (lo, BONE_INDEX[f"{side}Foot"], BONE_INDEX[f"{side}Toes"]):
                w[:, up] += w[:, b]
                w[:, b] = 0.0
        else:
            # a wide knee blend: cloth hanging off the leg around the knee turns half-way with the
            # bent knee (into the wedge between thigh and shin) instead of folding into the thigh
            knee, ankle = body.layout.joint(f"{side}LowerLeg")[1], body.layout.joint(f"{side}Foot")[1]
            f = smoothstep(knee - knee_span * (knee - ankle), knee + knee_span * (knee - ankle), y)
            both = w[:, up] + w[:, lo]
            w[:, up], w[:, lo] = f * both, (1.0 - f) * both
        legs += share[:, None] * w
    near = nearest(body, points, num_bones)
    a = smoothstep(y_top, y_full, y)[:, None]
    return (1.0 - a) * near + a * legs


def chain(points_y: np.ndarray, joint_ys: list[float], first_index: int, num_bones: int) -> np.ndarray:
    """Weights along a vertical bone chain: each point between two joints (by height) blends the
    two; above the first joint it is all on the first."""
    out = np.zeros((len(points_y), num_bones))
    ys = np.asarray(joint_ys, dtype=np.float64)  # decreasing heights
    pos = np.interp(-points_y, -ys, np.arange(len(ys), dtype=np.float64))
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(ys) - 1)
    f = pos - lo
    np.add.at(out, (np.arange(len(points_y)), first_index + lo), 1.0 - f)
    np.add.at(out, (np.arange(len(points_y)), first_index + hi), f)
    return out


def curtain(points_y: np.ndarray, s: np.ndarray, chain_s, joint_ys, firsts, num_bones: int,
            period: float | None = None) -> np.ndarray:
    """Cloth hanging on several side-by-side chains (a sleeve pouch along the forearm, a coat hem
    around the legs): each point blends the two chains either side of its coordinate ``s``
    (linearly; clamped at the ends, or wrapping round when ``period`` is given, e.g. ``2 pi`` for
    an angle), and along each chain by height (:func:`chain`). ``chain_s`` [C] increasing,
    ``joint_ys`` [C] lists of joint heights, ``firsts`` [C] first bone index of each chain.

    A chain carries only the cloth next to it, so a chain that swings or is pushed by a collider
    moves a strip of cloth, not the whole panel about one far-away root."""
    cs = np.asarray(chain_s, dtype=np.float64)
    n = len(cs)
    if n == 0 or np.any(np.diff(cs) <= 0):
        raise ValueError(f"curtain chain coordinates {cs.tolist()} must be increasing")
    s = np.asarray(s, dtype=np.float64)
    if period is not None and n > 1:
        s = cs[0] + np.mod(s - cs[0], period)  # into [cs0, cs0 + period)
        pos = np.interp(s, np.append(cs, cs[0] + period), np.arange(n + 1, dtype=np.float64))
        lo = np.floor(pos).astype(np.int64)
        f = pos - lo
        lo, hi = lo % n, (lo + 1) % n
    else:
        pos = np.interp(s, cs, np.arange(n, dtype=np.float64))
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        f = pos - lo
    out = np.zeros((len(points_y), num_bones))
    for k in range(n):
        wk = np.where(lo == k, 1.0 - f, 0.0) + np.where(hi == k, f, 0.0)
        sel = wk > 0
        if sel.any():
            out[sel] += wk[sel, None] * chain(points_y[sel], list(joint_ys[k]), int(firsts[k]), num_bones)
    return out


def torso_index(name: str) -> int:
    return BONE_INDEX[name]


__all__ = ["dense_of", "top4", "top4_reference", "nearest", "arm_axis", "flowing", "chain", "curtain", "NUM_BONES"]
