"""Errors raised by the data layer.

Every message names where the problem is (file, line/row, column or array index) and what to do about it,
so that a user can fix their file without reading this package.
"""

from __future__ import annotations

__all__ = ["DataError", "DataFileNotFoundError"]


class DataError(ValueError):
    """Input data that cannot be turned into a :class:`TimeSeriesDataset`."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A file, folder or dataset that was asked for does not exist.

    It is both a :class:`DataError` (one ``except`` for every bad input) and a :class:`FileNotFoundError`
    (what Python code expects for a missing path).
    """
