"""Validation curves over a whole training budget: where would a stop rule land, and what does it trade?

Trains a preset's model with the validation checks on but nothing allowed to stop (patience beyond the
budget, copy threshold 1), so every evaluation of the full budget is recorded: stage 1's held-out
reconstruction loss, and for each prior its held-out denoising loss, copy share, and FID to the held-out and
training parts (random-FCN features). Only training data is used: the held-out part is part of the training
split. The output JSON is what stop rules are chosen from (`ValidationConfig`)::

    python benchmarks/validation_curves.py --dataset CBF --out benchmarks/results/validation-curves/CBF.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from timevqvdm import TimeVQVDM, get_preset
from timevqvdm.data import load_dataset

ROOT = Path(__file__).resolve().parent
NEVER = 10**9


def curve_config(preset: str, every: int, novelty_samples: int):
    """The preset with its validation checks recording every ``every`` steps and never stopping."""
    config = get_preset(preset)
    validation = dataclasses.replace(
        config.validation,
        enabled=True,
        stage1_every=every,
        stage2_every=every,
        stage1_patience=NEVER,
        stage2_patience=NEVER,
        copy_threshold=1.0,
        novelty_samples=novelty_samples,
    )
    return config.replace(validation=validation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--novelty-samples", type=int, default=256)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=None, help="default: benchmarks/work/curves/NAME")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = args.work or ROOT / "work" / "curves" / args.dataset
    config = curve_config(args.preset, args.every, args.novelty_samples)
    train = load_dataset(args.dataset, split="train")
    start = time.perf_counter()
    model = TimeVQVDM(config=config, progress=False).fit(train, run_dir=work / "runs", resume=True)
    seconds = time.perf_counter() - start
    model.save(work / "model", overwrite=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "dataset": args.dataset,
        "preset": args.preset,
        "validation": dataclasses.asdict(config.validation),
        "train_seconds": seconds,
        "history": model.history,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
