"""The evaluation protocol (thesis 2.6, 3.6) with a noise floor beside every FID.

* FID reference: the real test split after an STFT -> ISTFT round trip with the model's STFT settings (its
  `FrequencyConfig`; the thesis's n_fft 8, hop 1 for samples given without a model), compared with as many
  generated series as the test split has (at least 256), in FCN feature space.
* IS: FCN softmax over generated series, 10 splits.
* CAS: TSTR = a fresh FCN (same recipe) trained on class-conditional samples whose class counts follow
  the training split, scaled up to at least 1000 series, tested on the real test split; TRTR = the
  reference FCN's test accuracy.
* Noise floor: FID(real train, reference) with the same FCN, and FID between two random halves of the
  reference (mean over 5 splits), the pure sampling noise at that size.

Units: the FCN sees series in the training split's normalised units. Datasets are converted with their own
``to_original_units`` and then normalised with the training statistics; plain arrays are taken to be in
original units (a trailing ``NaN`` ends a shorter series, the UCR convention).

Variable length: every set's padded steps are set to 0 in those units (`lengths.zero_padding`), for real and
synthetic series alike, before the FCN, the memorisation distances and the distribution checks see them;
padding then carries nothing about being real or synthetic. The lengths themselves are compared by the
length check (`lengths.length_check`: KS test and Wasserstein-1 against the training lengths).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from timevqvdm.data import TimeSeriesDataset, load_dataset
from timevqvdm.evaluation.distribution import (
    autocorrelation_distance,
    discriminative_score,
    power_spectrum_distance,
)
from timevqvdm.evaluation.fcn import FCN, FCNConfig, data_hash, fcn_outputs, get_fcn, train_fcn
from timevqvdm.evaluation.lengths import length_check, series_lengths, zero_padding
from timevqvdm.evaluation.memorisation import memorisation
from timevqvdm.evaluation.metrics import classification_accuracy, fid, inception_score
from timevqvdm.evaluation.plots import plot_feature_pca, plot_real_vs_synthetic
from timevqvdm.frequency import FrequencyConfig, istft, stft

log = logging.getLogger(__name__)

MIN_FID_SAMPLES = 256
MIN_TSTR_SAMPLES = 1000
IS_SPLITS = 10
HALF_SPLITS = 5
# Thesis 3.6: unconditional 128 steps, conditional 32 steps with guidance w = 3; gamma = 0.1 for both.
UNCONDITIONAL_SAMPLING = {"steps": 128, "rescale": 0.1}
CONDITIONAL_SAMPLING = {"steps": 32, "guidance": 3.0, "rescale": 0.1}


# ------------------------------------------------------------------------------------------- building blocks
def stft_round_trip(
    x: np.ndarray, n_fft: int = FrequencyConfig.n_fft, hop_length: int = FrequencyConfig.hop_length,
    batch_size: int = 1024,
) -> np.ndarray:  # fmt: skip
    """ISTFT(STFT(x)): the reference set passes through the same transform as generated series.

    Parameters
    ----------
    x : np.ndarray, shape (n, C, L)

    Returns
    -------
    np.ndarray of float32, shape (n, C, L)
    """
    data = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    length = data.shape[-1]
    chunks = [
        istft(stft(data[i : i + batch_size], n_fft, hop_length), length, n_fft, hop_length)
        for i in range(0, len(data), batch_size)
    ]
    return torch.cat(chunks).numpy()


def feature_model(
    train: TimeSeriesDataset,
    *,
    epochs: int = 1000,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    progress: bool = False,
) -> FCN:
    """The cached reference FCN of a labelled training split.

    An unlabelled split has no classifier to train; it gets a randomly initialised FCN whose BatchNorm
    statistics are fitted to the training split (``info["features"] == "random-fcn"``). Its FIDs are
    internally comparable (model vs noise floor) but not with published figures; IS and CAS are skipped.
    """
    if train.y is not None:
        fcn = get_fcn(train, epochs=epochs, cache_dir=cache_dir, seed=seed, progress=progress)
        fcn.info.setdefault("features", "fcn")
        return fcn
    return random_feature_fcn(train.X, seed=seed)


@torch.no_grad()
def random_feature_fcn(x: np.ndarray, *, seed: int = 0) -> FCN:
    """A randomly initialised FCN with BatchNorm running statistics set from ``x`` (n, C, L)."""
    torch.manual_seed(seed)
    fcn = FCN(FCNConfig(in_channels=x.shape[1], n_classes=1))
    for module in fcn.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.momentum = None  # cumulative average over the calibration pass
    fcn.train()
    data = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    for start in range(0, len(data), 512):
        fcn.blocks(data[start : start + 512])
    fcn.info = {"features": "random-fcn", "seed": seed}
    return fcn.eval()


def half_split_fid(feats: np.ndarray, *, splits: int = HALF_SPLITS, seed: int = 0) -> tuple[float, float]:
    """FID between two random halves of one feature set: mean and std over ``splits`` partitions.

    Parameters
    ----------
    feats : np.ndarray, shape (n, d)
    """
    rng = np.random.default_rng(seed)
    half = len(feats) // 2
    values = []
    for _ in range(splits):
        perm = rng.permutation(len(feats))
        values.append(fid(feats[perm[:half]], feats[perm[half : 2 * half]]))
    return float(np.mean(values)), float(np.std(values))


# ----------------------------------------------------------------------------------------------- the noise floor
def resolve_splits(
    dataset: str | Path | TimeSeriesDataset | tuple[TimeSeriesDataset, TimeSeriesDataset],
    test: TimeSeriesDataset | None = None,
) -> tuple[TimeSeriesDataset, TimeSeriesDataset]:
    """(train, test) from a source name/path, a (train, test) pair, or a training split plus ``test``; their
    padding is exactly 0 (loaders store that; a hand-built dataset may hold anything there)."""
    if isinstance(dataset, (str, Path)):
        train = load_dataset(dataset, split="train")
        test = test if test is not None else load_dataset(dataset, split="test")
    elif isinstance(dataset, tuple):
        train, test = dataset
    elif test is None:
        raise ValueError(f"{dataset.name}: pass the real test split as `test=` (the FID reference)")
    else:
        train = dataset
    return _zero_padded(train), _zero_padded(test)


def _zero_padded(ds: TimeSeriesDataset) -> TimeSeriesDataset:
    if ds.mask is None:
        return ds
    return dataclasses.replace(ds, X=zero_padding(ds.X, ds.mask))


class _Reference:
    """Everything about the real data that every sample set is compared against (computed once)."""

    def __init__(
        self,
        train: TimeSeriesDataset,
        test: TimeSeriesDataset,
        fcn: FCN,
        seed: int,
        frequency: FrequencyConfig | None = None,
    ) -> None:
        self.train, self.test, self.fcn, self.seed = train, test, fcn, seed
        frequency = frequency or FrequencyConfig()
        self.labelled = train.y is not None and test.y is not None and fcn.info.get("features") == "fcn"
        self.x_train = _in_train_units(train, train)
        # Generated series have the training length; a longer padded test split is cut to it.
        self.x_test = _fit_length(_in_train_units(test, train), train.length)
        self.mask_test = _fit_mask(test, train.length)
        round_trip = stft_round_trip(self.x_test, frequency.n_fft, frequency.hop_length)
        round_trip = zero_padding(round_trip, self.mask_test)
        self.feats_ref, _ = fcn_outputs(fcn, round_trip)
        self.feats_train, _ = fcn_outputs(fcn, self.x_train)
        _, self.probs_test = fcn_outputs(fcn, self.x_test)

    def noise_floor(self) -> dict[str, Any]:
        half_mean, half_std = half_split_fid(self.feats_ref, seed=self.seed)
        result: dict[str, Any] = {
            "dataset": self.train.name,
            "n_train": self.train.n_series,
            "n_test": self.test.n_series,
            "features": self.fcn.info.get("features", "fcn"),
            "fid_train_test": fid(self.feats_train, self.feats_ref),
            "fid_half_split": half_mean,
            "fid_half_split_std": half_std,
            "fcn_epochs": self.fcn.info.get("epochs"),
            "fcn_train_seconds": self.fcn.info.get("train_seconds"),
            "fcn_from_cache": bool(self.fcn.info.get("from_cache", False)),
        }
        if self.labelled:
            is_mean, is_std = inception_score(self.probs_test, _splits(len(self.probs_test)), seed=self.seed)
            result["trtr_accuracy"] = classification_accuracy(self.probs_test, self.test.y)
            result["test_is"], result["test_is_std"] = is_mean, is_std
        if self.variable_length:
            # The real test split against the training lengths (uncut): what real data scores.
            test_lengths = series_lengths(self.test.mask, self.test.n_series, self.test.length)
            result["lengths_test"] = self.length_check(test_lengths, self.test.y)
        return result

    @property
    def variable_length(self) -> bool:
        return self.train.mask is not None or self.test.mask is not None

    def length_check(self, lengths: np.ndarray, y: np.ndarray | None) -> dict[str, Any]:
        """Lengths ``(n,)`` (and classes, training order) against the training lengths."""
        train = self.train
        real = series_lengths(train.mask, train.n_series, train.length)
        return length_check(real, lengths, real_y=train.y, synthetic_y=y, classes=train.classes)

    def score(self, x: np.ndarray) -> dict[str, float]:
        """FID against the reference, FID against the training split and IS of one sample set in training
        units (n, C, L)."""
        feats, probs = fcn_outputs(self.fcn, x)
        scores = {"fid": fid(feats, self.feats_ref), "fid_train": fid(feats, self.feats_train)}
        if self.labelled:
            scores["is"], scores["is_split_std"] = inception_score(probs, _splits(len(x)), seed=self.seed)
        return scores


def noise_floor(
    dataset: str | Path | TimeSeriesDataset | tuple[TimeSeriesDataset, TimeSeriesDataset],
    *,
    test: TimeSeriesDataset | None = None,
    epochs: int = 1000,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """What real data scores under the protocol: the floor a generator's FID should be read against.

    Parameters
    ----------
    dataset : str, Path, TimeSeriesDataset or (train, test)
        A source `load_dataset` understands (e.g. ``"GunPoint"``), a training split (then pass ``test``),
        or both splits.
    test : TimeSeriesDataset, optional
    epochs : int
        FCN training epochs (the recipe's 1000).
    cache_dir : str or Path, optional
        FCN cache folder (default ``$TIMEVQVDM_CACHE/fcn``).
    seed : int
        FCN seed and the seed of the IS shuffles and half splits.

    Returns
    -------
    dict
        ``trtr_accuracy``, ``test_is`` / ``test_is_std`` (labelled data only), ``fid_train_test`` (FID of
        the real training split against the reference), ``fid_half_split`` / ``fid_half_split_std``,
        ``n_train``, ``n_test``, ``fcn_epochs``, ``fcn_train_seconds`` (wall time of the FCN's training,
        kept in the cache).
    """
    train, test_split = resolve_splits(dataset, test)
    fcn = feature_model(train, epochs=epochs, cache_dir=cache_dir, seed=seed, progress=progress)
    return _Reference(train, test_split, fcn, seed).noise_floor()


# --------------------------------------------------------------------------------------------- evaluate
def evaluate(
    model_or_samples: Any,
    dataset: str | Path | TimeSeriesDataset | tuple[TimeSeriesDataset, TimeSeriesDataset],
    *,
    test: TimeSeriesDataset | None = None,
    runs: int = 1,
    n_samples: int | None = None,
    conditional: bool = True,
    seed: int = 0,
    fcn_epochs: int = 1000,
    steps: int | None = None,
    guidance: float | None = None,
    rescale: float | None = None,
    labels: np.ndarray | None = None,
    tstr: bool = True,
    cache_dir: str | Path | None = None,
    plot_dir: str | Path | None = None,
    progress: bool = False,
    work_dir: str | Path | None = None,
    frequency: FrequencyConfig | None = None,
) -> dict[str, Any]:
    """Evaluate a generative model, or a set of generated series, against a dataset's real splits.

    Parameters
    ----------
    model_or_samples : model, TimeSeriesDataset or np.ndarray of shape (n, C, L) or (n, L)
        Anything with ``sample(n, labels, steps=, guidance=, rescale=, seed=) -> TimeSeriesDataset`` is
        sampled ``runs`` times (unconditionally and, for labelled data with ``conditional``, class-
        conditionally in training proportions). A dataset or array is scored once; labelled samples
        (``y`` of a dataset, matched to the training classes by name, or ``labels`` for an array) are
        scored as conditional samples, else as unconditional. Arrays are in original units, a trailing
        ``NaN`` ending a shorter series; a dataset's ``mask`` marks its padding.
    dataset : str, Path, TimeSeriesDataset or (train, test)
        The real data, as for `noise_floor`.
    test : TimeSeriesDataset, optional
        The real test split when ``dataset`` is a training split.
    runs : int
        Sampling runs for a model; FID and IS are reported as mean and std over runs.
    n_samples : int, optional
        Series per run for FID/IS; default ``max(n_test, 256)``.
    conditional : bool
        Also evaluate class-conditional sampling (labelled data).
    seed : int
        Run ``r`` samples with ``seed + r``; also seeds the FCNs, shuffles and splits.
    fcn_epochs : int
        Epochs of the reference FCN and the TSTR FCN (the recipe's 1000).
    steps, guidance, rescale : optional
        Sampler settings for both modes; by default the thesis's (unconditional: 128 steps, gamma 0.1;
        conditional: 32 steps, w = 3, gamma 0.1).
    labels : np.ndarray of int, shape (n,), optional
        Class indices (training class order) of array samples.
    tstr : bool
        Train the TSTR classifier (one FCN training run).
    cache_dir : str or Path, optional
        Reference FCN cache folder.
    plot_dir : str or Path, optional
        Also write ``real_vs_synthetic.png`` and ``feature_pca.png`` here.
    progress : bool
        Progress bars while training FCNs.
    work_dir : str or Path, optional
        Folder for resumable state: the TSTR classifier trains with checkpoints in ``tstr-<data hash>/``
        there, so an interrupted evaluation of the same samples continues its training.
    frequency : FrequencyConfig, optional
        The STFT settings of the FID reference's round trip; default the model's (``config.frequency`` of
        ``model_or_samples``), else the thesis's.

    Returns
    -------
    dict
        JSON-serialisable: ``dataset``, sizes, ``reference`` (the noise floor), ``unconditional`` and/or
        ``conditional`` (``fid``, ``fid_std``, ``fid_runs``, ``is``, ``is_std``, ``is_runs``, and
        ``fid_train`` / ``fid_train_std`` / ``fid_train_runs``: FID against the training split, the score
        to choose settings by since it never looks at the test split; it rewards copying, so read it beside
        ``memorisation``; conditional adds ``tstr_accuracy``, ``trtr_accuracy``, ``n_tstr``), ``memorisation`` and ``distribution``
        (``acf_distance``, ``power_spectrum_distance``, ``discriminative_score``) on the first sample set.
        Variable-length data (a mask on either real split or on the samples) adds ``lengths`` to each mode:
        the first run's lengths against the training lengths (`lengths.length_check`: ``ks_statistic``,
        ``ks_p_value``, ``wasserstein``, and ``per_class`` for conditional sets), and
        ``reference["lengths_test"]``, the real test split's figures, the yardstick. Padded steps are 0
        in every set before any score sees them.
    """
    train, test_split = resolve_splits(dataset, test)
    fcn = feature_model(train, epochs=fcn_epochs, cache_dir=cache_dir, seed=seed, progress=progress)
    if frequency is None:
        frequency = getattr(getattr(model_or_samples, "config", None), "frequency", None)
    ref = _Reference(train, test_split, fcn, seed, frequency)
    n = n_samples or max(test_split.n_series, MIN_FID_SAMPLES)
    settings = {"steps": steps, "guidance": guidance, "rescale": rescale}
    if hasattr(model_or_samples, "sample"):
        sets = _draw(model_or_samples, ref, n, runs, conditional, seed, tstr, settings)
    else:
        sets = _given(model_or_samples, labels, train)

    result: dict[str, Any] = {
        "dataset": train.name,
        "n_train": train.n_series,
        "n_test": test_split.n_series,
        "n_classes": train.n_classes,
        "n_samples": n if hasattr(model_or_samples, "sample") else None,
        "runs": len(next(iter(sets.values()))["runs"]),
        "seed": seed,
        "fcn_epochs": fcn_epochs,
        "reference": ref.noise_floor(),
    }
    for mode, drawn in sets.items():
        result[mode] = _summarise(ref, drawn["runs"], drawn.get("sampling"))
    if "conditional" in sets and ref.labelled:
        result["conditional"].update(
            _cas(ref, *sets["conditional"]["tstr_set"], fcn_epochs, seed, tstr, progress, work_dir)
        )
    first, _, first_mask = next(iter(sets.values()))["runs"][0]
    result["memorisation"] = memorisation(first, ref.x_train, ref.x_test)
    result["distribution"] = _distribution(ref.x_test, first, seed)
    if plot_dir is not None:
        result["plots"] = _plots(ref, first, first_mask, Path(plot_dir))
    return result


def _draw(
    model: Any,
    ref: _Reference,
    n: int,
    runs: int,
    conditional: bool,
    seed: int,
    tstr: bool,
    settings: dict[str, Any],
) -> dict[str, dict]:
    """Sample a model: per run an unconditional and (labelled data) a proportional conditional set."""
    uncond = {**UNCONDITIONAL_SAMPLING, **{k: v for k, v in settings.items() if v is not None}}
    uncond.pop("guidance", None)
    cond = {**CONDITIONAL_SAMPLING, **{k: v for k, v in settings.items() if v is not None}}
    sets: dict[str, dict] = {"unconditional": {"runs": [], "sampling": uncond}}
    do_cond = conditional and ref.labelled
    if do_cond:
        sets["conditional"] = {"runs": [], "sampling": cond}
    n_tstr = max(MIN_TSTR_SAMPLES, ref.train.n_series) if tstr else 0
    for r in range(runs):
        log.info("evaluation run %d/%d: sampling %d series", r + 1, runs, n)
        x, _, mask = _from_dataset(model.sample(n, None, seed=seed + r, **uncond), ref.train)
        sets["unconditional"]["runs"].append((x, None, mask))
        if not do_cond:
            continue
        # The first run's conditional draw also feeds TSTR, so it holds max(n, n_tstr) series; FID and IS
        # use a random n of them (a random subset keeps the class proportions in expectation).
        size = max(n, n_tstr) if r == 0 else n
        x, y, mask = _from_dataset(model.sample(size, "proportional", seed=seed + r, **cond), ref.train)
        if r == 0:
            sets["conditional"]["tstr_set"] = (x, y)
        keep = np.random.default_rng(seed + r).permutation(size)[:n]
        sets["conditional"]["runs"].append((x[keep], y[keep], None if mask is None else mask[keep]))
    return sets


def _given(samples: Any, labels: np.ndarray | None, train: TimeSeriesDataset) -> dict:
    """Wrap given samples as one run, conditional when they carry labels."""
    if isinstance(samples, TimeSeriesDataset):
        x, y, mask = _from_dataset(samples, train)
    else:
        # Original units; a trailing NaN ends a shorter series (the data layer's reading of arrays).
        given = TimeSeriesDataset.from_arrays(samples, name="samples", stats=train.stats)
        x, _, mask = _from_dataset(given, train)
        y = None if labels is None else np.asarray(labels, dtype=np.int64)
    if y is not None and train.y is not None:
        return {"conditional": {"runs": [(x, y, mask)], "tstr_set": (x, y)}}
    return {"unconditional": {"runs": [(x, None, mask)]}}


def _from_dataset(
    ds: TimeSeriesDataset, train: TimeSeriesDataset
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Series in training units (padding 0) at the training length, labels re-encoded in the training class
    order (matched by name), and the mask. A set read back from a file is as long as its longest series,
    which can be shorter than the training length: it is padded (or cut) as the test split is."""
    x, mask = _fit_length(_in_train_units(ds, train), train.length), _fit_mask(ds, train.length)
    if ds.y is None or train.y is None:
        return x, None, mask
    index = {name: i for i, name in enumerate(train.classes)}
    unknown = sorted(set(ds.classes) - set(index))
    if unknown:
        raise ValueError(f"{ds.name}: classes {unknown} are not classes of {train.name} {train.classes}")
    recode = np.array([index[name] for name in ds.classes], dtype=np.int64)
    return x, recode[ds.y], mask


