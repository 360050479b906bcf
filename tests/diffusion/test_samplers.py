"""Every sampler on the exact denoiser of a Gaussian latent, plus the sampler contract.

For z_0 ~ N(mu, diag(s^2)) the forward marginal is z_t ~ N(alpha mu, v) per dimension, v = alpha^2 s^2 +
sigma^2, and the exact (MMSE) estimates are E[eps | z_t] = sigma (z_t - alpha mu) / v and E[z_0 | z_t] =
(alpha s^2 z_t + sigma^2 mu) / v, so an ideal network outputs the former (eps-prediction) or
alpha E[eps | z_t] - sigma E[z_0 | z_t] (v-prediction). A correct sampler fed the denoiser built from either
must return samples with mean mu and std s, up to discretisation and Monte-Carlo error.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from timevqvdm.diffusion import (
    SAMPLERS,
    alpha_sigma,
    eps_and_z0,
    get_sampler,
    log_snr,
    rescale_latent,
    sample_ancestral,
    sample_ddim,
    sampling_times,
)

MU = torch.tensor([-1.0, -0.6, 0.0, 0.3, 0.7, 1.0])
STD = torch.tensor([0.3, 0.5, 0.8, 1.0, 1.2, 1.5])
T_MAX = 0.99
STEPS = 128
N_SAMPLES = 100_000  # std ratio standard error 1 / sqrt(2 N) = 0.0022

# Std ratio of the narrowest dimension (s = 0.3) that the discrete 128-step chain itself produces, from the
# exact linear-Gaussian moment recursion in float64. Ancestral steps that plug in E[z_0 | z_t] lose variance
# at O(1/T) (0.870 at 32 steps, 0.988 at 512); DDIM loses less. A sign or coefficient error moves these.
# The same chains from t_max = 1 (v-prediction) take the same steps on a slightly coarser grid.
PINNED_NARROW_STD_RATIO = {
    ("ancestral", T_MAX): 0.9585,
    ("ddim", T_MAX): 0.9828,
    ("ancestral", 1.0): 0.9584,
    ("ddim", 1.0): 0.9834,
}


def gaussian_prediction(z: torch.Tensor, t: torch.Tensor, prediction: str) -> torch.Tensor:
    """What an ideal network for z_0 ~ N(MU, diag(STD^2)) outputs; z: (B, 6); t: (B,) of one value."""
    alpha, sigma = alpha_sigma(t[:1, None])
    var = alpha**2 * STD**2 + sigma**2
    eps = sigma * (z - alpha * MU) / var
    z0 = (alpha * STD**2 * z + sigma**2 * MU) / var
    return eps if prediction == "eps" else alpha * eps - sigma * z0


def gaussian_denoiser(prediction: str):
    """The sampler's model_fn for the ideal network, through the library's own eps / v conversion."""

    def model_fn(z: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return eps_and_z0(gaussian_prediction(z, t, prediction), z, t, prediction)

    return model_fn


EPS_DENOISER = gaussian_denoiser("eps")


def initial_latent(start: str, n: int, generator: torch.Generator, t_max: float = T_MAX) -> torch.Tensor:
    """z at t_max: the prior N(0, I) as in Algorithm 3, or the exact marginal q(z_tmax)."""
    z = torch.randn(n, 6, generator=generator)
    if start == "prior":
        return z
    alpha, sigma = alpha_sigma(torch.tensor(t_max))
    return alpha * MU + (alpha**2 * STD**2 + sigma**2).sqrt() * z


def moment_errors(z0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean error and std ratio of samples (N, 6)."""
    return z0.mean(0) - MU, z0.std(0) / STD


def recovers_gaussian(z0: torch.Tensor) -> bool:
    mean_err, std_ratio = moment_errors(z0)
    mean_ok = mean_err.abs() <= 0.05 * MU.abs().clamp(min=1.0)
    std_ok = (std_ratio - 1.0).abs() <= 0.05
    return bool((mean_ok & std_ok).all())


