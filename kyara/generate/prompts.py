"""Prompts the way anime users write them, turned into text-encoder embeddings.

- ``(word)`` x1.1, ``((word))`` x1.21, ``(word:1.5)`` x1.5, ``[word]`` /1.1, ``\\(`` a literal
  bracket, ``BREAK`` starts a new chunk (AUTOMATIC1111's syntax).
- Prompts longer than 75 tokens are split into 75-token chunks (at the last comma within the
  final 20 tokens when there is one), each encoded as its own 77-token window and concatenated
  along the sequence axis; the negative prompt is padded with empty chunks to the same length.
  diffusers alone truncates at 77.
- Weights scale the token embeddings, then the chunk is rescaled to keep its original mean.
- ``clip_skip`` uses AUTOMATIC1111's numbering: 1 = last layer (default), 2 = penultimate.
- Textual inversion tokens (``load_embedding``) are expanded before tokenising.
- :func:`check_content` refuses prompts that combine child bodies with sexual terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CHUNK = 75  # tokens per window, plus BOS and EOS
_ATTENTION = re.compile(r"\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()\[\]:]+|:")
_BREAK = re.compile(r"\s*\bBREAK\b\s*")
ROUND, SQUARE = 1.1, 1 / 1.1


def parse_weights(text: str) -> list[tuple[str, float]]:
    """``"a (red:1.5) [hat]"`` -> ``[("a ", 1.0), ("red", 1.5), ("hat", 0.909...)]``.

    ``"BREAK"`` comes back as its own fragment with weight ``-1`` (a chunk boundary). Unclosed
    brackets apply to the end of the text, as in AUTOMATIC1111.
    """
    res: list[list] = []
    round_stack: list[int] = []
    square_stack: list[int] = []

    def multiply(start: int, m: float) -> None:
        for p in range(start, len(res)):
            res[p][1] *= m

    for m in _ATTENTION.finditer(str(text)):
        tok, weight = m.group(0), m.group(1)
        if tok.startswith("\\"):
            res.append([tok[1:], 1.0])
        elif tok == "(":
            round_stack.append(len(res))
        elif tok == "[":
            square_stack.append(len(res))
        elif weight is not None and round_stack:
            try:
                multiply(round_stack.pop(), float(weight))
            except ValueError:
                raise ValueError(f"prompt weight '{weight}' is not a number, expected e.g. (word:1.2)") from None
        elif tok == ")" and round_stack:
            multiply(round_stack.pop(), ROUND)
        elif tok == "]" and square_stack:
            multiply(square_stack.pop(), SQUARE)
        else:
            parts = _BREAK.split(tok)
            for i, part in enumerate(parts):
                if i > 0:
                    res.append(["BREAK", -1.0])
                if part:
                    res.append([part, 1.0])
    for pos in round_stack:
        multiply(pos, ROUND)
    for pos in square_stack:
        multiply(pos, SQUARE)
    merged: list[list] = []
    for frag, w in res:
        if merged and merged[-1][1] == w and w != -1.0:
            merged[-1][0] += frag
        else:
            merged.append([frag, w])
    return [(f, float(w)) for f, w in merged if f]


@dataclass
class Chunks:
    """Token windows of one prompt: ``ids [K, 77]`` and ``weights [K, 77]``."""

    ids: list[list[int]]
    weights: list[list[float]]


def tokenize_weighted(tokenizer, text: str, convert=None) -> Chunks:
    """Tokenise a weighted prompt into 77-token windows (BOS + 75 + EOS, padded)."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    comma = tokenizer(",", add_special_tokens=False).input_ids
    comma_id = comma[0] if len(comma) == 1 else None
    chunks: list[tuple[list[int], list[float]]] = []
    cur_ids: list[int] = []
    cur_w: list[float] = []

    def flush() -> None:
        nonlocal cur_ids, cur_w
        n = len(cur_ids)
        ids = [bos] + cur_ids + [eos] + [pad] * (CHUNK - n)
        ws = [1.0] + cur_w + [1.0] * (CHUNK - n + 1)
        chunks.append((ids, ws))
        cur_ids, cur_w = [], []

    for frag, w in parse_weights(text):
        if w == -1.0:
            flush()
            continue
        if convert is not None:
            frag = convert(frag, tokenizer)
        for tid in tokenizer(frag, add_special_tokens=False, truncation=False).input_ids:
            if len(cur_ids) == CHUNK:
                cut = None
                if comma_id is not None:
                    tail = [i for i in range(CHUNK - 20, CHUNK) if cur_ids[i] == comma_id]
                    cut = tail[-1] + 1 if tail else None
                if cut is not None and cut < CHUNK:
                    rest_ids, rest_w = cur_ids[cut:], cur_w[cut:]
                    cur_ids, cur_w = cur_ids[:cut], cur_w[:cut]
                    flush()
                    cur_ids, cur_w = rest_ids, rest_w
                else:
                    flush()
            cur_ids.append(tid)
            cur_w.append(w)
    if cur_ids or not chunks:
        flush()
    return Chunks([c[0] for c in chunks], [c[1] for c in chunks])