def _in_train_units(ds: TimeSeriesDataset, train: TimeSeriesDataset) -> np.ndarray:
    """``ds`` (n, C, L) in the training split's normalised units, its padded steps exactly 0 there: a
    sample's padding (0 in original units) and a loaded split's (its own mean) become the same value."""
    x = _as_series(train.normalise(ds.to_original_units(ds.X.astype(np.float64))))
    return zero_padding(x, ds.mask)


def _fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad (normalised units, as the data layer pads) the last axis to ``length``."""
    if x.shape[-1] >= length:
        return x[..., :length]
    return np.pad(x, ((0, 0), (0, 0), (0, length - x.shape[-1])))


def _fit_mask(ds: TimeSeriesDataset, length: int) -> np.ndarray | None:
    """The mask (n, length) of ``ds`` cut or padded to ``length`` as `_fit_length` does; None when every
    series then fills ``length``."""
    observed = np.ones((ds.n_series, ds.length), dtype=bool) if ds.mask is None else ds.mask
    if ds.length >= length:
        fitted = observed[:, :length]
    else:
        fitted = np.pad(observed, ((0, 0), (0, length - ds.length)))
    return None if fitted.all() else fitted


def _as_series(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[:, None, :] if x.ndim == 2 else x


def _summarise(ref: _Reference, runs: Sequence[tuple[np.ndarray, Any, Any]], sampling: dict | None) -> dict:
    scores = [ref.score(x) for x, *_ in runs]
    summary: dict[str, Any] = {"n": len(runs[0][0])}
    for key in ("fid", "fid_train", "is"):
        values = [s[key] for s in scores if key in s]
        if values:
            summary[key], summary[f"{key}_std"] = float(np.mean(values)), float(np.std(values))
            summary[f"{key}_runs"] = values
    if sampling is not None:
        summary["sampling"] = sampling
    x, y, mask = runs[0]
    if ref.variable_length or mask is not None:
        summary["lengths"] = ref.length_check(series_lengths(mask, len(x), x.shape[-1]), y)
    return summary


def _cas(
    ref: _Reference,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    seed: int,
    tstr: bool,
    progress: bool,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """TSTR: a fresh FCN on the labelled synthetic set, tested on real test data; TRTR beside it."""
    out: dict[str, Any] = {"trtr_accuracy": classification_accuracy(ref.probs_test, ref.test.y)}
    if not tstr:
        return out
    if len(x) < MIN_TSTR_SAMPLES:
        log.warning(
            "TSTR on %d synthetic series; the protocol asks for at least %d", len(x), MIN_TSTR_SAMPLES
        )
    # Named after the data, so checkpoints of other samples are never resumed.
    run_dir = None if work_dir is None else Path(work_dir) / f"tstr-{data_hash(x, y)[:16]}"
    classifier = train_fcn(
        x, y, ref.train.n_classes, epochs=epochs, seed=seed, progress=progress, run_dir=run_dir
    )
    _, probs = fcn_outputs(classifier, ref.x_test)
    out.update({"tstr_accuracy": classification_accuracy(probs, ref.test.y), "n_tstr": len(x)})
    return out


def _distribution(real: np.ndarray, synthetic: np.ndarray, seed: int) -> dict[str, float | None]:
    enough = min(len(real), len(synthetic)) >= 4  # the probe needs a train and a held-out half
    return {
        "acf_distance": autocorrelation_distance(real, synthetic),
        "power_spectrum_distance": power_spectrum_distance(real, synthetic),
        "discriminative_score": discriminative_score(real, synthetic, seed=seed) if enough else None,
    }


def _plots(ref: _Reference, synthetic: np.ndarray, mask: np.ndarray | None, folder: Path) -> list[str]:
    # NaN on padding: a run chart's line ends with its series.
    real = _nan_padding(ref.train.to_original_units(ref.x_test), ref.mask_test)
    syn = _nan_padding(ref.train.to_original_units(synthetic), mask)
    feats, _ = fcn_outputs(ref.fcn, synthetic)
    paths = [
        plot_real_vs_synthetic(real, syn, folder / "real_vs_synthetic.png"),
        plot_feature_pca(ref.feats_ref, feats, folder / "feature_pca.png"),
    ]
    return [str(p) for p in paths]


def _nan_padding(x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return x if mask is None else np.where(mask[:, None, :], x, np.nan)


def _splits(n: int) -> int:
    return max(1, min(IS_SPLITS, n))
