"""PNG text chunks that make every image reproducible.

- ``parameters``: AUTOMATIC1111's layout, read by civitai, A1111 "PNG info" and most image tools::

      <prompt>
      Negative prompt: <negative>
      Steps: 30, Sampler: Euler a, CFG scale: 7.5, Seed: 0, Size: 512x512, Model: tiny, Clip skip: 2

- ``kyara``: the full :class:`~kyara.generate.config.ImageConfig` as JSON (exact reproduction).

:func:`read_png_config` prefers the JSON chunk and falls back to parsing ``parameters``, so
``kyara image --from`` also takes PNGs written by AUTOMATIC1111.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

from kyara.generate.config import ControlSpec, ImageConfig, LoraSpec

JSON_KEY = "kyara"
A1111_KEY = "parameters"


def a1111_parameters(cfg: ImageConfig) -> str:
    """The ``parameters`` text of one image's config."""
    from kyara.generate.schedulers import a1111_label

    fields = [("Steps", cfg.steps), ("Sampler", a1111_label(cfg.scheduler)), ("CFG scale", cfg.guidance),
              ("Seed", cfg.seed), ("Size", f"{cfg.width}x{cfg.height}"), ("Model", Path(str(cfg.model)).name)]
    if cfg.clip_skip != 1:
        fields.append(("Clip skip", cfg.clip_skip))
    if cfg.init_image:
        fields.append(("Denoising strength", cfg.denoise))
    if cfg.hires_scale > 1.0:
        fields += [("Hires upscale", cfg.hires_scale), ("Denoising strength", cfg.hires_denoise)]
        if cfg.hires_upscaler != "lanczos":
            fields.append(("Hires upscaler", f"Real-ESRGAN {cfg.hires_upscaler}"))
    if cfg.upscale > 1:
        fields += [("Postprocess upscale by", cfg.upscale), ("Postprocess upscaler", f"Real-ESRGAN {cfg.upscale_model}")]
    for i, c in enumerate(cfg.controlnets):
        fields.append((f"ControlNet {i}", f'"Module: {c.kind}, Model: {c.model}, Weight: {c.strength}, '
                                          f'Guidance Start: {c.start}, Guidance End: {c.end}"'))
    prompt = cfg.prompt + "".join(f" <lora:{Path(lo.path).stem}:{lo.weight}>" for lo in cfg.loras)
    text = prompt + "\n"
    if cfg.negative_prompt:
        text += f"Negative prompt: {cfg.negative_prompt}\n"
    return text + ", ".join(f"{k}: {v}" for k, v in fields)


