"""The data engine: labelled synthetic datasets of kyara characters, made on Ray, read with torch.

::

    from kyara.dataset import DatasetConfig, write_dataset, load
    write_dataset(DatasetConfig(kind="poses", count=1024, per_character=16, size=128, seed=0), "data/poses")
    ds = load("data/poses", split="train")          # torch.utils.data.IterableDataset

Modules: :mod:`~kyara.dataset.config` (arguments, the deterministic plan: ids, splits, shards),
:mod:`~kyara.dataset.sampling` (random characters, poses, cameras), :mod:`~kyara.dataset.render`
(one character's records), :mod:`~kyara.dataset.drawing` (synthetic drawings),
:mod:`~kyara.dataset.format` (tar/PNG/NPZ/JSON bytes, plain readers), :mod:`~kyara.dataset.engine`
(Ray, resume, manifest), :mod:`~kyara.dataset.reader` (the torch reader), :mod:`~kyara.dataset.batch`
(``kyara batch`` job files). ``import kyara.dataset`` imports neither Ray nor torch.
"""

from __future__ import annotations

from kyara.dataset.config import KINDS, SPLITS, DatasetConfig

__all__ = ["KINDS", "SPLITS", "DatasetConfig", "write_dataset", "load", "iter_samples", "read_manifest"]


def __getattr__(name: str):
    if name in ("write_dataset", "read_manifest"):
        from kyara.dataset import engine

        return getattr(engine, name)
    if name in ("load", "iter_samples"):
        from kyara.dataset import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'kyara.dataset' has no attribute '{name}'")
