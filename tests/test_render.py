"""Headless condition-map renderer: conventions, references, batching, toon, visibility."""

import numpy as np
import pytest
import trimesh

from kyara.errors import RenderBackendError
from kyara.render.camera import orthographic, perspective, view_camera
from kyara.render.edges import camera_points, edge_topology, feature_edges, feature_edges_reference
from kyara.render.toon import MapStyle, ToonStyle

S = 96  # image size for most tests




def _sphere(sub=3, r=0.5):
    m = trimesh.creation.icosphere(subdivisions=sub, radius=r)
    return m.vertices.astype(np.float32), m.faces.astype(np.int32)


def _scene():
    """A box with a sphere in front of it (depth jumps, creases), not symmetric."""
    box = trimesh.creation.box(extents=(0.6, 0.9, 0.4))
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.25)
    ball.apply_translation((0.2, 0.1, 0.35))
    m = trimesh.util.concatenate([box, ball])
    return m.vertices.astype(np.float32), m.faces.astype(np.int32)


def _attrs(v):
    from kyara.render.maps import VertexAttrs

    lo, hi = v.min(0), v.max(0)
    return VertexAttrs(parts=(v[:, 1] > 0).astype(np.uint8) + 2 * (v[:, 0] > 0), udp=(v - lo) / (hi - lo))


def _renderer(v, f, size=S, **kw):
    from kyara.render.maps import MeshRenderer

    return MeshRenderer(f, len(v), size, size, vertex_attrs=_attrs(v), **kw)


def _ray_hit(cam, v, f, px):
    from kyara.render.visibility import camera_ray, ray_mesh_first_hit

    o, d = camera_ray(cam, px)
    t, face, bary = ray_mesh_first_hit(o, d, v, f)
    return o, d, t, face, bary


def test_vertex_normals_match_reference():
    from kyara.render.maps import vertex_normals, vertex_normals_reference

    v, f = _scene()
    fast = vertex_normals(v, f)
    np.testing.assert_allclose(fast, vertex_normals_reference(v, f), atol=1e-5)
    batch = vertex_normals(np.stack([v, v * 2]), f)
    np.testing.assert_allclose(batch[1], fast, atol=1e-5)
    s, _ = _sphere()
    assert np.all(np.sum(vertex_normals(s, _sphere()[1]) * s, axis=1) > 0)  # outward


def test_feature_edges_match_reference():
    v, f = _scene()
    topo = edge_topology(f, len(v))
    cams = [perspective((1.0, 0.6, 2.0), (0, 0, 0)), orthographic((-2, 0.3, 1.0), (0, 0, 0))]
    pts = camera_points(np.stack([c.view for c in cams]), np.array([c.is_ortho for c in cams]))
    view, edge = feature_edges(v, f, topo, pts, 50.0)
    for i in range(len(cams)):
        fast = {tuple(e) for e in topo.vertices[edge[view == i]].tolist()}
        assert fast == feature_edges_reference(v, f, pts[i], 50.0)
        assert len(fast) > 10


def test_depth_increases_away_from_camera(gl):
    # a plane tilted back: its top is farther from a front camera than its bottom
    plane = trimesh.creation.box(extents=(1.0, 1.0, 0.01))
    plane.apply_transform(trimesh.transformations.rotation_matrix(np.radians(-40), [1, 0, 0]))
    v, f = plane.vertices.astype(np.float32), plane.faces.astype(np.int32)
    cam = perspective((0, 0, 2.5), (0, 0, 0), size=(S, S), fovy_deg=40)
    out = _renderer(v, f).render(v, [cam], ("depth", "metric_depth", "mask"))
    metric, d8, mask = out["metric_depth"][0, ..., 0], out["depth"][0, ..., 0], out["mask"][0, ..., 0]
    col = S // 2
    rows = np.flatnonzero(mask[:, col])
    assert len(rows) > S // 3
    assert np.all(np.diff(metric[rows, col]) < 0)  # lower rows are nearer
    assert np.all(np.diff(d8[rows, col].astype(int)) >= 0)  # near = bright
    assert d8[rows[-1], col] > d8[rows[0], col] + 30
    assert np.all(d8[mask == 0] == 0) and np.all(np.isinf(metric[mask == 0]))


