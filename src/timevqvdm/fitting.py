"""Fitting a `TimeVQVDM`: stage 1 (the tokenizer), then stage 2 (the priors) on stage 1's latents.

With validation (`ValidationConfig`), a held-out part of the training series decides when each network
stops (`validation.py` builds the checks) and stays out of every gradient step; with ``refit``, every network
then trains again on all training series for the step count validation kept. The split depends only on the
data, the fraction and the seed, so every stage and every resume sees the same one.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from timevqvdm.config import TrainConfig, ValidationConfig
from timevqvdm.data import TimeSeriesDataset
from timevqvdm.data.lengths import lengths_by_class
from timevqvdm.data.split import split_validation
from timevqvdm.data_info import DataInfo, check_same_data
from timevqvdm.evaluation.lengths import zero_padding
from timevqvdm.inference import decode_latents, encode, freeze
from timevqvdm.persistence import build_priors
from timevqvdm.prior import PriorPair
from timevqvdm.tokenizer import build_tokenizer
from timevqvdm.training import Trainer
from timevqvdm.training.monitor import ValidationMonitor, stop_at
from timevqvdm.validation import (
    HeldOutLatents,
    HeldOutSeries,
    prior_monitor,
    sampling_kwargs,
    tokenizer_monitor,
)

if TYPE_CHECKING:
    from timevqvdm.model import TimeVQVDM


def network_names(validation: ValidationConfig, stages: Sequence[int] = (1, 2)) -> list[str]:
    """The networks `fit` trains for ``stages``, in training order, as named in `history` and under run_dir:
    ``stage1``, then ``stage2`` (both priors in lockstep) or ``stage2_lf`` and ``stage2_hf``."""
    names = ["stage1"] if 1 in stages else []
    if 2 in stages:
        names += ["stage2"] if _lockstep(validation) else ["stage2_lf", "stage2_hf"]
    return names


def _lockstep(validation: ValidationConfig) -> bool:
    return validation.enabled and validation.lockstep


def fit_model(
    model: TimeVQVDM,
    data: TimeSeriesDataset | np.ndarray,
    y: np.ndarray | Sequence | None,
    stages: Sequence[int],
    run_dir: str | Path | None,
    resume: bool,
) -> None:
    """`TimeVQVDM.fit` (its docstring states the contract): fills in the model's networks, `data_info` and
    `history`."""
    stages = tuple(stages)
    dataset = _zero_padding(_checked_input(model, data, y, stages, run_dir, resume))
    run_dir = Path(run_dir) if run_dir is not None else None
    train_part, val_part = _held_out(model, dataset)
    _fit_stages(model, stages, train_part, val_part, run_dir, resume)
    if val_part is not None and model.config.validation.refit:
        _refit(model, dataset, stages, run_dir, resume)


def _fit_stages(
    model: TimeVQVDM,
    stages: tuple[int, ...],
    dataset: TimeSeriesDataset,
    val_part: TimeSeriesDataset | None,
    run_dir: Path | None,
    resume: bool,
    stop_steps: dict[str, int] | None = None,
) -> None:
    if 1 in stages:
        _fit_stage1(model, dataset, val_part, run_dir, resume, stop_steps)
    if 2 in stages:
        _fit_stage2(model, dataset, val_part, run_dir, resume, stop_steps)


def _refit(
    model: TimeVQVDM, dataset: TimeSeriesDataset, stages: tuple[int, ...], run_dir: Path | None, resume: bool
) -> None:
    """Train the networks again on every training series, each for the step count validation kept; the
    held-out records stay in the history beside the refit's."""
    names = network_names(model.config.validation, stages)
    monitored = {name: model.history[name] for name in names}
    steps = {name: entry["stop"]["best_step"] or entry["stop"]["step"] for name, entry in monitored.items()}
    refit_dir = run_dir / "refit" if run_dir is not None else None
    _fit_stages(model, stages, dataset, None, refit_dir, resume, stop_steps=steps)
    for name in names:
        refit = {k: v for k, v in model.history[name].items() if k not in ("validation", "stop")}
        model.history[name] = {**monitored[name], "refit": refit}


def _held_out(
    model: TimeVQVDM, dataset: TimeSeriesDataset
) -> tuple[TimeSeriesDataset, TimeSeriesDataset | None]:
    """(what the networks train on, the validation part or None)."""
    cfg = model.config.validation
    if not cfg.enabled:
        return dataset, None
    train_part, val_part = split_validation(dataset, fraction=cfg.fraction, seed=model.config.seed)
    model.history["validation_split"] = {"n_train": train_part.n_series, "n_val": val_part.n_series}
    return train_part, val_part


