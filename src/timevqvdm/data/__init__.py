"""Data layer: load (UCR name, UCR folder, CSV/TSV/NumPy/Parquet), validate, normalise, pad; write back.

>>> from timevqvdm.data import load_dataset
>>> train = load_dataset("GunPoint")             # doctest: +SKIP
>>> test = load_dataset("GunPoint", split="test")  # normalised with train's mean/std  # doctest: +SKIP
"""

from timevqvdm.data.dataset import Stats, TimeSeriesDataset
from timevqvdm.data.errors import DataError, DataFileNotFoundError
from timevqvdm.data.load import load_dataset
from timevqvdm.data.raw import MIN_LENGTH
from timevqvdm.data.sources import list_datasets
from timevqvdm.data.write import write_dataset

__all__ = [
    "MIN_LENGTH",
    "DataError",
    "DataFileNotFoundError",
    "Stats",
    "TimeSeriesDataset",
    "list_datasets",
    "load_dataset",
    "write_dataset",
]
