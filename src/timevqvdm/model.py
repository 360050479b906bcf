"""`TimeVQVDM`: the one place that wires stage 1 (the LF/HF VQ-VAE tokenizer) to stage 2 (the diffusion priors).

    model = TimeVQVDM(preset="quick").fit(load_dataset("GunPoint"))
    synthetic = model.sample(256, labels="proportional", seed=0)
    model.save("runs/gunpoint")

A saved model is a folder of data: ``model.json`` (config, class names, normalisation, lengths, shapes) and one
safetensors file per network. Loading it runs no code and needs no flags. Each weight file carries a
description of what its weights were trained with (configuration, shapes, data fingerprint); loading refuses a
``model.json`` that no longer matches it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from timevqvdm.config import DEFAULT_PRESET, TimeVQVDMConfig, TrainConfig, get_preset
from timevqvdm.data import TimeSeriesDataset
from timevqvdm.data.dataset import broadcast_stat
from timevqvdm.data.lengths import draw_lengths, length_mask, lengths_by_class
from timevqvdm.data.split import proportional_labels, split_validation
from timevqvdm.prior import LatentPrior, build_prior
from timevqvdm.tokenizer import FrequencyTokenizer, build_tokenizer
from timevqvdm.training import Trainer
from timevqvdm.training.checkpoint import (
    CheckpointError,
    describe_differences,
    load_json,
    load_module_state,
    load_tensors,
    read_metadata,
    save_json,
    save_tensors,
)
from timevqvdm.training.monitor import ValidationMonitor, stop_at
from timevqvdm.validation import HeldOut, prior_monitor, sampling_kwargs, tokenizer_monitor

log = logging.getLogger(__name__)

FORMAT = "timevqvdm-model-1"
# Series x timepoints decoded at once (e.g. 3495 series of length 150, 174 of length 3000).
DECODE_BUDGET = 2**19
MODEL_JSON = "model.json"
UNCONDITIONAL_MODES = ("null", "class_prior")
# (stage, network name in `history` and under run_dir), in training order.
STAGE_NETWORKS = ((1, "stage1"), (2, "stage2_lf"), (2, "stage2_hf"))
WEIGHT_FILES = {
    "tokenizer": "tokenizer.safetensors",
    "prior_lf": "prior_lf.safetensors",
    "prior_hf": "prior_hf.safetensors",
}
# The TrainConfig fields that shape the weights: a resume may change the others (epochs, devices, precision,
# checkpoint cadence), not these.
WEIGHT_SHAPING_TRAIN_FIELDS = ("batch_size", "lr", "weight_decay", "warmup_steps", "ema_decay")


@dataclass
class DataInfo:
    """What the model must remember about its training data (nanoGPT-style: stored in the checkpoint).

    `mean` and `std` are floats (one for all channels), or lists of one value per channel (per-channel
    normalisation); `fingerprint` is `data_fingerprint` of the training set (None in models saved before
    fingerprints); `source` and `load_options` say how to load it again when known (the CLI stores its
    ``--dataset`` and the `load_dataset` options it passed); `lengths` is the length model of variable-length
    data, the sorted training lengths per class (one list when unlabelled; `data.lengths`), None when every
    training series had full length.
    """

    name: str
    n_channels: int
    length: int
    classes: list[str]
    class_counts: list[int]
    mean: float | list[float]
    std: float | list[float]
    fingerprint: str | None = None
    source: str | None = None
    load_options: dict[str, Any] | None = None
    lengths: list[list[int]] | None = None

    @classmethod
    def of(cls, dataset: TimeSeriesDataset) -> DataInfo:
        """What a model trained on `dataset` remembers of it."""
        return cls(
            name=dataset.name,
            n_channels=dataset.n_channels,
            length=dataset.length,
            classes=[str(c) for c in dataset.classes],
            class_counts=[int(c) for c in dataset.class_counts()] if dataset.y is not None else [],
            mean=_json_stat(dataset.mean),
            std=_json_stat(dataset.std),
            fingerprint=data_fingerprint(dataset),
            lengths=lengths_by_class(dataset),
        )

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Series (n, C, L) in original units -> normalised units, per channel or globally as trained."""
        return (x - self._stat(self.mean, x)) / self._stat(self.std, x)

    def to_original_units(self, x: np.ndarray, *, shift: bool = True) -> np.ndarray:
        """Series (n, C, L) in normalised units -> original units; ``shift=False`` only rescales (the HF
        band, which carries no mean)."""
        scaled = x * self._stat(self.std, x)
        return scaled + self._stat(self.mean, x) if shift else scaled

    @staticmethod
    def _stat(value: float | list[float], like: np.ndarray):
        return broadcast_stat(np.asarray(value, dtype=np.float64) if isinstance(value, list) else value, like)

    def description(self) -> dict[str, Any]:
        """What identifies the training data, for comparisons that name what differs."""
        return {
            "n_channels": self.n_channels,
            "length": self.length,
            "classes": list(self.classes),
            "mean": self.mean,
            "std": self.std,
            "sha256": self.fingerprint,
        }


