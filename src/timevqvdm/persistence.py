"""Saving and loading a `TimeVQVDM`, and the one factory of its two priors.

A saved model is a folder of data: ``model.json`` (config, class names, normalisation, lengths, shapes) and
one safetensors file per network. Loading it runs no code and needs no flags. Each weight file carries a
description of what its weights were trained with (configuration, shapes, data fingerprint); loading
refuses a ``model.json`` that no longer matches it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from timevqvdm.config import TimeVQVDMConfig, TrainConfig
from timevqvdm.data_info import DataInfo
from timevqvdm.inference import freeze
from timevqvdm.prior import LatentPrior, build_prior
from timevqvdm.tokenizer import build_tokenizer
from timevqvdm.training.checkpoint import (
    CheckpointError,
    describe_differences,
    load_json,
    load_module_state,
    load_tensors,
    read_metadata,
    save_json,
    save_tensors,
)

if TYPE_CHECKING:
    from timevqvdm.model import TimeVQVDM

FORMAT = "timevqvdm-model-1"
MODEL_JSON = "model.json"
WEIGHT_FILES = {
    "tokenizer": "tokenizer.safetensors",
    "prior_lf": "prior_lf.safetensors",
    "prior_hf": "prior_hf.safetensors",
}
# The TrainConfig fields that shape the weights: a resume may change the others (epochs, devices, precision,
# checkpoint cadence), not these.
WEIGHT_SHAPING_TRAIN_FIELDS = ("batch_size", "lr", "weight_decay", "warmup_steps", "ema_decay")


def build_priors(
    config: TimeVQVDMConfig, n_classes: int, latent_shapes: dict[str, tuple[int, int]]
) -> tuple[LatentPrior, LatentPrior]:
    """The LF prior and the HF prior, which is conditioned on the LF latent, for latents of
    ``latent_shapes[band] = (channels, width)`` (`FrequencyTokenizer.latent_shapes`)."""
    (c_lf, w_lf), (c_hf, w_hf) = latent_shapes["lf"], latent_shapes["hf"]
    prior_lf = build_prior(
        latent_channels=c_lf, latent_width=w_lf, n_classes=n_classes, cond_channels=0, cfg=config.prior,
        band="lf",
    )  # fmt: skip
    prior_hf = build_prior(
        latent_channels=c_hf, latent_width=w_hf, n_classes=n_classes, cond_channels=c_lf, cfg=config.prior,
        band="hf",
    )  # fmt: skip
    return prior_lf, prior_hf


# Settings added to the code after models were first saved, with the value that reproduces what those
# models were trained with: a description names them only where they differ from it, so older models
# (and checkpoints) still match and load, and any other value is still told apart.
ADDED_SETTINGS: dict[str, Any] = {"prior.dropout": 0.0, "tokenizer.full_width_stem": True}


def weights_description(
    config: TimeVQVDMConfig, info: DataInfo, part: str, latent_shapes: dict[str, tuple[int, int]] | None
) -> dict[str, Any]:
    """What the weights of `part` ("tokenizer" or "prior") were trained with, as JSON-able data; see
    `TimeVQVDM.weights_description`. `latent_shapes` is needed for the priors. A setting of
    `ADDED_SETTINGS` at its listed value is left out."""
    if part not in ("tokenizer", "prior"):
        raise ValueError(f"part must be 'tokenizer' or 'prior', got {part!r}")
    description = {
        "data": info.description(),
        "frequency": dataclasses.asdict(config.frequency),
        "tokenizer": dataclasses.asdict(config.tokenizer),
        "stage1": _weight_shaping(config.stage1),
        "seed": config.seed,
    }
    if part == "prior":
        description["prior"] = dataclasses.asdict(config.prior)
        description["stage2"] = _weight_shaping(config.stage2)
        description["latent_shapes"] = {k: list(v) for k, v in latent_shapes.items()}
    for key, old_value in ADDED_SETTINGS.items():
        section, name = key.split(".")
        if description.get(section, {}).get(name, old_value) == old_value:
            description.get(section, {}).pop(name, None)
    return json.loads(json.dumps(description))  # tuples as lists, as they come back from a file


def save_model(model: TimeVQVDM, path: Path, *, overwrite: bool) -> Path:
    """Write `model`'s folder: model.json + one safetensors file per fitted network."""
    existing = [name for name in (MODEL_JSON, *WEIGHT_FILES.values()) if (path / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{path}: already holds a saved model ({existing[0]}); pass overwrite=True")
    path.mkdir(parents=True, exist_ok=True)
    modules = {"tokenizer": model.tokenizer, "prior_lf": model.prior_lf, "prior_hf": model.prior_hf}
    for key, module in modules.items():
        if module is None:
            (path / WEIGHT_FILES[key]).unlink(missing_ok=True)
            continue
        description = model.weights_description("tokenizer" if key == "tokenizer" else "prior")
        metadata = {"format": FORMAT, "weights": json.dumps(description)}
        save_tensors(path / WEIGHT_FILES[key], module.state_dict(), metadata=metadata)
    save_json(
        path / MODEL_JSON,
        {
            "format": FORMAT,
            "config": model.config.to_dict(),
            "data": model.data_info.__dict__,
            "stages": [1, 2] if model.prior_lf is not None else [1],
            "latent_shapes": {k: list(v) for k, v in model.tokenizer.latent_shapes.items()},
            "history": model.history,
        },
    )
    return path


def load_model(path: Path, new_model: Callable[[TimeVQVDMConfig], TimeVQVDM]) -> TimeVQVDM:
    """The model saved in folder `path`; ``new_model(config)`` makes the unfitted model to fill in."""
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such model folder")
    meta = load_json(path / MODEL_JSON)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path / MODEL_JSON}: not a timevqvdm model (format {meta.get('format')!r})")
    try:
        config = TimeVQVDMConfig.from_dict(_with_added_settings(meta["config"]))
        info = DataInfo(**meta["data"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path / MODEL_JSON}: malformed model description: {err}") from err
    model = new_model(config)
    model.data_info = info
    model.history = meta.get("history", {})
    model.tokenizer = build_tokenizer(info.length, info.n_channels, config.frequency, config.tokenizer)
    _load_weights(model, model.tokenizer, path / WEIGHT_FILES["tokenizer"], "tokenizer")
    if 2 in meta.get("stages", []):
        model.prior_lf, model.prior_hf = build_priors(config, info.n_classes, model.tokenizer.latent_shapes)
        _load_weights(model, model.prior_lf, path / WEIGHT_FILES["prior_lf"], "prior")
        _load_weights(model, model.prior_hf, path / WEIGHT_FILES["prior_hf"], "prior")
    return model


def _load_weights(model: TimeVQVDM, module: torch.nn.Module, file: Path, part: str) -> None:
    """Fill `module` from `file`, refusing weights trained with another configuration or data than
    model.json now describes; the module ends frozen on the model's device."""
    saved = read_metadata(file).get("weights") if file.is_file() else None
    # A missing file is reported by load_tensors; files saved before descriptions carry none.
    if saved is not None:
        differences = describe_differences(json.loads(saved), model.weights_description(part))
        if differences:
            raise CheckpointError(
                f"{file}: does not match {MODEL_JSON}, which describes other weights ({differences}); "
                f"restore the {MODEL_JSON} saved with these weights, or train a new model"
            )
    load_module_state(module, load_tensors(file), file)
    freeze(module.to(model.device))


def _with_added_settings(config: dict[str, Any]) -> dict[str, Any]:
    """A saved config dict with each `ADDED_SETTINGS` entry it predates set to the value it was trained
    with (not to today's default, which may differ)."""
    config = {section: dict(value) if isinstance(value, dict) else value for section, value in config.items()}
    for key, old_value in ADDED_SETTINGS.items():
        section, name = key.split(".")
        if isinstance(config.get(section), dict):
            config[section].setdefault(name, old_value)
    return config


def _weight_shaping(cfg: TrainConfig) -> dict[str, Any]:
    return {name: getattr(cfg, name) for name in WEIGHT_SHAPING_TRAIN_FIELDS}
