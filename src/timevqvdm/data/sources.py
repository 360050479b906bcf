"""Where a dataset comes from: a UCR/UEA name, a UCR-format folder, or one of the user's files.

A bare name is looked up, in this order, in the local UCR root (``ucr_root`` or ``TIMEVQVDM_UCR_ROOT``),
in the datasets aeon ships inside its package, in aeon's download cache (``AEON_DATA``), and finally
downloaded by aeon. Local candidates are checked first so that a machine without network fails in
milliseconds instead of waiting on a connection.
"""

from __future__ import annotations

import difflib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from timevqvdm.data.dataset import raw_from_arrays
from timevqvdm.data.errors import DataError, DataFileNotFoundError
from timevqvdm.data.raw import RawSeries
from timevqvdm.data.readers import (
    DELIMITED_SUFFIXES,
    LabelColumn,
    is_ucr_file,
    pad_with_nan,
    read_delimited,
    read_numpy,
    read_parquet,
    read_ts,
    read_ucr_tsv,
)
from timevqvdm.data.sines import SINES_NAME, read_sines

__all__ = ["UCR_ROOT_ENV", "Source", "list_datasets", "resolve_source"]

logger = logging.getLogger(__name__)

UCR_ROOT_ENV = "TIMEVQVDM_UCR_ROOT"
OFFLINE_ENV = "TIMEVQVDM_OFFLINE"
_UCR_URL = "https://www.cs.ucr.edu/~eamonn/time_series_data_2018/"
_NUMPY_SUFFIXES = (".npy", ".npz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_FILE_SUFFIXES = (*DELIMITED_SUFFIXES, *_NUMPY_SUFFIXES, *_PARQUET_SUFFIXES, ".ts")
_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Source:
    """A resolved data source: a reader per split.

    Attributes
    ----------
    name : str
        Dataset name.
    read : callable
        ``read(split)`` with split ``"train"`` or ``"test"`` returns the :class:`RawSeries` of that split.
    has_splits : bool
        False for a single user file, which has only what ``read("train")`` returns.
    """

    name: str
    read: Callable[[str], RawSeries]
    has_splits: bool


def resolve_source(
    source: str | os.PathLike[str],
    *,
    ucr_root: str | os.PathLike[str] | None = None,
    label_column: LabelColumn = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Source:
    """Decide what ``source`` is (file, folder or dataset name) and return its reader."""
    path = Path(source).expanduser()
    if path.is_file():
        return _file_source(path, label_column, delimiter, encoding)
    _reject_file_options(str(source), label_column, delimiter, encoding)
    if path.is_dir():
        return ucr_folder_source(path)
    if isinstance(source, os.PathLike) or _looks_like_path(str(source)):
        raise DataFileNotFoundError(
            f"{path}: no such file or folder (relative paths start at {Path.cwd()}). Give the path of a "
            f"CSV/TSV/NPY/NPZ/Parquet/.ts file or of a UCR dataset folder, or a dataset name."
        )
    return _named_source(str(source), ucr_root)


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.lower().endswith(_FILE_SUFFIXES)


def _reject_file_options(
    source: str, label_column: LabelColumn, delimiter: str | None, encoding: str | None
) -> None:
    # UCR folders and named datasets have a fixed layout; an option that cannot apply is a mistake.
    if label_column is not None or delimiter is not None or encoding is not None:
        raise DataError(
            f"{source}: label_column, delimiter and encoding apply to CSV/TSV/Parquet files only; UCR "
            f"datasets always have the label in the first column."
        )


# ---------------------------------------------------------------------- user files


def _file_source(
    path: Path, label_column: LabelColumn, delimiter: str | None, encoding: str | None
) -> Source:
    suffix = path.suffix.lower()
    if is_ucr_file(path) and label_column in (None, 0):
        return Source(
            path.stem,
            lambda split: read_ucr_tsv(path, delimiter=delimiter, encoding=encoding),
            has_splits=False,
        )
    if suffix in DELIMITED_SUFFIXES:
        return Source(
            path.stem,
            lambda split: read_delimited(
                path, label_column=label_column, delimiter=delimiter, encoding=encoding
            ),
            has_splits=False,
        )
    if delimiter is not None or encoding is not None:
        raise DataError(f"{path}: delimiter and encoding apply to CSV/TSV files only.")
    if suffix in _PARQUET_SUFFIXES:
        return Source(
            path.stem, lambda split: read_parquet(path, label_column=label_column), has_splits=False
        )
    if label_column is not None:
        raise DataError(f"{path}: label_column applies to CSV/TSV/Parquet files only.")
    if suffix in _NUMPY_SUFFIXES:
        return Source(path.stem, lambda split: read_numpy(path), has_splits=False)
    if suffix == ".ts":
        return Source(path.stem, lambda split: read_ts(path), has_splits=False)
    raise DataError(
        f"{path}: unsupported file type '{path.suffix}'. Use one of {', '.join(_FILE_SUFFIXES)}, or a UCR "
        f"dataset folder."
    )


def ucr_folder_source(folder: Path) -> Source:
    """A UCR-format folder: ``<folder>/<Name>_TRAIN.tsv`` and ``_TEST.tsv`` (or aeon's ``.ts``)."""
    name = folder.name

    def read(split: str) -> RawSeries:
        stem = folder / f"{name}_{split.upper()}"
        tsv, ts = stem.with_suffix(".tsv"), stem.with_suffix(".ts")
        if tsv.is_file():
            return read_ucr_tsv(tsv, name=name)
        if ts.is_file():
            return read_ts(ts, name=name)
        raise DataFileNotFoundError(
            f"{folder}: expected the UCR file {tsv.name} (or {ts.name}) in this folder. A UCR dataset "
            f"folder holds <Name>/<Name>_TRAIN.tsv and <Name>/<Name>_TEST.tsv."
        )

    return Source(name, read, has_splits=True)


# ---------------------------------------------------------------------- dataset names


def _named_source(name: str, ucr_root: str | os.PathLike[str] | None) -> Source:
    if name == SINES_NAME:  # generated on the fly, so it is found before any folder or download
        return Source(SINES_NAME, read_sines, has_splits=True)
    root = _ucr_root(ucr_root)
    if root is not None and _is_ucr_folder(root / name):
        return ucr_folder_source(root / name)
    local = _aeon_local_folder(name)
    if local is not None:
        return ucr_folder_source(local)
    if name in _aeon_downloadable():
        return Source(name, lambda split: _download_with_aeon(name, split, root), has_splits=True)
    raise DataFileNotFoundError(_unknown_name_message(name, root))


def _ucr_root(ucr_root: str | os.PathLike[str] | None) -> Path | None:
    if ucr_root is not None:
        root = Path(ucr_root).expanduser()
        if not root.is_dir():
            raise DataFileNotFoundError(f"{root}: the UCR root folder given as ucr_root does not exist.")
        return root
    from_env = os.environ.get(UCR_ROOT_ENV)
    if not from_env:
        return None
    root = Path(from_env).expanduser()
    if not root.is_dir():
        logger.debug("%s=%s is not a folder; ignoring it.", UCR_ROOT_ENV, root)
        return None
    return root


def _aeon_bundled_root() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data"


def _aeon_cache_root() -> Path:
    # aeon's own resolution (AEON_DATA, else ~/aeon_data), without its side effect of creating the folder.
    return Path(os.environ.get("AEON_DATA", os.path.join("~", "aeon_data"))).expanduser()


def _aeon_classification_names() -> set[str]:
    from aeon.datasets.tsc_datasets import multivariate, univariate

    return set(univariate) | set(multivariate)


def _aeon_downloadable() -> set[str]:
    from aeon.datasets.tsc_datasets import tsc_zenodo

    return set(tsc_zenodo) | _aeon_classification_names()


def _has_ts_pair(folder: Path) -> bool:
    # aeon's rule for a local dataset: <Name>/<Name>_TRAIN.ts and <Name>/<Name>_TEST.ts.
    return (folder / f"{folder.name}_TRAIN.ts").is_file() and (folder / f"{folder.name}_TEST.ts").is_file()


def _ts_datasets_in(root: Path) -> list[str]:
    return sorted(entry.name for entry in root.iterdir() if _has_ts_pair(entry)) if root.is_dir() else []


def _ucr_datasets_in(root: Path | None) -> list[str]:
    if root is None:
        return []
    return sorted(entry.name for entry in root.iterdir() if _is_ucr_folder(entry))


def _is_ucr_folder(folder: Path) -> bool:
    # The UCR 2018 layout <Name>/<Name>_TRAIN.tsv, or aeon's .ts pair in the same place.
    return (folder / f"{folder.name}_TRAIN.tsv").is_file() or _has_ts_pair(folder)


def _aeon_local_folder(name: str) -> Path | None:
    bundled, cached = _aeon_bundled_root() / name, _aeon_cache_root() / name
    if name in _aeon_classification_names() and _has_ts_pair(bundled):
        return bundled
    return cached if _has_ts_pair(cached) else None


def _shipped() -> list[str]:
    # aeon's package folder also holds regression and forecasting data; keep classification problems.
    return [name for name in _ts_datasets_in(_aeon_bundled_root()) if name in _aeon_classification_names()]


def list_datasets(ucr_root: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Dataset names that load without network access.

    Parameters
    ----------
    ucr_root : path, optional
        A UCRArchive_2018 folder; by default ``$TIMEVQVDM_UCR_ROOT`` if set.

    Returns
    -------
    dict
        ``"generated"``: datasets made on the fly (Sines); ``"shipped"``: classification datasets inside the
        aeon package; ``"cached"``: datasets in aeon's download folder (``$AEON_DATA`` or ``~/aeon_data``);
        ``"ucr_root"``: datasets in the UCR root. Each list is sorted.
    """
    return {
        "generated": [SINES_NAME],
        "shipped": _shipped(),
        "cached": _ts_datasets_in(_aeon_cache_root()),
        "ucr_root": _ucr_datasets_in(_ucr_root(ucr_root)),
    }


def _download_with_aeon(name: str, split: str, root: Path | None) -> RawSeries:
    from aeon.datasets import load_classification

    if os.environ.get(OFFLINE_ENV, "").lower() in ("1", "true", "yes"):
        raise DataFileNotFoundError(_offline_message(name, root, f"{OFFLINE_ENV} is set"))
    if not _zenodo_reachable():
        raise DataFileNotFoundError(_offline_message(name, root, "zenodo.org cannot be reached"))
    logger.info("Downloading %s (%s) with aeon into %s", name, split, _aeon_cache_root())
    try:
        X, y = load_classification(name, split=split)
    except Exception as error:  # aeon wraps network failures in ValueError, but be safe
        raise DataFileNotFoundError(
            _offline_message(name, root, f"{type(error).__name__}: {error}")
        ) from None
    return raw_from_arrays(pad_with_nan(X), y, source=f"{name} ({split}, downloaded by aeon)")


def _zenodo_reachable() -> bool:
    """Quick probe so that an offline machine fails in seconds, not after aeon's 30 s timeouts."""
    try:
        with socket.create_connection(("zenodo.org", 443), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _offline_message(name: str, root: Path | None, reason: str) -> str:
    return (
        f"Dataset '{name}' is not available offline ({reason}): it is not shipped with aeon, not in aeon's "
        f"cache ({_aeon_cache_root()}) and not in a UCR root ({root or f'{UCR_ROOT_ENV} not set'}). "
        f"Download UCRArchive_2018 from {_UCR_URL}, unpack it and set {UCR_ROOT_ENV}=/path/to/UCRArchive_2018 "
        f"(or pass ucr_root=...), or pass the path of the dataset folder or of your own file."
    )


def _unknown_name_message(name: str, root: Path | None) -> str:
    available = list_datasets(root)
    candidates = sorted({*_aeon_downloadable(), *(n for names in available.values() for n in names)})
    same_case = [c for c in candidates if c.lower() == name.lower()]
    close = same_case + [c for c in difflib.get_close_matches(name, candidates, n=5) if c not in same_case]
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (
        f"'{name}' is neither an existing file or folder nor a known dataset name (UCR root: "
        f"{root or f'{UCR_ROOT_ENV} not set'}).{hint} Run `timevqvdm datasets` to list the datasets "
        f"available offline."
    )
