"""Compiled against eager (issue 26): is `compile=True` faster, and what does compiling cost?

Writes ``benchmarks/results/compile-speed-<device>.json`` with, each eager and compiled in the same process:

* sampling: ``model.sample(n)`` of GunPoint series at the model's default settings (`SamplingConfig`);
* U-Net throughput: series per second of each prior's U-Net over n series as a sampler step calls it
  (cache-sized slices, on a CPU one slice per core; one shared time);
* training steps at batch 128: stage 1 (series of GunPoint's length 150) and each prior's stage 2;
* agreement: the largest difference between eager and compiled samples of one seed.

Times are medians of --repeats rounds, each round timing the eager and then the compiled version, after one
untimed call of each; the compiled warm-up holds the compile cost (``first_call_s``: the compiler's own
on-disk cache makes it smaller in a later process). The model is the default preset's architecture fitted
for one step on GunPoint (timing does not depend on the weights), or a trained one (--model).

    python benchmarks/compile_speed.py --threads 2          # CPU
    python benchmarks/compile_speed.py --device cuda        # a GPU (benchmarks/device/compile_speed.sh)
    python benchmarks/compile_speed.py --device cuda --mode reduce-overhead --precision bf16   # CUDA graphs
    python benchmarks/compile_speed.py --preset tiny --n 16 --repeats 1 --out /tmp/c.json   # a smoke test
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from common import environment, fid_by_variant, stage2_steps, synchronize, trainable_copy, unet_inputs
from timevqvdm import TimeVQVDM
from timevqvdm.compiled import COMPILE_MODES, compiled_forward, compiler_available, compiling
from timevqvdm.config import DEFAULT_PRESET, get_preset
from timevqvdm.data import load_dataset
from timevqvdm.generate import autocast
from timevqvdm.prior.slicing import sliced_forward
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
TARGET_S = {"cpu": 10.0, "cuda": 0.5}  # issue 26: 1024 series at the default settings


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=1024, help="series per sampling draw and U-Net pass")
    parser.add_argument("--batch", type=int, default=128, help="training batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="architecture and sampling settings")
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--model", type=Path, default=None, help="a trained model folder instead")
    parser.add_argument("--mode", default="default", choices=COMPILE_MODES, help="torch.compile's mode")
    parser.add_argument("--precision", default=None, help="sampling precision (default: the preset's)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--fid-seeds", type=int, default=0,
        help="with --model: FID of eager and compiled samples, this many seeds each (0: none)",
    )  # fmt: skip
    parser.add_argument("--fcn-epochs", type=int, default=1000)
    return parser.parse_args(argv)


def one_step_model(preset: str, dataset: str, device: str) -> TimeVQVDM:
    """The preset's architecture on `dataset`, each network trained for one step."""
    config = get_preset(preset)
    config.validation.enabled = False
    for stage in (config.stage1, config.stage2):
        stage.max_steps = 1
        stage.accelerator = "cuda" if device.startswith("cuda") else "cpu"
    return TimeVQVDM(config=config, device=device, progress=False).fit(load_dataset(dataset, split="train"))


def eager_and_compiled(
    run: Callable[[bool], object],
    networks: list[torch.nn.Module],
    device: str,
    repeats: int,
    mode: str,
    frozen: bool = False,
) -> dict:
    """`run(compiled)` timed both ways, compiled in torch.compile's `mode` (`frozen`: for inference, the
    weights folded in, as sampling compiles): a warm-up each, then `repeats` rounds of eager then compiled."""

    def timed(compiled: bool) -> float:
        t0 = time.perf_counter()
        with compiling(networks, enabled=mode if compiled else False, frozen=frozen):
            run(compiled)
        synchronize(device)
        return time.perf_counter() - t0

    first = {"eager": timed(False), "compiled": timed(True)}
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(repeats):
        for path in times:
            times[path].append(timed(path == "compiled"))
    eager, compiled = (statistics.median(times[path]) for path in times)
    return {
        "eager_s": eager,
        "compiled_s": compiled,
        "speedup": eager / compiled,
        "first_call_s": first,
        "runs_s": times,
        "compiled_fell_back_to_eager": any(compiled_forward(net, mode, frozen).failed for net in networks),
    }


def sampling(model: TimeVQVDM, n: int, device: str, repeats: int, mode: str, precision: str) -> dict:
    networks = [model.prior_lf.network, model.prior_hf.network]
    draws: dict[bool, np.ndarray] = {}

    def draw(compiled: bool) -> None:
        setting = mode if compiled else False
        draws[compiled] = model.sample(n, None, seed=0, compile=setting, precision=precision).X

    result = eager_and_compiled(draw, networks, device, repeats, mode, frozen=True)
    s = model.config.sampling
    difference = np.abs(draws[True] - draws[False])
    return {
        "n": n,
        "settings": {
            "steps": s.steps,
            "guidance": s.guidance,
            "sampler": s.sampler,
            "unconditional": s.unconditional,
            "precision": precision,
        },
        "series_per_second": {"eager": n / result["eager_s"], "compiled": n / result["compiled_s"]},
        # Equal seeds draw equal noise; codebook snapping can turn a rounding difference into a jump.
        "max_abs_difference": float(difference.max()),
        "share_of_values_differing_over_1e-3": float((difference > 1e-3).mean()),
        **result,
        **target(n, device, result["compiled_s"]),
    }


