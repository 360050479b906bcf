"""The one training loop both stages (and the FCN) use, and checkpoint I/O that never unpickles."""

from timevqvdm.training.checkpoint import CheckpointError, load_tensors, save_json, save_tensors
from timevqvdm.training.config import TrainConfig
from timevqvdm.training.trainer import Trainer, TrainResult, cosine_schedule, make_fabric

__all__ = [
    "CheckpointError",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "cosine_schedule",
    "load_tensors",
    "make_fabric",
    "save_json",
    "save_tensors",
]
