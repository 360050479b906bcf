#!/usr/bin/env bash
# benchmarks/compile_speed.py on a lent GPU machine (run `prepare.sh` here first). Through the device tool:
#
#   run(command="bash benchmarks/device/compile_speed.sh 270", carry=[".devkit"], timeout_s=590)
#
# (two modes of at most 270 s each; EXTRA="--device cuda --precision bf16" samples in bf16.)
# Installs the carried wheels, then times eager against compiled sampling (1024 GunPoint series at the default
# preset's settings), U-Net throughput and the training steps on the GPU for at most SECONDS (first argument;
# compiling takes a few minutes of it: every graph is compiled once, cold). Returns
# $OUT/compile-speed-cuda[-MODE].json per mode: commit them under benchmarks/results/. A run cut short keeps
# the sections it finished (sampling, U-Net, stage 1, stage 2: the JSON is written after each).
# A dry run here: PYTHON=.venv/bin/python EXTRA="--device cpu --preset tiny --n 16 --batch 16 --repeats 1" bash ...
set -uo pipefail
BUDGET=${1:-420}
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/out}
EXTRA=${EXTRA:---device cuda}
# torch.compile modes, one run of at most SECONDS each: "reduce-overhead" adds CUDA graphs (issue 26, item 3).
MODES=${MODES:-reduce-overhead default}
mkdir -p "$OUT"
source "$(dirname "$0")/kit.sh"
if [ -d .devkit/whl ]; then install_kit || exit 1; fi
kit_env
for mode in $MODES; do
    name=compile-speed-cuda$([ "$mode" = default ] || echo "-$mode").json
    (cd benchmarks && timeout "$BUDGET" "$PY" compile_speed.py $EXTRA --mode "$mode" --out "$OUT/$name") 2>&1 \
        | strip_progress | tail -n 20
done
ls -la "$OUT"
