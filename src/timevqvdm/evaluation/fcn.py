"""The FCN classifier (Wang et al. 2017) used as feature extractor and classifier for FID, IS and CAS.

Thesis 2.5.3 and Appendix D: three Conv1d blocks (128, 256, 128 channels, kernels 8, 5, 3, 'same' padding,
BatchNorm, ReLU), global average pooling to a 128-d feature vector, and a linear head. Trained with the shared
`timevqvdm.training.Trainer` (AdamW, lr 1e-3, weight decay 1e-5, batch 256, cosine, 1000 epochs).

A trained FCN is cached as data (safetensors + JSON) under a key derived from the training data's content
and the recipe, so every evaluation of a dataset reuses the same reference classifier.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from timevqvdm.training import TrainConfig, Trainer, load_tensors, save_json, save_tensors
from timevqvdm.training.checkpoint import load_json, load_module_state

log = logging.getLogger(__name__)

RECIPE_VERSION = "fcn-v1"  # bump when the architecture or recipe changes: old cache entries stop matching
# Steps between checkpoints when an FCN trains into a run folder (a few minutes of CPU training): an
# interrupted training resumes from the last one.
CHECKPOINT_EVERY = 250


@dataclass
class FCNConfig:
    """Architecture of the FCN; stored with every cached classifier."""

    in_channels: int
    n_classes: int
    channels: tuple[int, ...] = (128, 256, 128)
    kernel_sizes: tuple[int, ...] = (8, 5, 3)


def fcn_train_config(epochs: int = 1000) -> TrainConfig:
    """The FCN training recipe (Appendix D) as a `TrainConfig` for the shared loop."""
    return TrainConfig(
        epochs=epochs, batch_size=256, lr=1e-3, weight_decay=1e-5, checkpoint_every=10**9, log_every=50
    )


class FCN(nn.Module):
    """Fully convolutional network for time series classification.

    Parameters
    ----------
    config : FCNConfig
    """

    def __init__(self, config: FCNConfig) -> None:
        super().__init__()
        self.config = config
        blocks: list[nn.Module] = []
        c_in = config.in_channels
        for c_out, k in zip(config.channels, config.kernel_sizes, strict=True):
            # 'same' padding, the extra zero on the right for even kernels (as padding="same" does)
            pad = nn.ConstantPad1d(((k - 1) // 2, k // 2), 0.0)
            blocks += [pad, nn.Conv1d(c_in, c_out, k), nn.BatchNorm1d(c_out), nn.ReLU()]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c_in, config.n_classes)
        self.info: dict[str, Any] = {}  # cache metadata (classes, epochs, data hash, ...) when loaded/trained

    def features(self, x: Tensor) -> Tensor:
        """(B, C, L) -> (B, 128): the globally average-pooled representation used for FID."""
        return self.blocks(x).mean(dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, L) -> (B, n_classes) logits."""
        return self.head(self.features(x))

    def training_loss(self, batch: dict[str, Tensor], generator: torch.Generator) -> tuple[Tensor, dict]:
        """Cross-entropy on ``batch["x"]`` (B, C, L) and ``batch["y"]`` (B,); deterministic, no sampling."""
        logits = self(batch["x"])
        loss = F.cross_entropy(logits, batch["y"])
        accuracy = (logits.argmax(dim=1) == batch["y"]).float().mean()
        return loss, {"accuracy": float(accuracy)}


