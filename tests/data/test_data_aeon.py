"""Datasets by name: aeon's shipped data, aeon's cache, list_datasets, offline and unknown names."""

from __future__ import annotations

import time

import aeon.datasets  # noqa: F401  (imported at collection so its start-up time is not billed to one test)
import numpy as np
import pytest

from timevqvdm.data import DataError, DataFileNotFoundError, list_datasets, load_dataset, sources

SHIPPED_UNIVARIATE = [
    # name, train series, test series, length, classes
    ("GunPoint", 50, 150, 150, 2),
    ("ArrowHead", 36, 175, 251, 3),
    ("ItalyPowerDemand", 67, 1029, 24, 2),
    ("OSULeaf", 200, 242, 427, 6),
    ("ACSF1", 100, 100, 1460, 10),
]


def _observed(data):
    """Normalised values that are not padding, flattened."""
    if data.mask is None:
        return data.X.ravel()
    return data.X[np.broadcast_to(data.mask[:, None, :], data.X.shape)]


@pytest.mark.parametrize(("name", "n_train", "n_test", "length", "n_classes"), SHIPPED_UNIVARIATE)
def test_shipped_univariate_datasets(name, n_train, n_test, length, n_classes):
    train = load_dataset(name)
    assert train.X.shape == (n_train, 1, length) and train.mask is None
    assert train.n_classes == n_classes and train.class_counts().sum() == n_train
    assert train.X.mean() == pytest.approx(0.0, abs=1e-4) and train.X.std() == pytest.approx(1.0, abs=1e-4)

    test = load_dataset(name, split="test")
    assert test.X.shape == (n_test, 1, length)
    assert test.stats == train.stats and test.classes == train.classes and test.split == "test"


def test_gunpoint_summary():
    first = load_dataset("GunPoint").summary().splitlines()[0]
    assert first == "GunPoint (train): 50 series, 1 channel, length 150, 2 classes [1: 24, 2: 26]"


def test_variable_length_dataset_gets_a_mask():
    train = load_dataset("PickupGestureWiimoteZ")
    lengths = train.mask.sum(axis=1)
    assert train.X.shape == (50, 1, 361) and lengths.max() == 361 and lengths.min() == 29
    assert np.all(train.X[:, 0][~train.mask] == 0.0)
    observed = _observed(train)
    assert observed.mean() == pytest.approx(0.0, abs=1e-4) and observed.std() == pytest.approx(1.0, abs=1e-4)

    test = load_dataset("PickupGestureWiimoteZ", split="test")
    assert test.length == train.length and test.mask.shape == (50, 361)  # padded to the training length
    assert test.stats == train.stats


def test_multivariate_dataset_keeps_channels():
    train = load_dataset("BasicMotions")
    assert train.X.shape == (40, 6, 100) and train.mask is None
    assert train.classes == ["badminton", "running", "standing", "walking"]
    assert train.X.mean() == pytest.approx(0.0, abs=1e-4) and train.X.std() == pytest.approx(1.0, abs=1e-4)


def test_list_datasets_reports_shipped_cached_and_ucr_root(ucr_root):
    found = list_datasets(ucr_root=ucr_root)
    assert found["generated"] == ["Sines"]
    assert {name for name, *_ in SHIPPED_UNIVARIATE} | {"PickupGestureWiimoteZ", "BasicMotions"} <= set(
        found["shipped"]
    )
    assert "Covid3Month" not in found["shipped"]  # a regression problem aeon also ships
    assert found["cached"] == []  # conftest points AEON_DATA at an empty folder
    assert found["ucr_root"] == ["Toy", "ToyVar"]
    assert list_datasets()["ucr_root"] == []  # TIMEVQVDM_UCR_ROOT points nowhere in tests


def _write_ts(path, labels, rows):
    header = [
        "@problemName Cached",
        "@timeStamps false",
        "@missing false",
        "@univariate true",
        "@equalLength true",
        f"@seriesLength {len(rows[0])}",
        f"@classLabel true {' '.join(sorted(set(labels)))}",
        "@data",
    ]
    body = [",".join(f"{v:.4f}" for v in row) + f":{label}" for label, row in zip(labels, rows, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header + body) + "\n")


def test_datasets_in_aeons_cache_load_offline(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("AEON_DATA", str(tmp_path))
    _write_ts(tmp_path / "Cached" / "Cached_TRAIN.ts", ["x", "y", "x"], rng.standard_normal((3, 12)))
    _write_ts(tmp_path / "Cached" / "Cached_TEST.ts", ["y", "y"], rng.standard_normal((2, 12)))
    assert list_datasets()["cached"] == ["Cached"]
    test = load_dataset("Cached", split="test")
    assert test.X.shape == (2, 1, 12) and test.classes == ["x", "y"] and test.y.tolist() == [1, 1]


def test_downloadable_name_fails_fast_when_offline(monkeypatch):
    monkeypatch.setenv("TIMEVQVDM_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(DataFileNotFoundError) as caught:
        load_dataset("Wafer")
    assert time.perf_counter() - start < 1.0
    message = str(caught.value)
    assert "'Wafer' is not available offline" in message
    assert "TIMEVQVDM_UCR_ROOT" in message and "UCRArchive_2018" in message and "ucr_root" in message


def test_unreachable_network_is_reported_without_calling_aeon(monkeypatch):
    monkeypatch.delenv("TIMEVQVDM_OFFLINE", raising=False)
    monkeypatch.setattr(sources, "_zenodo_reachable", lambda: False)
    monkeypatch.setattr("aeon.datasets.load_classification", _must_not_be_called)
    with pytest.raises(DataFileNotFoundError, match=r"'Wafer' is not available offline \(zenodo.org cannot"):
        load_dataset("Wafer", split="test")


def test_failed_download_becomes_a_data_error(monkeypatch):
    monkeypatch.delenv("TIMEVQVDM_OFFLINE", raising=False)
    monkeypatch.setattr(sources, "_zenodo_reachable", lambda: True)
    monkeypatch.setattr("aeon.datasets.load_classification", _must_not_be_called)
    with pytest.raises(DataError, match=r"not available offline \(AssertionError: no download in tests"):
        load_dataset("Wafer")


def _must_not_be_called(*args, **kwargs):
    raise AssertionError("no download in tests")


def test_unknown_name_suggests_close_names():
    with pytest.raises(
        DataFileNotFoundError, match=r"'GunPiont' is neither .* Did you mean: GunPoint"
    ) as caught:
        load_dataset("GunPiont")
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, ValueError)
    with pytest.raises(DataError, match=r"Did you mean: GunPoint"):
        load_dataset("gunpoint")
    with pytest.raises(DataError, match=r"split must be 'train' or 'test'; got 'valid'"):
        load_dataset("GunPoint", split="valid")
