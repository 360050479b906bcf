"""Retrain stage 2 of a benchmark model with one training lever changed (issue: benchmarks, quality levers).

The variant keeps the base model's stage 1 (tokenizer, scalers' inputs and data normalisation), so any
change in FID comes from the priors alone. Variants:

* ``v``: velocity prediction (v = alpha eps - sigma z_0) instead of the thesis's noise prediction;
* ``ema``: an exponential moving average of the priors' weights, decay 0.99. The `paper` recipe on a small
  training split is one step per epoch, 1000 steps in all: at 0.999 the average would still hold
  exp(-1) = 37% of the random initial weights, so the horizon is set to the last ~100 steps.

Training resumes from the variant's checkpoints; score the result with levers.py::

    python benchmarks/train_variant.py --dataset GunPoint --variant v
    python benchmarks/levers.py --dataset GunPoint --model benchmarks/work/variants/GunPoint-v \\
        --out benchmarks/results/levers-GunPoint-v.json --sweeps core
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from timevqvdm import TimeVQVDM
from timevqvdm.config import TimeVQVDMConfig
from timevqvdm.data import load_dataset

ROOT = Path(__file__).resolve().parent
EMA_DECAY = 0.99


def variant_config(config: TimeVQVDMConfig, variant: str) -> TimeVQVDMConfig:
    """The base config with one stage-2 lever changed."""
    if variant == "v":
        return config.replace(prior=dataclasses.replace(config.prior, prediction="v"))
    if variant == "ema":
        return config.replace(stage2=dataclasses.replace(config.stage2, ema_decay=EMA_DECAY))
    raise ValueError(f"unknown variant {variant!r}; known: v, ema")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--variant", required=True, choices=["v", "ema"])
    parser.add_argument("--base", type=Path, default=None, help="default: benchmarks/work/paper/models/NAME")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/work/variants/NAME-VARIANT"
    )
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = args.base or ROOT / "work" / "paper" / "models" / args.dataset
    out = args.out or ROOT / "work" / "variants" / f"{args.dataset}-{args.variant}"
    model = TimeVQVDM.load(base)
    model.config = variant_config(model.config, args.variant)
    start = time.perf_counter()
    run_dir = out / "runs"
    model.fit(load_dataset(args.dataset), stages=(2,), run_dir=run_dir, resume=run_dir.exists())
    model.save(out, overwrite=True)
    print(f"{args.dataset} {args.variant}: stage 2 in {time.perf_counter() - start:.0f} s -> {out}")


if __name__ == "__main__":
    main()
