"""The long table layout of multichannel (and variable-length) series: one row per observed value.

Columns ``series``, ``channel``, ``t``, ``value`` and, when labelled, ``label``:

* ``series`` names the series (any text or number); series keep the order of their first row;
* ``channel`` names the channel; channels are ordered by value when every name is a number, else by first
  row;
* ``t`` is the 0-based time step, an integer; a series ends after its largest ``t``, so a shorter series
  simply has fewer rows (steps past its end are padding, recorded in the mask);
* ``value`` is the number; ``label`` the class of the series, the same on each of its rows.

A step inside a series that has no row (or an empty ``value``) is a gap, an error as in the wide layout.
CSV and Parquet files whose header holds the four names are read in this layout; `timevqvdm sample`
writes it for several channels.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from timevqvdm.data.errors import DataError
from timevqvdm.data.raw import RawSeries

__all__ = ["LONG_COLUMNS", "is_long_layout", "long_to_raw"]

LONG_COLUMNS = ("series", "channel", "t", "value")
LABEL = "label"


def is_long_layout(columns: list[str]) -> bool:
    """True when a table's column names hold ``series``, ``channel``, ``t`` and ``value``."""
    return set(LONG_COLUMNS) <= {str(c).strip() for c in columns}


def long_label_column(path: Path, columns: list[str], label_column: int | str | None) -> str | None:
    """The name of the label column of a long table: `label_column` (a name or index) when given, else
    ``label`` when present. Any other column is refused by name (it would be silently dropped)."""
    names = [str(c).strip() for c in columns]
    if isinstance(label_column, int):
        if not -len(names) <= label_column < len(names):
            raise DataError(f"{path}: label_column={label_column} is out of range for {len(names)} columns.")
        label = names[label_column]
    elif label_column is not None:
        label = label_column
        if label not in names:
            raise DataError(f"{path}: no column named '{label}' for labels; columns: {', '.join(names)}.")
    else:
        label = LABEL if LABEL in names else None
    extra = [c for c in names if c not in LONG_COLUMNS and c != label]
    if extra:
        raise DataError(
            f"{path}: a long table has the columns {', '.join(LONG_COLUMNS)} and optionally a label column; "
            f"also found {', '.join(repr(c) for c in extra)}. Remove it, or name it with label_column=."
        )
    return label


def long_to_raw(
    path: Path,
    *,
    series: np.ndarray,
    channel: np.ndarray,
    t: np.ndarray,
    value: np.ndarray,
    labels: np.ndarray | None,
    where: Callable[[int, str], str],
    name: str,
) -> RawSeries:
    """Assemble a long table's columns (one entry per row) into series ``(n, C, L)``, NaN = no value.

    ``series``/``channel`` hold names (text), ``t`` and ``value`` float64, ``labels`` raw labels or None;
    ``where(row, column)`` names a cell for messages.
    """
    import pandas as pd

    series_index, series_names = pd.factorize(series, sort=False)
    channel_index, channel_names = _channel_order(channel)
    steps = _time_steps(t, where)
    n, n_channels, length = len(series_names), len(channel_names), int(steps.max()) + 1 if len(steps) else 0
    if n == 0:
        raise DataError(f"{path}: the table has no rows; it needs at least 2 series.")
    row_of = np.full((n, n_channels, length), -1, dtype=np.int64)
    flat = np.ravel_multi_index((series_index, channel_index, steps), row_of.shape)
    _reject_duplicates(flat, where, row_of.shape, series_names, channel_names)
    row_of.reshape(-1)[flat] = np.arange(len(flat))
    values = np.full(row_of.shape, np.nan)
    values.reshape(-1)[flat] = value

    def locate(i: int, c: int, step: int) -> str:
        row = row_of[i, c, step]
        if row >= 0:
            return where(int(row), "value")
        return f"{path}: series '{series_names[i]}', channel '{channel_names[c]}', t {step} (no row)"

    first_rows = np.array([np.flatnonzero(series_index == i)[0] for i in range(n)])
    return RawSeries(
        values=values,
        labels=None if labels is None else _series_labels(labels, series_index, first_rows, where),
        name=name,
        source=str(path),
        locate=locate,
        locate_label=lambda i: where(int(first_rows[i]), LABEL),
    )


def _channel_order(channel: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Channel index of each row: channels sorted by value when all names are numbers, else by first row."""
    import pandas as pd

    codes, names = pd.factorize(channel, sort=False)
    try:
        numbers = np.array([float(name) for name in names])
    except ValueError:
        return codes, [str(name) for name in names]
    order = np.argsort(numbers, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], [str(names[k]) for k in order]


def _time_steps(t: np.ndarray, where: Callable[[int, str], str]) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(t) | (t < 0) | (t != np.round(t)))
    if len(bad):
        raise DataError(f"{where(int(bad[0]), 't')}: '{t[bad[0]]}' is not a time step (an integer >= 0).")
    return t.astype(np.int64)


def _reject_duplicates(flat: np.ndarray, where, shape, series_names, channel_names) -> None:
    order = np.argsort(flat, kind="stable")
    same = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if len(same):
        first, second = order[same[0]], order[same[0] + 1]
        i, c, step = np.unravel_index(flat[first], shape)
        raise DataError(
            f"{where(int(second), 'value')}: series '{series_names[i]}', channel '{channel_names[c]}', t {step} "
            f"already has a value ({where(int(first), 'value')}). Each step of a channel has one row."
        )


def _series_labels(
    labels: np.ndarray, series_index: np.ndarray, first_rows: np.ndarray, where: Callable[[int, str], str]
) -> np.ndarray:
    """The label of each series (that of its first row); a series whose rows disagree is an error."""
    per_series = labels[first_rows]
    text = np.array([str(v) for v in labels], dtype=object)
    differs = np.flatnonzero(text != text[first_rows][series_index])
    if len(differs):
        row = int(differs[0])
        raise DataError(
            f"{where(row, LABEL)}: label '{labels[row]}' differs from the label "
            f"'{labels[first_rows[series_index[row]]]}' of the same series ({where(int(first_rows[series_index[row]]), LABEL)}). "
            f"A series has one label."
        )
    return per_series
