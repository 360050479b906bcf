#!/usr/bin/env bash
# The development-set benchmark on a lent GPU machine (run `prepare.sh` here first). Through the device
# tool, from the repository root:
#
#   run(command="bash benchmarks/device/dev_benchmark.sh 480", carry=[".devkit", "benchmarks/work/gpu"],
#       timeout_s=590)
#
# It installs the carried wheels, runs a short smoke test of the validated (`best`) training path on the GPU
# (a failure stops here, costing little; SMOKE=0 skips it on a machine where it passed), then
# `timevqvdm benchmark --datasets dev --preset paper --runs 3` with one worker process per dataset sharing
# the GPU, for at most SECONDS (first argument). The harness resumes: a second call on the still-warm
# machine (or with benchmarks/work/gpu carried back) continues where the first stopped. Finished
# results, the tables and the figures come back in $OUT/dev-gpu.tar.gz; unpack it into
# benchmarks/results/dev-paper/. Other sets and presets through the environment, e.g. issue 24's:
#   DATASETS=multivariate PRESET=best WORKERS=6 EXTRA="--runs 3 --field-metrics 5" BENCH=benchmarks/work/gpu-mv
# (`prepare.sh` carries those datasets too). The models stay on the machine: a run cut off by the lease
# starts again from scratch on the next machine.
set -uo pipefail
BUDGET=${1:-480}
WORKERS=${WORKERS:-10}
PY=${PYTHON:-python3}
# A dry run on CPU: PYTHON=.venv/bin/python DATASETS=GunPoint PRESET=tiny EXTRA="--runs 1 --fcn-epochs 2 --n-samples 32 --steps 2"
DATASETS=${DATASETS:-dev}
PRESET=${PRESET:-paper}
EXTRA=${EXTRA:---runs 3}
OUT=${OUT:-/tmp/out}
BENCH=${BENCH:-benchmarks/work/gpu}
mkdir -p "$OUT" "$BENCH"

source "$(dirname "$0")/kit.sh"
install_kit || exit 1
kit_env

[ "${SMOKE:-1}" = 0 ] || timeout 120 "$PY" - <<'PY' || { echo "smoke test failed: fix this before the benchmark" >&2; exit 1; }
import time, torch
from timevqvdm import TimeVQVDM
from timevqvdm.config import ValidationConfig, get_preset
from timevqvdm.data import load_dataset
start = time.perf_counter()
# Tiny networks through the validated, lockstep path that `best` trains (held-out checks, novelty draws).
config = get_preset("tiny")
config.stage1.epochs = config.stage2.epochs = 8
config.validation = ValidationConfig(enabled=True, lockstep=True, stage1_every=4, stage2_every=4,
                                     denoising_draws=2, novelty_samples=16, novelty_steps=2)
model = TimeVQVDM(config=config, progress=False).fit(load_dataset("GunPoint", split="train"))
out = model.sample(16, labels="proportional", steps=4, guidance=3.0, seed=0)
print(f"smoke ok on {model.device} ({torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}):"
      f" {out.X.shape} in {time.perf_counter() - start:.1f} s")
PY

timeout "$BUDGET" "$PY" -m timevqvdm.cli benchmark --datasets "$DATASETS" --preset "$PRESET" $EXTRA --out "$BENCH" \
    --workers "$WORKERS" 2>&1 | strip_progress | tail -n 60
# The harness writes the tables at its end; rebuild them in case the time ran out first.
"$PY" -c "from timevqvdm.benchmark import write_tables, plot_figures as p; write_tables('$BENCH'); p('$BENCH')"
tar czf "$OUT/dev-gpu.tar.gz" -C "$BENCH" --exclude models . && ls -la "$OUT"
