"""Garments that read as anime costumes: one predicate per silhouette cue, measured on renders and
meshes of the built character (never on the recipes' own numbers), plus the fold-line geometry.

Renders: the dressed body (no hair, face or accessories: a costume cue must not depend on the
hairstyle) in the ``stand`` pose, seen from the front, side and back at 384 px, as three maps:
part labels, the lineart map (the feature edges the renderer inks) and the cel-shaded colours
without ink. Run this file as a script to redraw ``docs/garments.png``.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pytest

from kyara.character import garment_folds as gf

SIZE = 384
VIEWS = ("front", "side", "back")
COSTUMES = {
    "kimono": "an anime girl in a kimono",
    "sailor": "an anime girl with short hair in a sailor uniform",
    "hoodie": "an anime boy in a hoodie",
    "jersey": "an anime girl in a sports jersey",
}
TORSO_SKIN = 250  # part label of the body's torso vertices (other body vertices: the body's part id)


# ---------------------------------------------------------------------------------------------
# fold ridges (fast, on analytic shapes)


def _plane(n: int = 12, size: float = 0.2):
    """A closed thin box whose top face (z = 0) is a fine grid."""
    import trimesh

    m = trimesh.creation.box(extents=(size, size, 0.01))
    m = m.subdivide().subdivide().subdivide()
    v = np.asarray(m.vertices) - [0.0, 0.0, 0.005]
    return v, np.asarray(m.faces)


def test_ridge_is_a_closed_shell_whose_apex_and_base_edges_are_inked():
    from kyara.body.mesh_ops import is_closed_manifold, signed_volume
    from kyara.render.edges import feature_edges_reference
    from kyara.render.toon import MapStyle

    m = 9
    centre = np.stack([np.linspace(-0.05, 0.05, m), np.zeros(m), np.zeros(m)], axis=1)
    normal = np.tile([0.0, 0.0, 1.0], (m, 1))
    width = np.full(m, 0.003)
    v, f = gf.ridge_mesh(centre, normal, width, lift=0.0009, sink=0.0006)
    assert v.shape == (3 * m - 4, 3) and f.shape == (6 * m - 12, 3)
    assert is_closed_manifold(f) and signed_volume(v, f) > 0
    assert v[:, 2].max() == pytest.approx(0.0009) and v[:, 2].min() == pytest.approx(-0.0006)
    # seen from straight above, the renderer's reference edge finder picks every apex edge (a crease
    # sharper than the lineart threshold) and both long base edges (contours)
    edges = feature_edges_reference(v, f, np.array([0.0, 0.0, 1.0, 0.0]), MapStyle().crease_deg)
    apex = np.flatnonzero(np.isclose(v[:, 2], 0.0009))
    apex_edges = {(min(a, b), max(a, b)) for a, b in zip(apex[:-1], apex[1:])}
    assert len(apex_edges) == m - 3 and apex_edges <= edges
    base_left = np.flatnonzero(np.isclose(v[:, 1], 0.0015) & np.isclose(v[:, 2], -0.0006))
    assert {(min(a, b), max(a, b)) for a, b in zip(base_left[:-1], base_left[1:])} <= edges


def test_folds_snap_onto_the_cloth_and_stop_where_it_is_covered():
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=4, radius=0.1)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    th = np.linspace(-1.2, 1.2, 20)
    guide = 0.115 * np.stack([np.sin(th), np.zeros_like(th), np.cos(th)], axis=1)  # 1.5 cm outside
    rv, rf, tri, bary = gf.fold_ridges(v, f, [gf.Fold("sphere", guide, 0.003)])
    r = np.linalg.norm(rv, axis=1)
    style = gf.FoldStyle()
    # on the surface: every ridge vertex within the cross-section's reach of the sphere (the
    # icosphere's flat facets sit up to ~0.3 mm inside the true radius)
    assert r.max() < 0.1 + style.lift + 0.0002 and r.min() > 0.1 - style.sink - 0.0008
    assert len(tri) == len(rv) and np.allclose(bary.sum(axis=1), 1.0)
    covered = lambda p, n: p[:, 0] > 0.0  # noqa: E731  (a later layer over the +x half)
    cv, _, _, _ = gf.fold_ridges(v, f, [gf.Fold("sphere", guide, 0.003)], covered=covered)
    assert len(cv) and cv[:, 0].max() < 0.006 and cv[:, 0].min() < -0.08
    far = gf.fold_ridges(v, f, [gf.Fold("sphere", guide * 2.0, 0.003)])[0]  # 11.5 cm off the cloth
    assert len(far) == 0


def test_fold_ridges_take_the_weights_of_the_cloth_under_them():
    import trimesh

    from kyara.character.model import Material, Part

    s = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    v, f = np.asarray(s.vertices), np.asarray(s.faces)
    idx = np.zeros((len(v), 4), np.int64)
    idx[:, 0] = np.where(v[:, 1] > 0, 7, 9)  # top half on bone 7, bottom half on bone 9
    w = np.zeros((len(v), 4), np.float32)
    w[:, 0] = 1.0
    cloth = Part("cloth", "garment", v, f, idx, w, Material("cloth", (1.0, 0.0, 0.0)))
    th = np.linspace(0.3, 1.2, 8)
    guide = 0.11 * np.stack([np.zeros_like(th), np.cos(th), np.sin(th)], axis=1)  # high on the sphere
    rv, _, tri, bary = gf.fold_ridges(v, f, [gf.Fold("cloth", guide, 0.003)])
    dense = gf.anchored_weights(cloth, tri, bary, 12)
    assert np.allclose(dense.sum(axis=1), 1.0)
    assert np.allclose(dense[:, 7], 1.0)


def test_jersey_number_colour_stands_out_from_the_jersey():
    from kyara.character.garment_common import colour_distance
    from kyara.character.garment_tops import number_hex
    from kyara.character.spec import Colour, OutfitPiece

    same = OutfitPiece("sports-jersey", Colour.named("white"), Colour.named("white"), 10)
    assert colour_distance(number_hex(same), same.colour.hex) >= 25
    own = OutfitPiece("sports-jersey", Colour.named("white"), Colour.named("red"), 10)
    assert number_hex(own) == own.trim.hex  # a trim that reads is kept


# ---------------------------------------------------------------------------------------------
# renders of the costumes (slow: each builds a character)


@functools.lru_cache(maxsize=None)
def dressed(key: str, folds: bool = True):
    """The body and garments of a costume prompt (seed 0) as a Character, plus the spec."""
    from kyara.body.model import build_body
    from kyara.character.build import body_part
    from kyara.character.garments import GarmentConfig, build_garments
    from kyara.character.model import Character
    from kyara.character.parser import parse_prompt

    spec = parse_prompt(COSTUMES[key], 0)
    body = build_body(spec.body.params())
    parts, bones = build_garments(spec, body, GarmentConfig(folds=folds))
    return Character(spec, body, [body_part(body, spec)] + parts, bones)


def render(c, pose_name: str = "stand", drop: tuple[str, ...] = (), views=VIEWS):
    """``{"parts": [N,H,W] uint8 labels, "lineart": [N,H,W] uint8, "toon": [N,H,W,4] no ink,
    "names": part names by label, "cams": cameras, "joints": posed joints}`` of ``c`` without the
    parts whose names end with any of ``drop``; cameras frame the whole character either way."""
    from kyara.character.model import Character
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    pose = get_pose(pose_name, c.body.params)
    full, joints = c.pose(pose, c.merged())
    cams = [pose_camera(full, v, (SIZE, SIZE)) for v in views]
    keep = [p for p in c.parts if not any(p.name.endswith(d) for d in drop)]
    sub = Character(c.spec, c.body, keep, c.extra_bones)
    mesh = sub.merged()
    verts, _ = sub.pose(pose, mesh)
    labels = mesh["part_id"].astype(np.uint8).copy()
    body = np.flatnonzero(mesh["part_id"] == 0)
    labels[body[c.body.parts == 1]] = TORSO_SKIN
    attrs = VertexAttrs(parts=labels, base_color=mesh["base"], shade_color=mesh["shade"], outline=mesh["outline"])
    style = MapStyle(toon=ToonStyle(background=None, outline_width=0))
    r = MeshRenderer(mesh["faces"], len(verts), SIZE, SIZE)
    try:
        maps = r.render(verts, cams, ("parts", "lineart", "toon"), vertex_attrs=attrs, style=style)
    finally:
        r.release()
    return {"parts": maps["parts"][..., 0], "lineart": maps["lineart"][..., 0], "toon": maps["toon"],
            "names": [p.name for p in keep], "cams": cams, "joints": joints}


def mask(shot, view: int, *names: str) -> np.ndarray:
    """Pixels of view ``view`` showing one of the parts ``names``."""
    ids = [i for i, n in enumerate(shot["names"]) if n in names]
    return np.isin(shot["parts"][view], ids)


def joint_px(shot, view: int, bone: str) -> np.ndarray:
    from kyara.body.skeleton import BONE_INDEX

    return shot["cams"][view].project(shot["joints"][BONE_INDEX[bone]])[0]


def erode(m: np.ndarray, r: int) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    return binary_erosion(m, iterations=r)


def runs(row: np.ndarray) -> int:
    """Number of separate runs of True along a 1-D array."""
    r = np.asarray(row, dtype=np.int8)
    return int(np.sum(np.diff(np.concatenate([[0], r])) == 1))


@pytest.mark.slow
def test_kimono_sleeves_are_wide_and_hang_below_the_wrist():
    c = dressed("kimono")
    d = c.body.layout.dims
    wrist_x = c.body.layout.joint("leftHand")[0]
    sleeve = c.part("kimono").vertices
    skin = c.body.vertices
    at = lambda v: (v[:, 0] > wrist_x - 0.05) & (v[:, 0] < wrist_x - 0.03)  # noqa: E731  (just short of the wrist)
    forearm = skin[at(skin) & (np.abs(skin[:, 1] - d["arm_y"]) < 0.06)]
    cloth = sleeve[at(sleeve)]
    assert np.ptp(cloth[:, 1]) >= 3.0 * np.ptp(forearm[:, 1])  # rest pose: a furisode pouch
    assert cloth[:, 1].min() < forearm[:, 1].min() - 0.05 * d["H"]
    # standing, arms down: the sleeve's cloth hangs lower than the wrist
    shot = render(c, views=("front",))
    m = mask(shot, 0, "kimono")
    hand = joint_px(shot, 0, "leftHand")
    cols = slice(int(hand[0]) - 12, int(hand[0]) + 12)
    lowest = np.flatnonzero(m[:, cols].any(axis=1)).max()
    assert lowest > hand[1] + 8, (lowest, hand)  # image rows grow downward


@pytest.mark.slow
def test_kimono_obi_is_a_band_at_the_waist_with_a_bow_at_the_back():
    c = dressed("kimono")
    shot = render(c, views=("front", "back"))
    front = mask(shot, 0, "kimono-obi", "kimono-obijime")
    back = mask(shot, 1, "kimono-obi", "kimono-obijime")
    assert front.any() and back.any()
    rows = np.flatnonzero(front.any(axis=1))
    band_h = len(rows)
    mid = rows[len(rows) // 3]
    hips = abs(joint_px(shot, 0, "leftUpperLeg")[0] - joint_px(shot, 0, "rightUpperLeg")[0])
    assert runs(front[mid]) == 1 and front[mid].sum() >= 1.5 * hips  # one band across the waist, in front
    cx = int(round(joint_px(shot, 0, "hips")[0]))
    assert front[:, cx - 3:cx + 4].any(axis=1).sum() <= 1.3 * band_h  # nothing hangs from it in front
    # from the back: a bow much bigger than the band, with tails hanging from its centre
    bx = int(round(joint_px(shot, 1, "hips")[0]))
    centre_h = back[:, bx - 3:bx + 4].any(axis=1).sum()
    assert centre_h >= 1.8 * band_h, (centre_h, band_h)
    assert back.sum() >= 1.4 * front.sum(), (back.sum(), front.sum())


@pytest.mark.slow
def test_kimono_collar_crosses_left_over_right_and_the_hem_is_banded():
    c = dressed("kimono")
    shot = render(c, views=("front",))
    col = mask(shot, 0, "kimono-collar")
    neck = joint_px(shot, 0, "neck")
    centre = neck[0]
    rows = np.flatnonzero(col[:, int(centre) - 40:int(centre) + 41].any(axis=1))
    top, bottom = rows.min(), rows.max()
    low = col[bottom - (bottom - top) // 6:bottom + 1]
    xs = np.flatnonzero(low.any(axis=0))
    # the wearer's left (image right) panel is on top: its edge ends at the wearer's right (image left)
    assert xs.mean() < centre - 5, (xs.mean(), centre)
    # the top panel's band crosses the centre line as one piece
    crossing = col[:, int(round(centre))]
    assert crossing[top:bottom].any()
    # the hem: the lowest rows of the skirt are the hem band
    skirt, hem = mask(shot, 0, "kimono-skirt"), mask(shot, 0, "kimono-hem")
    last = np.flatnonzero((skirt | hem).any(axis=1)).max()
    assert hem[last - 2].sum() > 0.8 * (skirt[last - 2] | hem[last - 2]).sum()
    assert hem.any(axis=1).sum() >= 4


@pytest.mark.slow
def test_sailor_collar_is_a_square_flap_on_the_back_and_the_tie_is_in_front():
    c = dressed("sailor")
    shot = render(c)
    flap = mask(shot, 2, "sailor-uniform-collar", "sailor-uniform-stripes")
    ls, rs = joint_px(shot, 2, "leftUpperArm"), joint_px(shot, 2, "rightUpperArm")
    x0, x1 = sorted((ls[0], rs[0]))
    between = flap[:, int(x0):int(x1)]
    rows = np.flatnonzero(between.sum(axis=1) > 0.5 * (x1 - x0))
    assert len(rows) >= 20, len(rows)  # a flap at least ~8 cm tall wider than half the shoulders
    box = between[rows.min():rows.max() + 1]
    cols = np.flatnonzero(box.any(axis=0))
    fill = box[:, cols.min():cols.max() + 1].mean()
    assert fill > 0.85, fill  # square: fills its bounding box
    assert mask(shot, 2, "sailor-uniform-stripes").sum() > 40  # stripes along its edges
    tie_front, tie_back = mask(shot, 0, "sailor-uniform-scarf"), mask(shot, 2, "sailor-uniform-scarf")
    assert tie_front.sum() > 150 and tie_back.sum() < 10
    neck, chest = joint_px(shot, 0, "neck"), joint_px(shot, 0, "chest")
    ys, xs = np.nonzero(tie_front)
    assert neck[1] < ys.mean() < chest[1] and abs(xs.mean() - neck[0]) < 6
    from kyara.character.colors import delta_e2000, srgb_to_lab

    lab = srgb_to_lab(shot["toon"][0][..., :3] / 255.0)
    tie = np.median(lab[tie_front], axis=0)
    for around in ("sailor-uniform", "sailor-uniform-collar"):  # the tie stands out from both
        assert delta_e2000(tie, np.median(lab[erode(mask(shot, 0, around), 1)], axis=0)) > 20, around
    # the skirt is pleated: a row across it crosses an inked pleat edge at every pleat the front
    # view shows clear of the arms (16 pleats: the centre one and two either side); the pleats'
    # sharp edges are creases of their own, the fold ridges on them carry the lines to VRM viewers
    sk = mask(shot, 0, "skirt", "sailor-uniform-skirt")
    rows = np.flatnonzero(sk.any(axis=1))
    y = rows.min() + int(0.7 * (rows.max() - rows.min()))
    inside = erode(sk, 3)[y]
    assert runs((shot["lineart"][0][y] > 0) & inside) >= 5


@pytest.mark.slow
def test_hoodie_has_a_hood_behind_the_neck_and_two_drawstrings():
    c = dressed("hoodie")
    d = c.body.layout.dims
    v = c.part("hoodie").vertices
    skin = c.body.vertices[c.body.parts == 1]
    band = lambda p: (p[:, 1] > d["neck_y"] - 0.15 * d["H"]) & (p[:, 1] < d["neck_y"])  # noqa: E731
    back = skin[band(skin)][:, 2].min()
    mass = v[band(v) & (v[:, 2] < back - 0.03)]
    assert len(mass) > 100 and np.ptp(mass[:, 0]) > d["shoulder_x"]  # a hood, not a strip
    shot = render(c, views=("front", "back"))
    from scipy.ndimage import label

    cords = mask(shot, 0, "hoodie-cords")
    lab, n = label(cords)
    sizes = np.bincount(lab.ravel())[1:]
    big = np.flatnonzero(sizes > 15) + 1
    assert len(big) == 2, sizes
    neck = joint_px(shot, 0, "neck")
    sides = []
    for k in big:
        ys, xs = np.nonzero(lab == k)
        assert np.ptp(ys) >= 4 * max(np.ptp(xs), 1), (np.ptp(ys), np.ptp(xs))  # thin and hanging
        sides.append(np.sign(xs.mean() - neck[0]))
    assert sorted(sides) == [-1, 1]
    assert not mask(shot, 1, "hoodie-cords").any()


@pytest.mark.slow
@pytest.mark.parametrize("trim", [None, "white"])
def test_jersey_number_shows_front_and_back_in_a_contrasting_colour(trim):
    from kyara.character.colors import delta_e2000, srgb_to_lab
    from kyara.character.model import Character
    from kyara.character.spec import Colour

    c = dressed("jersey")
    if trim is not None:  # trim the same colour as the jersey: the number must still read
        from kyara.body.model import build_body
        from kyara.character.build import body_part
        from kyara.character.garments import build_garments

        piece = replace(c.spec.piece("sports-jersey"), colour=Colour.named("white"), trim=Colour.named(trim))
        spec = replace(c.spec, outfit=tuple(piece if p.kind == "sports-jersey" else p for p in c.spec.outfit))
        body = build_body(spec.body.params())
        parts, bones = build_garments(spec, body)
        c = Character(spec, body, [body_part(body, spec)] + parts, bones)
    shot = render(c, views=("front", "back"))
    for view, name in ((0, "sports-jersey-number-front"), (1, "sports-jersey-number")):
        num, shirt = mask(shot, view, name), erode(mask(shot, view, "sports-jersey"), 2)
        assert num.sum() > (25 if view == 0 else 120), (view, num.sum())
        lab = srgb_to_lab(shot["toon"][view][..., :3] / 255.0)
        de = delta_e2000(np.median(lab[num], axis=0), np.median(lab[shirt], axis=0))
        assert de > 20, (view, de)
    # trim at the collar and at both cuffs
    tr = mask(shot, 0, "sports-jersey-trim")
    neck = joint_px(shot, 0, "neck")
    assert tr[int(neck[1]):int(neck[1]) + 30, int(neck[0]) - 15:int(neck[0]) + 16].any()
    for side in ("left", "right"):
        e = joint_px(shot, 0, f"{side}LowerArm")
        s = joint_px(shot, 0, f"{side}UpperArm")
        cuff = s + 0.3 * (e - s)  # short sleeves end about a third of the way to the elbow
        assert tr[int(cuff[1]) - 16:int(cuff[1]) + 17, int(cuff[0]) - 16:int(cuff[0]) + 17].any(), side


@pytest.mark.slow
@pytest.mark.parametrize("key", ["jersey", "hoodie"])
def test_no_skin_shows_between_the_hanging_arms_and_the_chest(key):
    """Standing, arms down, front and back views: torso skin beside the chest between the armpits
    and the hips (the underarm cut spans only the slot the lowered arm fills). A cut through the
    torso's whole depth showed 130-270 px of skin here at this size; now a sliver of at most a few
    dozen pixels remains along the armpit seam."""
    shot = render(dressed(key), views=("front", "back"))
    for view in (0, 1):
        neck, hips = joint_px(shot, view, "neck"), joint_px(shot, view, "hips")
        arm_y = joint_px(shot, view, "leftUpperArm")[1]
        torso = shot["parts"][view] == TORSO_SKIN
        half = abs(joint_px(shot, view, "leftUpperArm")[0] - neck[0])
        band = torso[int(arm_y) + 4:int(hips[1]) - 10]
        xs = np.arange(band.shape[1])
        beside = np.abs(xs - neck[0]) > 0.45 * half
        assert band[:, beside].sum() <= 40, (view, int(band[:, beside].sum()))


def _interior_ink(shot, view: int, region: np.ndarray) -> int:
    return int(((shot["lineart"][view] > 0) & region).sum())


@pytest.mark.slow
def test_fold_lines_ink_the_cloth_inside_its_silhouette():
    """The lineart map inside the garments (3 px in from every part's edge) with and without the
    fold parts: the folds add ink on the kimono's skirt and sleeves, along the obi's bow, and at the
    bent elbows of a hoodie."""
    c = dressed("kimono")
    plain = render(c, drop=("-folds",))
    inked = render(c)
    for view, names, gain in ((0, ("kimono-skirt",), 40), (2, ("kimono-skirt",), 40), (2, ("kimono-obi",), 15)):
        region = erode(mask(plain, view, *names), 3)
        before, after = _interior_ink(plain, view, region), _interior_ink(inked, view, region)
        assert after >= before + gain, (names, view, before, after)
    plain = render(c, "t-pose", drop=("-folds",), views=("front",))  # the hanging sleeves face the camera
    inked = render(c, "t-pose", views=("front",))
    region = erode(mask(plain, 0, "kimono"), 3)
    region[:, int(joint_px(plain, 0, "rightLowerArm")[0]):int(joint_px(plain, 0, "leftLowerArm")[0])] = False
    before, after = _interior_ink(plain, 0, region), _interior_ink(inked, 0, region)
    assert after >= before + 40, ("sleeves", before, after)
    h = dressed("hoodie")
    for pose in ("arms-crossed", "punch"):
        plain = render(h, pose, drop=("-folds",), views=("front",))
        inked = render(h, pose, views=("front",))
        region = erode(mask(plain, 0, "hoodie"), 3)
        near = np.zeros_like(region)
        for side in ("left", "right"):
            e = joint_px(plain, 0, f"{side}LowerArm")
            yy, xx = np.mgrid[:SIZE, :SIZE]
            near |= (yy - e[1]) ** 2 + (xx - e[0]) ** 2 < 22 ** 2
        before = _interior_ink(plain, 0, region & near)
        after = _interior_ink(inked, 0, region & near)
        assert after >= before + 10, (pose, before, after)


@pytest.mark.slow
def test_fold_parts_are_closed_on_the_cloth_and_follow_it():
    """Every fold ridge is a closed shell lying on the cloth (within its 1.5 mm cross-section) at
    rest, and stays on it when posed: it is skinned like the cloth under it. Distances are exact
    closest points (trimesh's search, not the one the folds are built with). On the sleeve pouches,
    which hang on spring chains across big decimated triangles, linear blend skinning of a point
    inside a triangle departs from the triangle itself, so only the median is held there."""
    import trimesh

    from kyara.body.mesh_ops import is_closed_manifold, signed_volume
    from kyara.pose.presets import get_pose

    c = dressed("kimono")
    folds = c.part("kimono-folds")
    assert is_closed_manifold(folds.faces) and signed_volume(folds.vertices, folds.faces) > 0
    mesh = c.merged()
    posed, _ = c.pose(get_pose("walk", c.body.params), mesh, collide=False)
    starts = np.cumsum([0] + [len(p.vertices) for p in c.parts])
    names = [p.name for p in c.parts]
    k = names.index("kimono-folds")
    rest_f = mesh["vertices"][starts[k]:starts[k + 1]].astype(np.float64)
    posed_f = posed[starts[k]:starts[k + 1]].astype(np.float64)
    claimed = np.zeros(len(rest_f), dtype=bool)
    for name, p95 in (("kimono-skirt", 0.003), ("kimono-obi", 0.003), ("kimono", None)):
        i = names.index(name)
        part = c.parts[i]
        _, d_rest, _ = trimesh.Trimesh(part.vertices, part.faces, process=False).nearest.on_surface(rest_f)
        on = d_rest < 0.0016  # lift 0.9 mm, half width 1.5 mm
        claimed |= on
        v = posed[starts[i]:starts[i + 1]].astype(np.float64)
        _, d, _ = trimesh.Trimesh(v, part.faces, process=False).nearest.on_surface(posed_f[on])
        assert on.sum() > 200, name
        if p95 is not None:
            assert np.percentile(d, 95) < p95, (name, np.percentile(d, 95))
        else:
            assert np.median(d) < 0.005, (name, np.median(d))
    assert claimed.mean() > 0.97  # (nearly) every ridge vertex lies on one of them


# ---------------------------------------------------------------------------------------------
# the contact sheet for the README


SHEET = {
    "kimono": "an anime girl in a kimono",
    "sailor uniform": "an anime girl with short hair in a white sailor uniform",
    "hoodie": "an anime boy in a hoodie",
    "sports jersey": "an anime girl in a blue sports jersey number 23",
    "pirate coat": "an anime pirate in a blue and gold coat",
    "witch robe": "an anime witch with pointy hat",
}


def write_sheet(path="docs/garments.png", size: int = 320, width: int = 200, per_row: int = 2) -> None:
    """Each costume of :data:`SHEET` (the full character, ``stand``, seed 0) from the front, side and
    back: ``size``-pixel renders cropped to ``width`` pixels round the figure."""
    from PIL import Image, ImageDraw

    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt
    from kyara.character.preview import character_views
    from kyara.pose.presets import get_pose

    label_h, bg = 20, (246, 244, 240)
    tiles = []
    for name, prompt in SHEET.items():
        c = build_character(parse_prompt(prompt, 0))
        views = character_views(c, get_pose("stand", c.body.params), size=(size, size), outline=1)["toon"]
        tile = Image.new("RGB", (3 * width, size + label_h), bg)
        for i, im in enumerate(views):
            cols = np.flatnonzero(np.asarray(im)[..., 3].max(axis=0) > 0)
            x0 = int(np.clip((cols.min() + cols.max()) // 2 - width // 2, 0, size - width))
            crop = Image.fromarray(np.ascontiguousarray(im)).crop((x0, 0, x0 + width, size))
            tile.paste(crop.convert("RGB"), (i * width, label_h), crop)
        ImageDraw.Draw(tile).text((6, 4), f"{name}: front, side, back", fill=(40, 30, 35))
        tiles.append(tile)
    rows = (len(tiles) + per_row - 1) // per_row
    sheet = Image.new("RGB", (per_row * 3 * width, rows * (size + label_h)), bg)
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % per_row) * 3 * width, (k // per_row) * (size + label_h)))
    sheet.save(path)


if __name__ == "__main__":
    write_sheet()
