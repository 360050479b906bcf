"""Readers that turn one file into :class:`RawSeries`.

Wide layout by default: one series per row, one time step per column, optionally one label column.
A shorter series ends in empty cells or ``NaN`` (the UCR 2018 convention); every row must still have the
same number of fields, so a forgotten value is never mistaken for padding. A CSV or Parquet table whose
header names the columns ``series``, ``channel``, ``t`` and ``value`` is in the long layout instead (one
row per value, any number of channels; `timevqvdm.data.long`).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from timevqvdm.data.dataset import raw_from_arrays
from timevqvdm.data.errors import DataError, DataFileNotFoundError
from timevqvdm.data.labels import label_as_number
from timevqvdm.data.long import LABEL, LONG_COLUMNS, is_long_layout, long_label_column, long_to_raw
from timevqvdm.data.raw import RawSeries, is_missing_text

__all__ = [
    "DELIMITED_SUFFIXES",
    "LabelColumn",
    "is_ucr_file",
    "pad_with_nan",
    "read_delimited",
    "read_numpy",
    "read_parquet",
    "read_ts",
    "read_ucr_tsv",
]

logger = logging.getLogger(__name__)

LabelColumn = int | str | None

DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")
_ENCODING_HINT = (
    "If it is text in another encoding, pass encoding= with its name (e.g. 'latin-1', 'cp1252', 'utf-16'); "
    "otherwise save the data as CSV/TSV text."
)
_UCR_SPLITS = ("_TRAIN", "_TEST")
_UCR_MISSING_HINT = (
    " The UCR archive ships gap-free versions of such datasets in its folder "
    "'Missing_value_and_variable_length_datasets_adjusted'; point at that dataset folder instead."
)
_LABEL_HINT = " If this column holds class labels, pass label_column=<its 0-based index or header name>."


def require_file(path: Path) -> None:
    """Raise :class:`DataFileNotFoundError` unless ``path`` is an existing file."""
    if not path.is_file():
        raise DataFileNotFoundError(
            f"{path}: no such file. Check the path (relative paths start at {Path.cwd()})."
        )


# ---------------------------------------------------------------------- CSV / TSV


def read_delimited(
    path: Path,
    *,
    label_column: LabelColumn = None,
    delimiter: str | None = None,
    header: bool | None = None,
    name: str | None = None,
    encoding: str | None = None,
) -> RawSeries:
    """Read a wide CSV/TSV file: one series per row.

    Parameters
    ----------
    path : Path
        The file.
    label_column : int, str or None
        Column holding class labels: a 0-based index (negative counts from the end), a header name, or
        ``None`` when every column is a time step.
    delimiter : str, optional
        Field separator; by default tab for ``.tsv`` and otherwise guessed from the first line.
    header : bool, optional
        Whether the first row holds column names; by default it does when it has a non-numeric cell (in a
        value column, or anywhere when ``label_column`` is a name).
    name : str, optional
        Dataset name; the file stem by default.
    encoding : str, optional
        Text encoding (a Python codec name such as ``"latin-1"``); UTF-8 with or without a byte-order mark
        by default. Bytes that do not decode are a :class:`DataError` naming the line.
    """
    require_file(path)
    text = _read_text(path, encoding)
    delimiter = delimiter or _guess_delimiter(path, text)
    rows, line_numbers = _split_rows(path, text, delimiter)
    if not rows:
        raise DataError(f"{path}: the file is empty; it needs at least 2 series, one per row.")
    note = ""
    if header is None:
        # A named label column is named in the header, so every cell counts (a numeric first row is data).
        header = _looks_like_header(rows[0], None if isinstance(label_column, str) else label_column)
        if header:
            note = f" (line {line_numbers[0]} was taken as a header because it has non-numeric cells)"
    names = rows[0] if header else None
    reference = f"the header (line {line_numbers[0]})" if header else f"line {line_numbers[0]}"
    width = len(rows[0])
    if header:
        rows, line_numbers = rows[1:], line_numbers[1:]
    _reject_ragged(path, rows, line_numbers, width, reference)
    if names is not None and is_long_layout(names):
        return _read_long_rows(path, rows, line_numbers, names, label_column, name or path.stem)
    label_index = _label_index(path, label_column, width, names)
    cells = np.array(rows, dtype=str).reshape(len(rows), width)  # (n, fields)
    value_columns = [j for j in range(width) if j != label_index]

    def where(i: int, column: int) -> str:
        title = f" ('{names[column]}')" if names is not None else ""
        return f"{path}: line {line_numbers[i]}, column {column + 1}{title}"

    hint = "" if label_index is not None else _LABEL_HINT + note
    values = _parse_cells(cells[:, value_columns], lambda i, j: where(i, value_columns[j]), hint)
    return RawSeries(
        values=values[:, None, :],  # (n, 1, L): delimited files are univariate
        labels=None if label_index is None else cells[:, label_index],
        name=name or path.stem,
        source=str(path),
        locate=lambda i, c, t: where(i, value_columns[t]),
        locate_label=lambda i: where(i, label_index),  # type: ignore[arg-type]
    )


def _read_long_rows(
    path: Path,
    rows: list[list[str]],
    line_numbers: list[int],
    names: list[str],
    label_column: LabelColumn,
    name: str,
) -> RawSeries:
    """A delimited file in the long layout (`timevqvdm.data.long`), header already taken off."""
    if not rows:
        raise DataError(f"{path}: the table has a header but no rows; it needs at least 2 series.")
    label = long_label_column(path, names, label_column)
    index = {column.strip(): j for j, column in enumerate(names)}
    cells = np.array(rows, dtype=str).reshape(len(rows), len(names))

    def where(i: int, column: str) -> str:
        column = label if column == LABEL and label is not None else column
        return f"{path}: line {line_numbers[i]}, column {index[column] + 1} ('{column}')"

    def numbers(column: str) -> np.ndarray:
        return _parse_cells(cells[:, [index[column]]], lambda i, j: where(i, column), "")[:, 0]

    series, channel = (np.char.strip(cells[:, index[c]]).astype(object) for c in LONG_COLUMNS[:2])
    return long_to_raw(
        path,
        series=series,
        channel=channel,
        t=numbers("t"),
        value=numbers("value"),
        labels=None if label is None else cells[:, index[label]].astype(object),
        where=where,
        name=name,
    )


def is_ucr_file(path: Path) -> bool:
    """True for a file named like the UCR archive's ``<Name>_TRAIN.tsv`` or ``<Name>_TEST.tsv``."""
    return path.suffix.lower() == ".tsv" and path.stem.upper().endswith(_UCR_SPLITS)


