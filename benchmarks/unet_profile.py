"""Where a sampling forward pass of the U-Nets spends its time, by operator (issue: stage 2, FLOP utilisation).

For the GunPoint `paper` priors (or, with ``--one-step PRESET``, that preset's architecture fitted for one
step: timing does not depend on the weights), LF and HF, at the slice size and shared time the sampler uses
(`prior.slicing.inference_batch`), in fp32 and under bf16 autocast, on one intra-op thread (the sampler runs
one slice per core): the wall time of a forward pass, each operator group's share of the profiled CPU time,
and the FLOP/s the convolutions reach on their own (their FLOPs over their self time) beside the one-thread
matrix-multiply peak measured in the same run. Writes ``benchmarks/results/unet-profile-<device>.json``::

    python benchmarks/unet_profile.py

It explains the utilisation that benchmarks/sampling.py reports: how much of a forward the matrix-multiply
work (convolutions) takes, and how much goes to memory-bound operators that no matmul peak speaks to.

``--compiled`` profiles the forward as sampling compiles it (`compiling(..., frozen=True)`: torch.compile
with inductor's freezing) with inductor's per-kernel profiling, so the same groups show what bounds a
forward after fusion (a fused kernel counts in the group of the heaviest operator it holds: softmax, then
normalisation, then copies, else elementwise), beside the eager forward's time in the same run; it writes
``unet-profile-compiled-cpu.json``. The FLOPs are counted on the eager forward (the same arithmetic).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from common import DTYPES, environment, matmul_peak, unet_inputs
from compile_speed import one_step_model
from timevqvdm import TimeVQVDM
from timevqvdm.compiled import compiling
from timevqvdm.prior.slicing import inference_batch
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
MODEL_DIR = ROOT / "work" / "paper" / "models" / "GunPoint"
REPEATS = 3
# Operator groups: what each profiled aten operator is part of.
GROUPS = {
    # mkldnn::_convolution*: inductor's (frozen) convolutions, with their fused bias and activation.
    "convolution": (
        "aten::mkldnn_convolution",
        "aten::convolution",
        "aten::_convolution",
        "aten::conv1d",
        "mkldnn::_convolution",
    ),
    "attention_softmax": ("aten::_softmax", "aten::softmax"),
    "attention_matmul": ("aten::bmm", "aten::einsum", "aten::matmul", "aten::_scaled_dot_product"),
    "normalisation": ("aten::native_group_norm", "aten::native_layer_norm", "aten::group_norm"),
    "elementwise": ("aten::add", "aten::mul", "aten::silu", "aten::sub", "aten::div", "aten::rsqrt"),
    "copies_and_layout": ("aten::copy_", "aten::cat", "aten::_to_copy", "aten::upsample_nearest1d"),
}
# An inductor kernel's name lists the operators it fuses; the first group whose words it holds names it.
FUSED_GROUPS = {
    "attention_softmax": ("softmax",),
    "normalisation": ("group_norm", "layer_norm"),
    "copies_and_layout": ("cat", "clone", "copy", "index"),
}
CONV_KERNELS = ("aten::mkldnn_convolution", "mkldnn::_convolution_pointwise")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument(
        "--out", type=Path, default=None, help="default: results/unet-profile[-compiled]-cpu.json"
    )
    parser.add_argument(
        "--one-step", metavar="PRESET", default=None,
        help="profile PRESET's architecture fitted one step on GunPoint instead of --model",
    )  # fmt: skip
    parser.add_argument("--compiled", action="store_true", help="profile the compiled (frozen) forward")
    return parser.parse_args()


def group_of(name: str) -> str:
    for group, prefixes in GROUPS.items():
        if any(name.startswith(prefix) for prefix in prefixes):
            return group
    if "cpp_fused" in name:  # an inductor kernel, e.g. graph_0_cpp_fused__softmax_permute_unbind_view_10
        for group, words in FUSED_GROUPS.items():
            if any(word in name for word in words):
                return group
        return "elementwise"
    return "other"


@torch.no_grad()
def profile_forward(prior, cond_shape, precision: str, compiled: bool = False) -> dict:
    """Time and profile `REPEATS` forward passes of one prior at its sampling slice, eager or compiled."""
    network = prior.network.eval()
    dtype = DTYPES[precision]
    batch = inference_batch(network, prior.latent_shape[1], dtype)
    z, t, y, cond = unet_inputs(prior, batch, "cpu", cond_shape)
    t = t[:1]  # a sampler step: one time for the batch (`prior.slicing.shared_time`)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    entry: dict = {"batch": batch}
    if compiled:
        with autocast:
            entry["eager_forward_ms"] = 1000 * mean_forward_s(network, z, t, y, cond)
    with autocast, kernel_profiling(compiled), compiling([network], enabled=compiled, frozen=True):
        forward_s = mean_forward_s(network, z, t, y, cond)  # after a warm-up call (compiling, if compiled)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(REPEATS):
                network(z, t, y, cond)
    with autocast, FlopCounterMode(display=False) as counter:
        network(z, t, y, cond)
    flops = counter.get_flop_counts()["Global"]
    conv_flops = REPEATS * sum(n for op, n in flops.items() if "convolution" in str(op))
    self_us: dict[str, float] = defaultdict(float)
    conv_us = 0.0
    for event in prof.key_averages():
        self_us[group_of(event.key)] += event.self_cpu_time_total
        if event.key.startswith(CONV_KERNELS):
            conv_us += event.self_cpu_time_total
    total = sum(self_us.values())
    return {
        **entry,
        "forward_ms": 1000 * forward_s,
        "share_of_time": {group: us / total for group, us in sorted(self_us.items(), key=lambda kv: -kv[1])},
        "gflop_per_forward": sum(flops.values()) / 1e9,
        "gflops": sum(flops.values()) / forward_s / 1e9,
        "convolution_share_of_flops": conv_flops / REPEATS / sum(flops.values()),
        "convolution_gflops": conv_flops / conv_us / 1e3 if conv_us else None,
    }


def mean_forward_s(network, z, t, y, cond) -> float:
    """Seconds per forward over `REPEATS` calls, after one untimed call."""
    network(z, t, y, cond)
    t0 = time.perf_counter()
    for _ in range(REPEATS):
        network(z, t, y, cond)
    return (time.perf_counter() - t0) / REPEATS


@contextmanager
def kernel_profiling(enabled: bool) -> Iterator[None]:
    """Inductor's generated CPU kernels record themselves in the profiler (set while they are compiled)."""
    if not enabled:
        yield
        return
    import torch._inductor.config as inductor_config

    with inductor_config.patch({"cpp.enable_kernel_profile": True}):
        yield


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    model = one_step_model(args.one_step, "GunPoint", "cpu") if args.one_step else TimeVQVDM.load(args.model)
    out = args.out or ROOT / "results" / f"unet-profile{'-compiled' if args.compiled else ''}-cpu.json"
    peaks = {name: matmul_peak("cpu", dtype) / 1e9 for name, dtype in DTYPES.items()}
    described = f"{args.one_step}, one step per network on GunPoint" if args.one_step else str(args.model)
    result: dict = {
        "environment": environment("cpu"), "model": described, "one_thread_matmul_peak_gflops": peaks,
        "compiled": args.compiled,
    }  # fmt: skip
    lf_shape = model.prior_lf.latent_shape
    for band, prior, cond_shape in (("lf", model.prior_lf, None), ("hf", model.prior_hf, lf_shape)):
        for precision in DTYPES:
            entry = profile_forward(prior, cond_shape, precision, args.compiled)
            entry["share_of_fp32_peak"] = entry["gflops"] / peaks["fp32"]
            if entry["convolution_gflops"] is not None:
                entry["convolution_share_of_fp32_peak"] = entry["convolution_gflops"] / peaks["fp32"]
            result.setdefault(band, {})[precision] = entry
            shares = ", ".join(f"{k} {v:.0%}" for k, v in entry["share_of_time"].items())
            print(f"{band} {precision} batch {entry['batch']}: {entry['forward_ms']:.0f} ms; {shares}")
    save_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
