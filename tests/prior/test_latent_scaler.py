"""The per-band latent standard scaler."""

from __future__ import annotations

import pytest
import torch

from timevqvdm.prior import LatentScaler


def test_fit_transform_inverse_round_trip() -> None:
    z = 3.0 * torch.randn(50, 4, 7, generator=torch.Generator().manual_seed(0)) + 2.0
    scaler = LatentScaler().fit(z)
    scaled = scaler.transform(z)
    assert scaled.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert scaled.std().item() == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(scaler.inverse(scaled), z)


def test_statistics_live_in_the_state_dict() -> None:
    scaler = LatentScaler().fit(torch.arange(10.0))
    state = scaler.state_dict()
    assert set(state) == {"mean", "std"}
    restored = LatentScaler()
    restored.load_state_dict(state)
    assert restored.mean.item() == pytest.approx(4.5) and restored.std.item() == scaler.std.item()


def test_unfitted_scaler_is_the_identity_and_constant_latents_are_rejected() -> None:
    z = torch.randn(2, 3, 4)
    torch.testing.assert_close(LatentScaler().transform(z), z)
    with pytest.raises(ValueError, match="std"):
        LatentScaler().fit(torch.ones(5, 2))
