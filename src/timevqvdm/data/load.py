"""``load_dataset``: the one entry point from any source to a normalised :class:`TimeSeriesDataset`."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from timevqvdm.data.dataset import Stats, TimeSeriesDataset, build_dataset
from timevqvdm.data.errors import DataError
from timevqvdm.data.readers import LabelColumn
from timevqvdm.data.sources import resolve_source

__all__ = ["load_dataset"]

logger = logging.getLogger(__name__)

_SPLITS = ("train", "test")


def load_dataset(
    source: str | os.PathLike[str],
    split: str = "train",
    *,
    ucr_root: str | os.PathLike[str] | None = None,
    label_column: LabelColumn = None,
    stats: Stats | None = None,
    delimiter: str | None = None,
    classes: Sequence[str] | None = None,
    encoding: str | None = None,
    normalisation: str = "auto",
) -> TimeSeriesDataset:
    """Load, validate, normalise and pad a dataset.

    Parameters
    ----------
    source : str or path
        A UCR/UEA dataset name (``"GunPoint"``), a UCR-format folder (``<dir>/<dir.name>_TRAIN.tsv``), or a
        file: ``.csv``/``.tsv``/``.txt`` (wide, one series per row), ``.parquet`` (wide), ``.npy`` (array
        X), ``.npz`` (arrays X and optional y) or aeon ``.ts``.
    split : {"train", "test"}
        Which split of a named dataset or folder. The test split is normalised with the training split's
        statistics and encoded with its classes, and padded to at least its length. A single file has no
        splits: ``"train"`` loads it (pass ``stats=`` and ``classes=`` of the training data to load a
        held-out file consistently).
    ucr_root : path, optional
        A UCRArchive_2018 folder searched first for a dataset name; default ``$TIMEVQVDM_UCR_ROOT``.
    label_column : int, str or None
        CSV/TSV/Parquet only: label column as 0-based index or header name; ``None`` = no labels.
    stats : (mean, std), optional
        Normalise with these instead of the training split's statistics: two floats, or two sequences of
        one value per channel (as ``train.stats`` gives them).
    delimiter : str, optional
        CSV/TSV only: field separator (default: tab for ``.tsv``, else guessed from the first line).
    classes : list of str, optional
        Encode labels with these class names (e.g. ``train.classes``); an unknown label is an error.
    encoding : str, optional
        CSV/TSV only: text encoding, a Python codec name such as ``"latin-1"`` (default: UTF-8, with or
        without a byte-order mark).
    normalisation : {"auto", "global", "channel"}
        How the training split's statistics are computed: ``"global"`` one scalar mean and std over all
        channels (thesis 3.5), ``"channel"`` one per channel, ``"auto"`` (default) global for one channel
        and per channel for several (channels usually differ in units).

    Returns
    -------
    TimeSeriesDataset
        ``X`` of shape (n_series, n_channels, length), float32, normalised; ``mask`` when lengths vary.

    Raises
    ------
    DataError
        For any input that cannot be used, with the file, line/row and column at fault;
        :class:`DataFileNotFoundError` (also a ``FileNotFoundError``) for a missing file or dataset.
    """
    if split not in _SPLITS:
        raise DataError(f"split must be 'train' or 'test'; got {split!r}.")
    origin = resolve_source(
        source, ucr_root=ucr_root, label_column=label_column, delimiter=delimiter, encoding=encoding
    )
    train = build_dataset(
        origin.read("train"), stats=stats, classes=classes, split="train", normalisation=normalisation
    )
    if split == "train":
        return train
    if not origin.has_splits:
        raise DataError(
            f"{source}: a single file has no test split. Load it with split='train'; to use it as held-out "
            f"data pass stats=train.stats and classes=train.classes of your training data."
        )
    test = build_dataset(
        origin.read("test"),
        stats=train.stats,
        classes=train.classes if train.y is not None else None,
        classes_from=f"the training split of {origin.name}",
        min_length=train.length,
        split="test",
    )
    if test.length > train.length:
        # Only variable-length data can get here; models trained on `train` expect its length.
        logger.warning(
            "%s: the longest test series (%d) is longer than the longest training series (%d).",
            origin.name,
            test.length,
            train.length,
        )
    return test