def _pad_chunks(a: Chunks, b: Chunks, tokenizer) -> None:
    """Append empty windows to the shorter of two prompts so both have the same length."""
    empty = tokenize_weighted(tokenizer, "")
    for c in (a, b):
        while len(c.ids) < max(len(a.ids), len(b.ids)):
            c.ids.append(list(empty.ids[0]))
            c.weights.append(list(empty.weights[0]))


def _encode_chunks(text_encoder, chunks: Chunks, layer: int, final_norm: bool, device):
    """-> (hidden ``[1, 77*K, D]`` weighted and mean-restored, pooled of the first window or None)."""
    import torch

    ids = torch.tensor(chunks.ids, dtype=torch.long, device=device)  # [K, 77]
    w = torch.tensor(chunks.weights, dtype=torch.float32, device=device)  # [K, 77]
    out = text_encoder(ids, output_hidden_states=True)
    if layer == -1 and final_norm:
        z = out.last_hidden_state if hasattr(out, "last_hidden_state") and out.last_hidden_state is not None \
            else out.hidden_states[-1]
    else:
        z = out.hidden_states[layer]
        if final_norm:
            z = text_encoder.text_model.final_layer_norm(z)
    z = z.float()  # [K, 77, D]
    if not torch.all(w == 1.0):
        before = z.mean(dim=(1, 2), keepdim=True)
        z = z * w[..., None]
        after = z.mean(dim=(1, 2), keepdim=True)
        z = z * (before / after)
    pooled = getattr(out, "text_embeds", None)
    pooled = pooled[:1].float() if pooled is not None else None
    return z.reshape(1, -1, z.shape[-1]), pooled


def encode_prompts(pipe, prompt: str, negative: str, clip_skip: int = 1, xl: bool = False) -> dict:
    """Weighted, chunked embeddings for ``pipe``'s ``__call__`` (``prompt_embeds`` etc.).

    SD1.5: ``prompt_embeds [1, 77K, D]``; SDXL adds ``pooled_prompt_embeds [1, D2]`` and the
    hidden states of both encoders concatenated on the last axis, as SDXL pipelines do.
    """
    import torch

    if clip_skip < 1:
        raise ValueError(f"clip skip {clip_skip} is out of range, expected >= 1 (1 = last CLIP layer)")
    device = pipe.text_encoder.device if pipe.text_encoder is not None else pipe.text_encoder_2.device
    dtype = pipe.unet.dtype
    convert = getattr(pipe, "maybe_convert_prompt", None)
    pairs = [(pipe.tokenizer, pipe.text_encoder)]
    if xl:
        pairs.append((pipe.tokenizer_2, pipe.text_encoder_2))
    pos_h, neg_h, pos_pool, neg_pool = [], [], None, None
    zero_neg = xl and not negative.strip() and bool(getattr(pipe.config, "force_zeros_for_empty_prompt", False))
    with torch.no_grad():
        for tok, enc in pairs:
            if enc is None:
                continue
            n_layers = enc.config.num_hidden_layers
            if clip_skip > n_layers:
                raise ValueError(f"clip skip {clip_skip} is out of range, expected 1..{n_layers} for this text encoder")
            layer = -(clip_skip + (1 if xl else 0))
            a = tokenize_weighted(tok, prompt, convert)
            b = tokenize_weighted(tok, negative, convert)
            _pad_chunks(a, b, tok)
            ph, pp = _encode_chunks(enc, a, layer, final_norm=not xl, device=device)
            nh, np_ = _encode_chunks(enc, b, layer, final_norm=not xl, device=device)
            pos_h.append(ph)
            neg_h.append(nh)
            if pp is not None:
                pos_pool, neg_pool = pp, np_
    pe = torch.cat(pos_h, dim=-1).to(dtype)
    ne = torch.cat(neg_h, dim=-1).to(dtype)
    out = {"prompt_embeds": pe, "negative_prompt_embeds": torch.zeros_like(ne) if zero_neg else ne}
    if xl:
        out["pooled_prompt_embeds"] = pos_pool.to(dtype)
        out["negative_pooled_prompt_embeds"] = (torch.zeros_like(neg_pool) if zero_neg else neg_pool).to(dtype)
    return out


