"""An arm drawn across the torso stays an arm (issue 20, item 3): it is found, inflated as its own part
in front of the torso and skinned to the arm's bones, so it moves on its own (no GL)."""

from __future__ import annotations

import numpy as np
import pytest

from drawing_figures import outline

# COCO-18 joints of the drawing below (256 x 256, x right, y down); its right arm (image left) runs
# from the shoulder down across the belly, the left arm is held out
CROSS_JOINTS = {
    "nose": (128, 56), "neck": (128, 84), "right_shoulder": (100, 90), "right_elbow": (116, 124),
    "right_wrist": (140, 132), "left_shoulder": (156, 90), "left_elbow": (186, 112), "left_wrist": (212, 132),
    "right_hip": (112, 152), "right_knee": (108, 192), "right_ankle": (104, 228),
    "left_hip": (144, 152), "left_knee": (148, 192), "left_ankle": (152, 228),
    "right_eye": (120, 48), "left_eye": (136, 48), "right_ear": (106, 52), "left_ear": (150, 52),
}
ORDER = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
         "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
         "right_eye", "left_eye", "right_ear", "left_ear")
ARM_BONES = ("rightUpperArm", "rightLowerArm", "rightHand")
TRUNK_BONES = ("hips", "spine", "chest", "upperChest")


def crossed_arm_drawing(fill=(0.95, 0.8, 0.65), sleeve=(0.45, 0.6, 0.9), ink=(0.1, 0.1, 0.3), stroke: int = 3):
    """(rgb ``[256, 256, 3]`` uint8, mask, arm mask, keypoints ``[18, 3]``): a torso rectangle, a head
    disc, legs, the left arm held out, and the right arm drawn diagonally across the torso in a
    sleeve of another colour, every shape outlined in ink."""
    import cv2

    J = CROSS_JOINTS
    body = np.zeros((256, 256), np.uint8)
    cv2.circle(body, (128, 50), 22, 255, -1)
    cv2.line(body, (128, 50), J["neck"], 255, 14)
    cv2.rectangle(body, (94, 84), (162, 156), 255, -1)
    cv2.line(body, J["left_shoulder"], J["left_elbow"], 255, 13)
    cv2.line(body, J["left_elbow"], J["left_wrist"], 255, 13)
    cv2.circle(body, J["left_wrist"], 9, 255, -1)
    for side in ("right", "left"):
        pts = [J[f"{side}_{n}"] for n in ("hip", "knee", "ankle")]
        for p, q in zip(pts, pts[1:]):
            cv2.line(body, p, q, 255, 17)
    arm = np.zeros((256, 256), np.uint8)
    cv2.line(arm, J["right_shoulder"], J["right_elbow"], 255, 13)
    cv2.line(arm, J["right_elbow"], J["right_wrist"], 255, 13)
    cv2.circle(arm, (146, 135), 8, 255, -1)  # the hand
    body, arm = body > 0, arm > 0
    img = np.ones((256, 256, 3)) * np.array([0.95, 0.94, 0.9])
    img[body] = fill
    img[outline(body, stroke)] = ink
    img[arm] = sleeve
    img[outline(arm, stroke)] = ink
    for ex in (-8, 8):  # eyes
        cv2.circle(img, (128 + ex, 48), 2, ink, -1)
    rgb = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    kp = np.array([[*J[n], 1.0] for n in ORDER], dtype=np.float64)
    return rgb, body | arm, arm, kp


# a figure in an A-line skirt, both arms hanging down against the skirt's sides (256 x 256)
SKIRT_JOINTS = {
    "nose": (128, 44), "neck": (128, 70), "right_shoulder": (106, 76), "right_elbow": (98, 118),
    "right_wrist": (90, 158), "left_shoulder": (150, 76), "left_elbow": (158, 118), "left_wrist": (166, 158),
    "right_hip": (116, 140), "right_knee": (116, 196), "right_ankle": (115, 232),
    "left_hip": (140, 140), "left_knee": (140, 196), "left_ankle": (141, 232),
    "right_eye": (120, 36), "left_eye": (136, 36), "right_ear": (108, 40), "left_ear": (148, 40),
}


