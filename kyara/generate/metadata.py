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

import json
import os
import re
from pathlib import Path

from kyara.generate.config import ImageConfig, LoraSpec

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
    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--from '{p}' does not exist, expected a PNG written by kyara or AUTOMATIC1111")
    try:
        with Image.open(p) as im:
            im.load()
            return {k: v for k, v in getattr(im, "text", {}).items() if isinstance(v, str)}
    except OSError:
        raise ValueError(f"--from '{p}' is not a readable image, expected a PNG") from None


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
    """The config stored in a PNG: the ``kyara`` JSON chunk, else AUTOMATIC1111 ``parameters``."""
    text = read_png_text(path)
    if JSON_KEY in text:
        try:
            data = json.loads(text[JSON_KEY])
        except json.JSONDecodeError as e:
            raise ValueError(f"--from '{path}' has a malformed '{JSON_KEY}' chunk ({e.msg})") from None
        return ImageConfig.from_dict(data)
    if A1111_KEY in text:
        return parse_a1111(text[A1111_KEY])
    raise ValueError(f"--from '{path}' has no '{JSON_KEY}' or '{A1111_KEY}' text chunk, expected a PNG written by "
                     "kyara image or AUTOMATIC1111")
