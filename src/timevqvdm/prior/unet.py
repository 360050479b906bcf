"""The 1D U-Net denoiser of stage 2 (thesis 2.5.2 and 3.3).

    [z_t ; cond up-scaled to W] -> input conv -> down levels -> middle -> up levels -> final block -> 1x1 conv
                                        |             |_ two skips per level _^             ^
                                        |___________________________________________________|

The layout follows the convention of the thesis's source (Phil Wang's Unet1D, `dim` and `dim_mults`): with
channels (c_1, ..., c_n), level i runs at c_{i-1} (c_0 = c_1) and its strided conv maps c_{i-1} -> c_i while
halving the width, so every level down-samples and the middle runs at c_n on W / 2^n (LF: 19 -> 2, HF:
76 -> 4, as 3.3 states). A level holds two residual blocks (weight-standardised convs, GroupNorm, SiLU; the
time/class embedding gives a scale and shift after the first GroupNorm) and pre-norm linear attention, and
keeps two skips: after its first block and after its attention. The up path mirrors it at the same channels;
its up-sampling restores the skip's exact width, so odd widths work. A last residual block takes the input
conv's features as a third skip. At thesis size the parameter counts are within 2% of Table 2's (pinned in
tests/prior/test_latent_prior.py, the FLOPs in tests/prior/test_unet1d.py).

Inside the network a batch (B, C, W) runs as rows, (B, C, 1, W) in channels-last memory, i.e. (B, W, C) in
memory: at these short widths the CPU's (oneDNN's) channels-last convolutions are much faster than its
(B, C, W) ones, and the layer norm over channels and the queries' softmax over features read contiguous
memory. The convolutions keep Conv1d's (C_out, C_in, k) weights, so state dicts and saved models are the
same in either layout. Inside the network, a shape written (B, C, W) means the rows (B, C, 1, W).
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Embedding(NamedTuple):
    """The conditioning of a batch: embedding rows (R, 2 * emb_dim) and the row of each series, index (B,).

    R = B (one row per series) when every series has its own time, R = n_classes + 1 (one row per class)
    when the batch shares one time (`UNet1D._embed`).
    """

    rows: Tensor
    index: Tensor


class UNet1D(nn.Module):
    """Noise (or velocity) predictor ``forward(z, t, y, cond=None) -> (B, in_channels, W)``.

    The class holds the architecture only; how a trained network runs over a large batch (slices, threads)
    is the sampling side's business (`prior.slicing`). `forward` is one graph for a compiler
    (`torch.compile`, `timevqvdm.compiled`): no Python-side caches, no branches on tensor values; its only
    branches depend on shapes, dtypes, the architecture and whether it is being compiled (the linear
    attention's two softmaxes take the layout each path runs fastest, same values).

    Parameters
    ----------
    in_channels : int
        Channels C of the latent z.
    channels : tuple of int
        Channels of each level's down-sampled output, top to bottom: ``len(channels)`` levels, each halving
        the width, so W must be at least ``2 ** len(channels)`` (`min_width`).
    n_classes : int
        Real classes; label ``n_classes`` is the null (unconditional) class.
    cond_channels : int
        Channels of the input condition (the scaled LF latent for the HF prior), 0 for none.
    emb_dim : int
        Size of the time and of the class embedding (concatenated: ``2 * emb_dim``).
    groups : int
        Groups of the group normalisation; divides every entry of `channels`.
    attn_heads, attn_head_dim : int
        Heads of the attention layers and the size of each.
    dropout : float
        Dropout between the two convolutions of every residual block while training (0: none, the thesis).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        channels: tuple[int, ...] = (64, 128, 256),
        n_classes: int,
        cond_channels: int = 0,
        emb_dim: int = 256,
        groups: int = 4,
        attn_heads: int = 4,
        attn_head_dim: int = 32,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_arguments(channels, emb_dim, groups)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.in_channels, self.cond_channels, self.n_classes = in_channels, cond_channels, n_classes
        self.channels = tuple(channels)
        cond_dim = 2 * emb_dim
        attn = {"heads": attn_heads, "head_dim": attn_head_dim}
        block = {"groups": groups, "dropout": dropout}
        # (c_in, c_out) per level: blocks run at c_in, the down-sampling conv maps c_in -> c_out.
        level_channels = list(itertools.pairwise((channels[0], *channels)))

        self.time_embedding = TimeEmbedding(emb_dim)
        self.class_embedding = nn.Embedding(n_classes + 1, emb_dim)  # + 1: the null class
        # The condition is concatenated to z_t before this conv, so the conv is the learned part of its path.
        self.input_conv = RowConv1d(in_channels + cond_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList(
            DownLevel(c_in, c_out, cond_dim, block, **attn) for c_in, c_out in level_channels
        )
        self.middle = MiddleBlock(channels[-1], cond_dim, block, **attn)
        self.up = nn.ModuleList(
            UpLevel(c_in, c_out, cond_dim, block, **attn) for c_in, c_out in reversed(level_channels)
        )
        # 2 * channels[0]: the last up-level's output and the input conv's skip
        self.final_block = ResBlock(2 * channels[0], channels[0], cond_dim, **block)
        # PyTorch's default init rather than zeros: a zero output conv would give every layer below it a zero
        # gradient on the first step; the default start costs a slightly larger first loss and nothing else.
        self.output_conv = RowConv1d(channels[0], in_channels, 1)

    @property
    def min_width(self) -> int:
        """The shortest input width: each of the len(channels) levels needs at least 2 positions to halve."""
        return 2 ** len(self.channels)

    def forward(self, z: Tensor, t: Tensor, y: Tensor, cond: Tensor | None = None) -> Tensor:
        """Predict the noise (or velocity) of a noisy latent.

        Parameters
        ----------
        z : Tensor, shape (B, C, W)
            The noisy latent z_t.
        t : Tensor, shape (B,) or (1,)
            Diffusion time in [0, 1] per series, or one time for the whole batch (a sampler step, see
            `_embed`).
        y : Tensor, shape (B,), int64
            Labels in [0, n_classes], n_classes being the null class.
        cond : Tensor, shape (B, cond_channels, W'), optional
            The input condition, any width W', for a network with ``cond_channels > 0``; else None.

        Returns
        -------
        Tensor, shape (B, C, W)
        """
        self._check_inputs(z, t, cond)
        emb = self._embed(t, y)
        x = self.input_conv(to_rows(self._with_condition(z, cond)))  # (B, channels[0], 1, W)
        input_skip = x
        skips: list[tuple[Tensor, Tensor]] = []
        for level in self.down:
            x, level_skips = level(x, emb)  # x: (B, c_out, 1, W_level // 2)
            skips.append(level_skips)
        x = self.middle(x, emb)  # (B, channels[-1], 1, W / 2^n)
        for level in self.up:
            x = level(x, skips.pop(), emb)  # (B, c_in, 1, W_level)
        x = self.final_block(torch.cat([x, input_skip], dim=1), emb)
        return from_rows(self.output_conv(x))

    def _embed(self, t: Tensor, y: Tensor) -> Embedding:
        """Time and class embeddings, concatenated, as rows and each series' row.

        With one time per series, t (B,), there is one row per series. With one time for the batch, t (1,)
        (a sampler step), there is one row per class, (n_classes + 1, 2 * emb_dim), and each series takes its
        label's row: the embedding MLP and every block's scale/shift layer run on n_classes + 1 rows
        instead of the whole batch, whose work would otherwise grow with the batch. The branch is on a
        shape, so a compiler traces one side of it, and the row count is fixed by the architecture.
        """
        if t.shape[0] == 1:
            # The time's row repeated for every class before the MLP, not after: one row through a Linear
            # takes another kernel than several, and its rounding would differ from the per-series path's.
            time = self.time_embedding(t.expand(self.n_classes + 1))  # (n_classes + 1, emb_dim)
            return Embedding(torch.cat([time, self.class_embedding.weight], dim=1), y)
        index = torch.arange(t.shape[0], device=t.device)
        return Embedding(torch.cat([self.time_embedding(t), self.class_embedding(y)], dim=1), index)

    def _with_condition(self, z: Tensor, cond: Tensor | None) -> Tensor:
        """Up-scale the condition to z's width (linear interpolation) and stack it on the channel axis."""
        if not self.cond_channels:  # the architecture decides, not the call
            return z
        cond = F.interpolate(cond.to(z.dtype), size=z.shape[-1], mode="linear", align_corners=False)
        return torch.cat([z, cond], dim=1)

    def _check_inputs(self, z: Tensor, t: Tensor, cond: Tensor | None) -> None:
        if z.ndim != 3 or z.shape[1] != self.in_channels:
            raise ValueError(f"z must be (B, {self.in_channels}, W), got {tuple(z.shape)}")
        if t.ndim != 1 or t.shape[0] not in (1, z.shape[0]):
            raise ValueError(f"t must be ({z.shape[0]},) or (1,), got {tuple(t.shape)}")
        if z.shape[-1] < self.min_width:
            raise ValueError(
                f"width {z.shape[-1]} is too short for {len(self.channels)} levels (>= {self.min_width})"
            )
        if (cond is None) != (self.cond_channels == 0):
            expected = f"cond with {self.cond_channels} channels" if self.cond_channels else "no cond"
            raise ValueError(f"this network expects {expected}, got {'none' if cond is None else 'one'}")
        if cond is not None and (cond.ndim != 3 or cond.shape[:2] != (z.shape[0], self.cond_channels)):
            raise ValueError(
                f"cond must be ({z.shape[0]}, {self.cond_channels}, W'), got {tuple(cond.shape)}"
            )


class TimeEmbedding(nn.Module):
    """t in [0, 1] -> sinusoidal features of 1000 t -> MLP, (B,) -> (B, dim).

    The factor 1000 follows VDM's code (thesis 3.3): on [0, 1] the sinusoids barely change and the network
    could not tell times apart.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        scaled = 1000.0 * t  # a new tensor: the caller's t is never modified
        return self.mlp(sinusoidal_features(scaled, self.dim))


def sinusoidal_features(x: Tensor, dim: int) -> Tensor:
    """(B,) -> (B, dim): [sin(x w_k), cos(x w_k)], frequencies w_k from 1 down to 1/10000 (Vaswani et al.)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=x.device) / max(half - 1, 1))
    angles = x.float()[:, None] * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def to_rows(x: Tensor) -> Tensor:
    """(B, C, W) -> (B, C, 1, W) in channels-last memory, the layout inside the network (module docstring);
    no copy when x already has that memory layout."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def from_rows(x: Tensor) -> Tensor:
    """(B, C, 1, W) -> (B, C, W), contiguous."""
    return x.squeeze(2).contiguous()


class RowConv1d(nn.Conv1d):
    """A Conv1d, with its parameters and state dict, over rows (B, C_in, 1, W) -> (B, C_out, 1, W'): a 2-D
    convolution with a kernel of height 1, which keeps the channels-last layout."""

    def forward(self, x: Tensor) -> Tensor:
        return self._row_conv(x, self.weight)

    def _row_conv(self, x: Tensor, weight: Tensor) -> Tensor:
        return F.conv2d(
            x,
            weight.unsqueeze(2),
            self.bias,
            (1, self.stride[0]),
            (0, self.padding[0]),
            (1, self.dilation[0]),
            self.groups,
        )


class WeightStandardizedConv1d(RowConv1d):
    """Conv1d whose kernel is standardised per output channel before use (Qiao et al. 2019).

    Paired with GroupNorm it keeps activations well scaled for any batch size. The kernel is standardised
    inside every forward, without a cache, so a compiler sees it as part of the graph (where it costs a few
    small reductions over the weights; a sampling slice's convolutions cost far more).
    """

    def forward(self, x: Tensor) -> Tensor:
        eps = 1e-5 if x.dtype == torch.float32 else 1e-3
        return self._row_conv(x, _standardize(self.weight, eps))


def _standardize(weight: Tensor, eps: float) -> Tensor:
    """(C_out, C_in, k) -> zero mean and unit variance over (C_in, k) for every output channel."""
    # Two passes (mean, then the mean square of the centred kernel): on a CPU several times faster than
    # torch.var's one-pass kernel at these sizes, and as accurate.
    centred = weight - weight.mean(dim=(1, 2), keepdim=True)
    return centred * torch.rsqrt(centred.square().mean(dim=(1, 2), keepdim=True) + eps)


class ConvBlock(nn.Module):
    """WS conv (k=3) -> GroupNorm -> SiLU; (B, C_in, W) -> (B, C_out, W)."""

    def __init__(self, c_in: int, c_out: int, groups: int) -> None:
        super().__init__()
        self.conv = WeightStandardizedConv1d(c_in, c_out, 3, padding=1)
        self.norm = nn.GroupNorm(groups, c_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(self.norm(self.conv(x)))


class ModulatedConvBlock(ConvBlock):
    """A ConvBlock whose normalised output is modulated, x (scale + 1) + shift, before the SiLU; scale and
    shift (B, C_out, 1, 1) come from the embedding."""

    def forward(self, x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
        return F.silu(self.norm(self.conv(x)) * (scale + 1) + shift)


class ResBlock(nn.Module):
    """Two ConvBlocks and a residual path; the embedding (cond_dim per series) steers the first via PReLU +
    Linear. Dropout between the two, as in DDPM's residual blocks (an identity at 0)."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, groups: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.to_scale_shift = nn.Sequential(nn.PReLU(), nn.Linear(cond_dim, 2 * c_out))
        self.block1 = ModulatedConvBlock(c_in, c_out, groups)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.block2 = ConvBlock(c_out, c_out, groups)
        self.skip = RowConv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, emb: Embedding) -> Tensor:
        scale_shift = self.to_scale_shift(emb.rows)[emb.index]  # (R, 2 c_out) -> (B, 2 c_out)
        scale, shift = scale_shift[:, :, None, None].chunk(2, dim=1)  # (B, c_out, 1, 1) each
        return self.block2(self.dropout(self.block1(x, scale, shift))) + self.skip(x)


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of rows (B, C, 1, W), separately at every position."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SelfAttention(nn.Module):
    """Pre-norm multi-head softmax attention over positions with a residual; rows (B, C, 1, W) -> the same.

    Queries, keys and values are views of the projection's channels-last output, (B, W, heads, head_dim)
    each, and the heads' outputs are written position-major, (B, W, heads * head_dim): the rows layout, so
    no copy is made on the way in or out.
    """

    def __init__(self, dim: int, *, heads: int, head_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.norm = ChannelLayerNorm(dim)
        self.to_qkv = RowConv1d(dim, 3 * heads * head_dim, 1, bias=False)
        self.to_out = RowConv1d(heads * head_dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        batch, _, _, width = x.shape
        qkv = self.to_qkv(self.norm(x)).permute(0, 2, 3, 1)  # (B, 1, W, 3 * heads * head_dim)
        q, k, v = qkv.reshape(batch, width, 3, self.heads, self.head_dim).unbind(2)
        out = self._attend(q, k, v)  # (B, W, heads * head_dim)
        return x + self.to_out(out.transpose(1, 2).unsqueeze(2))

    def _attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """(B, W, heads, head_dim) each -> (B, W, heads * head_dim)."""
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return out.transpose(1, 2).flatten(2)


class LinearAttention(SelfAttention):
    """Linear attention (Katharopoulos et al. 2020; Shen et al. 2021): softmax over features for queries and
    over positions for keys, so the cost is O(W head_dim^2) instead of O(W^2 head_dim)."""

    def _attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        q = _feature_softmax(q) * self.head_dim**-0.5
        k = _position_softmax(k)
        # One pair of matrix products per head on strided views: an einsum over all heads would first copy
        # q, k and v into head-major layouts.
        heads = []
        for head in range(self.heads):
            q_h, k_h, v_h = q[:, :, head], k[:, :, head], v[:, :, head]  # (B, W, head_dim) each
            context = torch.bmm(k_h.transpose(1, 2), v_h)  # (B, d, d): a summary over positions
            heads.append(torch.bmm(q_h, context))  # (B, W, d)
        return torch.cat(heads, dim=2)


def _feature_softmax(q: Tensor) -> Tensor:
    """Softmax of the queries q (B, W, heads, head_dim) over head_dim; see `_position_softmax` for why the
    compiled path reshapes first (to one (B * W * heads, head_dim) matrix)."""
    if not torch.compiler.is_compiling():
        return q.softmax(dim=3)
    batch, width, heads, head_dim = q.shape
    return q.reshape(-1, head_dim).softmax(dim=1).reshape(batch, width, heads, head_dim)


def _position_softmax(k: Tensor) -> Tensor:
    """Softmax of the keys k (B, W, heads, head_dim) over the positions W.

    q and k are strided views of the projection's output. Eager, each softmax runs on its view as it is.
    Compiled, each runs on a reshaped copy, here (B, W, heads * head_dim): from the 4-D views inductor's CPU
    code keeps the exponentials in a transposed buffer and runs those loops unvectorised or through
    transposes, slower than the eager softmax; from the reshaped copies it fuses the copy and the softmax
    into vectorised passes. The values are the same either way.
    """
    if not torch.compiler.is_compiling():
        return k.softmax(dim=1)
    batch, width, heads, head_dim = k.shape
    return k.reshape(batch, width, heads * head_dim).softmax(dim=1).reshape(batch, width, heads, head_dim)


class DownLevel(nn.Module):
    """ResBlock, ResBlock and linear attention at c_in channels, then Conv1d(k=4, s=2, p=1) to c_out.

    (B, c_in, W) -> (B, c_out, W // 2) (thesis 2.5.2: the down-sampler halves the width, rounding down), and
    the two skips (B, c_in, W): after the first block and after the attention.
    """

    def __init__(self, c_in: int, c_out: int, cond_dim: int, block: dict, **attn: int) -> None:
        super().__init__()
        self.res1 = ResBlock(c_in, c_in, cond_dim, **block)
        self.res2 = ResBlock(c_in, c_in, cond_dim, **block)
        self.attn = LinearAttention(c_in, **attn)
        self.downsample = RowConv1d(c_in, c_out, 4, stride=2, padding=1)

    def forward(self, x: Tensor, emb: Embedding) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        first = self.res1(x, emb)
        x = self.attn(self.res2(first, emb))
        return self.downsample(x), (first, x)


class MiddleBlock(nn.Module):
    """ResBlock, full attention (the width is 2-8 here, so quadratic cost is nothing), ResBlock."""

    def __init__(self, c: int, cond_dim: int, block: dict, **attn: int) -> None:
        super().__init__()
        self.res1 = ResBlock(c, c, cond_dim, **block)
        self.attn = SelfAttention(c, **attn)
        self.res2 = ResBlock(c, c, cond_dim, **block)

    def forward(self, x: Tensor, emb: Embedding) -> Tensor:
        return self.res2(self.attn(self.res1(x, emb)), emb)


class UpLevel(nn.Module):
    """The mirror of a DownLevel: up-sample c_out -> c_in to the skips' width, then two ResBlocks, each on
    the concatenation with one skip (the later skip first), and linear attention; (B, c_out, W') -> (B, c_in, W).

    Up-sampling interpolates (nearest) to the exact width of the skip and then convolves: twice the width
    when W was even, and the one extra position when it was odd (W -> W // 2 -> W, thesis 2.5.2).
    """

    def __init__(self, c_in: int, c_out: int, cond_dim: int, block: dict, **attn: int) -> None:
        super().__init__()
        self.upsample_conv = RowConv1d(c_out, c_in, 3, padding=1)
        self.res1 = ResBlock(2 * c_in, c_in, cond_dim, **block)
        self.res2 = ResBlock(2 * c_in, c_in, cond_dim, **block)
        self.attn = LinearAttention(c_in, **attn)

    def forward(self, x: Tensor, skips: tuple[Tensor, Tensor], emb: Embedding) -> Tensor:
        first, last = skips
        x = self.upsample_conv(F.interpolate(x, size=(1, last.shape[-1]), mode="nearest"))
        x = self.res1(torch.cat([x, last], dim=1), emb)
        x = self.res2(torch.cat([x, first], dim=1), emb)
        return self.attn(x)


def _check_arguments(channels: tuple[int, ...], emb_dim: int, groups: int) -> None:
    if not channels:
        raise ValueError("channels must name at least one level")
    if any(c % groups for c in channels):
        raise ValueError(f"every entry of channels {channels} must be divisible by groups={groups}")
    if emb_dim % 2:
        raise ValueError(f"emb_dim must be even (sin and cos halves), got {emb_dim}")
