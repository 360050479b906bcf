"""A 2-process DDP run with a ValidationMonitor, started as a subprocess by test_monitor.py.

Each rank writes the steps it evaluated at and where it stopped, so the test can check that validation ran
once (on rank 0) and that every rank left the loop at the same step.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from toy_models import Regression

from timevqvdm.training import TrainConfig, Trainer
from timevqvdm.training.monitor import ValidationMonitor


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([2.0, -1.0, 0.5])
    model = Regression()
    evaluated: list[int] = []

    def evaluate(step: int) -> dict[str, float]:
        evaluated.append(step)
        with torch.no_grad():  # negated targets: the validation loss rises as the model fits
            return {"val_loss": float(((model.lin(x).squeeze(-1) + y) ** 2).mean())}

    cfg = TrainConfig(max_steps=200, batch_size=16, lr=0.05, accelerator="cpu", devices=2, strategy="ddp",
                      checkpoint_every=1000, log_every=5)  # fmt: skip
    trainer = Trainer(
        model, cfg, None, progress=False, monitor=ValidationMonitor(evaluate, every=5, patience=2)
    )
    result = trainer.fit({"x": x, "y": y})
    rank = trainer.fabric.global_rank
    report = {"rank": rank, "evaluated": evaluated, "steps": result.steps, "stop": result.stop}
    (args.out / f"rank{rank}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main()
