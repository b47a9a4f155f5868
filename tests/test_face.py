"""The anime face as a user sees it: measured in the project's own front preview (256 px tall,
the ``kyara create`` framing) through the parts map, and on the mesh.

Independent measurements: colour differences are CIEDE2000 from scikit-image; which part a pixel
shows comes from the renderer's parts map; heights on the mesh come from the body mesh (the chin
where a ray along the face's centre line leaves the jaw), the hair cap (the hairline) and the
eye parts' own vertices.
"""

from __future__ import annotations

import numpy as np
import pytest
from hair_measures import front_hit_z  # tests/ is on sys.path (pytest rootdir)
from skimage.color import deltaE_ciede2000, rgb2hsv, rgb2lab

from kyara.body.model import build_body
from kyara.character import face, face_eyes, hair
from kyara.character.build import body_part
from kyara.character.face_preview import front_preview, head_box
from kyara.character.model import Character, hex_to_rgb
from kyara.character.parser import parse_prompt
from kyara.pose.presets import get_pose

PROMPT = "an anime girl with long black hair and blue eyes"
EYE_PARTS = ("eye_whites", "irises", "pupils", "eye_highlights")


def _character(spec, body) -> Character:
    """Body, face and hair (what frames and covers the face; garments do not touch it)."""
    fp, _ = face.build_face(spec, body)
    hp, bones = hair.build_hair(spec, body)
    return Character(spec=spec, body=body, parts=[body_part(body, spec), *fp, *hp], extra_bones=list(bones))


@pytest.fixture(scope="module")
def girl():
    spec = parse_prompt(PROMPT, seed=0)
    return _character(spec, build_body(spec.body.params()))


@pytest.fixture(scope="module")
def preview(girl):
    return front_preview(girl, get_pose("stand", girl.body.params), 256)


def _eyes(pv) -> list[np.ndarray]:
    """``[right-on-screen-left, left]`` masks ``[H, W]`` of the pixels showing either eye."""
    any_eye = np.zeros(pv.parts.shape, bool)
    for n in EYE_PARTS:
        any_eye |= pv.mask(n)
    centres = []
    for side in (-1, 1):  # the character's right eye (-x) is on the screen's left
        k = pv.names.index("eye_whites")
        sel = (pv.part_id == k) & (np.sign(pv.rest[:, 0]) == side)
        centres.append(pv.camera.project(pv.vertices[sel].mean(0))[0][0])
    mid = 0.5 * (centres[0] + centres[1])
    cols = np.arange(pv.parts.shape[1])[None, :]
    return [any_eye & (cols < mid), any_eye & (cols >= mid)]


def _lab(rgb_u8: np.ndarray) -> np.ndarray:
    return rgb2lab(np.asarray(rgb_u8, np.float64).reshape(-1, 1, 3) / 255.0).reshape(-1, 3)


def test_preview_eyes_are_large_with_iris_pupil_and_highlight(girl, preview):
    pv = preview
    toon = pv.toon[..., :3]
    iris_lab = rgb2lab(np.array(hex_to_rgb(girl.spec.eye_colour.hex)).reshape(1, 1, 3)).reshape(3)
    for side, eye in zip(("right", "left"), _eyes(pv)):
        rows = np.flatnonzero(eye.any(axis=1))
        assert len(rows) and rows.max() - rows.min() + 1 >= 6, (side, rows)
        # iris pixels in the lit tone of the spec's eye colour (the shader's lit colour is the base)
        iris = eye & pv.mask("irises")
        de = deltaE_ciede2000(_lab(toon[iris]), iris_lab[None])
        assert (de < 10).sum() >= 2, (side, np.sort(de)[:5])
        pupil = _lab(toon[eye & pv.mask("pupils")])
        assert len(pupil) and pupil[:, 0].min() < 30, (side, pupil[:, 0])  # a dark pupil
        shine = _lab(toon[eye & pv.mask("eye_highlights")])
        white = (shine[:, 0] > 90) & (np.hypot(shine[:, 1], shine[:, 2]) < 8)
        assert white.sum() >= 1, (side, shine)  # a near-white highlight


def _chin_y(body) -> float:
    """The chin on the mesh: going down the face's centre line from the mouth, where the frontmost
    skin jumps back (the ray leaves the jaw and meets the neck)."""
    d = body.layout.dims
    surf = face.FaceSurface(body)
    ys = np.linspace(d["crown"] - 0.86 * d["h"], d["neck_y"], 400)
    zf = surf.mesh_z(np.zeros_like(ys), ys)
    k = np.flatnonzero(np.diff(zf) < -0.05 * d["D"])[0]
    return float(ys[k])


def _eye_to_face(character) -> float:
    """(lash line top to the eye white's bottom) / (chin to hairline), both on the mesh."""
    d = character.body.layout.dims
    cap = character.part("hair_cap").vertices
    front = cap[(np.abs(cap[:, 0]) < 0.05 * d["W"]) & (cap[:, 2] > d["head_z"])]
    hairline = float(front[:, 1].min())
    lash, white = character.part("lashes").vertices, character.part("eye_whites").vertices
    eye = lash[lash[:, 0] > 0, 1].max() - white[white[:, 0] > 0, 1].min()
    return float(eye / (hairline - _chin_y(character.body)))


