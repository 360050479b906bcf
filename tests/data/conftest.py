"""Fixtures for the data tests: small crafted files in the UCR 2018 layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_ucr_tsv(path: Path, labels: list[float], series: list[np.ndarray]) -> None:
    """Write a UCR 2018 .tsv: label first (as float, like the archive), NaN after shorter series."""
    width = max(len(s) for s in series)
    lines = []
    for label, values in zip(labels, series, strict=True):
        cells = [f"{label:.7e}"] + [f"{v:.7e}" for v in values] + ["NaN"] * (width - len(values))
        lines.append("\t".join(cells))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def toy_series(rng: np.random.Generator, n: int, length: int, offset: float = 3.0) -> list[np.ndarray]:
    return [offset + 2.0 * rng.standard_normal(length) for _ in range(n)]


@pytest.fixture
def ucr_root(tmp_path: Path) -> Path:
    """A UCR root with 'Toy' (fixed length 16, labels 1.0/2.0) and 'ToyVar' (lengths 10..20)."""
    rng = np.random.default_rng(1)
    root = tmp_path / "UCRArchive_2018"
    write_ucr_tsv(root / "Toy" / "Toy_TRAIN.tsv", [1.0, 2.0, 1.0, 2.0, 2.0], toy_series(rng, 5, 16))
    write_ucr_tsv(root / "Toy" / "Toy_TEST.tsv", [2.0, 1.0, 1.0], toy_series(rng, 3, 16))
    var_train = [rng.standard_normal(length) for length in (20, 12, 10, 16)]
    var_test = [rng.standard_normal(length) for length in (11, 14)]
    write_ucr_tsv(root / "ToyVar" / "ToyVar_TRAIN.tsv", [1, 1, 2, 2], var_train)
    write_ucr_tsv(root / "ToyVar" / "ToyVar_TEST.tsv", [2, 1], var_test)
    return root


@pytest.fixture
def write_ucr():
    """The UCR .tsv writer, for tests that craft their own bad files."""
    return write_ucr_tsv
