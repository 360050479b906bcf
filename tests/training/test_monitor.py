"""Validation-driven stopping: the monitor on crafted problems, inside the trainer, across a resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from toy_models import Regression

from timevqvdm.training import TrainConfig, Trainer
from timevqvdm.training.checkpoint import read_metadata
from timevqvdm.training.monitor import STOP_BUDGET, STOP_HALT, STOP_PLATEAU, ValidationMonitor


def _data(n=32, sign=1.0, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return {"x": x, "y": sign * (x @ torch.tensor([2.0, -1.0, 0.5]))}


def _cfg(**kw):
    base = dict(max_steps=200, batch_size=32, lr=0.05, accelerator="cpu", checkpoint_every=10, log_every=5)
    base.update(kw)
    return TrainConfig(**base)


def _diverging_monitor(model, every=5, patience=3):
    """Validation targets are the negated training targets: fitting the training data makes the validation
    loss rise after the first steps, as in a model that starts to memorise."""
    val = _data(16, sign=-1.0, seed=2)

    def evaluate(step):
        with torch.no_grad():
            return {"val_loss": float(((model.lin(val["x"]).squeeze(-1) - val["y"]) ** 2).mean())}

    return ValidationMonitor(evaluate, every=every, patience=patience)


def test_the_monitor_stops_when_validation_loss_rises_and_keeps_the_best_weights(tmp_path):
    torch.manual_seed(0)
    model = Regression()
    monitor = _diverging_monitor(model)
    result = Trainer(model, _cfg(), tmp_path, progress=False, monitor=monitor).fit(_data())
    losses = [r["val_loss"] for r in result.validation]
    best = min(range(len(losses)), key=losses.__getitem__)
    assert result.stop["reason"] == STOP_PLATEAU
    assert result.steps == result.stop["step"] < 200  # stopped well before the budget
    assert result.stop["step"] == result.validation[best]["step"] + 3 * 5  # patience 3, every 5
    assert result.stop["best_step"] == result.validation[best]["step"]
    assert torch.equal(model.lin.weight, monitor.best_state["lin.weight"])
    # The validation records and the stop went to metrics.jsonl.
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if r.get("event") == "validation"] == [
        r["step"] for r in result.validation
    ]
    assert [r for r in lines if r.get("event") == "stop"] == [{"event": "stop", **result.stop}]


def test_without_a_plateau_the_run_uses_its_budget():
    torch.manual_seed(0)
    model = Regression()
    val = _data(16, seed=3)  # the same relation: the validation loss keeps falling

    def evaluate(step):
        with torch.no_grad():
            return {"val_loss": float(((model.lin(val["x"]).squeeze(-1) - val["y"]) ** 2).mean())}

    monitor = ValidationMonitor(evaluate, every=10, patience=50)
    result = Trainer(model, _cfg(max_steps=60), None, progress=False, monitor=monitor).fit(_data())
    assert result.steps == 60 and result.stop["reason"] == STOP_BUDGET


def test_a_halt_stops_at_once_and_ineligible_evaluations_are_never_kept():
    torch.manual_seed(0)
    model = Regression()
    scores = iter([5.0, 4.0, 3.0, 1.0, 0.5])
    copies = iter([0.0, 0.05, 0.2, 0.05, 0.5])

    def evaluate(step):
        return {"val_loss": next(scores), "copy_share": next(copies)}

    monitor = ValidationMonitor(
        evaluate,
        every=10,
        patience=10,
        eligible=lambda r: r["copy_share"] <= 0.1,
        halt=lambda r: "copies" if r["copy_share"] > 0.3 else None,
    )
    result = Trainer(model, _cfg(), None, progress=False, monitor=monitor).fit(_data())
    assert result.stop["reason"] == STOP_HALT and result.stop["step"] == 50
    assert result.stop["best_step"] == 40  # 3.0 at step 30 was not eligible; 1.0 at step 40 was
    assert [r["eligible"] for r in result.validation] == [1.0, 1.0, 0.0, 1.0, 0.0]


def test_an_interrupted_run_resumed_stops_at_the_same_step(tmp_path):
    def run(run_dir, interrupt_at=None, resume=False):
        torch.manual_seed(0)
        model = Regression()

        def crash(trainer, record):
            if record["step"] == interrupt_at:
                raise RuntimeError("interrupted")

        trainer = Trainer(
            model, _cfg(), run_dir, progress=False, monitor=_diverging_monitor(model), callbacks=(crash,)
        )
        return trainer.fit(_data(), resume=resume), model

    whole, whole_model = run(tmp_path / "whole")
    assert whole.stop["reason"] == STOP_PLATEAU
    with pytest.raises(RuntimeError, match="interrupted"):
        run(tmp_path / "parts", interrupt_at=whole.stop["step"] - 5)  # after the best, before the stop
    assert int(read_metadata(tmp_path / "parts" / "checkpoint.safetensors")["step"]) < whole.stop["step"]
    resumed, resumed_model = run(tmp_path / "parts", resume=True)
    assert resumed.resumed_from > 0
    assert resumed.stop == whole.stop
    assert resumed.validation == whole.validation
    assert torch.equal(resumed_model.lin.weight, whole_model.lin.weight)
    # Resuming a run the monitor has ended trains nothing more and keeps the same weights.
    again, again_model = run(tmp_path / "parts", resume=True)
    assert again.steps == whole.stop["step"] and torch.equal(again_model.lin.weight, whole_model.lin.weight)


def test_ema_runs_are_scored_and_kept_on_their_averaged_weights():
    torch.manual_seed(0)
    model = Regression()
    seen = []

    def evaluate(step):
        seen.append(model.lin.weight.detach().clone())
        return {"val_loss": float(-step)}  # always improving: the last evaluation is kept

    monitor = ValidationMonitor(evaluate, every=10, patience=5)
    trainer = Trainer(model, _cfg(max_steps=30, ema_decay=0.9), None, progress=False, monitor=monitor)
    trainer.fit(_data())
    assert torch.equal(seen[-1], trainer.ema["lin.weight"])
    assert torch.equal(model.lin.weight, trainer.ema["lin.weight"])
    assert model.training is False


def test_monitor_settings_are_checked():
    with pytest.raises(ValueError, match="every"):
        ValidationMonitor(lambda s: {}, every=0, patience=1)
    with pytest.raises(ValueError, match="patience"):
        ValidationMonitor(lambda s: {}, every=1, patience=0)
    monitor = ValidationMonitor(lambda s: {"loss": 1.0}, every=1, patience=1)
    with pytest.raises(KeyError, match="val_loss"):
        monitor.update(1, dict)


def test_ddp_validates_once_on_rank_zero_and_every_rank_stops_together(tmp_path):
    script = Path(__file__).with_name("monitor_ddp_script.py")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["evaluated"] and ranks[1]["evaluated"] == []
    assert ranks[0]["steps"] == ranks[1]["steps"] == ranks[0]["stop"]["step"] < 200
    assert ranks[0]["stop"]["reason"] == STOP_PLATEAU


def test_halt_patience_needs_that_many_halting_evaluations_in_a_row():
    copies = iter([0.5, 0.0, 0.5, 0.5, 0.0])
    monitor = ValidationMonitor(
        lambda step: {"val_loss": 1.0 / step, "copy_share": next(copies)},
        every=1,
        patience=10,
        eligible=lambda r: r["copy_share"] <= 0.3,
        halt=lambda r: "copies" if r["copy_share"] > 0.3 else None,
        halt_patience=2,
    )
    for step in range(1, 5):
        monitor.update(step, dict)
        assert monitor.stopped == (step == 4)  # one over-limit check (step 1) alone did not stop it
    assert monitor.stop.reason == STOP_HALT and monitor.stop.best_step == 2
    assert [r["halt_signal"] for r in monitor.history] == [1.0, 0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="halt_patience"):
        ValidationMonitor(lambda step: {}, every=1, patience=1, halt_patience=0)


def test_a_resumed_monitor_counts_the_halting_evaluations_before_the_interruption():
    def monitor():
        return ValidationMonitor(
            lambda step: {"val_loss": 1.0, "copy_share": 0.5}, every=1, patience=10,
            halt=lambda r: "copies", halt_patience=2,
        )  # fmt: skip

    first = monitor()
    first.update(1, dict)
    resumed = monitor()
    resumed.load_state_dict(*first.state_dict())
    resumed.update(2, dict)
    assert resumed.stopped and resumed.stop.step == 2
