#!/bin/sh
# Builds llama.cpp's own llama-bench against the objects tools/llamacpp/build.sh
# compiled (libllama + ggml of the llama.cpp revision vendored in the pinned
# ollama module: the same ggml Multi-SC runs on, the same flags), for the
# captioner's side-by-side benchmark (models/llava/bench_test.go,
# BenchmarkLM). Developer tool only: never part of Multi-SC's build or CI;
# nothing it builds or reads is committed.
#
# ollama's tree has no tools/llama-bench, and the full llama.cpp snapshot is
# too large to fetch here, so the source comes from a llama.cpp checkout of
# your choice whose llama-bench.cpp includes only common.h, ggml.h and
# llama.h (mid-2025 revisions; newer ones need arg/download/fit from
# common/, which ollama does not vendor):
#
#   LLAMA_BENCH_SRC=/path/to/llama.cpp/tools/llama-bench/llama-bench.cpp \
#     EXTRA="-O3 -march=x86-64-v3" tools/llamacpp/bench.sh
#
# The one API difference to the vendored llama.h (the flash-attention flag
# became an enum) is bridged with sed on a copy. Output:
# /work/anchors/llama-bench/llama-bench (override with OUT=...).
set -eu
: "${LLAMA_BENCH_SRC:?set LLAMA_BENCH_SRC to a llama-bench.cpp (see the comment at the top)}"
SRC=$(cd "$(dirname "$0")/../.." && go list -m -f '{{.Dir}}' github.com/ollama/ollama)
OBJ=${OBJ:-/work/anchors/llama.cpp/obj}
OUT=${OUT:-/work/anchors/llama-bench}
EXTRA=${EXTRA:-}
[ -d "$OBJ" ] || { echo "bench.sh: $OBJ missing: run tools/llamacpp/build.sh first (same EXTRA)" >&2; exit 2; }
G=$SRC/ml/backend/ggml/ggml
L=$SRC/llama/llama.cpp
mkdir -p "$OUT"
sed 's/cparams\.flash_attn *= flash_attn;/cparams.flash_attn_type = flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;/' \
	"$LLAMA_BENCH_SRC" > "$OUT/llama-bench.cpp"
INC="-I$G/include -I$G/src -I$L/include -I$L/src -I$L/common"
DEF="-DNDEBUG -DGGML_USE_CPU -DGGML_USE_LLAMAFILE -D_GNU_SOURCE"
for f in "$OUT/llama-bench.cpp" $L/common/common.cpp $L/common/log.cpp $L/common/sampling.cpp $SRC/llama/build-info.cpp; do
	nice -n 10 g++ $DEF $INC -O2 -std=c++17 -w $EXTRA -c "$f" -o "$OUT/$(basename "$f" .cpp).o"
done
g++ -o "$OUT/llama-bench" "$OUT"/*.o $(ls "$OBJ"/*.o | grep -v crosscheck) -lpthread -lm
echo "built $OUT/llama-bench"
