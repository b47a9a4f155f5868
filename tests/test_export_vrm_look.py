"""The exported VRM looks like kyara's previews in a VRM viewer.

* CIEDE2000 (``kyara.character.colors.delta_e2000``) against published pairs of Sharma, Wu and
  Dalal's test table, and sRGB -> Lab against reference values.
* Fast, no browser: the colour a viewer computes from material factors and textures at every
  vertex of every primitive (VRM 1.0 MToon, VRM 0.x materialProperties, plain GLB) is the colour
  the previews draw there (``Character.merged``), and no primitive carries colour in ``COLOR_0``;
  closed parts stay closed meshes.
* Slow: the ``kyara create`` demo avatar rendered by three.js + @pixiv/three-vrm in headless
  Chromium (SwiftShader WebGL) against kyara's own preview of the same view (same camera matrices,
  light and size): silhouette IoU, per-material lit colour (CIEDE2000 of the median colours), and
  the irises show their colour.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace

import numpy as np
import pytest
from test_export_common import run_validator, synthetic_character
from vrm_look import (DEMO_PROMPT, compare_look, erode, front_cameras, iris_fraction, iris_part, preview_and_jobs,
                      render_three_vrm, varying_parts)

from kyara.character.colors import delta_e2000, srgb_to_lab
from kyara.export import export_character
from kyara.export.gltf import accessor_array, character_glb, read_glb
from kyara.export.vrm import vrm_bytes
from kyara.export.vrm0 import vrm0_bytes


# Sharma, Wu, Dalal (2005), Table 1: (L1, a1, b1), (L2, a2, b2), CIEDE2000
SHARMA_PAIRS = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0009), 7.1792),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0011), 7.2195),
    ((50.0, -0.0010, 2.4900), (50.0, 0.0009, -2.4900), 4.8045),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
]


def test_ciede2000_matches_sharma_table():
    a = np.array([p[0] for p in SHARMA_PAIRS])
    b = np.array([p[1] for p in SHARMA_PAIRS])
    want = np.array([p[2] for p in SHARMA_PAIRS])
    np.testing.assert_allclose(delta_e2000(a, b), want, atol=5e-5)
    np.testing.assert_allclose(delta_e2000(b, a), want, atol=5e-5)  # symmetric
    assert delta_e2000([40.0, 10.0, -5.0], [40.0, 10.0, -5.0]) == 0.0


def test_srgb_to_lab_reference_values():
    lab = srgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(lab[1], [0.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(lab[2], [53.2408, 80.0925, 67.2032], atol=2e-3)  # sRGB red, D65
    np.testing.assert_allclose(lab[3], [32.2970, 79.1875, -107.8602], atol=2e-3)  # sRGB blue, D65


# -- what a viewer computes from materials and textures (an independent reader) ---------------------
def _lin(c):
    c = np.clip(np.asarray(c, np.float64), 0, 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _srgb(c):
    c = np.clip(np.asarray(c, np.float64), 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def _image(gltf, binary, texture: int) -> np.ndarray:
    from PIL import Image

    img = gltf["images"][gltf["textures"][texture]["source"]]
    bv = gltf["bufferViews"][img["bufferView"]]
    raw = binary[bv.get("byteOffset", 0):bv.get("byteOffset", 0) + bv["byteLength"]]
    with Image.open(io.BytesIO(raw)) as im:
        return np.asarray(im.convert("RGB"), np.float64) / 255.0


def _bilinear(img: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """A LINEAR, CLAMP_TO_EDGE texture read at glTF ``uv`` (texel centres at (i + 0.5) / size)."""
    h, w = img.shape[:2]
    x, y = uv[:, 0] * w - 0.5, uv[:, 1] * h - 0.5
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    px = lambda yy, xx: img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]  # noqa: E731
    return ((px(y0, x0) * (1 - fx) + px(y0, x0 + 1) * fx) * (1 - fy)
            + (px(y0 + 1, x0) * (1 - fx) + px(y0 + 1, x0 + 1) * fx) * fy)


def viewer_colours(data: bytes, at_centroids: bool = False) -> list[dict]:
    """Per glTF mesh: ``base``/``shade`` sRGB ``[V, 3]`` (NaN where no primitive uses the vertex;
    ``shade`` None without MToon) as MToon viewers compute them from factors and textures, the
    faces, and the attribute names. ``at_centroids``: the colours at each face's UV centroid instead."""
    gltf, binary = read_glb(data)
    props = (gltf.get("extensions", {}).get("VRM") or {}).get("materialProperties")
    out = []
    for mesh in gltf["meshes"]:
        attrs = mesh["primitives"][0]["attributes"]
        n = gltf["accessors"][attrs["POSITION"]]["count"]
        uv_all = accessor_array(gltf, binary, attrs["TEXCOORD_0"]).astype(np.float64) if "TEXCOORD_0" in attrs else None
        base, shade, faces, names = [], [], [], set()
        has_shade = False
        for prim in mesh["primitives"]:
            names |= set(prim["attributes"])
            f = accessor_array(gltf, binary, prim["indices"]).reshape(-1, 3).astype(np.int64)
            m = gltf["materials"][prim["material"]]
            if props is not None:  # VRM 0.x: sRGB factors, _MainTex / _ShadeTexture
                p = props[prim["material"]]
                fb, fs = _lin(p["vectorProperties"]["_Color"][:3]), _lin(p["vectorProperties"]["_ShadeColor"][:3])
                tb, ts = p["textureProperties"].get("_MainTex"), p["textureProperties"].get("_ShadeTexture")
                has_shade = True
            else:
                pbr = m["pbrMetallicRoughness"]
                fb, tb = np.asarray(pbr["baseColorFactor"][:3]), (pbr.get("baseColorTexture") or {}).get("index")
                mt = (m.get("extensions") or {}).get("VRMC_materials_mtoon")
                has_shade = mt is not None
                fs = np.asarray(mt["shadeColorFactor"]) if mt else None
                ts = (mt.get("shadeMultiplyTexture") or {}).get("index") if mt else None
            uv = uv_all[f].mean(axis=1) if at_centroids and uv_all is not None else uv_all
            rows = np.arange(len(f)) if at_centroids else np.arange(n)
            b = np.tile(fb, (len(rows), 1))
            if tb is not None:
                b = b * _lin(_bilinear(_image(gltf, binary, tb), uv))
            s = None
            if has_shade:
                s = np.tile(fs, (len(rows), 1))
                if ts is not None:
                    s = s * _lin(_bilinear(_image(gltf, binary, ts), uv))
            keep = np.arange(len(f)) if at_centroids else np.unique(f)
            base.append((keep, _srgb(b[keep])))
            shade.append((keep, _srgb(s[keep]) if s is not None else None))
            faces.append(f)
        size = sum(len(f) for f in faces) if at_centroids else n
        B = np.full((size, 3), np.nan)
        S = np.full((size, 3), np.nan) if has_shade else None
        off = 0
        for (kb, vb), (_, vs), f in zip(base, shade, faces):
            rows = kb + off if at_centroids else kb
            B[rows] = vb
            if S is not None and vs is not None:
                S[rows] = vs
            off += len(f) if at_centroids else 0
        out.append({"base": B, "shade": S, "faces": np.concatenate(faces), "attributes": names, "name": mesh["name"]})
    return out


