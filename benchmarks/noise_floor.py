"""Noise-floor benchmark: what real data scores under the evaluation protocol, per UCR dataset.

For each dataset it trains (or loads from the cache) the reference FCN with the recipe (1000 epochs) and
writes to ``benchmarks/results/noise_floor.json``:

* TRTR accuracy of the FCN on the test split, beside the thesis's TRTR (its pretrained FCNs);
* IS of the FCN over the real test split (mean and std over 10 splits), beside TimeVQVAE's published IS;
* the noise-floor FID(real train, test reference) and the FID between two random halves of the test
  reference (mean and std over 5 splits): a generator's FID should be read against these;
* n_train, n_test and the FCN's training wall time.

Datasets already in the JSON at the same epoch count are skipped and the file is rewritten after each
dataset, so the script can be rerun until done::

    python benchmarks/noise_floor.py --threads 2
    python benchmarks/noise_floor.py --datasets GunPoint --epochs 2 --results /tmp/nf.json   # smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "noise_floor.json"
UCR_ROOT = Path.home() / ".cache" / "ucr" / "UCRArchive_2018"
DATASETS = [
    "GunPoint",
    "ArrowHead",
    "ItalyPowerDemand",
    "OSULeaf",
    "ECG200",
    "CBF",
    "ECG5000",
    "Coffee",
    "ChlorineConcentration",
]
PUBLISHED = ["thesis_TRTR", "timevqvae_IS", "timevqvae_IS_std", "thesis_uncond_FID", "timevqvae_FID"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, help="UCR dataset names")
    parser.add_argument("--epochs", type=int, default=1000, help="FCN training epochs (recipe: 1000)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=RESULTS, help="output JSON")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="FCN cache (default $TIMEVQVDM_CACHE/fcn)"
    )
    return parser.parse_args()


def environment() -> dict:
    cuda = torch.cuda.is_available()
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def run_dataset(name: str, args: argparse.Namespace) -> dict:
    from timevqvdm.evaluation import noise_floor, published_results

    t0 = time.perf_counter()
    record = noise_floor(name, epochs=args.epochs, cache_dir=args.cache_dir, seed=args.seed)
    record["wall_seconds"] = time.perf_counter() - t0
    row = published_results(name) or {}
    record["published"] = {key: row.get(key) for key in PUBLISHED}
    return record


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    if "TIMEVQVDM_UCR_ROOT" not in os.environ and UCR_ROOT.is_dir():
        os.environ["TIMEVQVDM_UCR_ROOT"] = str(UCR_ROOT)
    results = json.loads(args.results.read_text()) if args.results.is_file() else {}
    results["environment"] = environment()
    done = results.setdefault("datasets", {})
    for name in args.datasets:
        if done.get(name, {}).get("fcn_epochs") == args.epochs:
            logging.info("%s: already in %s, skipped", name, args.results)
            continue
        done[name] = run_dataset(name, args)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=2) + "\n")
        summary = {
            k: done[name].get(k) for k in ("trtr_accuracy", "test_is", "fid_train_test", "fid_half_split")
        }
        logging.info("%s: %s", name, summary)


if __name__ == "__main__":
    main()
