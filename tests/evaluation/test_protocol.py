"""The evaluation protocol end to end on GunPoint with 2-epoch FCNs and a stand-in generator."""

from __future__ import annotations

import json

import numpy as np
import pytest

from timevqvdm.data import TimeSeriesDataset, load_dataset
from timevqvdm.evaluation import evaluate, noise_floor, stft_round_trip
from timevqvdm.evaluation import protocol as protocol_module


@pytest.fixture(scope="module")
def gunpoint():
    """A small slice of GunPoint (20 train, 40 test series) keeps FCN passes cheap on a CPU."""
    train, test = load_dataset("GunPoint", split="train"), load_dataset("GunPoint", split="test")
    return train.subset(np.arange(20)), test.subset(np.arange(40))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("fcn-cache")  # one reference FCN for the whole module


class CopyingModel:
    """Returns noisy training series in original units; records how it was asked to sample."""

    def __init__(self, train: TimeSeriesDataset) -> None:
        self.train = train
        self.calls: list[dict] = []

    def sample(self, n, labels=None, *, seed=None, **settings) -> TimeSeriesDataset:
        self.calls.append({"n": n, "labels": labels, "seed": seed, **settings})
        rng = np.random.default_rng(seed)
        index = rng.integers(0, self.train.n_series, size=n)
        if labels == "proportional":
            index = np.sort(index)
        x = self.train.to_original_units(self.train.X[index])
        x = x + 0.01 * rng.normal(size=x.shape)
        y = None if labels is None else self.train.y[index]
        return TimeSeriesDataset(
            X=x, y=y, classes=self.train.classes, name="copies", mask=None, mean=0.0, std=1.0
        )


def test_stft_round_trip_is_near_identity(gunpoint):
    x = gunpoint[1].X
    np.testing.assert_allclose(stft_round_trip(x), x, atol=1e-4)


def test_noise_floor_reports_the_real_data_figures(gunpoint, cache):
    floor = noise_floor(gunpoint, epochs=2, cache_dir=cache)
    assert floor["n_train"] == 20 and floor["n_test"] == 40
    assert 0.0 <= floor["trtr_accuracy"] <= 1.0
    assert 1.0 <= floor["test_is"] <= 2.0
    assert floor["fid_train_test"] >= 0.0 and floor["fid_half_split"] >= 0.0
    assert floor["fcn_epochs"] == 2 and floor["fcn_train_seconds"] > 0


def test_evaluate_samples_a_model_and_runs_cas_end_to_end(gunpoint, cache, monkeypatch):
    monkeypatch.setattr(protocol_module, "MIN_TSTR_SAMPLES", 48)
    model = CopyingModel(gunpoint[0])
    result = evaluate(
        model, gunpoint[0], test=gunpoint[1], runs=2, n_samples=32, fcn_epochs=2, cache_dir=cache
    )
    json.dumps(result)  # plain JSON

    # thesis 3.6 settings; the first conditional draw is scaled up for TSTR
    assert model.calls[0] == {"n": 32, "labels": None, "seed": 0, "steps": 128, "rescale": 0.1}
    assert model.calls[1] == {"n": 48, "labels": "proportional", "seed": 0, "steps": 32, "guidance": 3.0, "rescale": 0.1}  # fmt: skip
    assert [c["seed"] for c in model.calls] == [0, 0, 1, 1]

    for mode in ("unconditional", "conditional"):
        assert len(result[mode]["fid_runs"]) == 2 and result[mode]["fid"] >= 0
        assert 1.0 <= result[mode]["is"] <= 2.0
    cond = result["conditional"]
    assert cond["n_tstr"] == 48 and 0.0 <= cond["tstr_accuracy"] <= 1.0
    assert cond["trtr_accuracy"] == result["reference"]["trtr_accuracy"]
    assert result["memorisation"]["suspected_copying"]
    assert set(result["distribution"]) == {"acf_distance", "power_spectrum_distance", "discriminative_score"}


def test_evaluate_given_arrays_scores_them_once_without_sampling(gunpoint, cache, tmp_path):
    train, test = gunpoint
    held_out = load_dataset("GunPoint", split="test").subset(np.arange(100, 130))  # unseen by `test`
    samples = held_out.to_original_units(held_out.X)  # arrays are in original units
    result = evaluate(samples, (train, test), fcn_epochs=2, cache_dir=cache, plot_dir=tmp_path)
    assert "conditional" not in result and result["runs"] == 1
    assert result["unconditional"]["n"] == 30
    assert not result["memorisation"]["suspected_copying"]
    assert all((tmp_path / name).stat().st_size > 0 for name in ("real_vs_synthetic.png", "feature_pca.png"))


def test_unlabelled_data_gets_random_fcn_features(rng):
    train = TimeSeriesDataset.from_arrays(rng.normal(size=(40, 32)), name="noise")
    test = TimeSeriesDataset.from_arrays(rng.normal(size=(30, 32)), stats=train.stats, name="noise")
    result = evaluate(rng.normal(size=(30, 32)), (train, test), seed=1)
    assert result["reference"]["features"] == "random-fcn"
    assert "is" not in result["unconditional"] and "trtr_accuracy" not in result["reference"]
    assert result["unconditional"]["fid"] >= 0.0


def test_fid_train_scores_against_the_training_split_not_the_test_split(gunpoint, cache):
    """The tuning score: the training split itself scores FID 0 against the training split, and its
    test-reference FID is the noise floor's train-test figure."""
    train, test = gunpoint
    result = evaluate(train.to_original_units(train.X), (train, test), fcn_epochs=2, cache_dir=cache)
    scores = result["unconditional"]
    assert scores["fid_train"] == pytest.approx(0.0, abs=1e-3)
    assert scores["fid"] == pytest.approx(result["reference"]["fid_train_test"], rel=1e-6)
    assert scores["fid_train_runs"] == [scores["fid_train"]]


def test_the_reference_round_trip_uses_the_models_stft_settings(gunpoint, cache, monkeypatch):
    from timevqvdm.frequency import FrequencyConfig

    seen = []

    def recording_round_trip(x, n_fft=8, hop_length=1, batch_size=1024):
        seen.append((n_fft, hop_length))
        return stft_round_trip(x, n_fft, hop_length, batch_size)

    monkeypatch.setattr(protocol_module, "stft_round_trip", recording_round_trip)
    model = CopyingModel(gunpoint[0])
    model.config = type("Config", (), {"frequency": FrequencyConfig(n_fft=16, hop_length=2)})()
    evaluate(model, gunpoint, runs=1, n_samples=8, conditional=False, fcn_epochs=2, cache_dir=cache)
    given = evaluate(
        gunpoint[1].to_original_units(gunpoint[1].X[:8]), gunpoint, fcn_epochs=2, cache_dir=cache
    )
    assert seen == [(16, 2), (8, 1)]  # the model's settings, then the thesis's for bare samples
    assert given["reference"]["n_test"] == 40