def _checked_input(
    model: TimeVQVDM, data, y, stages: tuple[int, ...], run_dir, resume: bool
) -> TimeSeriesDataset:
    """`fit`'s arguments checked and `data` as a dataset; sets ``model.data_info``."""
    if not stages or any(s not in (1, 2) for s in stages):
        raise ValueError(f"stages must be a subset of (1, 2), got {stages}")
    if resume and run_dir is None:
        raise ValueError("resume=True needs run_dir (where the checkpoints are)")
    if isinstance(data, TimeSeriesDataset):
        if y is not None:
            raise ValueError("pass labels inside the TimeSeriesDataset, not as `y`")
        dataset = data
    else:
        dataset = TimeSeriesDataset.from_arrays(np.asarray(data), None if y is None else np.asarray(y))
    if dataset.n_series < 2:
        raise ValueError(f"need at least 2 training series, got {dataset.n_series}")
    info = DataInfo.of(dataset)
    if stages == (2,):
        if model.tokenizer is None:
            raise ValueError("stage 2 needs a trained stage 1: fit with stages=(1, 2) or load a model first")
        trained = model.data_info
        if (info.n_channels, info.length) != (trained.n_channels, trained.length):
            raise ValueError(
                f"data shape (channels, length) = {(info.n_channels, info.length)} does not match the "
                f"tokenizer's {(trained.n_channels, trained.length)}"
            )
        check_same_data(trained, info)
    model.data_info = info
    return dataset


def _train(
    model: TimeVQVDM,
    module: torch.nn.Module,
    cfg: TrainConfig,
    data: dict,
    run_dir: Path | None,
    name: str,
    resume: bool,
    monitor: ValidationMonitor | None,
) -> None:
    """One network through the shared `Trainer`; its outcome goes to ``model.history[name]``."""
    sub = run_dir / name if run_dir is not None else None
    fingerprint = model.weights_description("tokenizer" if name == "stage1" else "prior")
    trainer = Trainer(
        module, cfg, sub, seed=model.config.seed, desc=name, progress=model.progress, fingerprint=fingerprint,
        monitor=monitor,
    )  # fmt: skip
    result = trainer.fit(data, resume=resume)
    model.history[name] = {
        "steps": result.steps,
        "final_loss": result.final_loss,
        "wall_time": result.wall_time,
        "median_step_time": result.median_step_time,
    }
    if monitor is not None:
        model.history[name].update(validation=result.validation, stop=result.stop)


def _fit_stage1(
    model: TimeVQVDM,
    dataset: TimeSeriesDataset,
    val_part: TimeSeriesDataset | None,
    run_dir: Path | None,
    resume: bool,
    stop_steps: dict[str, int] | None,
) -> None:
    cfg = model.config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model.tokenizer = build_tokenizer(dataset.length, dataset.n_channels, cfg.frequency, cfg.tokenizer)
    # The STFT split of the training set is computed once here, not at every step.
    with torch.no_grad():
        split = model.tokenizer.split(*_series_and_mask(dataset))
        monitor = _fixed_stop(stop_steps, "stage1")
        if val_part is not None:
            val_split = model.tokenizer.split(*_series_and_mask(val_part))
            monitor = tokenizer_monitor(model.tokenizer, val_split, cfg.validation)
    _train(model, model.tokenizer, cfg.stage1, split, run_dir, "stage1", resume, monitor)
    freeze(model.tokenizer.to(model.device))
    model.prior_lf = model.prior_hf = None  # priors trained on another tokenizer's latents are invalid