def test_metric_depth_and_udp_match_ray_casting(gl):
    v, f = _scene()
    attrs = _attrs(v)
    cam = perspective((0.9, 0.5, 1.8), (0, 0, 0), size=(S, S), fovy_deg=45)
    out = _renderer(v, f).render(v, [cam], ("metric_depth", "udp", "parts", "mask"))
    rng = np.random.default_rng(0)
    checked = 0
    for px in rng.integers(0, S, size=(250, 2)):
        o, d, t, face, bary = _ray_hit(cam, v, f, px)
        hit = np.isfinite(t)
        # skip pixels whose neighbours disagree (silhouettes): one-pixel rasterisation differences
        win = out["mask"][0, max(px[1] - 1, 0):px[1] + 2, max(px[0] - 1, 0):px[0] + 2]
        if win.min() != win.max():
            continue
        assert bool(out["mask"][0, px[1], px[0], 0]) == hit
        udp = out["udp"][0, px[1], px[0]]
        if not hit:
            assert np.all(udp == 0) and out["parts"][0, px[1], px[0], 0] == 255
            continue
        checked += 1
        z = -(cam.view[2, :3] @ (o + t * d) + cam.view[2, 3])
        assert abs(out["metric_depth"][0, px[1], px[0], 0] - z) < 2e-3
        expect = bary @ attrs.udp[f[face]]
        np.testing.assert_allclose(udp[:3], expect, atol=2e-3)
        assert udp[3] == 1.0
        assert out["parts"][0, px[1], px[0], 0] in set(attrs.parts[f[face]].tolist())
    assert checked > 30


