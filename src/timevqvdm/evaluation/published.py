"""Published reference figures (thesis Tables 4-6 and TimeVQVAE's results), shipped as package data."""

from __future__ import annotations

import csv
import functools
from importlib import resources


@functools.cache
def _table() -> dict[str, dict[str, str]]:
    text = resources.files("timevqvdm").joinpath("reference", "published.csv").read_text()
    return {row["dataset"]: row for row in csv.DictReader(text.splitlines())}


def published_names() -> list[str]:
    """The UCR names of the published table, in its order (the 128 of ``timevqvdm benchmark --datasets all``)."""
    return list(_table())


def published_results(dataset: str) -> dict[str, float | str] | None:
    """The published row of a UCR dataset (numbers as floats), or None when the archive has no such name.

    Columns: ``thesis_*`` (TimeVQVDM thesis: unconditional/conditional IS and FID, TSTR, TRTR in %) and
    ``timevqvae_*`` (TimeVQVAE, AISTATS 2023: FID, IS, CAS), plus the dataset summary (type, sizes, length).
    """
    row = _table().get(dataset)
    if row is None:
        return None
    return {key: _number(value) for key, value in row.items()}


def _number(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value
