"""Stage 1: the LF/HF VQ-VAE pair that turns series into 4-dimensional tokens and back."""

from __future__ import annotations

from timevqvdm.tokenizer.config import TokenizerConfig
from timevqvdm.tokenizer.networks import Decoder, Encoder, downsampled_widths, n_downsample
from timevqvdm.tokenizer.quantizer import Quantizer
from timevqvdm.tokenizer.vqvae import BANDS, BandVQVAE, FrequencyTokenizer, build_tokenizer

__all__ = [
    "BANDS",
    "BandVQVAE",
    "Decoder",
    "Encoder",
    "FrequencyTokenizer",
    "Quantizer",
    "TokenizerConfig",
    "build_tokenizer",
    "downsampled_widths",
    "n_downsample",
]
