"""Validation-driven stopping for the training loop: evaluate on held-out data, keep the best, stop on a plateau.

The monitor knows nothing about what is trained. It is handed an ``evaluate(step) -> dict`` callable that
scores the current weights on data no gradient step sees, and a rule for reading the scores:

* ``key``: the score to minimise (e.g. a validation loss);
* ``eligible(record)``: whether an evaluation may be kept at all (e.g. its samples are novel enough);
* ``halt(record)``: a reason to stop (e.g. novelty has degraded), or None.

A run stops when ``patience`` evaluations in a row bring no eligible improvement of ``key`` by more than the
relative ``min_delta``, when ``halt`` gives a reason at ``halt_patience`` evaluations in a row (one noisy
score does not end a run), or when the step budget ends. The kept weights are those
of the best eligible evaluation. Everything the monitor decided from is in its state, which the trainer writes
into its checkpoint, so a run interrupted and resumed takes the same decisions and stops at the same step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

Record = dict[str, float]

STOP_PLATEAU = "plateau"
STOP_HALT = "halt"
STOP_BUDGET = "budget"


@dataclass
class StopInfo:
    """Why and where a monitored run ended, and which evaluation's weights it kept."""

    step: int
    reason: str
    best_step: int | None
    detail: str = ""

    def as_dict(self) -> dict:
        return {"step": self.step, "reason": self.reason, "best_step": self.best_step, "detail": self.detail}


@dataclass
class ValidationMonitor:
    """Evaluate every ``every`` steps, remember the best eligible weights, decide when to stop.

    Parameters
    ----------
    evaluate : callable ``(step) -> dict[str, float]``
        Scores the module's current weights; must not draw from the trainer's random streams (seed any
        randomness from the step) so that a resumed run sees the same scores.
    every : int
        Steps between evaluations (>= 1).
    patience : int
        Evaluations in a row without an eligible improvement before stopping (>= 1).
    key : str
        The score in each record to minimise.
    min_delta : float
        Relative improvement that counts: a score improves on ``best`` when it is below
        ``best * (1 - min_delta)``.
    eligible, halt : callables on one record, optional
        See the module docstring. By default every record is eligible and nothing halts.
    halt_patience : int
        Evaluations in a row for which ``halt`` gives a reason before the run stops (>= 1). Each record
        carries ``halt_signal`` (1.0 where ``halt`` gave one), so a resumed run counts the same.
    """

    evaluate: Callable[[int], Record]
    every: int
    patience: int
    key: str = "val_loss"
    min_delta: float = 0.0
    eligible: Callable[[Record], bool] | None = None
    halt: Callable[[Record], str | None] | None = None
    halt_patience: int = 1
    history: list[Record] = field(default_factory=list)
    best_step: int | None = None
    best_value: float | None = None
    best_state: dict[str, Tensor] | None = None
    stale: int = 0
    stop: StopInfo | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {self.every}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        if self.halt_patience < 1:
            raise ValueError(f"halt_patience must be >= 1, got {self.halt_patience}")

    def due(self, step: int) -> bool:
        return step % self.every == 0

    @property
    def stopped(self) -> bool:
        return self.stop is not None

    def update(self, step: int, state: Callable[[], dict[str, Tensor]]) -> Record:
        """Evaluate at ``step``; ``state()`` gives the weights to keep should this evaluation be the best."""
        record = {"step": step, **{k: float(v) for k, v in self.evaluate(step).items()}}
        if self.key not in record:
            raise KeyError(f"evaluate() returned no {self.key!r}: {sorted(record)}")
        ok = self.eligible is None or self.eligible(record)
        record["eligible"] = float(ok)
        self.history.append(record)
        if ok and self._improves(record[self.key]):
            self.best_step, self.best_value = step, record[self.key]
            self.best_state = {k: v.detach().clone() for k, v in state().items()}
            self.stale = 0
        else:
            self.stale += 1
        reason = self.halt(record) if self.halt is not None else None
        record["halt_signal"] = float(bool(reason))
        if reason and self._halt_signals_in_a_row() >= self.halt_patience:
            self.stop = StopInfo(step, STOP_HALT, self.best_step, reason)
        elif self.stale >= self.patience:
            self.stop = StopInfo(
                step, STOP_PLATEAU, self.best_step, f"no better {self.key} in {self.stale} evaluations"
            )
        return record

    def finish(self, step: int) -> StopInfo:
        """The stop record: the monitor's own decision, or the end of the step budget."""
        if self.stop is None:
            self.stop = StopInfo(step, STOP_BUDGET, self.best_step, "step budget used up")
        return self.stop

    def _halt_signals_in_a_row(self) -> int:
        count = 0
        for record in reversed(self.history):
            if not record.get("halt_signal"):
                break
            count += 1
        return count

    def _improves(self, value: float) -> bool:
        return self.best_value is None or value < self.best_value * (1.0 - self.min_delta)

    # --------------------------------------------------------------------------------- checkpoint state
    def state_dict(self) -> tuple[dict[str, Tensor], str]:
        """(tensors, JSON text): the kept weights and everything the decisions were made from."""
        tensors = {} if self.best_state is None else {f"best.{k}": v for k, v in self.best_state.items()}
        meta = {
            "history": self.history,
            "best_step": self.best_step,
            "best_value": self.best_value,
            "stale": self.stale,
            "stop": None if self.stop is None else self.stop.as_dict(),
        }
        return tensors, json.dumps(meta)

    def load_state_dict(self, tensors: dict[str, Tensor], meta_json: str) -> None:
        meta = json.loads(meta_json)
        self.history = list(meta["history"])
        self.best_step, self.best_value, self.stale = meta["best_step"], meta["best_value"], meta["stale"]
        self.stop = None if meta["stop"] is None else StopInfo(**meta["stop"])
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        self.best_state = best or None


def restore_best(module: torch.nn.Module, monitor: ValidationMonitor) -> None:
    """Load the monitor's kept weights into ``module`` (no-op when nothing was kept)."""
    if monitor.best_state is not None:
        module.load_state_dict(monitor.best_state)


def stop_at(step: int, reason: str = "the step count given") -> ValidationMonitor:
    """A monitor that ends a run at ``step`` and keeps those weights: retraining for a step count found
    before (the learning-rate schedule stays that of the full budget, as in the run that found it)."""
    return ValidationMonitor(
        lambda s: {"val_loss": -float(s)}, every=step, patience=1, halt=lambda record: reason
    )
