"""Helpers shared by the benchmark scripts: timing, the matrix-multiply peak, U-Net FLOPs, environment."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


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


@torch.no_grad()
def unet_forward_stats(model, device: str, peaks: dict[str, float], batch: int = 128) -> dict:
    """FLOPs per forward (flop_counter) and achieved FLOP/s in fp32 and bf16 autocast, for both priors."""
    out = {}
    lf_shape = model.prior_lf.latent_shape
    for band, prior, cond_shape in (("lf", model.prior_lf, None), ("hf", model.prior_hf, lf_shape)):
        z, t, y, cond = unet_inputs(prior, batch, device, cond_shape)
        with FlopCounterMode(display=False) as counter:
            prior.network(z, t, y, cond)
        flops = counter.get_total_flops()
        entry = {"batch": batch, "gflop_per_forward": flops / 1e9}
        for precision, dtype in (("fp32", None), ("bf16", torch.bfloat16)):

            def run(dtype=dtype, prior=prior, z=z, t=t, y=y, cond=cond):
                if dtype is None:
                    prior.network(z, t, y, cond)
                else:
                    with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
                        prior.network(z, t, y, cond)
                synchronize(device)

            seconds = median_time(run, repeats=5, warmup=1)
            achieved = flops / seconds
            entry[f"{precision}_forward_s"] = seconds
            entry[f"{precision}_gflops"] = achieved / 1e9
            entry[f"{precision}_share_of_{precision}_matmul_peak"] = achieved / peaks[precision]
            entry[f"{precision}_share_of_fp32_matmul_peak"] = achieved / peaks["fp32"]
        out[band] = entry
    return out


def stage2_step_times(model, batch: int, device: str, repeats: int) -> dict[str, float]:
    """Median seconds per stage-2 training step (both priors) at `batch`; lr 0 leaves the model unchanged."""
    out = {}
    lf_shape = model.prior_lf.latent_shape
    for band, prior in (("lf", model.prior_lf), ("hf", model.prior_hf)):
        prior.train()
        params = list(prior.parameters())
        for p in params:
            p.requires_grad_(True)
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

        out[band] = median_time(step, repeats)
    return out


def unconditional_fid(metrics: dict) -> float:
    """The FID of an `evaluate(...)` result for an unconditional (or the only) sample set."""
    for key in ("unconditional", "samples", "conditional"):
        if key in metrics and "fid" in metrics[key]:
            return float(metrics[key]["fid"])
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
