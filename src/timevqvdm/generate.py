"""Sampling a fitted `TimeVQVDM` (thesis Algorithm 4), and the settings of one call.

A call's settings are the model's `SamplingConfig` with the call's overrides put in by
`SamplingConfig.replace`, so that the config's own check is the one check of a setting: an unknown name or
an invalid value fails before any work.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from timevqvdm.config import SamplingConfig
from timevqvdm.data import TimeSeriesDataset
from timevqvdm.data.lengths import draw_lengths, length_mask
from timevqvdm.data_info import DataInfo
from timevqvdm.evaluation.lengths import zero_padding
from timevqvdm.inference import decode_latents
from timevqvdm.sample_labels import Labels, class_prior_labels, resolve_labels

if TYPE_CHECKING:
    from timevqvdm.model import TimeVQVDM

# The SamplingConfig precisions that autocast the U-Net forward passes, and to what; the others are float32.
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "bf16-mixed": torch.bfloat16}
# The SamplingConfig fields that choose steps and guidance per mode: a call is in one mode, so it overrides
# `steps` and `guidance` themselves.
MODE_DEFAULTS = ("conditional_steps", "conditional_guidance")


@dataclass(frozen=True)
class SampledBands:
    """What ``TimeVQVDM.sample(..., return_bands=True)`` returns: the samples and the two bands they sum.

    Attributes
    ----------
    samples : the `TimeSeriesDataset` that `sample` returns otherwise; ``samples.X`` is (n, C, L).
    lf, hf : (n, C, L) the low- and high-frequency parts in the data's original units. The LF part carries
        the mean (the zero frequency), so ``lf + hf`` is ``samples.X`` up to rounding; both are 0 after a
        series' drawn length, as ``samples.X`` is.
    """

    samples: TimeSeriesDataset
    lf: np.ndarray
    hf: np.ndarray


def call_settings(sampling: SamplingConfig, conditional: bool, overrides: dict[str, Any]) -> SamplingConfig:
    """The settings of one `sample` call: `sampling` with the steps and guidance of the call's mode
    (`SamplingConfig.mode_defaults`), then the call's `overrides`, which win.

    Raises
    ------
    TypeError : an override that is not a `SamplingConfig` field, or is one of the per-mode defaults.
    ValueError : an override that breaks its field's rule (`config.SAMPLING_RULES`).
    """
    for name in MODE_DEFAULTS:
        if name in overrides:
            raise TypeError(
                f"{name} is a default of the model's config (model.config.sampling), not a setting of one "
                f"call: pass steps= or guidance="
            )
    steps, guidance = sampling.mode_defaults(conditional)
    return sampling.replace(steps=steps, guidance=guidance).replace(**overrides)


def prior_kwargs(settings: SamplingConfig) -> dict[str, Any]:
    """The keyword arguments of `LatentPrior.sample` that `settings` fixes."""
    return {"steps": settings.steps, "guidance": settings.guidance, "rescale": settings.rescale,
            "t_max": settings.t_max, "sampler": settings.sampler, "compile": settings.compile}  # fmt: skip


@torch.no_grad()
def generate(
    model: TimeVQVDM, n: int, labels: Labels, seed: int | None, overrides: dict[str, Any]
) -> TimeSeriesDataset | SampledBands:
    """`TimeVQVDM.sample` for a model with both stages fitted (its docstring states the contract).

    `overrides` are the call's keyword arguments: ``return_bands``, and `SamplingConfig` fields.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    overrides = dict(overrides)
    return_bands = overrides.pop("return_bands", False)
    if not isinstance(return_bands, bool):
        raise TypeError(f"return_bands must be a bool, got {return_bands!r}")
    info = model.data_info
    settings = call_settings(model.config.sampling, labels is not None, overrides)
    y = resolve_labels(n, labels, info.classes, info.class_counts)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    # The labels the priors see; y (what the result reports) stays None for unconditional sampling.
    y_cond = y
    if labels is None:
        y_cond = class_prior_labels(n, settings.unconditional, info.class_counts, seed)
    x, x_lf, x_hf = _draw(model, n, y_cond, settings, seed)
    mask = _sampled_mask(info, n, y_cond, seed)
    samples = TimeSeriesDataset(
        X=zero_padding(info.to_original_units(x), mask).astype(np.float32),
        y=y,
        classes=list(info.classes),
        name=f"{info.name} (synthetic)",
        mask=mask,
        mean=0.0,
        std=1.0,
    )
    if not return_bands:
        return samples
    lf = zero_padding(info.to_original_units(x_lf), mask)
    return SampledBands(samples, lf=lf, hf=zero_padding(info.to_original_units(x_hf, shift=False), mask))


def _draw(
    model: TimeVQVDM, n: int, y_cond: np.ndarray | None, settings: SamplingConfig, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LF prior, HF prior on the sampled LF, decode, in batches of ``settings.batch_size``: (x, x_lf, x_hf),
    each (n, C, L) in normalised units. Every batch draws from one generator seeded with `seed`."""
    generator = torch.Generator(device=model.device).manual_seed(seed)
    batches = range(0, n, settings.batch_size)
    bar = _progress(model.progress, len(batches) * 2 * settings.steps)
    kwargs = {**prior_kwargs(settings), "generator": generator, "callback": bar}
    outs, lfs, hfs = [], [], []
    for start in batches:
        count = min(settings.batch_size, n - start)
        y = None if y_cond is None else torch.from_numpy(y_cond[start : start + count]).to(model.device)
        with autocast(settings.precision, model.device):
            z_lf = model.prior_lf.sample(count, y=y, **kwargs).float()
            z_hf = model.prior_hf.sample(count, y=y, cond=z_lf, **kwargs).float()
        x_lf, x_hf = decode_latents(model.tokenizer, model.prior_lf, model.prior_hf, z_lf, z_hf)
        outs.append((x_lf + x_hf).cpu())
        lfs.append(x_lf.cpu())
        hfs.append(x_hf.cpu())
    if bar is not None:
        bar.close()
    return torch.cat(outs).numpy(), torch.cat(lfs).numpy(), torch.cat(hfs).numpy()


def _sampled_mask(info: DataInfo, n: int, y: np.ndarray | None, seed: int) -> np.ndarray | None:
    """The length model: (n, L) mask of lengths drawn per class from the training lengths, or None for a
    model trained on full-length series."""
    if info.lengths is None:
        return None
    return length_mask(draw_lengths(info.lengths, y, n, seed), info.length)


def autocast(precision: str, device: torch.device):
    """The context the U-Net forward passes of a sampling call run in: autocast to the type
    `AUTOCAST_DTYPES` gives a `SamplingConfig.precision`, else nothing (float32)."""
    dtype = AUTOCAST_DTYPES.get(precision)
    return nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)


def _progress(show: bool, total: int):
    """A callback that advances a progress bar once per sampler step, or None."""
    if not show:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="sampling", unit="step", dynamic_ncols=True)

    class _Callback:
        def __call__(self, *args, **kwargs):
            bar.update(1)

        def close(self):
            bar.close()

    return _Callback()
