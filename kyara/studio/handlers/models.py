"""Image tab: the model picker's list of local models (no network) and the "get a model" guide.

:func:`scan_models` lists what can be picked without a download:

- diffusers pipelines in the Hugging Face cache (``models--owner--name/snapshots/*/model_index.json``
  under ``HF_HUB_CACHE`` / ``HUGGINGFACE_HUB_CACHE`` / ``HF_HOME/hub`` / ``~/.cache/huggingface/hub``),
  picked by their id (``owner/name``, which :func:`kyara.generate.models.resolve_model` finds in the cache);
- in the models folder (``kyara studio --models DIR``), down to :data:`SCAN_DEPTH` levels: diffusers
  folders (a ``model_index.json``) and single-file checkpoints (``.safetensors`` whose header names
  UNet weights; LoRAs, VAEs and ControlNets are left out). Pickled checkpoints (``.ckpt``, ``.pt``,
  ``.pth``, ``.bin``) are never offered: loading one can run code, so they are only counted, with
  the advice to convert them;
- the built-in smoke-test model ``tiny``, labelled as noise.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

TINY_LABEL = "tiny (noise: for testing)"
SCAN_DEPTH = 3  # folder levels searched below the models folder
MAX_ENTRIES = 2000  # files and folders looked at in the models folder, at most
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")
HEADER_MAX = 64 * 2**20  # bytes: a larger safetensors header is not a checkpoint's
# tensor-name prefixes of single-file checkpoints (SD1.5/SD2 and SDXL: the UNet's weights)
_CHECKPOINT_KEYS = ("model.diffusion_model.",)

RECOMMENDED = (  # (id, family, size): docs/image_generation.md's known-good anime models
    ("stablediffusionapi/anything-v5", "SD1.5", "512x768"),
    ("Lykon/AnyLoRA", "SD1.5", "512x768"),
    ("gsdf/Counterfeit-V2.5", "SD1.5", "512x768"),
    ("cagliostrolab/animagine-xl-3.1", "SDXL", "832x1216"),
)


@dataclass
class ModelScan:
    choices: list[tuple[str, str]]  # (label shown, value given to the generator), tiny last
    skipped: list[str] = field(default_factory=list)  # one line each: what was found but not offered


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder the way ``huggingface_hub`` finds it (environment first)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface" / "hub"


def cached_pipelines(cache: str | os.PathLike | None = None) -> list[str]:
    """Ids (``owner/name``) of the diffusers pipelines in the hub cache ``cache`` (default
    :func:`hub_cache_dir`): a snapshot holding ``model_index.json``. Sorted; [] without a cache."""
    root = Path(cache) if cache is not None else hub_cache_dir()
    out = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for d in entries:
        if not d.name.startswith("models--") or d.name.count("--") < 2:
            continue
        try:
            found = any((s / "model_index.json").is_file() for s in (d / "snapshots").iterdir())
        except OSError:
            found = False
        if found:
            owner, name = d.name.removeprefix("models--").split("--", 1)
            out.append(f"{owner}/{name}")
    return out


def safetensors_keys(path: str | os.PathLike) -> list[str]:
    """The tensor names in a ``.safetensors`` file's header (no tensor is read). ``ValueError`` when
    the file is not a safetensors file."""
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"'{p.name}' is too short for a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if not 2 <= n <= HEADER_MAX or n + 8 > p.stat().st_size:
            raise ValueError(f"'{p.name}' has a header of {n} bytes, expected a safetensors file")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError(f"'{p.name}' has no JSON header, expected a safetensors file") from None
    if not isinstance(header, dict):
        raise ValueError(f"'{p.name}' has a header that is not an object, expected a safetensors file")
    return [k for k in header if k != "__metadata__"]


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether a ``.safetensors`` file is a whole Stable Diffusion checkpoint (its UNet's weights
    under ``model.diffusion_model.``), not a LoRA, VAE or ControlNet."""
    try:
        keys = safetensors_keys(path)
    except (OSError, ValueError):
        return False
    return any(k.startswith(_CHECKPOINT_KEYS) for k in keys)


