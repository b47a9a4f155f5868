"""``kyara train detector``: the detector's training recipe for :mod:`kyara.train.harness`.

Data: ``kyara dataset poses`` and ``drawings`` folders (train split to learn, val split to
validate), held in memory. Batch ``k`` is a pure function of ``(seed, k)``: which samples, how
they are cropped, rotated, mirrored (left/right labels renamed), put on a background and degraded
(:mod:`kyara.detect.augment`).
Losses: heatmap squared error weighted by ``1 + PEAK_WEIGHT * target`` (x :data:`HEAT_WEIGHT`), mask BCE + soft Dice, UDP L1 on the mask.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kyara.detect.network import DEFAULT_CONFIG, INPUT, KIND, MARGIN, MEAN, STD, build_network

HEAT_WEIGHT = 500.0
PEAK_WEIGHT = 20.0
MIRROR_P = 0.5  # the share of training examples reflected left-right (labels renamed to match)
FACING_WEIGHT = 1.0  # the facing head's squared error (targets in [-1, 1])
FIELDS = ("rgba", "drawing", "mask", "udp", "openpose", "keypoints")


@dataclass
class Pool:
    """Samples in memory: images (RGBA renders or RGB drawings), masks, UDP xyz (float16), keypoints."""

    images: list = field(default_factory=list)
    paper: list = field(default_factory=list)  # True for drawings
    masks: list = field(default_factory=list)
    udps: list = field(default_factory=list)
    keypoints: list = field(default_factory=list)
    boxes: list = field(default_factory=list)
    characters: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def add(self, s: dict) -> None:
        m = s["mask"]
        ys, xs = np.nonzero(m > 127)
        if len(xs) < 4:
            return
        paper = "drawing" in s
        self.images.append(s["drawing"] if paper else s["rgba"])
        self.paper.append(paper)
        self.masks.append(m)
        self.udps.append(s["udp"][..., :3].astype(np.float16))
        self.keypoints.append(np.asarray(s["keypoints"], dtype=np.float32))
        self.boxes.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
        self.characters.append(s["character"])


def load_pool(folders: list[str | os.PathLike], split: str, limit: int | None = None, progress: bool = False) -> Pool:
    from kyara.dataset.reader import iter_samples

    pool = Pool()
    for folder in folders:  # ``limit`` is shared evenly by the folders
        start = len(pool)
        for s in iter_samples(folder, split, fields=FIELDS):
            pool.add(s)
            if limit is not None and len(pool) - start >= limit // len(folders):
                break
    return pool


def example(pool: Pool, i: int, rng: np.random.Generator, out: int = INPUT, train: bool = True):
    """One augmented example: uint8 RGB [out, out, 3], mask [out, out] float, UDP [out, out, 3], keypoints [18, 3]."""
    from kyara.detect.augment import background, composite, crop_affine, mirror_sample, photometric, warp_sample

    box = pool.boxes[i]
    if train:
        loose = rng.random() < 0.3
        margin = rng.uniform(1.6, 3.5) if loose else rng.uniform(1.1, 1.6)
        shift = tuple(rng.uniform(-0.12, 0.12, 2))
        angle = rng.uniform(-30, 30) if rng.random() < 0.35 else 0.0
    else:
        margin, shift, angle = MARGIN, (0.0, 0.0), 0.0
    m = crop_affine(box, out, margin, shift, angle)
    img, msk, udp, kp = warp_sample(pool.images[i], pool.masks[i], pool.udps[i].astype(np.float32),
                                    pool.keypoints[i], m, out, pool.paper[i])
    if train and rng.random() < MIRROR_P:
        img, msk, udp, kp = mirror_sample(img, msk, udp, kp)
    if not pool.paper[i]:
        img = composite(img, background(rng, out))
    if train:
        img = photometric(img, rng)
    return img, msk, udp, kp


def _sample_seed(seed: int, step: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(step), 0x6B79])


@dataclass
class DetectorRecipe:
    """The recipe: ``data`` folders, batch size, architecture."""

    data: list
    seed: int = 0
    batch_size: int = 16
    arch: dict = field(default_factory=lambda: dict(DEFAULT_CONFIG))
    val_count: int = 192
    train_limit: int | None = None
    kind: str = KIND

    def __post_init__(self) -> None:
        self.train_pool = load_pool(self.data, "train", self.train_limit)
        if len(self.train_pool) == 0:
            raise ValueError(f"no training samples in {', '.join(map(str, self.data))} (make them with kyara dataset)")
        self.val_pool = load_pool(self.data, "val", self.val_count)
        if len(self.val_pool) == 0:  # tiny test sets: validate on training characters
            self.val_pool = self.train_pool
        rng = np.random.default_rng([self.seed, 0x76616C])  # fixed validation backgrounds
        side = int(self.arch.get("input", INPUT))
        self.val_examples = [example(self.val_pool, i, rng, out=side, train=False) for i in range(min(len(self.val_pool), self.val_count))]

    def config(self) -> dict:
        return dict(self.arch)

    def build(self, config: dict):
        return build_network(config)

    def card(self) -> dict:
        def digest(chars) -> str:
            return hashlib.sha256("\n".join(sorted(set(chars))).encode()).hexdigest()[:12]

        return {"folders": [str(Path(d).name) for d in self.data], "train_samples": len(self.train_pool),
                "train_characters": len(set(self.train_pool.characters)),
                "val_samples": len(self.val_examples), "train_characters_digest": digest(self.train_pool.characters),
                "batch_size": self.batch_size, "input": self.arch.get("input", INPUT)}

    def baselines(self) -> dict:
        """The evaluation baselines fitted on the training split (joint and UDP templates)."""
        from kyara.detect.evaluate import fit_templates

        t = fit_templates(self.train_pool)
        return {"joints": np.round(np.nan_to_num(t.joints, nan=-1.0), 5).tolist(),
                "udp": np.round(t.udp, 4).tolist()}

    def batch(self, step: int) -> dict:
        import torch

        from kyara.nn.heatmaps import gaussian_heatmaps

        rng = _sample_seed(self.seed, step)
        idx = rng.integers(0, len(self.train_pool), self.batch_size)
        side = int(self.arch.get("input", INPUT))
        ex = [example(self.train_pool, int(i), rng, out=side) for i in idx]
        return _tensors(ex, float(self.arch.get("sigma", 2.0)), gaussian_heatmaps)

    def loss(self, model, batch: dict):
        return detector_loss(model(batch["x"]), batch)

    def validate(self, model) -> dict:
        return validate_examples(model, self.val_examples, float(self.arch.get("sigma", 2.0)))


def _tensors(ex: list, sigma: float, heat) -> dict:
    import torch

    img = torch.from_numpy(np.stack([e[0] for e in ex])).permute(0, 3, 1, 2).float()
    mask = torch.from_numpy(np.stack([e[1] for e in ex])).float()
    udp = torch.from_numpy(np.stack([e[2] for e in ex])).permute(0, 3, 1, 2).float()
    kp = torch.from_numpy(np.stack([e[3] for e in ex])).float()
    present = kp[..., 2] >= 1
    s = img.shape[-1]
    facing, known = facing_targets(kp.numpy(), s)
    return {"x": (img - MEAN) / STD, "mask": mask, "udp": udp, "kp": kp, "present": present,
            "heat": heat(kp[..., :2], present, s, s, sigma), "facing": torch.from_numpy(facing),
            "facing_known": torch.from_numpy(known)}


FACING_PAIRS = ((2, 5), (8, 11))  # (right, left) shoulders and hips, OpenPose order


def facing_targets(kp: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Which way the character faces, from its keypoints ``[B, 18, 3]`` in a ``side``-pixel crop:
    ``tanh(8 (sum of left.x - right.x over the shoulders and hips present) / side)`` — near +1 facing
    the camera (the character's left on the image's right), near -1 from behind, near 0 in profile —
    and whether any pair was present. A global target that teaches the network left from right."""
    kp = np.asarray(kp, dtype=np.float64)
    dx = np.zeros(len(kp))
    known = np.zeros(len(kp), dtype=bool)
    for r, l in FACING_PAIRS:
        both = (kp[:, r, 2] >= 1) & (kp[:, l, 2] >= 1)
        dx += np.where(both, kp[:, l, 0] - kp[:, r, 0], 0.0)
        known |= both
    return np.tanh(8.0 * dx / float(side)).astype(np.float32), known


