"""The user's own files: CSV/TSV, NumPy, Parquet; and every bad input with the place it names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from timevqvdm.data import DataError, DataFileNotFoundError, load_dataset


def _rows(rng, n=4, length=10):
    return np.round(1.0 + rng.standard_normal((n, length)), 4)


def _write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _csv_lines(values, labels=None, sep=",", header=None):
    lines = [] if header is None else [sep.join(header)]
    for i, row in enumerate(values):
        cells = [str(v) for v in row]
        lines.append(sep.join(cells if labels is None else [str(labels[i]), *cells]))
    return lines


# ---------------------------------------------------------------------- good files


def test_csv_with_header_and_label_column_by_name(tmp_path, rng):
    values = _rows(rng)
    header = ["label", *(f"t{j}" for j in range(10))]
    path = _write_csv(tmp_path / "mine.csv", _csv_lines(values, ["cat", "dog", "dog", "cat"], header=header))
    data = load_dataset(path, label_column="label")
    assert data.name == "mine" and data.X.shape == (4, 1, 10)
    assert data.classes == ["cat", "dog"] and data.y.tolist() == [0, 1, 1, 0]
    np.testing.assert_allclose(data.to_original_units(data.X[:, 0]), values, rtol=1e-5, atol=1e-5)


def test_csv_label_column_by_index_from_the_end_without_header(tmp_path, rng):
    values = _rows(rng)
    lines = [
        f"{','.join(map(str, row))},{label}" for row, label in zip(values, [1.0, 2.0, 2.0, 2.0], strict=True)
    ]
    data = load_dataset(_write_csv(tmp_path / "end.csv", lines), label_column=-1)
    # Text labels keep the file's spelling: "1.0" is the class "1.0" (see tests/data/test_data_labels.py).
    assert data.classes == ["1.0", "2.0"] and data.class_counts().tolist() == [1, 3] and data.length == 10


def test_csv_without_labels_and_header_detection(tmp_path, rng):
    values = _rows(rng)
    plain = load_dataset(_write_csv(tmp_path / "plain.csv", _csv_lines(values)))
    assert plain.y is None and plain.classes == [] and plain.X.shape == (4, 1, 10)
    named = _csv_lines(values, header=[f"t{j}" for j in range(10)])
    assert load_dataset(_write_csv(tmp_path / "named.csv", named)).n_series == 4  # header row skipped


@pytest.mark.parametrize(
    ("suffix", "sep", "delimiter"), [(".tsv", "\t", None), (".csv", ";", None), (".txt", "|", "|")]
)
def test_other_delimiters(tmp_path, rng, suffix, sep, delimiter):
    path = _write_csv(tmp_path / f"data{suffix}", _csv_lines(_rows(rng), [0, 1, 0, 1], sep=sep))
    data = load_dataset(path, label_column=0, delimiter=delimiter)
    assert data.X.shape == (4, 1, 10) and data.classes == ["0", "1"]


def test_delimiter_guess_ignores_separators_inside_quotes(tmp_path, rng):
    values = _rows(rng)
    labels = ['"a,b,c,d,e,f,g,h,i,j,k"', '"l,m"', '"a,b,c,d,e,f,g,h,i,j,k"', '"l,m"']
    data = load_dataset(
        _write_csv(tmp_path / "quoted.csv", _csv_lines(values, labels, sep=";")), label_column=0
    )
    assert data.classes == ["a,b,c,d,e,f,g,h,i,j,k", "l,m"] and data.length == 10


def test_csv_trailing_empty_cells_mark_shorter_series(tmp_path, rng):
    values = _rows(rng).astype(object)
    values[1, 7:] = ""
    data = load_dataset(_write_csv(tmp_path / "var.csv", _csv_lines(values, [1, 2, 1, 2])), label_column=0)
    assert data.mask.sum(axis=1).tolist() == [10, 7, 10, 10]


def test_numpy_files(tmp_path, rng):
    X = rng.standard_normal((5, 2, 12))
    np.save(tmp_path / "x.npy", X)
    assert load_dataset(tmp_path / "x.npy").X.shape == (5, 2, 12)
    np.savez(tmp_path / "xy.npz", X=X[:, 0], y=np.array(["a", "b", "a", "b", "b"]))
    data = load_dataset(tmp_path / "xy.npz")
    assert data.X.shape == (5, 1, 12) and data.classes == ["a", "b"]
    np.savez(tmp_path / "x_only.npz", X=X)
    assert load_dataset(tmp_path / "x_only.npz").y is None


def test_npz_with_class_names_and_codes_as_written_by_sample(tmp_path, rng):
    X = rng.standard_normal((4, 12))
    np.savez(tmp_path / "samples.npz", X=X, y=np.array([1, 1, 1, 1]), classes=np.array(["1", "2"]))
    data = load_dataset(tmp_path / "samples.npz")  # code 1 is the class "2", even when it is the only one
    assert data.classes == ["2"] and data.y.tolist() == [0, 0, 0, 0]
    np.savez(tmp_path / "bad.npz", X=X, y=np.array([0, 2, 1, 0]), classes=np.array(["a", "b"]))
    with pytest.raises(
        DataError, match=r"bad.npz: with an array 'classes' \(2 names\), 'y' must hold integer"
    ):
        load_dataset(tmp_path / "bad.npz")


def test_parquet_wide_table(tmp_path, rng):
    values = _rows(rng)
    values[2, 8:] = np.nan  # a shorter series
    table = pd.DataFrame(values, columns=[f"t{j}" for j in range(10)])
    table.insert(0, "species", ["a", "b", "a", "b"])
    table.to_parquet(tmp_path / "wide.parquet")
    by_name = load_dataset(tmp_path / "wide.parquet", label_column="species")
    assert by_name.X.shape == (4, 1, 10) and by_name.classes == ["a", "b"]
    assert by_name.mask.sum(axis=1).tolist() == [10, 10, 8, 10]
    assert load_dataset(tmp_path / "wide.parquet", label_column=0).y.tolist() == [0, 1, 0, 1]


def test_held_out_file_with_training_stats_and_classes(tmp_path, rng):
    train = load_dataset(
        _write_csv(tmp_path / "train.csv", _csv_lines(_rows(rng), ["a", "b", "a", "b"])), label_column=0
    )
    held_out = _write_csv(tmp_path / "held.csv", _csv_lines(_rows(rng, n=2), ["b", "b"]))
    test = load_dataset(held_out, label_column=0, stats=train.stats, classes=train.classes)
    assert test.stats == train.stats and test.y.tolist() == [1, 1]
    with pytest.raises(DataError, match=r"held.csv: line 1, column 1: class 'c' does not occur"):
        load_dataset(
            _write_csv(held_out, _csv_lines(_rows(rng, n=2), ["c", "b"])), label_column=0, classes=["a", "b"]
        )


# ---------------------------------------------------------------------- bad files


def test_nan_inside_a_csv_series_names_line_and_column(tmp_path, rng):
    values = _rows(rng).astype(object)
    values[2, 3] = "nan"
    path = _write_csv(
        tmp_path / "gap.csv", _csv_lines(values, [1, 2, 1, 2], header=["y", *map(str, range(10))])
    )
    with pytest.raises(
        DataError, match=r"gap.csv: line 4, column 5 \('3'\): missing value .* inside a series"
    ):
        load_dataset(path, label_column="y")


def test_infinite_value_names_line_and_column(tmp_path, rng):
    values = _rows(rng).astype(object)
    values[0, 9] = "inf"
    with pytest.raises(DataError, match=r"inf.csv: line 1, column 10: infinite value"):
        load_dataset(_write_csv(tmp_path / "inf.csv", _csv_lines(values)))


def test_non_numeric_cell_names_line_and_column(tmp_path, rng):
    values = _rows(rng).astype(object)
    values[2, 4] = "1,5".replace(",", ".") + "x"
    path = _write_csv(tmp_path / "text.csv", _csv_lines(values, [1, 2, 1, 2]))
    with pytest.raises(DataError, match=r"text.csv: line 3, column 6: '1.5x' is not a number"):
        load_dataset(path, label_column=0)


def test_text_labels_without_label_column_get_a_hint(tmp_path, rng):
    path = _write_csv(tmp_path / "labels.csv", _csv_lines(_rows(rng), ["cat", "dog", "cat", "dog"]))
    with pytest.raises(
        DataError,
        match=r"labels.csv: line 2, column 1 \('cat'\): 'dog' is not a number.* label_column=.*line 1 was taken as a header",
    ):
        load_dataset(path)


def test_ragged_rows(tmp_path, rng):
    lines = _csv_lines(_rows(rng))
    lines[2] = lines[2].rsplit(",", 1)[0]  # one value fewer on line 3
    with pytest.raises(DataError, match=r"ragged.csv: line 3 has 9 fields but line 1 has 10"):
        load_dataset(_write_csv(tmp_path / "ragged.csv", lines))


def test_too_few_series_and_too_short_series(tmp_path, rng):
    with pytest.raises(DataError, match=r"one.csv: found 1 series; at least 2"):
        load_dataset(_write_csv(tmp_path / "one.csv", _csv_lines(_rows(rng, n=1))))
    with pytest.raises(DataError, match=r"short.csv: series have at most 5 time steps; at least 8"):
        load_dataset(_write_csv(tmp_path / "short.csv", _csv_lines(_rows(rng, length=5))))
    with pytest.raises(DataError, match=r"empty.csv: the file is empty"):
        load_dataset(_write_csv(tmp_path / "empty.csv", []))


def test_missing_label_cell(tmp_path, rng):
    path = _write_csv(tmp_path / "nolabel.csv", _csv_lines(_rows(rng), [1, "", 2, 1]))
    with pytest.raises(DataError, match=r"nolabel.csv: line 2, column 1: missing class label"):
        load_dataset(path, label_column=0)


def test_bad_label_column(tmp_path, rng):
    path = _write_csv(tmp_path / "h.csv", _csv_lines(_rows(rng), header=[f"t{j}" for j in range(10)]))
    with pytest.raises(DataError, match=r"h.csv: no column named 'label' for labels; columns: t0, t1"):
        load_dataset(path, label_column="label")
    with pytest.raises(DataError, match=r"label_column=12 is out of range for 10 columns"):
        load_dataset(path, label_column=12)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(DataFileNotFoundError, match=r"nope.csv: no such file or folder") as caught:
        load_dataset(tmp_path / "nope.csv")
    assert isinstance(caught.value, FileNotFoundError)
    with pytest.raises(DataFileNotFoundError, match=r"no such file or folder"):
        load_dataset("data/nope.csv")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"sheet.xlsx: unsupported file type '.xlsx'"):
        load_dataset(tmp_path / "sheet.xlsx")


def test_a_single_file_has_no_test_split(tmp_path, rng):
    path = _write_csv(tmp_path / "one_split.csv", _csv_lines(_rows(rng)))
    with pytest.raises(DataError, match=r"a single file has no test split.*stats=train.stats"):
        load_dataset(path, split="test")


def test_bad_numpy_files(tmp_path, rng):
    np.savez(tmp_path / "wrong_key.npz", data=rng.standard_normal((3, 10)))
    with pytest.raises(DataError, match=r"wrong_key.npz: an .npz file needs an array named 'X'.*\['data'\]"):
        load_dataset(tmp_path / "wrong_key.npz")
    np.save(tmp_path / "objects.npy", np.array([np.zeros(9), np.zeros(10)], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"objects.npy: cannot read as a NumPy file.*pickles are refused"):
        load_dataset(tmp_path / "objects.npy")
    X = rng.standard_normal((3, 10))
    X[1, 2] = np.nan
    np.save(tmp_path / "gap.npy", X)
    with pytest.raises(
        DataError, match=r"gap.npy: X\[1, 2\] \(series 1, time step 2, 0-based\): missing value"
    ):
        load_dataset(tmp_path / "gap.npy")
    with pytest.raises(DataError, match=r"gap.npy: label_column applies to CSV/TSV/Parquet files only"):
        load_dataset(tmp_path / "gap.npy", label_column=0)
    with pytest.raises(DataError, match=r"gap.npy: delimiter and encoding apply to CSV/TSV files only"):
        load_dataset(tmp_path / "gap.npy", encoding="latin-1")


def test_bad_parquet_cell_names_row_and_column(tmp_path, rng):
    table = pd.DataFrame(_rows(rng), columns=[f"t{j}" for j in range(10)])
    table["t6"] = table["t6"].astype(str)  # a text column, as from a spreadsheet export
    table.loc[2, "t6"] = "oops"
    table.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(
        DataError, match=r"bad.parquet: row 3 \(1-based\), column 't6': 'oops' is not a number"
    ):
        load_dataset(tmp_path / "bad.parquet")
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"fake.parquet: cannot read as Parquet"):
        load_dataset(tmp_path / "fake.parquet")


def test_parquet_missing_label_names_row_and_column(tmp_path, rng):
    table = pd.DataFrame(_rows(rng), columns=[f"t{j}" for j in range(10)])
    table["kind"] = ["a", None, "b", "a"]
    table.to_parquet(tmp_path / "labels.parquet")
    with pytest.raises(
        DataError, match=r"labels.parquet: row 2 \(1-based\), column 'kind': missing class label"
    ):
        load_dataset(tmp_path / "labels.parquet", label_column="kind")


# ---------------------------------------------------------------------- encodings


def test_latin1_file_is_a_data_error_naming_the_line_and_loads_with_its_encoding(tmp_path, rng):
    lines = _csv_lines(_rows(rng), ["café", "thé", "café", "thé"], header=["boisson", *map(str, range(10))])
    path = tmp_path / "latin.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.csv: line 2: byte 0xe9 is not valid UTF-8 text.*encoding="):
        load_dataset(path, label_column="boisson")
    data = load_dataset(path, label_column="boisson", encoding="latin-1")
    assert data.classes == ["café", "thé"] and data.X.shape == (4, 1, 10)


def test_utf8_with_byte_order_mark_loads(tmp_path, rng):
    lines = _csv_lines(_rows(rng), ["a", "b", "a", "b"], header=["label", *map(str, range(10))])
    path = tmp_path / "bom.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))
    assert load_dataset(path, label_column="label").classes == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"binary.csv: line 1: byte 0x89 is not valid UTF-8"),
        (b"1,2,3\n4,5,\x006\n", r"binary.csv: line 2: NUL character, so this is not CSV/TSV text"),
        ("1,2\n3,4\n".encode("utf-16-le"), r"binary.csv: line 1: NUL character"),
    ],
    ids=["png", "nul", "utf-16"],
)
def test_binary_file_is_a_data_error_naming_the_file(tmp_path, content, message):
    (tmp_path / "binary.csv").write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_dataset(tmp_path / "binary.csv")


def test_unknown_encoding_and_encoding_for_a_dataset_name(tmp_path, rng, ucr_root):
    path = _write_csv(tmp_path / "plain.csv", _csv_lines(_rows(rng)))
    with pytest.raises(DataError, match=r"plain.csv: unknown encoding 'klingon'"):
        load_dataset(path, encoding="klingon")
    with pytest.raises(DataError, match=r"Toy: label_column, delimiter and encoding apply to"):
        load_dataset("Toy", ucr_root=ucr_root, encoding="latin-1")


# ---------------------------------------------------------------------- column types


def _table_with(rng, column, name="extra"):
    table = pd.DataFrame(_rows(rng), columns=[f"t{j}" for j in range(10)])
    table.insert(3, name, column)
    return table


@pytest.mark.parametrize(
    ("column", "dtype"),
    [
        (pd.date_range("2024-01-01", periods=4), r"datetime64\[\w+\]"),
        ([True, False, True, True], "bool"),
        (pd.array([True, None, False, True], dtype="boolean"), "boolean"),
        (pd.Categorical(["a", "b", "a", "b"]), "category"),
        (pd.to_timedelta([1, 2, 3, 4], unit="s"), r"timedelta64\[\w+\]"),
    ],
    ids=["datetime", "bool", "nullable-bool", "category", "timedelta"],
)
def test_parquet_column_of_another_type_is_refused_by_name(tmp_path, rng, column, dtype):
    _table_with(rng, column).to_parquet(tmp_path / "typed.parquet")
    with pytest.raises(
        DataError, match=rf"typed.parquet: column 'extra' has type {dtype} \(row 1: .*\), not numbers"
    ):
        load_dataset(tmp_path / "typed.parquet")


def test_parquet_bool_or_datetime_label_column_is_allowed(tmp_path, rng):
    _table_with(rng, [True, False, True, True], name="flag").to_parquet(tmp_path / "flag.parquet")
    data = load_dataset(tmp_path / "flag.parquet", label_column="flag")
    assert (
        data.X.shape == (4, 1, 10) and data.classes == ["False", "True"] and data.y.tolist() == [1, 0, 1, 1]
    )
    when = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-02"])
    _table_with(rng, when, name="day").to_parquet(tmp_path / "day.parquet")
    data = load_dataset(tmp_path / "day.parquet", label_column="day")
    assert data.length == 10 and data.n_classes == 2 and data.classes[0].startswith("2024-01-01")


def test_parquet_text_and_decimal_columns_are_read_as_numbers(tmp_path, rng):
    from decimal import Decimal

    values = _rows(rng)
    table = pd.DataFrame(values, columns=[f"t{j}" for j in range(10)])
    table["t2"] = [str(v) for v in values[:, 2]]  # a text column of numbers, as from a spreadsheet
    table["t5"] = [Decimal(str(v)) for v in values[:, 5]]
    table.to_parquet(tmp_path / "text.parquet")
    data = load_dataset(tmp_path / "text.parquet")
    np.testing.assert_allclose(data.to_original_units(data.X[:, 0]), values, rtol=1e-5, atol=1e-5)
    table["t5"] = [b"x", b"y", b"z", b"w"]
    table.to_parquet(tmp_path / "bytes.parquet")
    with pytest.raises(DataError, match=r"bytes.parquet: column 't5' has type bytes \(row 1: 'b'x''\)"):
        load_dataset(tmp_path / "bytes.parquet")


@pytest.mark.parametrize(
    "column",
    [["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], ["True", "False", "True", "True"]],
    ids=["date", "bool"],
)
def test_csv_text_column_is_refused_as_a_column(tmp_path, rng, column):
    header = ["when", *(f"t{j}" for j in range(10))]
    path = _write_csv(tmp_path / "typed.csv", _csv_lines(_rows(rng), column, header=header))
    with pytest.raises(
        DataError,
        match=rf"typed.csv: line 2, column 1 \('when'\): '{column[0]}' is not a number, and neither is any "
        r"other cell of this column. Remove the column. If this column holds class labels, pass label_column",
    ):
        load_dataset(path)
    assert load_dataset(path, label_column="when").n_classes == len(set(column))


def test_numpy_bool_array_is_refused(tmp_path):
    np.save(tmp_path / "flags.npy", np.eye(10, dtype=bool)[:3])
    with pytest.raises(DataError, match=r"flags.npy: X must hold real numbers; got dtype bool"):
        load_dataset(tmp_path / "flags.npy")
