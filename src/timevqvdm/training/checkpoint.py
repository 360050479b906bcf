"""Checkpoints are data: safetensors for tensors, JSON for everything else.

Nothing here unpickles: loading a file can never run code. Writes go to a temporary file in the same
folder and are moved into place with `os.replace`, so a run killed mid-write leaves the previous file intact.
Files get the permissions any other file the user creates would get (0666 less the umask).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, or does not match the model it is loaded into."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and an atomic rename.

    The temporary file is opened with mode 0666 so the umask applies, as for any file the user writes
    (`tempfile.mkstemp` would make every model and checkpoint private to its owner).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def load_json(path: Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(
            f"{path}: not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}"
        ) from err
    except UnicodeDecodeError as err:
        raise CheckpointError(f"{path}: not a JSON text file (byte {err.start} is not UTF-8)") from err


def save_tensors(
    path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> None:
    """Save a flat name -> tensor mapping as safetensors, atomically."""
    # safetensors refuses shared or non-contiguous storage; a detached contiguous CPU copy is what we persist.
    clean = {name: t.detach().to("cpu").contiguous().clone() for name, t in tensors.items()}
    atomic_write_bytes(Path(path), safetensors_bytes(clean, metadata=dict(metadata) if metadata else None))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path}: not a readable safetensors file (truncated or corrupt?): {err}"
        ) from err


def read_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file: {err}") from err


def load_module_state(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: Path | str) -> None:
    """Load a state dict strictly, turning key/shape mismatches into an error that names the file.

    Keys are compared after the module's own load hooks, which may rename the keys of files written by
    older code (`timevqvdm.tokenizer.quantizer`); on a mismatch the module is left part-loaded, so callers
    discard it with the error.
    """
    own = module.state_dict()
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if wrong:
        k = wrong[0]
        details = f"shape of {k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        raise CheckpointError(f"{source}: does not match the model ({details})")
    result = module.load_state_dict(state, strict=False)
    missing, unexpected = sorted(result.missing_keys), sorted(result.unexpected_keys)
    if missing or unexpected:
        details = []
        if missing:
            details.append(f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}")
        if unexpected:
            details.append(f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}")
        raise CheckpointError(f"{source}: does not match the model ({'; '.join(details)})")


def flatten_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split `optimizer.state_dict()` into tensors (for safetensors) and a JSON-able remainder."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, per_param in state["state"].items():
        for name, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{name}"] = value
            else:
                scalars.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer_state(tensors: Mapping[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    per_param: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if not key.startswith("optim."):
            continue
        _, idx, name = key.split(".", 2)
        per_param.setdefault(int(idx), {})[name] = value
    for idx, values in meta.get("scalars", {}).items():
        per_param.setdefault(int(idx), {}).update(values)
    return {"state": per_param, "param_groups": meta["param_groups"]}


def describe_differences(saved: Mapping[str, Any], current: Mapping[str, Any], *, limit: int = 3) -> str:
    """Name the first `limit` entries in which two nested descriptions differ ("" when they agree).

    Parameters
    ----------
    saved, current : JSON-like mappings, e.g. what a checkpoint was trained with and what it is used with now.
        Nested mappings are compared entry by entry and named with dotted keys (``prior.prediction``).

    Returns
    -------
    str
        ``"prior.prediction: 'eps' saved, 'v' now; ..."``, with long values shortened.
    """
    flat_saved, flat_current = _flatten(saved), _flatten(current)
    keys = list(flat_saved) + [key for key in flat_current if key not in flat_saved]
    differing = [key for key in keys if flat_saved.get(key, _ABSENT) != flat_current.get(key, _ABSENT)]
    parts = [
        _difference(key, flat_saved.get(key, _ABSENT), flat_current.get(key, _ABSENT))
        for key in differing[:limit]
    ]
    if len(differing) > limit:
        parts.append(f"and {len(differing) - limit} more")
    return "; ".join(parts)


_ABSENT = "(absent)"


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            # JSON turns tuples into lists: compare them as lists so a round trip is no difference.
            flat[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return flat


def _difference(key: str, saved: Any, current: Any) -> str:
    if isinstance(saved, float) and isinstance(current, float) and f"{saved:.6g}" != f"{current:.6g}":
        return f"{key}: {saved:.6g} saved, {current:.6g} now"  # a mean or std: six digits tell them apart
    return f"{key}: {_short(saved)} saved, {_short(current)} now"


def _short(value: Any, width: int = 40) -> str:
    text = value if value is _ABSENT else repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
