"""Cameras: conventions, projection, framing, orbit sampling, view prompts, bad input."""

import numpy as np
import pytest

from kyara.render.camera import (Camera, OrbitConfig, look_at, orbit_direction, orthographic, perspective,
                                 sample_orbit_cameras, view_camera, view_prompt)

LO, HI = np.array([-0.8, 0.0, -0.15]), np.array([0.8, 1.6, 0.15])  # a T-posed body's box


def test_look_at_front_camera_conventions():
    cam = perspective((0, 1, 3), (0, 1, 0), size=(640, 480), fovy_deg=50)
    np.testing.assert_allclose(cam.position, [0, 1, 3], atol=1e-12)
    px, depth = cam.project(np.array([[0, 1, 0], [0.3, 1, 0], [0, 1.3, 0]]))
    np.testing.assert_allclose(px[0], [319.5, 239.5], atol=1e-9)  # target at the image centre
    np.testing.assert_allclose(depth, [3, 3, 3], atol=1e-12)
    assert px[1, 0] > px[0, 0]  # the character's left (+X) is image right from the front
    assert px[2, 1] < px[0, 1]  # up is smaller row


def test_intrinsics_extrinsics_match_project():
    rng = np.random.default_rng(0)
    cam = perspective((1.2, 1.5, 2.0), (0, 0.9, 0), size=(300, 200), fovy_deg=60)
    pts = rng.normal(size=(20, 3)) * 0.3 + [0, 0.9, 0]
    px, depth = cam.project(pts)
    cv = (cam.extrinsics @ np.c_[pts, np.ones(20)].T).T[:, :3]  # OpenCV camera frame, +Z forward
    np.testing.assert_allclose(cv[:, 2], depth, atol=1e-9)
    uvw = (cam.intrinsics @ cv.T).T
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], px, atol=1e-9)


def test_gl_projection_matches_project_pixels():
    for cam in (perspective((0.5, 1.0, 2.5), (0, 0.8, 0), size=(320, 240), fovy_deg=45),
                orthographic((0.5, 1.0, 2.5), (0, 0.8, 0), size=(320, 240), ortho_height=1.7)):
        pts = np.array([[0.1, 0.9, 0.2], [-0.3, 0.5, -0.1]])
        clip = (cam.gl_projection() @ cam.view @ np.c_[pts, np.ones(2)].T).T
        ndc = clip[:, :3] / clip[:, 3:]
        u = (ndc[:, 0] + 1) / 2 * cam.width - 0.5  # GL pixel centres at +0.5
        v = (1 - ndc[:, 1]) / 2 * cam.height - 0.5
        px, _ = cam.project(pts)
        np.testing.assert_allclose(px, np.c_[u, v], atol=1e-9)


def test_orbit_directions():
    np.testing.assert_allclose(orbit_direction(0.0, 0.0), [0, 0, 1], atol=1e-12)  # front: +Z
    np.testing.assert_allclose(orbit_direction(90.0, 0.0), [1, 0, 0], atol=1e-12)  # character's left
    np.testing.assert_allclose(orbit_direction(180.0, 0.0), [0, 0, -1], atol=1e-12)  # back
    np.testing.assert_allclose(orbit_direction(0.0, 90.0), [0, 1, 0], atol=1e-12)


@pytest.mark.parametrize("view", ["front", "side", "back", 30.0])
@pytest.mark.parametrize("ortho", [False, True])
def test_view_camera_frames_the_box(view, ortho):
    cam = view_camera(view, LO, HI, size=(256, 384), ortho=ortho)
    corners = np.array([[x, y, z] for x in (LO[0], HI[0]) for y in (LO[1], HI[1]) for z in (LO[2], HI[2])])
    px, depth = cam.project(corners)
    assert np.all(depth > cam.near)
    assert np.all((px[:, 0] >= -0.5) & (px[:, 0] <= cam.width - 0.5))
    assert np.all((px[:, 1] >= -0.5) & (px[:, 1] <= cam.height - 0.5))
    # tight: the box fills most of the limiting image dimension
    fill = max((px[:, 0].max() - px[:, 0].min()) / cam.width, (px[:, 1].max() - px[:, 1].min()) / cam.height)
    assert fill > 0.75


def test_view_camera_side_is_characters_left():
    cam = view_camera("side", LO, HI)
    assert cam.position[0] > 1.0 and abs(cam.position[2]) < 1e-9


