"""Benchmark: kyara image generation (diffusers + ControlNet).

CPU (always): the tiny SD1.5 + openpose ControlNet pipeline end to end through ``generate()``
(128x128, 8 steps, batch 1, after one warm-up run), and the share of that time spent outside the
UNet (and outside UNet + ControlNet): prompt encoding, condition rendering, VAE, scheduler, glue.

GPU (when CUDA is available): a real-size SD1.5 UNet + ControlNet + VAE + CLIP-L with random
weights (speed does not depend on weight values), 512x512, 20 steps, batch 1 and 4, fp16.
Comparison: the plain diffusers ``StableDiffusionControlNetPipeline`` with default attention, as a
competent user runs it, in the same process. Ours: ``generate()`` with defaults, and with
``fast=True`` (channels-last, fused QKV, torch.compile). Reports it/s and peak GPU memory.

Run: ``python benchmarks/image.py`` (no arguments; < 1 minute on 2 CPU cores without a GPU).
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import append_results  # noqa: E402
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Timer:
    """Wraps ``module.forward`` and sums its wall time (CUDA-synchronised when on GPU)."""

    def __init__(self, module):
        self.total = 0.0
        self.module = module
        self.orig = module.forward

        def fwd(*a, **k):
            import torch

            t = time.perf_counter()
            out = self.orig(*a, **k)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.total += time.perf_counter() - t
            return out
        module.forward = fwd

    def restore(self):
        self.module.forward = self.orig


def cpu_figures() -> dict:
    from kyara.generate.config import ControlSpec, ImageConfig
    from kyara.generate.pipeline import _BASE_CACHE, _CN_CACHE, generate

    cfg = ImageConfig("1girl, (silver hair:1.2), school uniform, smiling", model="tiny", steps=8, width=128,
                      height=128, controlnets=(ControlSpec("openpose", "tiny"),), pose="jog", seed=0, device="cpu")
    generate(cfg)  # warm-up: imports, tiny model build, first-call allocations
    entry = next(iter(_BASE_CACHE.values()))
    unet_t, cn_t = Timer(entry["pipe"].unet), Timer(next(iter(_CN_CACHE.values())))
    t = time.perf_counter()
    r = generate(cfg)
    total = time.perf_counter() - t
    unet_t.restore()
    cn_t.restore()
    return {"total_s": total, "unet_s": unet_t.total, "controlnet_s": cn_t.total,
            "outside_unet": 1 - unet_t.total / total, "outside_denoiser": 1 - (unet_t.total + cn_t.total) / total,
            "timings": r.timings}


def _real_size_folders(tmp: Path) -> tuple[str, str]:
    """Save a random real-size SD1.5 pipeline + ControlNet (fp16) with our offline tokenizer."""
    import torch
    from diffusers import (AutoencoderKL, ControlNetModel, EulerAncestralDiscreteScheduler, StableDiffusionPipeline,
                           UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from kyara.generate.tiny import BOS_ID, EOS_ID, write_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(cross_attention_dim=768, sample_size=64)  # SD1.5 defaults otherwise
    cn = ControlNetModel.from_unet(unet)
    vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                        sample_size=512)
    te = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12,
                                      num_hidden_layers=12, vocab_size=49408, max_position_embeddings=77,
                                      bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID))
    write_tokenizer(tmp / "tok")
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=CLIPTokenizer.from_pretrained(tmp / "tok"),
                                   unet=unet, scheduler=EulerAncestralDiscreteScheduler(
                                       beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.to(torch.float16).save_pretrained(tmp / "sd15")
    cn.to(torch.float16).save_pretrained(tmp / "cn")
    return str(tmp / "sd15"), str(tmp / "cn")


def gpu_figures() -> list[dict]:
    import numpy as np
    import torch
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline
    from PIL import Image

    from kyara.generate.config import ControlSpec, ImageConfig
    from kyara.generate.pipeline import _BASE_CACHE, _CN_CACHE, generate

    rows = []
    steps, size = 20, 512
    cond = Image.fromarray((np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8))
    with tempfile.TemporaryDirectory() as d:
        base, cnp = _real_size_folders(Path(d))
        cond_path = Path(d) / "pose.png"
        cond.save(cond_path)
        for batch in (1, 4):
            # plain diffusers, fp16, default attention
            ref = StableDiffusionControlNetPipeline.from_pretrained(
                base, controlnet=ControlNetModel.from_pretrained(cnp, torch_dtype=torch.float16),
                torch_dtype=torch.float16, local_files_only=True).to("cuda")
            ref.set_progress_bar_config(disable=True)

            def run_ref():
                ref("1girl, silver hair", image=cond, num_inference_steps=steps, num_images_per_prompt=batch,
                    generator=torch.Generator("cpu").manual_seed(0), height=size, width=size)
            rows.append(_time_gpu("diffusers fp16 (reference)", batch, steps, run_ref))
            ref = None  # free the reference pipeline before ours loads
            torch.cuda.empty_cache()
            for fast in (False, True):
                _BASE_CACHE.clear()
                _CN_CACHE.clear()
                cfg = ImageConfig("1girl, silver hair", model=base, steps=steps, width=size, height=size, batch=batch,
                                  controlnets=(ControlSpec("openpose", cnp),), pose_image=str(cond_path), fast=fast)
                warm = 3 if fast else 1
                rows.append(_time_gpu("kyara --fast" if fast else "kyara defaults", batch, steps,
                                      lambda: generate(cfg), warmups=warm))
                _BASE_CACHE.clear()
                _CN_CACHE.clear()
                torch.cuda.empty_cache()
    return rows


def _time_gpu(name: str, batch: int, steps: int, fn, warmups: int = 1, reps: int = 3) -> dict:
    import torch

    for _ in range(warmups):
        fn()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / reps
    return {"name": name, "batch": batch, "its": steps / dt, "s": dt, "peak_gib": torch.cuda.max_memory_allocated() / 2**30}


def main() -> None:
    import torch

    lines = []
    cpu = cpu_figures()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    ok = cpu["total_s"] < 10.0
    print(f"RESULT tiny_end_to_end {cpu['total_s']:.3f} s goal=<10 {'ok' if ok else 'FAIL'}")
    print(f"RESULT tiny_share_outside_unet {cpu['outside_unet'] * 100:.1f} % goal=info ok")
    print(f"RESULT tiny_share_outside_unet_and_controlnet {cpu['outside_denoiser'] * 100:.1f} % goal=info ok")
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines += [f"\n## image: kyara image generation ({now})\n",
              f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"torch {torch.__version__}, 1-min load average {load:.1f} (other jobs included).\n",
              "CPU: tiny SD1.5 + openpose ControlNet via generate(), 128x128, 8 steps, euler-a, warm.\n",
              "| figure | value | goal |", "|---|---|---|",
              f"| **tiny pipeline end to end** | **{cpu['total_s']:.3f} s** | < 10 s {'ok' if ok else 'FAIL'} |",
              f"| UNet / ControlNet time | {cpu['unet_s']:.3f} s / {cpu['controlnet_s']:.3f} s | |",
              f"| share outside the UNet | {cpu['outside_unet'] * 100:.1f} % | |",
              f"| share outside UNet + ControlNet | {cpu['outside_denoiser'] * 100:.1f} % | |",
              f"| stage timings (s) | {', '.join(f'{k} {v:.3f}' for k, v in cpu['timings'].items())} | |"]
    if torch.cuda.is_available():
        rows = gpu_figures()
        lines += ["", f"GPU: {torch.cuda.get_device_name(0)}; real-size SD1.5 UNet + ControlNet, random weights, "
                      "512x512, 20 steps, fp16.\n",
                  "| pipeline | batch | it/s | s/image set | peak GPU GiB | ratio vs diffusers |", "|---|---|---|---|---|---|"]
        for batch in (1, 4):
            ref = next(r for r in rows if r["batch"] == batch and r["name"].startswith("diffusers"))
            for r in (x for x in rows if x["batch"] == batch):
                ratio = r["its"] / ref["its"]
                lines.append(f"| {r['name']} | {batch} | {r['its']:.2f} | {r['s']:.2f} | {r['peak_gib']:.2f} | {ratio:.2f}x |")
                if r["name"] == "kyara defaults":
                    print(f"RESULT gpu_defaults_ratio_b{batch} {ratio:.2f} x goal=>=1.0 {'ok' if ratio >= 0.98 else 'FAIL'}")
                elif r["name"] == "kyara --fast":
                    print(f"RESULT gpu_fast_ratio_b{batch} {ratio:.2f} x goal=>=1.3 {'ok' if ratio >= 1.3 else 'FAIL'}")
                print(f"RESULT gpu_{r['name'].split()[0]}_{'fast' if 'fast' in r['name'] else 'default'}_b{batch} "
                      f"{r['its']:.2f} it/s peak={r['peak_gib']:.2f}GiB goal=info ok")
    else:
        lines.append("\nGPU: no CUDA device in this run; the GPU comparison was not measured.")
    append_results(lines)


if __name__ == "__main__":
    main()
