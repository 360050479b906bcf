"""Samplers for the reverse process. They share one signature (k-diffusion style):

    sample_xxx(model_fn, z, times, *, rescale=0.0, generator=None, callback=None) -> z_0

model_fn(z (B, ...), t (B,)) -> eps_hat (B, ...) is the (possibly guided, see `guidance.py`) noise estimate;
z is the starting latent at times[0]; times is a decreasing 1-D tensor from t_max < 1 to exactly 0, usually
`sampling_times(steps, t_max)`. A new sampler is a new function here plus an entry in SAMPLERS.

Why t_max < 1: every sampler needs z0_hat = (z_t - sigma_t eps_hat) / alpha_t (Eq. 15 solved for z_0), and
alpha_1 = 0. At t = 1 the exact eps_hat equals z_1, so z0_hat is 0 / 0. This holds for a v-predicting network
too: its v_hat is finite at t = 1, but eps_hat = sigma z + alpha v_hat = z_1 no longer carries it. The thesis
halts at t_max = 0.99 (4.1, Table 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from timevqvdm.diffusion.noise import gaussian
from timevqvdm.diffusion.schedule import alpha_sigma, append_dims, log_snr

ModelFn = Callable[[Tensor, Tensor], Tensor]
Callback = Callable[[dict[str, Any]], None]


def rescale_latent(z: Tensor, gamma: float) -> Tensor:
    """Eqs. (30)-(31): z <- (1 - gamma) z + gamma z / std(z).

    z: (B, ...). The std is taken per sample over all non-batch dims, never over the batch, so the samples
    of a batch stay independent of each other. gamma = 0 returns z unchanged.
    """
    if gamma == 0.0:
        return z
    std = z.flatten(1).std(dim=1, correction=0).clamp(min=1e-8)
    return (1.0 - gamma) * z + gamma * z / append_dims(std, z.ndim)


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

    z: (B, ...) the starting latent, N(0, I) (the prior, Eq. 26); times: (T + 1,) decreasing to 0 from
    times[0] < 1.
    Each step draws z_s ~ q(z_s | z_t, z0_hat) (Eq. 28), then rescales (Eq. 31). Returns z_0, shape of z.

    Erratum. Eq. (23) and Algorithm 3 print `alpha_s / alpha_t (z + (1 - e^{l_t - l_s}) sigma_t eps_hat)`.
    Substituting z_0 = (z_t - sigma_t eps) / alpha_t (Eq. 15) into the posterior mean of Eq. (20):
        mu = e^{l_t-l_s} (alpha_s/alpha_t) z_t + (1 - e^{l_t-l_s}) (alpha_s/alpha_t) (z_t - sigma_t eps)
           = (alpha_s/alpha_t) z_t - (1 - e^{l_t-l_s}) (alpha_s/alpha_t) sigma_t eps
           = (alpha_s/alpha_t) (z_t - (1 - e^{l_t-l_s}) sigma_t eps),
    so the noise estimate is SUBTRACTED; the variance (1 - e^{l_t-l_s}) sigma_s^2 is as printed.
    tests/diffusion/test_samplers.py shows that the printed "+" misses a Gaussian's mean and std.
    At the last step s = 0: l_0 = +inf, so e^{l_t-l_s} = 0, mu = (z_t - sigma_t eps) / alpha_t = z0_hat, and
    the variance is 0: no noise is added.
    """
    times = _check_times(times)
    for i in range(len(times) - 1):
        t, s = times[i], times[i + 1]
        # Algorithm 3, line 4: eps_hat, guided by Eq. (29) when model_fn comes from `guided_model_fn`.
        eps_hat = model_fn(z, _batch_time(t, z))
        alpha_t, sigma_t = alpha_sigma(t)
        alpha_s, sigma_s = alpha_sigma(s)
        # 1 - e^{l_t - l_s} = 1 - SNR(t) / SNR(s); expm1 keeps it accurate when steps are small, and it is
        # exactly 1 at s = 0 because l_0 = +inf.
        one_minus_ratio = -torch.expm1(log_snr(t) - log_snr(s))
        # Eq. (23), corrected sign (see the docstring): the posterior mean given z0_hat.
        z = (alpha_s / alpha_t) * (z - one_minus_ratio * sigma_t * eps_hat)
        # Eq. (28): add sigma_{s|t,0} delta, with sigma_{s|t,0}^2 = (1 - e^{l_t - l_s}) sigma_s^2 (Eq. 20).
        if s > 0:
            delta = gaussian(z.shape, generator=generator, device=z.device, dtype=z.dtype)
            z = z + (one_minus_ratio.sqrt() * sigma_s) * delta
        z = rescale_latent(z, rescale)  # Eqs. (30)-(31)
        if callback is not None:
            callback({"i": i, "t": float(t), "s": float(s), "z": z, "eps_hat": eps_hat})
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

    z: (B, ...) the starting latent; times: (T + 1,) decreasing to 0, times[0] < 1 (see the module docstring:
    with eps_hat the t = 1 step would divide by alpha_1 = 0, whatever the network predicts). Each step moves
    to s along the current estimate: z_s = alpha_s z0_hat + sigma_s eps_hat, z0_hat = (z_t - sigma_t eps_hat)
    / alpha_t (Eqs. 15, 22), then rescales (Eq. 31). `generator` is unused (the sampler is deterministic in z)
    and kept for the shared signature. Returns z_0, shape of z.
    """
    del generator
    times = _check_times(times)
    for i in range(len(times) - 1):
        t, s = times[i], times[i + 1]
        eps_hat = model_fn(z, _batch_time(t, z))
        alpha_t, sigma_t = alpha_sigma(t)
        alpha_s, sigma_s = alpha_sigma(s)
        z0_hat = (z - sigma_t * eps_hat) / alpha_t  # Eq. (15) solved for z_0
        z = alpha_s * z0_hat + sigma_s * eps_hat  # Eq. (15) at s with the same noise: the DDIM step
        z = rescale_latent(z, rescale)  # Eqs. (30)-(31)
        if callback is not None:
            callback({"i": i, "t": float(t), "s": float(s), "z": z, "eps_hat": eps_hat})
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
    if not times[0] < 1.0:
        raise ValueError(
            f"times[0] must be < 1, got {float(times[0])}: at t = 1 alpha_t = 0 and "
            "z0_hat = (z - sigma eps_hat) / alpha_t divides by zero; start at t_max = 0.99 as the thesis does"
        )
    return times


def _batch_time(t: Tensor, z: Tensor) -> Tensor:
    """The scalar time t as the (B,) float tensor a network expects, on z's device."""
    return torch.full((z.shape[0],), float(t), device=z.device, dtype=z.dtype)
