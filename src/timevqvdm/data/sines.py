"""Sines: the synthetic multichannel benchmark of TimeGAN (Yoon et al. 2019) and Diffusion-TS (Yuan & Qiao 2024).

Every channel of every series is one sine with its own frequency and phase,

    x[c, t] = (sin(f_c * t + phi_c) + 1) / 2,    f_c, phi_c ~ U(0, 0.1),    t = 0, 1, ..., L - 1,

the formula of TimeGAN's released ``sine_data_generation`` (``utils``/``data_loading``), which Diffusion-TS
reuses: the argument is ``f * t`` in radians, *not* ``2 pi f t``. Written as ``sin(2 pi f' t + phi)`` the
frequency is ``f' = f / (2 pi)``, uniform on [0, 0.1 / (2 pi)] cycles per step, so at length 24 a channel
covers at most 2.4 rad, well under half a period. The values therefore lie in [0.5, 1]: ``sin`` of an angle
in [0, 2.4] is non-negative, and ``(x + 1) / 2`` is the scaling to [0, 1] that TimeGAN applies. The
published Sines figures are computed on these values, with no further min-max scaling.

The set is generated, so it needs no download. ``load_dataset("Sines")`` returns the training split, 10 000
series of 5 channels and length 24 as in both papers; ``split="test"`` returns 2 000 further series drawn
with another seed (the papers score against the training series and have no test split; ours serves the
project's own protocol, whose FID reference is the test split).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from timevqvdm.data.dataset import raw_from_arrays
from timevqvdm.data.raw import RawSeries

__all__ = ["SINES_NAME", "SINES_SPLITS", "make_sines", "read_sines"]

SINES_NAME = "Sines"
SINES_CHANNELS = 5
SINES_LENGTH = 24
MAX_FREQUENCY = 0.1  # radians per time step
MAX_PHASE = 0.1  # radians

# (number of series, seed) per split; distinct seeds make the splits independent draws.
SINES_SPLITS = {"train": (10_000, 0), "test": (2_000, 1)}


def make_sines(
    n: int, length: int = SINES_LENGTH, channels: int = SINES_CHANNELS, *, seed: int = 0
) -> np.ndarray:
    """Draw ``n`` Sines series, TimeGAN's ``sine_data_generation`` in a channels-first layout.

    Parameters
    ----------
    n : int
        Number of series.
    length : int
        Time points per series (24 in the papers).
    channels : int
        Channels per series (5 in the papers).
    seed : int
        Seed of a legacy ``np.random.RandomState``. The draws come in TimeGAN's loop order (series, then
        channel, then frequency before phase), so ``np.random.seed(seed)`` followed by TimeGAN's generator
        yields the same values, transposed.

    Returns
    -------
    np.ndarray of float64, shape (n_cases, n_channels, n_timepoints)
        Values in [0.5, 1] (see the module docstring).
    """
    if n < 1 or length < 1 or channels < 1:
        raise ValueError(f"n, length and channels must be positive; got {n}, {length}, {channels}")
    # uniform(0, b) is b * random_sample() in RandomState, so this matches TimeGAN's uniform(0, 0.1) calls.
    draws = np.random.RandomState(seed).random_sample(size=(n, channels, 2))
    frequency, phase = MAX_FREQUENCY * draws[..., :1], MAX_PHASE * draws[..., 1:]  # (n, C, 1) each
    t = np.arange(length, dtype=np.float64)  # (L,)
    return (np.sin(frequency * t + phase) + 1.0) / 2.0


def read_sines(split: str) -> RawSeries:
    """The raw (unnormalised, unlabelled) Sines series of ``split`` ("train" or "test")."""
    n, seed = SINES_SPLITS[split]
    raw = raw_from_arrays(
        make_sines(n, seed=seed), None, source=f"{SINES_NAME} ({split}, generated, seed {seed})"
    )
    return dataclasses.replace(raw, name=SINES_NAME)
