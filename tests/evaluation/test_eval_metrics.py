"""FID, IS and accuracy: contracts and small pinned cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from timevqvdm.evaluation import classification_accuracy, fid, inception_score


def test_fid_of_a_set_with_itself_is_zero(rng):
    feats = rng.normal(size=(300, 128))
    assert fid(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_fid_grows_monotonically_with_a_shift(rng):
    a = rng.normal(size=(400, 16))
    b = rng.normal(size=(400, 16))
    values = [fid(a, b + shift) for shift in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert all(lo < hi for lo, hi in itertools.pairwise(values))
    # A pure mean shift adds ||delta||^2 = 16 * shift^2 on top of the sampling term.
    assert values[-1] - values[0] == pytest.approx(16 * 4.0, rel=0.1)


def test_fid_matches_the_closed_form_for_diagonal_gaussians():
    # Exact moments by construction: +-1 pattern columns give identity covariance up to scale.
    base = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    a = base * np.array([1.0, 2.0])
    b = base * np.array([3.0, 2.0]) + np.array([1.0, 0.0])
    # var (n-1 normalised) = 4/3 * scale^2; tr term = sum (s_a - s_b)^2 * 4/3
    expected = 1.0 + (4.0 / 3.0) * ((1.0 - 3.0) ** 2 + 0.0)
    assert fid(a, b) == pytest.approx(expected, rel=1e-9)


def test_fid_handles_singular_covariances(rng):
    low_rank = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 128))  # rank 3 in 128-d
    value = fid(low_rank, low_rank + 1e-3)
    assert np.isfinite(value) and value >= 0.0


@pytest.mark.parametrize("k", [1, 2, 5])
def test_is_of_one_hot_predictions_over_k_equal_classes_is_k(k):
    probs = np.tile(np.eye(k), (20, 1))  # 20 * k rows, every chunk of k rows uses each class once
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(k, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_is_of_class_sorted_predictions_needs_the_shuffle():
    probs = np.repeat(np.eye(4), 250, axis=0)  # sorted by class, like conditional samples
    assert inception_score(probs, splits=10)[0] < 1.5  # most chunks hold a single class
    assert inception_score(probs, splits=10, seed=0)[0] == pytest.approx(4.0, rel=0.05)


def test_is_of_uniform_predictions_is_one():
    assert inception_score(np.full((100, 3), 1 / 3), splits=5)[0] == pytest.approx(1.0)


def test_classification_accuracy_takes_labels_or_scores():
    labels = np.array([0, 1, 2, 1])
    assert classification_accuracy(np.array([0, 1, 0, 1]), labels) == 0.75
    scores = np.eye(3)[[0, 1, 2, 2]]
    assert classification_accuracy(scores, labels) == 0.75
