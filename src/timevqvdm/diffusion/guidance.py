"""Classifier-free guidance (thesis 2.3.6, Eq. 29) as a model_fn for the samplers."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from timevqvdm.diffusion.prediction import check_prediction, to_eps
from timevqvdm.diffusion.samplers import ModelFn


def guided_model_fn(
    network: nn.Module,
    *,
    y: Tensor,
    guidance: float,
    null_class: int,
    cond: Tensor | None = None,
    prediction: str = "eps",
) -> ModelFn:
    """Wrap a denoiser into `model_fn(z, t) -> eps_hat`, eps_hat = (1 - w) eps(z, t, null) + w eps(z, t, y).

    network: `network(z (B, C, W), t (B,), y (B,), cond=...) -> (B, C, W)`; y: (B,) int64 labels; cond: input
    condition (B, Cc, W') or None. The conditional and unconditional passes run as one forward on a stacked
    batch [z, z] with labels [y, null], so guidance costs one call per step. w = 1 (or all labels null) is a
    single plain conditional forward and w = 0 a single unconditional one, so both equal unguided sampling
    exactly.
    """
    check_prediction(prediction)
    null = torch.full_like(y, null_class)
    if guidance == 1.0 or bool((y == null_class).all()):
        return _plain_model_fn(network, y, cond, prediction)
    if guidance == 0.0:
        return _plain_model_fn(network, null, cond, prediction)
    labels = torch.cat([y, null])
    conds = None if cond is None else torch.cat([cond, cond])

    def model_fn(z: Tensor, t: Tensor) -> Tensor:
        z2, t2 = torch.cat([z, z]), torch.cat([t, t])
        eps_cond, eps_null = to_eps(network(z2, t2, labels, cond=conds), z2, t2, prediction).chunk(2)
        return (1.0 - guidance) * eps_null + guidance * eps_cond  # Eq. (29)

    return model_fn


def _plain_model_fn(network: nn.Module, y: Tensor, cond: Tensor | None, prediction: str) -> ModelFn:
    def model_fn(z: Tensor, t: Tensor) -> Tensor:
        return to_eps(network(z, t, y, cond=cond), z, t, prediction)

    return model_fn
