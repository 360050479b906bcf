"""The STFT split's hyperparameters, beside the functions that take them as keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FrequencyConfig:
    """STFT low/high split (thesis 2.4, 3.3).

    Attributes
    ----------
    n_fft : int
        STFT window length; the spectrogram has ``n_fft // 2 + 1`` frequency rows.
    hop_length : int
        Step between STFT columns.
    cutoff : int
        Number of lowest frequency rows that form the LF band; the HF band is the rest.
    """

    n_fft: int = 8
    hop_length: int = 1
    cutoff: int = 1
