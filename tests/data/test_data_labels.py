"""Labels: the label column, the UCR .tsv convention, class names as spelled, names with markup."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from timevqvdm.data import MIN_LENGTH, DataError, TimeSeriesDataset, load_dataset


def _walks(rng, n=6, length=12):
    return np.round(5.0 + rng.standard_normal((n, length)), 4)


def _write_rows(path, labels, values, sep=","):
    lines = [sep.join([str(label), *map(str, row)]) for label, row in zip(labels, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------- the UCR .tsv convention


@pytest.mark.parametrize("split", ["TRAIN", "TEST"])
def test_ucr_file_has_its_label_in_the_first_column(tmp_path, rng, write_ucr, split):
    values = [rng.standard_normal(16) for _ in range(4)]
    path = tmp_path / f"Plane_{split}.tsv"
    write_ucr(path, [1.0, 2.0, 2.0, 1.0], values)  # labels written as 1.0000000e+00, like the archive
    data = load_dataset(path)
    assert data.length == 16 and data.classes == ["1", "2"] and data.y.tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(data.to_original_units(data.X[:, 0]), np.stack(values), atol=1e-5)


def test_ucr_file_and_ucr_folder_give_the_same_data(ucr_root):
    from_folder = load_dataset("Toy", ucr_root=ucr_root)
    from_file = load_dataset(ucr_root / "Toy" / "Toy_TRAIN.tsv")
    np.testing.assert_array_equal(from_file.X, from_folder.X)
    assert from_file.classes == from_folder.classes and from_file.y.tolist() == from_folder.y.tolist()


def test_ucr_integer_labels_keep_their_names(tmp_path, rng):
    path = _write_rows(tmp_path / "Signs_TRAIN.tsv", ["-1", "1", "2", "1", "-1", "2"], _walks(rng), sep="\t")
    data = load_dataset(path)
    assert data.classes == ["-1", "1", "2"] and data.y.tolist() == [0, 1, 2, 1, 0, 2]


def test_a_label_plus_seven_steps_is_too_short(tmp_path, rng, write_ucr):
    path = tmp_path / "Tiny_TRAIN.tsv"
    write_ucr(path, [1, 2, 1], [rng.standard_normal(MIN_LENGTH - 1) for _ in range(3)])
    with pytest.raises(DataError, match=r"Tiny_TRAIN.tsv: series have at most 7 time steps; at least 8"):
        load_dataset(path)
    csv = _write_rows(tmp_path / "tiny.csv", [1, 2, 1], rng.standard_normal((3, MIN_LENGTH - 1)))
    with pytest.raises(DataError, match=r"tiny.csv: series have at most 7 time steps; at least 8"):
        load_dataset(csv, label_column=0)


def test_other_tsv_files_and_an_explicit_label_column_use_the_general_rules(tmp_path, rng):
    values = _walks(rng)
    plain = _write_rows(tmp_path / "plain.tsv", [1, 2, 1, 2, 1, 2], values, sep="\t")
    assert load_dataset(plain).length == 13 and load_dataset(plain).y is None  # no convention, no labels
    last = tmp_path / "Last_TRAIN.tsv"
    last.write_text(
        "\n".join("\t".join([*map(str, row), label]) for row, label in zip(values, "abcabc", strict=True))
    )
    assert load_dataset(last, label_column=-1).classes == ["a", "b", "c"]


# ---------------------------------------------------------------------- class names as spelled


def test_numeric_text_labels_keep_their_spelling(tmp_path, rng):
    labels = ["01", "1.0", "1", "1", "01", "1.0"]
    data = load_dataset(_write_rows(tmp_path / "spelled.csv", labels, _walks(rng)), label_column=0)
    assert data.classes == ["01", "1", "1.0"] and data.class_counts().tolist() == [2, 2, 2]
    from_array = TimeSeriesDataset.from_arrays(_walks(rng), np.array(labels))
    assert from_array.classes == ["01", "1", "1.0"]


def test_numeric_label_columns_are_named_by_value(tmp_path, rng):
    table = pd.DataFrame(_walks(rng), columns=[f"t{j}" for j in range(12)])
    table["label"] = [1.0, 2.0, 1.0, 2.0, 1.0, 2.5]
    table.to_parquet(tmp_path / "numbers.parquet")
    assert load_dataset(tmp_path / "numbers.parquet", label_column="label").classes == ["1", "2", "2.5"]
    np.savez(tmp_path / "numbers.npz", X=_walks(rng), y=np.array([1, 2, 1, 2, 1, 2], dtype=np.int8))
    assert load_dataset(tmp_path / "numbers.npz").classes == ["1", "2"]


def test_gunpoint_class_names_are_unchanged():
    assert load_dataset("GunPoint").classes == ["1", "2"]


# ---------------------------------------------------------------------- names with markup


@pytest.mark.parametrize("names", [["/a", "b"], ["[badminton: 10 …]", "[bold]x[/bold]"], ["a, b: 3", "c\\d"]])
def test_class_names_survive_into_the_summary(tmp_path, rng, names):
    labels = [names[i % 2] for i in range(6)]
    table = pd.DataFrame(_walks(rng), columns=[f"t{j}" for j in range(12)])
    table.insert(0, "label", labels)
    table.to_parquet(tmp_path / "names.parquet")
    data = load_dataset(tmp_path / "names.parquet", label_column="label")
    assert data.classes == sorted(names)
    assert f"2 classes [{sorted(names)[0]}: 3, {sorted(names)[1]}: 3]" in data.summary()
