"""Helpers shared by the benchmark scripts: timing, the matrix-multiply peak, U-Net FLOPs, environment."""

from __future__ import annotations

import copy
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from timevqvdm.data import load_dataset
from timevqvdm.prior.slicing import inference_batch, sliced_forward


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `fn` over `repeats` calls after `warmup` untimed calls (medians resist noise)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_peak(device: str, dtype: torch.dtype, size: int = 2048, repeats: int = 7) -> float:
    """FLOP/s of a square matrix multiply in `dtype`: the practical peak the networks are compared with."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)

    def run():
        a @ b
        synchronize(device)

    return 2 * size**3 / median_time(run, repeats, warmup=2)


def unet_inputs(prior, batch: int, device: str, cond_shape=None):
    """Random (z, t, y, cond) for one forward pass of a prior's U-Net."""
    c, w = prior.latent_shape
    z = torch.randn(batch, c, w, device=device)
    t = torch.full((batch,), 0.5, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)
    cond = None if cond_shape is None else torch.randn(batch, *cond_shape, device=device)
    return z, t, y, cond


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


@torch.no_grad()
def unet_forward_stats(model, device: str, peaks: dict[str, float], batch: int = 128) -> dict:
    """FLOPs per forward (flop_counter) and achieved FLOP/s in fp32 and bf16 autocast, for both priors.

    Measured at `batch` (the training batch) and at the slice size the samplers use
    (`prior.slicing.inference_batch`, which depends on the precision); "both" sums the two priors at the
    sampling slice with every core on one slice. "sampler_path" is what a sampling step runs: 1024 series
    (2048 for a guided step's stacked batch) through the sampler's sliced forward
    (`prior.slicing.sliced_forward`): cache-sized slices and, on CPU, one slice per core.
    """
    out: dict = {"both_at_sampling_slice": {}, "sampler_path": {}}
    lf_shape = model.prior_lf.latent_shape
    for band, prior, cond_shape in (("lf", model.prior_lf, None), ("hf", model.prior_hf, lf_shape)):
        entry: dict = {}
        for precision, dtype in DTYPES.items():
            slice_size = inference_batch(prior.network, prior.latent_shape[1], dtype)
            for label, size in ((f"batch_{batch}", batch), ("sampling_slice", slice_size)):
                stats = _forward_stats(prior, size, device, cond_shape, dtype, peaks)
                entry.setdefault(label, {})[precision] = stats
        out[band] = entry
    for precision in ("fp32", "bf16"):
        per = [out[band]["sampling_slice"][precision] for band in ("lf", "hf")]
        flops = sum(p["gflop_per_forward"] / p["batch"] for p in per)  # per series, both priors
        seconds = sum(p["forward_s"] / p["batch"] for p in per)
        out["both_at_sampling_slice"][precision] = {
            "gflops": flops / seconds,
            "share_of_fp32_matmul_peak": flops * 1e9 / seconds / peaks["fp32"],
            f"share_of_{precision}_matmul_peak": flops * 1e9 / seconds / peaks[precision],
        }
        for rows in (1024, 2048):
            out["sampler_path"].setdefault(f"batch_{rows}", {})[precision] = _sampler_path_stats(
                model, rows, device, DTYPES[precision], peaks
            )
    return out


def _sampler_path_stats(model, batch: int, device: str, dtype: torch.dtype, peaks: dict) -> dict:
    """One LF and one HF forward of `batch` series as the samplers call them; FLOP/s over both."""
    device_type = device.split(":")[0]
    autocast = dtype != torch.float32
    lf_shape = model.prior_lf.latent_shape
    entry: dict = {"batch": batch}
    flops = seconds = 0.0
    for band, prior, cond_shape in (("lf", model.prior_lf, None), ("hf", model.prior_hf, lf_shape)):
        z, t, y, cond = unet_inputs(prior, batch, device, cond_shape)
        with FlopCounterMode(display=False) as counter:  # counted on the plain forward: same operations
            prior.network(z, t, y, cond)
        with torch.autocast(device_type=device_type, dtype=dtype, enabled=autocast):
            network = sliced_forward(prior.network, z.shape[-1], torch.device(device))

        def run(network=network, z=z, t=t, y=y, cond=cond):
            with torch.autocast(device_type=device_type, dtype=dtype, enabled=autocast):
                network(z, t, y, cond)
            synchronize(device)

        band_seconds = median_time(run, repeats=5, warmup=1)
        entry[f"{band}_forward_s"] = band_seconds
        flops += counter.get_total_flops()
        seconds += band_seconds
    entry["gflops"] = flops / seconds / 1e9
    entry["share_of_fp32_matmul_peak"] = flops / seconds / peaks["fp32"]
    if dtype != torch.float32:
        entry["share_of_bf16_matmul_peak"] = flops / seconds / peaks["bf16"]
    return entry


