"""Both priors trained as one module, step for step (validation-driven stage 2).

The HF prior learns p(z_HF | z_LF, y) from the *real* LF latents, so it never needs the LF prior while it
trains; the two can take their steps together. Trained so, the pair can be checked as the model samples:
whole series, LF drawn by the LF prior and HF by the HF prior on it, so a novelty check scores the series
a user gets rather than one band of them.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from timevqvdm.prior.latent_prior import LatentPrior


class PriorPair(nn.Module):
    """The LF and HF priors as one trainable module; the state dict is ``lf.*`` and ``hf.*``.

    Parameters
    ----------
    lf, hf : LatentPrior
        The band priors; ``hf`` is conditioned on the scaled LF latent.
    """

    def __init__(self, lf: LatentPrior, hf: LatentPrior) -> None:
        super().__init__()
        self.lf, self.hf = lf, hf

    def networks(self) -> list[nn.Module]:
        """What a compiler takes whole (`timevqvdm.compiled`): both U-Nets."""
        return self.lf.networks() + self.hf.networks()

    def training_loss(
        self, batch: dict[str, Tensor], generator: torch.Generator
    ) -> tuple[Tensor, dict[str, float]]:
        """The trainer's contract: the sum of both priors' losses on the same series.

        Parameters
        ----------
        batch : dict of str to Tensor
            ``"z0_lf"`` (B, C_lf, W_lf) and ``"z0_hf"`` (B, C_hf, W_hf) scaled latents of the same series;
            ``"y"`` (B,) int64, absent when unlabelled; ``"mask_lf"`` (B, W_lf) and ``"mask_hf"`` (B, W_hf),
            absent when every series has full length (`LatentPrior.training_loss`).
        generator : torch.Generator
            The source of both losses' draws, LF first.

        Returns
        -------
        (Tensor, dict)
            The summed loss, shape (), and ``{"loss", "loss_lf", "loss_hf"}`` as floats.
        """
        labels = {"y": batch["y"]} if "y" in batch else {}
        lf = {"z0": batch["z0_lf"], **labels, **_mask(batch, "mask_lf")}
        hf = {"z0": batch["z0_hf"], "cond": batch["z0_lf"], **labels, **_mask(batch, "mask_hf")}
        loss_lf, _ = self.lf.training_loss(lf, generator)
        loss_hf, _ = self.hf.training_loss(hf, generator)
        loss = loss_lf + loss_hf
        return loss, {"loss": float(loss.detach()), "loss_lf": float(loss_lf.detach()),
                      "loss_hf": float(loss_hf.detach())}  # fmt: skip


def _mask(batch: dict[str, Tensor], key: str) -> dict[str, Tensor]:
    return {"mask": batch[key]} if key in batch else {}
