"""Random draws that all go through an explicit `torch.Generator`.

The draw happens on the generator's own device and is then moved, so the trainer's CPU generator can feed a
model on a GPU and a seed gives the same numbers wherever the model runs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def gaussian(
    shape: tuple[int, ...] | torch.Size,
    *,
    generator: torch.Generator | None,
    device: torch.device | str,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """N(0, I) noise of `shape` on `device`; `generator=None` uses torch's global generator."""
    return _draw(torch.randn, shape, generator, device, dtype)


def uniform(
    shape: tuple[int, ...] | torch.Size,
    *,
    generator: torch.Generator | None,
    device: torch.device | str,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """U[0, 1) draws of `shape` on `device`; `generator=None` uses torch's global generator."""
    return _draw(torch.rand, shape, generator, device, dtype)


def _draw(
    sampler: Callable[..., Tensor],
    shape: tuple[int, ...] | torch.Size,
    generator: torch.Generator | None,
    device: torch.device | str,
    dtype: torch.dtype,
) -> Tensor:
    if generator is None:
        return sampler(shape, device=device, dtype=dtype)
    return sampler(shape, generator=generator, device=generator.device, dtype=dtype).to(device)
