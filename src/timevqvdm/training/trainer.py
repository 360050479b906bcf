"""One small, model-agnostic training loop shared by stage 1, stage 2 and the FCN classifier.

The loop knows nothing about what it trains. It takes a loss function

    loss(module, batch: dict[str, Tensor], generator: torch.Generator) -> (loss, logs)

which by default calls the module's own `training_loss(batch, generator)`; a module may also implement
`on_train_step_end()`. The module the loss function receives is the one Fabric set up, so under DDP the loss
must reach the weights through it (its forward or its `training_loss`, both marked for DDP), never through
a bare sub-module, or the gradients would not be synchronised. Lightning Fabric supplies the device (CUDA when present, else CPU),
precision and DDP; the loop adds AdamW with a cosine schedule, an optional EMA of the weights, a progress bar,
`metrics.jsonl`, atomic checkpoints (every `checkpoint_every` steps and `checkpoint_minutes` minutes) and
resume. Ctrl-C (SIGINT) or SIGTERM ends a run at the next step boundary with a checkpoint, so a stopped run
resumes where it stopped rather than at the last scheduled save. With `TrainConfig.compile` the module's
networks (its `networks()`, else the module itself) run through torch.compile during the run
(`timevqvdm.compiled`).
"""

from __future__ import annotations

import json
import logging
import math
import signal
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from timevqvdm.compiled import compiling, networks_of
from timevqvdm.training.checkpoint import (
    CheckpointError,
    atomic_write_bytes,
    describe_differences,
    flatten_optimizer_state,
    load_module_state,
    load_tensors,
    read_metadata,
    save_tensors,
    unflatten_optimizer_state,
)
from timevqvdm.training.config import TrainConfig
from timevqvdm.training.monitor import ValidationMonitor, restore_best

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.safetensors"
METRICS_NAME = "metrics.jsonl"


@dataclass
class TrainResult:
    steps: int
    epochs: float
    final_loss: float
    wall_time: float
    median_step_time: float
    resumed_from: int = 0
    history: list[dict] = field(default_factory=list)
    # With a ValidationMonitor: its evaluations and why / where the run stopped (StopInfo.as_dict()).
    validation: list[dict] = field(default_factory=list)
    stop: dict | None = None


def make_fabric(cfg: TrainConfig):
    """Build (and launch) a Lightning Fabric for this config. Launching is idempotent per process."""
    from lightning_fabric import Fabric

    fabric = Fabric(
        accelerator=cfg.accelerator, devices=cfg.devices, strategy=cfg.strategy, precision=cfg.precision
    )
    fabric.launch()
    return fabric


def cosine_schedule(total_steps: int, warmup_steps: int = 0) -> Callable[[int], float]:
    """LR multiplier: linear warm-up, then cosine decay from 1 to 0 over the remaining steps."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


# (module as Fabric set it up, batch, generator) -> (scalar loss, logs)
LossFn = Callable[
    [nn.Module, dict[str, torch.Tensor], torch.Generator], tuple[torch.Tensor, dict[str, float]]
]


def module_training_loss(
    module: nn.Module, batch: dict[str, torch.Tensor], generator: torch.Generator
) -> tuple[torch.Tensor, dict[str, float]]:
    """The default loss function: the module's own ``training_loss(batch, generator)``."""
    return module.training_loss(batch, generator)


