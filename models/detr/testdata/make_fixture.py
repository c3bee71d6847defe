#!/usr/bin/python3
"""Parity fixture for the DETR port (models/detr).

torchvision has no DETR, so this script reimplements it module for module
from the published implementation's semantics: facebookresearch/detr, main
branch (2020-2021), files models/detr.py (DETR, MLP, PostProcess),
models/transformer.py (post-norm Transformer, TransformerEncoderLayer,
TransformerDecoderLayer, return_intermediate_dec=True), models/backbone.py
(ResNet body via IntermediateLayerGetter with FrozenBatchNorm2d, mask
resized with F.interpolate default (nearest)), models/position_encoding.py
(PositionEmbeddingSine, normalize=True, scale 2*pi, temperature 10000,
eps 1e-6) and util/misc.py (nested_tensor_from_tensor_list: zero padding at
the bottom/right, mask True on padding). Module attribute names follow the
original so the state dict has its keys (backbone.0.body.*, transformer.*,
input_proj, query_embed, class_embed, bbox_embed.layers.*). The ResNet is
torchvision 0.14.1's, narrowed as in ../../resnet/testdata/make_fixture.py;
FrozenBatchNorm2d is torchvision.ops.misc's (eps 1e-5, DETR's value).

Reduced config: width 4, blocks [1, 1, 2, 1], d_model 32, 4 heads, ffn 64,
2 encoder + 2 decoder layers, 7 queries, 5 classes (+ no-object).

Writes, beside this script:
  detr_tiny.pth                original layout {"model": state_dict}
  detr_tiny_hf.safetensors     the same weights in the Hugging Face hub layout
  config.json                  (DetrForObjectDetection names: model.backbone.
                               conv_encoder.model.*, q/k/v_proj split, ...)
  detr_tiny_expect.safetensors batch of two images of different sizes
                               (3x70x70 and 3x40x101, padded to 70x101; at the
                               3x4 feature map the first loses its last column,
                               the second its last row to the padding mask):
                               "input" [2,3,70,101] (padded), "sizes" [2,2]
                               (h, w), "logits" [2,7,6], "boxes" [2,7,4]

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import copy
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet as tvr
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.ops.misc import FrozenBatchNorm2d

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resnet", "testdata"))
from make_fixture import write_safetensors  # noqa: E402

WIDTH, BLOCKS = 4, (1, 1, 2, 1)
D, HEADS, FFN, ENC, DEC, QUERIES, CLASSES = 32, 4, 64, 2, 2, 7, 5


# --- backbone.py -----------------------------------------------------------

def narrow_frozen_resnet():
    m = tvr.ResNet(tvr.Bottleneck, list(BLOCKS), norm_layer=FrozenBatchNorm2d)
    m.inplanes, m.dilation = WIDTH, 1
    m.conv1 = nn.Conv2d(3, WIDTH, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = FrozenBatchNorm2d(WIDTH)
    m.layer1 = m._make_layer(tvr.Bottleneck, WIDTH, BLOCKS[0])
    m.layer2 = m._make_layer(tvr.Bottleneck, 2 * WIDTH, BLOCKS[1], stride=2)
    m.layer3 = m._make_layer(tvr.Bottleneck, 4 * WIDTH, BLOCKS[2], stride=2)
    m.layer4 = m._make_layer(tvr.Bottleneck, 8 * WIDTH, BLOCKS[3], stride=2)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, FrozenBatchNorm2d):
                mod.running_mean.normal_(0, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.2)
    return m


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = IntermediateLayerGetter(narrow_frozen_resnet(), return_layers={"layer4": "0"})
        self.num_channels = 8 * WIDTH * 4

    def forward(self, tensors, mask):
        x = self.body(tensors)["0"]
        m = F.interpolate(mask[None].float(), size=x.shape[-2:]).to(torch.bool)[0]
        return x, m


# --- position_encoding.py --------------------------------------------------

class PositionEmbeddingSine(nn.Module):
    def __init__(self, num_pos_feats, temperature=10000, scale=2 * math.pi):
        super().__init__()
        self.num_pos_feats, self.temperature, self.scale = num_pos_feats, temperature, scale

    def forward(self, x, mask):
        not_mask = ~mask
        y_embed = not_mask.cumsum(1, dtype=torch.float32)
        x_embed = not_mask.cumsum(2, dtype=torch.float32)
        eps = 1e-6
        y_embed = y_embed / (y_embed[:, -1:, :] + eps) * self.scale
        x_embed = x_embed / (x_embed[:, :, -1:] + eps) * self.scale
        dim_t = torch.arange(self.num_pos_feats, dtype=torch.float32)
        dim_t = self.temperature ** (2 * (dim_t // 2) / self.num_pos_feats)
        pos_x = x_embed[:, :, :, None] / dim_t
        pos_y = y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
        return torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)


class Joiner(nn.Sequential):
    def __init__(self, backbone, pos):
        super().__init__(backbone, pos)

    def forward(self, tensors, mask):
        x, m = self[0](tensors, mask)
        return x, m, self[1](x, m).to(x.dtype)


# --- transformer.py (post-norm) --------------------------------------------

class TransformerEncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(D, HEADS, dropout=0.0)
        self.linear1, self.linear2 = nn.Linear(D, FFN), nn.Linear(FFN, D)
        self.norm1, self.norm2 = nn.LayerNorm(D), nn.LayerNorm(D)

    def forward(self, src, key_padding_mask, pos):
        q = k = src + pos
        src = self.norm1(src + self.self_attn(q, k, value=src, key_padding_mask=key_padding_mask)[0])
        return self.norm2(src + self.linear2(F.relu(self.linear1(src))))


class TransformerDecoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(D, HEADS, dropout=0.0)
        self.multihead_attn = nn.MultiheadAttention(D, HEADS, dropout=0.0)
        self.linear1, self.linear2 = nn.Linear(D, FFN), nn.Linear(FFN, D)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)

    def forward(self, tgt, memory, memory_key_padding_mask, pos, query_pos):
        q = k = tgt + query_pos
        tgt = self.norm1(tgt + self.self_attn(q, k, value=tgt)[0])
        tgt2 = self.multihead_attn(query=tgt + query_pos, key=memory + pos, value=memory,
                                   key_padding_mask=memory_key_padding_mask)[0]
        tgt = self.norm2(tgt + tgt2)
        return self.norm3(tgt + self.linear2(F.relu(self.linear1(tgt))))


class TransformerEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(TransformerEncoderLayer() for _ in range(ENC))

    def forward(self, src, mask, pos):
        for layer in self.layers:
            src = layer(src, mask, pos)
        return src


class TransformerDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(TransformerDecoderLayer() for _ in range(DEC))
        self.norm = nn.LayerNorm(D)

    def forward(self, tgt, memory, mask, pos, query_pos):
        for layer in self.layers:
            tgt = layer(tgt, memory, mask, pos, query_pos)
        return self.norm(tgt)  # the last of the intermediate outputs


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = TransformerEncoder()
        self.decoder = TransformerDecoder()
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src, mask, query_embed, pos_embed):
        bs = src.shape[0]
        src = src.flatten(2).permute(2, 0, 1)
        pos_embed = pos_embed.flatten(2).permute(2, 0, 1)
        query_embed = query_embed.unsqueeze(1).repeat(1, bs, 1)
        mask = mask.flatten(1)
        memory = self.encoder(src, mask, pos_embed)
        hs = self.decoder(torch.zeros_like(query_embed), memory, mask, pos_embed, query_embed)
        return hs.transpose(0, 1)  # [bs, queries, D]


# --- detr.py ---------------------------------------------------------------

class MLP(nn.Module):
    def __init__(self, i, h, o, n):
        super().__init__()
        hs = [h] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip([i] + hs, hs + [o]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if i < len(self.layers) - 1 else layer(x)
        return x


class DETR(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = Transformer()
        self.class_embed = nn.Linear(D, CLASSES + 1)
        self.bbox_embed = MLP(D, D, 4, 3)
        self.query_embed = nn.Embedding(QUERIES, D)
        self.backbone = Joiner(Backbone(), PositionEmbeddingSine(D // 2))
        self.input_proj = nn.Conv2d(self.backbone[0].num_channels, D, kernel_size=1)

    def forward(self, tensors, mask):
        src, m, pos = self.backbone(tensors, mask)
        hs = self.transformer(self.input_proj(src), m, self.query_embed.weight, pos)
        return self.class_embed(hs), self.bbox_embed(hs).sigmoid()


def nested(images):
    h = max(i.shape[1] for i in images)
    w = max(i.shape[2] for i in images)
    t = torch.zeros(len(images), 3, h, w)
    mask = torch.ones(len(images), h, w, dtype=torch.bool)
    for k, img in enumerate(images):
        t[k, :, :img.shape[1], :img.shape[2]] = img
        mask[k, :img.shape[1], :img.shape[2]] = False
    return t, mask


# --- Hugging Face hub layout (transformers convert_detr_original_pytorch_checkpoint_to_pytorch.py rules)

def to_hf(sd):
    out = {}
    ren = [("transformer.encoder.", "encoder."), ("transformer.decoder.", "decoder.")]
    for k, v in sd.items():
        if k.startswith("backbone.0.body."):
            out["model.backbone.conv_encoder.model." + k[len("backbone.0.body."):]] = v
            continue
        if k.startswith("class_embed."):
            out["class_labels_classifier." + k[len("class_embed."):]] = v
            continue
        if k.startswith("bbox_embed."):
            out["bbox_predictor." + k[len("bbox_embed."):]] = v
            continue
        n = k
        for a, b in ren:
            n = n.replace(a, b)
        n = n.replace("input_proj.", "input_projection.").replace("query_embed.", "query_position_embeddings.")
        n = n.replace("decoder.norm.", "decoder.layernorm.").replace(".multihead_attn.", ".encoder_attn.")
        n = n.replace(".linear1.", ".fc1.").replace(".linear2.", ".fc2.")
        if n.startswith("encoder."):
            n = n.replace(".norm1.", ".self_attn_layer_norm.").replace(".norm2.", ".final_layer_norm.")
        else:
            n = n.replace(".norm1.", ".self_attn_layer_norm.").replace(".norm2.", ".encoder_attn_layer_norm.")
            n = n.replace(".norm3.", ".final_layer_norm.")
        if n.endswith("in_proj_weight") or n.endswith("in_proj_bias"):
            base, kind = n.rsplit(".", 1)
            suffix = "weight" if kind == "in_proj_weight" else "bias"
            for j, p in enumerate(("q_proj", "k_proj", "v_proj")):
                out["model." + base + "." + p + "." + suffix] = v[j * D:(j + 1) * D]
            continue
        out["model." + n] = v
    return out


def main():
    torch.manual_seed(0)
    m = DETR().eval()
    with torch.no_grad():
        m.class_embed.bias.normal_(0, 0.5)
    images = [torch.randn(3, 70, 70), torch.randn(3, 40, 101)]
    x, mask = nested(images)
    with torch.no_grad():
        logits, boxes = m(x, mask)
    sd = m.state_dict()
    torch.save({"model": sd}, os.path.join(HERE, "detr_tiny.pth"))
    write_safetensors(os.path.join(HERE, "detr_tiny_hf.safetensors"), to_hf(sd))
    labels = {str(i): "thing%d" % i for i in range(CLASSES)}
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump({"architectures": ["DetrForObjectDetection"], "model_type": "detr",
                   "d_model": D, "encoder_attention_heads": HEADS, "decoder_attention_heads": HEADS,
                   "encoder_layers": ENC, "decoder_layers": DEC, "encoder_ffn_dim": FFN,
                   "decoder_ffn_dim": FFN, "num_queries": QUERIES, "backbone": "resnet50",
                   "use_timm_backbone": True, "dilation": False, "pre_norm": False,
                   "position_embedding_type": "sine", "id2label": labels}, f, indent=1)
    sizes = torch.tensor([[70, 70], [40, 101]], dtype=torch.float32)
    write_safetensors(os.path.join(HERE, "detr_tiny_expect.safetensors"),
                      {"input": x, "sizes": sizes, "logits": logits, "boxes": boxes})


if __name__ == "__main__":
    main()
