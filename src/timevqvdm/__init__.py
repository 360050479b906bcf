"""timevqvdm: synthetic time series with vector-quantised latent diffusion (TimeVQVDM)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["TimeVQVDM", "TimeVQVDMConfig", "__version__", "get_preset", "load_dataset"]


def __getattr__(name: str):
    # Lazy imports keep `import timevqvdm` (and the CLI's --help) fast: torch loads only when needed.
    if name == "TimeVQVDM":
        from timevqvdm.model import TimeVQVDM

        return TimeVQVDM
    if name in ("TimeVQVDMConfig", "get_preset"):
        from timevqvdm import config

        return getattr(config, name)
    if name == "load_dataset":
        from timevqvdm.data import load_dataset

        return load_dataset
    raise AttributeError(f"module 'timevqvdm' has no attribute {name!r}")
