"""Anime cel shading of the previews and its MToon twin in the VRM.

* Spheres of flat colour, measured against the analytic sphere (ray casting, not the renderer's
  normals): away from the terminator and the rim, exactly two colours per material show, the base
  and the material's own shade colour; the rim sits on the side away from the light and adds
  ``rim_lit * (base - shade) + rim_color``; the whole image matches the numpy reference.
* Ink width follows depth: a near and a far sphere get lines of the widths
  ``outline_scale`` predicts from their silhouettes' depths (and equal widths with the depth power 0).
* Anime colours: the default skin is a pale peach with a pinkish-orange shadow.
* The VRM's MToon draws the same rim: its matcap texture decodes to the preview's rim weight and its
  per-material factor gives the preview's rim colour (VRM 1.0 and 0.x).
* Slow: the demo character's hair shows its shine in the preview.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh

from kyara.character.colors import SKIN_PALETTE, delta_e2000, hex_to_rgb, shadow_colour, skin_tone_hex, srgb_to_lab
from kyara.render.camera import perspective
from kyara.render.toon import (MapStyle, ToonStyle, matcap_coords, outline_scale, rim_matcap, rim_weight,
                               toon_shade_reference)

S = 128


# -- analytic spheres -------------------------------------------------------------------------------
def _rays(cam):
    """World origins ``[H, W, 3]`` and unit directions ``[H, W, 3]`` through every pixel centre."""
    j, i = np.mgrid[0:cam.height, 0:cam.width].astype(np.float64)
    x = (i - (cam.width - 1) / 2.0) / cam.focal_px
    y = -(j - (cam.height - 1) / 2.0) / cam.focal_px
    d = np.stack([x, y, -np.ones_like(x)], axis=-1) @ cam.view[:3, :3]  # camera -> world (rows times R)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    return np.broadcast_to(cam.position, d.shape), d


def _to_camera(cam):
    """Unit vectors from every pixel's surface point to the camera ``[H, W, 3]``, camera space."""
    return -_rays(cam)[1] @ cam.view[:3, :3].T


def _hit_spheres(cam, spheres):
    """Per pixel: index of the nearest sphere hit (-1 = none), camera-space unit normal and unit
    vector to the camera, and the hit's depth along the view axis. ``spheres``: [(centre, radius)]."""
    o, d = _rays(cam)
    best_t = np.full(d.shape[:2], np.inf)
    idx = np.full(d.shape[:2], -1)
    normal = np.zeros(d.shape)
    for k, (c, r) in enumerate(spheres):
        oc = o - np.asarray(c, np.float64)
        b = np.sum(oc * d, axis=-1)
        disc = b * b - (np.sum(oc * oc, axis=-1) - r * r)
        t = -b - np.sqrt(np.maximum(disc, 0.0))
        hit = (disc > 0) & (t > 0) & (t < best_t)
        best_t = np.where(hit, t, best_t)
        idx = np.where(hit, k, idx)
        normal = np.where(hit[..., None], (o + t[..., None] * d - np.asarray(c)) / r, normal)
    rot = cam.view[:3, :3]
    n_cam = normal @ rot.T
    to_cam = -d @ rot.T
    return idx, n_cam, to_cam


def _sphere_mesh(centre, radius, sub=5):
    m = trimesh.creation.icosphere(subdivisions=sub, radius=radius)
    return (m.vertices + np.asarray(centre)).astype(np.float32), m.faces.astype(np.int32)


def _render(verts, faces, cam, style, base, shade, maps=("toon",)):
    from kyara.render.maps import MeshRenderer, VertexAttrs

    r = MeshRenderer(faces, len(verts), cam.width, cam.height)
    try:
        return r.render(verts, [cam], maps, vertex_attrs=VertexAttrs(base_color=base, shade_color=shade),
                        style=MapStyle(toon=style))
    finally:
        r.release()


