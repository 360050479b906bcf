"""Stage 1: the LF/HF VQ-VAE pair (thesis 3.1 "Stage 1", 3.3, Algorithm 1).

A series ``x (B, C, L)`` is split by the STFT into band-masked spectrograms ``u_lf``, ``u_hf``
``(B, 2C, H, L + 1)``; each band has its own encoder, EMA codebook and decoder. Latents are
``(B, H*d, W_band)`` in the priors' layout (`timevqvdm.tokenizer.latent`), token indices ``(B, H, W_band)``.
Decoded spectrograms are masked back to their band (Eq. 42) before the inverse STFT (Eq. 43), so the LF
reconstruction never contains high frequencies and vice versa.

Inference methods (`encode`, `reconstruct`, `codebook_usage`, ...) use BatchNorm in whatever mode the
module is in: call ``.eval()`` first. `quantize` never updates the codebook.

Variable-length series (a time mask ``(B, L)``, True = observed) map to the other layouts by position:

* spectrogram column ``w`` is centred on time step ``w * hop`` and counts when that step is observed (the
  last column, centred one step past the end, counts when the last step does): `column_mask`;
* a band's latent position ``j`` spans the columns ``[j * 2**n_down, (j + 1) * 2**n_down)`` that its
  strided convolutions halve into it, and counts when any of them counts, i.e. it is masked when its span
  is padding only: `latent_mask` (the down-sampled time mask).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from timevqvdm.frequency import FrequencyConfig, istft, stft, zero_pad_hf, zero_pad_lf
from timevqvdm.tokenizer.config import TokenizerConfig
from timevqvdm.tokenizer.losses import reconstruction_loss
from timevqvdm.tokenizer.networks import Decoder, Encoder, downsampled_widths, n_downsample
from timevqvdm.tokenizer.quantizer import Quantizer, code_counts, perplexity

BANDS = ("lf", "hf")


class BandVQVAE(nn.Module):
    """Encoder, quantizer and decoder of one frequency band.

    Parameters
    ----------
    in_channels : int
        Spectrogram channels ``2C``.
    height : int
        Spectrogram rows ``H = n_fft // 2 + 1``.
    width : int
        Spectrogram width ``W`` (``L + 1`` for hop 1).
    n_down : int
        Number of down-sampling blocks; the latent width is ``W // 2**n_down``.
    hidden_channels, n_res_blocks : int
        Width and depth of the encoder and the decoder (`TokenizerConfig`).
    codebook_size, codebook_dim : int
        Codes K and their size d.
    ema_decay, commitment_weight : float
        The codebook's EMA decay and the commitment loss's weight beta.
    full_width_stem : bool
        Full-width 3x3 convolutions around the resampling blocks (`TokenizerConfig`).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        height: int,
        width: int,
        n_down: int,
        hidden_channels: int,
        n_res_blocks: int,
        codebook_size: int,
        codebook_dim: int,
        ema_decay: float,
        commitment_weight: float,
        full_width_stem: bool,
    ) -> None:
        super().__init__()
        self.height = height
        self.codebook_dim = codebook_dim
        self.widths = downsampled_widths(width, n_down)
        self.encoder = Encoder(
            in_channels=in_channels,
            hidden_channels=hidden_channels,
            latent_dim=codebook_dim,
            n_down=n_down,
            n_res_blocks=n_res_blocks,
            full_width_stem=full_width_stem,
        )
        self.quantizer = Quantizer(
            height=height,
            codebook_dim=codebook_dim,
            codebook_size=codebook_size,
            ema_decay=ema_decay,
            commitment_weight=commitment_weight,
        )
        self.decoder = Decoder(
            out_channels=in_channels,
            hidden_channels=hidden_channels,
            latent_dim=codebook_dim,
            height=height,
            widths=self.widths,
            n_res_blocks=n_res_blocks,
            full_width_stem=full_width_stem,
        )

    @property
    def n_down(self) -> int:
        return len(self.widths) - 1

    @property
    def latent_shape(self) -> tuple[int, int]:
        """``(H*d, W_band)``: a latent's shape without the batch dimension."""
        return self.height * self.codebook_dim, self.widths[-1]

    def forward(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Spectrogram ``(B, 2C, H, W)`` -> (decoded spectrogram ``(B, 2C, H, W)`` before band masking,
        token indices ``(B, H, W_band)``, scalar VQ loss). Updates the EMA codebook in train mode."""
        z_q, indices, vq_loss = self.quantizer(self.encoder(u))
        return self.decoder(z_q), indices, vq_loss


class FrequencyTokenizer(nn.Module):
    """The LF/HF VQ-VAE pair with its STFT settings; built by `build_tokenizer`.

    Parameters
    ----------
    length : int
        Series length ``L`` the networks were sized for.
    n_channels : int
        Series channels ``C``.
    n_fft, hop_length, cutoff : int
        STFT window, hop and number of LF frequency rows.
    lf, hf : BandVQVAE
        The two bands' VQ-VAEs.
    """

    def __init__(
        self,
        *,
        length: int,
        n_channels: int,
        n_fft: int,
        hop_length: int,
        cutoff: int,
        lf: BandVQVAE,
        hf: BandVQVAE,
    ) -> None:
        super().__init__()
        height = n_fft // 2 + 1
        if not 1 <= cutoff < height:
            raise ValueError(f"cutoff must be in [1, {height - 1}] for n_fft={n_fft}, got {cutoff}")
        self.length = length
        self.n_channels = n_channels
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.cutoff = cutoff
        self.bands = nn.ModuleDict({"lf": lf, "hf": hf})

    # -- shapes -------------------------------------------------------------------------------------------

    @property
    def latent_shapes(self) -> dict[str, tuple[int, int]]:
        """``{"lf": (H*d, W_lf), "hf": (H*d, W_hf)}``."""
        return {band: self.bands[band].latent_shape for band in BANDS}

    def networks(self) -> list[nn.Module]:
        """What a compiler takes whole (`timevqvdm.compiled`): each band's encoder and decoder; the
        quantizer, with its EMA codebook updates, stays eager."""
        return [part for band in BANDS for part in (self.bands[band].encoder, self.bands[band].decoder)]

    def n_parameters(self) -> dict[str, int]:
        """Trainable parameters per band (the EMA codebook, ``K * d`` values, is a buffer, not counted)."""
        return {
            band: sum(p.numel() for p in self.bands[band].parameters() if p.requires_grad) for band in BANDS
        }

    # -- time <-> time-frequency ----------------------------------------------------------------------------

    def split(self, x: Tensor, mask: Tensor | None = None) -> dict[str, Tensor]:
        """Band-split a batch, Eq. (39) and (36): the inputs and targets of `training_loss`.

        Parameters
        ----------
        x : Tensor, shape (B, C, L)
            Series.
        mask : Tensor, shape (B, L), bool, optional
            True on observed time steps; None when every series has full length. Padding is set to 0
            first, so what it held cannot reach the networks or the loss.

        Returns
        -------
        dict of str to Tensor
            ``"x_lf"``, ``"x_hf"`` (B, C, L) and ``"u_lf"``, ``"u_hf"`` (B, 2C, H, W); with a mask also the
            loss weights ``"mask_x"`` (B, 1, L) and ``"mask_u"`` (B, 1, 1, W) (`column_mask`).
        """
        self._check_series(x)
        if mask is not None:
            x = x * mask[:, None, :].to(x.dtype)
        u = stft(x, self.n_fft, self.hop_length)
        spectrograms = {band: self._band_mask(u, band) for band in BANDS}
        series = {band: istft(spectrograms[band], self.length, self.n_fft, self.hop_length) for band in BANDS}
        parts = {
            "x_lf": series["lf"],
            "x_hf": series["hf"],
            "u_lf": spectrograms["lf"],
            "u_hf": spectrograms["hf"],
        }
        if mask is not None:
            parts["mask_x"] = mask[:, None, :].to(x.dtype)
            parts["mask_u"] = self.column_mask(mask)[:, None, None, :].to(x.dtype)
        return parts

    def column_mask(self, mask: Tensor) -> Tensor:
        """Time mask ``(B, L)`` -> spectrogram column mask ``(B, W)``: column ``w`` counts when its centre
        ``w * hop`` is observed (the centre ``L`` of the last column stands for the last step ``L - 1``)."""
        width = self.length // self.hop_length + 1
        centres = (torch.arange(width, device=mask.device) * self.hop_length).clamp(max=self.length - 1)
        return mask[:, centres]

    def latent_mask(self, mask: Tensor, band: str) -> Tensor:
        """Time mask ``(B, L)`` -> the band's latent mask ``(B, W_band)``: latent position ``j`` counts when
        any spectrogram column of its span ``[j * 2**n_down, (j + 1) * 2**n_down)`` does."""
        self._check_band(band)
        columns = self.column_mask(mask)  # (B, W)
        factor = 2 ** self.bands[band].n_down
        width = self.bands[band].latent_shape[1]
        return columns[:, : width * factor].reshape(len(mask), width, factor).any(dim=-1)

    def _band_mask(self, u: Tensor, band: str) -> Tensor:
        return zero_pad_lf(u, self.cutoff) if band == "lf" else zero_pad_hf(u, self.cutoff)

    def _to_series(self, u_decoded: Tensor, band: str) -> tuple[Tensor, Tensor]:
        """Mask a decoded spectrogram to its band (Eq. 42) and invert it (Eq. 43) -> ``(x_hat, u_hat)``."""
        u_hat = self._band_mask(u_decoded, band)
        return istft(u_hat, self.length, self.n_fft, self.hop_length), u_hat

    # -- encode / quantize / decode -----------------------------------------------------------------------

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Continuous latents, Eq. (40): ``x (B, C, L) -> (z_lf (B, H*d, W_lf), z_hf (B, H*d, W_hf))``."""
        parts = self.split(x)
        z_lf = self.bands["lf"].encoder(parts["u_lf"])
        z_hf = self.bands["hf"].encoder(parts["u_hf"])
        return z_lf, z_hf

    def quantize(self, z: Tensor, band: str) -> Tensor:
        """Snap a latent ``(B, H*d, W_band)`` to its nearest codebook vectors, Eq. (41); no EMA update."""
        self._check_latent(z, band)
        return self.bands[band].quantizer.quantize(z)[0]

    def quantize_indices(self, z: Tensor, band: str) -> Tensor:
        """Token indices ``(B, H, W_band)`` of a latent ``(B, H*d, W_band)``; no EMA update."""
        self._check_latent(z, band)
        return self.bands[band].quantizer.quantize(z)[1]

    def indices_to_latent(self, indices: Tensor, band: str) -> Tensor:
        """Codebook vectors for token indices: ``(B, H, W_band) -> (B, H*d, W_band)``."""
        self._check_band(band)
        return self.bands[band].quantizer.indices_to_latent(indices)

    def decode(self, z_lf_q: Tensor, z_hf_q: Tensor) -> tuple[Tensor, Tensor]:
        """Quantized latents -> band series ``(x_lf_hat, x_hf_hat)``, each ``(B, C, L)``, Eq. (42)-(43)."""
        return self.decode_band(z_lf_q, "lf"), self.decode_band(z_hf_q, "hf")

    def decode_band(self, z_q: Tensor, band: str) -> Tensor:
        """One band's quantized latent ``(B, H*d, W_band)`` -> its series ``(B, C, L)``, Eq. (42)-(43)."""
        self._check_latent(z_q, band)
        return self._to_series(self.bands[band].decoder(z_q), band)[0]

    def reconstruct(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Encode, quantize and decode: ``x (B, C, L) -> (x_lf_hat, x_hf_hat)``; ``x_hat`` is their sum."""
        z_lf, z_hf = self.encode(x)
        return self.decode(self.quantize(z_lf, "lf"), self.quantize(z_hf, "hf"))

    # -- training and diagnostics ---------------------------------------------------------------------------

    def training_loss(
        self, batch: dict[str, Tensor], generator: torch.Generator | None = None
    ) -> tuple[Tensor, dict[str, float]]:
        """Algorithm 1 on a batch of precomputed `split` outputs.

        ``loss = sum over bands of MSE(x, x_hat) + MSE(u, u_hat) + beta * commitment``; the codebook moves
        by EMA inside the forward pass (train mode). Deterministic, so ``generator`` is unused. With the
        ``mask_x``/``mask_u`` entries of a masked `split`, both MSEs run over observed entries only.

        Returns
        -------
        loss : Tensor, shape ()
        logs : dict of str to float
            ``loss``, ``recon_lf``, ``recon_hf``, ``vq``, ``vq_lf``, ``vq_hf``, ``perplexity_lf`` and
            ``perplexity_hf`` (of this batch's tokens).
        """
        del generator
        loss = torch.zeros((), device=batch["u_lf"].device)
        logs: dict[str, float] = {}
        for band in BANDS:
            u, x = batch[f"u_{band}"], batch[f"x_{band}"]
            u_decoded, indices, vq_loss = self.bands[band](u)
            x_hat, u_hat = self._to_series(u_decoded, band)
            recon = reconstruction_loss(x, x_hat, u, u_hat, batch.get("mask_x"), batch.get("mask_u"))
            loss = loss + recon + vq_loss
            logs[f"recon_{band}"] = recon.item()
            logs[f"vq_{band}"] = vq_loss.item()
            counts = code_counts(indices, self.bands[band].quantizer.codebook_size)
            logs[f"perplexity_{band}"] = perplexity(counts)
        logs["vq"] = logs["vq_lf"] + logs["vq_hf"]
        logs["loss"] = loss.item()
        return loss, logs

    @torch.no_grad()
    def validation_loss(self, batch: dict[str, Tensor], batch_size: int = 256) -> dict[str, float]:
        """Algorithm 1's reconstruction terms (time and time-frequency MSE, both bands) on held-out `split`
        outputs, as trained but without moving the codebook; call ``.eval()`` first. The batch may live on
        another device than the tokenizer (the CPU, while it trains on a GPU): it is moved a slice at a time.

        Returns
        -------
        dict of str to float
            ``"val_loss"``, ``"val_recon_lf"``, ``"val_recon_hf"``: means over the series.
        """
        n = len(batch["u_lf"])
        device = next(self.parameters()).device
        totals = dict.fromkeys(BANDS, 0.0)
        for start in range(0, n, batch_size):
            part = {k: v[start : start + batch_size].to(device) for k, v in batch.items()}
            for band in BANDS:
                z_q = self.quantize(self.bands[band].encoder(part[f"u_{band}"]), band)
                x_hat, u_hat = self._to_series(self.bands[band].decoder(z_q), band)
                recon = reconstruction_loss(
                    part[f"x_{band}"], x_hat, part[f"u_{band}"], u_hat, part.get("mask_x"), part.get("mask_u")
                )
                totals[band] += recon.item() * len(part["u_lf"])
        logs = {f"val_recon_{band}": total / n for band, total in totals.items()}
        return {"val_loss": sum(logs.values()), **logs}

    @torch.no_grad()
    def codebook_usage(self, x: Tensor, batch_size: int = 256) -> dict[str, dict[str, float]]:
        """Token statistics of a data set ``x (n, C, L)``, per band.

        Returns
        -------
        dict
            ``{band: {"perplexity", "share_used", "n_used"}}``; ``share_used`` is the fraction of codebook
            entries chosen at least once.
        """
        self._check_series(x)
        counts = {
            band: torch.zeros(self._codebook_size(band), dtype=torch.int64, device=x.device) for band in BANDS
        }
        for chunk in x.split(batch_size):
            for band, z in zip(BANDS, self.encode(chunk), strict=True):
                counts[band] += code_counts(self.quantize_indices(z, band), self._codebook_size(band))
        return {
            band: {
                "perplexity": perplexity(c),
                "share_used": (c > 0).double().mean().item(),
                "n_used": int((c > 0).sum().item()),
            }
            for band, c in counts.items()
        }

    # -- validation -------------------------------------------------------------------------------------

    def _codebook_size(self, band: str) -> int:
        return self.bands[band].quantizer.codebook_size

    def _check_band(self, band: str) -> None:
        if band not in BANDS:
            raise ValueError(f"band must be one of {BANDS}, got {band!r}")

    def _check_series(self, x: Tensor) -> None:
        expected = (self.n_channels, self.length)
        if x.ndim != 3 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"expected series of shape (B, {expected[0]}, {expected[1]}), got {tuple(x.shape)}"
            )

    def _check_latent(self, z: Tensor, band: str) -> None:
        self._check_band(band)
        expected = self.bands[band].latent_shape
        if z.ndim != 3 or tuple(z.shape[1:]) != expected:
            raise ValueError(
                f"expected {band} latent of shape (B, {expected[0]}, {expected[1]}), got {tuple(z.shape)}"
            )


def build_tokenizer(
    length: int, n_channels: int, freq: FrequencyConfig, cfg: TokenizerConfig
) -> FrequencyTokenizer:
    """The factory where config dataclasses stop: size both bands for series of ``length`` samples.

    The LF band is down-sampled until its latent width lies in ``cfg.lf_width_range`` and the HF band
    until it lies in ``cfg.hf_width_range`` (thesis 3.3); widths already below a range are kept.
    """
    if length <= freq.n_fft // 2:
        raise ValueError(f"series length {length} must exceed n_fft // 2 = {freq.n_fft // 2}")
    height = freq.n_fft // 2 + 1
    width = length // freq.hop_length + 1

    def band(width_range: tuple[int, int]) -> BandVQVAE:
        return BandVQVAE(
            in_channels=2 * n_channels,
            height=height,
            width=width,
            n_down=n_downsample(width, *width_range),
            hidden_channels=cfg.hidden_channels,
            n_res_blocks=cfg.n_res_blocks,
            codebook_size=cfg.codebook_size,
            codebook_dim=cfg.codebook_dim,
            ema_decay=cfg.ema_decay,
            commitment_weight=cfg.commitment_weight,
            full_width_stem=cfg.full_width_stem,
        )

    return FrequencyTokenizer(
        length=length,
        n_channels=n_channels,
        n_fft=freq.n_fft,
        hop_length=freq.hop_length,
        cutoff=freq.cutoff,
        lf=band(cfg.lf_width_range),
        hf=band(cfg.hf_width_range),
    )
