"""Encoder and decoder of one band's VQ-VAE (thesis 2.5.1, 3.3).

Both work on spectrograms ``(B, 2C, H, W)`` and only ever resample the time axis ``W``: the frequency axis
``H`` (5 rows for ``n_fft = 8``) is too short to compress. Each down-sampling block halves the width,
``W -> floor(W / 2)``; the decoder's transposed convolutions double it and add one column where the
encoder dropped one, so decoding returns exactly the spectrogram width the encoder saw.
"""

from __future__ import annotations

import itertools

from torch import Tensor, nn

from timevqvdm.tokenizer.latent import grid_to_prior, prior_to_grid

# Kernel (3, 4), stride (1, 2), padding (1, 1): keeps H and maps W to floor(W / 2) (thesis 2.5.1).
_KERNEL = (3, 4)
_STRIDE = (1, 2)
_PADDING = (1, 1)


def n_downsample(width: int, lo: int, hi: int) -> int:
    """Number of halvings that bring a spectrogram width into ``[lo, hi]`` (thesis 3.3).

    The smallest ``n`` with ``floor(width / 2**n) <= hi``. When ``hi >= 2 * lo - 1`` (as for the defaults
    (16, 31) and (64, 127)) that width is also ``>= lo`` unless ``width`` itself is already below ``lo``,
    in which case no down-sampling is done (``n = 0``).

    >>> n_downsample(193, 16, 31), n_downsample(193, 64, 127)
    (3, 1)
    """
    if not 1 <= lo <= hi:
        raise ValueError(f"width range must satisfy 1 <= lo <= hi, got ({lo}, {hi})")
    n = 0
    while width > hi:
        width //= 2
        n += 1
    return n


