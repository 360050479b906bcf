"""The facade: a tiny end-to-end fit + sample on real GunPoint, labels, seeds, save/load, bad checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from timevqvdm import TimeVQVDM
from timevqvdm.config import get_preset
from timevqvdm.data import load_dataset
from timevqvdm.model import SampledBands, proportional_labels
from timevqvdm.training import CheckpointError


@pytest.fixture(scope="module")
def gunpoint():
    return load_dataset("GunPoint", split="train")


@pytest.fixture(scope="module")
def fitted(gunpoint):
    """Both stages of the `tiny` preset on real GunPoint (seconds)."""
    return TimeVQVDM(preset="tiny", progress=False).fit(gunpoint)


def test_end_to_end_sample_shapes_units_and_classes(fitted, gunpoint):
    out = fitted.sample(20, labels="proportional", steps=4, seed=0)
    assert out.X.shape == (20, 1, 150) and out.X.dtype == np.float32
    assert np.isfinite(out.X).all()
    assert out.classes == gunpoint.classes
    # proportional: GunPoint's training split has 24 / 26 series per class -> 9.6 / 10.4 -> 10 / 10
    assert np.bincount(out.y, minlength=2).tolist() == [10, 10]
    # returned in the data's original units, not the normalised ones
    assert fitted.data_info.mean == pytest.approx(gunpoint.mean)


def test_same_seed_same_samples_and_different_seed_differs(fitted):
    a = fitted.sample(8, labels=None, steps=4, seed=3).X
    b = fitted.sample(8, labels=None, steps=4, seed=3).X
    c = fitted.sample(8, labels=None, steps=4, seed=4).X
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_labels_forms(fitted, gunpoint):
    name = gunpoint.classes[1]
    assert (fitted.sample(4, labels=name, steps=2, seed=0).y == 1).all()
    assert (fitted.sample(4, labels=0, steps=2, seed=0).y == 0).all()
    assert fitted.sample(3, labels=[0, 1, name], steps=2, seed=0).y.tolist() == [0, 1, 1]
    assert fitted.sample(3, labels=None, steps=2, seed=0).y is None
    with pytest.raises(ValueError, match="unknown class"):
        fitted.sample(2, labels="no-such-class", steps=2)
    with pytest.raises(ValueError, match="labels for n=3"):
        fitted.sample(3, labels=[0, 1], steps=2)


def test_guidance_changes_the_output(fitted):
    plain = fitted.sample(6, labels=1, steps=4, guidance=1.0, seed=5).X
    guided = fitted.sample(6, labels=1, steps=4, guidance=3.0, seed=5).X
    assert not np.allclose(plain, guided)


class _Stop(Exception):
    pass


def _sampler_settings(model, monkeypatch, **sample_args):
    """(steps, guidance) that one `sample` call hands the LF prior; it stops there, before any step."""
    seen = []

    def spy(*args, **kwargs):
        seen.append((kwargs["steps"], kwargs["guidance"]))
        raise _Stop

    monkeypatch.setattr(model.prior_lf, "sample", spy)
    with pytest.raises(_Stop):
        model.sample(4, seed=0, **sample_args)
    return seen[0]


@pytest.mark.parametrize(
    ("preset", "unconditional", "conditional"),
    [("paper", (128, 1.0), (32, 3.0)), ("best", (16, 1.0), (16, 1.0))],
)
def test_each_mode_samples_with_its_presets_defaults(fitted, monkeypatch, preset, unconditional, conditional):
    """`paper` is the thesis (3.6): labels=None 128 steps, labels given 32 steps with w = 3. `best`: 16 steps
    and w = 1 for both. Arguments given to `sample` win."""
    monkeypatch.setattr(fitted, "config", fitted.config.replace(sampling=get_preset(preset).sampling))
    assert _sampler_settings(fitted, monkeypatch, labels=None) == unconditional
    assert _sampler_settings(fitted, monkeypatch, labels="proportional") == conditional
    assert _sampler_settings(fitted, monkeypatch, labels=0) == conditional
    assert _sampler_settings(fitted, monkeypatch, labels=0, steps=5, guidance=2.0) == (5, 2.0)
    assert _sampler_settings(fitted, monkeypatch, labels=None, steps=5) == (5, unconditional[1])


def test_sample_refuses_an_unknown_or_invalid_override_before_any_step(fitted, monkeypatch):
    monkeypatch.setattr(fitted.prior_lf, "sample", _must_not_sample)
    with pytest.raises(TypeError, match="unknown sampling setting 'stepz'"):
        fitted.sample(2, stepz=3)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        fitted.sample(2, labels=0, steps=0)
    with pytest.raises(ValueError, match=r"guidance must be a finite number >= 0, got -1\.0"):
        fitted.sample(2, guidance=-1.0)
    with pytest.raises(TypeError, match="return_bands must be a bool, got 'yes'"):
        fitted.sample(2, return_bands="yes")


def _must_not_sample(*args, **kwargs):
    raise AssertionError("sampled despite a bad setting")


def test_return_bands_gives_the_samples_and_their_two_bands(fitted):
    bands = fitted.sample(5, labels="proportional", steps=2, seed=4, return_bands=True)
    assert isinstance(bands, SampledBands)
    plain = fitted.sample(5, labels="proportional", steps=2, seed=4)
    np.testing.assert_array_equal(bands.samples.X, plain.X)
    np.testing.assert_array_equal(bands.samples.y, plain.y)
    assert bands.lf.shape == bands.hf.shape == plain.X.shape
    np.testing.assert_allclose(bands.lf + bands.hf, plain.X, rtol=1e-5, atol=1e-4)


def test_proportional_labels_follow_counts():
    labels = proportional_labels(1024, np.array([100, 300]))
    assert np.bincount(labels).tolist() == [256, 768]  # the thesis's own example (3.6)
    assert len(proportional_labels(7, np.array([1, 1, 1]))) == 7


def test_save_load_gives_identical_samples(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    loaded = TimeVQVDM.load(tmp_path / "m", progress=False)
    np.testing.assert_array_equal(
        fitted.sample(5, labels="proportional", steps=3, seed=11).X,
        loaded.sample(5, labels="proportional", steps=3, seed=11).X,
    )
    with pytest.raises(FileExistsError):
        fitted.save(tmp_path / "m")


def test_reconstruct_in_input_units(fitted, gunpoint):
    X = gunpoint.to_original_units(gunpoint.X[:6])
    lf, hf = fitted.reconstruct(X)
    assert lf.shape == hf.shape == X.shape
    assert np.isfinite(lf + hf).all()
    lf2, _ = fitted.reconstruct(X[:, 0, :])  # 2-D input comes back 2-D
    assert lf2.shape == (6, 150)


def test_class_prior_unconditional_is_conditional_sampling_over_shuffled_training_proportions(fitted):
    # labels=None under "class_prior" must be exactly conditional sampling with training-proportion labels
    # in the seeded order, and still report no labels; "null" is the thesis's null class.
    out = fitted.sample(10, steps=3, seed=7, unconditional="class_prior")
    labels = np.random.default_rng(7).permutation(
        proportional_labels(10, np.asarray(fitted.data_info.class_counts))
    )
    assert sorted(labels.tolist()) != labels.tolist()  # shuffled, not grouped by class
    conditional = fitted.sample(10, labels=labels, steps=3, seed=7)
    np.testing.assert_array_equal(out.X, conditional.X)
    assert out.y is None
    null = fitted.sample(10, steps=3, seed=7, unconditional="null")
    assert not np.allclose(null.X, out.X)
    np.testing.assert_array_equal(null.X, fitted.sample(10, steps=3, seed=7).X)  # tiny's default: null
    with pytest.raises(ValueError, match="unconditional must be one of"):
        fitted.sample(2, steps=2, unconditional="marginal")
    with pytest.raises(ValueError, match="unconditional must be one of"):  # checked with labels too
        fitted.sample(2, labels=0, steps=2, unconditional="marginal")


def test_split_bands_is_the_exact_stft_split_not_the_reconstruction(fitted, gunpoint):
    X = gunpoint.to_original_units(gunpoint.X[:5])
    x_lf, x_hf = fitted.split_bands(X)
    assert x_lf.shape == X.shape == x_hf.shape
    np.testing.assert_allclose(x_lf + x_hf, X, atol=1e-4 * np.abs(X).max())
    rec_lf, _ = fitted.reconstruct(X)  # the tiny stage 1 reconstructs only roughly
    assert not np.allclose(rec_lf, x_lf, atol=1e-3)
    assert np.abs(x_lf - X).max() > 1e-3  # and the LF part is not the whole series


def test_unlabelled_data_samples_unconditionally():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 40)
    X = np.sin(t + rng.uniform(0, 3, size=(12, 1))) + 0.1 * rng.normal(size=(12, 40))
    model = TimeVQVDM(preset="tiny", progress=False).fit(X)
    out = model.sample(4, steps=2, seed=0)
    assert out.X.shape == (4, 1, 40) and out.y is None
    # without classes there is no class prior to draw from: the null class is used
    np.testing.assert_array_equal(model.sample(4, steps=2, seed=0, unconditional="class_prior").X, out.X)
    with pytest.raises(ValueError, match="without labels"):
        model.sample(4, labels="proportional")


def test_padded_training_series_train_masked_without_a_warning(caplog):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 40))
    X[1, 30:] = np.nan  # two shorter series, padded by the dataset; the losses ignore the padding
    X[4, 25:] = np.nan
    with caplog.at_level("WARNING", logger="timevqvdm.model"):
        model = TimeVQVDM(preset="tiny", progress=False).fit(X, stages=(1,))
    assert "padded" not in caplog.text
    assert model.data_info.lengths == [[25, 30, 40, 40, 40, 40]]


def test_corrupt_and_mismatched_checkpoints_name_the_file(fitted, tmp_path):
    path = fitted.save(tmp_path / "m")
    weights = path / "prior_hf.safetensors"
    weights.write_bytes(weights.read_bytes()[:64])
    with pytest.raises(CheckpointError, match="prior_hf"):
        TimeVQVDM.load(path)
    (path / "model.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"model\.json"):
        TimeVQVDM.load(path)
    with pytest.raises(CheckpointError, match="no such model folder"):
        TimeVQVDM.load(tmp_path / "missing")


def test_mismatched_weights_are_refused(fitted, tmp_path):
    other_cfg = get_preset("tiny")
    other_cfg.tokenizer.hidden_channels = 4
    small = TimeVQVDM(config=other_cfg, progress=False)
    rng = np.random.default_rng(0)
    small.fit(rng.normal(size=(8, 150)), stages=(1,))
    a = fitted.save(tmp_path / "a")
    b = small.save(tmp_path / "b")
    (a / "tokenizer.safetensors").write_bytes((b / "tokenizer.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="does not match"):
        TimeVQVDM.load(a)


def test_unfitted_model_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        TimeVQVDM(preset="tiny").sample(2)
    for method in ("reconstruct", "split_bands"):
        with pytest.raises(RuntimeError, match="not fitted"):
            getattr(TimeVQVDM(preset="tiny"), method)(np.zeros((2, 150), dtype=np.float32))


def test_a_str_label_is_a_class_name_and_an_int_an_index(fitted):
    assert fitted.data_info.classes == ["1", "2"]  # GunPoint: numeric names, the trap this guards
    assert (fitted.sample(2, labels="1", steps=2, seed=0).y == 0).all()
    assert (fitted.sample(2, labels=1, steps=2, seed=0).y == 1).all()
    with pytest.raises(ValueError, match="unknown class '0'"):
        fitted.sample(2, labels="0", steps=2)


def _walks(seed: int, n: int = 8, length: int = 40) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).normal(size=(n, length)), axis=1)


def test_stage2_alone_refuses_other_data_than_stage1_saw():
    model = TimeVQVDM(preset="tiny", progress=False).fit(_walks(0), stages=(1,))
    with pytest.raises(ValueError, match="stage 2 must train on the data stage 1 was trained on"):
        model.fit(_walks(1), stages=(2,))
    model.fit(_walks(0), stages=(2,))  # the same data is fine
    assert model.prior_lf is not None


def test_resume_refuses_a_run_started_on_other_data(tmp_path):
    TimeVQVDM(preset="tiny", progress=False).fit(_walks(0), stages=(1,), run_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"stage1.*cannot resume.*data\.mean"):
        TimeVQVDM(preset="tiny", progress=False).fit(_walks(1), stages=(1,), run_dir=tmp_path, resume=True)


@pytest.mark.parametrize(
    "section, key, value, named",
    [
        ("config", ("prior", "prediction"), "v", "prior.prediction: 'eps' saved, 'v' now"),
        ("data", ("std",), 877.0, "data.std"),
        ("config", ("seed",), 5, "seed: 0 saved, 5 now"),
        # a setting added later is left out of descriptions at its old value, and still told apart
        ("config", ("prior", "dropout"), 0.1, "prior.dropout: (absent) saved, 0.1 now"),
    ],
)
def test_load_refuses_a_model_json_edited_away_from_its_weights(fitted, tmp_path, section, key, value, named):
    import json

    path = fitted.save(tmp_path / "m")
    meta = json.loads((path / "model.json").read_text())
    target = meta[section]
    for part in key[:-1]:
        target = target[part]
    target[key[-1]] = value
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(
        CheckpointError, match=r"does not match model\.json, which describes other weights"
    ) as info:
        TimeVQVDM.load(path)
    assert named in str(info.value)


def test_saved_models_carry_the_data_fingerprint(fitted, gunpoint, tmp_path):
    from timevqvdm.model import data_fingerprint

    loaded = TimeVQVDM.load(fitted.save(tmp_path / "m"), progress=False)
    assert loaded.data_info.fingerprint == data_fingerprint(gunpoint)
    assert data_fingerprint(load_dataset("GunPoint", split="train")) == data_fingerprint(gunpoint)
    assert data_fingerprint(gunpoint.subset(np.arange(49))) != data_fingerprint(gunpoint)
