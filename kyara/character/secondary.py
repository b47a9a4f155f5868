"""Secondary motion for characters: hair, skirt and coat-tail chains swing during a motion with the
VRM spring-bone algorithm (:mod:`kyara.motion.springs`), so previews match a VRM viewer.

:func:`spring_pose_rotations` turns a 55-bone :class:`~kyara.pose.pose.Motion` into local
rotations for every bone of the character (55 humanoid + extra), the extra bones' rotations
coming from the simulation. Colliders sit on the head, chest and both upper legs, as in the
exported VRM.
"""

from __future__ import annotations

import numpy as np

from kyara.body.skeleton import BONE_INDEX, NUM_BONES, PARENTS


def spring_chains(extra_rest: np.ndarray, extra_parents: np.ndarray, springs) -> list[tuple[int, list[int]]]:
    """Chains of extra bones: ``(driver humanoid bone, [extra indices root..tip])`` for every
    extra bone whose parent is a humanoid bone and that carries spring settings, following single
    extra children down to the tip."""
    E = len(extra_rest)
    children: dict[int, list[int]] = {}
    for e in range(E):
        children.setdefault(int(extra_parents[e]), []).append(e)
    chains = []
    for e in range(E):
        p = int(extra_parents[e])
        if p >= NUM_BONES or not springs[e]:
            continue
        chain = [e]
        while True:
            kids = children.get(NUM_BONES + chain[-1], [])
            if len(kids) != 1:
                break
            chain.append(kids[0])
        chains.append((p, chain))
    return chains


def _colliders(rest_joints: np.ndarray, dims: dict):
    from kyara.motion.springs import CapsuleCollider, SphereCollider

    j = lambda n: tuple(float(x) for x in rest_joints[BONE_INDEX[n]])  # noqa: E731
    head = np.asarray(j("head"))
    out = [SphereCollider("head", tuple(head + [0.0, 0.45 * dims["h"], 0.0]), 0.5 * dims["h"]),
           CapsuleCollider("upperChest", j("chest"), j("upperChest"), 0.8 * dims["hip_half"])]
    for side in ("left", "right"):
        out.append(CapsuleCollider(f"{side}UpperLeg", j(f"{side}UpperLeg"), j(f"{side}LowerLeg"), dims["r_thigh"]))
    return out


def spring_pose_rotations(rest_joints: np.ndarray, dims: dict, extra_rest: np.ndarray, extra_parents: np.ndarray,
                          springs, motion) -> np.ndarray:
    """``[F, 55 + E, 3, 3]`` local rotations: the motion's 55 bones, extra bones from the springs
    (extra bones outside any chain stay at rest)."""
    from kyara.motion.springs import SpringChain, SpringSettings, simulate_springs
    from kyara.pose.lbs import forward_kinematics, skinning_transforms

    F = motion.num_frames
    E = len(extra_rest)
    rot = np.concatenate([motion.matrices(), np.broadcast_to(np.eye(3), (F, E, 3, 3))], axis=1).copy()
    chains = spring_chains(extra_rest, extra_parents, springs)
    if not chains:
        return rot
    g_rot, g_pos = forward_kinematics(motion.matrices(), motion.translation, rest_joints, PARENTS)
    A = skinning_transforms(g_rot, g_pos, rest_joints)
    sim_chains = []
    for driver, idx in chains:
        s = springs[idx[0]] or {}
        settings = SpringSettings(stiffness=float(s.get("stiffness", 1.0)), drag_force=float(s.get("drag", 0.4)),
                                  gravity_power=float(s.get("gravity_power", 0.0)),
                                  hit_radius=float(s.get("hit_radius", 0.02)))
        pts = extra_rest[idx]
        if len(pts) < 2:  # a single joint: give it a tail along its offset from the driver
            pts = np.stack([pts[0], pts[0] + (pts[0] - rest_joints[driver])])
        sim_chains.append(SpringChain(pts, driver, settings))
    results = simulate_springs(sim_chains, A, _colliders(rest_joints, dims), dt=1.0 / motion.fps)
    for (driver, idx), res in zip(chains, results):
        parent_world = g_rot[:, driver]  # [F, 3, 3]
        for k, e in enumerate(idx):
            world = res.rotations[:, min(k, res.rotations.shape[1] - 1)]
            rot[:, NUM_BONES + e] = np.einsum("fji,fjk->fik", parent_world, world)  # R_parent^T R_world
            parent_world = world
    return rot
