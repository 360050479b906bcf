"""`DiffusionProcess`: its settings, its loss and its sampling, for any network with the denoiser contract."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from timevqvdm.diffusion import (
    DiffusionProcess,
    diffusion_loss,
    drop_classes,
    guided_model_fn,
    sample_ancestral,
    sampling_times,
)
from timevqvdm.diffusion.noise import gaussian

NULL = 2


class ToyDenoiser(nn.Module):
    """forward(z_t, t, y, cond=None) -> (B, C, W), depending on every input."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.class_emb = nn.Embedding(NULL + 1, channels)
        self.conv = nn.Conv1d(channels + 1, channels, 3, padding=1)

    def forward(self, z, t, y, cond=None):
        time = t[:, None, None].expand(-1, 1, z.shape[-1])
        out = self.conv(torch.cat([z + self.class_emb(y)[:, :, None], time], dim=1))
        return out if cond is None else out + cond.mean(dim=(1, 2))[:, None, None]


def batch(labels: bool = True) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = {"z0": torch.randn(6, 3, 8, generator=g), "mask": torch.rand(6, 8, generator=g) > 0.3}
    if labels:
        out["y"] = torch.randint(0, NULL, (6,), generator=g)
    return out


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"prediction": "x0"}, "prediction"), ({"class_dropout": 1.5}, "dropout")]
)
def test_bad_settings_are_refused(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        DiffusionProcess(null_class=NULL, **kwargs)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_loss_is_algorithm_2_dropped_labels_then_the_diffusion_loss(prediction: str) -> None:
    process = DiffusionProcess(null_class=NULL, prediction=prediction, class_dropout=0.5)
    net, data = ToyDenoiser(), batch()
    loss = process.loss(net, data, torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1)
    y = drop_classes(data["y"], 0.5, NULL, g)
    expected = diffusion_loss(net, data["z0"], y=y, prediction=prediction, generator=g, mask=data["mask"])
    assert loss.ndim == 0
    torch.testing.assert_close(loss, expected, rtol=0, atol=0)


def test_loss_without_labels_trains_the_null_class() -> None:
    process = DiffusionProcess(null_class=NULL, class_dropout=0.0)
    net, data = ToyDenoiser(), batch(labels=False)
    loss = process.loss(net, data, torch.Generator().manual_seed(1))
    null = torch.full((6,), NULL)
    expected = diffusion_loss(
        net, data["z0"], y=null, generator=torch.Generator().manual_seed(1), mask=data["mask"]
    )
    torch.testing.assert_close(loss, expected, rtol=0, atol=0)


SAMPLE_ARGS = {"steps": 3, "guidance": 2.0, "rescale": 0.1, "t_max": 0.99}


def test_sample_draws_the_noise_then_runs_the_guided_sampler() -> None:
    process = DiffusionProcess(null_class=NULL)
    net, y, cond = ToyDenoiser(), torch.tensor([0, 1, 2, 1]), torch.randn(4, 2, 5)
    out = process.sample(
        net, (4, 3, 8), y=y, cond=cond, generator=torch.Generator().manual_seed(7), **SAMPLE_ARGS
    )
    g = torch.Generator().manual_seed(7)
    z = gaussian((4, 3, 8), generator=g, device="cpu")
    model_fn = guided_model_fn(net, y=y, guidance=2.0, null_class=NULL, cond=cond)
    expected = sample_ancestral(model_fn, z, sampling_times(3, 0.99), rescale=0.1, generator=g)
    assert out.shape == (4, 3, 8)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_sample_takes_any_callable_and_samples_unconditionally_without_labels() -> None:
    process = DiffusionProcess(null_class=NULL)
    seen: list[torch.Tensor] = []

    def network(z, t, y, cond=None):
        seen.append(y)
        return torch.zeros_like(z)

    out = process.sample(network, (3, 2, 4), sampler="ddim", **SAMPLE_ARGS)
    assert out.shape == (3, 2, 4) and torch.isfinite(out).all()
    assert all(bool((y == NULL).all()) for y in seen)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": torch.tensor([0, 3])}, "labels"),
        ({"y": torch.tensor([0])}, "shape"),
        ({"sampler": "euler"}, "euler"),
        ({"t_max": 1.0}, "prediction='v'"),
    ],
)
def test_sample_checks_its_arguments_before_calling_the_network(kwargs, match) -> None:
    def network(*args, **kw):
        raise AssertionError("the network was called")

    with pytest.raises(ValueError, match=match):
        DiffusionProcess(null_class=NULL).sample(network, (2, 3, 8), **{**SAMPLE_ARGS, **kwargs})
    with pytest.raises(ValueError, match="n must be"):
        DiffusionProcess(null_class=NULL).sample(network, (0, 3, 8), **SAMPLE_ARGS)
