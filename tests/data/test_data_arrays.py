"""TimeSeriesDataset built from arrays: contract, normalisation round trip, labels, padding, bad arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from timevqvdm.data import DataError, TimeSeriesDataset
from timevqvdm.data.labels import canonical_label


def _walks(rng, n=6, length=32, channels=None):
    shape = (n, length) if channels is None else (n, channels, length)
    return 5.0 + 3.0 * rng.standard_normal(shape)


def test_from_arrays_2d_keeps_channel_axis_and_normalises(rng):
    X = _walks(rng)
    data = TimeSeriesDataset.from_arrays(X, [0, 1, 0, 1, 1, 1], name="walks")
    assert data.X.shape == (6, 1, 32) and data.X.dtype == np.float32
    assert data.y.dtype == np.int64 and data.mask is None
    assert (data.n_series, data.n_channels, data.length, data.n_classes) == (6, 1, 32, 2)
    assert data.mean == pytest.approx(X.mean()) and data.std == pytest.approx(X.std())
    assert data.X.mean() == pytest.approx(0.0, abs=1e-6) and data.X.std() == pytest.approx(1.0, abs=1e-5)


def test_from_arrays_multichannel_global_normalisation_uses_one_scalar_mean_and_std(rng):
    X = _walks(rng, channels=3)
    X[:, 2] *= 10.0  # channels on different scales share the global statistics when asked (thesis 3.5)
    data = TimeSeriesDataset.from_arrays(X, normalisation="global")
    assert data.X.shape == (6, 3, 32) and not data.per_channel
    assert data.mean == pytest.approx(X.mean()) and data.std == pytest.approx(X.std())
    assert data.y is None and data.classes == [] and data.class_counts().shape == (0,)


def test_from_arrays_multichannel_defaults_to_per_channel_statistics(rng):
    X = _walks(rng, channels=3)
    X[:, 2] = 10.0 * X[:, 2] + 1e3  # another unit: each channel gets its own mean and std
    data = TimeSeriesDataset.from_arrays(X)
    assert data.per_channel and data.mean.shape == (3,) and data.std.shape == (3,)
    np.testing.assert_allclose(data.mean, X.mean(axis=(0, 2)))
    np.testing.assert_allclose(data.std, X.std(axis=(0, 2)))
    np.testing.assert_allclose(data.X.mean(axis=(0, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.X.std(axis=(0, 2)), 1.0, atol=1e-5)
    np.testing.assert_allclose(data.to_original_units(data.X.astype(np.float64)), X, rtol=1e-6, atol=1e-4)
    # the statistics round-trip through `stats` (tuples compare with ==) and apply to held-out data
    again = TimeSeriesDataset.from_arrays(X, stats=data.stats)
    assert again.stats == data.stats
    np.testing.assert_array_equal(again.X, data.X)
    # one channel keeps the thesis's global scalar
    assert not TimeSeriesDataset.from_arrays(X[:, :1]).per_channel


def test_round_trip_to_original_units(rng):
    X = _walks(rng)
    data = TimeSeriesDataset.from_arrays(X)
    np.testing.assert_allclose(data.to_original_units(data.normalise(X)), X, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(data.to_original_units(data.X[:, 0]), X, rtol=1e-5, atol=1e-5)
    tensor = torch.from_numpy(X)
    assert torch.allclose(data.to_original_units(data.normalise(tensor)), tensor, atol=1e-12)
    assert data.normalise(X.astype(np.float32)).dtype == np.float32  # the input's float dtype is kept


def test_stats_given_are_applied(rng):
    X = _walks(rng)
    data = TimeSeriesDataset.from_arrays(X, stats=(5.0, 2.0))
    assert data.stats == (5.0, 2.0)
    np.testing.assert_allclose(data.X[:, 0], (X - 5.0) / 2.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("labels", "classes", "codes"),
    [
        (["b", "a", "b", "c", "a", "a"], ["a", "b", "c"], [1, 0, 1, 2, 0, 0]),
        ([1.0, 2.0, 1.0, 2.0, 2.0, 1.0], ["1", "2"], [0, 1, 0, 1, 1, 0]),
        ([10, 2, 2, 10, 2, 2], ["2", "10"], [1, 0, 0, 1, 0, 0]),  # numeric order, not text order
        (np.array(["-1", "1", "1", "-1", "1", "1"]), ["-1", "1"], [0, 1, 1, 0, 1, 1]),
    ],
)
def test_labels_are_encoded_in_a_stable_order(rng, labels, classes, codes):
    data = TimeSeriesDataset.from_arrays(_walks(rng), labels)
    assert data.classes == classes
    assert data.y.tolist() == codes


def test_classes_argument_matches_labels_by_name(rng):
    data = TimeSeriesDataset.from_arrays(_walks(rng), [2, 2, 2, 2, 2, 2], classes=["1", "2"])
    assert data.y.tolist() == [1] * 6 and data.class_counts().tolist() == [0, 6]
    with pytest.raises(DataError, match=r"y\[0\]: class '3' does not occur"):
        TimeSeriesDataset.from_arrays(_walks(rng), [3, 1, 1, 1, 1, 1], classes=["1", "2"])


def test_summary_names_size_shape_classes_and_stats(rng):
    data = TimeSeriesDataset.from_arrays(_walks(rng, n=5, length=150), [1, 2, 2, 1, 2], name="GunPoint")
    data.split = "train"
    lines = data.summary().splitlines()
    assert lines[0] == "GunPoint (train): 5 series, 1 channel, length 150, 2 classes [1: 2, 2: 3]"
    assert lines[1].startswith(f"normalisation: mean {data.mean:.6g}, std {data.std:.6g}")
    assert "unlabelled" in TimeSeriesDataset.from_arrays(_walks(rng)).summary()
    assert "GunPoint (train)" in repr(data)


def test_trailing_nan_is_padding_recorded_in_mask(rng):
    X = _walks(rng, n=3, length=12)
    X[1, 9:] = np.nan
    X[2, 8:] = np.nan
    data = TimeSeriesDataset.from_arrays(X)
    assert data.mask.tolist() == [[True] * 12, [True] * 9 + [False] * 3, [True] * 8 + [False] * 4]
    assert np.all(data.X[:, 0][~data.mask] == 0.0)  # padding is zero in normalised units
    observed = X[~np.isnan(X)]
    assert data.mean == pytest.approx(observed.mean()) and data.std == pytest.approx(observed.std())
    assert "2 of 3 series shorter than 12 (shortest 8)" in data.summary()


def test_columns_that_are_padding_everywhere_are_dropped(rng):
    X = np.concatenate([_walks(rng, n=3, length=10), np.full((3, 4), np.nan)], axis=1)
    data = TimeSeriesDataset.from_arrays(X)
    assert data.length == 10 and data.mask is None


def test_subset_keeps_classes_and_stats(rng):
    X = _walks(rng)
    X[0, 20:] = np.nan
    data = TimeSeriesDataset.from_arrays(X, ["a", "b", "a", "b", "c", "c"])
    part = data.subset([1, 4])
    assert part.n_series == 2 and part.classes == ["a", "b", "c"] and part.stats == data.stats
    assert part.y.tolist() == [1, 2] and part.mask is None  # no remaining series is padded
    assert data.subset(np.arange(6) < 2).mask.shape == (2, 32)


def test_constructor_checks_shapes():
    X = np.zeros((3, 1, 8), dtype=np.float32)
    with pytest.raises(DataError, match=r"encoded labels must lie in 0..1"):
        TimeSeriesDataset(X, np.array([0, 1, 2]), ["a", "b"], "toy", None, 0.0, 1.0)
    with pytest.raises(DataError, match=r"mask must have shape \(3, 8\)"):
        TimeSeriesDataset(X, None, [], "toy", np.ones((3, 7), bool), 0.0, 1.0)
    with pytest.raises(DataError, match=r"n_series, n_channels, length"):
        TimeSeriesDataset(X[0], None, [], "toy", None, 0.0, 1.0)


# ---------------------------------------------------------------------- bad arrays


def test_nan_inside_a_series_names_its_index(rng):
    X = _walks(rng, n=4, length=16)
    X[2, 5] = np.nan
    with pytest.raises(DataError, match=r"mydata: X\[2, 5\] .*missing value .* inside a series"):
        TimeSeriesDataset.from_arrays(X, name="mydata")


def test_infinite_value_names_its_index(rng):
    X = _walks(rng, n=4, length=16, channels=2)
    X[3, 1, 7] = -np.inf
    with pytest.raises(DataError, match=r"X\[3, 1, 7\] .*infinite value"):
        TimeSeriesDataset.from_arrays(X)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.ones((1, 32)), r"found 1 series; at least 2"),
        (np.arange(2 * 7.0).reshape(2, 7), r"at most 7 time steps; at least 8"),
        (np.stack([np.arange(10.0), np.full(10, np.nan)]), r"X\[1, 0\] .*no observed values"),
        (np.ones((3, 10)), r"every observed value equals 1"),
        (np.array([["a"] * 9, ["b"] * 9]), r"must hold real numbers"),
        (np.ones((2, 2, 2, 8)), r"got shape \(2, 2, 2, 8\)"),
    ],
)
def test_bad_arrays_are_data_errors(X, message):
    with pytest.raises(DataError, match=message):
        TimeSeriesDataset.from_arrays(X)


def test_bad_labels_and_stats(rng):
    X = _walks(rng, n=3)
    with pytest.raises(DataError, match=r"X has 3 series but y has 2 labels"):
        TimeSeriesDataset.from_arrays(X, [1, 2])
    with pytest.raises(DataError, match=r"y\[1\]: missing class label"):
        TimeSeriesDataset.from_arrays(X, [1.0, np.nan, 2.0])
    with pytest.raises(DataError, match=r"std > 0"):
        TimeSeriesDataset.from_arrays(X, stats=(0.0, 0.0))
    with pytest.raises(DataError, match=r"pair \(mean, std\)"):
        TimeSeriesDataset.from_arrays(X, stats=1.0)
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (1, "1"),
        (1.0, "1"),
        ("1.0000000e+00", "1.0000000e+00"),  # text keeps its spelling (UCR files: label_as_number)
        ("01", "01"),
        (np.float32(0.1), "0.1"),
        (np.int64(-1), "-1"),
        (0.5, "0.5"),
        (" cat ", "cat"),
        (b"dog", "dog"),
        (True, "True"),
        (None, None),
        (np.nan, None),
        ("", None),
        ("NaN", None),
    ],
)
def test_canonical_label_names(raw, name):
    assert canonical_label(raw) == name
