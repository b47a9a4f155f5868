"""What a dataset holds and how it is cut: :class:`DatasetConfig` and its deterministic plan.

The plan is a pure function of the config: character ``i`` (0-based) has the id
:func:`character_id` ``(seed, i)``, its split comes from a hash of that id
(:func:`split_of`), and each split's characters, in index order, are grouped
``shard_characters`` at a time into shards named ``{split}-{n:05d}.tar``. The same config gives
the same characters, splits and shard names on any machine, so a killed run can resume shard by
shard and a cluster run equals a single-process run.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field, fields

KINDS = ("poses", "sheets", "drawings")
SPLITS = ("train", "val", "test")
MAX_COUNT = 100_000_000
MAX_PER_CHARACTER = 1024
MIN_SIZE, MAX_SIZE = 32, 1024
MAX_SEED = 2**63 - 1
MAX_MOTION_FILES = 256


def _int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} {value!r} is out of range, expected an integer {low}..{high}")
    return int(value)


@dataclass(frozen=True)
class MotionFile:
    """A user's BVH clip (``--motion``) whose frames join the pose mix: its file name (what the
    samples' ``meta.json`` call it) and its bytes (what the workers parse). The arguments, and so
    the manifest, hold the name and the bytes' sha256. Made by
    :func:`kyara.dataset.sampling.read_motion_files`, which checks the file first."""

    name: str
    data: bytes = field(repr=False)

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def to_dict(self) -> dict:
        return {"name": self.name, "sha256": self.sha256}


@dataclass(frozen=True)
class DatasetConfig:
    """Arguments of a dataset (everything that decides its bytes; not where or how it runs).

    ``count`` samples in all, ``per_character`` per character (the last character takes what is
    left), each a ``size`` x ``size`` pixel render; ``views_per_pose`` cameras share one pose
    (posing costs more than a view). ``refs``: reference views per character of the ``sheets``
    kind. ``splits``: train/val/test fractions (summing to 1). ``motions``: the user's BVH clips
    (:class:`MotionFile`), drawn from like the built-in ones.
    """

    kind: str = "poses"  # KINDS
    count: int = 1024
    per_character: int = 16
    size: int = 128  # pixels per side
    seed: int = 0
    shard_characters: int = 16  # characters per shard
    views_per_pose: int = 8
    refs: int = 4  # sheets: reference views per character
    splits: tuple[float, float, float] = (0.9, 0.05, 0.05)
    motions: tuple[MotionFile, ...] = ()  # --motion files, in the order given

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"dataset kind '{self.kind}' is unknown, expected one of {', '.join(KINDS)}")
        _int("--count", self.count, 1, MAX_COUNT)
        _int("--per-character", self.per_character, 1, MAX_PER_CHARACTER)
        _int("--size", self.size, MIN_SIZE, MAX_SIZE)
        _int("--seed", self.seed, 0, MAX_SEED)
        _int("--shard-characters", self.shard_characters, 1, 100_000)
        _int("views_per_pose", self.views_per_pose, 1, 64)
        _int("--refs", self.refs, 1, 16)
        s = tuple(self.splits)
        if len(s) != 3 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                                  and 0.0 <= x <= 1.0 for x in s) or abs(sum(s) - 1.0) > 1e-6 or s[0] <= 0:
            raise ValueError(f"--splits {self.splits!r} is not valid, expected three fractions train,val,test "
                             "in [0, 1] summing to 1 with train > 0 (e.g. 0.9,0.05,0.05)")
        object.__setattr__(self, "splits", tuple(float(x) for x in s))
        motions = tuple(self.motions)
        if len(motions) > MAX_MOTION_FILES or not all(isinstance(m, MotionFile) for m in motions):
            raise ValueError(f"motions must be at most {MAX_MOTION_FILES} kyara.dataset.config.MotionFile "
                             "(read_motion_files makes them from --motion paths)")
        seen: set[str] = set()
        for m in motions:
            if m.name in seen:
                raise ValueError(f"--motion: two files are named '{m.name}', expected each clip once under its own name")
            seen.add(m.name)
        object.__setattr__(self, "motions", motions)
        # a shard holds at most ~256 MB: about 140 KB per 128 px sample, scaling with the area
        per_sample = 140e3 * (self.size / 128.0) ** 2 * (2 if self.kind == "sheets" else 1)
        shard_bytes = self.shard_characters * self.per_character * per_sample
        if shard_bytes > 256e6:
            raise ValueError(f"--shard-characters {self.shard_characters} makes shards of about "
                             f"{shard_bytes / 1e6:.0f} MB, expected at most 256 MB: use fewer characters per shard")

    @property
    def num_characters(self) -> int:
        return -(-self.count // self.per_character)

    def to_dict(self) -> dict:
        """The arguments as JSON (the manifest's ``args``): motion files as name and sha256, and
        left out when there are none (so the manifests of datasets without them stay as they were)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["splits"] = list(self.splits)
        d["motions"] = [m.to_dict() for m in self.motions]
        if not d["motions"]:
            del d["motions"]
        return d

    def motion_data(self) -> tuple[bytes, ...]:
        """The bytes of the motion files, in order: what :meth:`from_dict` needs besides the dict."""
        return tuple(m.data for m in self.motions)

    @classmethod
    def from_dict(cls, data: dict, motion_data: tuple[bytes, ...] = ()) -> "DatasetConfig":
        """The config of :meth:`to_dict`'s ``data``; ``motion_data``: :meth:`motion_data` of it
        (checked against the sha256 the dict holds)."""
        if not isinstance(data, dict):
            raise ValueError("dataset arguments are not a JSON object")
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(data) - known)
        if extra:
            raise ValueError(f"dataset arguments hold unknown keys {extra}")
        d = dict(data)
        if "splits" in d and isinstance(d["splits"], list):
            d["splits"] = tuple(d["splits"])
        listed = d.pop("motions", [])
        if not isinstance(listed, list) or len(listed) != len(motion_data):
            raise ValueError(f"dataset arguments name {len(listed) if isinstance(listed, list) else '?'} motion "
                             f"files, {len(motion_data)} were given")
        motions = []
        for entry, raw in zip(listed, motion_data):
            m = MotionFile(str(entry.get("name")), bytes(raw)) if isinstance(entry, dict) else None
            if m is None or m.sha256 != entry.get("sha256"):
                raise ValueError(f"motion file {entry!r} does not match the bytes given for it")
            motions.append(m)
        return cls(**d, motions=tuple(motions))


