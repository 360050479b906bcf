"""Variable-length benchmark (issue 24): do sampled lengths follow the training lengths, with no learned padding?

Per dataset (a UCR/UEA name with variable-length series; aeon ships JapaneseVowels, 12 channels, and
PickupGestureWiimoteZ): train the preset (default ``best``, its validation-driven budget) on the training
split, evaluate it with the protocol (`timevqvdm.evaluation.evaluate`: every set's padded steps are 0 in
training units before the FCN and the distances see them) and write
``benchmarks/results/variable-length/<name>.json``:

* per sampling mode, ``fid`` (masked) and ``fid_over_floor``, its ratio to the noise floor
  ``fid_train_test`` of the same FCN; ``no_learned_padding``: the issue's criterion, ratio <= 1.5;
* ``lengths``: the sampled lengths against the training lengths, two-sample KS statistic and p-value and
  Wasserstein-1 in steps, overall and per class (conditional samples); ``lengths_test``: the real test
  split's figures, the yardstick;
* ``copy_share`` (memorisation, first sample set), the full evaluation record, timings, environment.

A dataset whose JSON says ``"status": "ok"`` with the same settings is skipped; one with other settings is
refused. Otherwise its training resumes from the checkpoints in the work folder
(``benchmarks/work/variable-length/<preset>/<name>``) and a model saved there is reused::

    python benchmarks/variable_length.py JapaneseVowels PickupGestureWiimoteZ --threads 2
    python benchmarks/variable_length.py JapaneseVowels --preset tiny --n-series 30 --runs 1 \\
        --n-samples 32 --steps 2 --fcn-epochs 2 --out /tmp/vl --work /tmp/vl-work      # smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from common import environment
from timevqvdm import TimeVQVDM
from timevqvdm.benchmark import data_summary
from timevqvdm.data import TimeSeriesDataset, load_dataset
from timevqvdm.evaluation import evaluate
from timevqvdm.model import MODEL_JSON

ROOT = Path(__file__).resolve().parent
DATASETS = ["JapaneseVowels", "PickupGestureWiimoteZ"]
FLOOR_FACTOR = 1.5  # issue 24: a masked FID at most 1.5 times the noise floor
FORMAT = 1
log = logging.getLogger("variable_length")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", default=DATASETS, help=f"dataset names (default {DATASETS})")
    parser.add_argument("--preset", default="best")
    parser.add_argument("--runs", type=int, default=3, help="sampling runs (FID mean and std)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fcn-epochs", type=int, default=1000, help="reference and TSTR FCN epochs")
    parser.add_argument("--n-samples", type=int, default=None, help="series per run (protocol default)")
    parser.add_argument("--steps", type=int, default=None, help="sampler steps (default: the preset's)")
    parser.add_argument("--n-series", type=int, default=None, help="smoke runs: keep this many per split")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "variable-length")
    parser.add_argument(
        "--work", type=Path, default=None, help="default: benchmarks/work/variable-length/PRESET"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="FCN cache (default $TIMEVQVDM_CACHE/fcn)"
    )
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return parser.parse_args(argv)


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("preset", "runs", "seed", "fcn_epochs", "n_samples", "steps", "n_series")
    return {key: getattr(args, key) for key in keys}


def load_splits(name: str, n_series: int | None, seed: int) -> tuple[TimeSeriesDataset, TimeSeriesDataset]:
    """The training and test splits; with ``n_series`` (smoke runs) a seeded random subset of each."""
    splits = [load_dataset(name, split=split) for split in ("train", "test")]
    if n_series is None:
        return splits[0], splits[1]
    rng = np.random.default_rng(seed)
    train, test = (ds.subset(np.sort(rng.permutation(ds.n_series)[:n_series])) for ds in splits)
    return train, test


def train_or_load(train: TimeSeriesDataset, args: argparse.Namespace, work: Path) -> tuple[TimeVQVDM, dict]:
    """The model saved in ``work/model``, or one trained now (resuming from ``work/runs``) and saved."""
    folder = work / "model"
    if (folder / MODEL_JSON).is_file():
        return TimeVQVDM.load(folder, device=args.device, progress=False), {"model": "loaded"}
    t0 = time.perf_counter()
    model = TimeVQVDM(preset=args.preset, device=args.device, progress=False)
    model.fit(train, run_dir=work / "runs", resume=True)
    seconds = time.perf_counter() - t0
    model.save(folder, overwrite=True)
    return model, {"model": "trained", "train_seconds": seconds}


def sampler_settings(model: TimeVQVDM, preset: str, steps: int | None) -> dict[str, Any]:
    """`evaluate`'s sampler arguments: the protocol's thesis settings for `paper`, else the preset's own."""
    if preset == "paper":
        return {"steps": steps}
    sampling = model.config.sampling
    return {"steps": steps or sampling.steps, "guidance": sampling.guidance, "rescale": sampling.rescale}


