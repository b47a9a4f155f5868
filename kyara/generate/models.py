"""Where weights come from: ids, folders, single files, the tiny model; offline and safety checks.

Every check here runs before any weight is read, so a wrong input costs milliseconds:

- ``tiny`` / ``tiny-sdxl`` -> the locally built tiny model (:mod:`kyara.generate.tiny`).
- an existing folder -> a diffusers folder; an existing ``.safetensors`` file -> a single-file
  checkpoint (civitai style) read with a local diffusers config folder; ``.ckpt``/``.pt``/``.pth``/
  ``.bin`` pickles are refused unless ``allow_pickle``.
- ``owner/name`` -> the local Hugging Face cache first; when it is not there and the hub cannot
  be reached (``HF_HUB_OFFLINE`` set, or a 3-second connection test fails), one line at once.
- base/ControlNet/LoRA families are compared from configs and safetensors headers.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_FAMILY_BY_CROSS = {768: "SD1.5", 1024: "SD2", 2048: "SDXL"}


@dataclass(frozen=True)
class ModelSource:
    """A resolved model reference. ``kind``: tiny | folder | single_file | hub."""

    name: str  # what the user wrote
    kind: str
    path: str  # folder, file or hub id
    local_only: bool = True  # load with local_files_only


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 3.0) -> bool:
    """False when ``HF_HUB_OFFLINE`` is set or the hub endpoint cannot be connected to within
    ``timeout`` seconds (DNS included, done in a daemon thread so it can never hang us)."""
    if _truthy("HF_HUB_OFFLINE"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    m = re.match(r"^\w+://([^/:]+)(?::(\d+))?", endpoint)
    if not m:
        return False
    host, port = m.group(1), int(m.group(2) or 443)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    return bool(result and result[0])


def in_hub_cache(repo_id: str, filename: str, subfolder: str | None = None) -> bool:
    """Whether ``filename`` of ``repo_id`` is in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    fname = f"{subfolder}/{filename}" if subfolder else filename
    try:
        found = try_to_load_from_cache(repo_id, fname)
    except ValueError:  # malformed id
        return False
    return isinstance(found, str)


def offline_error(name: str) -> ValueError:
    return ValueError(f"model '{name}' is not in the local cache and the hub cannot be reached; "
                      f"download it with 'hf download {name}' or pass a local folder")


def resolve_model(name: str, *, what: str = "model", config_file: str = "model_index.json",
                  allow_pickle: bool = False) -> ModelSource:
    """Resolve ``--model`` / ``--controlnet`` / ``--vae`` text to a :class:`ModelSource`.

    Raises ``FileNotFoundError`` for a path that does not exist, ``ValueError`` for a refused
    pickle, a malformed id, or a hub id that is neither cached nor downloadable right now.
    """
    from kyara.generate.tiny import TINY_MODELS

    text = str(name).strip()
    if not text:
        raise ValueError(f"{what} is empty, expected a Hugging Face id, a local path or 'tiny'")
    if text in TINY_MODELS:
        return ModelSource(text, "tiny", text)
    p = Path(text).expanduser()
    if p.is_dir():
        if not (p / config_file).is_file():
            raise ValueError(f"{what} folder '{p}' has no {config_file}, expected a diffusers folder "
                             "(save_pretrained layout)")
        return ModelSource(text, "folder", str(p))
    if p.is_file():
        suffix = p.suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            if not allow_pickle:
                raise ValueError(f"{what} '{p}' is a pickle ({suffix}) that can run code when loaded; convert it "
                                 "to .safetensors or pass --allow-pickle if you trust it")
            return ModelSource(text, "single_file", str(p))
        if suffix == ".safetensors":
            return ModelSource(text, "single_file", str(p))
        raise ValueError(f"{what} file '{p}' has suffix '{suffix}', expected .safetensors or a diffusers folder")
    looks_like_path = text.startswith((".", "/", "~")) or os.sep in text.replace("/", "", 1) \
        or p.suffix.lower() in (".safetensors",) + PICKLE_SUFFIXES or text.count("/") > 1
    if looks_like_path:
        raise FileNotFoundError(f"{what} '{text}' does not exist, expected a local folder, a .safetensors file, "
                                "a Hugging Face id (owner/name) or 'tiny'")
    if not _HUB_ID.match(text):
        raise ValueError(f"{what} '{text}' is not a local path, 'tiny' or a Hugging Face id (owner/name)")
    if in_hub_cache(text, config_file):
        return ModelSource(text, "hub", text, local_only=True)
    if not hub_reachable():
        raise offline_error(text)
    return ModelSource(text, "hub", text, local_only=False)


