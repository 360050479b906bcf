"""Validation checks of validation-driven training: a `ValidationMonitor` per network, built from held-out data.

Stage 1 is scored by its reconstruction loss on the held-out series. Each prior is scored by its denoising
loss on the held-out latents at fixed (t, noise) draws and by a novelty check on a few fast samples: their
copy share (`evaluation.memorisation`, the held-out part and the training part's leave-one-out distances
standing in for the real unseen series) and their
FID to the held-out part and to the training part in the features of a random FCN (internally comparable
across steps; not the protocol's trained FCN). The LF prior is checked on LF-band series (the HF prior is not
trained yet), the HF prior on whole series drawn from both priors (`fitting` draws the frozen LF prior's
latents once and conditions every HF check on them); trained in lockstep (`ValidationConfig.lockstep`), the
two priors share one monitor whose checks draw whole series from both. On variable-length data the novelty
samples get lengths from the length model (drawn per class from the training part's lengths, as `sample`
does) and every set's padded steps are 0 before the FCN and the distances see them (`evaluation.lengths`).

This module wires both stages, as `model.py` does; the stage packages know nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from timevqvdm.config import SamplingConfig, ValidationConfig
from timevqvdm.data.lengths import draw_lengths, length_mask
from timevqvdm.data.split import proportional_labels
from timevqvdm.diffusion import denoising_error, quasi_uniform_times
from timevqvdm.diffusion.noise import gaussian
from timevqvdm.evaluation.fcn import fcn_outputs
from timevqvdm.evaluation.lengths import zero_padding
from timevqvdm.evaluation.memorisation import COPY_QUANTILE, honest_copy_share, memorisation
from timevqvdm.evaluation.metrics import fid
from timevqvdm.evaluation.protocol import random_feature_fcn
from timevqvdm.generate import prior_kwargs
from timevqvdm.prior import LatentPrior
from timevqvdm.tokenizer import FrequencyTokenizer
from timevqvdm.training.monitor import ValidationMonitor

STOP_NOVELTY = "novelty"


def tokenizer_monitor(
    tokenizer: FrequencyTokenizer, val_split: dict[str, Tensor], cfg: ValidationConfig
) -> ValidationMonitor:
    """Stage 1: reconstruction loss on the held-out part's `split` outputs, minimised with patience."""
    return ValidationMonitor(
        lambda step: tokenizer.validation_loss(val_split),
        every=cfg.stage1_every,
        patience=cfg.stage1_patience,
        min_delta=cfg.stage1_min_delta,
    )


@dataclass
class HeldOutLatents:
    """One prior's held-out latents, scored by its denoising loss.

    z0 : (n_val, C, W) scaled latents of the held-out series; y : (n_val,) labels or None; cond : (n_val, Cc,
    W') the HF prior's scaled LF latents, else None; mask : (n_val, W) the latent positions that count in the
    denoising loss (variable-length data), else None.
    """

    z0: Tensor
    y: Tensor | None
    cond: Tensor | None = None
    mask: Tensor | None = None


@dataclass
class HeldOutSeries:
    """What the novelty samples are compared with.

    x_train, x_val : (n, C, L) series in normalised units of what the samples decode to (the LF band, or
    whole series); class_counts : training-part class counts (empty when unlabelled), the labels novelty
    samples follow; mask_train, mask_val : (n, L) the observed steps of x_train and x_val, else None;
    lengths : the training part's lengths per class (`data.lengths.lengths_by_class`), which the novelty
    samples draw theirs from, else None.
    """

    x_train: np.ndarray
    x_val: np.ndarray
    class_counts: np.ndarray
    mask_train: np.ndarray | None = None
    mask_val: np.ndarray | None = None
    lengths: list[list[int]] | None = None


def prior_monitor(
    priors: dict[str, tuple[LatentPrior, HeldOutLatents]],
    series: HeldOutSeries,
    draw_series: Callable[[int, Tensor | None, int], np.ndarray],
    cfg: ValidationConfig,
    *,
    seed: int,
) -> ValidationMonitor:
    """Stage 2: denoising loss at fixed draws (or the novelty samples' held-out FID, `cfg.stage2_select`),
    kept only while the samples stay novel.

    Parameters
    ----------
    priors : dict of str to (LatentPrior, HeldOutLatents)
        The priors this monitor trains, by band (``"lf"``, ``"hf"``; both when they train in lockstep). The
        record's ``val_loss`` is the sum of their denoising losses; with two, each is also recorded as
        ``val_loss_<band>``.
    series : HeldOutSeries
        The references of the novelty check, in the units ``draw_series`` returns.
    draw_series : callable
        ``draw_series(n, y, seed) -> (n, C, L)``: samples the priors and decodes.
    cfg : ValidationConfig
    seed : int
        Seeds the fixed denoising draws (``seed``, ``seed + 1``, ... per prior) and the novelty samples.
    """
    denoisers = {
        band: _denoising_score(prior, latents, cfg.denoising_draws, seed + k)
        for k, (band, (prior, latents)) in enumerate(priors.items())
    }
    novelty = _novelty_score(series, draw_series, cfg.novelty_samples, seed)
    limit = copy_limit(cfg.copy_threshold, len(series.x_val) + len(series.x_train))

    def evaluate(step: int) -> dict[str, float]:
        losses = {band: score() for band, score in denoisers.items()}
        per_band = {f"val_loss_{band}": loss for band, loss in losses.items()} if len(losses) > 1 else {}
        return {"val_loss": sum(losses.values()), **per_band, **novelty(step), "copy_limit": limit}

    def too_many_copies(record: dict[str, float]) -> str | None:
        if record["copy_share"] > limit:
            return f"{STOP_NOVELTY}: copy share {record['copy_share']:.3f} > {limit:.3f}"
        return None

    return ValidationMonitor(
        evaluate,
        every=cfg.stage2_every,
        patience=cfg.stage2_patience,
        key=cfg.stage2_select,
        eligible=lambda record: record["copy_share"] <= limit,
        halt=too_many_copies,
        halt_patience=cfg.novelty_patience,
    )


