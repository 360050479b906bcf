"""Vector quantization of a band's latent with an EMA codebook (thesis 2.5.1, Eq. 41, Appendix D).

Wraps `vector_quantize_pytorch.VectorQuantize`, which updates the codebook by exponential moving averages
only in train mode and returns the commitment loss ``beta * ||z - sg[z_q]||^2`` (the codebook term of
Algorithm 1 is replaced by the EMA update). Latents enter and leave in the priors' layout ``(B, H*d, W')``;
token indices have shape ``(B, H, W')``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from vector_quantize_pytorch import VectorQuantize

from timevqvdm.tokenizer.latent import prior_to_tokens, tokens_to_prior


class Quantizer(nn.Module):
    """Nearest-neighbour quantizer over ``codebook_size`` vectors of dimension ``codebook_dim``.

    Gradients pass to the encoder with the plain straight-through estimator of VQ-VAE (the library's
    default rotation trick is switched off to follow the thesis).
    """

    def __init__(
        self,
        *,
        height: int,
        codebook_dim: int,
        codebook_size: int,
        ema_decay: float,
        commitment_weight: float,
    ) -> None:
        super().__init__()
        self.height = height
        self.vq = VectorQuantize(
            dim=codebook_dim,
            codebook_size=codebook_size,
            decay=ema_decay,
            commitment_weight=commitment_weight,
            rotation_trick=False,
            channel_last=True,
        )

    @property
    def codebook(self) -> Tensor:
        """Codebook vectors, ``(codebook_size, codebook_dim)``."""
        return self.vq.codebook

    @property
    def codebook_size(self) -> int:
        return self.vq.codebook_size

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Quantize for training: updates the EMA codebook in train mode.

        Parameters
        ----------
        z : Tensor, shape (B, H*d, W')
            Continuous latent.

        Returns
        -------
        z_q : Tensor, shape (B, H*d, W')
            Straight-through quantized latent.
        indices : Tensor, shape (B, H, W'), int64
        loss : Tensor, shape ()
            The commitment loss (zero in eval mode).
        """
        tokens = prior_to_tokens(z, self.height)  # (B, H*W', d)
        z_q, indices, loss = self.vq(tokens)
        return tokens_to_prior(z_q, self.height), self._index_grid(indices, z), loss

    @torch.no_grad()
    def quantize(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Snap any latent (an encoding or a prior's sample) to its nearest codebook vectors, Eq. (41).

        Never updates the codebook, whatever the module's mode.

        Parameters
        ----------
        z : Tensor, shape (B, H*d, W')

        Returns
        -------
        z_q : Tensor, shape (B, H*d, W')
        indices : Tensor, shape (B, H, W'), int64
        """
        tokens = prior_to_tokens(z, self.height).float()  # (B, N, d)
        codebook = self.codebook.float()  # (K, d)
        # Full precision even under autocast: a bf16 matmul could pick a neighbour that is not the nearest.
        with torch.autocast(device_type=z.device.type, enabled=False):
            # ||t - e||^2 without the ||t||^2 term, which is the same for every code; one fused GEMM pass.
            flat = tokens.reshape(-1, tokens.shape[-1])  # (B * N, d)
            distance = torch.addmm(codebook.pow(2).sum(-1), flat, codebook.T, alpha=-2)  # (B * N, K)
        # min(...).indices, not argmin: the same first nearest index, in a CPU kernel several times faster.
        indices = self._index_grid(distance.min(dim=-1).indices, z)  # (B, H, W')
        return self.indices_to_latent(indices).to(z.dtype), indices

    def indices_to_latent(self, indices: Tensor) -> Tensor:
        """Codebook vectors for token indices: ``(B, H, W') -> (B, H*d, W')``."""
        batch, height, width = indices.shape
        tokens = self.codebook[indices.reshape(batch, height * width)]  # (B, H*W', d)
        return tokens_to_prior(tokens, height)

    @staticmethod
    def _index_grid(indices: Tensor, z: Tensor) -> Tensor:
        batch, _, width = z.shape
        return indices.reshape(batch, -1, width)


def perplexity(counts: Tensor) -> float:
    """``exp(entropy)`` of the token distribution given per-code counts ``(K,)``; between 1 and ``K``."""
    probs = counts.double() / counts.sum().clamp_min(1)
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
    return math.exp(entropy.item())


def code_counts(indices: Tensor, codebook_size: int) -> Tensor:
    """How often each code occurs in ``indices`` (any shape); ``(codebook_size,)`` int64."""
    return torch.bincount(indices.reshape(-1), minlength=codebook_size)
