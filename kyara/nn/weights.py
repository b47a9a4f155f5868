"""Model weights as ``.safetensors`` with the model's config and card in the file's metadata.

Loading reads tensors and JSON only: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

CONFIG_KEY, CARD_KEY, KIND_KEY = "kyara.config", "kyara.card", "kyara.model"


def save_weights(path: str | os.PathLike, state: dict, kind: str, config: dict, card: dict | None = None,
                 half: bool = False) -> Path:
    """Write ``state`` (name → tensor) atomically with ``kind``, ``config`` and ``card`` as metadata.
    ``half``: store floating tensors as float16 (half the size; loading casts back to float32)."""
    import torch
    from safetensors.torch import save_file

    from kyara.fileio import atomic_path

    tensors = {}
    for k, v in state.items():
        t = v.detach().cpu().contiguous()
        if half and t.is_floating_point():
            t = t.half()
        tensors[k] = t.clone()
    meta = {KIND_KEY: kind, CONFIG_KEY: json.dumps(config, sort_keys=True),
            CARD_KEY: json.dumps(card or {}, sort_keys=True)}
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    del torch
    return path


def read_weights(path: str | os.PathLike, kind: str | None = None) -> tuple[dict, dict, dict]:
    """``(state, config, card)`` from a file written by :func:`save_weights`; float16 tensors come
    back as float32. ``kind`` given: the file must hold that kind of model."""
    import torch
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"weights '{p}' do not exist")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for a malformed header
        raise ValueError(f"weights '{p}' are not a readable .safetensors file ({type(e).__name__})") from None
    if kind is not None and meta.get(KIND_KEY) != kind:
        raise ValueError(f"weights '{p}' hold a '{meta.get(KIND_KEY)}' model, expected '{kind}'")
    state = {k: (v.float() if v.dtype == torch.float16 else v) for k, v in state.items()}
    try:
        config = json.loads(meta.get(CONFIG_KEY, "{}"))
        card = json.loads(meta.get(CARD_KEY, "{}"))
    except json.JSONDecodeError:
        raise ValueError(f"weights '{p}' carry a malformed config") from None
    return state, config, card


def load_model(path: str | os.PathLike, kind: str, build: Callable[[dict], Any]):
    """Build the model with ``build(config)`` and load its weights strictly; returns ``(model, config, card)``
    with the model in eval mode."""
    state, config, card = read_weights(path, kind)
    model = build(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"weights '{path}' do not fit the model: missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]}")
    model.eval()
    return model, config, card
