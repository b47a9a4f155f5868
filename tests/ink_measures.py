"""Which drawn lines belong to visible edges: a CPU reference for the renderer's depth-tested ink.

The renderer draws each feature edge as a screen-space quad pulled towards the camera
(``ToonStyle.outline_depth_bias`` of its depth for the toon map's ink, ``MapStyle.line_depth_bias`` for
the lineart map, plus two line widths of pixels) and depth-tests it. Here the
same edges are sampled every half pixel and each sample is called *visible* when the metric depth
map shows, somewhere in the 3 x 3 pixels around it, a surface no nearer than the sample minus a
tolerance (4 mm plus two pixel footprints): at a contour the pixel just outside shows what lies
behind it, so a visible contour always passes; an edge behind another surface has that surface in
front of it in all nine pixels. Then, for a line mask (the toon map's ink or the lineart map):

- ``hidden``: line pixels on hidden samples more than 2.5 px from any visible sample (lines of
  edges that a surface covers: the far side of a sleeve, hair strands behind the head);
- ``visible``: line pixels within 1.5 px of a visible sample (how much of the visible edges is drawn:
  at too small a bias the surface curving away beside a contour hides the inner half of its line);
- ``coverage``: the share of visible samples with a line pixel within 1 px (unbroken lines).
"""

from __future__ import annotations

import numpy as np

TOLERANCE_M = 0.004  # plus two pixel footprints at the sample's depth


def render_scene(prompt: str, view: str, size: int = 512, pose: str = "stand", quality: str = "dataset"):
    """Build ``prompt`` (seed 0), pose it, frame ``view`` ("front", "side", ... for the whole figure;
    "bust-front", "bust-side" crown to waist): ``(vertices [V, 3] float32, faces [F, 3], outline [V] bool,
    vertex colours (base, shade), camera)``."""
    from kyara.character.build import BuildOptions, build_character
    from kyara.character.hair_sheet import bust_cameras
    from kyara.character.parser import parse_prompt
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera

    c = build_character(parse_prompt(prompt, 0), BuildOptions(quality=quality))
    mesh = c.merged(opaque_only=True)
    verts, _ = c.pose(get_pose(pose, c.body.params), mesh)
    verts = np.asarray(verts, np.float32)
    cam = (bust_cameras(c, (view[5:],), (size, size))[0] if view.startswith("bust-")
           else pose_camera(verts, view, (size, size)))
    return verts, mesh["faces"], mesh["outline"], (mesh["base"], mesh["shade"]), cam


