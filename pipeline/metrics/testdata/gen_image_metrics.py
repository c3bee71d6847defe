#!/usr/bin/python3
"""Writes img/*.png and image_metrics.json: PSNR, SSIM and cosine references.

Run with Debian's interpreter (python3-skimage 0.19.3, numpy, Pillow):
    /usr/bin/python3 gen_image_metrics.py > image_metrics.json
Images are small 8-bit PNGs drawn from numpy.random.default_rng(2004).
SSIM is structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255, channel_axis=-1); PSNR is
peak_signal_noise_ratio(data_range=255); cosine is the cosine of the
flattened, mean-centred RGB vectors in float64 (null when undefined).
"""
import json
import os
import sys

import numpy as np
import PIL
import scipy
import skimage
from PIL import Image
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

rng = np.random.default_rng(2004)
HERE = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(HERE, "img"), exist_ok=True)


def gradient(h, w):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1), (x + y) * 127 / max(w + h - 2, 1)], -1)


def noisy(a, sigma):
    return np.clip(np.rint(a + rng.normal(0, sigma, a.shape)), 0, 255)


def u8(a):
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def save(name, a):
    mode = "L" if a.ndim == 2 else "RGB"
    Image.fromarray(a, mode).save(os.path.join(HERE, "img", name), optimize=True)
    return "img/" + name


def cosine(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    return None if den == 0 else float(a @ b / den)


def pairs():
    g = u8(gradient(24, 32))
    yield "gradient_noise10", g, u8(noisy(g, 10))
    yield "gradient_noise40", g, u8(noisy(g, 40))
    n1 = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    n2 = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    yield "noise_vs_noise", n1, n2
    yield "noise_vs_blur", n1, u8(ndimage.gaussian_filter(n1.astype(float), (1, 1, 0)))
    yield "identical", n1, n1.copy()
    yield "constants", np.full((16, 16, 3), 90, np.uint8), np.full((16, 16, 3), 120, np.uint8)
    g11 = u8(gradient(11, 11))
    yield "minimal_11x11", g11, u8(noisy(g11, 20))
    g17 = u8(gradient(13, 29))
    yield "odd_13x29", g17, 255 - g17
    gr = rng.integers(0, 256, (20, 23), dtype=np.uint8)
    yield "gray", gr, np.clip(gr.astype(int) + rng.integers(-30, 31, gr.shape), 0, 255).astype(np.uint8)
    # Tall enough that the Go code splits the rows into several bands.
    tall = u8(gradient(130, 40)[..., 0] * 0.5 + gradient(130, 40)[..., 1] * 0.5)
    yield "tall_gray_40x130", tall, u8(noisy(tall, 12))


def main():
    out = {"skimage": skimage.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
           "pillow": PIL.__version__, "cases": []}
    for name, a, b in pairs():
        ch = -1 if a.ndim == 3 else None
        ssim = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255, channel_axis=ch)
        with np.errstate(divide="ignore"):
            psnr = peak_signal_noise_ratio(a, b, data_range=255)
        if a.ndim == 2:  # Go reads grey as three equal RGB channels
            a3, b3 = np.repeat(a[..., None], 3, -1), np.repeat(b[..., None], 3, -1)
        else:
            a3, b3 = a, b
        out["cases"].append({
            "name": name, "ref": save(name + "_ref.png", a), "img": save(name + "_img.png", b),
            "ssim": float(ssim), "psnr": None if np.isinf(psnr) else float(psnr), "cosine": cosine(a3, b3)})
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


main()
