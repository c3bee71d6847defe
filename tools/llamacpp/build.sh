#!/bin/sh
# Builds the llama.cpp anchor for Multi-SC's LLaVA cross-check and
# benchmarks: llama.cpp's own libllama + mtmd (clip.cpp) + ggml, from the
# llama.cpp revision vendored in the pinned ollama module (the same ggml
# revision Multi-SC runs on; ollama's tree lacks llama-mtmd-cli/llama-bench
# and their vendored headers, and the full llama.cpp snapshot was too large
# to fetch here), plus the small driver crosscheck.cpp.
#
# Developer tool only: never part of Multi-SC's build or CI, and nothing it
# builds is committed. Output: /work/anchors/llama.cpp/crosscheck (override
# with OUT=...). CPU only, the same flags cgo uses for ggml in `go build`
# (C: -O3, C++: -O2, -DNDEBUG -DGGML_USE_CPU -DGGML_USE_LLAMAFILE, baseline
# x86-64; EXTRA="-O3 -march=x86-64-v3" gives both sides the flags of the
# benchmarks, with CGO_CFLAGS and CGO_CXXFLAGS set to the same).
set -eu
SRC=$(cd "$(dirname "$0")/../.." && go list -m -f '{{.Dir}}' github.com/ollama/ollama)
OUT=${OUT:-/work/anchors/llama.cpp}
EXTRA=${EXTRA:-}
HERE=$(cd "$(dirname "$0")" && pwd)
G=$SRC/ml/backend/ggml/ggml
L=$SRC/llama/llama.cpp
mkdir -p "$OUT/obj"
INC="-I$G/include -I$G/src -I$G/src/ggml-cpu -I$G/src/ggml-cpu/amx -I$G/src/ggml-cpu/llamafile -I$L/include -I$L/src -I$L/common -I$L/tools/mtmd"
DEF="-DNDEBUG -DGGML_USE_CPU -DGGML_USE_LLAMAFILE -D_GNU_SOURCE -DGGML_VERSION=0x0 -DGGML_COMMIT=0x0"
CFLAGS="-O3 -std=c11 -Wno-implicit-function-declaration $EXTRA"
CXXFLAGS="-O2 -std=c++17 $EXTRA"
{
  for f in $G/src/ggml.c $G/src/ggml-alloc.c $G/src/ggml-quants.c $G/src/ggml-cpu/ggml-cpu.c $G/src/ggml-cpu/quants.c \
           $G/src/ggml-cpu/arch/x86/quants.c; do echo "c $f"; done
  for f in $G/src/ggml.cpp $G/src/ggml-backend.cpp $G/src/ggml-backend-reg.cpp $G/src/ggml-opt.cpp $G/src/ggml-threading.cpp \
           $G/src/gguf.cpp $G/src/ggml-cpu/*.cpp $G/src/ggml-cpu/arch/x86/*.cpp $G/src/ggml-cpu/llamafile/sgemm.cpp \
           $G/src/ggml-cpu/amx/*.cpp $L/src/*.cpp $L/src/models/*.cpp \
           $L/tools/mtmd/clip.cpp $L/tools/mtmd/mtmd.cpp $L/tools/mtmd/mtmd-audio.cpp $L/tools/mtmd/models/*.cpp \
           $HERE/crosscheck.cpp; do echo "cxx $f"; done
} > "$OUT/sources"
# One object per source, two compilers at a time, gently.
cat "$OUT/sources" | while read kind f; do
  o=$OUT/obj/$(echo "$f" | sed "s#^$SRC/##; s#^$HERE/##; s#/#_#g").o
  echo "$kind $f $o"
done > "$OUT/jobs"
cat "$OUT/jobs" | xargs -P 2 -L 1 sh -c '
  kind=$0; f=$1; o=$2
  [ -f "$o" ] && [ "$o" -nt "$f" ] && exit 0
  if [ "$kind" = c ]; then nice -n 10 gcc '"$DEF $INC $CFLAGS"' -c "$f" -o "$o"
  else nice -n 10 g++ '"$DEF $INC $CXXFLAGS"' -c "$f" -o "$o"; fi || { echo "FAILED $f" >&2; exit 255; }'
g++ -o "$OUT/crosscheck" "$OUT"/obj/*.o -lpthread -lm -fopenmp 2>/dev/null || g++ -o "$OUT/crosscheck" "$OUT"/obj/*.o -lpthread -lm
echo "built $OUT/crosscheck"
