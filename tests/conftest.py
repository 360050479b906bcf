"""Shared test set-up: offline, small, deterministic.

aeon's data folder points at a temporary directory so no test can touch the network or a user's cache;
the datasets aeon ships inside its package (GunPoint, ArrowHead, ...) still load from there.
"""

from __future__ import annotations

import os
import tempfile

import pytest

_AEON_TMP = tempfile.mkdtemp(prefix="timevqvdm-aeon-")
os.environ["AEON_DATA"] = _AEON_TMP
os.environ.setdefault("TIMEVQVDM_UCR_ROOT", os.path.join(_AEON_TMP, "no-ucr-root"))
os.environ["TIMEVQVDM_OFFLINE"] = "1"  # never try a download in tests
os.environ["TIMEVQVDM_CACHE"] = os.path.join(_AEON_TMP, "cache")
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

# Tiny test models run fastest on one thread (less sync overhead on a shared 2-core machine).
torch.set_num_threads(1)


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(0)