def skirt_drawing(skin=(0.95, 0.8, 0.65), skirt=(0.85, 0.35, 0.4), ink=(0.1, 0.1, 0.3), stroke: int = 3):
    """(rgb, mask, arms mask, keypoints ``[18, 3]``): head, torso, an A-line skirt, legs below it, and
    both arms hanging down along the skirt, their forearms and hands touching it, all outlined."""
    import cv2

    J = SKIRT_JOINTS
    body = np.zeros((256, 256), np.uint8)
    cv2.circle(body, (128, 38), 20, 255, -1)
    cv2.line(body, (128, 38), J["neck"], 255, 14)
    cv2.fillPoly(body, [np.array([(104, 72), (152, 72), (144, 122), (112, 122)])], 255)
    for side in ("right", "left"):
        pts = [J[f"{side}_{n}"] for n in ("knee", "ankle")]
        cv2.line(body, pts[0], pts[1], 255, 14)
    skirt_m = np.zeros((256, 256), np.uint8)
    cv2.fillPoly(skirt_m, [np.array([(110, 118), (146, 118), (178, 196), (78, 196)])], 255)
    arms = np.zeros((256, 256), np.uint8)
    for side, hand in (("right", (87, 166)), ("left", (169, 166))):
        pts = [J[f"{side}_{n}"] for n in ("shoulder", "elbow", "wrist")]
        for p, q in zip(pts, pts[1:]):
            cv2.line(arms, p, q, 255, 13)
        cv2.circle(arms, hand, 8, 255, -1)
    body, skirt_m, arms = body > 0, skirt_m > 0, arms > 0
    img = np.ones((256, 256, 3)) * np.array([0.95, 0.94, 0.9])
    img[body] = skin
    img[outline(body, stroke)] = ink
    img[skirt_m] = skirt
    img[outline(skirt_m, stroke)] = ink
    img[arms] = skin
    img[outline(arms, stroke)] = ink
    rgb = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    kp = np.array([[*J[n], 1.0] for n in ORDER], dtype=np.float64)
    return rgb, body | skirt_m | arms, arms, kp


@pytest.fixture(scope="module")
def crossed():
    from kyara.drawing import LiftConfig, lift

    rgb, mask, arm, kp = crossed_arm_drawing()
    return rgb, mask, arm, kp, lift(rgb, joints=kp, config=LiftConfig())


def _dominant(part) -> np.ndarray:
    return part.joint_indices[np.arange(len(part.vertices)), np.argmax(part.joint_weights, axis=1)]


def test_the_crossing_arm_is_found_and_its_pixels_are_the_drawn_arm(crossed):
    from kyara.detect.metrics import mask_iou
    from kyara.drawing.layers import front_layers
    from kyara.drawing.skeleton import estimate_skeleton

    rgb, mask, arm, kp, ch = crossed
    skel = estimate_skeleton(rgb, ch.spec.mask, kp)
    layers = front_layers(ch.spec.mask, rgb, skel, ch.spec.line.width_px)
    assert [lay.name for lay in layers] == ["right_arm"]  # the arm held out is not a layer
    lay = layers[0]
    drawn = arm | outline(arm, 3)  # the sleeve and its ink
    assert mask_iou(lay.region, drawn) >= 0.9, mask_iou(lay.region, drawn)
    assert 4.0 <= lay.half_width <= 8.0, lay.half_width  # drawn 13 px wide, its outline 3 px over it
    assert not (lay.hidden & ~lay.region).any() and lay.hidden.sum() > 0.7 * lay.region.sum()  # mostly over the torso
    assert ch.spec.inflated.layer_names == ("body", "right_arm")
    assert any("right arm is drawn across the torso" in n for n in ch.spec.notes)


def test_the_crossing_arm_is_in_front_of_the_torso_and_each_layer_is_closed(crossed):
    from test_drawing_lift import edge_counts, signed_volume

    inf = crossed[-1].spec.inflated
    v, f, layer = inf.vertices, inf.faces, inf.layer
    und, dirc = edge_counts(f)
    assert (und == 2).all() and (dirc == 1).all()  # closed, consistently oriented
    for k in (0, 1):
        fk = f[(layer[f] == k).all(axis=1)]
        assert len(fk) > 100 and (layer[f] == k).any(axis=1).sum() == len(fk)  # no face joins two layers
        assert signed_volume(v, fk) > 0
    # where the arm lies over the body, its back is in front of the body's front: no intersection at rest
    body_front = np.full(inf.grid_shape[0] * inf.grid_shape[1], -np.inf)
    sel = (layer == 0) & (inf.side != 1)
    np.maximum.at(body_front, inf.grid_index[sel], v[sel, 2])
    arm_back = (layer == 1) & (inf.side != 0)
    over = arm_back & np.isfinite(body_front[inf.grid_index])
    assert over.sum() > 100
    assert (v[over, 2] > body_front[inf.grid_index[over]]).all()
    # the arm is a tube of its own, as thick as the arm drawn the same width and held out
    from kyara.drawing.inflate import PARTS

    def thickness(sel):
        front = np.full(len(body_front), np.nan)
        back = np.full(len(body_front), np.nan)
        front[inf.grid_index[sel & (inf.side == 0)]] = v[sel & (inf.side == 0), 2]
        back[inf.grid_index[sel & (inf.side == 1)]] = v[sel & (inf.side == 1), 2]
        return np.nanmax(front - back)

    held_out = (layer == 0) & (inf.part == PARTS.index("left_lower_arm"))
    crossing = (layer == 1) & (inf.part == PARTS.index("right_lower_arm"))
    ratio = thickness(crossing) / thickness(held_out)
    assert 0.8 <= ratio <= 1.25, ratio