def _forward_stats(prior, batch: int, device: str, cond_shape, dtype: torch.dtype, peaks: dict) -> dict:
    z, t, y, cond = unet_inputs(prior, batch, device, cond_shape)
    with FlopCounterMode(display=False) as counter:
        prior.network(z, t, y, cond)
    flops = counter.get_total_flops()
    autocast = dtype != torch.float32

    def run():
        with torch.autocast(device_type=device.split(":")[0], dtype=dtype, enabled=autocast):
            prior.network(z, t, y, cond)
        synchronize(device)

    seconds = median_time(run, repeats=5, warmup=1)
    precision = "fp32" if dtype == torch.float32 else "bf16"
    return {
        "batch": batch,
        "gflop_per_forward": flops / 1e9,
        "forward_s": seconds,
        "gflops": flops / seconds / 1e9,
        "share_of_fp32_matmul_peak": flops / seconds / peaks["fp32"],
        f"share_of_{precision}_matmul_peak": flops / seconds / peaks[precision],
    }


def trainable_copy(module: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of `module` in train mode with every parameter trainable, for timing training steps:
    a training forward changes state beside the weights (BatchNorm's running statistics, the codebooks'
    EMA), so steps timed on the module itself would leave a different model for whatever is measured
    after them (a sampling time, an FID)."""
    clone = copy.deepcopy(module).train()
    for p in clone.parameters():
        p.requires_grad_(True)
    return clone


def stage2_steps(model, batch: int, device: str) -> dict[str, tuple[torch.nn.Module, Callable[[], None]]]:
    """A trainable copy of each prior (`trainable_copy`) with one training step of it at `batch`:
    ``{"lf": (prior, step), "hf": ...}``; the model's own priors are left as they were."""
    out = {}
    lf_shape = model.prior_lf.latent_shape
    for band, prior in (("lf", model.prior_lf), ("hf", model.prior_hf)):
        prior = trainable_copy(prior)
        params = list(prior.parameters())
        c, w = prior.latent_shape
        batch_dict = {
            "z0": torch.randn(batch, c, w, device=device),
            "y": torch.zeros(batch, dtype=torch.long, device=device),
        }
        if band == "hf":
            batch_dict["cond"] = torch.randn(batch, *lf_shape, device=device)
        optimizer = torch.optim.AdamW(params, lr=0.0)
        generator = torch.Generator(device=device).manual_seed(0)

        def step(prior=prior, batch_dict=batch_dict, optimizer=optimizer, generator=generator):
            optimizer.zero_grad(set_to_none=True)
            loss, _ = prior.training_loss(batch_dict, generator)
            loss.backward()
            optimizer.step()
            synchronize(device)

        out[band] = (prior, step)
    return out


def stage2_step_times(model, batch: int, device: str, repeats: int) -> dict[str, float]:
    """Median seconds per stage-2 training step (both priors) at `batch` (`stage2_steps`)."""
    return {
        band: median_time(step, repeats) for band, (_, step) in stage2_steps(model, batch, device).items()
    }


def fid_by_variant(
    model, variants: dict[str, dict], *, seeds: int, fcn_epochs: int, n: int = 1024, dataset: str = "GunPoint"
) -> dict:
    """FID (test split, one cached FCN) and copy share (`evaluation.memorisation`) of `n` unconditional
    samples per seed for each variant (keyword arguments of `model.sample`), the noise floor FID(train, test),
    and whether the two variants' mean FIDs differ by at most twice the larger of their standard deviations
    over seeds (run-to-run noise); the difference is second minus first."""
    from timevqvdm.evaluation import evaluate

    train, test = load_dataset(dataset), load_dataset(dataset, split="test")
    out = {}
    for name, kwargs in variants.items():
        fids, copies = [], []
        for seed in range(seeds):
            samples = model.sample(n, None, seed=100 + seed, **kwargs)
            metrics = evaluate(samples, train, test=test, fcn_epochs=fcn_epochs, seed=0, tstr=False)
            fids.append(unconditional_fid(metrics))
            copies.append(float(metrics["memorisation"]["copy_share"]))
            out["noise_floor_fid"] = float(metrics["reference"]["fid_train_test"])
        out[name] = {
            "fid_runs": fids, "fid_mean": float(np.mean(fids)), "fid_std": float(np.std(fids)),
            "copy_share_runs": copies, "copy_share_mean": float(np.mean(copies)),
        }  # fmt: skip
    first, second = (out[name] for name in variants)
    out["difference_of_means"] = second["fid_mean"] - first["fid_mean"]
    out["within_run_to_run_noise"] = bool(
        abs(out["difference_of_means"]) <= 2 * max(first["fid_std"], second["fid_std"])
    )
    return out


def unconditional_fid(metrics: dict, key: str = "fid") -> float:
    """The FID (`key`: "fid" against the test split, "fid_train" against the training split) of an
    `evaluate(...)` result for an unconditional (or the only) sample set."""
    for mode in ("unconditional", "samples", "conditional"):
        if mode in metrics and key in metrics[mode]:
            return float(metrics[mode][key])
    raise KeyError(f"no FID in evaluation output: {sorted(metrics)}")


def environment(device: str) -> dict:
    info = {
        "device": device,
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
