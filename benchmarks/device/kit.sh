# Sourced by the device scripts (not run): what they share. Needs PY set and the repository root as cwd.

# Install the wheels that `prepare.sh` put in .devkit/whl into /tmp/site: the device image lacks them.
install_kit() {
    "$PY" -m pip install -q --no-index --no-deps --ignore-requires-python --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .devkit/whl/*.whl || return 1
    nvidia-smi -L || true
}

# Point Python at the source and the installed wheels, and the UCR loader and FCN cache at the carried kit.
kit_env() {
    export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1
    export TIMEVQVDM_UCR_ROOT=$PWD/.devkit/ucr/UCRArchive_2018 TIMEVQVDM_CACHE=$PWD/.devkit
}

# A log without its progress-bar redraws (stdin to stdout): one line per message, no blank lines.
strip_progress() {
    tr '\r' '\n' | grep -v -E "[0-9](it|step)/s|s/(it|step)\]" | grep -v -E "^\s*(\x1b\[A)?\s*$"
}