def test_the_crossing_arm_is_skinned_to_the_arm_and_moves_on_its_own(crossed):
    from kyara.body.skeleton import BONE_INDEX
    from kyara.pose.lbs import sparse_to_dense_weights

    ch = crossed[-1]
    p, inf = ch.parts[0], ch.spec.inflated
    dense = sparse_to_dense_weights(p.joint_indices, p.joint_weights, 55)
    arm = inf.layer == 1
    arm_w = dense[:, [BONE_INDEX[b] for b in ARM_BONES]].sum(axis=1)
    trunk_w = dense[:, [BONE_INDEX[b] for b in TRUNK_BONES]].sum(axis=1)
    assert np.allclose(arm_w[arm], 1.0, atol=1e-5)  # the arm's vertices: arm bones only
    assert np.isin(_dominant(p)[arm], [BONE_INDEX[b] for b in ARM_BONES]).all()
    # the torso behind the arm: trunk weights, none of the arm's
    behind = (inf.layer == 0) & np.isin(inf.grid_index, inf.grid_index[arm])
    behind &= inf.part == 1  # torso
    assert behind.sum() > 50
    assert arm_w[behind].max() < 1e-6 and np.median(trunk_w[behind]) > 0.8
    # bend the elbow and raise the upper arm: the arm goes, the torso behind it stays
    H = float(np.ptp(p.vertices[:, 1]))
    for bone, angle in (("rightLowerArm", np.pi / 2), ("rightUpperArm", -np.pi / 3)):
        moved = _bend(ch, bone, angle)
        assert np.median(moved[arm]) > 0.03 * H, (bone, np.median(moved[arm]) / H)
        assert moved[behind].max() < 1e-6, bone


def test_the_torso_behind_the_arm_has_the_torso_colour(crossed):
    ch = crossed[-1]
    inf, colours = ch.spec.inflated, ch.parts[0].colors
    arm_points = inf.grid_index[inf.layer == 1]
    behind = (inf.layer == 0) & (inf.side == 0) & np.isin(inf.grid_index, arm_points)
    skin, sleeve = np.array([0.95, 0.8, 0.65]), np.array([0.45, 0.6, 0.9])
    assert np.median(np.abs(colours[behind] - skin).max(axis=1)) < 0.08
    on_arm = (inf.layer == 1) & (inf.side == 0)
    assert np.median(np.abs(colours[on_arm] - sleeve).max(axis=1)) < 0.08  # the arm keeps its sleeve


def _bend(ch, bone: str, angle: float) -> np.ndarray:
    """How far each vertex moves when ``bone`` turns by ``angle`` about Y (metres, ``[V]``)."""
    from kyara.body.skeleton import BONE_INDEX
    from kyara.pose.rotations import axis_angle_to_matrix, matrix_to_quat

    rot = np.tile(np.eye(3), (55, 1, 1))
    rot[BONE_INDEX[bone]] = axis_angle_to_matrix(np.array([0.0, angle, 0.0]))
    posed, _ = ch.pose_vertices(matrix_to_quat(rot)[None], np.zeros((1, 3)))
    return np.linalg.norm(posed[0] - ch.parts[0].vertices, axis=1)


def test_without_layers_the_same_arm_drags_the_torso(crossed):
    """The reference: with part layers off, the arm over the torso is part of the torso's surface,
    its weights a mix of arm and trunk, and bending the elbow drags torso vertices with it (what this
    feature fixes); with layers on, no torso vertex moves."""
    from kyara.body.skeleton import BONE_INDEX
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.inflate import InflateConfig
    from kyara.pose.lbs import sparse_to_dense_weights

    rgb, mask, arm, kp, layered = crossed
    ch = lift(rgb, joints=kp, config=LiftConfig(inflate=InflateConfig(part_layers=False)))
    inf, p = ch.spec.inflated, ch.parts[0]
    assert inf.layer_names == ("body",) and (inf.layer == 0).all()
    dense = sparse_to_dense_weights(p.joint_indices, p.joint_weights, 55)
    arm_w = dense[:, [BONE_INDEX[b] for b in ARM_BONES]].sum(axis=1)
    trunk_w = dense[:, [BONE_INDEX[b] for b in TRUNK_BONES]].sum(axis=1)
    ij = np.clip(np.rint(inf.pixels).astype(int), 0, 255)
    mid = arm[ij[:, 1], ij[:, 0]] & (inf.side == 0) & (np.abs(inf.pixels[:, 0] - 128) < 12)
    assert mid.sum() > 5 and np.median(arm_w[mid]) < 0.9  # mixed with the trunk's
    H = float(np.ptp(p.vertices[:, 1]))
    for c, expect_dragged in ((ch, True), (layered, False)):
        d = sparse_to_dense_weights(c.parts[0].joint_indices, c.parts[0].joint_weights, 55)
        torso = d[:, [BONE_INDEX[b] for b in TRUNK_BONES]].sum(axis=1) > 0.5
        dragged = int((_bend(c, "rightLowerArm", np.pi / 2)[torso] > 0.01 * H).sum())
        assert (dragged > 10) == expect_dragged, (expect_dragged, dragged)
    assert trunk_w.max() > 0.5