def _fit_stage2(
    model: TimeVQVDM,
    dataset: TimeSeriesDataset,
    val_part: TimeSeriesDataset | None,
    run_dir: Path | None,
    resume: bool,
    stop_steps: dict[str, int] | None,
) -> None:
    cfg = model.config
    # Stage 1 stays fixed, its BatchNorm statistics untouched.
    tokenizer = freeze(model.tokenizer.to(model.device))
    z_lf, z_hf = encode(tokenizer, torch.from_numpy(dataset.X), model.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed + 1)
        model.prior_lf, model.prior_hf = build_priors(cfg, model.data_info.n_classes, tokenizer.latent_shapes)
    prior_lf, prior_hf = model.prior_lf, model.prior_hf
    # Latent standard scalers: fitted on the training set's stage-1 latents (the positions of observed time
    # steps), stored with the priors.
    masks = _latent_masks(tokenizer, dataset)
    prior_lf.scaler.fit(z_lf, masks["lf"].get("mask"))
    prior_hf.scaler.fit(z_hf, masks["hf"].get("mask"))
    z0_lf, z0_hf = prior_lf.scaler.transform(z_lf), prior_hf.scaler.transform(z_hf)
    labels = {} if dataset.y is None else {"y": torch.from_numpy(dataset.y).long()}
    if _lockstep(cfg.validation):
        monitor = _fixed_stop(stop_steps, "stage2")
        if val_part is not None:
            monitor = _lockstep_monitor(model, dataset, val_part)
        pair_data = {"z0_lf": z0_lf, "z0_hf": z0_hf, **labels}
        pair_data.update({f"{key}_{band}": v for band in ("lf", "hf") for key, v in masks[band].items()})
        _train(
            model, PriorPair(prior_lf, prior_hf), cfg.stage2, pair_data, run_dir, "stage2", resume, monitor
        )
        freeze(prior_lf.to(model.device))
        freeze(prior_hf.to(model.device))
        return
    if val_part is not None:
        monitors = _prior_monitors(model, dataset, val_part)
    else:
        monitors = {band: _fixed_stop(stop_steps, f"stage2_{band}") for band in ("lf", "hf")}
    lf_data = {"z0": z0_lf, **labels, **masks["lf"]}
    _train(model, prior_lf, cfg.stage2, lf_data, run_dir, "stage2_lf", resume, monitors["lf"])
    freeze(prior_lf.to(model.device))  # the HF prior's novelty check samples it
    hf_data = {"z0": z0_hf, "cond": z0_lf, **labels, **masks["hf"]}
    _train(model, prior_hf, cfg.stage2, hf_data, run_dir, "stage2_hf", resume, monitors["hf"])
    freeze(prior_hf.to(model.device))


def _latent_masks(tokenizer, dataset: TimeSeriesDataset) -> dict[str, dict[str, torch.Tensor]]:
    """Per band, the stage-2 batch entry ``{"mask": (n, W_band) bool}`` of a variable-length dataset, or
    ``{}`` when every series has full length (`FrequencyTokenizer.latent_mask`)."""
    if dataset.mask is None:
        return {"lf": {}, "hf": {}}
    mask = torch.from_numpy(dataset.mask)
    return {band: {"mask": tokenizer.latent_mask(mask, band)} for band in ("lf", "hf")}


class _HeldOutParts:
    """The held-out data of stage 2's checks: each prior's latents and the series the samples are compared
    with, whole and LF band."""

    def __init__(self, model: TimeVQVDM, train_part: TimeSeriesDataset, val_part: TimeSeriesDataset) -> None:
        tokenizer, prior_lf, prior_hf = model.tokenizer, model.prior_lf, model.prior_hf
        self._tokenizer, self._parts = tokenizer, (train_part, val_part)
        z_lf, z_hf = encode(tokenizer, torch.from_numpy(val_part.X), model.device)
        z0_lf, z0_hf = prior_lf.scaler.transform(z_lf), prior_hf.scaler.transform(z_hf)
        y = None if val_part.y is None else torch.from_numpy(val_part.y).long()
        masks = _latent_masks(tokenizer, val_part)
        self.latents = {
            "lf": HeldOutLatents(z0_lf, y, None, masks["lf"].get("mask")),
            "hf": HeldOutLatents(z0_hf, y, z0_lf, masks["hf"].get("mask")),
        }
        shared = {
            "class_counts": train_part.class_counts(),
            "mask_train": train_part.mask,
            "mask_val": val_part.mask,
            "lengths": lengths_by_class(train_part),
        }
        self._shared = shared
        self.series = HeldOutSeries(train_part.X, val_part.X, **shared)

    @functools.cached_property
    def lf_band(self) -> HeldOutSeries:
        """The LF band of both parts, which only the sequential LF prior's checks compare with."""
        with torch.no_grad():
            lf_train, lf_val = (
                self._tokenizer.split(*_series_and_mask(part))["x_lf"].numpy() for part in self._parts
            )
        return HeldOutSeries(lf_train, lf_val, **self._shared)


