#!/usr/bin/python3
"""Full-size seeded random weights for the IP-Adapter benchmark against
stable-diffusion.cpp (issue 12), in the layouts of the published files, so that
the very same bytes feed both `multisc convert` and sd.cpp's sd-cli.

NEVER part of the Multi-SC build, its tests or CI: it only prepares benchmark
inputs outside the repository (about 3.4 GB). Usage:

    /usr/bin/python3 tools/sdcpp_ipadapter/make_weights.py OUT_DIR [--seed 1]

writes
  OUT_DIR/sd15.safetensors            SD 1.5 single file, original LDM keys
                                      (model.diffusion_model.*, first_stage_model.*,
                                      cond_stage_model.transformer.text_model.*,
                                      plus the schedule buffers v1-5-pruned-emaonly
                                      carries), f16
  OUT_DIR/vocab.json, merges.txt      a made-up CLIP-layout tokenizer of 49408
                                      entries (single files carry none; the same
                                      construction as clip.TokenizerSynthVocab)
  OUT_DIR/image_encoder/config.json   Hugging Face CLIPVisionModelWithProjection,
  OUT_DIR/image_encoder/model.safetensors
                                      ViT-H/14 as h94/IP-Adapter models/image_encoder
                                      ships it (vision_model.* + visual_projection), f16;
                                      sd.cpp's --clip_vision reads the same file
  OUT_DIR/ip-adapter_sd15.safetensors image_proj.{proj,norm}.*, ip_adapter.N.to_{k,v}_ip
                                      for odd N = 1..31, f16

Key names and shapes are facts of the published checkpoints: the SD 1.5 names
come from the module tree of models/sd/testdata/make_fixture.py (rebuilt from
CompVis ldm and HF modeling_clip semantics) instantiated at SD 1.5's full
configuration on the meta device (no memory), the ViT-H names from HF
transformers' CLIPVisionModelWithProjection state dict, the adapter's from
tencent-ailab IP-Adapter (ip_adapter/ip_adapter.py: ImageProjModel and the
attention processors' to_k_ip/to_v_ip, numbered in the processor order).
Values: weights N(0, 1/fan_in), norms 1 + N(0, 0.02²), biases N(0, 0.02²),
drawn tensor by tensor in file order from one torch.Generator(seed), so a
seed gives the same bytes. Tensors are written one at a time (peak memory
well under 1 GB).
"""
import argparse
import importlib.util
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "models", "sd", "testdata", "make_fixture.py")


def sd15_shapes():
    """(name, shape) of SD 1.5's single-file checkpoint, in state-dict order."""
    spec = importlib.util.spec_from_file_location("sdfix", FIXTURE)
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    real_empty = torch.empty

    def meta_empty(*a, **k):
        k["device"] = "meta"
        return real_empty(*a, **k)

    torch.empty = meta_empty  # every nn layer allocates through torch.empty
    try:
        te = fx.CLIPTextTransformer(49408, d=768, heads=12, ff=3072, layers=12, pos=77)
        unet = fx.UNetModel(mc=320, mult=(1, 2, 4, 4), attn=(1, 1, 1, 0), nrb=2, heads=8, ctx_dim=768)
        vae = fx.AutoencoderKL()
        vae.encoder = fx.Encoder(ch=128, mult=(1, 2, 4, 4), nrb=2)
        vae.decoder = fx.Decoder(ch=128, mult=(1, 2, 4, 4), nrb=2)
    finally:
        torch.empty = real_empty
    out = []
    for prefix, m in (("model.diffusion_model.", unet), ("first_stage_model.", vae),
                      ("cond_stage_model.transformer.text_model.", te)):
        for k, p in m.state_dict().items():
            out.append((prefix + k, tuple(p.shape)))
    out.append(("cond_stage_model.transformer.text_model.embeddings.position_ids", (1, 77)))
    return out


def sd15_schedule():
    """The DDPM buffers a v1 checkpoint carries (scaled-linear betas)."""
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
    ac = np.cumprod(1.0 - betas)
    prev = np.append(1.0, ac[:-1])
    post_var = betas * (1.0 - prev) / (1.0 - ac)
    return {
        "betas": betas, "alphas_cumprod": ac, "alphas_cumprod_prev": prev,
        "sqrt_alphas_cumprod": np.sqrt(ac), "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - ac),
        "log_one_minus_alphas_cumprod": np.log(1.0 - ac), "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / ac),
        "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / ac - 1), "posterior_variance": post_var,
        "posterior_log_variance_clipped": np.log(np.append(post_var[1], post_var[1:])),
        "posterior_mean_coef1": betas * np.sqrt(prev) / (1.0 - ac),
        "posterior_mean_coef2": (1.0 - prev) * np.sqrt(1.0 - betas) / (1.0 - ac),
    }


