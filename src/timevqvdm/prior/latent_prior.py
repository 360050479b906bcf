"""One band's diffusion prior: the U-Net, its latent scaler and the noise process, and the factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from timevqvdm.compiled import compiling
from timevqvdm.diffusion import (
    PREDICTIONS,
    check_start_time,
    diffusion_loss,
    drop_classes,
    get_sampler,
    guided_model_fn,
    sampling_times,
)
from timevqvdm.diffusion.noise import gaussian
from timevqvdm.prior.config import PriorConfig
from timevqvdm.prior.scaler import LatentScaler
from timevqvdm.prior.slicing import sliced_forward
from timevqvdm.prior.unet import UNet1D


class LatentPrior(nn.Module):
    """The diffusion prior of one band (LF or HF) over scaled latents (B, C, W).

    network: the denoiser; n_classes: real classes, label n_classes is the null class (also used for
    unlabelled data); prediction: "eps" (thesis) or "v"; class_dropout: probability of training on the null
    label (2.3.6); latent_shape: (C, W) of this band's latents, the default shape for `sample`.
    The `scaler` is fitted by the caller (`prior.scaler.fit(z)`) and stored in the state dict; the prior
    itself works on scaled latents only.
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
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction {prediction!r}; choose one of {PREDICTIONS}")
        if not 0.0 <= class_dropout <= 1.0:
            raise ValueError(f"class_dropout must be in [0, 1], got {class_dropout}")
        self.network = network
        self.scaler = LatentScaler()
        self.n_classes = n_classes
        self.latent_shape = tuple(latent_shape)
        self.prediction = prediction
        self.class_dropout = class_dropout

    @property
    def null_class(self) -> int:
        return self.n_classes

    def networks(self) -> list[nn.Module]:
        """What a compiler takes whole (`timevqvdm.compiled`): the U-Net."""
        return [self.network]

    def training_loss(
        self, batch: dict[str, Tensor], generator: torch.Generator
    ) -> tuple[Tensor, dict[str, float]]:
        """The trainer's contract. batch: "z0" (B, C, W) scaled latents; "y" (B,) int64, absent when
        unlabelled (then every label is null); "cond" (B, Cc, W') for the HF prior; "mask" (B, W), absent
        when every series has full length, 1 on the latent positions whose span holds observed time steps
        (`FrequencyTokenizer.latent_mask`): the others add nothing to the loss. Returns (loss, logs)."""
        z0 = batch["z0"]
        y = batch.get("y")
        if y is None:
            y = torch.full((z0.shape[0],), self.null_class, dtype=torch.long, device=z0.device)
        # Algorithm 2's class guidance signal: y, or the null class with probability class_dropout.
        y = drop_classes(y, self.class_dropout, self.null_class, generator)
        loss = diffusion_loss(
            self.network, z0, y=y, cond=batch.get("cond"), prediction=self.prediction, generator=generator,
            mask=batch.get("mask"),
        )  # fmt: skip
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
        compile: bool = False,
    ) -> Tensor:
        """Draw n scaled latents (n, C, W) (Algorithm 3; `scaler.inverse` maps them back).

        y: (n,) int64 labels in [0, n_classes], None for unconditional (null) sampling; cond: (n, Cc, W')
        input condition for the HF prior (the scaled LF latent); guidance: w of Eq. (29); rescale: gamma of
        Eq. (31); t_max: first time of the grid, in (0, 1]; 1 only for a v-predicting prior (an eps network
        cannot predict z_0 from pure noise; the thesis uses 0.99); shape: (C, W), defaults to
        `latent_shape`. The initial noise and the sampler's noise come from `generator`, so a seed fixes the
        samples. `callback` is handed to the sampler (called once per step; progress bars). compile: run the
        U-Net through torch.compile (`timevqvdm.compiled`; eager where it is unavailable).
        """
        sample_fn = get_sampler(sampler)
        check_start_time(t_max, self.prediction)
        device = next(self.parameters()).device
        y = self._labels(n, y, device)
        if cond is not None:
            cond = cond.to(device)
        z = gaussian((n, *(shape or self.latent_shape)), generator=generator, device=device)
        model_fn = guided_model_fn(
            self._inference_network(z.shape[-1], device),
            y=y,
            guidance=guidance,
            null_class=self.null_class,
            cond=cond,
            prediction=self.prediction,
        )
        with compiling(self.networks(), enabled=compile):
            return sample_fn(
                model_fn, z, sampling_times(steps, t_max), rescale=rescale, generator=generator,
                callback=callback,
            )  # fmt: skip

    def _inference_network(self, width: int, device: torch.device) -> Callable[..., Tensor]:
        """The network as the sampler calls it: on cache-sized slices of the batch (`prior.slicing`)."""
        return sliced_forward(self.network, width, device)

    def _labels(self, n: int, y: Tensor | None, device: torch.device) -> Tensor:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if y is None:
            return torch.full((n,), self.null_class, dtype=torch.long, device=device)
        y = torch.as_tensor(y, dtype=torch.long, device=device)
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {tuple(y.shape)}")
        if bool(((y < 0) | (y > self.null_class)).any()):
            raise ValueError(f"labels must be in [0, {self.null_class}] ({self.null_class} = unconditional)")
        return y


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

    latent_channels / latent_width: the band's latent (C, W) as the prior sees it (frequency rows stacked on
    channels); cond_channels: channels of the input condition, 0 for LF, the LF latent's channels for HF.
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
