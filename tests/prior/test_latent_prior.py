"""One band's prior: training loss with and without labels, sampling, the factory."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from timevqvdm.config import get_preset
from timevqvdm.diffusion import DiffusionProcess
from timevqvdm.prior import LatentPrior, PriorConfig, build_prior

TINY = get_preset("tiny").prior


def lf_prior(**overrides) -> LatentPrior:
    kwargs = {"latent_channels": 4, "latent_width": 9, "n_classes": 2, "cond_channels": 0, "cfg": TINY}
    return build_prior(**{**kwargs, "band": "lf", **overrides})


def hf_prior() -> LatentPrior:
    return build_prior(latent_channels=4, latent_width=20, n_classes=2, cond_channels=4, cfg=TINY, band="hf")


def batch(n: int = 6, width: int = 9, labels: bool = True, cond_width: int | None = None) -> dict:
    g = torch.Generator().manual_seed(0)
    out = {"z0": torch.randn(n, 4, width, generator=g)}
    if labels:
        out["y"] = torch.randint(0, 2, (n,), generator=g)
    if cond_width is not None:
        out["cond"] = torch.randn(n, 4, cond_width, generator=g)
    return out


@pytest.mark.parametrize("labels", [True, False])
def test_training_loss_with_and_without_labels(labels: bool) -> None:
    torch.manual_seed(0)
    prior = lf_prior()
    loss, logs = prior.training_loss(batch(labels=labels), torch.Generator().manual_seed(1))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert logs == {"loss": pytest.approx(loss.item())}
    loss.backward()
    assert all(p.grad is not None for p in prior.network.parameters())


def test_hf_training_loss_uses_the_condition() -> None:
    torch.manual_seed(0)
    prior = hf_prior()
    data = batch(width=20, cond_width=9)
    loss, _ = prior.training_loss(data, torch.Generator().manual_seed(1))
    shifted, _ = prior.training_loss({**data, "cond": data["cond"] + 1}, torch.Generator().manual_seed(1))
    assert torch.isfinite(loss) and not torch.allclose(loss, shifted)


def test_training_loss_is_reproducible_for_a_generator_seed() -> None:
    torch.manual_seed(0)
    prior = lf_prior()
    first, _ = prior.training_loss(batch(), torch.Generator().manual_seed(3))
    second, _ = prior.training_loss(batch(), torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, second, rtol=0, atol=0)


SAMPLE_ARGS = {"steps": 4, "guidance": 2.0, "rescale": 0.1, "t_max": 0.99}


@pytest.mark.parametrize("sampler", ["ancestral", "ddim"])
def test_sample_is_reproducible_for_a_seed_and_has_the_latent_shape(sampler: str) -> None:
    torch.manual_seed(0)
    prior = lf_prior()
    y = torch.tensor([0, 1, 1])

    def draw(seed: int) -> torch.Tensor:
        return prior.sample(
            3, y=y, sampler=sampler, generator=torch.Generator().manual_seed(seed), **SAMPLE_ARGS
        )

    first = draw(7)
    assert first.shape == (3, 4, 9) and torch.isfinite(first).all()
    torch.testing.assert_close(first, draw(7), rtol=0, atol=0)
    assert not torch.allclose(first, draw(8))


def test_unconditional_sampling_and_explicit_shape() -> None:
    torch.manual_seed(0)
    prior = lf_prior()
    out = prior.sample(2, generator=torch.Generator().manual_seed(0), shape=(4, 13), **SAMPLE_ARGS)
    assert out.shape == (2, 4, 13)


def test_hf_sampling_with_the_lf_latent_as_condition() -> None:
    torch.manual_seed(0)
    prior = hf_prior()
    cond = torch.randn(2, 4, 9)
    out = prior.sample(
        2, y=torch.tensor([0, 1]), cond=cond, generator=torch.Generator().manual_seed(0), **SAMPLE_ARGS
    )
    assert out.shape == (2, 4, 20)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": torch.tensor([0, 3])}, "labels"),
        ({"y": torch.tensor([0])}, "shape"),
        ({"sampler": "euler"}, "euler"),
    ],
)
def test_sample_rejects_bad_arguments(kwargs, match) -> None:
    prior = lf_prior()
    with pytest.raises(ValueError, match=match):
        prior.sample(2, **{**SAMPLE_ARGS, **kwargs})


def test_eps_prior_refuses_t_max_one_before_any_work() -> None:
    prior = lf_prior()
    with pytest.raises(ValueError, match="prediction='v'"):
        prior.sample(2, **{**SAMPLE_ARGS, "t_max": 1.0})


@pytest.mark.parametrize("sampler", ["ancestral", "ddim"])
def test_v_prior_samples_from_t_max_one(sampler: str) -> None:
    torch.manual_seed(0)
    prior = lf_prior(cfg=dataclasses.replace(TINY, prediction="v"))
    out = prior.sample(
        3,
        y=torch.tensor([0, 1, 2]),
        sampler=sampler,
        generator=torch.Generator().manual_seed(0),
        **{**SAMPLE_ARGS, "t_max": 1.0},
    )
    assert out.shape == (3, 4, 9) and torch.isfinite(out).all()


def test_factory_picks_the_band_channels_and_the_state_dict_carries_the_scaler() -> None:
    cfg = PriorConfig(lf_channels=(8, 16), hf_channels=(8, 8, 16), emb_dim=8, attn_heads=1, attn_head_dim=4)
    lf = build_prior(latent_channels=4, latent_width=9, n_classes=0, cond_channels=0, cfg=cfg, band="lf")
    hf = build_prior(latent_channels=4, latent_width=16, n_classes=0, cond_channels=4, cfg=cfg, band="hf")
    assert lf.network.channels == (8, 16) and hf.network.channels == (8, 8, 16)
    assert hf.network.cond_channels == 4
    assert {"scaler.mean", "scaler.std"} <= set(lf.state_dict())
    with pytest.raises(ValueError, match="too short"):
        build_prior(latent_channels=4, latent_width=3, n_classes=0, cond_channels=0, cfg=cfg, band="hf")
    with pytest.raises(ValueError, match="band"):
        build_prior(latent_channels=4, latent_width=9, n_classes=0, cond_channels=0, cfg=cfg, band="mf")


def test_paper_size_parameter_counts() -> None:
    """Pinned so a change of architecture is a visible decision; within 2% of the thesis's Table 2 (Wafer:
    4.12M LF, 3.97M HF). FLOPs are pinned in test_unet1d.py."""
    cfg = PriorConfig()
    lf = build_prior(latent_channels=20, latent_width=19, n_classes=2, cond_channels=0, cfg=cfg, band="lf")
    hf = build_prior(latent_channels=20, latent_width=76, n_classes=2, cond_channels=20, cfg=cfg, band="hf")
    n_lf, n_hf = (sum(p.numel() for p in prior.parameters()) for prior in (lf, hf))
    assert (n_lf, n_hf) == (4_168_035, 4_023_751)
    assert n_lf == pytest.approx(4.12e6, rel=0.02) and n_hf == pytest.approx(3.97e6, rel=0.02)


def test_the_process_holds_the_settings_and_the_state_dict_only_network_and_scaler() -> None:
    """The process has no weights, so saved priors keep their keys: ``network.*`` and ``scaler.*``."""
    prior = lf_prior(cfg=dataclasses.replace(TINY, prediction="v", class_dropout=0.2))
    assert prior.process == DiffusionProcess(null_class=2, prediction="v", class_dropout=0.2)
    assert (prior.null_class, prior.prediction, prior.class_dropout) == (2, "v", 0.2)
    assert {key.split(".")[0] for key in prior.state_dict()} == {"network", "scaler"}
