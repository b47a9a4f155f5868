"""``kyara train sheet``: CoNR-lite's training recipe for :mod:`kyara.train.harness`.

Data: ``kyara dataset sheets`` folders (train split to learn, val split to validate; a tiny set
without a val split validates on its training characters), held in memory at the model's side
``S`` after CoNR's square crop (:mod:`kyara.sheet.prep`): references by their alpha box, targets by
their UDP occupancy box (the target's image is only the truth).

Batch ``k`` is a pure function of ``(seed, k)``: the number of references ``n`` (1..``max_refs``,
one per step), then per item a character, one of its targets, and ``n`` references drawn from its
sheet views and its *other* targets (so sheets of arbitrary poses are learnt too); each sheet view
uses the detector's UDP instead of the true one with probability ``detector_mix`` (when the
detector's weights exist: hand-made sheets have only predicted UDPs); the colour channels of
references and truth are permuted together half of the time (more character colours).

Loss: L1 over premultiplied RGBA (the whole image, CoNR's black background) plus half the L1 of
its horizontal and vertical differences (outlines). Validation: L1 RGB / RGBA of the model and of
B2 on fixed held-out tuples with every sheet reference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kyara.sheet.lookup import RefView, canonical, correspond, make_view
from kyara.sheet.model import KIND, SheetNetConfig, build, collate, pack_refs, pack_target
from kyara.sheet.prep import crop_image, crop_udp, premultiply, square_box

GRAD_WEIGHT = 0.5
FIELDS = ("rgba", "udp", "refs")


@dataclass
class Shot:
    """A target at side S: its UDP (the input), premultiplied truth, and itself as a reference."""

    udp: np.ndarray  # [S, S, 4]
    truth: np.ndarray  # [S, S, 4] premultiplied
    view: RefView | None  # None when it cannot serve as a reference (no foreground with UDP)


def sheet_view(rgba: np.ndarray, udp: np.ndarray, side: int, what: str = "reference") -> RefView:
    """A reference image (straight RGBA uint8 [H, W, 4]) and its UDP -> :class:`RefView` at ``side``
    (CoNR's square crop of the alpha box)."""
    box = square_box(rgba[..., 3] > 0, what)
    return make_view(crop_image(premultiply(rgba), box, side), crop_udp(udp, box, side), what)


def target_shot(rgba: np.ndarray, udp: np.ndarray, side: int) -> Shot | None:
    """A dataset target -> :class:`Shot` (cropped by its UDP occupancy box), or None when empty."""
    occ = udp[..., 3] > 0.5
    if occ.sum() < 4:
        return None
    box = square_box(occ, "target")
    u, truth = crop_udp(udp, box, side), crop_image(premultiply(rgba), box, side)
    try:
        view = make_view(truth, u, "target")
    except ValueError:
        view = None
    return Shot(u, truth, view)


@dataclass
class SheetPool:
    """Characters in memory: their sheet views, the detector's versions of them, their targets."""

    side: int
    names: list = field(default_factory=list)
    sheets: list = field(default_factory=list)  # [character] -> [RefView]
    predicted: list = field(default_factory=list)  # [character] -> [RefView | None] (detector UDP)
    shots: list = field(default_factory=list)  # [character] -> [Shot]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def targets(self) -> int:
        return sum(len(s) for s in self.shots)


def load_pool(folders, split: str, side: int, limit: int | None = None, detector=None) -> SheetPool:
    """Characters of ``split`` with at least one reference and one target (``limit`` characters at most)."""
    from kyara.dataset.reader import iter_samples

    pool = SheetPool(side)
    for folder in folders:
        current = None
        for s in iter_samples(folder, split, fields=FIELDS):
            if s["character"] != current:
                if limit is not None and len(pool) >= limit:
                    break
                refs = s.get("refs") or []
                views = [sheet_view(r["rgba"], r["udp"], side) for r in refs]
                pred = [_predicted(detector, r["rgba"], side) for r in refs] if detector is not None else \
                    [None] * len(views)
                current = s["character"]
                pool.names.append(current)
                pool.sheets.append(views)
                pool.predicted.append(pred)
                pool.shots.append([])
            shot = target_shot(s["rgba"], s["udp"], side)
            if shot is not None:
                pool.shots[-1].append(shot)
    keep = [i for i in range(len(pool)) if pool.sheets[i] and pool.shots[i]]
    for name in ("names", "sheets", "predicted", "shots"):
        setattr(pool, name, [getattr(pool, name)[i] for i in keep])
    return pool


def _predicted(detector, rgba: np.ndarray, side: int) -> RefView | None:
    """The reference with the detector's UDP (on white, as a user's plain-background sheet)."""
    from kyara.detect.io import as_rgb

    det = detector.predict(as_rgb(rgba))
    if det.udp is None:
        return None
    udp = np.clip(np.asarray(det.udp, dtype=np.float32), 0.0, 1.0)
    try:
        return sheet_view(rgba, udp, side, "reference (detector UDP)")
    except ValueError:
        return None


def _load_detector():
    """The shipped detector, or None when its weights are missing (the mix then uses true UDPs only)."""
    try:
        from kyara.detect.network import load_detector

        return load_detector()
    except FileNotFoundError:
        return None


def _rng(seed: int, step: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(step), 0x5348])


