"""The noise process of stage 2: schedule, training loss, guidance and samplers.

It knows nothing about VQ or about the network: losses and samplers take the network (or a `model_fn`) as an
argument, as DiT's `gaussian_diffusion.py` does. `DiffusionProcess` holds one prior's settings (prediction,
class dropout, null class) and runs its training loss and its sampling.
"""

from __future__ import annotations

from timevqvdm.diffusion.guidance import guided_model_fn
from timevqvdm.diffusion.loss import denoising_error, diffusion_loss, drop_classes, quasi_uniform_times
from timevqvdm.diffusion.prediction import PREDICTIONS, check_start_time, eps_and_z0, training_target
from timevqvdm.diffusion.process import DiffusionProcess
from timevqvdm.diffusion.samplers import (
    SAMPLERS,
    get_sampler,
    rescale_latent,
    sample_ancestral,
    sample_ddim,
)
from timevqvdm.diffusion.schedule import alpha_sigma, log_snr, sampling_times

__all__ = [
    "PREDICTIONS",
    "SAMPLERS",
    "DiffusionProcess",
    "alpha_sigma",
    "check_start_time",
    "denoising_error",
    "diffusion_loss",
    "drop_classes",
    "eps_and_z0",
    "get_sampler",
    "guided_model_fn",
    "log_snr",
    "quasi_uniform_times",
    "rescale_latent",
    "sample_ancestral",
    "sample_ddim",
    "sampling_times",
    "training_target",
]
