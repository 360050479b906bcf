"""The U-Net's row layout against an earlier layout on one device, in one process (issue 26).

Builds the `best` preset's LF and HF U-Nets at GunPoint's latent shapes twice, from this checkout's
`prior/unet.py` and from another version of that file (``--old``, e.g. extracted with
``git show 5b227ed:src/timevqvdm/prior/unet.py > /tmp/unet_old.py``), loads the same weights into both (the
state dict is the same) and times, alternating the two in every round:

* a training step at batch 128 (forward, MSE backward, AdamW with lr 0: the weights stay);
* a sampling forward over 1024 series (no gradients, one shared time), the batch whole as on a GPU.

Times are medians of --repeats rounds after one untimed call of each. Also records the largest difference
between the two versions' outputs on the same input (the layouts compute the same function).

    python benchmarks/layout_ab.py --old /tmp/unet_old.py --device cuda --out results/layout-ab-cuda.json
    python benchmarks/layout_ab.py --old /tmp/unet_old.py --batch 8 --n 16 --repeats 1   # a smoke test
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import torch

from common import environment, synchronize
from timevqvdm.config import get_preset
from timevqvdm.prior import unet as new_unet
from timevqvdm.training.checkpoint import save_json

# GunPoint's latent shapes under `best` (channels, width), from `compile-speed-*.json`.
LATENTS = {"lf": (20, 18), "hf": (20, 75)}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="the other version's prior/unet.py")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--n", type=int, default=1024, help="series per sampling forward")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location("unet_old", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(module, band: str, device: str) -> torch.nn.Module:
    cfg = get_preset("best").prior
    torch.manual_seed(0)
    return module.UNet1D(
        in_channels=LATENTS[band][0],
        channels=tuple(cfg.lf_channels if band == "lf" else cfg.hf_channels),
        n_classes=2,
        cond_channels=LATENTS["lf"][0] if band == "hf" else 0,
        emb_dim=cfg.emb_dim,
        groups=cfg.groups,
        attn_heads=cfg.attn_heads,
        attn_head_dim=cfg.attn_head_dim,
    ).to(device)


def inputs(band: str, batch: int, device: str, shared_time: bool):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(batch, *LATENTS[band], generator=g)
    t = torch.full((1,), 0.5) if shared_time else torch.rand(batch, generator=g)
    y = torch.zeros(batch, dtype=torch.long)
    cond = torch.randn(batch, *LATENTS["lf"], generator=g) if band == "hf" else None
    move = lambda v: None if v is None else v.to(device)  # noqa: E731
    return move(z), move(t), move(y), move(cond)


def timed(fn, device: str) -> float:
    t0 = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - t0


def compare(networks: dict[str, torch.nn.Module], make_call, device: str, repeats: int) -> dict:
    calls = {name: make_call(net) for name, net in networks.items()}
    for call in calls.values():
        timed(call, device)
    runs: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            runs[name].append(timed(call, device))
    medians = {name: statistics.median(times) for name, times in runs.items()}
    return {"seconds": medians, "old_over_new": medians["old"] / medians["new"], "runs_s": runs}


def band_results(old_module, band: str, args) -> dict:
    networks = {"old": build(old_module, band, args.device), "new": build(new_unet, band, args.device)}
    networks["old"].load_state_dict(networks["new"].state_dict())
    z, t, y, cond = inputs(band, args.batch, args.device, shared_time=False)

    def training_step(net):
        net.train()
        optimizer = torch.optim.AdamW(net.parameters(), lr=0.0)

        def step():
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(net(z, t, y, cond), z).backward()
            optimizer.step()

        return step

    training = compare(networks, training_step, args.device, args.repeats)
    zs, ts, ys, conds = inputs(band, args.n, args.device, shared_time=True)

    def sampling_forward(net):
        net.eval()

        def forward():
            with torch.no_grad():
                net(zs, ts, ys, conds)

        return forward

    sampling = compare(networks, sampling_forward, args.device, args.repeats)
    with torch.no_grad():
        outs = [net.eval()(zs, ts, ys, conds) for net in networks.values()]
    return {
        "training_step": {"batch": args.batch, **training},
        "sampling_forward": {"n": args.n, **sampling},
        "max_abs_output_difference": float((outs[0] - outs[1]).abs().max()),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    old_module = load_module(args.old)
    results = {
        "environment": environment(args.device),
        "old": str(args.old),
        "latent_shapes": LATENTS,
        "repeats": args.repeats,
        **{band: band_results(old_module, band, args) for band in LATENTS},
    }
    out = (
        args.out
        or Path(__file__).resolve().parent / "results" / f"layout-ab-{args.device.split(':')[0]}.json"
    )
    save_json(out, results)
    for band in LATENTS:
        print(
            band,
            {k: round(results[band][k]["old_over_new"], 2) for k in ("training_step", "sampling_forward")},
        )
    return results


if __name__ == "__main__":
    main()