def vith_shapes():
    d, ff, layers, patch, image, proj = 1280, 5120, 32, 14, 224, 1024
    p = "vision_model."
    out = [(p + "embeddings.class_embedding", (d,)),
           (p + "embeddings.patch_embedding.weight", (d, 3, patch, patch)),
           (p + "embeddings.position_embedding.weight", ((image // patch) ** 2 + 1, d)),
           (p + "pre_layrnorm.weight", (d,)), (p + "pre_layrnorm.bias", (d,))]
    for i in range(layers):
        q = f"{p}encoder.layers.{i}."
        for n in ("k_proj", "v_proj", "q_proj", "out_proj"):
            out += [(q + f"self_attn.{n}.weight", (d, d)), (q + f"self_attn.{n}.bias", (d,))]
        out += [(q + "layer_norm1.weight", (d,)), (q + "layer_norm1.bias", (d,)),
                (q + "mlp.fc1.weight", (ff, d)), (q + "mlp.fc1.bias", (ff,)),
                (q + "mlp.fc2.weight", (d, ff)), (q + "mlp.fc2.bias", (d,)),
                (q + "layer_norm2.weight", (d,)), (q + "layer_norm2.bias", (d,))]
    out += [(p + "post_layernorm.weight", (d,)), (p + "post_layernorm.bias", (d,)),
            ("visual_projection.weight", (proj, d))]
    cfg = {"architectures": ["CLIPVisionModelWithProjection"], "model_type": "clip_vision_model",
           "hidden_size": d, "intermediate_size": ff, "num_attention_heads": 16,
           "num_hidden_layers": layers, "image_size": image, "patch_size": patch,
           "num_channels": 3, "projection_dim": proj, "hidden_act": "gelu",
           "layer_norm_eps": 1e-5, "torch_dtype": "float16"}
    return out, cfg


def ip_shapes():
    out = [("image_proj.proj.weight", (4 * 768, 1024)), ("image_proj.proj.bias", (4 * 768,)),
           ("image_proj.norm.weight", (768,)), ("image_proj.norm.bias", (768,))]
    widths = [320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320, 1280]
    for i, w in enumerate(widths):
        n = 2 * i + 1
        out += [(f"ip_adapter.{n}.to_k_ip.weight", (w, 768)), (f"ip_adapter.{n}.to_v_ip.weight", (w, 768))]
    return out


def value(name, shape, g):
    base = name.rsplit(".", 1)[-1]
    if name.endswith("position_ids"):
        return torch.arange(shape[-1], dtype=torch.float32).reshape(shape)
    x = torch.randn(shape, generator=g)
    lname = name.lower()
    if len(shape) == 1:
        if base == "weight" and ("norm" in lname or "ln" in lname):
            return 1.0 + 0.02 * x
        return 0.02 * x
    if "embedding" in lname and "patch" not in lname:
        return 0.02 * x
    fan_in = int(np.prod(shape[1:]))
    return x / fan_in ** 0.5


def write(path, shapes, g, extra_f32=None):
    """Streams a safetensors file: header from the shapes, then each tensor."""
    header, off = {}, 0
    for name, shape in shapes:
        n = 2 * int(np.prod(shape))
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    for name, arr in (extra_f32 or {}).items():
        n = 4 * arr.size
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in shapes:
            f.write(value(name, shape, g).to(torch.float16).numpy().tobytes())
        for name, arr in (extra_f32 or {}).items():
            f.write(arr.astype("<f4").tobytes())
    os.replace(tmp, path)
    print(f"{path}: {len(header)} tensors, {off + 8 + len(h)} bytes", flush=True)


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


def write_tokenizer(out, size=49408):
    units = bytes_to_unicode()
    tokens = units + [u + "</w>" for u in units]
    n = size - len(tokens) - 2
    merges, prefixes = [], [chr(c) for c in range(ord("a"), ord("z") + 1)]
    while len(merges) < n:
        nxt = []
        for p in prefixes:
            for c in range(ord("a"), ord("z") + 1):
                if len(merges) >= n:
                    break
                c = chr(c)
                merges.append(p + " " + c)
                tokens.append(p + c)
                nxt.append(p + c)
                if len(merges) < n:
                    merges.append(p + " " + c + "</w>")
                    tokens.append(p + c + "</w>")
        prefixes = nxt
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(tokens) == size and len(set(tokens)) == size
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=["sd15", "vith", "ip"], action="append")
    a = ap.parse_args()
    only = set(a.only or ["sd15", "vith", "ip"])
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    if "ip" in only:
        write(os.path.join(a.out, "ip-adapter_sd15.safetensors"), ip_shapes(), torch.Generator().manual_seed(a.seed + 2))
    if "vith" in only:
        enc = os.path.join(a.out, "image_encoder")
        os.makedirs(enc, exist_ok=True)
        shapes, cfg = vith_shapes()
        with open(os.path.join(enc, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        write(os.path.join(enc, "model.safetensors"), shapes, torch.Generator().manual_seed(a.seed + 1))
    if "sd15" in only:
        write_tokenizer(a.out)
        write(os.path.join(a.out, "sd15.safetensors"), sd15_shapes(), torch.Generator().manual_seed(a.seed), sd15_schedule())
    print("torch", torch.__version__, "seed", a.seed, file=sys.stderr)


if __name__ == "__main__":
    main()
