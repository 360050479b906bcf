"""Class labels: names and integer encoding.

A class name is the label as the source spells it. Text (CSV cells, text columns, string arrays, aeon's
labels) keeps its spelling, stripped of surrounding blanks: ``"01"``, ``"1.0"`` and ``"1"`` are three
classes, so that the name a user types is the one in their file. Numbers (numeric columns and arrays) are
named by value: ``1`` and ``1.0`` are the class ``"1"``. A UCR file's label is a number by the format's
definition, so :func:`label_as_number` reads ``"1.0000000e+00"`` as class ``"1"`` there. Names are then
encoded as ``0..C-1`` in a stable order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from timevqvdm.data.errors import DataError
from timevqvdm.data.raw import is_missing_text

__all__ = ["canonical_label", "encode_labels", "label_as_number"]


def canonical_label(value: object) -> str | None:
    """Return the class name of one raw label, or ``None`` when it is missing.

    Text is kept as spelled (stripped of surrounding blanks), so ``"01"`` stays ``"01"``; numbers print
    without a trailing ``.0`` when they are whole, so ``1`` and ``1.0`` both become ``"1"``.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="backslashreplace")  # distinct bytes stay distinct names
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, str):
        text = value.strip()
        return None if is_missing_text(text) else text  # missing is rejected, not a class called "nan"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else _number_name(value)
    return str(value)


def label_as_number(value: object) -> object:
    """Read a text label as a number when it is one (the UCR convention); anything else is unchanged.

    ``"1.0000000e+00"`` and ``"1"`` both become ``1.0`` and so the class ``"1"``; ``"inf"`` stays text.
    """
    if not isinstance(value, str):
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


def _number_name(number: float | np.floating) -> str:
    # str() of a NumPy scalar is the shortest text that reads back in its own precision (float32 0.1 -> "0.1").
    return str(int(number)) if float(number).is_integer() else str(number)


def _sort_key(name: str) -> tuple[int, float, str]:
    # Numeric names sort by value ("2" before "10"), then any text names alphabetically.
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)


def encode_labels(
    labels: Sequence[object] | np.ndarray,
    classes: Sequence[str] | None = None,
    *,
    where: Callable[[int], str],
    classes_from: str = "the training split",
) -> tuple[np.ndarray, list[str]]:
    """Encode raw labels as integers.

    Parameters
    ----------
    labels : sequence, shape (n,)
        Raw labels of any type.
    classes : list of str, optional
        Known class names in encoded order (e.g. those of the training split). A label whose canonical
        name is not among them is a :class:`DataError`. ``None`` = derive them from ``labels``.
    where : callable
        ``where(i)`` describes where label ``i`` came from (file, line, column), for error messages.
    classes_from : str
        What ``classes`` came from, for error messages.

    Returns
    -------
    y : np.ndarray of int64, shape (n,)
    classes : list of str
        Class names in encoded order: ``classes[y[i]]`` is the name of label ``i``.
    """
    names = [canonical_label(value) for value in np.asarray(labels, dtype=object).ravel()]
    for i, name in enumerate(names):
        if name is None:
            raise DataError(
                f"{where(i)}: missing class label. Give every series a label, or load the data without "
                f"labels (label_column=None)."
            )
    if classes is None:
        classes = sorted(set(names), key=_sort_key)  # type: ignore[arg-type]
    classes = [str(name) for name in classes]
    index = {name: code for code, name in enumerate(classes)}
    unknown = [i for i, name in enumerate(names) if name not in index]
    if unknown:
        first = unknown[0]
        raise DataError(
            f"{where(first)}: class '{names[first]}' does not occur in {classes_from} "
            f"(classes: {', '.join(classes)}); {len(unknown)} series have unseen classes. Remove those "
            f"series or add examples of the class to the training data."
        )
    y = np.fromiter((index[name] for name in names), dtype=np.int64, count=len(names))  # type: ignore[index]
    return y, classes