def downsampled_widths(width: int, n_down: int) -> list[int]:
    """Widths before and after each down-sampling block: ``[W, W // 2, ..., W // 2**n]``."""
    widths = [width]
    for _ in range(n_down):
        widths.append(widths[-1] // 2)
    if widths[-1] < 1:
        raise ValueError(f"width {width} cannot be halved {n_down} times")
    return widths


class ResBlock(nn.Module):
    """Pre-activation residual block: ``x + Conv3x3(LeakyReLU(BN(x)))``; shape ``(B, C, H, W)`` kept."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels),
            nn.LeakyReLU(),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _res_stack(channels: int, n_blocks: int) -> nn.Sequential:
    # The closing norm + activation hands a normalised signal to the next linear layer.
    blocks = [ResBlock(channels) for _ in range(n_blocks)]
    return nn.Sequential(*blocks, nn.BatchNorm2d(channels), nn.LeakyReLU())


def _down_block(in_channels: int, channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, _KERNEL, _STRIDE, _PADDING),
        nn.BatchNorm2d(channels),
        nn.LeakyReLU(),
    )


def _up_conv(in_channels: int, out_channels: int, extra_column: int) -> nn.ConvTranspose2d:
    # ConvTranspose2d with this kernel/stride/padding maps w -> 2w; output_padding adds the column that
    # floor(W / 2) dropped for odd W, so the block returns exactly the width its encoder block received.
    return nn.ConvTranspose2d(
        in_channels, out_channels, _KERNEL, _STRIDE, _PADDING, output_padding=(0, extra_column)
    )


def _up_block(channels: int, extra_column: int) -> nn.Sequential:
    return nn.Sequential(_up_conv(channels, channels, extra_column), nn.BatchNorm2d(channels), nn.LeakyReLU())


def has_stem(full_width_stem: bool, n_down: int) -> bool:
    """Whether a band's encoder and decoder keep 3x3 convolutions at full width around the resampling blocks:
    when asked to, or when the band has no resampling block to read or write the spectrogram."""
    return full_width_stem or n_down == 0


class Encoder(nn.Module):
    """Spectrogram ``(B, in_channels, H, W)`` -> continuous latent ``(B, H*latent_dim, W // 2**n_down)``.

    ``n_down`` down-sampling blocks to ``hidden_channels``, ``n_res_blocks`` residual blocks, then a
    per-position linear projection ``hidden_channels -> latent_dim`` (thesis 3.3: 64 channels inside,
    4-dimensional tokens outside). With ``full_width_stem`` (or no down-sampling block) a 3x3 convolution to
    ``hidden_channels`` comes first, at the spectrogram's full width; otherwise the first down-sampling block
    reads the spectrogram itself. The output is in the priors' layout, see `timevqvdm.tokenizer.latent`.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        hidden_channels: int,
        latent_dim: int,
        n_down: int,
        n_res_blocks: int,
        full_width_stem: bool,
    ) -> None:
        super().__init__()
        stem = has_stem(full_width_stem, n_down)
        self.stem = (
            nn.Conv2d(in_channels, hidden_channels, kernel_size=3, padding=1) if stem else nn.Identity()
        )
        first = hidden_channels if stem else in_channels
        self.down = nn.Sequential(
            *[_down_block(first if i == 0 else hidden_channels, hidden_channels) for i in range(n_down)]
        )
        self.res = _res_stack(hidden_channels, n_res_blocks)
        self.proj = nn.Linear(hidden_channels, latent_dim)

    def forward(self, u: Tensor) -> Tensor:
        h = self.res(self.down(self.stem(u)))  # (B, hidden, H, W')
        return grid_to_prior(self.proj(h.permute(0, 2, 3, 1)))  # (B, H, W', d) -> (B, H*d, W')


class Decoder(nn.Module):
    """Latent ``(B, H*latent_dim, widths[-1])`` -> spectrogram ``(B, out_channels, H, widths[0])``.

    Mirrors `Encoder`: linear projection ``latent_dim -> hidden_channels``, residual blocks, one
    transposed-convolution block per down-sampling block, and a 3x3 output convolution without activation
    (with ``full_width_stem`` or no up-sampling block; otherwise the last up-sampling convolution writes the
    spectrogram, without norm or activation).

    Parameters
    ----------
    out_channels : int
        Spectrogram channels ``2C``.
    hidden_channels, n_res_blocks : int
        Width and depth, as the encoder's.
    latent_dim : int
        Size d of a code.
    height : int
        Spectrogram rows H.
    widths : list of int
        The encoder's widths before and after each down-sampling block (`downsampled_widths`); fixes which
        up-sampling blocks add an extra column.
    full_width_stem : bool
        As the encoder's.
    """

    def __init__(
        self,
        *,
        out_channels: int,
        hidden_channels: int,
        latent_dim: int,
        height: int,
        widths: list[int],
        n_res_blocks: int,
        full_width_stem: bool,
    ) -> None:
        super().__init__()
        self.height = height
        self.widths = list(widths)
        self.proj = nn.Linear(latent_dim, hidden_channels)
        self.res = _res_stack(hidden_channels, n_res_blocks)
        extra = [wide - 2 * narrow for wide, narrow in itertools.pairwise(widths)][::-1]  # decoder's order
        if has_stem(full_width_stem, len(extra)):
            self.up = nn.Sequential(*[_up_block(hidden_channels, e) for e in extra])
            self.head = nn.Conv2d(hidden_channels, out_channels, kernel_size=3, padding=1)
        else:
            last = _up_conv(hidden_channels, out_channels, extra[-1])
            self.up = nn.Sequential(*[_up_block(hidden_channels, e) for e in extra[:-1]], last)
            self.head = nn.Identity()

    def forward(self, z: Tensor) -> Tensor:
        if z.shape[-1] != self.widths[-1]:
            raise ValueError(f"decoder expects latent width {self.widths[-1]}, got {z.shape[-1]}")
        h = self.proj(prior_to_grid(z, self.height))  # (B, H, W', hidden)
        h = self.res(h.permute(0, 3, 1, 2))  # (B, hidden, H, W')
        return self.head(self.up(h))  # (B, out_channels, H, W)
