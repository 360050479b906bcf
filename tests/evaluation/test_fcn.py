"""The FCN: shapes, the recipe, training through the shared loop, and the content-keyed cache."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from timevqvdm.evaluation import FCN, FCNConfig, fcn_outputs, get_fcn
from timevqvdm.evaluation import fcn as fcn_module


@dataclass
class _Split:  # the fields get_fcn reads from a TimeSeriesDataset
    X: np.ndarray
    y: np.ndarray
    classes: list[str] = field(default_factory=lambda: ["a", "b"])
    name: str = "toy"


def _toy_split(n=24, length=32, seed=0) -> _Split:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.arange(length)
    x = np.sin(2 * np.pi * (1 + 3 * y[:, None]) * t / length) + 0.1 * rng.normal(size=(n, length))
    return _Split(X=x[:, None, :].astype(np.float32), y=y.astype(np.int64))


def test_fcn_shapes_and_parameter_count():
    model = FCN(FCNConfig(in_channels=1, n_classes=2)).eval()
    x = torch.randn(3, 1, 37)  # odd length: 'same' padding keeps it
    assert model.features(x).shape == (3, 128)
    assert model(x).shape == (3, 2)
    assert 264_000 < sum(p.numel() for p in model.parameters()) < 266_000  # thesis Appendix D: 265000


def test_get_fcn_trains_once_then_loads_from_the_cache(tmp_path, monkeypatch):
    split = _toy_split()
    first = get_fcn(split, epochs=2, cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert [f.rsplit(".", 1)[1] for f in files] == ["json", "safetensors"]

    def _no_training(*args, **kwargs):
        raise AssertionError("the cache should have been hit")

    monkeypatch.setattr(fcn_module, "train_fcn", _no_training)
    second = get_fcn(split, epochs=2, cache_dir=tmp_path)
    assert second.info["data_hash"] == first.info["data_hash"]
    assert second.info["classes"] == ["a", "b"] and second.info["epochs"] == 2
    feats_a, probs_a = fcn_outputs(first, split.X)
    feats_b, _ = fcn_outputs(second, split.X)
    np.testing.assert_allclose(feats_a, feats_b, atol=1e-6)
    assert feats_a.shape == (24, 128) and np.allclose(probs_a.sum(axis=1), 1.0)

    changed = _toy_split(seed=1)  # other content, other key: would train again
    with pytest.raises(AssertionError, match="cache should have been hit"):
        get_fcn(changed, epochs=2, cache_dir=tmp_path)


def test_get_fcn_default_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TIMEVQVDM_CACHE", str(tmp_path))
    assert fcn_module.default_cache_dir() == tmp_path / "fcn"


def test_fcn_learns_a_separable_toy_problem(tmp_path):
    split = _toy_split(n=32)
    model = get_fcn(split, epochs=5, cache_dir=tmp_path)
    _, probs = fcn_outputs(model, split.X)
    assert (probs.argmax(axis=1) == split.y).mean() == 1.0


def test_an_interrupted_fcn_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    """Killed after its first checkpoint (step 2 of 4), a training in a run folder continues from there and
    ends where an uninterrupted one does."""
    from timevqvdm.training import trainer as trainer_module

    split = _toy_split()
    monkeypatch.setattr(fcn_module, "CHECKPOINT_EVERY", 2)
    whole = fcn_module.train_fcn(split.X, split.y, 2, epochs=4, run_dir=tmp_path / "whole")
    assert whole.info["steps"] == 4 and whole.info["resumed_from"] == 0

    real_save = trainer_module.Trainer.save_checkpoint

    def save_then_die(self):
        real_save(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module.Trainer, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        fcn_module.train_fcn(split.X, split.y, 2, epochs=4, run_dir=tmp_path / "cut")
    monkeypatch.setattr(trainer_module.Trainer, "save_checkpoint", real_save)
    resumed = fcn_module.train_fcn(split.X, split.y, 2, epochs=4, run_dir=tmp_path / "cut")
    assert resumed.info["resumed_from"] == 2 and resumed.info["steps"] == 4
    for name, value in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, msg=name)
