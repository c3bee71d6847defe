#!/usr/bin/python3
"""Parity fixture for models/llava: a whole tiny LLaVA (CLIP tower + mlp2x_gelu
projector + Qwen2 language model) as a LLaVA-repo checkpoint folder pair.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 models/llava/testdata/make_llava_fixture.py

The tower and projector reuse models/clip/testdata/make_vision_fixture.py
(transformers v4.44 modeling_clip.py semantics). The language model is
rebuilt module for module, with Hugging Face's parameter names, from
transformers v4.44 `models/qwen2/modeling_qwen2.py` (Qwen2RMSNorm,
Qwen2RotaryEmbedding + rotate_half, Qwen2Attention with q/k/v biases and
grouped KV heads, Qwen2MLP = down(silu(gate(x)) * up(x)), tied lm_head), and
LLaVA's input splice from haotian-liu/LLaVA `llava_arch.py`
(prepare_inputs_labels_for_multimodal: text embeddings before and after the
image, projected image features in place of the <image> token).

The tokenizer is a real byte-level BPE (tokenizer.json in Hugging Face's
format: 256 byte tokens, a few merges, Qwen's three special tokens).

Writes:
  llava/   config.json, model.bin (LM + projector, LLaVA key names),
           tokenizer.json, tokenizer_config.json
  tower/   config.json, pytorch_model.bin (CLIPVisionModel key names)
  expect.pt  pixels, pre/post prompt ids, last-position logits, greedy ids,
             and the BPE ids of a test sentence
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clip", "testdata"))
import make_vision_fixture as vf  # noqa: E402


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
MERGES = [("Ġ", "a"), ("Ġ", "d"), ("o", "g"), ("Ġd", "og"), ("Ġ", "p"), ("h", "o"), ("Ġp", "ho"), ("t", "o"), ("Ġpho", "to"), ("Ġ", "o"), ("Ġo", "f")]


def make_tokenizer():
    vocab = {B2U[b]: i for i, b in enumerate(range(256))}
    for a, b in MERGES:
        vocab.setdefault(a + b, len(vocab))
    n = len(vocab)
    added = [{"id": n + i, "content": c, "special": True} for i, c in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])]
    return vocab, added


def bpe(word, ranks):
    syms = list(word)
    while True:
        best = None
        for i in range(len(syms) - 1):
            r = ranks.get((syms[i], syms[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return syms
        i = best[1]
        syms = syms[:i] + [syms[i] + syms[i + 1]] + syms[i + 2:]


def encode(text, vocab):
    import re
    ranks = {m: i for i, m in enumerate(MERGES)}
    ids = []
    for w in re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", text):
        for s in bpe("".join(B2U[b] for b in w.encode()), ranks):
            ids.append(vocab[s])
    return ids


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.h, self.kvh = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd, self.theta = d // self.h, cfg["rope_theta"]
        self.q_proj = nn.Linear(d, self.h * self.hd)
        self.k_proj = nn.Linear(d, self.kvh * self.hd)
        self.v_proj = nn.Linear(d, self.kvh * self.hd)
        self.o_proj = nn.Linear(self.h * self.hd, d, bias=False)

    def forward(self, x):
        b, n, _ = x.shape
        q = self.q_proj(x).view(b, n, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.kvh, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.kvh, self.hd).transpose(1, 2)
        inv = 1.0 / (self.theta ** (torch.arange(0, self.hd, 2, dtype=torch.float64) / self.hd))
        f = torch.outer(torch.arange(n, dtype=torch.float64), inv)
        emb = torch.cat([f, f], -1)
        cos, sin = emb.cos().float(), emb.sin().float()
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = self.h // self.kvh
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        w = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        w = w + torch.full((n, n), float("-inf")).triu(1)
        o = (w.softmax(-1) @ v).transpose(1, 2).reshape(b, n, -1)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False), nn.Linear(ff, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["rms_norm_eps"]
        self.input_layernorm, self.self_attn = RMSNorm(d, eps), Attention(cfg)
        self.post_attention_layernorm, self.mlp = RMSNorm(d, eps), MLP(d, cfg["intermediate_size"])

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def logits(self, emb):
        for l in self.layers:
            emb = l(emb)
        return self.norm(emb) @ self.embed_tokens.weight.T  # tied lm_head


def build(seed):
    gen = torch.Generator().manual_seed(seed)
    vcfg = {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
            "num_hidden_layers": 3, "image_size": 28, "patch_size": 7, "layer_norm_eps": 1e-5, "hidden_act": "quick_gelu"}
    tower = vf.Tower(vcfg, True)
    vf.randomize(tower, gen)
    vocab, added = make_tokenizer()
    nvocab = len(vocab) + len(added) + 5  # padded, as Qwen pads its embedding rows
    cfg = {"architectures": ["LlavaQwen2ForCausalLM"], "model_type": "llava_qwen2",
           "hidden_size": 48, "intermediate_size": 96, "num_attention_heads": 4, "num_key_value_heads": 2,
           "num_hidden_layers": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "vocab_size": nvocab,
           "max_position_embeddings": 512, "tie_word_embeddings": True,
           "mm_hidden_size": 32, "mm_projector_type": "mlp2x_gelu", "mm_vision_select_layer": -2,
           "mm_vision_select_feature": "patch", "mm_vision_tower": "openai/clip-vit-large-patch14-336",
           "image_aspect_ratio": "pad"}
    lm = Qwen2(cfg)
    vf.randomize(lm, gen)
    with torch.no_grad():
        lm.embed_tokens.weight.mul_(0.3)  # small next to the blocks: the next token is not the current one
    proj = nn.Sequential(nn.Linear(32, 48), nn.GELU(), nn.Linear(48, 48))
    vf.randomize(proj, gen)

    px = torch.randn(1, 3, 28, 28, generator=gen)
    pre = torch.randint(0, len(vocab), (7,), generator=gen)
    post = torch.randint(0, len(vocab), (5,), generator=gen)
    with torch.no_grad():
        img = proj(tower.vision_model.hidden_states(px)[-2][:, 1:])
        emb = torch.cat([lm.embed_tokens(pre)[None], img, lm.embed_tokens(post)[None]], 1)
        first = lm.logits(emb)[0, -1]
        greedy, gap = [], float("inf")
        for _ in range(6):
            l = lm.logits(emb)[0, -1]
            top = l.topk(2).values
            gap = min(gap, float(top[0] - top[1]))
            nxt = l.argmax()
            greedy.append(int(nxt))
            emb = torch.cat([emb, lm.embed_tokens(nxt)[None, None]], 1)
    return locals()


def main():
    # The first seed whose greedy sequence is varied and never a near tie
    # (so that f32 rounding differences cannot flip a token).
    for seed in range(11, 200):
        v = build(seed)
        if len(set(v["greedy"])) >= 3 and v["gap"] > 0.05:
            break
    cfg, vcfg, tok_vocab, added, lm, proj, tower = v["cfg"], v["vcfg"], v["vocab"], v["added"], v["lm"], v["proj"], v["tower"]
    vocab, px, pre, post, first, greedy = tok_vocab, v["px"], v["pre"], v["post"], v["first"], v["greedy"]
    print("seed", seed, "gap", v["gap"])

    os.makedirs(os.path.join(HERE, "llava"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "tower"), exist_ok=True)
    with open(os.path.join(HERE, "llava", "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    with open(os.path.join(HERE, "tower", "config.json"), "w") as f:
        json.dump(vcfg, f, indent=1)
    tok = {"version": "1.0", "added_tokens": added,
           "model": {"type": "BPE", "vocab": vocab, "merges": [a + " " + b for a, b in MERGES]}}
    with open(os.path.join(HERE, "llava", "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(HERE, "llava", "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "bos_token": None}, f)
    sd = {"model." + k: v.contiguous() for k, v in lm.state_dict().items()}
    sd.update({"model.mm_projector." + k: v.contiguous() for k, v in proj.state_dict().items()})
    torch.save(sd, os.path.join(HERE, "llava", "model.bin"))
    torch.save({k: v.contiguous() for k, v in tower.state_dict().items()}, os.path.join(HERE, "tower", "pytorch_model.bin"))
    sentence = " a photo of a dog"
    torch.save({"pixels": px.contiguous(), "pre": pre.float(), "post": post.float(), "first_logits": first.contiguous(),
                "greedy": torch.tensor(greedy).float(), "sentence_ids": torch.tensor(encode(sentence, vocab)).float()},
               os.path.join(HERE, "expect.pt"))
    print("greedy", greedy, "max|logit|", first.abs().max().item(), "sentence", encode(sentence, vocab))


if __name__ == "__main__":
    main()
