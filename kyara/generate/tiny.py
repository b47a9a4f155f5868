"""Tiny random Stable Diffusion models built locally: a smoke-test model, not an artist's model.

``--model tiny`` (SD1.5-shaped) and ``--model tiny-sdxl`` (SDXL-shaped) select them. Each is built
once from fixed seeds, written with ``save_pretrained`` to ``<cache>/tiny/<version>/<name>`` and
then loaded through the same ``from_pretrained`` path as any user model, so tests exercise the
real loading code. Shapes keep what matters to the pipelines: the VAE downsamples by 8 (four
blocks), the ControlNet's condition encoder downsamples by 8 too, text encoders take 77 tokens.

The ControlNets' zero convolutions are filled with random values: a freshly initialised
ControlNet ignores its condition image by design, and a test must see the pose reach the output.

The tokenizer is a byte-level CLIP BPE with no merges: every character of a word is one token, so
a prompt of a few dozen characters already needs more than one 77-token chunk.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from pathlib import Path

TINY_VERSION = "v1"
TINY_MODELS = {"tiny": "sd15", "tiny-sdxl": "sdxl"}
CONTROL_KINDS = ("openpose", "depth", "normal", "lineart", "canny")
TEXT_DIM = {"sd15": 32, "sdxl": 32}  # hidden size of each text encoder
CROSS_DIM = {"sd15": 32, "sdxl": 64}  # SDXL concatenates both encoders


def cache_root() -> Path:
    """``$KYARA_CACHE_DIR`` or ``$XDG_CACHE_HOME/kyara`` or ``~/.cache/kyara``."""
    env = os.environ.get("KYARA_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kyara"


def tiny_dir() -> Path:
    return cache_root() / "tiny" / TINY_VERSION


def _seed(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


# -- tokenizer ---------------------------------------------------------------------------------
def _byte_chars() -> list[str]:
    """GPT-2/CLIP byte -> printable unicode table (the standard byte-level BPE alphabet)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    n = 0
    table = {}
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    chars = [table[b] for b in range(256)]
    return chars


def write_tokenizer(folder: Path) -> None:
    """A CLIP tokenizer folder (vocab.json, merges.txt, configs) that loads offline."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = _byte_chars()
    vocab = {c: i for i, c in enumerate(chars)}
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    cfg = {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "bos_token": "<|startoftext|>",
           "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
           "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {k: cfg[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")}))


VOCAB_SIZE = 514  # 256 bytes + 256 word-final bytes + 2 specials
BOS_ID, EOS_ID = 512, 513


# -- components --------------------------------------------------------------------------------
def _text_config(projection: bool = False):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=4,
                          vocab_size=600, max_position_embeddings=77, bos_token_id=BOS_ID, eos_token_id=EOS_ID,
                          pad_token_id=EOS_ID, projection_dim=32 if projection else 512, layer_norm_eps=1e-5)


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(8, 8, 8, 8), in_channels=3, out_channels=3,
                         down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                         latent_channels=4, norm_num_groups=4, layers_per_block=1, sample_size=64)


def _unet_kwargs(family: str) -> dict:
    kw = dict(block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4, attention_head_dim=(2, 4),
              down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), cross_attention_dim=CROSS_DIM[family])
    if family == "sdxl":
        # text_time: pooled text (32) + 6 micro-conditioning numbers x 8 each
        kw.update(addition_embed_type="text_time", addition_time_embed_dim=8,
                  projection_class_embeddings_input_dim=32 + 6 * 8, use_linear_projection=True)
    return kw


def _unet(family: str):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4,
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), **_unet_kwargs(family))


def _controlnet(family: str, kind: str):
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(_seed(f"{family}-controlnet-{kind}"))
    cn = ControlNetModel(in_channels=4, conditioning_embedding_out_channels=(8, 8, 8, 8), **_unet_kwargs(family))
    with torch.no_grad():  # wake the zero convolutions and give the image encoder unit gain (He init)
        convs = [m for m in cn.controlnet_cond_embedding.modules() if isinstance(m, torch.nn.Conv2d)]
        for module in [*convs, *cn.controlnet_down_blocks, cn.controlnet_mid_block]:
            fan_in = module.weight[0].numel()
            module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5)
            module.bias.normal_(0.0, 0.05)
    return cn


def build_tiny_pipeline(family: str):
    """A fresh in-memory tiny pipeline (``StableDiffusionPipeline`` or ``StableDiffusionXLPipeline``)."""
    import torch
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    if family not in CROSS_DIM:
        raise ValueError(f"tiny family '{family}' is unknown, expected sd15 or sdxl")
    with tempfile.TemporaryDirectory() as tmp:
        write_tokenizer(Path(tmp))
        tokenizer = CLIPTokenizer.from_pretrained(tmp)
        tokenizer2 = CLIPTokenizer.from_pretrained(tmp)
    torch.manual_seed(_seed(f"{family}-unet"))
    unet = _unet(family)
    torch.manual_seed(_seed(f"{family}-vae"))
    vae = _vae()
    torch.manual_seed(_seed(f"{family}-text"))
    text_encoder = CLIPTextModel(_text_config())
    scheduler = EulerAncestralDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                                num_train_timesteps=1000, steps_offset=1)
    if family == "sd15":
        return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                       scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
    torch.manual_seed(_seed(f"{family}-text2"))
    text_encoder_2 = CLIPTextModelWithProjection(_text_config(projection=True))
    return StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                     tokenizer=tokenizer, tokenizer_2=tokenizer2, unet=unet, scheduler=scheduler)


def _atomic_save(target: Path, save) -> Path:
    """Save into a temp folder beside ``target`` and rename, so readers never see half a model."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        save(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race
            if not target.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def tiny_model_dir(name: str = "tiny") -> Path:
    """The diffusers folder of tiny model ``name`` (``tiny`` or ``tiny-sdxl``), built on first use."""
    if name not in TINY_MODELS:
        raise ValueError(f"tiny model '{name}' is unknown, expected one of {', '.join(TINY_MODELS)}")
    family = TINY_MODELS[name]
    return _atomic_save(tiny_dir() / name, lambda p: build_tiny_pipeline(family).save_pretrained(p))