def _two_spheres(materials):
    """Two spheres side by side, one per ``(base, shade)`` material; per-vertex colour arrays."""
    spheres = [((-0.55, 0.0, 0.0), 0.5), ((0.55, 0.0, 0.0), 0.5)]
    vs, fs, base, shade = [], [], [], []
    for (c, r), (b, s) in zip(spheres, materials):
        v, f = _sphere_mesh(c, r)
        fs.append(f + sum(len(x) for x in vs))
        vs.append(v)
        base.append(np.tile(b, (len(v), 1)))
        shade.append(np.tile(s, (len(v), 1)))
    return spheres, np.concatenate(vs), np.concatenate(fs), np.concatenate(base), np.concatenate(shade)


SKIN = hex_to_rgb(skin_tone_hex("fair"))
RED = hex_to_rgb("#d12a2a")
MATERIALS = [(np.array(SKIN), np.array(shadow_colour(SKIN, skin=True))), (np.array(RED), np.array(shadow_colour(RED)))]


def _rounded(c):
    return np.rint(np.asarray(c, np.float64) * 255.0)


def test_two_tones_per_material_shade_is_the_materials_own_rim_away_from_the_light(gl):
    style = ToonStyle(outline_width=0)  # the default shading, no ink
    spheres, v, f, base, shade = _two_spheres(MATERIALS)
    cam = perspective((0.0, 0.0, 4.0), (0.0, 0.0, 0.0), size=(3 * S, 3 * S // 2), fovy_deg=20.0)
    toon = _render(v, f, cam, style, base, shade)["toon"][0].astype(np.float64)
    idx, n, to_cam = _hit_spheres(cam, spheres)
    assert np.array_equal(toon[..., 3] == 255, idx >= 0) or np.mean((toon[..., 3] == 255) != (idx >= 0)) < 0.01
    lit = n @ style.light + style.shading_shift  # the ramp's input, from the analytic normals
    m = matcap_coords(n, to_cam)
    rim = rim_weight(m, style)
    inner = idx >= 0
    for k in (1,):  # one pixel in from the silhouette (the mesh's polygon edge)
        inner &= np.roll(idx, k, 0) == idx
        inner &= np.roll(idx, -k, 0) == idx
        inner &= np.roll(idx, k, 1) == idx
        inner &= np.roll(idx, -k, 1) == idx
    away = np.abs(lit) > (1 - style.shading_toony) + 0.03  # off the terminator's soft pixel
    no_rim = np.linalg.norm(m, axis=-1) < 1 - style.rim_width - 0.05
    for k, (b, s) in enumerate(MATERIALS):
        plain = inner & away & no_rim & (idx == k)
        colours = {tuple(c) for c in np.rint(toon[plain][:, :3])}
        assert len(colours) == 2, sorted(colours)  # exactly two tones
        assert colours == {tuple(_rounded(b)), tuple(_rounded(s))}  # base and this material's shade
        assert np.all(np.rint(toon[plain & (lit > 0)][:, :3]) == _rounded(b))  # lit side: base
        assert np.all(np.rint(toon[plain & (lit < 0)][:, :3]) == _rounded(s))  # far side: the shade colour
        assert (plain & (lit < 0)).sum() > 200 and (plain & (lit > 0)).sum() > 200
        # the terminator: the few pixels there lie between the two tones
        term = inner & ~away & no_rim & (idx == k)
        seg = (toon[term][:, :3] / 255.0 - s) @ (b - s) / np.dot(b - s, b - s)
        resid = toon[term][:, :3] / 255.0 - (s + seg[:, None] * (b - s))
        assert np.abs(resid).max() < 2.5 / 255 and np.all((seg > -0.02) & (seg < 1.02))
        # the rim: full weight only on the side away from the light, where it adds rim_lit*(b-s)+rim
        full = inner & (rim > 0.999) & (idx == k) & (lit < -0.1)
        assert full.sum() > 10
        want = _rounded(np.clip(s + style.rim_lit * np.maximum(b - s, 0) + np.array(style.rim_color), 0, 1))
        assert np.abs(np.rint(toon[full][:, :3]) - want).max() <= 2
        side = m[inner & (rim > 0.5) & (idx == k)]
        assert np.all(side @ (-style.light[:2]) > 0)  # away from the light in the image plane


def test_toon_matches_the_reference_at_every_pixel(gl):
    style = ToonStyle(shading_toony=0.6, tones=3, outline_width=0, rim_width=0.15, rim_color=(0.2, 0.1, 0.1),
                      light_dir=(0.3, 0.6, 0.75))
    spheres, v, f, base, shade = _two_spheres(MATERIALS)
    cam = perspective((0.3, 0.2, 3.6), (0.0, 0.0, 0.0), size=(2 * S, S), fovy_deg=26.0)
    toon = _render(v, f, cam, style, base, shade)["toon"][0, ..., :3] / 255.0
    idx, n, to_cam = _hit_spheres(cam, spheres)
    inner = idx >= 0
    for k in (1, 2):
        inner &= (np.roll(idx, k, 0) == idx) & (np.roll(idx, -k, 0) == idx)
        inner &= (np.roll(idx, k, 1) == idx) & (np.roll(idx, -k, 1) == idx)
    b = np.stack([MATERIALS[k][0] for k in (0, 1)])[np.maximum(idx, 0)]
    s = np.stack([MATERIALS[k][1] for k in (0, 1)])[np.maximum(idx, 0)]
    ref = toon_shade_reference(n, to_cam, b, s, style)
    err = np.abs(toon - ref).max(axis=-1)[inner]
    # 8-bit colours and the 8-bit matcap coordinate of the G-buffer: a few pixels on the rim's soft edge differ more
    assert np.quantile(err, 0.99) < 3.0 / 255 and err.max() < 0.12, (np.quantile(err, 0.99), err.max())


def test_reference_rim_is_off_with_a_black_rim_colour():
    n = np.array([[0.9, -0.4, np.sqrt(1 - 0.97)]])
    to_cam = np.array([[0.0, 0.0, 1.0]])
    base, shade = np.array([0.9, 0.5, 0.4]), np.array([0.5, 0.2, 0.2])
    on = toon_shade_reference(n, to_cam, base, shade, ToonStyle())
    off = toon_shade_reference(n, to_cam, base, shade, ToonStyle(rim_color=(0.0, 0.0, 0.0)))
    assert np.allclose(off, shade) and not np.allclose(on, shade)


# -- ink width by depth ------------------------------------------------------------------------------
def _silhouette_depth(centre_cam: np.ndarray, r: float, side: int) -> float:
    """View depth of the sphere's silhouette point on the horizontal plane through its centre
    (camera space, y = 0): the tangent from the eye, on the left (side -1) or right (+1)."""
    cx, cz = centre_cam[0], centre_cam[2]
    # tangency: r (cos a, sin a) . (c + r (cos a, sin a)) = 0  ->  cx cos a + cz sin a = -r
    rho, phi = np.hypot(cx, cz), np.arctan2(cz, cx)
    a = phi + side * np.arccos(-r / rho) * np.array([1.0, -1.0])
    px = cx + r * np.cos(a)
    pz = cz + r * np.sin(a)
    pick = np.argmin(px) if side < 0 else np.argmax(px)
    return float(-pz[pick])


def _ink_run(row_dark: np.ndarray, start: int, step: int) -> int:
    """Length of the run of ink pixels found first when walking from ``start`` by ``step``."""
    i = start
    while 0 <= i < len(row_dark) and not row_dark[i]:
        i += step
    n = 0
    while 0 <= i < len(row_dark) and row_dark[i]:
        n += 1
        i += step
    return n


@pytest.mark.parametrize("power", [3.0, 0.0])
def test_ink_is_thicker_near_and_thinner_far_as_outline_scale_says(gl, power):
    r = 0.25
    near_c, far_c = np.array([-0.45, 0.0, 0.3]), np.array([0.45, 0.0, -0.3])
    va, fa = _sphere_mesh(near_c, r, 4)
    vb, fb = _sphere_mesh(far_c, r, 4)
    v, f = np.concatenate([va, vb]), np.concatenate([fa, fb + len(va)])
    cam = perspective((0.0, 0.0, 4.0), (0.0, 0.0, 0.0), size=(320, 160), fovy_deg=16.0)
    style = ToonStyle(outline_width=6, outline_depth_power=power, outline_color=(0.0, 0.0, 0.0), rim_color=(0, 0, 0),
                      background=(1.0, 1.0, 1.0))
    grey = np.full((len(v), 3), 0.8)
    toon = _render(v, f, cam, style, grey, grey)["toon"][0, ..., :3]
    dark = toon.max(axis=-1) < 60
    z = -(v.astype(np.float64) @ cam.view[:3, :3].T + cam.view[:3, 3])[:, 2]
    near, far = z.min(), z.max()  # the mesh's depth range in this view (the shader's z_mid)
    widths = {}
    for name, c, side in (("near", near_c, -1), ("far", far_c, +1)):
        c_cam = cam.view[:3, :3] @ c + cam.view[:3, 3]
        u, vpix = cam.project(c[None])[0][0]
        row = int(round(vpix))
        start = int(round(u))
        measured = np.mean([_ink_run(dark[rr], start, side) for rr in (row - 1, row, row + 1)])
        want = float(style.outline_width * outline_scale(_silhouette_depth(c_cam, r, side), near, far, style))
        widths[name] = (measured, want)
        assert abs(measured - want) <= 1.0, (name, measured, want)
    if power > 0:
        assert widths["near"][0] >= widths["far"][0] + 2.5, widths
        assert widths["near"][1] > style.outline_width > widths["far"][1]
    else:
        assert abs(widths["near"][0] - widths["far"][0]) <= 1.0, widths


def test_outline_scale_reference():
    st = ToonStyle(outline_depth_power=3.0, outline_scale_range=(0.6, 1.4))
    assert outline_scale(2.0, 1.0, 3.0, st) == pytest.approx(1.0)  # middle depth: the style's width
    assert outline_scale(1.8, 1.0, 3.0, st) == pytest.approx((2.0 / 1.8) ** 3)
    assert outline_scale(1.0, 1.0, 3.0, st) == pytest.approx(1.4)  # clamped
    assert outline_scale(3.0, 1.0, 3.0, st) == pytest.approx(0.6)
    assert outline_scale(1.0, 1.0, 3.0, ToonStyle(outline_depth_power=0.0)) == 1.0
    for bad in ({"outline_scale_range": (1.2, 2.0)}, {"outline_depth_power": -1.0}, {"outline_width": -1},
                {"rim_width": 0.0}, {"rim_dir": (0.0, 0.0)}, {"light_dir": (0.0, 0.0, 1.0)}):
        with pytest.raises(ValueError):
            ToonStyle(**bad)


def test_contour_flags_match_a_loop_over_faces():
    from kyara.render.edges import camera_points, contour_flags, edge_topology, feature_edges, front_facing

    box = trimesh.creation.box(extents=(0.6, 0.9, 0.4))
    ball = trimesh.creation.icosphere(subdivisions=2, radius=0.25)
    ball.apply_translation((0.2, 0.1, 0.35))
    sheet = trimesh.Trimesh([[-0.5, -0.6, 0.5], [0.5, -0.6, 0.5], [0.0, -0.2, 0.6]], [[0, 1, 2]])  # open edges
    m = trimesh.util.concatenate([box, ball, sheet])
    v, f = m.vertices.astype(np.float32), m.faces.astype(np.int32)
    cams = [perspective((1.5, 1.0, 2.5), (0, 0, 0), size=(S, S)), perspective((-2.0, 0.3, -1.5), (0, 0, 0), size=(S, S))]
    topo = edge_topology(f, len(v))
    pts = camera_points(np.stack([c.view for c in cams]), np.array([False, False]))
    front = front_facing(v, f, pts)
    view, edge = feature_edges(v, f, topo, pts, 40.0)
    flags = contour_flags(view, edge, topo, front)
    for k, c in enumerate(cams):
        faces_of: dict = {}
        for fi, tri in enumerate(f):
            for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])):
                faces_of.setdefault((min(a, b), max(a, b)), []).append(fi)
        side = lambda fi: np.dot(np.cross(v[f[fi, 1]] - v[f[fi, 0]], v[f[fi, 2]] - v[f[fi, 0]]),  # noqa: E731
                                 c.position - v[f[fi, 0]]) > 0
        want = {e for e, fs in faces_of.items() if len(fs) == 1 or side(fs[0]) != side(fs[1])}
        sel = view == k
        got = {tuple(sorted(topo.vertices[e])) for e in edge[sel & flags]}
        creases = {tuple(sorted(topo.vertices[e])) for e in edge[sel & ~flags]}
        assert got == want and creases and not (creases & want)


