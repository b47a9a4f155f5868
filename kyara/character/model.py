"""The dressed, rigged character: the body plus hair, face, garments and accessories as parts.

Every part is a list of closed, consistently wound triangle shells (one mesh per part), skinned
to the character's skeleton: the 55 VRM humanoid bones followed by extra bones (hair strands,
skirt and coat-tail chains) that parts may add. Rest pose = the body's T-pose, metres, +Z forward.

One entry point builds it: :func:`kyara.character.build.build_character`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kyara.body.model import Body
from kyara.body.skeleton import BONE_INDEX, BONES, NUM_BONES, PARENTS
from kyara.character.colors import shadow_colour, shadow_colours

PART_KINDS = ("body", "face", "hair", "garment", "accessory")


def hex_to_rgb(text: str) -> tuple[float, float, float]:
    """``"#rrggbb"`` -> sRGB floats in [0, 1]."""
    t = text.lstrip("#")
    if len(t) != 6:
        raise ValueError(f"colour '{text}' is not #rrggbb")
    return tuple(int(t[i:i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


def shade_of(rgb: tuple[float, float, float], amount: float = 0.72, skin: bool = False) -> tuple[float, float, float]:
    """An anime shade colour of ``rgb``: darker and slightly cooler (cloth, hair, props) or warmer
    and pinker (``skin``); see :func:`kyara.character.colors.shadow_colour`."""
    return shadow_colour(rgb, amount, skin=skin)


SKIN_MATERIAL = "skin"  # the body's material: its default shade is the warm skin shadow


@dataclass(frozen=True)
class Material:
    """MToon-like flat material: what the cel-shader and the VRM exporter need.

    The shading ramp, rim light and ink colour are the same for every material: they come from the
    preview's :class:`kyara.render.toon.ToonStyle`, and the VRM exporters write them from that style
    into every MToon material, so the previews and VRM viewers agree."""

    name: str
    base_color: tuple[float, float, float]  # sRGB [0, 1]
    shade_color: tuple[float, float, float] | None = None  # default: shade_of(base_color) (skin: warm)
    outline_width: float = 0.0015  # metres (MToon world-space outline width); 0 = no ink lines
    alpha: float = 1.0  # < 1: see-through (glasses lenses); exported with alphaMode BLEND

    @property
    def transparent(self) -> bool:
        return self.alpha < 1.0

    @property
    def shade(self) -> tuple[float, float, float]:
        if self.shade_color is not None:
            return self.shade_color
        return shade_of(self.base_color, skin=self.name == SKIN_MATERIAL)


@dataclass(frozen=True)
class ExtraBone:
    """A non-humanoid bone (hair strand, skirt or coat-tail joint). ``parent`` is a VRM bone name or
    an earlier extra bone. ``spring`` holds VRMC_springBone joint settings for chains that sway."""

    name: str
    parent: str
    position: tuple[float, float, float]  # rest position, metres
    spring: dict | None = None  # {"stiffness", "drag", "gravity_power", "hit_radius"}


@dataclass
class Part:
    """One part of the character: closed shells, skin weights into the character skeleton, a
    material, optional per-vertex colour override and morph targets (vertex offsets)."""

    name: str
    kind: str  # PART_KINDS
    vertices: np.ndarray  # [V, 3] float32, rest pose
    faces: np.ndarray  # [F, 3] int32
    joint_indices: np.ndarray  # [V, 4] int64 into Character.bone_names
    joint_weights: np.ndarray  # [V, 4] float32, rows sum to 1
    material: Material
    colors: np.ndarray | None = None  # [V, 3] sRGB override (iris, jersey number, trims)
    morphs: dict[str, np.ndarray] = field(default_factory=dict)  # name -> [V, 3] offsets, metres

    def __post_init__(self) -> None:
        if self.kind not in PART_KINDS:
            raise ValueError(f"part kind '{self.kind}' is unknown, expected one of {', '.join(PART_KINDS)}")
        self.vertices = np.asarray(self.vertices, dtype=np.float32)
        self.faces = np.asarray(self.faces, dtype=np.int32)
        self.joint_indices = np.asarray(self.joint_indices, dtype=np.int64)
        self.joint_weights = np.asarray(self.joint_weights, dtype=np.float32)
        v = len(self.vertices)
        if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= v):
            raise ValueError(f"part '{self.name}' has face indices outside its {v} vertices")
        if self.joint_indices.shape != (v, 4) or self.joint_weights.shape != (v, 4):
            raise ValueError(f"part '{self.name}' skin weights must be [{v}, 4]")


@dataclass
class Character:
    spec: object  # kyara.character.spec.CharacterSpec
    body: Body
    parts: list[Part]
    extra_bones: list[ExtraBone] = field(default_factory=list)

    @property
    def bone_names(self) -> list[str]:
        return list(BONES) + [b.name for b in self.extra_bones]

    @property
    def parents(self) -> np.ndarray:
        index = {n: i for i, n in enumerate(self.bone_names)}
        extra = [index[b.parent] for b in self.extra_bones]
        return np.concatenate([PARENTS, np.array(extra, dtype=np.int64)])

    @property
    def rest_joints(self) -> np.ndarray:
        extra = np.array([b.position for b in self.extra_bones], dtype=np.float64).reshape(-1, 3)
        return np.concatenate([self.body.rest_joints, extra], axis=0)

    @property
    def num_bones(self) -> int:
        return NUM_BONES + len(self.extra_bones)

    def part(self, name: str) -> Part:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)

    def merged(self, opaque_only: bool = False) -> dict[str, np.ndarray]:
        """All parts as one mesh: vertices, faces, joint_indices, joint_weights, base [V,3],
        shade [V,3], part_id [V] (index into ``parts``), outline [V] bool (the part's material has
        ink outlines). ``opaque_only`` leaves out see-through parts (lenses), for the cel-shaded
        previews, which do not blend."""
        verts, faces, ji, jw, base, shade, pid, ink = [], [], [], [], [], [], [], []
        offset = 0
        for i, p in enumerate(self.parts):
            if opaque_only and p.material.transparent:
                continue
            verts.append(p.vertices)
            faces.append(p.faces.astype(np.int64) + offset)
            ji.append(p.joint_indices)
            jw.append(p.joint_weights)
            b = np.tile(np.array(p.material.base_color, np.float32), (len(p.vertices), 1))
            s = np.tile(np.array(p.material.shade, np.float32), (len(p.vertices), 1))
            if p.colors is not None:
                b = np.asarray(p.colors, np.float32)
                s = shadow_colours(b, skin=p.material.name == SKIN_MATERIAL).astype(np.float32)
            base.append(b)
            shade.append(s)
            pid.append(np.full(len(p.vertices), i, np.int32))
            ink.append(np.full(len(p.vertices), p.material.outline_width > 0))
            offset += len(p.vertices)
        return dict(vertices=np.concatenate(verts), faces=np.concatenate(faces).astype(np.int32),
                    joint_indices=np.concatenate(ji), joint_weights=np.concatenate(jw),
                    base=np.concatenate(base), shade=np.concatenate(shade), part_id=np.concatenate(pid),
                    outline=np.concatenate(ink))

    def full_rotations(self, rotations: np.ndarray) -> np.ndarray:
        """Pad 55-bone rotations ``[..., 55, 3, 3]`` with identity for the extra bones."""
        rot = np.asarray(rotations, dtype=np.float64)
        if rot.shape[-1] == 4:
            from kyara.pose.rotations import quat_to_matrix

            rot = quat_to_matrix(rot)
        n_extra = len(self.extra_bones)
        if rot.shape[-3] == self.num_bones:
            return rot
        if rot.shape[-3] != NUM_BONES:
            raise ValueError(f"rotations have {rot.shape[-3]} bones, expected {NUM_BONES} or {self.num_bones}")
        eye = np.broadcast_to(np.eye(3), rot.shape[:-3] + (n_extra, 3, 3))
        return np.concatenate([rot, eye], axis=-3)

    def pose_vertices(self, rotations: np.ndarray, translation: np.ndarray | None = None,
                      mesh: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pose every part: (vertices [..., V, 3] of :meth:`merged`, joints [..., J, 3])."""
        from kyara.pose.lbs import forward_kinematics, linear_blend_skinning, skinning_transforms

        rot = self.full_rotations(rotations)
        if translation is None:
            translation = np.zeros(rot.shape[:-3] + (3,))
        m = mesh if mesh is not None else self.merged()
        rest = self.rest_joints
        g_rot, g_pos = forward_kinematics(rot, translation, rest, self.parents)
        A = skinning_transforms(g_rot, g_pos, rest)
        dense = np.zeros((len(m["vertices"]), self.num_bones), dtype=np.float32)
        np.add.at(dense, (np.repeat(np.arange(len(m["vertices"])), 4), m["joint_indices"].ravel()),
                  m["joint_weights"].ravel())
        return linear_blend_skinning(m["vertices"], dense, A.astype(np.float32)), g_pos

    def pose(self, pose, mesh: dict[str, np.ndarray] | None = None,
             secondary: bool = True, collide: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Pose every part with a :class:`~kyara.pose.pose.Pose` (or a ``Motion``): (vertices
        [..., V, 3], joints [..., J, 3]). With ``secondary`` (the default) the spring chains (hair,
        skirts, coat tails, sleeves) hang as the VRM spring bones settle them in the held pose
        (a Motion: swing over the clip); ``secondary=False`` keeps them at rest relative to their
        parent bones, like :meth:`pose_vertices`. With ``collide`` (the default) garment vertices
        that end up inside the posed body are pushed back out (:mod:`kyara.character.collide`)."""
        m = mesh if mesh is not None else self.merged()
        rot = self.secondary_rotations(pose) if secondary else pose.rotations
        verts, joints = self.pose_vertices(rot, pose.translation, m)
        return (self.push_garments_out(verts, m) if collide else verts), joints

    def push_garments_out(self, vertices: np.ndarray, mesh: dict[str, np.ndarray]) -> np.ndarray:
        """Posed ``vertices [..., V, 3]`` of ``mesh`` (from :meth:`merged`) with the garment vertices
        inside the posed body moved out of it; unchanged when the mesh holds no body or no garment."""
        from kyara.character.collide import push_out_of_body

        kinds = np.array([p.kind for p in self.parts])
        part_kind = kinds[mesh["part_id"]]  # [V]
        body = np.flatnonzero(part_kind == "body")
        cloth = np.flatnonzero(part_kind == "garment")
        if len(body) != len(self.body.vertices) or len(cloth) == 0:
            return vertices
        rest = mesh["vertices"]
        out = np.array(vertices, dtype=np.float32, copy=True)
        frames = out.reshape((-1,) + out.shape[-2:])
        for f in frames:
            moved, _ = push_out_of_body(f[body], self.body.faces, f[cloth], rest[body], rest[cloth])
            f[cloth] = moved
        return out

    def secondary_rotations(self, pose) -> np.ndarray:
        """``[..., 55 + E, 3, 3]`` local rotations of a Pose (chains settled) or a Motion (chains
        swinging over the clip); the pose's own rotations when the character has no spring chain."""
        from kyara.character.secondary import has_springs, settle_rotations, spring_pose_rotations
        from kyara.pose.pose import Motion

        if not self.extra_bones or not has_springs(self):
            return self.full_rotations(pose.rotations)
        if isinstance(pose, Motion):
            index = {n: i for i, n in enumerate(self.bone_names)}
            parents = np.array([index[b.parent] for b in self.extra_bones], dtype=np.int64)
            return spring_pose_rotations(self.body.rest_joints, self.body.layout.dims, self.rest_joints[NUM_BONES:],
                                         parents, tuple(b.spring for b in self.extra_bones), pose)
        return settle_rotations(self, pose)


def bone_index(character: Character, name: str) -> int:
    if name in BONE_INDEX:
        return BONE_INDEX[name]
    for i, b in enumerate(character.extra_bones):
        if b.name == name:
            return NUM_BONES + i
    raise KeyError(name)


def character_udp(character: Character, mesh: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """[V, 3] float32 UDP of the merged mesh: its A-pose xyz normalized per axis to [0, 1] (CoNR).

    The A-pose is the body's (upper arms 45 degrees down); extra bones stay at rest. The bounding
    box is the character's own, so the same character gives the same colours in every pose.
    """
    from kyara.body.model import a_pose_rotations

    m = mesh if mesh is not None else character.merged()
    a, _ = character.pose_vertices(a_pose_rotations(), np.zeros(3), m)
    lo, hi = a.min(axis=0), a.max(axis=0)
    return np.clip((a - lo) / np.maximum(hi - lo, 1e-9), 0.0, 1.0).astype(np.float32)


def character_part_labels(character: Character, mesh: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """[V] uint8 body-part label (kyara.body.model.PART_NAMES) per merged vertex: the body keeps its
    own labels, head-worn parts (face, hair, hats, glasses) are 'head', garments take the label of
    the body surface under them."""
    from kyara.character.skinning import closest_body_points

    m = mesh if mesh is not None else character.merged()
    body = character.body
    labels = np.zeros(len(m["vertices"]), dtype=np.uint8)
    for i, p in enumerate(character.parts):
        sel = m["part_id"] == i
        if p.kind == "body":
            labels[sel] = body.parts
        elif p.kind == "garment":
            tri, bary = closest_body_points(body, m["vertices"][sel].astype(np.float64))
            corner = body.faces[tri][np.arange(len(tri)), np.argmax(bary, axis=1)]
            labels[sel] = body.parts[corner]
        else:
            labels[sel] = 0
    return labels