def tiny_controlnet_dir(family: str, kind: str = "openpose") -> Path:
    """The folder of the tiny ControlNet for ``family`` (sd15/sdxl) and condition ``kind``."""
    if family not in CROSS_DIM:
        raise ValueError(f"tiny family '{family}' is unknown, expected sd15 or sdxl")
    if kind not in CONTROL_KINDS:
        raise ValueError(f"ControlNet kind '{kind}' is unknown, expected one of {', '.join(CONTROL_KINDS)}")
    name = f"tiny-controlnet-{family}-{kind}"
    return _atomic_save(tiny_dir() / name, lambda p: _controlnet(family, kind).save_pretrained(p))


# -- extras for tests and docs: LoRA, textual inversion, original-layout single file ---------------
def write_tiny_lora(path: str | os.PathLike, family: str = "sd15", seed: int = 0, rank: int = 4) -> Path:
    """A random LoRA for the tiny ``family`` UNet (attention projections), diffusers/peft layout."""
    import torch
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(_seed(f"{family}-unet"))
    unet = _unet(family)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False,
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_" in name:
                p.normal_(0.0, 0.5)
    state = get_peft_model_state_dict(unet)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cls = StableDiffusionPipeline if family == "sd15" else StableDiffusionXLPipeline
    cls.save_lora_weights(str(path.parent), unet_lora_layers=state, weight_name=path.name, safe_serialization=True)
    return path


def write_tiny_embedding(path: str | os.PathLike, vectors: int = 2, seed: int = 0, family: str = "sd15") -> Path:
    """A random textual-inversion embedding in AUTOMATIC1111's safetensors layout (``emb_params``;
    SDXL files hold ``clip_l`` and ``clip_g``)."""
    import torch
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(seed)
    dim = TEXT_DIM[family]
    if family == "sd15":
        tensors = {"emb_params": torch.randn(vectors, dim, generator=g)}
    else:
        tensors = {"clip_l": torch.randn(vectors, dim, generator=g), "clip_g": torch.randn(vectors, dim, generator=g)}
    path = Path(path)
    save_file(tensors, str(path))
    return path


