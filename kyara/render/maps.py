"""Condition maps of a triangle mesh for many cameras at once (headless OpenGL, see ``gl.py``).

Maps (every array is ``[N, H, W, C]``, row 0 = image top, OpenCV pixel convention):

``depth``        uint8 C=1. ControlNet / MiDaS convention: near = bright, background = 0. Per view
                 the foreground is normalised between the nearest and the farthest mesh vertex
                 (perspective: inverse depth, like MiDaS disparity; orthographic: linear depth) to
                 ``[MapStyle.depth_floor, 1] * 255``. The range comes from all vertices, so it does
                 not flicker when parts get hidden.
``metric_depth`` float32 C=1. Metres along the view axis; background = +inf. For occlusion tests.
``normal``       uint8 C=3. Camera-space normals in the colours of ControlNet 1.1
                 ``control_v11p_sd15_normalbae`` (the NormalBae annotator, ScanNet-trained Bae et al.
                 2021 network): ``rgb = (n_bae + 1) / 2 * 255`` with ``n_bae = (-x, +y, +z)`` of the
                 OpenGL camera frame, i.e. red grows to the image LEFT, green up, blue towards the
                 viewer. Sources: controlnet_aux ``normalbae/__init__.py``
                 (``normal = ((normal + 1) * 0.5).clip(0, 1)``) and the renderers that feed that
                 model, e.g. dream-textures ``engine/annotations/normal.py`` (``1 - r`` flip of an
                 OpenGL view-space normal, clear colour (0.5, 0.5, 1.0)). Background = (128, 128, 255),
                 a surface facing the camera.
``mask``         uint8 C=1, 255 on the mesh, 0 elsewhere (taken from ``parts`` when both are asked for).
``parts``        uint8 C=1, the vertex part label of the visible surface (nearest vertex of the
                 triangle by flat interpolation of the provoking vertex), 255 = background.
``udp``          float32 C=4. CoNR's UDP: per pixel the interpolated per-vertex UDP xyz in [0, 1] of
                 the visible surface, plus occupancy (1 on the mesh, 0 elsewhere).
``lineart``      uint8 C=1, white lines on black (``control_v11p_sd15s2_lineart_anime`` expects this;
                 invert for black-on-white): the mesh's silhouette (contour) edges, creases sharper
                 than ``MapStyle.crease_deg`` and open boundaries, chosen per view on the CPU
                 (:mod:`kyara.render.edges`) and drawn as ``line_width``-pixel quads, depth-tested.
                 Every depth discontinuity of a closed mesh lies on a contour edge.
``toon``         uint8 C=4 RGBA: cel-shaded preview (:class:`~kyara.render.toon.ToonStyle`), shaded in a
                 deferred full-screen pass from a G-buffer the geometry pass writes; its ink goes on
                 silhouettes and open edges (creases too with ``ink_creases``), wider where nearer.

Speed (llvmpipe, 2 CPUs; see benchmarks/render.py): per pass the CPU picks each view's front faces
(one multi-draw call, no GPU-side culling work), the geometry pass writes at most six targets
(llvmpipe gets ~3x slower with seven), the heavy toon maths runs once per covered pixel instead
of once per 4x4 block per tiny triangle, and two threads with their own contexts overlap binning
and rasterisation.

This module holds the public side (the maps, :class:`VertexAttrs`, :class:`MeshRenderer`: input
checks and the CPU work per call); the GL programs, targets and the pass loop are in
:mod:`kyara.render.map_passes`, the GLSL in :mod:`kyara.render.shaders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kyara.render.camera import Camera
from kyara.render.edges import (_incidence, camera_points, contour_flags, edge_topology, face_normals,  # noqa: F401
                                feature_edges, front_facing, vertex_normals, vertex_normals_reference)
from kyara.render.map_passes import MAP_READS, PassEngine, PassJob, view_records
from kyara.render.shaders import GEOMETRY_OUTPUTS
from kyara.render.toon import MapStyle, ToonStyle

ALL_MAPS = ("depth", "metric_depth", "normal", "mask", "parts", "udp", "lineart", "toon")
DEFAULT_MAPS = ("depth", "normal", "mask", "parts", "udp", "lineart", "toon")
NORMAL_BACKGROUND = (128, 128, 255)


@dataclass(frozen=True, eq=False)
class VertexAttrs:
    """Per-vertex inputs of the maps; a map whose input is missing cannot be asked for."""

    parts: np.ndarray | None = None  # [V] uint8 part labels (needed by "parts")
    udp: np.ndarray | None = None  # [V, 3] float in [0, 1] (needed by "udp")
    base_color: np.ndarray | None = None  # [V, 3] float in [0, 1] (toon; default ToonStyle.base_color)
    shade_color: np.ndarray | None = None  # [V, 3] float in [0, 1] (toon; default ToonStyle.shade_color)
    # [V] bool: vertices whose edges get the toon map's ink lines (MToon: outline per material, off on
    # eyes and other face features, where lines would fill them at preview size); None = all. The
    # lineart map always draws every feature edge.
    outline: np.ndarray | None = None


class MeshRenderer:
    """Renders one triangle topology (``faces [F, 3]``, ``num_vertices``) from many cameras.

    Buffers are made once and reused; one multi-draw call draws up to ``views_per_pass`` views
    (views stacked in a tall framebuffer, back faces culled per view on the CPU) and each map is
    read back straight into the output arrays. With two or more CPUs the views are split between
    two threads, each with its own GL context, so one binds triangles while llvmpipe rasterises the
    other's pass (``KYARA_GL_THREADS=1`` turns this off).
    """

    def __init__(self, faces: np.ndarray, num_vertices: int, width: int, height: int,
                 vertex_attrs: VertexAttrs | None = None, max_pass_pixels: int = 4 * 512 * 512 * 2) -> None:
        from kyara.render.camera import _check_size
        from kyara.render.gl import get_context

        _check_size(width, height)
        faces = np.asarray(faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or faces.shape[0] == 0 or not np.issubdtype(faces.dtype, np.integer):
            raise ValueError(f"faces have shape {faces.shape} dtype {faces.dtype}, expected [F, 3] integers, F > 0")
        if not isinstance(num_vertices, (int, np.integer)) or num_vertices <= 0:
            raise ValueError(f"num_vertices {num_vertices!r} must be a positive integer")
        if faces.min() < 0 or faces.max() >= num_vertices:
            raise ValueError(f"faces index vertices {faces.min()}..{faces.max()}, expected 0..{num_vertices - 1}")
        self.faces = faces.astype(np.int32)
        self.num_vertices = int(num_vertices)
        self.width, self.height = int(width), int(height)
        self.ctx = get_context()
        max_rows = int(self.ctx.info.get("GL_MAX_TEXTURE_SIZE", 8192))
        self.views_per_pass = max(1, min(max_rows // self.height, max_pass_pixels // (self.width * self.height), 64))
        self._incidence = _incidence(self.faces, self.num_vertices)
        self._topo = edge_topology(self.faces, self.num_vertices)
        self._engine = PassEngine(self.ctx, self.faces, self.num_vertices, self.width, self.height, self.views_per_pass)
        self._worker_engine = None  # made on the worker thread on first use
        self._attrs: VertexAttrs | None = None
        self._attr_style: tuple | None = None
        self._attr_data: tuple = (0, b"")
        self._ink: np.ndarray | None = None  # [V] bool toon-outline flags (None = every edge)
        if vertex_attrs is not None:
            self.set_attributes(vertex_attrs)

    # -- per-vertex attributes ----------------------------------------------------------------
    def set_attributes(self, attrs: VertexAttrs, toon: ToonStyle | None = None) -> None:
        """Set per-vertex parts/udp/colours (uploaded once; reused by every later render)."""
        nv = self.num_vertices
        data = np.zeros((nv, 10), dtype=np.float32)  # part, udp xyz, base rgb, shade rgb
        toon = toon or ToonStyle()
        if attrs.parts is not None:
            p = np.asarray(attrs.parts)
            if p.shape != (nv,) or not np.issubdtype(p.dtype, np.integer) or p.min() < 0 or p.max() > 254:
                raise ValueError(f"parts have shape {p.shape} dtype {p.dtype}, expected [{nv}] integer labels 0..254")
            data[:, 0] = p
        for col, name, default in ((1, "udp", None), (4, "base_color", toon.base_color), (7, "shade_color", toon.shade_color)):
            a = getattr(attrs, name)
            if a is None:
                if default is not None:
                    data[:, col:col + 3] = default
                continue
            a = np.asarray(a, dtype=np.float32)
            if a.shape != (nv, 3) or not np.all(np.isfinite(a)):
                raise ValueError(f"{name} has shape {a.shape}, expected a finite [{nv}, 3] array")
            data[:, col:col + 3] = a
        ink = None
        if attrs.outline is not None:
            ink = np.asarray(attrs.outline)
            if ink.shape != (nv,) or ink.dtype != np.bool_:
                raise ValueError(f"outline has shape {ink.shape} dtype {ink.dtype}, expected [{nv}] bool")
        self._ink = ink
        self._attr_data = (self._attr_data[0] + 1, data.tobytes())
        self._attrs = attrs
        self._attr_style = (toon.base_color, toon.shade_color)

    # -- rendering ----------------------------------------------------------------------------
    def render(self, vertices: np.ndarray, cameras: Sequence[Camera], maps: Sequence[str] = DEFAULT_MAPS,
               vertex_attrs: VertexAttrs | None = None, normals: np.ndarray | None = None,
               style: MapStyle | None = None, out: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Render ``maps`` of ``vertices`` (``[V, 3]`` shared by all cameras, or ``[N, V, 3]`` one
        mesh per camera; metres) seen by ``cameras`` (N, all of this renderer's size).

        ``normals`` (same shape as vertices) default to smooth vertex normals of the posed mesh.
        Returns ``{map: [N, H, W, C] array}`` (see the module docstring for each map). ``out`` may
        hold C-contiguous arrays of exactly those shapes/dtypes to fill instead of allocating new
        ones (fresh memory is slow to touch on some VMs; reuse buffers when rendering in a loop).
        """
        style = style or MapStyle()
        maps = tuple(dict.fromkeys(maps))
        unknown = [m for m in maps if m not in ALL_MAPS]
        if unknown or not maps:
            raise ValueError(f"maps {list(maps)} are not valid, expected a non-empty subset of {', '.join(ALL_MAPS)}")
        cams = list(cameras)
        if not cams or not all(isinstance(c, Camera) for c in cams):
            raise ValueError("cameras must be a non-empty list of kyara.render.camera.Camera")
        bad = [(c.width, c.height) for c in cams if (c.width, c.height) != (self.width, self.height)]
        if bad:
            raise ValueError(f"camera size {bad[0]} differs from the renderer's {(self.width, self.height)}")
        n = len(cams)
        verts = np.asarray(vertices, dtype=np.float32)
        nv = self.num_vertices
        if verts.shape not in ((nv, 3), (n, nv, 3)):
            raise ValueError(f"vertices have shape {verts.shape}, expected [{nv}, 3] or [{n}, {nv}, 3]")
        if not np.all(np.isfinite(verts)):
            raise ValueError("vertices contain NaN or inf")
        fnorm = face_normals(verts, self.faces)  # [..., F, 3]
        if normals is None:
            nrms = vertex_normals(verts, self.faces, self._incidence, fnorm)
        else:
            nrms = np.asarray(normals, dtype=np.float32)
            if nrms.shape != verts.shape:
                raise ValueError(f"normals have shape {nrms.shape}, expected {verts.shape} like the vertices")
        if vertex_attrs is not None and (vertex_attrs is not self._attrs
                                         or self._attr_style != (style.toon.base_color, style.toon.shade_color)):
            self.set_attributes(vertex_attrs, style.toon)
        elif self._attrs is None or self._attr_style != (style.toon.base_color, style.toon.shade_color):
            self.set_attributes(self._attrs or VertexAttrs(), style.toon)
        for m, field_name in (("parts", "parts"), ("udp", "udp")):
            if m in maps and getattr(self._attrs, field_name) is None:
                raise ValueError(f"map '{m}' needs vertex_attrs.{field_name}")

        # llvmpipe slows down ~3x with 7 colour attachments (measured: 6 targets 43 ms, 7 targets
        # 127 ms per 8-view pass), so with "parts" drawn the mask comes from it on the CPU instead.
        mask_from_parts = "mask" in maps and "parts" in maps
        srcs = {MAP_READS[m][0] for m in maps if not (m == "mask" and mask_from_parts)}
        srcs |= {"gbuf"} if "toon" in maps else set()
        geo = tuple(o for o in GEOMETRY_OUTPUTS if o in srcs)
        lines = [(name, w, col, ink, bias) for name, w, col, ink, bias in (
            ("lineart", style.line_width, (1.0, 1.0, 1.0, 1.0), None, style.line_depth_bias),
            ("toon", style.toon.outline_width, (*style.toon.outline_color, 1.0), style.toon,
             style.toon.outline_depth_bias)) if name in maps and w > 0]
        toon_bg = (0.0, 0.0, 0.0, 0.0) if style.toon.background is None else (*style.toon.background, 1.0)

        view_data = view_records(verts, cams, self.width, self.height)  # [N, 40]
        views = np.stack([c.view for c in cams])  # [N, 4, 4]
        cam_pts = camera_points(views, np.array([c.is_ortho for c in cams]))  # [N, 4]
        front = front_facing(verts, self.faces, cam_pts, fnorm)  # [N, F] bool
        line_data, line_starts = self._line_data(verts, cams, style, fnorm, front, cam_pts) if lines else (None, None)
        out = self._outputs(maps, n, out)
        job = PassJob(maps, geo, lines, toon_bg, style, verts, nrms, view_data, front if style.cull_backfaces else None,
                   line_data, line_starts, out, mask_from_parts, self._attr_data)
        worker = self._worker() if n > 1 else None
        if worker is None:
            self._engine.run(job, 0, n)
        else:  # split the views: the worker thread renders the second half at the same time
            half = (n + 1) // 2
            fut = worker.submit(self._run_on_worker, job, half, n)
            try:
                self._engine.run(job, 0, half)
            finally:
                fut.result()
        if mask_from_parts:  # parts are 255 exactly on the background (labels are 0..254)
            np.not_equal(out["parts"], 255, out=out["mask"].view(np.bool_))
            np.multiply(out["mask"], 255, out=out["mask"])
        return out

    def _worker(self):
        from kyara.render.gl import get_worker

        return get_worker()

    def _run_on_worker(self, ctx, job: PassJob, first: int, stop: int) -> None:
        if self._worker_engine is None or self._worker_engine.ctx is not ctx:
            self._worker_engine = PassEngine(ctx, self.faces, self.num_vertices, self.width, self.height, self.views_per_pass)
        self._worker_engine.run(job, first, stop)

    def _outputs(self, maps, n: int, given: dict | None) -> dict[str, np.ndarray]:
        res = {}
        for m in maps:
            shape, dtype = (n, self.height, self.width, MAP_READS[m][1]), np.dtype(MAP_READS[m][3])
            a = None if given is None else given.get(m)
            if a is None:
                a = np.empty(shape, dtype)
            elif a.shape != shape or a.dtype != dtype or not a.flags.c_contiguous or not a.flags.writeable:
                raise ValueError(f"out['{m}'] has shape {a.shape} dtype {a.dtype}, expected a writable "
                                 f"C-contiguous {shape} {dtype}")
            res[m] = a
        return res

    def _line_data(self, verts: np.ndarray, cams: list[Camera], style: MapStyle, fnorm: np.ndarray,
                   front: np.ndarray, cam_pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feature edges of every view as ``[M, 8]`` (p0 xyz, view, p1 xyz, 0) plus per-view start offsets."""
        view, edge = feature_edges(verts, self.faces, self._topo, cam_pts, style.crease_deg, fnorm, front)
        ev = self._topo.vertices[edge]  # [M, 2]
        if verts.ndim == 2:
            p0, p1 = verts[ev[:, 0]], verts[ev[:, 1]]
        else:
            p0, p1 = verts[view, ev[:, 0]], verts[view, ev[:, 1]]
        data = np.zeros((len(view), 8), np.float32)
        data[:, :3], data[:, 3], data[:, 4:7] = p0, view, p1
        ink = np.ones(len(view), bool) if self._ink is None else self._ink[ev[:, 0]] & self._ink[ev[:, 1]]
        if not style.toon.ink_creases:  # toon ink like MToon's outline: silhouettes and open edges only
            ink &= contour_flags(view, edge, self._topo, front)
        data[:, 7] = ink  # toon ink
        starts = np.searchsorted(view, np.arange(len(cams) + 1))
        return data, starts

    def release(self) -> None:
        """Free the GL objects (the shared contexts stay)."""
        self._engine.release()
        if self._worker_engine is not None:
            eng, self._worker_engine = self._worker_engine, None
            self._worker().submit(lambda _ctx: eng.release()).result()


def render_maps(vertices: np.ndarray, faces: np.ndarray, cameras: Sequence[Camera],
                maps: Sequence[str] = DEFAULT_MAPS, vertex_attrs: VertexAttrs | None = None,
                style: MapStyle | None = None) -> dict[str, np.ndarray]:
    """One-shot :meth:`MeshRenderer.render` (builds and frees a renderer; keep one for many calls)."""
    cams = list(cameras)
    if not cams:
        raise ValueError("cameras must be a non-empty list of kyara.render.camera.Camera")
    v = np.asarray(vertices)
    r = MeshRenderer(faces, v.shape[-2] if v.ndim >= 2 else 0, cams[0].width, cams[0].height)
    try:
        return r.render(v, cams, maps, vertex_attrs=vertex_attrs, style=style)
    finally:
        r.release()
