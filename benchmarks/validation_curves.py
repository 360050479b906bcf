"""Validation curves over a whole training budget: where would a stop rule land, and what does it trade?

Trains a preset's model with the validation checks on and the priors not allowed to stop (patience beyond
the budget, copy threshold 1), so every evaluation of their full budget is recorded: held-out denoising
loss, copy share, and FID to the held-out and training parts (random-FCN features). Stage 1 stops by the
`best` preset's rule (``--stage1-full``: it records its whole budget too). Only training data is used: the held-out part is part of the training
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
from timevqvdm.evaluation import plot_validation_curves

ROOT = Path(__file__).resolve().parent
NEVER = 10**9


def curve_config(preset: str, every: int, novelty_samples: int, stage1_full: bool):
    """The preset with its validation checks recording every ``every`` steps; the priors never stop, stage 1
    stops by the `best` preset's rule unless ``stage1_full``."""
    config = get_preset(preset)
    stage1 = get_preset("best").validation
    validation = dataclasses.replace(
        stage1,
        enabled=True,
        stage1_patience=NEVER if stage1_full else stage1.stage1_patience,
        stage2_every=every,
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
    parser.add_argument("--stage1-full", action="store_true", help="record stage 1's whole budget too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = args.work or ROOT / "work" / "curves" / args.dataset
    config = curve_config(args.preset, args.every, args.novelty_samples, args.stage1_full)
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
    plot_curves(args.out)


def plot_curves(record_file: Path) -> Path:
    """The record's curves as a PNG beside it (the threshold line at `best`'s copy threshold)."""
    record = json.loads(record_file.read_text())
    threshold = get_preset("best").validation.copy_threshold
    title = f"{record['dataset']}: {record['preset']} budget, held-out checks (nothing stopped the priors)"
    return plot_validation_curves(
        record["history"], record_file.with_suffix(".png"), copy_threshold=threshold, title=title
    )


if __name__ == "__main__":
    main()
