"""Scalar quality metrics on classifier outputs: FID, IS and classification accuracy (thesis 2.6).

Pure functions on NumPy arrays; the FCN that produces features and probabilities lives in `fcn.py`.
"""

from __future__ import annotations

import numpy as np


def fid(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (thesis Eq. 38, squared form).

    ``||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^{1/2})``, the usual "FID" figure.

    Parameters
    ----------
    feats_a, feats_b : np.ndarray, shape (n_a, d) and (n_b, d)
        Feature vectors, e.g. the 128-d FCN features after global average pooling.

    Returns
    -------
    float
        The squared Fréchet distance, >= 0.
    """
    a, b = _as_features(feats_a), _as_features(feats_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = _covariance(a), _covariance(b)
    mean_term = float(np.sum((mu_a - mu_b) ** 2))
    trace_term = float(np.trace(cov_a) + np.trace(cov_b) - 2.0 * _trace_sqrt_product(cov_a, cov_b))
    return max(mean_term + trace_term, 0.0)


def _as_features(feats: np.ndarray) -> np.ndarray:
    x = np.asarray(feats, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must have shape (n >= 2, d), got {x.shape}")
    return x


def _covariance(x: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix; eigenvalues below zero (round-off) are clamped."""
    eigvals, eigvecs = np.linalg.eigh((cov + cov.T) / 2.0)
    return (eigvecs * np.sqrt(np.clip(eigvals, 0.0, None))) @ eigvecs.T


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """tr((S_a S_b)^{1/2}) = sum sqrt(eig(S_a^{1/2} S_b S_a^{1/2})).

    The inner matrix is symmetric PSD, so a symmetric eigensolver gives real eigenvalues; this avoids the
    complex round-off that `scipy.linalg.sqrtm(S_a @ S_b)` produces for nearly singular covariances.
    """
    root_a = _psd_sqrt(cov_a)
    inner = root_a @ cov_b @ root_a
    eigvals = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    return float(np.sum(np.sqrt(np.clip(eigvals, 0.0, None))))


def inception_score(
    probs: np.ndarray, splits: int = 10, *, seed: int | None = None, eps: float = 1e-12
) -> tuple[float, float]:
    """Inception score ``exp(E_x KL(p(y|x) || p(y)))`` (thesis Eq. 37), mean and std over splits.

    Parameters
    ----------
    probs : np.ndarray, shape (n, n_classes)
        Class probabilities of the classifier (rows sum to one) for generated series.
    splits : int
        Number of disjoint chunks; the marginal ``p(y)`` is estimated per chunk.
    seed : int or None
        Shuffle the rows with this seed before splitting. Pass one when rows are ordered by class
        (class-conditional samples), else every chunk would hold one class and score 1. None keeps order.
    eps : float
        Floor inside the logarithms.

    Returns
    -------
    (float, float)
        Mean and standard deviation of the per-chunk scores; between 1 and ``n_classes``.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must have shape (n, n_classes), got {p.shape}")
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be in [1, n={len(p)}], got {splits}")
    if seed is not None:
        p = p[np.random.default_rng(seed).permutation(len(p))]
    scores = [_split_score(chunk, eps) for chunk in np.array_split(p, splits)]
    return float(np.mean(scores)), float(np.std(scores))


def _split_score(p: np.ndarray, eps: float) -> float:
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def classification_accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Share of correct predictions.

    Parameters
    ----------
    predictions : np.ndarray, shape (n,) or (n, n_classes)
        Predicted class indices, or scores/probabilities/logits (arg-maxed over the last axis).
    labels : np.ndarray, shape (n,)
        True class indices.
    """
    pred = np.asarray(predictions)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    true = np.asarray(labels)
    if pred.shape != true.shape:
        raise ValueError(f"predictions {pred.shape} and labels {true.shape} differ in shape")
    return float(np.mean(pred == true))