def run_gaussian(name: str, prediction: str, start: str, t_max: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    z = initial_latent(start, N_SAMPLES, generator, t_max)
    model_fn = gaussian_denoiser(prediction)
    return get_sampler(name)(model_fn, z, sampling_times(STEPS, t_max), generator=generator)


@pytest.mark.parametrize(("prediction", "start"), [("eps", "prior"), ("eps", "exact"), ("v", "exact")])
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_recovers_gaussian_mean_and_std(name: str, prediction: str, start: str) -> None:
    z0 = run_gaussian(name, prediction, start, T_MAX)
    assert torch.isfinite(z0).all()
    assert recovers_gaussian(z0), moment_errors(z0)
    narrow_std_ratio = moment_errors(z0)[1][0].item()
    assert narrow_std_ratio == pytest.approx(PINNED_NARROW_STD_RATIO[name, T_MAX], abs=0.01)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_v_prediction_starts_at_t_equal_one(name: str) -> None:
    """At t = 1 the prior N(0, I) is the exact marginal, and z0_hat = -v_hat needs no division by alpha."""
    z0 = run_gaussian(name, "v", "prior", 1.0)
    assert torch.isfinite(z0).all()
    assert recovers_gaussian(z0), moment_errors(z0)
    # Starting where N(0, I) is exact also removes the mean bias that DDIM carries from a prior start at
    # t_max = 0.99 (0.023 on this seed; the ancestral chain forgets its start either way).
    assert moment_errors(z0)[0].abs().max() < 0.01
    narrow_std_ratio = moment_errors(z0)[1][0].item()
    assert narrow_std_ratio == pytest.approx(PINNED_NARROW_STD_RATIO[name, 1.0], abs=0.01)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_eps_prediction_refuses_to_start_at_t_equal_one(name: str) -> None:
    with pytest.raises(ValueError, match=r"t_max = 0\.99"):
        get_sampler(name)(EPS_DENOISER, torch.randn(4, 6), sampling_times(8, 1.0))


def sample_ancestral_printed_sign(model_fn, z: torch.Tensor, times: torch.Tensor, generator) -> torch.Tensor:
    """Algorithm 3 exactly as printed: alpha_s / alpha_t (z + (1 - e^{l_t - l_s}) sigma_t eps_hat) + noise."""
    times = times.double()
    for t, s in itertools.pairwise(times):
        eps_hat, _ = model_fn(z, torch.full((len(z),), float(t)))
        (alpha_t, sigma_t), (alpha_s, sigma_s) = alpha_sigma(t), alpha_sigma(s)
        one_minus_ratio = -torch.expm1(log_snr(t) - log_snr(s))
        z = (alpha_s / alpha_t) * (z + one_minus_ratio * sigma_t * eps_hat)
        z = z + (one_minus_ratio.sqrt() * sigma_s) * torch.randn(z.shape, generator=generator)
    return z


def test_printed_plus_sign_of_eq23_fails_the_gaussian_check() -> None:
    generator = torch.Generator().manual_seed(0)
    z = initial_latent("exact", 20_000, generator)
    z0 = sample_ancestral_printed_sign(EPS_DENOISER, z, sampling_times(STEPS, T_MAX), generator)
    assert not recovers_gaussian(z0)
    # The printed sign amplifies z by orders of magnitude rather than missing by a little.
    assert not (moment_errors(z0)[1] < 10.0).any()


@pytest.mark.parametrize(
    "times",
    [
        torch.tensor([0.5]),
        torch.tensor([0.5, 0.6, 0.0]),
        torch.tensor([0.9, 0.1]),
        torch.ones(2, 2),
        torch.tensor([1.5, 0.0]),
    ],
)
def test_malformed_time_grid_is_rejected(times: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="times"):
        sample_ddim(EPS_DENOISER, torch.randn(4, 6), times)


def test_ddim_is_deterministic_given_z() -> None:
    z = torch.randn(16, 6, generator=torch.Generator().manual_seed(1))
    times = sampling_times(16)
    first = sample_ddim(EPS_DENOISER, z, times, generator=torch.Generator().manual_seed(2))
    second = sample_ddim(EPS_DENOISER, z.clone(), times, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_ancestral_is_reproducible_for_a_seed_and_varies_across_seeds() -> None:
    z = torch.randn(16, 6, generator=torch.Generator().manual_seed(1))
    times = sampling_times(16)

    def run(seed: int) -> torch.Tensor:
        return sample_ancestral(EPS_DENOISER, z, times, generator=torch.Generator().manual_seed(seed))

    torch.testing.assert_close(run(5), run(5), rtol=0, atol=0)
    assert not torch.allclose(run(5), run(6))


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_rescale_uses_per_sample_std_so_samples_stay_independent(name: str) -> None:
    """Changing one sample of the batch must not change the others when the noise is the same."""
    z = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(1))
    z_changed = z.clone()
    z_changed[0] = 5.0 * z_changed[0] + 3.0
    times = sampling_times(8)

    def model_fn(z: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return eps_and_z0(0.5 * z * t[:, None, None], z, t, "eps")  # acts on each sample alone

    def run(z_start: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator().manual_seed(7)
        return get_sampler(name)(model_fn, z_start, times, rescale=0.7, generator=generator)

    out, out_changed = run(z), run(z_changed)
    torch.testing.assert_close(out[1:], out_changed[1:])
    assert not torch.allclose(out[0], out_changed[0])
    # gamma = 0 leaves the sampler untouched; gamma > 0 changes the result.
    no_rescale = get_sampler(name)(model_fn, z, times, generator=torch.Generator().manual_seed(7))
    assert not torch.allclose(out, no_rescale)


def test_rescale_latent_formula() -> None:
    z = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0))
    assert rescale_latent(z, 0.0) is z
    fully = rescale_latent(z, 1.0)
    torch.testing.assert_close(fully.flatten(1).std(dim=1, correction=0), torch.ones(3))
    std = z.flatten(1).std(dim=1, correction=0)[:, None, None]
    torch.testing.assert_close(rescale_latent(z, 0.1), 0.9 * z + 0.1 * z / std)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_callback_sees_every_step(name: str) -> None:
    seen: list[dict] = []
    get_sampler(name)(EPS_DENOISER, torch.randn(2, 6), sampling_times(5), callback=seen.append)
    assert [info["i"] for info in seen] == list(range(5))
    assert seen[0]["t"] == pytest.approx(T_MAX) and seen[-1]["s"] == 0.0
    assert seen[-1]["z"].shape == seen[-1]["eps_hat"].shape == seen[-1]["z0_hat"].shape == (2, 6)


def test_unknown_sampler_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="ancestral"):
        get_sampler("euler")
