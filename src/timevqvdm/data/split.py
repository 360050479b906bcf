"""The validation part of a training split: stratified by class, fixed by a seed, never trained on.

Size rule, per class of ``n_c`` series: ``round(fraction * n_c)`` held out, at least 1 when ``n_c >= 2`` and
at most ``n_c - 1``, so every class keeps a training series and every class that can spare one is seen by the
validation checks. A class of one series stays whole in training. Unlabelled data is one class. At least two
series are held out in all (the novelty check needs a distance distribution and FID a covariance), taken
from the largest classes, which keeps the rule working for a 16-series training set such as
DiatomSizeReduction's (classes of 1, 6, 5 and 4: three held out). Fewer than four series, or classes too small to spare two without emptying one, cannot:
`validation_indices` refuses.
"""

from __future__ import annotations

import numpy as np

from timevqvdm.data.dataset import TimeSeriesDataset

MIN_VALIDATION = 2


def validation_indices(y: np.ndarray | None, n: int, *, fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """Sorted indices of the validation part of ``n`` series with labels ``y``.

    Parameters
    ----------
    y : np.ndarray of int, shape (n,), or None
        Class labels; None = unlabelled (one class).
    n : int
        Number of series.
    fraction : float
        Share of each class held out, in (0, 1).
    seed : int
        Which series are held out; the same seed gives the same part.

    Returns
    -------
    np.ndarray of int64, shape (n_val,)
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    if n < 2 * MIN_VALIDATION:
        raise ValueError(f"a validation part needs at least {2 * MIN_VALIDATION} training series, got {n}")
    labels = np.zeros(n, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(seed)
    members = {c: rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)}
    take = {c: _per_class(len(idx), fraction) for c, idx in members.items()}
    # Top up to the minimum from the classes with the most series left in training.
    while sum(take.values()) < MIN_VALIDATION:
        c = max(members, key=lambda k: (len(members[k]) - take[k], -k))
        if len(members[c]) - take[c] < 2:
            raise ValueError(
                f"cannot hold out {MIN_VALIDATION} validation series without removing a class from training "
                f"(class sizes {sorted(len(m) for m in members.values())})"
            )
        take[c] += 1
    chosen = np.concatenate([members[c][: take[c]] for c in members])
    return np.sort(chosen).astype(np.int64)


def _per_class(n_c: int, fraction: float) -> int:
    if n_c < 2:
        return 0
    return int(min(max(1, round(fraction * n_c)), n_c - 1))


def split_validation(
    dataset: TimeSeriesDataset, *, fraction: float = 0.2, seed: int = 0
) -> tuple[TimeSeriesDataset, TimeSeriesDataset]:
    """(training part, validation part) of a training split, disjoint, same classes and statistics."""
    val = validation_indices(dataset.y, dataset.n_series, fraction=fraction, seed=seed)
    keep = np.setdiff1d(np.arange(dataset.n_series), val)
    return dataset.subset(keep), dataset.subset(val)


def proportional_labels(n: int, class_counts: np.ndarray) -> np.ndarray:
    """`n` labels whose class counts follow `class_counts` (largest-remainder rounding), sorted by class."""
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.sum() <= 0:
        raise ValueError("class counts must be positive")
    exact = n * counts / counts.sum()
    per_class = np.floor(exact).astype(np.int64)
    remainder = n - per_class.sum()
    # Give the left-over series to the classes with the largest fractional parts (ties: lower index).
    order = np.argsort(-(exact - per_class), kind="stable")
    per_class[order[:remainder]] += 1
    return np.repeat(np.arange(len(counts), dtype=np.int64), per_class)
