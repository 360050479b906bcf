"""Distribution checks that need no trained feature extractor: ACF, power spectrum, a real-vs-synthetic probe.

They complement FID: FID sees the series through an FCN trained for classification, which can be blind to
properties irrelevant to the classes (noise level, spectral slope). These look at the series directly.
"""

from __future__ import annotations

import numpy as np
import torch


def mean_autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation at lags 1..max_lag averaged over series.

    Parameters
    ----------
    x : np.ndarray, shape (n, C, L)
    max_lag : int

    Returns
    -------
    np.ndarray, shape (C, max_lag)
    """
    return _autocorrelation(as_series(x), max_lag).mean(axis=0)


def _autocorrelation(a: np.ndarray, max_lag: int) -> np.ndarray:
    """(n, C, L) -> (n, C, max_lag): per-series autocorrelation via the FFT."""
    centred = a - a.mean(axis=-1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=2 * a.shape[-1], axis=-1)  # zero padding: linear, not circular
    acov = np.fft.irfft(np.abs(spectrum) ** 2, axis=-1)[..., : max_lag + 1]
    return acov[..., 1:] / np.maximum(acov[..., :1], 1e-12)


def autocorrelation_distance(real: np.ndarray, synthetic: np.ndarray, max_lag: int | None = None) -> float:
    """Mean absolute difference between the mean autocorrelation functions, lags 1..max_lag.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n, C, L) (same C and L)
    max_lag : int or None
        Default ``min(L - 1, 64)``.

    Returns
    -------
    float
        In [0, 2]; 0 when the mean ACFs agree.
    """
    r, s = _pair(real, synthetic)
    lag = min(r.shape[-1] - 1, 64) if max_lag is None else max_lag
    return float(np.mean(np.abs(mean_autocorrelation(r, lag) - mean_autocorrelation(s, lag))))


def mean_power_spectrum(x: np.ndarray) -> np.ndarray:
    """Periodogram of each centred series normalised to sum one, averaged over series.

    Parameters
    ----------
    x : np.ndarray, shape (n, C, L)

    Returns
    -------
    np.ndarray, shape (C, L // 2 + 1)
    """
    return _normalised_periodogram(as_series(x)).mean(axis=0)


def _normalised_periodogram(a: np.ndarray) -> np.ndarray:
    power = np.abs(np.fft.rfft(a - a.mean(axis=-1, keepdims=True), axis=-1)) ** 2
    return power / np.maximum(power.sum(axis=-1, keepdims=True), 1e-12)


def power_spectrum_distance(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Total variation distance between the mean normalised power spectra, averaged over channels.

    Amplitude is divided out per series, so this measures where the power sits in frequency.

    Returns
    -------
    float
        In [0, 1]; 0 when the mean spectra agree.
    """
    r, s = _pair(real, synthetic)
    tv = 0.5 * np.abs(mean_power_spectrum(r) - mean_power_spectrum(s)).sum(axis=-1)
    return float(tv.mean())


def discriminative_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    seed: int = 0,
    test_fraction: float = 0.5,
    l2: float = 1e-2,
) -> float:
    """``|accuracy - 0.5|`` of a classifier separating real from synthetic series on held-out data.

    The classifier is L2-regularised logistic regression on simple per-series features (the values, the
    autocorrelation at lags 1..16, the log normalised periodogram, mean and standard deviation). Both sets
    are subsampled to the same size, split into train/held-out halves with ``seed``; 0 means
    indistinguishable to this probe, 0.5 means perfectly separable.
    This is our own fast linear probe; the field's score (TimeGAN's post-hoc GRU classifier) is
    :func:`timevqvdm.evaluation.gru_discriminative_score`.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n, C, L)
    seed : int
        Controls subsampling and the split.
    test_fraction : float
        Share of each set held out for the accuracy.
    l2 : float
        Weight of the squared-norm penalty on the standardised features.
    """
    r, s = _pair(real, synthetic)
    rng = np.random.default_rng(seed)
    n = min(len(r), len(s))
    n_test = max(1, round(n * test_fraction))
    if n - n_test < 2:
        raise ValueError(f"need at least 4 series per set for a held-out split, got {n}")
    feats = [_probe_features(a[rng.permutation(len(a))[:n]]) for a in (r, s)]
    x_train = np.concatenate([f[n_test:] for f in feats])
    x_test = np.concatenate([f[:n_test] for f in feats])
    y_train = np.repeat([1.0, 0.0], n - n_test)
    y_test = np.repeat([1.0, 0.0], n_test)
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    predict = _fit_logistic((x_train - mu) / sd, y_train, l2)
    accuracy = float(np.mean(predict((x_test - mu) / sd) == y_test))
    return abs(accuracy - 0.5)


def _probe_features(a: np.ndarray) -> np.ndarray:
    lag = min(a.shape[-1] - 1, 16)
    acf = _autocorrelation(a, lag)
    log_psd = np.log(_normalised_periodogram(a) + 1e-8)
    moments = np.stack([a.mean(axis=-1), a.std(axis=-1)], axis=-1)
    parts = (a, acf, log_psd, moments)
    return np.concatenate([p.reshape(len(a), -1) for p in parts], axis=1)


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float):
    """Deterministic full-batch L-BFGS fit; returns a function mapping features to 0/1 predictions."""
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w + b, yt) + l2 * (w @ w)
        loss.backward()
        return loss

    opt.step(closure)
    w_, b_ = w.detach(), b.detach()
    return lambda z: ((torch.as_tensor(z) @ w_ + b_) > 0).double().numpy()


def as_series(x: np.ndarray) -> np.ndarray:
    """Series as float64 of shape (n, C, L); a 2-D (n, L) input gains the channel axis."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        a = a[:, None, :]
    if a.ndim != 3:
        raise ValueError(f"series must have shape (n, C, L) or (n, L), got {a.shape}")
    return a


def _pair(real: np.ndarray, synthetic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, s = as_series(real), as_series(synthetic)
    if r.shape[1:] != s.shape[1:]:
        raise ValueError(f"real {r.shape[1:]} and synthetic {s.shape[1:]} series differ in (C, L)")
    return r, s
