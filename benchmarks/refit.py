"""Refit or not? Measured on training data only (validation-driven training, ValidationConfig.refit).

For one dataset's training split, an outer part V (a fifth of each class, seed 100) is set aside and never
trained on. On the rest R, model A is the preset trained with its validation checks (its own held-out part,
inside R, decides every stop); model B is A refitted: every network trained again on all of R for the step
count A kept. Both are scored against V with the same samples' settings (the preset's defaults, 1024 series,
two seeds): copy share and median distance ratio (`evaluation.memorisation`, training set R, reference V),
and FID to V and to R in the features of a random FCN fitted on R. B reuses A's finished runs (resume), so
only the refit trains anew::

    python benchmarks/refit.py --dataset CBF --out benchmarks/results/refit/CBF.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from timevqvdm import TimeVQVDM, get_preset
from timevqvdm.data import load_dataset
from timevqvdm.data.split import split_validation
from timevqvdm.evaluation.fcn import fcn_outputs
from timevqvdm.evaluation.memorisation import memorisation
from timevqvdm.evaluation.metrics import fid
from timevqvdm.evaluation.protocol import random_feature_fcn
from timevqvdm.fitting import network_names

ROOT = Path(__file__).resolve().parent
OUTER_SEED = 100


def score(model: TimeVQVDM, rest, outer, n: int, seeds: list[int]) -> dict:
    """Copy share, median ratio and FIDs of ``n`` samples per seed against the outer part (mean over seeds)."""
    fcn = random_feature_fcn(rest.X, seed=0)
    feats_rest, _ = fcn_outputs(fcn, rest.X)
    feats_outer, _ = fcn_outputs(fcn, outer.X)
    runs = []
    for seed in seeds:
        x = rest.normalise(model.sample(n, seed=seed).X)
        copies = memorisation(x, rest.X, outer.X)
        feats, _ = fcn_outputs(fcn, x)
        runs.append({
            "copy_share": copies["copy_share"], "median_ratio": copies["median_ratio"],
            "fid_outer": fid(feats, feats_outer), "fid_rest": fid(feats, feats_rest),
        })  # fmt: skip
    return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]} | {"runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--preset", default="best")
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=None, help="default: benchmarks/work/refit/NAME")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = args.work or ROOT / "work" / "refit" / args.dataset
    config = get_preset(args.preset)
    if not config.validation.enabled:
        raise SystemExit(f"preset {args.preset!r} trains without validation checks: nothing to refit")
    train = load_dataset(args.dataset, split="train")
    rest, outer = split_validation(train, fraction=config.validation.fraction, seed=OUTER_SEED)
    record = {
        "dataset": args.dataset,
        "preset": args.preset,
        "n_rest": rest.n_series,
        "n_outer": outer.n_series,
    }
    for name, refit in (("held_out", False), ("refit", True)):
        cfg = config.replace(validation=dataclasses.replace(config.validation, refit=refit))
        start = time.perf_counter()
        model = TimeVQVDM(config=cfg, progress=False).fit(rest, run_dir=work / "runs", resume=True)
        seconds = time.perf_counter() - start
        names = network_names(model.config.validation)
        steps = {k: model.history[k].get("refit", model.history[k])["steps"] for k in names}
        record[name] = {"train_seconds": seconds, "steps": steps, **score(model, rest, outer, args.n, [0, 1])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
