"""Read a kyara dataset: a plain sample iterator and a ``torch.utils.data.IterableDataset``.

::

    from kyara.dataset import load
    ds = load("data/poses", split="train")
    loader = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=4)
    for batch in loader:
        batch["rgba"]      # uint8 [B, H, W, 4]
        batch["udp"]       # float32 [B, H, W, 4]
        batch["keypoints"] # float32 [B, 18, 3]: x, y pixels, COCO visibility (2 visible, 1 hidden, 0 none)

Worker sharding: shard ``i`` of the split goes to loader worker ``i % num_workers`` (and, under
``torch.distributed``, to rank ``(i // num_workers) % world_size``), so every sample is read once
per epoch. Torch is imported only by :func:`load`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from kyara.dataset.config import SPLITS
from kyara.dataset.format import decode_field, iter_records

ARRAY_FIELDS = ("rgba", "drawing", "mask", "parts", "lineart", "depth", "normal", "udp")
JSON_FIELDS = ("openpose", "meta")


def shard_paths(folder: str | os.PathLike, split: str | None = "train") -> list[Path]:
    """The shards of ``split`` (``None``: all) listed in the folder's manifest, in order; each must exist."""
    from kyara.dataset.engine import read_manifest

    if split is not None and split not in SPLITS:
        raise ValueError(f"split '{split}' is unknown, expected one of {', '.join(SPLITS)}")
    d = Path(folder)
    man = read_manifest(d)
    out = []
    for row in man.get("shards", []):
        if split is None or row.get("split") == split:
            p = d / str(row["name"])
            if not p.is_file():
                raise FileNotFoundError(f"shard '{p}' listed in the manifest is missing (an unfinished dataset? "
                                        "rerun kyara dataset with the same arguments)")
            out.append(p)
    return out


def _sample(key: str, fields: dict[str, bytes], character: dict | None, refs: list | None,
            wanted: Sequence[str] | None) -> dict:
    s: dict = {"key": key, "character": key.rsplit("_", 1)[0]}
    for field, data in fields.items():
        name = field.split(".", 1)[0]
        if wanted is not None and name not in wanted:
            continue
        s[name] = decode_field(field, data)
    op = s.get("openpose")
    if isinstance(op, dict) and (wanted is None or "keypoints" in wanted):
        s["keypoints"] = np.asarray(op["kyara_keypoints_2d"]["body"], dtype=np.float32).reshape(18, 3)
    if character is not None and (wanted is None or "spec" in wanted):
        s["spec"] = character
    if refs is not None and (wanted is None or "refs" in wanted):
        s["refs"] = refs
    return s


def _references(fields: dict[str, bytes]) -> list[dict] | None:
    refs: dict[int, dict] = {}
    for field, data in fields.items():
        head, _, rest = field.partition(".")
        if head.startswith("ref") and head[3:].isdigit():
            refs.setdefault(int(head[3:]), {})[rest.split(".", 1)[0]] = decode_field(rest, data)
    return [refs[k] for k in sorted(refs)] if refs else None


def iter_shard(path: str | os.PathLike, fields: Sequence[str] | None = None) -> Iterator[dict]:
    """Samples of one shard as dicts of numpy arrays / dicts (see :func:`iter_samples`)."""
    character, refs = None, None
    for key, rec in iter_records(path):
        if "spec.json" in rec:  # a character record: its spec (and, for sheets, its references)
            character = decode_field("spec.json", rec["spec.json"])
            refs = _references(rec)
            continue
        yield _sample(key, rec, character, refs, fields)


def iter_samples(folder: str | os.PathLike, split: str | None = "train",
                 fields: Sequence[str] | None = None) -> Iterator[dict]:
    """Every sample of ``split`` in file order, without torch: ``{"key", "character", "rgba" or
    "drawing" (uint8 [H, W, 4] / [H, W, 3]), "mask", "parts", "lineart", "depth" (uint8 [H, W]),
    "normal" (uint8 [H, W, 3]), "udp" (float32 [H, W, 4]), "openpose", "meta" (dicts),
    "keypoints" (float32 [18, 3]), "spec" (dict), "refs" (sheets: list of dicts)}``.
    ``fields`` keeps only those names."""
    for p in shard_paths(folder, split):
        yield from iter_shard(p, fields)


def _worker_shards(shards: list, worker: int, workers: int, rank: int, world: int) -> list:
    return [s for i, s in enumerate(shards) if i % workers == worker and (i // workers) % world == rank]


def load(folder: str | os.PathLike, split: str = "train", fields: Sequence[str] | None = None, transform=None):
    """A ``torch.utils.data.IterableDataset`` streaming the samples of ``split`` (dicts as
    :func:`iter_samples`, passed through ``transform`` when given), sharded across DataLoader
    workers and distributed ranks. The shard list is read (and checked) now."""
    try:
        import torch.utils.data as tud
    except ImportError:
        from kyara.errors import missing_extra

        raise missing_extra("the dataset reader", "diffusion", "torch") from None
    shards = [str(p) for p in shard_paths(folder, split)]
    keep = None if fields is None else tuple(fields)

    class KyaraShards(tud.IterableDataset):
        def __init__(self) -> None:
            super().__init__()
            self.shards = shards

        def __iter__(self):
            info = tud.get_worker_info()
            worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
            rank, world = 0, 1
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                rank, world = dist.get_rank(), dist.get_world_size()
            for p in _worker_shards(self.shards, worker, workers, rank, world):
                for s in iter_shard(p, keep):
                    yield s if transform is None else transform(s)

    return KyaraShards()
