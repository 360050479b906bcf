"""The field's scores against cases with a known answer, and their mask handling.

Networks are shrunk for speed (FieldConfig below); each test states the tolerance it allows.
"""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm.data.sines import make_sines
from timevqvdm.evaluation import (
    FIELD_METRICS,
    FieldConfig,
    TS2VecConfig,
    context_fid,
    correlational_score,
    cross_correlation,
    field_metrics,
    gru_discriminative_score,
    minmax_scale,
    predictive_score,
    published_units,
)

QUICK_TS2VEC = TS2VecConfig(hidden_channels=16, output_channels=32, depth=3, iterations=30)
GRU = {"iterations": 200, "batch_size": 32, "hidden_size": 8}
# Only the bookkeeping is under test where this is used, not the quality of the networks.
TINY = FieldConfig(
    discriminative_iterations=20,
    predictive_iterations=20,
    batch_size=16,
    hidden_size=4,
    ts2vec=TS2VecConfig(hidden_channels=8, output_channels=16, depth=2, iterations=10),
)


def _noise(like: np.ndarray, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.0, size=like.shape)


def _prefix_mask(n: int, length: int, seed: int = 0) -> np.ndarray:
    lengths = np.random.default_rng(seed).integers(length // 2, length + 1, size=n)
    return np.arange(length)[None, :] < lengths[:, None]


# ------------------------------------------------------------------------------------------ discriminative
def test_discriminative_is_near_zero_for_one_distribution():
    real, same = make_sines(400, seed=1), make_sines(400, seed=2)
    # 80 + 80 held-out series: one accuracy has a sampling sd of about 0.04; allow 3 sd.
    assert gru_discriminative_score(real, real, **GRU) <= 0.12
    assert gru_discriminative_score(real, same, **GRU) <= 0.12


def test_discriminative_is_near_half_for_noise_against_sines():
    real = make_sines(400, seed=1)
    assert gru_discriminative_score(real, _noise(real), **GRU) >= 0.4  # measured 0.44 (0.5 = always right)


def test_discriminative_is_seeded():
    real, noise = make_sines(100, seed=1), _noise(make_sines(100, seed=2))
    kwargs = {**GRU, "iterations": 20}
    assert gru_discriminative_score(real, noise, seed=3, **kwargs) == gru_discriminative_score(
        real, noise, seed=3, **kwargs
    )


# ------------------------------------------------------------------------------------------ predictive
def _lagged_pair(n: int, seed: int, lagged: bool, length: int = 12) -> np.ndarray:
    """Two sines in [0.05, 0.95]; with ``lagged`` the last channel repeats the first one a step later."""
    rng = np.random.default_rng(seed)
    frequency, phase = rng.uniform(0.05, 0.2, size=(n, 2, 1)), rng.uniform(0, 2 * np.pi, size=(n, 2, 1))
    x = 0.5 + 0.45 * np.sin(2 * np.pi * frequency * np.arange(length + 1) + phase)
    if lagged:
        x[:, 1, 1:] = x[:, 0, :-1]
    return x[:, :, 1:]


def test_predictive_is_lower_when_the_synthetic_data_teach_the_real_dependency():
    real = _lagged_pair(200, seed=1, lagged=True)
    gru = {"iterations": 400, "batch_size": 16, "hidden_size": 32}
    good = predictive_score(real, _lagged_pair(200, seed=2, lagged=True), **gru)
    bad = predictive_score(real, _lagged_pair(200, seed=2, lagged=False), **gru)
    # Measured: about 0.04 against 0.28 (an independent channel cannot be predicted better than its spread).
    assert good < 0.5 * bad


def test_predictive_handles_one_channel_by_predicting_its_own_next_value():
    real = make_sines(200, channels=1, seed=1)
    assert predictive_score(real, real, **GRU) < predictive_score(real, _noise(real), **GRU)


# ------------------------------------------------------------------------------------------ correlational
def test_correlational_is_exactly_zero_for_identical_sets_and_pinned_for_a_flipped_correlation():
    x = make_sines(50, channels=3, seed=1)
    assert correlational_score(x, x) == 0.0
    flipped = x.copy()
    flipped[:, 1] = 1.5 - x[:, 0]  # channel 1 = -channel 0 after standardisation; channel 0 unchanged
    x[:, 1] = x[:, 0]  # channel 1 = channel 0
    n_values = 50 * 24
    # R_01 goes from +(N-1)/N to -(N-1)/N; R_21 changes sign as well; the diagonal cancels.
    r21 = cross_correlation(x)[2, 1]
    expected = (2 * (n_values - 1) / n_values + 2 * abs(r21)) / 10
    assert correlational_score(x, flipped) == pytest.approx(expected, rel=1e-9)


def test_cross_correlation_has_the_standardised_diagonal():
    c = cross_correlation(make_sines(30, channels=4, seed=0))
    n_values = 30 * 24
    np.testing.assert_allclose(np.diag(c), (n_values - 1) / n_values)
    np.testing.assert_allclose(c, c.T)


def test_correlational_sample_size_draws_seeded_subsets():
    x = make_sines(100, seed=1)
    assert correlational_score(x, x, sample_size=20, seed=0) > 0  # different subsets of the same set
    assert correlational_score(x, x, sample_size=20, seed=4) == correlational_score(
        x, x, sample_size=20, seed=4
    )
    with pytest.raises(ValueError, match="sample_size"):
        correlational_score(x, x, sample_size=101)


# ------------------------------------------------------------------------------------------ context-FID
def test_context_fid_is_zero_for_identical_sets_and_grows_with_a_shift():
    real, same = make_sines(300, seed=1), make_sines(300, seed=2)
    assert context_fid(real, real, config=QUICK_TS2VEC) == pytest.approx(0.0, abs=1e-6)
    independent = context_fid(real, same, config=QUICK_TS2VEC)
    shifted = context_fid(real, same + 0.1, config=QUICK_TS2VEC)
    assert independent < shifted and 3 * independent < context_fid(real, same + 0.3, config=QUICK_TS2VEC)


# ------------------------------------------------------------------------------------------ masks
def test_padded_values_change_no_score():
    real, synthetic = make_sines(60, seed=1), make_sines(60, seed=2)
    mask_real, mask_synthetic = _prefix_mask(60, 24, seed=1), _prefix_mask(60, 24, seed=2)
    garbage_real = np.where(mask_real[:, None, :], real, np.nan)
    garbage_synthetic = np.where(mask_synthetic[:, None, :], synthetic, 1e3)
    kwargs = {"mask_real": mask_real, "mask_synthetic": mask_synthetic, "repeats": 1, "config": TINY}
    clean = field_metrics(real, synthetic, **kwargs)
    dirty = field_metrics(garbage_real, garbage_synthetic, **kwargs)
    assert set(clean) == set(FIELD_METRICS)
    assert clean == dirty  # exactly: padded cells are zeroed before any network or statistic reads them


def test_a_masked_tail_scores_like_the_series_cut_short():
    real, synthetic = make_sines(100, seed=1), make_sines(100, seed=2)
    mask = np.zeros((100, 24), dtype=bool)
    mask[:, :20] = True
    masks = {"mask_real": mask, "mask_synthetic": mask}
    cut_real, cut_synthetic = real[:, :, :20], synthetic[:, :, :20]
    assert correlational_score(real, synthetic, **masks) == pytest.approx(
        correlational_score(cut_real, cut_synthetic), rel=1e-6
    )
    gru = {**GRU, "iterations": 30}
    assert predictive_score(real, synthetic, **masks, **gru) == pytest.approx(
        predictive_score(cut_real, cut_synthetic, **gru), rel=1e-4
    )


def test_masks_and_values_are_checked():
    x = make_sines(10, seed=0)
    with pytest.raises(ValueError, match="mask"):
        correlational_score(x, x, mask_real=np.ones((10, 23), dtype=bool))
    nan = x.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        correlational_score(nan, x)
    with pytest.raises(ValueError, match="channels"):
        correlational_score(x, x[:, :2])
    one_step = np.zeros((10, 24), dtype=bool)
    one_step[:, 0] = True
    with pytest.raises(ValueError, match="fewer than 2"):
        predictive_score(x, x, mask_synthetic=one_step, iterations=1)


# ------------------------------------------------------------------------------------------ entry point
def test_field_metrics_reports_mean_std_and_runs():
    real, synthetic = make_sines(100, seed=1), make_sines(100, seed=2)
    out = field_metrics(real, synthetic, repeats=2, config=TINY, metrics=("correlational", "predictive"))
    assert set(out) == {"correlational", "predictive"}
    for score in out.values():
        assert len(score["runs"]) == 2
        assert score["mean"] == pytest.approx(np.mean(score["runs"]))
        assert score["std"] == pytest.approx(np.std(score["runs"]))
    assert set(FIELD_METRICS) == {"discriminative", "predictive", "correlational", "context_fid"}
    with pytest.raises(ValueError, match="metrics"):
        field_metrics(real, synthetic, metrics=("fid",))


def test_minmax_scale_maps_the_real_channels_onto_unit_range():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(20, 3, 16)) * np.array([1.0, 10.0, 100.0])[None, :, None]
    scaled_real, scaled_synthetic = minmax_scale(real, 2 * real)
    np.testing.assert_allclose(scaled_real.min(axis=(0, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled_real.max(axis=(0, 2)), 1.0, atol=1e-6)
    assert scaled_synthetic.max() > 1.0  # the synthetic set is scaled with the real statistics


def test_published_units_keep_sines_as_generated_and_minmax_scale_the_rest():
    """Sines is scored as generated (values in [0.5, 1]), as the papers do; other data are min-max scaled
    with the real training data's per-channel minimum and maximum, masked cells ignored."""
    sines = make_sines(50, seed=0)
    synthetic = make_sines(30, seed=1) + 0.2  # may leave [0, 1]: only the real data decide
    real_out, synthetic_out, scaled = published_units(sines, synthetic)
    assert not scaled and sines.min() >= 0.5
    np.testing.assert_array_equal(real_out, sines)
    np.testing.assert_array_equal(synthetic_out, synthetic)

    mask = np.ones((50, 24), dtype=bool)
    mask[:, 20:] = False
    padded = np.where(mask[:, None, :], sines, 1e3)  # padding out of [0, 1] does not count
    assert not published_units(padded, synthetic, mask_real=mask)[2]

    real = 3.0 * padded
    real_out, synthetic_out, scaled = published_units(real, 3.0 * synthetic, mask_real=mask)
    expected = minmax_scale(real, 3.0 * synthetic, mask_real=mask)
    assert scaled
    np.testing.assert_array_equal(real_out, expected[0])
    np.testing.assert_array_equal(synthetic_out, expected[1])
    np.testing.assert_allclose(real_out[:, :, :20].max(axis=(0, 2)), 1.0, atol=1e-6)
