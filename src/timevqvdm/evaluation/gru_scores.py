"""TimeGAN's post-hoc scores (Yoon et al. 2019, section 5): a GRU discriminator and a GRU next-step predictor.

Both follow TimeGAN's released ``metrics/discriminative_metrics.py`` and ``metrics/predictive_metrics.py``,
which Diffusion-TS (Yuan & Qiao 2024) and FM-TS reuse for their tables, rather than the paper's text. The
text says "a 2-layer LSTM"; the code, which produced every published figure, is one GRU layer (tanh, hidden
size ``int(C / 2)``) followed by one dense output layer. We build that: ``torch.nn.GRU`` with hidden size
``max(C // 2, 1)`` (TimeGAN's ``int(C / 2)`` is 0 for one channel) and a ``torch.nn.Linear`` head, trained
with Adam at TensorFlow's default learning rate 1e-3 on batches of 128 series drawn at random each iteration.
The weights start from PyTorch's default initialisation, not TensorFlow's Glorot uniform.

Series of unequal length are read up to their last observed step (TimeGAN passes ``sequence_length`` to its
RNN): the observed steps are packed with :func:`torch.nn.utils.rnn.pack_padded_sequence`, so padding never
enters a network. This is a different probe from :func:`timevqvdm.evaluation.discriminative_score`, the
logistic regression on hand-made features; see docs/evaluation.md.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from timevqvdm.evaluation.series import check_pair, compact, seeded

__all__ = ["gru_discriminative_score", "predictive_score"]

logger = logging.getLogger(__name__)

DISCRIMINATIVE_ITERATIONS = 2000  # TimeGAN discriminative_metrics.py
PREDICTIVE_ITERATIONS = 5000  # TimeGAN predictive_metrics.py
BATCH_SIZE = 128
TRAIN_FRACTION = 0.8  # TimeGAN's train_test_divide(train_rate=0.8)
LEARNING_RATE = 1e-3  # tf.train.AdamOptimizer's default


class _GRUHead(nn.Module):
    """One GRU layer and a linear layer: TimeGAN's post-hoc network."""

    def __init__(self, n_inputs: int, hidden_size: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_inputs, hidden_size, batch_first=True)
        self.linear = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, C), (B,) -> linear head on every step (B, T) and on the last observed step (B,)."""
        if bool((lengths == x.shape[1]).all()):
            outputs, last = self.gru(x)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            outputs, last = self.gru(packed)
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
        return self.linear(outputs).squeeze(-1), self.linear(last[-1]).squeeze(-1)


def _hidden_size(n_channels: int, hidden_size: int | None) -> int:
    return max(n_channels // 2, 1) if hidden_size is None else hidden_size


def _batch(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """Random indices without replacement (TimeGAN's ``batch_generator``)."""
    return torch.randperm(n, generator=generator)[:batch_size]


# ---------------------------------------------------------------------------------------- discriminative
def gru_discriminative_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    mask_real: np.ndarray | None = None,
    mask_synthetic: np.ndarray | None = None,
    seed: int = 0,
    iterations: int = DISCRIMINATIVE_ITERATIONS,
    batch_size: int = BATCH_SIZE,
    train_fraction: float = TRAIN_FRACTION,
    hidden_size: int | None = None,
    device: str | torch.device = "cpu",
) -> float:
    """TimeGAN's discriminative score: ``|accuracy - 0.5|`` of a post-hoc GRU classifier on held-out series.

    Both sets are subsampled to the same size ``n`` (so that 0.5 is chance) and split into a training
    part (``train_fraction``) and a held-out part. Each of ``iterations`` steps draws ``batch_size`` real
    and ``batch_size`` synthetic training series and minimises the sum of the two sigmoid cross-entropies
    (real = 1). The classifier reads the GRU state after the last observed step. The score is the held-out
    accuracy at threshold 0.5, minus 0.5, in absolute value: 0 when the sets cannot be told apart, 0.5 when
    they always can.

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_cases, n_channels, n_timepoints)
        Same n_channels; the field computes it on data scaled to [0, 1].
    mask_real, mask_synthetic : np.ndarray of bool, shape (n_cases, n_timepoints), or None
        True = observed. Padded values are never read.
    seed : int
        Subsampling, split, batches and initial weights.
    iterations, batch_size, train_fraction
        TimeGAN's 2000, 128 and 0.8 by default.
    hidden_size : int or None
        GRU width; None = ``max(n_channels // 2, 1)`` (TimeGAN's ``int(dim / 2)``).
    device : str or torch.device

    Returns
    -------
    float
        In [0, 0.5].
    """
    r, mr, s, ms = check_pair(real, synthetic, mask_real, mask_synthetic)
    generator = torch.Generator().manual_seed(seed)
    n = min(len(r), len(s))
    n_train = round(n * train_fraction)
    if n_train < 1 or n_train >= n:
        raise ValueError(f"need a training and a held-out part; n={n} with train_fraction={train_fraction}")
    real_parts = _split(r, mr, n, n_train, generator, device)
    synthetic_parts = _split(s, ms, n, n_train, generator, device)
    with seeded(seed):
        net = _GRUHead(r.shape[1], _hidden_size(r.shape[1], hidden_size)).to(device)
    _train_discriminator(net, real_parts[0], synthetic_parts[0], iterations, batch_size, generator)
    return abs(_held_out_accuracy(net, real_parts[1], synthetic_parts[1]) - 0.5)


Part = tuple[torch.Tensor, torch.Tensor]  # series (n, T, C) with observed steps first, lengths (n,)