@torch.no_grad()
def fcn_outputs(fcn: FCN, x: np.ndarray | Tensor, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Features and class probabilities of the FCN in eval mode.

    Parameters
    ----------
    fcn : FCN
    x : array, shape (n, C, L), in the units the FCN was trained on
    batch_size : int

    Returns
    -------
    features : np.ndarray, shape (n, 128)
    probs : np.ndarray, shape (n, n_classes)
    """
    fcn.eval()
    device = next(fcn.parameters()).device
    data = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    feats, probs = [], []
    for start in range(0, len(data), batch_size):
        h = fcn.features(data[start : start + batch_size].to(device))
        feats.append(h.cpu())
        probs.append(torch.softmax(fcn.head(h), dim=1).cpu())
    return torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy()


def train_fcn(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    epochs: int = 1000,
    seed: int = 0,
    progress: bool = False,
    run_dir: str | Path | None = None,
) -> FCN:
    """Train a fresh FCN with the recipe on (x, y) with the shared training loop.

    Parameters
    ----------
    x : np.ndarray, shape (n, C, L)
    y : np.ndarray, shape (n,), int class indices in [0, n_classes)
    n_classes : int
    epochs, seed : int
    progress : bool
        Show the trainer's progress bar.
    run_dir : str or Path, optional
        Checkpoint every `CHECKPOINT_EVERY` steps into this folder and resume from its checkpoint when one is
        there, so an interrupted training continues where it stopped. It must hold only this (x, y)'s
        training: the caller names it after the data (see `get_fcn`).

    Returns
    -------
    FCN
        On the CPU, in eval mode; ``info["train_seconds"]`` holds the wall time (of the part run now, when
        ``info["resumed_from"]`` is a step > 0).
    """
    x_t = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    y_t = torch.as_tensor(np.asarray(y), dtype=torch.long)
    torch.manual_seed(seed)  # the initial weights
    fcn = FCN(FCNConfig(in_channels=x_t.shape[1], n_classes=n_classes))
    config = fcn_train_config(epochs)
    if run_dir is not None:
        config = replace(config, checkpoint_every=CHECKPOINT_EVERY)
    trainer = Trainer(fcn, config, run_dir, seed=seed, desc="FCN", progress=progress)
    t0 = time.perf_counter()
    result = trainer.fit({"x": x_t, "y": y_t}, resume=run_dir is not None)
    fcn = fcn.cpu().eval()
    fcn.info = {
        "train_seconds": time.perf_counter() - t0,
        "final_loss": result.final_loss,
        "steps": result.steps,
        "resumed_from": result.resumed_from,
    }
    return fcn


class _Labelled(Protocol):
    X: np.ndarray
    y: np.ndarray | None
    classes: list[str]
    name: str


def default_cache_dir() -> Path:
    """``$TIMEVQVDM_CACHE/fcn`` when the variable is set, else ``~/.cache/timevqvdm/fcn``."""
    root = os.environ.get("TIMEVQVDM_CACHE")
    return Path(root) / "fcn" if root else Path.home() / ".cache" / "timevqvdm" / "fcn"


def data_hash(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of the training data content: shape, float32 values and int64 labels."""
    xa = np.ascontiguousarray(x, dtype=np.float32)
    ya = np.ascontiguousarray(y, dtype=np.int64)
    digest = hashlib.sha256()
    digest.update(json.dumps([list(xa.shape), list(ya.shape)]).encode())
    digest.update(xa.tobytes())
    digest.update(ya.tobytes())
    return digest.hexdigest()


def get_fcn(
    dataset_train: _Labelled,
    *,
    epochs: int = 1000,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    progress: bool = False,
) -> FCN:
    """The reference FCN of a training split: loaded from the cache, or trained once and cached.

    The cache key is the SHA-256 of the data hash (X, y, shape) and the recipe (architecture, training
    config, epochs, seed, `RECIPE_VERSION`). Loading reads safetensors and JSON only, never code.

    Parameters
    ----------
    dataset_train : TimeSeriesDataset
        Labelled training split; the FCN sees ``dataset_train.X`` (normalised units).
    epochs : int
        Training epochs (the recipe's 1000; fewer for tests).
    cache_dir : str, Path or None
        Default `default_cache_dir()`. While an FCN trains, its checkpoints sit in ``<key>.run/`` there, so
        an interrupted training resumes; the folder is removed once the FCN is cached.
    seed : int
        Initial weights and batch order.
    progress : bool
        Show a progress bar while training.

    Returns
    -------
    FCN
        On the CPU, in eval mode; ``info`` holds the cached metadata (classes, epochs, data hash, wall time).
    """
    if dataset_train.y is None:
        raise ValueError(f"{dataset_train.name}: the FCN needs class labels, but the training split has none")
    x, y = np.asarray(dataset_train.X), np.asarray(dataset_train.y)
    n_classes = max(len(dataset_train.classes), int(y.max()) + 1)
    config = FCNConfig(in_channels=x.shape[1], n_classes=n_classes)
    recipe = {
        "version": RECIPE_VERSION,
        "config": asdict(config),
        "train": asdict(fcn_train_config(epochs)),
        "seed": seed,
    }
    hashed = data_hash(x, y)
    key = hashlib.sha256((hashed + json.dumps(recipe, sort_keys=True)).encode()).hexdigest()[:32]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    weights, meta_path = folder / f"{key}.safetensors", folder / f"{key}.json"
    if weights.is_file() and meta_path.is_file():
        log.info("FCN for %s loaded from cache %s", dataset_train.name, weights)
        return _load_cached(weights, meta_path)

    log.info("training the FCN for %s (%d epochs, cache key %s)", dataset_train.name, epochs, key)
    run_dir = folder / f"{key}.run"  # checkpoints while training: an interrupted training resumes here
    fcn = train_fcn(x, y, n_classes, epochs=epochs, seed=seed, progress=progress, run_dir=run_dir)
    fcn.info.update(
        {
            "dataset": dataset_train.name,
            "classes": [str(c) for c in dataset_train.classes],
            "epochs": epochs,
            "data_hash": hashed,
            "recipe": recipe,
            "n_train": len(x),
        }
    )
    save_tensors(weights, fcn.state_dict(), metadata={"format": RECIPE_VERSION})
    save_json(meta_path, fcn.info)  # written last: its presence marks a complete entry
    shutil.rmtree(run_dir, ignore_errors=True)
    return fcn


def _load_cached(weights: Path, meta_path: Path) -> FCN:
    info = load_json(meta_path)
    fields = info["recipe"]["config"]
    config = FCNConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    fcn = FCN(config)
    load_module_state(fcn, load_tensors(weights), weights)
    fcn.info = {**info, "from_cache": True}
    return fcn.eval()
