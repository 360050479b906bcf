#!/usr/bin/env bash
# The lowest-versions job (`make test-lowest`, run by .ci/run): a separate venv holding every dependency of
# pyproject.toml and its dev extras at exactly its declared floor (.ci/floors.py reads them from pyproject, so
# the two cannot drift), checked by `pip check`, then lint with the lowest ruff and a smoke subset of the tests:
# data loading (aeon's shipped sets, CSV / Parquet), a tiny fit / sample / save / load, the CLI's train and
# sample, checkpoints and resume (safetensors, Lightning Fabric), plots (matplotlib) and the property tests
# (hypothesis). Dependencies of the dependencies resolve as pip picks them (the newest that fit).
#
# torch is the one exception. Its floor in pyproject.toml is what the code needs (2.4, for
# torch.get_autocast_dtype); but the only torch wheel that installs in seconds here is the CPU build that lies on
# this machine's disk, TORCH_SPEC (default torch==2.13.0, as in the Makefile): every other release is a
# multi-GB CUDA download, too slow for CI. So this job pins torch to TORCH_SPEC and does not prove the torch
# floor itself; `make test-lowest TORCH_SPEC=torch==2.4.0` tries it where that download is acceptable.
#
# The venv is reused while pyproject.toml and TORCH_SPEC are unchanged (LOWEST_VENV, default .venv-lowest).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${LOWEST_VENV:-.venv-lowest}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PY=$VENV/bin/python

if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ] \
    || [ "$(cat "$VENV/.torch" 2>/dev/null)" != "$TORCH_SPEC" ]; then
    start=$SECONDS
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$PY" .ci/floors.py --extra dev --torch "$TORCH_SPEC" > "$VENV/requirements.txt"
    "$PY" -m pip install --quiet -r "$VENV/requirements.txt"
    "$PY" -m pip install --quiet --no-deps -e .
    echo "$TORCH_SPEC" > "$VENV/.torch"
    touch "$VENV/.installed"
    echo "lowest-versions venv installed in $((SECONDS - start)) s"
fi
"$PY" -m pip check
echo "lowest versions: $(tr '\n' ' ' < "$VENV/requirements.txt")"

"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/ruff" format --check src tests benchmarks

# Old hypothesis releases keep a Unicode table in ./.hypothesis even without an example database.
export HYPOTHESIS_STORAGE_DIRECTORY="$VENV/hypothesis"
"$PY" -m pytest -q -p no:cacheprovider \
    tests/test_config.py \
    tests/data/test_data_aeon.py \
    tests/data/test_data_files.py \
    tests/data/test_data_properties.py \
    tests/tokenizer \
    tests/test_model.py \
    tests/training/test_trainer.py::test_checkpoint_is_safetensors_and_refuses_silent_overwrite \
    tests/training/test_trainer.py::test_resume_continues_from_checkpoint \
    tests/evaluation/test_plots.py \
    tests/test_cli.py::test_train_writes_a_loadable_model_and_logs \
    tests/test_cli.py::test_sample_writes_labelled_files \
    tests/test_cli.py::test_sample_options_are_checked