def detector_loss(out: dict, b: dict):
    import torch
    import torch.nn.functional as F

    # squared error, weighted up where the target is on (the peaks are a tiny share of the pixels)
    heat = (((out["heatmaps"] - b["heat"]) ** 2) * (1.0 + PEAK_WEIGHT * b["heat"])).mean() * HEAT_WEIGHT
    logit = out["mask"][:, 0]
    bce = F.binary_cross_entropy_with_logits(logit, b["mask"])
    p = torch.sigmoid(logit)
    dice = 1 - (2 * (p * b["mask"]).sum((1, 2)) + 1) / (p.sum((1, 2)) + b["mask"].sum((1, 2)) + 1)
    on = (b["mask"] > 0.5).float()[:, None]
    udp = ((out["udp"] - b["udp"]).abs() * on).sum() / (3 * on.sum()).clamp_min(1)
    total = heat + bce + dice.mean() + 2.0 * udp
    parts = {"heat": heat.detach(), "bce": bce.detach(), "dice": dice.mean().detach(), "udp_l1": udp.detach()}
    if "facing" in out:  # the context vector's head (networks built with context)
        k = b["facing_known"].float()
        facing = (((out["facing"][:, 0] - b["facing"]) ** 2) * k).sum() / k.sum().clamp_min(1)
        total = total + FACING_WEIGHT * facing
        parts["facing"] = facing.detach()
    return total, parts


