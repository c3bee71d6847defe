#!/usr/bin/python3
"""Parity fixture for the IP-Adapter port (models/ipadapter, sd.IPCond).

Reference written from the semantics of tencent-ailab/IP-Adapter (main
branch, 2023-12): ip_adapter/ip_adapter.py (ImageProjModel: Linear
clip_embeddings_dim → tokens·cross_dim, reshape, LayerNorm; IPAdapter's
zero-embedding unconditional prompt) and ip_adapter/attention_processor.py
(IPAttnProcessor: the context is [text tokens | image tokens]; text
attention with to_k/to_v, image attention with to_k_ip/to_v_ip on the same
query, hidden = text + scale·image, then to_out), with the processors
numbered in diffusers' unet.attn_processors order (down blocks, up blocks,
mid block; attn1 even, attn2 odd). Read, not copied.

The UNet is models/sd/testdata/make_fixture.py's reduced SD 1.5 UNet with
the weights of models/sd/testdata/sd_tiny.safetensors (read here), so the
Go test converts that checkpoint with the real sd converter.

Writes beside this script:
  ip_tiny.safetensors  adapter checkpoint (image_proj.*, ip_adapter.N.*), F32
  ip_tiny.bin          the same weights as torch.save({"image_proj": …,
                       "ip_adapter": …}), the release's .bin layout
  ip_tiny_expect.safetensors  inputs and reference outputs

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "sd", "testdata"))
import make_fixture as sdfix  # noqa: E402

IMAGE_DIM, CROSS, TOKENS = 24, 24, 4  # IMAGE_DIM: projection_dim of models/clip/testdata/cliph_tower


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F16": np.float16, "F32": np.float32}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt).astype(np.float32).reshape(v["shape"]).copy())
    return out


class ImageProjModel(nn.Module):
    def __init__(self, cross=CROSS, image_dim=IMAGE_DIM, tokens=TOKENS):
        super().__init__()
        self.cross, self.tokens = cross, tokens
        self.proj = nn.Linear(image_dim, tokens * cross)
        self.norm = nn.LayerNorm(cross)

    def forward(self, embeds):
        x = self.proj(embeds).reshape(-1, self.tokens, self.cross)
        return self.norm(x)


class IPLayer(nn.Module):
    def __init__(self, hidden, cross=CROSS):
        super().__init__()
        self.to_k_ip = nn.Linear(cross, hidden, bias=False)
        self.to_v_ip = nn.Linear(cross, hidden, bias=False)


def ip_attention(attn, ip, scale, x, ctx):
    """IPAttnProcessor on ldm's CrossAttention: ctx = [text | image tokens]."""
    end = ctx.shape[1] - TOKENS
    text, img = ctx[:, :end], ctx[:, end:]
    b = x.shape[0]
    sh = lambda t: t.view(b, t.shape[1], attn.h, -1).transpose(1, 2)
    q = sh(attn.to_q(x))

    def att(k, v):
        sim = (q @ sh(k).transpose(-1, -2)) * attn.scale
        return sim.softmax(-1) @ sh(v)
    o = att(attn.to_k(text), attn.to_v(text)) + scale * att(ip.to_k_ip(img), ip.to_v_ip(img))
    return attn.to_out(o.transpose(1, 2).reshape(b, x.shape[1], -1))


def attn2_in_processor_order(unet):
    """Every SpatialTransformer's attn2 in diffusers' order: down, up, mid."""
    out = []
    for seqs in (unet.input_blocks, unet.output_blocks, [unet.middle_block]):
        for s in seqs:
            for l in s:
                if isinstance(l, sdfix.SpatialTransformer):
                    out += [blk.attn2 for blk in l.transformer_blocks]
    return out


def install(unet, adapter, scale):
    """Route each attn2 through IPAttnProcessor (ip_adapter.2i+1)."""
    for i, a in enumerate(attn2_in_processor_order(unet)):
        ip = adapter[2 * i + 1]
        a.forward = (lambda a, ip: lambda x, ctx=None: ip_attention(a, ip, scale, x, ctx))(a, ip)


def main():
    unet = sdfix.UNetModel()
    w = read_safetensors(os.path.join(HERE, "..", "..", "sd", "testdata", "sd_tiny.safetensors"))
    pre = "model.diffusion_model."
    unet.load_state_dict({k[len(pre):]: v for k, v in w.items() if k.startswith(pre)})
    unet.eval()
    widths = [a.to_q.out_features for a in attn2_in_processor_order(unet)]

    torch.manual_seed(12)
    proj = ImageProjModel()
    adapter = nn.ModuleList()
    for wd in widths:
        adapter.append(nn.Identity())  # attn1: AttnProcessor, no weights
        adapter.append(IPLayer(wd))
    with torch.no_grad():
        for m in (proj, adapter):
            for k, p in m.state_dict().items():
                if "norm" in k or k.endswith("bias"):
                    p.normal_(0, 0.1).add_(1.0 if ("norm" in k and k.endswith("weight")) else 0.0)
                else:
                    p.normal_(0, 0.3)
    ckpt = {"image_proj." + k: v for k, v in proj.state_dict().items()}
    ckpt.update({"ip_adapter." + k: v for k, v in adapter.state_dict().items()})
    sdfix.write_safetensors(os.path.join(HERE, "ip_tiny.safetensors"), ckpt)
    torch.save({"image_proj": proj.state_dict(), "ip_adapter": adapter.state_dict()}, os.path.join(HERE, "ip_tiny.bin"))

    g = torch.Generator().manual_seed(3)
    out = {}
    emb = torch.randn(1, IMAGE_DIM, generator=g)
    text = torch.randn(2, 77, CROSS, generator=g)
    x = torch.randn(2, 4, 8, 12, generator=g)
    t = torch.tensor([951.0, 1.0])
    scale = 0.6
    with torch.no_grad():
        tokens = proj(torch.cat([torch.zeros_like(emb), emb]))  # [uncond, cond]
        out["embed"], out["tokens"] = emb, tokens
        ctx = torch.cat([text, tokens], dim=1)
        # one transformer block (input_blocks.1.1) with its IP layer (ip_adapter.1)
        blk = unet.input_blocks[1][1].transformer_blocks[0]
        bx = torch.randn(2, 6, widths[0], generator=g)
        install(unet, adapter, scale)
        out["block_x"], out["block_out"] = bx, blk(bx, ctx)
        out["text"], out["unet_x"], out["unet_t"] = text, x, t
        out["unet_ip"] = unet(x, t, ctx)
        install(unet, adapter, 0.0)
        out["unet_ip0"] = unet(x, t, ctx)
        out["scale"] = torch.tensor([scale])
    sdfix.write_safetensors(os.path.join(HERE, "ip_tiny_expect.safetensors"), out)
    print("torch", torch.__version__, "widths", widths)
    for k, v in out.items():
        print(k, tuple(v.shape), float(v.abs().max()))


if __name__ == "__main__":
    main()
