"""The ``kyara`` backend: a U-Net trained on kyara's own renders (``kyara train detector``).

Heads at the input's resolution: 18 COCO keypoint heatmaps, a character mask (logit) and the UDP
xyz (CoNR's format; occupancy = the mask). Inference is two passes of the same network: the whole
image (long side :data:`INPUT`) finds the character, then a square crop around it (the mask's box
with a margin, the scale training used) gives keypoints, mask and UDP, mapped back to the image.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from kyara.detect.types import Detection

KIND = "kyara-detector"
INPUT = 128  # the network's input side in both passes
MARGIN = 1.3  # crop side = this x the character box's longer side (the middle of training's range)
# "context": True adds kyara.nn's context vector and a facing head (tried for the CPU model: it learns the
# facing to 79 % but does not beat the nose rule of kyara.detect.sides; see the model card)
DEFAULT_CONFIG = {"widths": [16, 32, 64, 96, 128], "blocks": 1, "keypoints": 18, "input": INPUT, "sigma": 2.0}
MEAN, STD = 127.5, 64.0  # input normalisation of RGB bytes


def default_weights() -> Path:
    return Path(str(resources.files("kyara") / "data" / "weights" / "detector.safetensors"))


def build_network(config: dict):
    from kyara.nn.blocks import UNet

    context = bool(config.get("context", False))  # the facing head rides on the context vector
    return UNet(3, config["widths"], {"heatmaps": int(config["keypoints"]), "mask": 1, "udp": 3},
                blocks=int(config.get("blocks", 1)), context=context, global_heads={"facing": 1} if context else None)


class KyaraDetector:
    """A loaded network and its two-pass inference (:meth:`predict`)."""

    def __init__(self, model, config: dict, card: dict | None = None, sides: bool = True) -> None:
        self.model, self.config, self.card = model, dict(config), dict(card or {})
        self.sides = sides  # False: each joint from its own heatmap channel only
        self.model.eval()

    @classmethod
    def random(cls, seed: int = 0, widths: tuple[int, ...] = (8, 8, 16)) -> "KyaraDetector":
        """An untrained small network (for tests of the plumbing)."""
        import torch

        torch.manual_seed(seed)
        cfg = dict(DEFAULT_CONFIG, widths=list(widths))
        return cls(build_network(cfg), cfg)

    # ------------------------------------------------------------ network calls

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Raw outputs for uint8 RGB [B, S, S, 3] (S a multiple of the stride): ``heatmaps`` [B, 18, S, S],
        ``mask`` [B, S, S] (probability), ``udp`` [B, S, S, 3]."""
        import torch

        from kyara.nn.blocks import pad_to

        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
        x = (x - MEAN) / STD
        x, (h, w) = pad_to(x, self.model.stride)
        with torch.inference_mode():
            out = self.model(x)
        res = {"heatmaps": out["heatmaps"][..., :h, :w].numpy(),
               "mask": torch.sigmoid(out["mask"][:, 0, :h, :w]).numpy(),
               "udp": out["udp"][..., :h, :w].clamp(0, 1).permute(0, 2, 3, 1).numpy()}
        if "facing" in out:  # [B]: +1 towards the camera, -1 from behind (networks built with context)
            res["facing"] = out["facing"][:, 0].numpy()
        return res

    def predict(self, rgb: np.ndarray) -> Detection:
        """Detect the character in uint8 RGB [H, W, 3] (any size)."""
        import cv2
        import torch

        from kyara.detect.augment import crop_affine, warp_image
        from kyara.nn.heatmaps import decode_heatmaps

        rgb = np.ascontiguousarray(rgb[..., :3])
        h, w = rgb.shape[:2]
        side = max(h, w)
        s = int(self.config.get("input", INPUT))
        # pass 1: the whole image, letterboxed into the input square
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        m1 = crop_affine((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), s, 1.0, (0.0, 0.0), 0.0)
        pad = tuple(int(v) for v in np.median(np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]), axis=0))
        x1 = warp_image(rgb, m1, s, border=pad)
        o1 = self.run(x1[None])
        box = _box(o1["mask"][0] > 0.5)
        if box is None:  # nothing found: answer from pass 1 alone
            m2, o2 = m1, o1
        else:
            inv1 = cv2.invertAffineTransform(m1)
            corners = np.array([[box[0], box[1]], [box[2], box[3]]], dtype=np.float64) @ inv1[:, :2].T + inv1[:, 2]
            m2 = crop_affine((*corners[0], *corners[1]), s, float(self.config.get("margin", MARGIN)), (0.0, 0.0), 0.0)
            x2 = warp_image(rgb, m2, s, border=None)
            o2 = self.run(x2[None])
        inv = cv2.invertAffineTransform(m2)
        kp = decode_heatmaps(torch.from_numpy(o2["heatmaps"]))[0].numpy().astype(np.float64)
        if self.sides:  # left and right named for the whole figure (kyara.detect.sides)
            from kyara.detect.sides import facing_from, resolve_sides

            f = facing_from(kp, float(o2["facing"][0]) if "facing" in o2 else None)
            kp = resolve_sides(kp, o2["heatmaps"][0], f)
        xy = kp[:, :2] @ inv[:, :2].T + inv[:, 2]
        conf = np.clip(kp[:, 2], 0, 1)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
        keypoints = np.where((inside & (conf > 0))[:, None], np.column_stack([xy, conf]), 0.0)
        # labels back on the image grid: mask bilinear, UDP nearest (a lookup, never a blend)
        mask = cv2.warpAffine(o2["mask"][0], m2, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        udp = cv2.warpAffine(o2["udp"][0], m2, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        occ = (mask > 0.5).astype(np.float32)
        udp4 = np.concatenate([udp * occ[..., None], occ[..., None]], axis=2).astype(np.float32)
        return Detection(keypoints=keypoints.astype(np.float32), mask=mask.astype(np.float32), width=w, height=h,
                         backend="kyara", udp=udp4)


def _box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box of the largest connected part of a bool mask (plus parts near it), or None."""
    import cv2

    if mask.sum() < 4:
        return None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, bw, bh = stats[big, :4]
    x0, y0, x1, y1 = float(x), float(y), float(x + bw - 1), float(y + bh - 1)
    # pieces separated from the main part (a hand, a hat) within half its size join the box
    for i in range(1, n):
        if i == big or stats[i, cv2.CC_STAT_AREA] < 0.01 * stats[big, cv2.CC_STAT_AREA]:
            continue
        xi, yi, wi, hi = stats[i, :4]
        grow = 0.5 * max(bw, bh)
        if xi <= x1 + grow and xi + wi - 1 >= x0 - grow and yi <= y1 + grow and yi + hi - 1 >= y0 - grow:
            x0, y0, x1, y1 = min(x0, xi), min(y0, yi), max(x1, xi + wi - 1), max(y1, yi + hi - 1)
    return x0, y0, x1, y1


def load_detector(path: str | os.PathLike | None = None) -> KyaraDetector:
    """The trained detector (the shipped weights by default)."""
    from kyara.nn.weights import load_model

    p = Path(path) if path is not None else default_weights()
    if not p.is_file():
        raise FileNotFoundError(f"detector weights '{p}' do not exist: train them with `kyara train detector`")
    model, config, card = load_model(p, KIND, build_network)
    return KyaraDetector(model, config, card)
