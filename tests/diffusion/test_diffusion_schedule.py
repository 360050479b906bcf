"""The cosine variance-preserving schedule and the sampling grid."""

from __future__ import annotations

import math

import pytest
import torch

from timevqvdm.diffusion import alpha_sigma, log_snr, sampling_times


def test_schedule_is_variance_preserving_cosine() -> None:
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    alpha, sigma = alpha_sigma(t)
    torch.testing.assert_close(alpha**2 + sigma**2, torch.ones_like(t))
    torch.testing.assert_close(alpha, torch.cos(math.pi * t / 2).clamp(min=0))
    assert alpha[0] == 1 and sigma[0] == 0 and alpha[-1] >= 0


def test_alpha_is_never_negative_in_float32_at_t_equal_one() -> None:
    alpha, sigma = alpha_sigma(torch.tensor(1.0))
    assert alpha == 0 and sigma == 1


def test_log_snr_is_strictly_decreasing_with_signed_infinities_at_the_ends() -> None:
    t = torch.linspace(0, 1, 201, dtype=torch.float64)
    lam = log_snr(t)
    assert lam[0] == math.inf and lam[-1] < -70  # float64 cos(pi / 2) = 6e-17
    assert log_snr(torch.tensor([1.0])).item() == -math.inf  # float32 cos(pi / 2) < 0, clamped to 0
    assert (lam[1:] < lam[:-1]).all()
    assert log_snr(torch.tensor(0.5, dtype=torch.float64)).abs() < 1e-12  # alpha = sigma at t = 1/2
    # Table 3: SNR at t_max = 0.99 is 2.47e-4.
    assert log_snr(torch.tensor(0.99, dtype=torch.float64)).exp().item() == pytest.approx(2.47e-4, rel=1e-2)


def test_sampling_times_run_from_t_max_to_exactly_zero() -> None:
    times = sampling_times(128, 0.99)
    assert times.shape == (129,) and times.dtype == torch.float64
    assert times[0] == 0.99 and times[-1] == 0.0
    torch.testing.assert_close(times, 0.99 * torch.arange(128, -1, -1, dtype=torch.float64) / 128)


@pytest.mark.parametrize(("steps", "t_max"), [(0, 0.99), (4, 0.0), (4, 1.5)])
def test_sampling_times_rejects_bad_arguments(steps: int, t_max: float) -> None:
    with pytest.raises(ValueError):
        sampling_times(steps, t_max)
