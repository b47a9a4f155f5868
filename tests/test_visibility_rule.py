"""Which OpenPose keypoints a view shows: hidden only when a *different* body part covers them.

Primitive scenes with known answers (boxes per body segment, garment and hair sheets), the fast
test against its ray-casting reference, real avatars (the OpenPose-shaped rig, a generated
character, its VRM re-imported), and the re-imported avatar's eyes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kyara.pose.keypoints import SEGMENT_INDEX, keypoint_own_segments
from kyara.render.camera import orthographic, perspective
from kyara.render.visibility import segment_visibility, segment_visibility_reference

SHARED_VRM = Path(__file__).resolve().parents[2] / "shared" / "vrm"
RIG = SHARED_VRM / "openpose_rig_avatar.vrm"
PROMPT = "an anime girl with blue eyes in a school uniform"

# COCO-18 indices used below
NOSE, R_SHOULDER, L_SHOULDER, L_ELBOW, R_HIP, R_EAR, L_EAR = 0, 2, 5, 6, 8, 16, 17


# -- primitive scenes ------------------------------------------------------------------------
def _box(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned box: vertices [8, 3], outward triangles [12, 3]."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    f = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return v, np.array(f)


def _scene(*boxes: tuple[str | None, tuple, tuple]):
    """Boxes ``(segment name or None for a garment/hair sheet, lo, hi)`` -> (vertices, faces, face segments)."""
    vs, fs, seg = [], [], []
    for name, lo, hi in boxes:
        v, f = _box(lo, hi)
        fs.append(f + sum(len(x) for x in vs))
        vs.append(v)
        seg.append(np.full(len(f), -1 if name is None else SEGMENT_INDEX[name]))
    return np.concatenate(vs), np.concatenate(fs), np.concatenate(seg)


# a small figure facing +Z: torso, head, left arm along +X at shoulder height
TORSO = ("torso", (-0.15, 0.9, -0.1), (0.15, 1.4, 0.1))
HEAD = ("head", (-0.08, 1.45, -0.09), (0.08, 1.65, 0.09))
L_UPPER_ARM = ("leftUpperArm", (0.15, 1.34, -0.04), (0.45, 1.42, 0.04))
L_FOREARM = ("leftLowerArm", (0.45, 1.345, -0.035), (0.7, 1.415, 0.035))
POINTS = {NOSE: (0.0, 1.55, 0.095), R_SHOULDER: (-0.17, 1.38, 0.0), L_SHOULDER: (0.17, 1.38, 0.0),
          L_ELBOW: (0.45, 1.38, 0.0), R_HIP: (-0.08, 0.92, 0.0), R_EAR: (-0.085, 1.55, 0.0), L_EAR: (0.085, 1.55, 0.0)}
IDS = list(POINTS)
TOL = np.array([0.01 if i == NOSE else 0.024 if i in (R_EAR, L_EAR) else 0.002 for i in IDS])  # as occlusion_tolerances
FRONT = perspective((0.0, 1.3, 3.0), (0.0, 1.3, 0.0), size=(256, 256), fovy_deg=40)
SIDE = perspective((3.0, 1.3, 0.0), (0.0, 1.3, 0.0), size=(256, 256), fovy_deg=40)  # from the figure's left


def _visible(boxes, cam=FRONT) -> dict[int, bool]:
    """Fast and reference verdicts (asserted equal) per COCO index."""
    v, f, seg = _scene(*boxes)
    pts = np.array([POINTS[i] for i in IDS])
    own = keypoint_own_segments()[IDS]
    fast = segment_visibility(pts, [cam], v, f, seg, own, TOL)[0]
    ref = segment_visibility_reference(pts, [cam], v, f, seg, own, TOL)[0]
    assert np.array_equal(fast, ref), (fast, ref)
    return dict(zip(IDS, fast.tolist()))


def test_joints_inside_their_own_limbs_are_visible():
    vis = _visible([TORSO, HEAD, L_UPPER_ARM, L_FOREARM])
    # the shoulder sits inside torso and upper arm, the elbow inside upper arm and forearm, the hip
    # inside the torso: every surface in front of them is their own
    assert all(vis.values()), vis


def test_arm_across_the_chest_hides_the_far_shoulder_only():
    r_forearm = ("rightLowerArm", (-0.05, 1.33, 0.12), (0.25, 1.43, 0.2))  # in front of the chest
    vis = _visible([TORSO, HEAD, L_UPPER_ARM, r_forearm])
    assert not vis[L_SHOULDER]  # covered by another part
    assert vis[R_SHOULDER] and vis[L_ELBOW] and vis[NOSE]  # nothing of another part in front
    # the same box as the left upper arm (the shoulder's own segment) hides nothing
    own_box = ("leftUpperArm", r_forearm[1], r_forearm[2])
    assert _visible([TORSO, HEAD, L_UPPER_ARM, own_box])[L_SHOULDER]


def test_hand_in_front_of_the_hip_hides_it_a_thigh_does_not():
    front_of_hip = ((-0.14, 0.86, 0.12), (-0.02, 0.98, 0.2))
    assert not _visible([TORSO, ("rightHand", *front_of_hip)])[R_HIP]
    assert _visible([TORSO, ("rightUpperLeg", *front_of_hip)])[R_HIP]  # the hip's own thigh
    assert not _visible([TORSO, ("leftUpperLeg", *front_of_hip)])[R_HIP]  # the other thigh


def test_garment_and_hair_sheets_never_hide():
    coat = (None, (-0.3, 0.8, 0.11), (0.6, 1.5, 0.13))  # a sheet over the whole front
    fringe = (None, (-0.1, 1.45, 0.1), (0.1, 1.66, 0.11))  # hair over the face
    assert all(_visible([TORSO, HEAD, L_UPPER_ARM, L_FOREARM, coat, fringe]).values())
    # the same sheet as a body segment would hide what lies behind it (the label decides)
    body_sheet = ("rightHand", coat[1], coat[2])
    vis = _visible([TORSO, HEAD, L_UPPER_ARM, L_FOREARM, body_sheet])
    assert not (vis[L_SHOULDER] or vis[L_ELBOW] or vis[R_HIP])


def test_ears_the_head_hides_the_far_ear_in_a_side_view():
    boxes = [TORSO, HEAD, L_UPPER_ARM, L_FOREARM]
    front = _visible(boxes)
    assert front[L_EAR] and front[R_EAR]  # both drawn in a front view
    side = _visible(boxes, SIDE)
    assert side[L_EAR] and not side[R_EAR]  # the head is in front of the far ear by ~its width
    assert not side[R_SHOULDER]  # behind the left arm seen from the left


def test_fast_and_reference_agree_on_random_points_and_an_orthographic_camera():
    rng = np.random.default_rng(7)
    boxes = [TORSO, HEAD, L_UPPER_ARM, L_FOREARM, ("rightLowerArm", (-0.05, 1.33, 0.12), (0.25, 1.43, 0.2)),
             (None, (-0.3, 0.8, 0.21), (0.6, 1.5, 0.23))]
    v, f, seg = _scene(*boxes)
    pts = rng.uniform([-0.3, 0.85, -0.15], [0.75, 1.7, 0.25], size=(60, 3))
    own = keypoint_own_segments()[rng.integers(0, 130, 60)]
    tol = rng.uniform(0.0, 0.03, 60)
    cams = [FRONT, SIDE, perspective((-2.0, 2.5, -2.0), (0.2, 1.2, 0.0), size=(200, 160)),
            orthographic((0.5, 1.3, 3.0), (0.2, 1.3, 0.0), size=(128, 128), ortho_height=1.2)]
    fast = segment_visibility(pts, cams, v, f, seg, own, tol)
    ref = segment_visibility_reference(pts, cams, v, f, seg, own, tol)
    assert np.array_equal(fast, ref)
    assert 0.15 < fast.mean() < 0.85  # the scene hides some and shows some


def test_bad_inputs_name_the_value():
    v, f, seg = _scene(TORSO)
    own = keypoint_own_segments()[:2]
    pts = np.zeros((2, 3))
    with pytest.raises(ValueError, match="face_segments"):
        segment_visibility(pts, [FRONT], v, f, seg[:-1], own, 0.0)
    with pytest.raises(ValueError, match="own"):
        segment_visibility(pts, [FRONT], v, f, seg, own[:1], 0.0)
    with pytest.raises(ValueError, match="tolerance"):
        segment_visibility(pts, [FRONT], v, f, seg, own, -1.0)
    with pytest.raises(ValueError, match="faces"):
        segment_visibility(pts, [FRONT], v, f + 100, seg, own, 0.0)


# -- the kyara body: fast vs reference ------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("pose_name", ["t-pose", "jog", "arms-crossed", "sit"])
def test_fast_and_reference_agree_on_the_body(pose_name):
    from kyara.body.model import build_body
    from kyara.pose.keypoints import (body_keypoints, face_segments, occlusion_tolerances, vertex_segments,
                                      visible_keypoints)
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera

    body = build_body("teen-girl", target_faces=10000)
    pose = get_pose(pose_name, body.params)
    verts, _ = body.pose(pose)
    kp = body_keypoints(body, pose.rotations, pose.translation)
    cams = [pose_camera(verts, view, (256, 256)) for view in ("front", 30.0, "side", "back")]
    fast = visible_keypoints(body, kp, cams, verts)
    pick = np.r_[0:18, 18, 26, 38, 39, 47, 59, 60:130:7]  # body, a few hand and face points
    ref = segment_visibility_reference(kp.all()[pick], cams, verts, body.faces,
                                       face_segments(body.faces, vertex_segments(body)),
                                       keypoint_own_segments()[pick], occlusion_tolerances(body)[pick])
    assert np.array_equal(fast[:, pick], ref)


# -- real avatars -------------------------------------------------------------------------------
def _keypoints_2d(body, pose, cam, verts=None):
    from kyara.pose.keypoints import body_keypoints, project_keypoints, visible_keypoints

    v = body.pose(pose)[0] if verts is None else verts
    kp = body_keypoints(body, pose.rotations, pose.translation)
    return project_keypoints(kp, cam, visible_keypoints(body, kp, [cam], v)[0])


def test_openpose_rig_avatar_keeps_every_body_point_from_the_front():
    """The rig is 32 open, overlapping sphere/capsule meshes shaped like the OpenPose skeleton;
    the depth-buffer test kept 5 of its 18 body points (each joint sits inside its own limbs)."""
    from kyara.avatar import avatar_pose, character_body, load_character
    from kyara.pose.views import pose_camera

    if not RIG.is_file():
        pytest.skip(f"{RIG} is not there")
    body = character_body(load_character(RIG))
    for pose_name, want in (("t-pose", 18), ("stand", 18), ("jog", 18), ("wave", 18)):
        pose = avatar_pose(pose_name, body)
        verts, _ = body.pose(pose)
        k2 = _keypoints_2d(body, pose, pose_camera(verts, "front", (512, 512)), verts)
        assert int((k2.body[:, 2] > 0).sum()) == want, pose_name
    # seen from the left in a T-pose the right arm and leg are behind the left ones
    pose = avatar_pose("t-pose", body)
    verts, _ = body.pose(pose)
    side = _keypoints_2d(body, pose, pose_camera(verts, "side", (512, 512)), verts).body[:, 2] > 0
    assert side[[5, 6, 7, 11, 12, 13]].all() and not side[[3, 4, 9, 10]].any()


@pytest.fixture(scope="module")
def uniform(tmp_path_factory):
    """(character, its adapter, the same character exported to VRM 1.0 and re-imported, to VRM 0.x)."""
    from kyara.avatar import character_body, load_character
    from kyara.character.build import build_character
    from kyara.character.parser import parse_prompt
    from kyara.export import export_character

    ch = build_character(parse_prompt(PROMPT, seed=0))
    d = tmp_path_factory.mktemp("uniform")
    export_character(ch, "vrm", d / "avatar.vrm")
    export_character(ch, "vrm0", d / "avatar0.vrm")
    return (ch, character_body(ch), character_body(load_character(d / "avatar.vrm")),
            character_body(load_character(d / "avatar0.vrm")))


@pytest.mark.slow
def test_clothes_hide_no_joint_the_dressed_character_keeps_the_bare_body_points(uniform):
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera

    ch, dressed, _, _ = uniform
    assert {p.kind for p in ch.parts} >= {"hair", "garment"}
    for pose_name, view, at_least in (("jog", "front", 17), ("jog", 30.0, 17), ("t-pose", "front", 18),
                                      ("sit", "side", 11)):
        pose = get_pose(pose_name, ch.body.params)
        verts, _ = dressed.pose(pose)
        cam = pose_camera(verts, view, (512, 512))
        a = _keypoints_2d(dressed, pose, cam, verts)
        b = _keypoints_2d(ch.body, pose, cam)
        assert np.array_equal(a.body, b.body) and np.array_equal(a.hand_left, b.hand_left), (pose_name, view)
        assert int((a.body[:, 2] > 0).sum()) >= at_least, (pose_name, view)


@pytest.mark.slow
def test_reimported_avatar_gives_the_generated_characters_keypoints(uniform):
    from kyara.avatar import avatar_pose
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera

    ch, dressed, vrm1, vrm0 = uniform
    for again in (vrm1, vrm0):
        assert int((again.segments >= 0).sum()) == len(ch.body.vertices)  # the file says which mesh is the body
        for pose_name, view in (("jog", "front"), ("jog", 30.0), ("t-pose", "front"), ("sit", "side")):
            pose = get_pose(pose_name, ch.body.params)
            verts, _ = dressed.pose(pose)
            cam = pose_camera(verts, view, (512, 512))
            a = _keypoints_2d(dressed, pose, cam, verts).body
            b = _keypoints_2d(again, avatar_pose(pose_name, again), cam).body
            assert np.array_equal(a[:, 2], b[:, 2]), (pose_name, view)
            seen = a[:, 2] > 0
            assert np.abs(a[seen, :2] - b[seen, :2]).max() < 3.0, (pose_name, view)  # pixels at 512


@pytest.mark.slow
def test_reimported_avatar_keeps_its_eyes(uniform):
    """Eyes, brows and mouth have no ink outline (MToon ``outlineWidthMode: none``): the import
    keeps that per vertex, so the irises show instead of dark sockets."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    from kyara.avatar import avatar_pose
    from kyara.pose.keypoints import body_keypoints
    from kyara.pose.presets import get_pose
    from kyara.pose.views import pose_camera
    from kyara.render.maps import VertexAttrs, render_maps
    from kyara.render.toon import MapStyle, ToonStyle

    ch, dressed, vrm1, vrm0 = uniform
    pose = get_pose("stand", ch.body.params)
    verts, _ = dressed.pose(pose)
    cam = pose_camera(verts, "front", (512, 512))
    eyes = np.rint(cam.project(body_keypoints(ch.body, pose.rotations, pose.translation).body[[14, 15]])[0])

    def eye_pixels(body, v) -> np.ndarray:
        attrs = VertexAttrs(base_color=body.base_color, shade_color=body.shade_color, outline=body.outline)
        im = render_maps(v, body.faces, [cam], maps=("toon",), vertex_attrs=attrs,
                         style=MapStyle(toon=ToonStyle(background=(1.0, 1.0, 1.0))))["toon"][0][..., :3]
        return np.concatenate([im[y - 5:y + 6, x - 5:x + 6].reshape(-1, 3) for x, y in eyes.astype(int)]) / 255.0

    want = eye_pixels(dressed, verts)
    blue = lambda px: int((px[:, 2] > px[:, 0] + 0.15).sum())  # noqa: E731  iris pixels of the blue eyes
    assert blue(want) > 20
    for again in (vrm1, vrm0):
        assert not again.outline[again.segments < 0].all()  # some parts (eyes) draw no ink
        got = eye_pixels(again, again.pose(avatar_pose("stand", again))[0])
        de = deltaE_ciede2000(rgb2lab(want.mean(0)[None, None]), rgb2lab(got.mean(0)[None, None]))[0, 0]
        assert de < 2.0 and blue(got) >= 0.9 * blue(want)


def test_animation_conditions_of_the_rig_keep_every_body_point(tmp_path):
    """`kyara animate --conditions` uses the same rule: the OpenPose-shaped rig walking, seen from
    the front, keeps its 18 body points in every frame (the depth-buffer test kept 5)."""
    import json

    from kyara.cli.main import run

    if not RIG.is_file():
        pytest.skip(f"{RIG} is not there")
    cond = tmp_path / "cond"
    assert run(["animate", "--character", str(RIG), "--motion", "jog", "--fps", "6", "--size", "96",
                "-o", str(tmp_path / "jog.gif"), "--conditions", str(cond)]) == 0
    frames = sorted(cond.glob("*.json"))
    assert len(frames) >= 4
    counts = []
    for f in frames:
        body = json.loads(f.read_text())["people"][0]["pose_keypoints_2d"]
        counts.append(sum(1 for c in body[2::3] if c > 0))
    assert min(counts) == 18, counts