def summarise(metrics: dict[str, Any]) -> dict[str, Any]:
    """The issue's figures from an `evaluate` record."""
    reference = metrics["reference"]
    floor = reference["fid_train_test"]
    out: dict[str, Any] = {
        "noise_floor": floor,
        "fid_half_split": reference["fid_half_split"],
        "copy_share": metrics["memorisation"]["copy_share"],
        "suspected_copying": metrics["memorisation"]["suspected_copying"],
        "lengths_test": reference.get("lengths_test"),
    }
    for mode in ("unconditional", "conditional"):
        if mode not in metrics:
            continue
        scores = metrics[mode]
        ratio = scores["fid"] / floor if floor > 0 else None
        out[mode] = {
            "fid": scores["fid"],
            "fid_std": scores["fid_std"],
            "fid_over_floor": ratio,
            "no_learned_padding": ratio is not None and ratio <= FLOOR_FACTOR,
            "lengths": scores.get("lengths"),
        }
    return out


def run_dataset(name: str, args: argparse.Namespace) -> dict[str, Any]:
    work = (args.work or ROOT / "work" / "variable-length" / args.preset) / name
    train, test = load_splits(name, args.n_series, args.seed)
    if train.mask is None and test.mask is None:
        log.warning("%s: every series has full length; the length check compares constants", name)
    model, timing = train_or_load(train, args, work)
    t0 = time.perf_counter()
    metrics = evaluate(
        model, train, test=test, runs=args.runs, n_samples=args.n_samples, seed=args.seed,
        fcn_epochs=args.fcn_epochs, cache_dir=args.cache_dir, plot_dir=work / "plots", work_dir=work / "evaluation",
        **sampler_settings(model, args.preset, args.steps),
    )  # fmt: skip
    timing["evaluate_seconds"] = time.perf_counter() - t0
    lengths = train.mask.sum(axis=1) if train.mask is not None else np.full(train.n_series, train.length)
    return {
        "format": FORMAT,
        "dataset": name,
        "status": "ok",
        "settings": settings_of(args),
        "data": {
            **data_summary(train, test),
            "train_lengths": {
                "min": int(lengths.min()),
                "max": int(lengths.max()),
                "mean": float(lengths.mean()),
            },
        },
        "summary": summarise(metrics),
        "metrics": metrics,
        "timing": timing,
        "environment": environment(str(model.device)),
    }


def write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(_finite(record), indent=1) + "\n")
    os.replace(partial, path)  # never a half-written record


def _finite(obj: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    failed = 0
    for name in args.datasets:
        path = args.out / f"{name}.json"
        if path.is_file():
            existing = json.loads(path.read_text())
            if existing.get("settings") != settings_of(args):
                raise SystemExit(
                    f"{path}: written with other settings {existing.get('settings')}; move it away"
                )
            if existing.get("status") == "ok":
                log.info("%s: done, skipping", name)
                continue
        try:
            record = run_dataset(name, args)
        except Exception as err:  # one dataset's failure is recorded; the others still run
            log.exception("%s failed", name)
            failed += 1
            record = {"dataset": name, "status": "error", "settings": settings_of(args), "error": repr(err),
                      "traceback": traceback.format_exc()}  # fmt: skip
        write_json(path, record)
        log.info("%s: %s -> %s", name, record["status"], path)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
