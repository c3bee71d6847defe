#!/usr/bin/python3
"""Anchors for pipeline/metrics' benchmarks, on the same machine:
  SSIM of one 512x512 RGB uint8 pair with scikit-image's
  structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255, channel_axis=-1)  (BenchmarkSSIM512)
  NLTK sentence_bleu over 5,000 ~11-word caption pairs            (BenchmarkNLTKSentenceBLEU5000)
The inputs are random like the Go benchmarks' (same sizes, not the same
values). Prints medians of 5 runs. Run: /usr/bin/python3 bench_reference.py
"""
import random
import statistics
import time

import numpy as np
import nltk
import skimage
from nltk.translate.bleu_score import sentence_bleu
from skimage.metrics import structural_similarity


def median_time(fn, n=5):
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    y = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    ssim = median_time(lambda: structural_similarity(
        x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1))
    print("skimage %s SSIM 512x512: median %.1f ms (%.1f pairs/s)" % (skimage.__version__, ssim * 1e3, 1 / ssim))

    r = random.Random(5000)
    words = "a the man woman dog cat red blue car street park sitting standing on in with of near tree".split()
    sent = lambda: [r.choice(words) for _ in range(r.randint(8, 14))]
    pairs = [(sent(), sent()) for _ in range(5000)]
    import warnings
    warnings.simplefilter("ignore")
    bleu = median_time(lambda: [sentence_bleu([ref], hyp) for hyp, ref in pairs])
    print("nltk %s sentence_bleu x5000: median %.1f ms" % (nltk.__version__, bleu * 1e3))


if __name__ == "__main__":
    main()
