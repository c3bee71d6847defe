#!/usr/bin/python3
"""Anchor for BenchmarkFCN520: torchvision 0.14's own fcn_resnet50 (no aux
head, random seeded weights), one 520x520 image per call, CPU PyTorch
(Debian python3-torch). Prints the median of 5 runs after one warm-up, wall
and process CPU time (on a shared machine the CPU time moves less; compare
it with the Go benchmark's cpu-ms/op). Compare at 2 threads, not 1: with
one thread PyTorch 1.13 leaves oneDNN for its native path on unstrided,
undilated 1x1 convs of small batches (ConvParams::use_mkldnn), and a
one-thread run here did not finish its 6 passes in 3.5 minutes.

  /usr/bin/python3 bench_reference.py [threads] [save.pth]

With save.pth, the same weights are written there first, for
`multisc convert --arch fcn` (the Go benchmark then runs the same weights):

  MULTISC_BENCH_GGUF=fcn-full.gguf go test -run '^$' -bench FCN520 ./models/fcn/
"""
import statistics
import sys
import time

import torch
from torchvision.models.segmentation import fcn_resnet50


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    torch.manual_seed(0)
    m = fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False).eval()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_(0, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    if len(sys.argv) > 2:
        torch.save(m.state_dict(), sys.argv[2])
    x = torch.randn(1, 3, 520, 520)
    with torch.no_grad():
        m(x)
        times, cpu = [], []
        for _ in range(5):
            t, c = time.perf_counter(), time.process_time()
            m(x)["out"]
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    med = statistics.median(times)
    print("torch %s threads %d: fcn_resnet50 520x520 median %.3f s (runs %s), CPU time median %.3f s" % (
        torch.__version__, torch.get_num_threads(), med, " ".join("%.3f" % t for t in times),
        statistics.median(cpu)))


if __name__ == "__main__":
    main()
