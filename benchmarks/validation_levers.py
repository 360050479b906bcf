"""Fit `best` on a dataset's training split with one setting changed and print where validation stopped.

Issue 23, item 7 (levers under the validation-driven stop): only training and held-out data are used, no
test split. Prints JSON: training seconds, each network's stop, per prior check
``(step, held-out denoising loss, copy share, held-out FID in random-FCN features, copy limit)``, and a
reading of the fitted model (``final``): 512 series drawn at the default sampling settings, their FID against
the whole training split in the reference FCN's features (trained on the training split, as the benchmark's),
the same FID of the training split's two random halves, and the copy share against the training part with the
held-out part as the unseen reference (the novelty check's rule)::

    python benchmarks/validation_levers.py ECGFiveDays /tmp/out > base.json
    python benchmarks/validation_levers.py ECGFiveDays /tmp/out stage2.ema_decay=0.995 > ema.json
    python benchmarks/validation_levers.py GunPoint /tmp/out prior.lf_channels=32,64,128 > small.json
    python benchmarks/validation_levers.py GunPoint /tmp/out seed=1 > seed1.json   # another draw of everything
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import torch

from timevqvdm import TimeVQVDM, get_preset, load_dataset
from timevqvdm.data.split import split_validation
from timevqvdm.evaluation.fcn import fcn_outputs, get_fcn
from timevqvdm.evaluation.memorisation import memorisation
from timevqvdm.evaluation.metrics import fid
from timevqvdm.evaluation.protocol import half_split_fid
from timevqvdm.fitting import network_names
from timevqvdm.validation import copy_limit

FINAL_SAMPLES = 512


def parse(current, value: str):
    """`value` as the type of the setting it replaces: "32,64" for a tuple of ints."""
    if isinstance(current, tuple):
        return tuple(int(v) for v in value.split(","))
    if isinstance(current, bool):
        return value.lower() in ("1", "true", "yes")
    return (type(current) if current is not None else float)(value)


def final_reading(model: TimeVQVDM, train) -> dict:
    cfg = model.config
    train_part, val_part = split_validation(train, fraction=cfg.validation.fraction, seed=cfg.seed)
    samples = model.sample(FINAL_SAMPLES, seed=0)
    x = train.normalise(samples.to_original_units(samples.X.astype("float64")))
    fcn = get_fcn(train)
    feats, _ = fcn_outputs(fcn, x)
    feats_train, _ = fcn_outputs(fcn, train.X)
    floor, _ = half_split_fid(feats_train)
    m = memorisation(x, train_part.X, val_part.X, pool_train=True)
    n_reference = train_part.n_series + val_part.n_series
    return {
        "fid_train": fid(feats, feats_train),
        "fid_half_split": floor,
        "fid_over_half_split": fid(feats, feats_train) / floor,
        "copy_share": m["copy_share"],
        "copy_limit": copy_limit(cfg.validation.copy_threshold, n_reference),
        "median_ratio": m["median_ratio"],
    }


def main(name: str, out: str, overrides: list[str]) -> None:
    torch.set_num_threads(2)
    train = load_dataset(name, split="train")
    cfg = get_preset("best")
    for override in overrides:
        key, value = override.split("=")
        if "." not in key:  # a top-level setting, e.g. seed=1 (the held-out part, the weights, the draws)
            setattr(cfg, key, parse(getattr(cfg, key), value))
            continue
        section, field = key.split(".")
        current = getattr(getattr(cfg, section), field)
        setattr(cfg, section, dataclasses.replace(getattr(cfg, section), **{field: parse(current, value)}))
    t0 = time.perf_counter()
    model = TimeVQVDM(config=cfg, progress=False).fit(train, run_dir=f"{out}/runs")
    summary: dict = {"dataset": name, "overrides": overrides, "seconds": time.perf_counter() - t0}
    for stage in network_names(model.config.validation):
        history = model.history[stage]
        summary[stage] = history["stop"]
        if stage != "stage1":
            summary[stage + "_curve"] = [
                (
                    r["step"],
                    round(r["val_loss"], 4),
                    round(r["copy_share"], 3),
                    round(r["val_fid"], 2),
                    r["copy_limit"],
                )
                for r in history["validation"]
            ]
    summary["final"] = final_reading(model, train)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
