"""The command line, end to end on real GunPoint with the `tiny` preset (seconds)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from timevqvdm.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "gunpoint"
    result = invoke("train", "--dataset", "GunPoint", "--preset", "tiny", "--out", out)
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_a_loadable_model_and_logs(model_dir):
    assert (model_dir / "model.json").exists()
    assert (model_dir / "runs" / "stage1" / "metrics.jsonl").exists()
    assert (model_dir / "runs" / "stage2_hf" / "checkpoint.safetensors").exists()


def test_train_refuses_to_overwrite_without_resume(model_dir):
    result = invoke("train", "--dataset", "GunPoint", "--preset", "tiny", "--out", model_dir)
    assert result.exit_code == 2
    assert "--resume" in result.output


def test_train_resume_of_a_finished_run_is_a_no_op(model_dir):
    result = invoke("train", "--dataset", "GunPoint", "--preset", "tiny", "--out", model_dir, "--resume")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".parquet"])
def test_sample_writes_labelled_files(model_dir, tmp_path, suffix):
    out = tmp_path / f"s{suffix}"
    result = invoke("sample", model_dir, "-n", 6, "--proportional", "--steps", 2, "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.output
    if suffix == ".npz":
        data = np.load(out)
        assert data["X"].shape == (6, 1, 150) and data["y"].tolist() == [0, 0, 0, 1, 1, 1]
    else:
        frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        assert frame.shape == (6, 151) and frame.columns[0] == "label"


def test_sample_options_are_checked(model_dir, tmp_path):
    assert invoke("sample", model_dir, "-n", 0, "--out", tmp_path / "a.npz").exit_code != 0
    assert invoke("sample", model_dir, "--rescale", 2, "--out", tmp_path / "a.npz").exit_code != 0
    result = invoke("sample", model_dir, "--label", "1", "--proportional", "--out", tmp_path / "a.npz")
    assert result.exit_code == 2 and "not both" in result.output
    result = invoke("sample", model_dir, "--label", "nope", "--steps", 1, "--out", tmp_path / "b.npz")
    assert result.exit_code == 2 and "unknown class" in result.output
    (tmp_path / "c.npz").write_bytes(b"")
    result = invoke("sample", model_dir, "--out", tmp_path / "c.npz")
    assert result.exit_code == 2 and "exists" in result.output


def test_sample_checks_the_output_format_before_sampling(model_dir, tmp_path, monkeypatch):
    from timevqvdm.model import TimeVQVDM

    def must_not_sample(*args, **kwargs):
        raise AssertionError("sampled before the output format was checked")

    monkeypatch.setattr(TimeVQVDM, "sample", must_not_sample)
    result = invoke("sample", model_dir, "-n", 2, "--out", tmp_path / "s.txt")
    assert result.exit_code == 2 and "unsupported output format '.txt'" in result.output
    assert not (tmp_path / "s.txt").exists()


def test_table_formats_refuse_multivariate_samples(tmp_path):
    import typer

    from timevqvdm.cli import _check_sample_format

    _check_sample_format(tmp_path / "ok.npz", n_channels=3)
    _check_sample_format(tmp_path / "ok.csv", n_channels=1)
    for suffix in (".csv", ".parquet"):
        with pytest.raises(typer.Exit):
            _check_sample_format(tmp_path / f"s{suffix}", n_channels=3)


def test_same_seed_same_file(model_dir, tmp_path):
    for name in ("a", "b"):
        invoke("sample", model_dir, "-n", 4, "--steps", 2, "--seed", 7, "--out", tmp_path / f"{name}.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "a.npz")["X"], np.load(tmp_path / "b.npz")["X"])


def test_unconditional_mode_option(model_dir, tmp_path):
    # tiny's default is the null class; --unconditional class_prior draws through the classes, unlabelled.
    common = ["-n", 4, "--steps", 2, "--seed", 7]
    for name, extra in (
        ("default", []),
        ("null", ["--unconditional", "null"]),
        ("prior", ["--unconditional", "class_prior"]),
    ):
        assert invoke("sample", model_dir, *common, *extra, "--out", tmp_path / f"{name}.npz").exit_code == 0
    x = {name: np.load(tmp_path / f"{name}.npz") for name in ("default", "null", "prior")}
    np.testing.assert_array_equal(x["default"]["X"], x["null"]["X"])
    assert not np.allclose(x["prior"]["X"], x["null"]["X"])
    assert "y" not in x["prior"].files  # unconditional output stays unlabelled
    result = invoke("sample", model_dir, "--unconditional", "marginal", "--out", tmp_path / "bad.npz")
    assert result.exit_code == 2


def test_evaluate_on_sample_file(model_dir, tmp_path):
    samples = tmp_path / "s.csv"
    invoke("sample", model_dir, "-n", 40, "--proportional", "--steps", 2, "--seed", 0, "--out", samples)
    out = tmp_path / "metrics.json"
    result = invoke("evaluate", model_dir, "--samples", samples, "--fcn-epochs", 2, "--out", out)
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["conditional"]["fid"] >= 0 and metrics["conditional"]["n"] == 40
    assert "fid_train_test" in metrics["reference"]  # the noise floor beside every FID
    again = invoke("evaluate", model_dir, "--samples", samples, "--fcn-epochs", 2, "--out", out)
    assert again.exit_code == 2 and "exists" in again.output
    assert json.loads(out.read_text()) == metrics  # the first result is kept


def test_plot_writes_pngs(model_dir, tmp_path):
    result = invoke("plot", model_dir, "-n", 8, "--out", tmp_path / "plots")
    assert result.exit_code == 0, result.output
    for name in ("real_vs_synthetic.png", "decomposition.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = invoke("plot", model_dir, "-n", 8, "--out", tmp_path / "plots")
    assert again.exit_code == 2 and "real_vs_synthetic.png" in again.output


def test_datasets_lists_shipped_data():
    result = invoke("datasets")
    assert result.exit_code == 0 and "GunPoint" in result.output


def test_demo_runs_and_writes_the_png(tmp_path):
    result = invoke("demo", "--preset", "tiny", "-n", 16, "--out", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "real_vs_synthetic.png").read_bytes()[:4] == b"\x89PNG"
    assert "GunPoint (train): 50 series" in result.output


def test_unknown_dataset_is_a_clear_error(tmp_path):
    result = invoke("train", "--dataset", "GunPiont", "--preset", "tiny", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "GunPoint" in result.output


def test_train_rejects_an_unknown_precision(tmp_path):
    result = invoke(
        "train", "--dataset", "GunPoint", "--preset", "tiny", "--precision", "8bit", "--out", tmp_path / "x"
    )
    assert result.exit_code == 2 and "--precision" in result.output
