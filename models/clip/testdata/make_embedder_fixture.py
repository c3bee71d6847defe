#!/usr/bin/python3
"""Parity fixture for the embedder role: a reduced CLIPModel in the layout
openai/clip-vit-large-patch14 publishes (one checkpoint holding the text
tower, the vision tower, both projections and logit_scale; config.json with
text_config and vision_config), whose image features the clip converter
keeps (clip.projector_type "none").

Run with Debian's python3-torch (1.13):
    /usr/bin/python3 models/clip/testdata/make_embedder_fixture.py

The vision side reuses make_vision_fixture.py's module-for-module rebuild of
transformers v4.44 models/clip/modeling_clip.py; the image features follow
CLIPModel.get_image_features there: visual_projection(post_layernorm(
last_hidden_state[:, 0])), with ViT-L/14's QuickGELU. The text tower is
present only as the converter must skip it (random tensors under
CLIPTextTransformer's parameter names, one layer), as are the int64
position_ids buffers that older checkpoints carry.

Writes clipl_model/config.json + pytorch_model.bin and clipl_expect.pt
(pixels, image_embeds).
"""
import importlib.util
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("mvf", os.path.join(HERE, "make_vision_fixture.py"))
mvf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mvf)


def main(seed=4):
    gen = torch.Generator().manual_seed(seed)
    vcfg = {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 4,
            "num_hidden_layers": 2, "image_size": 28, "patch_size": 7, "layer_norm_eps": 1e-5,
            "hidden_act": "quick_gelu", "projection_dim": 16}
    tcfg = {"model_type": "clip_text_model", "hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2,
            "num_hidden_layers": 1, "vocab_size": 50, "max_position_embeddings": 8, "hidden_act": "quick_gelu",
            "projection_dim": 16}
    cfg = {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 16,
           "logit_scale_init_value": 2.6592, "text_config": tcfg, "vision_config": vcfg}
    model = mvf.TowerWithProjection(vcfg)
    mvf.randomize(model, gen)
    px = torch.randn(2, 3, 28, 28, generator=gen)
    with torch.no_grad():
        hs = model.vision_model.hidden_states(px)
        embeds = model.visual_projection(model.vision_model.post_layernorm(hs[-1][:, 0]))
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    r = lambda *s: torch.randn(*s, generator=gen) * 0.1
    t = "text_model."
    sd.update({
        t + "embeddings.token_embedding.weight": r(50, 16),
        t + "embeddings.position_embedding.weight": r(8, 16),
        t + "embeddings.position_ids": torch.arange(8)[None],
        t + "encoder.layers.0.self_attn.q_proj.weight": r(16, 16),
        t + "encoder.layers.0.self_attn.q_proj.bias": r(16),
        t + "encoder.layers.0.mlp.fc1.weight": r(32, 16),
        t + "final_layer_norm.weight": 1 + r(16),
        t + "final_layer_norm.bias": r(16),
        "text_projection.weight": r(16, 16),
        "logit_scale": torch.tensor(2.6592),
        "vision_model.embeddings.position_ids": torch.arange(17)[None],
    })
    d = os.path.join(HERE, "clipl_model")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    torch.save({"pixels": px.contiguous(), "image_embeds": embeds.contiguous()}, os.path.join(HERE, "clipl_expect.pt"))
    print("clipl image_embeds", tuple(embeds.shape), "max|ref|", embeds.abs().max().item())


if __name__ == "__main__":
    main()
