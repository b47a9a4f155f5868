"""Garment vertices pushed out of the posed body (kyara.character.collide), against analytic spheres."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from kyara.character.collide import push_out_of_body


def _sphere(radius=0.1, center=(0.0, 0.0, 0.0)):
    m = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    return np.asarray(m.vertices) + center, np.asarray(m.faces)


def _directions(n, seed=0):
    d = np.random.default_rng(seed).normal(size=(n, 3))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def test_inside_points_leave_radially_at_their_rest_layer_and_outside_points_stay():
    v, f = _sphere()
    d = _directions(200)
    radius = np.where(np.arange(200) % 2 == 0, 0.06, 0.13)  # even: inside, odd: outside
    pts = d * radius[:, None]
    rest = d * 0.105  # 5 mm above the skin at rest
    out, moved = push_out_of_body(v, f, pts, v, rest)
    inside = radius < 0.1
    assert np.array_equal(moved, inside)
    assert np.array_equal(out[~inside], pts[~inside])  # untouched, bit for bit
    r = np.linalg.norm(out[inside], axis=1)
    assert np.all(np.abs(r - 0.105) < 3e-4), (r.min(), r.max())  # the rest layer (faceted sphere)
    cos = np.einsum("ij,ij->i", out[inside] / r[:, None], d[inside])
    assert np.all(cos > np.cos(np.radians(2.0)))  # straight out along the normal


def test_without_rest_arrays_points_land_at_the_clearance():
    v, f = _sphere()
    d = _directions(50, seed=1)
    out, moved = push_out_of_body(v, f, d * 0.03, clearance=0.004)
    assert moved.all()
    assert np.all(np.abs(np.linalg.norm(out, axis=1) - 0.104) < 3e-4)


def test_a_point_in_overlapping_parts_leaves_through_its_own_part_not_the_buried_surface():
    # two overlapping spheres as one self-intersecting mesh (skinned limbs pressed together)
    va, fa = _sphere()
    vb, fb = _sphere(center=(0.15, 0.0, 0.0))
    v, f = np.concatenate([va, vb]), np.concatenate([fa, fb + len(va)])
    p = np.array([[0.04, 0.05, 0.0]])  # in A only; B's buried surface (0.021 m) is nearer than A's (0.036 m)
    out, moved = push_out_of_body(v, f, p, clearance=0.002)
    assert moved.all()
    expect = p[0] / np.linalg.norm(p[0]) * 0.102  # A's surface along the radius, plus clearance
    assert np.linalg.norm(out[0] - expect) < 2e-3, out  # (flat facets ~8 mm wide; the buried exit is 30 mm off)
    assert np.linalg.norm(out[0] - vb.mean(axis=0)) > 0.1  # and not inside B either
    assert not trimesh.Trimesh(v, f, process=False).contains(out).any()


def test_bad_input_is_refused():
    v, f = _sphere()
    with pytest.raises(ValueError, match="must be \\[N, 3\\]"):
        push_out_of_body(v, f, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="clearance"):
        push_out_of_body(v, f, np.zeros((4, 3)), clearance=0.0)
    out, moved = push_out_of_body(v, f, np.zeros((0, 3)))
    assert out.shape == (0, 3) and moved.shape == (0,)
