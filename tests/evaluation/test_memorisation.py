"""The copy detector on real GunPoint: flags a copying generator, not unseen real series."""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm.data import load_dataset
from timevqvdm.evaluation import honest_copy_share, memorisation, nearest_distances


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


@pytest.mark.parametrize("n_reference", [3, 5, 14, 100])
def test_honest_copy_share_is_what_honest_series_score_against_a_small_reference(n_reference):
    # Honest samples and the reference draw their nearest-train distances from one distribution; the
    # share of samples below the reference's 5th percentile, averaged over many references, is the
    # expected copy share. Uniform distances make the order-statistic formula exact.
    rng = np.random.default_rng(0)
    trials, n_samples = 20000, 200
    reference = rng.uniform(size=(trials, n_reference))
    thresholds = np.quantile(reference, 0.05, axis=1)
    samples = rng.uniform(size=(trials, n_samples))
    simulated = float(np.mean(samples < thresholds[:, None]))
    assert honest_copy_share(n_reference) == pytest.approx(simulated, abs=0.005)
    assert honest_copy_share(n_reference) >= 0.05


def test_honest_copy_share_tends_to_the_quantile_and_rejects_an_empty_reference():
    assert honest_copy_share(100_001) == pytest.approx(0.05, abs=1e-4)
    assert honest_copy_share(3) > honest_copy_share(14) > honest_copy_share(861)
    with pytest.raises(ValueError, match="at least 1"):
        honest_copy_share(0)


def test_memorisation_reports_the_honest_level_of_its_reference(gunpoint):
    train, test = gunpoint
    report = memorisation(test[75:], train, test[:5])
    assert report["honest_copy_share"] == pytest.approx(honest_copy_share(5))


def test_pooling_the_training_part_sets_the_threshold_from_both_and_steadies_it(gunpoint):
    train, test = gunpoint
    report = memorisation(test[75:], train, test[:5], pool_train=True)
    pooled = np.concatenate(
        [nearest_distances(test[:5], train), nearest_distances(train, train, exclude_self=True)]
    )
    assert report["threshold"] == pytest.approx(np.quantile(pooled, 0.05))
    assert report["honest_copy_share"] == pytest.approx(honest_copy_share(5 + len(train)))
    assert report["copy_share"] < 0.15  # unseen real series are not copies
    # Over many 5-series references the pooled threshold varies far less than the reference's own.
    rng = np.random.default_rng(0)
    subsets = [test[rng.choice(len(test), 5, replace=False)] for _ in range(30)]
    alone = [memorisation(test[:1], train, ref)["threshold"] for ref in subsets]
    both = [memorisation(test[:1], train, ref, pool_train=True)["threshold"] for ref in subsets]
    assert np.std(both) < 0.5 * np.std(alone)
