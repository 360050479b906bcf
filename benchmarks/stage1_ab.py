"""Stage 1 with and without the full-width stem (issue 26, item 4): does the cheaper tokenizer reconstruct as well?

For each dataset, seed and variant (``tokenizer.full_width_stem`` true or false, everything else the
`best` preset), fit stage 1 alone as `TimeVQVDM.fit` trains it (validation-stopped) and record: the
reconstruction MSE of the held-out part of the training split (the part the stop is decided on; the figure
the choice is made on), of the training part, and of the test split (a check, never used to choose), each in
normalised units per band and of the summed series (`stage1.reconstruction_errors`); the kept and last
steps, the training seconds and the parameters per band. Writes after every fit, and skips the fits already
in the file, so an interrupted run continues where it stopped::

    python benchmarks/stage1_ab.py --datasets GunPoint ArrowHead --seeds 0 1 2
    python benchmarks/stage1_ab.py --datasets GunPoint --seeds 0 --epochs 2 --out /tmp/ab.json   # smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import torch

from common import environment
from stage1 import reconstruction_errors
from timevqvdm import TimeVQVDM, get_preset, load_dataset
from timevqvdm.data.split import split_validation
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
VARIANTS = {"stem": True, "no_stem": False}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["GunPoint"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, default=None, help="override the stage-1 epoch budget")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "stage1-stem-ab.json")
    return parser.parse_args(argv)


def fit_one(name: str, seed: int, full_width_stem: bool, epochs: int | None) -> dict:
    """Stage 1 of `best` with one stem setting; its reconstruction errors on the three parts."""
    cfg = get_preset("best")
    cfg.seed = seed
    cfg.tokenizer = dataclasses.replace(cfg.tokenizer, full_width_stem=full_width_stem)
    if epochs is not None:
        cfg.stage1 = dataclasses.replace(cfg.stage1, epochs=epochs, max_steps=None)
    train = load_dataset(name, split="train")
    test = load_dataset(name, split="test", stats=train.stats, classes=train.classes)
    train_part, val_part = split_validation(train, fraction=cfg.validation.fraction, seed=cfg.seed)
    t0 = time.perf_counter()
    model = TimeVQVDM(config=cfg, progress=False).fit(train, stages=(1,))
    seconds = time.perf_counter() - t0
    tokenizer = model.tokenizer.eval()

    def errors(dataset) -> dict:
        return reconstruction_errors(tokenizer, torch.as_tensor(dataset.X, dtype=torch.float32))

    history = model.history["stage1"]
    return {
        "seconds": seconds,
        "stop": history["stop"],
        "steps": history.get("steps"),
        # Counted here: the fitted tokenizer is frozen, so its own count of trainable parameters is zero.
        "n_parameters": {
            band: sum(p.numel() for p in vqvae.parameters()) for band, vqvae in tokenizer.bands.items()
        },
        "mse_validation": errors(val_part),
        "mse_train_part": errors(train_part),
        "mse_test": errors(test),
    }


def summarise(fits: dict) -> dict:
    """Per dataset: each variant's median held-out and test MSE (total) over its seeds, and their ratios."""
    out = {}
    for name, by_variant in fits.items():
        row = {}
        for variant, by_seed in by_variant.items():
            runs = list(by_seed.values())
            row[variant] = {
                "seeds": len(runs),
                "median_mse_validation": statistics.median(r["mse_validation"]["total"] for r in runs),
                "median_mse_test": statistics.median(r["mse_test"]["total"] for r in runs),
                "median_seconds": statistics.median(r["seconds"] for r in runs),
            }
        if set(row) == set(VARIANTS):
            for key in ("median_mse_validation", "median_mse_test", "median_seconds"):
                row[f"no_stem_over_stem_{key.removeprefix('median_')}"] = (
                    row["no_stem"][key] / row["stem"][key]
                )
        out[name] = row
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    results = json.loads(args.out.read_text()) if args.out.exists() else {"fits": {}}
    fits = results["fits"]
    for name in args.datasets:
        for seed in args.seeds:
            for variant, full_width_stem in VARIANTS.items():
                done = fits.setdefault(name, {}).setdefault(variant, {})
                if str(seed) in done:
                    continue
                done[str(seed)] = fit_one(name, seed, full_width_stem, args.epochs)
                results["environment"] = environment("cpu")
                results["preset"] = "best"
                results["summary"] = summarise(fits)
                save_json(args.out, results)
                r = done[str(seed)]
                print(
                    f"{name} seed {seed} {variant}: held-out MSE {r['mse_validation']['total']:.5f}, "
                    f"test {r['mse_test']['total']:.5f}, kept step {r['stop']['best_step']}, "
                    f"{r['seconds']:.0f} s",
                    flush=True,
                )
    return results


if __name__ == "__main__":
    main()