def load_config(src: ModelSource, filename: str = "config.json", subfolder: str | None = None) -> dict | None:
    """A JSON config of a folder or cached hub model, or None (single files, not downloaded yet)."""
    path: str | None = None
    if src.kind in ("folder", "tiny"):
        base = Path(src.path) if src.kind == "folder" else None
        if base is None:
            from kyara.generate.tiny import tiny_model_dir

            base = tiny_model_dir(src.path)
        f = base / subfolder / filename if subfolder else base / filename
        path = str(f) if f.is_file() else None
    elif src.kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        fname = f"{subfolder}/{filename}" if subfolder else filename
        found = try_to_load_from_cache(src.path, fname)
        path = found if isinstance(found, str) else None
    if path is None:
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


# -- families ----------------------------------------------------------------------------------
def family_of(unet_config: dict) -> str:
    """``SDXL``, ``SD1.5``, ``SD2`` or ``cross-attention N`` (tiny models) from a UNet/ControlNet config."""
    cross = unet_config.get("cross_attention_dim")
    if isinstance(cross, list):
        cross = cross[0]
    xl = unet_config.get("addition_embed_type") == "text_time"
    name = _FAMILY_BY_CROSS.get(int(cross)) if cross is not None else None
    if name is None:
        name = f"cross-attention {cross}"
        return f"SDXL-like ({name})" if xl else name
    return name


def native_size(xl: bool, unet_config: dict | None) -> tuple[int, int]:
    """(width, height) pixels a base model was trained at, from its configs: SDXL 1024x1024; an SD2
    UNet with ``sample_size`` 96 (the 768-v models) 768x768; everything else (SD1.5, SD2-base, tiny
    models, unknown configs) 512x512."""
    cfg = unet_config or {}
    if xl or cfg.get("addition_embed_type") == "text_time":
        return 1024, 1024
    cross = cfg.get("cross_attention_dim")
    if isinstance(cross, list):
        cross = cross[0]
    if cross == 1024 and cfg.get("sample_size") == 96:
        return 768, 768
    return 512, 512


def check_controlnet_base(cn_name: str, cn_config: dict, base_name: str, unet_config: dict) -> None:
    """One-line ``ValueError`` when a ControlNet was made for another base model family."""
    same = (cn_config.get("cross_attention_dim") == unet_config.get("cross_attention_dim")
            and (cn_config.get("addition_embed_type") == "text_time") == (unet_config.get("addition_embed_type") == "text_time"))
    if not same:
        raise ValueError(f"ControlNet '{cn_name}' is for {family_of(cn_config)} but model '{base_name}' is "
                         f"{family_of(unet_config)}, expected a ControlNet made for {family_of(unet_config)}")


def lora_cross_attention_dim(path: str | os.PathLike) -> tuple[int | None, bool]:
    """(cross-attention width the LoRA's ``attn2.to_k`` expects, whether it has SDXL's second text
    encoder) read from the safetensors header only. Supports diffusers/peft and kohya key layouts."""
    from safetensors import safe_open

    cross, te2 = None, False
    with safe_open(str(path), framework="pt") as fh:
        for key in fh.keys():
            k = key.replace(".", "_")
            if "text_encoder_2" in k or "lora_te2_" in k:
                te2 = True
            if cross is None and "attn2" in k and "to_k" in k and ("lora_A" in k or "lora_down" in k) \
                    and k.endswith("weight") and ("unet" in k or "lora_unet" in k or k.startswith("down") or "blocks" in k):
                cross = int(fh.get_slice(key).get_shape()[1])
    return cross, te2


def check_lora_base(lora_path: str, base_name: str, unet_config: dict) -> None:
    """One-line ``ValueError`` when a LoRA was trained for another base family."""
    cross, te2 = lora_cross_attention_dim(lora_path)
    base_cross = unet_config.get("cross_attention_dim")
    base_xl = unet_config.get("addition_embed_type") == "text_time"
    lora_family = _FAMILY_BY_CROSS.get(cross, f"cross-attention {cross}") if cross else ("SDXL" if te2 else None)
    wrong = (cross is not None and cross != base_cross) or (te2 and not base_xl)
    if wrong:
        raise ValueError(f"LoRA '{lora_path}' is for {lora_family} but model '{base_name}' is {family_of(unet_config)}, "
                         f"expected a LoRA made for {family_of(unet_config)}")


def check_safetensors(path: str, what: str) -> None:
    """A readable safetensors header, else a one-line ``ValueError`` naming the file."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            next(iter(fh.keys()), None)
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise ValueError(f"{what} '{path}' is not a readable .safetensors file ({type(exc).__name__})") from None
