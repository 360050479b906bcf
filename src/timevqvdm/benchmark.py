"""The thesis benchmark: per dataset, train both stages once, then sample and evaluate ``runs`` times.

    from timevqvdm.benchmark import BenchmarkSpec, RayExecutor, resolve_datasets, run_benchmark

    spec = BenchmarkSpec(resolve_datasets("dev"), preset="paper", runs=3)
    run_benchmark(spec, "bench")                          # one dataset after another, in this process
    run_benchmark(spec, "bench", executor=RayExecutor())  # one Ray task per dataset

A harness over the facade, not part of the core: only `cli.py` imports it. Each dataset is one independent
task (`run_task`) that writes its record into the output folder; an executor (`LocalExecutor`,
`RayExecutor`) decides where the tasks run, and the tables and figures are then drawn from the stored
records alone.

Sampling follows the protocol's thesis settings (3.6: 1024 series per run; unconditional 128 steps,
γ = 0.1; class-conditional 32 steps, w = 3, γ = 0.1) wherever the preset's own defaults (`SamplingConfig`)
are those, and the preset's elsewhere: `paper` is measured as the thesis sampled, ``--preset best`` as a
user of `best` samples (`evaluation_sampling`). A preset that trains like another
(`TimeVQVDMConfig.training_dict`) can reuse that benchmark's models (``models_from``) instead of training
again. Every FID is read against the noise floor FID(real train, test reference) of the same FCN: the ratio
of the two is the number to steer by. ``field_repeats`` (``--field-metrics``) adds the multivariate field's
scores (discriminative, predictive, correlational, context-FID; `field_scores`) with the published Sines
figures beside them; ``resolve_datasets("multivariate")`` names issue 24's six datasets. The output folder::

    OUT/models/<name>/            saved model (model.json + safetensors); runs/<stage>/ holds the checkpoints
    OUT/plots/<name>/             real vs synthetic run charts, feature PCA
    OUT/evaluation/<name>/        while a dataset is evaluated: its sample sets and the TSTR classifier's
                                  checkpoints, so an interrupted evaluation resumes; removed when done
    OUT/results/<name>.json       one record per dataset: metrics, ratios, timings, environment, published,
                                  and with field_repeats the field's scores
    OUT/summary.csv, summary.md   the combined table beside the thesis's and TimeVQVAE's figures
    OUT/figure25_unconditional.png, figure26_conditional.png, figure27_tstr.png

A dataset whose record says ``"status": "ok"`` is skipped; an interrupted or failed one is redone, its
training resuming from the stage checkpoints and its evaluation from the sample sets and TSTR checkpoints
already written (sampling with a seed is deterministic on a device, so a stored set is the one a rerun
would draw).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import multiprocessing
import os
import platform
import shutil
import statistics
import time
import traceback
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from timevqvdm.config import SamplingConfig, get_preset
from timevqvdm.data import DataFileNotFoundError, TimeSeriesDataset, load_dataset
from timevqvdm.data.sources import resolve_source
from timevqvdm.evaluation import (
    FIELD_METRICS,
    FieldConfig,
    evaluate,
    field_metrics,
    plot_validation_curves,
    published_field,
    published_results,
    published_units,
)
from timevqvdm.evaluation.protocol import CONDITIONAL_SAMPLING, UNCONDITIONAL_SAMPLING
from timevqvdm.evaluation.published import field_published_methods, published_names
from timevqvdm.model import MODEL_JSON, TimeVQVDM
from timevqvdm.training.checkpoint import atomic_write_bytes, load_json, save_json

log = logging.getLogger(__name__)

FORMAT = "timevqvdm-benchmark-1"
N_SAMPLES = 1024  # thesis 3.6: 1024 series per evaluation run, both modes
DEV_DATASETS = [
    # shipped with aeon
    "GunPoint",
    "ArrowHead",
    "ItalyPowerDemand",
    # from the local UCR archive ($TIMEVQVDM_UCR_ROOT)
    "ECG200",
    "CBF",
    "ECGFiveDays",
    "FacesUCR",
    "DiatomSizeReduction",
    "ECG5000",
    "Adiac",
]
# Issue 24: the multivariate and variable-length set. Sines (TimeGAN's, generated offline) has the field's
# published figures.
MULTIVARIATE_DATASETS = [
    "Sines",
    # shipped with aeon
    "BasicMotions",
    "JapaneseVowels",
    "PickupGestureWiimoteZ",
    # downloaded by aeon once (or from the local UCR archive)
    "AllGestureWiimoteX",
    "GesturePebbleZ1",
]
DATASET_GROUPS = {"dev": DEV_DATASETS, "multivariate": MULTIVARIATE_DATASETS}
TRAIN_TIME_JSON = "benchmark_train.json"
FIGURES = {
    "unconditional": "figure25_unconditional.png",
    "conditional": "figure26_conditional.png",
    "tstr": "figure27_tstr.png",
}

ResultCallback = Callable[[str, dict, bool], None]  # (dataset, record, skipped)


# =========================================================================================== dataset lists
def published_datasets() -> list[str]:
    """The 128 UCR names of the published reference table, in its order."""
    return published_names()


def resolve_datasets(spec: str) -> list[str]:
    """``"dev"``, ``"multivariate"``, ``"all"`` or comma-separated names (which may include those groups)
    -> unique names."""
    names: list[str] = []
    for token in (t.strip() for t in spec.split(",")):
        if token in DATASET_GROUPS:
            names.extend(DATASET_GROUPS[token])
        elif token == "all":
            names.extend(published_datasets())
        elif token:
            _check_name(token)
            names.append(token)
    if not names:
        raise ValueError(f"no datasets in {spec!r}: use dev, multivariate, all or NAME,NAME")
    return list(dict.fromkeys(names))


def _check_name(name: str) -> None:
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{name!r}: give dataset names, not paths (use --ucr-root for a folder)")


def check_datasets(names: Iterable[str], ucr_root: str | Path | None = None) -> None:
    """Raise `DataFileNotFoundError` naming every name that `load_dataset` would not find; loads nothing.

    Names resolve as `load_dataset` resolves them (the UCR root, aeon's shipped and cached data, aeon's
    downloadable names), so a typo stops a benchmark before any work. A name that resolves but then fails
    to load (offline, a broken file) is a failure of its own run, recorded like any other.
    """
    messages = []
    for name in names:
        try:
            resolve_source(name, ucr_root=ucr_root)
        except DataFileNotFoundError as err:
            messages.append(str(err))
    if messages:  # a missing ucr_root gives every name the same message: say it once
        raise DataFileNotFoundError(" ".join(dict.fromkeys(messages)))


# ================================================================================================ spec
# The spec's fields that make two records comparable: each record stores them as its "settings", and a
# results folder holds one setting only.
RECORDED = ("preset", "runs", "seed", "fcn_epochs", "n_samples", "steps", "field_repeats")
# The budgets of the field scores' networks (`FieldConfig`: the published ones). Tests shrink them by
# replacing this constant; a record states the budgets it was scored with (``field.config``).
FIELD_CONFIG = FieldConfig()


@dataclass(frozen=True)
class BenchmarkSpec:
    """What a benchmark runs, validated when it is made: nothing runs on a spec that would fail later.

    Parameters
    ----------
    datasets : UCR/UEA names `load_dataset` resolves (aeon's shipped data, ``ucr_root``); unique.
    preset : model preset; the thesis's is ``"paper"``.
    runs : sampling + evaluation runs per dataset; FID and IS are mean and std over them.
    seed : model seed and evaluation seed (run ``r`` samples with ``seed + r``).
    fcn_epochs : epochs of the reference and TSTR FCNs (the recipe's 1000).
    n_samples, steps : for tests and smoke runs only: series per run and sampler steps (both modes).
        None keeps the thesis's 1024 series and the preset's (or the protocol's) steps.
    ucr_root : local UCRArchive_2018 folder (default ``$TIMEVQVDM_UCR_ROOT``).
    cache_dir : reference FCN cache (default ``$TIMEVQVDM_CACHE/fcn``).
    models_from : another benchmark folder whose model for a dataset is loaded instead of training one;
        its training configuration must equal this preset's.
    field_repeats : also score the field's four multivariate metrics (discriminative, predictive,
        correlational, context-FID; `field_metrics`) this many times each (the papers: 5) on the first
        unconditional run; None (the default) skips them.
    """

    datasets: tuple[str, ...]
    preset: str = "paper"
    runs: int = 3
    seed: int = 0
    fcn_epochs: int = 1000
    n_samples: int | None = None
    steps: int | None = None
    ucr_root: Path | None = None
    cache_dir: Path | None = None
    models_from: Path | None = None
    field_repeats: int | None = None

    def __post_init__(self) -> None:
        # Frozen: the conversions (a list of names, str paths) go around the dataclass's own __setattr__.
        object.__setattr__(self, "datasets", tuple(self.datasets))
        for name in ("ucr_root", "cache_dir", "models_from"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Path(getattr(self, name)))
        if not self.datasets:
            raise ValueError("a benchmark needs at least one dataset")
        repeated = sorted({n for n in self.datasets if self.datasets.count(n) > 1})
        if repeated:
            raise ValueError(f"datasets named more than once: {', '.join(repeated)}")
        for name in self.datasets:
            _check_name(name)
        lowest = {"runs": 1, "seed": 0, "fcn_epochs": 1, "n_samples": 2, "steps": 1, "field_repeats": 1}
        for name, low in lowest.items():
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < low):
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.sampling()  # an unknown preset, or one the protocol cannot sample, fails here
        check_datasets(self.datasets, self.ucr_root)

    def settings(self) -> dict[str, Any]:
        """The ``settings`` a record stores (`RECORDED`)."""
        return {name: getattr(self, name) for name in RECORDED}

    def sampling(self) -> dict[str, Any]:
        """`evaluate`'s sampler arguments for this spec's preset (`evaluation_sampling`)."""
        return evaluation_sampling(get_preset(self.preset).sampling, self.steps)

    def check(self, record: dict, path: Path) -> None:
        """Raise when an existing record was made with other settings."""
        old = record.get("settings", {})
        differ = {k: (old.get(k), v) for k, v in self.settings().items() if old.get(k) != v}
        if differ:
            details = ", ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in differ.items())
            raise ValueError(
                f"{path} was made with other settings ({details}); use another --out for these settings"
            )


def evaluation_sampling(sampling: SamplingConfig, steps: int | None = None) -> dict[str, Any]:
    """`evaluate`'s sampler arguments that make it sample each mode with the preset's defaults.

    `evaluate` samples each mode with the protocol's thesis settings (unconditional 128 steps; conditional
    32 steps, w = 3; γ = 0.1) and takes one override per setting for both modes. So a setting is passed
    only where the preset's defaults differ from the protocol's, and must then be one value for both
    modes. ``steps`` (smoke runs) overrides the steps of both.
    """
    cond_steps, cond_guidance = sampling.mode_defaults(conditional=True)
    preset = {  # per setting: mode -> the preset's value (guidance only steers conditional sampling)
        "steps": {"unconditional": sampling.steps, "conditional": cond_steps},
        "guidance": {"conditional": cond_guidance},
        "rescale": {"unconditional": sampling.rescale, "conditional": sampling.rescale},
    }
    protocol = {"unconditional": UNCONDITIONAL_SAMPLING, "conditional": CONDITIONAL_SAMPLING}
    args: dict[str, Any] = {}
    for name, values in preset.items():
        if all(protocol[mode].get(name) == value for mode, value in values.items()):
            continue  # the protocol samples with it already
        if len(set(values.values())) > 1:
            raise ValueError(
                f"the benchmark samples both modes with one {name} unless they are the thesis's; "
                f"the preset has {values}"
            )
        args[name] = next(iter(values.values()))
    return {**args, "steps": steps} if steps is not None else args


def result_path(out_dir: str | Path, name: str) -> Path:
    return Path(out_dir) / "results" / f"{name}.json"


def model_dir(out_dir: str | Path, name: str) -> Path:
    return Path(out_dir) / "models" / name


def read_record(out_dir: str | Path, name: str) -> dict | None:
    path = result_path(out_dir, name)
    return load_json(path) if path.is_file() else None


# ========================================================================================= one dataset
def run_dataset(name: str, spec: BenchmarkSpec, out_dir: str | Path, *, progress: bool = False) -> dict:
    """Train (or resume, or load) one dataset's model, evaluate it ``spec.runs`` times, write its record.

    Parameters
    ----------
    name : the dataset, a name `load_dataset` resolves (aeon's shipped data, ``spec.ucr_root``).
    spec : what to run and how (`BenchmarkSpec`).
    out_dir : the benchmark folder (see the module docstring for its layout).
    progress : progress bars while training.

    Returns
    -------
    dict : the record written to ``out_dir/results/<name>.json`` (or the existing one when it is done).

    With ``spec.field_repeats`` the record also holds ``field`` (`field_scores`: the field's four scores of
    the first unconditional run, against the real training split); ``published_field`` holds the field's
    published figures for the dataset (Sines), or None.
    """
    existing = read_record(out_dir, name)
    if existing is not None:
        spec.check(existing, result_path(out_dir, name))
        if existing.get("status") == "ok":
            log.info("%s: already done, skipping", name)
            return existing
    train = load_dataset(name, split="train", ucr_root=spec.ucr_root)
    test = load_dataset(name, split="test", ucr_root=spec.ucr_root)
    source = model_dir(out_dir, name)
    if spec.models_from is not None and not (source / MODEL_JSON).is_file():
        source = model_dir(spec.models_from, name)
        if not (source / MODEL_JSON).is_file():
            raise FileNotFoundError(f"{source}: no trained model to reuse (models_from={spec.models_from})")
    model, train_timing = _train_or_load(train, spec, source, progress)
    curves = _plot_validation(model, Path(out_dir) / "plots" / name)

    work = Path(out_dir) / "evaluation" / name
    timed = _TimedSampler(model, store=work / "samples")
    t0 = time.perf_counter()
    metrics = evaluate(
        timed, train, test=test, runs=spec.runs, n_samples=spec.n_samples or N_SAMPLES, seed=spec.seed,
        fcn_epochs=spec.fcn_epochs, cache_dir=spec.cache_dir, plot_dir=Path(out_dir) / "plots" / name,
        progress=progress, work_dir=work, frequency=model.config.frequency, **spec.sampling(),
    )  # fmt: skip
    evaluate_seconds = time.perf_counter() - t0
    field, field_seconds = None, None
    if spec.field_repeats is not None:
        t0 = time.perf_counter()
        field = field_scores(train, timed.first_unconditional, spec, device=model.device)
        field_seconds = time.perf_counter() - t0

    record = {
        "format": FORMAT,
        "dataset": name,
        "status": "ok",
        "settings": spec.settings(),
        "data": data_summary(train, test),
        "metrics": metrics,
        "ratios": fid_ratios(metrics),
        # The model's sampling defaults: what `metrics[mode]["sampling"]` leaves to the preset (sampler,
        # t_max, how labels=None is sampled).
        "sampling_defaults": asdict(model.config.sampling),
        "timing": {
            **train_timing,
            **timed.summary(),
            "evaluate_seconds": evaluate_seconds,
            "field_seconds": field_seconds,
        },
        "environment": environment(model.device),
        "field": field,
        "published": published_results(name),
        "published_field": published_field(name),
        "model_dir": str(source if source != model_dir(out_dir, name) else Path("models") / name),
        "validation": _validation_summary(model, curves, Path(out_dir)),
    }
    record = _finite(record)
    save_json(result_path(out_dir, name), record)
    shutil.rmtree(work, ignore_errors=True)  # the record holds everything the evaluation produced
    return record


def field_scores(
    train: TimeSeriesDataset,
    samples: TimeSeriesDataset | None,
    spec: BenchmarkSpec,
    *,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """The field's multivariate scores (`field_metrics`) of one unconditional sample set, as the papers
    compute them.

    The synthetic set is the first unconditional run's (the sample set `evaluate` drew, not a second draw):
    ``spec.n_samples`` series, 1024 by default, where TimeGAN and Diffusion-TS draw as many as the training
    split holds. It is scored against the real **training** split, as those papers do (they have no test
    split), not against the test split the FID uses. Both sets are in the published figures' units
    (`published_units`): Sines as generated, any other dataset min-max scaled per channel with the real
    training data's minimum and maximum; masks are passed for variable-length sets, so padding is never
    read. Each score is computed ``spec.field_repeats`` times (seeds ``spec.seed``, ``spec.seed + 1``, ...)
    with the budgets of `FIELD_CONFIG`.

    Returns
    -------
    dict
        ``scores`` (``{name: {"mean", "std", "runs"}}`` for discriminative, predictive, correlational,
        context_fid), ``repeats``, ``seed``, ``against`` (``"train"``), ``minmax_scaled``, ``n_real``,
        ``n_synthetic`` and ``config`` (the networks' budgets, `FieldConfig` as a dict).
    """
    if samples is None:
        raise ValueError(f"{train.name}: no unconditional sample set to score the field's metrics on")
    repeats = spec.field_repeats or 1
    real, synthetic, scaled = published_units(
        train.to_original_units(train.X.astype(np.float64)),
        samples.to_original_units(samples.X.astype(np.float64)),
        mask_real=train.mask,
    )
    scores = field_metrics(
        real, synthetic, mask_real=train.mask, mask_synthetic=samples.mask, repeats=repeats,
        seed=spec.seed, metrics=FIELD_METRICS, config=FIELD_CONFIG, device=device,
    )  # fmt: skip
    return {
        "scores": scores,
        "repeats": repeats,
        "seed": spec.seed,
        "against": "train",
        "minmax_scaled": scaled,
        "n_real": train.n_series,
        "n_synthetic": samples.n_series,
        "config": asdict(FIELD_CONFIG),
    }


def _plot_validation(model: TimeVQVDM, folder: Path) -> Path | None:
    """The held-out scores of a validation-trained model against step, stops marked (None otherwise)."""
    if not model.config.validation.enabled:
        return None
    title = f"{model.data_info.name}: validation-driven training"
    return plot_validation_curves(
        model.history, folder / "validation_curves.png", copy_threshold=model.config.validation.copy_threshold,
        title=title,
    )  # fmt: skip


def _validation_summary(model: TimeVQVDM, curves: Path | None, out_dir: Path) -> dict | None:
    """Where each network stopped and why, the held-out split's size, and the curves' figure."""
    if curves is None:
        return None
    history = model.history
    stops = {name: entry.get("stop") for name, entry in history.items() if isinstance(entry, dict)}
    return {
        "split": history.get("validation_split"),
        "stops": {name: stop for name, stop in stops.items() if stop},
        "figure": str(curves.relative_to(out_dir)),
    }


def _train_or_load(
    train: TimeSeriesDataset, spec: BenchmarkSpec, folder: Path, progress: bool
) -> tuple[TimeVQVDM, dict[str, Any]]:
    """A saved model is loaded (its training configuration must be the preset's; it samples with the
    preset's defaults); otherwise both stages are fitted, resuming from ``folder/runs``."""
    config = get_preset(spec.preset)
    config.seed = spec.seed
    if (folder / MODEL_JSON).is_file():
        model = TimeVQVDM.load(folder, progress=progress)
        if model.config.training_dict() != config.training_dict():
            raise ValueError(
                f"{folder} holds a model trained with another configuration than preset "
                f"{spec.preset!r} (seed {spec.seed}); use another --out"
            )
        model.config = model.config.replace(sampling=config.sampling)
        timing_file = folder / TRAIN_TIME_JSON
        timing = load_json(timing_file) if timing_file.is_file() else {"train_seconds": None}
        return model, {**timing, "trained_now": False}
    run_dir = folder / "runs"
    resumed = any(run_dir.glob("*/checkpoint.safetensors"))
    t0 = time.perf_counter()
    model = TimeVQVDM(config=config, progress=progress).fit(train, run_dir=run_dir, resume=True)
    timing = _finite(
        {
            "train_seconds": time.perf_counter() - t0,
            "train_resumed": resumed,  # True: train_seconds covers only the part done after the interruption
            "stages": model.history,
        }
    )
    model.save(folder, overwrite=True)
    save_json(folder / TRAIN_TIME_JSON, timing)
    return model, {**timing, "trained_now": True}


class _TimedSampler:
    """Wraps a model so that the wall time of each ``sample`` call is recorded (evaluate only samples).

    With a ``store`` folder every call's result is also written there (``.npz``, with its wall time) and a
    repeated call with the same arguments to the same weights is read back instead of sampled again: an
    interrupted evaluation resumes without redrawing its finished sample sets. Such calls are marked
    ``from_store``. The first unconditional set (`evaluate`'s first run) is kept as
    ``first_unconditional``, for the field's scores.
    """

    def __init__(self, model: TimeVQVDM, store: Path | None = None) -> None:
        self.model = model
        self.store = store
        self.calls: list[dict[str, Any]] = []
        # Part of every stored set's key, so sets drawn by a model since retrained are never read back;
        # computed at the first call.
        self.fingerprint: str | None = None
        self.first_unconditional: TimeSeriesDataset | None = None

    def sample(self, n: int, labels: Any = None, **kwargs: Any):
        mode = "unconditional" if labels is None else "conditional"
        out = self._sample(mode, n, labels, kwargs)
        if mode == "unconditional" and self.first_unconditional is None:
            self.first_unconditional = out
        return out

    def _sample(self, mode: str, n: int, labels: Any, kwargs: dict[str, Any]) -> TimeSeriesDataset:
        path = self._stored_path(mode, n, labels, kwargs)
        if path is not None and path.is_file():
            out, seconds = self._read(path)
            self.calls.append({"mode": mode, "n": n, "seconds": seconds, "from_store": True, **kwargs})
            return out
        t0 = time.perf_counter()
        out = self.model.sample(n, labels, **kwargs)
        seconds = time.perf_counter() - t0
        self.calls.append({"mode": mode, "n": n, "seconds": seconds, **kwargs})
        if path is not None:
            self._write(path, out, seconds)
        return out

    def _stored_path(self, mode: str, n: int, labels: Any, kwargs: dict[str, Any]) -> Path | None:
        if self.store is None:
            return None
        if self.fingerprint is None:
            self.fingerprint = _weights_fingerprint(self.model)
        call = json.dumps(
            {"weights": self.fingerprint, "n": n, "labels": labels, **kwargs}, sort_keys=True, default=str
        )
        return self.store / f"{mode}-{hashlib.sha256(call.encode()).hexdigest()[:16]}.npz"

    def _write(self, path: Path, samples: TimeSeriesDataset, seconds: float) -> None:
        buffer = io.BytesIO()
        y = np.asarray([] if samples.y is None else samples.y, dtype=np.int64)
        # Variable-length sets keep their mask; an empty one stands for None.
        mask = np.zeros((0, 0), dtype=bool) if samples.mask is None else samples.mask
        np.savez(buffer, X=samples.X, y=y, labelled=samples.y is not None, seconds=seconds, mask=mask)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())

    def _read(self, path: Path) -> tuple[TimeSeriesDataset, float]:
        try:
            with np.load(path, allow_pickle=False) as stored:
                x, y, labelled = stored["X"], stored["y"], bool(stored["labelled"])
                seconds = float(stored["seconds"])
                mask = stored["mask"] if len(stored.get("mask", ())) else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(
                f"{path}: unreadable stored sample set ({err}); delete it to sample again"
            ) from err
        info = self.model.data_info
        samples = TimeSeriesDataset(
            X=x, y=y if labelled else None, classes=list(info.classes), name=f"{info.name} (synthetic)",
            mask=mask, mean=0.0, std=1.0,
        )  # fmt: skip
        return samples, seconds

    def summary(self) -> dict[str, Any]:
        uncond = [c["seconds"] * N_SAMPLES / c["n"] for c in self.calls if c["mode"] == "unconditional"]
        return {
            "sample_seconds": sum(c["seconds"] for c in self.calls),
            "sampled_series": sum(c["n"] for c in self.calls),
            # One number comparable across datasets: 1024 unconditional series at the thesis's 128 steps.
            "uncond_seconds_per_1024": float(np.mean(uncond)) if uncond else None,
            "sample_calls": self.calls,
        }


def _weights_fingerprint(model: TimeVQVDM) -> str:
    """SHA-256 of every weight and buffer of the model's three networks (tokenizer and both priors)."""
    digest = hashlib.sha256()
    for part in (model.tokenizer, model.prior_lf, model.prior_hf):
        for name, tensor in sorted(part.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def data_summary(train: TimeSeriesDataset, test: TimeSeriesDataset) -> dict[str, int]:
    """The sizes a record states about its dataset's splits."""
    return {
        "n_train": train.n_series,
        "n_test": test.n_series,
        "n_classes": train.n_classes,
        "n_channels": train.n_channels,
        "length": train.length,
    }


def fid_ratios(metrics: dict) -> dict[str, float | None]:
    """Our FID over the noise floor FID(real train, test reference), per mode: 1 = as good as real data."""
    floor = metrics.get("reference", {}).get("fid_train_test")
    out: dict[str, float | None] = {}
    for mode in ("unconditional", "conditional"):
        fid = metrics.get(mode, {}).get("fid")
        out[mode] = fid / floor if fid is not None and floor else None
    return out


def environment(device: torch.device | str | None = None) -> dict[str, Any]:
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine()
    )
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "device_name": name,
        "threads": torch.get_num_threads(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def _finite(obj: Any) -> Any:
    """NaN and infinities -> None, so the record is strict JSON (and the CSV has empty cells)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def error_record(name: str, spec: BenchmarkSpec, err: BaseException) -> dict:
    return {
        "format": FORMAT,
        "dataset": name,
        "status": "error",
        "settings": spec.settings(),
        "error": f"{type(err).__name__}: {err}",
        "traceback": "".join(traceback.format_exception(err)),
        "environment": environment(),
    }


def run_task(name: str, spec: BenchmarkSpec, out_dir: str | Path, progress: bool = False) -> dict:
    """One dataset as an independent task: `run_dataset`, with a failure logged and written as an error
    record instead of raised (one failing dataset must not stop the others). What every executor runs."""
    try:
        return run_dataset(name, spec, out_dir, progress=progress)
    except Exception as err:
        log.exception("%s failed", name)
        record = error_record(name, spec, err)
        save_json(result_path(out_dir, name), record)
        return record


# ============================================================================================== tables
@dataclass(frozen=True)
class Column:
    """One column of both tables: its CSV name, its Markdown header (None: CSV only), how a record gives
    its value (None where missing), its Markdown format (``pm:<column>`` shows ``value ± <column>`` with
    two decimals, ``pm.3f:<column>`` with the format given), whether the median row shows its median (not
    for run-to-run stds: their median says little), and its group: a column of a group (`COLUMN_GROUPS`)
    is in the tables only when some record has what the group shows."""

    name: str
    header: str | None
    read: Callable[[dict], Any]
    fmt: str
    median: bool = True
    group: str | None = None


def _at(*keys: str) -> Callable[[dict], Any]:
    """Reader of ``record[keys[0]][keys[1]]...``: None where a level is missing."""

    def read(record: dict) -> Any:
        value: Any = record
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return read


def _size(key: str) -> Callable[[dict], Any]:
    """A data size from the record, else from its published row (a failed dataset has no ``data``)."""
    return lambda record: record.get("data", {}).get(key, _number(_at("published", key)(record)))


def _published(key: str) -> Callable[[dict], float | None]:
    return lambda record: _number(_at("published", key)(record))


def _percent_of(read: Callable[[dict], Any]) -> Callable[[dict], float | None]:
    return lambda record: _percent(read(record))


def _trtr(record: dict) -> Any:
    """TRTR from the conditional metrics, or the reference's when the conditional mode has none."""
    cond = _at("metrics", "conditional")(record) or {}
    return cond.get("trtr_accuracy", _at("metrics", "reference", "trtr_accuracy")(record))


def _field_columns() -> tuple[Column, ...]:
    """The field's four scores: ours (mean ± std over ``field_repeats`` runs), then each published method's
    figure beside it where the reference table (`field_published_methods`) has one."""
    short = {
        "discriminative": "disc",
        "predictive": "pred",
        "correlational": "corr",
        "context_fid": "ctx-FID",
    }
    published = field_published_methods()
    columns: list[Column] = []
    for metric in FIELD_METRICS:
        ours = f"field_{metric}"
        columns += [
            Column(ours, short[metric], _at("field", "scores", metric, "mean"), f"pm.3f:{ours}_std", group="field"),
            Column(f"{ours}_std", None, _at("field", "scores", metric, "std"), ".3f", median=False, group="field"),
        ]  # fmt: skip
        for method, metrics in published.items():
            if metric not in metrics:
                continue
            name = f"{''.join(c for c in method.lower() if c.isalnum())}_{metric}"
            read = _at("published_field", method, metric)
            columns += [
                Column(
                    name, f"{short[metric]} {method}", _number_of(read, "mean"), f"pm.3f:{name}_std",
                    median=False, group="field",
                ),
                Column(f"{name}_std", None, _number_of(read, "std"), ".3f", median=False, group="field"),
            ]  # fmt: skip
    return tuple(columns)


def _number_of(read: Callable[[dict], Any], key: str) -> Callable[[dict], float | None]:
    return lambda record: _number((read(record) or {}).get(key))


# Column groups, each shown only when some record has what it shows: the field's scores only in benchmarks
# run with --field-metrics (so the tables of the others keep their columns).
COLUMN_GROUPS: dict[str, Callable[[dict], bool]] = {
    "field": lambda record: bool(_at("field", "scores")(record)),
}
_UNCOND, _COND, _REF = ("metrics", "unconditional"), ("metrics", "conditional"), ("metrics", "reference")
# The one declaration of both tables: summary.csv has every column in this order, summary.md those with a
# header, and `summary_row` reads a record through it.
COLUMNS: tuple[Column, ...] = (
    Column("dataset", "dataset", _at("dataset"), "s", median=False),
    Column("n_classes", "K", _size("n_classes"), "d"),
    Column("length", "L", _size("length"), "d"),
    Column("n_train", "N", _size("n_train"), "d"),
    Column("n_test", None, _size("n_test"), "d"),
    Column("uncond_fid", "FID", _at(*_UNCOND, "fid"), "pm:uncond_fid_std"),
    Column("uncond_fid_std", None, _at(*_UNCOND, "fid_std"), ".2f", median=False),
    Column("noise_floor", "floor", _at(*_REF, "fid_train_test"), ".2f"),
    Column("uncond_ratio", "ratio", _at("ratios", "unconditional"), ".2f"),
    Column("half_split_fid", "half-split", _at(*_REF, "fid_half_split"), ".2f"),
    Column("thesis_uncond_fid", "FID thesis", _published("thesis_uncond_FID"), ".2f"),
    Column("timevqvae_fid", "FID TimeVQVAE", _published("timevqvae_FID"), ".2f"),
    Column("uncond_is", "IS", _at(*_UNCOND, "is"), "pm:uncond_is_std"),
    Column("uncond_is_std", None, _at(*_UNCOND, "is_std"), ".2f", median=False),
    Column("test_is", "IS real", _at(*_REF, "test_is"), ".2f"),
    Column("thesis_uncond_is", "IS thesis", _published("thesis_uncond_IS"), ".2f"),
    Column("timevqvae_is", "IS TimeVQVAE", _published("timevqvae_IS"), ".2f"),
    Column("cond_fid", "cond FID", _at(*_COND, "fid"), "pm:cond_fid_std"),
    Column("cond_fid_std", None, _at(*_COND, "fid_std"), ".2f", median=False),
    Column("cond_ratio", "cond ratio", _at("ratios", "conditional"), ".2f"),
    Column("thesis_cond_fid", "cond FID thesis", _published("thesis_cond_FID"), ".2f"),
    Column("cond_is", "cond IS", _at(*_COND, "is"), "pm:cond_is_std"),
    Column("cond_is_std", None, _at(*_COND, "is_std"), ".2f", median=False),
    Column("thesis_cond_is", "cond IS thesis", _published("thesis_cond_IS"), ".2f"),
    Column("tstr", "TSTR %", _percent_of(_at(*_COND, "tstr_accuracy")), ".1f"),
    Column("trtr", "TRTR %", _percent_of(_trtr), ".1f"),
    Column("thesis_tstr", "TSTR thesis %", _published("thesis_TSTR"), ".1f"),
    Column("thesis_trtr", "TRTR thesis %", _published("thesis_TRTR"), ".1f"),
    Column("timevqvae_cas", None, _published("timevqvae_CAS"), ".1f"),
    *_field_columns(),
    Column("copy_share", "copy share", _at("metrics", "memorisation", "copy_share"), ".3f"),
    Column("train_seconds", "train s", _at("timing", "train_seconds"), ".0f"),
    Column("sample_seconds_per_1024", "sample s", _at("timing", "uncond_seconds_per_1024"), ".1f"),
    Column("status", None, lambda record: record.get("status", "ok"), "s", median=False),
)


def summary_row(record: dict) -> dict[str, Any]:
    """One record flattened to the table's columns (None where a value is missing)."""
    return {column.name: column.read(record) for column in COLUMNS}


def table_columns(records: Sequence[dict]) -> list[Column]:
    """The columns of ``records``' tables: every column outside a group, a group's only when some record
    has what it shows (`COLUMN_GROUPS`)."""
    shown = {name for name, present in COLUMN_GROUPS.items() if any(present(r) for r in records)}
    return [c for c in COLUMNS if c.group is None or c.group in shown]


def collect_records(out_dir: str | Path) -> list[dict]:
    """All per-dataset records of a benchmark folder, sorted by dataset name."""
    folder = Path(out_dir) / "results"
    return sorted((load_json(p) for p in folder.glob("*.json")), key=lambda r: r["dataset"])


def write_tables(out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``summary.csv`` (one row per dataset, then a ``median`` row) and ``summary.md``."""
    out_dir = Path(out_dir)
    records = collect_records(out_dir)
    columns = table_columns(records)
    rows = [summary_row(r) for r in records]
    medians = _median_row(rows)
    csv_path, md_path = out_dir / "summary.csv", out_dir / "summary.md"
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=[c.name for c in columns], lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows([*rows, medians] if rows else [])
    atomic_write_bytes(csv_path, buffer.getvalue().encode())
    atomic_write_bytes(md_path, _markdown(rows, medians, columns).encode())
    return csv_path, md_path


def _median_row(rows: list[dict]) -> dict[str, Any]:
    ok = [r for r in rows if r["status"] == "ok"]
    out: dict[str, Any] = {"dataset": "median", "status": f"{len(ok)} of {len(rows)} ok"}
    for column in COLUMNS:
        if column.name not in out:
            values = [r[column.name] for r in ok if r[column.name] is not None] if column.median else []
            out[column.name] = statistics.median(values) if values else None
    return out


def _markdown(rows: list[dict], medians: dict, columns: Sequence[Column] = COLUMNS) -> str:
    shown = [c for c in columns if c.header is not None]
    lines = [
        "| " + " | ".join(c.header for c in shown) + " |",
        "|" + "|".join(":---" if c.name == "dataset" else "---:" for c in shown) + "|",
    ]
    for row in [*rows, medians] if rows else []:
        bold = row is medians
        cells = [_cell(row, c.name, c.fmt) for c in shown]
        if bold:
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *_headline(rows)]
    if any(c.group == "field" for c in columns):
        lines += [
            "",
            "disc, pred, corr, ctx-FID: the field's discriminative, predictive, correlational and context-FID "
            "scores (lower is better) of the first unconditional run against the real training split, mean "
            "± std over their repeats; beside them the published figures where a paper reports the dataset.",
        ]
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        lines += ["", "Failed (see results/<name>.json):", *(f"- {r['dataset']}" for r in failed)]
    return "\n".join(lines) + "\n"


def _headline(rows: list[dict]) -> list[str]:
    """The summary sentences under the table: where we stand against the floor and the thesis."""
    ok = [r for r in rows if r["status"] == "ok"]
    both = [r for r in ok if r["uncond_fid"] is not None and r["thesis_uncond_fid"] is not None]
    below = sum(r["uncond_fid"] < r["thesis_uncond_fid"] for r in both)
    ratios = [r["uncond_ratio"] for r in ok if r["uncond_ratio"] is not None]
    fids = [r["uncond_fid"] for r in ok if r["uncond_fid"] is not None]
    lines = [f"Unconditional FID below the thesis's on {below} of {len(both)} datasets."]
    if ratios:
        lines.append(
            f"FID / noise floor: median {statistics.median(ratios):.2f}, mean {statistics.mean(ratios):.2f}"
            f" (1 = as close to the test data as the real training split)."
        )
    if fids:
        lines.append(
            f"Unconditional FID: median {statistics.median(fids):.2f}, mean {statistics.mean(fids):.2f}."
        )
    return lines


def _cell(row: dict, column: str, fmt: str) -> str:
    value = row[column]
    if value is None:
        return "" if column != "uncond_fid" or row["status"] == "ok" else row["status"]
    if fmt == "s":
        return str(value)
    if fmt.startswith("pm"):
        number, _, std_column = fmt[2:].partition(":")
        number = number or ".2f"
        std = row.get(std_column)
        text = _fixed_or_small(value, number)
        return text + (f" ± {_fixed_or_small(std, number)}" if std is not None else "")
    if fmt == "d":
        return f"{value:.0f}"
    return _fixed_or_small(value, fmt)


def _fixed_or_small(value: float, fmt: str) -> str:
    """Fixed-point, but two significant digits for small nonzero values that would print as 0.00."""
    text = format(value, fmt)
    return f"{value:.2g}" if value != 0 and float(text) == 0 else text


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _percent(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


# ============================================================================================= figures
AXES = [("n_classes", "number of classes"), ("length", "series length"), ("n_train", "training-set size")]


def plot_figures(out_dir: str | Path) -> list[Path]:
    """The thesis's Figures 25-27 on our results, thesis's points beside ours, each with a fitted line.

    25: unconditional FID and IS against number of classes, length and training-set size (log-log);
    26: the same for class-conditional sampling; 27: TSTR accuracy against the three (log x).
    """
    out_dir = Path(out_dir)
    rows = [summary_row(r) for r in collect_records(out_dir) if r.get("status") == "ok"]
    panels = {
        "unconditional": [
            ("uncond_fid", "thesis_uncond_fid", "FID"),
            ("uncond_is", "thesis_uncond_is", "IS"),
        ],
        "conditional": [("cond_fid", "thesis_cond_fid", "FID"), ("cond_is", "thesis_cond_is", "IS")],
        "tstr": [("tstr", "thesis_tstr", "TSTR accuracy %")],
    }
    titles = {
        "unconditional": "Fig. 25: unconditional sampling",
        "conditional": "Fig. 26: class-conditional sampling",
        "tstr": "Fig. 27: TSTR",
    }
    return [
        _figure(rows, metrics, titles[key], out_dir / FIGURES[key], log_y=key != "tstr")
        for key, metrics in panels.items()
    ]


def _figure(
    rows: list[dict], metrics: list[tuple[str, str, str]], title: str, path: Path, log_y: bool
) -> Path:
    fig = Figure(figsize=(4 * len(AXES), 3.2 * len(metrics)))
    axes = fig.subplots(len(metrics), len(AXES), squeeze=False)
    for i, (ours, thesis, label) in enumerate(metrics):
        for j, (x_key, x_label) in enumerate(AXES):
            ax = axes[i, j]
            for key, name, color, marker in ((ours, "ours", "C0", "o"), (thesis, "thesis", "0.5", "s")):
                _scatter_with_fit(ax, rows, x_key, key, name, color, marker, log_y)
            _log_axis(ax.xaxis, ax.set_xscale)
            if log_y:
                _log_axis(ax.yaxis, ax.set_yscale)
            ax.set_xlabel(x_label)
            ax.set_ylabel(label)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")
    return path


def _log_axis(axis, set_scale) -> None:
    """Log scale labelled 1, 2, 5, 10, 20, ... in plain numbers (the default minor labels overlap)."""
    set_scale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _scatter_with_fit(
    ax, rows: list[dict], x_key: str, y_key: str, name: str, color: str, marker: str, log_y: bool
) -> None:
    """Points (positive values only, as the axes are logarithmic) and their least-squares line."""
    pairs = [
        (r[x_key], r[y_key])
        for r in rows
        if r[x_key] and r[y_key] is not None and (r[y_key] > 0 or not log_y)
    ]
    if not pairs:
        return
    x, y = (np.array(v, dtype=np.float64) for v in zip(*pairs, strict=True))
    ax.scatter(x, y, s=18, color=color, marker=marker, label=name, alpha=0.8)
    fit = fit_line(x, y, log_y=log_y)
    if fit is None:
        return
    slope, intercept = fit
    xs = np.geomspace(x.min(), x.max(), 50)
    ys = slope * np.log10(xs) + intercept
    ax.plot(xs, 10**ys if log_y else ys, color=color, linewidth=1, label=f"{name} fit, slope {slope:.2f}")


def fit_line(x: np.ndarray, y: np.ndarray, *, log_y: bool = True) -> tuple[float, float] | None:
    """Least-squares line of log10 y (or y) on log10 x: (slope, intercept), or None with < 2 distinct x."""
    if len(np.unique(x)) < 2:
        return None
    slope, intercept = np.polyfit(np.log10(x), np.log10(y) if log_y else y, 1)
    return float(slope), float(intercept)


# ========================================================================================== executors
class LocalExecutor:
    """Runs the datasets on this machine: one after another in this process (``workers=1``, the default),
    or ``workers`` at a time in spawned processes, one GPU each when several are visible and
    ``cpu_count // workers`` torch threads each.

    One at a time is the right choice on a CPU: two jobs on two cores step no faster together than one job
    with both (`benchmarks/parallel_jobs.py`), and a second heavy job slows a timed one.
    """

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def map(
        self, names: Sequence[str], spec: BenchmarkSpec, out_dir: Path, progress: bool
    ) -> Iterator[tuple[str, dict]]:
        """Run `run_task` on each name; yield ``(name, record)`` as each finishes."""
        if self.workers == 1 or len(names) <= 1:
            for name in names:
                yield name, run_task(name, spec, out_dir, progress)
            return
        yield from self._pool(names, spec, out_dir, min(self.workers, len(names)))

    def _pool(
        self, names: Sequence[str], spec: BenchmarkSpec, out_dir: Path, workers: int
    ) -> Iterator[tuple[str, dict]]:
        context = multiprocessing.get_context("spawn")
        plans = context.Queue()
        for plan in worker_plan(workers, torch.cuda.device_count(), os.cpu_count() or 1):
            plans.put(plan)
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(plans,)
        ) as pool:
            futures = {pool.submit(run_task, name, spec, out_dir, False): name for name in names}
            for future in as_completed(futures):
                name = futures[future]
                try:
                    record = future.result()
                except Exception as err:  # the worker process itself died (e.g. out of memory)
                    log.error("%s: worker failed: %s", name, err)
                    record = error_record(name, spec, err)
                    save_json(result_path(out_dir, name), record)
                yield name, record


class RayExecutor:
    """Runs each dataset as one Ray task, to spread an archive over the machines of a Ray cluster.

    ``address`` is the cluster's (``"auto"``, ``"ray://host:10001"``, ...); None starts a local Ray
    instance with ``workers`` CPUs here, and stops it when done. Each task asks for one CPU, and one GPU
    when the cluster has any. Every node needs this package (``pip install 'timevqvdm[cluster]'``) and the
    datasets at the same ``ucr_root``; ``out_dir`` should be a folder all nodes share, where the tasks write
    their models, plots and records. The records also come back to this process, which writes any that did
    not land in its ``out_dir`` (a node without the shared folder), so the store here is complete either way.
    Worker logs stay in Ray's session logs; a failure is in the dataset's error record.
    """

    def __init__(self, address: str | None = None, workers: int = 1) -> None:
        try:
            import ray
        except ImportError:
            raise ImportError(
                "--executor ray needs Ray, an optional extra: pip install 'timevqvdm[cluster]'"
            ) from None
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.ray, self.address, self.workers = ray, address, workers

    def map(
        self, names: Sequence[str], spec: BenchmarkSpec, out_dir: Path, progress: bool
    ) -> Iterator[tuple[str, dict]]:
        """Run `run_task` on each name as a Ray task; yield ``(name, record)`` as each finishes."""
        ray = self.ray
        started = not ray.is_initialized()
        if started and self.address is None:
            ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
        elif started:
            ray.init(address=self.address, log_to_driver=False)
        try:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
            task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(run_task)
            pending = {task.remote(name, spec, out_dir, False): name for name in names}
            while pending:
                (done,), _ = ray.wait(list(pending), num_returns=1)
                name = pending.pop(done)
                try:
                    record = ray.get(done)
                except Exception as err:  # the task's worker died, or its node left the cluster
                    log.error("%s: Ray task failed: %s", name, err)
                    record = error_record(name, spec, err)
                _store_if_absent(out_dir, name, record)
                yield name, record
        finally:
            if started:
                ray.shutdown()


def _store_if_absent(out_dir: Path, name: str, record: dict) -> None:
    """Write a record that came back from another machine unless this store already holds it."""
    if read_record(out_dir, name) != json.loads(json.dumps(record)):
        save_json(result_path(out_dir, name), record)


Executor = LocalExecutor | RayExecutor


def make_executor(kind: str = "local", *, workers: int = 1, address: str | None = None) -> Executor:
    """``"local"`` (`LocalExecutor`) or ``"ray"`` (`RayExecutor`); ``address`` is for Ray only."""
    if kind == "local":
        if address is not None:
            raise ValueError("--address is for --executor ray")
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, workers)
    raise ValueError(f"unknown executor {kind!r}; choose local or ray")


def worker_plan(workers: int, n_gpus: int, n_cpus: int) -> list[dict[str, Any]]:
    """Per worker process: the GPU it sees (round robin when several) and its torch CPU threads."""
    threads = max(1, n_cpus // workers)
    return [
        {"cuda_visible_devices": str(i % n_gpus) if n_gpus > 1 else None, "threads": threads}
        for i in range(workers)
    ]


def _init_worker(plans) -> None:
    """Runs first in each worker process, before CUDA is initialised: take one plan off the queue."""
    plan = plans.get()
    if plan["cuda_visible_devices"] is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = plan["cuda_visible_devices"]
    torch.set_num_threads(plan["threads"])


# ======================================================================================== orchestration
@dataclass
class BenchmarkOutput:
    records: list[dict]
    csv: Path
    markdown: Path
    figures: list[Path]


def run_benchmark(
    spec: BenchmarkSpec,
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    progress: bool = False,
    on_result: ResultCallback | None = None,
) -> BenchmarkOutput:
    """Run every dataset of ``spec`` as one task through ``executor``, then write the tables and figures.

    Datasets already done are skipped; a record made with other settings stops the run before any work. A
    failing dataset is logged and recorded as an error and the rest continue. ``executor`` defaults to
    `LocalExecutor()`: one dataset after another in this process. ``progress``: training progress bars
    (in this process only). ``on_result(name, record, skipped)`` is called as each dataset finishes (for a
    progress display). The tables and figures are drawn from the stored records alone.
    """
    out_dir = Path(out_dir)
    executor = executor or LocalExecutor()
    todo = _pending(spec, out_dir, on_result)
    for name, record in executor.map(todo, spec, out_dir, progress):
        _notify(on_result, name, record, False)
    csv_path, md_path = write_tables(out_dir)
    figures = plot_figures(out_dir)
    records = [read_record(out_dir, name) for name in spec.datasets]
    return BenchmarkOutput([r for r in records if r is not None], csv_path, md_path, figures)


def _pending(spec: BenchmarkSpec, out_dir: Path, on_result: ResultCallback | None) -> list[str]:
    """Names still to run; finished ones are reported as skipped. Mismatched settings raise up front."""
    todo = []
    for name in spec.datasets:
        record = read_record(out_dir, name)
        if record is not None:
            spec.check(record, result_path(out_dir, name))
            if record.get("status") == "ok":
                _notify(on_result, name, record, True)
                continue
        todo.append(name)
    return todo


def _notify(on_result: ResultCallback | None, name: str, record: dict, skipped: bool) -> None:
    status = "skipped (done)" if skipped else record.get("status")
    log.info("%s: %s", name, status)
    if on_result is not None:
        on_result(name, record, skipped)
