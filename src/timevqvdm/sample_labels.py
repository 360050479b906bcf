"""The labels of a `TimeVQVDM.sample` call: what the caller asks for -> class indices (n,) int64.

A class is named by a str (its name: ``"1"`` is the class called "1") or an int (its position in the model's
class list: ``1`` is the second class), never one for the other, because numeric class names are common
(GunPoint's are "1" and "2").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from timevqvdm.data.split import proportional_labels

Labels = int | str | Sequence | np.ndarray | None


def resolve_labels(n: int, labels: Labels, classes: list[str], class_counts: list[int]) -> np.ndarray | None:
    """Class indices (n,) for `labels`: None stays None (unconditional); one class repeats `n` times; a
    sequence needs one label per series; "proportional" follows `class_counts` (thesis 3.6)."""
    if labels is None:
        return None
    if not classes:
        raise ValueError("this model was trained without labels: only unconditional sampling (labels=None)")
    if isinstance(labels, str) and labels == "proportional":
        return proportional_labels(n, np.asarray(class_counts))
    if isinstance(labels, (str, int, np.integer)):
        return np.full(n, class_index(labels, classes), dtype=np.int64)
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for n={n} series")
    return np.array([class_index(label, classes) for label in labels], dtype=np.int64)


def class_index(label: str | int, classes: list[str]) -> int:
    """The position of `label` (a class name, or an index into `classes`) in `classes`."""
    if isinstance(label, str) and label in classes:
        return classes.index(label)
    is_index = isinstance(label, (int, np.integer)) and not isinstance(label, bool)
    if is_index and 0 <= int(label) < len(classes):
        return int(label)
    raise ValueError(
        f"unknown class {label!r}: class names are {classes}, indices (ints) 0..{len(classes) - 1}"
    )


def class_prior_labels(n: int, unconditional: str, class_counts: list[int], seed: int) -> np.ndarray | None:
    """The labels the priors see when the caller gave none: None for the null class (or a model without
    classes), else training proportions in a random order drawn from `seed`, so that the first k series
    are not all one class."""
    if unconditional == "null" or not class_counts:
        return None
    labels = proportional_labels(n, np.asarray(class_counts))
    return np.random.default_rng(seed).permutation(labels)
