"""Secondary motion for characters: hair, skirt and coat-tail chains swing during a motion with the
VRM spring-bone algorithm (:mod:`kyara.motion.springs`), so previews match a VRM viewer.

:func:`spring_pose_rotations` turns a 55-bone :class:`~kyara.pose.pose.Motion` into local
rotations for every bone of the character (55 humanoid + extra), the extra bones' rotations
coming from the simulation. Colliders sit on the head, torso, legs, arms and hands; a chain
does not collide with the arm it hangs from. The exported VRM carries the same colliders and
groups (:func:`body_colliders`, :func:`chain_collider_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES, PARENTS


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


BODY_GROUP = "body"
ARM_GROUPS = tuple(f"{side}{b}" for side in ("left", "right") for b in ("UpperArm", "LowerArm", "Hand"))


def body_colliders(rest_joints: np.ndarray, dims: dict) -> list[tuple[str, object]]:
    """``(group, collider)`` pairs the chains collide with (rest-pose world coordinates, carried
    by their bones), the same set the simulation and the VRM exports use.

    Group ``"body"``: the head; the torso as capsules along the spine (chest, waist, hips); upper
    and lower legs. The arms: upper arm, forearm and hand, each its own group named after its bone
    (so a sleeve chain can leave out the one bone it hangs from): coat tails and skirts are pushed
    aside by a hanging hand, sleeve pouches by the torso, the other arm and their own arm's other
    half. Radii are the body's own measures, kept a little inside the skin so chains that start on
    the body surface (skirts, coat tails) are not pushed off at rest."""
    from kyara.motion.springs import CapsuleCollider, SphereCollider

    j = lambda n: tuple(float(x) for x in rest_joints[BONE_INDEX[n]])  # noqa: E731
    head = np.asarray(j("head"))
    chest_r = dims.get("chest_girth", 2 * np.pi * 0.8 * dims["hip_half"]) / (2 * np.pi)
    waist_r = dims.get("waist_girth", 2 * np.pi * 0.65 * dims["hip_half"]) / (2 * np.pi)
    body = [SphereCollider("head", tuple(head + [0.0, 0.45 * dims["h"], 0.0]), 0.5 * dims["h"]),
            CapsuleCollider("upperChest", j("chest"), j("upperChest"), 0.8 * dims["hip_half"]),
            CapsuleCollider("spine", j("spine"), j("chest"), 0.85 * min(chest_r, waist_r)),
            CapsuleCollider("hips", j("hips"), j("spine"), 0.85 * waist_r)]
    for side in ("left", "right"):
        body.append(CapsuleCollider(f"{side}UpperLeg", j(f"{side}UpperLeg"), j(f"{side}LowerLeg"), dims["r_thigh"]))
        body.append(CapsuleCollider(f"{side}LowerLeg", j(f"{side}LowerLeg"), j(f"{side}Foot"),
                                    dims.get("r_calf", 0.8 * dims["r_thigh"])))
    out = [(BODY_GROUP, c) for c in body]
    r_up = dims.get("r_upper_arm", 0.45 * dims["r_thigh"])
    r_fore = dims.get("r_forearm", 0.8 * r_up)
    palm = dims.get("palm_len", 0.45 * dims.get("hand_len", 0.15))
    r_hand = 0.5 * dims.get("palm_w", 2.2 * r_fore)
    for side in ("left", "right"):
        hand = np.asarray(j(f"{side}Hand"))
        out_dir = hand - np.asarray(j(f"{side}LowerArm"))
        out_dir /= max(float(np.linalg.norm(out_dir)), 1e-9)
        palm_c = tuple(hand + out_dir * 0.5 * palm)
        up, low, hd = f"{side}UpperArm", f"{side}LowerArm", f"{side}Hand"
        out += [(up, CapsuleCollider(up, j(up), j(low), 0.9 * r_up)),
                (low, CapsuleCollider(low, j(low), j(hd), 0.9 * r_fore)),
                (hd, SphereCollider(hd, palm_c, r_hand))]
    return out


def chain_collider_groups(driver: str) -> tuple[str, ...]:
    """The collider groups a chain hanging from ``driver`` (a VRM bone name) collides with: all,
    except the arm bone it hangs from (a sleeve chain starts inside that bone's collider)."""
    return (BODY_GROUP,) + tuple(g for g in ARM_GROUPS if g != driver)


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
    colliders = body_colliders(rest_joints, dims)
    sim_chains = []
    for driver, idx in chains:
        s = springs[idx[0]] or {}
        settings = SpringSettings(stiffness=float(s.get("stiffness", 1.0)), drag_force=float(s.get("drag", 0.4)),
                                  gravity_power=float(s.get("gravity_power", 0.0)),
                                  hit_radius=float(s.get("hit_radius", 0.02)))
        pts = extra_rest[idx]
        if len(pts) < 2:  # a single joint: give it a tail along its offset from the driver
            pts = np.stack([pts[0], pts[0] + (pts[0] - rest_joints[driver])])
        groups = chain_collider_groups(BONES[driver])
        use = tuple(k for k, (g, _) in enumerate(colliders) if g in groups)
        sim_chains.append(SpringChain(pts, driver, settings, colliders=use))
    results = simulate_springs(sim_chains, A, [c for _, c in colliders], dt=1.0 / motion.fps)
    for (driver, idx), res in zip(chains, results):
        parent_world = g_rot[:, driver]  # [F, 3, 3]
        for k, e in enumerate(idx):
            world = res.rotations[:, min(k, res.rotations.shape[1] - 1)]
            rot[:, NUM_BONES + e] = np.einsum("fji,fjk->fik", parent_world, world)  # R_parent^T R_world
            parent_world = world
    return rot


@dataclass(frozen=True)
class SettleConfig:
    """How a static pose is settled: the pose held still for ``frames`` spring updates at ``fps``."""

    frames: int = 40  # spring updates (the chains start from their rest shape carried by the pose)
    fps: float = 30.0


def _rig_of(character_or_adapter):
    """(rest_joints [55, 3], dims, extra_rest [E, 3], extra_parents [E], springs [E]) of a
    :class:`~kyara.character.model.Character` or an :class:`~kyara.avatar.body.AvatarBody`."""
    obj = character_or_adapter
    if hasattr(obj, "extra_bones") and hasattr(obj, "body"):  # Character
        bones = obj.extra_bones
        index = {n: i for i, n in enumerate(obj.bone_names)}
        extra_parents = np.array([index[b.parent] for b in bones], dtype=np.int64)
        extra_rest = np.array([b.position for b in bones], dtype=np.float64).reshape(-1, 3)
        return obj.body.rest_joints, obj.body.layout.dims, extra_rest, extra_parents, tuple(b.spring for b in bones)
    if hasattr(obj, "extra_rest") and hasattr(obj, "extra_parents"):  # AvatarBody
        springs = tuple(obj.extra_springs) or (None,) * len(obj.extra_rest)
        return obj.rest_joints, obj.layout.dims, obj.extra_rest, obj.extra_parents, springs
    raise ValueError(f"settle_rotations got a {type(obj).__name__}, expected a Character or an AvatarBody")


def has_springs(character_or_adapter) -> bool:
    """True when the character has at least one spring chain (something to settle)."""
    _, _, extra_rest, extra_parents, springs = _rig_of(character_or_adapter)
    return bool(spring_chains(extra_rest, extra_parents, springs))


def settle_rotations(character_or_adapter, pose, frames: int | None = None,
                     config: SettleConfig | None = None) -> np.ndarray:
    """``[55 + E, 3, 3]`` local rotations of a static ``pose`` (:class:`~kyara.pose.pose.Pose`)
    with the spring chains settled: the pose is held still for ``frames`` updates of the VRM
    spring-bone simulation (from the rest shape, with the body colliders), and the last frame is
    returned. Hair, skirt, coat-tail and sleeve chains hang under gravity and lie on the body
    instead of keeping their T-pose direction relative to their parent bone. Results are cached
    per (character, pose, frames)."""
    from kyara.pose.pose import Motion

    cfg = config or SettleConfig()
    n = cfg.frames if frames is None else frames
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 1000:
        raise ValueError(f"settle frames {n!r} is out of range, expected an integer 1..1000")
    rot = np.asarray(pose.rotations, dtype=np.float64)
    trans = np.asarray(pose.translation, dtype=np.float64)
    if rot.shape != (NUM_BONES, 4) or trans.shape != (3,):
        raise ValueError(f"settle pose has rotations {rot.shape} and translation {trans.shape}, "
                         f"expected ({NUM_BONES}, 4) quaternions and (3,)")
    key = (int(n), float(cfg.fps), rot.tobytes(), trans.tobytes())
    cache = _cache_of(character_or_adapter)
    if key in cache:
        return cache[key].copy()
    rest_joints, dims, extra_rest, extra_parents, springs = _rig_of(character_or_adapter)
    held = Motion(np.repeat(rot[None], n, axis=0), np.repeat(trans[None], n, axis=0), fps=cfg.fps)
    out = spring_pose_rotations(rest_joints, dims, extra_rest, extra_parents, springs, held)[-1]
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = out
    return out.copy()


_CACHE_SIZE = 32


def _cache_of(obj) -> dict:
    """A small per-object cache dict (stored on the object itself, so it dies with it)."""
    cache = obj.__dict__.get("_settle_cache")
    if cache is None:
        cache = {}
        object.__setattr__(obj, "_settle_cache", cache)
    return cache
