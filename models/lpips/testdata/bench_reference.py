#!/usr/bin/python3
"""Anchor for BenchmarkDistance512: the LPIPS reference of make_fixture.py at
torchvision AlexNet's full widths, random weights, one 512x512 pair per call,
on the CPU with PyTorch (Debian python3-torch). Prints the median of 5 runs.

Run: /usr/bin/python3 bench_reference.py [threads]
"""
import importlib.util
import os
import statistics
import sys
import time

import torch
import torchvision

# This folder's make_fixture.py (by path: models/alexnet has one of the same name).
_spec = importlib.util.spec_from_file_location(
    "lpips_fixture", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_fixture.py"))
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)
NetLinLayer, ScalingLayer, alex_slices, normalize_tensor = fx.NetLinLayer, fx.ScalingLayer, fx.alex_slices, fx.normalize_tensor


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    torch.manual_seed(0)
    f = torchvision.models.alexnet(weights=None).features.eval()
    for i in (1, 4, 7, 9, 11):
        f[i] = torch.nn.ReLU(inplace=False)
    slices = alex_slices(f)
    lins = [NetLinLayer(c).eval() for c in (64, 192, 384, 256, 256)]
    scaling = ScalingLayer()
    x0, x1 = torch.rand(1, 3, 512, 512) * 2 - 1, torch.rand(1, 3, 512, 512) * 2 - 1

    def lpips():
        with torch.no_grad():
            h0, h1, total = scaling(x0), scaling(x1), 0
            for s, lin in zip(slices, lins):
                h0, h1 = s(h0), s(h1)
                total = total + lin((normalize_tensor(h0) - normalize_tensor(h1)) ** 2).mean([2, 3])
            return total

    lpips()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        lpips()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print("torch %s threads %d: median %.3f s/pair (%.2f pairs/s)" % (torch.__version__, torch.get_num_threads(), med, 1 / med))


if __name__ == "__main__":
    main()
