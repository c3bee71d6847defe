#!/usr/bin/python3
"""Parity fixture for the FCN port (models/fcn).

Follows torchvision 0.14.1 `torchvision/models/segmentation/fcn.py`
(`fcn_resnet50`: FCN, FCNHead, aux classifier) and `models/_utils.py`
(IntermediateLayerGetter) with the ResNet of `models/resnet.py` narrowed
as in ../../resnet/testdata/make_fixture.py (stem 4, planes 4/8/16/32,
blocks [1, 1, 2, 2]) and `replace_stride_with_dilation=[False, True, True]`
as fcn_resnet50 builds it: output stride 8, dilations 2 and 4. 5 classes.
BN statistics are random so folding is exercised; the aux head is in the
checkpoint (the converter drops it).

Writes, beside this script:
  fcn_tiny.pth                  state dict (backbone.*, classifier.*, aux_classifier.*)
  fcn_tiny_expect.safetensors   input [2,3,61,77] (non-square) and "out" [2,5,61,77],
                                the full upsampled output map; and "bil_in"
                                [1,2,5,7] with F.interpolate(bilinear,
                                align_corners=False) to 11x13 ("bil_up") and
                                3x4 ("bil_down")

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import os
import sys

import torch
import torch.nn.functional as F
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.segmentation.fcn import FCN, FCNHead

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "resnet", "testdata"))
from make_fixture import narrow_resnet, randomize_bn, write_safetensors  # noqa: E402

WIDTH, CLASSES = 4, 5


def main():
    torch.manual_seed(0)
    r = narrow_resnet(width=WIDTH, blocks=(1, 1, 2, 2), num_classes=10,
                      replace_stride_with_dilation=(False, True, True))
    backbone = IntermediateLayerGetter(r, return_layers={"layer4": "out", "layer3": "aux"})
    out_ch = 8 * WIDTH * 4
    m = FCN(backbone, FCNHead(out_ch, CLASSES), FCNHead(out_ch // 2, CLASSES))
    randomize_bn(m)
    with torch.no_grad():
        m.classifier[4].bias.normal_(0, 0.2)
    m.eval()
    x = torch.randn(2, 3, 61, 77)
    with torch.no_grad():
        out = m(x)["out"]
    torch.save(m.state_dict(), os.path.join(HERE, "fcn_tiny.pth"))
    b = torch.randn(1, 2, 5, 7)
    up = F.interpolate(b, size=(11, 13), mode="bilinear", align_corners=False)
    down = F.interpolate(b, size=(3, 4), mode="bilinear", align_corners=False)
    write_safetensors(os.path.join(HERE, "fcn_tiny_expect.safetensors"),
                      {"input": x, "out": out, "bil_in": b, "bil_up": up, "bil_down": down})


if __name__ == "__main__":
    main()
