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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kyara.render.camera import Camera
from kyara.render.edges import (_incidence, camera_points, contour_flags, edge_topology, face_normals,  # noqa: F401
                                feature_edges, front_facing, vertex_normals, vertex_normals_reference)
from kyara.render.shaders import (GEOMETRY_OUTPUTS, GEOMETRY_VS, LINE_FS, LINE_VS, RESOLVE_VS, TOON_FS,
                                  geometry_fragment_source)
from kyara.render.toon import MapStyle, ToonStyle, ink_uniforms, toon_uniforms

ALL_MAPS = ("depth", "metric_depth", "normal", "mask", "parts", "udp", "lineart", "toon")
DEFAULT_MAPS = ("depth", "normal", "mask", "parts", "udp", "lineart", "toon")
NORMAL_BACKGROUND = (128, 128, 255)

# map -> (render target, components read, moderngl dtype, numpy dtype)
_READ = {
    "metric_depth": ("metric", 1, "f4", np.float32),
    "normal": ("normal", 3, "f1", np.uint8),
    "depth": ("depth", 1, "f1", np.uint8),
    "parts": ("parts", 1, "f1", np.uint8),
    "mask": ("mask", 1, "f1", np.uint8),
    "udp": ("udp", 4, "f4", np.float32),
    "lineart": ("lineart", 1, "f1", np.uint8),
    "toon": ("toon", 4, "f1", np.uint8),
}
# render target -> (texture components, dtype, clear colour); "toon" clears to the style's background
_TARGETS = {
    "metric": (1, "f4", (float("inf"), 0.0, 0.0, 0.0)),
    "normal": (4, "f1", (128 / 255, 128 / 255, 1.0, 1.0)),
    "depth": (1, "f1", (0.0, 0.0, 0.0, 0.0)),
    "parts": (1, "f1", (1.0, 0.0, 0.0, 0.0)),
    "mask": (1, "f1", (0.0, 0.0, 0.0, 0.0)),
    "udp": (4, "f4", (0.0, 0.0, 0.0, 0.0)),
    "toon": (4, "f1", (0.0, 0.0, 0.0, 0.0)),
    "lineart": (1, "f1", (0.0, 0.0, 0.0, 0.0)),
    "gbuf": (4, "u4", None),  # toon inputs; only covered pixels are ever read, so never cleared
}
_GL_CLIP_DISTANCE0 = 0x3000


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


# -- the renderer -----------------------------------------------------------------------------
_GL_COLOR, _GL_DEPTH = 0x1800, 0x1801
_GL_READ_FRAMEBUFFER, _GL_DRAW_INDIRECT_BUFFER, _GL_COLOR_ATTACHMENT0 = 0x8CA8, 0x8F3F, 0x8CE0
_GL_PACK_ALIGNMENT, _GL_TRIANGLES, _GL_UNSIGNED_INT = 0x0D05, 0x0004, 0x1405
_GL_FORMATS = {1: 0x1903, 3: 0x1907, 4: 0x1908}  # components -> GL_RED / GL_RGB / GL_RGBA
_GL_TYPES = {"f1": 0x1401, "f4": 0x1406}  # GL_UNSIGNED_BYTE / GL_FLOAT


@dataclass(eq=False)
class _Job:
    """Everything a pass loop needs, prepared once on the CPU for all views of a render call."""

    maps: tuple[str, ...]
    geo: tuple[str, ...]  # geometry-pass outputs
    lines: list  # [(target, width px, rgba, ToonStyle of depth-scaled ink or None, depth bias)]
    toon_bg: tuple
    style: MapStyle
    verts: np.ndarray  # [V, 3] shared or [N, V, 3]
    nrms: np.ndarray
    view_data: np.ndarray  # [N, 40]
    front: np.ndarray | None  # [N, F] bool, None = draw every face
    line_data: np.ndarray | None  # [M, 8]
    line_starts: np.ndarray | None  # [N + 1]
    out: dict
    mask_from_parts: bool
    attrs: tuple  # (version, bytes) of the per-vertex attribute buffer


