"""Classifier-free guidance (thesis 2.3.6, Eq. 29) as the denoiser `model_fn` the samplers take."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from timevqvdm.diffusion.prediction import check_prediction, eps_and_z0
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
    """Wrap a denoiser network into `model_fn(z, t) -> (eps_hat, z0_hat)` with classifier-free guidance.

    network: `network(z (B, C, W), t (B,), y (B,), cond=...) -> (B, C, W)`, predicting eps or v
    (`prediction`); y: (B,) int64 labels; cond: input condition (B, Cc, W') or None.
    Eq. (29) mixes the raw network outputs, pred = (1 - w) f(z, t, null) + w f(z, t, y), and the mix is then
    converted once to both estimates (`eps_and_z0`); the conversion is linear in the output, so this equals
    mixing eps (or z0) estimates. The conditional and unconditional passes run as one forward on a stacked
    batch [z, z] with labels [y, null], so guidance costs one call per step. w = 1 (or all labels null) is a
    single plain conditional forward and w = 0 a single unconditional one, so both equal unguided sampling
    exactly. With eps-prediction the denoiser refuses t = 1 (see `prediction.py`).
    """
    check_prediction(prediction)
    null = torch.full_like(y, null_class)
    if guidance == 1.0 or bool((y == null_class).all()):
        return _plain_model_fn(network, y, cond, prediction)
    if guidance == 0.0:
        return _plain_model_fn(network, null, cond, prediction)
    labels = torch.cat([y, null])
    conds = None if cond is None else torch.cat([cond, cond])

    def model_fn(z: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        pred_cond, pred_null = network(torch.cat([z, z]), torch.cat([t, t]), labels, cond=conds).chunk(2)
        pred = (1.0 - guidance) * pred_null + guidance * pred_cond  # Eq. (29)
        return eps_and_z0(pred, z, t, prediction)

    return model_fn


def _plain_model_fn(network: nn.Module, y: Tensor, cond: Tensor | None, prediction: str) -> ModelFn:
    def model_fn(z: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        return eps_and_z0(network(z, t, y, cond=cond), z, t, prediction)

    return model_fn