def is_closed(faces: np.ndarray) -> bool:
    """Every undirected edge is shared by exactly two faces."""
    f = np.asarray(faces, np.int64)
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return bool(len(f)) and bool(np.all(counts == 2))


@pytest.fixture(scope="module")
def face_character():
    """The synthetic character plus the real face (iris gradients, lash lines) and hair (shine on
    the cap) of the demo prompt, built on the same body."""
    from kyara.character.face import build_face
    from kyara.character.hair import build_hair
    from kyara.character.parser import parse_prompt

    c = synthetic_character()
    spec = parse_prompt(DEMO_PROMPT, seed=0)
    face, _ = build_face(spec, c.body)
    hair, bones = build_hair(spec, c.body)
    body = c.part("body")
    return replace(c, parts=[body, *face, *hair], extra_bones=bones)


@pytest.mark.parametrize("fmt", ["vrm", "vrm0", "glb"])
def test_viewer_colour_at_every_vertex_is_the_preview_colour(face_character, fmt):
    c = face_character
    data = {"vrm": lambda: vrm_bytes(c)[0], "vrm0": lambda: vrm0_bytes(c)[0], "glb": lambda: character_glb(c)}[fmt]()
    meshes = viewer_colours(data)
    centroids = viewer_colours(data, at_centroids=True)
    assert [m["name"] for m in meshes] == [p.name for p in c.parts]
    merged = c.merged()
    start = 0
    textured = set()
    for part, m, mc in zip(c.parts, meshes, centroids):
        want_b = merged["base"][start:start + len(part.vertices)].astype(np.float64)
        want_s = merged["shade"][start:start + len(part.vertices)].astype(np.float64)
        start += len(part.vertices)
        assert "COLOR_0" not in m["attributes"], part.name  # MToon viewers ignore vertex colours
        used = np.unique(part.faces)
        assert not np.isnan(m["base"][used]).any()
        # 8-bit texels: half a step of rounding plus up to one step where a chart's plane meets a
        # bend of the gradient (the iris crescent); a missing texture is off by far more (dE ~30)
        tol = 1.5 / 255
        np.testing.assert_allclose(m["base"][used], want_b[used], atol=tol, err_msg=part.name)
        if fmt != "glb":
            np.testing.assert_allclose(m["shade"][used], want_s[used], atol=tol, err_msg=part.name)
        # inside every face the colour a viewer interpolates is the preview's (linear between the vertices)
        f = m["faces"]
        np.testing.assert_allclose(mc["base"], want_b[f].mean(axis=1), atol=3.0 / 255, err_msg=part.name)
        if "TEXCOORD_0" in m["attributes"]:
            textured.add(part.name)
        assert is_closed(f) == is_closed(part.faces), part.name  # closed parts stay closed
    varying = varying_parts(c)
    assert iris_part(c).name in varying  # the iris gradient
    assert textured == varying  # exactly the parts whose colour varies across a face use the atlas
    gltf, _ = read_glb(data)
    colour = [t for t in gltf["textures"] if not t["name"].startswith("rim_")]  # rim matcaps aside (test_toon.py)
    assert len(colour) == 2 and len(gltf["images"]) == len(gltf["textures"])  # one colour atlas + its shade
    iris = meshes[[p.name for p in c.parts].index(iris_part(c).name)]["base"]
    used = np.unique(iris_part(c).faces)
    assert srgb_to_lab(iris[used]).std(axis=0).max() > 5  # the iris is not one flat colour


