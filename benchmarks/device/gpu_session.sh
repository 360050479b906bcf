#!/usr/bin/env bash
# One lent-GPU session in as few calls as possible (run `prepare.sh` here first). Through the device tool:
#
#   run(command="bash benchmarks/device/gpu_session.sh 540", carry=[".devkit"], timeout_s=590)
#   run(command="bash benchmarks/device/gpu_session.sh 180", timeout_s=220)  # at once, on the warm machine
#
# Carry .devkit in the first call only: a carried path replaces the one there, and the reference FCNs that
# the first call trained and cached in .devkit/fcn would be lost (session 5 retrained ECGFiveDays' for `best`).
#
# The first call installs the carried wheels, runs benchmarks/speed.py on the GPU (at most SPEED_BUDGET
# seconds, alone on the card so its timings are clean), then starts the dev benchmark in a process session
# of its own, so it keeps running between calls on the still-warm machine: PRESET then SECOND_PRESET on the
# same model for each of DATASETS, SECOND_PRESET alone (training its own model) for each of BEST_ONLY, all
# datasets at once. Models stay there (too large to bring back). Every call then
# waits until SECONDS (first argument) have passed since it began, or the benchmark has ended, and returns
# what exists so far: $OUT/gpu-bench.tar.gz (paper/ and best/: per-dataset JSON, tables, figures),
# $OUT/gpu-logs.tar.gz (one filtered log per dataset), $OUT/speed-cuda.json, and the stage-1 checkpoints of
# unfinished datasets ($OUT/stage1-<preset>-<name>.tar; a CPU run resumes from them). A later call skips
# what is done.
# A dry run here: PYTHON=.venv/bin/python SPEED_BUDGET=0 DATASETS=GunPoint BEST_ONLY= PRESET=tiny SECOND_PRESET=tiny \
#   EXTRA="--runs 1 --fcn-epochs 2 --n-samples 32 --steps 2" OUT=/tmp/o BENCH=/tmp/b STATE=/tmp/s bash ... 300
set -uo pipefail
shopt -s nullglob
BUDGET=${1:-540}
SPEED_BUDGET=${SPEED_BUDGET:-0}  # speed-cuda.json exists (session 5, H200); 150 s measures all but the 4096-series cases
PY=${PYTHON:-python3}
# What session 5's lease left undone: paper then best on these (trained there) ...
DATASETS=${DATASETS-FacesUCR,Adiac,ECG5000}  # set but empty: none
# ... and best alone on these (their paper runs are committed, their models stayed on that machine).
BEST_ONLY=${BEST_ONLY-DiatomSizeReduction,ECG200}
PRESET=${PRESET:-paper}
SECOND=${SECOND_PRESET:-best}
EXTRA=${EXTRA:---runs 3}
OUT=${OUT:-/tmp/out}
BENCH=${BENCH:-benchmarks/work/gpu}
STATE=${STATE:-/tmp/gpu-session}
START=$SECONDS
mkdir -p "$OUT" "$BENCH" "$STATE"

source "$(dirname "$0")/kit.sh"
if [ ! -f "$STATE/installed" ]; then
    install_kit || exit 1
    touch "$STATE/installed"
fi
kit_env
DEVICE=$("$PY" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")

if [ ! -f "$STATE/speed-done" ] && [ "$SPEED_BUDGET" -gt 0 ]; then
    touch "$STATE/speed-done"  # once only: a second call must not run it beside the benchmark
    (cd benchmarks && timeout "$SPEED_BUDGET" "$PY" speed.py --device "$DEVICE") 2>&1 | tail -n 15
fi
cp "benchmarks/results/speed-$DEVICE.json" "$OUT/" 2>/dev/null

if [ ! -f "$STATE/bench.pid" ]; then
    # One chain per dataset, all at once on the one GPU: `paper` trains and evaluates, then `best` evaluates
    # the same model (its models are too large to bring back for a later CPU run).
    COUNT=$(echo "$DATASETS,$BEST_ONLY" | tr ',' '\n' | grep -c .)
    THREADS=$(( $(nproc) / (COUNT > 0 ? COUNT : 1) ))
    setsid nohup bash -c '
        for name in $(echo "$1" | tr "," " "); do
            ( OMP_NUM_THREADS=$2 "$3" -m timevqvdm.cli benchmark --datasets "$name" --preset "$7" $4 --out "$5/$7" \
              && OMP_NUM_THREADS=$2 "$3" -m timevqvdm.cli benchmark --datasets "$name" --preset "$8" $4 \
                 --models-from "$5/$7" --out "$5/$8" ) > "$6/bench-$name.raw.log" 2>&1 &
        done
        for name in $(echo "$9" | tr "," " "); do
            OMP_NUM_THREADS=$2 "$3" -m timevqvdm.cli benchmark --datasets "$name" --preset "$8" $4 --out "$5/$8" \
                > "$6/bench-$name.raw.log" 2>&1 &
        done
        wait' _ "$DATASETS" "$THREADS" "$PY" "$EXTRA" "$BENCH" "$STATE" "$PRESET" "$SECOND" "$BEST_ONLY" \
        > /dev/null 2>&1 &
    echo $! > "$STATE/bench.pid"
fi
PID=$(cat "$STATE/bench.pid")
while kill -0 "$PID" 2>/dev/null && [ $((SECONDS - START)) -lt "$BUDGET" ]; do sleep 5; done
kill -0 "$PID" 2>/dev/null && echo "benchmark still running after $((SECONDS - START)) s" || echo "benchmark ended"

for log in "$STATE"/bench-*.raw.log; do
    name=$(basename "$log" .raw.log)
    strip_progress < "$log" > "$STATE/$name.log"
    echo "== $name"; tail -n 4 "$STATE/$name.log"
done
# The harness writes the tables at the end of each run; build them from what has finished so far.
for preset in "$PRESET" "$SECOND"; do
    [ -d "$BENCH/$preset/results" ] && "$PY" -c "from timevqvdm.benchmark import write_tables, plot_figures as p
write_tables('$BENCH/$preset'); p('$BENCH/$preset')" 2>&1 | tail -n 3
done
tar czf "$OUT/gpu-bench.tar.gz" -C "$BENCH" --exclude models --exclude plots --exclude evaluation . 
tar czf "$OUT/gpu-logs.tar.gz" -C "$STATE" --exclude '*.raw.log' .
# Stage-1 checkpoints (about 12 MB each; at most 4 fit what a call brings back) of the datasets that have no
# record yet, so the CPU can resume them instead of starting over: unpack into <bench>/<preset>/models/.
packed=0
for preset in "$PRESET" "$SECOND"; do
    for dir in "$BENCH/$preset"/models/*/; do
        name=$(basename "$dir")
        if [ -f "$dir/runs/stage1/checkpoint.safetensors" ] && [ ! -f "$BENCH/$preset/results/$name.json" ] \
            && [ "$packed" -lt 4 ]; then
            tar cf "$OUT/stage1-$preset-$name.tar" -C "$BENCH/$preset/models" "$name/runs/stage1" && packed=$((packed + 1))
        fi
    done
done
ls -la "$OUT"
