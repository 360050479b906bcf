"""STFT low/high frequency split and its exact inverse: pure functions, no module state."""

from __future__ import annotations

from timevqvdm.frequency.config import FrequencyConfig
from timevqvdm.frequency.stft import istft, split_frequencies, stft, zero_pad_hf, zero_pad_lf

__all__ = ["FrequencyConfig", "istft", "split_frequencies", "stft", "zero_pad_hf", "zero_pad_lf"]
