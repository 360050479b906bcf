"""The length model of variable-length data: each generated series draws its length from the training lengths.

The lengths of the training series are kept per class (one list for unlabelled data), as data: a model
stores them beside its class counts. A generated series of class ``k`` takes a length drawn uniformly from
the lengths of the training series of class ``k`` (the empirical distribution); an unconditional one from
all of them. Its values after that length are padding, recorded in the mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from timevqvdm.data.dataset import TimeSeriesDataset

__all__ = ["draw_lengths", "length_mask", "lengths_by_class"]

# The spawn key of the length draws' random stream: a sample's lengths come from the sampling seed without
# touching the streams that draw its values or its labels.
_LENGTH_STREAM = 24


def lengths_by_class(dataset: TimeSeriesDataset) -> list[list[int]] | None:
    """Sorted observed lengths per class (``[[...]]`` for unlabelled data); None when every series has the
    full length (the model then draws nothing)."""
    if dataset.mask is None:
        return None
    lengths = dataset.mask.sum(axis=1).astype(np.int64)  # (n,)
    if dataset.y is None:
        return [sorted(int(v) for v in lengths)]
    return [sorted(int(v) for v in lengths[dataset.y == k]) for k in range(dataset.n_classes)]


def draw_lengths(lengths: Sequence[Sequence[int]], y: np.ndarray | None, n: int, seed: int) -> np.ndarray:
    """Lengths ``(n,)`` int64 of ``n`` generated series.

    Parameters
    ----------
    lengths : the training lengths per class, as `lengths_by_class` gives them.
    y : ``(n,)`` class of each series, or None to draw from all training lengths.
    seed : the sampling seed; the draws use their own stream of it.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_LENGTH_STREAM,)))
    if y is None or len(lengths) == 1:
        pooled = np.concatenate([np.asarray(part, dtype=np.int64) for part in lengths])
        return rng.choice(pooled, size=n)
    pooled = np.concatenate([np.asarray(part, dtype=np.int64) for part in lengths])
    drawn = np.empty(n, dtype=np.int64)
    for k, part in enumerate(lengths):
        rows = np.flatnonzero(y == k)
        if len(rows):
            # A class without training series (named in `classes=` only) has no lengths: use all of them.
            choices = np.asarray(part, dtype=np.int64) if len(part) else pooled
            drawn[rows] = rng.choice(choices, size=len(rows))
    return drawn


def length_mask(lengths: np.ndarray, length: int) -> np.ndarray | None:
    """``(n, length)`` bool mask, True on the first ``lengths[i]`` steps; None when all are full length."""
    mask = np.arange(length)[None, :] < np.asarray(lengths)[:, None]
    return None if mask.all() else mask
