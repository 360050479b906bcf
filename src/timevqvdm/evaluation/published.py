"""Published reference figures, shipped as package data: the thesis's Tables 4-6 and TimeVQVAE's results
(``reference/published.csv``), and the field's multivariate scores (``reference/field_published.csv``)."""

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


@functools.cache
def _field_table() -> list[dict[str, str]]:
    text = resources.files("timevqvdm").joinpath("reference", "field_published.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def field_published_methods() -> dict[str, list[str]]:
    """Per method of the field table, the scores it publishes for any dataset, both in the table's order."""
    methods: dict[str, list[str]] = {}
    for row in _field_table():
        metrics = methods.setdefault(row["method"], [])
        if row["metric"] not in metrics:
            metrics.append(row["metric"])
    return methods


def published_field(dataset: str) -> dict[str, dict[str, dict[str, float | str | None]]] | None:
    """The field's published scores of ``dataset`` (Sines), or None when the table has none.

    ``{method: {metric: {"mean": float, "std": float or None, "source": str}}}``; methods TimeGAN,
    Diffusion-TS, FM-TS, metrics named as `timevqvdm.evaluation.field_metrics` names them (discriminative,
    predictive, correlational, context_fid). ``source`` says where each figure was read (docs/evaluation.md).
    """
    out: dict[str, dict[str, dict[str, float | str | None]]] = {}
    for row in _field_table():
        if row["dataset"] == dataset:
            out.setdefault(row["method"], {})[row["metric"]] = {
                "mean": float(row["mean"]),
                "std": float(row["std"]) if row["std"] else None,
                "source": row["source"],
            }
    return out or None


def _number(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value
