#!/usr/bin/env bash
# A lease too short to finish a dataset (15 min, start included) spent on what the 2-core CPU is slowest at:
# stage 1 of each of DATASETS (the `paper` preset; `best` reuses its model) and the reference FCN of each
# training split. Run `prepare.sh` here first, then through the device tool:
#
#   run(command="DATASETS=Adiac,ECG5000 bash benchmarks/device/gpu_stage1.sh 480", carry=[".devkit"], timeout_s=590)
#
# FCN_DATASETS (default: DATASETS) names the datasets whose reference FCN is trained: it may include one whose
# stage 1 already finished elsewhere, e.g. DATASETS=Adiac FCN_DATASETS=Adiac,ECG5000.
#
# After BUDGET seconds (first argument) the benchmark processes get SIGTERM, which makes the trainer save a
# checkpoint at the next step, and the call returns:
#   $OUT/stage1-paper-<name>.tar   <name>/runs/stage1 (about 12 MB): unpack into <bench>/paper/models/ here
#                                  and `timevqvdm benchmark --preset paper --out <bench>/paper` resumes there;
#   $OUT/fcn.tar                   the reference FCNs (unpack into $TIMEVQVDM_CACHE/fcn or ~/.cache/timevqvdm/fcn);
#   $OUT/logs.tar.gz               one filtered log per process.
# Stage-2 checkpoints (about 48 MB each with the optimiser state) are over the 16 MB a returned file may have;
# on a still-warm machine a later call can resume one dataset's stage 2 and bring its checkpoint back split
# into parts (docs/benchmark.md). The benchmark goes on into stage 2 here so the GPU does not sit idle.
set -uo pipefail
shopt -s nullglob
BUDGET=${1:-480}
PY=${PYTHON:-python3}
DATASETS=${DATASETS:?set DATASETS, e.g. DATASETS=Adiac,ECG5000}
FCN_DATASETS=${FCN_DATASETS:-$DATASETS}
OUT=${OUT:-/tmp/out}
BENCH=${BENCH:-benchmarks/work/gpu}
LOGS=${LOGS:-/tmp/gpu-stage1}
START=$SECONDS
mkdir -p "$OUT" "$BENCH" "$LOGS"

source "$(dirname "$0")/kit.sh"
install_kit || exit 1
kit_env
export OMP_NUM_THREADS=4

pids=()
for name in $(echo "$DATASETS" | tr ',' ' '); do
    "$PY" -m timevqvdm.cli benchmark --datasets "$name" --preset paper --runs 3 --out "$BENCH/paper" \
        > "$LOGS/bench-$name.raw.log" 2>&1 &
    pids+=($!)
done
for name in $(echo "$FCN_DATASETS" | tr ',' ' '); do
    # The same split and seed as the benchmark's evaluation, so the cache key matches.
    "$PY" -c "import logging, sys; logging.basicConfig(level=logging.INFO)
from timevqvdm.data.load import load_dataset
from timevqvdm.evaluation.protocol import feature_model
fcn = feature_model(load_dataset(sys.argv[1], split='train'), epochs=1000, seed=0)
print(sys.argv[1], 'reference FCN', fcn.info)" "$name" > "$LOGS/fcn-$name.raw.log" 2>&1 &
    pids+=($!)
done

running() { for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }
while running && [ $((SECONDS - START)) -lt "$BUDGET" ]; do sleep 5; done
echo "stopping after $((SECONDS - START)) s"
for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null; kill -TERM "$pid" 2>/dev/null; done
for _ in $(seq 60); do running || break; sleep 1; done
running && echo "some process did not stop within 60 s" >&2

for log in "$LOGS"/*.raw.log; do
    name=$(basename "$log" .raw.log)
    strip_progress < "$log" > "$LOGS/$name.log"
    echo "== $name"; tail -n 5 "$LOGS/$name.log"
done
tar czf "$OUT/logs.tar.gz" -C "$LOGS" --exclude '*.raw.log' .
tar cf "$OUT/fcn.tar" -C .devkit/fcn .
for name in $(echo "$DATASETS" | tr ',' ' '); do
    run="$BENCH/paper/models/$name/runs/stage1"
    [ -f "$run/checkpoint.safetensors" ] && tar cf "$OUT/stage1-paper-$name.tar" -C "$BENCH/paper/models" "$name/runs/stage1"
done
ls -la "$OUT"
