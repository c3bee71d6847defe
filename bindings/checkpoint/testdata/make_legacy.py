#!/usr/bin/python3
"""Legacy (pre-1.6, non-zip) PyTorch serialization fixtures, torch 1.13 from Debian.

torch.save(..., _use_new_zipfile_serialization=False) writes the format of
torch < 1.6 that many published checkpoints use (LPIPS v0.1 alex.pth, DETR):
five pickles' worth of stream - magic number, protocol version, sys info,
the object (storages as persistent ids), the list of storage keys - then
each storage as an 8-byte element count and its raw little-endian bytes.

  bindings/checkpoint/testdata/nested_legacy.pth
        the tensors of nested.pth (make_fixture.py: strided views, a storage
        offset, f16/bf16/f64/int64), same values, legacy format
  cmd/multisc/testdata/alexnet_tiny_legacy.pth, alex_tiny_legacy.pth
        models/lpips/testdata/{alexnet_tiny,alex_tiny}.pth (the narrowed
        AlexNet trunk and the five LPIPS lin layers with the real alex.pth key
        names lin0.model.1.weight ...) re-saved in the legacy format

Run with Debian's interpreter after make_fixture.py:
  /usr/bin/python3 bindings/checkpoint/testdata/make_legacy.py
"""
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def legacy_save(obj, path):
    torch.save(obj, path, _use_new_zipfile_serialization=False)
    with open(path, "rb") as f:
        assert f.read(2) != b"PK", path  # not a zip


def main():
    nested = torch.load(os.path.join(HERE, "nested.pth"))
    legacy_save(nested, os.path.join(HERE, "nested_legacy.pth"))
    src = os.path.join(ROOT, "models", "lpips", "testdata")
    dst = os.path.join(ROOT, "cmd", "multisc", "testdata")
    for name in ("alexnet_tiny", "alex_tiny"):
        sd = torch.load(os.path.join(src, name + ".pth"))
        legacy_save(sd, os.path.join(dst, name + "_legacy.pth"))


if __name__ == "__main__":
    main()
