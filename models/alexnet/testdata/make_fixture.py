#!/usr/bin/python3
"""Parity fixture for the AlexNet trunk port (models/alexnet).

Follows torchvision 0.14.1 `torchvision/models/alexnet.py` (Debian's
python3-torchvision): the real `AlexNet` module, with its five convs narrowed
(same kernels, strides, paddings, ReLUs and max pools; the code path is
unchanged) so the committed files stay small, and a narrow classifier so the
state dict has the same keys as the download.

Writes, beside this script:
  alexnet_tiny.pth          state dict, torch.save zip format (the converter's input)
  alexnet_tiny_expect.safetensors
                            input [2,3,71,83] and the outputs of features.1, 4,
                            7, 9, 11 (relu1..relu5) and features.12 (out)

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import json
import os
import struct

import torch
import torchvision
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
CH = [8, 12, 16, 12, 12]


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


def narrowed_alexnet(ch=CH):
    """torchvision's AlexNet with its five convs narrowed to ch (same kernels,
    strides, paddings) and a narrow classifier with the download's keys.
    Draws from torch's global RNG in a fixed order: seed before calling."""
    m = torchvision.models.alexnet(weights=None)
    f = m.features
    f[0] = nn.Conv2d(3, ch[0], kernel_size=11, stride=4, padding=2)
    f[3] = nn.Conv2d(ch[0], ch[1], kernel_size=5, padding=2)
    f[6] = nn.Conv2d(ch[1], ch[2], kernel_size=3, padding=1)
    f[8] = nn.Conv2d(ch[2], ch[3], kernel_size=3, padding=1)
    f[10] = nn.Conv2d(ch[3], ch[4], kernel_size=3, padding=1)
    m.classifier = nn.Sequential(
        nn.Dropout(), nn.Linear(ch[4] * 6 * 6, 16), nn.ReLU(inplace=True),
        nn.Dropout(), nn.Linear(16, 16), nn.ReLU(inplace=True), nn.Linear(16, 10))
    # Biases are zero-ish by default init; make them visible.
    with torch.no_grad():
        for i in (0, 3, 6, 8, 10):
            f[i].bias.normal_(0, 0.1)
    return m


def main():
    torch.manual_seed(0)
    m = narrowed_alexnet()
    f = m.features
    m.eval()

    x = torch.randn(2, 3, 71, 83)
    outs = {"input": x}
    with torch.no_grad():
        h = x
        for i, layer in enumerate(f):
            h = layer(h)
            if i in (1, 4, 7, 9, 11):
                outs["relu%d" % (len(outs))] = h.clone()
        outs["out"] = h.clone()
    torch.save(m.state_dict(), os.path.join(HERE, "alexnet_tiny.pth"))
    write_safetensors(os.path.join(HERE, "alexnet_tiny_expect.safetensors"), outs)
    print("torch", torch.__version__, "torchvision", torchvision.__version__)
    for k, v in outs.items():
        print(k, tuple(v.shape), float(v.abs().max()))


if __name__ == "__main__":
    main()
