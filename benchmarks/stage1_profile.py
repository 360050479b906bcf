"""Where a stage-1 training step spends its time (issue 26, item 4: profile a training step).

The default preset's tokenizer at GunPoint's length (150, one channel), a batch of 128 random series, one
training step as the trainer takes it (`training_loss`, backward, AdamW): the median wall time of a step, the
share of the profiled CPU time per operator group (forward and backward together), and the parameters of
each part of each band's VQ-VAE beside the thesis's Table 2 totals; and, timed alone on the same batch's
latents, each band's quantizer (its training forward, EMA update included, and its backward) as a share of
the step, since its operators spread over several groups; beside it, on the same latents, the
vector-quantize-pytorch quantizer that `timevqvdm.tokenizer.quantizer` replaced, configured as it was
(``library_quantizer_seconds``). Writes ``benchmarks/results/stage1-profile-<device>.json``::

    python benchmarks/stage1_profile.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor
from torch.profiler import ProfilerActivity, profile
from vector_quantize_pytorch import VectorQuantize

from common import environment
from timevqvdm.config import DEFAULT_PRESET, get_preset
from timevqvdm.tokenizer import build_tokenizer
from timevqvdm.tokenizer.latent import prior_to_tokens
from timevqvdm.tokenizer.quantizer import Quantizer
from timevqvdm.training.checkpoint import save_json

ROOT = Path(__file__).resolve().parent
# Thesis Table 2: parameters of the LF and HF VQ-VAE (encoder and decoder) at Wafer's length.
THESIS_PARAMETERS = {"lf": 534_000, "hf": 336_000}
# Operator groups, by the prefix of the profiled aten operator (backward kernels carry their forward's name).
GROUPS = {
    "convolution": ("aten::mkldnn_convolution", "aten::convolution", "aten::_convolution", "aten::conv"),
    "batch_norm": ("aten::native_batch_norm", "aten::batch_norm", "aten::_batch_norm"),
    "stft_and_fft": ("aten::_fft", "aten::stft", "aten::istft", "aten::fft"),
    "vector_quantize": ("aten::cdist", "aten::_cdist", "aten::argmin", "aten::argmax", "aten::index_select",
                        "aten::min", "aten::bincount", "aten::index_add", "aten::scatter_add"),
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear"),
    "optimizer": ("aten::_foreach", "Optimizer."),
    "elementwise": ("aten::add", "aten::mul", "aten::sub", "aten::div", "aten::pow", "aten::sqrt",
                    "aten::silu", "aten::relu", "aten::leaky_relu", "aten::gelu", "aten::mse_loss"),
    "copies_and_layout": ("aten::copy_", "aten::cat", "aten::_to_copy", "aten::clone", "aten::contiguous",
                          "aten::constant_pad", "aten::pad", "aten::reflection_pad"),
}  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--length", type=int, default=150)
    parser.add_argument("--steps", type=int, default=5, help="timed steps (after one warm-up step)")
    parser.add_argument("--preset", default=DEFAULT_PRESET)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def group_of(name: str) -> str:
    for group, prefixes in GROUPS.items():
        if any(name.startswith(prefix) for prefix in prefixes):
            return group
    return "other"


def parameters_by_part(tokenizer) -> dict:
    """Per band: each encoder and decoder child's parameter count, the band's total, the thesis's."""
    out = {}
    for band, vqvae in tokenizer.bands.items():
        parts = {
            f"{half}.{name}": sum(p.numel() for p in child.parameters())
            for half in ("encoder", "decoder")
            for name, child in getattr(vqvae, half).named_children()
        }
        total = sum(parts.values())
        out[band] = {"parts": parts, "total": total, "thesis_table_2": THESIS_PARAMETERS[band]}
    return out


def library_quantizer(quantizer: Quantizer) -> Callable[[Tensor], tuple[Tensor, Tensor, Tensor]]:
    """vector-quantize-pytorch's `VectorQuantize` as stage 1 configured it before `Quantizer` replaced it,
    starting from the same codebook; ``(B, H*d, W')`` latents in, as `Quantizer`'s forward takes them."""
    library = VectorQuantize(
        dim=quantizer.codebook.shape[1],
        codebook_size=quantizer.codebook_size,
        decay=quantizer.ema_decay,
        commitment_weight=quantizer.commitment_weight,
        rotation_trick=False,
        channel_last=True,
    ).train()
    library._codebook.embed.copy_(quantizer.codebook[None])
    library._codebook.embed_avg.copy_(quantizer.ema_sum[None])
    library._codebook.cluster_size.copy_(quantizer.ema_count[None])
    return lambda latent: library(prior_to_tokens(latent, quantizer.height))


def quantizer_seconds(tokenizer, batch: dict, steps: int, library: bool = False) -> dict:
    """Median seconds of each band's quantizer (or, with `library`, of `library_quantizer`), forward (train
    mode) and backward, on its encoder's latents."""
    out = {}
    for band, vqvae in tokenizer.bands.items():
        with torch.no_grad():
            latent = vqvae.encoder(batch[f"u_{band}"])
        latent.requires_grad_(True)
        quantize = library_quantizer(vqvae.quantizer) if library else vqvae.quantizer

        def run(quantizer=quantize, latent=latent) -> None:
            z_q, _, loss = quantizer(latent)
            (z_q.sum() + loss).backward()

        run()  # warm-up
        seconds = []
        for _ in range(steps):
            t0 = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - t0)
        out[band] = statistics.median(seconds)
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = get_preset(args.preset)
    torch.manual_seed(0)
    tokenizer = build_tokenizer(args.length, 1, cfg.frequency, cfg.tokenizer).train()
    with torch.no_grad():
        batch = tokenizer.split(torch.randn(args.batch, 1, args.length))
    optimizer = torch.optim.AdamW(tokenizer.parameters(), lr=0.0)  # lr 0: every step sees the same weights

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss, _ = tokenizer.training_loss(batch)
        loss.backward()
        optimizer.step()

    step()  # warm-up: one-off allocations and dispatch
    seconds = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    self_us: dict[str, float] = defaultdict(float)
    top: dict[str, float] = {}
    for event in prof.key_averages():
        self_us[group_of(event.key)] += event.self_cpu_time_total
        top[event.key] = event.self_cpu_time_total
    total = sum(self_us.values())
    result = {
        "environment": environment("cpu"),
        "preset": args.preset,
        "batch": args.batch,
        "length": args.length,
        "step_seconds": {"median": statistics.median(seconds), "runs": seconds},
        "share_of_time": {g: us / total for g, us in sorted(self_us.items(), key=lambda kv: -kv[1])},
        "top_operators": {k: us / total for k, us in sorted(top.items(), key=lambda kv: -kv[1])[:15]},
        "parameters": parameters_by_part(tokenizer),
    }
    for key, library in (("quantizer_seconds", False), ("library_quantizer_seconds", True)):
        quantizers = quantizer_seconds(tokenizer, batch, args.steps, library=library)
        result[key] = {
            **quantizers,
            "share_of_step": sum(quantizers.values()) / result["step_seconds"]["median"],
        }
    out = args.out or ROOT / "results" / "stage1-profile-cpu.json"
    save_json(out, result)
    shares = ", ".join(f"{k} {v:.0%}" for k, v in result["share_of_time"].items())
    print(f"stage-1 step at batch {args.batch}, length {args.length}: {result['step_seconds']['median']:.2f} s; "
          f"{shares}; wrote {out}")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
