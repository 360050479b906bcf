"""Does a generator copy its training data? Nearest-neighbour distances to the train and test splits.

A generator that memorises produces series much closer to some training series than real unseen series
are. The real test split is the yardstick: its own nearest-train distances say how close an honest new
series typically gets to the training set.

Variable length: series are compared at the full padded length with their padded steps at 0 (normalised
units, the training mean) in every set (`lengths.zero_padding`; pass the masks, or zero the padding first as
`evaluate` does). Two series of equal length are compared over their observed steps; of different lengths,
the longer one's extra steps add their distance from the mean. The padding itself then holds the same value
for real and synthetic series; a copy of a training series with its length has distance 0.
"""

from __future__ import annotations

import numpy as np
import torch

from timevqvdm.evaluation.lengths import zero_padding

COPY_QUANTILE = 0.05  # a synthetic series closer to train than 95% of real test series counts as a copy


def nearest_distances(
    queries: np.ndarray, references: np.ndarray, *, exclude_self: bool = False
) -> np.ndarray:
    """Euclidean distance from each query series to its nearest reference series.

    Parameters
    ----------
    queries : np.ndarray, shape (n, C, L) or (n, D)
    references : np.ndarray, shape (m, C, L) or (m, D)
    exclude_self : bool
        When queries and references are the same set, ignore the zero distance to itself
        (leave-one-out).

    Returns
    -------
    np.ndarray, shape (n,)
    """
    q = torch.as_tensor(_flat(queries))
    r = torch.as_tensor(_flat(references))
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"series sizes differ: {q.shape[1]} vs {r.shape[1]}")
    out = []
    for start in range(0, len(q), 1024):  # chunks bound the (chunk, m) distance matrix
        d = torch.cdist(q[start : start + 1024], r)
        if exclude_self:
            idx = torch.arange(start, start + len(d))
            d[torch.arange(len(d)), idx] = float("inf")
        out.append(d.min(dim=1).values)
    return torch.cat(out).numpy()


def honest_copy_share(n_reference: int, quantile: float = COPY_QUANTILE) -> float:
    """The copy share an honest generator is expected to score against ``n_reference`` real unseen series.

    The copy threshold is ``np.quantile`` of the reference's nearest-train distances: with few reference
    series it lands on the smallest ones, which sit higher in the distance distribution than ``quantile``
    does, so an honest generator's expected copy share is larger than ``quantile``. The threshold
    interpolates the order statistics ``k`` and ``k + 1`` (1-based) at weight ``frac``, where
    ``(n - 1) * quantile = k - 1 + frac``; order statistic ``j`` of ``n`` sits on average at the
    ``j / (n + 1)`` quantile of the distribution, so the expectation is the same interpolation of those
    levels (exact for uniform distances, a close approximation for smooth ones). It tends to ``quantile``
    as ``n`` grows.

    Parameters
    ----------
    n_reference : int
        Number of real unseen series the threshold is taken from (at least 1).
    quantile : float

    Returns
    -------
    float
    """
    if n_reference < 1:
        raise ValueError(f"n_reference must be at least 1, got {n_reference}")
    position = (n_reference - 1) * quantile
    below = int(np.floor(position))
    frac = position - below
    return ((1.0 - frac) * (below + 1) + frac * (below + 2)) / (n_reference + 1)


def _flat(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(len(a), -1)


def memorisation(
    synthetic: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    quantile: float = COPY_QUANTILE,
    mask_synthetic: np.ndarray | None = None,
    mask_train: np.ndarray | None = None,
    mask_test: np.ndarray | None = None,
    pool_train: bool = False,
) -> dict[str, float | bool | int]:
    """Nearest-neighbour memorisation figures for synthetic series, with the real test split as reference.

    For every synthetic series: ``d_train`` (distance to nearest training series) and ``d_test`` (nearest
    test series). The copy threshold is the ``quantile`` (5th percentile) of the real test series'
    nearest-train distances; a synthetic series below it is closer to a training series than 95% of real
    unseen series. An honest generator shows a copy share near ``quantile``; a copier near 1.

    Parameters
    ----------
    synthetic : np.ndarray, shape (n_syn, C, L)
    train, test : np.ndarray, shape (n_train, C, L) and (n_test, C, L)
        Real splits, in the same units as ``synthetic``.
    quantile : float
        Quantile of real test nearest-train distances used as copy threshold.
    mask_synthetic, mask_train, mask_test : np.ndarray of bool, shape (n, L), optional
        True on observed steps of variable-length series; padded steps are set to 0 before any distance.
    pool_train : bool
        Take the copy threshold from the test series' nearest-train distances *and* the training series'
        leave-one-out nearest-train distances. A training series' distance to its nearest other training
        series is drawn as an unseen series' distance to a training set one smaller is, so it is a fair
        stand-in for one more real unseen series; pooling makes the threshold steadier when the test part is
        a few series (the novelty check of validation-driven training), at the price of a threshold a
        little higher than the test split alone would give. The median ratio stays against ``test``.

    Returns
    -------
    dict
        ``median_ratio`` (median of d_train / d_test over synthetic series), ``copy_share`` (share below the
        threshold), ``suspected_copying`` (copy share above ``quantile`` by more than three binomial
        standard errors), ``median_d_train``, ``median_d_test``, ``threshold``, and ``real_test_median_ratio``
        / ``real_test_copy_share`` for the real test split (its d_test is leave-one-out; its copy share is
        ``quantile`` by construction), and ``honest_copy_share``: what an honest generator is expected to
        score against this many reference distances (`honest_copy_share`; the test series, plus the
        training series with ``pool_train``).
    """
    synthetic = zero_padding(np.asarray(synthetic), mask_synthetic)
    train, test = zero_padding(np.asarray(train), mask_train), zero_padding(np.asarray(test), mask_test)
    test_d_train = nearest_distances(test, train)
    test_d_test = nearest_distances(test, test, exclude_self=True)
    reference = test_d_train
    if pool_train:
        reference = np.concatenate([test_d_train, nearest_distances(train, train, exclude_self=True)])
    threshold = float(np.quantile(reference, quantile))

    syn_d_train = nearest_distances(synthetic, train)
    syn_d_test = nearest_distances(synthetic, test)
    copy_share = float(np.mean(syn_d_train < threshold))
    n = len(syn_d_train)
    tolerance = 3.0 * np.sqrt(quantile * (1.0 - quantile) / n)
    return {
        "median_ratio": _median_ratio(syn_d_train, syn_d_test),
        "copy_share": copy_share,
        "suspected_copying": bool(copy_share > quantile + tolerance),
        "median_d_train": float(np.median(syn_d_train)),
        "median_d_test": float(np.median(syn_d_test)),
        "threshold": threshold,
        "quantile": quantile,
        "n_synthetic": n,
        "real_test_median_ratio": _median_ratio(test_d_train, test_d_test),
        "real_test_copy_share": float(np.mean(test_d_train < threshold)),
        "honest_copy_share": honest_copy_share(len(reference), quantile),
    }


def _median_ratio(d_train: np.ndarray, d_test: np.ndarray) -> float:
    return float(np.median(d_train / np.maximum(d_test, 1e-12)))
