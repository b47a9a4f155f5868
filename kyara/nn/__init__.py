"""Neural building blocks every kyara model reuses (plain torch, no torchvision).

* :mod:`kyara.nn.blocks` — conv/norm/activation units, residual blocks, a U-Net trunk with
  named 1x1 heads (fully convolutional: any input whose sides are a multiple of its stride).
* :mod:`kyara.nn.heatmaps` — Gaussian keypoint heatmaps and their sub-pixel decoding
  (with a slow reference beside the fast path).
* :mod:`kyara.nn.weights` — ``.safetensors`` save/load with the model's config and card in the
  file's metadata; loading never unpickles.

Torch is imported by these modules, so import them only where torch is needed.
"""

from __future__ import annotations

__all__ = ["blocks", "heatmaps", "weights"]