class Trainer:
    """Train `module` on a dict of equally long tensors (minGPT-style: small, callbacks, no magic).

    Parameters
    ----------
    module : nn.Module; with the default ``loss``, one with ``training_loss(batch, generator) -> (loss, logs)``.
    cfg : TrainConfig (epochs/steps, batch size, optimiser, precision, devices, EMA, checkpoint cadence).
    run_dir : folder for ``metrics.jsonl`` and ``checkpoint.safetensors``; None keeps nothing on disk.
    seed : seeds the batch order and the generator handed to ``training_loss``.
    monitor : a `ValidationMonitor`: evaluated on rank 0 every ``monitor.every`` steps, may end the run
        before the step budget; the module ends with the weights of its best evaluation.
    fingerprint : JSON-able description of what this run trains (data, configuration); stored in every
        checkpoint, and a resume from a checkpoint with another description is refused, naming what differs.
    loss : ``loss(module, batch, generator) -> (loss, logs)``, called with the module as Fabric set it up;
        default `module_training_loss`, the module's own ``training_loss``.
    """

    def __init__(
        self,
        module: nn.Module,
        cfg: TrainConfig,
        run_dir: str | Path | None = None,
        *,
        seed: int = 0,
        desc: str = "train",
        progress: bool = True,
        fabric=None,
        callbacks: tuple[Callable[[Trainer, dict], None], ...] = (),
        monitor: ValidationMonitor | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        loss: LossFn | None = None,
    ) -> None:
        self.module = module
        self.loss_fn = loss or module_training_loss
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.seed = seed
        self.desc = desc
        self.progress = progress
        self.fabric = fabric
        self.callbacks = callbacks
        self.monitor = monitor
        self.fingerprint = dict(fingerprint) if fingerprint is not None else None
        self.step = 0
        self._saved_step: int | None = None
        self._last_save = time.monotonic()
        self.ema: dict[str, torch.Tensor] | None = None

    # ----------------------------------------------------------------------------------------------- setup
    def _setup(self, data: Mapping[str, torch.Tensor]):
        if self.cfg.num_threads:
            torch.set_num_threads(self.cfg.num_threads)
        if self.fabric is None:
            self.fabric = make_fabric(self.cfg)
        fabric = self.fabric
        n = _common_length(data)
        self.world = fabric.world_size
        self.per_rank_batch = max(1, math.ceil(self.cfg.batch_size / self.world))
        self.batches_per_epoch = max(1, math.ceil(n / (self.per_rank_batch * self.world)))
        self.total_steps = self.cfg.max_steps or self.cfg.epochs * self.batches_per_epoch
        optimizer = torch.optim.AdamW(
            [p for p in self.module.parameters() if p.requires_grad],
            lr=self.cfg.lr,
            weight_decay=self.cfg.weight_decay,
        )
        self.scheduler_fn = cosine_schedule(self.total_steps, self.cfg.warmup_steps)
        self.model, self.optimizer = fabric.setup(self.module, optimizer)
        if hasattr(self.module, "training_loss"):
            self.model.mark_forward_method("training_loss")
        # Small datasets live on the device for the whole run: no loader, no host-device copy per step.
        self.data = {k: fabric.to_device(v) for k, v in data.items()}
        self.n = n
        # One generator for the batch order (identical on every rank, so ranks take disjoint slices) and one
        # for the randomness inside a step (different per rank, on the compute device).
        self.order_gen = torch.Generator().manual_seed(self.seed)
        self.step_gen = torch.Generator(device=fabric.device).manual_seed(self._step_seed())
        if self.cfg.ema_decay:
            self.ema = {k: v.detach().clone() for k, v in self.module.state_dict().items()}

    # -------------------------------------------------------------------------------------------- the loop
    def fit(self, data: Mapping[str, torch.Tensor], resume: bool = False) -> TrainResult:
        """Run to ``total_steps``; with ``resume=True`` continue from ``run_dir``'s checkpoint if present."""
        self._setup(data)
        start = self._maybe_resume(resume)
        stopped_before = self._monitor_stopped()  # resumed from a run the monitor had already ended
        fabric = self.fabric
        self.model.train()
        bar = self._progress_bar(start)
        step_times: list[float] = []
        history: list[dict] = []
        last_loss = float("nan")
        t_start = time.perf_counter()
        epoch_batches: list[torch.Tensor] = []
        with _StopRequests() as stop, compiling(networks_of(self.module), enabled=self.cfg.compile):
            while self.step < self.total_steps and not self._monitor_stopped():
                if not epoch_batches:
                    epoch_batches = self._epoch_batches()
                index = epoch_batches.pop(0)
                t0 = time.perf_counter()
                loss, logs = self._train_step(index)
                step_times.append(time.perf_counter() - t0)
                self.step += 1
                last_loss = loss
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}")
                if self.step % self.cfg.log_every == 0 or self.step == self.total_steps:
                    record = self._log(loss, logs, step_times)
                    history.append(record)
                    for callback in self.callbacks:
                        callback(self, record)
                if self.monitor is not None and self.monitor.due(self.step):
                    self._validate()
                if self._checkpoint_due():
                    self.save_checkpoint()
                if stop.signum is not None:
                    self._stop_with_checkpoint(stop, bar)
        if bar is not None:
            bar.close()
        fabric.barrier()
        stop = self._finish_monitor(log_stop=not stopped_before)
        if stop is None and self.ema is not None:
            # Hand back the averaged weights: that is what sampling should use.
            self.module.load_state_dict(self.ema)
        self.module.eval()
        return TrainResult(
            steps=self.step,
            epochs=self.step / self.batches_per_epoch,
            final_loss=last_loss,
            wall_time=time.perf_counter() - t_start,
            median_step_time=statistics.median(step_times) if step_times else float("nan"),
            resumed_from=start,
            history=history,
            validation=list(self.monitor.history) if self.monitor is not None else [],
            stop=stop,
        )

    # ----------------------------------------------------------------------------------------- validation
    def _monitor_stopped(self) -> bool:
        return self.monitor is not None and self.monitor.stopped

    def _validate(self) -> None:
        """Score the weights sampling would use (the EMA when on) once, on rank 0; every rank learns the
        decision, so all of them leave the loop at the same step."""
        if self.fabric.is_global_zero:
            with self._evaluation_weights():
                record = self.monitor.update(self.step, self.module.state_dict)
            self._write_metrics({"event": "validation", **record})
        stopped = (
            self.fabric.broadcast(self.monitor.stopped, src=0) if self.world > 1 else self.monitor.stopped
        )
        if stopped and not self.monitor.stopped:
            self.monitor.finish(self.step)

    @contextmanager
    def _evaluation_weights(self):
        """The module in eval mode without gradients, holding the EMA weights when they are kept."""
        live = {k: v.detach().clone() for k, v in self.module.state_dict().items()} if self.ema else None
        if live is not None:
            self.module.load_state_dict(self.ema)
        self.module.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            if live is not None:
                self.module.load_state_dict(live)
            self.module.train()

    def _finish_monitor(self, log_stop: bool) -> dict | None:
        """Hand back the best evaluation's weights and record why the run ended."""
        if self.monitor is None:
            return None
        stop = self.monitor.finish(self.step).as_dict()
        if log_stop:
            self._write_metrics({"event": "stop", **stop})
        restore_best(self.module, self.monitor)
        message = (
            f"{self.desc}: stopped at step {stop['step']} of {self.total_steps} ({stop['reason']}: "
            f"{stop['detail']}); kept the weights of step {stop['best_step']}"
        )
        log.info(message)
        if self.progress and self.fabric.is_global_zero:
            from tqdm.auto import tqdm

            tqdm.write(message)
        return stop

    def _stop_with_checkpoint(self, stop: _StopRequests, bar) -> None:
        """Save at this step boundary, then let the signal that asked to stop take its usual course."""
        if bar is not None:
            bar.close()
        if self.run_dir is not None:
            if self._saved_step != self.step:  # else the loop has just saved this step
                self.save_checkpoint()
            log.warning(
                "%s: stopped by %s at step %d of %d; checkpoint saved to %s (resume to continue)",
                self.desc, signal.Signals(stop.signum).name, self.step, self.total_steps, self.checkpoint_path,
            )  # fmt: skip
        stop.deliver()

    def _checkpoint_due(self) -> bool:
        """A save is due: every `checkpoint_every` steps, `checkpoint_minutes` after the last one, at the end,
        and where the monitor has just stopped the run (so a resume knows it is finished).

        The time limit bounds what a hard kill (`kill -9`, a lost machine) can cost when steps are slow.
        """
        if self.run_dir is None:
            return False
        minutes = self.cfg.checkpoint_minutes
        overdue = minutes is not None and time.monotonic() - self._last_save >= 60 * minutes
        stopped_here = self._monitor_stopped() and self.monitor.stop.step == self.step
        return (
            overdue
            or stopped_here
            or self.step % self.cfg.checkpoint_every == 0
            or self.step == self.total_steps
        )

    def _epoch_batches(self) -> list[torch.Tensor]:
        """Shuffle, split into near-equal global batches, and keep this rank's slice of each.

        `tensor_split` gives near-equal batches so no batch is a lone series (BatchNorm needs two).
        """
        perm = torch.randperm(self.n, generator=self.order_gen)
        batches = torch.tensor_split(perm, self.batches_per_epoch)
        rank = self.fabric.global_rank
        return [b[rank :: self.world] for b in batches if len(b[rank :: self.world]) > 0]

    def _train_step(self, index: torch.Tensor) -> tuple[float, dict[str, float]]:
        fabric = self.fabric
        index = index.to(fabric.device)
        batch = {k: v[index] for k, v in self.data.items()}
        for group in self.optimizer.param_groups:
            group["lr"] = self.cfg.lr * self.scheduler_fn(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        loss, logs = self.loss_fn(self.model, batch, self.step_gen)
        fabric.backward(loss)
        self.optimizer.step()
        if hasattr(self.module, "on_train_step_end"):
            self.module.on_train_step_end()
        self._update_ema()
        return float(loss.detach()), logs

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema is None:
            return
        decay = self.cfg.ema_decay
        for name, value in self.module.state_dict().items():
            if value.dtype.is_floating_point:
                self.ema[name].lerp_(value.detach(), 1.0 - decay)
            else:
                self.ema[name].copy_(value)

    # ------------------------------------------------------------------------------------ logging, progress
    def _progress_bar(self, start: int):
        if not self.progress or not self.fabric.is_global_zero:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.total_steps, initial=start, desc=self.desc, unit="step", dynamic_ncols=True)

    def _log(self, loss: float, logs: dict[str, float], step_times: list[float]) -> dict:
        record = {
            "step": self.step,
            "epoch": round(self.step / self.batches_per_epoch, 3),
            "loss": loss,
            "lr": self.optimizer.param_groups[0]["lr"],
            "step_time": step_times[-1],
            **{k: float(v) for k, v in logs.items()},
        }
        self._write_metrics(record)
        return record

    def _write_metrics(self, record: dict) -> None:
        if self.run_dir is not None and self.fabric.is_global_zero:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            with open(self.run_dir / METRICS_NAME, "a") as handle:
                handle.write(json.dumps(record) + "\n")

    # ---------------------------------------------------------------------------------- checkpoint, resume
    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / CHECKPOINT_NAME

    def save_checkpoint(self) -> None:
        """Weights, optimiser, EMA and RNG state in one safetensors file, written atomically by rank 0."""
        if not self.fabric.is_global_zero:
            return
        tensors = {f"model.{k}": v for k, v in self.module.state_dict().items()}
        optim_tensors, optim_meta = flatten_optimizer_state(self.optimizer.state_dict())
        tensors.update(optim_tensors)
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.items()})
        if self.monitor is not None:
            monitor_tensors, monitor_meta = self.monitor.state_dict()
            tensors.update({f"monitor.{k}": v for k, v in monitor_tensors.items()})
        tensors["rng.order"] = self.order_gen.get_state()
        tensors["rng.step"] = self.step_gen.get_state()
        meta = {
            "step": str(self.step),
            "total_steps": str(self.total_steps),
            "optimizer": json.dumps(optim_meta),
            "format": "timevqvdm-train-checkpoint-1",
        }
        if self.monitor is not None:
            meta["monitor"] = monitor_meta
        if self.fingerprint is not None:
            meta["fingerprint"] = json.dumps(self.fingerprint, sort_keys=True)
        save_tensors(self.checkpoint_path, tensors, metadata=meta)
        self._saved_step, self._last_save = self.step, time.monotonic()

    def _maybe_resume(self, resume: bool) -> int:
        path = self.checkpoint_path
        if path is None or not path.exists():
            if resume:
                log.info(
                    "no checkpoint to resume from%s; starting fresh", f" in {self.run_dir}" if path else ""
                )
            self._truncate_metrics(0)
            return 0
        if not resume:
            raise CheckpointError(
                f"{path}: a checkpoint already exists; pass resume=True (--resume) to continue it, "
                "or choose another output folder"
            )
        meta = read_metadata(path)
        if meta.get("format") != "timevqvdm-train-checkpoint-1":
            raise CheckpointError(f"{path}: not a timevqvdm training checkpoint")
        self._check_fingerprint(meta, path)
        tensors = load_tensors(path)
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        load_module_state(self.module, model_state, path)
        self.optimizer.load_state_dict(unflatten_optimizer_state(tensors, json.loads(meta["optimizer"])))
        if self.ema is not None and any(k.startswith("ema.") for k in tensors):
            self.ema = {k[4:]: v.to(self.fabric.device) for k, v in tensors.items() if k.startswith("ema.")}
        self.step = int(meta["step"])
        if self.monitor is not None and "monitor" in meta:
            monitor_state = {k[8:]: v for k, v in tensors.items() if k.startswith("monitor.")}
            self.monitor.load_state_dict(monitor_state, meta["monitor"])
        # The batch order continues from the saved generator state; a partly done epoch restarts shuffled.
        self.order_gen.set_state(tensors["rng.order"])
        self._restore_step_generator(tensors["rng.step"], path)
        log.info("resumed %s from step %d of %d", self.desc, self.step, self.total_steps)
        self._truncate_metrics(self.step)
        return self.step

    def _check_fingerprint(self, meta: Mapping[str, str], path: Path) -> None:
        """Refuse to resume a checkpoint that trained on other data or with other settings."""
        if self.fingerprint is None or "fingerprint" not in meta:
            return  # a checkpoint from before fingerprints, or a run that does not describe itself
        saved = json.loads(meta["fingerprint"])
        differences = describe_differences(saved, json.loads(json.dumps(self.fingerprint)))
        if differences:
            raise CheckpointError(
                f"{path}: cannot resume, this run differs from the checkpoint ({differences}); resume with the "
                "data and settings it was started with, or train into another folder"
            )

    def _truncate_metrics(self, step: int) -> None:
        """Drop the records after `step` from `metrics.jsonl`, so a resumed run logs each step once.

        The records between the last checkpoint and a kill belong to steps the resumed run repeats.
        """
        metrics = None if self.run_dir is None else self.run_dir / METRICS_NAME
        if metrics is None or not metrics.exists() or not self.fabric.is_global_zero:
            return
        lines = metrics.read_text().splitlines(keepends=True)
        kept = [line for line in lines if _logged_step(line) <= step]
        if len(kept) != len(lines):
            atomic_write_bytes(metrics, "".join(kept).encode())

    def _step_seed(self) -> int:
        """The in-step generator's seed: different per rank, so ranks draw different noise."""
        return self.seed * 1000 + self.fabric.global_rank

    def _restore_step_generator(self, state: torch.Tensor, path: Path) -> None:
        """Restore the in-step generator, or reseed it when the checkpoint comes from another device type.

        A CUDA generator's state (seed and offset, 16 bytes) cannot be set on a CPU generator, nor the
        reverse, so a run trained on a GPU could not otherwise be finished on a CPU. The new stream is
        seeded from the seed, rank and step: deterministic, but not the one the other device would have drawn.
        """
        if state.numel() == self.step_gen.get_state().numel():
            self.step_gen.set_state(state)  # a damaged state of the right size still raises here
        else:
            self.step_gen.manual_seed(self._step_seed() * 1_000_003 + self.step)
            log.warning(
                "%s: its in-step random state belongs to another device type than %s; continuing from step %d"
                " with a fresh stream (seeded from the seed and step)",
                path, self.fabric.device, self.step,
            )  # fmt: skip


