"""The variance-preserving cosine schedule (thesis 2.3.1-2.3.2, Eqs. 17-18) and the sampling grid (2.3.5).

Every other module gets alpha_t, sigma_t and lambda_t from here, so the schedule is written once.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def alpha_sigma(t: Tensor) -> tuple[Tensor, Tensor]:
    """Signal and noise weights alpha_t = cos(pi t / 2), sigma_t = sin(pi t / 2) (Eq. 18).

    t: any shape, values in [0, 1]. Returns two tensors of t's shape with alpha_t^2 + sigma_t^2 = 1.
    Both are clamped at 0: in float32 cos(pi / 2) is -4e-8, and a negative signal weight would flip z_0.
    """
    angle = t * (math.pi / 2)
    return torch.cos(angle).clamp(min=0.0), torch.sin(angle).clamp(min=0.0)


def log_snr(t: Tensor) -> Tensor:
    """lambda_t = log(alpha_t^2 / sigma_t^2) (Eq. 17), strictly decreasing; +inf at t = 0, -inf (float32) or
    about -75 (float64) at t = 1.

    Written as 2 (log alpha - log sigma) so the end points give signed infinities instead of NaN (0 / 0 never
    appears), which the samplers rely on at their last step.
    """
    alpha, sigma = alpha_sigma(t)
    return 2.0 * (torch.log(alpha) - torch.log(sigma))


def sampling_times(steps: int, t_max: float = 0.99) -> Tensor:
    """The grid t_i = t_max * i / T of Algorithm 3, in sampling order.

    Returns a float64 tensor of shape (steps + 1,), decreasing from t_max to exactly 0. The thesis starts at
    t_max = 0.99 rather than 1 (4.1, Table 3): at t = 1 alpha_t = 0, and an eps-predicting network cannot
    give z_0 from z_1. A v-predicting network can start at t_max = 1 (see `prediction.py`).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not 0.0 < t_max <= 1.0:
        raise ValueError(f"t_max must be in (0, 1], got {t_max}")
    return torch.linspace(t_max, 0.0, steps + 1, dtype=torch.float64)


def append_dims(c: Tensor, ndim: int) -> Tensor:
    """View a per-sample coefficient (B,) as (B, 1, ..., 1) with `ndim` dims so it broadcasts over a batch."""
    return c.reshape(c.shape + (1,) * (ndim - c.ndim))
