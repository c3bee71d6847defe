#!/bin/sh
# One anchor run of stable-diffusion.cpp with or without the IP-Adapter, on the
# files make_weights.py wrote (never part of the build, tests or CI):
#   tools/sdcpp_ipadapter/run_bench.sh DIR STEPS ip|none [LOG]
# 512², euler, cfg 7.5, seed 42, 2 threads, IP strength 0.6, reference image
# DIR/ref512.png (any 512² PNG). Its UNet step = sampling time of 2 steps −
# that of 1 step (the "sampling completed" lines). Every output line is
# prefixed with the seconds since the start (line-buffered), which times the
# image encode (sd.cpp prints no figure for it). Runs under
# flock /tmp/bench.lock; prints the load average before and after.
set -eu
dir=$1 steps=$2 mode=$3 log=${4:-/dev/stdout}
sd=${SDCLI:-/work/anchors/sd.cpp/build/bin/sd-cli}
ip=""
if [ "$mode" = ip ]; then
	ip="--clip_vision $dir/image_encoder/model.safetensors --ip-adapter $dir/ip-adapter_sd15.safetensors --ip-adapter-image $dir/ref512.png --ip-adapter-strength 0.6"
fi
stamp='import sys,time
t0=time.time()
for l in sys.stdin: sys.stdout.write("%9.3f %s" % (time.time()-t0, l)); sys.stdout.flush()'
flock /tmp/bench.lock sh -c "uptime; /usr/bin/time -v stdbuf -oL -eL $sd -m $dir/sd15.safetensors $ip -p 'a photograph of a dog on a beach' \
	-W 512 -H 512 --steps $steps --cfg-scale 7.5 --sampling-method euler -t 2 -s 42 -o $dir/out-$mode-$steps.png -v 2>&1 | /usr/bin/python3 -c '$stamp'; uptime" >"$log" 2>&1
