"""Secondary motion: the VRM spring-bone algorithm (VRMC_springBone 1.0) on bone chains.

Hair (ponytails, twin tails), skirts and coat tails hang from a skeleton bone as chains of joints
that swing with the motion. The update follows the reference algorithm of the spec
(``vrm-specification/specification/VRMC_springBone-1.0/README.md``, "SpringBone Algorithm",
non-normative, the behaviour UniVRM and three-vrm implement), per joint and per step ``dt``:

1. Verlet inertia and forces, in the chain's *center space* (world space when no ``center``)::

       next = cur + (cur - prev) * (1 - dragForce)
                  + dt * stiffness * (parentWorldRotation * initialLocalRotation * boneAxis)
                  + dt * gravityPower * gravityDir            # gravity given in world space

2. Length constraint (world space): ``next = head + normalize(next - head) * boneLength``.
3. Colliders (world space), each in turn: when ``dist = |next - c| - (radius + hitRadius) < 0``
   (``c`` = sphere centre or the nearest point of the capsule segment) push
   ``next -= normalize(next - c) * dist`` and apply the length constraint again.
4. ``prev = cur; cur = next``; the joint's rotation turns its rest axis onto ``next - head``
   (shortest arc); the next joint of the chain hangs from that rotated joint.

Joints update root to tip. kyara conventions make this simple: every bone and chain joint has
the identity as rest orientation, so "initialLocalRotation" is the identity, the bone axis is the
rest offset to the child, and a driver bone is given by its rest->posed transform
``A = G @ inverse(rest G)`` (``[3, 4]``, :func:`kyara.pose.lbs.skinning_transforms`): a point
rigidly carried by the bone at rest position ``x`` is at ``A @ [x, 1]``.

One addition to the spec: the push of step 3 followed by the length constraint can leave the tail
slightly inside a collider (a VRM viewer resolves that over the next frames). Here, when it
does, the tail moves to the nearest point where the bone-length sphere meets the collider
surface, so no tail ends a step inside a collider.

:func:`simulate_springs` is batched over chains (one numpy operation per joint depth and
collider); :func:`simulate_springs_reference` is the slow per-joint loop the tests compare it with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kyara.body.skeleton import BONE_INDEX

_EPS = 1e-12


@dataclass(frozen=True)
class SpringSettings:
    """Per-joint spring parameters (VRMC_springBone ``springs[*].joints[*]``)."""

    stiffness: float = 1.0  # >= 0, pull back towards the rest direction (per second)
    gravity_power: float = 0.0  # >= 0, metres per second of pull along gravity_dir
    gravity_dir: tuple[float, float, float] = (0.0, -1.0, 0.0)  # world direction (normalised here)
    drag_force: float = 0.4  # 0..1, 1 = no inertia
    hit_radius: float = 0.02  # metres, joint radius against colliders

    def __post_init__(self) -> None:
        for name in ("stiffness", "gravity_power", "hit_radius"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"spring {name} {v!r} is not valid, expected a finite number >= 0")
        if not (np.isfinite(self.drag_force) and 0.0 <= self.drag_force <= 1.0):
            raise ValueError(f"spring drag_force {self.drag_force!r} is out of range, expected 0..1")
        g = np.asarray(self.gravity_dir, dtype=np.float64).reshape(-1)
        if g.shape != (3,) or not np.all(np.isfinite(g)) or np.linalg.norm(g) < 1e-9:
            raise ValueError(f"spring gravity_dir {self.gravity_dir!r} is not a non-zero 3-vector")
        object.__setattr__(self, "gravity_dir", tuple(float(x) for x in g / np.linalg.norm(g)))


def _bone(b: int | str | None, num_bones: int | None = None, what: str = "bone") -> int:
    """Bone index of a name or index; -1 for None (world)."""
    if b is None:
        return -1
    if isinstance(b, str):
        if b not in BONE_INDEX:
            raise ValueError(f"{what} '{b}' is not a VRM humanoid bone")
        return BONE_INDEX[b]
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0 \
            or (num_bones is not None and b >= num_bones):
        raise ValueError(f"{what} {b!r} is not a bone name or an index 0..{(num_bones or 1) - 1}")
    return int(b)


@dataclass(frozen=True, eq=False)
class SpringChain:
    """A chain of ``K >= 2`` joints; joint 0 is carried rigidly by the ``parent`` bone, joints
    ``0 .. K-2`` swing (joint ``k``'s tail is joint ``k+1``), joint ``K-1`` is the end."""

    joints_rest: np.ndarray  # [K, 3] rest-pose world positions, metres
    parent: int | str  # driver bone (VRM bone name or index into the driver transforms)
    settings: SpringSettings | tuple[SpringSettings, ...] = SpringSettings()  # one, or K-1 (per joint)
    center: int | str | None = None  # bone whose space the inertia is evaluated in (VRM `center`)
    colliders: tuple[int, ...] | None = None  # indices into simulate_springs' colliders; None = all

    def __post_init__(self) -> None:
        j = np.asarray(self.joints_rest, dtype=np.float64)
        if j.ndim != 2 or j.shape[1] != 3 or j.shape[0] < 2 or not np.all(np.isfinite(j)):
            raise ValueError(f"chain joints_rest has shape {j.shape}, expected finite [K, 3] with K >= 2")
        seg = np.linalg.norm(np.diff(j, axis=0), axis=1)
        if np.any(seg < 1e-6):
            raise ValueError(f"chain segment {int(np.argmin(seg))} has length {seg.min():.3g} m, expected > 1e-6")
        object.__setattr__(self, "joints_rest", j)
        s = self.settings
        s = (s,) * (len(j) - 1) if isinstance(s, SpringSettings) else tuple(s)
        if len(s) != len(j) - 1 or not all(isinstance(x, SpringSettings) for x in s):
            raise ValueError(f"chain has {len(s)} settings, expected one SpringSettings or {len(j) - 1}")
        object.__setattr__(self, "settings", s)
        _bone(self.parent, what="chain parent")
        _bone(self.center, what="chain center")

    @property
    def num_joints(self) -> int:
        return int(self.joints_rest.shape[0])


@dataclass(frozen=True)
class SphereCollider:
    """A sphere carried by ``bone`` (centre = rest-pose world position) or fixed in the world."""

    bone: int | str | None  # None = world space
    offset: tuple[float, float, float]  # centre, metres (rest pose world coordinates)
    radius: float  # metres


@dataclass(frozen=True)
class CapsuleCollider:
    """A capsule (segment ``offset``-``tail`` swept by ``radius``) carried by ``bone`` or fixed."""

    bone: int | str | None
    offset: tuple[float, float, float]  # start centre, metres (rest pose world coordinates)
    tail: tuple[float, float, float]  # end centre, metres
    radius: float


@dataclass
class SpringResult:
    """One chain over all frames: world positions and world rotations (relative to the rest
    orientation, which is the identity) of every joint; the end joint takes its parent's."""

    positions: np.ndarray  # [F, K, 3] metres
    rotations: np.ndarray  # [F, K, 3, 3]


def motion_bone_transforms(rest_joints: np.ndarray, motion) -> np.ndarray:
    """Rest->posed transforms ``[F, J, 3, 4]`` of every bone of ``motion`` (a
    :class:`~kyara.pose.pose.Motion`) on a skeleton with ``rest_joints [J, 3]``: the driver input
    of :func:`simulate_springs`."""
    from kyara.body.skeleton import PARENTS
    from kyara.pose.lbs import forward_kinematics, skinning_transforms

    g_rot, g_pos = forward_kinematics(motion.matrices(), motion.translation, rest_joints, PARENTS)
    return skinning_transforms(g_rot, g_pos, rest_joints)


# -- checks and packing -----------------------------------------------------------------------
def _check(chains, transforms, colliders, dt, substeps):
    chains = list(chains)
    if not chains or not all(isinstance(c, SpringChain) for c in chains):
        raise ValueError("chains must be a non-empty list of SpringChain")
    A = np.asarray(transforms, dtype=np.float64)
    if A.ndim != 4 or A.shape[2:] != (3, 4) or A.shape[0] == 0 or not np.all(np.isfinite(A)):
        raise ValueError(f"driver transforms have shape {A.shape}, expected finite [F, J, 3, 4] with F > 0")
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt {dt!r} is not valid, expected seconds per frame > 0")
    if not (isinstance(substeps, (int, np.integer)) and 1 <= substeps <= 64):
        raise ValueError(f"substeps {substeps!r} is out of range, expected an integer 1..64")
    colliders = list(colliders or ())
    for i, c in enumerate(colliders):
        if not isinstance(c, (SphereCollider, CapsuleCollider)):
            raise ValueError(f"colliders[{i}] is a {type(c).__name__}, expected SphereCollider or CapsuleCollider")
        if not (np.isfinite(c.radius) and c.radius >= 0):
            raise ValueError(f"colliders[{i}] radius {c.radius!r} is not valid, expected >= 0 metres")
        _bone(c.bone, A.shape[1], f"colliders[{i}] bone")
    for ci, ch in enumerate(chains):
        _bone(ch.parent, A.shape[1], f"chains[{ci}] parent")
        _bone(ch.center, A.shape[1], f"chains[{ci}] center")
        for k in ch.colliders or ():
            if not 0 <= k < len(colliders):
                raise ValueError(f"chains[{ci}] names collider {k}, expected 0..{len(colliders) - 1}")
    return chains, A, colliders


def _driver_at(A: np.ndarray, f: int, s: int, substeps: int) -> np.ndarray:
    """Driver transforms ``[J, 3, 4]`` at substep ``s`` (1..substeps) between frames f-1 and f:
    slerped rotations, interpolated translations."""
    if s == substeps or f == 0:
        return A[f]
    from kyara.pose.rotations import matrix_to_quat, quat_slerp, quat_to_matrix

    w = s / substeps
    q = quat_slerp(matrix_to_quat(A[f - 1, :, :, :3]), matrix_to_quat(A[f, :, :, :3]), w)
    out = np.empty_like(A[f])
    out[:, :, :3] = quat_to_matrix(q)
    out[:, :, 3] = (1 - w) * A[f - 1, :, :, 3] + w * A[f, :, :, 3]
    return out


def _apply(T: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Affine ``T [..., 3, 4]`` applied to points ``p [..., 3]``."""
    return np.einsum("...ij,...j->...i", T[..., :3], p) + T[..., 3]


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS)


def _circle_fix(tail, head, length, c, r):
    """Batched: where ``tail`` (on the bone-length sphere around ``head``) is inside the sphere
    ``(c, r)``, move it to the nearest point of the circle where the two spheres meet."""
    d_vec = c - head
    d = np.linalg.norm(d_vec, axis=-1)
    inside = np.linalg.norm(tail - c, axis=-1) < r
    meet = inside & (d > _EPS) & (d <= length + r) & (d >= np.abs(length - r))
    if not np.any(meet):
        return tail
    u = d_vec / np.maximum(d, _EPS)[:, None]
    a = (length**2 - r**2 + d**2) / (2 * np.maximum(d, _EPS))  # circle plane, from the head along u
    h = np.sqrt(np.maximum(length**2 - a**2, 0.0))  # circle radius
    rel = tail - head
    w = rel - np.sum(rel * u, axis=-1, keepdims=True) * u
    # a tail exactly on the axis: any perpendicular will do
    alt = np.cross(u, np.where(np.abs(u[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]))
    w = np.where(np.linalg.norm(w, axis=-1, keepdims=True) > 1e-12, w, alt)
    fixed = head + a[:, None] * u + h[:, None] * _unit(w)
    return np.where(meet[:, None], fixed, tail)


def _segment_nearest(p, a, b):
    """Nearest points ``[N, 3]`` of segments ``a-b`` to points ``p``."""
    ab = b - a
    t = np.clip(np.sum((p - a) * ab, axis=-1) / np.maximum(np.sum(ab * ab, axis=-1), _EPS), 0.0, 1.0)
    return a + t[..., None] * ab


def _collide(tail, head, length, centre_of, radius, active):
    """Spec push + length constraint for one collider over all chains (``active [C]``), then the
    circle fix. ``centre_of(tail) -> [C, 3]`` gives the sphere centre (capsule: nearest point)."""
    c = centre_of(tail)
    d_vec = tail - c
    dist = np.linalg.norm(d_vec, axis=-1) - radius
    hit = active & (dist < 0)
    if not np.any(hit):
        return tail
    pushed = tail - _unit(d_vec) * dist[:, None]
    pushed = head + _unit(pushed - head) * length[:, None]
    out = np.where(hit[:, None], pushed, tail)
    for _ in range(3):  # a capsule's nearest point moves with the tail: refine a few times
        c = centre_of(out)
        fixed = _circle_fix(out, head, length, c, radius)
        out = np.where(hit[:, None], fixed, out)
    return out


def _from_to(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation matrices ``[N, 3, 3]`` turning unit ``a`` onto unit ``b``."""
    from kyara.pose.rotations import quat_to_matrix, rotation_between

    return quat_to_matrix(rotation_between(a, b))


# -- batched simulation -----------------------------------------------------------------------
def simulate_springs(chains: Sequence[SpringChain], bone_transforms: np.ndarray,
                     colliders: Sequence[SphereCollider | CapsuleCollider] = (), dt: float = 1 / 30,
                     substeps: int = 1) -> list[SpringResult]:
    """Simulate ``chains`` driven by ``bone_transforms [F, J, 3, 4]`` (rest->posed per bone, e.g.
    :func:`motion_bone_transforms`), one frame every ``dt`` seconds, ``substeps`` spring updates
    per frame (the driver is interpolated between frames). Frame 0 starts from the rest shape
    carried by the driver and is already one update. Returns one :class:`SpringResult` per chain.
    """
    chains, A, colliders = _check(chains, bone_transforms, colliders, dt, substeps)
    F, J = A.shape[:2]
    C = len(chains)
    K = np.array([c.num_joints for c in chains])
    S = int(K.max()) - 1  # simulated joints of the longest chain
    rest = np.zeros((C, S + 1, 3))
    for i, c in enumerate(chains):
        rest[i, :K[i]] = c.joints_rest
        steps = np.arange(1, S + 2 - K[i])[:, None]  # padding joints continue the last segment (unused)
        rest[i, K[i]:] = c.joints_rest[-1] + steps * (c.joints_rest[-1] - c.joints_rest[-2])
    seg = np.diff(rest, axis=1)  # [C, S, 3]
    length = np.linalg.norm(seg, axis=-1)  # [C, S]
    axis = seg / length[..., None]
    valid = np.arange(S)[None, :] < (K - 1)[:, None]  # [C, S]

    def per_joint(name):
        out = np.zeros((C, S) + np.shape(getattr(SpringSettings(), name)))
        for i, c in enumerate(chains):
            out[i, :K[i] - 1] = [getattr(s, name) for s in c.settings]
        return out

    stiff, gpow, drag, hit = (per_joint(n) for n in ("stiffness", "gravity_power", "drag_force", "hit_radius"))
    gravity = per_joint("gravity_dir") * gpow[..., None]  # [C, S, 3] world
    parent = np.array([_bone(c.parent) for c in chains])
    center = np.array([_bone(c.center) for c in chains])
    use = np.array([[c.colliders is None or k in c.colliders for k in range(len(colliders))]
                    for c in chains]).reshape(C, len(colliders))
    col_bone = np.array([_bone(c.bone) for c in colliders], dtype=np.int64)
    col_a = np.array([c.offset for c in colliders], dtype=np.float64).reshape(-1, 3)
    col_b = np.array([c.tail if isinstance(c, CapsuleCollider) else c.offset for c in colliders],
                     dtype=np.float64).reshape(-1, 3)
    col_r = np.array([c.radius for c in colliders], dtype=np.float64)
    ident = np.concatenate([np.eye(3), np.zeros((3, 1))], axis=1)

    def frames_of(At):  # center space [C, 3, 4] world->center and center->world
        Mc = np.where((center >= 0)[:, None, None], At[np.maximum(center, 0)], ident)
        Rt = np.swapaxes(Mc[:, :, :3], 1, 2)
        inv = np.concatenate([Rt, -np.einsum("cij,cj->ci", Rt, Mc[:, :, 3])[..., None]], axis=2)
        return Mc, inv

    # initial state: the rest chain carried rigidly by its parent at frame 0, in center space
    Mc0, inv0 = frames_of(A[0])
    tails0 = _apply(A[0][parent][:, None], rest[:, 1:])  # [C, S, 3] world
    cur = _apply(inv0[:, None], tails0)
    prev = cur.copy()
    pos_out = np.zeros((F, C, S + 1, 3))
    rot_out = np.zeros((F, C, S + 1, 3, 3))
    h = 1.0 / substeps * dt
    for f in range(F):
        for s in range(1, substeps + 1):
            At = _driver_at(A, f, s, substeps)
            Mc, inv = frames_of(At)
            Rc_t = inv[:, :, :3]
            Ap = At[parent]  # [C, 3, 4]
            R_p = Ap[:, :, :3].copy()  # parent world rotation of joint 0
            head = _apply(Ap, rest[:, 0])  # [C, 3]
            pos_out[f, :, 0] = head
            cw_a = np.where((col_bone >= 0)[:, None], _apply(At[np.maximum(col_bone, 0)], col_a), col_a)
            cw_b = np.where((col_bone >= 0)[:, None], _apply(At[np.maximum(col_bone, 0)], col_b), col_b)
            for k in range(S):
                v = valid[:, k]
                # 1. inertia + stiffness + gravity in center space
                target = np.einsum("cij,cj->ci", R_p, axis[:, k])  # world direction of the rest axis
                nxt = (cur[:, k] + (cur[:, k] - prev[:, k]) * (1.0 - drag[:, k, None])
                       + h * stiff[:, k, None] * np.einsum("cij,cj->ci", Rc_t, target)
                       + h * np.einsum("cij,cj->ci", Rc_t, gravity[:, k]))
                # 2. back to world, length constraint
                nxt_w = _apply(Mc, nxt)
                L = length[:, k]
                nxt_w = head + _unit(nxt_w - head) * L[:, None]
                # 3. colliders, in order
                for j in range(len(colliders)):
                    r = col_r[j] + hit[:, k]
                    if isinstance(colliders[j], SphereCollider):
                        centre_of = (lambda t, j=j: np.broadcast_to(cw_a[j], t.shape))
                    else:
                        centre_of = (lambda t, j=j: _segment_nearest(t, cw_a[j][None], cw_b[j][None]))
                    nxt_w = _collide(nxt_w, head, L, centre_of, r, use[:, j] & v)
                # 4. state, rotation of joint k, head of joint k+1
                prev[:, k] = np.where(v[:, None], cur[:, k], prev[:, k])
                cur[:, k] = np.where(v[:, None], _apply(inv, nxt_w), cur[:, k])
                to = np.einsum("cji,cj->ci", R_p, nxt_w - head)  # parent frame (rest orientation = I)
                R_w = R_p @ _from_to(axis[:, k], _unit(to))
                rot_out[f, :, k] = R_w
                pos_out[f, :, k + 1] = nxt_w
                R_p, head = R_w, nxt_w
            rot_out[f, :, S] = R_p
    results = []
    for i in range(C):
        n = K[i]
        rots = rot_out[:, i, :n].copy()
        rots[:, n - 1] = rots[:, n - 2]  # the end joint keeps its parent's orientation
        results.append(SpringResult(pos_out[:, i, :n].copy(), rots))
    return results


# -- slow reference ---------------------------------------------------------------------------
def simulate_springs_reference(chains: Sequence[SpringChain], bone_transforms: np.ndarray,
                               colliders: Sequence[SphereCollider | CapsuleCollider] = (), dt: float = 1 / 30,
                               substeps: int = 1) -> list[SpringResult]:
    """The same simulation as :func:`simulate_springs`, written as the spec's per-joint loop over
    frames, substeps, chains and joints with 3-vectors (slow; for tests)."""
    chains, A, colliders = _check(chains, bone_transforms, colliders, dt, substeps)
    F = A.shape[0]

    def xf(T, p):
        return T[:, :3] @ p + T[:, 3]

    def inv(T):
        Rt = T[:, :3].T
        return np.concatenate([Rt, (-Rt @ T[:, 3])[:, None]], axis=1)

    def from_to(a, b):  # Rodrigues, shortest arc
        c, d = np.cross(a, b), float(a @ b)
        if d < -1 + 1e-12:
            p = np.cross(a, [1.0, 0.0, 0.0])
            p = p if np.linalg.norm(p) > 1e-6 else np.cross(a, [0.0, 1.0, 0.0])
            p /= np.linalg.norm(p)
            return 2 * np.outer(p, p) - np.eye(3)
        vx = np.array([[0, -c[2], c[1]], [c[2], 0, -c[0]], [-c[1], c[0], 0]])
        return np.eye(3) + vx + vx @ vx / (1 + d)

    def resolve(tail, head, L, c, r):  # spheres meet: nearest point of their circle
        dv = c - head
        d = np.linalg.norm(dv)
        if not (np.linalg.norm(tail - c) < r and d > _EPS and abs(L - r) <= d <= L + r):
            return tail
        u = dv / d
        a = (L * L - r * r + d * d) / (2 * d)
        w = (tail - head) - ((tail - head) @ u) * u
        if np.linalg.norm(w) <= 1e-12:
            w = np.cross(u, [1.0, 0.0, 0.0] if abs(u[0]) < 0.9 else [0.0, 1.0, 0.0])
        return head + a * u + np.sqrt(max(L * L - a * a, 0.0)) * w / np.linalg.norm(w)

    identity = np.concatenate([np.eye(3), np.zeros((3, 1))], axis=1)
    results = []
    for ch in chains:
        n = ch.num_joints
        rest = ch.joints_rest
        p_idx, c_idx = _bone(ch.parent), _bone(ch.center)
        allowed = [k for k in range(len(colliders)) if ch.colliders is None or k in ch.colliders]
        M0 = A[0, c_idx] if c_idx >= 0 else identity
        cur = [xf(inv(M0), xf(A[0, p_idx], rest[k + 1])) for k in range(n - 1)]
        prev = [c.copy() for c in cur]
        pos = np.zeros((F, n, 3))
        rot = np.zeros((F, n, 3, 3))
        for f in range(F):
            for s in range(1, substeps + 1):
                At = _driver_at(A, f, s, substeps)
                M = At[c_idx] if c_idx >= 0 else identity
                Minv = inv(M)
                R_parent = At[p_idx][:, :3]
                head = xf(At[p_idx], rest[0])
                pos[f, 0] = head
                for k in range(n - 1):
                    st = ch.settings[k]
                    seg = rest[k + 1] - rest[k]
                    L = float(np.linalg.norm(seg))
                    axis = seg / L
                    g = np.array(st.gravity_dir) * st.gravity_power
                    h = dt / substeps
                    nxt = (cur[k] + (cur[k] - prev[k]) * (1 - st.drag_force)
                           + h * st.stiffness * (Minv[:, :3] @ (R_parent @ axis)) + h * (Minv[:, :3] @ g))
                    nxt = xf(M, nxt)
                    nxt = head + (nxt - head) / max(np.linalg.norm(nxt - head), _EPS) * L
                    for ci in allowed:
                        col = colliders[ci]
                        b = _bone(col.bone)
                        ca = xf(At[b], np.array(col.offset, float)) if b >= 0 else np.array(col.offset, float)
                        cb = ca
                        if isinstance(col, CapsuleCollider):
                            cb = xf(At[b], np.array(col.tail, float)) if b >= 0 else np.array(col.tail, float)

                        def near(p, ca=ca, cb=cb):  # sphere centre, or the capsule segment's nearest point
                            return _segment_nearest(p[None], ca[None], cb[None])[0]

                        r = col.radius + st.hit_radius
                        c = near(nxt)
                        dist = np.linalg.norm(nxt - c) - r
                        if dist < 0:
                            nxt = nxt - (nxt - c) / max(np.linalg.norm(nxt - c), _EPS) * dist
                            nxt = head + (nxt - head) / max(np.linalg.norm(nxt - head), _EPS) * L
                            for _ in range(3):
                                nxt = resolve(nxt, head, L, near(nxt), r)
                    prev[k], cur[k] = cur[k], xf(Minv, nxt)
                    to = R_parent.T @ (nxt - head)
                    R_w = R_parent @ from_to(axis, to / np.linalg.norm(to))
                    rot[f, k] = R_w
                    pos[f, k + 1] = nxt
                    R_parent, head = R_w, nxt
                rot[f, n - 1] = R_parent
        results.append(SpringResult(pos, rot))
    return results
