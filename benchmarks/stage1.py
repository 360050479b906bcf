"""Stage-1 benchmark: train the LF/HF VQ-VAE pair per UCR dataset and record reconstruction quality.

For each dataset it trains the preset's stage 1 (resumable, run folder
``benchmarks/work/<preset>/models/<name>/runs/stage1``, the same place `TimeVQVDM.fit` puts it, so the
full-model benchmarks reuse this stage 1),
then writes to ``benchmarks/results/stage1.json``:

* test (and train) reconstruction MSE in normalised units: LF, HF and total ``MSE(x, x_lf_hat + x_hf_hat)``;
* codebook perplexity and share of codebook entries used per band (test set);
* parameter counts, latent shapes, wall time, the trainer's median step time and the median step time at
  batch 128 (20 extra steps on a copy of the trained model, so the recorded model is untouched);
* torch version, thread count, CPU name and device.

Datasets already in the JSON are skipped, and an interrupted dataset resumes from its checkpoint, so the
script can be rerun until done::

    python benchmarks/stage1.py --threads 2
    python benchmarks/stage1.py --datasets GunPoint --epochs 1   # smoke run
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from common import environment
from timevqvdm.config import get_preset
from timevqvdm.data import load_dataset
from timevqvdm.tokenizer import BANDS, FrequencyTokenizer, build_tokenizer
from timevqvdm.training import Trainer
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "stage1.json"
WORK = ROOT / "work"
DATASETS = ["GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "ECG200", "CBF", "ECG5000"]
TIMING_BATCH = 128
TIMING_STEPS = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, help="UCR dataset names")
    parser.add_argument("--preset", default="paper", help="config preset (paper, quick, tiny)")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's stage-1 epochs")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--results", type=Path, default=RESULTS, help="output JSON")
    parser.add_argument("--work", type=Path, default=WORK, help="folder of the per-dataset run folders")
    return parser.parse_args()


def load_results(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {"environment": {}, "datasets": {}}


def save_results(path: Path, results: dict) -> None:
    save_json(path, results)  # write-then-rename: an interrupted run never leaves a truncated JSON


@torch.no_grad()
def reconstruction_errors(tokenizer: FrequencyTokenizer, x: torch.Tensor, batch_size: int = 256) -> dict:
    """Mean squared errors of ``x (n, C, L)`` in normalised units: per band and of the summed series."""
    device = next(tokenizer.parameters()).device
    totals = {"lf": 0.0, "hf": 0.0, "total": 0.0}
    for chunk in x.split(batch_size):
        chunk = chunk.to(device)
        parts = tokenizer.split(chunk)
        x_lf_hat, x_hf_hat = tokenizer.reconstruct(chunk)
        weight = len(chunk) / len(x)
        totals["lf"] += weight * F.mse_loss(x_lf_hat, parts["x_lf"]).item()
        totals["hf"] += weight * F.mse_loss(x_hf_hat, parts["x_hf"]).item()
        totals["total"] += weight * F.mse_loss(x_lf_hat + x_hf_hat, chunk).item()
    return totals


def step_time_at_batch(tokenizer: FrequencyTokenizer, data: dict[str, torch.Tensor], seed: int) -> float:
    """Median seconds of a training step (forward, backward, AdamW) at batch 128, on a copy of the model.

    Small training sets are drawn with replacement so every dataset is timed at the same batch size.
    """
    model = copy.deepcopy(tokenizer).train()
    device = next(model.parameters()).device
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(seed)
    n = len(next(iter(data.values())))
    times = []
    for step in range(TIMING_STEPS + 3):  # three warm-up steps
        index = torch.randint(n, (TIMING_BATCH,), generator=generator)
        batch = {k: v[index].to(device) for k, v in data.items()}
        _sync(device)
        start = time.perf_counter()
        loss, _ = model.training_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _sync(device)
        if step >= 3:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _finite(value: float) -> float | None:
    # A run resumed from a finished checkpoint takes no step: NaN would make the file invalid JSON.
    return value if math.isfinite(value) else None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_dataset(name: str, args: argparse.Namespace) -> dict:
    config = get_preset(args.preset)
    train_cfg = config.stage1
    if args.epochs is not None:
        train_cfg = dataclasses.replace(train_cfg, epochs=args.epochs, max_steps=None)
    if args.threads is not None:
        train_cfg = dataclasses.replace(train_cfg, num_threads=args.threads)

    train, test = load_dataset(name, "train"), load_dataset(name, "test")
    x_train = torch.as_tensor(train.X, dtype=torch.float32)
    x_test = torch.as_tensor(test.X, dtype=torch.float32)
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ValueError(
            f"{name}: test shape {tuple(x_test.shape)} differs from train {tuple(x_train.shape)}"
        )
    _, n_channels, length = x_train.shape

    torch.manual_seed(config.seed)
    tokenizer = build_tokenizer(length, n_channels, config.frequency, config.tokenizer)
    data = tokenizer.split(x_train)  # once per data set, not per step

    start = time.perf_counter()
    trainer = Trainer(
        tokenizer,
        train_cfg,
        args.work / args.preset / "models" / name / "runs" / "stage1",
        seed=config.seed,
        desc=f"stage1 {name}",
    )
    result = trainer.fit(data, resume=True)
    wall_time = time.perf_counter() - start

    tokenizer.eval()
    return {
        "preset": args.preset,
        "epochs": train_cfg.epochs,
        "steps": result.steps,
        "resumed_from_step": result.resumed_from,
        "final_loss": _finite(result.final_loss),
        "n_train": len(x_train),
        "n_test": len(x_test),
        "n_channels": n_channels,
        "length": length,
        "latent_shapes": {band: list(shape) for band, shape in tokenizer.latent_shapes.items()},
        "n_downsample": {band: tokenizer.bands[band].n_down for band in BANDS},
        "n_parameters": tokenizer.n_parameters(),
        "mse_test": reconstruction_errors(tokenizer, x_test),
        "mse_train": reconstruction_errors(tokenizer, x_train),
        "codebook_test": tokenizer.codebook_usage(x_test.to(next(tokenizer.parameters()).device)),
        "threads": torch.get_num_threads(),
        "wall_time_s": wall_time,
        "median_step_time_s": _finite(result.median_step_time),
        "median_step_time_b128_s": step_time_at_batch(tokenizer, data, config.seed),
    }


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    results = load_results(args.results)
    for name in args.datasets:
        if name in results["datasets"]:
            print(f"{name}: already in {args.results}, skipped")
            continue
        record = run_dataset(name, args)
        results["datasets"][name] = record
        results["environment"] = environment("cuda" if torch.cuda.is_available() else "cpu")
        save_results(args.results, results)
        mse = record["mse_test"]
        print(
            f"{name}: test MSE lf={mse['lf']:.4f} hf={mse['hf']:.4f} total={mse['total']:.4f}, "
            f"{record['wall_time_s']:.0f}s, {record['median_step_time_b128_s'] * 1e3:.1f} ms/step at b128"
        )


if __name__ == "__main__":
    main()