class TimeVQVDM:
    """TimeVQVDM generator: fit on a labelled (or unlabelled) set of series, then sample new ones.

    Parameters
    ----------
    preset : name of a preset in `timevqvdm.config.PRESETS`: "best" (default: the thesis's model with the
        settings our benchmarks favour), "paper" (the thesis exactly), "quick", "tiny"; ignored when `config`
        is given.
    config : a full `TimeVQVDMConfig`.
    device : "cpu", "cuda", ... for sampling and encoding; default: CUDA when available.
    progress : show progress bars during training and sampling.
    """

    def __init__(
        self,
        preset: str = DEFAULT_PRESET,
        config: TimeVQVDMConfig | None = None,
        *,
        device: str | torch.device | None = None,
        progress: bool = True,
    ) -> None:
        self.config = config if config is not None else get_preset(preset)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.progress = progress
        self.data_info: DataInfo | None = None
        self.tokenizer: FrequencyTokenizer | None = None
        self.prior_lf: LatentPrior | None = None
        self.prior_hf: LatentPrior | None = None
        self.history: dict[str, Any] = {}

    # ================================================================================================ fit
    def fit(
        self,
        data: TimeSeriesDataset | np.ndarray,
        y: np.ndarray | Sequence | None = None,
        *,
        stages: Sequence[int] = (1, 2),
        run_dir: str | Path | None = None,
        resume: bool = False,
    ) -> TimeVQVDM:
        """Train stage 1 (tokenizer) and/or stage 2 (priors).

        Parameters
        ----------
        data : `TimeSeriesDataset`, or an array of shape (n_series, length) or (n_series, n_channels, length)
            in original units (normalised here as `TimeSeriesDataset.from_arrays` does: one global mean and
            std for one channel, as the thesis does, one per channel for several). Variable-length series
            (trailing NaN, or a dataset's ``mask``) train with masked losses: padded time steps, and the
            latent positions that cover only padding, add nothing to either stage's loss; the training
            lengths per class are kept as the length model of `sample`.
        y : labels for an array input (any dtype; encoded in sorted order); None = unconditional only.
        stages : (1,), (2,) or (1, 2). Stage 2 alone needs a fitted (or loaded) stage 1.
        run_dir : where training writes metrics.jsonl and checkpoints; needed for `resume`.
        resume : continue interrupted runs from the checkpoints in `run_dir`.
        """
        dataset = self._validate_fit_input(data, y, stages, run_dir, resume)
        dataset = _zero_padding(dataset)
        run_dir = Path(run_dir) if run_dir is not None else None
        train_part, val_part = self._held_out(dataset)
        if 1 in stages:
            self._fit_stage1(train_part, val_part, run_dir, resume)
        if 2 in stages:
            self._fit_stage2(train_part, val_part, run_dir, resume)
        if val_part is not None and self.config.validation.refit:
            self._refit(dataset, tuple(stages), run_dir, resume)
        return self

    def _refit(self, dataset: TimeSeriesDataset, stages: tuple[int, ...], run_dir: Path | None, resume: bool):
        """Train the networks again on every training series, each for the step count validation kept; the
        held-out records stay in the history beside the refit's."""
        names = [name for stage, name in STAGE_NETWORKS if stage in stages]
        monitored = {name: self.history[name] for name in names}
        steps = {
            name: entry["stop"]["best_step"] or entry["stop"]["step"] for name, entry in monitored.items()
        }
        refit_dir = run_dir / "refit" if run_dir is not None else None
        if 1 in stages:
            self._fit_stage1(dataset, None, refit_dir, resume, stop_steps=steps)
        if 2 in stages:
            self._fit_stage2(dataset, None, refit_dir, resume, stop_steps=steps)
        for name in names:
            refit = {k: v for k, v in self.history[name].items() if k not in ("validation", "stop")}
            self.history[name] = {**monitored[name], "refit": refit}

    def _held_out(self, dataset: TimeSeriesDataset) -> tuple[TimeSeriesDataset, TimeSeriesDataset | None]:
        """(what the networks train on, the validation part or None): the same split for every stage and
        every resume, since it depends only on the data, the fraction and the seed."""
        cfg = self.config.validation
        if not cfg.enabled:
            return dataset, None
        train_part, val_part = split_validation(dataset, fraction=cfg.fraction, seed=self.config.seed)
        self.history["validation_split"] = {"n_train": train_part.n_series, "n_val": val_part.n_series}
        return train_part, val_part

    def _validate_fit_input(self, data, y, stages, run_dir, resume) -> TimeSeriesDataset:
        stages = tuple(stages)
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
            if self.tokenizer is None:
                raise ValueError(
                    "stage 2 needs a trained stage 1: fit with stages=(1, 2) or load a model first"
                )
            if (info.n_channels, info.length) != (self.data_info.n_channels, self.data_info.length):
                raise ValueError(
                    f"data shape (channels, length) = {(info.n_channels, info.length)} does not match the "
                    f"tokenizer's {(self.data_info.n_channels, self.data_info.length)}"
                )
            _check_same_data(self.data_info, info)
        self.data_info = info
        return dataset

    def _train(
        self,
        module: torch.nn.Module,
        cfg: TrainConfig,
        data: dict,
        run_dir,
        name: str,
        resume: bool,
        monitor: ValidationMonitor | None = None,
    ):
        sub = run_dir / name if run_dir is not None else None
        fingerprint = self.weights_description("tokenizer" if name == "stage1" else "prior")
        trainer = Trainer(
            module, cfg, sub, seed=self.config.seed, desc=name, progress=self.progress, fingerprint=fingerprint,
            monitor=monitor,
        )  # fmt: skip
        result = trainer.fit(data, resume=resume)
        self.history[name] = {
            "steps": result.steps,
            "final_loss": result.final_loss,
            "wall_time": result.wall_time,
            "median_step_time": result.median_step_time,
        }
        if monitor is not None:
            self.history[name].update(validation=result.validation, stop=result.stop)
        return result

    def _fit_stage1(
        self,
        dataset: TimeSeriesDataset,
        val_part: TimeSeriesDataset | None,
        run_dir: Path | None,
        resume: bool,
        stop_steps: dict[str, int] | None = None,
    ) -> None:
        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.tokenizer = build_tokenizer(dataset.length, dataset.n_channels, cfg.frequency, cfg.tokenizer)
        # The STFT split of the training set is computed once here, not at every step.
        with torch.no_grad():
            split = self.tokenizer.split(*_series_and_mask(dataset))
            monitor = _fixed_stop(stop_steps, "stage1")
            if val_part is not None:
                val_split = self.tokenizer.split(*_series_and_mask(val_part))
                monitor = tokenizer_monitor(self.tokenizer, val_split, cfg.validation)
        self._train(self.tokenizer, cfg.stage1, split, run_dir, "stage1", resume, monitor)
        _freeze(self.tokenizer.to(self.device))
        self.prior_lf = self.prior_hf = None  # priors trained on another tokenizer's latents are invalid

    def _fit_stage2(
        self,
        dataset: TimeSeriesDataset,
        val_part: TimeSeriesDataset | None,
        run_dir: Path | None,
        resume: bool,
        stop_steps: dict[str, int] | None = None,
    ) -> None:
        cfg = self.config
        _freeze(self.tokenizer.to(self.device))  # stage 1 stays fixed; BatchNorm statistics untouched
        z_lf, z_hf = self._encode(torch.from_numpy(dataset.X))
        n_classes = len(self.data_info.classes)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed + 1)
            self.prior_lf = build_prior(
                latent_channels=z_lf.shape[1], latent_width=z_lf.shape[2], n_classes=n_classes,
                cond_channels=0, cfg=cfg.prior, band="lf",
            )  # fmt: skip
            self.prior_hf = build_prior(
                latent_channels=z_hf.shape[1], latent_width=z_hf.shape[2], n_classes=n_classes,
                cond_channels=z_lf.shape[1], cfg=cfg.prior, band="hf",
            )  # fmt: skip
        # Latent standard scalers: fitted on the training set's stage-1 latents (the positions of observed
        # time steps), stored with the priors.
        masks = self._latent_masks(dataset)
        self.prior_lf.scaler.fit(z_lf, masks["lf"].get("mask"))
        self.prior_hf.scaler.fit(z_hf, masks["hf"].get("mask"))
        z0_lf = self.prior_lf.scaler.transform(z_lf)
        z0_hf = self.prior_hf.scaler.transform(z_hf)
        labels = {} if dataset.y is None else {"y": torch.from_numpy(dataset.y).long()}
        if val_part is not None:
            monitors = self._prior_monitors(dataset, val_part)
        else:
            monitors = {band: _fixed_stop(stop_steps, f"stage2_{band}") for band in ("lf", "hf")}
        self._train(
            self.prior_lf, cfg.stage2, {"z0": z0_lf, **labels, **masks["lf"]}, run_dir, "stage2_lf", resume,
            monitors["lf"],
        )  # fmt: skip
        _freeze(self.prior_lf.to(self.device))  # the HF prior's novelty check samples it
        self._train(
            self.prior_hf, cfg.stage2, {"z0": z0_hf, "cond": z0_lf, **labels, **masks["hf"]}, run_dir,
            "stage2_hf", resume, monitors["hf"],
        )  # fmt: skip
        _freeze(self.prior_hf.to(self.device))

    def _latent_masks(self, dataset: TimeSeriesDataset) -> dict[str, dict[str, torch.Tensor]]:
        """Per band, the stage-2 batch entry ``{"mask": (n, W_band) bool}`` of a variable-length dataset, or
        ``{}`` when every series has full length (`FrequencyTokenizer.latent_mask`)."""
        if dataset.mask is None:
            return {"lf": {}, "hf": {}}
        mask = torch.from_numpy(dataset.mask)
        return {band: {"mask": self.tokenizer.latent_mask(mask, band)} for band in ("lf", "hf")}

    def _prior_monitors(self, train_part: TimeSeriesDataset, val_part: TimeSeriesDataset) -> dict:
        """One `ValidationMonitor` per prior: the LF prior is checked on LF-band series, the HF prior on
        whole series sampled from both priors."""
        cfg = self.config
        x_val = torch.from_numpy(val_part.X)
        with torch.no_grad():
            lf_train = self.tokenizer.split(*_series_and_mask(train_part))["x_lf"]
            lf_val = self.tokenizer.split(*_series_and_mask(val_part))["x_lf"]
        z_lf, z_hf = self._encode(x_val)
        z0_lf, z0_hf = self.prior_lf.scaler.transform(z_lf), self.prior_hf.scaler.transform(z_hf)
        y_val = None if val_part.y is None else torch.from_numpy(val_part.y).long()
        counts = train_part.class_counts()
        kwargs = sampling_kwargs(cfg.sampling, cfg.validation.novelty_steps)

        def draw_lf(n: int, y: torch.Tensor | None, seed: int) -> np.ndarray:
            generator = torch.Generator(device=self.device).manual_seed(seed)
            z = self.prior_lf.sample(n, y=y, generator=generator, **kwargs)
            z_q = self.tokenizer.quantize(self.prior_lf.scaler.inverse(z), "lf")
            return self.tokenizer.decode_band(z_q, "lf").cpu().numpy()

        def draw_both(n: int, y: torch.Tensor | None, seed: int) -> np.ndarray:
            generator = torch.Generator(device=self.device).manual_seed(seed)
            z_lf = self.prior_lf.sample(n, y=y, generator=generator, **kwargs)
            z_hf = self.prior_hf.sample(n, y=y, cond=z_lf, generator=generator, **kwargs)
            x_lf, x_hf = self._decode_latents(z_lf, z_hf)
            return (x_lf + x_hf).cpu().numpy()

        masks = self._latent_masks(val_part)
        padding = {
            "mask_train": train_part.mask,
            "mask_val": val_part.mask,
            "lengths": lengths_by_class(train_part),
        }
        lf = HeldOut(
            z0_lf, y_val, None, lf_train.numpy(), lf_val.numpy(), counts, masks["lf"].get("mask"), **padding
        )
        hf = HeldOut(
            z0_hf, y_val, z0_lf, train_part.X, val_part.X, counts, masks["hf"].get("mask"), **padding
        )
        return {
            "lf": prior_monitor(self.prior_lf, lf, draw_lf, cfg.validation, seed=cfg.seed),
            "hf": prior_monitor(self.prior_hf, hf, draw_both, cfg.validation, seed=cfg.seed + 1),
        }

    def _chunk_size(self) -> int:
        """Series per stage-1 forward pass outside training, so memory stays bounded for long series."""
        return max(16, DECODE_BUDGET // self.data_info.length)

    @torch.no_grad()
    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Continuous stage-1 latents of `x` (B, C, L) -> ((B, H*d, W_lf), (B, H*d, W_hf)) on the CPU."""
        parts = [self.tokenizer.encode(chunk.to(self.device)) for chunk in x.split(self._chunk_size())]
        return torch.cat([p[0] for p in parts]).cpu(), torch.cat([p[1] for p in parts]).cpu()

    # ======================================================================================== reconstruct
    @torch.no_grad()
    def reconstruct(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stage-1 reconstruction of `X` (n, L) or (n, C, L) in original units -> (X_lf, X_hf), same units.

        The mean is added to the LF part (it carries the zero frequency), so ``X_lf + X_hf`` approximates X.
        """
        return self._per_band(X, lambda x: self.tokenizer.reconstruct(x))

    @torch.no_grad()
    def split_bands(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The exact STFT split of `X` (n, L) or (n, C, L) in original units into its LF and HF parts
        (thesis Eqs. 36 and 39), same units. No VQ-VAE is involved: ``X_lf + X_hf`` equals X up to rounding.
        """

        def split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            parts = self.tokenizer.split(x)
            return parts["x_lf"], parts["x_hf"]

        return self._per_band(X, split)

    def _per_band(self, X: np.ndarray, band_fn) -> tuple[np.ndarray, np.ndarray]:
        """`band_fn` (normalised (B, C, L) -> (x_lf, x_hf)) over chunks of X, back in original units; the mean
        goes to the LF part (it carries the zero frequency)."""
        self._require(stage1=True)
        x, squeeze = self._as_model_input(X)
        info = self.data_info
        outs_lf, outs_hf = [], []
        for chunk in x.split(self._chunk_size()):
            x_lf, x_hf = band_fn(chunk.to(self.device))
            outs_lf.append(x_lf.cpu())
            outs_hf.append(x_hf.cpu())
        x_lf = info.to_original_units(torch.cat(outs_lf).numpy())
        x_hf = info.to_original_units(torch.cat(outs_hf).numpy(), shift=False)
        return (x_lf[:, 0], x_hf[:, 0]) if squeeze else (x_lf, x_hf)

    def _as_model_input(self, X: np.ndarray) -> tuple[torch.Tensor, bool]:
        X = np.asarray(X, dtype=np.float32)
        squeeze = X.ndim == 2
        if squeeze:
            X = X[:, None, :]
        info = self.data_info
        if X.ndim != 3 or X.shape[1:] != (info.n_channels, info.length):
            raise ValueError(
                f"expected shape (n, {info.n_channels}, {info.length}) or (n, {info.length}), got {X.shape}"
            )
        return torch.from_numpy(info.normalise(X)), squeeze

    # ============================================================================================= sample
    @torch.no_grad()
    def sample(
        self,
        n: int,
        labels: int | str | Sequence | np.ndarray | None = None,
        *,
        steps: int | None = None,
        guidance: float | None = None,
        rescale: float | None = None,
        t_max: float | None = None,
        sampler: str | None = None,
        seed: int | None = None,
        batch_size: int | None = None,
        precision: str = "32",
        return_bands: bool = False,
        unconditional: str | None = None,
    ) -> TimeSeriesDataset:
        """Generate `n` new series (thesis Algorithm 4): LF prior, HF prior on the sampled LF, snap both to
        their codebooks, decode, inverse STFT, add, undo the data normalisation.

        Parameters
        ----------
        n : number of series.
        labels : None = unconditional (null class); one class = all `n` of that class; a sequence of `n` =
            one per series; "proportional" = class counts in proportion to the training set (thesis 3.6).
            A class is given by its name, a str (``"1"`` is the class named "1"), or by its index, an int
            (position in ``data_info.classes``: ``1`` is the second class). Never one for the other.
        steps, guidance, rescale, t_max, sampler : default to ``config.sampling`` (128 steps, w = 1,
            γ = 0.1, t_max = 0.99, "ancestral"); with labels given, steps and guidance default to its
            ``conditional_steps`` / ``conditional_guidance`` where set (`paper`: 32 steps, w = 3, the
            thesis's class-conditional setting). `guidance` is the classifier-free weight w of Eq. (29).
        seed : fixes the samples on a given device; None draws fresh entropy.
        precision : "32" or "bf16" (autocast of the U-Net forward passes).
        return_bands : also return the LF and HF parts (as attributes ``X_lf`` / ``X_hf``).
        unconditional : how ``labels=None`` is sampled; default ``config.sampling.unconditional``.
            "null": the null class (thesis). "class_prior": p(x) = sum_y p(y) p(x | y) — classes in training
            proportions (in a seeded random order), each series sampled conditionally; the null class is
            trained on only the 10% of steps whose label is dropped, every class on the rest. Models
            trained without labels always use the null class. The result's ``y`` stays None.

        Returns
        -------
        TimeSeriesDataset with X of shape (n, n_channels, length) in the training data's original units,
        y (int64, or None when unconditional) and the training class names. A model trained on
        variable-length data draws each series' length from the training lengths of its class (all
        training lengths when unconditional with the null class; `data.lengths`, its own random stream of
        `seed`): ``mask`` (n, length) marks the observed steps and the padded tail is 0. Otherwise ``mask``
        is None.
        """
        self._require(stage1=True, stage2=True)
        s = self.config.sampling
        default_steps, default_guidance = s.mode_defaults(conditional=labels is not None)
        steps, guidance = steps or default_steps, default_guidance if guidance is None else guidance
        rescale, t_max = s.rescale if rescale is None else rescale, s.t_max if t_max is None else t_max
        sampler, batch_size = sampler or s.sampler, batch_size or s.batch_size
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        y = self._resolve_labels(n, labels)
        unconditional = unconditional or s.unconditional
        if unconditional not in UNCONDITIONAL_MODES:
            raise ValueError(f"unconditional must be one of {UNCONDITIONAL_MODES}, got {unconditional!r}")
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little")
        # The labels the priors see; y (what the result reports) stays None for unconditional sampling.
        y_cond = y if labels is not None else self._class_prior_labels(n, unconditional, seed)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        autocast = self._autocast(precision)
        outs, lfs, hfs = [], [], []
        chunks = range(0, n, batch_size)
        bar = self._progress(len(chunks) * 2 * steps, "sampling")
        for start in chunks:
            y_chunk = (
                None
                if y_cond is None
                else torch.from_numpy(y_cond[start : start + batch_size]).to(self.device)
            )
            count = min(batch_size, n - start)
            kwargs = dict(steps=steps, guidance=guidance, rescale=rescale, t_max=t_max, sampler=sampler,
                          generator=generator, callback=bar, compile=s.compile)  # fmt: skip
            with autocast:
                z_lf = self.prior_lf.sample(count, y=y_chunk, **kwargs).float()
                z_hf = self.prior_hf.sample(count, y=y_chunk, cond=z_lf, **kwargs).float()
            x_lf, x_hf = self._decode_latents(z_lf, z_hf)
            outs.append((x_lf + x_hf).cpu())
            lfs.append(x_lf.cpu())
            hfs.append(x_hf.cpu())
        if bar is not None:
            bar.close()
        info = self.data_info
        X = info.to_original_units(torch.cat(outs).numpy())
        mask = self._sampled_mask(n, y_cond, seed)
        result = TimeSeriesDataset(
            X=_pad_tail(X, mask).astype(np.float32),
            y=y,
            classes=list(info.classes),
            name=f"{info.name} (synthetic)",
            mask=mask,
            mean=0.0,
            std=1.0,
        )
        if return_bands:
            result.X_lf = _pad_tail(info.to_original_units(torch.cat(lfs).numpy()), mask)
            result.X_hf = _pad_tail(info.to_original_units(torch.cat(hfs).numpy(), shift=False), mask)
        return result

    def _sampled_mask(self, n: int, y: np.ndarray | None, seed: int) -> np.ndarray | None:
        """The length model: (n, L) mask of lengths drawn per class from the training lengths, or None for
        a model trained on full-length series."""
        info = self.data_info
        if info.lengths is None:
            return None
        return length_mask(draw_lengths(info.lengths, y, n, seed), info.length)

    def _decode_latents(self, z_lf: torch.Tensor, z_hf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled prior samples -> unscale -> snap to codebooks -> decode -> (x_lf, x_hf) normalised units.

        The decoders run at the full spectrogram width, so they are fed in chunks whose size shrinks with
        the series length: memory stays bounded (a few hundred MB) however many series are drawn.
        """
        chunk = self._chunk_size()
        parts_lf, parts_hf = [], []
        for a, b in zip(z_lf.split(chunk), z_hf.split(chunk), strict=True):
            zq_lf = self.tokenizer.quantize(self.prior_lf.scaler.inverse(a), "lf")
            zq_hf = self.tokenizer.quantize(self.prior_hf.scaler.inverse(b), "hf")
            x_lf, x_hf = self.tokenizer.decode(zq_lf, zq_hf)
            parts_lf.append(x_lf)
            parts_hf.append(x_hf)
        return torch.cat(parts_lf), torch.cat(parts_hf)

    def _class_prior_labels(self, n: int, unconditional: str, seed: int) -> np.ndarray | None:
        """Labels for unconditional sampling: None for the null class, else training proportions in a
        random order drawn from `seed` (so the first k series are not all one class)."""
        if unconditional == "null" or not self.data_info.classes:
            return None
        labels = proportional_labels(n, np.asarray(self.data_info.class_counts))
        return np.random.default_rng(seed).permutation(labels)

    def _resolve_labels(self, n: int, labels) -> np.ndarray | None:
        info = self.data_info
        if labels is None:
            return None
        if not info.classes:
            raise ValueError(
                "this model was trained without labels: only unconditional sampling (labels=None)"
            )
        if isinstance(labels, str) and labels == "proportional":
            return proportional_labels(n, np.asarray(info.class_counts))
        if isinstance(labels, (str, int, np.integer)):
            return np.full(n, self._class_index(labels), dtype=np.int64)
        labels = list(labels)
        if len(labels) != n:
            raise ValueError(f"got {len(labels)} labels for n={n} series")
        return np.array([self._class_index(label) for label in labels], dtype=np.int64)

    def _class_index(self, label) -> int:
        classes = self.data_info.classes
        if isinstance(label, str) and label in classes:
            return classes.index(label)
        if (
            isinstance(label, (int, np.integer))
            and not isinstance(label, bool)
            and 0 <= int(label) < len(classes)
        ):
            return int(label)
        raise ValueError(
            f"unknown class {label!r}: class names are {classes}, indices (ints) 0..{len(classes) - 1}"
        )

    def _autocast(self, precision: str):
        if precision in ("32", "fp32", "32-true"):
            return nullcontext()
        if precision in ("bf16", "bf16-mixed"):
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        raise ValueError(f"precision must be '32' or 'bf16', got {precision!r}")

    def _progress(self, total: int, desc: str):
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True)

        class _Callback:
            def __call__(self, *args, **kwargs):
                bar.update(1)

            def close(self):
                bar.close()

        return _Callback()

    # ========================================================================================= save, load
    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model folder: model.json + safetensors weights. Refuses to overwrite unless asked."""
        self._require(stage1=True)
        path = Path(path)
        existing = [name for name in (MODEL_JSON, *WEIGHT_FILES.values()) if (path / name).exists()]
        if existing and not overwrite:
            raise FileExistsError(f"{path}: already holds a saved model ({existing[0]}); pass overwrite=True")
        path.mkdir(parents=True, exist_ok=True)
        modules = {"tokenizer": self.tokenizer, "prior_lf": self.prior_lf, "prior_hf": self.prior_hf}
        for key, module in modules.items():
            if module is not None:
                part = "tokenizer" if key == "tokenizer" else "prior"
                metadata = {"format": FORMAT, "weights": json.dumps(self.weights_description(part))}
                save_tensors(path / WEIGHT_FILES[key], module.state_dict(), metadata=metadata)
            else:
                (path / WEIGHT_FILES[key]).unlink(missing_ok=True)
        save_json(
            path / MODEL_JSON,
            {
                "format": FORMAT,
                "config": self.config.to_dict(),
                "data": self.data_info.__dict__,
                "stages": [1, 2] if self.prior_lf is not None else [1],
                "latent_shapes": {k: list(v) for k, v in self.tokenizer.latent_shapes.items()},
                "history": self.history,
            },
        )
        return path

    @classmethod
    def load(
        cls, path: str | Path, *, device: str | torch.device | None = None, progress: bool = True
    ) -> TimeVQVDM:
        """Load a folder written by `save`. Only JSON and safetensors are read: no code runs."""
        path = Path(path)
        if not path.is_dir():
            raise CheckpointError(f"{path}: no such model folder")
        meta = load_json(path / MODEL_JSON)
        if meta.get("format") != FORMAT:
            raise CheckpointError(
                f"{path / MODEL_JSON}: not a timevqvdm model (format {meta.get('format')!r})"
            )
        try:
            config = TimeVQVDMConfig.from_dict(meta["config"])
            info = DataInfo(**meta["data"])
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{path / MODEL_JSON}: malformed model description: {err}") from err
        model = cls(config=config, device=device, progress=progress)
        model.data_info = info
        model.history = meta.get("history", {})
        model.tokenizer = build_tokenizer(info.length, info.n_channels, config.frequency, config.tokenizer)
        model._check_weights_description(path / WEIGHT_FILES["tokenizer"], "tokenizer")
        _load_weights(model.tokenizer, path / WEIGHT_FILES["tokenizer"])
        _freeze(model.tokenizer.to(model.device))
        if 2 in meta.get("stages", []):
            shapes = model.tokenizer.latent_shapes
            (c_lf, w_lf), (c_hf, w_hf) = shapes["lf"], shapes["hf"]
            model.prior_lf = build_prior(
                latent_channels=c_lf, latent_width=w_lf, n_classes=info.n_classes, cond_channels=0,
                cfg=config.prior, band="lf",
            )  # fmt: skip
            model.prior_hf = build_prior(
                latent_channels=c_hf, latent_width=w_hf, n_classes=info.n_classes, cond_channels=c_lf,
                cfg=config.prior, band="hf",
            )  # fmt: skip
            for key, prior in (("prior_lf", model.prior_lf), ("prior_hf", model.prior_hf)):
                model._check_weights_description(path / WEIGHT_FILES[key], "prior")
                _load_weights(prior, path / WEIGHT_FILES[key])
            _freeze(model.prior_lf.to(model.device))
            _freeze(model.prior_hf.to(model.device))
        return model

    # ======================================================================================= fingerprints
    def weights_description(self, part: str) -> dict[str, Any]:
        """What the weights of `part` ("tokenizer" or "prior") were trained with, as JSON-able data.

        Everything that shapes or interprets those weights: the architecture, the prediction type, the
        training settings that change the result (not epochs, devices or precision), the seed, the latent
        shapes and the training data (shape, classes, normalisation, fingerprint). Stored in each weight
        file and training checkpoint; loading and resuming compare it with the model at hand.
        """
        if part not in ("tokenizer", "prior"):
            raise ValueError(f"part must be 'tokenizer' or 'prior', got {part!r}")
        cfg, info = self.config, self.data_info
        description = {
            "data": info.description(),
            "frequency": dataclasses.asdict(cfg.frequency),
            "tokenizer": dataclasses.asdict(cfg.tokenizer),
            "stage1": _weight_shaping(cfg.stage1),
            "seed": cfg.seed,
        }
        if part == "prior":
            description["prior"] = dataclasses.asdict(cfg.prior)
            description["stage2"] = _weight_shaping(cfg.stage2)
            description["latent_shapes"] = {k: list(v) for k, v in self.tokenizer.latent_shapes.items()}
        return json.loads(json.dumps(description))  # tuples as lists, as they come back from a file

    def _check_weights_description(self, file: Path, part: str) -> None:
        """Refuse weights trained with another configuration or data than model.json now describes."""
        saved = read_metadata(file).get("weights") if file.is_file() else None
        if saved is None:
            return  # a missing file is reported when loading it; older files carry no description
        differences = describe_differences(json.loads(saved), self.weights_description(part))
        if differences:
            raise CheckpointError(
                f"{file}: does not match {MODEL_JSON}, which describes other weights ({differences}); "
                f"restore the {MODEL_JSON} saved with these weights, or train a new model"
            )

    # ============================================================================================ helpers
    def _require(self, *, stage1: bool = False, stage2: bool = False) -> None:
        if stage1 and self.tokenizer is None:
            raise RuntimeError("the model is not fitted: call fit() or TimeVQVDM.load() first")
        if stage2 and self.prior_lf is None:
            raise RuntimeError("stage 2 is not fitted: call fit(..., stages=(1, 2)) or fit(..., stages=(2,))")

    def __repr__(self) -> str:
        fitted = "unfitted" if self.data_info is None else f"fitted on {self.data_info.name}"
        return f"TimeVQVDM({fitted}, device={self.device})"


def _fixed_stop(stop_steps: dict[str, int] | None, name: str) -> ValidationMonitor | None:
    """The refit's monitor for network `name`: stop at the step count validation kept (None: no refit)."""
    if stop_steps is None:
        return None
    return stop_at(stop_steps[name], f"refit: {stop_steps[name]} steps, the count validation kept")


def _freeze(module: torch.nn.Module) -> torch.nn.Module:
    """Inference mode for a trained network: eval (BatchNorm uses its running statistics), no gradients.

    Fitted and loaded models are frozen the same way, so both take the same kernels and give bit-identical
    samples for a seed.
    """
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _json_stat(stat) -> float | list[float]:
    """A normalisation statistic as model.json stores it: a float, or a list of one float per channel."""
    return [float(v) for v in stat] if isinstance(stat, np.ndarray) else float(stat)


def _zero_padding(dataset: TimeSeriesDataset) -> TimeSeriesDataset:
    """The dataset with exactly 0 on its padding (what loaders store), so that padded values cannot reach
    the networks whatever a hand-built dataset holds there."""
    if dataset.mask is None or not dataset.X[~np.broadcast_to(dataset.mask[:, None], dataset.X.shape)].any():
        return dataset
    return dataclasses.replace(dataset, X=dataset.X * dataset.mask[:, None, :])


def _series_and_mask(dataset: TimeSeriesDataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`dataset` as the tokenizer's `split` takes it: series (n, C, L) and the time mask (n, L) or None."""
    return torch.from_numpy(dataset.X), None if dataset.mask is None else torch.from_numpy(dataset.mask)


def _pad_tail(X: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Samples (n, C, L) with 0 after each series' drawn length (the dataset convention for padding)."""
    return X if mask is None else X * mask[:, None, :]


def data_fingerprint(dataset: TimeSeriesDataset) -> str:
    """sha256 of a dataset: its normalised series (and mask), labels, class names and normalisation.

    Two datasets share a fingerprint only when a model would see the same training data in both.
    """
    digest = hashlib.sha256()
    header = {
        "shape": list(dataset.X.shape),
        "classes": [str(c) for c in dataset.classes],
        "labelled": dataset.y is not None,
        "masked": dataset.mask is not None,
        "mean": _json_stat(dataset.mean),
        "std": _json_stat(dataset.std),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(dataset.X, dtype=np.float32).tobytes())
    if dataset.y is not None:
        digest.update(np.ascontiguousarray(dataset.y, dtype=np.int64).tobytes())
    if dataset.mask is not None:
        digest.update(np.ascontiguousarray(dataset.mask, dtype=bool).tobytes())
    return digest.hexdigest()


def _check_same_data(trained: DataInfo, given: DataInfo) -> None:
    """Stage 2 alone must see the data stage 1 was trained on: its latents, classes and units."""
    if trained.fingerprint is None or trained.fingerprint == given.fingerprint:
        return  # a model saved before fingerprints: only its shape can be checked
    differences = describe_differences(trained.description(), given.description())
    raise ValueError(
        f"stage 2 must train on the data stage 1 was trained on ({trained.name}), and {given.name} differs "
        f"({differences}); pass that data, or fit stages (1, 2) on this one"
    )


def _weight_shaping(cfg: TrainConfig) -> dict[str, Any]:
    return {name: getattr(cfg, name) for name in WEIGHT_SHAPING_TRAIN_FIELDS}


def _load_weights(module: torch.nn.Module, file: Path) -> None:
    load_module_state(module, load_tensors(file), file)
