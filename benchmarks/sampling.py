"""Sampling benchmark: what generating series costs with the GunPoint `paper` model, against the hardware.

Writes ``benchmarks/results/sampling.json`` (or ``sampling-<device>.json`` with ``--device cuda``):

* wall time to sample 1024 series unconditionally at 128 steps, and class-conditionally (proportional labels,
  w = 3) at 32 steps, for each sampler, in fp32 and with bf16 autocast of the U-Nets;
* the U-Nets' FLOPs per forward pass (`torch.utils.flop_counter`) at batch 128 and at the slice size the
  samplers use, their achieved FLOP/s in fp32 and bf16, and that as a share of the fp32 / bf16
  matrix-multiply peak measured in the same run (also summed over both priors: a sampling step's use);
* wall time of 1024 series at the default preset's settings (median of 3; target <= 10 s on this CPU);
* stage-2 training step time at batch 128 (LF and HF priors); the process's peak resident memory;
* the FID of fp32 and bf16 samples (unconditional, 128 steps, --fid-seeds seeds each, the cached FCN) so the bf16
  speed-up can be checked against run-to-run noise.

The model is the one the benchmark harness trains (``benchmarks/work/paper/models/GunPoint``); it is trained
(resumably) when absent. Run one heavy job at a time:

    python benchmarks/sampling.py --threads 2

``--quick`` measures just the matmul peaks, the U-Net forward passes and the default-settings time (a few
minutes) and writes ``results/sampling-quick-<device>.json``; ``--quick --one-step best`` times the `best`
architecture fitted for one step instead of the trained model (timing does not depend on the weights).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch

from common import (
    environment,
    fid_by_variant,
    matmul_peak,
    stage2_step_times,
    unet_forward_stats,
)
from compile_speed import TARGET_S, one_step_model
from timevqvdm import TimeVQVDM
from timevqvdm.config import DEFAULT_PRESET, get_preset
from timevqvdm.data import load_dataset
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
MODEL_DIR = ROOT / "work" / "paper" / "models" / "GunPoint"
N_SERIES = 1024
DEFAULT_TARGET_S = TARGET_S["cpu"]  # issue 26: 1024 series at the default settings on this CPU
JOBS = {
    # name: (labels, steps, guidance) — the thesis's two evaluation settings (section 3.6)
    "unconditional_128": (None, 128, 1.0),
    "conditional_w3_32": ("proportional", 32, 3.0),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--samplers", nargs="+", default=["ancestral", "ddim"])
    parser.add_argument("--fid-seeds", type=int, default=3, help="seeds per precision for the bf16 FID check")
    parser.add_argument("--fcn-epochs", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="peaks, U-Net forwards, default-settings time")
    parser.add_argument(
        "--one-step", metavar="PRESET", default=None,
        help="with --quick: time PRESET's architecture fitted one step on GunPoint, not a trained model",
    )  # fmt: skip
    return parser.parse_args()


def get_model(path: Path, device: str) -> TimeVQVDM:
    if (path / "model.json").exists():
        return TimeVQVDM.load(path, device=device)
    train = load_dataset("GunPoint")
    model = TimeVQVDM(preset="paper", device=device).fit(train, run_dir=path / "runs", resume=True)
    model.save(path, overwrite=True)
    return model


def model_name(path: Path) -> str:
    return str(path.relative_to(ROOT.parent)) if path.is_relative_to(ROOT.parent) else str(path)


def sampling_times(model: TimeVQVDM, samplers: list[str]) -> dict:
    out = {}
    for job, (labels, steps, guidance) in JOBS.items():
        for sampler in samplers:
            for precision in ("32", "bf16"):
                t0 = time.perf_counter()
                result = model.sample(
                    N_SERIES, labels, steps=steps, guidance=guidance, sampler=sampler, seed=0,
                    precision=precision, batch_size=N_SERIES,
                )  # fmt: skip
                seconds = time.perf_counter() - t0
                out[f"{job}/{sampler}/{'fp32' if precision == '32' else 'bf16'}"] = {
                    "seconds": seconds,
                    "series_per_second": N_SERIES / seconds,
                    "finite": bool(np.isfinite(result.X).all()),
                }
    return out


def default_settings_time(model: TimeVQVDM, repeats: int = 3, precision: str | None = None) -> dict:
    """1024 unconditional series at the default preset's sampling settings (its precision, fp32, unless
    another is given)."""
    s = get_preset(DEFAULT_PRESET).sampling
    settings = {"steps": s.steps, "guidance": s.guidance, "rescale": s.rescale, "t_max": s.t_max,
                "sampler": s.sampler, "unconditional": s.unconditional,
                "precision": precision or s.precision}  # fmt: skip
    seconds = []
    for seed in range(repeats):
        t0 = time.perf_counter()
        model.sample(N_SERIES, None, seed=seed, batch_size=N_SERIES, **settings)
        seconds.append(time.perf_counter() - t0)
    median = float(np.median(seconds))
    return {
        "preset": DEFAULT_PRESET,
        "settings": settings,
        "seconds_runs": seconds,
        "seconds_median": median,
        "target_s": DEFAULT_TARGET_S,
        "meets_target": median <= DEFAULT_TARGET_S,
    }


def fid_check(model: TimeVQVDM, seeds: int, fcn_epochs: int) -> dict:
    """FID of unconditional samples (128 steps) in fp32 and bf16 over several seeds, same FCN, same reference."""
    variants = {"fp32": {"steps": 128, "precision": "32"}, "bf16": {"steps": 128, "precision": "bf16"}}
    return fid_by_variant(model, variants, seeds=seeds, fcn_epochs=fcn_epochs, n=N_SERIES)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.one_step and not args.quick:
        raise SystemExit("--one-step times an untrained model: only with --quick (no FID)")
    model = (
        one_step_model(args.one_step, "GunPoint", args.device)
        if args.one_step
        else get_model(args.model, args.device)
    )
    model.progress = False
    peaks = {
        "fp32": matmul_peak(args.device, torch.float32),
        "bf16": matmul_peak(args.device, torch.bfloat16),
    }
    if args.quick:
        out = args.out or ROOT / "results" / f"sampling-quick-{args.device.split(':')[0]}.json"
        save_json(out, {
            "environment": environment(args.device),
            "model": f"{args.one_step}, one step per network on GunPoint" if args.one_step else model_name(args.model),
            "matmul_peak_gflops": {k: v / 1e9 for k, v in peaks.items()},
            "unet_forward": unet_forward_stats(model, args.device, peaks),
            "default_settings_1024": default_settings_time(model),
            "default_settings_1024_bf16": default_settings_time(model, precision="bf16"),
        })  # fmt: skip
        print(f"wrote {out}")
        return
    result = {
        "environment": environment(args.device),
        "model": model_name(args.model),
        "n_series": N_SERIES,
        "matmul_peak_gflops": {k: v / 1e9 for k, v in peaks.items()},
        "unet_forward": unet_forward_stats(model, args.device, peaks),
        "stage2_training_step_s_b128": stage2_step_times(model, 128, args.device, repeats=5),
        "default_settings_1024": default_settings_time(model),
        "sampling": sampling_times(model, args.samplers),
    }
    result["fid_precision_check"] = fid_check(model, args.fid_seeds, args.fcn_epochs)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = args.out or ROOT / "results" / (
        "sampling.json" if args.device == "cpu" else f"sampling-{args.device}.json"
    )
    save_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
