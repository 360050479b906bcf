"""A tiny training run started as a subprocess by the trainer tests (kill -9 + resume, 2-process DDP)."""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import nn

from timevqvdm.training import TrainConfig, Trainer


class SlowToy(nn.Module):
    """Linear regression whose step sleeps, so a test can kill it mid-run."""

    def __init__(self, sleep: float) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 1)
        self.norm = nn.BatchNorm1d(4)
        self.sleep = sleep

    def training_loss(self, batch, generator):
        time.sleep(self.sleep)
        noise = torch.randn(batch["x"].shape, generator=generator, device=batch["x"].device) * 1e-3
        pred = self.lin(self.norm(batch["x"] + noise)).squeeze(-1)
        loss = ((pred - batch["y"]) ** 2).mean()
        return loss, {"mse": loss.item()}


@torch.no_grad()
def full_loss(model: SlowToy, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return ((model.lin(model.norm(x)).squeeze(-1) - y) ** 2).mean().item()


def train_tokenizer(args: argparse.Namespace) -> None:
    """The real stage-1 model (tiny preset) on smooth synthetic series, for the DDP test."""
    from timevqvdm.config import get_preset
    from timevqvdm.tokenizer import build_tokenizer

    cfg = get_preset("tiny")
    torch.manual_seed(0)
    t = torch.linspace(0, 6.28, 40)
    x = torch.sin(t + torch.rand(32, 1, 1) * 3) + 0.05 * torch.randn(32, 1, 40)
    tokenizer = build_tokenizer(40, 1, cfg.frequency, cfg.tokenizer)
    split = tokenizer.split(x)
    train_cfg = TrainConfig(
        max_steps=args.steps, batch_size=16, lr=3e-3, accelerator="cpu", devices=args.devices,
        strategy=args.strategy, checkpoint_every=10, log_every=1,
    )  # fmt: skip
    trainer = Trainer(tokenizer, train_cfg, args.run_dir, progress=False)
    result = trainer.fit(split, resume=args.resume)
    if args.result and trainer.fabric.is_global_zero:
        with open(args.result, "w") as handle:
            json.dump(
                {
                    "steps": result.steps,
                    "initial_loss": result.history[0]["loss"],
                    "loss": result.history[-1]["loss"],
                    "world": trainer.fabric.world_size,
                },
                handle,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--strategy", default="auto")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--checkpoint-every", type=int, default=5)
    parser.add_argument("--result", default=None)
    parser.add_argument("--tokenizer", action="store_true", help="train the tiny stage-1 tokenizer instead")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.tokenizer:
        train_tokenizer(args)
        return
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    cfg = TrainConfig(
        max_steps=args.steps,
        batch_size=16,
        lr=0.2,
        accelerator="cpu",
        devices=args.devices,
        strategy=args.strategy,
        checkpoint_every=args.checkpoint_every,
        log_every=1,
    )
    model = SlowToy(args.sleep)
    initial = full_loss(model, x, y)
    trainer = Trainer(model, cfg, args.run_dir, progress=False)
    result = trainer.fit({"x": x, "y": y}, resume=args.resume)
    if args.result and trainer.fabric.is_global_zero:
        with open(args.result, "w") as handle:
            json.dump(
                {
                    "steps": result.steps,
                    "resumed_from": result.resumed_from,
                    "initial_loss": initial,
                    "loss": full_loss(model, x, y),
                    "world": trainer.fabric.world_size,
                },
                handle,
            )


if __name__ == "__main__":
    main()
