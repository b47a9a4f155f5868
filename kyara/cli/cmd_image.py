"""``kyara image``: text + pose -> anime image (diffusers, ControlNet, LoRA).

Every option left out keeps the value of ``--from out.png`` (when given) or the documented
default; every bad value ends as one ``error: ...`` line and exit code 2 before weights load.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def _split_pair(text: str, sep: str, what: str, example: str) -> tuple[str, str]:
    if sep not in text:
        raise ValueError(f"{what} '{text}' is not valid, expected {example}")
    a, b = text.split(sep, 1) if sep == "=" else text.rsplit(sep, 1)
    if not a.strip() or not b.strip():
        raise ValueError(f"{what} '{text}' is not valid, expected {example}")
    return a.strip(), b.strip()


def parse_lora(text: str):
    """``style.safetensors:0.8`` (weight defaults to 1) -> LoraSpec."""
    from kyara.generate.config import LoraSpec

    path, weight = text, "1.0"
    if ":" in text:
        head, tail = text.rsplit(":", 1)
        try:
            float(tail)
            path, weight = head, tail
        except ValueError:
            pass
    try:
        w = float(weight)
    except ValueError:
        raise ValueError(f"--lora '{text}' has a weight that is not a number, expected FILE:WEIGHT") from None
    return LoraSpec(path, w)


def _floats(text: Optional[str], n: int, what: str) -> list[float] | None:
    """``0.8`` (all ControlNets) or ``0.8,0.5`` (one per ControlNet, in --controlnet order)."""
    if text is None:
        return None
    try:
        vals = [float(t) for t in str(text).split(",")]
    except ValueError:
        raise ValueError(f"{what} '{text}' is not valid, expected a number or one number per --controlnet") from None
    if len(vals) == 1:
        return vals * n
    if len(vals) != n:
        raise ValueError(f"{what} '{text}' has {len(vals)} values, expected 1 or {n} (one per --controlnet)")
    return vals


def _outputs(output: str, n: int) -> list[Path]:
    from kyara.fileio import check_output_path

    p = Path(output)
    if p.suffix.lower() == ".png":
        check_output_path(p, (".png",))
        if n == 1:
            return [p]
        return [p.with_name(f"{p.stem}_{i:04d}.png") for i in range(n)]
    if p.suffix:
        raise ValueError(f"-o '{output}' has suffix '{p.suffix}', expected .png or a folder")
    if p.exists() and not p.is_dir():
        raise ValueError(f"-o '{output}' is a file, expected .png or a folder")
    if not p.exists():
        if not p.parent.is_dir():
            raise ValueError(f"output folder '{p.parent}' does not exist")
        p.mkdir()
    return [p / f"image_{i:04d}.png" for i in range(n)]


def check_pose_json(cfg) -> list[str]:
    """Read ``cfg.pose_json`` (frame ``cfg.pose_frame``) as the generation will, before any weights
    load: a bad file raises ``ValueError``; returns the notes (frame picked, BODY_25, canvas fitted)."""
    from kyara.pose.openpose_io import load_pose

    pose = load_pose(cfg.pose_json, (cfg.width, cfg.height), frame=cfg.pose_frame,
                     label=f"--pose-json '{cfg.pose_json}'")
    return pose.notes


def check_pose_image(cfg) -> list[str]:
    """Make the OpenPose condition of ``cfg.pose_image`` before any weights load (an OpenPose drawing
    as is; any other picture through ``kyara detect``'s auto backend, see
    :mod:`kyara.detect.condition`): a bad image, a picture without a person or a missing detector
    raises here. Returns the notes; the generation reuses the cached result."""
    from kyara.detect.condition import pose_image_condition

    if not any(c.kind == "openpose" for c in cfg.controlnets):
        return []
    return pose_image_condition(cfg.pose_image, (cfg.width, cfg.height))[1]


def register(app: typer.Typer) -> None:
    @app.command("image")
    def image_cmd(
        prompt: Optional[str] = typer.Argument(None, help="text prompt; (word:1.2) and [word] weighting, any length"),
        output: str = typer.Option(..., "-o", "--output", help="out.png (several images: out_0000.png ...) or a folder"),
        from_png: Optional[str] = typer.Option(None, "--from", help="reproduce a PNG written by kyara or AUTOMATIC1111"),
        model: Optional[str] = typer.Option(None, "--model", help="Hugging Face id, diffusers folder, .safetensors "
                                                                  "file, or tiny / tiny-sdxl (smoke-test models)"),
        config: Optional[str] = typer.Option(None, "--config", help="local diffusers folder with the configs of a "
                                                                    "single-file checkpoint"),
        vae: Optional[str] = typer.Option(None, "--vae", help="separate VAE (folder, id or .safetensors)"),
        controlnet: List[str] = typer.Option([], "--controlnet", help="KIND=ID|PATH|default|tiny, KIND in openpose, "
                                                                      "depth, normal, lineart, canny (repeatable)"),
        control_strength: Optional[str] = typer.Option(None, "--control-strength", help="0-1, or one per ControlNet"),
        control_start: Optional[str] = typer.Option(None, "--control-start", help="fraction of steps, or one per ControlNet"),
        control_end: Optional[str] = typer.Option(None, "--control-end", help="fraction of steps, or one per ControlNet"),
        control_image: List[str] = typer.Option([], "--control-image", help="KIND=FILE: use this condition image"),
        lora: List[str] = typer.Option([], "--lora", help="FILE.safetensors[:WEIGHT] (repeatable, stacked)"),
        embedding: List[str] = typer.Option([], "--embedding", help="textual-inversion .safetensors; write its file "
                                                                    "name in the prompt (repeatable)"),
        body: Optional[str] = typer.Option(None, "--body", help="body preset to pose and render"),
        pose: Optional[str] = typer.Option(None, "--pose", help="named pose (see `kyara presets`)"),
        view: Optional[str] = typer.Option(None, "--view", help="front, side, back, right or azimuth degrees"),
        character: Optional[str] = typer.Option(None, "--character", help="character.json: render the dressed character"),
        pose_json: Optional[str] = typer.Option(None, "--pose-json", help="OpenPose JSON file: pixels or normalized, "
                                                                          "COCO-18 or BODY_25, ComfyUI pose lists"),
        frame: Optional[int] = typer.Option(None, "--frame", help="frame of a ComfyUI pose list (--pose-json), from 0"),
        pose_image: Optional[str] = typer.Option(None, "--pose-image", help="OpenPose drawing (used as is) or any "
                                                                            "picture of a character (pose detected)"),
        init_image: Optional[str] = typer.Option(None, "--init-image", help="img2img source image"),
        denoise: Optional[float] = typer.Option(None, "--denoise", help="img2img strength 0-1 (default 0.75)"),
        hires_scale: Optional[float] = typer.Option(None, "--hires-scale", help="hires pass: upscale factor 1-4 (1 = off)"),
        hires_denoise: Optional[float] = typer.Option(None, "--hires-denoise", help="hires pass strength 0-1 (0.5)"),
        hires_upscaler: Optional[str] = typer.Option(None, "--hires-upscaler", help="hires pass enlargement: lanczos "
                                                                                     "(default) or Real-ESRGAN anime, "
                                                                                     "anime-6b, general"),
        upscale: Optional[int] = typer.Option(None, "--upscale", help="2 or 4: Real-ESRGAN on every image (needs "
                                                                      "the upscale extra)"),
        upscale_model: Optional[str] = typer.Option(None, "--upscale-model", help="anime (default), anime-6b, "
                                                                                  "general"),
        steps: Optional[int] = typer.Option(None, "--steps", help="denoising steps (default 30; 20-50 typical)"),
        guidance: Optional[float] = typer.Option(None, "--guidance", help="CFG scale (default 7.5; 7.5-12 typical)"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="euler-a, dpm++-2m-karras, ddim, ..."),
        clip_skip: Optional[int] = typer.Option(None, "--clip-skip", help="1 = last CLIP layer, 2 = penultimate "
                                                                         "(AUTOMATIC1111 numbering)"),
        negative: Optional[str] = typer.Option(None, "--negative", help="negative prompt (default: anime quality tags "
                                                                        "and nsfw)"),
        seed: Optional[int] = typer.Option(None, "--seed", help="seed of the first image; image i uses seed+i"),
        batch: Optional[int] = typer.Option(None, "--batch", help="images per pipeline call"),
        count: Optional[int] = typer.Option(None, "--count", help="pipeline calls"),
        size: Optional[str] = typer.Option(None, "--size", help="512 or WxH, multiples of 8 (default: the "
                                                                  "model's, SD1.5 512, SDXL 1024)"),
        dtype: Optional[str] = typer.Option(None, "--dtype", help="auto (fp16 on GPU), fp32, fp16, bf16"),
        device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:1 ..."),
        offload: bool = typer.Option(False, "--offload", help="model CPU offload (less GPU memory, slower)"),
        vae_tiling: Optional[bool] = typer.Option(None, "--vae-tiling/--no-vae-tiling", help="default: on above 1024x1024"),
        fast: bool = typer.Option(False, "--fast", help="GPU speed options: channels-last, fused QKV, torch.compile"),
        allow_pickle: bool = typer.Option(False, "--allow-pickle", help="allow .ckpt/.pt pickles (they can run code)"),
        save_conditions: bool = typer.Option(False, "--save-conditions", help="also write the condition images"),
        tags: str = typer.Option("off", "--tags", help="auto|on|off: write the prompt as Danbooru tags through the "
                                                       "character parser (see kyara tags); auto: only free text"),
        tag_family: Optional[str] = typer.Option(None, "--tag-family", help="quality/negative tags of sd15, sdxl, "
                                                                             "illustrious, pony, none (default: "
                                                                             "from the model's name)"),
        style: Optional[str] = typer.Option(None, "--style", help="style preset of the tags: cel, watercolour, "
                                                                   "chibi, ... (needs --tags on or auto)"),
        tag_presets: Optional[str] = typer.Option(None, "--tag-presets", help="YAML file extending the tag presets"),
    ) -> None:
        """Generate anime images from a prompt and a pose; every PNG stores its parameters."""
        from kyara.cli.common import parse_size
        from kyara.generate.config import ControlSpec, ImageConfig

        if from_png:
            from kyara.generate.metadata import read_png_config

            cfg = read_png_config(from_png)
            if prompt is not None:
                cfg = cfg.replace(prompt=prompt)
        else:
            if prompt is None and not (character and character.lower().endswith(".json")):
                raise ValueError("missing PROMPT, expected a text prompt, --character character.json or --from PNG")
            if model is None:
                raise ValueError("missing --model, expected a Hugging Face id, a local path or tiny")
            cfg = ImageConfig(prompt=prompt or "")
        ch: dict = {}
        for name, v in (("model", model), ("config", config), ("vae", vae), ("body", body), ("pose", pose),
                        ("view", view), ("character", character), ("pose_json", pose_json), ("pose_frame", frame),
                        ("pose_image", pose_image),
                        ("init_image", init_image), ("denoise", denoise), ("hires_scale", hires_scale),
                        ("hires_denoise", hires_denoise), ("hires_upscaler", hires_upscaler), ("upscale", upscale),
                        ("upscale_model", upscale_model), ("steps", steps), ("guidance", guidance),
                        ("scheduler", scheduler), ("clip_skip", clip_skip), ("negative_prompt", negative),
                        ("seed", seed), ("batch", batch), ("count", count), ("dtype", dtype), ("device", device),
                        ("vae_tiling", vae_tiling)):
            if v is not None:
                ch[name] = v
        for name, v in (("offload", offload), ("fast", fast), ("allow_pickle", allow_pickle)):
            if v:
                ch[name] = True
        if size is not None:
            ch["width"], ch["height"] = parse_size(size)
            ch["size_from_model"] = False
        elif not from_png:  # the model's native size: SD1.5/SD2 512, SDXL 1024 (a --from PNG keeps its own)
            ch["size_from_model"] = True
        if lora:
            ch["loras"] = tuple(parse_lora(t) for t in lora)
        if embedding:
            ch["embeddings"] = tuple(embedding)
        if control_image:
            ch["control_images"] = tuple(_split_pair(t, "=", "--control-image", "KIND=FILE") for t in control_image)
        if pose is not None or pose_json or pose_image or character or body:
            if from_png:  # a new pose source replaces the stored one
                for k in ("pose_json", "pose_image", "character"):
                    ch.setdefault(k, None)
                ch.setdefault("pose_frame", 0)
        specs = [_split_pair(t, "=", "--controlnet", "KIND=ID (e.g. openpose=default)") for t in controlnet]
        if specs:
            cns = [ControlSpec(kind, mid) for kind, mid in specs]
        elif cfg.controlnets:
            cns = list(cfg.controlnets)
        else:
            merged = cfg.replace(**ch)
            wants_pose = any((merged.pose, merged.pose_json, merged.pose_image, merged.character, merged.body))
            cns = [ControlSpec("openpose", "default")] if wants_pose else []
        n = len(cns)
        strengths = _floats(control_strength, n, "--control-strength")
        starts = _floats(control_start, n, "--control-start")
        ends = _floats(control_end, n, "--control-end")
        cns = [ControlSpec(c.kind, c.model, strengths[i] if strengths else c.strength,
                           starts[i] if starts else c.start, ends[i] if ends else c.end) for i, c in enumerate(cns)]
        ch["controlnets"] = tuple(cns)
        cfg = cfg.replace(**ch)
        if character is not None and character.lower().endswith(".json") and not from_png:
            # the dressed character's own description leads the prompt (the user's words follow)
            from kyara.character.describe import spec_prompt
            from kyara.character.spec import load_spec

            described = spec_prompt(load_spec(character))
            cfg = cfg.replace(prompt=f"{described}, {cfg.prompt}" if cfg.prompt else described)
        cfg = _apply_tags(cfg, tags, tag_family, style, tag_presets, keep_negative=negative is not None or bool(from_png))
        cfg = cfg.check()
        if frame is not None and not cfg.pose_json:
            raise ValueError(f"--frame {frame} was given without --pose-json, expected an OpenPose JSON file")
        if cfg.size_from_model and (cfg.pose_json or cfg.pose_image):
            from kyara.generate.pipeline import model_size

            cfg = model_size(cfg)  # the pose checks below work at the size the generation will use
        if cfg.pose_json:
            for note in check_pose_json(cfg):
                typer.echo(f"note: {note}", err=True)
        if cfg.pose_image:
            for note in check_pose_image(cfg):
                typer.echo(f"note: {note}", err=True)
        outs = _outputs(output, cfg.batch * cfg.count)
        _run(cfg, outs, save_conditions)


def _apply_tags(cfg, mode: str, family: Optional[str], style: Optional[str], presets: Optional[str],
                keep_negative: bool):
    """``--tags``: the prompt as Danbooru tags (:func:`kyara.tags.image_prompt`); the negative prompt
    becomes the tag family's (and the style's) unless one was given or comes from ``--from``."""
    from kyara.tags import image_prompt

    res = image_prompt(cfg.prompt, mode, cfg.model, family or "auto", style, presets)
    if res is None:
        return cfg
    typer.echo(f"note: tags ({res.family}{', ' + res.style if res.style else ''}): {res.prompt}", err=True)
    for note in res.notes:
        typer.echo(f"note: {note}", err=True)
    return cfg.replace(prompt=res.prompt, **({} if keep_negative else {"negative_prompt": res.negative_prompt}))


def _run(cfg, outs: list[Path], save_conditions: bool) -> None:
    import sys

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from kyara.generate.metadata import save_png
    from kyara.generate.pipeline import generate

    console = Console(stderr=True)
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn(), console=console,
                  transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("denoising", total=None)

        def progress(step: int, total: int, preview) -> None:
            bar.update(task, completed=step, total=total)

        result = generate(cfg, progress=progress)
    for im, c, path in zip(result.images, result.configs, outs):
        save_png(im, path, c)
        typer.echo(f"wrote {path} (seed {c.seed})")
    if save_conditions and result.control_images:
        from PIL import Image

        stem = outs[0].with_suffix("")
        for kind, arr in result.control_images.items():
            p = stem.parent / f"{stem.name}_{kind}.png"
            Image.fromarray(arr).save(p)
            typer.echo(f"wrote {p}")
    if any(result.nsfw):
        typer.echo("note: the model's safety checker blanked flagged images", err=True)
