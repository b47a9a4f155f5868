"""GLSL sources of the condition-map renderer (see :mod:`kyara.render.maps`).

Many views are drawn in ONE multi-draw call (``glMultiDrawElementsIndirect``): sub-draw ``k``
(``gl_DrawIDARB``) is view ``k``, draws only that view's front faces (culled on the CPU) and lands
in the ``k``-th horizontal band ("tile") of a framebuffer that is ``K * H`` rows tall. The image is drawn
upside down (clip y negated) so that ``glReadPixels`` rows come out top-down and the readback
reshapes to ``[K, H, W, C]`` with no copy. Two clip distances keep each view inside its band.

Per-view data (view matrix, projection, depth range, focal length) live in a storage buffer;
vertex positions and normals too (shared by all views, or one mesh per view).
"""

from __future__ import annotations

# Geometry pass outputs, in attachment order. Each is compiled in only when needed. "gbuf" holds
# what the toon resolve pass needs (packed normal, N.V, base and shade colours).
GEOMETRY_OUTPUTS = ("metric", "normal", "depth", "parts", "mask", "udp", "gbuf")

# Small triangles (a 30k-triangle body at 512 px is ~2 px per triangle) make llvmpipe run the
# fragment shader on whole 4x4 blocks per triangle, so per-pixel work in the geometry pass costs
# ~10x its pixel count. The toon shading (the heaviest maths) therefore runs in a deferred,
# full-screen pass over the covered pixels only (depth test against the geometry's depth).
_VERSION = "#version 430\n"
_COMMON = _VERSION + """
struct View { mat4 view; mat4 proj; vec4 p; vec4 rect; };  // p = (depth8 near z, depth8 far z, ortho 0/1,
// focal px); rect = NDC (x0, y0, x1, y1) of the image (y down) that holds the mesh
layout(std430, binding = 2) readonly buffer Views { View views[]; };
"""

GEOMETRY_VS = _VERSION + "#extension GL_ARB_shader_draw_parameters : require\n" + _COMMON[len(_VERSION):] + """
layout(std430, binding = 0) readonly buffer Pos { float pos[]; };  // [K or 1, V, 3] world metres
layout(std430, binding = 1) readonly buffer Nrm { float nrm[]; };  // [K or 1, V, 3] world unit normals
uniform int u_vstride;  // V when every view has its own mesh, 0 when all views share one
uniform int u_tiles;    // K: views stacked in the framebuffer; view k = sub-draw gl_DrawIDARB
in float a_part;
in vec3 a_udp;
in vec3 a_base;
in vec3 a_shade;
out vec3 v_pos;     // camera space (OpenGL), metres
out vec3 v_nrm;     // camera space
out vec3 v_udp;
out vec3 v_base;
out vec3 v_shade;
flat out float v_part;
flat out vec4 v_p;
out float gl_ClipDistance[2];
void main() {
    int k = gl_DrawIDARB;
    int i = (k * u_vstride + gl_VertexID) * 3;
    View vw = views[k];
    vec4 pc = vw.view * vec4(pos[i], pos[i + 1], pos[i + 2], 1.0);
    v_pos = pc.xyz;
    v_nrm = mat3(vw.view) * vec3(nrm[i], nrm[i + 1], nrm[i + 2]);
    v_udp = a_udp; v_base = a_base; v_shade = a_shade; v_part = a_part; v_p = vw.p;
    vec4 clip = vw.proj * pc;
    clip.y = -clip.y;  // top image row first in memory
    gl_ClipDistance[0] = clip.w + clip.y;
    gl_ClipDistance[1] = clip.w - clip.y;
    clip.y = (clip.y + float(2 * k + 1 - u_tiles) * clip.w) / float(u_tiles);
    gl_Position = clip;
}
"""

GEOMETRY_FS = """
in vec3 v_pos;
in vec3 v_nrm;
in vec3 v_udp;
in vec3 v_base;
in vec3 v_shade;
flat in float v_part;
flat in vec4 v_p;
uniform float u_depth_floor;
OUTPUT_DECLS
void main() {
    float z = -v_pos.z;  // metres along the view axis
    vec3 to_cam = v_p.z > 0.5 ? vec3(0.0, 0.0, 1.0) : normalize(-v_pos);
    vec3 n = normalize(v_nrm);
    float nv = dot(n, to_cam);
    // Smooth normals near the silhouette can point slightly away: fold them onto the
    // plane perpendicular to the view so every visible normal faces the camera (nz >= 0).
    if (nv < 0.0) { n = normalize(n - nv * to_cam + 1e-4 * to_cam); nv = 1e-4; }
#ifdef OUT_metric
    o_metric = z;
#endif
#ifdef OUT_normal
    // NormalBae (ControlNet 1.1 normalbae) colours: R = -x (left), G = +y (up), B = +z (to viewer).
    o_normal = vec4(0.5 * (vec3(-n.x, n.y, n.z) + 1.0), 1.0);
#endif
#ifdef OUT_depth
    float d;
    if (v_p.z > 0.5) d = (v_p.y - z) / max(v_p.y - v_p.x, 1e-6);                        // linear (ortho)
    else d = (1.0 / z - 1.0 / v_p.y) / max(1.0 / v_p.x - 1.0 / v_p.y, 1e-9);             // inverse depth
    o_depth = u_depth_floor + (1.0 - u_depth_floor) * clamp(d, 0.0, 1.0);
#endif
#ifdef OUT_parts
    o_parts = v_part / 255.0;
#endif
#ifdef OUT_mask
    o_mask = 1.0;
#endif
#ifdef OUT_udp
    o_udp = vec4(clamp(v_udp, 0.0, 1.0), 1.0);  // interpolation may round past 1 (1.0000002)
#endif
#ifdef OUT_gbuf
    o_gbuf = uvec4(packHalf2x16(n.xy), packHalf2x16(vec2(n.z, nv)), packUnorm4x8(vec4(v_base, 0.0)),
                   packUnorm4x8(vec4(v_shade, 0.0)));
#endif
}
"""

