"""Toy modules for the trainer tests and the scripts they start (imported from this folder)."""

from __future__ import annotations

from torch import nn


class Regression(nn.Module):
    """Linear regression of y on x (3 features): the smallest module with the trainer's contract."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def training_loss(self, batch, generator):
        loss = ((self.lin(batch["x"]).squeeze(-1) - batch["y"]) ** 2).mean()
        return loss, {"mse": loss.item()}
