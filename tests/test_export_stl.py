"""Printable STL: one watertight solid at the requested height, faithful to the posed character."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from test_export_common import acceptance_character, synthetic_character

from kyara.export import ExportOptions, PrintOptions, export_character
from kyara.export.stl import (connected_shells, printable_solid, separate_coincident_vertices, stl_bytes,
                              surface_deviation, thicken_shell, wall_thickness)
from kyara.pose.presets import get_pose


@pytest.fixture(scope="module")
def character():
    return synthetic_character()


@pytest.fixture(scope="module")
def jog(character):
    return printable_solid(character, get_pose("jog", character.body.params), PrintOptions(height_mm=150.0))


def _check_stl_file(path, n_faces: int) -> trimesh.Trimesh:
    from stl import mesh as numpy_stl

    m = trimesh.load(path, file_type="stl")  # merges vertices by position, as slicers do
    assert m.is_watertight and m.is_winding_consistent and m.is_volume
    assert len(m.faces) == n_faces
    assert len(numpy_stl.Mesh.from_file(str(path)).vectors) == n_faces  # a second reader agrees
    return m


def test_stl_is_one_watertight_solid_at_the_requested_height(character, jog, tmp_path):
    path = tmp_path / "fig.stl"
    path.write_bytes(stl_bytes(jog.vertices, jog.faces))
    m = _check_stl_file(path, len(jog.faces))
    lo, hi = m.bounds
    assert lo[2] == pytest.approx(0.0, abs=1e-4) and hi[2] == pytest.approx(150.0, abs=1e-3)
    assert m.volume == pytest.approx(jog.volume_mm3, rel=1e-4)
    assert len(m.split(only_watertight=False)) == 1  # body, parts and base are one solid
    assert jog.components == 1 and len(jog.struts) >= 1  # the floating synthetic parts got struts


def test_volume_matches_an_independent_inside_test(character, jog):
    """Monte-Carlo volume of 'inside any posed shell or the base' vs the union's volume."""
    rng = np.random.default_rng(0)
    lo, hi = jog.vertices.min(axis=0), jog.vertices.max(axis=0)
    pts = rng.uniform(lo, hi, size=(60000, 3))
    inside = np.zeros(len(pts), bool)
    for v, f in jog.shells:
        m = trimesh.Trimesh(v, f, process=False)
        box = np.all((pts >= v.min(axis=0)) & (pts <= v.max(axis=0)), axis=1)
        inside[box] |= m.contains(pts[box])
    disc = trimesh.Trimesh(jog.vertices, jog.faces, process=False)
    in_base = pts[:, 2] <= jog.base_top_mm
    inside[in_base] = disc.contains(pts[in_base])  # the base disc: take the solid's own answer there
    est = inside.mean() * np.prod(hi - lo)
    sigma = np.sqrt(inside.mean() * (1 - inside.mean()) / len(pts)) * np.prod(hi - lo)
    assert abs(est - jog.volume_mm3) < 4 * sigma + 0.01 * jog.volume_mm3


def test_hausdorff_to_posed_character_below_half_a_millimetre(jog):
    a, b = surface_deviation(jog, samples=6000)
    assert a <= 0.5 and b <= 0.5, (a, b)


def test_scale_and_frame(character, jog):
    # the posed character's height in metres maps onto 150 mm minus the part below the base top
    verts, _ = character.pose(get_pose("jog", character.body.params))
    h = verts[:, 1].max() - verts[:, 1].min()
    assert jog.scale == pytest.approx((150.0 - (3.0 - 0.3)) / h, rel=1e-6)
    # Z up: the head is at the top; the character faces -Y (the nose tip is at the front)
    top = jog.vertices[np.argmax(jog.vertices[:, 2])]
    assert abs(top[0]) < 30
    no_base = printable_solid(character, None, PrintOptions(height_mm=80.0, base=False))
    lo, hi = no_base.vertices.min(axis=0), no_base.vertices.max(axis=0)
    assert lo[2] == pytest.approx(0.0, abs=1e-4) and hi[2] == pytest.approx(80.0, abs=1e-4)
    eyelids = no_base.shells[1][0]  # on the face, in front of the head
    assert eyelids[:, 1].mean() < no_base.vertices[:, 1].mean()


def test_thin_shell_is_thickened_to_min_wall():
    box = trimesh.creation.box(extents=(20.0, 20.0, 0.4))
    sub = box.subdivide().subdivide()
    v, f = np.asarray(sub.vertices), np.asarray(sub.faces)
    from kyara.export.gltf import vertex_normals

    t0 = wall_thickness(v, f, vertex_normals(v, f).astype(np.float64))
    assert np.median(t0[np.isfinite(t0)]) == pytest.approx(0.4, abs=0.05)
    v2, push = thicken_shell(v, f, 1.2)
    assert push.max() > 0.3
    assert np.ptp(v2[:, 2]) >= 1.15  # the plate is now at least ~1.2 mm thick
    # a thick shell is left alone
    cube = trimesh.creation.box(extents=(5.0, 5.0, 5.0))
    v3, push3 = thicken_shell(np.asarray(cube.vertices), np.asarray(cube.faces), 1.2)
    assert push3.max() == 0 and np.array_equal(v3, cube.vertices)


def test_components_and_coincident_vertices():
    a = trimesh.creation.box(extents=(1, 1, 1))
    b = trimesh.creation.box(extents=(1, 1, 1))
    b.apply_translation((1.0, 1.0, 0.0))  # the two cubes share an edge: pinched in the STL sense
    v = np.concatenate([a.vertices, b.vertices])
    f = np.concatenate([a.faces, b.faces + len(a.vertices)])
    assert [len(g) for g in connected_shells(f, len(v))] == [12, 12]
    v2 = separate_coincident_vertices(v, f)
    assert len(np.unique(v2.astype(np.float32), axis=0)) == len(v)
    assert np.abs(v2 - v).max() <= 2.1e-3


def test_export_character_stl_reports_thickening(character, tmp_path):
    res = export_character(character, "stl", tmp_path / "fig.stl", ExportOptions(pose="wave", print=PrintOptions(height_mm=120)))
    m = _check_stl_file(res.path, res.stats["triangles"])
    assert m.bounds[1][2] == pytest.approx(120.0, abs=1e-3)
    assert res.stats["thickened"] and any("thickened" in w for w in res.warnings)


@pytest.mark.slow
def test_real_character_stl(tmp_path):
    c = acceptance_character("an anime girl in a kimono")
    res = printable_solid(c, get_pose("jog", c.body.params))
    path = tmp_path / "kimono.stl"
    path.write_bytes(stl_bytes(res.vertices, res.faces))
    m = _check_stl_file(path, len(res.faces))
    assert m.bounds[1][2] == pytest.approx(150.0, abs=1e-3)
    a, b = surface_deviation(res, samples=6000)
    assert a <= 0.5 and b <= 0.5, (a, b)
