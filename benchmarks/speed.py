"""Speed benchmark: training and sampling cost of the `paper` architecture, and how it grows with the work.

Writes ``benchmarks/results/speed-<device>.json``:

* stage-1 and stage-2 training step time at batch 128 (series of length 150);
* sampling throughput (series/s) for both samplers at the default preset's settings;
* the U-Net forward pass: FLOPs (`torch.utils.flop_counter`), achieved FLOP/s in fp32 and bf16, and that as a
  share of the matrix-multiply peak measured in the same run;
* scaling: step time and peak memory for series of length 150, 500, 1500 and 3000, and sampling time for
  256, 1024 and 4096 series, each with the ratio to the smallest case (nothing may grow faster than
  linearly: `scaling_exponents` holds the fitted log-log slope of each, 1 being linear); and the peak memory of
  sampling 4096 series of length 3000 (must fit in 8 GB on a CPU; one draw).
  Times are medians of --repeats draws after a warm-up; the count ratios come from draws interleaved in one
  process (`by_count_interleaved`), so a shared machine's changing load tilts them less.

Weights are random (timing does not depend on them): each measurement builds the paper architecture (the
default preset's, which shares it) with a one-step fit on synthetic data. Every case runs in a fresh
subprocess, so its peak resident memory is its own; finished cases are kept under work/, so a rerun resumes.

    python benchmarks/speed.py --threads 2            # CPU
    python benchmarks/speed.py --device cuda          # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common import (
    environment,
    matmul_peak,
    median_time,
    stage2_step_times,
    synchronize,
    trainable_copy,
    unet_forward_stats,
)
from timevqvdm import TimeVQVDM
from timevqvdm.config import DEFAULT_PRESET, get_preset
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
LENGTHS = (150, 500, 1500, 3000)
COUNTS = (256, 1024, 4096)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--sample-steps", type=int, default=None, help="steps for the count scaling (default: model's)"
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    parser.add_argument("--long", type=int, nargs=2, default=[4096, 3000], metavar=("N", "LENGTH"))
    parser.add_argument(
        "--cases",
        type=Path,
        default=None,
        help="finished-cases file to resume from (default: work/speed-cases-<device>.json)",
    )
    parser.add_argument(
        "--no-run",
        action="store_true",
        help="only assemble the JSON from finished cases (e.g. ones fetched back from a lent GPU whose time"
        " ran out); a missing case is recorded as not measured",
    )
    parser.add_argument(
        "--gpu-name", default=None, help="with --no-run: the GPU's name, where the cases did not record it"
    )
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)  # internal: run one case, print JSON
    return parser.parse_args(argv)


def paper_model(length: int, device: str, n_classes: int = 2) -> TimeVQVDM:
    """The paper architecture for `length`, fitted for one step on synthetic series (random-ish weights)."""
    config = get_preset(DEFAULT_PRESET)  # the paper architecture, with the default sampling settings
    for stage in (config.stage1, config.stage2):
        stage.max_steps = 1
        stage.accelerator = "cuda" if device.startswith("cuda") else "cpu"
    rng = np.random.default_rng(0)
    n = 16
    t = np.linspace(0, 8 * np.pi, length)
    X = np.sin(t[None, :] + rng.uniform(0, 6, (n, 1))) + 0.1 * rng.normal(size=(n, length))
    y = np.arange(n) % n_classes
    return TimeVQVDM(config=config, device=device, progress=False).fit(X.astype(np.float32), y)


def stage1_step(model: TimeVQVDM, batch: int, device: str, repeats: int) -> float:
    tokenizer = trainable_copy(model.tokenizer)  # the model's own is sampled from later
    params = list(tokenizer.parameters())
    x = torch.randn(batch, model.data_info.n_channels, model.data_info.length, device=device)
    split = tokenizer.split(x)
    optimizer = torch.optim.AdamW(params, lr=0.0)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss, _ = tokenizer.training_loss(split)
        loss.backward()
        optimizer.step()
        synchronize(device)

    return median_time(step, repeats)


def peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ------------------------------------------------------------------------------------------------ the cases
def case_length(length: int, device: str, repeats: int) -> dict:
    model = paper_model(length, device)
    return {
        "length": length,
        "latent_shapes": {k: list(v) for k, v in model.tokenizer.latent_shapes.items()},
        "stage1_step_s_b128": stage1_step(model, 128, device, repeats),
        "stage2_step_s_b128": stage2_step_times(model, 128, device, repeats),
        "peak_memory_mb": peak_memory_mb(device),
    }


def case_sampling(
    length: int, n: int, sampler: str, steps: int | None, device: str, repeats: int, warmup: int = 1
) -> dict:
    """Median wall time of drawing `n` series over `repeats` draws after `warmup` untimed ones.

    One cold draw mixes one-off costs (allocator growth, first-call dispatch) into the figure and is at the
    mercy of a neighbour on a shared machine; the count scaling compares these times, so each is a median.
    """
    model = paper_model(length, device)
    steps = steps or model.config.sampling.steps
    last: list[np.ndarray] = []

    def draw():
        last[:] = [model.sample(n, None, steps=steps, sampler=sampler, seed=0).X]
        synchronize(device)

    seconds = median_time(draw, repeats, warmup=warmup)
    return {
        "length": length,
        "n": n,
        "sampler": sampler,
        "steps": steps,
        "seconds": seconds,
        "repeats": repeats,
        "series_per_second": n / seconds,
        "finite": bool(np.isfinite(last[0]).all()),
        "peak_memory_mb": peak_memory_mb(device),
    }


def case_count_rounds(counts: list[int], steps: int | None, device: str, repeats: int) -> dict:
    """Sampling time for each count, the counts interleaved in one process: the count-scaling ratios.

    Cases in separate processes run minutes apart, so on a shared machine their ratio carries the change in
    load between them. Here each of `repeats` rounds draws every count once (the order rotated per round), so
    all counts see the same load, and each count's figure is its median over the rounds.
    """
    model = paper_model(150, device)
    steps = steps or model.config.sampling.steps
    model.sample(counts[0], None, steps=steps, seed=0)  # warm-up: one-off allocations and dispatch
    runs: dict[int, list[float]] = {n: [] for n in counts}
    for r in range(repeats):
        shift = r % len(counts)
        for n in counts[shift:] + counts[:shift]:
            t0 = time.perf_counter()
            model.sample(n, None, steps=steps, seed=0)
            synchronize(device)
            runs[n].append(time.perf_counter() - t0)
    rows = []
    for n in counts:
        seconds = statistics.median(runs[n])
        rows.append({"n": n, "seconds": seconds, "seconds_runs": runs[n], "series_per_second": n / seconds})
    return {"steps": steps, "rounds": repeats, "rows": rows}


def case_unet(device: str) -> dict:
    model = paper_model(150, device)
    peaks = {"fp32": matmul_peak(device, torch.float32), "bf16": matmul_peak(device, torch.bfloat16)}
    return {
        "environment": environment(device),
        "matmul_peak_gflops": {k: v / 1e9 for k, v in peaks.items()},
        "unet": unet_forward_stats(model, device, peaks),
    }


def run_case(case: dict, args: argparse.Namespace) -> dict:
    """Run one case in a fresh interpreter so its peak memory is its own.

    Finished cases are kept in ``work/speed-cases-<device>.json`` (with the thread count), so an interrupted
    run resumes where it stopped; failed cases are retried.
    """
    # A case's own "repeats" (the one-draw long-series case) wins over --repeats in its key too.
    key = json.dumps({"threads": args.threads, "repeats": args.repeats, **case}, sort_keys=True)
    done = json.loads(args.cases.read_text()) if args.cases.exists() else {}
    if key in done:
        return done[key]
    if args.no_run:
        return {**case, "error": "not measured: the run that measured the other cases stopped first"}
    print(f"case {key} ...", flush=True)
    cmd = [sys.executable, __file__, "--device", args.device, "--threads", str(args.threads),
           "--repeats", str(args.repeats), "--case", json.dumps(case)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {**case, "error": proc.stderr[-2000:]}
    done[key] = json.loads(proc.stdout.strip().splitlines()[-1])
    save_json(args.cases, done)
    return done[key]


def dispatch(case: dict, args: argparse.Namespace) -> dict:
    kind = case["kind"]
    if kind == "length":
        return case_length(case["length"], args.device, args.repeats)
    if kind == "sampling":
        # A case may fix its own repeats: the memory-only cases draw once, without a warm-up.
        repeats, warmup = case.get("repeats", args.repeats), case.get("warmup", 1)
        return case_sampling(
            case["length"], case["n"], case["sampler"], case.get("steps"), args.device, repeats, warmup
        )
    if kind == "count_rounds":
        return case_count_rounds(case["counts"], case.get("steps"), args.device, args.repeats)
    if kind == "unet":
        return case_unet(args.device)
    raise ValueError(f"unknown case {kind!r}")


def ratios(rows: list[dict], key: str, size_key: str) -> list[dict]:
    """Each row's cost relative to the smallest, beside its size ratio: linear growth keeps cost <= size."""
    base = rows[0]
    return [
        {size_key: r[size_key], "size_ratio": r[size_key] / base[size_key], "cost_ratio": r[key] / base[key]}
        for r in rows
        if key in r and key in base
    ]