def png_info(cfg: ImageConfig):
    """A ``PIL.PngImagePlugin.PngInfo`` holding both chunks (UTF-8 iTXt)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt(A1111_KEY, a1111_parameters(cfg))
    info.add_itxt(JSON_KEY, json.dumps(cfg.to_dict(), ensure_ascii=False, sort_keys=True))
    return info


def save_png(image, path: str | os.PathLike, cfg: ImageConfig) -> Path:
    """Write ``image`` (PIL) with its parameters, atomically."""
    from kyara.fileio import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", pnginfo=png_info(cfg))
    return path


def read_png_text(path: str | os.PathLike) -> dict[str, str]:
    """The text chunks of an image (every pixel decoded first: text after the image data counts).
    Decompression bombs, corrupt and truncated files raise a one-line ``ValueError``."""
    from kyara.fileio import load_image

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--from '{p}' does not exist, expected a PNG written by kyara or AUTOMATIC1111")
    im = load_image(p, "--from")
    try:
        return {k: v for k, v in (getattr(im, "text", None) or {}).items() if isinstance(k, str) and isinstance(v, str)}
    finally:
        im.close()


_FIELD = re.compile(r'\s*([\w \-/+]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def parse_a1111(text: str) -> ImageConfig:
    """Parse AUTOMATIC1111 ``parameters`` text into an :class:`ImageConfig` (fields kyara knows)."""
    from kyara.generate.schedulers import from_a1111_label

    lines = text.strip().split("\n")
    if not lines or not lines[-1].strip():
        raise ValueError("the 'parameters' text is empty, expected AUTOMATIC1111 parameters")
    last = lines[-1] if "Steps:" in lines[-1] else ""
    body = lines[:-1] if last else lines
    prompt_lines, neg_lines, in_neg = [], [], False
    for line in body:
        if line.startswith("Negative prompt:"):
            in_neg = True
            line = line[len("Negative prompt:"):].strip()
        (neg_lines if in_neg else prompt_lines).append(line)
    prompt = "\n".join(prompt_lines)
    loras = tuple(LoraSpec(f"{m.group(1)}.safetensors", float(m.group(2)))
                  for m in re.finditer(r"<lora:([^:>]+):([-+.\d]+)>", prompt))
    prompt = re.sub(r"\s*<lora:[^>]*>", "", prompt).strip()
    fields = {m.group(1).strip(): m.group(2).strip().strip('"') for m in _FIELD.finditer(last)}
    changes: dict = {}
    try:
        if "Steps" in fields:
            changes["steps"] = int(fields["Steps"])
        if "CFG scale" in fields:
            changes["guidance"] = float(fields["CFG scale"])
        if "Seed" in fields:
            changes["seed"] = int(fields["Seed"])
        if "Size" in fields:
            w, h = fields["Size"].lower().split("x")
            changes["width"], changes["height"] = int(w), int(h)
        else:  # no size stored: the model's own, as when --size is left out
            changes["size_from_model"] = True
        if "Clip skip" in fields:
            changes["clip_skip"] = int(fields["Clip skip"])
    except ValueError:
        raise ValueError(f"the 'parameters' line '{last}' has a malformed number") from None
    if "Sampler" in fields:
        name = from_a1111_label(fields["Sampler"] + (" Karras" if fields.get("Schedule type") == "Karras" else ""))
        if name:
            changes["scheduler"] = name
    if "Model" in fields:
        changes["model"] = fields["Model"]
    return ImageConfig(prompt=prompt, negative_prompt="\n".join(neg_lines), loras=loras, **changes)


def read_png_config(path: str | os.PathLike) -> ImageConfig:
    """The config stored in a PNG: the ``kyara`` JSON chunk, else AUTOMATIC1111 ``parameters``.

    The file is not trusted: the JSON must be an object whose fields have the types of
    :class:`ImageConfig` (checked here, one line naming the field), and ``allow_pickle`` is never
    taken from a file: loading a pickled checkpoint needs the user's own ``--allow-pickle``.
    """
    text = read_png_text(path)
    if JSON_KEY in text:
        try:
            data = json.loads(text[JSON_KEY], parse_constant=_finite_only)
        except json.JSONDecodeError as e:
            raise ValueError(f"--from '{path}' has a malformed '{JSON_KEY}' chunk ({e.msg})") from None
        except RecursionError:
            raise ValueError(f"--from '{path}' has a '{JSON_KEY}' chunk nested too deeply, expected a flat JSON "
                             "object") from None
        except ValueError as e:  # NaN/Infinity tokens, integers of thousands of digits
            raise ValueError(f"--from '{path}' has a malformed '{JSON_KEY}' chunk ({' '.join(str(e).split())})") from None
        try:
            return config_from_json(data)
        except ValueError as e:
            raise ValueError(f"--from '{path}': {e}") from None
    if A1111_KEY in text:
        try:
            return parse_a1111(text[A1111_KEY])
        except ValueError as e:
            raise ValueError(f"--from '{path}': {e}") from None
    raise ValueError(f"--from '{path}' has no '{JSON_KEY}' or '{A1111_KEY}' text chunk, expected a PNG written by "
                     "kyara image or AUTOMATIC1111")


def _finite_only(name: str):
    raise ValueError(f"{name} is not a number, expected finite numbers")


# annotation of an ImageConfig field -> the JSON types it takes (float fields take integers too)
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "str | None": (str, type(None)), "int": (int,), "float": (int, float), "bool": (bool,),
    "bool | None": (bool, type(None)),
}
_ITEM_FIELDS = {"controlnets": ControlSpec, "loras": LoraSpec}


def _type_ok(value, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:  # true is not 1 here
        return False
    return isinstance(value, types)


def _shown(value) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(types: tuple[type, ...]) -> str:
    names = {str: "text", int: "an integer", float: "a number", bool: "true or false", type(None): "null"}
    return " or ".join(dict.fromkeys(names[t] for t in types if not (t is int and float in types)))


def config_from_json(data) -> ImageConfig:
    """An :class:`ImageConfig` from the ``kyara`` chunk's JSON, every field's type checked.

    Raises ``ValueError`` naming the field (``controlnets[0].strength``) and what it expected;
    ranges are checked later by :meth:`ImageConfig.check`. ``allow_pickle`` is always False.
    """
    if not isinstance(data, dict):
        raise ValueError(f"the '{JSON_KEY}' chunk is {_shown(data)}, expected a JSON object")
    fields = {f.name: f for f in dataclasses.fields(ImageConfig)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)[:200]}, expected only ImageConfig fields")
    if "prompt" not in data:
        raise ValueError("no 'prompt' field, expected one")
    changes: dict = {}
    for name, value in data.items():
        if name in _ITEM_FIELDS:
            changes[name] = tuple(_item(_ITEM_FIELDS[name], v, f"{name}[{i}]") for i, v in enumerate(
                _list(value, name)))
        elif name == "embeddings":
            changes[name] = tuple(_typed(v, (str,), f"{name}[{i}]") for i, v in enumerate(_list(value, name)))
        elif name == "control_images":
            pairs = []
            for i, v in enumerate(_list(value, name)):
                if not (isinstance(v, list) and len(v) == 2):
                    raise ValueError(f"{name}[{i}] is {_shown(v)}, expected a pair [kind, image file]")
                pairs.append((_typed(v[0], (str,), f"{name}[{i}][0]"), _typed(v[1], (str,), f"{name}[{i}][1]")))
            changes[name] = tuple(pairs)
        else:
            types = _SIMPLE_TYPES.get(str(fields[name].type))
            if types is None:  # a new field kind: refuse until this reader knows it
                raise ValueError(f"field '{name}' cannot be read from a file")
            changes[name] = _typed(value, types, name)
    changes["allow_pickle"] = False
    return ImageConfig(**changes)


def _list(value, name: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{name} is {_shown(value)}, expected a list")
    if len(value) > 64:
        raise ValueError(f"{name} has {len(value)} entries, expected at most 64")
    return value


def _typed(value, types: tuple[type, ...], name: str):
    if not _type_ok(value, types):
        raise ValueError(f"{name} is {_shown(value)}, expected {_expected(types)}")
    return value


def _item(cls, value, name: str):
    if not isinstance(value, dict):
        raise ValueError(f"{name} is {_shown(value)}, expected a JSON object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ValueError(f"{name} has unknown field(s) {', '.join(unknown)[:200]}, expected {', '.join(fields)}")
    missing = [n for n, f in fields.items() if f.default is dataclasses.MISSING and n not in value]
    if missing:
        raise ValueError(f"{name} has no '{missing[0]}', expected one")
    return cls(**{k: _typed(v, _SIMPLE_TYPES[str(fields[k].type)], f"{name}.{k}") for k, v in value.items()})
