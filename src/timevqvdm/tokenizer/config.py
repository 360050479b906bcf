"""Stage 1's hyperparameters, stored in every checkpoint; `build_tokenizer` is where they stop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenizerConfig:
    """Stage 1: the LF/HF VQ-VAE pair (thesis 2.5.1, 3.3, Appendix D).

    Attributes
    ----------
    hidden_channels : int
        Width of the encoder's and decoder's convolutions.
    n_res_blocks : int
        Residual blocks per encoder and decoder.
    codebook_size : int
        Codes per band's codebook.
    codebook_dim : int
        Dimension ``d`` of one code.
    ema_decay : float
        Decay of the codebook's exponential moving average.
    commitment_weight : float
        Weight of the commitment loss.
    lf_width_range, hf_width_range : tuple of int
        Target latent width ``(low, high)`` of each band: the band is halved until its width lies in the
        range (a width already below it is kept).
    full_width_stem : bool
        A 3x3 convolution between the spectrogram and ``hidden_channels`` at the spectrogram's full width, in
        the encoder before the first down-sampling block and in the decoder after the last up-sampling
        block. Off (the thesis's text, 2.5.1: n down-sampling blocks, then the ResNet; the ResNet, then n
        up-sampling layers), those blocks read and write the spectrogram themselves (`Encoder`). On is the
        architecture of models saved before the setting existed: it costs about half again as much time
        per training step; its held-out reconstruction was no better on the median of the development
        datasets, though better on some, and its test reconstruction on GunPoint differed by less than the
        spread between seeds, while it fits the training series more closely
        (benchmarks/results/stage1-stem-ab*.json).
    """

    hidden_channels: int = 64
    n_res_blocks: int = 4
    codebook_size: int = 512
    codebook_dim: int = 4
    ema_decay: float = 0.8
    commitment_weight: float = 1.0
    lf_width_range: tuple[int, int] = (16, 31)
    hf_width_range: tuple[int, int] = (64, 127)
    full_width_stem: bool = False
