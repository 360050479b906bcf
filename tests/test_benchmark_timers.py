"""The benchmarks' training-step timers leave the model they time as it was: a script that times a training
step and then samples or scores the model (benchmarks/compile_speed.py's FID check) must see the trained
model, not one whose BatchNorm statistics and codebooks moved under random batches."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _import(name: str):
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import their sibling `common`
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _assert_same(before: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    after = module.state_dict()
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert not changed, f"changed by timing: {changed}"


def test_training_step_timers_leave_the_model_unchanged():
    compile_speed, common, speed = _import("compile_speed"), _import("common"), _import("speed")
    model = compile_speed.one_step_model("tiny", "GunPoint", "cpu")
    parts = {"tokenizer": model.tokenizer, "prior_lf": model.prior_lf, "prior_hf": model.prior_hf}
    before = {name: _state(part) for name, part in parts.items()}

    assert speed.stage1_step(model, 8, "cpu", repeats=1) > 0
    for prior, step in common.stage2_steps(model, 8, "cpu").values():
        assert prior not in (model.prior_lf, model.prior_hf)
        step()

    for name, part in parts.items():
        _assert_same(before[name], part)
        assert not part.training
        assert not any(p.requires_grad for p in part.parameters())
    # What the copies protect against: a training forward of the tokenizer itself moves its state.
    tokenizer = model.tokenizer.train()
    with torch.no_grad():
        tokenizer.training_loss(tokenizer.split(torch.randn(8, 1, model.data_info.length)))
    changed = [k for k, v in tokenizer.state_dict().items() if not torch.equal(v, before["tokenizer"][k])]
    assert changed