def test_toon_ink_skips_creases_like_mtoon_lineart_keeps_them(gl):
    """A box seen corner-on: its three visible faces meet in creases. The lineart map draws them;
    the toon map's ink, like MToon's outline, only draws the silhouette (unless ink_creases)."""
    from kyara.render.maps import MeshRenderer, VertexAttrs

    m = trimesh.creation.box(extents=(0.8, 0.8, 0.8))
    v, f = m.vertices.astype(np.float32), m.faces.astype(np.int32)
    cam = perspective((2.0, 1.6, 2.4), (0, 0, 0), size=(S, S), fovy_deg=40.0)
    grey = np.full((len(v), 3), 0.8)
    counts = {}
    r = MeshRenderer(f, len(v), S, S)
    try:
        for creases in (False, True):
            style = ToonStyle(outline_width=2, outline_color=(0.0, 0.0, 0.0), rim_color=(0, 0, 0),
                              background=(1.0, 1.0, 1.0), ink_creases=creases, outline_depth_power=0.0)
            out = r.render(v, [cam], ("toon", "lineart", "mask"), style=MapStyle(toon=style, line_width=2),
                           vertex_attrs=VertexAttrs(base_color=grey, shade_color=grey))
            inside = out["mask"][0, ..., 0] > 0
            for _ in range(3):  # well inside the silhouette
                inside = inside & np.roll(inside, 1, 0) & np.roll(inside, -1, 0) & np.roll(inside, 1, 1) & np.roll(inside, -1, 1)
            counts[creases] = ((out["toon"][0, ..., :3].max(-1) < 30) & inside).sum(), (out["lineart"][0, ..., 0] > 0)[inside].sum()
    finally:
        r.release()
    (ink_off, line_off), (ink_on, line_on) = counts[False], counts[True]
    assert line_off == line_on > 60  # lineart: the creases either way
    assert ink_off == 0 and ink_on > 60


