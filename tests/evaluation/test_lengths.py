"""The length check (two-sample KS, Wasserstein-1) and masked scoring: padding must not reach a metric."""

from __future__ import annotations

import math

import numpy as np
import pytest

from timevqvdm.evaluation import ks_two_sample, length_check, memorisation, wasserstein_1, zero_padding
from timevqvdm.evaluation.lengths import kolmogorov_sf


def _kolmogorov_sf_series(x: float) -> float:
    """The alternating series written out, for the known answers below."""
    return 2.0 * sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * x * x) for k in range(1, 200))


def test_ks_identical_samples_give_zero_and_p_one():
    a = [7, 9, 9, 12, 26, 26]
    assert ks_two_sample(a, a) == (0.0, 1.0)
    assert ks_two_sample(a, list(reversed(a)) * 3) == (0.0, 1.0)  # same distribution, other size


def test_ks_disjoint_samples_give_one():
    statistic, p_value = ks_two_sample([1, 2, 3], [4, 5, 6, 7])
    assert statistic == 1.0
    assert p_value == pytest.approx(_kolmogorov_sf_series(math.sqrt(12 / 7)), rel=1e-9)


def test_ks_hand_computed_case_with_ties():
    # F_a at 1, 2, 3, 4, 5: 1/3, 2/3, 1, 1, 1; F_b: 0, 1/4, 1/2, 3/4, 1 -> largest gap 1/2 at x = 3
    statistic, p_value = ks_two_sample([1, 2, 3], [2, 3, 4, 5])
    assert statistic == 0.5
    # p = Q(sqrt(3 * 4 / 7) * 0.5) = Q(0.6547) = 2 (0.424373 - 0.032433 + 0.000446 - 0.000001) = 0.78477
    assert p_value == pytest.approx(0.78477, abs=1e-5)
    assert p_value == pytest.approx(_kolmogorov_sf_series(0.5 * math.sqrt(12 / 7)), rel=1e-9)


@pytest.mark.parametrize(
    "x, expected",
    [(0.0, 1.0), (0.5, 0.963945), (1.0, 0.269999671), (1.3581, 0.050000), (2.0, 0.000670925)],
)
def test_kolmogorov_survival_function_known_values(x, expected):
    assert kolmogorov_sf(x) == pytest.approx(expected, abs=2e-6)


def test_kolmogorov_forms_agree_where_they_switch():
    assert kolmogorov_sf(1.18 - 1e-12) == pytest.approx(kolmogorov_sf(1.18), abs=1e-12)
    assert kolmogorov_sf(1.18) == pytest.approx(_kolmogorov_sf_series(1.18), rel=1e-12)


def test_ks_matches_scipy():
    stats = pytest.importorskip("scipy.stats")  # installed with aeon; not a dependency of ours
    rng = np.random.default_rng(0)
    for n, m in ((30, 40), (270, 1024), (9, 11)):
        a, b = rng.integers(7, 27, size=n), rng.integers(8, 27, size=m)
        statistic, p_value = ks_two_sample(a, b)
        assert statistic == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
        expected = stats.kstwobign.sf(statistic * math.sqrt(n * m / (n + m)))
        assert p_value == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_wasserstein_is_the_mean_shift_for_ordered_samples():
    assert wasserstein_1([1, 2, 3], [2, 3, 4, 5]) == pytest.approx(1.5)  # 1/3 + 5/12 + 1/2 + 1/4
    assert wasserstein_1([20] * 5, [20, 20]) == 0.0
    assert wasserstein_1([10, 30], [20]) == pytest.approx(10.0)


def test_length_check_overall_and_per_class():
    real, real_y = np.array([20, 20, 20, 30, 30, 28]), np.array([0, 0, 0, 1, 1, 1])
    synthetic, synthetic_y = np.array([20, 20, 30, 30]), np.array([0, 0, 1, 1])
    out = length_check(real, synthetic, real_y=real_y, synthetic_y=synthetic_y, classes=["a", "b"])
    assert out["n_real"] == 6 and out["n_synthetic"] == 4
    assert out["ks_statistic"] == pytest.approx(1 / 6)  # at 28: F_real = 4/6, F_synthetic = 2/4
    assert out["per_class"]["a"]["ks_statistic"] == 0.0
    assert out["per_class"]["b"]["ks_statistic"] == pytest.approx(1 / 3)  # the 28 is never drawn
    assert out["per_class"]["b"]["wasserstein"] == pytest.approx(2 / 3)
    assert "per_class" not in length_check(real, synthetic)


def test_zero_padding_sets_exactly_the_masked_steps():
    x = np.ones((2, 3, 5), dtype=np.float32)
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    out = zero_padding(x, mask)
    assert out.dtype == np.float32 and (out[0] == 1).all()
    assert (out[1, :, :2] == 1).all() and (out[1, :, 2:] == 0).all()
    assert zero_padding(x, None) is x


def _variable_length(rng, n: int, length: int = 30) -> tuple[np.ndarray, np.ndarray]:
    x = np.sin(0.3 * np.arange(length) + rng.uniform(0, 3, size=(n, 1, 1))) + 0.1 * rng.normal(
        size=(n, 2, length)
    )
    mask = np.arange(length)[None, :] < rng.integers(15, length + 1, size=n)[:, None]
    return x * mask[:, None, :], mask