_OUTPUT_TYPES = {"metric": "float", "normal": "vec4", "depth": "float", "parts": "float", "mask": "float",
                 "udp": "vec4", "gbuf": "uvec4"}


def geometry_fragment_source(outputs: tuple[str, ...]) -> str:
    """Fragment shader writing ``outputs`` (a subsequence of GEOMETRY_OUTPUTS) to locations 0.."""
    decls = []
    for loc, name in enumerate(outputs):
        decls.append(f"#define OUT_{name}\nlayout(location = {loc}) out {_OUTPUT_TYPES[name]} o_{name};")
    return _COMMON + GEOMETRY_FS.replace("OUTPUT_DECLS", "\n".join(decls))


# Deferred toon shading: per view one quad over the screen rectangle that holds the mesh, at
# depth 1.0 with the depth test GREATER, so only pixels the geometry pass covered are shaded.
RESOLVE_VS = _COMMON + """
uniform int u_tiles;
const vec2 CORNERS[6] = vec2[6](vec2(0, 0), vec2(1, 0), vec2(1, 1), vec2(0, 0), vec2(1, 1), vec2(0, 1));
void main() {
    int k = gl_VertexID / 6;
    vec4 r = views[k].rect;
    vec2 c = mix(r.xy, r.zw, CORNERS[gl_VertexID - 6 * k]);
    gl_Position = vec4(c.x, (c.y + float(2 * k + 1 - u_tiles)) / float(u_tiles), 1.0, 1.0);
}
"""

TOON_FS = _COMMON + """
uniform usampler2D u_gbuf;  // from the geometry pass (see OUT_gbuf)
uniform int u_tiles;
uniform vec3 u_light;        // unit vector towards the light, camera space
uniform vec4 u_shade;        // (shading shift, toony, deep-shade shift, deep-shade factor)
uniform vec4 u_rim;          // rim colour rgb, rim_lit: the rim adds rim_lit * (base - shade) + rim colour
uniform vec4 u_rim_band;     // linearstep edges of |m| (lo, hi) and of cos(angle to the rim side) (lo, hi)
uniform vec2 u_rim_dir;      // image-plane unit direction the rim faces
uniform int u_tones;
layout(location = 0) out vec4 o_toon;
float linearstep(float a, float b, float t) { return clamp((t - a) / max(b - a, 1e-5), 0.0, 1.0); }
void main() {
    uvec4 g = texelFetch(u_gbuf, ivec2(gl_FragCoord.xy), 0);
    vec2 nxy = unpackHalf2x16(g.x);
    vec2 nz_nv = unpackHalf2x16(g.y);
    vec3 n = vec3(nxy, nz_nv.x);
    vec3 base = unpackUnorm4x8(g.z).rgb;
    vec3 shade = unpackUnorm4x8(g.w).rgb;
    // this pixel's ray: view k = its tile, NDC from the pixel centre (tiles are drawn upside down)
    ivec2 size = textureSize(u_gbuf, 0);
    float h = float(size.y / u_tiles);
    int k = int(gl_FragCoord.y / h);
    View vw = views[k];
    vec2 ndc = vec2(2.0 * gl_FragCoord.x / float(size.x) - 1.0, 1.0 - 2.0 * (gl_FragCoord.y - float(k) * h) / h);
    vec3 to_cam = vw.p.z > 0.5 ? vec3(0.0, 0.0, 1.0) : normalize(vec3(-ndc.x / vw.proj[0][0], -ndc.y / vw.proj[1][1], 1.0));
    // MToon-style ramp: shading = linearstep(-1 + toony, 1 - toony, N.L + shift)
    float lit = dot(n, u_light) + u_shade.x;
    float s = linearstep(-1.0 + u_shade.y, 1.0 - u_shade.y, lit);
    vec3 col = mix(shade, base, s);
    if (u_tones >= 3) {
        float s2 = linearstep(-1.0 + u_shade.y, 1.0 - u_shade.y, lit - u_shade.z);
        col = mix(shade * u_shade.w, col, s2);
    }
    // MToon's matcap coordinates: the normal in a frame turned to face the viewing ray (|m| = 1 on
    // the silhouette, see toon.matcap_coords)
    vec3 mx = normalize(vec3(to_cam.z, 0.0, -to_cam.x));
    vec2 m = vec2(dot(mx, n), dot(cross(to_cam, mx), n));
    float r = length(m);
    float rim = linearstep(u_rim_band.x, u_rim_band.y, r)
              * linearstep(u_rim_band.z, u_rim_band.w, dot(m, u_rim_dir) / max(r, 1e-6));
    col += rim * (u_rim.w * max(base - shade, 0.0) + u_rim.rgb);
    o_toon = vec4(clamp(col, 0.0, 1.0), 1.0);
}
"""


