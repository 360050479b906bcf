"""`DataInfo`: what a model remembers of its training data, stored in ``model.json`` (nanoGPT-style).

Its `fingerprint` identifies the training set, so that stage 2 alone, a resume or an evaluation can refuse
other data than stage 1 saw.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from timevqvdm.data import TimeSeriesDataset
from timevqvdm.data.dataset import broadcast_stat
from timevqvdm.data.lengths import lengths_by_class
from timevqvdm.training.checkpoint import describe_differences


@dataclass
class DataInfo:
    """What the model must remember about its training data.

    `mean` and `std` are floats (one for all channels), or lists of one value per channel (per-channel
    normalisation); `fingerprint` is `data_fingerprint` of the training set (None in models saved before
    fingerprints); `source` and `load_options` say how to load it again when known (the CLI stores its
    ``--dataset`` and the `load_dataset` options it passed); `lengths` is the length model of variable-length
    data, the sorted training lengths per class (one list when unlabelled; `data.lengths`), None when every
    training series had full length.
    """

    name: str
    n_channels: int
    length: int
    classes: list[str]
    class_counts: list[int]
    mean: float | list[float]
    std: float | list[float]
    fingerprint: str | None = None
    source: str | None = None
    load_options: dict[str, Any] | None = None
    lengths: list[list[int]] | None = None

    @classmethod
    def of(cls, dataset: TimeSeriesDataset) -> DataInfo:
        """What a model trained on `dataset` remembers of it."""
        return cls(
            name=dataset.name,
            n_channels=dataset.n_channels,
            length=dataset.length,
            classes=[str(c) for c in dataset.classes],
            class_counts=[int(c) for c in dataset.class_counts()] if dataset.y is not None else [],
            mean=_json_stat(dataset.mean),
            std=_json_stat(dataset.std),
            fingerprint=data_fingerprint(dataset),
            lengths=lengths_by_class(dataset),
        )

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def normalise(self, x: np.ndarray) -> np.ndarray:
        """Series (n, C, L) in original units -> normalised units, per channel or globally as trained."""
        return (x - self._stat(self.mean, x)) / self._stat(self.std, x)

    def to_original_units(self, x: np.ndarray, *, shift: bool = True) -> np.ndarray:
        """Series (n, C, L) in normalised units -> original units; ``shift=False`` only rescales (the HF
        band, which carries no mean)."""
        scaled = x * self._stat(self.std, x)
        return scaled + self._stat(self.mean, x) if shift else scaled

    @staticmethod
    def _stat(value: float | list[float], like: np.ndarray):
        return broadcast_stat(np.asarray(value, dtype=np.float64) if isinstance(value, list) else value, like)

    def description(self) -> dict[str, Any]:
        """What identifies the training data, for comparisons that name what differs."""
        return {
            "n_channels": self.n_channels,
            "length": self.length,
            "classes": list(self.classes),
            "mean": self.mean,
            "std": self.std,
            "sha256": self.fingerprint,
        }


def data_fingerprint(dataset: TimeSeriesDataset) -> str:
    """sha256 of a dataset: its normalised series (and mask), labels, class names and normalisation.

    Two datasets share a fingerprint only when a model would see the same training data in both.
    """
    digest = hashlib.sha256()
    header = {
        "shape": list(dataset.X.shape),
        "classes": [str(c) for c in dataset.classes],
        "labelled": dataset.y is not None,
        "masked": dataset.mask is not None,
        "mean": _json_stat(dataset.mean),
        "std": _json_stat(dataset.std),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(dataset.X, dtype=np.float32).tobytes())
    if dataset.y is not None:
        digest.update(np.ascontiguousarray(dataset.y, dtype=np.int64).tobytes())
    if dataset.mask is not None:
        digest.update(np.ascontiguousarray(dataset.mask, dtype=bool).tobytes())
    return digest.hexdigest()


def check_same_data(trained: DataInfo, given: DataInfo) -> None:
    """Stage 2 alone must see the data stage 1 was trained on: its latents, classes and units."""
    if trained.fingerprint is None or trained.fingerprint == given.fingerprint:
        return  # a model saved before fingerprints: only its shape can be checked
    differences = describe_differences(trained.description(), given.description())
    raise ValueError(
        f"stage 2 must train on the data stage 1 was trained on ({trained.name}), and {given.name} differs "
        f"({differences}); pass that data, or fit stages (1, 2) on this one"
    )


def _json_stat(stat) -> float | list[float]:
    """A normalisation statistic as model.json stores it: a float, or a list of one float per channel."""
    return [float(v) for v in stat] if isinstance(stat, np.ndarray) else float(stat)