def growth_exponent(rows: list[dict]) -> float | None:
    """Least-squares slope of log cost against log size over `ratios` rows: 1 is linear growth.

    Each ratio carries the machine's noise (up to ~30% between identical draws on a shared CPU), so a single
    ratio can sit a little above its size ratio while the cost grows linearly; the slope over all sizes is
    the figure the "no faster than linear" requirement is read from.
    """
    if len(rows) < 2:
        return None
    x = np.log([r["size_ratio"] for r in rows])
    y = np.log([r["cost_ratio"] for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def memory_case(length: int, n: int, sampler: str, steps: int | None) -> dict:
    """A sampling case read for its peak memory: one draw, no warm-up (a warm-up would not lower the peak)."""
    return {"kind": "sampling", "length": length, "n": n, "sampler": sampler, "steps": steps, "repeats": 1,
            "warmup": 0}  # fmt: skip


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.case:
        print(json.dumps(dispatch(json.loads(args.case), args)))
        return
    args.cases = args.cases or ROOT / "work" / f"speed-cases-{args.device.split(':')[0]}.json"
    unet = run_case({"kind": "unet"}, args)
    # Assembled elsewhere, the environment is the one the U-Net case recorded on the measuring machine.
    if args.no_run:
        env = unet.pop("environment", None) or {"device": args.device, "gpu": args.gpu_name}
        env["assembled_offline_from"] = args.cases.name
    else:
        env = environment(args.device)
    result: dict = {"environment": env, "preset": DEFAULT_PRESET}
    result["unet_forward"] = unet
    lengths = [run_case({"kind": "length", "length": length}, args) for length in args.lengths]
    result["by_length"] = lengths
    result["training_step_b128"] = {
        "stage1_s": lengths[0].get("stage1_step_s_b128"),
        "stage2_s": lengths[0].get("stage2_step_s_b128"),
    }
    throughput = [
        run_case(
            {"kind": "sampling", "length": 150, "n": 1024, "sampler": s, "steps": args.sample_steps}, args
        )
        for s in ("ancestral", "ddim")
    ]
    result["sampling_throughput_1024"] = throughput
    # Peak memory per count needs a process per count; one draw each is enough for that, as the counts' times
    # come from the interleaved case below.
    counts = [run_case(memory_case(150, n, "ancestral", args.sample_steps), args) for n in args.counts]
    result["by_count"] = counts
    rounds = run_case({"kind": "count_rounds", "counts": args.counts, "steps": args.sample_steps}, args)
    result["by_count_interleaved"] = rounds
    n_long, length_long = args.long
    result["long_series"] = run_case(memory_case(length_long, n_long, "ddim", 2), args)
    result["scaling"] = {
        "stage1_step_vs_length": ratios(lengths, "stage1_step_s_b128", "length"),
        "memory_vs_length": ratios(lengths, "peak_memory_mb", "length"),
        "sampling_time_vs_count": ratios(rounds.get("rows", counts), "seconds", "n"),
        "memory_vs_count": ratios(counts, "peak_memory_mb", "n"),
    }
    result["scaling_exponents"] = {name: growth_exponent(rows) for name, rows in result["scaling"].items()}
    long_mb = result["long_series"].get("peak_memory_mb")
    result["long_series_fits_8gb"] = None if long_mb is None else long_mb < 8 * 1024
    out = args.out or ROOT / "results" / f"speed-{args.device.split(':')[0]}.json"
    save_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
