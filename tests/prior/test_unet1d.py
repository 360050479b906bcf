"""The 1D U-Net: shapes for odd and even widths, the condition path, gradients, paper size and FLOPs."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from timevqvdm.prior import PriorConfig, UNet1D
from timevqvdm.prior.unet import LinearAttention, RowConv1d, from_rows, to_rows


def tiny_unet(**overrides) -> UNet1D:
    kwargs = {
        "in_channels": 4,
        "channels": (8, 16),
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


@pytest.mark.parametrize("width", [19, 24, 76, 77, 5, 4])
def test_output_shape_matches_input_for_odd_and_even_widths(width: int) -> None:
    net = tiny_unet()
    z, t, y = inputs(3, 4, width)
    assert net(z, t, y).shape == (3, 4, width)


@pytest.mark.parametrize("width", [8, 9, 15, 19, 33])
def test_three_levels_restore_odd_widths(width: int) -> None:
    net = tiny_unet(channels=(8, 16, 16))
    z, t, y = inputs(2, 4, width)
    assert net(z, t, y).shape == (2, 4, width)


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


def paper_unet(band: str) -> UNet1D:
    """The thesis's Wafer nets (Tables 1-2): LF latent (20, 19), HF latent (20, 76) conditioned on the LF."""
    cfg = PriorConfig()
    return UNet1D(
        in_channels=20,
        channels=cfg.lf_channels if band == "lf" else cfg.hf_channels,
        n_classes=2,
        cond_channels=0 if band == "lf" else 20,
        emb_dim=cfg.emb_dim,
        groups=cfg.groups,
        attn_heads=cfg.attn_heads,
        attn_head_dim=cfg.attn_head_dim,
    )


PAPER_WIDTH = {"lf": 19, "hf": 76}


@pytest.mark.parametrize(("band", "lowest"), [("lf", 2), ("hf", 4)])
def test_every_level_down_samples_to_the_thesis_lowest_width(band: str, lowest: int) -> None:
    """3.3: the lowest width is 2-4 for the LF U-Net (W in 16-31) and 4-8 for the HF one (W in 64-127)."""
    net = paper_unet(band).to("meta")
    seen: list[int] = []
    net.middle.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[-1]))
    batch, width = 2, PAPER_WIDTH[band]
    cond = torch.empty(batch, 20, 19, device="meta") if band == "hf" else None
    out = net(
        torch.empty(batch, 20, width, device="meta"),
        torch.empty(batch, device="meta"),
        torch.zeros(batch, dtype=torch.long, device="meta"),
        cond,
    )
    assert seen == [lowest] and out.shape == (batch, 20, width)


def paper_gflops(band: str, batch: int = 128) -> float:
    """GFLOP of one forward at `batch`, counted at batch 8 on the meta device (FLOPs are linear in batch).

    Counted with gradients on: the per-series cost of training. Without gradients the embedding path runs
    once per distinct (t, y) pair, so a sampler's forward costs a little less.
    """
    net, counted = paper_unet(band).to("meta"), 8
    width = PAPER_WIDTH[band]
    z, t = torch.empty(counted, 20, width, device="meta"), torch.empty(counted, device="meta")
    y = torch.zeros(counted, dtype=torch.long, device="meta")
    cond = torch.empty(counted, 20, 19, device="meta") if band == "hf" else None
    with FlopCounterMode(display=False) as counter:
        net(z, t, y, cond)
    return counter.get_total_flops() * (batch / counted) / 1e9


def test_paper_size_flops_are_pinned() -> None:
    """GFLOP per forward at batch 128 (FlopCounterMode: 2 per multiply-add), pinned to 1%.

    Reported for the original code: 2.5 (LF) and 14.9 (HF). No U-Net of this family matches both at the
    widths 19 and 76: per level the cost is ~ C^2 W, and the HF net has twice the LF's width at every depth
    (76 -> 4 against 19 -> 2, same channels from the bottom), so HF / LF is ~2, not 6. This net gives 2.5 at
    an LF width of about 12 and 14.9 at an HF width of about 150.
    """
    assert paper_gflops("lf") == pytest.approx(3.829, rel=0.01)
    assert paper_gflops("hf") == pytest.approx(7.596, rel=0.01)


