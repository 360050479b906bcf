"""STFT low/high frequency split and its exact inverse (thesis 2.4, Eq. 32-36; 3.3).

Pure functions on tensors. Shapes:

* series ``x``: ``(B, C, L)``
* spectrogram ``u``: ``(B, 2C, H, W)`` with ``H = n_fft // 2 + 1`` frequency rows and ``W = L // hop + 1``
  frames; the channels hold real and imaginary parts interleaved per input channel
  ``[re_0, im_0, re_1, im_1, ...]``.

The window is rectangular (``w_k = 1``, thesis 3.3) and frames are centred with reflect padding. The
ISTFT is a linear least-squares inverse, so ``istft(stft(x)) == x`` and, by linearity,
``x == ISTFT(P_LF(u)) + ISTFT(P_HF(u))`` for every length (both up to float32 round-off). Reflect padding
rather than zero padding keeps a constant series entirely in the lowest band: zero padding would add an
artificial step at both ends, which leaks into the high band.
"""

from __future__ import annotations

import torch
from torch import Tensor

_PAD_MODE = "reflect"


def _window(n_fft: int, like: Tensor) -> Tensor:
    return torch.ones(n_fft, dtype=like.dtype, device=like.device)


def _as_real_float(x: Tensor) -> Tensor:
    # torch.stft / istft have no half-precision kernels; mixed-precision callers get float32 back.
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def stft(x: Tensor, n_fft: int = 8, hop_length: int = 1) -> Tensor:
    """Short-time Fourier transform, Eq. (32).

    Parameters
    ----------
    x : Tensor, shape (B, C, L)
        Real series; ``L`` must exceed ``n_fft // 2`` (reflect padding).
    n_fft : int
        Window length.
    hop_length : int
        Frame step.

    Returns
    -------
    Tensor, shape (B, 2C, n_fft // 2 + 1, L // hop_length + 1)
        The spectrogram u, real/imag interleaved per channel.
    """
    if x.ndim != 3:
        raise ValueError(f"stft expects x of shape (B, C, L), got {tuple(x.shape)}")
    batch, channels, length = x.shape
    if length <= n_fft // 2:
        raise ValueError(f"series length {length} must exceed n_fft // 2 = {n_fft // 2}")
    x = _as_real_float(x)
    spec = torch.stft(
        x.reshape(batch * channels, length),
        n_fft=n_fft,
        hop_length=hop_length,
        window=_window(n_fft, x),
        center=True,
        pad_mode=_PAD_MODE,
        normalized=False,
        onesided=True,
        return_complex=True,
    )  # (B*C, H, W) complex
    height, width = spec.shape[-2:]
    u = torch.view_as_real(spec).reshape(batch, channels, height, width, 2)
    return u.permute(0, 1, 4, 2, 3).reshape(batch, 2 * channels, height, width)


def istft(u: Tensor, length: int, n_fft: int = 8, hop_length: int = 1) -> Tensor:
    """Inverse STFT, Eq. (33); the exact inverse of `stft` for the same settings.

    Parameters
    ----------
    u : Tensor, shape (B, 2C, n_fft // 2 + 1, W)
        Spectrogram, real/imag interleaved per channel.
    length : int
        Output length ``L``.
    n_fft, hop_length : int
        As given to `stft`.

    Returns
    -------
    Tensor, shape (B, C, length)
    """
    if u.ndim != 4 or u.shape[1] % 2:
        raise ValueError(f"istft expects u of shape (B, 2C, H, W), got {tuple(u.shape)}")
    batch, two_c, height, width = u.shape
    channels = two_c // 2
    u = _as_real_float(u)
    parts = u.reshape(batch, channels, 2, height, width).permute(0, 1, 3, 4, 2).contiguous()
    spec = torch.view_as_complex(parts).reshape(batch * channels, height, width)
    x = torch.istft(
        spec,
        n_fft=n_fft,
        hop_length=hop_length,
        window=_window(n_fft, u),
        center=True,
        normalized=False,
        onesided=True,
        length=length,
    )
    return x.reshape(batch, channels, length)


def zero_pad_lf(u: Tensor, cutoff: int = 1) -> Tensor:
    """P_LF of Eq. (34): keep frequency rows ``[0, cutoff)``, zero the rest. Shape is unchanged."""
    keep = torch.zeros(u.shape[-2], 1, dtype=u.dtype, device=u.device)
    keep[:cutoff] = 1
    return u * keep


def zero_pad_hf(u: Tensor, cutoff: int = 1) -> Tensor:
    """P_HF of Eq. (34): zero frequency rows ``[0, cutoff)``, keep the rest. Shape is unchanged."""
    keep = torch.ones(u.shape[-2], 1, dtype=u.dtype, device=u.device)
    keep[:cutoff] = 0
    return u * keep


def split_frequencies(
    x: Tensor, n_fft: int = 8, hop_length: int = 1, cutoff: int = 1
) -> tuple[Tensor, Tensor]:
    """Split a series into its low- and high-frequency parts, Eq. (35)-(36).

    Parameters
    ----------
    x : Tensor, shape (B, C, L)
        Series.
    n_fft, hop_length : int
        STFT window and hop.
    cutoff : int
        Frequency rows of the LF part.

    Returns
    -------
    x_lf, x_hf : Tensor, shape (B, C, L)
        With ``x == x_lf + x_hf`` up to round-off.
    """
    u = stft(x, n_fft, hop_length)
    length = x.shape[-1]
    x_lf = istft(zero_pad_lf(u, cutoff), length, n_fft, hop_length)
    x_hf = istft(zero_pad_hf(u, cutoff), length, n_fft, hop_length)
    return x_lf, x_hf
