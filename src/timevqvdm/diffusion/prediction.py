"""What the network predicts: the noise eps (thesis default, Eq. 22) or the velocity v (Eq. 24).

The relations between eps, v, z_0 and z_t live here only. With z_t = alpha z_0 + sigma eps (Eq. 15) and
v = alpha eps - sigma z_0 (Eq. 24), and alpha^2 + sigma^2 = 1:
    eps = sigma z_t + alpha v,    z_0 = alpha z_t - sigma v.
"""

from __future__ import annotations

from torch import Tensor

from timevqvdm.diffusion.schedule import alpha_sigma, append_dims

PREDICTIONS = ("eps", "v")


def check_prediction(prediction: str) -> None:
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")


def training_target(z0: Tensor, eps: Tensor, t: Tensor, prediction: str) -> Tensor:
    """The regression target: eps, or v = alpha_t eps - sigma_t z_0. z0, eps: (B, ...); t: (B,)."""
    check_prediction(prediction)
    if prediction == "eps":
        return eps
    alpha, sigma = (append_dims(c, z0.ndim) for c in alpha_sigma(t))
    return alpha * eps - sigma * z0


def to_eps(pred: Tensor, z_t: Tensor, t: Tensor, prediction: str) -> Tensor:
    """The noise estimate eps_hat from a network output, so samplers see one parameterisation.

    pred, z_t: (B, ...); t: (B,) or a scalar tensor. For v: eps_hat = sigma_t z_t + alpha_t v_hat.
    """
    check_prediction(prediction)
    if prediction == "eps":
        return pred
    alpha, sigma = (append_dims(c, z_t.ndim) if c.ndim else c for c in alpha_sigma(t))
    return sigma * z_t + alpha * pred
