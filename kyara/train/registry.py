"""Trainable models by name: ``kyara train NAME`` looks them up here.

Each entry builds its :class:`~kyara.train.harness.Recipe` from the command's options and gives
the default :class:`~kyara.train.harness.TrainConfig` of its recipes (``cpu``: the shipped model,
sized for 2 CPU cores in at most 90 minutes; ``gpu``: a larger model for a GPU machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from kyara.train.harness import TrainConfig


@dataclass(frozen=True)
class Trainable:
    name: str
    summary: str
    weights: str  # file name under kyara/data/weights/
    make: Callable[..., object]  # (data folders, seed, recipe name, **options) -> Recipe
    configs: dict  # recipe name -> TrainConfig


def _detector(data, seed: int, recipe: str, batch_size: int | None = None):
    from kyara.detect.network import DEFAULT_CONFIG
    from kyara.detect.recipe import DetectorRecipe

    arch = dict(DEFAULT_CONFIG)
    if recipe == "gpu":
        arch.update(widths=[48, 64, 128, 192, 256], blocks=2)
    elif recipe == "tiny":
        arch.update(widths=[8, 8, 16], blocks=1, input=64)
    bs = batch_size or {"cpu": 16, "gpu": 64, "tiny": 4}[recipe]
    return DetectorRecipe(data=list(data), seed=seed, batch_size=bs, arch=arch,
                          val_count=16 if recipe == "tiny" else 192)


TRAINABLE: dict[str, Trainable] = {
    "detector": Trainable(
        "detector", "pose (COCO-18), mask and UDP from an image; data: kyara dataset poses + drawings",
        "detector.safetensors", _detector,
        {"cpu": TrainConfig(steps=6400, lr=2e-3, warmup=200, validate_every=600, checkpoint_s=180.0),
         "gpu": TrainConfig(steps=30000, lr=2e-3, warmup=500, validate_every=2000, checkpoint_s=180.0),
         "tiny": TrainConfig(steps=20, lr=2e-3, warmup=2, validate_every=0, log_every=5, checkpoint_s=1e9)}),
}


def _sheet(data, seed: int, recipe: str, batch_size: int | None = None):
    from kyara.sheet.recipe import ARCHITECTURES, BATCH_SIZES, SheetRecipe

    return SheetRecipe(data=list(data), seed=seed, batch_size=batch_size or BATCH_SIZES[recipe],
                       arch=dict(ARCHITECTURES[recipe]), max_refs=4,
                       detector_mix=0.0 if recipe == "tiny" else 0.25, val_count=8 if recipe == "tiny" else 128)


TRAINABLE["sheet"] = Trainable(
    "sheet", "CoNR-lite: a character sheet + a target UDP -> the character in that pose; data: kyara dataset sheets",
    "sheet.safetensors", _sheet,
    {"cpu": TrainConfig(steps=6000, lr=2e-3, warmup=200, validate_every=1000, checkpoint_s=180.0),
     "gpu": TrainConfig(steps=40000, lr=2e-3, warmup=500, validate_every=4000, checkpoint_s=180.0),
     "tiny": TrainConfig(steps=20, lr=2e-3, warmup=2, validate_every=0, log_every=5, checkpoint_s=1e9)})


def get(name: str) -> Trainable:
    if name not in TRAINABLE:
        raise ValueError(f"no model named '{name}' to train, expected one of {', '.join(sorted(TRAINABLE))}")
    return TRAINABLE[name]
