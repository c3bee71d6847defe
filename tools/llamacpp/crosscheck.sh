#!/bin/sh
# Cross-check of Multi-SC's LLaVA captioner against llama.cpp itself, on
# the same tiny GGUF pair, at temperature 0: prompt token ids, first-token
# logits (max|Δ|/max|ref|) and the greedy token sequence. Developer tool
# only, never part of the build or CI; needs tools/llamacpp/build.sh's
# binary (CROSSCHECK=...) and /usr/bin/python3 (standard library only).
#
# Pairs: the LM converted from models/llava/testdata (Qwen2, hidden 48) with
#   siglip: the SigLIP mmproj of models/clip/testdata (no class token);
#   clip:   the CLIP mmproj of models/llava/testdata (class token; llama.cpp's
#           llava graph puts it last, llama.cpp issue #25814, so this pair
#           is expected to differ).
# The image is exactly the towers' 28×28 input, so neither side resizes.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CROSSCHECK=${CROSSCHECK:-/work/anchors/llama.cpp/crosscheck}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$ROOT"
go build -o "$W/multisc" ./cmd/multisc
"$W/multisc" convert --arch llava --out "$W/lm.gguf" models/llava/testdata/llava models/llava/testdata/tower >/dev/null
mv "$W/lm-mmproj.gguf" "$W/clip-mmproj.gguf"
"$W/multisc" convert --arch clip --out "$W/siglip-mmproj.gguf" models/clip/testdata/siglip_llava models/clip/testdata/siglip_tower >/dev/null
/usr/bin/python3 - "$W" <<'PY'
import struct, sys, zlib
w = sys.argv[1]
rgb = bytes(((x * 9 + y * 5 + c * 70) ^ (x * y)) % 256 for y in range(28) for x in range(28) for c in range(3))
open(w + "/img.rgb", "wb").write(rgb)
raw = b"".join(b"\x00" + rgb[y * 84:(y + 1) * 84] for y in range(28))
ch = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(w + "/img.png", "wb").write(b"\x89PNG\r\n\x1a\n" + ch(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 2, 0, 0, 0)) + ch(b"IDAT", zlib.compress(raw)) + ch(b"IEND", b""))
PY
PROMPT='<|im_start|>system
You are a helpful assistant.<|im_end|>
<|im_start|>user
<__media__>
Relay a brief, clear account of the picture shown.<|im_end|>
<|im_start|>assistant
'
for pair in siglip clip; do
  "$W/multisc" caption "$W/img.png" --llm "$W/lm.gguf" --mmproj "$W/$pair-mmproj.gguf" --max-tokens 16 --device cpu --threads 2 --dump "$W/ours.json" >/dev/null
  "$CROSSCHECK" "$W/lm.gguf" "$W/$pair-mmproj.gguf" "$W/img.rgb" 28 28 "$PROMPT" 16 2 "$W/theirs.f32" > "$W/theirs.json"
  /usr/bin/python3 - "$W" "$pair" <<'PY'
import json, struct, sys
w, pair = sys.argv[1], sys.argv[2]
ours, theirs = json.load(open(w + "/ours.json")), json.load(open(w + "/theirs.json"))
raw = open(w + "/theirs.f32", "rb").read()
tl = struct.unpack("<%df" % (len(raw) // 4), raw)
ol = ours["first_logits"]
ref = max(abs(x) for x in tl)
d = max(abs(a - b) for a, b in zip(ol, tl))
print(f"[{pair}] prompt ids equal: {ours['prompt_ids'] == theirs['prompt_ids']} ({len(theirs['prompt_ids'])} positions)")
print(f"[{pair}] first-token logits: max|Δ| = {d:.3g}, max|ref| = {ref:.3g}, max|Δ|/max|ref| = {d / ref:.3g}")
print(f"[{pair}] argmax ours {max(range(len(ol)), key=ol.__getitem__)}, llama.cpp {max(range(len(tl)), key=tl.__getitem__)}")
print(f"[{pair}] greedy ours      {ours['tokens']}")
print(f"[{pair}] greedy llama.cpp {theirs['tokens']}")
print(f"[{pair}] greedy equal: {ours['tokens'] == theirs['tokens']}")
PY
done
