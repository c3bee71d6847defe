#!/bin/sh
# Builds the stable-diffusion.cpp benchmark anchor, CPU only, OUTSIDE the
# repository (default /work/anchors/sd.cpp). This script is never part of the
# Multi-SC build, its tests or CI; it only prepares the anchor that the SD
# benchmark figures are compared with. Nothing it produces is committed.
#
# Inputs: bare git dirs of leejet/stable-diffusion.cpp and of a ggml repository
# holding the commit its `ggml` submodule pins, e.g.
#   SDCPP_GIT=/work/.mirror/leejet+stable-diffusion.cpp/repo \
#   GGML_GIT=/work/.mirror/ggml-org+ggml/repo tools/build_sdcpp.sh
# stable-diffusion.cpp 97d2990 pins ggml 8e800ce (present in ggml-org/ggml).
#
# The anchor run of the sd benchmark figures (same weights as Multi-SC's
# bench: a single-file safetensors; UNet step = difference of the sampling
# times of 2 and 1 steps; VAE decode from the "decode_first_stage" line):
#   sd-cli -m sd15.safetensors -p PROMPT -n NEG -W 512 -H 512 --steps 1|2 \
#     --cfg-scale 7.5 --sampling-method euler -t 2 -s 42 -o out.png -v
# Measured 2026-11-26 (2 shared cores, x86-64-v3, same 2.1 GB synthetic f16
# weights, two 1-step/2-step pairs): sd.cpp UNet step with cfg 37.3 s
# (77.40 − 40.07, load 2.0) and 39.7 s (87.48 − 47.79, load up to 5), VAE
# decode 512² 63.5, 64.0, 78.0, 114.0 s; Multi-SC (go test -bench, medians
# of 3, load 2) 24.3 s and 38.6 s.
#
# CPU flags: by default the same ISA level as the Multi-SC benchmark build
# (CGO_CFLAGS/CGO_CXXFLAGS="-O3 -march=x86-64-v3"), so that the two are
# compared on equal vector units: GGML_NATIVE=OFF, -march=x86-64-v3 and the
# matching GGML_AVX/AVX2/FMA/F16C/BMI2 switches. MARCH=native builds with
# GGML_NATIVE=ON instead.
set -eu
SDCPP_GIT=${SDCPP_GIT:?bare git dir of leejet/stable-diffusion.cpp}
GGML_GIT=${GGML_GIT:?bare git dir of ggml (holding the submodule commit)}
DEST=${DEST:-/work/anchors/sd.cpp}
REV=${REV:-HEAD}
JOBS=${JOBS:-2}
MARCH=${MARCH:-x86-64-v3}

# extract TREE of GITDIR into DIR blob by blob: the fetched snapshots lack some
# large blobs (assets, submodules, big tokenizer tables), which `git archive`
# refuses; those are listed in $DEST/MISSING.
extract() {
	git --git-dir="$1" ls-tree -r "$2" | while read -r mode type hash path; do
		[ "$type" = blob ] || { echo "$path ($type)" >>"$DEST/MISSING"; continue; }
		mkdir -p "$3/$(dirname "$path")"
		git --git-dir="$1" cat-file blob "$hash" >"$3/$path" 2>/dev/null ||
			{ rm -f "$3/$path"; echo "$path" >>"$DEST/MISSING"; }
	done
}
rm -rf "$DEST/src" "$DEST/MISSING"
mkdir -p "$DEST/src/ggml"
extract "$SDCPP_GIT" "$REV" "$DEST/src"
sub=$(git --git-dir="$SDCPP_GIT" ls-tree "$REV" ggml | awk '{print $3}')
extract "$GGML_GIT" "$sub" "$DEST/src/ggml"
# Tokenizer tables of other model families (T5, Gemma, Qwen, Mistral, GPT-OSS)
# are absent from the snapshot; SD 1.5 uses only the CLIP table, so the absent
# ones become one-byte placeholders (documented in $DEST/MISSING).
grep -o '[a-z0-9_]*_str)' "$DEST/src/src/tokenizers/vocab/vocab.cpp" | tr -d ')' | sort -u |
	while read -r sym; do
		grep -qs "$sym\[\]" "$DEST"/src/src/tokenizers/vocab/*.hpp && continue
		echo "static const unsigned char $sym[] = {0};" >>"$DEST/src/src/tokenizers/vocab/placeholders.hpp"
	done
for h in $(grep -o '"[a-z0-9_]*\.hpp"' "$DEST/src/src/tokenizers/vocab/vocab.cpp" | tr -d '"'); do
	[ -f "$DEST/src/src/tokenizers/vocab/$h" ] ||
		echo '#include "placeholders.hpp"' >"$DEST/src/src/tokenizers/vocab/$h"
done
printf '#pragma once\n' | cat - "$DEST/src/src/tokenizers/vocab/placeholders.hpp" >"$DEST/ph" && mv "$DEST/ph" "$DEST/src/src/tokenizers/vocab/placeholders.hpp"
echo "stable-diffusion.cpp $(git --git-dir="$SDCPP_GIT" rev-parse "$REV"), ggml $sub, march $MARCH" > "$DEST/REVISION"
if [ "$MARCH" = native ]; then
	cpu="-DGGML_NATIVE=ON"
else
	cpu="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DCMAKE_C_FLAGS=-march=$MARCH -DCMAKE_CXX_FLAGS=-march=$MARCH"
fi
# shellcheck disable=SC2086
cmake -S "$DEST/src" -B "$DEST/build" -DCMAKE_BUILD_TYPE=Release \
	-DSD_WEBP=OFF -DSD_WEBM=OFF -DSD_CUDA=OFF -DSD_BUILD_SHARED_LIBS=OFF $cpu
nice -n 19 cmake --build "$DEST/build" -j "$JOBS" --target sd-cli ||
	nice -n 19 cmake --build "$DEST/build" -j "$JOBS"
ls -l "$DEST/build/bin"