def test_noisy_vertex_colours_still_export_through_the_atlas():
    """A texture sampled per vertex (an imported avatar) has more distinct colours than one strip of
    the atlas holds: the colours are kept at fewer levels, with a warning, never in COLOR_0."""
    import trimesh

    from kyara.body.skeleton import BONE_INDEX
    from kyara.character.model import Material, Part

    c = synthetic_character()
    m = trimesh.creation.icosphere(subdivisions=5, radius=0.03)
    n = len(m.vertices)
    ji = np.zeros((n, 4), np.int64)
    ji[:, 0] = BONE_INDEX["upperChest"]
    jw = np.zeros((n, 4), np.float32)
    jw[:, 0] = 1.0
    colours = np.random.default_rng(0).random((n, 3))
    ball = Part("ball", "accessory", m.vertices + c.rest_joints[BONE_INDEX["upperChest"]] + [0.0, 0.0, 0.2], m.faces,
                ji, jw, Material("ball", (1.0, 1.0, 1.0)), colors=colours)
    noisy = replace(c, parts=[c.part("body"), ball])
    data, warnings = vrm_bytes(noisy)
    assert any("'ball'" in w and "levels per channel" in w for w in warnings), warnings
    got = viewer_colours(data)[1]
    assert "COLOR_0" not in got["attributes"] and "TEXCOORD_0" in got["attributes"]
    levels = int(next(w for w in warnings if "'ball'" in w).split("kept ")[1].split(" ")[0])
    assert np.abs(got["base"] - colours).max() <= 0.5 / (levels - 1) + 1.0 / 255


