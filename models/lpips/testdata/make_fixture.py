#!/usr/bin/python3
"""Parity fixture for the LPIPS port (models/lpips).

LPIPS is not packaged in Debian, so the reference is rebuilt here module by
module from the semantics of richzhang/PerceptualSimilarity v0.1
(lpips/lpips.py: ScalingLayer, NetLinLayer, normalize_tensor,
spatial_average, LPIPS.forward; lpips/pretrained_networks.py: alexnet
slices). The backbone is torchvision 0.14.1's real AlexNet `features` with
narrowed convs (same kernels/strides/pools), as in models/alexnet's fixture.

Writes, beside this script:
  alexnet_tiny.pth      torchvision-style AlexNet state dict (features.*, classifier.*)
  alex_tiny.pth         LPIPS lin layers: lin{0..4}.model.1.weight [1, C, 1, 1]
  lpips_tiny_expect.safetensors
                        in0, in1 [2, 3, 64, 72] in [-1, 1]; layer{0..4} [2]
                        (each layer's spatially averaged term) and dist [2]

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import os
import sys

import torch
import torchvision
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "alexnet", "testdata"))
from make_fixture import narrowed_alexnet, write_safetensors  # noqa: E402

CH = [8, 12, 16, 12, 12]


class ScalingLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-.030, -.088, -.188])[None, :, None, None])
        self.register_buffer("scale", torch.tensor([.458, .448, .450])[None, :, None, None])

    def forward(self, x):
        return (x - self.shift) / self.scale


class NetLinLayer(nn.Module):
    def __init__(self, chn_in):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(chn_in, 1, 1, stride=1, padding=0, bias=False))

    def forward(self, x):
        return self.model(x)


def normalize_tensor(x, eps=1e-10):
    return x / (torch.sqrt(torch.sum(x ** 2, dim=1, keepdim=True)) + eps)


def alex_slices(features):
    # pretrained_networks.alexnet: slices end after relu1..relu5
    bounds = [(0, 2), (2, 5), (5, 8), (8, 10), (10, 12)]
    return [nn.Sequential(*[features[i] for i in range(a, b)]) for a, b in bounds]


def main():
    torch.manual_seed(1)
    m = narrowed_alexnet(CH)
    f = m.features
    lins = nn.ModuleDict({"lin%d" % k: NetLinLayer(c) for k, c in enumerate(CH)})
    with torch.no_grad():
        for lin in lins.values():
            lin.model[1].weight.uniform_(0, 1)  # pretrained lin weights are >= 0
    m.eval()
    lins.eval()
    # ReLU(inplace=True) inside the slices would overwrite the taps.
    for i in (1, 4, 7, 9, 11):
        f[i] = nn.ReLU(inplace=False)
    slices = alex_slices(f)
    scaling = ScalingLayer()

    in0 = torch.rand(2, 3, 64, 72) * 2 - 1
    in1 = (in0 + 0.3 * torch.randn(2, 3, 64, 72)).clamp(-1, 1)
    out = {"in0": in0, "in1": in1}
    with torch.no_grad():
        h0, h1 = scaling(in0), scaling(in1)
        total = 0
        for k, s in enumerate(slices):
            h0, h1 = s(h0), s(h1)
            d = (normalize_tensor(h0) - normalize_tensor(h1)) ** 2
            v = lins["lin%d" % k](d).mean([2, 3], keepdim=True)  # spatial_average
            out["layer%d" % k] = v.flatten()
            total = total + v
        out["dist"] = total.flatten()

    torch.save(m.state_dict(), os.path.join(HERE, "alexnet_tiny.pth"))
    torch.save({k + "." + n: p for k, l in lins.items() for n, p in l.state_dict().items()},
               os.path.join(HERE, "alex_tiny.pth"))
    write_safetensors(os.path.join(HERE, "lpips_tiny_expect.safetensors"), out)
    print("torch", torch.__version__, "torchvision", torchvision.__version__)
    for k, v in out.items():
        if v.numel() <= 8:
            print(k, v.tolist())


if __name__ == "__main__":
    main()
