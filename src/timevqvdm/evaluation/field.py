"""The field's scores for synthetic time series, as in the TimeGAN, Diffusion-TS and FM-TS tables.

One call, :func:`field_metrics`, computes each score ``repeats`` times (5 in the papers) and reports mean,
standard deviation and the single runs:

* ``discriminative``: :func:`~timevqvdm.evaluation.gru_scores.gru_discriminative_score` (TimeGAN);
* ``predictive``: :func:`~timevqvdm.evaluation.gru_scores.predictive_score` (TimeGAN);
* ``correlational``: :func:`correlational_score` (Diffusion-TS, after Liao et al.);
* ``context_fid``: :func:`context_fid` (PSA-GAN, Jeha et al. 2022) on a TS2Vec-style encoder.

Every score takes a mask per set (True = observed); padded values are never read. The published figures
are computed on data scaled to [0, 1] (Sines as generated; other datasets min-max scaled per channel with
the real data's minimum and maximum, :func:`minmax_scale`), so pass data in those units to compare.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch

from timevqvdm.evaluation.distribution import as_series
from timevqvdm.evaluation.gru_scores import (
    BATCH_SIZE,
    DISCRIMINATIVE_ITERATIONS,
    PREDICTIVE_ITERATIONS,
    TRAIN_FRACTION,
    gru_discriminative_score,
    predictive_score,
)
from timevqvdm.evaluation.metrics import fid
from timevqvdm.evaluation.series import check_pair, check_series
from timevqvdm.evaluation.ts2vec import TS2VecConfig, train_ts2vec, ts2vec_features

__all__ = [
    "FIELD_METRICS",
    "FieldConfig",
    "context_fid",
    "correlational_score",
    "cross_correlation",
    "field_metrics",
    "minmax_scale",
    "published_units",
]

FIELD_METRICS = ("discriminative", "predictive", "correlational", "context_fid")
CORRELATION_DIVISOR = 10.0  # Diffusion-TS's CrossCorrelLoss divides the absolute sum by 10


@dataclass(frozen=True)
class FieldConfig:
    """Training budgets of the metrics' networks; the defaults are the published ones.

    Attributes
    ----------
    discriminative_iterations, predictive_iterations : int
        TimeGAN's 2000 and 5000 optimiser steps.
    batch_size : int
        Series per set and step for both GRUs (TimeGAN: 128).
    train_fraction : float
        Share of each set the discriminator trains on (TimeGAN: 0.8).
    hidden_size : int or None
        Width of both GRUs; None = ``max(n_channels // 2, 1)`` (TimeGAN).
    ts2vec : TS2VecConfig
        The context-FID encoder (TS2Vec's defaults).
    """

    discriminative_iterations: int = DISCRIMINATIVE_ITERATIONS
    predictive_iterations: int = PREDICTIVE_ITERATIONS
    batch_size: int = BATCH_SIZE
    train_fraction: float = TRAIN_FRACTION
    hidden_size: int | None = None
    ts2vec: TS2VecConfig = field(default_factory=TS2VecConfig)


# ------------------------------------------------------------------------------------------ correlational
def cross_correlation(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Lag-0 cross-correlation matrix of the channels, as Diffusion-TS's ``cacf_torch(x, max_lag=1)``.

    Each channel is standardised with the mean and standard deviation (``ddof=1``) of all its observed
    values in the set; entry ``(i, j)`` is the mean over series of the mean over observed steps of
    ``z_i(t) z_j(t)``. A constant channel gets correlation 0 instead of a division by zero.

    Parameters
    ----------
    x : np.ndarray, shape (n_cases, n_channels, n_timepoints)
    mask : np.ndarray of bool, shape (n_cases, n_timepoints), or None

    Returns
    -------
    np.ndarray of float64, shape (n_channels, n_channels)
        Symmetric; the diagonal is ``(N - 1) / N`` for N observed values per channel.
    """
    values, observed = check_series(x, mask)
    v, obs = values.astype(np.float64), observed[:, None, :]  # (n, C, L), (n, 1, L)
    count = int(observed.sum())
    if count < 2:
        raise ValueError("cross_correlation needs at least two observed values")
    centred = np.where(obs, v - (v * obs).sum(axis=(0, 2))[None, :, None] / count, 0.0)
    std = np.sqrt((centred**2).sum(axis=(0, 2)) / (count - 1))  # (C,)
    z = centred / np.where(std > 0, std, np.inf)[None, :, None]
    per_series = np.einsum("nit,njt->nij", z, z) / observed.sum(axis=1)[:, None, None]
    return per_series.mean(axis=0)


def correlational_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    mask_real: np.ndarray | None = None,
    mask_synthetic: np.ndarray | None = None,
    sample_size: int | None = None,
    seed: int = 0,
) -> float:
    """Diffusion-TS's correlational score: ``sum_{i >= j} |R_syn[i, j] - R_real[i, j]| / 10``.

    ``R`` is :func:`cross_correlation` of a set; the sum runs over the lower triangle with the diagonal,
    as Diffusion-TS's ``CrossCorrelLoss`` (the cross-correlation loss of Liao et al., "Conditional
    Sig-Wasserstein GANs for time series generation") sums ``torch.abs`` over ``torch.tril_indices`` and
    divides by 10. The diagonal terms are ``(N - 1) / N`` in both sets and nearly cancel.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_cases, n_channels, n_timepoints)
    mask_real, mask_synthetic : np.ndarray of bool, shape (n_cases, n_timepoints), or None
    sample_size : int or None
        Score a random subset of this many series from each set (Diffusion-TS uses ``n_real / 5`` per
        run); None = every series, which makes the score of identical sets exactly 0.
    seed : int
        The subsets.

    Returns
    -------
    float
        >= 0; 0 when the two matrices agree.
    """
    r, mr, s, ms = check_pair(real, synthetic, mask_real, mask_synthetic)
    if sample_size is not None:
        if not 1 <= sample_size <= min(len(r), len(s)):
            raise ValueError(f"sample_size must be in [1, {min(len(r), len(s))}], got {sample_size}")
        rng = np.random.default_rng(seed)
        pick_r, pick_s = (rng.choice(len(a), sample_size, replace=False) for a in (r, s))
        r, mr, s, ms = r[pick_r], mr[pick_r], s[pick_s], ms[pick_s]
    difference = cross_correlation(s, ms) - cross_correlation(r, mr)
    rows, cols = np.tril_indices(r.shape[1])
    return float(np.abs(difference[rows, cols]).sum() / CORRELATION_DIVISOR)


# ------------------------------------------------------------------------------------------ context-FID
def context_fid(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    mask_real: np.ndarray | None = None,
    mask_synthetic: np.ndarray | None = None,
    seed: int = 0,
    config: TS2VecConfig | None = None,
    device: str | torch.device = "cpu",
) -> float:
    """Context-FID (Jeha et al. 2022): FID between TS2Vec representations of the two sets.

    A fresh TS2Vec-style encoder (:mod:`timevqvdm.evaluation.ts2vec`) is trained on ``real`` (pass the
    real training data); each series is represented by the maximum of its step representations over its
    observed steps, and the Fréchet distance between Gaussians fitted to the two sets of representations is
    :func:`timevqvdm.evaluation.fid`, the same as for the FCN features.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_cases, n_channels, n_timepoints)
    mask_real, mask_synthetic : np.ndarray of bool, shape (n_cases, n_timepoints), or None
    seed : int
        The encoder's training.
    config : TS2VecConfig or None
        None = TS2Vec's defaults.
    device : str or torch.device

    Returns
    -------
    float
        >= 0; 0 for identical sets.
    """
    r, mr, s, ms = check_pair(real, synthetic, mask_real, mask_synthetic)
    encoder = train_ts2vec(r, mr, config=config, seed=seed, device=device)
    return fid(ts2vec_features(encoder, r, mr), ts2vec_features(encoder, s, ms))


# ------------------------------------------------------------------------------------------ entry point
def field_metrics(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    mask_real: np.ndarray | None = None,
    mask_synthetic: np.ndarray | None = None,
    repeats: int = 5,
    seed: int = 0,
    metrics: Sequence[str] = FIELD_METRICS,
    config: FieldConfig | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, dict[str, Any]]:
    """The field's scores, each computed ``repeats`` times with seeds ``seed, seed + 1, ...``.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_cases, n_channels, n_timepoints)
        The same n_channels; n_timepoints may differ (the shorter is padded). For comparison with published
        figures, values scaled to [0, 1] (see :func:`minmax_scale`).
    mask_real, mask_synthetic : np.ndarray of bool, shape (n_cases, n_timepoints), or None
        True = observed; None = all observed.
    repeats : int
        Runs per score; each run trains fresh networks. The correlational score of each run uses a random
        ``min(n_real, n_synthetic) // repeats`` series of each set, as Diffusion-TS does (all series when
        ``repeats`` is 1).
    seed : int
        Seed of the first run.
    metrics : sequence of str
        A subset of ``FIELD_METRICS``.
    config : FieldConfig or None
        Training budgets; None = the published ones.
    device : str or torch.device
        Where the networks run.

    Returns
    -------
    dict
        ``{name: {"mean": float, "std": float, "runs": list of float}}`` per requested score; ``std`` is
        the population standard deviation (``ddof=0``) of the runs.
    """
    unknown = sorted(set(metrics) - set(FIELD_METRICS))
    if unknown or repeats < 1:
        raise ValueError(
            f"metrics must be among {FIELD_METRICS} (got {unknown}) and repeats >= 1 ({repeats})"
        )
    min_observed = 2 if "predictive" in metrics else 1
    r, mr, s, ms = check_pair(real, synthetic, mask_real, mask_synthetic, min_observed=min_observed)
    result = {}
    for name in metrics:
        score = _scorer(name, r, mr, s, ms, config or FieldConfig(), repeats, device)
        runs = [score(seed=seed + k) for k in range(repeats)]
        result[name] = {"mean": float(np.mean(runs)), "std": float(np.std(runs)), "runs": runs}
    return result


def _scorer(
    name: str,
    r: np.ndarray,
    mr: np.ndarray,
    s: np.ndarray,
    ms: np.ndarray,
    config: FieldConfig,
    repeats: int,
    device: str | torch.device,
) -> Callable[..., float]:
    """The score ``name`` on these sets as a function of the seed alone."""
    sets = {"real": r, "synthetic": s, "mask_real": mr, "mask_synthetic": ms}
    if name == "discriminative":
        return partial(
            gru_discriminative_score,
            **sets,
            iterations=config.discriminative_iterations,
            batch_size=config.batch_size,
            train_fraction=config.train_fraction,
            hidden_size=config.hidden_size,
            device=device,
        )
    if name == "predictive":
        return partial(
            predictive_score,
            **sets,
            iterations=config.predictive_iterations,
            batch_size=config.batch_size,
            hidden_size=config.hidden_size,
            device=device,
        )
    if name == "correlational":
        sample_size = min(len(r), len(s)) // repeats if repeats > 1 else None
        return partial(correlational_score, **sets, sample_size=sample_size)
    return partial(context_fid, **sets, config=config.ts2vec, device=device)


def minmax_scale(
    real: np.ndarray, synthetic: np.ndarray, *, mask_real: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Scale both sets per channel with the real data's minimum and maximum, as TimeGAN's ``MinMaxScaler``.

    ``(x - min_c) / (max_c - min_c + 1e-7)`` with ``min_c``, ``max_c`` over the observed real values of
    channel ``c``; the real data then lie in [0, 1], the units of the published figures. Padded cells are
    scaled too and stay padding.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_cases, n_channels, n_timepoints) or (n_cases, n_timepoints)
    mask_real : np.ndarray of bool, shape (n_cases, n_timepoints), or None

    Returns
    -------
    real, synthetic : np.ndarray of float64, shape (n_cases, n_channels, n_timepoints)
    """
    _, observed = check_series(real, mask_real, name="real")
    real_a, synthetic_a = as_series(real), as_series(synthetic)
    obs = observed[:, None, :]  # (n, 1, L)
    low = np.where(obs, real_a, np.inf).min(axis=(0, 2), keepdims=True)  # (1, C, 1)
    high = np.where(obs, real_a, -np.inf).max(axis=(0, 2), keepdims=True)
    return (real_a - low) / (high - low + 1e-7), (synthetic_a - low) / (high - low + 1e-7)


def published_units(
    real: np.ndarray, synthetic: np.ndarray, *, mask_real: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both sets in the units the published figures use, and whether they were rescaled.

    Real data whose observed values already lie in [0, 1] are taken as they are, with the synthetic set
    unchanged: Sines as generated (values in [0.5, 1]), on which TimeGAN, Diffusion-TS and FM-TS score
    without further scaling (min-max scaling it would stretch each channel to [0, 1] and double the
    predictive score's absolute errors). Any other real data are min-max scaled per channel, the synthetic
    set with the real statistics (:func:`minmax_scale`), as TimeGAN's ``MinMaxScaler``.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_cases, n_channels, n_timepoints) or (n_cases, n_timepoints)
        Original units.
    mask_real : np.ndarray of bool, shape (n_cases, n_timepoints), or None

    Returns
    -------
    real, synthetic : np.ndarray of float64, shape (n_cases, n_channels, n_timepoints)
    scaled : bool
        True when :func:`minmax_scale` was applied.
    """
    _, observed = check_series(real, mask_real, name="real")
    real_a, synthetic_a = as_series(real), as_series(synthetic)
    seen = real_a[np.broadcast_to(observed[:, None, :], real_a.shape)]
    if seen.min() >= 0.0 and seen.max() <= 1.0:
        return real_a, synthetic_a, False
    return (*minmax_scale(real, synthetic, mask_real=mask_real), True)
