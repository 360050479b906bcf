"""Presets: `paper` stays the thesis's; `best` changes only what a benchmark measured better."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from timevqvdm import TimeVQVDM, config, frequency, prior, tokenizer, training
from timevqvdm.config import DEFAULT_PRESET, PRESETS, TimeVQVDMConfig, get_preset
from timevqvdm.evaluation import protocol


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


def test_paper_samples_each_mode_as_the_thesis_and_its_benchmark_protocol() -> None:
    """Thesis 3.6: unconditional 128 steps; class-conditional 32 steps with w = 3; gamma = 0.1 for both."""
    sampling = get_preset("paper").sampling
    assert sampling.mode_defaults(conditional=False) == (128, 1.0)
    assert sampling.mode_defaults(conditional=True) == (32, 3.0)
    steps, w = sampling.mode_defaults(conditional=True)
    assert {"steps": sampling.steps, "rescale": sampling.rescale} == protocol.UNCONDITIONAL_SAMPLING
    assert {"steps": steps, "guidance": w, "rescale": sampling.rescale} == protocol.CONDITIONAL_SAMPLING


def test_best_samples_both_modes_alike() -> None:
    sampling = get_preset("best").sampling
    assert sampling.mode_defaults(conditional=False) == sampling.mode_defaults(conditional=True) == (16, 1.0)


def test_a_config_saved_without_the_conditional_defaults_loads_and_samples_both_modes_alike() -> None:
    saved = get_preset("paper").to_dict()
    del saved["sampling"]["conditional_steps"], saved["sampling"]["conditional_guidance"]
    sampling = TimeVQVDMConfig.from_dict(saved).sampling
    assert sampling.mode_defaults(conditional=True) == sampling.mode_defaults(conditional=False) == (128, 1.0)


@pytest.mark.parametrize(
    ("name", "stage"),
    [
        ("FrequencyConfig", frequency),
        ("TokenizerConfig", tokenizer),
        ("PriorConfig", prior),
        ("TrainConfig", training),
    ],
)
def test_each_stage_config_is_defined_beside_its_stage_and_reexported_here(name: str, stage) -> None:
    assert getattr(config, name) is getattr(stage, name)
    assert getattr(stage, name).__module__ == f"{stage.__name__}.config"
