"""Stage 1 with and without the full-width stem (issue 26, item 4): does the cheaper tokenizer reconstruct as well?

For each dataset, seed and variant (``tokenizer.full_width_stem`` true or false, everything else the
preset's), fit stage 1 alone as `TimeVQVDM.fit` trains it and record: with `best` (validation-stopped), the
reconstruction MSE of the held-out part of the training split (the part the stop is decided on; the figure
the choice is made on) and of the training part; with a preset that trains on the whole training split
(`paper`), its MSE; in both, the test split's (a check, never used to choose). Each MSE is in normalised
units, per band and of the summed series (`stage1.reconstruction_errors`). Also the kept and last steps,
the training seconds and the parameters per band; with three or more seeds per variant, whether the
variants' MSEs differ by more than the spread between seeds (`seed_noise`). Writes after every fit, and
skips the fits already in the file, so an interrupted run continues where it stopped::

    python benchmarks/stage1_ab.py --datasets GunPoint ArrowHead --seeds 0 1 2
    python benchmarks/stage1_ab.py --preset paper --datasets GunPoint --seeds 0 1 \\
        --out benchmarks/results/stage1-stem-ab-paper.json
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
from scipy import stats

from common import environment
from stage1 import reconstruction_errors
from timevqvdm import TimeVQVDM, get_preset, load_dataset
from timevqvdm.data.split import split_validation
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
VARIANTS = {"stem": True, "no_stem": False}
MIN_SEEDS = 3  # the fewest runs per variant that `seed_noise` tests


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["GunPoint"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--preset", default="best")
    parser.add_argument("--epochs", type=int, default=None, help="override the stage-1 epoch budget")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "stage1-stem-ab.json")
    return parser.parse_args(argv)


def fit_one(name: str, seed: int, full_width_stem: bool, epochs: int | None, preset: str = "best") -> dict:
    """Stage 1 of `preset` with one stem setting; its reconstruction errors on the parts it names."""
    cfg = get_preset(preset)
    cfg.seed = seed
    cfg.tokenizer = dataclasses.replace(cfg.tokenizer, full_width_stem=full_width_stem)
    if epochs is not None:
        cfg.stage1 = dataclasses.replace(cfg.stage1, epochs=epochs, max_steps=None)
    train = load_dataset(name, split="train")
    test = load_dataset(name, split="test", stats=train.stats, classes=train.classes)
    t0 = time.perf_counter()
    model = TimeVQVDM(config=cfg, progress=False).fit(train, stages=(1,))
    seconds = time.perf_counter() - t0
    tokenizer = model.tokenizer.eval()

    def errors(dataset) -> dict:
        return reconstruction_errors(tokenizer, torch.as_tensor(dataset.X, dtype=torch.float32))

    history = model.history["stage1"]
    record = {
        "seconds": seconds,
        "stop": history.get("stop"),
        "steps": history.get("steps"),
        # Counted here: the fitted tokenizer is frozen, so its own count of trainable parameters is zero.
        "n_parameters": {
            band: sum(p.numel() for p in vqvae.parameters()) for band, vqvae in tokenizer.bands.items()
        },
        "mse_test": errors(test),
    }
    if cfg.validation.enabled:
        train_part, val_part = split_validation(train, fraction=cfg.validation.fraction, seed=cfg.seed)
        record["mse_validation"] = errors(val_part)
        # The held-out loss at every check, to compare the variants at equal steps as well as at their stops.
        record["validation_curve"] = [(r["step"], r["val_loss"]) for r in history["validation"]]
        record["mse_train_part"] = errors(train_part)
    else:
        record["mse_train"] = errors(train)
    return record


def summarise(fits: dict) -> dict:
    """Per dataset: each variant's median MSEs (total) and seconds over its seeds, and their ratios."""
    out = {}
    for name, by_variant in fits.items():
        row = {}
        for variant, by_seed in by_variant.items():
            runs = list(by_seed.values())
            row[variant] = {"seeds": len(runs)}
            for part in ("mse_validation", "mse_train", "mse_test"):
                if all(part in r for r in runs):
                    row[variant][f"median_{part}"] = statistics.median(r[part]["total"] for r in runs)
            row[variant]["median_seconds"] = statistics.median(r["seconds"] for r in runs)
        if set(row) == set(VARIANTS):
            for key in sorted(set(row["stem"]) & set(row["no_stem"]) - {"seeds"}):
                ratio = row["no_stem"][key] / row["stem"][key]
                row[f"no_stem_over_stem_{key.removeprefix('median_')}"] = ratio
            row["seed_noise"] = seed_noise(by_variant)
        out[name] = row
    return out


def seed_noise(by_variant: dict) -> dict:
    """Is the variants' difference in each MSE larger than the spread between seeds?

    Per MSE (total) measured in every run, with at least `MIN_SEEDS` seeds per variant: each variant's runs,
    mean and standard deviation, and two two-sided tests of "same distribution", Welch's t-test and the
    Mann-Whitney U test. The difference is within seed noise when Welch's p is at least 0.05 (with a handful
    of seeds the Mann-Whitney test can reject only when every run of one variant beats every run of the
    other, so it is reported, not ruled on).
    """
    out = {}
    for part in ("mse_validation", "mse_train", "mse_test"):
        runs = {v: [r[part]["total"] for r in by_variant[v].values() if part in r] for v in VARIANTS}
        if any(len(values) < MIN_SEEDS or len(values) < len(by_variant[v]) for v, values in runs.items()):
            continue
        welch = stats.ttest_ind(runs["no_stem"], runs["stem"], equal_var=False)
        mann_whitney = stats.mannwhitneyu(runs["no_stem"], runs["stem"], alternative="two-sided")
        out[part] = {
            **{
                v: {"runs": values, "mean": statistics.mean(values), "std": statistics.stdev(values)}
                for v, values in runs.items()
            },
            "welch_p": float(welch.pvalue),
            "mann_whitney_p": float(mann_whitney.pvalue),
            "within_seed_noise": bool(welch.pvalue >= 0.05),
        }
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
                done[str(seed)] = fit_one(name, seed, full_width_stem, args.epochs, args.preset)
                results["environment"] = environment("cpu")
                results["preset"] = args.preset
                results["summary"] = summarise(fits)
                save_json(args.out, results)
                r = done[str(seed)]
                fitted = r.get("mse_validation", r.get("mse_train"))
                print(
                    f"{name} seed {seed} {variant}: held-out (or training) MSE {fitted['total']:.5f}, "
                    f"test {r['mse_test']['total']:.5f}, steps {r['steps']}, stop {r['stop']}, "
                    f"{r['seconds']:.0f} s",
                    flush=True,
                )
    if args.out.exists():  # the summary of the file as it stands (its rules may be newer than its fits)
        results["summary"] = summarise(fits)
        save_json(args.out, results)
    return results


if __name__ == "__main__":
    main()