def _walk(root: Path, depth: int, budget: list[int]):
    """Entries below ``root`` (folders first, breadth of one level at a time), sorted, hidden skipped."""
    try:
        entries = sorted(e for e in root.iterdir() if not e.name.startswith("."))
    except OSError:
        return
    for e in entries:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        yield e
        if e.is_dir() and depth > 1 and not (e / "model_index.json").is_file():
            yield from _walk(e, depth - 1, budget)


def scan_models(models_dir: str | os.PathLike | None = None, cache: str | os.PathLike | None = None,
                include_cache: bool = True) -> ModelScan:
    """The model picker's choices, (label, value) pairs: the models folder's diffusers folders and
    single-file checkpoints (value: the path), the hub cache's pipelines (value: the id), then
    ``tiny`` labelled :data:`TINY_LABEL`. Reads no weights and makes no network call."""
    choices: list[tuple[str, str]] = []
    skipped: list[str] = []
    if models_dir is not None:
        root = Path(models_dir)
        pickles = 0
        for e in _walk(root, SCAN_DEPTH, [MAX_ENTRIES]):
            rel = e.relative_to(root).as_posix()
            if e.is_dir() and (e / "model_index.json").is_file():
                choices.append((f"{rel} (folder)", str(e)))
            elif e.is_file() and e.suffix.lower() == ".safetensors" and is_checkpoint(e):
                choices.append((f"{rel} (single file)", str(e)))
            elif e.is_file() and e.suffix.lower() in PICKLE_SUFFIXES and e.stat().st_size > 2**20:
                pickles += 1
        if pickles:
            skipped.append(f"{pickles} pickled checkpoint(s) (.ckpt/.pt/.bin) not offered: loading one can run "
                           "code; convert to .safetensors")
    if include_cache:
        choices += [(f"{i} (Hugging Face cache)", i) for i in cached_pipelines(cache)]
    choices.append((TINY_LABEL, "tiny"))
    return ModelScan(choices, skipped)


def check_pipeline_folder(path: str | os.PathLike) -> None:
    """A diffusers folder picked as the model must hold the parts every Stable Diffusion pipeline
    loads (``unet`` or ``transformer``, ``vae``, ``text_encoder``, ``tokenizer``, ``scheduler``);
    one-line ``ValueError`` naming the folder (by its name) and what is missing, before any weights load."""
    p = Path(path)
    need = [("unet", "transformer"), ("vae",), ("text_encoder",), ("tokenizer",), ("scheduler",)]
    missing = [alts[0] for alts in need if not any((p / a).is_dir() for a in alts)]
    if missing:
        raise ValueError(f"model folder '{p.name}' has no {', '.join(missing)}, expected a whole diffusers "
                         "pipeline (save_pretrained or hf download of a pipeline, not a single part)")


def model_guide(models_dir: str | os.PathLike | None = None) -> str:
    """The "get a model" guide beside the picker (markdown)."""
    rows = "\n".join(f"- `{i}` ({fam}, {size})" for i, fam, size in RECOMMENDED)
    where = (f"the models folder this studio scans (`--models`; ask whoever started it)" if models_dir is not None
             else "a folder you then pass as `kyara studio --models DIR`")
    return ("**Get a model.** Anime models that work well with kyara:\n" + rows +
            "\n\nDownload one into the Hugging Face cache (once, online), then press the refresh button:\n"
            "`hf download stablediffusionapi/anything-v5` (older installs: `huggingface-cli download ...`).\n"
            f"A single `.safetensors` checkpoint (e.g. from Civitai) goes into {where}. "
            "`tiny` only makes colour noise: it tests the pipeline, it is not an artist's model.")


NO_MODEL = ("**No model selected.** Pick one in the **model** list (top right), or get one: "
            "`hf download stablediffusionapi/anything-v5` (SD1.5 anime), then refresh the list. "
            "`tiny (noise: for testing)` runs without a download but makes only noise.")
