"""Samplers for the reverse process. They share one signature (k-diffusion style):

    sample_xxx(model_fn, z, times, *, rescale=0.0, generator=None, callback=None) -> z_0

model_fn(z (B, ...), t (B,)) -> (eps_hat, z0_hat), both (B, ...), is the (possibly guided, see
`guidance.py`) denoiser: the noise and the clean-latent estimates, each computed from the network's raw
output in the stable way for its parameterisation (`prediction.eps_and_z0`). z is the starting latent at
times[0]; times is a decreasing 1-D tensor from t_max <= 1 to exactly 0, usually `sampling_times(steps,
t_max)`. A new sampler is a new function here plus an entry in SAMPLERS.

Every step below is written in z0_hat and eps_hat without dividing by alpha_t, so it is finite at t = 1
(alpha_1 = 0). Whether t_max = 1 is allowed is the denoiser's business: a v-predicting network gives a finite
z0_hat = alpha z - sigma v_hat = -v_hat there; an eps-predicting one cannot (its z0_hat = (z - sigma eps_hat)
/ alpha is 0 / 0), so its conversion refuses t = 1 and the thesis halts at t_max = 0.99 (4.1, Table 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from timevqvdm.diffusion.noise import gaussian
from timevqvdm.diffusion.schedule import alpha_sigma, append_dims, log_snr

ModelFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
Callback = Callable[[dict[str, Any]], None]


def rescale_latent(z: Tensor, gamma: float) -> Tensor:
    """Eqs. (30)-(31): z <- (1 - gamma) z + gamma z / std(z).

    z: (B, ...). The std is taken per sample over all non-batch dims, never over the batch, so the samples
    of a batch stay independent of each other. gamma = 0 returns z unchanged.
    """
    if gamma == 0.0:
        return z
    std = z.flatten(1).std(dim=1, correction=0).clamp(min=1e-8)
    # One pass over z with a per-sample factor, (1 - gamma) + gamma / std, rather than four.
    return z * append_dims((1.0 - gamma) + gamma / std, z.ndim)


@torch.no_grad()
def sample_ancestral(
    model_fn: ModelFn,
    z: Tensor,
    times: Tensor,
    *,
    rescale: float = 0.0,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """Ancestral sampling, thesis Algorithm 3, with the sign of Eq. (23) corrected.

    z: (B, ...) the starting latent, N(0, I) (the prior, Eq. 26); times: (T + 1,) decreasing from
    times[0] <= 1 to 0. Each step draws z_s ~ q(z_s | z_t, z0_hat) (Eq. 28), then rescales (Eq. 31).
    Returns z_0, shape of z.

    Erratum. Eq. (23) and Algorithm 3 print `alpha_s / alpha_t (z + (1 - e^{l_t - l_s}) sigma_t eps_hat)`.
    Substituting z_0 = (z_t - sigma_t eps) / alpha_t (Eq. 15) into the posterior mean of Eq. (20):
        mu = e^{l_t-l_s} (alpha_s/alpha_t) z_t + (1 - e^{l_t-l_s}) (alpha_s/alpha_t) (z_t - sigma_t eps)
           = (alpha_s/alpha_t) z_t - (1 - e^{l_t-l_s}) (alpha_s/alpha_t) sigma_t eps
           = (alpha_s/alpha_t) (z_t - (1 - e^{l_t-l_s}) sigma_t eps),
    so the noise estimate is SUBTRACTED; the variance (1 - e^{l_t-l_s}) sigma_s^2 is as printed.
    tests/diffusion/test_samplers.py shows that the printed "+" misses a Gaussian's mean and std.

    The step evaluates the same mean in its z0 form (Eq. 20 before the substitution), which needs no
    1 / alpha_t: with e^{l_t-l_s} = alpha_t^2 sigma_s^2 / (sigma_t^2 alpha_s^2),
        mu = [alpha_t sigma_s^2 / (sigma_t^2 alpha_s)] z_t + (1 - e^{l_t-l_s}) alpha_s z0_hat.
    At t = 1 (alpha_t = 0, l_t = -inf) it is alpha_s z0_hat; at the last step s = 0 (sigma_s = 0, l_0 = +inf)
    it is z0_hat and the variance is 0: no noise is added.
    """
    times = _check_times(times)
    for i in range(len(times) - 1):
        t, s = times[i], times[i + 1]
        # Algorithm 3, line 4: the estimates, guided by Eq. (29) when model_fn comes from `guided_model_fn`.
        eps_hat, z0_hat = model_fn(z, _batch_time(t, z))
        alpha_t, sigma_t = alpha_sigma(t)
        alpha_s, sigma_s = alpha_sigma(s)
        # 1 - e^{l_t - l_s} = 1 - SNR(t) / SNR(s); expm1 keeps it accurate when steps are small, and it is
        # exactly 1 at s = 0 (l_0 = +inf), and 1 - O(e^-75) at t = 1 (float64 l_1 = -75).
        one_minus_ratio = -torch.expm1(log_snr(t) - log_snr(s))
        # Eq. (20)'s posterior mean given z0_hat; equal to Eq. (23) with the corrected sign (docstring).
        z_coef = alpha_t * sigma_s**2 / (sigma_t**2 * alpha_s)
        z = z_coef * z + (one_minus_ratio * alpha_s) * z0_hat
        # Eq. (28): add sigma_{s|t,0} delta, with sigma_{s|t,0}^2 = (1 - e^{l_t - l_s}) sigma_s^2 (Eq. 20).
        if s > 0:
            delta = gaussian(z.shape, generator=generator, device=z.device, dtype=z.dtype)
            z = z + (one_minus_ratio.sqrt() * sigma_s) * delta
        z = rescale_latent(z, rescale)  # Eqs. (30)-(31)
        _report(callback, i, t, s, z, eps_hat, z0_hat)
    return z


@torch.no_grad()
def sample_ddim(
    model_fn: ModelFn,
    z: Tensor,
    times: Tensor,
    *,
    rescale: float = 0.0,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
) -> Tensor:
    """Deterministic DDIM (eta = 0; Song, Meng and Ermon 2021): the same grid as Algorithm 3, no noise.

    z: (B, ...) the starting latent; times: (T + 1,) decreasing from times[0] <= 1 to 0 (t = 1 needs a
    denoiser that can give z0_hat there: v-prediction, see the module docstring). Each step moves to s along
    the current estimates, z_s = alpha_s z0_hat + sigma_s eps_hat (Eq. 15 at s with the same noise), then
    rescales (Eq. 31). `generator` is unused (the sampler is deterministic in z) and kept for the shared
    signature. Returns z_0, shape of z.
    """
    del generator
    times = _check_times(times)
    for i in range(len(times) - 1):
        t, s = times[i], times[i + 1]
        eps_hat, z0_hat = model_fn(z, _batch_time(t, z))
        alpha_s, sigma_s = alpha_sigma(s)
        z = alpha_s * z0_hat + sigma_s * eps_hat  # Eq. (15) at s with the same noise: the DDIM step
        z = rescale_latent(z, rescale)  # Eqs. (30)-(31)
        _report(callback, i, t, s, z, eps_hat, z0_hat)
    return z


SAMPLERS: dict[str, Callable[..., Tensor]] = {"ancestral": sample_ancestral, "ddim": sample_ddim}


def get_sampler(name: str) -> Callable[..., Tensor]:
    """The one place a sampler name is resolved."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}") from None