def test_eye_height_is_a_fifth_of_the_face_on_the_mesh(girl):
    assert _chin_y(girl.body) == pytest.approx(girl.body.layout.dims["chin"], abs=0.002)
    assert _eye_to_face(girl) >= 0.25


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["chibi", "child", "teen-boy", "adult-woman", "adult-man"])
def test_eye_to_face_ratio_of_the_presets(preset):
    spec = parse_prompt("an anime character with long hair", seed=0)
    assert _eye_to_face(_character(spec, build_body(preset))) >= 0.2


def _iris_pixels(girl, morphs=None, size=1024) -> list[int]:
    pv = front_preview(girl, None, size, morphs=morphs)
    return [int((eye & pv.mask("irises")).sum()) for eye in _eyes(pv)]


def test_blink_hides_the_iris(girl):
    open_ = _iris_pixels(girl)
    assert min(open_) > 150
    shut = _iris_pixels(girl, {"blink": 1.0})
    assert all(s < 0.1 * o for s, o in zip(shut, open_)), (shut, open_)
    right, left = _iris_pixels(girl, {"blinkLeft": 1.0})  # the character's left eye: screen right
    assert left < 0.1 * open_[1] and right > 0.9 * open_[0], (right, left, open_)
    half = _iris_pixels(girl, {"blink": 0.5})
    assert all(0.1 * o < h < 0.9 * o for h, o in zip(half, open_)), (half, open_)


def test_eye_colour_words_change_the_iris(girl):
    hues = {}
    for word in ("green", "red", "violet"):
        spec = parse_prompt(f"an anime girl with long black hair and {word} eyes", seed=0)
        assert spec.eye_colour.name == word
        others = [p for p in girl.parts if p.kind != "face"]
        c = Character(spec, girl.body, others[:1] + face.build_face(spec, girl.body)[0] + others[1:], girl.extra_bones)
        pv = front_preview(c, None, 256)
        px = pv.toon[..., :3][pv.mask("irises")].reshape(-1, 1, 3) / 255.0
        hsv = rgb2hsv(px).reshape(-1, 3)
        hsv = hsv[hsv[:, 1] > 0.25]  # coloured pixels (not the rim's dark shade)
        hues[word] = np.degrees(np.angle(np.mean(np.exp(2j * np.pi * hsv[:, 0])))) % 360
    assert 90 < hues["green"] < 170, hues
    assert min(hues["red"], 360 - hues["red"]) < 25, hues
    assert 250 < hues["violet"] < 300, hues
    for word, colour in (("hazel", "khaki"), ("sapphire", "blue"), ("aquamarine", "aqua")):  # eye words
        assert parse_prompt(f"a girl with {word} eyes", seed=0).eye_colour.name == colour, word


def test_every_feature_is_its_own_closed_part_in_front_of_the_skin(girl):
    names = [p.name for p in girl.parts if p.kind == "face"]
    assert names == list(face.FEATURE_PARTS)
    from scipy.spatial import cKDTree

    body = girl.body
    tri = body.vertices[body.faces].astype(np.float64)
    tri = tri[tri[:, :, 2].max(1) > body.layout.dims["head_z"]]  # the front half of the body
    tree = cKDTree(tri.mean(1)[:, :2])
    for name in names:
        p = girl.part(name)
        assert p.material.name == name and p.material.outline_width == 0.0
        # no skin pokes through: along -z the part is hit before the body mesh
        pts = p.vertices[::5].astype(np.float64)
        _, near = tree.query(pts[:, :2], k=40)
        skin = [front_hit_z(tri[cand], q[:2]) for q, cand in zip(pts, near)]
        assert sum(z is not None for z in skin) > 0.95 * len(pts), name  # skin found under the part
        for q, z in zip(pts, skin):
            assert z is None or q[2] > z - 1e-6, (name, q, z)


def test_face_landmarks_outline_the_drawn_eye(girl):
    from kyara.body.anchors import face_template

    layout = girl.body.layout
    d = layout.dims
    es = layout.params.eye_size * d["h"]
    ex = 0.21 * d["W"]
    tmpl = face_template(layout)
    for first, sx in ((36, -1.0), (42, 1.0)):
        pts = tmpl[first:first + 6]
        t = (pts[:, 0] - sx * ex) * sx / (face_eyes.HALF_WIDTH * es)  # towards the outer corner
        v = (pts[:, 1] - d["eye_y"]) / es
        corner = np.abs(np.abs(t) - 1) < 1e-9
        top = ~corner & (v > 0)
        bottom = ~corner & (v < 0)
        assert corner.sum() == 2 and top.sum() == 2 and bottom.sum() == 2
        np.testing.assert_allclose(v[top], face_eyes.upper_edge(t[top]), atol=1e-3)
        np.testing.assert_allclose(v[bottom], face_eyes.lower_edge(t[bottom]), atol=1e-3)
        mid = 0.5 * (face_eyes.upper_edge(t[corner]) + face_eyes.lower_edge(t[corner]))
        np.testing.assert_allclose(v[corner], mid, atol=1e-3)
    pupils = girl.part("pupils").vertices
    for k, sx in ((68, -1.0), (69, 1.0)):
        mine = pupils[np.sign(pupils[:, 0]) == sx, :2].mean(0)
        np.testing.assert_allclose(tmpl[k], mine, atol=0.05 * es)


def test_head_box_holds_the_face(girl, preview):
    pv = preview
    x0, y0, x1, y1 = head_box(girl, pv)
    ys, xs = np.nonzero(pv.mask("eye_whites") | pv.mask("mouth") | pv.mask("brows"))
    assert x0 < xs.min() and xs.max() < x1 and y0 < ys.min() and ys.max() < y1
    assert 25 < x1 - x0 < 120  # about a head and a half at 256 px
