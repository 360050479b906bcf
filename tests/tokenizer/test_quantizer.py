"""The EMA quantizer: the same codes, codebook updates, loss and gradients as vector-quantize-pytorch's
`VectorQuantize` (which it replaces), checkpoints written with that library, the blocked nearest-code search."""

from __future__ import annotations

import math

import pytest
import torch
from vector_quantize_pytorch import VectorQuantize

from timevqvdm.tokenizer.latent import prior_to_tokens, tokens_to_prior
from timevqvdm.tokenizer.quantizer import Quantizer

HEIGHT, DIM, SIZE, DECAY, BETA = 5, 4, 64, 0.8, 1.0


def _pair(seed: int = 0) -> tuple[Quantizer, VectorQuantize]:
    """Ours and the library's, configured as stage 1 configures them, with the same starting buffers."""
    torch.manual_seed(seed)
    ours = Quantizer(
        height=HEIGHT, codebook_dim=DIM, codebook_size=SIZE, ema_decay=DECAY, commitment_weight=BETA
    )
    theirs = VectorQuantize(
        dim=DIM,
        codebook_size=SIZE,
        decay=DECAY,
        commitment_weight=BETA,
        rotation_trick=False,
        channel_last=True,
    )
    codebook = theirs._codebook
    ours.codebook.copy_(codebook.embed[0])
    ours.ema_count.copy_(codebook.cluster_size[0])
    ours.ema_sum.copy_(codebook.embed_avg[0])
    return ours, theirs


def _latent(seed: int, batch: int = 6, width: int = 9) -> torch.Tensor:
    """A latent ``(B, H*d, W')`` on the codebook's scale, so that many codes are chosen."""
    generator = torch.Generator().manual_seed(seed)
    return 0.05 * torch.randn(batch, HEIGHT * DIM, width, generator=generator)


def test_training_steps_match_vector_quantize_pytorch():
    ours, theirs = _pair()
    ours.train()
    theirs.train()
    for step in range(6):
        z = _latent(step).requires_grad_(True)
        z_q, indices, loss = ours(z)
        (z_q.square().sum() + loss).backward()

        tokens = prior_to_tokens(z.detach(), HEIGHT).requires_grad_(True)
        tokens_q, their_indices, their_loss = theirs(tokens)
        (tokens_q.square().sum() + their_loss).backward()

        assert torch.equal(indices.reshape(indices.shape[0], -1), their_indices)
        torch.testing.assert_close(z_q, tokens_to_prior(tokens_q, HEIGHT))
        assert loss.shape == ()  # the library's release 1.18 returns shape (1,): compare values only
        torch.testing.assert_close(loss, their_loss.reshape(()))
        torch.testing.assert_close(z.grad, tokens_to_prior(tokens.grad, HEIGHT))
        # The EMA state after the update, which the next step's codes come from.
        torch.testing.assert_close(ours.codebook, theirs._codebook.embed[0])
        torch.testing.assert_close(ours.ema_count, theirs._codebook.cluster_size[0])
        torch.testing.assert_close(ours.ema_sum, theirs._codebook.embed_avg[0])
    assert len(torch.unique(indices)) > 5  # the comparison exercised many codes, not one


def test_eval_mode_neither_updates_nor_reports_a_loss():
    ours, _ = _pair()
    ours.eval()
    before = {name: buffer.clone() for name, buffer in ours.named_buffers()}
    z_q, _, loss = ours(_latent(0))
    assert loss.item() == 0.0
    for name, buffer in ours.named_buffers():
        assert torch.equal(buffer, before[name]), name
    torch.testing.assert_close(z_q, ours.quantize(_latent(0))[0])


def test_loads_a_state_dict_written_with_vector_quantize_pytorch():
    _, theirs = _pair(seed=3)
    legacy = {f"vq.{key}": value for key, value in theirs.state_dict().items()}
    assert "vq._codebook.initted" in legacy
    fresh = Quantizer(
        height=HEIGHT, codebook_dim=DIM, codebook_size=SIZE, ema_decay=DECAY, commitment_weight=BETA
    )
    fresh.load_state_dict(legacy)  # strict: every legacy key is consumed and every buffer filled
    assert torch.equal(fresh.codebook, theirs._codebook.embed[0])
    assert torch.equal(fresh.ema_count, theirs._codebook.cluster_size[0])
    assert torch.equal(fresh.ema_sum, theirs._codebook.embed_avg[0])


def test_blocked_search_finds_the_nearest_code_for_many_rows():
    ours, _ = _pair()
    rows = torch.randn(5000, DIM, generator=torch.Generator().manual_seed(1)) * 0.05  # several CPU blocks
    brute = (rows[:, None, :] - ours.codebook).pow(2).sum(-1).argmin(dim=-1)
    assert torch.equal(ours.nearest(rows), brute)


def test_starting_codebook_has_the_libraries_scale():
    torch.manual_seed(0)
    ours = Quantizer(
        height=HEIGHT, codebook_dim=DIM, codebook_size=512, ema_decay=DECAY, commitment_weight=BETA
    )
    bound = math.sqrt(6.0 / (512 * DIM))
    assert ours.codebook.abs().max() <= bound
    # Uniform on [-bound, bound]: standard deviation bound / sqrt(3).
    assert ours.codebook.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert torch.equal(ours.ema_sum, ours.codebook)
    assert torch.equal(ours.ema_count, torch.ones(512))


def test_decay_outside_its_range_is_rejected():
    with pytest.raises(ValueError, match="ema_decay"):
        Quantizer(height=HEIGHT, codebook_dim=DIM, codebook_size=SIZE, ema_decay=1.0, commitment_weight=BETA)