def _check_times(times: Tensor) -> Tensor:
    """Validate the grid and return it as a CPU float64 tensor (schedule coefficients in double precision)."""
    times = torch.as_tensor(times).detach().to(device="cpu", dtype=torch.float64)
    if times.ndim != 1 or len(times) < 2:
        raise ValueError(f"times must be 1-D with at least 2 entries, got shape {tuple(times.shape)}")
    if not bool((times[1:] < times[:-1]).all()):
        raise ValueError("times must be strictly decreasing (from t_max to 0)")
    if times[-1] != 0.0:
        raise ValueError(f"times must end at 0, got {float(times[-1])}")
    if times[0] > 1.0:
        raise ValueError(f"times must start at t_max <= 1, got {float(times[0])}")
    return times


def _batch_time(t: Tensor, z: Tensor) -> Tensor:
    """The scalar time t as the (B,) float tensor a network expects, on z's device."""
    return torch.full((z.shape[0],), float(t), device=z.device, dtype=z.dtype)


def _report(
    callback: Callback | None, i: int, t: Tensor, s: Tensor, z: Tensor, eps_hat: Tensor, z0_hat: Tensor
) -> None:
    """Hand one finished step to the callback (progress bars, trajectories)."""
    if callback is not None:
        callback({"i": i, "t": float(t), "s": float(s), "z": z, "eps_hat": eps_hat, "z0_hat": z0_hat})