# -- textual inversion -------------------------------------------------------------------------
def embedding_token(path: str | Path) -> str:
    """The word that triggers an embedding file: its file name without suffix (AUTOMATIC1111)."""
    return Path(path).stem


def load_embedding(pipe, path: str | Path, xl: bool = False) -> str:
    """Load a textual-inversion ``.safetensors`` into ``pipe``; returns its trigger token."""
    from safetensors.torch import load_file

    from kyara.generate.models import check_safetensors

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"embedding '{p}' does not exist, expected a textual-inversion .safetensors file")
    if p.suffix.lower() != ".safetensors":
        raise ValueError(f"embedding '{p}' has suffix '{p.suffix}', expected .safetensors")
    check_safetensors(str(p), "embedding")
    token = embedding_token(p)
    state = load_file(str(p))
    targets = [("clip_l", pipe.text_encoder, pipe.tokenizer)]
    if xl:
        targets.append(("clip_g", pipe.text_encoder_2, pipe.tokenizer_2))
    for key, enc, tok in targets:
        if xl:
            if key not in state:
                raise ValueError(f"embedding '{p}' has no '{key}' tensor, expected an SDXL embedding (clip_l and clip_g)")
            emb = state[key]
        else:
            if "clip_g" in state:
                raise ValueError(f"embedding '{p}' is for SDXL (clip_l and clip_g) but the model is not SDXL")
            tensors = list(state.values())
            if len(tensors) != 1:
                raise ValueError(f"embedding '{p}' holds {len(tensors)} tensors, expected one (emb_params)")
            emb = tensors[0]
        dim = enc.get_input_embeddings().weight.shape[1]
        if emb.ndim == 1:
            emb = emb[None]
        if emb.shape[-1] != dim:
            raise ValueError(f"embedding '{p}' has width {emb.shape[-1]} but the text encoder has {dim}, "
                             "expected an embedding made for this model family")
        pipe.load_textual_inversion(emb, token=token, text_encoder=enc, tokenizer=tok)
    return token


# -- content policy ----------------------------------------------------------------------------
_MINOR = ("child", "children", "kid", "kids", "loli", "lolicon", "shota", "shotacon", "toddler", "baby",
          "preteen", "underage", "infant", "little girl", "little boy", "young girl", "young boy", "chibi",
          "elementary school", "grade schooler", "minor")
_SEXUAL = ("nsfw", "nude", "nudity", "naked", "sex", "sexual", "sexy", "porn", "pornographic", "hentai",
           "explicit", "lewd", "erotic", "ecchi", "topless", "bottomless", "nipples", "nipple", "genitals",
           "lingerie", "fetish", "seductive", "orgasm", "cum", "pussy", "penis")
MINOR_BODIES = ("child", "chibi")


def _has(words: tuple[str, ...], text: str) -> str | None:
    low = re.sub(r"[^a-z ]+", " ", text.lower().replace("_", " "))
    padded = f" {' '.join(low.split())} "
    return next((w for w in words if f" {w} " in padded), None)


def check_content(prompt: str, body: str | None = None) -> None:
    """Refuse (one-line ``ValueError``) prompts that combine a child or chibi body with sexual terms."""
    sexual = _has(_SEXUAL, prompt)
    if sexual is None:
        return
    minor = _has(_MINOR, prompt) or (f"--body {body}" if body in MINOR_BODIES else None)
    if minor is not None:
        raise ValueError(f"refused: the prompt combines '{minor}' with '{sexual}'; kyara does not make sexual "
                         "images of child or chibi bodies")
