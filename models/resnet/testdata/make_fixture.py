#!/usr/bin/python3
"""Parity fixture for the ResNet port (models/resnet).

Follows torchvision 0.14.1 `torchvision/models/resnet.py` (Debian's
python3-torchvision): the real `ResNet` and `Bottleneck` modules, with the
stem and stage widths narrowed (stem 8 channels, planes 8/16/32/64, blocks
[2, 1, 2, 1], 10 classes) by rebuilding the stages with ResNet._make_layer,
so every code path (stride-2 first blocks with downsample, identity blocks,
the 7x7 stem, the 3x3/2 max pool, average pool, fc) runs as in resnet50.
Batch-norm running statistics and affine parameters are random so that the
converter's folding is exercised.

Writes, beside this script:
  resnet_tiny.pth                  state dict, torch.save zip format
  resnet_tiny_expect.safetensors   input [2,3,67,75], logits [2,10], and the
                                   backbone feature map "features" (layer4 out)

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import json
import os
import struct

import torch
from torch import nn
from torchvision.models import resnet as tvr

HERE = os.path.dirname(os.path.abspath(__file__))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
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


def narrow_resnet(width=8, blocks=(2, 1, 2, 1), num_classes=10,
                  replace_stride_with_dilation=(False, False, False)):
    """torchvision ResNet(Bottleneck) with the stem width and stage planes
    narrowed: width, 2·width, 4·width, 8·width (resnet50: 64). Draws from
    torch's global RNG in a fixed order: seed before calling."""
    m = tvr.ResNet(tvr.Bottleneck, list(blocks), num_classes=num_classes,
                   replace_stride_with_dilation=list(replace_stride_with_dilation))
    m.inplanes, m.dilation = width, 1
    m.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(width)
    rs = [False] + list(replace_stride_with_dilation)
    m.layer1 = m._make_layer(tvr.Bottleneck, width, blocks[0])
    m.layer2 = m._make_layer(tvr.Bottleneck, 2 * width, blocks[1], stride=2, dilate=rs[1])
    m.layer3 = m._make_layer(tvr.Bottleneck, 4 * width, blocks[2], stride=2, dilate=rs[2])
    m.layer4 = m._make_layer(tvr.Bottleneck, 8 * width, blocks[3], stride=2, dilate=rs[3])
    m.fc = nn.Linear(8 * width * tvr.Bottleneck.expansion, num_classes)
    randomize_bn(m)
    return m


def randomize_bn(m):
    """Random BN statistics and affine parameters (folding must matter)."""
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.2)


def main():
    torch.manual_seed(0)
    m = narrow_resnet().eval()
    x = torch.randn(2, 3, 67, 75)
    with torch.no_grad():
        h = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        h = m.layer4(m.layer3(m.layer2(m.layer1(h))))
        logits = m(x)
    torch.save(m.state_dict(), os.path.join(HERE, "resnet_tiny.pth"))
    write_safetensors(os.path.join(HERE, "resnet_tiny_expect.safetensors"),
                      {"input": x, "features": h, "logits": logits})


if __name__ == "__main__":
    main()
