#!/usr/bin/python3
"""Parity fixtures for models/clip's vision tower and LLaVA projector.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 models/clip/testdata/make_vision_fixture.py

No Hugging Face `transformers` here, so the two towers are rebuilt module for
module, with Hugging Face's parameter names, from the semantics of
transformers v4.44 `models/clip/modeling_clip.py` (CLIPVisionEmbeddings,
CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPVisionTransformer) and
`models/siglip/modeling_siglip.py` (SiglipVisionEmbeddings, ...,
SiglipVisionTransformer without the MAP head), and LLaVA's projector from
haotian-liu/LLaVA `llava/model/multimodal_projector/builder.py`
(`mlp2x_gelu` = Linear, GELU, Linear) with the feature selection of
`llava/model/multimodal_encoder/clip_encoder.py` (hidden_states[select_layer],
'patch' drops the class token).

Writes, per variant (clip, siglip), a LLaVA-style folder pair:
  <v>_tower/config.json + pytorch_model.bin     the vision tower (HF names)
  <v>_llava/config.json + mm_projector.bin      LLaVA config + projector weights
  <v>_expect.pt                                 input pixels, features, projected tokens
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, n, d = x.shape
        sh = lambda t: t.view(b, n, self.heads, self.hd).transpose(1, 2)
        q, k, v = sh(self.q_proj(x)), sh(self.k_proj(x)), sh(self.v_proj(x))
        w = (q @ k.transpose(-1, -2)) * self.hd ** -0.5
        o = (w.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        return self.out_proj(o)


class MLP(nn.Module):
    def __init__(self, d, ff, act):
        super().__init__()
        self.fc1, self.fc2, self.act = nn.Linear(d, ff), nn.Linear(ff, d), act

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Layer(nn.Module):
    def __init__(self, d, heads, ff, act, eps):
        super().__init__()
        self.self_attn = Attention(d, heads)
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = MLP(d, ff, act)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, n, *a):
        super().__init__()
        self.layers = nn.ModuleList(Layer(*a) for _ in range(n))


class Embeddings(nn.Module):
    def __init__(self, d, image, patch, cls):
        super().__init__()
        self.cls = cls
        n = (image // patch) ** 2
        if cls:
            self.class_embedding = nn.Parameter(torch.randn(d))
        self.patch_embedding = nn.Conv2d(3, d, patch, patch, bias=not cls)
        self.position_embedding = nn.Embedding(n + (1 if cls else 0), d)
        self.register_buffer("position_ids", torch.arange(n + (1 if cls else 0))[None], persistent=False)

    def forward(self, px):
        p = self.patch_embedding(px).flatten(2).transpose(1, 2)
        if self.cls:
            p = torch.cat([self.class_embedding.expand(p.shape[0], 1, -1), p], 1)
        return p + self.position_embedding(self.position_ids)


class VisionTransformer(nn.Module):
    """CLIPVisionTransformer (cls=True) or SiglipVisionTransformer (cls=False)."""

    def __init__(self, cfg, clip):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        act = {"quick_gelu": quick_gelu, "gelu_pytorch_tanh": gelu_tanh, "gelu": F.gelu}[cfg["hidden_act"]]
        self.clip = clip
        self.embeddings = Embeddings(d, cfg["image_size"], cfg["patch_size"], clip)
        if clip:
            self.pre_layrnorm = nn.LayerNorm(d, eps=eps)
        self.encoder = Encoder(cfg["num_hidden_layers"], d, cfg["num_attention_heads"], cfg["intermediate_size"], act, eps)
        self.post_layernorm = nn.LayerNorm(d, eps=eps)

    def hidden_states(self, px):
        x = self.embeddings(px)
        if self.clip:
            x = self.pre_layrnorm(x)
        hs = [x]
        for layer in self.encoder.layers:
            x = layer(x)
            hs.append(x)
        return hs


class Tower(nn.Module):
    def __init__(self, cfg, clip):
        super().__init__()
        self.vision_model = VisionTransformer(cfg, clip)


class TowerWithProjection(Tower):
    """CLIPVisionModelWithProjection: image_embeds = visual_projection(
    post_layernorm(last_hidden_state[:, 0])) (the IP-Adapter image encoder)."""

    def __init__(self, cfg):
        super().__init__(cfg, True)
        self.visual_projection = nn.Linear(cfg["hidden_size"], cfg["projection_dim"], bias=False)


def randomize(m, gen):
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("weight") and p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def make(variant, seed):
    clip = variant == "clip"
    gen = torch.Generator().manual_seed(seed)
    cfg = {
        "model_type": "clip_vision_model" if clip else "siglip_vision_model",
        "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
        "num_hidden_layers": 3, "image_size": 28, "patch_size": 7,
        "layer_norm_eps": 1e-5 if clip else 1e-6,
        "hidden_act": "quick_gelu" if clip else "gelu_pytorch_tanh",
    }
    tower = Tower(cfg, clip)
    randomize(tower, gen)
    lm_hidden = 48
    proj = nn.Sequential(nn.Linear(32, lm_hidden), nn.GELU(), nn.Linear(lm_hidden, lm_hidden))
    randomize(proj, gen)
    select = -2
    llava_cfg = {
        "architectures": ["LlavaQwen2ForCausalLM"], "model_type": "llava_qwen2",
        "hidden_size": lm_hidden, "mm_hidden_size": 32, "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": select, "mm_vision_select_feature": "patch",
        "mm_vision_tower": "openai/clip-vit-large-patch14-336" if clip else "google/siglip-so400m-patch14-384",
        "image_aspect_ratio": "pad",
    }
    px = torch.randn(2, 3, 28, 28, generator=gen)
    with torch.no_grad():
        hs = tower.vision_model.hidden_states(px)
        feats = hs[select]
        patches = feats[:, 1:] if clip else feats
        out = proj(patches)

    for sub, c in ((f"{variant}_tower", cfg), (f"{variant}_llava", llava_cfg)):
        os.makedirs(os.path.join(HERE, sub), exist_ok=True)
        with open(os.path.join(HERE, sub, "config.json"), "w") as f:
            json.dump(c, f, indent=1)
    sd = {k: v.contiguous() for k, v in tower.state_dict().items()}
    torch.save(sd, os.path.join(HERE, f"{variant}_tower", "pytorch_model.bin"))
    psd = {f"model.mm_projector.{k}": v.contiguous() for k, v in proj.state_dict().items()}
    torch.save(psd, os.path.join(HERE, f"{variant}_llava", "mm_projector.bin"))
    torch.save({"pixels": px.contiguous(), "features": feats.contiguous(), "projected": out.contiguous()},
               os.path.join(HERE, f"{variant}_expect.pt"))
    print(variant, "features", tuple(feats.shape), "projected", tuple(out.shape), "max|proj|", out.abs().max().item())


def make_encoder(seed):
    """A CLIP ViT-H/14-style image encoder (GELU with erf, projection), as
    the IP-Adapter uses it: pooled image_embeds and hidden_states[-2]."""
    gen = torch.Generator().manual_seed(seed)
    cfg = {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
           "num_hidden_layers": 3, "image_size": 28, "patch_size": 7, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
           "projection_dim": 24}
    tower = TowerWithProjection(cfg)
    randomize(tower, gen)
    px = torch.randn(2, 3, 28, 28, generator=gen)
    with torch.no_grad():
        hs = tower.vision_model.hidden_states(px)
        embeds = tower.visual_projection(tower.vision_model.post_layernorm(hs[-1][:, 0]))
    d = os.path.join(HERE, "cliph_tower")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    torch.save({k: v.contiguous() for k, v in tower.state_dict().items()}, os.path.join(d, "pytorch_model.bin"))
    torch.save({"pixels": px.contiguous(), "penultimate": hs[-2].contiguous(), "image_embeds": embeds.contiguous()},
               os.path.join(HERE, "cliph_expect.pt"))
    print("cliph image_embeds", tuple(embeds.shape))


if __name__ == "__main__":
    make("clip", 1)
    make("siglip", 2)
    make_encoder(3)