def _ldm_unet_keys(unet) -> dict[str, str]:
    """diffusers UNet key -> original (CompVis LDM) key, for UNets with any number of blocks."""
    cfg = unet.config
    L = cfg.layers_per_block
    n = len(cfg.block_out_channels)
    res = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
           "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
    prefix = {"conv_in": "input_blocks.0.0", "time_embedding.linear_1": "time_embed.0",
              "time_embedding.linear_2": "time_embed.2", "conv_norm_out": "out.0", "conv_out": "out.2",
              "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
              "mid_block.resnets.0": "middle_block.0", "mid_block.attentions.0": "middle_block.1",
              "mid_block.resnets.1": "middle_block.2"}
    for i in range(n):
        for j in range(L):
            prefix[f"down_blocks.{i}.resnets.{j}"] = f"input_blocks.{i * (L + 1) + j + 1}.0"
            prefix[f"down_blocks.{i}.attentions.{j}"] = f"input_blocks.{i * (L + 1) + j + 1}.1"
        prefix[f"down_blocks.{i}.downsamplers.0.conv"] = f"input_blocks.{(i + 1) * (L + 1)}.0.op"
        has_attn = "CrossAttn" in cfg.up_block_types[i]
        for j in range(L + 1):
            prefix[f"up_blocks.{i}.resnets.{j}"] = f"output_blocks.{i * (L + 1) + j}.0"
            prefix[f"up_blocks.{i}.attentions.{j}"] = f"output_blocks.{i * (L + 1) + j}.1"
        prefix[f"up_blocks.{i}.upsamplers.0"] = f"output_blocks.{i * (L + 1) + L}.{2 if has_attn else 1}"
    out = {}
    for key in unet.state_dict():
        best = max((p for p in prefix if key.startswith(p + ".")), key=len)
        rest = key[len(best) + 1:]
        if ".resnets." in best or best.startswith("mid_block.resnets"):
            head, _, tail = rest.partition(".")
            rest = f"{res.get(head, head)}.{tail}"
        out[key] = "model.diffusion_model." + prefix[best] + "." + rest
    return out


def _ldm_vae_keys(vae) -> dict[str, str]:
    n = len(vae.config.block_out_channels)
    attn = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    out = {}
    for key in vae.state_dict():
        k = key
        for i in range(n):
            k = k.replace(f"encoder.down_blocks.{i}.resnets.", f"encoder.down.{i}.block.")
            k = k.replace(f"encoder.down_blocks.{i}.downsamplers.0.", f"encoder.down.{i}.downsample.")
            k = k.replace(f"decoder.up_blocks.{i}.resnets.", f"decoder.up.{n - 1 - i}.block.")
            k = k.replace(f"decoder.up_blocks.{i}.upsamplers.0.", f"decoder.up.{n - 1 - i}.upsample.")
        k = k.replace("mid_block.resnets.0.", "mid.block_1.").replace("mid_block.resnets.1.", "mid.block_2.")
        if "mid_block.attentions.0." in k:
            head, _, rest = k.partition("mid_block.attentions.0.")
            name, _, param = rest.rpartition(".")
            k = f"{head}mid.attn_1.{attn[name]}.{param}"
        k = k.replace("conv_shortcut", "nin_shortcut").replace("conv_norm_out", "norm_out")
        out[key] = "first_stage_model." + k
    return out


def write_tiny_single_file(path: str | os.PathLike, name: str = "tiny") -> Path:
    """The tiny SD1.5 model as one ``.safetensors`` in the original (CompVis/civitai) key layout:
    ``model.diffusion_model.*``, ``first_stage_model.*``, ``cond_stage_model.transformer.*``."""
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    if name != "tiny":
        raise ValueError(f"single-file export supports the tiny SD1.5 model, not '{name}'")
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_model_dir(name)), local_files_only=True)
    state = {}
    unet_sd = pipe.unet.state_dict()
    for k, v in _ldm_unet_keys(pipe.unet).items():
        state[v] = unet_sd[k].contiguous()
    vae_sd = pipe.vae.state_dict()
    for k, v in _ldm_vae_keys(pipe.vae).items():
        t = vae_sd[k]
        if ".attn_1." in v and v.endswith("weight") and t.ndim == 2:
            t = t[:, :, None, None]  # LDM stores the VAE attention projections as 1x1 convolutions
        state[v] = t.contiguous()
    for k, v in pipe.text_encoder.state_dict().items():  # transformers 5 drops the text_model. prefix
        k = k if k.startswith("text_model.") else "text_model." + k
        state["cond_stage_model.transformer." + k] = v.contiguous()
    path = Path(path)
    save_file(state, str(path))
    return path
