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

__all__ = [
    "MIN_DIGITS",
    "MIN_LENGTH",
    "RawSeries",
    "array_locator",
    "check_float32_precision",
    "is_missing_text",
    "series_lengths",
]

logger = logging.getLogger(__name__)

# The tokenizer's STFT uses an 8-point window (n_fft = 8); a shorter series has no spectrogram.
MIN_LENGTH = 8

# Significant digits that the typical values of every channel keep after float32 normalisation; the other
# roughly 4 of float32's 7 are headroom for values far from the mean (see check_float32_precision).
MIN_DIGITS = 3
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_MAX_OFFSET = 10.0**-MIN_DIGITS / float(np.finfo(np.float32).eps)  # |median - mean| / spread allowed

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
    _reject_unrepresentable(raw)
    observed = ~np.isnan(values)  # (n, C, L)
    # A series ends after the last time step at which any channel is observed.
    any_channel = observed.any(axis=1)  # (n, L)
    last_plus_one = length - np.argmax(any_channel[:, ::-1], axis=1)
    lengths = np.where(any_channel.any(axis=1), last_plus_one, 0)
    _reject_interior_missing(raw, observed, lengths)
    _check_lengths(raw, lengths)
    return lengths.astype(np.int64)


def _reject_unrepresentable(raw: RawSeries) -> None:
    # The model, its samples and `to_original_units` of float32 arrays compute in float32.
    too_large = np.argwhere(np.abs(raw.values) > _FLOAT32_MAX)  # inf included, NaN never
    if len(too_large) == 0:
        return
    i, c, t = too_large[0]
    value = raw.values[i, c, t]
    what = (
        f"infinite value ({value})"
        if np.isinf(value)
        else f"value {value:g} is too large for float32 (largest magnitude {_FLOAT32_MAX:.4g})"
    )
    raise DataError(
        f"{raw.locate(i, c, t)}: {what}. Replace it with a finite number in float32's range or drop the "
        f"series (rescale the data if all values are that large); {len(too_large)} such value(s) in total."
    )


def check_float32_precision(raw: RawSeries, mean: float | np.ndarray) -> None:
    """Refuse values so extreme that float32 normalisation would erase the detail of all the others.

    Normalised values ``(x - mean) / std`` are stored as float32, which resolves about ``eps * |x - mean|``
    in original units (``eps`` = 2**-23). The values of channel ``c`` lie around their median ``m_c`` with
    spread ``s_c`` (the median distance from ``m_c`` of the values that differ from it), so they keep about
    ``log10(s_c / (eps * max(|m_c - mean|, s_c)))`` significant digits. One extreme cell moves the global
    mean far from where the other values lie; the data is refused when a channel would keep fewer than
    :data:`MIN_DIGITS`, i.e. when ``|m_c - mean| > s_c * 10**-MIN_DIGITS / eps``. A constant channel has no
    detail to lose. The error names the cell farthest from its channel's median (in units of ``s_c``) when
    that cell alone is that far out, and otherwise the channel, whose level is far from the others'.

    Parameters
    ----------
    raw : RawSeries
        Values of shape (n, C, L) in original units, finite or ``NaN`` (padding).
    mean : float or np.ndarray of shape (C,)
        The mean the data is normalised with (its own, or the training split's); one per channel with
        per-channel normalisation, where each channel is compared with its own mean.
    """
    centers, spreads = _channel_centers_and_spreads(raw.values)  # (C,), (C,)
    means = np.broadcast_to(np.asarray(mean, dtype=np.float64), centers.shape)  # (C,)
    far = (spreads > 0) & (np.abs(centers - means) > spreads * _MAX_OFFSET)  # (C,)
    if far.any():
        raise _extreme_cell_error(raw, centers, spreads, means) or _far_channels_error(
            raw, centers, spreads, far, mean
        )


def _extreme_cell_error(
    raw: RawSeries, centers: np.ndarray, spreads: np.ndarray, means: np.ndarray
) -> DataError | None:
    """The error naming the cell farthest out, or None when no single cell is that far out."""
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.abs(raw.values - centers[None, :, None]) / spreads[None, :, None]  # (n, C, L)
    distance = np.where(np.isfinite(distance), distance, 0.0)  # padding and constant channels
    if distance.max() <= _MAX_OFFSET:
        return None
    i, c, t = np.unravel_index(np.argmax(distance), distance.shape)
    return DataError(
        f"{raw.locate(i, c, t)}: value {raw.values[i, c, t]:g} is extreme: most values lie within "
        f"{centers[c]:g} ± {spreads[c]:.3g}, and this one moves the mean to {means[c]:.6g}, so after "
        f"normalisation to float32 the other values would keep fewer than {MIN_DIGITS} significant "
        f"digits. Fix or remove the cell (or its series); "
        f"{np.count_nonzero(distance > _MAX_OFFSET)} value(s) are that far out."
    )


def _far_channels_error(
    raw: RawSeries, centers: np.ndarray, spreads: np.ndarray, far: np.ndarray, mean: float | np.ndarray
) -> DataError:
    levels = ", ".join(f"channel {c} (around {centers[c]:g} ± {spreads[c]:.3g})" for c in np.flatnonzero(far))
    one = far.sum() == 1
    if isinstance(mean, np.ndarray):
        means = ", ".join(f"{mean[c]:.6g}" for c in np.flatnonzero(far))
        which = f"{'its' if one else 'their'} normalisation mean{'' if one else 's'} {means} (per channel)"
    else:
        which = f"the normalisation mean {mean:.6g} (one scalar mean and std for all channels, thesis 3.5)"
    return DataError(
        f"{raw.source}: {levels} {'lies' if one else 'lie'} far from {which}; after normalisation to float32 "
        f"{'its' if one else 'their'} values would keep fewer than {MIN_DIGITS} significant digits. Bring "
        f"the channels to similar ranges first (e.g. subtract each channel's own mean), and load held-out "
        f"data with the statistics of training data in the same units."
    )


def _channel_centers_and_spreads(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median of each channel's observed values, and the median distance to it of those that differ."""
    n_channels = values.shape[1]
    centers, spreads = np.empty(n_channels), np.zeros(n_channels)
    for c in range(n_channels):
        observed = values[:, c][~np.isnan(values[:, c])]
        centers[c] = np.median(observed) if observed.size else 0.0
        distances = np.abs(observed - centers[c])
        distances = distances[distances > 0]
        if distances.size:
            spreads[c] = np.median(distances)
    return centers, spreads


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
