"""docs/errors.md, section "Data files": every row is run here and its message shape must match.

Each row names a case below; the case writes the bad input into a temporary folder and loads it. The last
column of the row is the message's shape: ``<...>`` stands for a value (a path, a number, a name) and ``…``
for the rest of the message. A case without a row, or a row without a case, fails the suite.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from timevqvdm.data import DataError, TimeSeriesDataset, load_dataset

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
SECTION = "## Data files"


def _csv(folder: Path, name: str, rows: list[list[object]]) -> Path:
    path = folder / name
    path.write_text("\n".join(",".join(str(cell) for cell in row) for row in rows) + "\n")
    return path


def _grid(n: int = 4, length: int = 10) -> np.ndarray:
    return np.round(np.linspace(0.0, 1.0, n * length).reshape(n, length) ** 2 + 1.0, 4)


def _with(cell: object, at=(1, 3), n: int = 4, length: int = 10) -> list[list[object]]:
    rows = _grid(n, length).astype(object)
    rows[at] = cell
    return rows.tolist()


def _ucr(folder: Path, name: str, labels, n_steps: int = 10) -> Path:
    path = folder / name
    grid = _grid(len(labels), n_steps)
    path.write_text(
        "\n".join("\t".join([str(y), *map(str, row)]) for y, row in zip(labels, grid, strict=True))
    )
    return path


def _parquet(folder: Path, name: str, column) -> Path:
    table = pd.DataFrame(_grid(), columns=[f"t{j}" for j in range(10)])
    table.insert(2, "when", column)
    table.to_parquet(folder / name)
    return folder / name


CASES = {
    "not-a-number": lambda d: load_dataset(_csv(d, "text.csv", _with("1.5x"))),
    "text-column": lambda d: load_dataset(
        _csv(d, "dates.csv", [["2024-01-0" + str(i + 1), *row] for i, row in enumerate(_grid().tolist())])
    ),
    "column-type": lambda d: load_dataset(
        _parquet(d, "typed.parquet", pd.date_range("2024-01-01", periods=4))
    ),
    "gap": lambda d: load_dataset(_csv(d, "gap.csv", _with(""))),
    "infinite": lambda d: load_dataset(_csv(d, "inf.csv", _with("inf"))),
    "float32-overflow": lambda d: load_dataset(_csv(d, "big.csv", _with("1e39"))),
    "extreme-cell": lambda d: load_dataset(_csv(d, "extreme.csv", _with("1e30"))),
    "extreme-channel": lambda d: TimeSeriesDataset.from_arrays(
        np.stack([_grid(), _grid() + 1e8], axis=1), name="two-units", normalisation="global"
    ),
    "ragged": lambda d: load_dataset(_csv(d, "ragged.csv", [*_grid(3).tolist(), _grid(1, 9)[0].tolist()])),
    "one-series": lambda d: load_dataset(_csv(d, "one.csv", _grid(1).tolist())),
    "too-short": lambda d: load_dataset(_ucr(d, "Tiny_TRAIN.tsv", [1, 2, 1], n_steps=7)),
    "empty-file": lambda d: load_dataset(_csv(d, "empty.csv", [])),
    "empty-series": lambda d: load_dataset(_csv(d, "blank.csv", [*_grid(3).tolist(), [""] * 10])),
    "constant": lambda d: load_dataset(_csv(d, "flat.csv", np.full((3, 10), 7.0).tolist())),
    "missing-label": lambda d: load_dataset(
        _csv(d, "nolabel.csv", [[y, *row] for y, row in zip("ab a", _grid().tolist(), strict=True)]),
        label_column=0,
    ),
    "unseen-class": lambda d: load_dataset(
        _csv(d, "held.csv", [[y, *row] for y, row in zip("abcb", _grid().tolist(), strict=True)]),
        label_column=0,
        stats=(0.0, 1.0),
        classes=["a", "b"],
    ),
    "label-column-name": lambda d: load_dataset(
        _csv(d, "named.csv", [[f"t{j}" for j in range(10)], *_grid().tolist()]), label_column="label"
    ),
    "label-column-index": lambda d: load_dataset(_csv(d, "wide.csv", _grid().tolist()), label_column=12),
    "label-column-no-header": lambda d: load_dataset(
        _csv(d, "plain.csv", _grid().tolist()), label_column="label"
    ),
    "undecodable": lambda d: load_dataset(_bytes(d, "latin.csv", "t0,t1\ncafé,1\n".encode("latin-1"))),
    "binary": lambda d: load_dataset(_bytes(d, "utf16.csv", "1,2\n3,4\n".encode("utf-16-le"))),
    "unknown-encoding": lambda d: load_dataset(_csv(d, "plain.csv", _grid().tolist()), encoding="klingon"),
    "not-parquet": lambda d: load_dataset(_bytes(d, "fake.parquet", b"not parquet")),
    "npz-without-x": lambda d: load_dataset(_npz(d, "wrong.npz", data=_grid())),
    "npy-pickle": lambda d: load_dataset(
        _npy(d, "objects.npy", np.array([np.zeros(9), np.zeros(10)], dtype=object))
    ),
    "npy-dtype": lambda d: load_dataset(_npy(d, "flags.npy", _grid() > 1.5)),
    "npz-codes": lambda d: load_dataset(
        _npz(d, "samples.npz", X=_grid(), y=np.array([0, 1, 2, 0]), classes=np.array(["a", "b"]))
    ),
    "unsupported-type": lambda d: load_dataset(_bytes(d, "sheet.xlsx", b"PK")),
    "missing-file": lambda d: load_dataset(d / "nope.csv"),
    "unknown-name": lambda d: load_dataset("GunPont"),
    "offline": lambda d: load_dataset("Adiac"),
    "single-file-test-split": lambda d: load_dataset(
        _csv(d, "one_split.csv", _grid().tolist()), split="test"
    ),
    "option-for-a-name": lambda d: load_dataset("GunPoint", label_column=0),
    "option-for-numpy": lambda d: load_dataset(_npy(d, "x.npy", _grid()), label_column=0),
    "ucr-folder-without-split": lambda d: load_dataset(_ucr_folder(d), split="test"),
    "bad-stats": lambda d: load_dataset(_csv(d, "plain.csv", _grid().tolist()), stats=(0.0, 0.0)),
}


def _bytes(folder: Path, name: str, content: bytes) -> Path:
    (folder / name).write_bytes(content)
    return folder / name


def _npz(folder: Path, name: str, **arrays) -> Path:
    np.savez(folder / name, **arrays)
    return folder / name


def _npy(folder: Path, name: str, array: np.ndarray) -> Path:
    np.save(folder / name, array, allow_pickle=array.dtype == object)
    return folder / name


def _ucr_folder(folder: Path) -> Path:
    (folder / "Lonely").mkdir()
    _ucr(folder / "Lonely", "Lonely_TRAIN.tsv", [1, 2, 1])  # and no Lonely_TEST.tsv
    return folder / "Lonely"


def _documented_rows() -> list[tuple[str, str, str]]:
    """(case, exception name, message shape) of each row in the "Data files" table."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) == 4 and cells[0].startswith("`"):
            exception, shape = re.fullmatch(r"`(\w+): (.*)`", cells[3]).groups()  # type: ignore[union-attr]
            rows.append((cells[0].strip("`"), exception, shape))
    return rows


def _shape_regex(shape: str) -> str:
    # <...> is one value (it may hold spaces, as paths and lists do); … is the rest of the message.
    parts = re.split(r"(<[^>]+>|…)", shape)
    return "".join(".+?" if p.startswith("<") else ".*" if p == "…" else re.escape(p) for p in parts)


@pytest.mark.parametrize(
    ("case", "exception", "shape"), [pytest.param(*row, id=row[0]) for row in _documented_rows()]
)
def test_documented_error(tmp_path, case, exception, shape):
    with pytest.raises(DataError) as caught:
        CASES[case](tmp_path)
    assert type(caught.value).__name__ == exception
    message = str(caught.value)
    assert re.fullmatch(_shape_regex(shape), message, flags=re.DOTALL), message


def test_every_case_has_one_row():
    documented = [case for case, _, _ in _documented_rows()]
    assert sorted(documented) == sorted(CASES) and len(set(documented)) == len(documented)
