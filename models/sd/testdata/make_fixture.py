#!/usr/bin/python3
"""Parity fixture for the Stable Diffusion 1.5 port (models/sd, models/clip text).

A reduced configuration of SD 1.5's three networks, rebuilt module for module
from the published implementations' semantics (read, not copied):
  - text encoder: Hugging Face transformers 4.x `models/clip/modeling_clip.py`
    (CLIPTextTransformer: token + position embeddings, pre-LN encoder layers
    with causal self-attention and QuickGELU MLP, final_layer_norm);
  - UNet: CompVis stable-diffusion `ldm/modules/diffusionmodules/openaimodel.py`
    (UNetModel, ResBlock, Downsample, Upsample, timestep_embedding) and
    `ldm/modules/attention.py` (SpatialTransformer with conv proj_in/proj_out,
    BasicTransformerBlock, CrossAttention, FeedForward with GEGLU), with the
    v1-inference.yaml options (use_scale_shift_norm False, legacy heads);
  - VAE: `ldm/modules/diffusionmodules/model.py` (Encoder, Decoder,
    ResnetBlock, AttnBlock, Downsample with (0,1,0,1) padding, Upsample) and
    `ldm/models/autoencoder.py` (AutoencoderKL quant_conv/post_quant_conv).
Reductions: fewer/narrower channels, 1 res block per level, 2 text layers,
and GroupNorm with 8 groups instead of 32 (the group count is metadata).
Head counts stay SD 1.5's (text 12, UNet 8), so head widths are tiny.
Everything else (eps, activations, layouts, key names) is SD 1.5's.

Writes beside this script:
  sd_tiny.safetensors   single-file checkpoint (model.diffusion_model.*,
                        first_stage_model.*, cond_stage_model.transformer.*),
                        weights rounded to f16 and stored as F16
  vocab.json, merges.txt  a tiny CLIP BPE vocabulary (Hugging Face layout)
  sd_tiny_expect.safetensors  inputs and reference outputs (f32)

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
G = 8  # GroupNorm groups of the reduced config (SD 1.5: 32; the converter
#        takes the largest power of two up to 32 dividing the narrowest width)

# ---------------------------------------------------------------- files


def write_safetensors(path, tensors, dtype="F32"):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if dtype == "F16":
            data = t.to(torch.float16).numpy().tobytes()
        else:
            data = t.to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

# ---------------------------------------------------------------- CLIP text


class CLIPAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.k_proj, self.v_proj = nn.Linear(d, d), nn.Linear(d, d)
        self.q_proj, self.out_proj = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x, mask):
        b, n, d = x.shape
        q = self.q_proj(x) * self.dh ** -0.5
        k, v = self.k_proj(x), self.v_proj(x)
        sh = lambda t: t.view(b, n, self.h, self.dh).transpose(1, 2)
        w = sh(q) @ sh(k).transpose(-1, -2) + mask
        o = w.softmax(-1) @ sh(v)
        return self.out_proj(o.transpose(1, 2).reshape(b, n, d))


class CLIPMLP(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class CLIPLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.self_attn = CLIPAttention(d, heads)
        self.layer_norm1 = nn.LayerNorm(d)
        self.mlp = CLIPMLP(d, ff)
        self.layer_norm2 = nn.LayerNorm(d)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEmbeddings(nn.Module):
    def __init__(self, vocab, d, pos):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d)
        self.position_embedding = nn.Embedding(pos, d)


class CLIPEncoder(nn.Module):
    def __init__(self, d, heads, ff, layers):
        super().__init__()
        self.layers = nn.ModuleList([CLIPLayer(d, heads, ff) for _ in range(layers)])


class CLIPTextTransformer(nn.Module):
    def __init__(self, vocab, d=24, heads=12, ff=96, layers=2, pos=77):
        super().__init__()
        self.embeddings = CLIPEmbeddings(vocab, d, pos)
        self.encoder = CLIPEncoder(d, heads, ff, layers)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, ids, skip=1):
        n = ids.shape[1]
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding.weight[:n]
        mask = torch.full((n, n), float("-inf")).triu(1)
        layers = self.encoder.layers
        for l in layers[:len(layers) - (skip - 1)]:
            x = l(x, mask)
        return self.final_layer_norm(x)

# ---------------------------------------------------------------- UNet


def gn(c, eps=1e-5):
    return nn.GroupNorm(G, c, eps=eps)


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    def __init__(self, ch, emb, out):
        super().__init__()
        self.in_layers = nn.Sequential(gn(ch), nn.SiLU(), nn.Conv2d(ch, out, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, out))
        self.out_layers = nn.Sequential(gn(out), nn.SiLU(), nn.Dropout(0), nn.Conv2d(out, out, 3, padding=1))
        self.skip_connection = nn.Identity() if ch == out else nn.Conv2d(ch, out, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        h = h + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class CrossAttention(nn.Module):
    def __init__(self, q_dim, ctx_dim, heads, dh):
        super().__init__()
        inner = heads * dh
        self.h, self.scale = heads, dh ** -0.5
        self.to_q = nn.Linear(q_dim, inner, bias=False)
        self.to_k = nn.Linear(ctx_dim, inner, bias=False)
        self.to_v = nn.Linear(ctx_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, q_dim), nn.Dropout(0))

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        q, k, v = self.to_q(x), self.to_k(ctx), self.to_v(ctx)
        b = x.shape[0]
        sh = lambda t: t.view(b, t.shape[1], self.h, -1).transpose(1, 2)
        sim = (sh(q) @ sh(k).transpose(-1, -2)) * self.scale
        o = sim.softmax(-1) @ sh(v)
        return self.to_out(o.transpose(1, 2).reshape(b, x.shape[1], -1))


class GEGLU(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.proj = nn.Linear(d, inner * 2)

    def forward(self, x):
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, d, mult=4):
        super().__init__()
        self.net = nn.Sequential(GEGLU(d, d * mult), nn.Dropout(0), nn.Linear(d * mult, d))

    def forward(self, x):
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    def __init__(self, d, heads, dh, ctx_dim):
        super().__init__()
        self.attn1 = CrossAttention(d, d, heads, dh)
        self.ff = FeedForward(d)
        self.attn2 = CrossAttention(d, ctx_dim, heads, dh)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, x, ctx):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), ctx) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    def __init__(self, ch, heads, ctx_dim):
        super().__init__()
        self.norm = gn(ch, eps=1e-6)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(ch, heads, ch // heads, ctx_dim)])
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        x_in = x
        x = self.proj_in(self.norm(x))
        x = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
        for blk in self.transformer_blocks:
            x = blk(x, ctx)
        x = x.reshape(b, h, w, c).permute(0, 3, 1, 2)
        return self.proj_out(x) + x_in


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Seq(nn.ModuleList):
    def forward(self, x, emb, ctx):
        for l in self:
            if isinstance(l, ResBlock):
                x = l(x, emb)
            elif isinstance(l, SpatialTransformer):
                x = l(x, ctx)
            else:
                x = l(x)
        return x


class UNetModel(nn.Module):
    def __init__(self, mc=8, mult=(1, 2, 2), attn=(1, 1, 0), nrb=1, heads=8, ctx_dim=24, cin=4):
        super().__init__()
        self.mc = mc
        ted = mc * 4
        self.time_embed = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        self.input_blocks = nn.ModuleList([Seq([nn.Conv2d(cin, mc, 3, padding=1)])])
        chans, ch = [mc], mc
        for lvl, m in enumerate(mult):
            for _ in range(nrb):
                layers = [ResBlock(ch, ted, m * mc)]
                ch = m * mc
                if attn[lvl]:
                    layers.append(SpatialTransformer(ch, heads, ctx_dim))
                self.input_blocks.append(Seq(layers))
                chans.append(ch)
            if lvl != len(mult) - 1:
                self.input_blocks.append(Seq([Downsample(ch)]))
                chans.append(ch)
        self.middle_block = Seq([ResBlock(ch, ted, ch), SpatialTransformer(ch, heads, ctx_dim), ResBlock(ch, ted, ch)])
        self.output_blocks = nn.ModuleList()
        for lvl, m in list(enumerate(mult))[::-1]:
            for i in range(nrb + 1):
                ich = chans.pop()
                layers = [ResBlock(ch + ich, ted, mc * m)]
                ch = mc * m
                if attn[lvl]:
                    layers.append(SpatialTransformer(ch, heads, ctx_dim))
                if lvl and i == nrb:
                    layers.append(Upsample(ch))
                self.output_blocks.append(Seq(layers))
        self.out = nn.Sequential(gn(ch), nn.SiLU(), nn.Conv2d(mc, cin, 3, padding=1))

    def forward(self, x, t, ctx):
        emb = self.time_embed(timestep_embedding(t, self.mc))
        hs, h = [], x
        for b in self.input_blocks:
            h = b(h, emb, ctx)
            hs.append(h)
        h = self.middle_block(h, emb, ctx)
        for b in self.output_blocks:
            h = b(torch.cat([h, hs.pop()], dim=1), emb, ctx)
        return self.out(h)

# ---------------------------------------------------------------- VAE


def swish(x):
    return x * torch.sigmoid(x)


class VResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = gn(cin, 1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = gn(cout, 1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        self.cin, self.cout = cin, cout

    def forward(self, x):
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(swish(self.norm2(h)))
        if self.cin != self.cout:
            x = self.nin_shortcut(x)
        return x + h


class VAttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c, 1e-6)
        self.q, self.k, self.v = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h = self.norm(x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        b, c, hh, ww = q.shape
        q = q.reshape(b, c, hh * ww).permute(0, 2, 1)
        k = k.reshape(b, c, hh * ww)
        w = torch.bmm(q, k) * (int(c) ** -0.5)
        w = w.softmax(dim=2)
        v = v.reshape(b, c, hh * ww)
        h = torch.bmm(v, w.permute(0, 2, 1)).reshape(b, c, hh, ww)
        return x + self.proj_out(h)


class VDown(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1), mode="constant", value=0))


class VUp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class VMid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block_1, self.attn_1, self.block_2 = VResnetBlock(c, c), VAttnBlock(c), VResnetBlock(c, c)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class Encoder(nn.Module):
    def __init__(self, ch=8, mult=(1, 2), nrb=1, z=4):
        super().__init__()
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        in_mult = (1,) + tuple(mult)
        self.down = nn.ModuleList()
        for i, m in enumerate(mult):
            d = nn.Module()
            bi, bo = ch * in_mult[i], ch * m
            d.block = nn.ModuleList()
            for _ in range(nrb):
                d.block.append(VResnetBlock(bi, bo))
                bi = bo
            d.attn = nn.ModuleList()
            if i != len(mult) - 1:
                d.downsample = VDown(bi)
            self.down.append(d)
        self.mid = VMid(bi)
        self.norm_out = gn(bi, 1e-6)
        self.conv_out = nn.Conv2d(bi, 2 * z, 3, padding=1)
        self.n = len(mult)

    def forward(self, x):
        h = self.conv_in(x)
        for i, d in enumerate(self.down):
            for b in d.block:
                h = b(h)
            if i != self.n - 1:
                h = d.downsample(h)
        h = self.mid(h)
        return self.conv_out(swish(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, ch=8, mult=(1, 2), nrb=1, z=4):
        super().__init__()
        bi = ch * mult[-1]
        self.conv_in = nn.Conv2d(z, bi, 3, padding=1)
        self.mid = VMid(bi)
        self.up = nn.ModuleList()
        for i in reversed(range(len(mult))):
            u = nn.Module()
            bo = ch * mult[i]
            u.block = nn.ModuleList()
            for _ in range(nrb + 1):
                u.block.append(VResnetBlock(bi, bo))
                bi = bo
            u.attn = nn.ModuleList()
            if i != 0:
                u.upsample = VUp(bi)
            self.up.insert(0, u)
        self.norm_out = gn(bi, 1e-6)
        self.conv_out = nn.Conv2d(bi, 3, 3, padding=1)
        self.n = len(mult)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for i in reversed(range(self.n)):
            for b in self.up[i].block:
                h = b(h)
            if i != 0:
                h = self.up[i].upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, z=4):
        super().__init__()
        self.encoder, self.decoder = Encoder(z=z), Decoder(z=z)
        self.quant_conv = nn.Conv2d(2 * z, 2 * z, 1)
        self.post_quant_conv = nn.Conv2d(z, z, 1)

    def encode(self, x):
        return self.quant_conv(self.encoder(x)).chunk(2, dim=1)

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))

# ---------------------------------------------------------------- tokenizer


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


MERGES = ["h e", "l l", "he ll", "hell o</w>", "c a", "ca t</w>",
          "p h", "ph o", "pho t", "phot o</w>", "o f</w>", "d o", "do g</w>", "r e",
          "re d</w>", "i n", "in g</w>", "t h", "th e</w>", "' s</w>", "a n", "an d</w>"]


def write_vocab():
    units = bytes_to_unicode()
    vocab = units + [u + "</w>" for u in units] + [m.replace(" ", "") for m in MERGES]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(HERE, "vocab.json"), "w") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(HERE, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "\n".join(MERGES) + "\n")
    return len(vocab)

# ---------------------------------------------------------------- samplers (float64 closed form)


def alphas_cumprod():
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def euler_sigmas(steps):
    # SD 1.5 scheduler_config.json: steps_offset 1, "leading" spacing.
    ratio = 1000 // steps
    ts = (np.arange(0, steps) * ratio).round()[::-1].astype(np.float64) + 1
    ac = alphas_cumprod()
    s_all = ((1 - ac) / ac) ** 0.5
    sig = np.interp(ts, np.arange(1000), s_all)
    return ts, np.concatenate([sig, [0.0]])


def main():
    torch.manual_seed(0)
    V = write_vocab()
    te = CLIPTextTransformer(V)
    unet = UNetModel()
    vae = AutoencoderKL()
    sd = {}
    for prefix, m in (("cond_stage_model.transformer.text_model.", te),
                      ("model.diffusion_model.", unet), ("first_stage_model.", vae)):
        with torch.no_grad():
            for k, p in m.state_dict().items():
                if p.dtype.is_floating_point:
                    if k.endswith("bias") or "norm" in k:
                        p.normal_(0, 0.1).add_(1.0 if (k.endswith("weight") and "norm" in k) else 0.0)
                    p.copy_(p.half().float())
                sd[prefix + k] = p
    # single-file checkpoints carry the text model's position_ids buffer
    sd["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77)[None].float()
    write_safetensors(os.path.join(HERE, "sd_tiny.safetensors"), sd, "F16")
    te.eval(), unet.eval(), vae.eval()

    out = {}
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, V, (2, 77), generator=g)
    out["ids"] = ids.float()
    x = torch.randn(2, 4, 8, 12, generator=g)
    t = torch.tensor([951.0, 1.0])
    img = torch.rand(1, 3, 16, 24, generator=g) * 2 - 1
    with torch.no_grad():
        ctx = te(ids)
        out["text"] = ctx
        out["text_skip2"] = te(ids, skip=2)
        out["unet_x"], out["unet_t"] = x, t
        out["unet_out"] = unet(x, t, ctx)
        mean, logvar = vae.encode(img)
        out["vae_img"], out["vae_mean"], out["vae_logvar"] = img, mean, logvar
        out["vae_dec"] = vae.decode(x[:1])
        # 3-step Euler with CFG (batch of 2: uncond, cond), latents from noise.
        steps, cfg = 3, 7.5
        ts, sig = euler_sigmas(steps)
        noise = torch.randn(1, 4, 8, 12, generator=g, dtype=torch.float64)
        out["euler_noise"] = noise
        out["euler_sigmas"] = torch.tensor(sig)
        out["euler_timesteps"] = torch.tensor(ts)
        lat = noise * sig[0]
        cond = torch.cat([ctx[0:1], ctx[1:2]])  # [uncond, cond]
        for i in range(steps):
            inp = (lat / (sig[i] ** 2 + 1) ** 0.5).float()
            eps = unet(torch.cat([inp, inp]), torch.tensor([ts[i], ts[i]]), cond).double()
            e = eps[0:1] + cfg * (eps[1:2] - eps[0:1])
            lat = lat + e * (sig[i + 1] - sig[i])
        out["euler_out"] = lat
    write_safetensors(os.path.join(HERE, "sd_tiny_expect.safetensors"), out)
    print("torch", torch.__version__, "vocab", V)
    for k, v in out.items():
        print(k, tuple(v.shape), float(v.abs().max()))


if __name__ == "__main__":
    main()
