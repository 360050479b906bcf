"""What the network predicts: the noise eps (thesis default, Eq. 22) or the velocity v (Eq. 24).

The relations between eps, v, z_0 and z_t live here only. With z_t = alpha z_0 + sigma eps (Eq. 15) and
v = alpha eps - sigma z_0 (Eq. 24), and alpha^2 + sigma^2 = 1:
    eps = sigma z_t + alpha v,    z_0 = alpha z_t - sigma v.
From an eps prediction the only way to z_0 is z_0 = (z_t - sigma eps) / alpha, which is undefined at t = 1
(alpha = 0): an eps network has no information about z_0 in pure noise. From a v prediction both estimates
are finite for every t in [0, 1], which is why a v model can start sampling at t = 1.
"""

from __future__ import annotations

from torch import Tensor

from timevqvdm.diffusion.schedule import alpha_sigma, append_dims

PREDICTIONS = ("eps", "v")


def check_prediction(prediction: str) -> None:
    if prediction not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")


def check_start_time(t_max: float, prediction: str) -> None:
    """Refuse to start an eps model at t = 1, where it cannot predict z_0 (see the module docstring)."""
    check_prediction(prediction)
    if prediction == "eps" and t_max >= 1.0:
        raise ValueError(
            f"an eps-predicting network cannot start sampling at t_max = {t_max}: at t = 1 alpha = 0 and "
            "z0_hat = (z - sigma eps_hat) / alpha divides by zero; start at t_max = 0.99 as the thesis does, "
            "or train with prediction='v', which starts at t = 1"
        )


def training_target(z0: Tensor, eps: Tensor, t: Tensor, prediction: str) -> Tensor:
    """The regression target: eps, or v = alpha_t eps - sigma_t z_0. z0, eps: (B, ...); t: (B,)."""
    check_prediction(prediction)
    if prediction == "eps":
        return eps
    alpha, sigma = (append_dims(c, z0.ndim) for c in alpha_sigma(t))
    return alpha * eps - sigma * z0


def eps_and_z0(pred: Tensor, z_t: Tensor, t: Tensor, prediction: str) -> tuple[Tensor, Tensor]:
    """Both estimates (eps_hat, z0_hat) from a network output, each in the stable form for its
    parameterisation, so samplers see one contract whatever the network predicts.

    pred, z_t: (B, ...); t: (B,). For v: z0_hat = alpha z_t - sigma v_hat, eps_hat = sigma z_t + alpha v_hat
    (no division, finite at t = 1). For eps: eps_hat = pred, z0_hat = (z_t - sigma eps_hat) / alpha (Eq. 15
    solved for z_0); t = 1 is refused with a ValueError. That check reads t on the host, one device sync per
    call, paid by eps models only.
    """
    check_prediction(prediction)
    alpha, sigma = (append_dims(c, z_t.ndim) for c in alpha_sigma(t))
    if prediction == "v":
        return sigma * z_t + alpha * pred, alpha * z_t - sigma * pred
    if bool((t >= 1.0).any()):
        check_start_time(float(t.max()), prediction)
    return pred, (z_t - sigma * pred) / alpha
