"""Class labels: canonical names and integer encoding.

Labels arrive as strings (aeon, CSV cells), integers or floats (NumPy files, UCR's ``1.0000000e+00``).
They are turned into canonical strings first, so that ``1``, ``1.0`` and ``"1"`` are the same class and
print as ``"1"``, and then encoded as ``0..C-1`` in a stable order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from timevqvdm.data.errors import DataError
from timevqvdm.data.raw import is_missing_text

__all__ = ["canonical_label", "encode_labels"]


def canonical_label(value: object) -> str | None:
    """Return the canonical class name of one raw label, or ``None`` when it is missing.

    Numbers (and strings that parse as numbers) print without a trailing ``.0`` when they are
    integral, so ``1``, ``1.0``, ``"1.0000000e+00"`` all become ``"1"``; other strings are stripped.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, str):
        text = value.strip()
        if is_missing_text(text):  # rejected later rather than turned into a class called "nan"
            return None
        try:
            number = float(text)
        except ValueError:
            return text
        # "inf" parses as a float but is not a sensible class id; keep the text as the name.
        return _number_name(number) if math.isfinite(number) else text
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else _number_name(float(value))
    return str(value)


def _number_name(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


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
