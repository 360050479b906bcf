"""Several channels end to end (issue 24) on BasicMotions (6 channels, aeon ships it), `tiny` preset."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from timevqvdm import TimeVQVDM
from timevqvdm.cli import app
from timevqvdm.data import TimeSeriesDataset, load_dataset
from timevqvdm.data.write import write_dataset


@pytest.fixture(scope="module")
def motions():
    return load_dataset("BasicMotions")


@pytest.fixture(scope="module")
def fitted(motions):
    return TimeVQVDM(preset="tiny", progress=False, device="cpu").fit(motions)


def test_several_channels_get_their_own_statistics(motions):
    assert motions.X.shape == (40, 6, 100) and motions.per_channel
    assert motions.mean.shape == (6,) and len(set(np.round(motions.std, 6))) == 6
    np.testing.assert_allclose(motions.X.mean(axis=(0, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(motions.X.std(axis=(0, 2)), 1.0, atol=1e-5)
    test = load_dataset("BasicMotions", split="test")
    assert test.stats == motions.stats  # the test split uses the training statistics per channel


def test_multichannel_fit_sample_save_load_round_trip(fitted, motions, tmp_path):
    out = fitted.sample(8, labels="proportional", steps=2, seed=0)
    assert out.X.shape == (8, 6, 100) and np.isfinite(out.X).all() and out.mask is None
    assert out.classes == motions.classes
    # samples come back in each channel's own units
    assert fitted.data_info.mean == pytest.approx(list(motions.mean))
    assert fitted.data_info.std == pytest.approx(list(motions.std))
    fitted.save(tmp_path / "m")
    stored = json.loads((tmp_path / "m" / "model.json").read_text())["data"]
    assert len(stored["mean"]) == 6 and len(stored["std"]) == 6 and stored["lengths"] is None
    loaded = TimeVQVDM.load(tmp_path / "m", progress=False, device="cpu")
    np.testing.assert_array_equal(loaded.sample(8, labels="proportional", steps=2, seed=0).X, out.X)
    # reconstruct and split_bands take (n, C, L) in original units, per channel
    x_lf, x_hf = loaded.split_bands(motions.to_original_units(motions.X[:3]))
    np.testing.assert_allclose(x_lf + x_hf, motions.to_original_units(motions.X[:3]), atol=1e-3)


def test_a_model_saved_with_scalar_statistics_still_loads(fitted, tmp_path):
    univariate = TimeSeriesDataset.from_arrays(np.random.default_rng(0).normal(size=(8, 40)))
    model = TimeVQVDM(preset="tiny", progress=False, device="cpu").fit(univariate, stages=(1,))
    model.save(tmp_path / "u")
    meta = json.loads((tmp_path / "u" / "model.json").read_text())
    del meta["data"]["lengths"]  # as written before issue 24
    assert isinstance(meta["data"]["mean"], float)
    (tmp_path / "u" / "model.json").write_text(json.dumps(meta))
    loaded = TimeVQVDM.load(tmp_path / "u", progress=False, device="cpu")
    assert loaded.data_info.lengths is None and loaded.data_info.mean == model.data_info.mean


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_multichannel_files_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(1)
    X = (
        rng.normal(size=(5, 3, 12)) * np.array([1.0, 10.0, 0.1])[:, None]
        + np.array([0.0, 50.0, -3.0])[:, None]
    )
    X[3, :, 9:] = np.nan  # a shorter series
    data = TimeSeriesDataset.from_arrays(X, y=["walk", "run", "walk", "sit", "run"])
    path = write_dataset(data, tmp_path / f"x{suffix}")
    back = load_dataset(path)  # the long layout finds its `label` column itself
    assert back.n_channels == 3 and back.classes == data.classes and back.y.tolist() == data.y.tolist()
    np.testing.assert_array_equal(back.mask, data.mask)
    observed = data.mask[:, None, :]
    np.testing.assert_allclose(
        back.to_original_units(back.X.astype(np.float64)) * observed, np.nan_to_num(X) * observed, rtol=1e-5
    )
    if suffix != ".npz":
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
        assert list(frame.columns) == ["series", "channel", "t", "value", "label"]
        assert len(frame) == 3 * (4 * 12 + 9)  # one row per observed value


def test_long_layout_errors_name_the_row(tmp_path):
    from timevqvdm.data import DataError

    path = tmp_path / "dup.csv"
    path.write_text("series,channel,t,value\na,0,0,1\na,0,1,2\nb,0,0,3\nb,0,0,4\n")
    with pytest.raises(
        DataError, match=r"dup.csv: line 5, column 4 \('value'\): series 'b', channel '0', t 0"
    ):
        load_dataset(path)
    path = tmp_path / "gap.csv"
    rows = [f"{s},0,{t},{t}" for s in "ab" for t in range(10) if (s, t) != ("b", 4)]
    path.write_text("series,channel,t,value\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"series 'b', channel '0', t 4 \(no row\): missing value"):
        load_dataset(path)
    path = tmp_path / "labels.csv"
    rows = [f"{s},0,{t},{t},{'x' if (s, t) != ('a', 3) else 'y'}" for s in "ab" for t in range(10)]
    path.write_text("series,channel,t,value,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"line 5, column 5 \('label'\): label 'y' differs"):
        load_dataset(path)


def test_cli_trains_samples_and_plots_several_channels(tmp_path):
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    model_dir = tmp_path / "motions"
    invoke("train", "--dataset", "BasicMotions", "--preset", "tiny", "--out", model_dir)
    for suffix in (".csv", ".parquet", ".npz"):
        out = tmp_path / f"s{suffix}"
        invoke("sample", model_dir, "-n", 4, "--proportional", "--steps", 1, "--seed", 0, "--out", out)
        back = load_dataset(out, label_column=None if suffix == ".npz" else "label")
        assert back.X.shape == (4, 6, 100) and back.n_classes == 4
    invoke("plot", model_dir, "-n", 4, "--out", tmp_path / "plots")
    assert (tmp_path / "plots" / "real_vs_synthetic.png").exists()
