"""Variable-length data in evaluation: how padded steps enter the metrics, and the length check.

Padding. Every series that a metric sees (real train and test, synthetic) is in the training split's
normalised units with its padded steps set to exactly 0 there (`zero_padding`), the value the data layer
stores and the reference FCN is trained on. Real and synthetic padding is then the same number, so it
carries nothing about being real or synthetic; what is left is the length itself, whose distribution the
length check compares directly.

Length check. The two-sample Kolmogorov–Smirnov test between the real training lengths and the sampled
lengths, overall and per class, with the Wasserstein-1 distance in time steps beside it (the mean number of
steps the length distribution must move, readable when a class holds few series).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

# Terms of the Kolmogorov series: enough for double precision at every argument where they are used.
_SERIES_TERMS = 100
# Below this argument the alternating series converges slowly; the theta-function form is used instead.
_SMALL_ARGUMENT = 1.18


def zero_padding(x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``x`` with 0 on padded steps (normalised units: the training mean).

    Parameters
    ----------
    x : np.ndarray, shape (n, C, L)
    mask : np.ndarray of bool, shape (n, L), or None
        True on observed steps; None when every series has full length (``x`` is returned as it is).
    """
    if mask is None:
        return x
    return np.where(np.asarray(mask, dtype=bool)[:, None, :], x, 0).astype(x.dtype, copy=False)


def series_lengths(mask: np.ndarray | None, n: int, length: int) -> np.ndarray:
    """Observed length ``(n,)`` of each series: the mask's count, or ``length`` for all when it is None."""
    if mask is None:
        return np.full(n, length, dtype=np.int64)
    return np.asarray(mask, dtype=bool).sum(axis=1).astype(np.int64)


def ks_two_sample(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic and asymptotic p-value.

    ``D = max_x |F_a(x) - F_b(x)|`` over the pooled values, with ``F`` the right-continuous empirical
    distribution functions (ties, as lengths have many, are handled exactly). The p-value is the
    Kolmogorov limit distribution's survival function at ``sqrt(n m / (n + m)) D`` (Smirnov's asymptotic
    test; scipy's ``kstwobign.sf``, where ``ks_2samp(method="asymp")`` uses the finite-size ``kstwo``).
    For discrete data such as lengths it is conservative (too large): a small p-value is evidence of a
    mismatch, a large one is not proof of a match.

    Parameters
    ----------
    a, b : array-like, shape (n,) and (m,), n, m >= 1

    Returns
    -------
    (float, float)
        ``D`` in [0, 1] and the p-value in [0, 1].
    """
    a, b = _sorted_sample(a), _sorted_sample(b)
    pooled = np.concatenate([a, b])
    f_a = np.searchsorted(a, pooled, side="right") / len(a)
    f_b = np.searchsorted(b, pooled, side="right") / len(b)
    statistic = float(np.max(np.abs(f_a - f_b)))
    effective_n = len(a) * len(b) / (len(a) + len(b))
    return statistic, kolmogorov_sf(math.sqrt(effective_n) * statistic)


def kolmogorov_sf(x: float) -> float:
    """``P(K > x)`` of the Kolmogorov distribution (the limit of ``sqrt(n) D_n``).

    ``2 sum_k (-1)^(k-1) exp(-2 k^2 x^2)`` for ``x >= 1.18``; below, where that alternating series converges
    slowly, ``1 - sqrt(2 pi) / x sum_k exp(-(2k - 1)^2 pi^2 / (8 x^2))`` (the same function, Jacobi's theta
    form).
    """
    if x <= 0.0:
        return 1.0
    k = np.arange(1, _SERIES_TERMS + 1, dtype=np.float64)
    if x < _SMALL_ARGUMENT:
        cdf = (
            math.sqrt(2.0 * math.pi) / x * np.sum(np.exp(-((2.0 * k - 1.0) ** 2) * math.pi**2 / (8.0 * x**2)))
        )
        return float(np.clip(1.0 - cdf, 0.0, 1.0))
    signs = np.where(k % 2 == 1, 1.0, -1.0)
    return float(np.clip(2.0 * np.sum(signs * np.exp(-2.0 * k**2 * x**2)), 0.0, 1.0))


def wasserstein_1(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Wasserstein-1 distance between two empirical distributions, ``integral |F_a - F_b| dx`` (in the units
    of the values: time steps for lengths)."""
    a, b = _sorted_sample(a), _sorted_sample(b)
    grid = np.unique(np.concatenate([a, b]))
    f_a = np.searchsorted(a, grid[:-1], side="right") / len(a)
    f_b = np.searchsorted(b, grid[:-1], side="right") / len(b)
    return float(np.sum(np.abs(f_a - f_b) * np.diff(grid)))


def length_check(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    real_y: np.ndarray | None = None,
    synthetic_y: np.ndarray | None = None,
    classes: Sequence[str] = (),
) -> dict[str, Any]:
    """Does the sampled length distribution match the real one? KS test and Wasserstein-1, overall and per
    class.

    Parameters
    ----------
    real, synthetic : np.ndarray of int, shape (n,) and (m,)
        Observed lengths of the real (training) series and of the synthetic ones.
    real_y, synthetic_y : np.ndarray of int, shape (n,) and (m,), optional
        Class indices; with both, each class present in both sets gets its own figures.
    classes : sequence of str
        Class names, the keys of ``per_class``.

    Returns
    -------
    dict
        ``ks_statistic``, ``ks_p_value`` (`ks_two_sample`), ``wasserstein`` (steps), ``n_real``,
        ``n_synthetic``, ``mean_real``, ``mean_synthetic``, and with labels ``per_class``: the same figures
        per class name.
    """
    result = _compare(real, synthetic)
    if real_y is not None and synthetic_y is not None:
        result["per_class"] = {
            (classes[k] if k < len(classes) else str(k)): _compare(
                real[real_y == k], synthetic[synthetic_y == k]
            )
            for k in np.intersect1d(real_y, synthetic_y).tolist()
        }
    return result


def _compare(real: np.ndarray, synthetic: np.ndarray) -> dict[str, Any]:
    statistic, p_value = ks_two_sample(real, synthetic)
    return {
        "ks_statistic": statistic,
        "ks_p_value": p_value,
        "wasserstein": wasserstein_1(real, synthetic),
        "n_real": len(real),
        "n_synthetic": len(synthetic),
        "mean_real": float(np.mean(real)),
        "mean_synthetic": float(np.mean(synthetic)),
    }


def _sorted_sample(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"a sample must hold at least one finite value, got {len(x)} values")
    return x
