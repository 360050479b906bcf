"""The 1D U-Net: shapes for odd and even widths, the condition path, gradients, FLOP counting."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from timevqvdm.prior import UNet1D


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: a second OpenMP thread only adds barrier waits, 100x slower on an oversubscribed CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_unet(**overrides) -> UNet1D:
    kwargs = {
        "in_channels": 4,
        "channels": (8, 16, 16),
        "n_classes": 2,
        "emb_dim": 8,
        "groups": 4,
        "attn_heads": 2,
        "attn_head_dim": 4,
    }
    return UNet1D(**{**kwargs, **overrides})


def inputs(batch: int, channels: int, width: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, channels, width, generator=g)
    return z, torch.rand(batch, generator=g), torch.tensor([0, 1, 2])[:batch]


@pytest.mark.parametrize("width", [19, 24, 76, 77, 5])
def test_output_shape_matches_input_for_odd_and_even_widths(width: int) -> None:
    net = tiny_unet()
    z, t, y = inputs(3, 4, width)
    assert net(z, t, y).shape == (3, 4, width)


@pytest.mark.parametrize(("width", "cond_width"), [(19, 5), (76, 19), (77, 19), (24, 24), (5, 9)])
def test_condition_of_another_width_is_interpolated(width: int, cond_width: int) -> None:
    net = tiny_unet(cond_channels=3)
    z, t, y = inputs(3, 4, width)
    cond = torch.randn(3, 3, cond_width)
    out = net(z, t, y, cond=cond)
    assert out.shape == (3, 4, width)
    assert not torch.allclose(out, net(z, t, y, cond=cond + 1.0))


def test_time_is_not_modified_in_place() -> None:
    net = tiny_unet()
    z, t, y = inputs(3, 4, 9)
    t_before = t.clone()
    net(z, t, y)
    torch.testing.assert_close(t, t_before, rtol=0, atol=0)


def test_every_parameter_gets_a_gradient_from_one_backward() -> None:
    net = tiny_unet(cond_channels=3)
    z, t, y = inputs(3, 4, 11)
    net(z, t, y, cond=torch.randn(3, 3, 6)).square().mean().backward()
    missing = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    # The condition reaches the network through the input conv, a registered (trained) submodule.
    assert net.input_conv.weight.shape[1] == 4 + 3


def test_time_class_and_condition_all_change_the_output() -> None:
    net = tiny_unet(cond_channels=3)
    z, t, y = inputs(3, 4, 10)
    cond = torch.randn(3, 3, 5)
    out = net(z, t, y, cond=cond)
    assert not torch.allclose(out, net(z, t + 0.1, y, cond=cond))
    assert not torch.allclose(out, net(z, t, torch.full_like(y, 2), cond=cond))


@pytest.mark.parametrize(
    ("kwargs", "width", "cond", "match"),
    [
        ({}, 3, None, "too short"),
        ({}, 8, torch.randn(2, 3, 4), "no cond"),
        ({"cond_channels": 3}, 8, None, "cond with 3 channels"),
        ({"cond_channels": 3}, 8, torch.randn(2, 5, 4), "cond must be"),
    ],
)
def test_bad_inputs_are_rejected(kwargs, width, cond, match) -> None:
    net = tiny_unet(**kwargs)
    z, t, y = inputs(2, 4, width)
    with pytest.raises(ValueError, match=match):
        net(z, t, y, cond=cond)


def test_channels_must_fit_the_group_norm() -> None:
    with pytest.raises(ValueError, match="divisible"):
        tiny_unet(channels=(6, 12))


def test_flops_of_a_paper_size_unet_can_be_counted() -> None:
    """Smoke test at batch 2; benchmarks count batch 128 the same way."""
    net = UNet1D(in_channels=20, channels=(64, 128, 256), n_classes=2)
    z, t, y = inputs(2, 20, 19)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(z, t, y)
    assert counter.get_total_flops() > 0
