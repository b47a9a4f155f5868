"""The GL side of the condition-map renderer (:class:`kyara.render.maps.MeshRenderer`): the render
targets each map is read from, one context's programs, targets and framebuffers, and the pass loop
that draws a batch of views into them (geometry pass, deferred toon resolve, feature lines, read
back). :class:`PassJob` holds what the CPU prepared for one ``render`` call; :class:`PassEngine`
runs it on one context (one per thread); :func:`view_records` packs the per-view records the
shaders in :mod:`kyara.render.shaders` read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyara.render.camera import Camera
from kyara.render.shaders import (GEOMETRY_VS, LINE_FS, LINE_VS, RESOLVE_VS, TOON_FS,
                                  geometry_fragment_source)
from kyara.render.toon import MapStyle, ink_uniforms, toon_uniforms

# map -> (render target, components read, moderngl dtype, numpy dtype)
MAP_READS = {
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
TARGETS = {
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
_GL_COLOR, _GL_DEPTH = 0x1800, 0x1801
_GL_READ_FRAMEBUFFER, _GL_DRAW_INDIRECT_BUFFER, _GL_COLOR_ATTACHMENT0 = 0x8CA8, 0x8F3F, 0x8CE0
_GL_PACK_ALIGNMENT, _GL_TRIANGLES, _GL_UNSIGNED_INT = 0x0D05, 0x0004, 0x1405
_GL_FORMATS = {1: 0x1903, 3: 0x1907, 4: 0x1908}  # components -> GL_RED / GL_RGB / GL_RGBA
_GL_TYPES = {"f1": 0x1401, "f4": 0x1406}  # GL_UNSIGNED_BYTE / GL_FLOAT


@dataclass(eq=False)
class PassJob:
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


class PassEngine:
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
            comps, dtype, _ = TARGETS[name]
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
    def run(self, job: PassJob, first: int, stop: int) -> None:
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
        clears = [(i, TARGETS[t][2]) for i, t in enumerate(job.geo) if t != "gbuf"]
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
                    gl["glClearBufferfv"](_GL_COLOR, 0, rgba(*TARGETS["lineart"][2]))
                    self._draw_lines([ln for ln in job.lines if ln[0] == "lineart"])
                gl["glPixelStorei"](_GL_PACK_ALIGNMENT, 1)
                for m in reads:
                    src, comps, dtype, _ = MAP_READS[m]
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


def view_records(verts: np.ndarray, cams: list[Camera], width: int, height: int) -> np.ndarray:
    """Per-view std430 records ``[N, 40]`` float32 of the shaders' ``View`` struct, for ``verts``
    (``[V, 3]`` or ``[N, V, 3]``) seen by ``cams`` at ``width x height``: view [4x4], projection [4x4] (column-major), (near, far, ortho, focal),
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
    pad = 2.0 * 2.0 / np.array([width, height])  # two pixels
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
