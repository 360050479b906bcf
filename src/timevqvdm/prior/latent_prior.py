"""One band's diffusion prior: the U-Net, its latent scaler and the diffusion process, and the factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from timevqvdm.compiled import compiling
from timevqvdm.diffusion import DiffusionProcess
from timevqvdm.prior.config import PriorConfig
from timevqvdm.prior.scaler import LatentScaler
from timevqvdm.prior.slicing import sliced_forward
from timevqvdm.prior.unet import UNet1D


class LatentPrior(nn.Module):
    """The diffusion prior of one band (LF or HF) over scaled latents (B, C, W).

    It keeps three parts and delegates: the denoiser `network`, the `scaler` between stage-1 latents and
    the scaled latents the prior works on (fitted by the caller, ``prior.scaler.fit(z)``, and stored in the
    state dict beside the network's weights), and the `process` (`DiffusionProcess`: what the network
    predicts, the class dropout and the null class; no weights). The state dict is ``network.*`` and
    ``scaler.*``.

    Parameters
    ----------
    network : UNet1D
        The denoiser.
    n_classes : int
        Real classes; label `n_classes` is the null class (also used for unlabelled data).
    latent_shape : tuple of int
        (C, W) of this band's latents, the default shape for `sample`.
    prediction : str
        ``"eps"`` (the thesis) or ``"v"``.
    class_dropout : float
        Probability of training on the null label (thesis 2.3.6).
    """

    def __init__(
        self,
        *,
        network: UNet1D,
        n_classes: int,
        latent_shape: tuple[int, int],
        prediction: str = "eps",
        class_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.process = DiffusionProcess(
            null_class=n_classes, prediction=prediction, class_dropout=class_dropout
        )
        self.network = network
        self.scaler = LatentScaler()
        self.n_classes = n_classes
        self.latent_shape = tuple(latent_shape)

    @property
    def null_class(self) -> int:
        return self.process.null_class

    @property
    def prediction(self) -> str:
        return self.process.prediction

    @property
    def class_dropout(self) -> float:
        return self.process.class_dropout

    def networks(self) -> list[nn.Module]:
        """What a compiler takes whole (`timevqvdm.compiled`): the U-Net."""
        return [self.network]

    def training_loss(
        self, batch: dict[str, Tensor], generator: torch.Generator
    ) -> tuple[Tensor, dict[str, float]]:
        """The trainer's contract: the process's loss of the network on one batch.

        Parameters
        ----------
        batch : dict of str to Tensor
            ``"z0"`` (B, C, W) scaled latents; ``"y"`` (B,) int64, absent when unlabelled (then every label
            is null); ``"cond"`` (B, Cc, W') for the HF prior; ``"mask"`` (B, W), absent when every series
            has full length, 1 on the latent positions whose span holds observed time steps
            (`FrequencyTokenizer.latent_mask`): the others add nothing to the loss.
        generator : torch.Generator
            The source of every draw of the step.

        Returns
        -------
        loss : Tensor, shape ()
        logs : dict
            ``{"loss": float}``.
        """
        loss = self.process.loss(self.network, batch, generator)
        return loss, {"loss": float(loss.detach())}

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        y: Tensor | None = None,
        cond: Tensor | None = None,
        steps: int,
        guidance: float,
        rescale: float,
        t_max: float,
        sampler: Literal["ancestral", "ddim"] | str = "ancestral",
        generator: torch.Generator | None = None,
        shape: tuple[int, int] | None = None,
        callback: Callable[..., None] | None = None,
        compile: bool | str = False,
    ) -> Tensor:
        """Draw n scaled latents (thesis Algorithm 3; `scaler.inverse` maps them back).

        The process samples (`DiffusionProcess.sample`, which states the sampling arguments: `y`, `cond`,
        `steps`, `guidance`, `rescale`, `t_max`, `sampler`, `generator`, `callback`); the network runs on
        cache-sized slices of the batch (`prior.slicing`).

        Parameters
        ----------
        n : int
            Number of latents.
        shape : tuple of int, optional
            (C, W) of each latent; defaults to `latent_shape`.
        compile : bool or str
            Run the U-Net through torch.compile (`timevqvdm.compiled`; eager where it is unavailable); a
            string names the mode (`compiled.COMPILE_MODES`).

        Returns
        -------
        Tensor, shape (n, C, W)
        """
        device = next(self.parameters()).device
        full_shape = (n, *(shape or self.latent_shape))
        network = sliced_forward(self.network, full_shape[-1], device, compiled=bool(compile))
        with compiling(self.networks(), enabled=compile, frozen=True):
            return self.process.sample(
                network, full_shape, y=y, cond=cond, steps=steps, guidance=guidance, rescale=rescale,
                t_max=t_max, sampler=sampler, generator=generator, callback=callback, device=device,
            )  # fmt: skip


def build_prior(
    *,
    latent_channels: int,
    latent_width: int,
    n_classes: int,
    cond_channels: int,
    cfg: PriorConfig,
    band: Literal["lf", "hf"],
) -> LatentPrior:
    """The factory where PriorConfig stops: the LF prior uses cfg.lf_channels, the HF prior cfg.hf_channels.

    Parameters
    ----------
    latent_channels, latent_width : int
        The band's latent (C, W) as the prior sees it (frequency rows stacked on channels).
    n_classes : int
        Real classes (0 for unlabelled data); the null class comes on top.
    cond_channels : int
        Channels of the input condition: 0 for LF, the LF latent's channels for HF.
    cfg : PriorConfig
    band : {"lf", "hf"}

    Returns
    -------
    LatentPrior
        With an unfitted scaler.
    """
    if band not in ("lf", "hf"):
        raise ValueError(f"band must be 'lf' or 'hf', got {band!r}")
    channels = cfg.lf_channels if band == "lf" else cfg.hf_channels
    network = UNet1D(
        in_channels=latent_channels,
        channels=tuple(channels),
        n_classes=n_classes,
        cond_channels=cond_channels,
        emb_dim=cfg.emb_dim,
        groups=cfg.groups,
        attn_heads=cfg.attn_heads,
        attn_head_dim=cfg.attn_head_dim,
        dropout=cfg.dropout,
    )
    if latent_width < network.min_width:
        raise ValueError(
            f"{band.upper()} latent width {latent_width} is too short for a U-Net with {len(channels)} "
            f"levels (needs >= {network.min_width}); use fewer entries in PriorConfig.{band}_channels"
        )
    return LatentPrior(
        network=network,
        n_classes=n_classes,
        latent_shape=(latent_channels, latent_width),
        prediction=cfg.prediction,
        class_dropout=cfg.class_dropout,
    )
