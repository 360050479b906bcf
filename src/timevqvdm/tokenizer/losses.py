"""Stage-1 reconstruction loss (thesis Algorithm 1, Eq. 74), masked for variable-length series."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def reconstruction_loss(
    x: Tensor,
    x_hat: Tensor,
    u: Tensor,
    u_hat: Tensor,
    mask_x: Tensor | None = None,
    mask_u: Tensor | None = None,
) -> Tensor:
    """Time-domain plus time-frequency mean squared error of one band.

    Args:
        x, x_hat: band series and its reconstruction, ``(B, C, L)``.
        u, u_hat: band-masked spectrogram and its reconstruction, ``(B, 2C, H, W)``.
        mask_x: ``(B, 1, L)``, 1 on observed time steps and 0 on padding; None = all observed.
        mask_u: ``(B, 1, 1, W)``, 1 on the spectrogram columns that count (`FrequencyTokenizer.column_mask`).

    Each mean runs over the entries that count only, so padding adds nothing to the loss or its gradient.
    """
    return masked_mse(x_hat, x, mask_x) + masked_mse(u_hat, u, mask_u)


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
    """Mean squared error over the entries where ``mask`` (broadcast to the inputs' shape) is 1."""
    if mask is None:
        return F.mse_loss(prediction, target)
    weight = mask.to(prediction.dtype).expand_as(prediction)
    return ((prediction - target) ** 2 * weight).sum() / weight.sum().clamp(min=1)
