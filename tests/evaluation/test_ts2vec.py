"""The TS2Vec-style encoder behind context-FID: loss, shapes, seeds, masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from timevqvdm.data.sines import make_sines
from timevqvdm.evaluation import TS2VecConfig, TS2VecEncoder, train_ts2vec, ts2vec_features
from timevqvdm.evaluation.ts2vec import hierarchical_contrastive_loss

TINY = TS2VecConfig(hidden_channels=8, output_channels=16, depth=2, iterations=10)


def test_loss_matches_a_hand_computed_case():
    # Two series, one step, orthonormal representations: each row sees its positive (similarity 1) and two
    # negatives (similarity 0), so the instance-wise loss is log(1 + 2 / e); one step has no temporal term.
    z = torch.eye(2)[:, None, :]  # (B=2, T=1, D=2)
    assert hierarchical_contrastive_loss(z, z, alpha=1.0) == pytest.approx(np.log(1 + 2 / np.e), rel=1e-6)
    assert hierarchical_contrastive_loss(z, z, alpha=0.5) == pytest.approx(
        0.5 * np.log(1 + 2 / np.e), rel=1e-6
    )


def test_loss_is_lower_when_the_views_agree_than_when_they_are_shuffled():
    torch.manual_seed(0)
    z = torch.randn(4, 8, 16)
    agree = hierarchical_contrastive_loss(z, z + 0.01 * torch.randn_like(z))
    shuffled = hierarchical_contrastive_loss(z, z[torch.tensor([1, 2, 3, 0])].flip(1))
    assert agree < shuffled


def test_loss_of_one_series_of_one_step_has_no_negatives():
    z = torch.randn(1, 1, 4)
    assert hierarchical_contrastive_loss(z, z) == 0.0


def test_encoder_keeps_length_and_gives_one_vector_per_series():
    x = make_sines(12, seed=0)
    encoder = TS2VecEncoder(5, TINY)
    out = encoder(torch.from_numpy(x).float(), torch.ones(12, 24, dtype=torch.bool))
    assert out.shape == (12, 24, 16)
    trained = train_ts2vec(x, config=TINY, seed=0)
    assert ts2vec_features(trained, x, batch_size=5).shape == (12, 16)


def test_training_is_seeded_and_leaves_the_global_generator_alone():
    x = make_sines(20, seed=0)
    state = torch.get_rng_state()
    a = ts2vec_features(train_ts2vec(x, config=TINY, seed=1), x)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(a, ts2vec_features(train_ts2vec(x, config=TINY, seed=1), x))
    assert not np.array_equal(a, ts2vec_features(train_ts2vec(x, config=TINY, seed=2), x))


def test_features_read_observed_steps_only():
    x = make_sines(10, seed=0)
    mask = np.ones((10, 24), dtype=bool)
    mask[:, 18:] = False
    encoder = train_ts2vec(x, mask, config=TINY, seed=0)
    changed = x.copy()
    changed[:, :, 18:] = np.nan
    np.testing.assert_array_equal(ts2vec_features(encoder, x, mask), ts2vec_features(encoder, changed, mask))


def test_default_iterations_follow_ts2vec():
    assert TS2VecConfig().n_iterations(100_000) == 200
    assert TS2VecConfig().n_iterations(10_000 * 5 * 24) == 600
    assert TS2VecConfig(iterations=7).n_iterations(10**9) == 7
    with pytest.raises(ValueError, match="odd"):
        TS2VecConfig(kernel_size=4)
