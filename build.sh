#!/bin/sh
# build.sh: the way to build multisc for the machine it runs on.
#
# `go build` alone compiles ggml's CPU kernels for the compiler's baseline
# (x86-64 without AVX), 10-20x slower on convolutions and matrix products.
# This script passes the SIMD level of this CPU to cgo, so the binary gets the
# fast kernels; it runs on any CPU of the same level or newer.
#
#   ./build.sh                      # -> ./multisc, for this CPU's x86-64 level
#   ./build.sh -o /usr/local/bin/multisc
#   MULTISC_MARCH=x86-64-v3 ./build.sh   # a chosen level (e.g. for a cluster's oldest node)
#   MULTISC_MARCH=none ./build.sh        # the compiler's baseline (what plain go build gives)
#
# Needs Go and gcc only. The GPU backends are a separate CMake build (README,
# "CUDA build").
set -eu
cd "$(dirname "$0")"

out=./multisc
while [ $# -gt 0 ]; do
	case "$1" in
	-o) [ $# -ge 2 ] || { echo "build.sh: -o needs a path" >&2; exit 2; }; out=$2; shift 2 ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build.sh: unknown argument $1 (see ./build.sh --help)" >&2; exit 2 ;;
	esac
done

# level prints the highest x86-64 micro-architecture level (v2, v3, v4) whose
# features /proc/cpuinfo lists, or nothing.
level() {
	flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
	has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1 ;; esac; done; }
	v2="cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3"
	v3="avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
	v4="avx512f avx512bw avx512cd avx512dq avx512vl"
	if has $v2 $v3 $v4; then echo x86-64-v4
	elif has $v2 $v3; then echo x86-64-v3
	elif has $v2; then echo x86-64-v2
	fi
}

march=${MULTISC_MARCH:-}
if [ -z "$march" ]; then
	case "$(uname -m)" in
	x86_64 | amd64) march=$(level) ;;
	esac
fi
flags="-O3 -w"
if [ -n "$march" ] && [ "$march" != none ]; then
	flags="-O3 -w -march=$march"
fi
echo "build.sh: CGO_CFLAGS/CGO_CXXFLAGS=\"$flags\" go build -o $out ./cmd/multisc" >&2
CGO_CFLAGS="$flags" CGO_CXXFLAGS="$flags" go build -trimpath -o "$out" ./cmd/multisc
"$out" devices
