"""Latent layouts shared by the encoder, quantizer and decoder.

A band's latent lives in three layouts:

* grid ``(B, H, W', d)``: one ``d``-dimensional vector per spectrogram row ``h`` and latent frame ``w``;
* prior ``(B, H*d, W')``: what the diffusion priors see (thesis 3.3, "stacking the frequency axis along the
  channel dimension"); channel ``h * d + k`` holds component ``k`` of row ``h``, i.e. the row index varies
  slowest;
* tokens ``(B, H*W', d)``: one row per vector, the layout `Quantizer` quantizes; token ``h * W' + w``.
"""

from __future__ import annotations

from torch import Tensor


def grid_to_prior(z: Tensor) -> Tensor:
    """``(B, H, W', d) -> (B, H*d, W')``."""
    batch, height, width, dim = z.shape
    return z.permute(0, 1, 3, 2).reshape(batch, height * dim, width)


def prior_to_grid(z: Tensor, height: int) -> Tensor:
    """``(B, H*d, W') -> (B, H, W', d)``; the exact inverse of `grid_to_prior`."""
    batch, channels, width = z.shape
    if channels % height:
        raise ValueError(f"latent channels {channels} are not a multiple of the height {height}")
    return z.reshape(batch, height, channels // height, width).permute(0, 1, 3, 2)


def prior_to_tokens(z: Tensor, height: int) -> Tensor:
    """``(B, H*d, W') -> (B, H*W', d)``."""
    grid = prior_to_grid(z, height)
    return grid.reshape(grid.shape[0], -1, grid.shape[-1])


def tokens_to_prior(tokens: Tensor, height: int) -> Tensor:
    """``(B, H*W', d) -> (B, H*d, W')``; the exact inverse of `prior_to_tokens`."""
    batch, n_tokens, dim = tokens.shape
    return grid_to_prior(tokens.reshape(batch, height, n_tokens // height, dim))