def check_ray_options(ray_address: str | None, workers: int | None) -> None:
    """The engine options shared by ``kyara dataset`` and ``kyara batch``: ``--ray ADDRESS`` joins a
    cluster, ``--workers N`` sizes the local instance (not both)."""
    if ray_address is not None and (not ray_address.strip() or any(c.isspace() for c in ray_address)):
        raise ValueError(f"--ray '{ray_address}' is not valid, expected host:port of a running Ray cluster or auto")
    if workers is not None and not 1 <= workers <= 4096:
        raise ValueError(f"--workers {workers} is out of range, expected 1..4096")
    if ray_address is not None and workers is not None:
        raise ValueError("--workers sizes the local Ray instance, expected no --workers with --ray")


def parse_splits(text: str) -> tuple[float, float, float]:
    """``--splits``: ``"0.9,0.05,0.05"`` (fractions) or ``"90,5,5"`` (percent) -> fractions."""
    items = [t.strip() for t in str(text).split(",")]
    try:
        vals = [float(t) for t in items]
    except ValueError:
        raise ValueError(f"--splits '{text}' is not valid, expected three numbers train,val,test (e.g. 90,5,5)") from None
    if len(vals) != 3 or not all(math.isfinite(v) and v >= 0 for v in vals) or sum(vals) <= 0:
        raise ValueError(f"--splits '{text}' is not valid, expected three non-negative numbers train,val,test")
    total = sum(vals)
    if abs(total - 1.0) > 1e-6 and abs(total - 100.0) > 1e-6:
        raise ValueError(f"--splits '{text}' sums to {total:g}, expected 1 (fractions) or 100 (percent)")
    return tuple(v / total for v in vals)  # type: ignore[return-value]


def character_id(seed: int, index: int) -> str:
    """The id of character ``index`` of the dataset with ``seed``: 12 hex digits, unique across
    seeds (datasets of different seeds can be merged), no dots (a WebDataset key)."""
    return hashlib.sha256(f"kyara-character:{int(seed)}:{int(index)}".encode()).hexdigest()[:12]


def split_of(cid: str, fractions: tuple[float, float, float]) -> str:
    """``train``/``val``/``test`` from a hash of the character id (never from its index), so a
    character always lands in the same split whatever the dataset's size."""
    u = int(hashlib.sha256(f"kyara-split:{cid}".encode()).hexdigest()[:13], 16) / float(16**13)
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


@dataclass(frozen=True)
class CharacterJob:
    """One character of the plan: its index, id, split and how many samples it gets."""

    index: int
    id: str
    split: str
    samples: int


@dataclass(frozen=True)
class ShardPlan:
    name: str  # "{split}-{n:05d}.tar"
    split: str
    characters: tuple[CharacterJob, ...]

    @property
    def samples(self) -> int:
        return sum(c.samples for c in self.characters)


def plan_characters(cfg: DatasetConfig) -> list[CharacterJob]:
    jobs = []
    for i in range(cfg.num_characters):
        cid = character_id(cfg.seed, i)
        n = min(cfg.per_character, cfg.count - i * cfg.per_character)
        jobs.append(CharacterJob(i, cid, split_of(cid, cfg.splits), n))
    return jobs


def plan_shards(cfg: DatasetConfig) -> list[ShardPlan]:
    """Every shard of the dataset, train shards first, then val, then test."""
    chars = plan_characters(cfg)
    out: list[ShardPlan] = []
    for split in SPLITS:
        mine = [c for c in chars if c.split == split]
        for n, s in enumerate(range(0, len(mine), cfg.shard_characters)):
            out.append(ShardPlan(f"{split}-{n:05d}.tar", split, tuple(mine[s:s + cfg.shard_characters])))
    return out
