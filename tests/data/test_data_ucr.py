"""UCR 2018 folders (<root>/<Name>/<Name>_TRAIN.tsv): by ucr_root, by env var, by path; splits; errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from timevqvdm.data import DataError, DataFileNotFoundError, load_dataset


def test_load_by_name_from_ucr_root_argument(ucr_root):
    train = load_dataset("Toy", ucr_root=ucr_root)
    assert train.X.shape == (5, 1, 16) and train.name == "Toy" and train.split == "train"
    assert train.classes == ["1", "2"] and train.y.tolist() == [0, 1, 0, 1, 1]  # 1.0000000e+00 prints as "1"
    assert train.X.mean() == pytest.approx(0.0, abs=1e-6) and train.X.std() == pytest.approx(1.0, abs=1e-5)
    raw = np.loadtxt(ucr_root / "Toy" / "Toy_TRAIN.tsv", delimiter="\t")[:, 1:]
    np.testing.assert_allclose(train.to_original_units(train.X[:, 0]), raw, rtol=1e-5, atol=1e-5)


def test_load_by_name_from_environment_variable(ucr_root, monkeypatch):
    monkeypatch.setenv("TIMEVQVDM_UCR_ROOT", str(ucr_root))
    assert load_dataset("Toy").n_series == 5


def test_load_by_folder_path(ucr_root):
    assert load_dataset(ucr_root / "Toy", split="test").n_series == 3
    assert load_dataset(str(ucr_root / "Toy")).n_series == 5


def test_ucr_root_comes_before_aeon(ucr_root, write_ucr, rng):
    series = [rng.standard_normal(9) for _ in range(3)]
    write_ucr(ucr_root / "GunPoint" / "GunPoint_TRAIN.tsv", [1, 2, 1], series)
    assert load_dataset("GunPoint", ucr_root=ucr_root).X.shape == (3, 1, 9)


def test_test_split_uses_training_stats_and_classes(ucr_root):
    train = load_dataset("Toy", ucr_root=ucr_root)
    test = load_dataset("Toy", split="test", ucr_root=ucr_root)
    assert test.stats == train.stats and test.classes == train.classes
    assert test.y.tolist() == [1, 0, 0]
    raw = np.loadtxt(ucr_root / "Toy" / "Toy_TEST.tsv", delimiter="\t")[:, 1:]
    np.testing.assert_allclose(test.X[:, 0], (raw - train.mean) / train.std, rtol=1e-5, atol=1e-5)


def test_given_stats_override_the_training_stats(ucr_root):
    test = load_dataset("Toy", split="test", ucr_root=ucr_root, stats=(1.0, 4.0))
    assert test.stats == (1.0, 4.0)


def test_nan_padded_variable_length(ucr_root):
    train = load_dataset("ToyVar", ucr_root=ucr_root)
    assert train.X.shape == (4, 1, 20)
    assert train.mask.sum(axis=1).tolist() == [20, 12, 10, 16]
    assert np.all(train.X[:, 0][~train.mask] == 0.0)
    observed = train.X[:, 0][train.mask]
    assert observed.mean() == pytest.approx(0.0, abs=1e-6) and observed.std() == pytest.approx(1.0, abs=1e-5)

    test = load_dataset("ToyVar", split="test", ucr_root=ucr_root)
    assert test.X.shape == (2, 1, 20) and test.mask.sum(axis=1).tolist() == [11, 14]


def test_test_class_unseen_in_training_is_an_error(ucr_root, write_ucr, rng):
    write_ucr(ucr_root / "Toy" / "Toy_TEST.tsv", [1, 3, 3], [rng.standard_normal(16) for _ in range(3)])
    with pytest.raises(
        DataError, match=r"Toy_TEST.tsv: line 2, column 1: class '3' does not occur in the training"
    ):
        load_dataset("Toy", split="test", ucr_root=ucr_root)


def test_gap_inside_a_series_names_file_line_column_and_the_gap_free_version(ucr_root, write_ucr, rng):
    values = [rng.standard_normal(16) for _ in range(3)]
    values[1][4] = np.nan
    write_ucr(ucr_root / "Gappy" / "Gappy_TRAIN.tsv", [1, 2, 1], values)
    with pytest.raises(DataError, match=r"Gappy_TRAIN.tsv: line 2, column 6: missing value") as caught:
        load_dataset("Gappy", ucr_root=ucr_root)
    assert "Missing_value_and_variable_length_datasets_adjusted" in str(caught.value)


def test_missing_files_and_folders(ucr_root, tmp_path):
    (ucr_root / "Toy" / "Toy_TEST.tsv").unlink()
    with pytest.raises(DataFileNotFoundError, match=r"expected the UCR file Toy_TEST.tsv"):
        load_dataset("Toy", split="test", ucr_root=ucr_root)
    with pytest.raises(DataFileNotFoundError, match=r"UCR root folder given as ucr_root does not exist"):
        load_dataset("Toy", ucr_root=tmp_path / "nowhere")
    with pytest.raises(DataFileNotFoundError, match=r"no such file or folder"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(
        DataError, match=r"label_column, delimiter and encoding apply to CSV/TSV/Parquet files only"
    ):
        load_dataset("Toy", ucr_root=ucr_root, label_column=0)


def test_ucr_root_also_holds_ts_pairs(tmp_path):
    # A dataset folder in the UCR root may hold aeon's .ts pair instead of the .tsv files (the GPU kit lays
    # out aeon's bundled datasets this way); a name aeon does not know proves it came from the root.
    import aeon.datasets

    bundled = Path(aeon.datasets.__file__).parent / "data" / "GunPoint"
    folder = tmp_path / "UCRArchive_2018" / "TsToy"
    folder.mkdir(parents=True)
    for split in ("TRAIN", "TEST"):
        shutil.copy(bundled / f"GunPoint_{split}.ts", folder / f"TsToy_{split}.ts")
    train = load_dataset("TsToy", ucr_root=folder.parent)
    test = load_dataset("TsToy", "test", ucr_root=folder.parent)
    assert train.X.shape == (50, 1, 150) and test.X.shape == (150, 1, 150)