def test_standardised_kernel_follows_weight_updates() -> None:
    """The kernel is standardised in every forward (no cache): an in-place training step shows at once."""
    net = tiny_unet().eval()
    z, t, y = inputs(3, 4, 16)
    with torch.no_grad():
        before = net(z, t, y)
        assert torch.equal(net(z, t, y), before)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    net(z, t, y).square().mean().backward()
    optimizer.step()
    with torch.no_grad():
        after = net(z, t, y)
        fresh = tiny_unet().eval()
        fresh.load_state_dict(net.state_dict())
        torch.testing.assert_close(after, fresh(z, t, y))
    assert not torch.allclose(after, before)


def test_one_time_for_the_batch_gives_the_per_series_result() -> None:
    """A sampler step's shared time, t (1,), embeds once per class; one time per series embeds once per
    series: the same output, with or without gradients."""
    net = tiny_unet().eval()
    g = torch.Generator().manual_seed(3)
    z = torch.randn(6, 4, 8, generator=g)
    t = torch.full((6,), 0.5)
    y = torch.tensor([0, 2, 0, 1, 0, 0])
    shared = net._embed(t[:1], y)
    assert shared.rows.shape == (3, 16) and torch.equal(shared.index, y)  # n_classes + 1 rows
    assert net._embed(t, y).rows.shape == (6, 16)
    with torch.no_grad():
        fast = net(z, t[:1], y)
    torch.testing.assert_close(fast, net(z, t, y).detach())


def test_a_time_of_another_length_is_rejected() -> None:
    net = tiny_unet()
    z, t, y = inputs(3, 4, 8)
    with pytest.raises(ValueError, match="t must be"):
        net(z, t[:2], y)


def test_dropout_acts_only_while_training_and_adds_no_weights() -> None:
    torch.manual_seed(0)
    plain, dropped = tiny_unet(), tiny_unet(dropout=0.5)
    assert plain.state_dict().keys() == dropped.state_dict().keys()  # saved models load either way
    z, t, y = inputs(3, 4, 24)
    dropped.train()
    assert not torch.equal(dropped(z, t, y), dropped(z, t, y))
    dropped.eval()
    assert torch.equal(dropped(z, t, y), dropped(z, t, y))
    with pytest.raises(ValueError, match="dropout"):
        tiny_unet(dropout=1.0)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 1, 1), (4, 2, 1), (1, 1, 0)])
@pytest.mark.parametrize("width", [9, 16])
def test_row_convolution_is_the_1d_convolution(kernel: int, stride: int, padding: int, width: int) -> None:
    """The networks run in a channels-last (B, C, 1, W) layout; each of their convolutions computes what
    nn.Conv1d with the same weights computes on (B, C, W), and keeps its state dict."""
    torch.manual_seed(0)
    row = RowConv1d(6, 10, kernel, stride=stride, padding=padding)
    plain = torch.nn.Conv1d(6, 10, kernel, stride=stride, padding=padding)
    plain.load_state_dict(row.state_dict())
    x = torch.randn(5, 6, width)
    out = row(to_rows(x))
    assert out.shape[2] == 1 and out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(from_rows(out), plain(x), atol=1e-5, rtol=1e-5)


def test_attention_on_rows_is_attention_over_positions() -> None:
    """Linear attention in the row layout equals the formula on (B, C, W): layer norm over channels at each
    position, softmax over features for queries and over positions for keys."""
    torch.manual_seed(1)
    attn = LinearAttention(8, heads=2, head_dim=4)
    with torch.no_grad():
        attn.norm.weight.normal_()  # not the identity, so the test sees which axis is normalised
        x = torch.randn(3, 8, 7)
        out = from_rows(attn(to_rows(x)))
        h = torch.nn.functional.layer_norm(x.transpose(1, 2), (8,), attn.norm.weight, attn.norm.bias)
        qkv = torch.nn.functional.conv1d(h.transpose(1, 2), attn.to_qkv.weight)  # (B, 3 * 2 * 4, W)
        q, k, v = qkv.reshape(3, 3, 2, 4, 7).unbind(1)  # (B, heads, d, W) each
        q, k = q.softmax(dim=2) * 4**-0.5, k.softmax(dim=3)
        expected = torch.einsum("bhde,bhdn->bhen", torch.einsum("bhdn,bhen->bhde", k, v), q)
        expected = x + torch.nn.functional.conv1d(
            expected.reshape(3, 8, 7), attn.to_out.weight, attn.to_out.bias
        )
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_the_network_returns_a_contiguous_batch() -> None:
    net = tiny_unet().eval()
    z, t, y = inputs(3, 4, 12)
    with torch.no_grad():
        out = net(z, t, y)
    assert out.shape == z.shape and out.is_contiguous()