def test_sample_orbit_cameras_seeded_and_in_range():
    a = sample_orbit_cameras(200, 7, LO, HI, size=(128, 128))
    b = sample_orbit_cameras(200, 7, LO, HI, size=(128, 128))
    c = sample_orbit_cameras(200, 8, LO, HI, size=(128, 128))
    np.testing.assert_array_equal(a.azimuth_deg, b.azimuth_deg)
    assert not np.allclose(a.azimuth_deg, c.azimuth_deg)
    cfg = OrbitConfig()
    assert np.all((a.elevation_deg >= -30) & (a.elevation_deg <= 30))
    fov = np.array([cam.fovy_deg for cam in a.cameras])
    assert np.all((fov >= 40) & (fov <= 70))
    height = HI[1] - LO[1]
    body = ~a.closeup
    assert np.all((a.distance[body] >= cfg.radius[0] * height) & (a.distance[body] <= cfg.radius[1] * height))
    assert 0.1 < a.closeup.mean() < 0.3  # ~20 % face close-ups
    for cam, tgt, az, el, d in zip(a.cameras, a.targets, a.azimuth_deg, a.elevation_deg, a.distance):
        np.testing.assert_allclose(cam.position, tgt + d * orbit_direction(az, el), atol=1e-9)
        assert abs(cam.project(tgt[None])[0][0] - 63.5).max() < 1e-6  # looks at its target


def test_view_prompt_sectors():
    assert view_prompt("a girl", 0) == "front view of a girl"
    assert view_prompt("a girl", 45) == "front view of a girl"
    assert view_prompt("a girl", -40) == "front view of a girl"
    assert view_prompt("a girl", 330) == "front view of a girl"
    assert view_prompt("a girl", 46) == "side view of a girl"
    assert view_prompt("a girl", 270) == "side view of a girl"
    assert view_prompt("a girl", 180) == "back view of a girl"
    assert view_prompt("a girl", 135) == "back view of a girl"
    assert view_prompt("a girl", 0, 60) == "overhead view of a girl"
    assert view_prompt("a girl", 180, 59) == "back view of a girl"


@pytest.mark.parametrize("kwargs, match", [
    (dict(width=0, height=10), "width"),
    (dict(width=10, height=-1), "height"),
    (dict(width=5000, height=10), "width"),
    (dict(width=10, height=10, fovy_deg=180.0), "fovy"),
    (dict(width=10, height=10, fovy_deg=0.0), "fovy"),
    (dict(width=10, height=10, near=1.0, far=0.5), "near"),
    (dict(width=10, height=10, projection="fisheye"), "projection"),
])
def test_bad_camera_raises(kwargs, match):
    kw = dict(view=np.eye(4))
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Camera(**kw)


def test_bad_inputs_raise_one_line():
    with pytest.raises(ValueError, match="equals target") as e:
        look_at((1, 2, 3), (1, 2, 3))
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="size"):
        perspective((0, 0, 1), (0, 0, 0), size=(512,))
    with pytest.raises(ValueError, match="view"):
        view_camera("top", LO, HI)
    with pytest.raises(ValueError, match="bounds"):
        view_camera("front", HI, LO)
    with pytest.raises(ValueError, match="face_closeup_prob"):
        sample_orbit_cameras(3, 0, LO, HI, config=OrbitConfig(face_closeup_prob=2.0))
    with pytest.raises(ValueError, match="points"):
        perspective((0, 0, 1), (0, 0, 0)).project(np.zeros((3, 2)))


def test_look_at_straight_down_is_defined():
    cam = Camera(64, 64, look_at((0, 3, 0), (0, 0, 0)))
    px, depth = cam.project(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.5]]))
    np.testing.assert_allclose(depth[0], 3.0)
    assert px[1, 1] > px[0, 1]  # the character's front (+Z) is at the image bottom


def test_turntable_cameras_frame_every_vertex_from_every_azimuth():
    """Every vertex of an off-centre, elongated cloud projects inside the image at every azimuth."""
    from kyara.render.camera import turntable_cameras

    rng = np.random.default_rng(0)
    v = rng.normal(size=(500, 3)) * np.array([0.6, 0.8, 0.1]) + np.array([0.3, 0.9, -0.2])
    cams = turntable_cameras(v, 12, 64)
    assert len(cams) == 12
    azimuths = set()
    for cam in cams:
        xy, depth = cam.project(v)
        assert (depth > 0).all() and (xy >= 0).all() and (xy <= 64).all()
        azimuths.add(tuple(np.round(cam.view[2, [0, 2]], 6)))  # the camera's viewing direction
    assert len(azimuths) == 12
