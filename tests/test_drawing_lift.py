"""kyara.drawing steps 3-5: the lifted mesh, its colours and line style, skin weights, T-pose, and
the character lift() returns (no GL)."""

from __future__ import annotations

import numpy as np
import pytest

from drawing_figures import figure

OFF = {"skeleton": None}


@pytest.fixture(scope="module")
def lifted():
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.skeleton import SkeletonConfig

    f = figure(256, fill=(0.95, 0.75, 0.6))
    return f, lift(f.rgb, config=LiftConfig(skeleton=SkeletonConfig(detector="none")))


@pytest.fixture(scope="module")
def real():
    from kyara.detect.drawings import load_drawing
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.skeleton import SkeletonConfig

    d = load_drawing("tests/data/drawings/animated-drawings/char2")
    return d, lift(d.rgb, mask=d.mask, config=LiftConfig(skeleton=SkeletonConfig(detector="none")))


def edge_counts(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(undirected edge -> faces using it, directed edge -> how many times) counts."""
    e = faces[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2)
    _, und = np.unique(np.sort(e, axis=1), axis=0, return_counts=True)
    _, dirc = np.unique(e, axis=0, return_counts=True)
    return und, dirc


def signed_volume(v: np.ndarray, f: np.ndarray, origin=None) -> float:
    o = np.zeros(3) if origin is None else np.asarray(origin)
    a, b, c = (v[f[:, i]].astype(np.float64) - o for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _check_closed_and_unfolded(inf):
    f = inf.faces
    und, dirc = edge_counts(f)
    assert (und == 2).all(), "every edge is shared by exactly two faces (closed 2-manifold)"
    assert (dirc == 1).all(), "every directed edge once: consistently oriented"
    assert signed_volume(inf.vertices, f) > 0, "outward (counter-clockwise) winding"
    v = inf.vertices
    # no self-intersection: the front is a graph over the drawing plane (every front triangle turns
    # the same way seen from +Z), the back its mirror, the front never behind the back, the rim at Z = 0
    a, b, c = (v[f[:, i], :2] for i in range(3))
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    side = inf.side[f]
    front = (side == 0).any(axis=1)
    back = (side == 1).any(axis=1)
    assert not (front & back).any()
    assert (area[front] > 0).all() and (area[back] < 0).all()
    assert np.allclose(v[inf.side == 2, 2], 0.0)
    assert (v[inf.side == 0, 2] > 0).all() and (v[inf.side == 1, 2] < 0).all()
    n_in = int((inf.side == 0).sum())
    assert np.allclose(v[inf.side == 0, :2], v[inf.side == 1, :2]) and n_in == int((inf.side == 1).sum())


def test_the_lifted_mesh_is_closed_oriented_and_free_of_self_intersections(lifted, real):
    for _, ch in (lifted, real):
        _check_closed_and_unfolded(ch.spec.inflated)
        p = ch.parts[0]
        und, dirc = edge_counts(p.faces)
        assert (und == 2).all() and (dirc == 1).all()  # the T-posed mesh too
        assert signed_volume(p.vertices, p.faces) > 0


def test_inflation_is_round_a_tube_as_deep_as_wide():
    """A long strip of half-width r inflates to a half-disc of radius r (the square-root profile of
    the Poisson height): the mid-line stands r high, the quarter-line sqrt(3)/2 r."""
    from types import SimpleNamespace

    from kyara.drawing.inflate import InflateConfig, inflate

    m = np.zeros((300, 300), bool)
    m[120:180, 20:280] = True  # half-width 30 px
    kp = np.zeros((18, 3))
    skel = SimpleNamespace(joint=lambda n: {"nose": np.array([150.0, 100.0]), "neck": np.array([150.0, 110.0])}.get(
        n, np.array([150.0, 150.0])), pelvis=np.array([150.0, 150.0]), keypoints=kp)
    inf = inflate(m, skel, InflateConfig(grid=200, depth=(("torso", 1.0), ("head", 1.0)), smooth=0), height_m=1.0)
    px = inf.pixels
    mid = (inf.side == 0) & (np.abs(px[:, 0] - 150) < 40)
    r_m = 30 * inf.metres_per_pixel
    centre = mid & (np.abs(px[:, 1] - 149.5) < 1.0)
    quarter = mid & (np.abs(px[:, 1] - 134.5) < 1.0)
    assert abs(np.median(inf.vertices[centre, 2]) / r_m - 1.0) < 0.06
    assert abs(np.median(inf.vertices[quarter, 2]) / r_m - np.sqrt(0.75)) < 0.08


def test_skin_weights_four_influences_summing_to_one_and_smooth(lifted, real):
    for _, ch in (lifted, real):
        p = ch.parts[0]
        assert p.joint_indices.shape[1] == 4 and p.joint_weights.shape[1] == 4
        assert np.allclose(p.joint_weights.sum(axis=1), 1.0, atol=1e-5)
        assert (p.joint_weights >= 0).all()
        from kyara.pose.lbs import sparse_to_dense_weights

        dense = sparse_to_dense_weights(p.joint_indices, p.joint_weights, 55)
        e = np.unique(np.sort(p.faces[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2), axis=1), axis=0)
        jump = np.abs(dense[e[:, 0]] - dense[e[:, 1]]).max(axis=1)
        assert jump.max() < 0.5, jump.max()
        # every limb bone carries weight
        used = set(np.unique(p.joint_indices[p.joint_weights > 0.5]).tolist())
        from kyara.body.skeleton import BONE_INDEX

        for b in ("head", "leftUpperArm", "leftLowerArm", "rightUpperArm", "rightLowerArm", "leftUpperLeg",
                  "leftLowerLeg", "rightUpperLeg", "rightLowerLeg"):
            assert BONE_INDEX[b] in used, b


def test_an_elbow_bent_90_degrees_keeps_its_volume(lifted):
    """The arm (upper arm, forearm, hand region) keeps >= 80 % of its volume with the elbow at 90 deg."""
    from kyara.body.skeleton import BONE_INDEX
    from kyara.pose.pose import Pose
    from kyara.pose.rotations import axis_angle_to_matrix, matrix_to_quat

    _, ch = lifted
    p = ch.parts[0]
    arm = [BONE_INDEX[b] for b in ("leftUpperArm", "leftLowerArm", "leftHand")]
    dom = p.joint_indices[np.arange(len(p.vertices)), np.argmax(p.joint_weights, axis=1)]
    on = np.isin(dom, arm)
    faces = p.faces[on[p.faces].all(axis=1)]
    shoulder = ch.body.rest_joints[BONE_INDEX["leftUpperArm"]]
    rest = abs(signed_volume(p.vertices, faces, shoulder))
    rot = np.tile(np.eye(3), (55, 1, 1))
    rot[BONE_INDEX["leftLowerArm"]] = axis_angle_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    bent, joints = ch.pose_vertices(matrix_to_quat(rot)[None], np.zeros((1, 3)))
    moved = np.linalg.norm(joints[0, BONE_INDEX["leftHand"]] - ch.body.rest_joints[BONE_INDEX["leftHand"]])
    assert moved > 0.05  # the hand really went somewhere
    kept = abs(signed_volume(bent[0], faces, shoulder)) / rest
    assert kept >= 0.8, kept
    assert isinstance(Pose(), Pose)


def test_the_drawn_pose_is_baked_to_a_t_pose_on_the_floor(lifted, real):
    from kyara.body.skeleton import BONE_INDEX

    for _, ch in (lifted, real):
        J = ch.body.rest_joints

        def direction(a, b):
            d = J[BONE_INDEX[b]] - J[BONE_INDEX[a]]
            return d / np.linalg.norm(d)

        for s, x in (("left", 1.0), ("right", -1.0)):
            assert np.allclose(direction(f"{s}UpperArm", f"{s}LowerArm"), [x, 0, 0], atol=1e-6)
            assert np.allclose(direction(f"{s}LowerArm", f"{s}Hand"), [x, 0, 0], atol=1e-6)
            assert np.allclose(direction(f"{s}UpperLeg", f"{s}LowerLeg"), [0, -1, 0], atol=1e-6)
        assert abs(float(ch.parts[0].vertices[:, 1].min())) < 1e-6
        assert J[BONE_INDEX["head"], 1] > J[BONE_INDEX["neck"], 1] > J[BONE_INDEX["hips"], 1]


def _silhouette(points_xy: np.ndarray, faces: np.ndarray, lo, scale, shape) -> np.ndarray:
    import cv2

    img = np.zeros(shape, np.uint8)
    px = np.rint((points_xy - lo) * scale * 16).astype(np.int32)  # 4 bits of sub-pixel precision
    for tri in px[faces]:
        cv2.fillConvexPoly(img, tri, 1, lineType=cv2.LINE_8, shift=4)
    return img > 0


def test_the_drawn_pose_reproduces_the_drawing_silhouette(lifted, real):
    """Posed back into the drawn pose, the T-posed character's front silhouette is the drawing's."""
    from kyara.detect.metrics import mask_iou

    for fig, ch in (lifted, real):
        info = ch.spec
        verts, _ = ch.pose_vertices(info.drawn_pose().rotations[None], info.drawn_pose().translation[None])
        inf = info.inflated
        xy = np.asarray(verts[0], np.float64)[:, :2]
        # world -> drawing pixels (x right, y down) with the lift's own scale
        px = np.stack([xy[:, 0] / inf.metres_per_pixel + inf.centre_px, inf.floor_px - xy[:, 1] / inf.metres_per_pixel], 1)
        sil = _silhouette(px, ch.parts[0].faces, np.zeros(2), 1.0, fig.mask.shape)
        assert mask_iou(sil, info.mask) >= 0.85, mask_iou(sil, info.mask)


def test_line_style_and_colours_come_from_the_drawing(lifted):
    from kyara.drawing.texture import measure_strokes

    f, ch = lifted
    line = ch.spec.line
    assert 2.0 <= line.width_px <= 4.5  # the figure's outline is 3 px
    assert np.allclose(line.ink, (0.1, 0.1, 0.35), atol=0.06)
    p = ch.parts[0]
    side = ch.spec.inflated.side
    # the body's fill reaches the front and the back; the outline band is not painted on the rim
    fill = np.array([0.95, 0.75, 0.6])
    for s in (0, 1):
        assert np.median(np.abs(p.colors[side == s] - fill).max(axis=1)) < 0.05
    assert np.median(np.abs(p.colors[side == 2] - fill).max(axis=1)) < 0.1
    # eyes (dots at (120, 50) and (136, 50)): dark on the front of the head, not on its back
    px = ch.spec.inflated.pixels
    eyes = (np.hypot(px[:, 0] - 120, px[:, 1] - 50) < 3) | (np.hypot(px[:, 0] - 136, px[:, 1] - 50) < 3)
    luma = lambda s: float(p.colors[eyes & (side == s)].mean())  # noqa: E731
    assert luma(0) < luma(1) - 0.15, (luma(0), luma(1))
    assert abs(luma(1) - float(fill.mean())) < 0.05
    flat = measure_strokes(np.full((128, 128, 3), 200, np.uint8), np.ones((128, 128), bool))
    assert flat.width_px == 1.0  # no strokes: a thin default line


def test_lift_returns_a_character_the_rest_of_kyara_takes(lifted):
    from kyara.avatar import character_body
    from kyara.character.model import Character

    _, ch = lifted
    assert isinstance(ch, Character)
    assert ch.spec.joints_source == "medial axis" and ch.spec.mask_source == "paper"
    body = character_body(ch)
    assert body.num_vertices == len(ch.parts[0].vertices) + 5  # + the face anchors
    assert 1.3 < float(body.layout.dims["H"]) < 1.7
    assert ch.parts[0].material.outline_width > 0
    assert set(ch.spec.seconds) >= {"mask", "skeleton", "inflate", "texture", "rig"}


def test_lift_refuses_bad_config_and_images():
    from kyara.drawing import LiftConfig, lift

    with pytest.raises(ValueError, match="height"):
        LiftConfig(height=0.0)
    with pytest.raises(ValueError, match="expected kyara.drawing.LiftConfig"):
        lift(figure(256).rgb, config={"height": 1.0})
    with pytest.raises(ValueError, match="at least 64 pixels"):
        lift(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(FileNotFoundError):
        lift("no-such-drawing.png")


def test_a_head_drawn_below_the_shoulders_gets_an_upright_head_bone():
    """Shoulders drawn above the head's centre (a shrug): the head's pixels stay on the head bone, and
    the bone stands upright above the neck, so motions turn the head about its own neck."""
    from kyara.body.skeleton import BONE_INDEX
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.skeleton import SkeletonConfig

    from drawing_figures import figure_keypoints

    f = figure(256)
    kp = figure_keypoints(256)
    kp[1, 1] = kp[2, 1] = kp[5, 1] = 42.0  # neck and shoulders above the nose (y 58)
    c = lift(f.rgb, joints=kp, config=LiftConfig(skeleton=SkeletonConfig(detector="none")))
    J = c.body.rest_joints
    head, neck = J[BONE_INDEX["head"]], J[BONE_INDEX["neck"]]
    assert head[1] > neck[1] and abs(head[0] - neck[0]) < 1e-6
    assert any("below" in n and "head" in n for n in c.spec.notes)
    und, dirc = edge_counts(c.parts[0].faces)
    assert (und == 2).all() and (dirc == 1).all()
