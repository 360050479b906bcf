"""Values the float32 model cannot hold: infinite, beyond float32, or so extreme that the others vanish."""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm.data import DataError, TimeSeriesDataset, load_dataset
from timevqvdm.data.raw import MIN_DIGITS

EPS32 = float(np.finfo(np.float32).eps)


def _write_csv(path, values):
    path.write_text("\n".join(",".join(str(v) for v in row) for row in values) + "\n")
    return path


def _round_trip(data):
    """Every stored value back in original units (float64, so only the float32 storage rounds)."""
    return data.to_original_units(data.X.astype(np.float64))


def _typical_error_digits(data, X):
    """Significant digits the typical values keep: log10(spread / largest error of a typical value)."""
    center = np.median(X)
    spread = np.median(np.abs(X - center)[center != X])
    typical = np.abs(X - center) <= spread
    error = np.abs(_round_trip(data)[:, 0] - X)[typical].max()
    return np.inf if error == 0 else np.log10(spread / error)


# ---------------------------------------------------------------------- refused


def test_one_cell_at_1e30_is_refused_by_line_and_column(tmp_path, rng):
    # The example of issue #27: loaded silently, only 2 distinct values remained after normalisation.
    values = np.round(rng.standard_normal((10, 40)), 4).astype(object)
    values[2, 4] = "1e30"
    with pytest.raises(
        DataError,
        match=r"extreme.csv: line 3, column 5: value 1e\+30 is extreme: most values lie within .* keep fewer "
        r"than 3 significant digits. Fix or remove the cell \(or its series\); 1 value\(s\) are that far out",
    ):
        load_dataset(_write_csv(tmp_path / "extreme.csv", values))


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("inf", r"infinite value \(inf\)"),
        ("-Infinity", r"infinite value \(-inf\)"),
        ("1e400", r"infinite value \(inf\)"),  # beyond float64: Python reads it as inf
        ("-1e39", r"value -1e\+39 is too large for float32 \(largest magnitude 3.403e\+38\)"),
    ],
)
def test_non_finite_and_float32_overflow_are_refused_by_cell(tmp_path, rng, cell, message):
    values = np.round(rng.standard_normal((4, 10)), 4).astype(object)
    values[1, 7] = cell
    with pytest.raises(DataError, match=rf"big.csv: line 2, column 8: {message}"):
        load_dataset(_write_csv(tmp_path / "big.csv", values))


def test_float32_overflow_in_an_array_names_its_index():
    X = np.ones((3, 10))
    X[:, 0] = 0.0
    X[2, 5] = 4e38
    with pytest.raises(DataError, match=r"X\[2, 5\] .*value 4e\+38 is too large for float32"):
        TimeSeriesDataset.from_arrays(X)


def test_a_channel_far_from_the_shared_mean_is_refused_by_channel(rng):
    X = rng.standard_normal((6, 2, 32))
    X[:, 1] += 1e7  # e.g. pressure in Pa beside a temperature in °C: one scalar mean/std erases channel 1
    with pytest.raises(
        DataError,
        match=r"array: channel 0 \(around .*\), channel 1 \(around 1e\+07 .*\) lie far from the normalisation mean 5e\+06",
    ):
        TimeSeriesDataset.from_arrays(X, normalisation="global")
    # per-channel statistics, the default for several channels, keep both
    data = TimeSeriesDataset.from_arrays(X)
    np.testing.assert_allclose(data.to_original_units(data.X.astype(np.float64)), X, rtol=1e-12, atol=1e-5)


def test_held_out_channels_far_from_their_own_training_means_are_refused(rng):
    train = TimeSeriesDataset.from_arrays(rng.standard_normal((6, 2, 32)))
    held_out = rng.standard_normal((6, 2, 32))
    held_out[:, 1] += 1e7
    with pytest.raises(
        DataError, match=r"channel 1 \(around 1e\+07 .*\) lies far from its normalisation mean"
    ):
        TimeSeriesDataset.from_arrays(held_out, stats=train.stats)


def test_held_out_data_far_from_the_training_mean_is_refused(rng):
    train = TimeSeriesDataset.from_arrays(rng.standard_normal((6, 32)))
    with pytest.raises(
        DataError, match=r"channel 0 \(around 1e\+07 ± 0.\d+\) lies far from the normalisation mean"
    ):
        TimeSeriesDataset.from_arrays(1e7 + rng.standard_normal((6, 32)), stats=train.stats)


def test_the_outlier_is_named_even_when_another_channel_suffers(rng):
    X = rng.standard_normal((6, 2, 32))
    X[4, 1, 9] = 1e25
    with pytest.raises(DataError, match=r"X\[4, 1, 9\] .*value 1e\+25 is extreme"):
        TimeSeriesDataset.from_arrays(X)


# ---------------------------------------------------------------------- ordinary data still loads


def _ordinary(rng):
    walks = np.cumsum(rng.standard_normal((10, 40)), axis=1)
    sparse = np.where(rng.random((10, 40)) < 0.05, rng.exponential(50.0, (10, 40)), 0.0)
    return {
        "around 1e3": 1e3 + walks,
        "negative": -500.0 + 0.01 * walks,
        "constant per series": np.repeat(rng.standard_normal((10, 1)) * 7.0, 40, axis=1),
        "mostly zeros": sparse,
        "heavy tails": rng.standard_cauchy((10, 40)),
        "one moderate outlier": np.where(np.arange(400).reshape(10, 40) == 17, 1e3, walks),
        "tiny units": 1e-30 * walks,
        "huge units": 1e30 * walks,
    }


@pytest.mark.parametrize(
    "kind",
    [
        "around 1e3",
        "negative",
        "constant per series",
        "mostly zeros",
        "heavy tails",
        "one moderate outlier",
        "tiny units",
        "huge units",
    ],
)
def test_ordinary_data_loads_and_keeps_its_digits(rng, kind):
    X = _ordinary(rng)[kind]
    data = TimeSeriesDataset.from_arrays(X)
    assert _typical_error_digits(data, X) >= MIN_DIGITS


def test_shipped_datasets_load(rng):
    for name in ("GunPoint", "BasicMotions", "PickupGestureWiimoteZ"):
        assert load_dataset(name).n_series > 0


def test_the_threshold_lies_where_the_typical_values_keep_min_digits(rng):
    # Just inside the rule the typical values keep MIN_DIGITS digits; far outside they keep none.
    X = rng.standard_normal((10, 40))
    spread = np.median(np.abs(X - np.median(X)))
    inside = X.copy()
    inside[0, 0] = 400 * 0.5 * spread * 10.0**-MIN_DIGITS / EPS32  # moves the mean by about half the limit
    data = TimeSeriesDataset.from_arrays(inside)
    assert _typical_error_digits(data, inside) >= MIN_DIGITS
    outside = X.copy()
    outside[0, 0] = 1e30
    with pytest.raises(DataError, match=r"X\[0, 0\] .*is extreme"):
        TimeSeriesDataset.from_arrays(outside)