def read_ucr_tsv(
    path: Path, *, name: str | None = None, delimiter: str | None = None, encoding: str | None = None
) -> RawSeries:
    """Read a UCR 2018 ``.tsv`` file: tab-separated, no header, the class label (a number) first.

    Shorter series end in ``NaN``; labels such as ``1.0000000e+00`` and ``1`` are the class ``"1"``
    (:func:`~timevqvdm.data.labels.label_as_number`). The length counts time steps only, without the label.
    """
    raw = read_delimited(
        path, label_column=0, delimiter=delimiter or "\t", header=False, name=name, encoding=encoding
    )
    raw.labels = np.array([label_as_number(label) for label in raw.labels], dtype=object)  # type: ignore[union-attr]
    raw.missing_hint = _UCR_MISSING_HINT
    return raw


def _read_text(path: Path, encoding: str | None) -> str:
    """The whole file as text; undecodable bytes or NUL characters are a :class:`DataError`."""
    data = path.read_bytes()
    codec = encoding or "utf-8-sig"  # UTF-8, with or without the byte-order mark spreadsheets write
    try:
        text = data.decode(codec)
    except LookupError:
        raise DataError(
            f"{path}: unknown encoding {encoding!r}; give a Python codec name such as 'latin-1' or 'cp1252'."
        ) from None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataError(
            f"{path}: line {line}: byte 0x{data[error.start]:02x} is not valid {encoding or 'UTF-8'} text. "
            f"{_ENCODING_HINT}"
        ) from None
    if "\0" in text:
        # Binary files (and UTF-16 read as UTF-8) decode without error but hold NUL characters.
        line = text.count("\n", 0, text.index("\0")) + 1
        raise DataError(f"{path}: line {line}: NUL character, so this is not CSV/TSV text. {_ENCODING_HINT}")
    return text


