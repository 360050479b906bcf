#!/usr/bin/env bash
# The speed benchmark on a lent GPU machine (run `prepare.sh` here first). Through the device tool:
#
#   run(command="bash benchmarks/device/speed.sh 300", carry=[".devkit"], timeout_s=360)
#
# Runs benchmarks/speed.py --device cuda for at most SECONDS (first argument; finished cases are cached in
# benchmarks/work/, so a second call on the warm machine resumes) and returns
# $OUT/speed-cuda.json: commit it as benchmarks/results/speed-cuda.json.
set -uo pipefail
BUDGET=${1:-300}
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
source "$(dirname "$0")/kit.sh"
install_kit || exit 1
kit_env
(cd benchmarks && timeout "$BUDGET" "$PY" speed.py --device cuda) 2>&1 | tail -n 40
cp benchmarks/results/speed-cuda.json "$OUT/" 2>/dev/null && ls -la "$OUT"
