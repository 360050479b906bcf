"""How a trained U-Net runs over a large batch at inference: on a CPU, cache-sized slices, one per core; on
an accelerator, the whole batch in one call.

This is run-time policy, kept apart from the architecture: `UNet1D.forward` takes any batch, and the sampling
driver (`LatentPrior.sample`) calls the network through `sliced_forward`. The U-Net processes every series
on its own (group norm, attention and the embedding all work per series), so slicing moves the work, not
the result (`tests/prior/test_slicing.py`). Why the budget and the per-core split are what they are, and
the measurements behind them: docs/benchmark.md, "Choices measured once".
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor, nn

from timevqvdm.prior.unet import UNet1D

# Bytes of one top-level activation (B x channels[0] x W) that a forward pass should not exceed at
# inference: about a core's L2 cache, beyond which the activations spill out of cache and every series
# costs more.
INFERENCE_BUDGET_BYTES = 2 * 2**20
# Fewer series than this per slice would cost more in per-call overhead than a parallel slice gains.
MIN_PARALLEL_SLICE = 128

Forward = Callable[..., Tensor]


def sliced_forward(network: UNet1D, width: int, device: torch.device, compiled: bool = False) -> Forward:
    """`network` as the sampling driver calls it: on a CPU on cache-sized slices of the batch, one per core
    (compiled: one slice after another, each on every core); elsewhere on the whole batch at once (the cache
    budget is a CPU core's, and on a launch-bound GPU every further slice is another round of kernel
    launches; `SamplingConfig.batch_size` bounds the batch).

    A compiled forward's fused kernels split their loops across the cores themselves (OpenMP), and run
    faster that way than two slices side by side on one core each (benchmarks/compile_speed.py), where the
    eager operators, many too small to split well, do better a slice per core.

    Parameters
    ----------
    network : UNet1D
        The denoiser, in eval mode.
    width : int
        The latent width W the network will see.
    device : torch.device
        Where the network runs; read with the autocast state of the caller, which sets the slice size.
    compiled : bool
        Whether the network will run compiled (`timevqvdm.compiled`).

    Returns
    -------
    callable
        ``forward(z (B, C, W), t (B,) or (1,), y (B,), cond=None) -> (B, C, W)``, equal to
        ``network(z, t, y, cond)`` (`forward_in_slices`).
    """
    if device.type != "cpu":
        return functools.partial(forward_in_slices, network, max_batch=sys.maxsize, workers=1)
    dtype = torch.get_autocast_dtype(device.type) if torch.is_autocast_enabled(device.type) else None
    max_batch = inference_batch(network, width, dtype or torch.float32)
    workers = 1 if compiled else torch.get_num_threads()
    return functools.partial(forward_in_slices, network, max_batch=max_batch, workers=workers)


def inference_batch(network: UNet1D, width: int, dtype: torch.dtype = torch.float32) -> int:
    """The largest batch whose top-level activation (B, channels[0], width) fits `INFERENCE_BUDGET_BYTES`.

    Parameters
    ----------
    network : UNet1D
        Its first level's channel count sets the activation's size.
    width : int
        The latent width W.
    dtype : torch.dtype
        The activations' type (the autocast type when autocasting).

    Returns
    -------
    int
        At least 1.
    """
    per_series = width * network.channels[0] * torch.finfo(dtype).bits // 8
    return max(1, INFERENCE_BUDGET_BYTES // per_series)


def forward_in_slices(
    network: nn.Module,
    z: Tensor,
    t: Tensor,
    y: Tensor,
    cond: Tensor | None = None,
    *,
    max_batch: int,
    workers: int = 1,
) -> Tensor:
    """``network(z, t, y, cond)`` over equal slices of at most `max_batch` series.

    A t whose entries are all equal (a sampler step) reaches the network as one time (1,) (`shared_time`),
    so the U-Net embeds once per class. ``workers > 1`` (a CPU) runs the slices on that many Python threads
    with one intra-op thread each: at the widths of these latents most operations are too small to split
    well across cores, so a slice per core beats every core on each slice.

    Parameters
    ----------
    network : nn.Module
        A denoiser ``network(z, t, y, cond) -> (B, C, W)`` that processes each series on its own.
    z : Tensor, shape (B, C, W)
        Noisy latents.
    t : Tensor, shape (B,) or (1,)
        Diffusion times in [0, 1].
    y : Tensor, shape (B,), int64
        Labels, the null class included.
    cond : Tensor, shape (B, Cc, W'), optional
        The input condition of a conditioned network.
    max_batch : int
        The most series one call of the network sees.
    workers : int
        Threads that run the slices; fewer when the batch is too small for every thread to get
        `MIN_PARALLEL_SLICE` series.

    Returns
    -------
    Tensor, shape (B, C, W)
    """
    batch = z.shape[0]
    t = shared_time(t)
    workers = max(1, min(workers, batch // MIN_PARALLEL_SLICE))
    n_slices, size = _slice_plan(batch, max_batch, workers)
    if n_slices == 1:
        return network(z, t, y, cond)
    # Every slice gets the same shape (the last one padded by repeating its last series) and storage of
    # its own (a compiled forward specialises on a view's storage offset), so a compiled forward sees
    # one input layout per sampling call. Each series is processed alone, so padding changes nothing else.
    padded = n_slices * size
    z, y, cond = (None if v is None else _pad_batch(v, padded) for v in (z, y, cond))
    ts = [t] * n_slices if len(t) == 1 else _slices(_pad_batch(t, padded), size)
    conds = [None] * n_slices if cond is None else _slices(cond, size)
    slices = list(zip(_slices(z, size), ts, _slices(y, size), conds, strict=True))
    if workers == 1:
        out = [network(*item) for item in slices]
    else:
        out = _map_one_slice_per_core(network, slices, workers, z.device.type)
    return torch.cat(out)[:batch]


def shared_time(t: Tensor) -> Tensor:
    """t (B,) as (1,) when every series has the same time (a sampler step), else unchanged.

    Read on the host, once per call of the sampling driver, so that the network's `forward` itself never
    branches on values.
    """
    return t[:1] if len(t) > 1 and bool((t == t[0]).all()) else t


def _slice_plan(batch: int, max_batch: int, workers: int) -> tuple[int, int]:
    """(number of slices, series per slice): at most `max_batch` series each, a multiple of `workers`
    slices so that no core waits idle, and sizes as even as the batch allows."""
    n_slices = -(-batch // max_batch)
    n_slices = -(-n_slices // workers) * workers
    return n_slices, -(-batch // n_slices)


def _pad_batch(x: Tensor, size: int) -> Tensor:
    """x (B, ...) -> (size, ...), size >= B, repeating the last entry."""
    return x if len(x) == size else torch.cat([x, x[-1:].expand(size - len(x), *x.shape[1:])])


def _slices(x: Tensor, size: int) -> list[Tensor]:
    """x (B, ...) in slices of `size` along the batch, each a copy with storage of its own."""
    return [part.clone() for part in x.split(size)]


def _map_one_slice_per_core(
    network: nn.Module, slices: list[tuple], workers: int, device_type: str
) -> list[Tensor]:
    """network(*slice) for every slice, on `workers` threads with one intra-op thread each, in order.

    Grad mode and autocast are thread-local in PyTorch, so each worker re-enters the caller's.
    """
    grad = torch.is_grad_enabled()
    autocast = torch.is_autocast_enabled(device_type)
    dtype = torch.get_autocast_dtype(device_type)

    def call(item: tuple) -> Tensor:
        with torch.set_grad_enabled(grad), torch.autocast(device_type, dtype=dtype, enabled=autocast):
            return network(*item)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(call, slices))
    finally:
        torch.set_num_threads(threads)
