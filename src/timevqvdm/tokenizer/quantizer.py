"""Vector quantization of a band's latent with an EMA codebook (thesis 2.5.1, Eq. 41, Appendix D).

The codebook is not a parameter: in train mode each forward moves it by exponential moving averages of the
codes' counts N_k and of the sums m_k of the latents each code was chosen for, then ``e_k = m_k / N_k``
(thesis appendix "EMA updates of codebooks"; Oord et al. 2017, Appendix A.1), and the loss it
returns is the commitment term ``beta * ||z - sg[z_q]||^2`` only (the codebook term of Algorithm 1 is
replaced by the EMA update). Latents enter and leave in the priors' layout ``(B, H*d, W')``; token indices
have shape ``(B, H, W')``.

Written here rather than taken from vector-quantize-pytorch, whose update this one reproduces (tested): for
4-dimensional codes the library builds dense one-hot matrices and square-root distances, which made the
quantizer a large share of a stage-1 training step (benchmarks/stage1_profile.py times both).
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from timevqvdm.tokenizer.latent import prior_to_tokens, tokens_to_prior

# Tokens per block of the distance matrix on a CPU: a (rows x K) block stays in cache between the GEMM that
# writes it and the min that reads it; an accelerator takes all rows at once.
_CPU_ROWS = 2048
# Laplace smoothing of the EMA counts, so a code that has not been chosen lately does not divide by zero.
_EPS = 1e-5
# Checkpoints written with vector-quantize-pytorch name the same buffers differently, with a leading codebook
# axis of one: ours -> theirs.
_LEGACY_BUFFERS = {"codebook": "embed", "ema_count": "cluster_size", "ema_sum": "embed_avg"}


class Quantizer(nn.Module):
    """Nearest-neighbour quantizer over ``codebook_size`` vectors of dimension ``codebook_dim``.

    Gradients pass to the encoder with the plain straight-through estimator of VQ-VAE.

    Buffers
    -------
    codebook : (codebook_size, codebook_dim)
        The code vectors: ``ema_sum / ema_count`` after Laplace smoothing of the counts.
    ema_count : (codebook_size,)
        Moving average of how many latents chose each code.
    ema_sum : (codebook_size, codebook_dim)
        Moving average of the sum of the latents that chose each code.
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
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.height = height
        self.ema_decay = ema_decay
        self.commitment_weight = commitment_weight
        # He-uniform with fan-in K * d: the small start vector-quantize-pytorch used, kept so that training
        # starts where it always did.
        bound = math.sqrt(6.0 / (codebook_size * codebook_dim))
        codebook = torch.empty(codebook_size, codebook_dim).uniform_(-bound, bound)
        self.register_buffer("codebook", codebook)
        self.register_buffer("ema_count", torch.ones(codebook_size))
        self.register_buffer("ema_sum", codebook.clone())
        self._register_load_state_dict_pre_hook(_rename_legacy_buffers)

    @property
    def codebook_size(self) -> int:
        return self.codebook.shape[0]

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Quantize for training: updates the EMA codebook in train mode.

        Parameters
        ----------
        z : Tensor, shape (B, H*d, W')
            Continuous latent.

        Returns
        -------
        z_q : Tensor, shape (B, H*d, W')
            Straight-through quantized latent: the codes' values, the identity's gradient.
        indices : Tensor, shape (B, H, W'), int64
        loss : Tensor, shape ()
            The commitment loss (zero in eval mode).
        """
        tokens = prior_to_tokens(z, self.height)  # (B, N, d)
        flat = tokens.detach().reshape(-1, tokens.shape[-1]).float()  # (B * N, d)
        indices = self.nearest(flat)  # (B * N,)
        # The codes as they were when chosen: the update below moves the codebook for the next batch.
        codes = self.codebook[indices].view(tokens.shape).to(tokens.dtype)  # (B, N, d)
        if self.training:
            self._update(flat, indices)
            loss = self.commitment_weight * F.mse_loss(tokens, codes)
        else:
            loss = tokens.new_zeros(())
        z_q = tokens + (codes - tokens).detach()
        return tokens_to_prior(z_q, self.height), self._index_grid(indices, z), loss

    @torch.no_grad()
    def nearest(self, flat: Tensor) -> Tensor:
        """Index of the nearest code (Euclidean; the first on a tie) for each row ``(M, d) -> (M,)``."""
        codebook = self.codebook.float()  # (K, d)
        squared_norms = codebook.pow(2).sum(-1)  # (K,)
        rows = _CPU_ROWS if flat.device.type == "cpu" else max(flat.shape[0], 1)
        # Full precision even under autocast: a bf16 matmul could pick a neighbour that is not the nearest.
        with torch.autocast(device_type=flat.device.type, enabled=False):
            # ||t - e||^2 without the ||t||^2 term, which is the same for every code: one GEMM per block.
            # min(...).indices, not argmin: the same first nearest index, in a CPU kernel several times faster.
            blocks = [
                torch.addmm(squared_norms, block.float(), codebook.T, alpha=-2).min(dim=-1).indices
                for block in flat.split(rows)
            ]
        return torch.cat(blocks)

    @torch.no_grad()
    def _update(self, flat: Tensor, indices: Tensor) -> None:
        """One EMA step of the counts and sums, then the codebook from them (summed over DDP ranks)."""
        counts = torch.bincount(indices, minlength=self.codebook_size).to(self.ema_count.dtype)  # (K,)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, indices, flat.to(self.ema_sum.dtype))  # (K, d)
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # Every rank applies the same update, so the replicas' codebooks stay identical.
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.ema_count.lerp_(counts, 1.0 - self.ema_decay)
        self.ema_sum.lerp_(sums, 1.0 - self.ema_decay)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + _EPS) / (total + self.codebook_size * _EPS) * total  # (K,)
        self.codebook.copy_(self.ema_sum / smoothed[:, None])

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
        tokens = prior_to_tokens(z, self.height)  # (B, N, d)
        indices = self._index_grid(self.nearest(tokens.reshape(-1, tokens.shape[-1])), z)  # (B, H, W')
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


def _rename_legacy_buffers(state_dict: dict, prefix: str, *args) -> None:
    """Load a checkpoint written with vector-quantize-pytorch: its buffers under our names, in place."""
    old = prefix + "vq._codebook."
    if old + "embed" not in state_dict:
        return
    for ours, theirs in _LEGACY_BUFFERS.items():
        state_dict[prefix + ours] = state_dict.pop(old + theirs)[0]  # drop the codebook axis of one
    state_dict.pop(old + "initted", None)


def perplexity(counts: Tensor) -> float:
    """``exp(entropy)`` of the token distribution given per-code counts ``(K,)``; between 1 and ``K``."""
    probs = counts.double() / counts.sum().clamp_min(1)
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum()
    return math.exp(entropy.item())


def code_counts(indices: Tensor, codebook_size: int) -> Tensor:
    """How often each code occurs in ``indices`` (any shape); ``(codebook_size,)`` int64."""
    return torch.bincount(indices.reshape(-1), minlength=codebook_size)