# -- anime colours -----------------------------------------------------------------------------------
def _lch(rgb):
    lab = srgb_to_lab(np.asarray(rgb, np.float64))
    return lab[..., 0], np.hypot(lab[..., 1], lab[..., 2]), np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360


def test_default_skin_is_pale_peach_with_a_pinkish_orange_shadow():
    from kyara.character.model import Material

    for name in SKIN_PALETTE:
        base = hex_to_rgb(skin_tone_hex(name))
        lb, cb, hb = _lch(base)
        assert lb >= 80 and 5 <= cb <= 30 and 50 <= hb <= 75, (name, lb, cb, hb)  # pale peach
        shade = Material("skin", base).shade  # the body's material: the warm skin shadow
        assert shade == shadow_colour(base, skin=True)
        ls, cs, hs = _lch(shade)
        assert 8 <= lb - ls <= 20, (name, lb, ls)  # a clear but light second tone
        assert cs > cb + 5 and 30 <= hs <= 55 and hs < hb - 8, (name, cs, hs)  # redder and more saturated
        assert ls >= 65  # pinkish orange, not brown
        cloth = shadow_colour(base)  # what a cloth of that colour would get: cooler, greyer
        assert delta_e2000(srgb_to_lab(shade), srgb_to_lab(cloth)) > 10


