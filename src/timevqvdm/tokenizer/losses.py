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

    Each mean runs over the entries that count only, so padding adds nothing to the loss or its gradient.

    Parameters
    ----------
    x, x_hat : Tensor, shape (B, C, L)
        Band series and its reconstruction.
    u, u_hat : Tensor, shape (B, 2C, H, W)
        Band-masked spectrogram and its reconstruction.
    mask_x : Tensor, shape (B, 1, L), optional
        1 on observed time steps and 0 on padding; None = all observed.
    mask_u : Tensor, shape (B, 1, 1, W), optional
        1 on the spectrogram columns that count (`FrequencyTokenizer.column_mask`).

    Returns
    -------
    Tensor, shape ()
    """
    return masked_mse(x_hat, x, mask_x) + masked_mse(u_hat, u, mask_u)


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor | None) -> Tensor:
    """Mean squared error over the entries where ``mask`` (broadcast to the inputs' shape) is 1."""
    if mask is None:
        return F.mse_loss(prediction, target)
    weight = mask.to(prediction.dtype).expand_as(prediction)
    return ((prediction - target) ** 2 * weight).sum() / weight.sum().clamp(min=1)
