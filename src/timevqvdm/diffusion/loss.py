"""The simplified diffusion loss (thesis Algorithm 2, Appendix D) and its random ingredients."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timevqvdm.diffusion.noise import gaussian, uniform
from timevqvdm.diffusion.prediction import training_target
from timevqvdm.diffusion.schedule import alpha_sigma, append_dims


def quasi_uniform_times(n: int, generator: torch.Generator | None, device: torch.device | str) -> Tensor:
    """t_i = (u + i / n) mod 1 with one u ~ U(0, 1) per batch (Appendix D; Kingma et al. 2021).

    Returns (n,) float32. Each t_i is marginally uniform, but the batch covers [0, 1) evenly, which lowers the
    variance of the loss estimate compared with n independent draws.
    """
    u = uniform((1,), generator=generator, device=device)
    return torch.remainder(u + torch.arange(n, device=device, dtype=torch.float32) / n, 1.0)


def drop_classes(y: Tensor, p: float, null_class: int, generator: torch.Generator | None) -> Tensor:
    """Replace each label by `null_class` with probability p (classifier-free guidance training, 2.3.6).

    y: (B,) int64. Returns a new (B,) tensor; y is not modified.
    """
    if p <= 0.0:
        return y
    drop = uniform(y.shape, generator=generator, device=y.device) < p
    return torch.where(drop, torch.full_like(y, null_class), y)


def diffusion_loss(
    model: nn.Module,
    z0: Tensor,
    *,
    y: Tensor,
    cond: Tensor | None = None,
    prediction: str = "eps",
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Unweighted MSE between the network output and eps (or v) on z_t = alpha_t z0 + sigma_t eps.

    model: a denoiser `model(z_t (B, C, W), t (B,), y (B,), cond=...) -> (B, C, W)`; z0: (B, C, W) scaled
    latents; y: (B,) labels, already dropped to null where wanted; mask: (B, W), 1 on the positions that
    count (None = all), e.g. the latent positions of a padded series that cover observed time steps.
    Returns a scalar.
    The weight -d lambda / dt of the ELBO is dropped, as in Ho et al. (2020): it is infinite at t = 0 and 1.
    """
    t = quasi_uniform_times(z0.shape[0], generator, z0.device)
    eps = gaussian(z0.shape, generator=generator, device=z0.device, dtype=z0.dtype)
    return denoising_error(model, z0, t, eps, y=y, cond=cond, prediction=prediction, mask=mask)


def denoising_error(
    model: nn.Module,
    z0: Tensor,
    t: Tensor,
    eps: Tensor,
    *,
    y: Tensor,
    cond: Tensor | None = None,
    prediction: str = "eps",
    mask: Tensor | None = None,
) -> Tensor:
    """`diffusion_loss` at given times t (B,) and noise eps (B, C, W): with draws fixed once, successive
    evaluations of a network (validation) differ only by its weights. Returns a scalar; with a mask (B, W)
    the mean runs over the positions where it is 1 only, so the others get no gradient."""
    alpha, sigma = (append_dims(c, z0.ndim).to(z0.dtype) for c in alpha_sigma(t))
    z_t = alpha * z0 + sigma * eps  # Eq. (15)
    pred = model(z_t, t, y, cond=cond)
    target = training_target(z0, eps, t.to(z0.dtype), prediction)
    if mask is None:
        return F.mse_loss(pred, target)
    weight = mask[:, None, :].to(pred.dtype).expand_as(pred)  # (B, C, W)
    return ((pred - target) ** 2 * weight).sum() / weight.sum().clamp(min=1)
