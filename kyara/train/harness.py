"""Seeded, resumable training with checkpoints, validation logs and a model card.

Determinism: batch ``k`` must be a pure function of ``(seed, k)`` (the recipe's
:meth:`Recipe.batch`), so a run resumed from the checkpoint of step ``k`` continues with exactly
the batches an uninterrupted run would have used. The checkpoint holds the model (parameters and
buffers), the optimizer state and the step, all as tensors in one ``.safetensors`` file written
atomically; it is never unpickled. On the same machine and thread count a resumed run ends with
the same weights as an uninterrupted one.

Files in the run folder: ``checkpoint.safetensors`` (latest), ``log.jsonl`` (one JSON object per
logged step: ``{"step", "time_s", "loss", ...}`` and validation rows with ``"val": true``),
``model.safetensors`` + ``model_card.md`` (at the end, :func:`export`).
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

CHECKPOINT, LOG, MODEL, CARD = "checkpoint.safetensors", "log.jsonl", "model.safetensors", "model_card.md"


@dataclass
class TrainConfig:
    """What every training run shares. ``checkpoint_s``: seconds between checkpoints;
    ``validate_every``: steps between validations (0 = only at the end)."""

    steps: int = 1000
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    seed: int = 0
    threads: int = 0  # torch threads (0 = leave torch's default)
    checkpoint_s: float = 180.0
    checkpoint_steps: int = 0  # also checkpoint every this many steps (0 = by time only)
    validate_every: int = 500
    log_every: int = 20
    max_seconds: float = 0.0  # stop (with a checkpoint) after this much training time in this session; 0 = no limit
    extra: dict = field(default_factory=dict)


class Recipe(Protocol):
    """A trainable model. ``kind`` names it in its weight files."""

    kind: str

    def config(self) -> dict: ...  # the architecture config stored with the weights
    def build(self, config: dict) -> torch.nn.Module: ...
    def batch(self, step: int) -> dict: ...  # pure function of (seed, step)
    def loss(self, model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, dict]: ...
    def validate(self, model: torch.nn.Module) -> dict: ...  # model in eval mode, no grad
    def card(self) -> dict: ...  # data description for the model card


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``cfg.lr``, then cosine decay to 2 % of it at ``cfg.steps``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * t)))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    plain = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": plain, "weight_decay": 0.0}], lr=cfg.lr)


# ---------------------------------------------------------------- checkpoints

def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"opt.{idx}.{k}"] = t.detach().cpu().contiguous().clone()
    return tensors, {"param_groups": sd["param_groups"]}


def _unflatten_optimizer(opt: torch.optim.Optimizer, tensors: dict, groups: dict) -> None:
    state: dict[int, dict] = {}
    for name, t in tensors.items():
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = t
    opt.load_state_dict({"state": state, "param_groups": groups["param_groups"]})


def save_checkpoint(folder: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int,
                    info: dict) -> Path:
    """Model + optimizer + step, atomically, as one safetensors file (no pickle)."""
    from safetensors.torch import save_file

    from kyara.fileio import atomic_path

    tensors = {f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    opt_tensors, groups = _flatten_optimizer(opt)
    tensors.update(opt_tensors)
    meta = {"step": str(step), "optimizer": json.dumps(groups), "info": json.dumps(info, sort_keys=True)}
    path = folder / CHECKPOINT
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def load_checkpoint(folder: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[int, dict]:
    """Restore model and optimizer from ``folder``'s checkpoint; returns ``(step, info)``."""
    from safetensors import safe_open

    with safe_open(str(folder / CHECKPOINT), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    _unflatten_optimizer(opt, {k: v for k, v in tensors.items() if k.startswith("opt.")},
                         json.loads(meta["optimizer"]))
    return int(meta["step"]), json.loads(meta.get("info", "{}"))


def _trim_log(path: Path, step: int) -> None:
    """Drop log rows of steps after ``step`` (written after the last checkpoint by a killed run)."""
    if not path.is_file():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the kill
        if int(row.get("step", 0)) <= step:
            keep.append(line)
    path.write_text("".join(x + "\n" for x in keep))


# ---------------------------------------------------------------- the loop

@dataclass
class TrainResult:
    step: int
    finished: bool
    train_seconds: float
    metrics: dict
    folder: Path


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"), disable=not enabled, transient=False)


def train(recipe: Recipe, cfg: TrainConfig, folder: str | os.PathLike, progress: bool | None = None) -> TrainResult:
    """Train ``recipe`` into ``folder``, resuming from its checkpoint when there is one.

    Returns when ``cfg.steps`` are done (then the final model is validated and exported) or when
    ``cfg.max_seconds`` of training have passed (a checkpoint is written; call again to go on).
    Ctrl-C writes a checkpoint before stopping."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    arch = recipe.config()
    model = recipe.build(arch)
    opt = make_optimizer(model, cfg)
    step, info = 0, {"train_seconds": 0.0}
    if (folder / CHECKPOINT).is_file():
        step, info = load_checkpoint(folder, model, opt)
        if info.get("arch") not in (None, arch):
            raise ValueError(f"the checkpoint in '{folder}' was trained with another architecture; "
                             "use a new folder")
    _trim_log(folder / LOG, step)
    info["arch"], info["config"] = arch, {k: v for k, v in asdict(cfg).items() if k != "max_seconds"}
    spent0, t0, last_ckpt = float(info.get("train_seconds", 0.0)), time.monotonic(), time.monotonic()
    step0 = step  # iterations/s in the progress bar count this session's steps
    metrics: dict = {}
    enabled = (progress if progress is not None else os.isatty(2))
    log = (folder / LOG).open("a")

    def spent() -> float:
        return spent0 + time.monotonic() - t0

    def checkpoint() -> None:
        nonlocal last_ckpt
        info["train_seconds"] = round(spent(), 3)
        save_checkpoint(folder, model, opt, step, info)
        last_ckpt = time.monotonic()

    def validate() -> dict:
        model.eval()
        with torch.no_grad():
            m = recipe.validate(model)
        model.train()
        row = {"step": step, "time_s": round(spent(), 1), "val": True, **m}
        log.write(json.dumps(row) + "\n")
        log.flush()
        return m

    kill_at = int(os.environ.get("KYARA_TRAIN_KILL_AT", "0") or 0)  # test hooks
    if os.environ.get("KYARA_TRAIN_CHECKPOINT_STEPS"):
        cfg = replace(cfg, checkpoint_steps=int(os.environ["KYARA_TRAIN_CHECKPOINT_STEPS"]))
    model.train()
    try:
        with _progress(enabled) as bar:
            task = bar.add_task("train", total=cfg.steps, completed=step, info="")
            while step < cfg.steps:
                for g in opt.param_groups:
                    g["lr"] = lr_at(step, cfg)
                batch = recipe.batch(step)
                loss, parts = recipe.loss(model, batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                step += 1
                if step % cfg.log_every == 0 or step == cfg.steps:
                    row = {"step": step, "time_s": round(spent(), 1), "lr": round(lr_at(step - 1, cfg), 7),
                           "loss": round(float(loss.detach()), 6), **{k: round(float(v), 6) for k, v in parts.items()}}
                    log.write(json.dumps(row) + "\n")
                    log.flush()
                    rate = (step - step0) / max(time.monotonic() - t0, 1e-9)
                    bar.update(task, completed=step, info=f"loss {float(loss.detach()):.4f}, {rate:.2f} it/s")
                else:
                    bar.update(task, completed=step)
                if cfg.validate_every and step % cfg.validate_every == 0 and step < cfg.steps:
                    metrics = validate()
                    bar.update(task, info=" ".join(f"{k} {v:.3f}" for k, v in metrics.items()
                                                   if isinstance(v, float))[:80])
                if time.monotonic() - last_ckpt >= cfg.checkpoint_s or (
                        cfg.checkpoint_steps and step % cfg.checkpoint_steps == 0):
                    checkpoint()
                if kill_at and step == kill_at:  # test hook: die like kill -9, no clean-up at all
                    os.kill(os.getpid(), signal.SIGKILL)
                if cfg.max_seconds and time.monotonic() - t0 >= cfg.max_seconds and step < cfg.steps:
                    checkpoint()
                    return TrainResult(step, False, spent(), metrics, folder)
    except KeyboardInterrupt:
        checkpoint()
        raise
    finally:
        log.close()
    checkpoint()
    with (folder / LOG).open("a") as log:
        model.eval()
        with torch.no_grad():
            metrics = recipe.validate(model)
        log.write(json.dumps({"step": step, "time_s": round(spent(), 1), "val": True, "final": True,
                              **metrics}) + "\n")
    export(recipe, model, cfg, folder, step, spent(), metrics)
    return TrainResult(step, True, spent(), metrics, folder)


def hardware() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, {torch.get_num_threads()} threads"


def export(recipe: Recipe, model: torch.nn.Module, cfg: TrainConfig, folder: Path, step: int,
           seconds: float, metrics: dict, half: bool = False) -> Path:
    """``model.safetensors`` (config + card in its metadata) and ``model_card.md`` in ``folder``."""
    from kyara.fileio import atomic_path
    from kyara.nn.weights import save_weights

    card = {"model": recipe.kind, "steps": step, "train_minutes": round(seconds / 60.0, 1),
            "hardware": hardware(), "seed": cfg.seed, "lr": cfg.lr,
            "parameters": sum(p.numel() for p in model.parameters()), "metrics": metrics,
            "data": recipe.card()}
    if hasattr(recipe, "baselines"):  # what evaluation compares against, kept with the weights (not printed)
        card["baselines"] = recipe.baselines()
    path = save_weights(folder / MODEL, model.state_dict(), recipe.kind, recipe.config(), card, half=half)
    with atomic_path(folder / CARD) as tmp:
        tmp.write_text(model_card_text(card))
    return path


def model_card_text(card: dict) -> str:
    lines = [f"# {card.get('model', 'model')} — model card", ""]
    for k in ("steps", "train_minutes", "hardware", "seed", "lr", "parameters"):
        if k in card:
            lines.append(f"- **{k}**: {card[k]}")
    data = card.get("data", {})
    if data:
        lines += ["", "## Data", ""] + [f"- **{k}**: {v}" for k, v in data.items()]
    m = card.get("metrics", {})
    if m:
        lines += ["", "## Validation metrics (final)", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in m.items()]
    return "\n".join(lines) + "\n"