def target(n: int, device: str, seconds: float) -> dict:
    """Issue 26's sampling targets for 1024 series: 10 s on a CPU, 0.5 s on a GPU."""
    if n != 1024:
        return {}
    target_s = TARGET_S["cuda" if device.startswith("cuda") else "cpu"]
    return {"target_s": target_s, "compiled_meets_target": seconds <= target_s}


def fid_check(model: TimeVQVDM, n: int, mode: str, precision: str, seeds: int, fcn_epochs: int) -> dict:
    """FID of eager and of compiled samples at the model's settings and `precision`, `seeds` seeds each
    (`common.fid_by_variant`)."""
    variants = {
        "eager": {"compile": False, "precision": precision},
        "compiled": {"compile": mode, "precision": precision},
    }
    return fid_by_variant(model, variants, seeds=seeds, fcn_epochs=fcn_epochs, n=n)


def unet_throughput(model: TimeVQVDM, n: int, device: str, repeats: int, mode: str, precision: str) -> dict:
    """Each prior's U-Net over `n` series as a sampler step calls it, in `precision` (autocast as
    `model.sample` applies it)."""
    out = {}
    for band, prior in (("lf", model.prior_lf), ("hf", model.prior_hf)):
        cond_shape = model.prior_lf.latent_shape if band == "hf" else None
        z, t, y, cond = unet_inputs(prior, n, device, cond_shape)
        with autocast(precision, torch.device(device)):  # the slice size depends on the autocast type
            paths = {
                c: sliced_forward(prior.network, z.shape[-1], torch.device(device), c) for c in (False, True)
            }

        def forward(compiled: bool, paths=paths, z=z, t=t, y=y, cond=cond) -> None:
            with torch.no_grad(), autocast(precision, torch.device(device)):
                paths[compiled](z, t, y, cond)

        result = eager_and_compiled(forward, [prior.network], device, repeats, mode, frozen=True)
        out[band] = {
            "n": n,
            "precision": precision,
            "series_per_second": {"eager": n / result["eager_s"], "compiled": n / result["compiled_s"]},
            **result,
        }
    return out


def stage1_step(model: TimeVQVDM, batch: int, device: str, repeats: int, mode: str) -> dict:
    """One stage-1 training step (forward, backward, AdamW) of a copy of the tokenizer (`trainable_copy`)."""
    tokenizer = trainable_copy(model.tokenizer)
    params = list(tokenizer.parameters())
    with torch.no_grad():
        split = tokenizer.split(torch.randn(batch, model.data_info.n_channels, model.data_info.length))
    split = {k: v.to(device) for k, v in split.items()}
    optimizer = torch.optim.AdamW(params, lr=0.0)

    def step(compiled: bool) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss, _ = tokenizer.training_loss(split)
        loss.backward()
        optimizer.step()

    result = eager_and_compiled(step, tokenizer.networks(), device, repeats, mode)
    return {"batch": batch, "length": model.data_info.length, **result}


def stage2_step(model: TimeVQVDM, batch: int, device: str, repeats: int, mode: str) -> dict:
    """One training step of each prior (`common.stage2_steps`: forward, backward, AdamW with lr 0)."""
    out = {}
    for band, (prior, step) in stage2_steps(model, batch, device).items():
        timed = eager_and_compiled(
            lambda compiled, step=step: step(), prior.networks(), device, repeats, mode
        )
        out[band] = {"batch": batch, **timed}
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.model is not None:
        model = TimeVQVDM.load(args.model, device=args.device, progress=False)
    else:
        model = one_step_model(args.preset, args.dataset, args.device)
    results = {
        "environment": environment(args.device),
        "compiler_available": compiler_available(),
        "model": str(args.model) if args.model else f"{args.preset}, one step per network on {args.dataset}",
        "latent_shapes": {k: list(v) for k, v in model.tokenizer.latent_shapes.items()},
        "repeats": args.repeats,
        "compile_mode": args.mode,
    }
    out = args.out or ROOT / "results" / f"compile-speed-{args.device.split(':')[0]}.json"
    precision = args.precision or model.config.sampling.precision
    sections = {
        "sampling": lambda: sampling(model, args.n, args.device, args.repeats, args.mode, precision),
        "unet_sampler_path": lambda: unet_throughput(
            model, args.n, args.device, args.repeats, args.mode, precision
        ),
        "stage1_step": lambda: stage1_step(model, args.batch, args.device, args.repeats, args.mode),
        "stage2_step": lambda: stage2_step(model, args.batch, args.device, args.repeats, args.mode),
    }
    if args.fid_seeds and args.model is not None:
        sections["fid_check"] = lambda: fid_check(
            model, args.n, args.mode, precision, args.fid_seeds, args.fcn_epochs
        )
    for name, measure in sections.items():
        results[name] = measure()
        # Written after every section: a run stopped by its time limit keeps what it measured.
        save_json(out, results)
    speedups = ", ".join(
        f"{name} {results[name]['speedup']:.2f}x" for name in ("sampling", "stage1_step") if name in results
    )
    print(f"wrote {out}: {speedups} (compiled vs eager)")
    return results


if __name__ == "__main__":
    main()
