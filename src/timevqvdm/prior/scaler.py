"""The latent standard-scaler of one band (thesis 3.3, "Scaling of the latents"; 4.1, third trick)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LatentScaler(nn.Module):
    """z -> (z - mean) / std with one scalar mean and std per band, learned from the encoded training set.

    Both are buffers, so they travel in the state dict (the checkpoint) and follow `.to(device)`. Before `fit`
    the scaler is the identity.
    """

    mean: Tensor
    std: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(0.0))
        self.register_buffer("std", torch.tensor(1.0))

    @torch.no_grad()
    def fit(self, z: Tensor, mask: Tensor | None = None) -> LatentScaler:
        """Set mean and std from all entries of z (B, C, W), the encoded training set, or with a mask (B, W)
        from the positions where it is True only (those of observed time steps). Returns self."""
        if mask is not None:
            z = z.transpose(1, 2)[mask.bool()]  # (positions, C)
        if z.numel() < 2:
            raise ValueError(f"need at least 2 latent values to fit a scaler, got shape {tuple(z.shape)}")
        std = z.float().std()
        if not torch.isfinite(std) or std <= 0:
            raise ValueError(f"latents have std {std.item()}; cannot standardise them")
        self.mean.copy_(z.float().mean())
        self.std.copy_(std)
        return self

    def transform(self, z: Tensor) -> Tensor:
        """Latents (B, C, W) -> standardised latents, the input of the diffusion prior."""
        return (z - self.mean) / self.std

    def inverse(self, z: Tensor) -> Tensor:
        """Standardised latents (B, C, W) -> latents in the tokenizer's units."""
        return z * self.std + self.mean
