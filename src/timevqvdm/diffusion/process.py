"""The diffusion process of one prior, kept beside its network rather than inside it.

`DiffusionProcess` holds what the process needs besides the network: what the network predicts, how often
training drops the label, and which label is the null class. Its `loss` and `sample` take the network as an
argument, as DiT's `GaussianDiffusion` does, so the network carries the architecture only and any denoiser
with the contract of `docs/CONTRACTS.md` ("stage 2") can be trained and sampled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from timevqvdm.diffusion.guidance import guided_model_fn
from timevqvdm.diffusion.loss import diffusion_loss, drop_classes
from timevqvdm.diffusion.noise import gaussian
from timevqvdm.diffusion.prediction import PREDICTIONS, check_start_time
from timevqvdm.diffusion.samplers import Callback, get_sampler
from timevqvdm.diffusion.schedule import sampling_times

Network = Callable[..., Tensor]


@dataclass(frozen=True)
class DiffusionProcess:
    """The cosine-schedule Gaussian diffusion of thesis 2.3, for a network that predicts eps or v.

    Parameters
    ----------
    null_class : int
        The label of the unconditional (null) class, also given to unlabelled data; the real classes are
        ``0 .. null_class - 1``.
    prediction : str
        What the network predicts: ``"eps"`` (the thesis) or ``"v"``.
    class_dropout : float
        Probability, in [0, 1], of training on the null label, which classifier-free guidance needs
        (thesis 2.3.6).
    """

    null_class: int
    prediction: str = "eps"
    class_dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction {self.prediction!r}; choose one of {PREDICTIONS}")
        if not 0.0 <= self.class_dropout <= 1.0:
            raise ValueError(f"class_dropout must be in [0, 1], got {self.class_dropout}")

    def loss(self, network: Network, batch: dict[str, Tensor], generator: torch.Generator | None) -> Tensor:
        """The training loss of thesis Algorithm 2 on one batch (`diffusion_loss`).

        Parameters
        ----------
        network : callable
            The denoiser, ``network(z_t (B, C, W), t (B,), y (B,), cond=...) -> (B, C, W)``.
        batch : dict of str to Tensor
            ``"z0"`` (B, C, W) scaled latents; ``"y"`` (B,) int64 labels, absent when unlabelled (then every
            label is null); ``"cond"`` (B, Cc, W') the input condition of a conditioned network; ``"mask"``
            (B, W), absent when every position counts, 1 on the positions that add to the loss.
        generator : torch.Generator
            The source of every draw: the dropped labels, the times and the noise.

        Returns
        -------
        Tensor, shape ()
        """
        z0 = batch["z0"]
        y = batch.get("y")
        if y is None:
            y = torch.full((z0.shape[0],), self.null_class, dtype=torch.long, device=z0.device)
        # Algorithm 2's class guidance signal: y, or the null class with probability class_dropout.
        y = drop_classes(y, self.class_dropout, self.null_class, generator)
        return diffusion_loss(
            network, z0, y=y, cond=batch.get("cond"), prediction=self.prediction, generator=generator,
            mask=batch.get("mask"),
        )  # fmt: skip

    @torch.no_grad()
    def sample(
        self,
        network: Network,
        shape: tuple[int, ...],
        *,
        y: Tensor | None = None,
        cond: Tensor | None = None,
        steps: int,
        guidance: float,
        rescale: float,
        t_max: float,
        sampler: str = "ancestral",
        generator: torch.Generator | None = None,
        callback: Callback | None = None,
        device: torch.device | str = "cpu",
    ) -> Tensor:
        """Draw latents from pure noise (thesis Algorithm 3), with classifier-free guidance (Eq. 29).

        Every argument is checked before any work. The initial noise and the sampler's noise come from
        `generator`, in that order, so a seed fixes the samples.

        Parameters
        ----------
        network : callable
            The denoiser, ``network(z (B, C, W), t (B,), y (B,), cond=...) -> (B, C, W)``; under guidance it
            sees a stacked batch of 2n series.
        shape : tuple of int
            (n, C, W), the shape of the result.
        y : Tensor, shape (n,), int64, optional
            Labels in [0, null_class]; None samples unconditionally (every label null).
        cond : Tensor, shape (n, Cc, W'), optional
            The input condition of a conditioned network (the scaled LF latent for the HF prior).
        steps : int
            Sampler steps on the grid `sampling_times(steps, t_max)`.
        guidance : float
            w of Eq. (29); 1 is plain conditional sampling.
        rescale : float
            gamma of Eq. (31).
        t_max : float
            First time of the grid, in (0, 1]; 1 only for a v-predicting network (an eps network cannot
            predict z_0 from pure noise; the thesis uses 0.99).
        sampler : str
            A name of `SAMPLERS`.
        generator : torch.Generator, optional
            The source of every draw; None uses torch's global generator.
        callback : callable, optional
            Handed to the sampler, called once per step (progress bars).
        device : torch.device or str
            Where the latents live: the network's device.

        Returns
        -------
        Tensor, shape (n, C, W)
        """
        sample_fn = get_sampler(sampler)
        check_start_time(t_max, self.prediction)
        y = self.labels(shape[0], y, device)
        if cond is not None:
            cond = cond.to(device)
        z = gaussian(shape, generator=generator, device=device)
        model_fn = guided_model_fn(
            network, y=y, guidance=guidance, null_class=self.null_class, cond=cond, prediction=self.prediction
        )
        return sample_fn(
            model_fn, z, sampling_times(steps, t_max), rescale=rescale, generator=generator, callback=callback
        )

    def labels(self, n: int, y: Tensor | None, device: torch.device | str) -> Tensor:
        """The labels of `n` samples, checked: `y` on `device`, or all null when `y` is None.

        Parameters
        ----------
        n : int
            The number of samples, >= 1.
        y : Tensor or array-like, shape (n,), optional
            Labels in [0, null_class].
        device : torch.device or str

        Returns
        -------
        Tensor, shape (n,), int64
        """
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
