"""Inference slicing (`prior.slicing`): the sliced forward gives the plain forward's output however the batch
is cut, keeps the caller's grad mode, autocast and thread count, and sizes its slices by the cache budget."""

from __future__ import annotations

import pytest
import torch

from timevqvdm.prior import UNet1D
from timevqvdm.prior.slicing import (
    INFERENCE_BUDGET_BYTES,
    forward_in_slices,
    inference_batch,
    shared_time,
    sliced_forward,
)


def tiny_unet(cond_channels: int = 0) -> UNet1D:
    torch.manual_seed(0)
    return UNet1D(
        in_channels=4, channels=(8, 16), n_classes=2, cond_channels=cond_channels, emb_dim=8, groups=4,
        attn_heads=2, attn_head_dim=4,
    ).eval()  # fmt: skip


def inputs(batch: int, width: int, cond_channels: int = 0, shared: bool = False, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, 4, width, generator=g)
    t = torch.full((batch,), 0.4) if shared else torch.rand(batch, generator=g)
    y = torch.randint(0, 3, (batch,), generator=g)
    cond = torch.randn(batch, cond_channels, 5, generator=g) if cond_channels else None
    return z, t, y, cond


# Slices of 3, 2, 2 (uneven, padded); one series each; two threads; and the whole batch in one slice.
PLANS = [(7, 3, 1), (7, 1, 1), (300, 100, 2), (300, 300, 1)]


@pytest.mark.parametrize(("batch", "max_batch", "workers"), PLANS)
@pytest.mark.parametrize("cond_channels", [0, 2])
@pytest.mark.parametrize("shared", [False, True])
def test_the_sliced_forward_gives_the_plain_forward(batch, max_batch, workers, cond_channels, shared) -> None:
    """Every series is processed on its own, so slicing changes at most the rounding of the kernels that a
    batch size selects (float32: a few 1e-7 relative)."""
    net = tiny_unet(cond_channels)
    z, t, y, cond = inputs(batch, 8, cond_channels, shared)
    with torch.no_grad():
        plain = net(z, t, y, cond)
        sliced = forward_in_slices(net, z, t, y, cond, max_batch=max_batch, workers=workers)
    assert sliced.shape == plain.shape
    torch.testing.assert_close(sliced, plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shared", [False, True])
def test_one_slice_is_exactly_the_plain_forward_and_slicing_is_deterministic(shared: bool) -> None:
    net = tiny_unet(cond_channels=2)
    z, t, y, cond = inputs(7, 12, cond_channels=2, shared=shared)
    with torch.no_grad():
        one_slice = forward_in_slices(net, z, t, y, cond, max_batch=7)
        plain = net(z, shared_time(t), y, cond)
        first = forward_in_slices(net, z, t, y, cond, max_batch=3)
        again = forward_in_slices(net, z, t, y, cond, max_batch=3)
    assert torch.equal(one_slice, plain)
    assert torch.equal(first, again)


def test_slicing_leaves_the_inputs_untouched() -> None:
    net = tiny_unet(cond_channels=2)
    z, t, y, cond = inputs(7, 12, cond_channels=2)
    before = [v.clone() for v in (z, t, y, cond)]
    with torch.no_grad():
        forward_in_slices(net, z, t, y, cond, max_batch=3)
    assert all(torch.equal(a, b) for a, b in zip((z, t, y, cond), before, strict=True))


def test_slices_on_parallel_workers_keep_the_callers_grad_mode_autocast_and_threads() -> None:
    net = tiny_unet()
    z, t, y, _ = inputs(300, 8, seed=2)
    threads = torch.get_num_threads()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        parallel = forward_in_slices(net, z, t, y, max_batch=100, workers=2)
        plain = net(z, t, y)
    assert parallel.dtype == plain.dtype == torch.bfloat16  # autocast reached the worker threads
    assert not parallel.requires_grad
    assert torch.get_num_threads() == threads
    with_grad = forward_in_slices(net, z, t, y, max_batch=100, workers=2)
    assert with_grad.requires_grad  # and so did grad mode


def test_inference_batch_shrinks_with_width_and_grows_for_half_precision() -> None:
    net = tiny_unet()
    assert inference_batch(net, 128) == 2 * inference_batch(net, 256)  # the budget is a power of two
    assert inference_batch(net, 128, torch.bfloat16) == 2 * inference_batch(net, 128)
    assert inference_batch(net, 10**9) == 1
    assert inference_batch(net, 128) * 128 * net.channels[0] * 4 == INFERENCE_BUDGET_BYTES


def test_sliced_forward_reads_the_callers_autocast_and_threads() -> None:
    net = tiny_unet()
    cpu = torch.device("cpu")
    fp32 = sliced_forward(net, 128, cpu)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = sliced_forward(net, 128, cpu)
    assert bf16.keywords["max_batch"] == 2 * fp32.keywords["max_batch"] == 2 * inference_batch(net, 128)
    assert fp32.keywords["workers"] == torch.get_num_threads()
    # Compiled, the slices run one after another, each kernel on every core, at the same slice size.
    compiled = sliced_forward(net, 128, cpu, compiled=True)
    assert compiled.keywords["workers"] == 1 and compiled.keywords["max_batch"] == fp32.keywords["max_batch"]
    z, t, y, _ = inputs(5, 128)
    with torch.no_grad():
        torch.testing.assert_close(fp32(z, t, y), net(z, t, y), rtol=0, atol=0)


def test_on_an_accelerator_the_whole_batch_runs_in_one_call() -> None:
    net, calls = tiny_unet(), []
    net.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    # only the device's type is read: the CPU network stands in for one on a GPU
    forward = sliced_forward(net, 10**6, torch.device("cuda"))
    z, t, y, _ = inputs(5, 128)
    with torch.no_grad():
        torch.testing.assert_close(forward(z, t, y), net(z, t, y), rtol=0, atol=0)
    assert calls[0] == 5  # one call for the batch, though 10**6 positions exceed a CPU slice's budget


def test_shared_time_is_detected_on_the_host() -> None:
    assert shared_time(torch.full((5,), 0.25)).shape == (1,)
    varied = torch.tensor([0.25, 0.5])
    assert shared_time(varied) is varied
    one = torch.tensor([0.5])
    assert shared_time(one) is one