# -- three-vrm against the preview ---------------------------------------------------------------


@pytest.mark.slow
def test_three_vrm_shows_what_the_preview_shows(tmp_path):
    from test_export_common import acceptance_character

    c = acceptance_character(DEMO_PROMPT)
    paths = {fmt: export_character(c, fmt, tmp_path / f"avatar_{fmt}.vrm").path for fmt in ("vrm", "vrm0")}
    report = run_validator(list(paths.values()))
    for p in paths.values():
        assert report[str(p)]["numErrors"] == 0, report[str(p)]["messages"]
    views = {name: preview_and_jobs(c, paths, cam) for name, cam in front_cameras(c).items()}
    jobs = [dict(j, vrm=j["vrm"], view_name=name) for name, (_, _, js) in views.items() for j in js]
    for j in jobs:  # one job per (file, view): give each its own copy of the file
        copy = tmp_path / f"{j['view_name']}_{j['vrm'].rsplit('/', 1)[1]}"
        copy.write_bytes(open(j["vrm"], "rb").read())
        j["vrm"] = str(copy)
    shots = render_three_vrm(jobs)
    names = [p.name for p in c.parts]
    eyes = iris_part(c)
    iris_colours = np.unique(np.round(eyes.colors * 255), axis=0) / 255.0
    white = srgb_to_lab(np.array([0.98, 0.98, 1.0]))
    iris_colours = iris_colours[delta_e2000(srgb_to_lab(iris_colours), white) > 25]  # not the eye white
    assert len(iris_colours) > 5
    varying = varying_parts(c)
    summary = {}
    for job in jobs:
        preview, toon_style, _ = views[job["view_name"]]
        shot = shots[job["vrm"]]
        assert "error" not in shot, shot.get("error")
        assert shot["console"] == [], shot["console"]
        res = compare_look(preview, toon_style, shot, names)
        summary[job["vrm"].rsplit("/", 1)[1]] = {"iou": round(res["iou"], 4),
                                                 **{k: round(v["median_de"], 2) for k, v in res["parts"].items()}}
        face = job["view_name"] == "face"
        # the preview's ink is 2 px at any distance, MToon's outline is world-sized (1 px outside the
        # silhouette in the full-body view): in the close-up it is ~3 px, so the silhouettes differ more
        assert res["iou"] >= (0.93 if face else 0.95), res["iou"]
        must = ("body", eyes.name, "brows", "hair_cap") if face else ("body", "hair_cap", "hair_strands", "kimono")
        for name in must:
            assert name in res["parts"], (name, sorted(res["parts"]))  # large enough to compare
        for name, r in res["parts"].items():
            assert r["median_de"] < 10, (name, r)
        for name in varying & set(res["parts"]):  # colour varies across these: compare pixel by pixel too
            assert res["parts"][name]["pixel_de"] < 10, (name, res["parts"][name])
        # the irises show: the eye region holds iris colours in the viewer as in the preview
        k = names.index(eyes.name)
        region = erode((preview["parts"][..., 0] == k) & (res["ids"] == k))
        mine = iris_fraction(res["lab_preview"], region, iris_colours)
        theirs = iris_fraction(res["lab_viewer"], region, iris_colours)
        if face or region.sum() >= 20:  # the irises are a few pixels wide in the full-body view
            assert mine > 0.5 and theirs > 0.8 * mine, (mine, theirs)
        summary[job["vrm"].rsplit("/", 1)[1]]["iris_fraction"] = [round(mine, 3), round(theirs, 3)]
    print(json.dumps(summary, indent=1))