def test_normals_face_the_camera_normalbae_colours(gl):
    v, f = _sphere(4)
    cam = perspective((0, 0, 3), (0, 0, 0), size=(S, S), fovy_deg=30)
    out = _renderer(v, f).render(v, [cam], ("normal", "mask"))
    nrm, mask = out["normal"][0].astype(int), out["mask"][0, ..., 0] > 0
    n = nrm / 255.0 * 2 - 1  # NormalBae: (-x, y, z)
    assert np.all(n[mask][:, 2] >= -0.02)  # facing the camera
    c = S // 2
    assert np.all(np.abs(nrm[c, c] - [128, 128, 255]) <= 2)
    left, right, top = nrm[c, c - S // 5], nrm[c, c + S // 5], nrm[c - S // 5, c]
    assert left[0] > 160 and right[0] < 96  # red grows to the image left
    assert top[1] > 160  # green grows up
    assert np.all(nrm[~mask] == [128, 128, 255])  # background: a camera-facing surface colour
    # against the analytic sphere normal via ray casting at a few pixels
    for px in [(c, c), (c + 10, c - 7), (c - 12, c + 5)]:
        o, d, t, face, bary = _ray_hit(cam, v, f, np.array(px))
        p = o + t * d
        nw = p / np.linalg.norm(p)
        nc = cam.view[:3, :3] @ nw
        np.testing.assert_allclose(n[px[1], px[0]], [-nc[0], nc[1], nc[2]], atol=0.05)


def test_ortho_front_and_back_are_mirror_images(gl):
    v, f = _scene()
    # make it mirror-symmetric front/back (z -> -z; mirroring flips the winding)
    v2 = np.concatenate([v, v * [1, 1, -1]]).astype(np.float32)
    f2 = np.concatenate([f, f[:, ::-1] + len(v)]).astype(np.int32)
    lo, hi = v2.min(0), v2.max(0)
    cams = [view_camera("front", lo, hi, (S, S), ortho=True), view_camera("back", lo, hi, (S, S), ortho=True)]
    out = _renderer(v2, f2).render(v2, cams, ("mask", "metric_depth", "depth"))
    for m in ("mask", "depth"):
        diff = out[m][0].astype(int) != out[m][1][:, ::-1].astype(int)
        assert diff.mean() < 0.002, m  # equal up to rasteriser tie-breaks on edges
    both = (out["mask"][0, ..., 0] > 0) & (out["mask"][1, :, ::-1, 0] > 0)
    np.testing.assert_allclose(out["metric_depth"][0][both], out["metric_depth"][1][:, ::-1][both], atol=1e-3)
    assert out["mask"][0].mean() > 50  # not empty
    assert not np.array_equal(out["mask"][0], out["mask"][0][:, ::-1])  # and not trivially symmetric


def test_mask_matches_projected_silhouette(gl):
    v, f = _scene()
    cam = perspective((-0.7, 0.4, 2.0), (0, 0, 0), size=(S, S), fovy_deg=45)
    mask = _renderer(v, f).render(v, [cam], ("mask",))["mask"][0, ..., 0] > 0
    ref = np.zeros((S, S), dtype=bool)
    for y in range(0, S, 3):
        for x in range(0, S, 3):
            ref[y, x] = np.isfinite(_ray_hit(cam, v, f, np.array([x, y]))[2])
    sub = mask[::3, ::3]
    assert (sub != ref[::3, ::3]).mean() < 0.01
    assert sub.mean() > 0.2


def _inner_edge(mask):
    import cv2

    return mask & ~cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def _boundary(mask, w):
    import cv2

    k = np.ones((2 * w + 1, 2 * w + 1), np.uint8)
    m = mask.astype(np.uint8)
    return cv2.dilate(m, k) != cv2.erode(m, k)


def test_lineart_only_at_edges(gl):
    v, f = _sphere(4)
    cam = perspective((0, 0, 3), (0, 0, 0), size=(S, S), fovy_deg=30)
    out = _renderer(v, f).render(v, [cam], ("lineart", "mask"))
    line, mask = out["lineart"][0, ..., 0], out["mask"][0, ..., 0] > 0
    assert set(np.unique(line).tolist()) == {0, 255}
    on = line > 0
    near_silhouette = _boundary(mask, 2)
    assert np.all(near_silhouette[on])  # a sphere has no creases: only the outline
    import cv2

    near_line = cv2.dilate(on.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert near_line[_inner_edge(mask)].mean() > 0.95  # and the outline is drawn all round
    # a box seen at an angle: crease lines inside the silhouette too
    box = trimesh.creation.box(extents=(0.8, 0.8, 0.8))
    bv, bf = box.vertices.astype(np.float32), box.faces.astype(np.int32)
    cam2 = perspective((1.5, 1.2, 2.0), (0, 0, 0), size=(S, S), fovy_deg=40)
    out2 = _renderer(bv, bf).render(bv, [cam2], ("lineart", "mask"))
    inner = (out2["lineart"][0, ..., 0] > 0) & ~_boundary(out2["mask"][0, ..., 0] > 0, 2)
    assert inner.sum() > S // 2


def test_toon_tones_outline_background(gl):
    from kyara.render.maps import VertexAttrs

    v, f = _sphere(4)
    cam = perspective((0, 0, 3), (0, 0, 0), size=(S, S), fovy_deg=30)
    base, shade = np.array([0.9, 0.2, 0.2]), np.array([0.2, 0.2, 0.8])
    attrs = VertexAttrs(base_color=np.tile(base, (len(v), 1)), shade_color=np.tile(shade, (len(v), 1)))
    r = _renderer(v, f)
    mask = r.render(v, [cam], ("mask",), vertex_attrs=attrs)["mask"][0, ..., 0] > 0
    for tones in (2, 3):
        style = MapStyle(toon=ToonStyle(shading_toony=1.0, tones=tones, rim_color=(0, 0, 0), outline_width=0,
                                        light_dir=(1.0, 0.0, 0.3), deep_shade_shift=-0.4))
        toon = r.render(v, [cam], ("toon",), vertex_attrs=attrs, style=style)["toon"][0]
        fg = toon[mask]
        assert np.all(fg[:, 3] == 255) and np.all(toon[~mask][:, 3] == 0)  # transparent background
        expect = [base, shade] + ([shade * style.toon.deep_shade_factor] if tones == 3 else [])
        expect = np.rint(np.array(expect) * 255)
        dist = np.abs(fg[:, None, :3].astype(int) - expect[None]).max(axis=2)  # [P, tones]
        assert np.all(dist.min(axis=1) <= 1)  # every pixel is one of the tones
        assert np.all((dist <= 1).sum(axis=0) > 20)  # and every tone shows up
        # lit side (towards +x light, image right) is base colour, the far side shade
        c = S // 2
        assert np.abs(toon[c, c + S // 6, :3] - expect[0]).max() <= 1
        assert np.abs(toon[c, c - S // 6, :3] - expect[1]).max() <= 1
        assert np.abs(toon[c, c - 26, :3] - expect[-1]).max() <= 1  # deep shade on the far side
    ink = (0.0, 0.0, 0.0)
    style = MapStyle(toon=ToonStyle(outline_width=3, outline_color=ink, background=(1.0, 1.0, 1.0)))
    toon = r.render(v, [cam], ("toon",), vertex_attrs=attrs, style=style)["toon"][0]
    assert np.all(toon[..., 3] == 255)
    black = toon[..., :3].max(axis=2) == 0
    assert black[_inner_edge(mask)].mean() > 0.9 and black[_inner_edge(~mask)].mean() > 0.9  # ink on the outline
    assert np.all(toon[~_boundary(mask, 3) & ~mask][:, :3] == 255)  # white background elsewhere


def test_toon_outlines_follow_the_per_vertex_outline_flags(gl):
    """MToon draws outlines per material: edges of parts with outlines off (eyes, brows) get no
    ink in the toon map, the lineart map still draws them."""
    from kyara.render.maps import VertexAttrs

    a, fa = _sphere(3, 0.3)
    b = a + np.array([0.7, 0.0, 0.0], np.float32)
    a = a - np.array([0.7, 0.0, 0.0], np.float32)
    v = np.concatenate([a, b])
    f = np.concatenate([fa, fa + len(a)]).astype(np.int32)
    right = v[:, 0] > 0  # the right sphere has outlines off
    cam = perspective((0, 0, 3), (0, 0, 0), size=(S, S), fovy_deg=45)
    style = MapStyle(toon=ToonStyle(outline_width=3, outline_color=(0.0, 0.0, 0.0), background=(1.0, 1.0, 1.0),
                                    rim_color=(0, 0, 0)), line_width=2)
    r = _renderer(v, f)
    runs = {}
    for name, flags in (("all", None), ("left only", ~right)):
        attrs = VertexAttrs(base_color=np.full((len(v), 3), 0.8), shade_color=np.full((len(v), 3), 0.6),
                            outline=flags)
        out = r.render(v, [cam], ("toon", "lineart"), vertex_attrs=attrs, style=style)
        runs[name] = (out["toon"][0, ..., :3].max(axis=2) == 0, out["lineart"][0, ..., 0] > 0)
    half = S // 2
    ink_all, line_all = runs["all"]
    ink_left, line_left = runs["left only"]
    assert ink_all[:, :half].sum() > 100 and ink_all[:, half:].sum() > 100
    assert np.array_equal(ink_left[:, :half], ink_all[:, :half])  # the left sphere keeps its outline
    assert ink_left[:, half:].sum() == 0  # the right one has none
    assert np.array_equal(line_left, line_all)  # lineart draws every edge either way
    with pytest.raises(ValueError, match="outline"):
        r.render(v, [cam], ("toon",), vertex_attrs=VertexAttrs(outline=np.ones(3, bool)))


def test_toon_matches_numpy_reference(gl):
    from kyara.render.maps import VertexAttrs
    from kyara.render.toon import toon_shade_reference

    v, f = _sphere(4)
    cam = perspective((0, 0, 3), (0, 0, 0), size=(S, S), fovy_deg=30)
    style = MapStyle(toon=ToonStyle(shading_toony=0.5, tones=3, outline_width=0))
    col = np.array([0.8, 0.7, 0.6]), np.array([0.5, 0.3, 0.4])
    attrs = VertexAttrs(base_color=np.tile(col[0], (len(v), 1)), shade_color=np.tile(col[1], (len(v), 1)))
    out = _renderer(v, f).render(v, [cam], ("toon",), vertex_attrs=attrs, style=style)
    for px in [(48, 48), (40, 30), (60, 55), (30, 60)]:
        o, d, t, face, bary = _ray_hit(cam, v, f, np.array(px))
        p = o + t * d
        n_cam = cam.view[:3, :3] @ (p / np.linalg.norm(p))
        to_cam = cam.view[:3, :3] @ (o - p)
        ref = toon_shade_reference(n_cam, to_cam / np.linalg.norm(to_cam), col[0], col[1], style.toon)
        np.testing.assert_allclose(out["toon"][0, px[1], px[0], :3] / 255.0, ref, atol=0.03)


def test_many_views_in_one_call_equal_one_by_one(gl):
    from kyara.render.maps import DEFAULT_MAPS

    v, f = _scene()
    lo, hi = v.min(0), v.max(0)
    cams = [view_camera(a, lo, hi, (S, S), ortho=(a == 90), elevation_deg=10) for a in (0, 50, 90, 160, 250)]
    r = _renderer(v, f, max_pass_pixels=2 * S * S)  # 2 views per pass: 3 passes
    assert r.views_per_pass == 2
    batch = r.render(v, cams, DEFAULT_MAPS + ("metric_depth",))
    for i, cam in enumerate(cams):
        one = r.render(v, [cam], DEFAULT_MAPS + ("metric_depth",))
        for m in batch:
            if batch[m].dtype == np.float32:  # the view's band in the framebuffer moves: float rounding
                np.testing.assert_allclose(batch[m][i], one[m][0], atol=1e-4, err_msg=f"map {m} view {i}")
            elif m in ("toon", "normal"):  # shading from interpolated normals: +-1 rounding
                np.testing.assert_allclose(batch[m][i], one[m][0], atol=1, err_msg=f"map {m} view {i}")
            else:
                np.testing.assert_array_equal(batch[m][i], one[m][0], err_msg=f"map {m} view {i}")
    per_view = r.render(np.stack([v] * len(cams)), cams, ("depth", "normal", "lineart"))
    for m in per_view:
        np.testing.assert_array_equal(per_view[m], batch[m])
    # buffers given by the caller are filled in place
    given = {"mask": np.zeros((len(cams), S, S, 1), np.uint8)}
    res = r.render(v, cams, ("mask",), out=given)
    assert res["mask"] is given["mask"] and np.array_equal(given["mask"], batch["mask"])


def test_posed_meshes_per_view(gl):
    v, f = _sphere(3)
    cam = perspective((0, 0, 3), (0, 0, 0), size=(S, S), fovy_deg=40)
    moved = np.stack([v, v + [0.3, 0.0, 0.0]]).astype(np.float32)
    out = _renderer(v, f).render(moved, [cam, cam], ("mask",))["mask"][..., 0] > 0
    cx = [np.flatnonzero(m.any(axis=0)).mean() for m in out]
    assert cx[1] > cx[0] + 5  # the second mesh moved to the image right


def test_keypoint_visibility_matches_ray_casting(gl):
    from kyara.render.visibility import keypoint_visibility, keypoint_visibility_reference

    v, f = _scene()
    lo, hi = v.min(0), v.max(0)
    cams = [view_camera(a, lo, hi, (S, S), elevation_deg=15) for a in (0, 70, 180, 300)]
    rng = np.random.default_rng(3)
    pts = rng.uniform(lo - 0.1, hi + 0.1, size=(30, 3))
    tol = np.full(30, 0.02)
    depth = _renderer(v, f).render(v, cams, ("metric_depth",))["metric_depth"]
    fast = keypoint_visibility(pts, cams, depth, tol)
    ref = keypoint_visibility_reference(pts, cams, v, f, tol)
    assert (fast != ref).mean() < 0.03
    assert 0.1 < fast.mean() < 0.9  # some hidden, some visible
    # the sphere's centre is inside: hidden with no tolerance, visible with its radius
    centre = np.array([[0.2, 0.1, 0.35]])
    front = [cams[0]]
    d0 = depth[:1]
    assert not keypoint_visibility(centre, front, d0, 0.0)[0, 0]
    assert keypoint_visibility(centre, front, d0, 0.26)[0, 0]
    assert not keypoint_visibility(np.array([[0, 0, 50.0]]), front, d0, 0.0)[0, 0]  # behind the camera


def test_bad_input_errors(gl):
    from kyara.render.maps import MeshRenderer, VertexAttrs

    v, f = _sphere(2)
    r = _renderer(v, f)
    cam = perspective((0, 0, 3), (0, 0, 0), size=(S, S))
    with pytest.raises(ValueError, match="vertices"):
        r.render(v[:-1], [cam])
    with pytest.raises(ValueError, match="maps"):
        r.render(v, [cam], ("depht",))
    with pytest.raises(ValueError, match="camera size"):
        r.render(v, [perspective((0, 0, 3), (0, 0, 0), size=(S, S + 1))])
    with pytest.raises(ValueError, match="cameras"):
        r.render(v, [])
    with pytest.raises(ValueError, match="faces"):
        MeshRenderer(f + 1000, len(v), S, S)
    with pytest.raises(ValueError, match="width"):
        MeshRenderer(f, len(v), 0, S)
    bare = MeshRenderer(f, len(v), S, S)
    with pytest.raises(ValueError, match="vertex_attrs.udp"):
        bare.render(v, [cam], ("udp",))
    with pytest.raises(ValueError, match="parts"):
        bare.render(v, [cam], ("mask",), vertex_attrs=VertexAttrs(parts=np.zeros(3, np.uint8)))
    with pytest.raises(ValueError, match="out"):
        r.render(v, [cam], ("mask",), out={"mask": np.zeros((1, S, S, 1), np.float32)})
    with pytest.raises(ValueError, match="tones"):
        ToonStyle(tones=4)


def test_backend_error_names_packages(monkeypatch):
    import moderngl

    import kyara.render.gl as glmod

    def boom(**kw):
        raise Exception("eglGetDisplay failed")

    monkeypatch.setattr(glmod, "_CTX", {})
    monkeypatch.setattr(moderngl, "create_standalone_context", boom)
    with pytest.raises(RenderBackendError) as e:
        glmod.get_context()
    msg = str(e.value)
    assert "\n" not in msg and "libegl1" in msg and "libgl1-mesa-dri" in msg and "libegl-mesa0" in msg


def test_save_udp_and_previews(tmp_path):
    from kyara.render.previews import parts_preview, save_udp, save_udp_preview, udp_preview

    udp = np.zeros((8, 6, 4), np.float32)
    udp[2:5, 1:4] = [0.2, 0.5, 1.0, 1.0]
    p = save_udp(tmp_path / "u.npz", udp)
    with np.load(p) as z:
        assert list(z.keys()) == ["i"]
        np.testing.assert_array_equal(z["i"], udp)
    rgb = udp_preview(udp)
    assert rgb.shape == (8, 6, 3) and tuple(rgb[3, 2]) == (51, 128, 255) and tuple(rgb[0, 0]) == (0, 0, 0)
    assert save_udp_preview(tmp_path / "u.png", udp).stat().st_size > 0
    parts = np.full((4, 4, 1), 255, np.uint8)
    parts[1, 1] = 2
    col = parts_preview(parts)
    assert tuple(col[0, 0]) == (0, 0, 0) and tuple(col[1, 1]) != (0, 0, 0)
    with pytest.raises(ValueError, match="npz"):
        save_udp(tmp_path / "u.npy", udp)
    with pytest.raises(ValueError, match="H, W, 4"):
        save_udp(tmp_path / "v.npz", udp[..., :3])


def test_front_facing_matches_loop():
    from kyara.render.edges import front_facing

    v, f = _scene()
    cams = [perspective((1.0, 0.6, 2.0), (0, 0, 0)), orthographic((-2, 0.3, 1.0), (0, 0, 0))]
    pts = camera_points(np.stack([c.view for c in cams]), np.array([c.is_ortho for c in cams]))
    fast = front_facing(v, f, pts)
    for i, cam in enumerate(cams):
        for j, (a, b, c) in enumerate(f):
            n = np.cross(v[b] - v[a], v[c] - v[a]).astype(np.float64)
            to_cam = cam.view[2, :3] if cam.is_ortho else cam.position - v[a]  # camera +z: towards it
            assert fast[i, j] == (n @ to_cam > 0), (i, j)
    assert 0.2 < fast.mean() < 0.8
    per_view = front_facing(np.stack([v, v]), f, pts)
    np.testing.assert_array_equal(per_view, fast)


def test_cpu_culling_and_derived_mask_match_gpu(gl):
    # Back faces are culled on the CPU per view (multi-draw) and the mask comes from the parts map
    # when both are asked for; both must equal the plain GPU results.
    v, f = _scene()
    lo, hi = v.min(0), v.max(0)
    cams = [view_camera(a, lo, hi, (S, S), elevation_deg=20) for a in (30, 200)]
    r = _renderer(v, f)
    culled = r.render(v, cams, ("mask", "parts", "metric_depth"))
    gpu_mask = r.render(v, cams, ("mask",))["mask"]
    np.testing.assert_array_equal(culled["mask"], gpu_mask)
    assert set(np.unique(gpu_mask).tolist()) == {0, 255}
    both = r.render(v, cams, ("mask", "parts", "metric_depth"), style=MapStyle(cull_backfaces=False))
    np.testing.assert_array_equal(both["mask"], culled["mask"])  # a closed mesh hides its back faces anyway
    np.testing.assert_array_equal(both["parts"], culled["parts"])
    d0, d1 = both["metric_depth"], culled["metric_depth"]
    same = np.isclose(d0, d1, atol=1e-5) | (np.isinf(d0) & np.isinf(d1))
    assert same.mean() > 0.999  # up to a rasteriser tie where the ball cuts into the box


def test_two_thread_split_matches_single_thread(gl, monkeypatch):
    import os

    from kyara.render.gl import get_worker
    from kyara.render.maps import DEFAULT_MAPS

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: views are never split between threads")
    monkeypatch.setenv("KYARA_GL_THREADS", "2")
    assert get_worker() is not None  # a second context on its own thread
    v, f = _scene()
    lo, hi = v.min(0), v.max(0)
    cams = [view_camera(a, lo, hi, (S, S), elevation_deg=10) for a in (0, 70, 140, 210, 280)]
    r = _renderer(v, f, max_pass_pixels=2 * S * S)
    split = r.render(v, cams, DEFAULT_MAPS + ("metric_depth",))
    monkeypatch.setenv("KYARA_GL_THREADS", "1")
    single = r.render(v, cams, DEFAULT_MAPS + ("metric_depth",))
    for m in split:
        a, b = split[m].astype(np.float64), single[m].astype(np.float64)
        fin = np.isfinite(a) & np.isfinite(b)
        assert np.array_equal(np.isfinite(a), np.isfinite(b)), m
        close = np.isclose(a[fin], b[fin], atol=1e-4 if split[m].dtype == np.float32 else 1)
        assert close.mean() > 0.999, m  # tile positions differ: float rounding on a few edge pixels
    assert split["mask"][3:].any()  # the worker's views were drawn
