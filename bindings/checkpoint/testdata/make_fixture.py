#!/usr/bin/python3
"""Checkpoint-reader fixtures (bindings/checkpoint), torch 1.13 from Debian.

  nested.pth    {"state_dict": {...}, "epoch": 3} as training scripts save it:
                a transposed (non-contiguous) view, a slice with a storage
                offset, f16, bf16, f64 and int64 tensors
  expect.safetensors
                the same tensors, contiguous f32, written by hand (header +
                raw data) as the safetensors format specifies

Run with Debian's interpreter: /usr/bin/python3 make_fixture.py
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.manual_seed(0)
    base = torch.randn(4, 6)
    tensors = {
        "layer.transposed": base.t(),            # strides (1, 6)
        "layer.sliced": base[1:3, 2:5],         # storage offset 8
        "layer.half": torch.randn(3, 2).half(),
        "layer.bf16": torch.randn(5).bfloat16(),
        "layer.double": torch.randn(2, 2).double(),
        "layer.index": torch.arange(4),
    }
    torch.save({"state_dict": tensors, "epoch": 3}, os.path.join(HERE, "nested.pth"))

    header, blobs, off = {}, [], 0
    for k, t in tensors.items():
        data = t.contiguous().to(torch.float32).numpy().tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    with open(os.path.join(HERE, "expect.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


if __name__ == "__main__":
    main()
