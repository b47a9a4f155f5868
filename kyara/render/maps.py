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
``mask``         uint8 C=1, 255 on the mesh, 0 elsewhere.
``parts``        uint8 C=1, the vertex part label of the visible surface (nearest vertex of the
                 triangle by flat interpolation of the provoking vertex), 255 = background.
``udp``          float32 C=4. CoNR's UDP: per pixel the interpolated per-vertex UDP xyz in [0, 1] of
                 the visible surface, plus occupancy (1 on the mesh, 0 elsewhere).
``lineart``      uint8 C=1, white lines on black (``control_v11p_sd15s2_lineart_anime`` expects this;
                 invert for black-on-white): the mesh's silhouette (contour) edges, creases sharper
                 than ``MapStyle.crease_deg`` and open boundaries, chosen per view on the CPU
                 (:mod:`kyara.render.edges`) and drawn as ``line_width``-pixel quads, depth-tested.
                 Every depth discontinuity of a closed mesh lies on a contour edge.
``toon``         uint8 C=4 RGBA: cel-shaded preview (:class:`~kyara.render.toon.ToonStyle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from kyara.render.camera import Camera
from kyara.render.edges import camera_points, edge_topology, face_normals, feature_edges
from kyara.render.shaders import GEOMETRY_OUTPUTS, GEOMETRY_VS, LINE_FS, LINE_VS, geometry_fragment_source
from kyara.render.toon import MapStyle, ToonStyle

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
}
_GL_CLIP_DISTANCE0 = 0x3000


@dataclass(frozen=True, eq=False)
class VertexAttrs:
    """Per-vertex inputs of the maps; a map whose input is missing cannot be asked for."""

    parts: np.ndarray | None = None  # [V] uint8 part labels (needed by "parts")
    udp: np.ndarray | None = None  # [V, 3] float in [0, 1] (needed by "udp")
    base_color: np.ndarray | None = None  # [V, 3] float in [0, 1] (toon; default ToonStyle.base_color)
    shade_color: np.ndarray | None = None  # [V, 3] float in [0, 1] (toon; default ToonStyle.shade_color)


# -- normals ----------------------------------------------------------------------------------
def _incidence(faces: np.ndarray, num_vertices: int):
    """Sparse ``[V, F]`` vertex-face incidence matrix."""
    from scipy import sparse

    f = faces.shape[0]
    rows = faces.reshape(-1)
    cols = np.repeat(np.arange(f), 3)
    return sparse.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(num_vertices, f))


def _normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 1e-20)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, incidence=None,
                   face_normal: np.ndarray | None = None) -> np.ndarray:
    """Smooth, area-weighted unit vertex normals ``[..., V, 3]`` float32 of ``vertices [..., V, 3]``.

    Outward for counter-clockwise faces. ``incidence`` (from a previous call's cache) saves rebuilding
    the sparse vertex-face matrix.
    """
    v = np.asarray(vertices, dtype=np.float32)
    batch, nv = v.shape[:-2], v.shape[-2]
    fn = face_normals(v, faces) if face_normal is None else face_normal  # [..., F, 3], length = 2 * area
    m = incidence if incidence is not None else _incidence(faces, nv)
    flat = np.moveaxis(fn.reshape((-1,) + fn.shape[-2:]), 0, 1).reshape(fn.shape[-2], -1)  # [F, B*3]
    acc = np.asarray(m @ flat).reshape(nv, -1, 3)  # [V, B, 3]
    return _normalize(np.moveaxis(acc, 1, 0).reshape(batch + (nv, 3))).astype(np.float32)


def vertex_normals_reference(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Slow reference of :func:`vertex_normals` for one mesh ``[V, 3]``: a loop over faces."""
    v = np.asarray(vertices, dtype=np.float64)
    acc = np.zeros_like(v)
    for a, b, c in faces:
        n = np.cross(v[b] - v[a], v[c] - v[a])
        acc[a] += n
        acc[b] += n
        acc[c] += n
    return _normalize(acc).astype(np.float32)


# -- the renderer -----------------------------------------------------------------------------
class MeshRenderer:
    """Renders one triangle topology (``faces [F, 3]``, ``num_vertices``) from many cameras.

    Buffers are made once and reused; one call draws up to ``views_per_pass`` views with a single
    instanced draw (views stacked in a tall framebuffer) and reads each map back straight into
    the output arrays.
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
        self._ibo = self.ctx.buffer(self.faces.tobytes())
        self._attr_vbo = None
        self._attrs: VertexAttrs | None = None
        self._attr_style: tuple | None = None
        self._pos = self.ctx.buffer(reserve=4)
        self._nrm = self.ctx.buffer(reserve=4)
        self._views = self.ctx.buffer(reserve=self.views_per_pass * 36 * 4)
        self._programs: dict = {}
        self._vaos: dict = {}
        self._targets: dict = {}
        self._fbos: dict = {}
        self._tiles = 0
        self._depth_rb = None
        self._topo = edge_topology(self.faces, self.num_vertices)
        self._lines = self.ctx.buffer(reserve=4096)
        if vertex_attrs is not None:
            self.set_attributes(vertex_attrs)

    # -- per-vertex attributes ----------------------------------------------------------------
    def set_attributes(self, attrs: VertexAttrs, toon: ToonStyle | None = None) -> None:
        """Upload per-vertex parts/udp/colours (once; reused by every later render)."""
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
        if self._attr_vbo is None:
            self._attr_vbo = self.ctx.buffer(data.tobytes())
        else:
            self._attr_vbo.write(data.tobytes())
        self._attrs = attrs
        self._attr_style = (toon.base_color, toon.shade_color)

    # -- GL objects ---------------------------------------------------------------------------
    def _program(self, kind: str, outputs: tuple[str, ...]):
        key = (kind, outputs)
        if key not in self._programs:
            if kind == "geometry":
                prog = self.ctx.program(vertex_shader=GEOMETRY_VS, fragment_shader=geometry_fragment_source(outputs))
            else:
                prog = self.ctx.program(vertex_shader=LINE_VS, fragment_shader=LINE_FS)
            self._programs[key] = prog
        return self._programs[key]

    def _vao(self, kind: str, outputs: tuple[str, ...]):
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
                self._vaos[key] = self.ctx.vertex_array(prog, [(self._lines, "3f 3f 1f/i", "a_p0", "a_p1", "a_view")])
        return self._vaos[key]

    def _ensure_targets(self, tiles: int) -> None:
        if tiles == self._tiles:
            return
        for fbo in self._fbos.values():
            fbo.release()
        for tex in self._targets.values():
            tex.release()
        if self._depth_rb is not None:
            self._depth_rb.release()
        self._targets, self._fbos, self._tiles = {}, {}, tiles
        self._depth_rb = self.ctx.depth_renderbuffer((self.width, self.height * tiles))

    def _target(self, name: str):
        if name not in self._targets:
            comps, dtype, _ = _TARGETS[name]
            tex = self.ctx.texture((self.width, self.height * self._tiles), comps, dtype=dtype)
            tex.filter = (self.ctx.NEAREST, self.ctx.NEAREST)
            self._targets[name] = tex
        return self._targets[name]

    def _fbo(self, names: tuple[str, ...], depth: bool):
        key = (names, depth)
        if key not in self._fbos:
            self._fbos[key] = self.ctx.framebuffer(color_attachments=[self._target(n) for n in names],
                                                   depth_attachment=self._depth_rb if depth else None)
        return self._fbos[key]

    def _clear(self, names: Sequence[str], toon_bg: tuple) -> None:
        for n in names:
            self._fbo((n,), False).clear(color=toon_bg if n == "toon" else _TARGETS[n][2])

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

        geo = tuple(o for o in GEOMETRY_OUTPUTS if o in {_READ[m][0] for m in maps})
        lines = [(name, w, col) for name, w, col in (("lineart", style.line_width, (1.0, 1.0, 1.0, 1.0)),
                                                    ("toon", style.toon.outline_width, (*style.toon.outline_color, 1.0)))
                 if name in maps and w > 0]
        toon_bg = (0.0, 0.0, 0.0, 0.0) if style.toon.background is None else (*style.toon.background, 1.0)

        shared = verts.ndim == 2
        view_data = self._view_data(verts, cams)  # [N, 36]
        line_data, line_starts = self._line_data(verts, cams, style, fnorm) if lines else (None, None)
        out = self._outputs(maps, n, out)
        tiles = min(n, self.views_per_pass)
        self._ensure_targets(tiles)
        self._upload_geometry(verts if shared else None, nrms if shared else None, tiles if not shared else 0)
        ctx = self.ctx
        gprog = self._program("geometry", geo)
        self._set_geometry_uniforms(gprog, style, tiles, 0 if shared else nv)
        gvao = self._vao("geometry", geo) if geo else None
        gfbo = self._fbo(geo, True) if geo else None
        if lines:
            lprog = self._program("line", ())
            for k_, v_ in (("u_size", (self.width, self.height)), ("u_tiles", tiles),
                           ("u_bias", float(style.line_depth_bias))):
                lprog[k_].value = v_
        ctx.enable_direct(_GL_CLIP_DISTANCE0)
        ctx.enable_direct(_GL_CLIP_DISTANCE0 + 1)
        try:
            for s in range(0, n, tiles):
                k = min(tiles, n - s)
                self._views.write(view_data[s:s + k].tobytes())
                if not shared:
                    self._pos.write(verts[s:s + k].tobytes())
                    self._nrm.write(nrms[s:s + k].tobytes())
                self._pos.bind_to_storage_buffer(0)
                self._nrm.bind_to_storage_buffer(1)
                self._views.bind_to_storage_buffer(2)
                self._clear(geo + (("lineart",) if "lineart" in maps else ()), toon_bg)
                self._depth_fbo().clear(depth=1.0)
                ctx.enable(ctx.DEPTH_TEST)
                ctx.depth_func = "<"
                if style.cull_backfaces:
                    ctx.enable(ctx.CULL_FACE)
                    ctx.front_face = "cw"  # the image is drawn upside down, which flips the winding
                    ctx.cull_face = "back"
                else:
                    ctx.disable(ctx.CULL_FACE)
                # depth-only pass when nothing but lines is asked for
                fbo = gfbo or self._depth_fbo()
                fbo.use()
                (gvao or self._vao("geometry", ())).render(ctx.TRIANGLES, vertices=self.faces.size, instances=k)
                if lines:
                    self._draw_lines(lines, line_data[line_starts[s]:line_starts[s + k]], s)
                rows = (0, 0, self.width, self.height * k)
                for m in maps:
                    src, comps, dtype, _ = _READ[m]
                    fbo = gfbo if src in geo else self._fbo((src,), True)
                    idx = geo.index(src) if src in geo else 0
                    fbo.read_into(out[m][s:s + k], viewport=rows, components=comps, attachment=idx, dtype=dtype)
        finally:
            ctx.disable_direct(_GL_CLIP_DISTANCE0)
            ctx.disable_direct(_GL_CLIP_DISTANCE0 + 1)
            ctx.disable(ctx.CULL_FACE)
        return out

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

    def _draw_lines(self, lines, data: np.ndarray, first_view: int) -> None:
        """Draw feature edges ``data [M, 7]`` (p0, p1, view) as quads into the lineart / toon targets."""
        if len(data) == 0:
            return
        data = data.copy()
        data[:, 6] -= first_view
        raw = data.astype(np.float32).tobytes()
        if self._lines.size < len(raw):
            self._lines.orphan(len(raw))
        self._lines.write(raw)
        ctx = self.ctx
        ctx.disable(ctx.CULL_FACE)
        ctx.depth_func = "<="
        prog = self._program("line", ())
        vao = self._vao("line", ())
        for name, width, color in lines:
            fbo = self._fbo((name,), True)
            fbo.depth_mask = False
            fbo.use()
            prog["u_width"].value = float(width)
            prog["u_bias_px"].value = 2.0 * float(width)
            prog["u_color"].value = color
            vao.render(ctx.TRIANGLES, vertices=6, instances=len(data))
            fbo.depth_mask = True

    def _line_data(self, verts: np.ndarray, cams: list[Camera], style: MapStyle,
                   fnorm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feature edges of every view as ``[M, 7]`` (p0 xyz, p1 xyz, view) plus per-view start offsets."""
        views = np.stack([c.view for c in cams])
        ortho = np.array([c.is_ortho for c in cams])
        view, edge = feature_edges(verts, self.faces, self._topo, camera_points(views, ortho), style.crease_deg,
                                   fnorm)
        ev = self._topo.vertices[edge]  # [M, 2]
        if verts.ndim == 2:
            p0, p1 = verts[ev[:, 0]], verts[ev[:, 1]]
        else:
            p0, p1 = verts[view, ev[:, 0]], verts[view, ev[:, 1]]
        data = np.concatenate([p0, p1, view[:, None].astype(np.float32)], axis=1).astype(np.float32)
        starts = np.searchsorted(view, np.arange(len(cams) + 1))
        return data, starts

    def _depth_fbo(self):
        key = ((), True)
        if key not in self._fbos:
            self._fbos[key] = self.ctx.framebuffer(depth_attachment=self._depth_rb)
        return self._fbos[key]

    def _upload_geometry(self, verts, nrms, tiles: int) -> None:
        """Shared mesh: upload positions/normals now. Per-view meshes: reserve room for ``tiles``."""
        if verts is not None:
            for buf, arr in ((self._pos, verts), (self._nrm, nrms)):
                data = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
                if buf.size != len(data):
                    buf.orphan(len(data))
                buf.write(data)
        else:
            size = tiles * self.num_vertices * 12
            for buf in (self._pos, self._nrm):
                if buf.size != size:
                    buf.orphan(size)

    def _view_data(self, verts: np.ndarray, cams: list[Camera]) -> np.ndarray:
        """Per-view std430 records: view [4x4], projection [4x4] (column-major), (near, far, ortho, focal)."""
        n = len(cams)
        views = np.stack([c.view for c in cams])  # [N, 4, 4]
        rz, tz = views[:, 2, :3], views[:, 2, 3]  # camera z row
        if verts.ndim == 2:
            z = -(verts.astype(np.float64) @ rz.T + tz)  # [V, N]
            zmin, zmax = z.min(axis=0), z.max(axis=0)
        else:
            z = -(np.einsum("nvk,nk->nv", verts.astype(np.float64), rz) + tz[:, None])  # [N, V]
            zmin, zmax = z.min(axis=1), z.max(axis=1)
        data = np.empty((n, 36), dtype=np.float32)
        for i, c in enumerate(cams):
            near = max(float(zmin[i]), c.near)
            far = max(float(zmax[i]), near * (1 + 1e-6) + 1e-6)
            data[i, :16] = c.view.T.reshape(-1)
            data[i, 16:32] = c.gl_projection().T.reshape(-1)
            data[i, 32:] = (near, far, 1.0 if c.is_ortho else 0.0, c.focal_px)
        return data

    def _set_geometry_uniforms(self, prog, style: MapStyle, tiles: int, vstride: int) -> None:
        t = style.toon
        vals = {"u_vstride": vstride, "u_tiles": tiles, "u_depth_floor": style.depth_floor,
                "u_light": tuple(t.light), "u_shade": (t.shading_shift, t.shading_toony, t.deep_shade_shift,
                                                       t.deep_shade_factor),
                "u_rim": (*t.rim_color, t.rim_power), "u_rim_lift": t.rim_lift, "u_tones": t.tones}
        for k, v in vals.items():
            if k in prog:
                prog[k].value = v

    def release(self) -> None:
        """Free the GL objects (the shared context stays)."""
        self._ensure_targets(-1)
        for obj in (*self._vaos.values(), *self._programs.values(), self._ibo, self._pos, self._nrm, self._views,
                    self._lines, self._attr_vbo):
            if obj is not None:
                obj.release()
        self._vaos, self._programs = {}, {}


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
