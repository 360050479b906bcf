"""The model's configuration, composed of each stage's dataclass, and the named presets.

Each stage's dataclass lives beside the code it configures (`FrequencyConfig` in `frequency`,
`TokenizerConfig` in `tokenizer`, `PriorConfig` in `prior`, `TrainConfig` in `training`) so that no stage
imports this module; they are re-exported here. What only the modules that wire both stages read
(`SamplingConfig`, `ValidationConfig`) is defined here. Config dicts stop at the factories (`TimeVQVDM`, `build_tokenizer`,
`build_prior`): everything below them takes explicit keyword arguments. A config is stored in every checkpoint
as JSON, so loading needs no flags.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from timevqvdm.compiled import COMPILE_MODES
from timevqvdm.diffusion import SAMPLERS
from timevqvdm.frequency import FrequencyConfig
from timevqvdm.prior import PriorConfig
from timevqvdm.tokenizer import TokenizerConfig
from timevqvdm.training import TrainConfig

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "SAMPLING_RULES",
    "FrequencyConfig",
    "PriorConfig",
    "SamplingConfig",
    "TimeVQVDMConfig",
    "TokenizerConfig",
    "TrainConfig",
    "ValidationConfig",
    "get_preset",
]


# What the priors' validation monitor minimises: the held-out denoising loss, or the novelty samples' FID to the
# held-out part.
STAGE2_SELECT = ("val_loss", "val_fid")


@dataclass
class ValidationConfig:
    """Validation-driven training: a held-out part of the training split decides when each network stops.

    Disabled, every network trains its full epoch budget (the thesis). Enabled, the budgets are upper bounds:
    ``fraction`` of each class (at least one series of every class that has two; see
    `timevqvdm.data.split.validation_indices`) is held out of every gradient step, and

    * stage 1 is scored every ``stage1_every`` steps by its reconstruction loss on the held-out part and stops
      after ``stage1_patience`` evaluations without a relative improvement of ``stage1_min_delta``;
    * each prior is scored every ``stage2_every`` steps by its denoising loss on the held-out latents at
      ``denoising_draws`` fixed (t, noise) draws per series, and by a novelty check: ``novelty_samples``
      series drawn with ``novelty_steps`` ancestral steps, whose copy share (`evaluation.memorisation`,
      the copy threshold taken from the held-out part's nearest-train distances pooled with the training
      part's leave-one-out ones) must stay at or below ``copy_threshold``, scaled to the number of
      reference distances (`timevqvdm.validation.copy_limit`: a few reference series raise the copy share
      an honest generator scores, and the limit keeps the same ratio to that level). It stops after
      ``stage2_patience`` evaluations without a better eligible denoising loss, or when the copy share
      exceeds the limit at ``novelty_patience`` evaluations in a row. The kept weights are those of the evaluation with
      the lowest denoising loss among those whose copy share was within the limit. With ``stage2_select`` set
      to ``"val_fid"``, the FID of the novelty samples to the held-out part (in a random FCN's features) takes
      the denoising loss's place in both the plateau and the choice of weights.

    With ``lockstep``, the two priors train as one (`prior.PriorPair`: the HF prior learns from the real LF
    latents, so it needs no LF prior while it trains), each step a step of both, under one monitor: its
    denoising loss is the sum of the two priors' and its novelty check draws whole series, LF from the LF
    prior and HF from the HF prior on it, as `sample` does; the copy share is then the one the evaluation
    reports. Without it the LF prior trains first, checked on LF-band series, then the HF prior, checked on
    whole series over one draw of the frozen LF prior.

    With ``refit``, every network is then trained again on all training series (the held-out part too) for
    the step count whose weights were kept, under the same learning-rate schedule.
    """

    enabled: bool = False
    fraction: float = 0.2
    stage1_every: int = 50
    stage1_patience: int = 2
    stage1_min_delta: float = 0.02
    stage2_every: int = 50
    stage2_patience: int = 3
    denoising_draws: int = 8
    novelty_samples: int = 128
    novelty_steps: int = 16
    copy_threshold: float = 0.1
    novelty_patience: int = 2
    lockstep: bool = False
    refit: bool = False
    stage2_select: str = "val_loss"

    def __post_init__(self) -> None:
        if self.stage2_select not in STAGE2_SELECT:
            raise ValueError(f"stage2_select must be one of {STAGE2_SELECT}, got {self.stage2_select!r}")


UNCONDITIONAL_MODES = ("null", "class_prior")
# "32" (and its aliases): float32; "bf16" (and "bf16-mixed"): autocast of the U-Net forward passes.
SAMPLING_PRECISIONS = ("32", "fp32", "32-true", "bf16", "bf16-mixed")

Rule = tuple[str, Callable[[Any], bool]]  # (what a valid value is, the check)


# numbers' ABCs take NumPy's scalars too; a bool is not a count or a weight.
def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _one_of(options: tuple[str, ...]) -> Rule:
    return f"one of {options}", lambda v: isinstance(v, str) and v in options


def _or_none(rule: Rule) -> Rule:
    return f"None or {rule[0]}", lambda v: v is None or rule[1](v)


_POSITIVE_INT: Rule = ("an int >= 1", lambda v: _is_int(v) and v >= 1)
_GUIDANCE: Rule = ("a finite number >= 0", lambda v: _is_number(v) and v >= 0)
# One rule per SamplingConfig field, checked whenever one is made (a preset, a loaded model, a `replace`).
SAMPLING_RULES: dict[str, Rule] = {
    "steps": _POSITIVE_INT,
    "guidance": _GUIDANCE,
    "rescale": ("a number in [0, 1]", lambda v: _is_number(v) and 0 <= v <= 1),
    "t_max": ("a number in (0, 1]", lambda v: _is_number(v) and 0 < v <= 1),
    "sampler": _one_of(tuple(SAMPLERS)),
    "batch_size": _POSITIVE_INT,
    "precision": _one_of(SAMPLING_PRECISIONS),
    "unconditional": _one_of(UNCONDITIONAL_MODES),
    "conditional_steps": _or_none(_POSITIVE_INT),
    "conditional_guidance": _or_none(_GUIDANCE),
    "compile": (
        f"True, False or a torch.compile mode of {COMPILE_MODES}",
        lambda v: isinstance(v, bool) or (isinstance(v, str) and v in COMPILE_MODES),
    ),
}


@dataclass(frozen=True)
class SamplingConfig:
    """Defaults for `TimeVQVDM.sample` (thesis 3.6); a call overrides any of them but the conditional pair.

    ``steps`` and ``guidance`` serve both modes, except that ``conditional_steps`` and
    ``conditional_guidance``, when set, replace them for class-conditional sampling (labels given). Every
    field is checked against its rule in `SAMPLING_RULES` when the config is made: an invalid value is a
    ValueError that names the field, the rule and the value.
    """

    steps: int = 128
    guidance: float = 1.0
    rescale: float = 0.1
    t_max: float = 0.99
    sampler: str = "ancestral"
    batch_size: int = 1024
    precision: str = "32"  # one of SAMPLING_PRECISIONS
    # How labels=None is sampled: "null" (thesis: the null class) or "class_prior" (draw the classes in
    # training proportions and sample each conditionally; labelled models only). See TimeVQVDM.sample.
    unconditional: str = "null"
    conditional_steps: int | None = None
    conditional_guidance: float | None = None
    # Run the U-Nets through torch.compile, eager where it is unavailable (`timevqvdm.compiled`); a mode
    # name picks torch.compile's mode ("reduce-overhead": CUDA graphs on a GPU). Off until
    # benchmarks/compile_speed.py measures it faster.
    compile: bool | str = False

    def __post_init__(self) -> None:
        for name, (rule, valid) in SAMPLING_RULES.items():
            value = getattr(self, name)
            if not valid(value):
                raise ValueError(f"{name} must be {rule}, got {value!r}")

    def replace(self, **changes: Any) -> SamplingConfig:
        """`dataclasses.replace`, the new config checked as any is; a name that is not a field is a
        TypeError that lists the fields."""
        fields = [f.name for f in dataclasses.fields(self)]
        for name in changes:
            if name not in fields:
                raise TypeError(f"unknown sampling setting {name!r}; the settings are {fields}")
        return dataclasses.replace(self, **changes)

    def mode_defaults(self, conditional: bool) -> tuple[int, float]:
        """``(steps, guidance)`` of class-conditional (labels given) or unconditional sampling."""
        if not conditional:
            return self.steps, self.guidance
        steps = self.steps if self.conditional_steps is None else self.conditional_steps
        guidance = self.guidance if self.conditional_guidance is None else self.conditional_guidance
        return steps, guidance


@dataclass
class TimeVQVDMConfig:
    frequency: FrequencyConfig = field(default_factory=FrequencyConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    stage1: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=2000, weight_decay=1e-6))
    stage2: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1000, weight_decay=1e-6))
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def training_dict(self) -> dict[str, Any]:
        """Everything that shapes the trained weights: `to_dict` without the sampling defaults. Two configs
        with equal training dicts train the same model."""
        out = self.to_dict()
        del out["sampling"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimeVQVDMConfig:
        """Inverse of `to_dict`; unknown keys are an error so a typo never goes unnoticed."""
        return _from_dict(cls, data)

    def replace(self, **sections: Any) -> TimeVQVDMConfig:
        return dataclasses.replace(self, **sections)


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {sorted(unknown)}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in data.items():
        default = (
            fields[name].default_factory()
            if fields[name].default_factory is not dataclasses.MISSING
            else fields[name].default
        )
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            kwargs[name] = _from_dict(type(default), value)
        elif isinstance(default, tuple) and isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _paper() -> TimeVQVDMConfig:
    """Thesis Appendix D: 2000 stage-1 epochs, 1000 stage-2 epochs, batch 128, AdamW 1e-3, cosine. Sampling as
    in thesis 3.6: unconditional 128 steps; class-conditional 32 steps with guidance w = 3; gamma 0.1 for both."""
    return TimeVQVDMConfig(sampling=SamplingConfig(conditional_steps=32, conditional_guidance=3.0))


def _best() -> TimeVQVDMConfig:
    """The paper's model and training, with every lever that measured better on the development datasets.

    Chosen by the FID of 1024 series against the *training* split (never a test-split score), 2 seeds, on
    GunPoint and ItalyPowerDemand; the figures are in benchmarks/results/levers-*.json and README.md,
    "Current measurements" (docs/benchmark.md, "Quality levers", says how they are made):

    * 16 ancestral steps: 128 cost eight times as much for no gain beyond run-to-run noise; DDIM needs far
      more steps with the eps-predicting prior;
    * unconditional sampling through the class prior (classes in training proportions, each sampled
      conditionally) instead of the null class: a lower FID on both datasets. Its samples sit closer to
      the training series, so check `memorisation` before sharing samples of a small training set;
    * w = 1 (no guidance) for class-conditional samples: the lowest FID of w = 1 / 2 / 3 / 5 on both;
    * no effect: rescale γ from 0 to 0.5. Worse: velocity prediction (retrained stage 2).
    """
    return TimeVQVDMConfig(
        sampling=SamplingConfig(steps=16, unconditional="class_prior"),
        validation=ValidationConfig(enabled=True, lockstep=True),
    )


def _quick() -> TimeVQVDMConfig:
    """A few minutes on a laptop CPU: a narrower tokenizer, the paper's priors, fewer epochs.

    The priors keep the paper's width: narrower U-Nets learned so much more slowly per step that it cost
    more than their cheaper steps saved (docs/benchmark.md, "Choices measured once").
    """
    return TimeVQVDMConfig(
        tokenizer=TokenizerConfig(hidden_channels=32, n_res_blocks=2),
        stage1=TrainConfig(epochs=300, checkpoint_every=200),
        stage2=TrainConfig(epochs=500, checkpoint_every=250),
        sampling=SamplingConfig(steps=32),
    )


def _tiny() -> TimeVQVDMConfig:
    """For tests: seconds on a CPU. Not meant to produce good samples."""
    return TimeVQVDMConfig(
        tokenizer=TokenizerConfig(hidden_channels=8, n_res_blocks=1, codebook_size=32),
        prior=PriorConfig(
            lf_channels=(8, 16), hf_channels=(8, 16), emb_dim=16, groups=4, attn_heads=2, attn_head_dim=4
        ),
        stage1=TrainConfig(epochs=2, batch_size=32, checkpoint_every=1000),
        stage2=TrainConfig(epochs=2, batch_size=32, checkpoint_every=1000),
        sampling=SamplingConfig(steps=4, batch_size=64),
    )


PRESETS = {"best": _best, "paper": _paper, "quick": _quick, "tiny": _tiny}
# What a user gets without naming a preset; `paper` reproduces the thesis exactly.
DEFAULT_PRESET = "best"


def get_preset(name: str) -> TimeVQVDMConfig:
    """Return a fresh config for a named preset (`best`, `paper`, `quick`, `tiny`)."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