class _Engine:
    """The GL objects of one context (used on one thread) and the pass loop that fills outputs."""

    def __init__(self, ctx, faces: np.ndarray, num_vertices: int, width: int, height: int,
                 views_per_pass: int) -> None:
        from kyara.render.gl import gl_functions

        self.ctx, self.faces, self.num_vertices, self.width, self.height = ctx, faces, num_vertices, width, height
        self.views_per_pass = views_per_pass
        self.gl = gl_functions()
        self._ibo = ctx.buffer(reserve=faces.nbytes)  # per pass: each view's front faces
        self._indirect = ctx.buffer(reserve=views_per_pass * 20)  # [K, 5] uint32 draw commands
        self._pos, self._nrm = ctx.buffer(reserve=4), ctx.buffer(reserve=4)
        self._views = ctx.buffer(reserve=views_per_pass * 40 * 4)
        self._lines = ctx.buffer(reserve=4096)
        self._attr_vbo, self._attr_version = None, None
        self._programs, self._vaos, self._targets, self._fbos = {}, {}, {}, {}
        self._tiles, self._depth_rb, self._num_lines = 0, None, 0

    # -- GL objects ---------------------------------------------------------------------------
    def _program(self, kind: str, outputs: tuple[str, ...] = ()):
        key = (kind, outputs)
        if key not in self._programs:
            if kind == "geometry":
                prog = self.ctx.program(vertex_shader=GEOMETRY_VS, fragment_shader=geometry_fragment_source(outputs))
            elif kind == "toon":
                prog = self.ctx.program(vertex_shader=RESOLVE_VS, fragment_shader=TOON_FS)
            else:
                prog = self.ctx.program(vertex_shader=LINE_VS, fragment_shader=LINE_FS)
            self._programs[key] = prog
        return self._programs[key]

    def _vao(self, kind: str, outputs: tuple[str, ...] = ()):
        key = (kind, outputs)
        if key not in self._vaos:
            prog = self._program(kind, outputs)
            if kind == "geometry":
                fmt, names = [], []
                for name, n in (("a_part", 1), ("a_udp", 3), ("a_base", 3), ("a_shade", 3)):
                    if name in prog:
                        fmt.append(f"{n}f")
                        names.append(name)
                    else:
                        fmt.append(f"{4 * n}x")
                content = [(self._attr_vbo, " ".join(fmt), *names)] if names else []
                self._vaos[key] = self.ctx.vertex_array(prog, content, index_buffer=self._ibo, index_element_size=4)
            else:
                self._vaos[key] = self.ctx.vertex_array(prog, [])
        return self._vaos[key]

    def _ensure_targets(self, tiles: int) -> None:
        if tiles == self._tiles:
            return
        for obj in (*self._fbos.values(), *self._targets.values(), self._depth_rb):
            if obj is not None:
                obj.release()
        self._targets, self._fbos, self._tiles, self._depth_rb = {}, {}, tiles, None
        if tiles > 0:
            self._depth_rb = self.ctx.depth_renderbuffer((self.width, self.height * tiles))

    def _target(self, name: str):
        if name not in self._targets:
            comps, dtype, _ = _TARGETS[name]
            tex = self.ctx.texture((self.width, self.height * self._tiles), comps, dtype=dtype)
            tex.filter = (self.ctx.NEAREST, self.ctx.NEAREST)
            self._targets[name] = tex
        return self._targets[name]

    def _fbo(self, names: tuple[str, ...], depth: bool = True):
        key = (names, depth)
        if key not in self._fbos:
            self._fbos[key] = self.ctx.framebuffer(color_attachments=[self._target(n) for n in names],
                                                   depth_attachment=self._depth_rb if depth else None)
        return self._fbos[key]

    # -- the pass loop (heavy GL calls through ctypes: no GIL while llvmpipe works) -------------
    def run(self, job: _Job, first: int, stop: int) -> None:
        """Render views ``first..stop-1`` of ``job`` into ``job.out``."""
        import ctypes

        ctx, gl, n = self.ctx, self.gl, stop - first
        if self._attr_version != job.attrs[0]:
            if self._attr_vbo is None:
                self._attr_vbo = ctx.buffer(job.attrs[1])
            else:
                self._attr_vbo.write(job.attrs[1])
            self._attr_version = job.attrs[0]
        shared = job.verts.ndim == 2
        tiles = min(n, self.views_per_pass)
        self._ensure_targets(tiles)
        self._upload_geometry(job.verts if shared else None, job.nrms if shared else None, 0 if shared else tiles)
        gprog = self._program("geometry", job.geo)
        vals = {"u_vstride": 0 if shared else job.verts.shape[1], "u_tiles": tiles,
                "u_depth_floor": job.style.depth_floor}
        for k_, v_ in vals.items():
            if k_ in gprog:
                gprog[k_].value = v_
        gvao = self._vao("geometry", job.geo)
        gfbo = self._fbo(job.geo) if job.geo else self._fbo(())
        if job.lines:
            lprog = self._program("line")
            for k_, v_ in (("u_size", (self.width, self.height)), ("u_tiles", tiles)):
                lprog[k_].value = v_
        # Clears go into the same llvmpipe scene as the drawing that follows (no framebuffer switch in
        # between), so each 64x64 tile is cleared and shaded while it is in cache.
        clears = [(i, _TARGETS[t][2]) for i, t in enumerate(job.geo) if t != "gbuf"]
        rgba = ctypes.c_float * 4
        reads = [m for m in job.maps if not (m == "mask" and job.mask_from_parts)]
        ctx.enable_direct(_GL_CLIP_DISTANCE0)
        ctx.enable_direct(_GL_CLIP_DISTANCE0 + 1)
        try:
            for s in range(first, stop, tiles):
                k = min(tiles, stop - s)
                self._views.write(job.view_data[s:s + k].tobytes())
                if not shared:
                    self._pos.write(job.verts[s:s + k].tobytes())
                    self._nrm.write(job.nrms[s:s + k].tobytes())
                self._write_draws(None if job.front is None else job.front[s:s + k], k)
                self._pos.bind_to_storage_buffer(0)
                self._nrm.bind_to_storage_buffer(1)
                self._views.bind_to_storage_buffer(2)
                gfbo.use()
                for i, colour in clears:
                    gl["glClearBufferfv"](_GL_COLOR, i, rgba(*colour))
                gl["glClearBufferfv"](_GL_DEPTH, 0, rgba(1.0))
                ctx.enable(ctx.DEPTH_TEST)
                ctx.depth_func = "<"
                ctx.enable(ctx.CULL_FACE)  # a safety net: back faces are already dropped on the CPU
                ctx.front_face = "cw"  # the image is drawn upside down, which flips the winding
                ctx.cull_face = "back"
                if job.front is None:
                    ctx.disable(ctx.CULL_FACE)
                gl["glUseProgram"](gprog.glo)
                gl["glBindVertexArray"](gvao.glo)
                gl["glBindBuffer"](_GL_DRAW_INDIRECT_BUFFER, self._indirect.glo)
                gl["glMultiDrawElementsIndirect"](_GL_TRIANGLES, _GL_UNSIGNED_INT, None, k, 0)
                if job.lines:
                    self._upload_lines(job.line_data[job.line_starts[s]:job.line_starts[s + k]], s)
                if "toon" in job.maps:
                    self._resolve_toon(job.style, rgba(*job.toon_bg), tiles, k)
                    self._draw_lines([ln for ln in job.lines if ln[0] == "toon"])
                if "lineart" in job.maps:
                    self._fbo(("lineart",)).use()
                    gl["glClearBufferfv"](_GL_COLOR, 0, rgba(*_TARGETS["lineart"][2]))
                    self._draw_lines([ln for ln in job.lines if ln[0] == "lineart"])
                gl["glPixelStorei"](_GL_PACK_ALIGNMENT, 1)
                for m in reads:
                    src, comps, dtype, _ = _READ[m]
                    fbo = gfbo if src in job.geo else self._fbo((src,))
                    gl["glBindFramebuffer"](_GL_READ_FRAMEBUFFER, fbo.glo)
                    gl["glReadBuffer"](_GL_COLOR_ATTACHMENT0 + (job.geo.index(src) if src in job.geo else 0))
                    gl["glReadPixels"](0, 0, self.width, self.height * k, _GL_FORMATS[comps], _GL_TYPES[dtype],
                                       job.out[m][s:s + k].ctypes.data)
        finally:
            ctx.disable_direct(_GL_CLIP_DISTANCE0)
            ctx.disable_direct(_GL_CLIP_DISTANCE0 + 1)
            ctx.disable(ctx.CULL_FACE)

    def _write_draws(self, front: np.ndarray | None, k: int) -> None:
        """Index buffer and ``k`` indirect draw commands: view j draws its front faces (``front [k, F]``
        bool), or every face when ``front`` is None."""
        nf = self.faces.shape[0]
        if front is None:
            idx = self.faces
            counts = np.full(k, 3 * nf, np.uint32)
            firsts = np.zeros(k, np.uint32)
        else:
            flat = np.flatnonzero(front)  # view-major
            view = flat // nf
            idx = self.faces[flat - view * nf]  # [M, 3]
            counts = (3 * np.bincount(view, minlength=k)).astype(np.uint32)
            firsts = np.concatenate([[0], np.cumsum(counts[:-1])]).astype(np.uint32)
        raw = np.ascontiguousarray(idx, np.int32).tobytes()
        if self._ibo.size < len(raw):
            self._ibo.orphan(len(raw))
        self._ibo.write(raw)
        cmds = np.zeros((k, 5), np.uint32)  # count, instances, first index, base vertex, base instance
        cmds[:, 0], cmds[:, 1], cmds[:, 2] = counts, 1, firsts
        self._indirect.write(cmds.tobytes())

    def _resolve_toon(self, style: MapStyle, background, tiles: int, k: int) -> None:
        """Clear the toon target to ``background`` (ctypes float[4]) and shade the covered pixels
        (deferred: depth test GREATER against depth 1.0)."""
        ctx, t = self.ctx, style.toon
        prog = self._program("toon")
        vals = {"u_tiles": tiles, "u_gbuf": 0, **toon_uniforms(t)}
        for k_, v_ in vals.items():
            prog[k_].value = v_
        self._target("gbuf").use(0)
        fbo = self._fbo(("toon",))
        fbo.depth_mask = False
        fbo.use()
        self.gl["glClearBufferfv"](_GL_COLOR, 0, background)
        ctx.disable(ctx.CULL_FACE)
        ctx.depth_func = ">"
        self.gl["glUseProgram"](prog.glo)
        self.gl["glBindVertexArray"](self._vao("toon").glo)
        self.gl["glDrawArrays"](_GL_TRIANGLES, 0, 6 * k)
        fbo.depth_mask = True

    def _upload_lines(self, data: np.ndarray, first_view: int) -> None:
        """Upload this pass's feature edges ``data [M, 8]`` (p0, view, p1, 0), views counted from the pass."""
        self._num_lines = len(data)
        if len(data) == 0:
            return
        data = data.copy()
        data[:, 3] -= first_view
        raw = data.tobytes()
        if self._lines.size < len(raw):
            self._lines.orphan(len(raw))
        self._lines.write(raw)
        self._lines.bind_to_storage_buffer(3)

    def _draw_lines(self, lines) -> None:
        """Draw the uploaded edges as quads into each ``(target, width, rgba, ink style, depth bias)`` of
        ``lines``."""
        if not lines or self._num_lines == 0:
            return
        ctx = self.ctx
        ctx.disable(ctx.CULL_FACE)
        ctx.depth_func = "<="
        prog = self._program("line")
        vao = self._vao("line")
        for name, width, color, ink, bias in lines:
            fbo = self._fbo((name,))
            fbo.depth_mask = False
            fbo.use()
            prog["u_width"].value = float(width)
            for k_, v_ in ink_uniforms(ink).items():
                prog[k_].value = v_
            prog["u_bias"].value = float(bias)
            prog["u_bias_px"].value = 2.0 * float(width)
            prog["u_ink_only"].value = 1.0 if name == "toon" else 0.0
            prog["u_color"].value = color
            self.gl["glUseProgram"](prog.glo)
            self.gl["glBindVertexArray"](vao.glo)
            self.gl["glDrawArrays"](_GL_TRIANGLES, 0, 6 * self._num_lines)
            fbo.depth_mask = True

    def _upload_geometry(self, verts, nrms, tiles: int) -> None:
        """Shared mesh: upload positions/normals now. Per-view meshes: reserve room for ``tiles``."""
        if verts is not None:
            for buf, arr in ((self._pos, verts), (self._nrm, nrms)):
                data = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
                if buf.size != len(data):
                    buf.orphan(len(data))
                buf.write(data)
        else:
            size = tiles * self.num_vertices * 12  # [tiles, V, 3] float32
            for buf in (self._pos, self._nrm):
                if buf.size != size:
                    buf.orphan(size)

    def release(self) -> None:
        self._ensure_targets(0)
        for obj in (*self._vaos.values(), *self._programs.values(), self._ibo, self._indirect, self._pos, self._nrm,
                    self._views, self._lines, self._attr_vbo):
            if obj is not None:
                obj.release()
        self._vaos, self._programs = {}, {}


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
        self._engine = _Engine(self.ctx, self.faces, self.num_vertices, self.width, self.height, self.views_per_pass)
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
        srcs = {_READ[m][0] for m in maps if not (m == "mask" and mask_from_parts)}
        srcs |= {"gbuf"} if "toon" in maps else set()
        geo = tuple(o for o in GEOMETRY_OUTPUTS if o in srcs)
        lines = [(name, w, col, ink, bias) for name, w, col, ink, bias in (
            ("lineart", style.line_width, (1.0, 1.0, 1.0, 1.0), None, style.line_depth_bias),
            ("toon", style.toon.outline_width, (*style.toon.outline_color, 1.0), style.toon,
             style.toon.outline_depth_bias)) if name in maps and w > 0]
        toon_bg = (0.0, 0.0, 0.0, 0.0) if style.toon.background is None else (*style.toon.background, 1.0)

        view_data = self._view_data(verts, cams)  # [N, 40]
        views = np.stack([c.view for c in cams])  # [N, 4, 4]
        cam_pts = camera_points(views, np.array([c.is_ortho for c in cams]))  # [N, 4]
        front = front_facing(verts, self.faces, cam_pts, fnorm)  # [N, F] bool
        line_data, line_starts = self._line_data(verts, cams, style, fnorm, front, cam_pts) if lines else (None, None)
        out = self._outputs(maps, n, out)
        job = _Job(maps, geo, lines, toon_bg, style, verts, nrms, view_data, front if style.cull_backfaces else None,
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

    def _run_on_worker(self, ctx, job: _Job, first: int, stop: int) -> None:
        if self._worker_engine is None or self._worker_engine.ctx is not ctx:
            self._worker_engine = _Engine(ctx, self.faces, self.num_vertices, self.width, self.height, self.views_per_pass)
        self._worker_engine.run(job, first, stop)

    def _outputs(self, maps, n: int, given: dict | None) -> dict[str, np.ndarray]:
        res = {}
        for m in maps:
            shape, dtype = (n, self.height, self.width, _READ[m][1]), np.dtype(_READ[m][3])
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

    def _view_data(self, verts: np.ndarray, cams: list[Camera]) -> np.ndarray:
        """Per-view std430 records: view [4x4], projection [4x4] (column-major), (near, far, ortho, focal),
        NDC rectangle (x0, y0, x1, y1; y down) holding the mesh's bounding box, or the whole image."""
        n = len(cams)
        views = np.stack([c.view for c in cams])  # [N, 4, 4]
        rz, tz = views[:, 2, :3], views[:, 2, 3]  # camera z row
        v64 = verts.astype(np.float64)
        if verts.ndim == 2:
            z = -(rz @ v64.T + tz[:, None])  # [N, V] (rows: contiguous reductions)
            lo, hi = np.broadcast_to(v64.min(axis=0), (n, 3)), np.broadcast_to(v64.max(axis=0), (n, 3))
        else:
            z = -(np.einsum("nvk,nk->nv", v64, rz) + tz[:, None])  # [N, V]
            lo, hi = v64.min(axis=1), v64.max(axis=1)
        zmin, zmax = z.min(axis=1), z.max(axis=1)
        # the 8 corners of each mesh's box through each camera -> conservative NDC rectangle
        sel = np.array([[(i >> b) & 1 for b in range(3)] for i in range(8)], dtype=bool)  # [8, 3]
        corners = np.where(sel[None], hi[:, None], lo[:, None])  # [N, 8, 3]
        projs = np.stack([c.gl_projection() for c in cams])  # [N, 4, 4]
        clip = np.einsum("nij,njk,nck->nci", projs, views, np.concatenate([corners, np.ones((n, 8, 1))], -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            ndc = clip[..., :2] / clip[..., 3:]
        ok = np.all(clip[..., 3] > 1e-9, axis=1)  # every corner in front of the camera
        pad = 2.0 * 2.0 / np.array([self.width, self.height])  # two pixels
        x0 = np.where(ok, np.clip(ndc[..., 0].min(1) - pad[0], -1, 1), -1.0)
        x1 = np.where(ok, np.clip(ndc[..., 0].max(1) + pad[0], -1, 1), 1.0)
        y0 = np.where(ok, np.clip(-ndc[..., 1].max(1) - pad[1], -1, 1), -1.0)  # image drawn upside down
        y1 = np.where(ok, np.clip(-ndc[..., 1].min(1) + pad[1], -1, 1), 1.0)
        data = np.empty((n, 40), dtype=np.float32)
        for i, c in enumerate(cams):
            near = max(float(zmin[i]), c.near)
            far = max(float(zmax[i]), near * (1 + 1e-6) + 1e-6)
            data[i, :16] = c.view.T.reshape(-1)
            data[i, 16:32] = projs[i].T.reshape(-1)
            data[i, 32:36] = (near, far, 1.0 if c.is_ortho else 0.0, c.focal_px)
        data[:, 36:] = np.stack([x0, y0, x1, y1], axis=1)
        return data

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
