#!/bin/sh
# Builds the stable-diffusion.cpp benchmark anchor, CPU only, OUTSIDE the
# repository (default /work/anchors/sd.cpp). This script is never part of the
# Multi-SC build, its tests or CI; it only prepares the anchor that the SD
# benchmark figures are compared with. Nothing it produces is committed.
#
# Inputs: bare git mirrors of leejet/stable-diffusion.cpp and ggml-org/ggml
# (the ggml submodule's commit), e.g. as brought by a `git clone --mirror`.
#   SDCPP_GIT=/path/to/stable-diffusion.cpp.git GGML_GIT=/path/to/ggml.git tools/build_sdcpp.sh
#
# Status: written for the sd benchmarks but not yet run: the build machine of
# this session had no cmake (the anchor figures in the sd report say so).
# The ggml submodule commit of stable-diffusion.cpp 97d2990 (8e800ce) is in
# ggml-org/ggml.
set -eu
SDCPP_GIT=${SDCPP_GIT:?bare git dir of leejet/stable-diffusion.cpp}
GGML_GIT=${GGML_GIT:?bare git dir of ggml (holding the submodule commit)}
DEST=${DEST:-/work/anchors/sd.cpp}
REV=${REV:-HEAD}
JOBS=${JOBS:-2}

mkdir -p "$DEST/src"
git --git-dir="$SDCPP_GIT" archive "$REV" | tar -x -C "$DEST/src"
sub=$(git --git-dir="$SDCPP_GIT" ls-tree "$REV" ggml | awk '{print $3}')
mkdir -p "$DEST/src/ggml"
git --git-dir="$GGML_GIT" archive "$sub" | tar -x -C "$DEST/src/ggml"
echo "stable-diffusion.cpp $(git --git-dir="$SDCPP_GIT" rev-parse "$REV"), ggml $sub" > "$DEST/REVISION"
cmake -S "$DEST/src" -B "$DEST/build" -DCMAKE_BUILD_TYPE=Release \
	-DSD_WEBP=OFF -DSD_WEBM=OFF -DSD_CUDA=OFF -DGGML_NATIVE=ON
nice -n 19 cmake --build "$DEST/build" -j "$JOBS" --target sd-cli || nice -n 19 cmake --build "$DEST/build" -j "$JOBS"
ls -l "$DEST/build/bin"
