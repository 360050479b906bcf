"""One training run's settings, stored in every checkpoint; `Trainer` is where they stop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    """One training run of the shared loop (used by both stages and by the FCN).

    Attributes
    ----------
    epochs : int
        Passes over the data; the step budget unless ``max_steps`` is set.
    max_steps : int or None
        Step budget that replaces ``epochs`` when set.
    batch_size : int
        Global batch size, split across the DDP ranks.
    lr, weight_decay : float
        AdamW's peak learning rate and weight decay.
    warmup_steps : int
        Linear warm-up before the cosine decay of the learning rate.
    ema_decay : float or None
        Decay of an exponential moving average of the weights (a stage-2 lever); None keeps none.
    checkpoint_every : int
        Save a checkpoint every this many steps.
    checkpoint_minutes : float or None
        Also save when this many minutes passed since the last save (None: steps only), so a hard kill of a
        slow run loses at most a few minutes.
    log_every : int
        Log the loss (``metrics.jsonl``, callbacks) every this many steps and at the last one.
    precision, accelerator, strategy : str
        Lightning Fabric's settings, e.g. ``"bf16-mixed"``, ``"cuda"``, ``"ddp"``.
    devices : int or str
        Lightning Fabric's devices: a count or a device string such as ``"auto"``.
    num_threads : int or None
        CPU threads for torch; None leaves torch's default.
    compile : bool
        Run the trained module's networks (its ``networks()``, else the module itself) through
        ``torch.compile``; eager, with a warning, where compilation is unavailable or fails
        (`timevqvdm.compiled`). Off until ``benchmarks/compile_speed.py`` measures it faster.
    """

    epochs: int = 100
    max_steps: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-6
    warmup_steps: int = 0
    ema_decay: float | None = None
    checkpoint_every: int = 500
    checkpoint_minutes: float | None = 2.0
    log_every: int = 10
    precision: str = "32-true"
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    num_threads: int | None = None
    compile: bool = False
