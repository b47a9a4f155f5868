"""The training harness every ``kyara train NAME`` uses (:mod:`kyara.train.harness`) and the
registry of trainable models (:mod:`kyara.train.registry`).

A model brings a :class:`~kyara.train.harness.Recipe` (how to build it, make batch ``k``, compute
its loss, validate it and describe it); the harness brings seeding, the progress bar, checkpoints
every few minutes, exact resume after ``kill -9``, validation logging and the export to
``.safetensors`` with a model card.
"""

from __future__ import annotations

__all__ = ["harness", "registry"]
