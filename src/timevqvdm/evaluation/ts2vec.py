"""A small TS2Vec-style encoder (Yue et al. 2022, "TS2Vec: Towards Universal Representation of Time Series").

Context-FID (Jeha et al. 2022, PSA-GAN) is the FID on the representations of a TS2Vec encoder trained on
the real data; Diffusion-TS computes it that way. The PyPI package ``ts2vec`` (one release, 0.1, with no
author, licence, dependencies or project page, and modules that import each other by top-level names that
do not exist once installed) is a snapshot of the research scripts, not a maintained library, so this is
our own implementation of the method as the paper describes it (section 3):

* **Encoder** (3.1): a linear input projection to ``hidden_channels`` per time step, then
  ``depth`` residual blocks of two dilated 1-D convolutions (kernel 3, GELU before each, dilation
  ``2**i`` in block ``i``) and a final block to ``output_channels``; a time step's vector is its
  representation. During training a random half of the projected time steps is zeroed (*timestamp
  masking*) and dropout 0.1 acts on the output.
* **Contextual consistency** (3.2): each batch yields two overlapping random crops of every series; the
  representations of the overlapping steps in the two crops are the positive pairs.
* **Hierarchical contrastive loss** (3.3): at each scale, an instance-wise term (the same step of the other
  series in the batch are the negatives) and a temporal term (the other steps of the same series are the
  negatives), each a softmax cross-entropy on dot products, averaged with weight ``alpha = 0.5``; the two
  crops are then max-pooled over time by 2 and the terms repeat until one step is left.
* **Series representation**: the maximum over time of the step representations (TS2Vec's
  ``encoding_window="full_series"``, which Diffusion-TS's context-FID uses).

Defaults are the paper's (hidden 64, output 320, depth 10, batch 8, AdamW at 1e-3, 200 iterations, or 600
when the data hold more than 100 000 values). We leave out TS2Vec's weight averaging of the encoder used
for inference and its splitting of long series.

Masks: unobserved steps enter the encoder as zero vectors after the input projection, as TS2Vec treats
missing values, and the series representation takes its maximum over observed steps only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from timevqvdm.evaluation.series import check_series, seeded

__all__ = ["TS2VecConfig", "TS2VecEncoder", "train_ts2vec", "ts2vec_features"]


@dataclass(frozen=True)
class TS2VecConfig:
    """Architecture and training recipe of the TS2Vec-style encoder (defaults: the paper's).

    Attributes
    ----------
    hidden_channels, output_channels : int
        Width of the residual blocks and of the representation.
    depth : int
        Residual blocks before the output block; block ``i`` has dilation ``2**i``.
    kernel_size : int
        Odd, so that 'same' padding is symmetric.
    batch_size : int
    learning_rate : float
        AdamW.
    iterations : int or None
        Optimiser steps; None = 200, or 600 when the data hold more than 100 000 values.
    mask_probability : float
        Share of projected time steps zeroed during training (timestamp masking).
    dropout : float
        On the output representations during training.
    alpha : float
        Weight of the instance-wise term; the temporal term gets ``1 - alpha``.
    """

    hidden_channels: int = 64
    output_channels: int = 320
    depth: int = 10
    kernel_size: int = 3
    batch_size: int = 8
    learning_rate: float = 1e-3
    iterations: int | None = None
    mask_probability: float = 0.5
    dropout: float = 0.1
    alpha: float = 0.5

    def __post_init__(self) -> None:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")

    def n_iterations(self, n_values: int) -> int:
        """Optimiser steps for data holding ``n_values`` values (n_cases * n_channels * n_timepoints)."""
        if self.iterations is not None:
            return self.iterations
        return 200 if n_values <= 100_000 else 600


class _DilatedBlock(nn.Module):
    """GELU -> dilated conv -> GELU -> dilated conv, plus the (projected) input."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, project: bool) -> None:
        super().__init__()
        padding = (kernel_size - 1) * dilation // 2  # 'same' length for an odd kernel
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, padding=padding, dilation=dilation)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, padding=padding, dilation=dilation)
        self.skip = nn.Conv1d(c_in, c_out, 1) if project else nn.Identity()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.gelu(self.conv1(F.gelu(h)))) + self.skip(h)


