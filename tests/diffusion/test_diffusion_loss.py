"""The simplified training loss, quasi-uniform times, class dropout and the eps / v conversions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from timevqvdm.diffusion import (
    alpha_sigma,
    check_start_time,
    diffusion_loss,
    drop_classes,
    eps_and_z0,
    quasi_uniform_times,
    training_target,
)


class ToyDenoiser(nn.Module):
    """A tiny conv net with the denoiser signature forward(z_t, t, y, cond=None)."""

    def __init__(self, channels: int = 3, n_classes: int = 2) -> None:
        super().__init__()
        self.class_emb = nn.Embedding(n_classes + 1, channels)
        self.net = nn.Sequential(
            nn.Conv1d(channels + 1, 16, 3, padding=1), nn.SiLU(), nn.Conv1d(16, channels, 1)
        )

    def forward(self, z, t, y, cond=None):
        time = t[:, None, None].expand(-1, 1, z.shape[-1])
        return self.net(torch.cat([z + self.class_emb(y)[:, :, None], time], dim=1))


def test_quasi_uniform_times_cover_the_unit_interval_evenly() -> None:
    t = quasi_uniform_times(8, torch.Generator().manual_seed(0), "cpu")
    assert t.shape == (8,) and t.dtype == torch.float32
    assert ((t >= 0) & (t < 1)).all()
    gaps = torch.diff(torch.sort(t).values)
    torch.testing.assert_close(gaps, torch.full((7,), 1 / 8))
    again = quasi_uniform_times(8, torch.Generator().manual_seed(0), "cpu")
    torch.testing.assert_close(t, again, rtol=0, atol=0)


def test_drop_classes_replaces_about_p_of_the_labels_and_keeps_the_input() -> None:
    y = torch.zeros(10_000, dtype=torch.long)
    dropped = drop_classes(y, 0.1, null_class=5, generator=torch.Generator().manual_seed(0))
    assert set(dropped.unique().tolist()) == {0, 5}
    assert (dropped == 5).float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert (y == 0).all()
    assert drop_classes(y, 0.0, 5, None) is y


def test_v_target_and_both_estimates_are_consistent() -> None:
    g = torch.Generator().manual_seed(0)
    z0, eps = torch.randn(5, 2, 3, generator=g), torch.randn(5, 2, 3, generator=g)
    t = torch.rand(5, generator=g)
    alpha, sigma = (c[:, None, None] for c in alpha_sigma(t))
    z_t = alpha * z0 + sigma * eps
    v = training_target(z0, eps, t, "v")
    torch.testing.assert_close(v, alpha * eps - sigma * z0)
    for pred, prediction in ((v, "v"), (eps, "eps")):
        eps_hat, z0_hat = eps_and_z0(pred, z_t, t, prediction)
        torch.testing.assert_close(eps_hat, eps)
        torch.testing.assert_close(z0_hat, z0)
    assert eps_and_z0(eps, z_t, t, "eps")[0] is eps
    with pytest.raises(ValueError, match="prediction"):
        eps_and_z0(eps, z_t, t, "x0")


def test_at_t_equal_one_v_gives_finite_estimates_and_eps_is_refused() -> None:
    z1, v = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    t = torch.ones(3)
    eps_hat, z0_hat = eps_and_z0(v, z1, t, "v")
    torch.testing.assert_close(eps_hat, z1)  # pure noise: the noise is z_1 itself
    torch.testing.assert_close(z0_hat, -v)  # and z_0 = alpha z - sigma v = -v
    with pytest.raises(ValueError, match="prediction='v'"):
        eps_and_z0(v, z1, t, "eps")
    check_start_time(1.0, "v")
    check_start_time(0.99, "eps")
    with pytest.raises(ValueError, match=r"t_max = 0\.99"):
        check_start_time(1.0, "eps")


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_loss_is_finite_reproducible_and_decreases_on_a_toy_network(prediction: str) -> None:
    torch.manual_seed(0)
    model = ToyDenoiser()
    data_g = torch.Generator().manual_seed(1)
    z0 = 0.5 * torch.randn(64, 3, 8, generator=data_g) + torch.linspace(-1, 1, 8)
    y = torch.randint(0, 3, (64,), generator=data_g)

    def loss_at(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return diffusion_loss(model, z0, y=y, prediction=prediction, generator=generator)

    first = loss_at(0)
    assert first.ndim == 0 and torch.isfinite(first)
    torch.testing.assert_close(first, loss_at(0), rtol=0, atol=0)

    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(2)
    losses = []
    for _ in range(40):
        loss = diffusion_loss(model, z0, y=y, prediction=prediction, generator=generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5
