"""Presets: `paper` stays the thesis's; `best` changes only what a benchmark measured better."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from timevqvdm import TimeVQVDM
from timevqvdm.config import DEFAULT_PRESET, PRESETS, get_preset


def test_paper_preset_keeps_the_thesis_settings() -> None:
    cfg = get_preset("paper")
    assert (cfg.stage1.epochs, cfg.stage2.epochs, cfg.stage2.batch_size) == (2000, 1000, 128)
    assert (cfg.sampling.steps, cfg.sampling.t_max, cfg.sampling.rescale) == (128, 0.99, 0.1)
    assert (cfg.sampling.sampler, cfg.prior.prediction) == ("ancestral", "eps")


def test_best_preset_is_paper_with_validation_driven_training_and_measured_sampling_settings() -> None:
    best, paper = asdict(get_preset("best")), asdict(get_preset("paper"))
    shared = [k for k in best if k not in ("sampling", "validation")]
    assert {k: best[k] for k in shared} == {k: paper[k] for k in shared}  # same networks, same budgets
    assert best["validation"]["enabled"] and not paper["validation"]["enabled"]
    assert best["sampling"]["steps"] == 16  # levers-GunPoint.json: ancestral 16 steps ~ 128 steps


def test_default_preset_is_best_and_unknown_names_are_refused() -> None:
    assert DEFAULT_PRESET == "best" and DEFAULT_PRESET in PRESETS
    assert TimeVQVDM(device="cpu").config == get_preset("best")
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("fastest")
