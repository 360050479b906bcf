"""Property-based contract of the readers: every input loads to exactly the values it holds, or is refused.

"Exactly" means in original units, through the dataset's own API (``to_original_units`` of the stored
float32 values, computed in float64), up to float32's rounding of the normalised value; "refused" means a
:class:`DataError`, never another exception. Inputs that must be refused (infinite or float32-overflowing
values, text in a value column, gaps inside a series, missing labels) are checked to be refused, and data
that loads keeps ``MIN_DIGITS`` significant digits of its typical values.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from timevqvdm.data import DataError, load_dataset
from timevqvdm.data.raw import MIN_DIGITS, is_missing_text

# No example database: a test run leaves no .hypothesis folder behind in the checkout.
SETTINGS = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
EPS64 = float(np.finfo(np.float64).eps)
FLOAT32_MAX = float(np.finfo(np.float32).max)

# Numbers a user's file may hold: ordinary, tiny, huge, beyond float32 and float64, and special values.
plain_numbers = st.floats(-1e4, 1e4, allow_nan=False) | st.integers(-1000, 1000).map(float)
special_numbers = st.sampled_from([0.0, -0.0, 1e-300, 1e30, -1e30, 1e38, 4e38, -1e300, np.inf, -np.inf])
missing_cells = st.sampled_from(["", "NaN", "nan", "NA", "n/a", "null", "None", " "])
junk_cells = st.sampled_from(["abc", "1,5", "True", "2024-01-01", "0x10", "1.2.3", "--1", "€"])
labels_text = st.sampled_from(
    ["01", "1", "1.0", "-1", "/a", "[badminton: 10 …]", "café", "a, b", "NaN", ""]
) | (st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=6))
# What can be wrong with a cell, besides nothing; most examples get none or one of these.
FAULTS = ("special", "missing", "shorter", "junk")


@st.composite
def grids(draw, *, channels: bool = False, faults=FAULTS):
    """Values (n, C, L) in original units with NaN = missing, and the cells that hold junk text."""
    # Listed so that hypothesis's simplest choice (the first) is a loadable size; 1 series and < 8 steps last.
    n, length = draw(st.sampled_from([3, 2, 4, 6, 1])), draw(st.sampled_from([12, 8, 9, 7, 6]))
    n_channels = draw(st.integers(1, 3)) if channels else 1
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3, 1e6]))
    offset = draw(st.sampled_from([0.0, -50.0, 1e3]))
    size = n * n_channels * length
    noise = np.array(draw(st.lists(plain_numbers, min_size=size, max_size=size))).reshape(
        n, n_channels, length
    )
    values = offset + scale * (noise / 1e4 + np.linspace(0.0, 1.0, length))  # not constant, as series are
    junk = np.zeros((n, length), bool)
    for _ in range(draw(st.integers(0, 2))):
        fault = draw(st.sampled_from(faults))
        i, c, t = (
            draw(st.integers(0, n - 1)),
            draw(st.integers(0, n_channels - 1)),
            draw(st.integers(0, length - 1)),
        )
        if fault == "special":
            values[i, c, t] = draw(special_numbers)
        elif fault == "missing":
            values[i, c, t] = np.nan
        elif fault == "shorter":
            values[i, :, max(t, 1) :] = np.nan
        else:
            junk[i, t] = True
    return values, junk


def _check_round_trip(data, expected: np.ndarray) -> None:
    """``expected`` (n, C, L_file) in original units, NaN = missing: the dataset holds exactly these values."""
    n, channels, length = data.X.shape
    assert expected.shape[:2] == (n, channels) and length <= expected.shape[2]
    assert np.isnan(expected[:, :, length:]).all()  # columns dropped are padding everywhere
    expected = expected[:, :, :length]
    observed = ~np.isnan(expected)
    mask = np.ones((n, length), bool) if data.mask is None else data.mask
    np.testing.assert_array_equal(np.broadcast_to(mask[:, None, :], observed.shape), observed)
    back = data.to_original_units(data.X.astype(np.float64))
    x, y = expected[observed], back[observed]
    # the statistics of each value's channel (one scalar for all, or one per channel)
    mean, std = (
        np.broadcast_to(np.reshape(s, (-1, 1)), expected.shape)[observed] for s in (data.mean, data.std)
    )
    tolerance = 2**-23 * np.abs(x - mean) + 8 * EPS64 * (np.abs(x) + np.abs(mean)) + 1e-44 * std
    assert np.all(np.abs(y - x) <= tolerance), np.max(np.abs(y - x) - tolerance)
    _check_typical_digits(expected, back, observed)


def _check_typical_digits(expected: np.ndarray, back: np.ndarray, observed: np.ndarray) -> None:
    # The promise of check_float32_precision: values within one spread of their channel's median keep
    # MIN_DIGITS significant digits (up to float32's half-ulp rounding at the boundary, hence the 2).
    for c in range(expected.shape[1]):
        x, y = expected[:, c][observed[:, c]], back[:, c][observed[:, c]]
        center = np.median(x)
        distance = np.abs(x - center)
        if not (distance > 0).any():
            continue
        spread = np.median(distance[distance > 0])
        typical = distance <= spread
        assert np.all(np.abs(y - x)[typical] <= 2 * 10.0**-MIN_DIGITS * spread)


def _must_refuse(values: np.ndarray) -> bool:
    """Values (n, C, L) with NaN = missing that no loader may accept, whatever else is wrong."""
    too_large = (np.abs(values) > FLOAT32_MAX).any()  # inf included
    observed = ~np.isnan(values).all(axis=1)  # (n, L)
    last = np.where(observed.any(1), values.shape[2] - np.argmax(observed[:, ::-1], axis=1), 0)
    inside = np.arange(values.shape[2])[None, None, :] < last[:, None, None]
    gaps = (inside & np.isnan(values)).any()
    return bool(too_large or gaps or len(values) < 2)


def _load_or_refuse(path: Path, expected: np.ndarray, **options):
    try:
        data = load_dataset(path, **options)
    except DataError as error:
        event(f"refused: {str(error).split(': ', 1)[1][:30]}")
        return None
    event("loaded")
    assert not _must_refuse(expected), "loaded data that must be refused"
    _check_round_trip(data, expected)
    return data


# ---------------------------------------------------------------------- CSV / TSV


@st.composite
def csv_tables(draw):
    values, junk = draw(grids())
    values = values[:, 0]
    cells = []
    for (i, j), value in np.ndenumerate(values):
        if junk[i, j]:
            text = draw(junk_cells)
        elif np.isnan(value):
            text = draw(missing_cells)
        else:
            text = draw(st.sampled_from([repr(float(value)), f"{value:.17g}", f"{value:e}"]))
            values[i, j] = float(text)
        cells.append(text)
    cells = np.array(cells, dtype=object).reshape(values.shape).tolist()
    labels = draw(st.none() | st.lists(labels_text, min_size=len(cells), max_size=len(cells)))
    return cells, values, labels


def _write_table(path: Path, cells, labels, header: bool, sep: str, encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    if header:
        writer.writerow((["label"] if labels is not None else []) + [f"t{j}" for j in range(len(cells[0]))])
    for i, row in enumerate(cells):
        writer.writerow(([labels[i]] if labels is not None else []) + row)
    path.write_bytes(buffer.getvalue().encode(encoding))


@SETTINGS
@given(
    table=csv_tables(),
    header=st.booleans(),
    sep=st.sampled_from([",", "\t", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]),
    tell_encoding=st.booleans(),
)
def test_csv_loads_what_it_holds_or_refuses(table, header, sep, encoding, tell_encoding):
    cells, values, labels = table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        try:
            _write_table(path, cells, labels, header, sep, encoding)
        except UnicodeEncodeError:  # a label that latin-1 or cp1252 cannot hold
            encoding = "utf-8"
            _write_table(path, cells, labels, header, sep, encoding)
        options = {"label_column": None if labels is None else 0}
        if tell_encoding:
            options["encoding"] = encoding
        first_is_header = header or any(not _number_or_missing(cell) for cell in cells[0])
        rows = slice(1, None) if first_is_header and not header else slice(None)
        junk = any(not _number_or_missing(cell) for row in cells[rows] for cell in row)
        missing_label = labels is not None and any(is_missing_text(label) for label in labels[rows])
        data = _load_or_refuse(path, values[rows][:, None, :], **options)
        if data is None:
            return
        assert not junk and not missing_label, "loaded a file with text in a value cell or a missing label"
        if labels is not None:
            assert [data.classes[k] for k in data.y] == [label.strip() for label in labels[rows]]


def _number_or_missing(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return bool(is_missing_text(cell))
    return True


# ---------------------------------------------------------------------- NumPy


@st.composite
def numpy_arrays(draw):
    values, _ = draw(grids(channels=True, faults=FAULTS[:3]))
    dtype = draw(st.sampled_from(["float64"] * 4 + ["float32", "float16", "int8", "int64", "uint16", "bool"]))
    with np.errstate(over="ignore", invalid="ignore"):
        X = values.astype(dtype) if dtype.startswith("float") else np.nan_to_num(values).astype(dtype)
    return X if draw(st.booleans()) or X.shape[1] > 1 else X[:, 0]


@SETTINGS
@given(X=numpy_arrays(), labels=st.none() | st.sampled_from(["int", "float", "str"]), npz=st.booleans())
def test_numpy_loads_what_it_holds_or_refuses(X, labels, npz):
    n = X.shape[0]
    y = {
        None: None,
        "int": np.arange(n) % 3,
        "float": (np.arange(n) % 2) + 0.5,
        "str": np.array(["01", "1", "a"] * n)[:n],
    }[labels]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("x.npz" if npz else "x.npy")
        if npz:
            np.savez(path, X=X, **({} if y is None else {"y": y}))
        else:
            np.save(path, X)
        values = X.astype(np.float64)
        data = _load_or_refuse(path, values if X.ndim == 3 else values[:, None, :])
        if data is None:
            return
        assert X.dtype != bool, "loaded a bool array"
        if npz and y is not None:
            names = [str(v) for v in y] if labels == "str" else [f"{v:g}" for v in y]
            assert [data.classes[k] for k in data.y] == names


# ---------------------------------------------------------------------- Parquet


@st.composite
def parquet_tables(draw):
    values, _ = draw(grids(faults=FAULTS[:3]))
    values = values[:, 0]
    n, length = values.shape
    table, refused = {}, draw(st.integers(0, 4)) == 0
    other = draw(st.integers(0, length - 1)) if refused else -1  # one column of another type
    for j in range(length):
        kind = (
            "other" if j == other else draw(st.sampled_from(["float64"] * 3 + ["float32", "Int64", "text"]))
        )
        column = values[:, j]
        if kind == "float32":
            with np.errstate(over="ignore"):
                column = column.astype(np.float32)
            values[:, j] = column
        elif kind == "Int64":
            whole = [None if np.isnan(v) else int(np.clip(np.round(v), -(2**53), 2**53)) for v in column]
            column = pd.array(whole, dtype="Int64")
            values[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        elif kind == "text":
            column = [None if np.isnan(v) else repr(float(v)) for v in column]
        elif kind == "other":
            column = draw(
                st.sampled_from(
                    [
                        np.arange(n) % 2 == 0,
                        pd.date_range("2024-01-01", periods=n),
                        pd.Categorical(["a", "b"] * n)[:n],
                        np.array(["x"] * n),
                    ]
                )
            )
        table[f"t{j}"] = column
    labels = draw(st.none() | st.lists(labels_text, min_size=n, max_size=n))
    return pd.DataFrame(table), values, labels, refused


@SETTINGS
@given(table=parquet_tables())
def test_parquet_loads_what_it_holds_or_refuses(table):
    frame, values, labels, refused = table
    if labels is not None:
        frame.insert(0, "label", labels)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.parquet"
        frame.to_parquet(path)
        data = _load_or_refuse(path, values[:, None, :], label_column=None if labels is None else "label")
        if data is None:
            return
        assert not refused, "loaded a bool, datetime, category or text column"
        if labels is not None:
            assert [data.classes[k] for k in data.y] == [label.strip() for label in labels]
