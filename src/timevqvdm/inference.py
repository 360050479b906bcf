"""Running the trained networks outside training: inference mode, and stage 1 between series and latents
in chunks, so that memory stays bounded (a few hundred MB) however many series pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from timevqvdm.data_info import DataInfo
from timevqvdm.prior import LatentPrior
from timevqvdm.tokenizer import FrequencyTokenizer

# Series x timepoints through stage 1 at once (e.g. 3495 series of length 150, 174 of length 3000).
DECODE_BUDGET = 2**19
# The same on a CPU (27 series of length 150): stage 1's activations are then a few MB, near the size of a
# core's cache, and the memory-bound layers (batch norm, activations) run several times faster than on
# chunks that only fit main memory.
CPU_DECODE_BUDGET = 2**12

BandFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    """Inference mode for a trained network: eval (BatchNorm uses its running statistics), no gradients.

    Fitted and loaded models are frozen the same way, so both take the same kernels and give bit-identical
    samples for a seed.
    """
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def chunk_size(tokenizer: FrequencyTokenizer) -> int:
    """Series per stage-1 forward pass: the decoders run at the full spectrogram width, so it shrinks with
    the series length; on a CPU, cache-sized chunks (`CPU_DECODE_BUDGET`)."""
    on_cpu = next(tokenizer.parameters()).device.type == "cpu"
    return max(16, (CPU_DECODE_BUDGET if on_cpu else DECODE_BUDGET) // tokenizer.length)


@torch.no_grad()
def encode(
    tokenizer: FrequencyTokenizer, x: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Continuous stage-1 latents of `x` (B, C, L) -> ((B, H*d, W_lf), (B, H*d, W_hf)) on the CPU."""
    parts = [tokenizer.encode(chunk.to(device)) for chunk in x.split(chunk_size(tokenizer))]
    return torch.cat([p[0] for p in parts]).cpu(), torch.cat([p[1] for p in parts]).cpu()


@torch.no_grad()
def decode_latents(
    tokenizer: FrequencyTokenizer,
    prior_lf: LatentPrior,
    prior_hf: LatentPrior,
    z_lf: torch.Tensor,
    z_hf: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled prior samples (B, H*d, W_lf) and (B, H*d, W_hf) -> unscale -> snap to the codebooks ->
    decode -> (x_lf, x_hf), each (B, C, L) in normalised units."""
    parts_lf, parts_hf = [], []
    size = chunk_size(tokenizer)
    for a, b in zip(z_lf.split(size), z_hf.split(size), strict=True):
        zq_lf = tokenizer.quantize(prior_lf.scaler.inverse(a), "lf")
        zq_hf = tokenizer.quantize(prior_hf.scaler.inverse(b), "hf")
        x_lf, x_hf = tokenizer.decode(zq_lf, zq_hf)
        parts_lf.append(x_lf)
        parts_hf.append(x_hf)
    return torch.cat(parts_lf), torch.cat(parts_hf)


@torch.no_grad()
def per_band(
    tokenizer: FrequencyTokenizer, info: DataInfo, X: np.ndarray, band_fn: BandFn, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """`band_fn` (normalised (B, C, L) -> (x_lf, x_hf)) over chunks of `X` (n, L) or (n, C, L) in original
    units -> (X_lf, X_hf) of the same shape and units; the mean goes to the LF part (it carries the zero
    frequency)."""
    x, squeeze = _as_model_input(info, X)
    outs_lf, outs_hf = [], []
    for chunk in x.split(chunk_size(tokenizer)):
        x_lf, x_hf = band_fn(chunk.to(device))
        outs_lf.append(x_lf.cpu())
        outs_hf.append(x_hf.cpu())
    x_lf = info.to_original_units(torch.cat(outs_lf).numpy())
    x_hf = info.to_original_units(torch.cat(outs_hf).numpy(), shift=False)
    return (x_lf[:, 0], x_hf[:, 0]) if squeeze else (x_lf, x_hf)


def _as_model_input(info: DataInfo, X: np.ndarray) -> tuple[torch.Tensor, bool]:
    """`X` (n, L) or (n, C, L) in original units -> normalised (n, C, L), and whether it came in 2-D."""
    X = np.asarray(X, dtype=np.float32)
    squeeze = X.ndim == 2
    if squeeze:
        X = X[:, None, :]
    if X.ndim != 3 or X.shape[1:] != (info.n_channels, info.length):
        raise ValueError(
            f"expected shape (n, {info.n_channels}, {info.length}) or (n, {info.length}), got {X.shape}"
        )
    return torch.from_numpy(info.normalise(X)), squeeze
