"""Write a `TimeSeriesDataset` (e.g. generated samples) to a file that `load_dataset` reads back.

* ``.npz``: arrays ``X`` ``(n, C, L)`` in original units, ``classes`` (class names) and, when labelled,
  ``y`` (integer codes into ``classes``). A series shorter than ``L`` ends in ``NaN`` (UCR convention).
* ``.csv``: one channel: the wide layout, one series per row (columns ``label`` when labelled, then
  ``t0 .. t{L-1}``), a shorter series ending in empty cells (``NaN``, UCR convention); several channels: the
  long layout (`timevqvdm.data.long`).
* ``.parquet``: one channel and every series at full length: the wide layout; otherwise the long layout,
  where a shorter series simply has fewer rows (its length is its number of steps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from timevqvdm.data.dataset import TimeSeriesDataset
from timevqvdm.data.errors import DataError
from timevqvdm.data.long import LABEL, LONG_COLUMNS

__all__ = ["WRITE_SUFFIXES", "table_layout", "write_dataset"]

WRITE_SUFFIXES = (".npz", ".csv", ".parquet")


def table_layout(suffix: str, n_channels: int, padded: bool) -> str:
    """``"wide"`` or ``"long"``: the layout `write_dataset` uses for a ``.csv`` or ``.parquet`` file."""
    if n_channels > 1 or (suffix == ".parquet" and padded):
        return "long"
    return "wide"


def write_dataset(dataset: TimeSeriesDataset, path: str | Path) -> Path:
    """Write ``dataset`` in original units to ``path`` (``.npz``, ``.csv`` or ``.parquet``; see the module
    docstring for each layout). Returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise DataError(f"{path}: cannot write {suffix!r} files; use one of {', '.join(WRITE_SUFFIXES)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    X = _with_nan_tails(dataset)  # (n, C, L)
    if suffix == ".npz":
        arrays = {"X": X, "classes": np.array(dataset.classes, dtype=str)}
        if dataset.y is not None:
            arrays["y"] = dataset.y
        np.savez(path, **arrays)
        return path
    layout = table_layout(suffix, dataset.n_channels, dataset.mask is not None)
    frame = _wide_frame(dataset, X) if layout == "wide" else _long_frame(dataset, X)
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _with_nan_tails(dataset: TimeSeriesDataset) -> np.ndarray:
    """Series ``(n, C, L)`` in original units (the dataset's float precision), NaN after each series' end."""
    X = dataset.to_original_units(dataset.X)
    if dataset.mask is None:
        return X
    return np.where(dataset.mask[:, None, :], X, np.nan).astype(X.dtype)


def _label_names(dataset: TimeSeriesDataset) -> list[str] | None:
    return None if dataset.y is None else [dataset.classes[k] for k in dataset.y]


def _wide_frame(dataset: TimeSeriesDataset, X: np.ndarray):
    import pandas as pd

    frame = pd.DataFrame(X[:, 0, :], columns=[f"t{i}" for i in range(X.shape[2])])
    labels = _label_names(dataset)
    if labels is not None:
        frame.insert(0, LABEL, labels)
    return frame


def _long_frame(dataset: TimeSeriesDataset, X: np.ndarray):
    """One row per observed value, ordered by series, channel, time step."""
    import pandas as pd

    observed = (
        np.ones(X.shape, bool) if dataset.mask is None else np.broadcast_to(dataset.mask[:, None], X.shape)
    )
    series, channel, t = np.nonzero(observed)  # C order: series, then channel, then t
    columns = dict(zip(LONG_COLUMNS, (series, channel, t, X[series, channel, t]), strict=True))
    labels = _label_names(dataset)
    if labels is not None:
        columns[LABEL] = np.asarray(labels, dtype=object)[series]
    return pd.DataFrame(columns)