# Feature lines (silhouette, crease and boundary edges chosen per view on the CPU) drawn as
# screen-space quads of a given pixel width, depth-tested against the geometry pass.
LINE_VS = _COMMON + """
// One draw of 6 vertices per edge; vertex i belongs to edge i / 6, read from a storage buffer.
layout(std430, binding = 3) readonly buffer Lines { vec4 lines[]; };  // per edge: (p0, view), (p1, ink)
uniform ivec2 u_size;   // (W, H) of one view
uniform int u_tiles;
uniform float u_width;  // pixels, at the middle of the mesh's depth range
uniform vec3 u_ink_depth;  // (power, lo, hi): width * clamp((z_mid / z) ** power, lo, hi)
uniform float u_bias;   // pull towards the camera, as a fraction of the depth
uniform float u_bias_px;  // plus this many pixel footprints (times the width factor)
uniform float u_ink_only;  // 1: skip edges whose ink flag is 0 (toon outlines follow the materials)
out float gl_ClipDistance[2];
const vec2 CORNERS[6] = vec2[6](vec2(0, -1), vec2(1, -1), vec2(1, 1), vec2(0, -1), vec2(1, 1), vec2(0, 1));
float ink_scale(View vw, vec3 p) {  // width factor by depth (see toon.outline_scale); 1 in ortho views
    if (vw.p.z > 0.5) return 1.0;
    float z = max(-(vw.view * vec4(p, 1.0)).z, 1e-9);
    return clamp(pow(0.5 * (vw.p.x + vw.p.y) / z, u_ink_depth.x), u_ink_depth.y, u_ink_depth.z);
}
vec4 to_clip(View vw, vec3 p, float scale) {
    vec4 e = vw.view * vec4(p, 1.0);
    bool ortho = vw.p.z > 0.5;
    float fp = ortho ? 1.0 / vw.p.w : -e.z / vw.p.w;
    vec3 to_cam = ortho ? vec3(0.0, 0.0, 1.0) : normalize(-e.xyz);
    e.xyz += to_cam * (u_bias * max(-e.z, 0.0) + u_bias_px * scale * fp);
    vec4 c = vw.proj * e;
    c.y = -c.y;
    return c;
}
void main() {
    int e = gl_VertexID / 6;
    vec4 a = lines[2 * e];
    vec4 b = lines[2 * e + 1];
    vec3 a_p1 = b.xyz;
    if (u_ink_only > 0.5 && b.w < 0.5) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); return; }
    int view = int(a.w + 0.5);
    View vw = views[view];
    vec2 corner = CORNERS[gl_VertexID - 6 * e];
    float k0 = ink_scale(vw, a.xyz);
    float k1 = ink_scale(vw, a_p1);
    vec4 c0 = to_clip(vw, a.xyz, k0);
    vec4 c1 = to_clip(vw, a_p1, k1);
    if (c0.w <= 1e-6 || c1.w <= 1e-6) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); return; }
    vec2 half_size = 0.5 * vec2(u_size);
    vec2 s0 = c0.xy / c0.w * half_size;
    vec2 s1 = c1.xy / c1.w * half_size;
    vec2 d = s1 - s0;
    float len = length(d);
    vec2 dir = len > 1e-6 ? d / len : vec2(1.0, 0.0);
    vec2 nrm = vec2(-dir.y, dir.x);
    vec4 clip = corner.x < 0.5 ? c0 : c1;
    vec2 off = 0.5 * u_width * (corner.x < 0.5 ? k0 : k1) * (nrm * corner.y + dir * (corner.x < 0.5 ? -1.0 : 1.0));
    clip.xy += off / half_size * clip.w;
    gl_ClipDistance[0] = clip.w + clip.y;
    gl_ClipDistance[1] = clip.w - clip.y;
    clip.y = (clip.y + float(2 * view + 1 - u_tiles) * clip.w) / float(u_tiles);
    gl_Position = clip;
}
"""

LINE_FS = """
#version 430
uniform vec4 u_color;
layout(location = 0) out vec4 o_color;
void main() { o_color = u_color; }
"""
