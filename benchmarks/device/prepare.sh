#!/usr/bin/env bash
# Fill .devkit/ (git-ignored) with what a lent GPU machine lacks, so that `dev_benchmark.sh` can run there
# offline: wheels of our dependencies that its image does not hold, the development datasets, and the
# reference-FCN cache (so its noise floors are those of benchmarks/results/noise_floor.json).
#
#   bash benchmarks/device/prepare.sh        # here, once per session; about 30 MB
#
# The device image has Python 3.12, PyTorch, numpy, pandas, scipy, scikit-learn, numba, einops, sympy,
# safetensors, matplotlib, typer, rich, tqdm, lightning-utilities (see the device tool's KINDS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=.devkit
UCR=${TIMEVQVDM_UCR_ROOT:-$HOME/.cache/ucr/UCRArchive_2018}
FCN=${TIMEVQVDM_CACHE:-$HOME/.cache/timevqvdm}/fcn
PY=${PYTHON:-.venv/bin/python}

rm -rf "$KIT"
mkdir -p "$KIT/whl" "$KIT/ucr/UCRArchive_2018" "$KIT/fcn"
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$KIT/whl" aeon==1.6.0 deprecated==1.2.18 vector-quantize-pytorch==1.32.0 einx==0.4.3 \
    frozendict==2.5.1 loguru==0.7.3 torch-einops-utils==0.2.0 lightning-fabric==2.6.6

# Every development and multivariate dataset as a UCR-style folder: from the local archive, else from aeon's
# bundled .ts (generated ones, Sines, need no files).
NAMES=$("$PY" -c "
from timevqvdm.benchmark import DEV_DATASETS, MULTIVARIATE_DATASETS
from timevqvdm.data import list_datasets
generated = set(list_datasets()['generated'])
print(*[n for n in DEV_DATASETS + MULTIVARIATE_DATASETS if n not in generated])")
for name in $NAMES; do
    if [ -d "$UCR/$name" ]; then
        cp -r "$UCR/$name" "$KIT/ucr/UCRArchive_2018/"
    else
        src=$("$PY" -c "import aeon.datasets, pathlib; print(pathlib.Path(aeon.datasets.__file__).parent / 'data' / '$name')")
        [ -f "$src/${name}_TRAIN.ts" ] || { echo "no local copy of $name (looked in $UCR and $src)" >&2; exit 1; }
        mkdir -p "$KIT/ucr/UCRArchive_2018/$name"
        cp "$src/${name}_TRAIN.ts" "$src/${name}_TEST.ts" "$KIT/ucr/UCRArchive_2018/$name/"
    fi
done
if [ -d "$FCN" ]; then cp -r "$FCN/." "$KIT/fcn/"; fi
du -sh "$KIT"