class TS2VecEncoder(nn.Module):
    """Per-step representations of (masked) series.

    Parameters
    ----------
    n_channels : int
    config : TS2VecConfig
    """

    def __init__(self, n_channels: int, config: TS2VecConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.hidden_channels] * config.depth + [config.output_channels]
        ins = [config.hidden_channels, *widths[:-1]]
        last = len(widths) - 1
        self.input_projection = nn.Linear(n_channels, config.hidden_channels)
        self.blocks = nn.Sequential(
            *(
                _DilatedBlock(c_in, c_out, config.kernel_size, 2**i, project=c_in != c_out or i == last)
                for i, (c_in, c_out) in enumerate(zip(ins, widths, strict=True))
            )
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, C, T) series and (B, T) bool mask -> (B, T, D) representations; D = output_channels."""
        h = self.input_projection(x.transpose(1, 2))  # (B, T, H)
        h = torch.where(mask[..., None], h, 0.0)  # unobserved (or timestamp-masked) steps carry nothing
        return self.dropout(self.blocks(h.transpose(1, 2))).transpose(1, 2)


def train_ts2vec(
    x: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    config: TS2VecConfig | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> TS2VecEncoder:
    """Train a TS2Vec-style encoder on ``x`` with the hierarchical contrastive loss.

    Parameters
    ----------
    x : np.ndarray, shape (n_cases, n_channels, n_timepoints)
    mask : np.ndarray of bool, shape (n_cases, n_timepoints), or None
        True = observed.
    config : TS2VecConfig or None
        None = the paper's defaults.
    seed : int
        Initial weights, batches, crops, timestamp masks and dropout.
    device : str or torch.device

    Returns
    -------
    TS2VecEncoder
        In evaluation mode.
    """
    config = config or TS2VecConfig()
    values, observed = check_series(x, mask, name="real")
    data = torch.from_numpy(values).to(device)
    observed_t = torch.from_numpy(observed).to(device)
    with seeded(seed):
        encoder = TS2VecEncoder(values.shape[1], config).to(device)
        optimiser = torch.optim.AdamW(encoder.parameters(), lr=config.learning_rate)
        generator = torch.Generator().manual_seed(seed)
        encoder.train()
        for _ in range(config.n_iterations(values.size)):
            idx = torch.randperm(len(data), generator=generator)[: config.batch_size].to(device)
            loss = _crop_loss(encoder, data[idx], observed_t[idx], generator)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return encoder.eval()


def _crop_loss(
    encoder: TS2VecEncoder, x: torch.Tensor, mask: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Contextual consistency: encode two overlapping crops, contrast the representations of the overlap."""
    length = x.shape[2]
    if length < 2:
        raise ValueError("TS2Vec needs series of at least two time steps")
    # Windows [a1, b1) and [a2, b2) with a1 <= a2 < b1 <= b2 overlap on [a2, b1), of `overlap` steps.
    overlap = _randint(2, length + 1, generator)
    a2 = _randint(0, length - overlap + 1, generator)
    b1 = a2 + overlap
    a1 = _randint(0, a2 + 1, generator)
    b2 = _randint(b1, length + 1, generator)
    # Each series shifts both windows by its own offset, keeping them inside [0, length).
    shift = torch.randint(-a1, length - b2 + 1, (len(x),), generator=generator).to(x.device)
    z1 = _encode_window(encoder, x, mask, shift + a1, b1 - a1, generator)[:, -overlap:]
    z2 = _encode_window(encoder, x, mask, shift + a2, b2 - a2, generator)[:, :overlap]
    return hierarchical_contrastive_loss(z1, z2, alpha=encoder.config.alpha)


def _randint(low: int, high: int, generator: torch.Generator) -> int:
    return int(torch.randint(low, high, (1,), generator=generator))


def _encode_window(
    encoder: TS2VecEncoder,
    x: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    width: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Representations (B, width, D) of the window of each series starting at its own ``start``."""
    steps = start[:, None] + torch.arange(width, device=x.device)[None, :]  # (B, width)
    window = torch.gather(x, 2, steps[:, None, :].expand(-1, x.shape[1], -1))  # (B, C, width)
    kept = torch.rand(steps.shape, generator=generator) >= encoder.config.mask_probability
    return encoder(window, torch.gather(mask, 1, steps) & kept.to(x.device))


def hierarchical_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """TS2Vec's loss (Yue et al. 2022, section 3.3, Algorithm 1) on two views of the same steps.

    Parameters
    ----------
    z1, z2 : torch.Tensor, shape (B, T, D)
        Representations of the same B series and T time steps in two contexts.
    alpha : float
        Weight of the instance-wise term; the temporal term gets ``1 - alpha``.

    Returns
    -------
    torch.Tensor
        Scalar: the terms summed over scales (T, T/2, ..., 1) and divided by the number of scales.
    """
    loss, scales = z1.new_zeros(()), 0
    while True:
        loss = loss + alpha * _contrast(z1, z2)  # instance-wise: rows are series, per time step
        if z1.shape[1] > 1:
            # temporal: rows are time steps, per series
            loss = loss + (1 - alpha) * _contrast(z1.transpose(0, 1), z2.transpose(0, 1))
        scales += 1
        if z1.shape[1] == 1:
            return loss / scales
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)


def _contrast(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy over rows: for shape (N, G, D), row i of one view must pick row i of the other.

    The candidates of a row are the 2N - 1 other rows of both views in the same group G (its own
    similarity is excluded), scored by dot products. One row has no negatives, hence no loss.
    """
    n = z1.shape[0]
    if n == 1:
        return z1.new_zeros(())
    z = torch.cat([z1, z2]).transpose(0, 1)  # (G, 2N, D)
    sim = z @ z.transpose(1, 2)  # (G, 2N, 2N)
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = sim.masked_fill(eye, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)  # i <-> i + N
    return F.cross_entropy(logits.flatten(0, 1), positives.repeat(z.shape[0]))


@torch.no_grad()
def ts2vec_features(
    encoder: TS2VecEncoder, x: np.ndarray, mask: np.ndarray | None = None, *, batch_size: int = 256
) -> np.ndarray:
    """Series representations: the maximum over observed time steps of the step representations.

    Parameters
    ----------
    encoder : TS2VecEncoder
    x : np.ndarray, shape (n_cases, n_channels, n_timepoints)
    mask : np.ndarray of bool, shape (n_cases, n_timepoints), or None
    batch_size : int

    Returns
    -------
    np.ndarray of float64, shape (n_cases, output_channels)
    """
    values, observed = check_series(x, mask, name="series")
    device = next(encoder.parameters()).device
    encoder.eval()
    out = []
    for start in range(0, len(values), batch_size):
        xb = torch.from_numpy(values[start : start + batch_size]).to(device)
        mb = torch.from_numpy(observed[start : start + batch_size]).to(device)
        z = encoder(xb, mb).masked_fill(~mb[..., None], float("-inf"))  # padding never the maximum
        out.append(z.amax(dim=1).double().cpu())
    return torch.cat(out).numpy()
