"""Garments: every outfit piece of a CharacterSpec as closed, skinned shells over the body.

``build_garments(spec, body) -> (parts, extra_bones)`` builds the pieces in layer order:
underwear level (t-shirt, trousers, shorts, skirt), footwear, mid layer (sports jersey, hoodie,
dress, kimono, sailor uniform), then coats and robes. Each layer is a shell between two level
sets of the field of everything already worn (:mod:`kyara.character.garment_shapes`), so layers
never cut into the body or each other; flowing pieces (skirts, robe hems, coat tails) are free
shapes kept outside that field and skinned to both legs (coat tails also to spring-bone chains).
The recipes per kind live in :mod:`kyara.character.garment_kinds` (registry and simple kinds),
``garment_tops`` (jersey, hoodie), ``garment_sailor``, ``garment_kimono``, ``garment_coats``,
``garment_hakama`` (kimono top, hakama) and ``garment_costumes`` (maid, lolita, idol, school swimsuit),
sharing the blocks of :mod:`kyara.character.garment_common`. Recipes also ask for fold lines
(:meth:`Wardrobe.fold`); once every layer is built they become one ``"<garment>-folds"`` part per
garment (:mod:`kyara.character.garment_folds`): thin dark ridges on the cloth that every renderer
inks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from kyara.body.skeleton import NUM_BONES
from kyara.character import garment_shapes as gs
from kyara.character import garment_weights as gw
from kyara.character.model import ExtraBone, Material, Part, hex_to_rgb

# build order: what is worn under what (stable within a level, in spec order)
LAYER_LEVEL = {
    "t-shirt": 0, "trousers": 0, "shorts": 0, "skirt": 0,
    "boots": 1, "sneakers": 1, "sandals": 1,
    "sports-jersey": 2, "hoodie": 2, "dress": 2, "kimono": 2, "sailor-uniform": 2,
    "long-coat": 3, "pirate-coat": 3, "witch-robe": 3,
    "school-swimsuit": 0, "maid-dress": 2, "lolita-dress": 2, "idol-dress": 2, "kimono-top": 2,
    "hakama": 2.5,  # over the kimono top, which is tucked into it
    "thighhighs": -1,  # under everything, shoes and trousers too
}


@dataclass(frozen=True)
class GarmentConfig:
    """Sizes of the garment shells (metres) and the meshing resolution."""

    gap: float = 0.0045  # clearance between a layer and what it covers
    thick: float = 0.0075  # cloth thickness (raised to 1.6 voxels on coarse lattices)
    trim_thick: float = 0.0045  # raised trims, bands, collars
    voxel_per_height: float = 1.0 / 280.0  # lattice spacing as a fraction of body height
    voxel_min: float = 0.003
    voxel_max: float = 0.0058
    fine_voxel: float = 0.0016  # jersey digits
    coarse_scale: float = 1.4  # lattice spacing of the big flowing pieces (robes, coats) / the base one
    target_faces: int = 9000  # per part, after decimation
    quick_decimation: bool = False  # one quadric pass to target_faces, pinched rims split (dataset quality)
    spring: tuple[tuple[str, float], ...] = (("stiffness", 0.55), ("drag", 0.45), ("gravity_power", 0.1),
                                             ("hit_radius", 0.03))
    # hanging sleeve pouches: weak pull back to the T-pose direction, strong gravity, so they
    # hang from the forearm in any arm pose
    sleeve_spring: tuple[tuple[str, float], ...] = (("stiffness", 0.15), ("drag", 0.6), ("gravity_power", 1.2),
                                                    ("hit_radius", 0.02))
    folds: bool = True  # inked fold lines where cloth bends (kyara.character.garment_folds)
    fold_width: float = 0.003  # widest cross-section of a fold ridge


@dataclass
class Geo:
    """Body landmarks the recipes use (metres, rest T-pose)."""

    H: float
    T: float  # torso length
    neck_y: float
    collar_y: float
    chest_y: float
    upper_chest_y: float
    spine_y: float
    hips_y: float
    ul_y: float  # upper-leg joint height
    crotch: float
    knee_y: float
    ankle_y: float
    arm_y: float
    shoulder_x: float
    elbow_x: float
    wrist_x: float
    r_arm: float
    r_thigh: float
    leg_x: float
    hip_half: float
    neck_r: float
    foot_len: float
    back_z: float  # z of the upper back surface
    front_z: float  # z of the chest surface
    torso_zc: float


def body_geo(body) -> Geo:
    d = body.layout.dims
    j = body.layout.joint
    v = body.vertices.astype(np.float64)
    torso = v[body.parts == 1]
    uc = j("upperChest")[1]
    band = torso[np.abs(torso[:, 1] - uc) < 0.03 * d["H"]]
    return Geo(
        H=d["H"], T=d["torso_len"], neck_y=d["neck_y"], collar_y=d["neck_y"] + 0.012 * d["H"],
        chest_y=float(j("chest")[1]), upper_chest_y=float(uc), spine_y=float(j("spine")[1]),
        hips_y=float(j("hips")[1]), ul_y=d["upper_leg_y"], crotch=d["crotch"], knee_y=float(j("leftLowerLeg")[1]),
        ankle_y=d["ankle_y"], arm_y=d["arm_y"], shoulder_x=d["shoulder_x"], elbow_x=float(j("leftLowerArm")[0]),
        wrist_x=float(j("leftHand")[0]), r_arm=d["r_upper_arm"], r_thigh=d["r_thigh"], leg_x=d["leg_x"],
        hip_half=d["hip_half"], neck_r=d["neck_r"], foot_len=d["foot_len"],
        back_z=float(band[:, 2].min()), front_z=float(band[:, 2].max()),
        torso_zc=float(0.5 * (band[:, 2].min() + band[:, 2].max())),
    )


FAR_INSIDE = 1.0  # metres: "deep inside" for solid fills
WeightFn = Callable[[np.ndarray], np.ndarray]  # vertices [N, 3] -> dense weights [N, J]


@dataclass
class Wardrobe:
    """Build state shared by the recipes: the body, its landmarks, the occupied field, results."""

    body: object
    geo: Geo
    cfg: GarmentConfig
    field: gs.FieldContext
    parts: list[Part] = field(default_factory=list)
    bones: list[ExtraBone] = field(default_factory=list)
    layers: dict[str, gs.Layer] = field(default_factory=dict)  # part name -> its field
    worn: list[np.ndarray] = field(default_factory=list)  # vertices of built garments
    bottom_given: bool = False  # the spec has its own bottom piece (no built-in skirt/shorts)
    kinds: tuple[str, ...] = ()  # every outfit kind of the spec
    folds: list[tuple[str, object]] = field(default_factory=list)  # (garment, garment_folds.Fold)
    fold_colours: dict[str, str] = field(default_factory=dict)  # garment -> cloth colour of its folds

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def voxel(self) -> float:
        return self.field.voxel

    @property
    def gap(self) -> float:
        return self.cfg.gap

    @property
    def thick(self) -> float:
        return max(self.cfg.thick, 1.6 * self.voxel)

    @property
    def trim_thick(self) -> float:
        return max(self.cfg.trim_thick, 1.3 * self.voxel)

    @property
    def coarse_voxel(self) -> float:
        """Lattice spacing of the big flowing pieces (witch robe, coats): fewer cells to fill."""
        return self.voxel * self.cfg.coarse_scale

    def thick_at(self, voxel: float, trim: bool = False) -> float:
        """Cloth (or trim) thickness that a lattice of spacing ``voxel`` resolves."""
        return max(self.cfg.trim_thick, 1.3 * voxel) if trim else max(self.cfg.thick, 1.6 * voxel)

    @property
    def num_bones(self) -> int:
        return NUM_BONES + len(self.bones)

    # -- geometry helpers ------------------------------------------------------------------------
    def body_box(self, parts: tuple[int, ...], y0: float, y1: float, x_max: float = 9.0,
                 margin: float = 0.06) -> tuple[np.ndarray, np.ndarray] | None:
        """Bounding box of body vertices of ``parts`` with ``y0 <= y <= y1`` and ``|x| <= x_max``."""
        v = self.body.vertices.astype(np.float64)
        sel = np.isin(self.body.parts, parts) & (v[:, 1] >= y0) & (v[:, 1] <= y1) & (np.abs(v[:, 0]) <= x_max)
        if not sel.any():
            return None
        return v[sel].min(axis=0) - margin, v[sel].max(axis=0) + margin

    def fitted(self, region: Callable[[np.ndarray], np.ndarray], y0: float, y1: float, parts: tuple[int, ...],
               x_max: float = 9.0, gap: float | None = None, thick: float | None = None) -> list[gs.Component]:
        """Components of a shell hugging what is worn, inside ``region`` (boxes per body part)."""
        g = self.gap if gap is None else gap
        t = self.thick if thick is None else thick

        def fn(p, occ):
            return np.maximum(gs.shell(occ, g, t), region(p))

        comps = []
        for group in ((1, 4, 5, 0), (2, 3)):
            use = tuple(q for q in parts if q in group)
            if not use:
                continue
            if group == (2, 3):  # one box per arm
                for sx in (1.0, -1.0):
                    box = self.body_box(use, y0, y1, x_max)
                    if box is None:
                        continue
                    lo, hi = box
                    if sx > 0:
                        lo = lo.copy()
                        lo[0] = max(lo[0], 0.6 * self.geo.shoulder_x)
                    else:
                        hi = hi.copy()
                        hi[0] = min(hi[0], -0.6 * self.geo.shoulder_x)
                    comps.append(gs.Component(lo, hi, fn))
            else:
                box = self.body_box(use, y0, y1, x_max)
                if box is not None:
                    comps.append(gs.Component(box[0], box[1], fn))
        return comps

    def free(self, lo, hi, shape: Callable[[np.ndarray], np.ndarray], gap: float | None = None) -> gs.Component:
        """A free shape (``shape(p) < 0``) kept outside everything worn."""
        g = self.gap if gap is None else gap
        return gs.Component(np.asarray(lo, float), np.asarray(hi, float),
                            lambda p, occ: np.maximum(shape(p), g - occ))

    def over(self, base: str, region: Callable[[np.ndarray], np.ndarray], gap: float | None = None,
             thick: float | None = None, box: tuple | None = None, body: bool = True) -> list[gs.Component]:
        """A trim layer on top of the already-built part ``base`` (bands, collars, numbers), kept
        the full clearance away from the skin where the base's edge is near it."""
        layer = self.layers[base]
        g = 0.0008 if gap is None else gap
        t = self.thick_at(layer.voxel, trim=True) if thick is None else thick
        reach = g + t + 0.5 * layer.voxel

        def fn(p, occ, base_values):
            return np.maximum(np.maximum(gs.shell(occ, g, t), base_values - reach), region(p))

        if box is None:
            lo = layer.origin
            hi = layer.origin + (np.array(layer.values.shape) - 1) * layer.voxel
        else:
            lo, hi = box
        return [gs.Component(np.asarray(lo, float), np.asarray(hi, float), fn, base=layer, body=body,
                             inflate=max(self.gap - g, 0.0))]

    def profile(self, y_lo: float, y_hi: float, flare: float, margin: float | None = None,
                reach: float = 1.4) -> gs.Profile:
        """The lofted ellipse around the hips/legs and everything worn there (skirts, robes) within
        ``reach`` shoulder half-widths of the centre (wider: a skirt over a wide petticoat)."""
        v = self.body.vertices.astype(np.float64)
        sel = np.isin(self.body.parts, (1, 4, 5))
        pts = [v[sel]] + [w for w in self.worn]
        pts = np.concatenate(pts)
        pts = pts[(pts[:, 1] <= y_hi + 0.03) & (np.abs(pts[:, 0]) < reach * self.geo.shoulder_x)]
        m = self.gap + 0.004 if margin is None else margin
        return gs.envelope_profile(pts, y_lo, y_hi, m, flare)

    def flared(self, prof: gs.Profile, y_hem: float, y_top: float, thick: float | None = None,
               scale: Callable[[np.ndarray], np.ndarray] | None = None) -> gs.Component:
        """A hollow lofted shell from ``y_hem`` up to ``y_top`` following ``prof``."""
        t = self.thick if thick is None else thick
        band = 0.08 * self.geo.T  # solid from the worn surface out near the top: a clean join

        def shape(p):
            d = gs.profile_distance(p, prof, 1.0 if scale is None else scale(p))
            inner = np.where(p[:, 1] > y_top - band, -FAR_INSIDE, -d)
            return np.maximum(np.maximum(inner, d - t), gs.slab(p[:, 1], y_hem, y_top))

        a, b, zc = prof.at(np.array([y_hem]))
        r = max(float(a[0]), float(b[0])) * 1.1 + t
        lo = [-r, y_hem - 0.01, float(zc[0]) - r]
        hi = [r, y_top + 0.01, float(zc[0]) + r]
        return self.free(lo, hi, shape)

    # -- output ----------------------------------------------------------------------------------
    def add(self, name: str, colour_hex: str, components: list[gs.Component], weights: WeightFn | None = None,
            cuts: tuple = (), voxel: float | None = None, occupy: bool = True, outline: float = 0.0015) -> Part | None:
        """Mesh a garment part, skin it, record it as worn. Returns the part (None if empty)."""
        comps = [c for c in components if c is not None]
        if not comps:
            return None
        layer = gs.garment_field(self.field, comps, list(cuts), voxel)
        v, f = gs.mesh_layer(layer, self.cfg.target_faces, quick=self.cfg.quick_decimation)
        if len(f) == 0:
            return None
        dense = (weights or self.nearest)(v)
        idx, w = gw.top4(dense)
        rgb = hex_to_rgb(colour_hex)
        part = Part(name, "garment", v.astype(np.float32), f.astype(np.int32), idx, w,
                    Material(name, rgb, outline_width=outline))
        self.parts.append(part)
        self.layers[name] = layer
        if occupy:
            self.field.layers.append(layer)
            self.worn.append(v)
        return part

    def fold(self, garment: str, base: str, guide, width: float | None = None, colour_hex: str | None = None) -> None:
        """Ask for a fold line along ``guide [K, 3]`` (metres) on the part ``base``; the folds of
        one ``garment`` become the part ``"<garment>-folds"`` when the outfit is complete."""
        from kyara.character.garment_folds import Fold

        if not self.cfg.folds:
            return
        self.folds.append((garment, Fold(base, np.asarray(guide, dtype=np.float64),
                                         self.cfg.fold_width if width is None else float(width))))
        if colour_hex is not None:
            self.fold_colours.setdefault(garment, colour_hex)

    def covered_after(self, base: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``(points [N, 3], normals [N, 3]) -> [N] bool``: the surface of ``base`` there lies under
        a layer built after it (within 3 cm along the normal)."""
        layers = self.field.layers
        own = self.layers.get(base)
        later = layers[next((k for k, L in enumerate(layers) if L is own), len(layers)) + 1:] if own is not None else []

        def covered(p, n):
            hit = np.zeros(len(p), dtype=bool)
            for L in later:
                for t in np.arange(0.002, 0.0301, 0.002):
                    hit |= gs.sample_layer(L, p + t * n) < 0.0
            return hit
        return covered

    def finish_folds(self) -> None:
        """Build the fold parts asked for with :meth:`fold` (one per garment, after every layer)."""
        from kyara.character import garment_folds as gf

        groups: dict[str, list] = {}
        for garment, f in self.folds:
            groups.setdefault(garment, []).append(f)
        for garment, folds in groups.items():
            vs, fs, ws, off = [], [], [], 0
            for base in dict.fromkeys(f.base for f in folds):
                part = next((p for p in self.parts if p.name == base), None)
                if part is None:
                    continue
                mine = [f for f in folds if f.base == base]
                v, f, tri, bary = gf.fold_ridges(part.vertices, part.faces, mine, covered=self.covered_after(base))
                if len(f) == 0:
                    continue
                vs.append(v)
                fs.append(f + off)
                ws.append(gf.anchored_weights(part, tri, bary, self.num_bones))
                off += len(v)
            if not vs:
                continue
            idx, w = gw.top4(np.concatenate(ws))
            cloth = hex_to_rgb(self.fold_colours.get(garment, "#808080"))
            name = f"{garment}-folds"
            self.parts.append(Part(name, "garment", np.concatenate(vs).astype(np.float32),
                                   np.concatenate(fs).astype(np.int32), idx, w,
                                   Material(name, gf.fold_colour(cloth), outline_width=0.0005)))

    def nearest(self, v: np.ndarray) -> np.ndarray:
        return gw.nearest(self.body, v, self.num_bones)

    def flowing(self, y_top: float, y_full: float, lower_leg: bool = True) -> WeightFn:
        return lambda v: gw.flowing(self.body, v, self.num_bones, y_top, y_full, lower_leg)

    def add_chain(self, stem: str, parent: str, points: list[tuple[float, float, float]],
                  spring: dict | None = None) -> int:
        """Append a spring-bone chain (``spring``: VRMC_springBone settings, default
        ``cfg.spring``); returns the bone index of its first joint."""
        first = self.num_bones
        spring = dict(self.cfg.spring if spring is None else spring)
        for k, pos in enumerate(points):
            self.bones.append(ExtraBone(f"{stem}{k}", parent if k == 0 else f"{stem}{k - 1}",
                                        tuple(float(c) for c in pos), spring))
        return first


def build_garments(spec, body, config: GarmentConfig | None = None) -> tuple[list[Part], list[ExtraBone]]:
    """All outfit pieces of ``spec`` as garment parts over ``body`` (rest T-pose), plus the extra
    bones (coat-tail chains) their ``joint_indices`` refer to from index 55 on."""
    from kyara.body.surface import body_primitives
    from kyara.character.garment_kinds import RECIPES

    cfg = config or GarmentConfig()
    outfit = tuple(getattr(spec, "outfit", ()))
    for i, piece in enumerate(outfit):
        if piece.kind not in RECIPES:
            raise ValueError(f"outfit[{i}].kind '{piece.kind}' has no garment recipe, expected one of "
                             f"{', '.join(sorted(RECIPES))}")
    H = float(body.layout.dims["H"])
    vox = float(np.clip(H * cfg.voxel_per_height, cfg.voxel_min, cfg.voxel_max))
    ctx = gs.FieldContext(gs.BodyField(body_primitives(body.layout), vox))
    wd = Wardrobe(body=body, geo=body_geo(body), cfg=cfg, field=ctx)
    wd.bottom_given = any(p.kind in ("skirt", "shorts", "trousers") for p in outfit)
    wd.kinds = tuple(p.kind for p in outfit)
    order = sorted(range(len(outfit)), key=lambda i: (LAYER_LEVEL[outfit[i].kind], i))
    for i in order:
        RECIPES[outfit[i].kind](wd, outfit[i])
    wd.finish_folds()
    return wd.parts, wd.bones
