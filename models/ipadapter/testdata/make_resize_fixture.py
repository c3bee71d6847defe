"""Fixture for ipadapter.Preprocess's resize: CLIPImageProcessor's
shortest-edge resize as it is done in Hugging Face transformers
(image_transforms.resize / get_resize_output_image_size, transformers 4.x:
the short side becomes S, the long side int(S * long / short), resized by
PIL Image.resize(..., resample=BICUBIC, reducing_gap=None)), then the centre
crop (image_transforms.center_crop: top = (h - S) // 2, left = (w - S) // 2).

Run with Debian's python3-pil (this file was generated with Pillow 9.4.0):

    /usr/bin/python3 make_resize_fixture.py

Writes resize/<case>.png (the input, RGB) and resize/<case>_S<size>.png
(PIL's resized and cropped S x S result, 8-bit RGB). Deterministic: the
inputs are a fixed smooth pattern plus seeded noise.
"""
import os
import random

from PIL import Image

import PIL

CASES = [
    # name, width, height, crop size, noise amplitude
    ("down_wide", 97, 61, 24, 24),    # shrink by 2.5 (the usual case: photos larger than 224)
    ("down_tall", 160, 250, 32, 24),  # shrink by 5, portrait
    ("up_tall", 13, 19, 24, 24),      # enlarge (a small object slice)
    ("noise", 75, 75, 24, 255),       # shrink pure noise: the worst case for rounding
]

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "resize")
os.makedirs(out, exist_ok=True)
rng = random.Random(20261126)
for name, w, h, s, amp in CASES:
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            base = [(x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), ((x + y) * 127) // max(w + h - 2, 1)]
            if amp == 255:
                base = [0, 0, 0]
            px[x, y] = tuple(max(0, min(255, b + rng.randint(-amp // 2, amp // 2) if amp < 255 else rng.randint(0, 255))) for b in base)
    img.save(os.path.join(out, name + ".png"))
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(s * long / short)
    nw, nh = (s, new_long) if w <= h else (new_long, s)
    r = img.resize((nw, nh), resample=Image.BICUBIC, reducing_gap=None)
    top, left = (nh - s) // 2, (nw - s) // 2
    r = r.crop((left, top, left + s, top + s))
    r.save(os.path.join(out, "%s_S%d.png" % (name, s)))
    print(name, (w, h), "->", (nw, nh), "crop", (left, top), "Pillow", PIL.__version__)