def test_memorisation_ignores_what_the_padding_holds(rng):
    train, mask_train = _variable_length(rng, 40)
    test, mask_test = _variable_length(rng, 30)
    synthetic, mask_syn = train[:20].copy(), mask_train[:20]  # copies, with their lengths
    clean = memorisation(
        synthetic, train, test, mask_synthetic=mask_syn, mask_train=mask_train, mask_test=mask_test
    )
    assert clean["copy_share"] == 1.0 and clean["median_d_train"] == 0.0

    def junk(x, mask):
        return np.where(mask[:, None, :], x, 50.0 * rng.normal(size=x.shape))

    masks = {"mask_synthetic": mask_syn, "mask_train": mask_train, "mask_test": mask_test}
    noisy = memorisation(junk(synthetic, mask_syn), junk(train, mask_train), junk(test, mask_test), **masks)
    assert noisy == clean
    # without the masks the junk decides: the copies are no longer found
    assert memorisation(junk(synthetic, mask_syn), train, test)["copy_share"] < 0.5


# ------------------------------------------------------------------------------------ the protocol, masked
@pytest.fixture(scope="module")
def shortened_gunpoint():
    """GunPoint slices (20 train, 40 test) cut to random lengths 60..150 and moved to mean 5, so that the
    padding a sample carries (0 in original units) is far from the data layer's (the training mean)."""
    from timevqvdm.data import TimeSeriesDataset, load_dataset

    rng = np.random.default_rng(1)
    splits = []
    for split, n in (("train", 20), ("test", 40)):
        ds = load_dataset("GunPoint", split=split).subset(np.arange(n))
        x = ds.to_original_units(ds.X)[:, 0] + 5.0  # (n, 150)
        x[np.arange(150)[None, :] >= rng.integers(60, 151, size=n)[:, None]] = np.nan
        labels = [ds.classes[k] for k in ds.y]
        stats = {} if not splits else {"stats": splits[0].stats, "classes": splits[0].classes}
        splits.append(TimeSeriesDataset.from_arrays(x, labels, name="ShortGunPoint", **stats))
    return tuple(splits)


def _as_samples(ds, padding: np.ndarray | float):
    """``ds`` in original units as `TimeVQVDM.sample` returns a set: mean 0, std 1, ``padding`` after each
    length."""
    from timevqvdm.data import TimeSeriesDataset

    x = np.where(ds.mask[:, None, :], ds.to_original_units(ds.X), padding).astype(np.float32)
    return TimeSeriesDataset(X=x, y=ds.y, classes=ds.classes, name="samples", mask=ds.mask, mean=0.0, std=1.0)


def _scores(result: dict) -> dict:
    mode = result["conditional"]
    return {
        "fid": mode["fid"],
        "fid_train": mode["fid_train"],
        "is": mode["is"],
        "memorisation": result["memorisation"],
        "distribution": result["distribution"],
        "floor": result["reference"]["fid_train_test"],
    }


def test_masked_protocol_ignores_what_the_padding_holds(shortened_gunpoint, tmp_path):
    import dataclasses

    from timevqvdm.evaluation import evaluate

    train, test = shortened_gunpoint
    kwargs = {"fcn_epochs": 2, "cache_dir": tmp_path, "tstr": False}
    rng = np.random.default_rng(0)
    base = evaluate(_as_samples(test, 0.0), (train, test), **kwargs)
    junk = 100.0 * rng.normal(size=test.X.shape)
    noisy = evaluate(_as_samples(test, junk), (train, test), **kwargs)
    assert _scores(noisy) == _scores(base)

    def junk_padding(ds):
        x = np.where(ds.mask[:, None, :], ds.X, 100.0 * rng.normal(size=ds.X.shape)).astype(np.float32)
        return dataclasses.replace(ds, X=x)

    real_junk = evaluate(_as_samples(test, 0.0), (junk_padding(train), junk_padding(test)), **kwargs)
    assert _scores(real_junk) == _scores(base)
    # arrays in original units with NaN tails (the UCR convention) are the same samples
    x = _as_samples(test, np.nan).X
    arrays = evaluate(x, (train, test), labels=test.y, **kwargs)
    assert _scores(arrays) == _scores(base)


def test_real_series_given_as_samples_score_as_the_reference(shortened_gunpoint, tmp_path):
    """The test split itself, padded as a sample is (0 in original units, here -5 / std in training units),
    scores the FID of the reference's round trip, ~0: its padding is not told apart."""
    from timevqvdm.evaluation import evaluate

    train, test = shortened_gunpoint
    result = evaluate(_as_samples(test, 0.0), (train, test), fcn_epochs=2, cache_dir=tmp_path, tstr=False)
    assert result["conditional"]["fid"] < 1e-3
    assert result["memorisation"]["median_d_test"] < 1e-5  # float32 round-off
    lengths = result["conditional"]["lengths"]
    assert lengths["n_real"] == 20 and lengths["n_synthetic"] == 40
    # the test split's own figures (its lengths uncut): the same statistic here
    assert lengths["ks_statistic"] == result["reference"]["lengths_test"]["ks_statistic"] > 0