def copy_limit(copy_threshold: float, n_reference: int) -> float:
    """The novelty check's copy-share limit for a copy threshold taken from ``n_reference`` distances.

    ``copy_threshold`` is stated for a large reference, where an honest generator scores `COPY_QUANTILE`;
    against a few reference distances an honest generator scores more (`honest_copy_share`), so the limit
    keeps the same ratio to the honest level: ``copy_threshold * honest_copy_share(n_reference) /
    COPY_QUANTILE``. The novelty check pools the held-out and the training part's leave-one-out distances
    (`evaluation.memorisation` with ``pool_train``), so ``n_reference`` is the size of both parts.
    """
    return copy_threshold * honest_copy_share(n_reference, COPY_QUANTILE) / COPY_QUANTILE


def _denoising_score(
    prior: LatentPrior, held_out: HeldOutLatents, draws: int, seed: int
) -> Callable[[], float]:
    """Mean denoising error over ``draws`` fixed (t, noise) draws per held-out latent, labels as given."""
    generator = torch.Generator().manual_seed(seed)
    n = len(held_out.z0)
    z0 = held_out.z0.repeat(draws, 1, 1)
    t = torch.cat([quasi_uniform_times(n, generator, "cpu") for _ in range(draws)])
    eps = gaussian(z0.shape, generator=generator, device="cpu")
    null = torch.full((n,), prior.null_class, dtype=torch.long)
    y = (held_out.y if held_out.y is not None else null).repeat(draws)
    cond = None if held_out.cond is None else held_out.cond.repeat(draws, 1, 1)
    mask = None if held_out.mask is None else held_out.mask.repeat(draws, 1)

    def score() -> float:
        device = next(prior.parameters()).device
        move = lambda v: None if v is None else v.to(device)  # noqa: E731
        loss = denoising_error(
            prior.network,
            move(z0),
            move(t),
            move(eps),
            y=move(y),
            cond=move(cond),
            prediction=prior.prediction,
            mask=move(mask),
        )
        return float(loss)

    return score


def _novelty_score(
    held_out: HeldOutSeries,
    draw_series: Callable[[int, Tensor | None, int], np.ndarray],
    n_samples: int,
    seed: int,
) -> Callable[[int], dict[str, float]]:
    """Copy share and FIDs of ``n_samples`` fresh series (seeded from the step, so a resumed run redraws the
    same ones)."""
    x_train = zero_padding(held_out.x_train, held_out.mask_train)
    x_val = zero_padding(held_out.x_val, held_out.mask_val)
    fcn = random_feature_fcn(x_train, seed=seed)
    feats_train, _ = fcn_outputs(fcn, x_train)
    feats_val, _ = fcn_outputs(fcn, x_val)
    y = proportional_labels(n_samples, held_out.class_counts) if len(held_out.class_counts) else None
    labels = None if y is None else torch.from_numpy(y)

    def score(step: int) -> dict[str, float]:
        sample_seed = seed * 1_000_003 + step
        x = draw_series(n_samples, labels, sample_seed)
        if held_out.lengths is not None:
            x = zero_padding(
                x, length_mask(draw_lengths(held_out.lengths, y, n_samples, sample_seed), x.shape[-1])
            )
        copies = memorisation(x, x_train, x_val, pool_train=True)
        feats, _ = fcn_outputs(fcn, x)
        return {
            "copy_share": copies["copy_share"],
            "median_ratio": copies["median_ratio"],
            "val_fid": fid(feats, feats_val),
            "train_fid": fid(feats, feats_train),
        }

    return score


def sampling_kwargs(sampling: SamplingConfig, steps: int) -> dict:
    """The novelty check's sampler: the model's own settings, ``steps`` steps, no guidance (w = 1)."""
    return prior_kwargs(sampling.replace(steps=steps, guidance=1.0))
