"""Classifier-free guidance (Eq. 29) as one batched forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from timevqvdm.diffusion import eps_and_z0, guided_model_fn, sample_ancestral, sampling_times

NULL = 3


class CountingDenoiser(nn.Module):
    """Output depends on z, t, the label and cond; records the batch size of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.class_shift = nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 0.0]))  # last entry: the null class

    def forward(self, z, t, y, cond=None):
        self.calls.append(len(z))
        out = 0.3 * z * t[:, None, None] + self.class_shift[y][:, None, None]
        if cond is not None:
            out = out + cond.mean(dim=(1, 2))[:, None, None]
        return out


def setup(prediction: str = "eps"):
    g = torch.Generator().manual_seed(0)
    z, t = torch.randn(4, 2, 5, generator=g), torch.full((4,), 0.4)
    y, cond = torch.tensor([0, 1, 2, 1]), torch.randn(4, 3, 2, generator=g)
    return CountingDenoiser(), z, t, y, cond


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_guidance_is_one_batched_forward_and_follows_eq29(prediction: str) -> None:
    net, z, t, y, cond = setup()
    fn = guided_model_fn(net, y=y, guidance=3.0, null_class=NULL, cond=cond, prediction=prediction)
    with torch.no_grad():
        eps_guided, z0_guided = fn(z, t)
    assert net.calls == [8]
    plain = guided_model_fn(net, y=y, guidance=1.0, null_class=NULL, cond=cond, prediction=prediction)
    uncond = guided_model_fn(net, y=y, guidance=0.0, null_class=NULL, cond=cond, prediction=prediction)
    with torch.no_grad():
        (eps_cond, z0_cond), (eps_null, z0_null) = plain(z, t), uncond(z, t)
    assert net.calls == [8, 4, 4]
    # Eq. (29) on the network outputs; the eps / v -> (eps, z0) conversion is linear, so both estimates mix
    # with the same weights.
    torch.testing.assert_close(eps_guided, -2.0 * eps_null + 3.0 * eps_cond)
    torch.testing.assert_close(z0_guided, -2.0 * z0_null + 3.0 * z0_cond)
    assert not torch.allclose(eps_guided, eps_cond)


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_guidance_one_equals_plain_conditional_sampling_exactly(prediction: str) -> None:
    net, z, _, y, cond = setup()

    def plain_fn(z_t, t):
        return eps_and_z0(net(z_t, t, y, cond=cond), z_t, t, prediction)

    times = sampling_times(6)
    fn = guided_model_fn(net, y=y, guidance=1.0, null_class=NULL, cond=cond, prediction=prediction)
    guided = sample_ancestral(fn, z, times, generator=torch.Generator().manual_seed(1))
    plain = sample_ancestral(plain_fn, z, times, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(guided, plain, rtol=0, atol=0)


def test_guided_v_denoiser_runs_at_t_equal_one_and_eps_refuses() -> None:
    net, z, _, y, cond = setup()
    t = torch.ones(4)
    kwargs = {"y": y, "guidance": 2.0, "null_class": NULL, "cond": cond}
    with torch.no_grad():
        eps_hat, z0_hat = guided_model_fn(net, prediction="v", **kwargs)(z, t)
        assert torch.isfinite(eps_hat).all() and torch.isfinite(z0_hat).all()
        with pytest.raises(ValueError, match="t_max"):
            guided_model_fn(net, prediction="eps", **kwargs)(z, t)


def test_all_null_labels_need_a_single_forward() -> None:
    net, z, t, _, cond = setup()
    fn = guided_model_fn(net, y=torch.full((4,), NULL), guidance=4.0, null_class=NULL, cond=cond)
    with torch.no_grad():
        fn(z, t)
    assert net.calls == [4]
