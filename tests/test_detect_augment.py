"""kyara.detect.augment: the warp keeps labels on the picture, and the mirror renames joints as a mirror would.

The pictures are synthetic: one coloured dot per joint (colour = the joint's index), so where a
label lands can be read back from the pixels, independently of the code that moved it.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from kyara.detect.augment import MIRROR, crop_affine, mirror_sample, warp_sample  # noqa: E402
from kyara.pose.openpose import OPENPOSE_BODY_NAMES  # noqa: E402

SIDE = 96


def _dots(seed: int = 0):
    """An RGBA picture with joint j drawn as a 5x5 dot of red value 10 + 10 j, its mask, a UDP whose
    x grows to the picture's right (the character's right, low x, on the image's left: a front view) and
    the keypoints [18, 3]."""
    rng = np.random.default_rng(seed)
    kp = np.zeros((18, 3))
    cells = rng.permutation(np.stack(np.meshgrid(np.arange(5), np.arange(5)), -1).reshape(-1, 2))[:18]
    kp[:, :2] = 12 + cells * 16 + rng.integers(0, 4, (18, 2))
    kp[:, 2] = 2
    img = np.zeros((SIDE, SIDE, 4), np.uint8)
    for j, (x, y) in enumerate(kp[:, :2].astype(int)):
        img[y - 2:y + 3, x - 2:x + 3] = (10 + 10 * j, 0, 0, 255)
    mask = (img[..., 3] > 0).astype(np.uint8) * 255
    udp = np.zeros((SIDE, SIDE, 3), np.float32)
    xs = np.broadcast_to(np.linspace(0.1, 0.9, SIDE, dtype=np.float32), (SIDE, SIDE))
    udp[..., 0] = np.where(mask > 0, xs, 0)
    udp[..., 1] = np.where(mask > 0, 0.5, 0)
    return img, mask, udp, kp


def _joint_at(img: np.ndarray, p) -> int:
    x, y = (int(round(v)) for v in p)
    return (int(img[y, x, 0]) - 10) // 10


def test_mirror_table_pairs_each_right_joint_with_its_left_namesake():
    names = OPENPOSE_BODY_NAMES
    for j, m in enumerate(MIRROR):
        swapped = names[j].replace("right", "@").replace("left", "right").replace("@", "left")
        assert names[m] == swapped
        assert MIRROR[m] == j  # an involution


def test_mirrored_labels_sit_on_the_mirrored_picture_under_their_mirror_names():
    img, mask, udp, kp = _dots()
    m_img, m_mask, m_udp, m_kp = mirror_sample(img, mask.astype(np.float32) / 255, udp, kp)
    for j in range(18):
        # the dot found under the new joint j was drawn for its mirror partner
        assert _joint_at(m_img, m_kp[j, :2]) == MIRROR[j]
        assert m_mask[int(round(m_kp[j, 1])), int(round(m_kp[j, 0]))] > 0.5
        # the place: the partner's old x reflected about the picture's centre line
        assert m_kp[j, 0] == pytest.approx(SIDE - 1 - kp[MIRROR[j], 0])
        assert m_kp[j, 1] == pytest.approx(kp[MIRROR[j], 1])
    # the UDP's lateral coordinate: the mirrored character seen from the same side still has its
    # right (low x) on the picture's left, so the field 0.1 -> 0.9 left to right, symmetric about
    # the middle, is unchanged wherever the mirrored mask is
    on = m_mask > 0.5
    cols = np.broadcast_to(np.arange(SIDE), (SIDE, SIDE))[on]
    assert np.allclose(m_udp[on][:, 0], 0.1 + 0.8 * cols / (SIDE - 1), atol=1e-5)
    assert np.all(m_udp[~on] == 0)
    assert np.allclose(m_udp[on][:, 1], 0.5)
    # twice is the original
    back = mirror_sample(m_img, m_mask, m_udp, m_kp)
    assert np.array_equal(back[0], img) and np.array_equal(back[1], mask.astype(np.float32) / 255)
    assert np.allclose(back[2], udp, atol=1e-6) and np.allclose(back[3], kp)


def test_warp_moves_labels_with_the_picture_and_drops_joints_it_crops_off():
    img, mask, udp, kp = _dots(1)
    box = (20.0, 20.0, 60.0, 70.0)  # a tight box: some joints fall outside the crop
    m = crop_affine(box, 64, 1.0, (0.05, -0.05), 20.0)
    w_img, w_mask, w_udp, w_kp = warp_sample(img, mask, udp, kp, m, 64, paper=False)
    kept = w_kp[:, 2] > 0
    assert kept.any() and (~kept).any()
    for j in np.nonzero(kept)[0]:
        x, y = w_kp[j, :2]
        if 2 <= x <= 61 and 2 <= y <= 61:  # whole dots only
            assert _joint_at(w_img, (x, y)) == j
            assert w_mask[int(round(y)), int(round(x))] > 0.5
    for j in np.nonzero(~kept)[0]:  # dropped: its place is off the crop
        x, y = kp[j, :2] @ m[:, :2].T + m[:, 2]
        assert not (0 <= x <= 63 and 0 <= y <= 63)
    # UDP by nearest neighbour: only values the source had (a lookup, never a blend)
    assert set(np.unique(w_udp[..., 1])) <= {0.0, 0.5}


def test_training_examples_are_mirrored_about_half_the_time(monkeypatch):
    import kyara.detect.augment as A
    from kyara.detect.recipe import MIRROR_P, Pool, example

    img, mask, udp, kp = _dots(2)
    pool = Pool()
    pool.add({"rgba": img, "mask": mask, "udp": np.concatenate([udp, np.ones_like(udp[..., :1])], 2),
              "keypoints": kp, "character": "c"})
    calls = []
    real = A.mirror_sample
    monkeypatch.setattr(A, "mirror_sample", lambda *a: calls.append(1) or real(*a))
    n = 200
    for i in range(n):
        example(pool, 0, np.random.default_rng(i), out=48, train=True)
    assert abs(len(calls) / n - MIRROR_P) < 0.1
    calls.clear()
    for i in range(20):
        example(pool, 0, np.random.default_rng(i), out=48, train=False)
    assert not calls  # validation and evaluation crops are never mirrored
