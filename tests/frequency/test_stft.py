"""Contracts of the STFT split: shapes, exact inverse, exact LF + HF = x, and that LF is low-pass."""

from __future__ import annotations

import math

import pytest
import torch

from timevqvdm.frequency import istft, split_frequencies, stft, zero_pad_hf, zero_pad_lf

LENGTHS = [8, 15, 24, 150, 151, 2844]
ATOL = 1e-5


def _series(length: int, channels: int = 2, batch: int = 3) -> torch.Tensor:
    generator = torch.Generator().manual_seed(length)
    return torch.randn(batch, channels, length, generator=generator)


@pytest.mark.parametrize("length", LENGTHS)
def test_stft_shape_and_channel_layout(length):
    x = _series(length)
    u = stft(x)
    assert u.shape == (3, 4, 5, length + 1)
    # Channel 1 of the input lands in spectrogram channels 2 (real) and 3 (imag).
    reference = torch.stft(
        x[:, 1],
        8,
        1,
        window=torch.ones(8),
        center=True,
        pad_mode="reflect",
        onesided=True,
        return_complex=True,
    )
    torch.testing.assert_close(u[:, 2], reference.real)
    torch.testing.assert_close(u[:, 3], reference.imag)


@pytest.mark.parametrize("length", LENGTHS)
def test_istft_inverts_stft(length):
    x = _series(length)
    x_back = istft(stft(x), length)
    assert x_back.shape == x.shape
    torch.testing.assert_close(x_back, x, atol=ATOL, rtol=0)


@pytest.mark.parametrize("length", LENGTHS)
def test_split_is_exact(length):
    x = _series(length)
    x_lf, x_hf = split_frequencies(x, n_fft=8, hop_length=1, cutoff=1)
    assert x_lf.shape == x.shape == x_hf.shape
    torch.testing.assert_close(x_lf + x_hf, x, atol=ATOL, rtol=0)


def test_split_is_exact_for_other_settings():
    x = _series(151)
    for n_fft, hop, cutoff in [(4, 1, 1), (8, 2, 2), (16, 4, 3)]:
        x_lf, x_hf = split_frequencies(x, n_fft=n_fft, hop_length=hop, cutoff=cutoff)
        torch.testing.assert_close(x_lf + x_hf, x, atol=ATOL, rtol=0)


def test_zero_pad_masks_are_complementary():
    u = torch.randn(2, 2, 5, 9)
    lf, hf = zero_pad_lf(u, cutoff=2), zero_pad_hf(u, cutoff=2)
    torch.testing.assert_close(lf + hf, u)
    assert lf[:, :, 2:].abs().max() == 0
    assert hf[:, :, :2].abs().max() == 0


def test_constant_lands_in_lf():
    x = torch.full((1, 1, 150), 2.5)
    x_lf, x_hf = split_frequencies(x)
    torch.testing.assert_close(x_lf, x, atol=ATOL, rtol=0)
    assert x_hf.abs().max() < ATOL


@pytest.mark.parametrize("period", [2, 4, 8])
def test_high_frequency_sinusoid_lands_in_hf(period):
    t = torch.arange(150, dtype=torch.float32)
    x = torch.cos(2 * math.pi * t / period).reshape(1, 1, -1)
    x_lf, x_hf = split_frequencies(x)
    # Whole periods fit the 8-sample window, so the interior is exactly HF; only the reflected ends leak.
    assert x_lf.pow(2).sum() < 5e-3 * x.pow(2).sum()
    torch.testing.assert_close(x_hf[..., 8:-8], x[..., 8:-8], atol=1e-4, rtol=0)


def test_slow_sinusoid_is_mostly_lf():
    t = torch.arange(300, dtype=torch.float32)
    x = torch.sin(2 * math.pi * t / 100).reshape(1, 1, -1)
    _, x_hf = split_frequencies(x)
    assert x_hf.pow(2).sum() < 0.05 * x.pow(2).sum()


def test_istft_accepts_half_precision_input():
    x = _series(24)
    u = stft(x).to(torch.bfloat16)
    assert istft(u, 24).dtype == torch.float32


def test_too_short_series_is_rejected():
    with pytest.raises(ValueError, match="n_fft"):
        stft(torch.randn(1, 1, 4))