class _StopRequests:
    """Turns SIGINT and SIGTERM into a flag the training loop reads between steps.

    A signal acting mid-step could leave the weights updated and the optimiser not (or the reverse); a flag
    lets the step finish first. `deliver()` then hands the signal to the handler that was there before
    (KeyboardInterrupt for SIGINT, termination for SIGTERM). A second signal acts at once. Signals already
    ignored (SIGINT in a background job) stay ignored, and nothing is installed off the main thread.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _StopRequests:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                # None: a handler set outside Python, which could not be put back.
                if signal.getsignal(signum) not in (signal.SIG_IGN, None):
                    self._previous[signum] = signal.signal(signum, self._request)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _request(self, signum: int, frame) -> None:
        if self.signum is not None:  # asked twice: stop now, without waiting for the step
            self._restore()
            signal.raise_signal(signum)
            return
        self.signum = signum

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def deliver(self) -> None:
        signum, self.signum = self.signum, None
        self._restore()
        if signum is not None:
            signal.raise_signal(signum)


def _logged_step(line: str) -> float:
    """The step of one `metrics.jsonl` line; a line cut short by a kill counts as after every step."""
    try:
        return json.loads(line)["step"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return math.inf


def _common_length(data: Mapping[str, torch.Tensor]) -> int:
    if not data:
        raise ValueError("training data is empty")
    lengths = {k: len(v) for k, v in data.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"training tensors differ in length: {lengths}")
    n = next(iter(lengths.values()))
    if n < 2:
        raise ValueError(f"need at least 2 training examples, got {n}")
    return n
