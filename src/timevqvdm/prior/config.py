"""Stage 2's hyperparameters, stored in every checkpoint; `build_prior` is where they stop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PriorConfig:
    """Stage 2: the two diffusion priors (thesis 2.3, 2.5.2, 3.3, Appendix D).

    Attributes
    ----------
    lf_channels, hf_channels : tuple of int
        Output channels of each U-Net level, top to bottom, of the LF and of the HF prior; each level halves
        the latent width.
    emb_dim : int
        Size of the time and of the class embedding.
    groups : int
        Groups of the U-Net's group normalisation.
    attn_heads, attn_head_dim : int
        Heads of the U-Net's self-attention and the size of each.
    prediction : str
        What the network predicts: ``"eps"`` (the thesis) or ``"v"``.
    class_dropout : float
        Probability of training on the null label, which classifier-free guidance needs (thesis 2.3.6).
    dropout : float
        Dropout inside the U-Nets' residual blocks while training (0: none, the thesis); a regulariser
        against copying small training sets.
    """

    lf_channels: tuple[int, ...] = (64, 128, 256)
    hf_channels: tuple[int, ...] = (32, 64, 128, 256)
    emb_dim: int = 256
    groups: int = 4
    attn_heads: int = 4
    attn_head_dim: int = 32
    prediction: str = "eps"
    class_dropout: float = 0.1
    dropout: float = 0.0