def validate_examples(model, examples: list, sigma: float, chunk: int = 32) -> dict:
    """PCK@0.1/0.05 (bounding-box diagonal), mask IoU and UDP L1 on fixed validation crops."""
    import torch

    from kyara.detect.metrics import mask_iou, pck, udp_l1
    from kyara.nn.heatmaps import decode_heatmaps, gaussian_heatmaps

    rows = {"pck10": [], "pck05": [], "iou": [], "udp": [], "facing": []}
    for a in range(0, len(examples), chunk):
        b = _tensors(examples[a:a + chunk], sigma, gaussian_heatmaps)
        out = model(b["x"])
        kp = decode_heatmaps(out["heatmaps"]).numpy()
        prob = torch.sigmoid(out["mask"][:, 0]).numpy()
        udp = out["udp"].clamp(0, 1).permute(0, 2, 3, 1).numpy()
        if "facing" in out:  # sign agreement where the view is clearly front or back
            t, pred = b["facing"].numpy(), out["facing"][:, 0].numpy()
            sure = b["facing_known"].numpy() & (np.abs(t) > 0.3)
            rows["facing"] += list((np.sign(pred[sure]) == np.sign(t[sure])).astype(float))
        for j in range(len(kp)):
            gt_mask = b["mask"][j].numpy() > 0.5
            gt_kp = b["kp"][j].numpy()
            rows["pck10"].append(pck(kp[j], gt_kp, gt_mask, 0.1))
            rows["pck05"].append(pck(kp[j], gt_kp, gt_mask, 0.05))
            rows["iou"].append(mask_iou(prob[j] > 0.5, gt_mask))
            rows["udp"].append(udp_l1(udp[j], b["udp"][j].permute(1, 2, 0).numpy(), gt_mask))
    return {"pck@0.1": float(np.nanmean(rows["pck10"])), "pck@0.05": float(np.nanmean(rows["pck05"])),
            "mask_iou": float(np.nanmean(rows["iou"])), "udp_l1": float(np.nanmean(rows["udp"])),
            **({"facing_acc": float(np.mean(rows["facing"]))} if rows["facing"] else {})}
