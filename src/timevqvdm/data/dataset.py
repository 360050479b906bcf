"""The in-memory dataset every other package consumes.

The thesis (section 3.5) normalises each dataset to zero mean and unit variance with one scalar mean and
one scalar std computed on the training split; the test split reuses them. That stays the rule for one
channel. Several channels usually carry different units (acceleration beside angular velocity), so by
default each channel gets its own mean and std, arrays of shape ``(C,)``. The statistics travel with the
dataset (and later with the model) so that samples can be mapped back to original units.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from timevqvdm.data.errors import DataError
from timevqvdm.data.labels import encode_labels
from timevqvdm.data.raw import RawSeries, array_locator, check_float32_precision, series_lengths

__all__ = ["NORMALISATIONS", "Stat", "Stats", "TimeSeriesDataset", "broadcast_stat", "build_dataset"]

logger = logging.getLogger(__name__)

Stat = float | np.ndarray
"""One normalisation statistic: a float (global) or a float64 array of shape ``(n_channels,)``."""

Stats = tuple[Any, Any]
"""``(mean, std)`` of the training split, in original units: two floats (one for all channels), or two
sequences of one value per channel."""

NORMALISATIONS = ("auto", "global", "channel")
"""``"global"``: one scalar mean and std (thesis 3.5); ``"channel"``: one per channel; ``"auto"``: global
for one channel, per channel for several."""

ArrayT = TypeVar("ArrayT")

# Classes listed in full by summary(); more are elided so the summary stays readable.
_MAX_CLASSES_SHOWN = 12


@dataclass(eq=False, repr=False)
class TimeSeriesDataset:
    """A labelled (or unlabelled) set of equally long, possibly padded, normalised time series.

    Attributes
    ----------
    X : np.ndarray of float32, shape (n_series, n_channels, length)
        Series in normalised units, ``(x - mean) / std``; padding after a shorter series is 0.
    y : np.ndarray of int64, shape (n_series,), or None
        Encoded class labels in ``0..n_classes-1``; ``None`` when the data is unlabelled.
    classes : list of str
        Original label names in encoded order (``classes[y[i]]``); ``[]`` when unlabelled.
    name : str
        Dataset name, e.g. ``"GunPoint"`` or a file stem.
    mask : np.ndarray of bool, shape (n_series, length), or None
        True where a value was observed, False on padding; ``None`` when every series has full length.
    mean, std : float, or np.ndarray of float64, shape (n_channels,)
        Statistics of the training split, in original units: one scalar for all channels (one channel, or
        ``normalisation="global"``), else one value per channel.
    split : str or None
        ``"train"``, ``"test"`` or ``None`` (data given as arrays); only used for display.
    """

    X: np.ndarray
    y: np.ndarray | None
    classes: list[str]
    name: str
    mask: np.ndarray | None
    mean: Stat
    std: Stat
    split: str | None = field(default=None)

    def __post_init__(self) -> None:
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        if self.X.ndim != 3:
            raise DataError(
                f"{self.name}: X must have shape (n_series, n_channels, length); got {self.X.shape}."
            )
        self.classes = [str(name) for name in self.classes]
        self._check_labels()
        self._check_mask()
        self.mean, self.std = check_stats((self.mean, self.std), source=self.name, n_channels=self.n_channels)

    def _check_labels(self) -> None:
        if self.y is None:
            return
        self.y = np.asarray(self.y, dtype=np.int64)
        if self.y.shape != (self.n_series,):
            raise DataError(f"{self.name}: y must have shape ({self.n_series},); got {self.y.shape}.")
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= self.n_classes):
            raise DataError(
                f"{self.name}: encoded labels must lie in 0..{self.n_classes - 1} (one per entry of "
                f"classes); got {self.y.min()}..{self.y.max()}."
            )

    def _check_mask(self) -> None:
        if self.mask is None:
            return
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.shape != (self.n_series, self.length):
            raise DataError(
                f"{self.name}: mask must have shape ({self.n_series}, {self.length}); got {self.mask.shape}."
            )

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_arrays(
        cls,
        X: Any,
        y: Any = None,
        *,
        name: str = "array",
        classes: Sequence[str] | None = None,
        stats: Stats | None = None,
        normalisation: str = "auto",
    ) -> TimeSeriesDataset:
        """Build a dataset from arrays in original units.

        Parameters
        ----------
        X : array-like, shape (n_series, length) or (n_series, n_channels, length)
            Series in original units. Trailing ``NaN`` marks the end of a shorter series (it becomes
            padding and is recorded in ``mask``); ``NaN`` or ``inf`` anywhere else is a :class:`DataError`.
        y : array-like, shape (n_series,), optional
            Raw labels of any type (strings, ints, floats); they are encoded as ``0..C-1``.
        name : str
            Name used in summaries and error messages.
        classes : list of str, optional
            Class names to encode with, in order (e.g. ``train.classes``). Labels are matched by name, so
            pass raw labels, not codes; a label not among them is a :class:`DataError`.
        stats : (mean, std), optional
            Normalisation statistics to apply (e.g. ``train.stats``): two floats, or two sequences of one
            value per channel; by default they are computed from the observed values of ``X``.
        normalisation : {"auto", "global", "channel"}
            How statistics are computed when ``stats`` is not given (see `NORMALISATIONS`).
        """
        raw = raw_from_arrays(X, y, source=name)
        return build_dataset(raw, stats=stats, classes=classes, normalisation=normalisation)

    # ------------------------------------------------------------------ units

    def normalise(self, X_raw: ArrayT) -> ArrayT:
        """Map series from original units to normalised units: ``(X_raw - mean) / std``.

        Works on NumPy arrays and torch tensors of any shape (``(..., n_channels, length)`` with per-channel
        statistics); the dtype of floating inputs is kept.
        """
        X_raw = _as_floating(X_raw)
        return (X_raw - broadcast_stat(self.mean, X_raw)) / broadcast_stat(self.std, X_raw)

    def to_original_units(self, X: ArrayT) -> ArrayT:
        """Map series from normalised units back to original units: ``X * std + mean``.

        Padding (where ``mask`` is False) maps to ``mean``; use ``mask`` to ignore it.
        """
        X = _as_floating(X)
        return X * broadcast_stat(self.std, X) + broadcast_stat(self.mean, X)

    @property
    def stats(self) -> Stats:
        """``(mean, std)`` to pass as ``stats=`` when loading data that must share this normalisation: two
        floats, or two tuples of one float per channel (tuples, so that ``==`` compares them)."""
        return (_hashable(self.mean), _hashable(self.std))

    @property
    def per_channel(self) -> bool:
        """True when each channel has its own mean and std."""
        return isinstance(self.mean, np.ndarray)

    # ------------------------------------------------------------------ shape and labels

    @property
    def n_series(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.X.shape[1])

    @property
    def length(self) -> int:
        return int(self.X.shape[2])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return self.n_series

    def class_counts(self) -> np.ndarray:
        """Number of series per class, shape ``(n_classes,)``, in encoded order (empty when unlabelled)."""
        if self.y is None:
            return np.zeros(0, dtype=np.int64)
        return np.bincount(self.y, minlength=self.n_classes).astype(np.int64)

    def subset(self, indices: Any) -> TimeSeriesDataset:
        """Return the series at ``indices`` (integer indices or a boolean mask), same classes and stats."""
        index = np.asarray(indices)
        mask = None if self.mask is None else self.mask[index]
        if mask is not None and mask.all():
            mask = None  # the contract: None when every remaining series has full length
        return TimeSeriesDataset(
            X=self.X[index],
            y=None if self.y is None else self.y[index],
            classes=list(self.classes),
            name=self.name,
            mask=mask,
            mean=self.mean,
            std=self.std,
            split=self.split,
        )

    # ------------------------------------------------------------------ display

    @property
    def n_padded(self) -> int:
        """Number of series shorter than ``length`` (padded; see ``mask``)."""
        return 0 if self.mask is None else int((~self.mask).any(axis=1).sum())

    def summary(self) -> str:
        """A few human-readable lines: size, shape, classes, statistics, padding."""
        title = self.name if self.split is None else f"{self.name} ({self.split})"
        lines = [
            f"{title}: {_plural(self.n_series, 'series', 'series')}, "
            f"{_plural(self.n_channels, 'channel', 'channels')}, length {self.length}, {self._class_text()}",
            f"normalisation: {self._stats_text()} (training split, original units)",
        ]
        if self.mask is not None:
            lengths = self.mask.sum(axis=1)
            lines.append(
                f"variable length: {self.n_padded} of {self.n_series} series shorter than {self.length} "
                f"(shortest {int(lengths.min())}); padding is 0 and masked"
            )
        return "\n".join(lines)

    def _stats_text(self) -> str:
        if not self.per_channel:
            return f"mean {self.mean:.6g}, std {self.std:.6g}"
        shown = min(self.n_channels, 4)
        more = ", ..." if self.n_channels > shown else ""
        means = ", ".join(f"{v:.4g}" for v in self.mean[:shown])
        stds = ", ".join(f"{v:.4g}" for v in self.std[:shown])
        return f"per channel, mean [{means}{more}], std [{stds}{more}]"

    def _class_text(self) -> str:
        if self.y is None:
            return "unlabelled"
        counts = [f"{name}: {count}" for name, count in zip(self.classes, self.class_counts(), strict=True)]
        if len(counts) > _MAX_CLASSES_SHOWN:
            counts = [*counts[:_MAX_CLASSES_SHOWN], "..."]
        return f"{_plural(self.n_classes, 'class', 'classes')} [{', '.join(counts)}]"

    def __repr__(self) -> str:
        return f"<TimeSeriesDataset {self.summary().splitlines()[0]}>"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def broadcast_stat(stat: Stat, like: Any) -> Any:
    """A statistic shaped to broadcast against series ``like`` (..., C, L): a float as is, a per-channel
    array as ``(C, 1)`` (a tensor on ``like``'s device and dtype when ``like`` is one)."""
    if not isinstance(stat, np.ndarray):
        return stat
    column = stat.reshape(-1, 1)
    if hasattr(like, "new_tensor"):  # a torch tensor; avoid importing torch here
        return like.new_tensor(column)
    return column.astype(like.dtype) if np.issubdtype(np.asarray(like).dtype, np.floating) else column


def _hashable(stat: Stat) -> float | tuple[float, ...]:
    return tuple(float(v) for v in stat) if isinstance(stat, np.ndarray) else stat


def _as_floating(X: Any) -> Any:
    # NumPy integers (and lists) would otherwise be computed in float64 anyway; tensors pass through.
    if isinstance(X, np.ndarray):
        return X if np.issubdtype(X.dtype, np.floating) else X.astype(np.float64)
    if isinstance(X, (list, tuple, int, float)):
        return np.asarray(X, dtype=np.float64)
    return X


# ---------------------------------------------------------------------- building from raw series


def check_stats(stats: Any, *, source: str, n_channels: int | None = None) -> tuple[Stat, Stat]:
    """Validate ``(mean, std)``: two finite numbers, or two sequences of ``n_channels`` finite numbers;
    ``std > 0``. Returns floats, or float64 arrays of shape ``(n_channels,)``."""
    try:
        mean, std = (_as_stat(value) for value in stats)
    except (TypeError, ValueError):
        raise DataError(f"{source}: stats must be a pair (mean, std) of numbers; got {stats!r}.") from None
    if isinstance(mean, np.ndarray) != isinstance(std, np.ndarray):
        raise DataError(f"{source}: stats must be two numbers or two sequences; got {stats!r}.")
    if isinstance(mean, np.ndarray) and not (
        mean.shape == std.shape and (n_channels is None or mean.shape == (n_channels,))
    ):
        expected = "" if n_channels is None else f" {n_channels}"
        raise DataError(
            f"{source}: per-channel stats need one mean and one std for each of the{expected} channels; got "
            f"{len(mean)} and {len(std)}."
        )
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
        raise DataError(f"{source}: stats must be finite with std > 0; got mean={mean}, std={std}.")
    return mean, std


def _as_stat(value: Any) -> Stat:
    """A float, or a 1-D float64 array for a sequence (a one-element sequence stays per channel)."""
    if np.ndim(value) == 0:
        return float(value)
    array = np.array(value, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError("a per-channel statistic must be one-dimensional")
    return array


def compute_stats(values: np.ndarray, *, source: str, per_channel: bool = False) -> tuple[Stat, Stat]:
    """Mean and std of the observed (non-NaN) values of ``values`` (n, C, L): two floats over everything,
    or with ``per_channel`` two arrays of shape ``(C,)``. A constant channel keeps std 1 (it is only
    shifted: there is no variation to scale)."""
    observed = values[~np.isnan(values)]
    mean, std = float(observed.mean()), float(observed.std())
    if std == 0:
        raise DataError(
            f"{source}: every observed value equals {mean:g}, so the data cannot be scaled to unit "
            f"variance and there is nothing to model. Check that the right column/file was read."
        )
    if not per_channel:
        return mean, std
    means, stds = np.empty(values.shape[1]), np.empty(values.shape[1])
    for c in range(values.shape[1]):
        channel = values[:, c][~np.isnan(values[:, c])]
        means[c] = channel.mean() if channel.size else 0.0
        stds[c] = channel.std() if channel.size else 0.0
    constant = stds == 0
    if constant.any():
        logger.info(
            "%s: channels %s are constant; they are shifted, not scaled.", source, np.flatnonzero(constant)
        )
        stds[constant] = 1.0
    return means, stds


def resolve_normalisation(normalisation: str, n_channels: int) -> bool:
    """Whether `normalisation` (one of `NORMALISATIONS`) means per-channel statistics for this data."""
    if normalisation not in NORMALISATIONS:
        raise DataError(f"normalisation must be one of {NORMALISATIONS}; got {normalisation!r}.")
    return normalisation == "channel" or (normalisation == "auto" and n_channels > 1)


def raw_from_arrays(X: Any, y: Any, *, source: str) -> RawSeries:
    """Wrap user arrays as :class:`RawSeries` (checking type and shape, not yet values)."""
    values = _numeric_array(X, what="X", source=source)
    ndim = values.ndim
    if ndim == 2:
        values = values[:, None, :]  # keep the channel axis always: (n, L) -> (n, 1, L)
    elif ndim != 3:
        raise DataError(
            f"{source}: X must have shape (n_series, length) or (n_series, n_channels, length); "
            f"got shape {values.shape}."
        )
    labels = None
    if y is not None:
        labels = np.asarray(y, dtype=object).ravel()
        if len(labels) != len(values):
            raise DataError(f"{source}: X has {len(values)} series but y has {len(labels)} labels.")
    return RawSeries(
        values=values,
        labels=labels,
        name=source,
        source=source,
        locate=array_locator(source, ndim),
        locate_label=lambda i: f"{source}: y[{i}]",
    )


def _numeric_array(X: Any, *, what: str, source: str) -> np.ndarray:
    if hasattr(X, "detach"):  # a torch tensor; avoid importing torch here
        X = X.detach().cpu().numpy()
    try:
        array = np.asarray(X)
    except ValueError as error:  # ragged nested lists
        raise DataError(
            f"{source}: {what} is ragged ({error}). Pad shorter series with trailing NaN to one length."
        ) from None
    # Booleans are flags, not measurements: a bool array is refused like a bool column of a table.
    if array.dtype.kind not in "iuf":
        raise DataError(
            f"{source}: {what} must hold real numbers; got dtype {array.dtype}. Convert it to float "
            f"(pad shorter series with trailing NaN)."
        )
    return array.astype(np.float64)


def build_dataset(
    raw: RawSeries,
    *,
    stats: Stats | None = None,
    classes: Sequence[str] | None = None,
    classes_from: str = "the given classes",
    min_length: int = 0,
    split: str | None = None,
    normalisation: str = "auto",
) -> TimeSeriesDataset:
    """Validate, encode, normalise and pad raw series.

    Parameters
    ----------
    raw : RawSeries
        Values of shape (n, C, L) in original units, trailing ``NaN`` = padding.
    stats : (mean, std), optional
        Apply these instead of computing them from ``raw``.
    classes : list of str, optional
        Encode labels with these class names (unseen labels are an error).
    classes_from : str
        Where ``classes`` came from, for the unseen-class error message.
    min_length : int
        Pad to at least this length (a test split is padded to the training length).
    split : str, optional
        Stored for display.
    normalisation : {"auto", "global", "channel"}
        How statistics are computed when ``stats`` is not given (see `NORMALISATIONS`).
    """
    lengths = series_lengths(raw)  # (n,)
    n_channels = raw.values.shape[1]
    per_channel = resolve_normalisation(normalisation, n_channels)
    mean, std = (
        check_stats(stats, source=raw.source, n_channels=n_channels)
        if stats is not None
        else compute_stats(raw.values, source=raw.source, per_channel=per_channel)
    )
    check_float32_precision(raw, mean)
    y, names = _encode(raw, classes, classes_from)
    length = max(int(lengths.max()), min_length)
    X = np.zeros((raw.values.shape[0], raw.values.shape[1], length), dtype=np.float32)
    kept = min(length, raw.values.shape[2])  # columns that are padding in every series are dropped
    # Padding is 0 in normalised space (= the training mean); mask records it so nothing is silently filled.
    values = raw.values[:, :, :kept]
    X[:, :, :kept] = np.nan_to_num(
        (values - broadcast_stat(mean, values)) / broadcast_stat(std, values), nan=0.0
    )
    mask = np.arange(length)[None, :] < lengths[:, None]  # (n, L)
    if mask.all():
        mask = None
    else:
        logger.info(
            "%s: %d series are shorter than %d; padded and masked.", raw.source, (~mask).any(1).sum(), length
        )
    return TimeSeriesDataset(
        X=X, y=y, classes=names, name=raw.name, mask=mask, mean=mean, std=std, split=split
    )


def _encode(
    raw: RawSeries, classes: Sequence[str] | None, classes_from: str
) -> tuple[np.ndarray | None, list[str]]:
    if raw.labels is None:
        return None, []
    return encode_labels(raw.labels, classes, where=raw.locate_label, classes_from=classes_from)
