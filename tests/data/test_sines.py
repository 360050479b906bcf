"""Sines (TimeGAN / Diffusion-TS): shape, range, determinism, distinct splits, loading by name."""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm.data import load_dataset
from timevqvdm.data.sines import SINES_SPLITS, make_sines


def test_make_sines_has_the_papers_shape_and_range():
    x = make_sines(300, seed=3)
    assert x.shape == (300, 5, 24)
    # sin of an angle in [0, 0.1 * 23 + 0.1] = [0, 2.4] rad is non-negative, then (x + 1) / 2.
    assert x.min() >= 0.5 and x.max() <= 1.0
    assert make_sines(4, length=50, channels=2, seed=0).shape == (4, 2, 50)


def test_make_sines_follows_timegans_loop_order_and_formula():
    # TimeGAN draws freq then phase per channel per series; t = 0..L-1; no 2*pi in the argument.
    rs = np.random.RandomState(7)
    expected = np.empty((3, 2, 6))
    for i in range(3):
        for c in range(2):
            freq, phase = rs.uniform(0, 0.1), rs.uniform(0, 0.1)
            expected[i, c] = (np.sin(freq * np.arange(6) + phase) + 1) * 0.5
    np.testing.assert_array_equal(make_sines(3, length=6, channels=2, seed=7), expected)


def test_make_sines_is_deterministic_by_seed():
    np.testing.assert_array_equal(make_sines(20, seed=5), make_sines(20, seed=5))
    assert not np.allclose(make_sines(20, seed=5), make_sines(20, seed=6))


def test_load_dataset_sines_gives_distinct_unlabelled_train_and_test_splits():
    train, test = load_dataset("Sines"), load_dataset("Sines", split="test")
    assert train.X.shape == (SINES_SPLITS["train"][0], 5, 24) == (10_000, 5, 24)
    assert test.X.shape == (SINES_SPLITS["test"][0], 5, 24)
    assert train.y is None and train.mask is None and train.name == "Sines"
    assert test.stats == train.stats  # the test split is normalised with the training statistics
    original = train.to_original_units(train.X)
    assert original.min() >= 0.5 - 1e-5 and original.max() <= 1.0 + 1e-5
    # Independent draws: no test series equals a training series.
    train_rows = {row.tobytes() for row in train.X.reshape(len(train.X), -1)}
    assert not any(row.tobytes() in train_rows for row in test.X.reshape(len(test.X), -1))


@pytest.mark.parametrize("n", [0, -1])
def test_make_sines_rejects_an_empty_set(n):
    with pytest.raises(ValueError, match="positive"):
        make_sines(n)
