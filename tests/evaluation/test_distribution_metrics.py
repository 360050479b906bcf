"""ACF / spectrum distances and the real-vs-synthetic probe on toy signals."""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm.evaluation import autocorrelation_distance, discriminative_score, power_spectrum_distance


def _sines(rng, n, freq, noise=0.1, length=64):
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    return (np.sin(2 * np.pi * freq * t / length + phase) + noise * rng.normal(size=(n, length)))[:, None, :]


def test_distances_are_small_for_the_same_process_and_large_for_another(rng):
    a, b = _sines(rng, 200, 3), _sines(rng, 200, 3)
    other = _sines(rng, 200, 12)
    assert autocorrelation_distance(a, b) < 0.05 < autocorrelation_distance(a, other)
    assert power_spectrum_distance(a, b) < 0.05 < 0.5 < power_spectrum_distance(a, other)


def test_power_spectrum_distance_is_a_total_variation(rng):
    a = _sines(rng, 50, 3, noise=0.0)
    b = _sines(rng, 50, 20, noise=0.0)
    assert power_spectrum_distance(a, a) == pytest.approx(0.0, abs=1e-12)
    assert power_spectrum_distance(a, b) == pytest.approx(1.0, abs=1e-6)


def test_discriminative_score_separates_distinct_sets_and_not_equal_ones(rng):
    a, b = _sines(rng, 200, 3), _sines(rng, 200, 3)
    noisy = _sines(rng, 200, 3, noise=0.5)
    assert discriminative_score(a, b, seed=0) < 0.1
    assert discriminative_score(a, noisy, seed=0) > 0.4
    assert discriminative_score(a, noisy, seed=0) == discriminative_score(a, noisy, seed=0)  # seeded
