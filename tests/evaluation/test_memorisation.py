"""The copy detector on real GunPoint: flags a copying generator, not unseen real series."""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm.data import load_dataset
from timevqvdm.evaluation import memorisation, nearest_distances


@pytest.fixture(scope="module")
def gunpoint():
    train, test = load_dataset("GunPoint", split="train"), load_dataset("GunPoint", split="test")
    return train.X.astype(np.float64), test.X.astype(np.float64)


def test_nearest_distances_leave_one_out():
    x = np.array([[0.0], [1.0], [3.0]])
    assert nearest_distances(x, x).tolist() == [0.0, 0.0, 0.0]
    assert nearest_distances(x, x, exclude_self=True).tolist() == [1.0, 1.0, 2.0]


def test_memorisation_flags_noisy_copies_of_training_series(gunpoint):
    train, test = gunpoint
    reference, _ = test[:75], test[75:]
    rng = np.random.default_rng(0)
    copies = train[rng.integers(0, len(train), size=100)] + 0.01 * rng.normal(size=(100, *train.shape[1:]))
    report = memorisation(copies, train, reference)
    assert report["suspected_copying"]
    assert report["copy_share"] > 0.9
    assert report["median_ratio"] < 0.2


def test_memorisation_does_not_flag_held_out_real_series(gunpoint):
    train, test = gunpoint
    reference, held_out = test[:75], test[75:]
    report = memorisation(held_out, train, reference)
    assert not report["suspected_copying"]
    assert report["copy_share"] < 0.15
    assert report["real_test_copy_share"] == pytest.approx(0.05, abs=0.02)
    assert report["median_ratio"] > 0.5