class _Draws:
    """The novelty checks' samplers, each ``(n, y, seed) -> (n, C, L)`` in normalised units."""

    def __init__(self, model: TimeVQVDM) -> None:
        self.model = model
        self.kwargs = sampling_kwargs(model.config.sampling, model.config.validation.novelty_steps)
        self.frozen_lf: dict[int, torch.Tensor] = {}

    def _generator(self, seed: int) -> torch.Generator:
        return torch.Generator(device=self.model.device).manual_seed(seed)

    def lf_band(self, n: int, y: torch.Tensor | None, seed: int) -> np.ndarray:
        """LF-band series from the LF prior."""
        m = self.model
        z = m.prior_lf.sample(n, y=y, generator=self._generator(seed), **self.kwargs)
        z_q = m.tokenizer.quantize(m.prior_lf.scaler.inverse(z), "lf")
        return m.tokenizer.decode_band(z_q, "lf").cpu().numpy()

    def over_frozen_lf(self, n: int, y: torch.Tensor | None, seed: int) -> np.ndarray:
        """Whole series, the HF prior on one draw of the frozen LF prior: every check conditions on the same
        LF latents (drawn once, with a seed of their own), so a check costs one prior's sampling and
        successive checks differ only by the HF prior."""
        if n not in self.frozen_lf:
            lf_seed = self.model.config.seed + 2
            self.frozen_lf[n] = self.model.prior_lf.sample(
                n, y=y, generator=self._generator(lf_seed), **self.kwargs
            )
        return self._decode(self.frozen_lf[n], y, seed)

    def both(self, n: int, y: torch.Tensor | None, seed: int) -> np.ndarray:
        """Whole series as `sample` draws them: LF from the LF prior, HF from the HF prior on it."""
        z_lf = self.model.prior_lf.sample(n, y=y, generator=self._generator(seed), **self.kwargs)
        return self._decode(z_lf, y, seed + 1)

    def _decode(self, z_lf: torch.Tensor, y: torch.Tensor | None, seed: int) -> np.ndarray:
        m = self.model
        z_hf = m.prior_hf.sample(len(z_lf), y=y, cond=z_lf, generator=self._generator(seed), **self.kwargs)
        x_lf, x_hf = decode_latents(m.tokenizer, m.prior_lf, m.prior_hf, z_lf, z_hf)
        return (x_lf + x_hf).cpu().numpy()


def _prior_monitors(model: TimeVQVDM, train_part: TimeSeriesDataset, val_part: TimeSeriesDataset) -> dict:
    """One `ValidationMonitor` per prior trained in turn: the LF prior is checked on LF-band series, the HF
    prior on whole series over the frozen LF prior."""
    cfg, parts, draws = model.config, _HeldOutParts(model, train_part, val_part), _Draws(model)
    lf = {"lf": (model.prior_lf, parts.latents["lf"])}
    hf = {"hf": (model.prior_hf, parts.latents["hf"])}
    return {
        "lf": prior_monitor(lf, parts.lf_band, draws.lf_band, cfg.validation, seed=cfg.seed),
        "hf": prior_monitor(hf, parts.series, draws.over_frozen_lf, cfg.validation, seed=cfg.seed + 1),
    }


def _lockstep_monitor(
    model: TimeVQVDM, train_part: TimeSeriesDataset, val_part: TimeSeriesDataset
) -> ValidationMonitor:
    """The monitor of both priors in lockstep: their summed denoising loss, novelty on whole series."""
    cfg, parts = model.config, _HeldOutParts(model, train_part, val_part)
    priors = {band: (getattr(model, f"prior_{band}"), parts.latents[band]) for band in ("lf", "hf")}
    return prior_monitor(priors, parts.series, _Draws(model).both, cfg.validation, seed=cfg.seed)


def _fixed_stop(stop_steps: dict[str, int] | None, name: str) -> ValidationMonitor | None:
    """The refit's monitor for network `name`: stop at the step count validation kept (None: no refit)."""
    if stop_steps is None:
        return None
    return stop_at(stop_steps[name], f"refit: {stop_steps[name]} steps, the count validation kept")


def _zero_padding(dataset: TimeSeriesDataset) -> TimeSeriesDataset:
    """The dataset with exactly 0 on its padding (what loaders store), so that padded values cannot reach
    the networks whatever a hand-built dataset holds there."""
    if dataset.mask is None or not dataset.X[~np.broadcast_to(dataset.mask[:, None], dataset.X.shape)].any():
        return dataset
    return dataclasses.replace(dataset, X=zero_padding(dataset.X, dataset.mask))


def _series_and_mask(dataset: TimeSeriesDataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`dataset` as the tokenizer's `split` takes it: series (n, C, L) and the time mask (n, L) or None."""
    return torch.from_numpy(dataset.X), None if dataset.mask is None else torch.from_numpy(dataset.mask)
