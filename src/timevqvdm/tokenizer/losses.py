"""Stage-1 reconstruction loss (thesis Algorithm 1, Eq. 74)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def reconstruction_loss(x: Tensor, x_hat: Tensor, u: Tensor, u_hat: Tensor) -> Tensor:
    """Time-domain plus time-frequency mean squared error of one band.

    Args:
        x, x_hat: band series and its reconstruction, ``(B, C, L)``.
        u, u_hat: band-masked spectrogram and its reconstruction, ``(B, 2C, H, W)``.
    """
    return F.mse_loss(x_hat, x) + F.mse_loss(u_hat, u)
