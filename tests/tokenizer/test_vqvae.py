"""Contracts of stage 1: widths, shapes, quantizer snapping and round trips, band masking, training."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from timevqvdm.frequency import FrequencyConfig, istft, stft, zero_pad_lf
from timevqvdm.tokenizer import BANDS, TokenizerConfig, build_tokenizer, downsampled_widths, n_downsample
from timevqvdm.tokenizer.latent import grid_to_prior, prior_to_grid, prior_to_tokens, tokens_to_prior

LENGTHS = [8, 15, 24, 150, 151, 2844]


TINY = TokenizerConfig(hidden_channels=8, n_res_blocks=1, codebook_size=32)


def _tokenizer(length: int, n_channels: int = 1, seed: int = 0, full_width_stem: bool | None = None):
    torch.manual_seed(seed)
    cfg = TINY if full_width_stem is None else dataclasses.replace(TINY, full_width_stem=full_width_stem)
    return build_tokenizer(length, n_channels, FrequencyConfig(), cfg)


def _series(batch: int, channels: int, length: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, channels, length, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("length", "lf", "hf"),
    [(192, (3, 24), (1, 96)), (152, (3, 19), (1, 76)), (15, (0, 16), (0, 16)), (8, (0, 9), (0, 9))],
)
def test_n_downsample_matches_thesis_examples(length, lf, hf):
    width = length + 1
    for (lo, hi), (n, latent_width) in [((16, 31), lf), ((64, 127), hf)]:
        assert n_downsample(width, lo, hi) == n
        assert downsampled_widths(width, n)[-1] == latent_width


def test_n_downsample_rejects_bad_range():
    with pytest.raises(ValueError, match="lo <= hi"):
        n_downsample(100, 31, 16)


def test_latent_layouts_round_trip():
    grid = torch.randn(2, 5, 7, 4)  # (B, H, W', d)
    prior = grid_to_prior(grid)
    assert prior.shape == (2, 20, 7)
    assert torch.equal(prior[:, 1 * 4 + 2], grid[:, 1, :, 2])  # channel h*d + k is row h, component k
    assert torch.equal(prior_to_grid(prior, 5), grid)
    assert torch.equal(tokens_to_prior(prior_to_tokens(prior, 5), 5), prior)


@pytest.mark.parametrize("full_width_stem", [True, False])
@pytest.mark.parametrize("length", LENGTHS)
def test_shapes_and_exact_widths(length, full_width_stem):
    tokenizer = _tokenizer(length, n_channels=2, full_width_stem=full_width_stem).eval()
    x = _series(2, 2, length)
    width = length + 1
    z_lf, z_hf = tokenizer.encode(x)
    shapes = tokenizer.latent_shapes
    assert z_lf.shape == (2, *shapes["lf"]) and z_hf.shape == (2, *shapes["hf"])
    for band, (lo, hi) in [("lf", TINY.lf_width_range), ("hf", TINY.hf_width_range)]:
        latent_width = shapes[band][1]
        assert shapes[band][0] == 5 * TINY.codebook_dim
        assert lo <= latent_width <= hi or (latent_width == width and width < lo)
    split = tokenizer.split(x)
    for band, z in zip(BANDS, (z_lf, z_hf), strict=True):
        u_decoded, indices, _ = tokenizer.bands[band](split[f"u_{band}"])
        assert u_decoded.shape == (2, 4, 5, width)
        assert indices.shape == (2, 5, shapes[band][1])
        assert tokenizer.bands[band].decoder(z).shape == (2, 4, 5, width)
    x_lf_hat, x_hf_hat = tokenizer.reconstruct(x)
    assert x_lf_hat.shape == x.shape == x_hf_hat.shape


def test_split_returns_band_parts_that_sum_to_x():
    tokenizer = _tokenizer(24)
    x = _series(3, 1, 24)
    parts = tokenizer.split(x)
    assert set(parts) == {"x_lf", "x_hf", "u_lf", "u_hf"}
    torch.testing.assert_close(parts["x_lf"] + parts["x_hf"], x, atol=1e-5, rtol=0)
    torch.testing.assert_close(parts["u_lf"] + parts["u_hf"], stft(x))


def test_quantize_returns_nearest_codebook_vectors():
    tokenizer = _tokenizer(150)
    quantizer = tokenizer.bands["lf"].quantizer
    z = 0.1 * torch.randn(3, *tokenizer.latent_shapes["lf"])
    z_q = tokenizer.quantize(z, "lf")
    tokens, tokens_q = prior_to_tokens(z, 5), prior_to_tokens(z_q, 5)  # (B, N, d)
    codebook = quantizer.codebook
    # Every output vector is a row of the codebook ...
    assert (tokens_q[:, :, None, :] == codebook).all(dim=-1).any(dim=-1).all()
    # ... and the nearest one to its input.
    nearest = codebook[(tokens[:, :, None, :] - codebook).pow(2).sum(-1).argmin(dim=-1)]
    torch.testing.assert_close(tokens_q, nearest)


@pytest.mark.parametrize("band", BANDS)
def test_indices_round_trip(band):
    tokenizer = _tokenizer(151)
    z = 0.1 * torch.randn(2, *tokenizer.latent_shapes[band])
    indices = tokenizer.quantize_indices(z, band)
    assert indices.shape == (2, 5, tokenizer.latent_shapes[band][1])
    assert indices.dtype == torch.int64
    assert torch.equal(tokenizer.indices_to_latent(indices, band), tokenizer.quantize(z, band))


def test_codebook_moves_only_in_training_forward():
    tokenizer = _tokenizer(24)
    band = tokenizer.bands["lf"]
    u = tokenizer.split(_series(4, 1, 24))["u_lf"]
    before = band.quantizer.codebook.clone()
    tokenizer.train()
    tokenizer.quantize(band.encoder(u), "lf")  # snapping a sample never touches the codebook
    assert torch.equal(band.quantizer.codebook, before)
    tokenizer.eval()
    band(u)
    assert torch.equal(band.quantizer.codebook, before)
    tokenizer.train()
    band(u)
    assert not torch.equal(band.quantizer.codebook, before)


def test_lf_decode_stays_in_lf_band():
    tokenizer = _tokenizer(150).eval()
    z_lf = tokenizer.quantize(torch.randn(3, *tokenizer.latent_shapes["lf"]), "lf")
    z_hf = tokenizer.quantize(torch.randn(3, *tokenizer.latent_shapes["hf"]), "hf")
    x_lf_hat, _ = tokenizer.decode(z_lf, z_hf)
    # The decoded spectrogram is masked to the LF rows before the inverse STFT (Eq. 42-43) ...
    u_masked = zero_pad_lf(tokenizer.bands["lf"].decoder(z_lf), cutoff=1)
    torch.testing.assert_close(x_lf_hat, istft(u_masked, 150))
    # ... so re-analysing the output finds (almost) all its energy below the cutoff.
    energy = stft(x_lf_hat).pow(2).sum(dim=(0, 1, 3))  # per frequency row
    assert energy[1:].sum() < 1e-3 * energy.sum()


def test_training_steps_reduce_loss():
    tokenizer = _tokenizer(24).train()
    batch = tokenizer.split(_series(16, 1, 24, seed=1))
    optimizer = torch.optim.Adam(tokenizer.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, logs = tokenizer.training_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    expected = {"loss", "recon_lf", "recon_hf", "vq", "vq_lf", "vq_hf", "perplexity_lf", "perplexity_hf"}
    assert expected <= set(logs)
    assert 1 <= logs["perplexity_lf"] <= TINY.codebook_size
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5


def test_codebook_usage_and_parameter_counts():
    tokenizer = _tokenizer(24).eval()
    usage = tokenizer.codebook_usage(_series(10, 1, 24), batch_size=4)
    for band in BANDS:
        assert 1 <= usage[band]["perplexity"] <= TINY.codebook_size
        assert usage[band]["share_used"] == usage[band]["n_used"] / TINY.codebook_size
    counts = tokenizer.n_parameters()
    assert set(counts) == set(BANDS) and all(n > 0 for n in counts.values())


@pytest.mark.parametrize(
    ("full_width_stem", "counts"),
    [(True, {"lf": 595_718, "hf": 398_342}), (False, {"lf": 497_926, "hf": 300_550})],
)
def test_paper_config_parameter_counts_are_pinned(full_width_stem, counts):
    # Wafer (length 152): LF down-samples 3 times, HF once; the thesis reports ~534k and ~336k. Without the
    # stem, each band loses a 64 -> 64 resampling convolution on each side and the two 3x3 stem convolutions.
    cfg = dataclasses.replace(TokenizerConfig(), full_width_stem=full_width_stem)
    tokenizer = build_tokenizer(152, 1, FrequencyConfig(), cfg)
    assert tokenizer.n_parameters() == counts
    assert tokenizer.latent_shapes == {"lf": (20, 19), "hf": (20, 76)}


def test_without_the_stem_the_resampling_blocks_read_and_write_the_spectrogram():
    tokenizer = _tokenizer(150, n_channels=3, full_width_stem=False)
    for band in BANDS:
        encoder, decoder = tokenizer.bands[band].encoder, tokenizer.bands[band].decoder
        assert isinstance(encoder.stem, torch.nn.Identity) and isinstance(decoder.head, torch.nn.Identity)
        assert encoder.down[0][0].in_channels == 6  # 2C spectrogram channels
        assert decoder.up[-1].out_channels == 6  # a bare transposed convolution: no norm or activation
    # A band without resampling blocks keeps the 3x3 convolutions: nothing else could read the spectrogram.
    short = _tokenizer(24, full_width_stem=False)
    assert short.bands["hf"].n_down == 0
    assert isinstance(short.bands["hf"].encoder.stem, torch.nn.Conv2d)
    assert isinstance(short.bands["hf"].decoder.head, torch.nn.Conv2d)


def test_wrong_shapes_are_rejected():
    tokenizer = _tokenizer(24)
    with pytest.raises(ValueError, match="series"):
        tokenizer.encode(torch.randn(2, 1, 25))
    with pytest.raises(ValueError, match="latent"):
        tokenizer.quantize(torch.randn(2, 20, 3), "lf")
    with pytest.raises(ValueError, match="band"):
        tokenizer.quantize(torch.randn(2, 20, 25), "mid")
