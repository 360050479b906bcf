"""Stage 2's networks: the 1D U-Net denoiser and its conditioning, the latent scaler, one band's prior, the
two priors trained as one (`PriorPair`), and how a trained U-Net runs at inference (`slicing`)."""

from __future__ import annotations

from timevqvdm.prior.config import PriorConfig
from timevqvdm.prior.latent_prior import LatentPrior, build_prior
from timevqvdm.prior.pair import PriorPair
from timevqvdm.prior.scaler import LatentScaler
from timevqvdm.prior.unet import UNet1D

__all__ = ["LatentPrior", "LatentScaler", "PriorConfig", "PriorPair", "UNet1D", "build_prior"]