def _guess_delimiter(path: Path, text: str) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    first = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])  # separators inside quotes split nothing
    # The separator that splits the first line most often; a single column needs none.
    counts = {sep: first.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _split_rows(path: Path, text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    rows, line_numbers = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if len(row) > 1 or (row and row[0].strip()):  # blank lines separate nothing
                rows.append(row)
                line_numbers.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{path}: line {reader.line_num}: cannot parse the file ({error}).") from None
    return rows, line_numbers


def _looks_like_header(first_row: list[str], label_column: LabelColumn) -> bool:
    label = None if label_column is None else int(label_column) % max(len(first_row), 1)  # type: ignore[arg-type]
    return any(not (_parses(cell) or is_missing_text(cell)) for j, cell in enumerate(first_row) if j != label)


def _reject_ragged(
    path: Path, rows: list[list[str]], line_numbers: list[int], width: int, reference: str
) -> None:
    for row, line in zip(rows, line_numbers, strict=True):
        if len(row) != width:
            raise DataError(
                f"{path}: line {line} has {len(row)} fields but {reference} has {width}. Every row must have "
                f"the same number of fields; end a shorter series with empty cells or NaN up to that width."
            )


def _label_index(path: Path, label_column: LabelColumn, width: int, names: list[str] | None) -> int | None:
    if label_column is None:
        return None
    if isinstance(label_column, str):
        if names is None:
            raise DataError(
                f"{path}: label_column='{label_column}' names a column, but the file has no header row; "
                f"pass the label column's 0-based index instead."
            )
        if label_column not in names:
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            raise DataError(f"{path}: no column named '{label_column}' for labels; columns: {shown}.")
        return names.index(label_column)
    if not -width <= label_column < width:
        raise DataError(f"{path}: label_column={label_column} is out of range for {width} columns (0-based).")
    return label_column % width


def _parse_cells(cells: np.ndarray, where: Callable[[int, int], str], hint: str) -> np.ndarray:
    """Convert a string array (n, L) to float64 with NaN for missing cells; name the first bad cell."""
    try:
        return cells.astype(np.float64)  # fast path: every cell is a number or "NaN"
    except ValueError:
        pass
    text = np.where(is_missing_text(cells), "nan", cells)
    try:
        return text.astype(np.float64)
    except ValueError:
        pass
    # Slow path, only for files with an odd cell: the leftmost column with one, and its first bad cell.
    for j in range(text.shape[1]):
        bad = [i for i, cell in enumerate(text[:, j]) if not _parses(cell)]
        if bad:
            all_text = len(bad) == np.count_nonzero(text[:, j] != "nan")
            raise DataError(_not_a_number(where(bad[0], j), cells[bad[0], j], all_text, hint))
    return np.vectorize(float, otypes=[np.float64])(text)


def _parses(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _not_a_number(where: str, cell: object, whole_column: bool, hint: str) -> str:
    if whole_column:
        return (
            f"{where}: '{cell}' is not a number, and neither is any other cell of this column. Remove the "
            f"column.{hint}"
        )
    return f"{where}: '{cell}' is not a number. Fix or remove the cell.{hint}"


# ---------------------------------------------------------------------- Parquet


def read_parquet(path: Path, *, label_column: LabelColumn = None, name: str | None = None) -> RawSeries:
    """Read a wide Parquet table: one series per row, columns are time steps plus an optional label.

    Value columns must hold real numbers (integer or float types), or text that parses as numbers; a
    bool, datetime, category or other column is a :class:`DataError` naming it, unless it is the label
    column.
    """
    import pandas as pd

    require_file(path)
    try:
        table = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet
        raise DataError(f"{path}: cannot read as Parquet ({type(error).__name__}: {error}).") from None
    columns = [str(column) for column in table.columns]
    if is_long_layout(columns):
        return _read_long_table(path, table, label_column, name or path.stem)
    label_index = _label_index(path, label_column, len(columns), columns)
    value_columns = [j for j in range(len(columns)) if j != label_index]

    def where(i: int, column: int) -> str:
        return f"{path}: row {i + 1} (1-based), column '{columns[column]}'"

    hint = "" if label_index is not None else _LABEL_HINT
    values = np.empty((len(table), len(value_columns)), dtype=np.float64)
    for k, j in enumerate(value_columns):
        column = f"{path}: column '{columns[j]}'"
        values[:, k] = _numeric_column(table.iloc[:, j], lambda i, j=j: where(i, j), column, hint)
    return RawSeries(
        values=values[:, None, :],
        labels=None
        if label_index is None
        else table.iloc[:, label_index].to_numpy(dtype=object, na_value=None),
        name=name or path.stem,
        source=str(path),
        locate=lambda i, c, t: where(i, value_columns[t]),
        locate_label=lambda i: where(i, label_index),  # type: ignore[arg-type]
    )


def _read_long_table(path: Path, table, label_column: LabelColumn, name: str) -> RawSeries:
    """A Parquet table in the long layout (`timevqvdm.data.long`)."""
    table = table.rename(columns=lambda column: str(column).strip())
    label = long_label_column(path, list(table.columns), label_column)

    def where(i: int, column: str) -> str:
        column = label if column == LABEL and label is not None else column
        return f"{path}: row {i + 1} (1-based), column '{column}'"

    def numbers(column: str) -> np.ndarray:
        return _numeric_column(table[column], lambda i: where(i, column), f"{path}: column '{column}'", "")

    def names(column: str) -> np.ndarray:
        return np.array([str(v).strip() for v in table[column].to_numpy(dtype=object)], dtype=object)

    return long_to_raw(
        path,
        series=names("series"),
        channel=names("channel"),
        t=numbers("t"),
        value=numbers("value"),
        labels=None if label is None else table[label].to_numpy(dtype=object, na_value=None),
        where=where,
        name=name,
    )


def _numeric_column(column, where: Callable[[int], str], name: str, hint: str) -> np.ndarray:
    """One value column as float64 (NaN = missing); a column of another type names itself."""
    import pandas as pd

    types = pd.api.types
    dtype = column.dtype
    if types.is_numeric_dtype(dtype) and not (types.is_bool_dtype(dtype) or types.is_complex_dtype(dtype)):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    # Object columns: pyarrow gives text, Decimal or bytes (a Parquet column has one type, never a mix).
    kind = types.infer_dtype(column, skipna=True)
    if kind in ("string", "empty"):
        text = column.to_numpy(dtype=object, na_value="nan").astype(str)[:, None]  # (n, 1)
        return _parse_cells(text, lambda i, j: where(i), hint)[:, 0]
    if kind == "decimal":
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    first = np.flatnonzero(column.notna().to_numpy())
    example = f" (row {first[0] + 1}: '{column.iloc[first[0]]}')" if len(first) else ""
    described = kind if types.is_object_dtype(dtype) else dtype
    raise DataError(f"{name} has type {described}{example}, not numbers. Remove the column.{hint}")


# ---------------------------------------------------------------------- NumPy


def read_numpy(path: Path, *, name: str | None = None) -> RawSeries:
    """Read ``.npy`` (the array X) or ``.npz`` (arrays ``X``, optional ``y`` and optional ``classes``).

    X has shape (n, L) or (n, C, L); trailing NaN marks a shorter series. ``y`` holds raw labels, or,
    when ``classes`` (class names, as ``timevqvdm sample`` writes) is present, integer codes into it.
    Pickled object arrays are refused, since loading them could run code.
    """
    require_file(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            X, y = loaded, None
        else:
            with loaded:
                X, y = _numpy_arrays(path, loaded)
    except DataError:
        raise
    except (ValueError, OSError, EOFError) as error:
        raise DataError(
            f"{path}: cannot read as a NumPy file ({error}). Save plain numeric arrays with np.save / "
            f"np.savez (no object dtype: pickles are refused because loading them can run code)."
        ) from None
    raw = raw_from_arrays(X, y, source=str(path))
    raw.name = name or path.stem
    return raw


def _numpy_arrays(path: Path, loaded) -> tuple[np.ndarray, np.ndarray | None]:
    keys = list(loaded.keys())
    if "X" not in keys:
        raise DataError(f"{path}: an .npz file needs an array named 'X' (and optionally 'y'); found {keys}.")
    y = loaded["y"] if "y" in keys else None
    if y is not None and "classes" in keys:
        y = _names_of_codes(path, y, loaded["classes"])
    return loaded["X"], y


def _names_of_codes(path: Path, codes: np.ndarray, classes: np.ndarray) -> np.ndarray:
    classes = classes.ravel()
    codes = codes.ravel()
    if codes.dtype.kind not in "iu" or (len(codes) and not 0 <= codes.min() <= codes.max() < len(classes)):
        raise DataError(
            f"{path}: with an array 'classes' ({len(classes)} names), 'y' must hold integer codes "
            f"0..{len(classes) - 1}; got dtype {codes.dtype}"
            + (f", values {codes.min()}..{codes.max()}" if codes.dtype.kind in "iu" and len(codes) else "")
            + ". Drop 'classes' to give the labels themselves in 'y'."
        )
    return classes[codes]


# ---------------------------------------------------------------------- aeon .ts


def read_ts(path: Path, *, name: str | None = None) -> RawSeries:
    """Read an aeon/sktime ``.ts`` file; unequal-length series are padded with NaN here."""
    from aeon.datasets import load_from_ts_file

    require_file(path)
    try:
        X, y = load_from_ts_file(str(path))
    except Exception as error:  # aeon raises IOError/ValueError/TypeError for malformed files
        raise DataError(f"{path}: cannot read as a .ts file ({type(error).__name__}: {error}).") from None
    raw = raw_from_arrays(pad_with_nan(X), y, source=str(path))
    raw.name = name or path.stem
    raw.locate_label = lambda i: f"{path}: label of series {i} (0-based)"
    return raw


def pad_with_nan(X) -> np.ndarray:
    """aeon returns unequal-length data as a list of (C, L_i) arrays; stack them as (n, C, max L_i)."""
    if isinstance(X, np.ndarray):
        return X
    longest = max(series.shape[-1] for series in X)
    padded = np.full((len(X), X[0].shape[0], longest), np.nan)
    for i, series in enumerate(X):
        padded[i, :, : series.shape[-1]] = series
    return padded