def test_a_figure_with_arms_apart_has_no_layers():
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.skeleton import SkeletonConfig

    from drawing_figures import figure

    ch = lift(figure(256).rgb, config=LiftConfig(skeleton=SkeletonConfig(detector="none")))
    assert ch.spec.inflated.layer_names == ("body",) and ch.spec.inflated.covered is None


@pytest.mark.slow
def test_the_layered_avatar_passes_the_validator(crossed, tmp_path):
    from test_export_common import run_validator

    from kyara.export import export_character

    paths = [export_character(crossed[-1], fmt, tmp_path / f"avatar.{fmt}").path for fmt in ("vrm", "glb")]
    report = run_validator(paths)
    for f in paths:
        assert report[str(f)]["numErrors"] == 0, (f, report[str(f)]["messages"])


def test_arms_against_a_skirt_get_arm_weights_and_leave_the_skirt_behind():
    """Arms hanging down along an A-line skirt, forearms and hands touching it: each arm is a part of
    its own, skinned to the arm's bones only, and raising the arms leaves the skirt where it is; with
    part layers off (the reference) the hands carry hip and leg weight and drag the skirt along."""
    from kyara.body.skeleton import BONE_INDEX
    from kyara.drawing import LiftConfig, lift
    from kyara.drawing.inflate import InflateConfig
    from kyara.pose.lbs import sparse_to_dense_weights

    rgb, mask, arms, kp = skirt_drawing()
    lower = [BONE_INDEX[b] for b in ("hips", "spine", "leftUpperLeg", "rightUpperLeg")]
    arm_bones = [BONE_INDEX[f"{s}{b}"] for s in ("left", "right") for b in ("UpperArm", "LowerArm", "Hand")]
    out = {}
    for on in (True, False):
        ch = lift(rgb, joints=kp, config=LiftConfig(inflate=InflateConfig(part_layers=on)))
        inf, p = ch.spec.inflated, ch.parts[0]
        dense = sparse_to_dense_weights(p.joint_indices, p.joint_weights, 55)
        ij = np.clip(np.rint(inf.pixels).astype(int), 0, 255)
        # the forearms and hands where they meet the skirt (below the waist), on the arms' surfaces
        hands = arms[ij[:, 1], ij[:, 0]] & (inf.pixels[:, 1] > 140) & (inf.layer > 0 if on else True)
        skirt = (inf.layer == 0) & ~arms[ij[:, 1], ij[:, 0]] & (inf.pixels[:, 1] > 125) & (inf.pixels[:, 1] < 190)
        H = float(np.ptp(p.vertices[:, 1]))
        rot = np.tile(np.eye(3), (55, 1, 1))
        from kyara.pose.rotations import axis_angle_to_matrix, matrix_to_quat

        for side, sx in (("left", 1.0), ("right", -1.0)):  # both arms raised 60 degrees sideways
            rot[BONE_INDEX[f"{side}UpperArm"]] = axis_angle_to_matrix(np.array([0.0, 0.0, sx * np.pi / 3]))
        posed, _ = ch.pose_vertices(matrix_to_quat(rot)[None], np.zeros((1, 3)))
        moved = np.linalg.norm(posed[0] - p.vertices, axis=1)
        out[on] = (inf, dense[hands][:, lower].sum(axis=1), dense[hands][:, arm_bones].sum(axis=1),
                   moved[skirt], moved[hands], H, ch.spec.notes)
    inf, low, arm_w, skirt_moved, hands_moved, H, notes = out[True]
    assert inf.layer_names == ("body", "right_arm", "left_arm")
    assert sum("drawn against the body" in n for n in notes) == 2
    assert len(low) > 100 and low.max() < 1e-6 and np.allclose(arm_w, 1.0, atol=1e-5)
    assert skirt_moved.max() < 1e-6  # the skirt stays
    assert np.median(hands_moved) > 0.1 * H  # the hands go up with the arms
    _, low_ref, _, skirt_ref, _, H_ref, _ = out[False]
    assert low_ref.max() > 0.2  # the reference: hands partly skinned to the hips and legs
    assert (skirt_ref > 0.02 * H_ref).sum() > 20  # and the skirt dragged along