def pack_tuple(views, shot: Shot) -> dict:
    """References + target -> a packed sample (see :func:`kyara.sheet.model.pack_target`) with ``truth``."""
    import torch

    views = canonical(views)
    corr = correspond(views, shot.udp)
    item = {**pack_refs(views), **pack_target(corr, shot.udp)}
    item["truth"] = torch.from_numpy(np.ascontiguousarray(shot.truth)).permute(2, 0, 1).unsqueeze(0)
    return item


@dataclass
class SheetRecipe:
    """The recipe: ``data`` folders, batch size, architecture, references per step (1..``max_refs``)."""

    data: list
    seed: int = 0
    batch_size: int = 8
    arch: dict = field(default_factory=lambda: SheetNetConfig().to_dict())
    max_refs: int = 4
    detector_mix: float = 0.25
    val_count: int = 128
    train_limit: int | None = None
    detector: object = None  # a loaded detector; None: the shipped one when detector_mix > 0 (if it exists)
    kind: str = KIND

    def __post_init__(self) -> None:
        self.arch = SheetNetConfig.from_dict(dict(self.arch)).to_dict()
        side = int(self.arch["size"])
        if self.detector_mix > 0 and self.detector is None:
            self.detector = _load_detector()
        if self.detector is None:
            self.detector_mix = 0.0
        self.train_pool = load_pool(self.data, "train", side, self.train_limit, self.detector)
        if len(self.train_pool) == 0:
            raise ValueError(f"no sheet characters in {', '.join(map(str, self.data))} "
                             "(make them with kyara dataset sheets)")
        self.val_pool = load_pool(self.data, "val", side, max(1, self.val_count // 4))
        if len(self.val_pool) == 0:  # tiny test sets: validate on training characters
            self.val_pool = self.train_pool
        self.val_tuples = []
        for c in range(len(self.val_pool)):
            for shot in self.val_pool.shots[c]:
                if len(self.val_tuples) < self.val_count:
                    self.val_tuples.append((list(self.val_pool.sheets[c]), shot))
        self._val_b2 = None

    def config(self) -> dict:
        return dict(self.arch)

    def build(self, config: dict):
        return build(config)

    def card(self) -> dict:
        digest = hashlib.sha256("\n".join(sorted(self.train_pool.names)).encode()).hexdigest()[:12]
        return {"folders": [str(Path(d).name) for d in self.data], "train_characters": len(self.train_pool),
                "train_targets": self.train_pool.targets, "train_characters_digest": digest,
                "val_tuples": len(self.val_tuples), "batch_size": self.batch_size, "size": self.arch["size"],
                "references_per_step": f"1..{self.max_refs}", "detector_mix": self.detector_mix}

    # ------------------------------------------------------------------ batches

    def _item(self, rng: np.random.Generator, n: int) -> dict:
        pool = self.train_pool
        c = int(rng.integers(len(pool)))
        shots = pool.shots[c]
        j = int(rng.integers(len(shots)))
        sheet = [pool.predicted[c][k] if (self.detector_mix > 0 and pool.predicted[c][k] is not None
                                          and rng.random() < self.detector_mix) else v
                 for k, v in enumerate(pool.sheets[c])]
        others = [s.view for i, s in enumerate(shots) if i != j and s.view is not None]
        if rng.random() < 0.5:  # the sheet first, other targets only to reach n
            order = list(rng.permutation(len(sheet))) + [len(sheet) + int(i) for i in rng.permutation(len(others))]
        else:
            order = [int(i) for i in rng.permutation(len(sheet) + len(others))]
        everything = sheet + others
        views = [everything[i] for i in order[:n]]
        return pack_tuple(views, shots[j])

    def batch(self, step: int) -> dict:
        import torch

        rng = _rng(self.seed, step)
        n = int(rng.integers(1, self.max_refs + 1))
        n = min(n, min(len(self.train_pool.sheets[c]) + max(0, len(self.train_pool.shots[c]) - 1)
                       for c in range(len(self.train_pool))))
        b = collate([self._item(rng, n) for _ in range(self.batch_size)])
        if rng.random() < 0.5:  # the same colour-channel permutation for references and truth
            perm = torch.from_numpy(np.append(rng.permutation(3), 3))  # alpha stays
            b["ref_rgba"] = b["ref_rgba"][:, :, perm]  # [B, N, 4, S, S]
            b["ref_colour"] = b["ref_colour"][:, :, perm[:3]]  # [B, N, 3, S, S]
            b["truth"] = b["truth"][:, perm]  # [B, 4, S, S]
        return b

    def loss(self, model, batch: dict):
        out = model(batch)
        return sheet_loss(out["rgba"], batch["truth"], out["base"])

    # ------------------------------------------------------------------ validation

    def validate(self, model) -> dict:
        return validate_tuples(model, self.val_tuples)


def sheet_loss(pred, truth, base=None):
    """(loss, parts): L1 of premultiplied RGBA + :data:`GRAD_WEIGHT` x L1 of its image differences."""
    l1 = (pred - truth).abs().mean()
    dx = ((pred[..., :, 1:] - pred[..., :, :-1]) - (truth[..., :, 1:] - truth[..., :, :-1])).abs().mean()
    dy = ((pred[..., 1:, :] - pred[..., :-1, :]) - (truth[..., 1:, :] - truth[..., :-1, :])).abs().mean()
    parts = {"l1": l1.detach(), "grad": (dx + dy).detach()}
    if base is not None:
        parts["l1_base"] = (base - truth).abs().mean().detach()
    return l1 + GRAD_WEIGHT * (dx + dy), parts


def validate_tuples(model, tuples: list, chunk: int = 16) -> dict:
    """L1 RGB / RGBA (premultiplied, whole image) of the model and of its B2 base at initialisation
    (the lookup with the model's heads zeroed is B2 exactly) on ``(views, shot)`` tuples."""
    import torch

    from kyara.sheet.baselines import b2

    rows = {"l1_rgb": [], "l1_rgba": [], "l1_rgb_b2": []}
    groups: dict[int, list] = {}
    for views, shot in tuples:  # batch tuples with the same reference count
        groups.setdefault(len(views), []).append((views, shot))
    for _, items in sorted(groups.items()):
        for a in range(0, len(items), chunk):
            part = items[a:a + chunk]
            b = collate([pack_tuple(v, s) for v, s in part])
            with torch.no_grad():
                out = model(b)["rgba"].clamp(0, 1)
            err = (out - b["truth"]).abs()
            rows["l1_rgb"] += err[:, :3].mean(dim=(1, 2, 3)).tolist()
            rows["l1_rgba"] += err.mean(dim=(1, 2, 3)).tolist()
            for v, s in part:
                rows["l1_rgb_b2"].append(float(np.abs(b2(v, s.udp)[..., :3] - s.truth[..., :3]).mean()))
    m = {k: float(np.mean(v)) for k, v in rows.items()}
    m["gain_vs_b2"] = 1.0 - m["l1_rgb"] / max(m["l1_rgb_b2"], 1e-12)
    return m