def edge_samples(verts: np.ndarray, faces: np.ndarray, cam, kind: str = "contour", outline: np.ndarray | None = None,
                 crease_deg: float = 55.0, step_px: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_px`` pixels along the feature edges the renderer draws for ``cam``:
    ``kind`` "contour" (silhouettes and open edges: the toon ink) or "crease" (creases only; lineart),
    restricted to edges with both vertices in ``outline [V]`` when given. Returns ``(pixels [S, 2],
    depth [S] metres)``."""
    from kyara.render.edges import (camera_points, contour_flags, edge_topology, face_normals, feature_edges,
                                    front_facing)

    topo = edge_topology(faces, len(verts))
    cp = camera_points(cam.view[None], np.array([cam.is_ortho]))
    fn = face_normals(verts, faces)
    front = front_facing(verts, faces, cp, fn)
    view, edge = feature_edges(verts, faces, topo, cp, crease_deg, fn, front)
    cont = contour_flags(view, edge, topo, front)
    ev = topo.vertices[edge[cont if kind == "contour" else ~cont]]
    if outline is not None:
        ev = ev[outline[ev[:, 0]] & outline[ev[:, 1]]]
    p0, p1 = verts[ev[:, 0]].astype(np.float64), verts[ev[:, 1]].astype(np.float64)
    n = np.maximum(np.ceil(np.linalg.norm(cam.project(p1)[0] - cam.project(p0)[0], axis=1) / step_px), 1).astype(int)
    t = np.concatenate([np.linspace(0.0, 1.0, k + 1) for k in n])
    i = np.repeat(np.arange(len(ev)), n + 1)
    return cam.project(p0[i] + t[:, None] * (p1[i] - p0[i]))


def sample_visibility(uv: np.ndarray, depth: np.ndarray, metric: np.ndarray, cam) -> tuple[np.ndarray, np.ndarray]:
    """``(visible [S] bool, in_image [S] bool)`` of edge samples against the ``metric [H, W]`` depth map."""
    from scipy.ndimage import maximum_filter

    H, W = metric.shape
    ij = np.floor(uv).astype(int)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < W) & (ij[:, 1] >= 0) & (ij[:, 1] < H) & (depth > 0)
    far = maximum_filter(np.where(np.isfinite(metric), metric, 1e9), size=3)
    foot = 2.0 * np.tan(np.radians(0.5 * cam.fovy_deg)) / H  # metres per pixel per metre of depth
    tol = TOLERANCE_M + 2.0 * foot * depth
    vis = np.zeros(len(depth), bool)
    vis[inside] = far[ij[inside, 1], ij[inside, 0]] >= depth[inside] - tol[inside]
    return vis, inside


def line_scores(lines: np.ndarray, uv: np.ndarray, visible: np.ndarray, inside: np.ndarray) -> dict[str, float]:
    """``hidden``, ``visible`` (pixels) and ``coverage`` of the line mask ``lines [H, W]`` (module doc)."""
    from scipy.ndimage import binary_dilation, distance_transform_edt

    ij = np.floor(uv).astype(int)
    vm = np.zeros(lines.shape, bool)
    vm[ij[inside & visible, 1], ij[inside & visible, 0]] = True
    hm = np.zeros(lines.shape, bool)
    hm[ij[inside & ~visible, 1], ij[inside & ~visible, 0]] = True
    dist = distance_transform_edt(~vm)
    near = binary_dilation(lines, iterations=1)
    return {"hidden": float((lines & hm & (dist > 2.5)).sum()), "visible": float((lines & (dist <= 1.5)).sum()),
            "coverage": float(near[vm].mean()) if vm.any() else 1.0}


def ink_mask(toon: np.ndarray) -> np.ndarray:
    """Pixels of ``toon [H, W, 3]`` uint8 in the ink colour (within 2 levels)."""
    from kyara.render.toon import ToonStyle

    ink = np.round(np.array(ToonStyle().outline_color) * 255)
    return np.all(np.abs(toon[..., :3].astype(np.int64) - ink) <= 2, axis=-1)


def bias_scores(scene, biases, maps=("toon", "lineart")) -> dict[str, list[dict[str, float]]]:
    """Render ``scene`` (from :func:`render_scene`) with each depth bias in ``biases`` (the toon map's
    ``ToonStyle.outline_depth_bias`` and the lineart map's ``MapStyle.line_depth_bias`` set to it):
    ``{map: [scores per bias]}``, the toon map scored on its contour ink, the lineart map on its
    contours and creases together."""
    from kyara.render.maps import MeshRenderer, VertexAttrs
    from kyara.render.toon import MapStyle, ToonStyle

    verts, faces, outline, (base, shade), cam = scene
    uv_c, z_c = edge_samples(verts, faces, cam, "contour", outline)
    uv_a, z_a = (np.concatenate(x) for x in zip(edge_samples(verts, faces, cam, "contour"),
                                                 edge_samples(verts, faces, cam, "crease")))
    attrs = VertexAttrs(base_color=base, shade_color=shade, outline=outline)
    r = MeshRenderer(faces, len(verts), cam.width, cam.height)
    out: dict[str, list] = {m: [] for m in maps}
    try:
        for b in biases:
            style = MapStyle(line_depth_bias=float(b), toon=ToonStyle(background=(0.96, 0.95, 0.93), outline_width=2,
                                                                      outline_depth_bias=float(b)))
            o = r.render(verts, [cam], (*maps, "metric_depth"), vertex_attrs=attrs, style=style)
            metric = o["metric_depth"][0][..., 0]
            if "toon" in maps:
                vis, inside = sample_visibility(uv_c, z_c, metric, cam)
                out["toon"].append(line_scores(ink_mask(o["toon"][0]), uv_c, vis, inside))
            if "lineart" in maps:
                vis, inside = sample_visibility(uv_a, z_a, metric, cam)
                out["lineart"].append(line_scores(o["lineart"][0][..., 0] > 127, uv_a, vis, inside))
    finally:
        r.release()
    return out


def wrong_ink(scores: list[dict[str, float]], full: int = 0) -> list[float]:
    """Per bias: hidden-edge line pixels plus the visible-edge line pixels missing against
    ``scores[full]`` (a bias large enough to draw every visible line at full width)."""
    ref = scores[full]["visible"]
    return [s["hidden"] + max(ref - s["visible"], 0.0) for s in scores]
