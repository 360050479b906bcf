"""Input handling shared by the field's metrics: series with a mask, observed steps moved to the front, seeds.

A mask of shape (n_cases, n_timepoints) is True where a value was observed. Every metric reads observed
values only: padded values are replaced by 0 here, before any network or statistic sees them, so that what
a padded cell holds (0, NaN, anything) cannot change a score.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from timevqvdm.evaluation.distribution import as_series

__all__ = ["check_pair", "check_series", "compact", "seeded"]


def check_series(
    x: np.ndarray, mask: np.ndarray | None = None, *, name: str = "series", min_observed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Validate series and mask; return float32 values with padding set to 0, and the boolean mask.

    Parameters
    ----------
    x : np.ndarray, shape (n_cases, n_channels, n_timepoints) or (n_cases, n_timepoints)
        Padded cells may hold anything, NaN included.
    mask : np.ndarray of bool, shape (n_cases, n_timepoints), or None
        True = observed; None = every value observed.
    name : str
        Names the set in error messages ("real", "synthetic").
    min_observed : int
        Fewest observed time steps a series may have.

    Returns
    -------
    values : np.ndarray of float32, shape (n_cases, n_channels, n_timepoints)
    mask : np.ndarray of bool, shape (n_cases, n_timepoints)
    """
    a = as_series(x)
    n, _, length = a.shape
    if mask is None:
        m = np.ones((n, length), dtype=bool)
    else:
        m = np.asarray(mask)
        if m.dtype != np.bool_ or m.shape != (n, length):
            raise ValueError(
                f"{name}: mask must be a bool array of shape {(n, length)}, got {m.dtype} {m.shape}"
            )
    observed = m[:, None, :]  # (n, 1, L)
    if not np.isfinite(a[np.broadcast_to(observed, a.shape)]).all():
        raise ValueError(f"{name}: observed values must be finite (mark missing steps False in the mask)")
    short = int((m.sum(axis=1) < min_observed).sum())
    if short:
        raise ValueError(f"{name}: {short} series have fewer than {min_observed} observed time steps")
    return np.where(observed, a, 0.0).astype(np.float32), m


def check_pair(
    real: np.ndarray,
    synthetic: np.ndarray,
    mask_real: np.ndarray | None,
    mask_synthetic: np.ndarray | None,
    *,
    min_observed: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check both sets and pad the shorter array (mask False) so that both have the same n_timepoints.

    Returns
    -------
    real, mask_real, synthetic, mask_synthetic
        As :func:`check_series`, with a common n_timepoints; the channel counts must agree.
    """
    r, mr = check_series(real, mask_real, name="real", min_observed=min_observed)
    s, ms = check_series(synthetic, mask_synthetic, name="synthetic", min_observed=min_observed)
    if r.shape[1] != s.shape[1]:
        raise ValueError(f"real and synthetic series differ in channels: {r.shape[1]} vs {s.shape[1]}")
    length = max(r.shape[2], s.shape[2])
    return (*_pad_to(r, mr, length), *_pad_to(s, ms, length))


def _pad_to(x: np.ndarray, mask: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    extra = length - x.shape[2]
    return np.pad(x, ((0, 0), (0, 0), (0, extra))), np.pad(mask, ((0, 0), (0, extra)))


def compact(x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each series' observed steps to the front, in order, for a recurrent network.

    A trailing-padding mask is left as it is; a mask with gaps makes neighbours of the observed values
    adjacent (a recurrent network then reads the observations as one sequence, as TimeGAN's does).

    Parameters
    ----------
    x : np.ndarray, shape (n_cases, n_channels, n_timepoints), padding already 0
    mask : np.ndarray of bool, shape (n_cases, n_timepoints)

    Returns
    -------
    values : np.ndarray, shape (n_cases, n_timepoints, n_channels)
        Time-major per series (batch first), as ``torch.nn.GRU(batch_first=True)`` reads it; 0 after the
        observed steps.
    lengths : np.ndarray of int64, shape (n_cases,)
    """
    order = np.argsort(~mask, axis=1, kind="stable")  # observed steps first, in their original order
    values = np.take_along_axis(x, order[:, None, :], axis=2)
    lengths = mask.sum(axis=1).astype(np.int64)
    values = np.where(np.arange(x.shape[2])[None, None, :] < lengths[:, None, None], values, 0.0)
    return np.ascontiguousarray(values.transpose(0, 2, 1)), lengths


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator (weight initialisation, dropout) and restore it afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
