"""`TimeVQVDM`: the one place that wires stage 1 (the LF/HF VQ-VAE tokenizer) to stage 2 (the diffusion priors).

    model = TimeVQVDM(preset="quick").fit(load_dataset("GunPoint"))
    synthetic = model.sample(256, labels="proportional", seed=0)
    model.save("runs/gunpoint")

The class is the public surface; the work is done by `fitting` (both stages, validation, refit), `generate`
(sampling and the check of its settings), `sample_labels`, `inference` (the trained networks outside
training) and `persistence` (the saved folder, and the one factory of the priors).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from timevqvdm.config import DEFAULT_PRESET, TimeVQVDMConfig, get_preset
from timevqvdm.data import TimeSeriesDataset
from timevqvdm.data.split import proportional_labels
from timevqvdm.data_info import DataInfo, data_fingerprint
from timevqvdm.fitting import fit_model
from timevqvdm.generate import SampledBands, generate
from timevqvdm.inference import per_band
from timevqvdm.persistence import MODEL_JSON, load_model, save_model, weights_description
from timevqvdm.prior import LatentPrior
from timevqvdm.sample_labels import Labels
from timevqvdm.tokenizer import FrequencyTokenizer

# Re-exported so that code importing these names from the facade's module keeps working.
__all__ = ["MODEL_JSON", "DataInfo", "SampledBands", "TimeVQVDM", "data_fingerprint", "proportional_labels"]


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

    Attributes
    ----------
    data_info : what the model remembers of its training data (`DataInfo`); None until fitted or loaded.
    tokenizer, prior_lf, prior_hf : the stage-1 network and the two stage-2 priors; None until fitted.
    history : per network, how its training went (steps, losses, validation checks, where it stopped).
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
        fit_model(self, data, y, stages, run_dir, resume)
        return self

    def sample(
        self, n: int, labels: Labels = None, *, seed: int | None = None, **overrides: Any
    ) -> TimeSeriesDataset | SampledBands:
        """Generate `n` new series (thesis Algorithm 4): LF prior, HF prior on the sampled LF, snap both to
        their codebooks, decode, inverse STFT, add, undo the data normalisation.

        Parameters
        ----------
        n : number of series.
        labels : None = unconditional; one class = all `n` of that class; a sequence of `n` = one per
            series; "proportional" = class counts in proportion to the training set (thesis 3.6). A class
            is given by its name, a str (``"1"`` is the class named "1"), or by its index, an int (position
            in ``data_info.classes``: ``1`` is the second class). Never one for the other.
        seed : fixes the samples on a given device; None draws fresh entropy.
        **overrides : ``return_bands=True`` returns a `SampledBands`, the samples with their LF and HF
            parts. Every other name is a `SamplingConfig` field that replaces ``config.sampling``'s for
            this call through `SamplingConfig.replace`, whose check is the config's own (an unknown name is
            a TypeError, an invalid value a ValueError naming the field and its rule):
            ``steps`` (>= 1), ``guidance`` (w of Eq. 29, >= 0), ``rescale`` (γ of Eq. 31, in [0, 1]),
            ``t_max`` (in (0, 1]), ``sampler`` ("ancestral", "ddim"), ``batch_size``, ``precision``
            ("32", or "bf16": autocast of the U-Net forward passes) and ``unconditional``. Without them,
            steps and guidance are the config's for the call's mode: with labels given, its
            ``conditional_steps`` / ``conditional_guidance`` where set (`paper`: 32 steps, w = 3, the
            thesis's class-conditional setting). ``unconditional`` is how ``labels=None`` is sampled:
            "null", the null class (thesis); "class_prior", p(x) = sum_y p(y) p(x | y), classes in
            training proportions (in a random order drawn from `seed`), each series sampled conditionally;
            the null class is trained on only the 10% of steps whose label is dropped, every class on the
            rest. Models trained without labels always use the null class.

        Returns
        -------
        TimeSeriesDataset with X of shape (n, n_channels, length) in the training data's original units,
        y (int64, or None when `labels` is None) and the training class names; with `return_bands`, a
        `SampledBands` holding it. A model trained on variable-length data draws each series' length from
        the training lengths of its class (all training lengths when unconditional with the null class;
        `data.lengths`, its own random stream of `seed`): ``mask`` (n, length) marks the observed steps and
        the padded tail is 0. Otherwise ``mask`` is None.
        """
        self._require(stage1=True, stage2=True)
        return generate(self, n, labels, seed, overrides)

    def reconstruct(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stage-1 reconstruction of `X` (n, L) or (n, C, L) in original units -> (X_lf, X_hf), same units.

        The mean is added to the LF part (it carries the zero frequency), so ``X_lf + X_hf`` approximates X.
        """
        self._require(stage1=True)
        return per_band(self.tokenizer, self.data_info, X, self.tokenizer.reconstruct, self.device)

    def split_bands(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The exact STFT split of `X` (n, L) or (n, C, L) in original units into its LF and HF parts
        (thesis Eqs. 36 and 39), same units. No VQ-VAE is involved: ``X_lf + X_hf`` equals X up to rounding.
        """
        self._require(stage1=True)

        def split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            parts = self.tokenizer.split(x)
            return parts["x_lf"], parts["x_hf"]

        return per_band(self.tokenizer, self.data_info, X, split, self.device)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model folder: model.json + safetensors weights. Refuses to overwrite unless asked."""
        self._require(stage1=True)
        return save_model(self, Path(path), overwrite=overwrite)

    @classmethod
    def load(
        cls, path: str | Path, *, device: str | torch.device | None = None, progress: bool = True
    ) -> TimeVQVDM:
        """Load a folder written by `save`. Only JSON and safetensors are read: no code runs."""
        return load_model(Path(path), lambda config: cls(config=config, device=device, progress=progress))

    def weights_description(self, part: str) -> dict[str, Any]:
        """What the weights of `part` ("tokenizer" or "prior") were trained with, as JSON-able data.

        Everything that shapes or interprets those weights: the architecture, the prediction type, the
        training settings that change the result (not epochs, devices or precision), the seed, the latent
        shapes and the training data (shape, classes, normalisation, fingerprint). Stored in each weight
        file and training checkpoint; loading and resuming compare it with the model at hand.
        """
        shapes = self.tokenizer.latent_shapes if part == "prior" else None
        return weights_description(self.config, self.data_info, part, shapes)

    def _require(self, *, stage1: bool = False, stage2: bool = False) -> None:
        if stage1 and self.tokenizer is None:
            raise RuntimeError("the model is not fitted: call fit() or TimeVQVDM.load() first")
        if stage2 and self.prior_lf is None:
            raise RuntimeError("stage 2 is not fitted: call fit(..., stages=(1, 2)) or fit(..., stages=(2,))")

    def __repr__(self) -> str:
        fitted = "unfitted" if self.data_info is None else f"fitted on {self.data_info.name}"
        return f"TimeVQVDM({fitted}, device={self.device})"
