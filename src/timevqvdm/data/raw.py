"""Raw series as read from a source, before normalisation, and the checks every source shares.

A reader turns its source into a :class:`RawSeries`: values in original units with ``NaN`` after the end
of each shorter series, raw labels, and two functions that describe positions in the source (file line and
column, or array index) so that errors point at the offending cell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from timevqvdm.data.errors import DataError

__all__ = ["MIN_LENGTH", "RawSeries", "array_locator", "is_missing_text", "series_lengths"]

logger = logging.getLogger(__name__)

# The tokenizer's STFT uses an 8-point window (n_fft = 8); a shorter series has no spectrogram.
MIN_LENGTH = 8

# Text that stands for "no value", in a value cell or a label cell, compared after stripping and lower-casing.
_MISSING_TEXT = ("", "na", "n/a", "nan", "none", "null")

Locator = Callable[[int, int, int], str]


@dataclass
class RawSeries:
    """Series as read, in original units.

    Attributes
    ----------
    values : np.ndarray of float64, shape (n, C, L)
        ``NaN`` after the end of a series marks padding; ``NaN`` elsewhere is an error.
    labels : np.ndarray, shape (n,), or None
        Raw labels of any type, or ``None`` when the source has none.
    name : str
        Dataset name (file stem, folder or UCR name).
    source : str
        What was read (a path or ``"aeon:GunPoint"``), for messages about the whole set.
    locate : callable
        ``locate(i, c, t)`` describes value ``values[i, c, t]`` in the source.
    locate_label : callable
        ``locate_label(i)`` describes the label of series ``i`` in the source.
    missing_hint : str
        Appended to the error about a missing value inside a series (e.g. where a gap-free version is).
    """

    values: np.ndarray
    labels: np.ndarray | None
    name: str
    source: str
    locate: Locator
    locate_label: Callable[[int], str]
    missing_hint: str = ""


def is_missing_text(text: np.ndarray | str) -> np.ndarray | bool:
    """True where ``text`` (one string or an array of strings, any shape) spells a missing value."""
    if isinstance(text, str):
        return text.strip().lower() in _MISSING_TEXT
    return np.isin(np.char.lower(np.char.strip(np.asarray(text, dtype=str))), _MISSING_TEXT)


def array_locator(source: str, ndim: int = 3) -> Locator:
    """Describe positions as 0-based indices of the array the user gave (2-D ``(n, L)`` or 3-D)."""
    if ndim == 2:
        return lambda i, c, t: f"{source}: X[{i}, {t}] (series {i}, time step {t}, 0-based)"
    return lambda i, c, t: f"{source}: X[{i}, {c}, {t}] (series {i}, channel {c}, time step {t}, 0-based)"


def series_lengths(raw: RawSeries) -> np.ndarray:
    """Check the values of ``raw`` and return the observed length of every series.

    Trailing ``NaN`` is padding of a shorter series; any other non-finite value is an error that names
    its position.

    Returns
    -------
    np.ndarray of int64, shape (n,)
        Number of observed time steps of each series (padding excluded).
    """
    values = raw.values
    n, _, length = values.shape
    if n < 2:
        raise DataError(
            f"{raw.source}: found {n} series; at least 2 are needed to fit and evaluate a generative model."
        )
    _reject_infinite(raw)
    observed = ~np.isnan(values)  # (n, C, L)
    # A series ends after the last time step at which any channel is observed.
    any_channel = observed.any(axis=1)  # (n, L)
    last_plus_one = length - np.argmax(any_channel[:, ::-1], axis=1)
    lengths = np.where(any_channel.any(axis=1), last_plus_one, 0)
    _reject_interior_missing(raw, observed, lengths)
    _check_lengths(raw, lengths)
    return lengths.astype(np.int64)


def _reject_infinite(raw: RawSeries) -> None:
    infinite = np.argwhere(np.isinf(raw.values))
    if len(infinite):
        i, c, t = infinite[0]
        raise DataError(
            f"{raw.locate(i, c, t)}: infinite value ({raw.values[i, c, t]}). Replace it with a finite "
            f"number or drop the series; {len(infinite)} infinite value(s) in total."
        )


def _reject_interior_missing(raw: RawSeries, observed: np.ndarray, lengths: np.ndarray) -> None:
    inside = np.arange(observed.shape[2]) < lengths[:, None, None]  # (n, 1, L) -> broadcast over channels
    holes = np.argwhere(inside & ~observed)
    if len(holes):
        i, c, t = holes[0]
        raise DataError(
            f"{raw.locate(i, c, t)}: missing value (NaN or empty cell) inside a series. Only trailing "
            f"missing values are allowed, where they mark a series shorter than the others. Fill the gap "
            f"(e.g. interpolate) or drop the series; {len(holes)} missing value(s) inside series in total."
            f"{raw.missing_hint}"
        )


def _check_lengths(raw: RawSeries, lengths: np.ndarray) -> None:
    empty = np.flatnonzero(lengths == 0)
    if len(empty):
        raise DataError(f"{raw.locate(empty[0], 0, 0)}: this series has no observed values; drop it.")
    longest = int(lengths.max())
    if longest < MIN_LENGTH:
        raise DataError(
            f"{raw.source}: series have at most {longest} time steps; at least {MIN_LENGTH} are needed "
            f"(the STFT window of the tokenizer). Use longer series."
        )
    short = np.flatnonzero(lengths < MIN_LENGTH)
    if len(short):
        # Padding to the longest series still gives the STFT a full window, so this is allowed.
        logger.warning(
            "%s: %d series are shorter than %d time steps (shortest: %d); they are zero-padded and masked.",
            raw.source,
            len(short),
            MIN_LENGTH,
            int(lengths.min()),
        )
