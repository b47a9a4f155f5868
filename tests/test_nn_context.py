"""kyara.nn's U-Net context vector and the detector's facing target (left from right needs the whole picture)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _far_influence(context: bool) -> float:
    from kyara.nn.blocks import UNet

    torch.manual_seed(0)
    net = UNet(3, [4, 4, 4], {"out": 1}, context=context).eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    y = x.clone()
    y[..., :12, :12] += 3.0  # a change in one corner ...
    with torch.no_grad():
        a, b = net(x)["out"], net(y)["out"]
    return float((a - b)[..., -12:, -12:].abs().max())  # ... seen (or not) in the opposite one


def test_context_carries_the_whole_picture_to_every_pixel():
    assert _far_influence(False) == 0.0  # three levels: the receptive field does not reach across
    assert _far_influence(True) > 1e-9  # exactly zero without the context, whatever the weights


def test_global_heads_are_per_image_and_need_the_context():
    from kyara.nn.blocks import UNet

    net = UNet(3, [4, 8], {"m": 2}, context=True, global_heads={"facing": 1})
    out = net(torch.zeros(3, 3, 32, 32))
    assert out["m"].shape == (3, 2, 32, 32) and out["facing"].shape == (3, 1)
    with pytest.raises(ValueError, match="context"):
        UNet(3, [4, 8], {"m": 2}, global_heads={"facing": 1})


def test_facing_target_front_back_profile_and_unknown():
    from kyara.detect.recipe import facing_targets

    kp = np.zeros((4, 18, 3))
    # front: the character's right shoulder/hip (2, 8) on the image's left, left ones (5, 11) on its right
    for j, x in ((2, 40), (5, 88), (8, 50), (11, 78)):
        kp[0, j] = (x, 60, 2)
    kp[1] = kp[0]
    kp[1, [2, 5, 8, 11], 0] = kp[0, [5, 2, 11, 8], 0]  # from behind: mirrored
    kp[2, [2, 5], :] = [[63, 50, 2], [65, 50, 1]]  # profile: the pair nearly on top of each other
    t, known = facing_targets(kp, 128)
    assert t[0] > 0.9 and t[1] < -0.9 and abs(t[2]) < 0.2
    assert known.tolist() == [True, True, True, False] and t[3] == 0.0


def test_old_detector_weights_without_context_still_load(tmp_path):
    """Weights saved before the context option (no ``context`` in their config) build the network they were."""
    from kyara.detect.network import build_network

    net = build_network({"widths": [8, 8, 16], "blocks": 1, "keypoints": 18, "input": 64, "sigma": 2.0})
    assert net.context is None and "facing" not in net(torch.zeros(1, 3, 64, 64))
    assert not any(k.startswith(("context", "global_heads")) for k in net.state_dict())
