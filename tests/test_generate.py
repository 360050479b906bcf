"""The settings of one `sample` call: every override goes through `SamplingConfig.replace`, checked by the
config's own rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from timevqvdm.config import SAMPLING_RULES, SamplingConfig, get_preset
from timevqvdm.generate import call_settings


def test_every_sampling_setting_has_a_rule():
    assert set(SAMPLING_RULES) == {f.name for f in dataclasses.fields(SamplingConfig)}


def test_every_default_of_every_preset_passes_its_rule():
    for name in ("best", "paper", "quick", "tiny"):
        sampling = get_preset(name).sampling
        assert sampling.replace(**dataclasses.asdict(sampling)) == sampling


def test_replace_changes_only_what_it_is_given():
    base = SamplingConfig()
    new = base.replace(steps=8, guidance=0.0, sampler="ddim", precision="bf16", t_max=1.0)
    assert (new.steps, new.guidance, new.sampler, new.precision, new.t_max) == (8, 0.0, "ddim", "bf16", 1.0)
    assert new.rescale == base.rescale and base == SamplingConfig()  # the original is untouched
    assert base.replace(steps=np.int64(3), conditional_steps=None).steps == 3


def test_an_unknown_setting_is_named_with_the_known_ones():
    with pytest.raises(TypeError, match=r"unknown sampling setting 'step'; the settings are \['steps'"):
        SamplingConfig().replace(step=3)


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("steps", 0, "an int >= 1"),
        ("steps", 2.5, "an int >= 1"),
        ("steps", True, "an int >= 1"),
        ("guidance", -1.0, "a finite number >= 0"),
        ("guidance", float("nan"), "a finite number >= 0"),
        ("rescale", 1.5, "a number in [0, 1]"),
        ("t_max", 0.0, "a number in (0, 1]"),
        ("t_max", 1.01, "a number in (0, 1]"),
        ("sampler", "euler", "one of ('ancestral', 'ddim')"),
        ("batch_size", 0, "an int >= 1"),
        ("precision", "fp16", "one of ('32', 'fp32', '32-true', 'bf16', 'bf16-mixed')"),
        ("unconditional", "marginal", "one of ('null', 'class_prior')"),
        ("conditional_steps", 0, "None or an int >= 1"),
        ("conditional_guidance", -3.0, "None or a finite number >= 0"),
    ],
)
def test_an_invalid_value_is_named_with_its_rule(name, value, rule):
    # Made directly, as a preset or a loaded model.json makes it, or replaced, as a `sample` call does.
    for make in (lambda: SamplingConfig(**{name: value}), lambda: SamplingConfig().replace(**{name: value})):
        with pytest.raises(ValueError) as info:
            make()
        assert str(info.value) == f"{name} must be {rule}, got {value!r}"


def test_a_call_starts_from_its_modes_defaults_and_its_overrides_win():
    paper = get_preset("paper").sampling  # unconditional 128 steps w = 1, conditional 32 steps w = 3
    assert (call_settings(paper, False, {}).steps, call_settings(paper, False, {}).guidance) == (128, 1.0)
    assert (call_settings(paper, True, {}).steps, call_settings(paper, True, {}).guidance) == (32, 3.0)
    both = call_settings(paper, True, {"steps": 5, "guidance": 2.0, "batch_size": 7})
    assert (both.steps, both.guidance, both.batch_size) == (5, 2.0, 7)
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        call_settings(paper, True, {"steps": 0})


def test_the_mode_defaults_are_not_settings_of_one_call():
    with pytest.raises(TypeError, match="conditional_steps is a default of the model's config"):
        call_settings(SamplingConfig(), True, {"conditional_steps": 4})