def _split(
    x: np.ndarray, mask: np.ndarray, n: int, n_train: int, generator: torch.Generator, device
) -> tuple[Part, Part]:
    values, lengths = compact(x, mask)
    order = torch.randperm(len(x), generator=generator)[:n]
    values, lengths = torch.from_numpy(values)[order].to(device), torch.from_numpy(lengths)[order].to(device)
    return (values[:n_train], lengths[:n_train]), (values[n_train:], lengths[n_train:])


def _train_discriminator(
    net: _GRUHead, real: Part, synthetic: Part, iterations: int, batch_size: int, generator: torch.Generator
) -> None:
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    labels = torch.cat(
        [torch.ones(min(batch_size, len(real[0]))), torch.zeros(min(batch_size, len(synthetic[0])))]
    )
    # TimeGAN sums the mean cross-entropy of each set; equal batches make that twice the mean over both.
    labels = labels.to(real[0].device)
    for _ in range(iterations):
        idx_real = _batch(len(real[0]), batch_size, generator).to(labels.device)
        idx_synthetic = _batch(len(synthetic[0]), batch_size, generator).to(labels.device)
        values = torch.cat([real[0][idx_real], synthetic[0][idx_synthetic]])  # one pass over both sets
        lengths = torch.cat([real[1][idx_real], synthetic[1][idx_synthetic]])
        loss = 2.0 * binary_cross_entropy_with_logits(net(values, lengths)[1], labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()


@torch.no_grad()
def _held_out_accuracy(net: _GRUHead, real: Part, synthetic: Part) -> float:
    correct_real = (net(*real)[1] > 0).sum()
    correct_synthetic = (net(*synthetic)[1] <= 0).sum()
    return float(correct_real + correct_synthetic) / (len(real[0]) + len(synthetic[0]))


# ---------------------------------------------------------------------------------------- predictive
def predictive_score(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    mask_real: np.ndarray | None = None,
    mask_synthetic: np.ndarray | None = None,
    seed: int = 0,
    iterations: int = PREDICTIVE_ITERATIONS,
    batch_size: int = BATCH_SIZE,
    hidden_size: int | None = None,
    device: str | torch.device = "cpu",
) -> float:
    """TimeGAN's predictive score (train on synthetic, test on real): MAE of a GRU next-step predictor.

    TimeGAN's variant: the network reads channels ``0 .. C-2`` at steps ``0 .. T-2`` and predicts the
    last channel ``C-1`` at steps ``1 .. T-1``, one step ahead, through a sigmoid (the field's data lie in
    [0, 1]). With one channel there is nothing else to read, so the channel predicts its own next value
    (TimeGAN's code is undefined there). It is trained on all synthetic series with the mean absolute error
    for ``iterations`` batches, then the score is the MAE on every real series: the mean over real series
    of each series' mean absolute error over its predicted steps. Lower is better; the reference point is
    the same score with the real set as ``synthetic`` (train on real, test on real).

    Parameters
    ----------
    real, synthetic : np.ndarray, shape (n_cases, n_channels, n_timepoints)
        Same n_channels; values in [0, 1] (the sigmoid output cannot leave it).
    mask_real, mask_synthetic : np.ndarray of bool, shape (n_cases, n_timepoints), or None
        True = observed; each series needs two observed steps. With gaps, "next step" means the next
        observed step.
    seed : int
        Batches and initial weights.
    iterations, batch_size
        TimeGAN's 5000 and 128 by default.
    hidden_size : int or None
        GRU width; None = ``max(n_channels // 2, 1)`` (TimeGAN's ``int(dim / 2)`` of all channels).
    device : str or torch.device

    Returns
    -------
    float
        Mean absolute error, >= 0.
    """
    r, mr, s, ms = check_pair(real, synthetic, mask_real, mask_synthetic, min_observed=2)
    if r.min() < 0.0 or r.max() > 1.0:  # padding is 0, so this reads observed values only
        logger.warning("predictive_score: real values outside [0, 1]; the sigmoid output cannot reach them")
    train_inputs, train_targets, train_lengths = _next_step_pairs(s, ms, device)
    test_inputs, test_targets, test_lengths = _next_step_pairs(r, mr, device)
    with seeded(seed):
        net = _GRUHead(train_inputs.shape[2], _hidden_size(r.shape[1], hidden_size)).to(device)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    for _ in range(iterations):
        idx = _batch(len(train_inputs), batch_size, generator).to(device)
        error = _absolute_errors(net, train_inputs[idx], train_targets[idx], train_lengths[idx])
        loss = error.sum() / train_lengths[idx].sum()  # mean over predicted steps, padding excluded
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        error = _absolute_errors(net, test_inputs, test_targets, test_lengths)
    return float((error.sum(dim=1) / test_lengths).mean())


def _next_step_pairs(
    x: np.ndarray, mask: np.ndarray, device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs (n, T-1, C-1 or 1), targets (n, T-1) one step later, and the number of pairs per series."""
    values, lengths = compact(x, mask)  # (n, T, C)
    values = torch.from_numpy(values).to(device)
    inputs = values[:, :-1, :-1] if values.shape[2] > 1 else values[:, :-1, :]
    return inputs, values[:, 1:, -1], torch.from_numpy(lengths - 1).to(device)


def _absolute_errors(
    net: _GRUHead, inputs: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    """(n, T-1) absolute errors of the sigmoid predictions, 0 after each series' last pair."""
    predictions = torch.sigmoid(net(inputs, lengths)[0])
    valid = torch.arange(targets.shape[1], device=targets.device)[None, :] < lengths[:, None]
    return torch.where(valid, (predictions - targets).abs(), 0.0)
