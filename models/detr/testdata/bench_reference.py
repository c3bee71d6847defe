#!/usr/bin/python3
"""Anchor for BenchmarkDETR800: the DETR of make_fixture.py (reimplemented
after facebookresearch/detr) at DETR-R50's full size (ResNet-50 body, d_model
256, 8 heads, 6+6 layers, ffn 2048, 100 queries, 91 classes), random seeded
weights, one 800x1066 image per call (batch of one, no padding), CPU PyTorch
(Debian python3-torch); and torchvision 0.14's own resnet50 on the same
input, for the backbone alone. Prints medians of 5 runs after a warm-up.

  /usr/bin/python3 bench_reference.py [threads] [save.pth]

With save.pth the DETR weights are written there ({"model": state dict},
the original layout) for `multisc convert --arch detr`, so the Go benchmark
runs the same weights:

  MULTISC_BENCH_GGUF=detr-full.gguf go test -run '^$' -bench DETR800 ./models/detr/
"""
import importlib.util
import os
import statistics
import sys
import time

import torch
import torchvision

_spec = importlib.util.spec_from_file_location(
    "detr_fixture", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_fixture.py"))
fx = importlib.util.module_from_spec(_spec)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "resnet", "testdata"))
_spec.loader.exec_module(fx)


def median_time(fn):
    with torch.no_grad():
        fn()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return statistics.median(times), times


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    fx.WIDTH, fx.BLOCKS = 64, (3, 4, 6, 3)
    fx.D, fx.HEADS, fx.FFN, fx.ENC, fx.DEC, fx.QUERIES, fx.CLASSES = 256, 8, 2048, 6, 6, 100, 91
    torch.manual_seed(0)
    m = fx.DETR().eval()
    if len(sys.argv) > 2:
        torch.save({"model": m.state_dict()}, sys.argv[2])
    x = torch.randn(1, 3, 800, 1066)
    mask = torch.zeros(1, 800, 1066, dtype=torch.bool)
    med, runs = median_time(lambda: m(x, mask))
    print("torch %s threads %d: DETR-R50 800x1066 median %.3f s (runs %s)" % (
        torch.__version__, torch.get_num_threads(), med, " ".join("%.3f" % t for t in runs)))
    r = torchvision.models.resnet50(weights=None).eval()
    med, runs = median_time(lambda: r(x))
    print("torch %s threads %d: resnet50 800x1066 median %.3f s (runs %s)" % (
        torch.__version__, torch.get_num_threads(), med, " ".join("%.3f" % t for t in runs)))


if __name__ == "__main__":
    main()