# -- the same rim in the VRM's MToon -------------------------------------------------------------------
def _png_linear(gltf, binary, texture):
    from PIL import Image

    img = gltf["images"][gltf["textures"][texture]["source"]]
    bv = gltf["bufferViews"][img["bufferView"]]
    raw = binary[bv.get("byteOffset", 0):bv.get("byteOffset", 0) + bv["byteLength"]]
    with Image.open(io.BytesIO(raw)) as im:
        c = np.asarray(im.convert("RGB"), np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb(c):
    c = np.clip(np.asarray(c, np.float64), 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def _lin(c):
    c = np.clip(np.asarray(c, np.float64), 0, 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


@pytest.fixture(scope="module")
def small_character():
    from test_export_common import synthetic_character

    return synthetic_character()


def test_vrm_mtoon_matcap_is_the_preview_rim(small_character):
    from kyara.export.gltf import read_glb
    from kyara.export.vrm import MATCAP_SIZE, preview_style, vrm_bytes
    from kyara.export.vrm0 import vrm0_bytes

    style = preview_style()
    weight = rim_matcap(style, MATCAP_SIZE)
    # orientation as three-vrm reads it (uv = 0.5 + 0.5 (m.x, -m.y), row 0 on top): the rim is on the
    # image-plane side away from the light (the light comes from the upper left: the rim lower right)
    h = MATCAP_SIZE // 2
    assert style.light[0] < 0 < style.light[1]
    assert weight[h:, h:].sum() > 20 * max(weight[:h, :h].sum(), 1e-9)
    assert weight[0, 0] == 0 and weight[h, h] == 0  # nothing outside the normal disk nor at its centre
    gltf, binary = read_glb(vrm_bytes(small_character)[0])
    mats = gltf["materials"]
    seen = 0
    for m in mats:
        mt = m["extensions"]["VRMC_materials_mtoon"]
        assert mt["parametricRimColorFactor"] == [0.0, 0.0, 0.0]
        assert mt["shadingToonyFactor"] == pytest.approx(style.shading_toony)
        tex = _png_linear(gltf, binary, mt["matcapTexture"]["index"])
        # the weight in linear light, stored as 8-bit sRGB: within half a step of 8-bit sRGB
        np.testing.assert_allclose(_srgb(tex[..., 0]), _srgb(weight), atol=0.51 / 255)
        base = np.asarray(m["pbrMetallicRoughness"]["baseColorFactor"][:3])  # linear
        shade_lin = np.asarray(mt["shadeColorFactor"])
        if "shadeMultiplyTexture" in mt or "baseColorTexture" in m["pbrMetallicRoughness"]:
            continue  # atlas parts: the factor comes from the part's median colours
        b = np.where(base <= 0.0031308, 12.92 * base, 1.055 * base ** (1 / 2.4) - 0.055)  # back to sRGB
        s = np.where(shade_lin <= 0.0031308, 12.92 * shade_lin, 1.055 * shade_lin ** (1 / 2.4) - 0.055)
        add = style.rim_lit * np.maximum(b - s, 0) + np.array(style.rim_color)
        # a viewer's full-rim colour on the shaded side: linear shade + factor = the preview's sRGB shade + add
        np.testing.assert_allclose(shade_lin + np.asarray(mt["matcapFactor"]), _lin(s + add), atol=2e-5)
        seen += 1
    assert seen >= 3
    # VRM 0.x: one sphere texture per material, already multiplied by its factor
    gltf0, binary0 = read_glb(vrm0_bytes(small_character)[0])
    props = gltf0["extensions"]["VRM"]["materialProperties"]
    for p in props:
        sph = p["textureProperties"].get("_SphereAdd")
        assert sph is not None
        c = np.asarray(p["vectorProperties"]["_Color"][:3])
        s = np.asarray(p["vectorProperties"]["_ShadeColor"][:3])
        if "_MainTex" in p["textureProperties"]:
            continue
        add = style.rim_lit * np.maximum(c - s, 0) + np.array(style.rim_color)
        factor = _lin(s + add) - _lin(s)
        tex = _png_linear(gltf0, binary0, sph)
        key = np.rint(factor * 255) / 255  # factors are kept to 8 bits (one texture per distinct one)
        np.testing.assert_allclose(_srgb(tex), _srgb(weight[..., None] * key), atol=0.51 / 255)
        assert np.abs(key - factor).max() <= 0.5 / 255
    assert p["vectorProperties"]["_RimColor"][:3] == [0.0, 0.0, 0.0]


# -- hair shine ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_demo_hair_shows_its_shine_in_the_preview(gl):
    from kyara.body.skeleton import BONE_INDEX
    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt
    from kyara.render.maps import MeshRenderer, VertexAttrs

    c = build_character(parse_prompt("an anime girl in a kimono, long black hair", seed=0))
    mesh = c.merged(opaque_only=True)
    names = [p.name for p in c.parts]
    assert "hair_shine" in names
    head = c.rest_joints[BONE_INDEX["head"]]
    target = head + np.array([0.0, 0.07, 0.0])
    cam = perspective(target + np.array([0.0, 0.25, 0.6]), target, (256, 256), fovy_deg=30.0)
    style = ToonStyle(outline_width=0)
    r = MeshRenderer(mesh["faces"], len(mesh["vertices"]), 256, 256)
    try:
        out = r.render(mesh["vertices"], [cam], ("toon", "parts"), style=MapStyle(toon=style),
                       vertex_attrs=VertexAttrs(parts=mesh["part_id"].astype(np.uint8), base_color=mesh["base"],
                                                shade_color=mesh["shade"]))
    finally:
        r.release()
    ids, toon = out["parts"][0, ..., 0], out["toon"][0, ..., :3] / 255.0
    shine = ids == names.index("hair_shine")
    hair = np.isin(ids, [names.index(n) for n in ("hair_cap", "hair_bangs") if n in names])
    assert shine.sum() > 80 and hair.sum() > 2000
    l_shine = np.median(srgb_to_lab(toon[shine])[:, 0])
    l_hair = np.median(srgb_to_lab(toon[hair])[:, 0])
    assert l_shine > l_hair + 15, (l_shine, l_hair)  # a highlight band, clearly lighter than the hair


@pytest.mark.slow
def test_three_vrm_draws_the_previews_rim(tmp_path):
    """three-vrm (headless Chromium) draws the rim where the preview draws it, in its colour: on the
    demo avatar's shaded side, the pixels the preview's rim covers match the viewer's (VRM 1.0 and
    0.x), and they do differ from the shade the same pixels get without a rim."""
    from dataclasses import replace

    from test_export_common import acceptance_character
    from vrm_look import DEMO_PROMPT, front_cameras, preview_and_jobs, render_three_vrm
    from vrm_look import erode as _erode
    from vrm_look import png_rgba as _png

    from kyara.export import export_character
    from kyara.render.maps import MeshRenderer, VertexAttrs

    c = acceptance_character(DEMO_PROMPT)
    paths = {fmt: export_character(c, fmt, tmp_path / f"avatar_{fmt}.vrm").path for fmt in ("vrm", "vrm0")}
    cam = front_cameras(c)["face"]
    preview, style, jobs = preview_and_jobs(c, paths, cam)
    shots = render_three_vrm(jobs)
    mesh = c.merged(opaque_only=True)
    r = MeshRenderer(mesh["faces"], len(mesh["vertices"]), cam.width, cam.height)
    try:
        no_rim = r.render(mesh["vertices"], [cam], ("toon",), style=MapStyle(toon=replace(
            style, outline_width=0, rim_color=(0.0, 0.0, 0.0))), vertex_attrs=VertexAttrs(
            base_color=mesh["base"], shade_color=mesh["shade"]))["toon"][0]
    finally:
        r.release()
    n = preview["normal"].astype(np.float64) / 255.0 * 2 - 1
    n[..., 0] *= -1  # NormalBae colours -> OpenGL camera-space normal
    weight = rim_weight(matcap_coords(n, _to_camera(cam)), style)
    lab = lambda img: srgb_to_lab(img[..., :3] / 255.0)  # noqa: E731
    for job in jobs:
        shot = shots[job["vrm"]]
        both = _erode((preview["toon"][..., 3] > 127) & (_png(shot["color"])[..., 3] > 127))
        rim = both & (weight > 0.9) & (n @ style.light < -0.15)
        assert rim.sum() > 300, rim.sum()
        de = delta_e2000(lab(preview["surface"])[rim], lab(_png(shot["surface"]))[rim])
        assert np.median(de) < 3.0, (job["vrm"], np.median(de))
        assert np.median(delta_e2000(lab(preview["surface"])[rim], lab(no_rim)[rim])) > 5.0  # a visible rim
