# Targets that work on a fresh machine with only Python 3 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU build of torch; GPU users: see README ("Installing on a GPU machine").
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup demo test test-lowest lint

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	# Install torch first when absent: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/timevqvdm demo

test: setup
	$(PY) -m pytest -q

# Every dependency at its declared floor in its own venv (.venv-lowest), then lint and a smoke subset of the
# tests: proves the floors of pyproject.toml. torch stays TORCH_SPEC there; .ci/lowest.sh says why.
test-lowest:
	PYTHON=$(PYTHON) TORCH_SPEC="$(TORCH_SPEC)" bash .ci/lowest.sh

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
